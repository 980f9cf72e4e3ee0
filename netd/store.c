#include "netd/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <uthash.h>

#include "common/addr.h"

struct entry {
	struct mapping m;
	uint8_t ep_key[6];               /* public ip . public port, network order */
	UT_hash_handle hh_id, hh_ep, hh_mac, hh_ip, hh_port;
};

struct store {
	struct entry *by_id, *by_ep, *by_mac, *by_ip;
	struct entry *by_port;           /* only entries whose port is known */
	size_t n;
	size_t n_asleep;
};

static void entry_ep_key(const struct mapping *m, uint8_t key[6])
{
	uint16_t port = htons(m->public_port);

	memcpy(key, &m->public_ip.s_addr, 4);
	memcpy(key + 4, &port, 2);
}

int store_new(struct store **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

static void store_clear(struct store *s)
{
	struct entry *e, *tmp;

	HASH_ITER(hh_id, s->by_id, e, tmp) {
		HASH_DELETE(hh_id, s->by_id, e);
		HASH_DELETE(hh_ep, s->by_ep, e);
		HASH_DELETE(hh_mac, s->by_mac, e);
		HASH_DELETE(hh_ip, s->by_ip, e);
		if (e->m.port[0])
			HASH_DELETE(hh_port, s->by_port, e);
		free(e);
	}
	s->n = 0;
	s->n_asleep = 0;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	store_clear(s);
	free(s);
}

size_t store_count(const struct store *s)
{
	return s->n;
}

size_t store_count_asleep(const struct store *s)
{
	return s->n_asleep;
}

static struct entry *store_find(const struct store *s, const char *student)
{
	struct entry *e = NULL;

	HASH_FIND(hh_id, s->by_id, student, strlen(student), e);
	return e;
}

const struct mapping *store_get(const struct store *s, const char *student)
{
	struct entry *e = store_find(s, student);

	return e ? &e->m : NULL;
}

const struct mapping *store_get_by_ip(const struct store *s, struct in_addr ip)
{
	struct entry *e = NULL;

	HASH_FIND(hh_ip, s->by_ip, &ip.s_addr, sizeof(ip.s_addr), e);
	return e ? &e->m : NULL;
}

int store_check_put(const struct store *s, const struct mapping *m, struct proto_error *err)
{
	uint8_t key[6];
	struct entry *e = NULL;
	char buf[INET_ADDRSTRLEN], mac[ADDR_MAC_STRLEN];

	entry_ep_key(m, key);
	HASH_FIND(hh_ep, s->by_ep, key, sizeof(key), e);
	if (e && strcmp(e->m.student, m->student) != 0) {
		inet_ntop(AF_INET, &m->public_ip, buf, sizeof(buf));
		proto_error_set(err, PROTO_E_CONFLICT, "public endpoint %s:%u already belongs to '%s'",
				buf, m->public_port, e->m.student);
		return -EEXIST;
	}
	e = NULL;
	HASH_FIND(hh_mac, s->by_mac, m->mac, sizeof(m->mac), e);
	if (e && strcmp(e->m.student, m->student) != 0) {
		addr_format_mac(m->mac, mac);
		proto_error_set(err, PROTO_E_CONFLICT, "MAC %s already belongs to '%s'", mac,
				e->m.student);
		return -EEXIST;
	}
	e = NULL;
	HASH_FIND(hh_ip, s->by_ip, &m->ip.s_addr, sizeof(m->ip.s_addr), e);
	if (e && strcmp(e->m.student, m->student) != 0) {
		inet_ntop(AF_INET, &m->ip, buf, sizeof(buf));
		proto_error_set(err, PROTO_E_CONFLICT, "IP %s already belongs to '%s'", buf,
				e->m.student);
		return -EEXIST;
	}
	/* One port, one VM: two identities on a port would let its VM use either. */
	e = NULL;
	if (m->port[0])
		HASH_FIND(hh_port, s->by_port, m->port, strlen(m->port), e);
	if (e && strcmp(e->m.student, m->student) != 0) {
		proto_error_set(err, PROTO_E_CONFLICT, "port %s already belongs to '%s'", m->port,
				e->m.student);
		return -EEXIST;
	}
	return 0;
}

static void store_unlink(struct store *s, struct entry *e)
{
	HASH_DELETE(hh_id, s->by_id, e);
	HASH_DELETE(hh_ep, s->by_ep, e);
	HASH_DELETE(hh_mac, s->by_mac, e);
	HASH_DELETE(hh_ip, s->by_ip, e);
	if (e->m.port[0])
		HASH_DELETE(hh_port, s->by_port, e);
	s->n--;
	s->n_asleep -= e->m.asleep;
}

/* uthash reports allocation failure by calling uthash_fatal, which by default exits;
 * the tables here are small next to everything else, so that default is kept. */
static void store_link(struct store *s, struct entry *e)
{
	entry_ep_key(&e->m, e->ep_key);
	HASH_ADD(hh_id, s->by_id, m.student, strlen(e->m.student), e);
	HASH_ADD(hh_ep, s->by_ep, ep_key, sizeof(e->ep_key), e);
	HASH_ADD(hh_mac, s->by_mac, m.mac, sizeof(e->m.mac), e);
	HASH_ADD(hh_ip, s->by_ip, m.ip.s_addr, sizeof(e->m.ip.s_addr), e);
	if (e->m.port[0])
		HASH_ADD(hh_port, s->by_port, m.port, strlen(e->m.port), e);
	s->n++;
	s->n_asleep += e->m.asleep;
}

int store_put(struct store *s, const struct mapping *m)
{
	struct entry *e = store_find(s, m->student);

	if (e) {
		store_unlink(s, e);
	} else {
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
	}
	e->m = *m;
	store_link(s, e);
	return 0;
}

int store_del(struct store *s, const char *student)
{
	struct entry *e = store_find(s, student);

	if (!e)
		return -ENOENT;
	store_unlink(s, e);
	free(e);
	return 0;
}

int store_check_list(const struct mapping *maps, size_t n, struct proto_error *err)
{
	struct store *tmp = NULL;
	int ret = store_build(maps, n, &tmp, err);

	store_free(tmp);
	return ret;
}

int store_build(const struct mapping *maps, size_t n, struct store **out, struct proto_error *err)
{
	struct store *tmp = NULL;
	struct entry *found = NULL;
	int ret;
	size_t i;

	*out = NULL;
	ret = store_new(&tmp);
	if (ret < 0)
		goto oom;
	for (i = 0; i < n; i++) {
		found = store_find(tmp, maps[i].student);
		if (found) {
			proto_error_set(err, PROTO_E_INVALID,
					"mappings[%zu]: student '%s' appears twice in the list", i,
					maps[i].student);
			ret = -EINVAL;
			goto out;
		}
		if (store_check_put(tmp, &maps[i], err) < 0) {
			char msg[sizeof(err->message)];

			snprintf(msg, sizeof(msg), "%s", err->message);
			proto_error_set(err, PROTO_E_INVALID, "mappings[%zu] ('%s'): %s", i,
					maps[i].student, msg);
			ret = -EINVAL;
			goto out;
		}
		ret = store_put(tmp, &maps[i]);
		if (ret < 0)
			goto oom;
	}
	*out = tmp;
	tmp = NULL;
	ret = 0;
	goto out;
oom:
	/* The client gets a reason, not an empty message. */
	proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
out:
	store_free(tmp);
	return ret;
}

void store_swap(struct store *a, struct store *b)
{
	struct store t = *a;

	*a = *b;
	*b = t;
}

int store_replace(struct store *s, const struct mapping *maps, size_t n)
{
	struct store fresh = { 0 };
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = store_put(&fresh, &maps[i]);
		if (ret < 0) {
			store_clear(&fresh);
			return ret;
		}
	}
	store_clear(s);
	*s = fresh;
	return 0;
}

static int mapping_cmp_student(const void *a, const void *b)
{
	return strcmp(((const struct mapping *)a)->student, ((const struct mapping *)b)->student);
}

struct mapping *store_list(const struct store *s, size_t *n)
{
	struct mapping *out;
	struct entry *e, *tmp;
	size_t i = 0;

	*n = 0;
	if (s->n == 0)
		return NULL;
	out = malloc(s->n * sizeof(*out));
	if (!out) {
		errno = ENOMEM;
		return NULL;
	}
	HASH_ITER(hh_id, s->by_id, e, tmp)
		out[i++] = e->m;
	*n = i;
	return out;
}

struct mapping *store_snapshot(const struct store *s, size_t *n)
{
	struct mapping *out = store_list(s, n);

	if (out)
		qsort(out, *n, sizeof(*out), mapping_cmp_student);
	return out;
}
