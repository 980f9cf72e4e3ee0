/*
 * Reconciliation after a start, a crash, a kill -9, a host reboot or a libvirtd restart,
 * and lifecycle events (labd/reconcile.h). labd finishes or rolls back half-done
 * students and removes orphans it owns: domains that carry its metadata and volumes in
 * its pool named like its volumes. Nothing else is touched.
 */
#include "labd/reconcile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/id.h"
#include "common/log.h"
#include "labd/names.h"
#include "labd/task.h"

#define CRASH_WINDOW_MS (10 * 60 * 1000)
#define CRASH_MAX_RESTARTS 3

/* One walk of libvirt's domains and of the pool's volumes. */
struct walk {
	struct job job;               /* first: the pool hands us back &job */
	struct labd *l;
	struct host host;             /* the worker's copy */
	void (*done)(struct labd *l, int result);
	uint64_t events;              /* the view's event count when the walk began */
	struct virt_owned *owned;
	size_t n_owned;
	char **vols;
	size_t n_vols;
};

/* The enrolled students, sorted, to tell ours from orphans quickly. */
struct enrolled {
	const char **ids;
	size_t n;
};

static void walk_free(struct walk *w)
{
	for (size_t i = 0; i < w->n_vols; i++)
		free(w->vols[i]);
	free(w->vols);
	virt_owned_free(w->owned, w->n_owned);
	free(w);
}

/* The libvirt side: safe on a worker thread. */
static void walk_run(struct job *j)
{
	struct walk *w = (struct walk *)j;
	int ret;

	if ((ret = host_dom_list_owned(&w->host, &w->owned, &w->n_owned)) < 0 ||
	    (ret = host_vol_list(&w->host, &w->vols, &w->n_vols)) < 0) {
		snprintf(j->error, sizeof(j->error), "listing libvirt's domains and volumes "
			 "failed (%s)", strerror(-ret));
		j->result = ret;
	}
}

