/*
 * labd's use of libvirt, through its C API only (no virsh, no qemu-img): the dir pool,
 * overlay and seed volumes, domains, lifecycle events. Every call returns 0 or a
 * negative errno and logs virGetLastErrorMessage() with what it was doing. Thread-safe:
 * worker threads call these while the main thread runs libvirt's default event loop.
 */
#ifndef VLAB_VIRT_H
#define VLAB_VIRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/conf.h"

struct virt;

/* Domain states labd reports (a subset of virDomainState). */
enum virt_state {
	VIRT_MISSING = 0,   /* no such domain */
	VIRT_RUNNING,
	VIRT_SHUTOFF,
	VIRT_PAUSED,
	VIRT_CRASHED,
	VIRT_OTHER,
};
const char *virt_state_name(enum virt_state s);   /* "running", "shut off", ... */

/* Called from the event loop thread for lifecycle events of ANY domain (the callee
 * filters by name): EVENT/DETAIL are libvirt's VIR_DOMAIN_EVENT_* values. */
typedef void (*virt_lifecycle_fn)(const char *domain, int event, int detail, void *arg);

/* What a lifecycle event says about its domain: 1 with *STATE its state now, or 0 when
 * the event alone does not tell (e.g. "shutdown finished": a "stopped" follows).
 * *CRASHED is true for a crash or a failure (an event of its own, or a stop with that
 * detail), else false. */
int virt_event_state(int event, int detail, enum virt_state *state, bool *crashed);
/* Called from the event loop thread when the connection closed (libvirtd restarted). */
typedef void (*virt_closed_fn)(void *arg);

/*
 * Registers libvirt's default event implementation (virEventRegisterDefaultImpl) if not
 * done yet, opens CONF->libvirt_uri, keep-alive (5 s, 3 probes), a close callback and the
 * lifecycle callback. 0 or -errno; on failure *OUT is NULL.
 */
int virt_open(const struct lab_conf *conf, virt_lifecycle_fn on_event, virt_closed_fn on_close,
	      void *arg, struct virt **out);
void virt_close(struct virt *v);
/* After on_close: drop the dead connection and open a new one (same callbacks). */
int virt_reconnect(struct virt *v);
bool virt_connected(struct virt *v);

/* The dir pool CONF->pool_name at CONF->pool_dir: defined (persistent, autostart), built
 * and started if missing or inactive; refreshed. */
int virt_pool_ensure(struct virt *v);

/* Base image checks without qemu-img: readable, format from the header ("qcow2" magic
 * QFI\xfb, else "raw"), virtual size (qcow2 header / file size). -ENOENT, -EACCES,
 * -EINVAL (e.g. a qcow2 with a backing file of its own is fine, a directory is not). */
int virt_base_probe(const char *path, char format[8], uint64_t *virtual_size);

/* Volumes in our pool. The files of new ones are written by labd (labd/volfile.c):
 * libvirt lists them after virt_pool_sync, and every call below that looks a volume
 * up by name finds them before that. */
/* A qcow2 overlay of BASE_PATH (format BASE_FORMAT, CAPACITY bytes: 0 = the base's):
 * a copy of an empty overlay that libvirt made for this base, once. -EEXIST if NAME
 * exists. */
int virt_vol_create_overlay(struct virt *v, const char *name, const char *base_path,
			    const char *base_format, uint64_t capacity);
/* A raw volume holding DATA (a seed). -EEXIST if NAME exists. */
int virt_vol_create_raw(struct virt *v, const char *name, const uint8_t *data, size_t len);
/* Overwrites the existing volume NAME from offset 0 with DATA, in place, so a running
 * VM's next boot reads the new content. -ENOENT if it is missing. */
int virt_vol_rewrite(struct virt *v, const char *name, const uint8_t *data, size_t len);
/* Refreshes the pool if labd made volume files since the last refresh: after it,
 * `virsh vol-list` shows them. labd calls it when a request's last student is done. */
int virt_pool_sync(struct virt *v);
/* Deletes NAME from our pool; 0 if it is not there. */
int virt_vol_delete(struct virt *v, const char *name);
/* Full path of volume NAME in our pool (malloc'd), whether or not it exists yet. */
char *virt_vol_path(struct virt *v, const char *name);
/* 1 if volume NAME exists, 0 if not, -errno. */
int virt_vol_exists(struct virt *v, const char *name);
/* Names of every volume in our pool (after a refresh); caller frees each and the array. */
int virt_vol_list(struct virt *v, char ***names, size_t *n);
/* The backing file path of volume NAME (malloc'd, NULL if none), from its XML. */
int virt_vol_backing(struct virt *v, const char *name, char **backing);

/* Domains. */
int virt_dom_define(struct virt *v, const char *xml, bool autostart);
int virt_dom_start(struct virt *v, const char *name);          /* 0 if already running */
/* Graceful shutdown, waiting up to TIMEOUT_S for it to stop, then forced off. */
int virt_dom_stop(struct virt *v, const char *name, unsigned timeout_s, bool force);
int virt_dom_destroy(struct virt *v, const char *name);        /* forced off; 0 if not running */
int virt_dom_reboot(struct virt *v, const char *name);
/* Forced off, then undefined (with its managed save / nvram, if any). 0 if missing;
 * -EPERM (and nothing done) for a domain that does not carry labd's metadata. */
int virt_dom_remove(struct virt *v, const char *name);
int virt_dom_state(struct virt *v, const char *name, enum virt_state *state);

/* Every domain that carries labd's metadata: names, student ids and states, from one
 * listing of the domains (caller frees with virt_owned_free). Domains without our
 * metadata are never listed. */
struct virt_owned {
	char *domain;
	char *student;
	char *class_name;
	unsigned index;
	enum virt_state state;   /* as libvirt had it during the listing */
};
int virt_dom_list_owned(struct virt *v, struct virt_owned **out, size_t *n);
void virt_owned_free(struct virt_owned *o, size_t n);

/* Paths of every disk of every domain that is not ours (to refuse a base image that is
 * itself some VM's writable disk). */
int virt_foreign_disks(struct virt *v, char ***paths, size_t *n);

/* Runs one iteration of the default event loop (blocking until something happens). */
int virt_event_run_once(void);

/* V as labd's tasks see a host (labd/host.h): the functions above, V their context. */
struct host;
void virt_host(struct virt *v, struct host *out);

#endif
