/*
 * labd's libvirt layer: the C API only. One connection, shared by worker threads and
 * the event loop thread. The pointer is guarded by a mutex because the event loop
 * thread may swap it (reconnect) while a worker is mid-call: each call takes its own
 * reference (virConnectRef) under the lock and drops it (virConnectClose) when done,
 * so a reconnect never frees a connection under somebody's feet.
 *
 * Errors: libvirt reports them per thread (virGetLastError); we install a quiet
 * handler so libvirt prints nothing itself, log virGetLastErrorMessage() with what we
 * were doing, and return a negative errno (virt_errno()).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "common/log.h"
#include "labd/host.h"
#include "labd/virt.h"
#include "labd/volfile.h"
#include "labd/xml.h"

/* An empty overlay made by libvirt, kept to be copied (virt_vol_create_overlay). */
struct virt_template {
	char *base_path;           /* NULL: the slot is free */
	char format[8];
	uint64_t capacity;
	uint8_t *data;
	size_t len;
	mode_t mode;
	uid_t uid;
	gid_t gid;
};
#define VIRT_TEMPLATES 4                /* bases in use at once: one per class */
#define VIRT_TEMPLATE_MAX (16u << 20)   /* an empty overlay is about 200 KiB */
/* Never a student's volume name: '.' is not allowed in an ID. */
#define VIRT_TEMPLATE_VOL "vlab-.template.qcow2"

struct virt {
	pthread_mutex_t lock;      /* guards conn, dead, cb_id, pool_stale */
	virConnectPtr conn;        /* NULL while disconnected */
	bool dead;                 /* the close callback fired for conn */
	int cb_id;                 /* lifecycle callback id on conn, -1 if none */
	char *uri;                 /* copies: the caller's config need not outlive us */
	char *pool_name;
	char *pool_dir;
	virt_lifecycle_fn on_event;
	virt_closed_fn on_close;
	void *arg;
	bool pool_stale;           /* files made since the last pool refresh */
	pthread_mutex_t tmpl_lock; /* guards tmpl, tmpl_next; held while making one */
	struct virt_template tmpl[VIRT_TEMPLATES];
	unsigned tmpl_next;
};

#define VIRT_OWNER_LEN 256

static void virt_template_clear(struct virt_template *t)
{
	free(t->base_path);
	free(t->data);
	memset(t, 0, sizeof(*t));
}

static pthread_once_t virt_once = PTHREAD_ONCE_INIT;
static int virt_once_ret;

/* libvirt would print every error on stderr; we log them ourselves, with context. */
static void virt_quiet(void *opaque, virErrorPtr err)
{
	(void)opaque;
	(void)err;
}

static void virt_init_once(void)
{
	/* libxml2 wants its global set-up done once before threads parse. */
	xmlInitParser();
	virSetErrorFunc(NULL, virt_quiet);
	/* Must precede virConnectOpen: keep-alive, the close callback and domain events
	 * all need an event implementation registered. */
	if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0)
		virt_once_ret = -EIO;
}

static int virt_init(void)
{
	pthread_once(&virt_once, virt_init_once);
	return virt_once_ret;
}

const char *virt_state_name(enum virt_state s)
{
	switch (s) {
	case VIRT_MISSING: return "missing";
	case VIRT_RUNNING: return "running";
	case VIRT_SHUTOFF: return "shut off";
	case VIRT_PAUSED:  return "paused";
	case VIRT_CRASHED: return "crashed";
	case VIRT_OTHER:   return "other";
	}
	return "other";
}

/* --------------------------------------------------------------- errors */

/* This thread's last libvirt error as a negative errno. */
static int virt_errno(void)
{
	virErrorPtr e = virGetLastError();

	if (!e)
		return -EIO;
	switch (e->code) {
	case VIR_ERR_NO_DOMAIN:
	case VIR_ERR_NO_STORAGE_VOL:
	case VIR_ERR_NO_STORAGE_POOL:
		return -ENOENT;
	case VIR_ERR_STORAGE_VOL_EXIST:
	case VIR_ERR_DOM_EXIST:
		return -EEXIST;
	case VIR_ERR_OPERATION_INVALID:
		if (e->message && strstr(e->message, "already exists"))
			return -EEXIST;
		return -EINVAL;
	case VIR_ERR_INVALID_ARG:
	case VIR_ERR_XML_ERROR:
	case VIR_ERR_XML_DETAIL:
	case VIR_ERR_CONFIG_UNSUPPORTED:
		return -EINVAL;
	case VIR_ERR_NO_SUPPORT:
		return -EOPNOTSUPP;
	case VIR_ERR_NO_CONNECT:
	case VIR_ERR_INVALID_CONN:
	case VIR_ERR_RPC:
		return -ENOTCONN;
	case VIR_ERR_OPERATION_TIMEOUT:
		return -ETIMEDOUT;
	case VIR_ERR_OPERATION_DENIED:
	case VIR_ERR_ACCESS_DENIED:
	case VIR_ERR_AUTH_FAILED:
		return -EACCES;
	default:
		break;
	}
	/* Storage backends report a full disk either as a system error carrying errno
	 * (int1) or as qemu-img's stderr inside an internal error. */
	if (e->code == VIR_ERR_SYSTEM_ERROR && (e->int1 == ENOSPC || e->int1 == EDQUOT))
		return -ENOSPC;
	if (e->message && (strstr(e->message, "No space left on device") ||
			   strstr(e->message, "Disk quota exceeded")))
		return -ENOSPC;
	/* e.g. a volume's file made behind libvirt's back (OPERATION_INVALID "volume
	 * target path ... already exists"), or a define over a name with another uuid */
	if (e->message && strstr(e->message, "already exists"))
		return -EEXIST;
	return -EIO;
}

/* Logs "WHAT NAME: libvirt's message" and returns the mapped errno. */
static int virt_fail(const char *what, const char *name)
{
	int ret = virt_errno();

	log_warnx("%s%s%s: %s", what, name ? " " : "", name ? name : "",
		  virGetLastErrorMessage());
	return ret;
}

/* The code of this thread's last error, for the calls that tolerate one. */
static int virt_last_code(void)
{
	virErrorPtr e = virGetLastError();

	return e ? e->code : VIR_ERR_OK;
}

/* ----------------------------------------------------------- connection */

