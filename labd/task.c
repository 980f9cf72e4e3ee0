/*
 * Per-student tasks (labd/task.h): what a worker thread does for one student (calls on
 * labd's host only, on copies of everything it needs), and what the main thread does when
 * it comes back (database, netd, the VM view, the pools), before it tells the submitter.
 */
#include "labd/task.h"

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
#include "labd/names.h"
#include "labd/seed.h"
#include "labd/xml.h"

struct task {
	struct job job;                  /* first: the pool hands us back &job */
	struct labd *l;                  /* main thread only */
	task_done_fn done;               /* main thread only; may be NULL */
	void *arg;
	enum task_kind kind;
	bool force;
	enum vm_state state_after;       /* set by the worker: the VM's state when it is done
	                                    (VM_UNKNOWN: not known, the view keeps its own) */
	/* copies for the worker */
	struct host host;
	char student[ID_MAX_LEN + 1];
	char domain[NAMES_LEN], overlay[NAMES_LEN], seed[NAMES_LEN];
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

struct task_kind_info {
	const char *name;
	/* In a worker: the host calls. 0 or -errno with the message in t->job.error. */
	int (*run)(struct task *t);
	/* On the main thread, RET the worker's result: the records. Returns the result the
	 * submitter gets (a failure to record turns a success into an error). NULL: none. */
	int (*finish)(struct task *t, int ret, struct db_alloc *a);
};

static const struct task_kind_info kinds[TASK_KINDS];

/* A process-wide lock, not labd state: libisofs keeps global state, so one seed at a
 * time whichever labd (or test) builds it. */
static pthread_mutex_t seed_lock = PTHREAD_MUTEX_INITIALIZER;

const char *task_kind_name(enum task_kind k)
{
	return (unsigned)k < TASK_KINDS ? kinds[k].name : "?";
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

/* Records a failure of WHAT (unless a better message is there already); returns RET. */
static int task_fail(struct task *t, int ret, const char *what)
{
	if (t->job.error[0] == '\0')
		snprintf(t->job.error, sizeof(t->job.error), "%s failed (%s); see labd's log",
			 what, strerror(-ret));
	t->job.result = ret;
	return ret;
}

/* ------------------------------------------------------------ the worker side */

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
	char *overlay_path = host_vol_path(&t->host, t->overlay);
	char *seed_path = host_vol_path(&t->host, t->seed);
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
	ret = host_dom_define(&t->host, xml, true);
	if (ret < 0)
		task_fail(t, ret, "defining the domain");
out:
	free(xml);
	free(overlay_path);
	free(seed_path);
	return ret;
}

/* "no space left in the pool directory DIR for the WHAT" for a full disk. */
static int task_fail_space(struct task *t, int ret, const char *what, const char *failed)
{
	if (ret == -ENOSPC)
		snprintf(t->job.error, sizeof(t->job.error),
			 "no space left in the pool directory %s for the %s", t->conf->pool_dir, what);
	return task_fail(t, ret, failed);
}

/* A fresh seed volume (SEED: write over the existing one in place, or make it). */
static int task_write_seed(struct task *t, bool rewrite)
{
	uint8_t *seed = NULL;
	int ret = task_build_seed(t, &seed);

	if (ret < 0)
		return task_fail(t, ret, "building the seed");
	ret = rewrite ? host_vol_rewrite(&t->host, t->seed, seed, LABD_SEED_BYTES) : -ENOENT;
	if (ret == -ENOENT)
		ret = host_vol_create_raw(&t->host, t->seed, seed, LABD_SEED_BYTES);
	free(seed);
	if (ret < 0)
		return task_fail_space(t, ret, "seed", "writing the seed");
	return 0;
}

/* Overlay and seed from scratch (any old ones are removed first). */
static int task_make_disks(struct task *t)
{
	int ret;

	host_vol_delete(&t->host, t->overlay);
	host_vol_delete(&t->host, t->seed);
	ret = host_vol_create_overlay(&t->host, t->overlay, t->base_path, t->base.format,
				      t->base.size);
	if (ret < 0)
		return task_fail_space(t, ret, "overlay", "creating the overlay");
	return task_write_seed(t, false);
}

static void task_undo(struct task *t)
{
	host_dom_remove(&t->host, t->domain);
	host_vol_delete(&t->host, t->overlay);
	host_vol_delete(&t->host, t->seed);
}

static int run_create(struct task *t)
{
	int ret;

	/* A student in 'creating' has no data yet: start from a clean slate, which also
	 * finishes a create that a crash interrupted. */
	if ((ret = host_dom_remove(&t->host, t->domain)) < 0) {
		if (ret == -EPERM)
			snprintf(t->job.error, sizeof(t->job.error), "a domain named %s exists that "
				 "labd did not create; rename or remove it, then enrol again",
				 t->domain);
		task_fail(t, ret, "removing the old domain");
		goto undo;
	}
	if ((ret = task_make_disks(t)) < 0 || (ret = task_define(t)) < 0)
		goto undo;
	/* The flag of a create means "define only, leave it off". */
	if (!t->force && (ret = host_dom_start(&t->host, t->domain)) < 0) {
		task_fail(t, ret, "starting the VM");
		goto undo;
	}
	t->state_after = t->force ? VM_SHUTOFF : VM_RUNNING;
	return 0;
undo:
	task_undo(t);
	return ret;
}

static int run_reset(struct task *t)
{
	int ret;

	/* Forced off and undefined: defining it again (the config may have changed) needs
	 * the old definition gone, since ours carries no UUID. */
	if ((ret = host_dom_remove(&t->host, t->domain)) < 0)
		return task_fail(t, ret, "forcing the VM off");
	t->state_after = VM_MISSING;
	if ((ret = task_make_disks(t)) < 0 || (ret = task_define(t)) < 0)
		return ret;
	t->state_after = VM_SHUTOFF;
	if ((ret = host_dom_start(&t->host, t->domain)) < 0)
		return task_fail(t, ret, "starting the VM");
	t->state_after = VM_RUNNING;
	return 0;
}

static int run_remove(struct task *t)
{
	int ret;

	if ((ret = host_dom_remove(&t->host, t->domain)) < 0)
		return task_fail(t, ret, "removing the domain");
	t->state_after = VM_MISSING;
	if ((ret = host_vol_delete(&t->host, t->overlay)) < 0 ||
	    (ret = host_vol_delete(&t->host, t->seed)) < 0)
		return task_fail(t, ret, "deleting the volumes");
	return 0;
}

static int run_start(struct task *t)
{
	int ret = host_dom_start(&t->host, t->domain);

	if (ret < 0)
		return task_fail(t, ret, "starting the VM");
	t->state_after = VM_RUNNING;
	return 0;
}

static int run_stop(struct task *t)
{
	int ret = host_dom_stop(&t->host, t->domain, t->stop_timeout, t->force);

	if (ret < 0)
		return task_fail(t, ret, "stopping the VM");
	t->state_after = VM_SHUTOFF;
	return 0;
}

static int run_reboot(struct task *t)
{
	enum virt_state st;
	int ret;

	if ((ret = host_dom_state(&t->host, t->domain, &st)) < 0)
		return task_fail(t, ret, "reading the VM's state");
	ret = st == VIRT_RUNNING ? host_dom_reboot(&t->host, t->domain)
				 : host_dom_start(&t->host, t->domain);
	if (ret < 0)
		return task_fail(t, ret, "rebooting the VM");
	t->state_after = VM_RUNNING;
	return 0;
}

static int run_seed(struct task *t)
{
	return task_write_seed(t, true);
}

static int run_repair(struct task *t)
{
	enum virt_state st;
	int ret;

	/* Never recreate a student's overlay silently: only what carries no data. */
	if ((ret = host_vol_exists(&t->host, t->overlay)) == 0) {
		log_warnx("%s: overlay %s is missing: making a fresh one from the base image "
			  "(the student's changes are lost)", t->student, t->overlay);
		ret = host_vol_create_overlay(&t->host, t->overlay, t->base_path, t->base.format,
					      t->base.size);
	}
	if (ret < 0)
		return task_fail(t, ret, "repairing the overlay");
	if ((ret = host_vol_exists(&t->host, t->seed)) == 0)
		ret = task_write_seed(t, false);
	if (ret < 0)
		return task_fail(t, ret, "repairing the seed");
	/* A domain that exists is left alone (it may be running); a missing one is defined
	 * again, not started: the teacher may have stopped it. */
	if ((ret = host_dom_state(&t->host, t->domain, &st)) < 0)
		return task_fail(t, ret, "reading the VM's state");
	t->state_after = vm_state_from_virt(st);
	if (st != VIRT_MISSING)
		return 0;
	if ((ret = task_define(t)) < 0)
		return ret;
	t->state_after = VM_SHUTOFF;
	return 0;
}

static void task_run(struct job *j)
{
	struct task *t = (struct task *)j;
	int ret = kinds[t->kind].run(t);

	if (ret < 0)
		j->result = ret;
}

/* ---------------------------------------------------------- the main thread side */

/* A database failure after the work was done: the message the client gets. */
static int task_db_fail(struct task *t, int ret, const char *what)
{
	snprintf(t->job.error, sizeof(t->job.error), "%s: the database refused it (%s); see "
		 "labd's log", what, strerror(-ret));
	log_warnx("%s: %s: database: %s", t->student, what, strerror(-ret));
	return ret;
}

/* Runs FN's statements in one transaction: all or none. */
static int task_db_tx(struct labd *l, int (*fn)(struct task *t, struct db_alloc *a),
		      struct task *t, struct db_alloc *a)
{
	int ret = db_begin(l->db);

