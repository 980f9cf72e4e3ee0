/*
 * Per-student tasks: what a worker thread does for one student (libvirt calls only, on
 * copies of everything it needs), and what the main thread does when it comes back
 * (database, netd, the client's progress). A failed create or reset removes what it
 * made, so nothing is left half-created.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/id.h"
#include "common/log.h"
#include "common/mapping.h"
#include "common/sshkey.h"
#include "labd/labd.h"
#include "labd/seed.h"
#include "labd/xml.h"

struct task {
	struct job job;                  /* first: the pool hands us back &job */
	struct labd *l;                  /* main thread only */
	struct request *req;             /* main thread only; may be NULL */
	enum task_kind kind;
	bool force;
	/* copies for the worker */
	struct virt *virt;
	char student[ID_MAX_LEN + 1];
	char domain[64], overlay[64], seed[64];
	char *class_name, *name, *user, *keys;
	char *base_path;
	struct base base;
	int64_t generation;
	unsigned index;
	char mac[ADDR_MAC_STRLEN];
	char tap[16];
	char *console_log;
	const struct conf_class *cls;    /* strings read only; conf outlives tasks */
	const struct lab_conf *conf;
	unsigned stop_timeout;
};

/* libisofs keeps global state: one seed at a time. */
static pthread_mutex_t seed_lock = PTHREAD_MUTEX_INITIALIZER;

const char *task_kind_name(enum task_kind k)
{
	static const char *const names[] = {
		[TASK_CREATE] = "create", [TASK_RESET] = "reset", [TASK_REMOVE] = "unenrol",
		[TASK_START] = "start", [TASK_STOP] = "stop", [TASK_REBOOT] = "reboot",
		[TASK_SEED] = "set-keys", [TASK_REPAIR] = "repair",
	};

	return names[k];
}

static void task_free(struct task *t)
{
	free(t->class_name);
	free(t->name);
	free(t->user);
	free(t->keys);
	free(t->base_path);
	free(t->console_log);
	free(t);
}

static int task_fail(struct task *t, int ret, const char *what)
{
	if (t->job.error[0] == '\0')
		snprintf(t->job.error, sizeof(t->job.error), "%s failed (%s); see labd's log",
			 what, strerror(-ret));
	t->job.result = ret;
	return ret;
}

/* The seed ISO, padded to LABD_SEED_BYTES so set-keys can rewrite it in place. */
static int task_build_seed(struct task *t, uint8_t **out)
{
	const char **keys = NULL;
	char *copy = NULL, *save = NULL, *line;
	char instance[128];
	uint8_t *iso = NULL, *buf = NULL;
	size_t n = 0, len = 0;
	int ret = -ENOMEM;
	struct seed_params p;

	copy = strdup(t->keys ? t->keys : "");
	keys = calloc(SSHKEY_LIST_MAX, sizeof(*keys));
	if (!copy || !keys)
		goto out;
	for (line = strtok_r(copy, "\n", &save); line && n < SSHKEY_LIST_MAX;
	     line = strtok_r(NULL, "\n", &save))
		keys[n++] = line;
	snprintf(instance, sizeof(instance), "vlab-%s-%s-%lld", t->class_name, t->student,
		 (long long)t->generation);
	p = (struct seed_params){
		.instance_id = instance,
		.hostname = t->student,
		.user = t->user,
		.keys = keys,
		.n_keys = n,
	};
	pthread_mutex_lock(&seed_lock);
	ret = seed_build_iso(&p, &iso, &len);
	pthread_mutex_unlock(&seed_lock);
	if (ret < 0) {
		snprintf(t->job.error, sizeof(t->job.error), "building the NoCloud seed failed (%s)",
			 strerror(-ret));
		goto out;
	}
	if (len > LABD_SEED_BYTES) {
		ret = -EFBIG;
		snprintf(t->job.error, sizeof(t->job.error), "seed is %zu bytes, over %u", len,
			 LABD_SEED_BYTES);
		goto out;
	}
	buf = calloc(1, LABD_SEED_BYTES);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(buf, iso, len);
	*out = buf;
	ret = 0;
out:
	free(iso);
	free(keys);
	free(copy);
	return ret;
}