static void virt_on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail,
			      void *opaque)
{
	struct virt *v = opaque;
	const char *name = virDomainGetName(dom);

	(void)conn;
	if (v->on_event && name)
		v->on_event(name, event, detail, v->arg);
}

static void virt_on_close(virConnectPtr conn, int reason, void *opaque)
{
	struct virt *v = opaque;

	pthread_mutex_lock(&v->lock);
	if (v->conn == conn)
		v->dead = true;
	pthread_mutex_unlock(&v->lock);
	log_warnx("libvirt connection to %s closed (reason %d)", v->uri, reason);
	if (v->on_close)
		v->on_close(v->arg);
}

/* Opens v->uri with keep-alive and both callbacks; returns the connection. */
static int virt_connect(struct virt *v, virConnectPtr *out, int *cb_id)
{
	virConnectPtr c;
	int id, r;

	*out = NULL;
	c = virConnectOpen(v->uri);
	if (!c) {
		/* whatever the reason (no socket, refused, ...), labd retries later */
		virt_fail("connect to", v->uri);
		return -ECONNREFUSED;
	}
	/* Notices a hung libvirtd within ~15 s; local drivers (test://) have no
	 * keep-alive, which is fine. */
	r = virConnectSetKeepAlive(c, 5, 3);
	if (r < 0)
		log_debug("keep-alive on %s: %s", v->uri, virGetLastErrorMessage());
	if (virConnectRegisterCloseCallback(c, virt_on_close, v, NULL) < 0) {
		r = virt_fail("close callback on", v->uri);
		virConnectClose(c);
		return r;
	}
	id = virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
					      VIR_DOMAIN_EVENT_CALLBACK(virt_on_lifecycle), v,
					      NULL);
	if (id < 0) {
		r = virt_fail("lifecycle events on", v->uri);
		virConnectUnregisterCloseCallback(c, virt_on_close);
		virConnectClose(c);
		return r;
	}
	*out = c;
	*cb_id = id;
	return 0;
}

/* Drops our callbacks and our reference; calls in flight keep theirs. Failures are
 * expected on a dead connection and not worth a word. */
static void virt_disconnect(virConnectPtr c, int cb_id)
{
	if (!c)
		return;
	if (cb_id >= 0)
		virConnectDomainEventDeregisterAny(c, cb_id);
	virConnectUnregisterCloseCallback(c, virt_on_close);
	virConnectClose(c);
	virResetLastError();
}

int virt_open(const struct lab_conf *conf, virt_lifecycle_fn on_event, virt_closed_fn on_close,
	      void *arg, struct virt **out)
{
	struct virt *v;
	int ret;

	*out = NULL;
	ret = virt_init();
	if (ret < 0) {
		log_warnx("libvirt event loop: %s", virGetLastErrorMessage());
		return ret;
	}
	if (!conf->libvirt_uri || !conf->pool_name || !conf->pool_dir)
		return -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	pthread_mutex_init(&v->lock, NULL);
	pthread_mutex_init(&v->tmpl_lock, NULL);
	v->cb_id = -1;
	v->on_event = on_event;
	v->on_close = on_close;
	v->arg = arg;
	v->uri = strdup(conf->libvirt_uri);
	v->pool_name = strdup(conf->pool_name);
	v->pool_dir = strdup(conf->pool_dir);
	ret = -ENOMEM;
	if (!v->uri || !v->pool_name || !v->pool_dir)
		goto out;
	ret = virt_connect(v, &v->conn, &v->cb_id);
	if (ret < 0)
		goto out;
	*out = v;
	v = NULL;
out:
	virt_close(v);
	return ret;
}

void virt_close(struct virt *v)
{
	if (!v)
		return;
	virt_disconnect(v->conn, v->cb_id);
	for (size_t i = 0; i < VIRT_TEMPLATES; i++)
		virt_template_clear(&v->tmpl[i]);
	pthread_mutex_destroy(&v->tmpl_lock);
	pthread_mutex_destroy(&v->lock);
	free(v->uri);
	free(v->pool_name);
	free(v->pool_dir);
	free(v);
}

int virt_reconnect(struct virt *v)
{
	virConnectPtr old, c;
	int old_id, id = -1, ret;

	pthread_mutex_lock(&v->lock);
	old = v->conn;
	old_id = v->cb_id;
	v->conn = NULL;
	v->cb_id = -1;
	v->dead = false;
	pthread_mutex_unlock(&v->lock);
	virt_disconnect(old, old_id);

	ret = virt_connect(v, &c, &id);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&v->lock);
	v->conn = c;
	v->cb_id = id;
	pthread_mutex_unlock(&v->lock);
	log_info("reconnected to %s", v->uri);
	return 0;
}

/* A reference of our own on the current connection (virConnectClose drops it), or
 * NULL while disconnected. */
static virConnectPtr virt_conn_get(struct virt *v)
{
	virConnectPtr c;

	pthread_mutex_lock(&v->lock);
	c = v->conn;
	if (c && virConnectRef(c) < 0)
		c = NULL;
	pthread_mutex_unlock(&v->lock);
	/* Debug only: during an outage every worker would say it; callers get
	 * -ENOTCONN and the close callback has already been logged. */
	if (!c)
		log_debug("libvirt %s: not connected", v->uri);
	return c;
}

static void virt_conn_put(virConnectPtr c)
{
	if (c)
		virConnectClose(c);
}

bool virt_connected(struct virt *v)
{
	virConnectPtr c;
	bool dead, alive;

	pthread_mutex_lock(&v->lock);
	c = v->conn;
	dead = v->dead;
	if (c && virConnectRef(c) < 0)
		c = NULL;
	pthread_mutex_unlock(&v->lock);
	if (!c)
		return false;
	/* Outside our lock: IsAlive takes libvirt's client lock, and the close callback
	 * (which takes ours) may run with libvirt's own locks held. */
	alive = !dead && virConnectIsAlive(c) == 1;
	virConnectClose(c);
	return alive;
}

int virt_event_run_once(void)
{
	if (virEventRunDefaultImpl() < 0) {
		log_warnx("libvirt event loop: %s", virGetLastErrorMessage());
		return -EIO;
	}
	return 0;
}

/* ------------------------------------------------------------ XML bits */