static int cmp_ids(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int enrolled_make(struct enrolled *e, const struct db_alloc *as, size_t n)
{
	e->ids = calloc(n ? n : 1, sizeof(*e->ids));
	if (!e->ids)
		return -ENOMEM;
	for (e->n = 0; e->n < n; e->n++)
		e->ids[e->n] = as[e->n].student;
	qsort(e->ids, e->n, sizeof(*e->ids), cmp_ids);
	return 0;
}

static bool enrolled_has(const struct enrolled *e, const char *student)
{
	return bsearch(&student, e->ids, e->n, sizeof(*e->ids), cmp_ids) != NULL;
}

/* The view from the walk: every enrolled student's VM as listed (missing if it was not),
 * unless an event or a task told something newer since the walk began. */
static void view_rebuild(struct labd *l, const struct walk *w, const struct enrolled *en,
			 const struct db_alloc *as, size_t n)
{
	struct vm *vm, *tmp;
	size_t i;

	for (i = 0; i < n; i++) {
		vm = vmview_get(&l->view, as[i].student);
		if (vm && vm->event_seq <= w->events)
			vm->state = VM_MISSING;
	}
	for (i = 0; i < w->n_owned; i++) {
		vm = vmview_find(&l->view, w->owned[i].student);
		if (vm && vm->event_seq <= w->events)
			vm->state = vm_state_from_virt(w->owned[i].state);
	}
	HASH_ITER(hh, l->view.vms, vm, tmp) {
		if (!vm->busy && !enrolled_has(en, vm->student))
			vmview_forget(&l->view, vm->student);
	}
	l->view.synced = true;
}

/* Orphans: domains with our metadata and volumes with our names, nobody's. */
static unsigned remove_orphans(struct labd *l, const struct walk *w, const struct enrolled *en)
{
	char who[ID_MAX_LEN + 1];
	unsigned orphans = 0;
	size_t i;

	for (i = 0; i < w->n_owned; i++) {
		if (enrolled_has(en, w->owned[i].student))
			continue;
		log_warnx("reconcile: domain %s (student %s) has no database entry: removing it",
			  w->owned[i].domain, w->owned[i].student);
		if (host_dom_remove(&l->host, w->owned[i].domain) == 0)
			orphans++;
	}
	for (i = 0; i < w->n_vols; i++) {
		if (!names_parse_volume(w->vols[i], who, sizeof(who), NULL) || enrolled_has(en, who))
			continue;
		log_warnx("reconcile: volume %s has no database entry: deleting it", w->vols[i]);
		if (host_vol_delete(&l->host, w->vols[i]) == 0)
			orphans++;
	}
	return orphans;
}

/* Half-done students finished or removed, every other one checked. */
static void check_students(struct labd *l, const struct db_alloc *as, size_t n,
			   unsigned counts[3])
{
	char err[512];
	size_t i;

	for (i = 0; i < n; i++) {
		enum task_kind kind = TASK_REPAIR;
		bool define_only = false;

		if (as[i].state == DB_ALLOC_CREATING) {
			/* Whether that enrol said --no-start is not recorded: define the VM and
			 * leave it off. Re-running the same enrol starts it (or labctl start). */
			kind = TASK_CREATE;
			define_only = true;
		} else if (as[i].state == DB_ALLOC_DELETING) {
			kind = TASK_REMOVE;
		}
		counts[kind == TASK_CREATE ? 0 : kind == TASK_REMOVE ? 1 : 2]++;
		if (task_submit(l, kind, as[i].student, define_only, NULL, NULL, err,
				sizeof(err)) < 0)
			log_warnx("reconcile: %s: %s", as[i].student, err);
	}
}

/* The main thread's part, once the walk is in W. */
static int walk_apply(struct labd *l, struct walk *w)
{
	struct db_alloc *as = NULL;
	struct enrolled en = { 0 };
	unsigned counts[3] = { 0 }, orphans;
	size_t n = 0;
	int ret;

	if ((ret = db_alloc_list(l->db, NULL, &as, &n)) < 0 ||
	    (ret = enrolled_make(&en, as, n)) < 0) {
		log_warnx("reconcile: cannot read the allocations (%s)", strerror(-ret));
		goto out;
	}
	view_rebuild(l, w, &en, as, n);
	orphans = remove_orphans(l, w, &en);
	check_students(l, as, n, counts);
	log_info("reconcile: %zu students; finishing %u creations, %u removals; checking %u; "
		 "%u orphans removed", n, counts[0], counts[1], counts[2], orphans);
out:
	free(en.ids);
	db_alloc_list_free(as, n);
	return ret;
}

static struct walk *walk_new(struct labd *l)
{
	struct walk *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->l = l;
	w->host = l->host;
	w->events = l->view.events;
	return w;
}

int reconcile_run(struct labd *l)
{
	struct walk *w = walk_new(l);
	int ret;

	if (!w)
		return -ENOMEM;
	walk_run(&w->job);
	ret = w->job.result < 0 ? w->job.result : walk_apply(l, w);
	if (w->job.result < 0)
		log_warnx("reconcile: %s", w->job.error);
	walk_free(w);
	return ret;
}

static void walk_done(struct job *j)
{
	struct walk *w = (struct walk *)j;
	int ret = j->result;

	if (ret < 0)
		log_warnx("reconcile: %s", j->error);
	else
		ret = walk_apply(w->l, w);
	if (w->done)
		w->done(w->l, ret);
	walk_free(w);
}

void reconcile_start(struct labd *l, void (*done)(struct labd *l, int result))
{
	struct walk *w = walk_new(l);

	if (!w) {
		if (done)
			done(l, -ENOMEM);
		return;
	}
	w->done = done;
	w->job.run = walk_run;
	w->job.done = walk_done;
	jobs_submit(l->jobs, &w->job);
}

/* A crashed VM restarted, unless it keeps crashing. */
static void restart_crashed(struct labd *l, struct vm *vm)
{
	char err[512];
	long long now = clock_now_ms();

	if (now - vm->window_start_ms > CRASH_WINDOW_MS) {
		vm->window_start_ms = now;
		vm->restarts = 0;
	}
	if (vm->restarts >= CRASH_MAX_RESTARTS) {
		log_warnx("%s: crashed %u times in 10 minutes: left stopped (labctl start %s)",
			  vm->student, vm->restarts, vm->student);
		return;
	}
	vm->restarts++;
	if (task_submit(l, TASK_START, vm->student, false, NULL, NULL, err, sizeof(err)) < 0)
		log_warnx("%s: restart after crash: %s", vm->student, err);
	else
		log_info("%s: restarting after crash (%u/%d)", vm->student, vm->restarts,
			 CRASH_MAX_RESTARTS);
}

void reconcile_event(struct labd *l, const char *domain, int event, int detail)
{
	char student[ID_MAX_LEN + 1];
	enum virt_state state;
	bool crashed;
	struct vm *vm;

	/* Only students' VMs have an entry: any other domain's events pass by. */
	if (!names_parse(NAME_DOMAIN, domain, student, sizeof(student)) ||
	    !(vm = vmview_find(&l->view, student)) ||
	    !virt_event_state(event, detail, &state, &crashed))
		return;
	vmview_event(&l->view, vm, state, crashed);
	if (!crashed)
		return;
	log_warnx("%s: VM crashed (event %d, detail %d)", student, event, detail);
	if (l->conf.restart_crashed && !vm->busy)
		restart_crashed(l, vm);
}