static int task_define(struct task *t)
{
	char *overlay_path = virt_vol_path(t->virt, t->overlay);
	char *seed_path = virt_vol_path(t->virt, t->seed);
	char *xml = NULL;
	int ret = -ENOMEM;
	struct xml_domain_params p;

	if (!overlay_path || !seed_path)
		goto out;
	p = (struct xml_domain_params){
		.name = t->domain,
		.type = t->conf->domain_type,
		.cpu_model = t->conf->cpu_model,
		.vcpus = t->cls->vcpus,
		.memory_mib = t->cls->memory_mib,
		.tb_cache_mib = t->conf->tb_cache_mib,
		.overlay_path = overlay_path,
		.seed_path = seed_path,
		.bridge = t->conf->bridge,
		.mac = t->mac,
		.tap = t->tap,
		.console_log = t->console_log,
		.kernel = t->cls->kernel,
		.initrd = t->cls->initrd,
		.cmdline = t->cls->cmdline,
		.student_id = t->student,
		.class_name = t->class_name,
		.index = t->index,
		.description = t->name,
	};
	ret = xml_build_domain(&p, &xml);
	if (ret < 0) {
		task_fail(t, ret, "building the domain XML");
		goto out;
	}
	ret = virt_dom_define(t->virt, xml, true);
	if (ret < 0)
		task_fail(t, ret, "defining the domain");
out:
	free(xml);
	free(overlay_path);
	free(seed_path);
	return ret;
}

/* Overlay and seed from scratch (any old ones are removed first). */
static int task_make_disks(struct task *t)
{
	uint8_t *seed = NULL;
	int ret;

	virt_vol_delete(t->virt, t->overlay);
	virt_vol_delete(t->virt, t->seed);
	ret = virt_vol_create_overlay(t->virt, t->overlay, t->base_path, t->base.format, t->base.size);
	if (ret < 0) {
		if (ret == -ENOSPC)
			snprintf(t->job.error, sizeof(t->job.error),
				 "no space left in the pool directory %s for the overlay",
				 t->conf->pool_dir);
		return task_fail(t, ret, "creating the overlay");
	}
	ret = task_build_seed(t, &seed);
	if (ret < 0)
		return task_fail(t, ret, "building the seed");
	ret = virt_vol_create_raw(t->virt, t->seed, seed, LABD_SEED_BYTES);
	free(seed);
	if (ret < 0) {
		if (ret == -ENOSPC)
			snprintf(t->job.error, sizeof(t->job.error),
				 "no space left in the pool directory %s for the seed",
				 t->conf->pool_dir);
		return task_fail(t, ret, "writing the seed");
	}
	return 0;
}

static void task_undo(struct task *t)
{
	virt_dom_remove(t->virt, t->domain);
	virt_vol_delete(t->virt, t->overlay);
	virt_vol_delete(t->virt, t->seed);
}

