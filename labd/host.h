/*
 * What labd's tasks and reconciliation need from the machine its VMs run on: volumes in
 * its pool and domains, the calls of labd/virt.h, behind a table of functions. labd
 * fills it with virt_host() (libvirt); the unit tests put a fake in
 * (tests/unit/fakehost.c) to make any call fail on purpose. Every call is safe from a
 * worker thread; each returns what the virt_* function of the same name promises.
 *
 * One struct host per hypervisor connection: with several hosts, labd will keep one per
 * host and each VM will name its own.
 */
#ifndef VLAB_LABD_HOST_H
#define VLAB_LABD_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "labd/virt.h"

struct host_ops {
	bool (*connected)(void *ctx);
	int (*base_probe)(void *ctx, const char *path, char format[8], uint64_t *virtual_size);
	/* volumes of labd's pool */
	char *(*vol_path)(void *ctx, const char *name);
	int (*vol_exists)(void *ctx, const char *name);
	int (*vol_create_overlay)(void *ctx, const char *name, const char *base_path,
				  const char *base_format, uint64_t capacity);
	int (*vol_create_raw)(void *ctx, const char *name, const uint8_t *data, size_t len);
	int (*vol_rewrite)(void *ctx, const char *name, const uint8_t *data, size_t len);
	int (*vol_delete)(void *ctx, const char *name);
	int (*vol_list)(void *ctx, char ***names, size_t *n);
	int (*pool_sync)(void *ctx);
	/* domains */
	int (*dom_define)(void *ctx, const char *xml, bool autostart);
	int (*dom_start)(void *ctx, const char *name);
	int (*dom_stop)(void *ctx, const char *name, unsigned timeout_s, bool force);
	int (*dom_reboot)(void *ctx, const char *name);
	int (*dom_remove)(void *ctx, const char *name);
	int (*dom_state)(void *ctx, const char *name, enum virt_state *state);
	int (*dom_list_owned)(void *ctx, struct virt_owned **out, size_t *n);
};

struct host {
	const struct host_ops *ops;
	void *ctx;                /* the implementation's own (a struct virt *) */
};

static inline bool host_connected(const struct host *h)
{
	return h->ops->connected(h->ctx);
}

static inline int host_base_probe(const struct host *h, const char *path, char format[8],
				  uint64_t *virtual_size)
{
	return h->ops->base_probe(h->ctx, path, format, virtual_size);
}

static inline char *host_vol_path(const struct host *h, const char *name)
{
	return h->ops->vol_path(h->ctx, name);
}

static inline int host_vol_exists(const struct host *h, const char *name)
{
	return h->ops->vol_exists(h->ctx, name);
}

static inline int host_vol_create_overlay(const struct host *h, const char *name,
					  const char *base_path, const char *base_format,
					  uint64_t capacity)
{
	return h->ops->vol_create_overlay(h->ctx, name, base_path, base_format, capacity);
}

static inline int host_vol_create_raw(const struct host *h, const char *name,
				      const uint8_t *data, size_t len)
{
	return h->ops->vol_create_raw(h->ctx, name, data, len);
}

static inline int host_vol_rewrite(const struct host *h, const char *name,
				   const uint8_t *data, size_t len)
{
	return h->ops->vol_rewrite(h->ctx, name, data, len);
}

static inline int host_vol_delete(const struct host *h, const char *name)
{
	return h->ops->vol_delete(h->ctx, name);
}

static inline int host_vol_list(const struct host *h, char ***names, size_t *n)
{
	return h->ops->vol_list(h->ctx, names, n);
}

static inline int host_pool_sync(const struct host *h)
{
	return h->ops->pool_sync(h->ctx);
}

static inline int host_dom_define(const struct host *h, const char *xml, bool autostart)
{
	return h->ops->dom_define(h->ctx, xml, autostart);
}

static inline int host_dom_start(const struct host *h, const char *name)
{
	return h->ops->dom_start(h->ctx, name);
}

static inline int host_dom_stop(const struct host *h, const char *name, unsigned timeout_s,
				bool force)
{
	return h->ops->dom_stop(h->ctx, name, timeout_s, force);
}

static inline int host_dom_reboot(const struct host *h, const char *name)
{
	return h->ops->dom_reboot(h->ctx, name);
}

static inline int host_dom_remove(const struct host *h, const char *name)
{
	return h->ops->dom_remove(h->ctx, name);
}

static inline int host_dom_state(const struct host *h, const char *name,
				 enum virt_state *state)
{
	return h->ops->dom_state(h->ctx, name, state);
}

static inline int host_dom_list_owned(const struct host *h, struct virt_owned **out,
				      size_t *n)
{
	return h->ops->dom_list_owned(h->ctx, out, n);
}

#endif