	if (ret == 0 && (ret = fn(t, a)) == 0 && (ret = db_commit(l->db)) == 0)
		return 0;
	(void)db_rollback(l->db);     /* a failure is logged by db.c */
	return ret;
}

static int create_forget_rows(struct task *t, struct db_alloc *a)
{
	int ret = db_audit_add(t->l->db, -1, "enrol-failed", t->student, a->public_ip,
			       a->public_port, t->job.error);

	return ret < 0 ? ret : db_student_delete(t->l->db, t->student);
}

static int finish_create(struct task *t, int ret, struct db_alloc *a)
{
	struct labd *l = t->l;
	int r;

	if (ret == 0 && a->student) {
		if (t->force && !t->done)
			log_info("%s: its interrupted enrol is finished; the VM is left off (re-run "
				 "the enrol, or labctl start %s)", t->student, t->student);
		r = db_alloc_set_state(l->db, t->student, DB_ALLOC_READY);
		if (r < 0)
			return task_db_fail(t, r, "the VM is made but could not be marked ready "
					    "(labd finishes it at its next start)");
		a->state = DB_ALLOC_READY;
		/* netd down or refusing: the link logged it, and its resync carries it */
		(void)l->netd.put(l->netd.ctx, a);
		return 0;
	}
	if (ret == 0)
		return 0;
	/* Roll the student back: the worker already removed what it made. */
	r = task_db_tx(l, create_forget_rows, t, a);
	if (r < 0) {
		log_warnx("%s: rolling back its enrol in the database failed (%s): it stays "
			  "'creating' until labd's next start, which finishes it", t->student,
			  strerror(-r));
		return ret;
	}
	vmview_forget(&l->view, t->student);
	pools_release_alloc(&l->pools, a);
	return ret;
}

static int finish_reset(struct task *t, int ret, struct db_alloc *a)
{
	struct labd *l = t->l;
	struct vm *vm = vmview_find(&l->view, t->student);
	int r;

	if (ret < 0)
		return ret;
	r = db_alloc_set_base(l->db, t->student, t->base_path);
	if (a->student)
		(void)l->netd.put(l->netd.ctx, a);     /* as in finish_create */
	if (vm)
		vm->crashed = false;
	if (r < 0)
		return task_db_fail(t, r, "the VM is reset but its new base image was not recorded");
	return 0;
}

static int remove_forget_rows(struct task *t, struct db_alloc *a)
{
	struct db *db = t->l->db;
	int ret;

	if ((ret = db_audit_add(db, -1, "unenrol-done", t->student, a->public_ip,
				a->public_port, NULL)) < 0 ||
	    (a->student && (ret = db_alloc_delete(db, t->student)) < 0))
		return ret;
	return db_student_delete(db, t->student);
}

static int finish_remove(struct task *t, int ret, struct db_alloc *a)
{
	struct labd *l = t->l;
	int r;

	/* On failure the row stays 'deleting': the next start of labd retries. */
	if (ret < 0)
		return ret;
	(void)l->netd.del(l->netd.ctx, t->student);     /* as in finish_create */
	r = task_db_tx(l, remove_forget_rows, t, a);
	if (r < 0)
		return task_db_fail(t, r, "the VM and its volumes are gone but the student is "
				    "still listed (labd finishes the removal at its next start)");
	vmview_forget(&l->view, t->student);
	pools_release_alloc(&l->pools, a);
	return 0;
}

static int finish_running(struct task *t, int ret, struct db_alloc *a)
{
	struct vm *vm = vmview_find(&t->l->view, t->student);

	if (ret == 0 && vm)
		vm->crashed = false;
	return ret;
}

static const struct task_kind_info kinds[TASK_KINDS] = {
	[TASK_CREATE] = { "create", run_create, finish_create },
	[TASK_RESET] = { "reset", run_reset, finish_reset },
	[TASK_REMOVE] = { "unenrol", run_remove, finish_remove },
	[TASK_START] = { "start", run_start, finish_running },
	[TASK_STOP] = { "stop", run_stop, NULL },
	[TASK_REBOOT] = { "reboot", run_reboot, finish_running },
	[TASK_SEED] = { "set-keys", run_seed, NULL },
	[TASK_REPAIR] = { "repair", run_repair, NULL },
};

static void task_done(struct job *j)
{
	struct task *t = (struct task *)j;
	struct labd *l = t->l;
	struct db_alloc a = { 0 };
	struct vm *vm = vmview_find(&l->view, t->student);
	int ret = j->result;

	if (vm) {
		vm->busy = false;
		/* What the worker saw last is newer than any event that came before this. */
		if (t->state_after != VM_UNKNOWN) {
			vm->state = t->state_after;
			vm->event_seq = ++l->view.events;
		}
	}
	if (ret < 0)
		log_warnx("%s: %s: %s", t->student, task_kind_name(t->kind), j->error);
	else
		log_info("%s: %s done", t->student, task_kind_name(t->kind));
	if (db_alloc_get(l->db, t->student, &a) < 0)
		memset(&a, 0, sizeof(a));
	if (kinds[t->kind].finish)
		ret = kinds[t->kind].finish(t, ret, &a);
	if (t->done)
		t->done(t->arg, t->student, ret, ret < 0 ? j->error : "");
	db_alloc_free(&a);
	task_free(t);
}

/* ------------------------------------------------------------------ submitting */

/* What the database and the config say about STUDENT, and whether a task may start. */
static int task_check(struct labd *l, const char *student, struct db_student *s,
		      struct db_alloc *a, const struct conf_class **cls, char *err,
		      size_t errlen)
{
	struct vm *vm;
	int ret;

	if ((ret = db_student_get(l->db, student, s)) < 0) {
		snprintf(err, errlen, "'%s' is not enrolled", student);
		return ret;
	}
	if ((ret = db_alloc_get(l->db, student, a)) < 0) {
		snprintf(err, errlen, "'%s' has no allocation (database inconsistent: see "
			 "labd's log)", student);
		return ret;
	}
	*cls = conf_class_find(&l->conf, s->class);
	if (!*cls) {
		snprintf(err, errlen, "'%s' belongs to class '%s', which is not in the "
			 "configuration", student, s->class);
		return -ENOENT;
	}
	if (!(vm = vmview_get(&l->view, student))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (vm->busy) {
		snprintf(err, errlen, "another operation on '%s' is in progress; try again when "
			 "it finished", student);
		return -EBUSY;
	}
	if (!host_connected(&l->host)) {
		snprintf(err, errlen, "libvirt is not connected; labd reconnects by itself, try "
			 "again in a few seconds");
		return -ENOTCONN;
	}
	return 0;
}

/* The worker's copies of S, A and CLS. */
static int task_fill(struct task *t, struct labd *l, const struct db_student *s,
		     const struct db_alloc *a, const struct conf_class *cls, char *err,
		     size_t errlen)
{
	t->host = l->host;
	t->conf = &l->conf;
	t->cls = cls;
	t->stop_timeout = l->conf.stop_timeout;
	snprintf(t->domain, sizeof(t->domain), "%s", a->domain);
	snprintf(t->overlay, sizeof(t->overlay), "%s", a->overlay_vol);
	snprintf(t->seed, sizeof(t->seed), "%s", a->seed_vol);
	snprintf(t->mac, sizeof(t->mac), "%s", a->mac);
	snprintf(t->tap, sizeof(t->tap), MAPPING_TAP_PREFIX "%u", a->idx);
	t->index = a->idx;
	t->generation = s->generation;
	t->class_name = strdup(s->class);
	t->name = strdup(s->name);
	t->user = strdup(cls->user);
	t->keys = strdup(s->keys);
	/* Create and reset use the class's current base; repair keeps the recorded one. */
	t->base_path = strdup(t->kind == TASK_REPAIR ? a->base_image : cls->base_image);
	t->base = l->bases[cls - l->conf.classes];
	if (t->kind == TASK_REPAIR && strcmp(a->base_image, cls->base_image) != 0 &&
	    host_base_probe(&l->host, a->base_image, t->base.format, &t->base.size) < 0) {
		snprintf(err, errlen, "'%s': base image %s of its overlay is missing", t->student,
			 a->base_image);
		return -ENOENT;
	}
	if (asprintf(&t->console_log, "%s/%s.log", l->conf.console_dir, t->student) < 0)
		t->console_log = NULL;
	if (!t->class_name || !t->name || !t->user || !t->keys || !t->base_path ||
	    !t->console_log) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

int task_submit(struct labd *l, enum task_kind kind, const char *student, bool force,
		task_done_fn done, void *arg, char *err, size_t errlen)
{
	struct db_student s = { 0 };
	struct db_alloc a = { 0 };
	const struct conf_class *cls = NULL;
	struct task *t = NULL;
	int ret;

	if ((ret = task_check(l, student, &s, &a, &cls, err, errlen)) < 0)
		goto out;
	t = calloc(1, sizeof(*t));
	if (!t) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	*t = (struct task){ .l = l, .done = done, .arg = arg, .kind = kind, .force = force,
			    .state_after = VM_UNKNOWN };
	snprintf(t->student, sizeof(t->student), "%s", student);
	if ((ret = task_fill(t, l, &s, &a, cls, err, errlen)) < 0)
		goto out;
	t->job.run = task_run;
	t->job.done = task_done;
	vmview_find(&l->view, student)->busy = true;
	jobs_submit(l->jobs, &t->job);
	t = NULL;
out:
	if (t)
		task_free(t);
	db_student_free(&s);
	db_alloc_free(&a);
	return ret;
}