static void task_run(struct job *j)
{
	struct task *t = (struct task *)j;
	enum virt_state st;
	uint8_t *seed = NULL;
	int ret = 0;

	switch (t->kind) {
	case TASK_CREATE:
		/* A student in 'creating' has no data yet: start from a clean slate, which
		 * also finishes a create that a crash interrupted. */
		if ((ret = virt_dom_remove(t->virt, t->domain)) < 0) {
			if (ret == -EPERM)
				snprintf(t->job.error, sizeof(t->job.error), "a domain named %s exists "
					 "that labd did not create; rename or remove it, then enrol "
					 "again", t->domain);
			task_fail(t, ret, "removing the old domain");
			goto undo;
		}
		if ((ret = task_make_disks(t)) < 0 || (ret = task_define(t)) < 0)
			goto undo;
		if (!t->force && (ret = virt_dom_start(t->virt, t->domain)) < 0) {
			task_fail(t, ret, "starting the VM");
			goto undo;
		}
		break;
	case TASK_RESET:
		/* Forced off and undefined: defining it again (the config may have changed)
		 * needs the old definition gone, since ours carries no UUID. */
		if ((ret = virt_dom_remove(t->virt, t->domain)) < 0) {
			task_fail(t, ret, "forcing the VM off");
			break;
		}
		if ((ret = task_make_disks(t)) < 0 || (ret = task_define(t)) < 0)
			break;
		if ((ret = virt_dom_start(t->virt, t->domain)) < 0)
			task_fail(t, ret, "starting the VM");
		break;
	case TASK_REMOVE:
		if ((ret = virt_dom_remove(t->virt, t->domain)) < 0) {
			task_fail(t, ret, "removing the domain");
			break;
		}
		if ((ret = virt_vol_delete(t->virt, t->overlay)) < 0 ||
		    (ret = virt_vol_delete(t->virt, t->seed)) < 0)
			task_fail(t, ret, "deleting the volumes");
		break;
	case TASK_START:
		if ((ret = virt_dom_start(t->virt, t->domain)) < 0)
			task_fail(t, ret, "starting the VM");
		break;
	case TASK_STOP:
		if ((ret = virt_dom_stop(t->virt, t->domain, t->stop_timeout, t->force)) < 0)
			task_fail(t, ret, "stopping the VM");
		break;
	case TASK_REBOOT:
		if ((ret = virt_dom_state(t->virt, t->domain, &st)) < 0) {
			task_fail(t, ret, "reading the VM's state");
			break;
		}
		ret = st == VIRT_RUNNING ? virt_dom_reboot(t->virt, t->domain)
					 : virt_dom_start(t->virt, t->domain);
		if (ret < 0)
			task_fail(t, ret, "rebooting the VM");
		break;
	case TASK_SEED:
		if ((ret = task_build_seed(t, &seed)) < 0) {
			task_fail(t, ret, "building the seed");
			break;
		}
		ret = virt_vol_rewrite(t->virt, t->seed, seed, LABD_SEED_BYTES);
		if (ret == -ENOENT)
			ret = virt_vol_create_raw(t->virt, t->seed, seed, LABD_SEED_BYTES);
		if (ret < 0)
			task_fail(t, ret, "writing the seed");
		break;
	case TASK_REPAIR:
		/* Never recreate a student's overlay silently: only what carries no data. */
		if ((ret = virt_vol_exists(t->virt, t->overlay)) == 0) {
			log_warnx("%s: overlay %s is missing: making a fresh one from the base image "
				  "(the student's changes are lost)", t->student, t->overlay);
			ret = virt_vol_create_overlay(t->virt, t->overlay, t->base_path,
						      t->base.format, t->base.size);
		}
		if (ret < 0) {
			task_fail(t, ret, "repairing the overlay");
			break;
		}
		if ((ret = virt_vol_exists(t->virt, t->seed)) == 0) {
			if ((ret = task_build_seed(t, &seed)) == 0)
				ret = virt_vol_create_raw(t->virt, t->seed, seed, LABD_SEED_BYTES);
		}
		if (ret < 0) {
			task_fail(t, ret, "repairing the seed");
			break;
		}
		/* A domain that exists is left alone (it may be running); a missing one is
		 * defined again, not started: the teacher may have stopped it. */
		if ((ret = virt_dom_state(t->virt, t->domain, &st)) == 0 && st == VIRT_MISSING)
			ret = task_define(t);
		else if (ret < 0)
			task_fail(t, ret, "reading the VM's state");
		break;
	}
	free(seed);
	if (ret < 0)
		t->job.result = ret;
	return;
undo:
	task_undo(t);
	t->job.result = ret;
}

static void task_done(struct job *j)
{
	struct task *t = (struct task *)j;
	struct labd *l = t->l;
	struct db_alloc a = { 0 };
	struct vm *vm = labd_vm(l, t->student, false);
	int ret = j->result;
	bool have_alloc = db_alloc_get(l->db, t->student, &a) == 0;

	if (vm)
		vm->busy = false;
	if (ret < 0)
		log_warnx("%s: %s: %s", t->student, task_kind_name(t->kind), j->error);
	else
		log_info("%s: %s done", t->student, task_kind_name(t->kind));

	switch (t->kind) {
	case TASK_CREATE:
		if (ret == 0 && have_alloc && t->force && !t->req)
			log_info("%s: its interrupted enrol is finished; the VM is left off (re-run "
				 "the enrol, or labctl start %s)", t->student, t->student);
		if (ret == 0 && have_alloc) {
			db_alloc_set_state(l->db, t->student, DB_ALLOC_READY);
			a.state = DB_ALLOC_READY;
			netd_link_put(l, &a);
		} else if (ret < 0) {
			/* Roll the student back: the worker already removed what it made. */
			db_begin(l->db);
			db_audit_add(l->db, -1, "enrol-failed", t->student,
				     have_alloc ? a.public_ip : NULL,
				     have_alloc ? a.public_port : 0, j->error);
			db_student_delete(l->db, t->student);
			db_commit(l->db);
			labd_vm_forget(l, t->student);
			labd_pools_load(l);
		}
		break;
	case TASK_RESET:
		if (ret == 0) {
			db_alloc_set_base(l->db, t->student, t->base_path);
			if (have_alloc)
				netd_link_put(l, &a);
			if (vm)
				vm->crashed = false;
		}
		break;
	case TASK_REMOVE:
		if (ret == 0) {
			netd_link_del(l, t->student);
			db_begin(l->db);
			db_audit_add(l->db, -1, "unenrol-done", t->student,
				     have_alloc ? a.public_ip : NULL, have_alloc ? a.public_port : 0,
				     NULL);
			db_alloc_delete(l->db, t->student);
			db_student_delete(l->db, t->student);
			db_commit(l->db);
			labd_vm_forget(l, t->student);
			labd_pools_load(l);
		}
		/* On failure the row stays 'deleting': the next start of labd retries. */
		break;
	case TASK_START:
	case TASK_REBOOT:
		if (ret == 0 && vm)
			vm->crashed = false;
		break;
	default:
		break;
	}
	if (t->req)
		request_progress(l, t->req, t->student, ret,
				 ret == -EBUSY ? PROTO_E_BUSY : PROTO_E_INTERNAL, j->error);
	db_alloc_free(&a);
	task_free(t);
}

