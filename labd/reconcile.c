/*
 * Start-up reconciliation (after a crash, a kill -9, a host reboot) and lifecycle
 * events. The database says who is enrolled; libvirt says what exists. labd finishes or
 * rolls back half-done students and removes orphans it owns: domains that carry its
 * metadata and volumes in its pool named like its volumes. Nothing else is touched.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libvirt/libvirt.h>

#include "common/id.h"
#include "common/log.h"
#include "labd/labd.h"

#define CRASH_WINDOW_MS (10 * 60 * 1000)
#define CRASH_MAX_RESTARTS 3

/* Is NAME one of our volume names ("vlab-ID.qcow2" / "vlab-ID-seed.iso"), and whose? */
static bool volume_owner(const char *name, char *student, size_t len)
{
	const char *suffix;
	size_t n;

	if (strncmp(name, "vlab-", 5) != 0)
		return false;
	name += 5;
	n = strlen(name);
	if (n > 9 && strcmp(name + n - 9, "-seed.iso") == 0)
		suffix = name + n - 9;
	else if (n > 6 && strcmp(name + n - 6, ".qcow2") == 0)
		suffix = name + n - 6;
	else
		return false;
	if ((size_t)(suffix - name) >= len)
		return false;
	memcpy(student, name, (size_t)(suffix - name));
	student[suffix - name] = '\0';
	return id_valid(student);
}

static bool allocs_have(const struct db_alloc *as, size_t n, const char *student)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(as[i].student, student) == 0)
			return true;
	return false;
}

int reconcile_run(struct labd *l)
{
	struct db_alloc *as = NULL;
	struct virt_owned *owned = NULL;
	char **vols = NULL;
	size_t n_as = 0, n_owned = 0, n_vols = 0, i;
	unsigned finished = 0, removed = 0, orphans = 0, repaired = 0;
	char err[512], who[ID_MAX_LEN + 1];
	int ret;

	if ((ret = db_alloc_list(l->db, NULL, &as, &n_as)) < 0)
		return ret;
	if ((ret = virt_dom_list_owned(l->virt, &owned, &n_owned)) < 0 ||
	    (ret = virt_vol_list(l->virt, &vols, &n_vols)) < 0)
		goto out;

	/* Orphan domains: ours (metadata) but nobody's in the database. */
	for (i = 0; i < n_owned; i++) {
		if (allocs_have(as, n_as, owned[i].student))
			continue;
		log_warnx("reconcile: domain %s (student %s) has no database entry: removing it",
			  owned[i].domain, owned[i].student);
		if (virt_dom_remove(l->virt, owned[i].domain) == 0)
			orphans++;
	}
	/* Orphan volumes: our names, nobody's. */
	for (i = 0; i < n_vols; i++) {
		if (!volume_owner(vols[i], who, sizeof(who)) || allocs_have(as, n_as, who))
			continue;
		log_warnx("reconcile: volume %s has no database entry: deleting it", vols[i]);
		if (virt_vol_delete(l->virt, vols[i]) == 0)
			orphans++;
	}
	/* Half-done students. */
	for (i = 0; i < n_as; i++) {
		enum task_kind kind;
		bool define_only = false;

		switch (as[i].state) {
		case DB_ALLOC_CREATING:
			/* Whether that enrol said --no-start is not recorded: define the VM and
			 * leave it off. Re-running the same enrol starts it (or labctl start). */
			kind = TASK_CREATE;
			define_only = true;
			finished++;
			break;
		case DB_ALLOC_DELETING:
			kind = TASK_REMOVE;
			removed++;
			break;
		default:
			kind = TASK_REPAIR;
			repaired++;
			break;
		}
		if (task_submit(l, kind, as[i].student, define_only, NULL, err, sizeof(err)) < 0)
			log_warnx("reconcile: %s: %s", as[i].student, err);
	}
	log_info("reconcile: %zu students; finishing %u creations, %u removals; checking %u; "
		 "%u orphans removed", n_as, finished, removed, repaired, orphans);
	ret = 0;
out:
	for (i = 0; i < n_vols; i++)
		free(vols[i]);
	free(vols);
	virt_owned_free(owned, n_owned);
	db_alloc_list_free(as, n_as);
	return ret;
}

/* The student whose domain is DOMAIN ("vlab-ID"), if any. */
static bool domain_student(const char *domain, char *student, size_t len)
{
	if (strncmp(domain, "vlab-", 5) != 0 || strlen(domain + 5) >= len)
		return false;
	snprintf(student, len, "%s", domain + 5);
	return id_valid(student);
}

void reconcile_event(struct labd *l, const char *domain, int event, int detail)
{
	char student[ID_MAX_LEN + 1], err[512];
	struct db_alloc a = { 0 };
	struct vm *vm;
	long long now;

	if (!domain_student(domain, student, sizeof(student)) ||
	    db_alloc_get(l->db, student, &a) < 0)
		return;
	db_alloc_free(&a);
	vm = labd_vm(l, student, true);
	if (!vm)
		return;
	if (event == VIR_DOMAIN_EVENT_STARTED) {
		vm->crashed = false;
		return;
	}
	if (!(event == VIR_DOMAIN_EVENT_CRASHED ||
	      (event == VIR_DOMAIN_EVENT_STOPPED && (detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED ||
						      detail == VIR_DOMAIN_EVENT_STOPPED_FAILED))))
		return;
	vm->crashed = true;
	log_warnx("%s: VM crashed (event %d, detail %d)", student, event, detail);
	if (!l->conf.restart_crashed || vm->busy)
		return;
	now = labd_now_ms();
	if (now - vm->window_start_ms > CRASH_WINDOW_MS) {
		vm->window_start_ms = now;
		vm->restarts = 0;
	}
	if (vm->restarts >= CRASH_MAX_RESTARTS) {
		log_warnx("%s: crashed %u times in 10 minutes: left stopped (labctl start %s)",
			  student, vm->restarts, student);
		return;
	}
	vm->restarts++;
	if (task_submit(l, TASK_START, student, false, NULL, err, sizeof(err)) < 0)
		log_warnx("%s: restart after crash: %s", student, err);
	else
		log_info("%s: restarting after crash (%u/%d)", student, vm->restarts,
			 CRASH_MAX_RESTARTS);
}