/* The string value of XPATH in DOC_XML (malloc'd), or NULL if it has none. */
static int virt_xpath_string(const char *doc_xml, const char *xpath, char **out)
{
	xmlDocPtr doc = NULL;
	xmlXPathContextPtr ctx = NULL;
	xmlXPathObjectPtr res = NULL;
	int ret = -EINVAL;

	*out = NULL;
	doc = xmlReadMemory(doc_xml, (int)strlen(doc_xml), "libvirt.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		goto out;
	ret = -ENOMEM;
	ctx = xmlXPathNewContext(doc);
	if (!ctx)
		goto out;
	res = xmlXPathEvalExpression(BAD_CAST xpath, ctx);
	if (!res)
		goto out;
	ret = 0;
	if (res->type == XPATH_STRING && res->stringval && *res->stringval) {
		*out = strdup((const char *)res->stringval);
		if (!*out)
			ret = -ENOMEM;
	}
out:
	xmlXPathFreeObject(res);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return ret;
}

/* Appends a copy of S to the growing array *ARR of *N strings. */
static int virt_strv_push(char ***arr, size_t *n, const char *s)
{
	char **a = realloc(*arr, (*n + 1) * sizeof(**arr));

	if (!a)
		return -ENOMEM;
	*arr = a;
	a[*n] = strdup(s);
	if (!a[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

static void virt_strv_free(char **a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(a[i]);
	free(a);
}

/* Disk source paths (file or block device) of one domain's XML, appended to *ARR. */
static int virt_domain_disks(const char *dom_xml, char ***arr, size_t *n)
{
	xmlDocPtr doc = NULL;
	xmlXPathContextPtr ctx = NULL;
	xmlXPathObjectPtr res = NULL;
	int i, ret = -EINVAL;

	doc = xmlReadMemory(dom_xml, (int)strlen(dom_xml), "domain.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		goto out;
	ret = -ENOMEM;
	ctx = xmlXPathNewContext(doc);
	if (!ctx)
		goto out;
	res = xmlXPathEvalExpression(BAD_CAST "/domain/devices/disk/source/@file | "
					      "/domain/devices/disk/source/@dev", ctx);
	if (!res)
		goto out;
	ret = 0;
	for (i = 0; res->nodesetval && i < res->nodesetval->nodeNr; i++) {
		xmlChar *s = xmlNodeGetContent(res->nodesetval->nodeTab[i]);

		if (s && *s)
			ret = virt_strv_push(arr, n, (const char *)s);
		xmlFree(s);
		if (ret < 0)
			goto out;
	}
out:
	xmlXPathFreeObject(res);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return ret;
}

/* ----------------------------------------------------------------- pool */

static virStoragePoolPtr virt_pool_get(struct virt *v, virConnectPtr c, int *ret)
{
	virStoragePoolPtr p = virStoragePoolLookupByName(c, v->pool_name);

	if (!p)
		*ret = virt_fail("storage pool", v->pool_name);
	return p;
}

/* Our pool must live where the config says: volume paths are built from pool_dir. */
static int virt_pool_check_dir(struct virt *v, virStoragePoolPtr p)
{
	char *xml = virStoragePoolGetXMLDesc(p, 0);
	char *path = NULL;
	size_t a, b;
	int ret;

	if (!xml)
		return virt_fail("storage pool XML of", v->pool_name);
	ret = virt_xpath_string(xml, "string(/pool/target/path)", &path);
	if (ret < 0)
		goto out;
	a = path ? strlen(path) : 0;
	b = strlen(v->pool_dir);
	while (a > 1 && path[a - 1] == '/')
		a--;
	while (b > 1 && v->pool_dir[b - 1] == '/')
		b--;
	if (!path || a != b || strncmp(path, v->pool_dir, a)) {
		log_warnx("storage pool %s is at %s, but the config says %s", v->pool_name,
			  path ? path : "(none)", v->pool_dir);
		ret = -EINVAL;
	}
out:
	free(path);
	free(xml);
	return ret;
}

/* Drops a template volume a crash left behind, whether libvirt knows it or not. */
static int virt_template_vol_clear(struct virt *v, virStoragePoolPtr p)
{
	virStorageVolPtr vol = virStorageVolLookupByName(p, VIRT_TEMPLATE_VOL);
	char *path;
	int ret = 0;

	if (vol) {
		if (virStorageVolDelete(vol, 0) < 0)
			ret = virt_fail("delete volume", VIRT_TEMPLATE_VOL);
		virStorageVolFree(vol);
	} else if (virt_last_code() != VIR_ERR_NO_STORAGE_VOL) {
		return virt_fail("volume", VIRT_TEMPLATE_VOL);
	}
	path = virt_vol_path(v, VIRT_TEMPLATE_VOL);
	if (!path)
		return -ENOMEM;
	if (unlink(path) < 0 && errno != ENOENT) {
		ret = -errno;
		log_warn("stale template %s", path);
	}
	free(path);
	return ret;
}

int virt_pool_ensure(struct virt *v)
{
	virConnectPtr c = virt_conn_get(v);
	virStoragePoolPtr p = NULL;
	char *xml = NULL;
	int active, ret = -ENOTCONN;

	if (!c)
		return ret;
	p = virStoragePoolLookupByName(c, v->pool_name);
	if (!p) {
		if (virt_last_code() != VIR_ERR_NO_STORAGE_POOL) {
			ret = virt_fail("storage pool", v->pool_name);
			goto out;
		}
		ret = xml_build_pool(v->pool_name, v->pool_dir, &xml);
		if (ret < 0)
			goto out;
		p = virStoragePoolDefineXML(c, xml, 0);
		if (!p) {
			ret = virt_fail("define storage pool", v->pool_name);
			goto out;
		}
		/* Build makes the directory (with the pool's permissions); it is a no-op
		 * on an existing one. */
		if (virStoragePoolBuild(p, 0) < 0) {
			ret = virt_fail("build storage pool", v->pool_name);
			goto out;
		}
		if (virStoragePoolSetAutostart(p, 1) < 0) {
			ret = virt_fail("autostart storage pool", v->pool_name);
			goto out;
		}
		log_info("defined storage pool %s at %s", v->pool_name, v->pool_dir);
	} else {
		ret = virt_pool_check_dir(v, p);
		if (ret < 0)
			goto out;
	}
	active = virStoragePoolIsActive(p);
	if (active < 0) {
		ret = virt_fail("storage pool state of", v->pool_name);
		goto out;
	}
	/* Create refreshes the volume list too. */
	if (!active && virStoragePoolCreate(p, 0) < 0 &&
	    virt_last_code() != VIR_ERR_OPERATION_INVALID) {
		ret = virt_fail("start storage pool", v->pool_name);
		goto out;
	}
	if (active && virStoragePoolRefresh(p, 0) < 0) {
		ret = virt_fail("refresh storage pool", v->pool_name);
		goto out;
	}
	/* labd killed while it made an overlay template: nothing else would remove it. */
	ret = virt_template_vol_clear(v, p);
out:
	free(xml);
	if (p)
		virStoragePoolFree(p);
	virt_conn_put(c);
	return ret;
}

/* -------------------------------------------------------------- volumes */

char *virt_vol_path(struct virt *v, const char *name)
{
	size_t n = strlen(v->pool_dir);
	char *path;

	while (n > 1 && v->pool_dir[n - 1] == '/')
		n--;
	if (asprintf(&path, "%.*s/%s", (int)n, v->pool_dir, name) < 0)
		return NULL;
	return path;
}

static bool virt_vol_file_exists(struct virt *v, const char *name)
{
	char *path = virt_vol_path(v, name);
	struct stat st;
	bool ret = path && lstat(path, &st) == 0;

	free(path);
	return ret;
}

/* Volume NAME of our pool on C, or NULL with *RET set. *MISSING (if given) tells a
 * missing volume (not logged: callers tolerate it) from a missing pool or a failure. */
static virStorageVolPtr virt_vol_get(struct virt *v, virConnectPtr c, const char *name,
				     bool *missing, int *ret)
{
	virStoragePoolPtr p = virt_pool_get(v, c, ret);
	virStorageVolPtr vol;

	if (missing)
		*missing = false;
	if (!p)
		return NULL;
	vol = virStorageVolLookupByName(p, name);
	if (!vol && virt_last_code() == VIR_ERR_NO_STORAGE_VOL && virt_vol_file_exists(v, name)) {
		/* Made by labd since the pool's last refresh (volfile.c). */
		if (virStoragePoolRefresh(p, 0) < 0)
			log_warnx("refresh storage pool %s: %s", v->pool_name, virGetLastErrorMessage());
		else
			vol = virStorageVolLookupByName(p, name);
	}
	if (!vol) {
		if (missing && virt_last_code() == VIR_ERR_NO_STORAGE_VOL) {
			*missing = true;
			*ret = -ENOENT;
		} else {
			*ret = virt_fail("volume", name);
		}
	}
	virStoragePoolFree(p);
	return vol;
}

int virt_base_probe(const char *path, char format[8], uint64_t *virtual_size)
{
	unsigned char h[32];
	struct stat st;
	uint64_t size = 0;
	ssize_t got;
	int fd, i, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ret = -errno;
		log_warn("base image %s", path);
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		log_warn("base image %s", path);
		goto out;
	}
	ret = -EINVAL;
	if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
			ret = -errno;
			log_warn("base image %s: size", path);
			goto out;
		}
	} else {
		log_warnx("base image %s: not a regular file or block device", path);
		goto out;
	}
	got = pread(fd, h, sizeof(h), 0);
	if (got < 0) {
		ret = -errno;
		log_warn("base image %s: read", path);
		goto out;
	}
	if (got >= 4 && !memcmp(h, "QFI\xfb", 4)) {
		uint32_t version = 0;

		/* qcow2 header, big endian: magic, version (2|3), backing offset (8),
		 * backing size (4), cluster bits (4), size (8) at offset 24. */
		if (got < (ssize_t)sizeof(h)) {
			log_warnx("base image %s: truncated qcow2 header", path);
			goto out;
		}
		for (i = 4; i < 8; i++)
			version = version << 8 | h[i];
		if (version != 2 && version != 3) {
			log_warnx("base image %s: qcow2 version %u", path, version);
			goto out;
		}
		size = 0;
		for (i = 24; i < 32; i++)
			size = size << 8 | h[i];
		strcpy(format, "qcow2");
	} else {
		strcpy(format, "raw");
	}
	if (size == 0) {
		log_warnx("base image %s: empty", path);
		goto out;
	}
	*virtual_size = size;
	ret = 0;
out:
	close(fd);
	return ret;
}

static void virt_pool_mark_stale(struct virt *v)
{
	pthread_mutex_lock(&v->lock);
	v->pool_stale = true;
	pthread_mutex_unlock(&v->lock);
}

static int virt_vol_create_file(struct virt *v, const char *name, const uint8_t *data,
				size_t len, mode_t mode, uid_t uid, gid_t gid)
{
	int ret = volfile_create(v->pool_dir, name, data, len, mode, uid, gid);

	if (ret == 0)
		virt_pool_mark_stale(v);
	return ret;
}

/* libvirt makes an empty overlay of BASE (qemu-img), labd keeps its bytes and deletes it. */
static int virt_template_make(struct virt *v, const char *base_path, const char *base_format,
			      uint64_t capacity, struct virt_template *t)
{
	virConnectPtr c = virt_conn_get(v);
	virStoragePoolPtr p = NULL;
	virStorageVolPtr vol = NULL;
	char *xml = NULL, *path = NULL;
	struct stat st;
	int ret = -ENOTCONN;

	if (!c)
		return ret;
	ret = xml_build_overlay_volume(VIRT_TEMPLATE_VOL, base_path, base_format, capacity, &xml);
	if (ret < 0)
		goto out;
	p = virt_pool_get(v, c, &ret);
	if (!p || (ret = virt_template_vol_clear(v, p)) < 0)
		goto out;
	vol = virStorageVolCreateXML(p, xml, 0);
	if (!vol) {
		ret = virt_fail("create overlay on", base_path);
		goto out;
	}
	path = virStorageVolGetPath(vol);
	if (!path) {
		ret = virt_fail("path of volume", VIRT_TEMPLATE_VOL);
		goto out;
	}
	ret = volfile_read(path, VIRT_TEMPLATE_MAX, &t->data, &t->len, &st);
	if (ret < 0)
		goto out;
	t->base_path = strdup(base_path);
	if (!t->base_path) {
		ret = -ENOMEM;
		goto out;
	}
	snprintf(t->format, sizeof(t->format), "%s", base_format);
	t->capacity = capacity;
	t->mode = st.st_mode & 07777;
	t->uid = st.st_uid;
	t->gid = st.st_gid;
	log_debug("overlay template for %s: %zu bytes", base_path, t->len);
	ret = 0;
out:
	if (vol) {
		if (virStorageVolDelete(vol, 0) < 0)
			log_warnx("delete volume %s: %s", VIRT_TEMPLATE_VOL, virGetLastErrorMessage());
		virStorageVolFree(vol);
	}
	if (ret < 0)
		virt_template_clear(t);
	free(path);
	free(xml);
	if (p)
		virStoragePoolFree(p);
	virt_conn_put(c);
	return ret;
}

/*
 * An overlay is a copy of the template for its base. libvirt would run qemu-img for
 * each one (from a fork of libvirtd; qemu-img alone ~8 ms of CPU, most of what enrolling a class
 * costs); an empty qcow2 overlay holds nothing but the backing file's path and format
 * and the virtual size, so the bytes are the same for every student of a class. The
 * template is still made by libvirt, so the format is qemu-img's, not ours. libvirt
 * learns of the copy at the next pool refresh (virt_pool_sync, or a lookup that misses).
 */
int virt_vol_create_overlay(struct virt *v, const char *name, const char *base_path,
			    const char *base_format, uint64_t capacity)
{
	struct virt_template *t = NULL;
	uint8_t *copy = NULL;
	size_t len = 0, i;
	mode_t mode = 0600;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	int ret = 0;

	if (capacity == 0) {
		char fmt[8];

		ret = virt_base_probe(base_path, fmt, &capacity);
		if (ret < 0)
			return ret;
	}
	pthread_mutex_lock(&v->tmpl_lock);
	for (i = 0; i < VIRT_TEMPLATES && !t; i++) {
		struct virt_template *x = &v->tmpl[i];

		if (x->base_path && x->capacity == capacity && !strcmp(x->base_path, base_path) &&
		    !strcmp(x->format, base_format))
			t = x;
	}
	if (!t) {
		t = &v->tmpl[v->tmpl_next++ % VIRT_TEMPLATES];
		virt_template_clear(t);
		ret = virt_template_make(v, base_path, base_format, capacity, t);
	}
	if (ret == 0) {
		/* A copy: the slot may be reused by another thread once we unlock. */
		copy = malloc(t->len ? t->len : 1);
		if (copy) {
			memcpy(copy, t->data, t->len);
			len = t->len;
			mode = t->mode;
			uid = t->uid;
			gid = t->gid;
		} else {
			ret = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&v->tmpl_lock);
	if (ret == 0)
		ret = virt_vol_create_file(v, name, copy, len, mode, uid, gid);
	free(copy);
	return ret;
}

int virt_vol_create_raw(struct virt *v, const char *name, const uint8_t *data, size_t len)
{
	/* What libvirt gives a volume of ours: root's (labd's), 0600. */
	return virt_vol_create_file(v, name, data, len, 0600, (uid_t)-1, (gid_t)-1);
}

int virt_vol_rewrite(struct virt *v, const char *name, const uint8_t *data, size_t len)
{
	char *path = virt_vol_path(v, name);
	int ret;

	if (!path)
		return -ENOMEM;
	ret = volfile_rewrite(path, data, len);
	free(path);
	return ret;
}

int virt_pool_sync(struct virt *v)
{
	virConnectPtr c;
	virStoragePoolPtr p;
	bool stale;
	int ret = 0;

	pthread_mutex_lock(&v->lock);
	stale = v->pool_stale;
	/* Cleared first: a file made during the refresh marks it stale again. */
	v->pool_stale = false;
	pthread_mutex_unlock(&v->lock);
	if (!stale)
		return 0;
	c = virt_conn_get(v);
	if (!c) {
		ret = -ENOTCONN;
		goto out;
	}
	p = virt_pool_get(v, c, &ret);
	if (p) {
		if (virStoragePoolRefresh(p, 0) < 0)
			ret = virt_fail("refresh storage pool", v->pool_name);
		virStoragePoolFree(p);
	}
	virt_conn_put(c);
out:
	if (ret < 0)
		virt_pool_mark_stale(v);
	return ret;
}

int virt_vol_delete(struct virt *v, const char *name)
{
	virConnectPtr c = virt_conn_get(v);
	virStorageVolPtr vol = NULL;
	bool missing;
	int ret = -ENOTCONN;

	if (!c)
		return ret;
	/* No file, nothing to delete: a pool entry whose file is gone goes at the next
	 * refresh. This spares a create two lookups per volume. */
	if (!virt_vol_file_exists(v, name)) {
		ret = 0;
		goto out;
	}
	vol = virt_vol_get(v, c, name, &missing, &ret);
	if (!vol) {
		if (missing)
			ret = 0;
		goto out;
	}
	if (virStorageVolDelete(vol, 0) < 0) {
		ret = virt_fail("delete volume", name);
		goto out;
	}
	ret = 0;
out:
	if (vol)
		virStorageVolFree(vol);
	virt_conn_put(c);
	return ret;
}

int virt_vol_exists(struct virt *v, const char *name)
{
	virConnectPtr c = virt_conn_get(v);
	virStorageVolPtr vol = NULL;
	bool missing;
	int ret = -ENOTCONN;

	if (!c)
		return ret;
	vol = virt_vol_get(v, c, name, &missing, &ret);
	if (vol)
		ret = 1;
	else if (missing)
		ret = 0;
	if (vol)
		virStorageVolFree(vol);
	virt_conn_put(c);
	return ret;
}

int virt_vol_list(struct virt *v, char ***names, size_t *n)
{
	virConnectPtr c = virt_conn_get(v);
	virStoragePoolPtr p = NULL;
	virStorageVolPtr *vols = NULL;
	char **out = NULL;
	size_t nout = 0;
	int i, nvols = 0, ret = -ENOTCONN;

	*names = NULL;
	*n = 0;
	if (!c)
		return ret;
	p = virt_pool_get(v, c, &ret);
	if (!p)
		goto out;
	/* Files made behind libvirt's back (or by a libvirtd that restarted) appear
	 * only after a refresh. */
	if (virStoragePoolRefresh(p, 0) < 0) {
		ret = virt_fail("refresh storage pool", v->pool_name);
		goto out;
	}
	nvols = virStoragePoolListAllVolumes(p, &vols, 0);
	if (nvols < 0) {
		nvols = 0;
		ret = virt_fail("list volumes of", v->pool_name);
		goto out;
	}
	for (i = 0; i < nvols; i++) {
		const char *name = virStorageVolGetName(vols[i]);

		if (name && (ret = virt_strv_push(&out, &nout, name)) < 0)
			goto out;
	}
	*names = out;
	*n = nout;
	out = NULL;
	nout = 0;
	ret = 0;
out:
	virt_strv_free(out, nout);
	for (i = 0; i < nvols; i++)
		virStorageVolFree(vols[i]);
	free(vols);
	if (p)
		virStoragePoolFree(p);
	virt_conn_put(c);
	return ret;
}

int virt_vol_backing(struct virt *v, const char *name, char **backing)
{
	virConnectPtr c = virt_conn_get(v);
	virStorageVolPtr vol = NULL;
	char *xml = NULL;
	int ret = -ENOTCONN;

	*backing = NULL;
	if (!c)
		return ret;
	vol = virt_vol_get(v, c, name, NULL, &ret);
	if (!vol)
		goto out;
	xml = virStorageVolGetXMLDesc(vol, 0);
	if (!xml) {
		ret = virt_fail("volume XML of", name);
		goto out;
	}
	ret = virt_xpath_string(xml, "string(/volume/backingStore/path)", backing);
out:
	free(xml);
	if (vol)
		virStorageVolFree(vol);
	virt_conn_put(c);
	return ret;
}

/* -------------------------------------------------------------- domains */

/* Domain NAME on C, or NULL with *RET set (-ENOENT quietly when it does not exist). */
static virDomainPtr virt_dom_get(virConnectPtr c, const char *name, int *ret)
{
	virDomainPtr d = virDomainLookupByName(c, name);

	if (!d) {
		if (virt_last_code() == VIR_ERR_NO_DOMAIN)
			*ret = -ENOENT;
		else
			*ret = virt_fail("domain", name);
	}
	return d;
}

/* The boilerplate of every call on one domain: a connection reference of our own, the
 * lookup, FN on the domain, and both handles freed after. Returns FN's result,
 * -ENOTCONN while disconnected, IF_MISSING when NAME does not exist (the lookup's
 * quiet -ENOENT; FN is not called), or the lookup's error. */
static int virt_dom_with(struct virt *v, const char *name, int if_missing,
			 int (*fn)(virDomainPtr d, const char *name, void *arg), void *arg)
{
	virConnectPtr c = virt_conn_get(v);
	virDomainPtr d = NULL;
	int ret = -ENOTCONN;

	if (!c)
		return ret;
	d = virt_dom_get(c, name, &ret);
	if (!d) {
		if (ret == -ENOENT)
			ret = if_missing;
		goto out;
	}
	ret = fn(d, name, arg);
out:
	if (d)
		virDomainFree(d);
	virt_conn_put(c);
	return ret;
}

int virt_dom_define(struct virt *v, const char *xml, bool autostart)
{
	virConnectPtr c = virt_conn_get(v);
	virDomainPtr d = NULL;
	int ret = -ENOTCONN;

	if (!c)
		return ret;
	/* No VIR_DOMAIN_DEFINE_VALIDATE: the XML comes from one builder whose output
	 * tests/unit/check_xml.c checks against libvirt's schemas, and validating every
	 * define costs libvirtd a full RelaxNG parse (28% of its time enrolling 1,000). */
	d = virDomainDefineXMLFlags(c, xml, 0);
	if (!d) {
		ret = virt_fail("define domain", NULL);
		goto out;
	}
	if (virDomainSetAutostart(d, autostart ? 1 : 0) < 0) {
		ret = virt_fail("autostart of domain", virDomainGetName(d));
		goto out;
	}
	ret = 0;
out:
	if (d)
		virDomainFree(d);
	virt_conn_put(c);
	return ret;
}

static int virt_dom_start_cb(virDomainPtr d, const char *name, void *arg)
{
	(void)arg;
	if (virDomainIsActive(d) == 1)
		return 0;
	/* Started by someone else between the check and here: still success. */
	if (virDomainCreate(d) < 0 && !(virt_last_code() == VIR_ERR_OPERATION_INVALID &&
					virDomainIsActive(d) == 1))
		return virt_fail("start domain", name);
	return 0;
}

int virt_dom_start(struct virt *v, const char *name)
{
	return virt_dom_with(v, name, -ENOENT, virt_dom_start_cb, NULL);
}

/* Forced off; 0 if it was not running. */
static int virt_dom_kill(virDomainPtr d, const char *name)
{
	if (virDomainIsActive(d) == 0)
		return 0;
	if (virDomainDestroy(d) < 0) {
		if (virt_last_code() == VIR_ERR_OPERATION_INVALID && virDomainIsActive(d) == 0)
			return 0;
		return virt_fail("destroy domain", name);
	}
	return 0;
}

static int virt_dom_destroy_cb(virDomainPtr d, const char *name, void *arg)
{
	(void)arg;
	return virt_dom_kill(d, name);
}

int virt_dom_destroy(struct virt *v, const char *name)
{
	return virt_dom_with(v, name, -ENOENT, virt_dom_destroy_cb, NULL);
}

static bool virt_dom_is_off(virDomainPtr d)
{
	int state, reason;

	if (virDomainGetState(d, &state, &reason, 0) < 0)
		return false;
	return state == VIR_DOMAIN_SHUTOFF || state == VIR_DOMAIN_CRASHED;
}

struct virt_stop_args {
	unsigned timeout_s;
	bool force;
};

static int virt_dom_stop_cb(virDomainPtr d, const char *name, void *arg)
{
	const struct virt_stop_args *a = arg;
	struct timespec tick = { 0, 200 * 1000 * 1000 };
	unsigned i;

	if (virDomainIsActive(d) == 0)
		return 0;
	if (!a->force) {
		if (virDomainShutdown(d) < 0) {
			if (virt_last_code() == VIR_ERR_OPERATION_INVALID && virt_dom_is_off(d))
				return 0;
			/* No ACPI listener or agent: fall through to the forced path. */
			log_warnx("shut down domain %s: %s; forcing it off", name,
				  virGetLastErrorMessage());
		} else {
			for (i = 0; i < a->timeout_s * 5; i++) {
				if (virt_dom_is_off(d))
					return 0;
				nanosleep(&tick, NULL);
			}
			if (virt_dom_is_off(d))
				return 0;
			log_info("domain %s did not shut down in %u s; forcing it off", name,
				 a->timeout_s);
		}
	}
	return virt_dom_kill(d, name);
}

int virt_dom_stop(struct virt *v, const char *name, unsigned timeout_s, bool force)
{
	struct virt_stop_args a = { timeout_s, force };

	return virt_dom_with(v, name, -ENOENT, virt_dom_stop_cb, &a);
}

static int virt_dom_reboot_cb(virDomainPtr d, const char *name, void *arg)
{
	(void)arg;
	if (virDomainReboot(d, 0) < 0)
		return virt_fail("reboot domain", name);
	return 0;
}

int virt_dom_reboot(struct virt *v, const char *name)
{
	return virt_dom_with(v, name, -ENOENT, virt_dom_reboot_cb, NULL);
}

static int virt_dom_remove_cb(virDomainPtr d, const char *name, void *arg)
{
	char *xml = NULL;
	int ret;

	(void)arg;
	/* A domain that merely has one of our names is somebody else's: never touch it. */
	xml = virDomainGetXMLDesc(d, 0);
	if (!xml) {
		ret = virt_last_code() == VIR_ERR_NO_DOMAIN ? 0 : virt_fail("XML of domain", name);
		goto out;
	}
	if (xml_domain_read_owner(xml, NULL, 0, NULL, 0, NULL) < 0) {
		log_warnx("domain %s carries no vlab metadata: labd did not create it and leaves it "
			  "alone", name);
		ret = -EPERM;
		goto out;
	}
	ret = virt_dom_kill(d, name);
	if (ret == -ENOENT)
		ret = 0;   /* removed by somebody else meanwhile */
	if (ret < 0)
		goto out;
	if (virDomainUndefineFlags(d, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
				      VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
				      VIR_DOMAIN_UNDEFINE_NVRAM) == 0)
		goto out;
	if (virt_last_code() == VIR_ERR_NO_DOMAIN)
		goto out;
	/* Drivers without the flags (or without nvram support) refuse them. */
	if (virt_last_code() != VIR_ERR_NO_SUPPORT &&
	    virt_last_code() != VIR_ERR_INVALID_ARG &&
	    virt_last_code() != VIR_ERR_OPERATION_INVALID &&
	    virt_last_code() != VIR_ERR_ARGUMENT_UNSUPPORTED) {
		ret = virt_fail("undefine domain", name);
		goto out;
	}
	if (virDomainUndefine(d) < 0 && virt_last_code() != VIR_ERR_NO_DOMAIN)
		ret = virt_fail("undefine domain", name);
out:
	free(xml);
	return ret;
}

/* 0 if NAME does not exist (any more). */
int virt_dom_remove(struct virt *v, const char *name)
{
	return virt_dom_with(v, name, 0, virt_dom_remove_cb, NULL);
}

static int virt_dom_state_cb(virDomainPtr d, const char *name, void *arg)
{
	enum virt_state *state = arg;
	int s, reason;

	if (virDomainGetState(d, &s, &reason, 0) < 0)
		return virt_last_code() == VIR_ERR_NO_DOMAIN ? 0 : virt_fail("state of domain", name);
	switch (s) {
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED:     /* running, waiting on a resource */
		*state = VIRT_RUNNING;
		break;
	case VIR_DOMAIN_SHUTOFF:
		*state = VIRT_SHUTOFF;
		break;
	case VIR_DOMAIN_PAUSED:
	case VIR_DOMAIN_PMSUSPENDED:
		*state = VIRT_PAUSED;
		break;
	case VIR_DOMAIN_CRASHED:
		*state = VIRT_CRASHED;
		break;
	default:
		*state = VIRT_OTHER;
		break;
	}
	return 0;
}

/* VIRT_MISSING and 0 if NAME does not exist. */
int virt_dom_state(struct virt *v, const char *name, enum virt_state *state)
{
	*state = VIRT_MISSING;
	return virt_dom_with(v, name, 0, virt_dom_state_cb, state);
}

void virt_owned_free(struct virt_owned *o, size_t n)
{
	size_t i;

	if (!o)
		return;
	for (i = 0; i < n; i++) {
		free(o[i].domain);
		free(o[i].student);
		free(o[i].class_name);
	}
	free(o);
}

/* Every domain with its XML; a domain that vanished between the list and the XML is
 * skipped. FN gets the domain, its name and XML; a negative return stops the walk. */
static int virt_dom_walk(struct virt *v,
			 int (*fn)(virDomainPtr d, const char *name, const char *xml, void *arg),
			 void *arg)
{
	virConnectPtr c = virt_conn_get(v);
	virDomainPtr *doms = NULL;
	int i, ndoms = 0, ret = -ENOTCONN;

	if (!c)
		return ret;
	ndoms = virConnectListAllDomains(c, &doms, 0);
	if (ndoms < 0) {
		ndoms = 0;
		ret = virt_fail("list domains on", v->uri);
		goto out;
	}
	ret = 0;
	for (i = 0; i < ndoms && ret == 0; i++) {
		const char *name = virDomainGetName(doms[i]);
		char *xml = virDomainGetXMLDesc(doms[i], 0);

		if (!xml) {
			if (virt_last_code() != VIR_ERR_NO_DOMAIN)
				ret = virt_fail("XML of domain", name);
			continue;
		}
		ret = fn(doms[i], name, xml, arg);
		free(xml);
	}
out:
	for (i = 0; i < ndoms; i++)
		virDomainFree(doms[i]);
	free(doms);
	virt_conn_put(c);
	return ret;
}

struct virt_owned_acc {
	struct virt_owned *o;
	size_t n;
};

static int virt_owned_add(virDomainPtr d, const char *name, const char *xml, void *arg)
{
	struct virt_owned_acc *acc = arg;
	struct virt_owned *o, *e;
	char student[VIRT_OWNER_LEN], class_name[VIRT_OWNER_LEN];
	unsigned index;
	int r;

	r = xml_domain_read_owner(xml, student, sizeof(student), class_name, sizeof(class_name),
				  &index);
	if (r == -ENOENT)
		return 0;   /* not ours */
	if (r < 0) {
		log_warnx("domain %s: unreadable vlab metadata (%s); leaving it alone", name,
			  strerror(-r));
		return 0;
	}
	o = realloc(acc->o, (acc->n + 1) * sizeof(*o));
	if (!o)
		return -ENOMEM;
	acc->o = o;
	e = &o[acc->n];
	e->domain = strdup(name);
	e->student = strdup(student);
	e->class_name = strdup(class_name);
	e->index = index;
	e->state = VIRT_MISSING;
	acc->n++;
	/* Gone between the listing and now: missing is what it is. */
	if (virt_dom_state_cb(d, name, &e->state) < 0)
		log_debug("domain %s: state unknown", name);
	if (!e->domain || !e->student || !e->class_name)
		return -ENOMEM;
	return 0;
}

int virt_dom_list_owned(struct virt *v, struct virt_owned **out, size_t *n)
{
	struct virt_owned_acc acc = { NULL, 0 };
	int ret;

	*out = NULL;
	*n = 0;
	ret = virt_dom_walk(v, virt_owned_add, &acc);
	if (ret < 0) {
		virt_owned_free(acc.o, acc.n);
		return ret;
	}
	*out = acc.o;
	*n = acc.n;
	return 0;
}

struct virt_disks_acc {
	char **paths;
	size_t n;
};

static int virt_foreign_add(virDomainPtr d, const char *name, const char *xml, void *arg)
{
	struct virt_disks_acc *acc = arg;

	/* Anything but a well-formed vlab element counts as foreign: refusing a base
	 * image too often is the safe mistake. */
	if (xml_domain_read_owner(xml, NULL, 0, NULL, 0, NULL) == 0)
		return 0;
	return virt_domain_disks(xml, &acc->paths, &acc->n);
}

int virt_foreign_disks(struct virt *v, char ***paths, size_t *n)
{
	struct virt_disks_acc acc = { NULL, 0 };
	int ret;

	*paths = NULL;
	*n = 0;
	ret = virt_dom_walk(v, virt_foreign_add, &acc);
	if (ret < 0) {
		virt_strv_free(acc.paths, acc.n);
		return ret;
	}
	*paths = acc.paths;
	*n = acc.n;
	return 0;
}

/* ---------------------------------------------------------------- events */

int virt_event_state(int event, int detail, enum virt_state *state, bool *crashed)
{
	*crashed = event == VIR_DOMAIN_EVENT_CRASHED ||
		   (event == VIR_DOMAIN_EVENT_STOPPED &&
		    (detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED ||
		     detail == VIR_DOMAIN_EVENT_STOPPED_FAILED));
	switch (event) {
	case VIR_DOMAIN_EVENT_UNDEFINED:
		*state = VIRT_MISSING;
		return 1;
	case VIR_DOMAIN_EVENT_STARTED:
	case VIR_DOMAIN_EVENT_RESUMED:
		*state = VIRT_RUNNING;
		return 1;
	case VIR_DOMAIN_EVENT_SUSPENDED:
	case VIR_DOMAIN_EVENT_PMSUSPENDED:
		*state = VIRT_PAUSED;
		return 1;
	case VIR_DOMAIN_EVENT_STOPPED:
		*state = VIRT_SHUTOFF;
		return 1;
	case VIR_DOMAIN_EVENT_CRASHED:
		*state = VIRT_CRASHED;
		return 1;
	default:
		/* DEFINED (also sent when a running domain is redefined), SHUTDOWN (the guest
		 * is going down: STOPPED follows) and the rest */
		return 0;
	}
}

/* ------------------------------------------------- the host interface */

/* labd/host.h's table over the functions above; CTX is the struct virt. */
static bool host_connected_(void *ctx)
{
	return virt_connected(ctx);
}

static int host_base_probe_(void *ctx, const char *path, char format[8], uint64_t *size)
{
	return virt_base_probe(path, format, size);
}

static char *host_vol_path_(void *ctx, const char *name)
{
	return virt_vol_path(ctx, name);
}

static int host_vol_exists_(void *ctx, const char *name)
{
	return virt_vol_exists(ctx, name);
}

static int host_vol_create_overlay_(void *ctx, const char *name, const char *base_path,
				    const char *base_format, uint64_t capacity)
{
	return virt_vol_create_overlay(ctx, name, base_path, base_format, capacity);
}

static int host_vol_create_raw_(void *ctx, const char *name, const uint8_t *data, size_t len)
{
	return virt_vol_create_raw(ctx, name, data, len);
}

static int host_vol_rewrite_(void *ctx, const char *name, const uint8_t *data, size_t len)
{
	return virt_vol_rewrite(ctx, name, data, len);
}

static int host_vol_delete_(void *ctx, const char *name)
{
	return virt_vol_delete(ctx, name);
}

static int host_vol_list_(void *ctx, char ***names, size_t *n)
{
	return virt_vol_list(ctx, names, n);
}

static int host_pool_sync_(void *ctx)
{
	return virt_pool_sync(ctx);
}

static int host_dom_define_(void *ctx, const char *xml, bool autostart)
{
	return virt_dom_define(ctx, xml, autostart);
}

static int host_dom_start_(void *ctx, const char *name)
{
	return virt_dom_start(ctx, name);
}

static int host_dom_stop_(void *ctx, const char *name, unsigned timeout_s, bool force)
{
	return virt_dom_stop(ctx, name, timeout_s, force);
}

static int host_dom_reboot_(void *ctx, const char *name)
{
	return virt_dom_reboot(ctx, name);
}

static int host_dom_remove_(void *ctx, const char *name)
{
	return virt_dom_remove(ctx, name);
}

static int host_dom_state_(void *ctx, const char *name, enum virt_state *state)
{
	return virt_dom_state(ctx, name, state);
}

static int host_dom_list_owned_(void *ctx, struct virt_owned **out, size_t *n)
{
	return virt_dom_list_owned(ctx, out, n);
}

static const struct host_ops virt_host_ops = {
	.connected = host_connected_,
	.base_probe = host_base_probe_,
	.vol_path = host_vol_path_,
	.vol_exists = host_vol_exists_,
	.vol_create_overlay = host_vol_create_overlay_,
	.vol_create_raw = host_vol_create_raw_,
	.vol_rewrite = host_vol_rewrite_,
	.vol_delete = host_vol_delete_,
	.vol_list = host_vol_list_,
	.pool_sync = host_pool_sync_,
	.dom_define = host_dom_define_,
	.dom_start = host_dom_start_,
	.dom_stop = host_dom_stop_,
	.dom_reboot = host_dom_reboot_,
	.dom_remove = host_dom_remove_,
	.dom_state = host_dom_state_,
	.dom_list_owned = host_dom_list_owned_,
};

void virt_host(struct virt *v, struct host *out)
{
	out->ops = &virt_host_ops;
	out->ctx = v;
}