int task_submit(struct labd *l, enum task_kind kind, const char *student, bool force,
		struct request *r, char *err, size_t errlen)
{
	struct db_student s = { 0 };
	struct db_alloc a = { 0 };
	struct task *t = NULL;
	const struct conf_class *cls;
	struct vm *vm;
	int ret;
	size_t ci;

	ret = db_student_get(l->db, student, &s);
	if (ret < 0) {
		snprintf(err, errlen, "'%s' is not enrolled", student);
		return ret;
	}
	ret = db_alloc_get(l->db, student, &a);
	if (ret < 0) {
		snprintf(err, errlen, "'%s' has no allocation (database inconsistent: see labd's log)",
			 student);
		goto out;
	}
	cls = conf_class_find(&l->conf, s.class);
	if (!cls) {
		snprintf(err, errlen, "'%s' belongs to class '%s', which is not in the configuration",
			 student, s.class);
		ret = -ENOENT;
		goto out;
	}
	vm = labd_vm(l, student, true);
	if (!vm) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (vm->busy) {
		snprintf(err, errlen, "another operation on '%s' is in progress; try again when it "
			 "finished", student);
		ret = -EBUSY;
		goto out;
	}
	if (!virt_connected(l->virt)) {
		snprintf(err, errlen, "libvirt is not connected; labd reconnects by itself, try "
			 "again in a few seconds");
		ret = -ENOTCONN;
		goto out;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ci = (size_t)(cls - l->conf.classes);
	t->l = l;
	t->req = r;
	t->kind = kind;
	t->force = force;
	t->virt = l->virt;
	t->conf = &l->conf;
	t->cls = cls;
	t->stop_timeout = l->conf.stop_timeout;
	snprintf(t->student, sizeof(t->student), "%s", student);
	snprintf(t->domain, sizeof(t->domain), "%s", a.domain);
	snprintf(t->overlay, sizeof(t->overlay), "%s", a.overlay_vol);
	snprintf(t->seed, sizeof(t->seed), "%s", a.seed_vol);
	snprintf(t->mac, sizeof(t->mac), "%s", a.mac);
	snprintf(t->tap, sizeof(t->tap), MAPPING_TAP_PREFIX "%u", a.idx);
	t->index = a.idx;
	t->generation = s.generation;
	t->class_name = strdup(s.class);
	t->name = strdup(s.name);
	t->user = strdup(cls->user);
	t->keys = strdup(s.keys);
	/* Create and reset use the class's current base; repair keeps the recorded one. */
	t->base_path = strdup(kind == TASK_REPAIR ? a.base_image : cls->base_image);
	t->base = l->bases[ci];
	if (kind == TASK_REPAIR && strcmp(a.base_image, cls->base_image) != 0 &&
	    virt_base_probe(a.base_image, t->base.format, &t->base.size) < 0) {
		snprintf(err, errlen, "'%s': base image %s of its overlay is missing", student,
			 a.base_image);
		ret = -ENOENT;
		goto out;
	}
	if (asprintf(&t->console_log, "%s/%s.log", l->conf.console_dir, student) < 0)
		t->console_log = NULL;
	if (!t->class_name || !t->name || !t->user || !t->keys || !t->base_path || !t->console_log) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	t->job.run = task_run;
	t->job.done = task_done;
	vm->busy = true;
	jobs_submit(l->jobs, &t->job);
	t = NULL;
	ret = 0;
out:
	if (t)
		task_free(t);
	db_student_free(&s);
	db_alloc_free(&a);
	return ret;
}
