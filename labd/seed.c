/*
 * The NoCloud seed: YAML through libyaml's emitter, the ISO through libisofs, all in
 * memory. See seed.h for what it promises.
 */
#include "labd/seed.h"

#include "common/id.h"
#include "common/log.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>   /* before libisofs.h, which uses uint32_t without including it */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Without libburn, libisofs.h declares struct burn_source itself (we read it directly). */
#define LIBISOFS_WITHOUT_LIBBURN 1
/* libisofs.h declares iso_init() and friends with "()". */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <libisofs.h>
#pragma GCC diagnostic pop
#include <yaml.h>

/*
 * The one time in the image, 2024-01-01 00:00:00 GMT, so builds are reproducible. Given
 * as the volume "uuid", libisofs takes it as its "now" for every timestamp it writes:
 * volume descriptors, directory records, Rock Ridge times (profile 2 replaces the nodes'
 * own times with "now").
 */
#define SEED_TIME "2024010100000000"

#define SEED_BLOCK 2048

/* --- YAML ---------------------------------------------------------------------------- */

struct seed_yaml {
	yaml_emitter_t emitter;
	bool emitter_ok;
	FILE *fp;            /* open_memstream() over buf/len */
	char *buf;
	size_t len;
};

static int seed_params_check(const struct seed_params *p)
{
	size_t i;

	if (!p || !p->instance_id || !*p->instance_id || !p->user || !*p->user ||
	    !id_valid(p->hostname) || (p->n_keys && !p->keys)) {
		log_warnx("seed: missing or invalid parameter");
		return -EINVAL;
	}
	for (i = 0; i < p->n_keys; i++) {
		if (!p->keys[i] || !*p->keys[i]) {
			log_warnx("seed for %s: key %zu is empty", p->hostname, i);
			return -EINVAL;
		}
	}
	return 0;
}

/* A student ID is a valid hostname once '_' (not allowed in hostnames) becomes '-'. */
static void seed_hostname(const char *id, char out[ID_MAX_LEN + 1])
{
	size_t i;

	for (i = 0; id[i] && i < ID_MAX_LEN; i++)
		out[i] = id[i] == '_' ? '-' : id[i];
	out[i] = '\0';
}

/* header: written verbatim before the document ("#cloud-config"), or NULL. */
static int seed_yaml_open(struct seed_yaml *y, const char *header)
{
	memset(y, 0, sizeof(*y));
	y->fp = open_memstream(&y->buf, &y->len);
	if (!y->fp) {
		int e = errno;

		log_warn("seed: open_memstream");
		return -e;
	}
	if (header && fputs(header, y->fp) == EOF)
		return -ENOMEM;
	if (!yaml_emitter_initialize(&y->emitter))
		return -ENOMEM;
	y->emitter_ok = true;
	yaml_emitter_set_output_file(&y->emitter, y->fp);
	yaml_emitter_set_encoding(&y->emitter, YAML_UTF8_ENCODING);
	/* -1 = no line width: libyaml would otherwise fold a long key at a space. */
	yaml_emitter_set_width(&y->emitter, -1);
	yaml_emitter_set_indent(&y->emitter, 2);
	/* Non-ASCII is written as \u escapes: the output is pure ASCII. */
	yaml_emitter_set_unicode(&y->emitter, 0);
	yaml_emitter_set_break(&y->emitter, YAML_LN_BREAK);
	return 0;
}

/* Frees everything; on success (ret == 0) hands the text over in out and len. */
static int seed_yaml_close(struct seed_yaml *y, int ret, char **out, size_t *len)
{
	if (y->emitter_ok)
		yaml_emitter_delete(&y->emitter);
	if (y->fp && fclose(y->fp) != 0 && ret == 0) {
		log_warn("seed: closing the YAML buffer");
		ret = -ENOMEM;
	}
	if (ret == 0) {
		*out = y->buf;
		*len = y->len;
	} else {
		free(y->buf);
	}
	return ret;
}

/* yaml_emitter_emit() owns the event from here on, even when it fails. */
static int seed_emit(struct seed_yaml *y, yaml_event_t *ev)
{
	if (!yaml_emitter_emit(&y->emitter, ev)) {
		log_warnx("seed: YAML emitter: %s",
		          y->emitter.problem ? y->emitter.problem : "unknown error");
		return y->emitter.error == YAML_MEMORY_ERROR ? -ENOMEM : -EIO;
	}
	return 0;
}

/* The *_initialize calls fail on bad UTF-8 as well as on memory. */
static int seed_emit_init_failed(const char *what)
{
	log_warnx("seed: YAML %s refused (not UTF-8?)", what);
	return -EINVAL;
}

static int seed_emit_scalar(struct seed_yaml *y, const char *s, yaml_scalar_style_t style)
{
	yaml_event_t ev;
	size_t n = strlen(s);

	/* Implicit tags: no "!!str" in front of a quoted value. */
	if (n > INT_MAX ||
	    !yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)n, 1, 1, style))
		return seed_emit_init_failed("scalar");
	return seed_emit(y, &ev);
}

/* Keys and constants we wrote ourselves: plain. */
static int seed_emit_plain(struct seed_yaml *y, const char *s)
{
	return seed_emit_scalar(y, s, YAML_PLAIN_SCALAR_STYLE);
}

/*
 * Anything from the user: double-quoted, so no content can end the scalar or change its
 * type (an ID "yes", "null" or "123" stays a string for cloud-init's YAML 1.1 loader).
 */
static int seed_emit_string(struct seed_yaml *y, const char *s)
{
	return seed_emit_scalar(y, s, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

static int seed_emit_pair(struct seed_yaml *y, const char *key, const char *value)
{
	int r = seed_emit_plain(y, key);

	return r < 0 ? r : seed_emit_string(y, value);
}

static int seed_emit_bool(struct seed_yaml *y, const char *key, bool value)
{
	int r = seed_emit_plain(y, key);

	return r < 0 ? r : seed_emit_plain(y, value ? "true" : "false");
}

static int seed_emit_mapping(struct seed_yaml *y, bool start)
{
	yaml_event_t ev;

	if (start ? !yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
	                                                  YAML_BLOCK_MAPPING_STYLE)
	          : !yaml_mapping_end_event_initialize(&ev))
		return -ENOMEM;
	return seed_emit(y, &ev);
}

static int seed_emit_sequence(struct seed_yaml *y, bool start)
{
	yaml_event_t ev;

	if (start ? !yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
	                                                   YAML_BLOCK_SEQUENCE_STYLE)
	          : !yaml_sequence_end_event_initialize(&ev))
		return -ENOMEM;
	return seed_emit(y, &ev);
}

/*
 * Stream and document around the mapping. Both document markers are implicit, so libyaml
 * writes neither "---" nor "...": the "#cloud-config" line stays the first line and
 * nothing trails the mapping.
 */
static int seed_emit_document(struct seed_yaml *y, bool start)
{
	yaml_event_t ev;
	int r;

	if (start) {
		if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING))
			return -ENOMEM;
		if ((r = seed_emit(y, &ev)) < 0)
			return r;
		if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1))
			return -ENOMEM;
		return seed_emit(y, &ev);
	}
	if (!yaml_document_end_event_initialize(&ev, 1))
		return -ENOMEM;
	if ((r = seed_emit(y, &ev)) < 0)
		return r;
	if (!yaml_stream_end_event_initialize(&ev))
		return -ENOMEM;
	if ((r = seed_emit(y, &ev)) < 0)
		return r;
	if (!yaml_emitter_flush(&y->emitter))
		return -EIO;
	return 0;
}

int seed_build_meta_data(const struct seed_params *p, char **out, size_t *len)
{
	struct seed_yaml y;
	char host[ID_MAX_LEN + 1];
	int ret;

	*out = NULL;
	*len = 0;
	if ((ret = seed_params_check(p)) < 0)
		return ret;
	seed_hostname(p->hostname, host);

	if ((ret = seed_yaml_open(&y, NULL)) < 0)
		goto out;
	if ((ret = seed_emit_document(&y, true)) < 0 ||
	    (ret = seed_emit_mapping(&y, true)) < 0 ||
	    (ret = seed_emit_pair(&y, "instance-id", p->instance_id)) < 0 ||
	    (ret = seed_emit_pair(&y, "local-hostname", host)) < 0 ||
	    (ret = seed_emit_mapping(&y, false)) < 0 ||
	    (ret = seed_emit_document(&y, false)) < 0)
		goto out;
	ret = 0;
out:
	return seed_yaml_close(&y, ret, out, len);
}

static int seed_emit_user(struct seed_yaml *y, const struct seed_params *p)
{
	size_t i;
	int r;

	if ((r = seed_emit_mapping(y, true)) < 0 ||
	    (r = seed_emit_pair(y, "name", p->user)) < 0 ||
	    (r = seed_emit_plain(y, "shell")) < 0 ||
	    (r = seed_emit_plain(y, "/bin/bash")) < 0 ||
	    (r = seed_emit_bool(y, "lock_passwd", true)) < 0 ||
	    (r = seed_emit_pair(y, "sudo", "ALL=(ALL) NOPASSWD:ALL")) < 0 ||
	    (r = seed_emit_plain(y, "ssh_authorized_keys")) < 0 ||
	    (r = seed_emit_sequence(y, true)) < 0)
		return r;
	for (i = 0; i < p->n_keys; i++) {
		if ((r = seed_emit_string(y, p->keys[i])) < 0)
			return r;
	}
	if ((r = seed_emit_sequence(y, false)) < 0)
		return r;
	return seed_emit_mapping(y, false);
}

int seed_build_user_data(const struct seed_params *p, char **out, size_t *len)
{
	struct seed_yaml y;
	char host[ID_MAX_LEN + 1];
	int ret;

	*out = NULL;
	*len = 0;
	if ((ret = seed_params_check(p)) < 0)
		return ret;
	seed_hostname(p->hostname, host);

	/* cloud-init picks the part handler from this first line. */
	if ((ret = seed_yaml_open(&y, "#cloud-config\n")) < 0)
		goto out;
	if ((ret = seed_emit_document(&y, true)) < 0 ||
	    (ret = seed_emit_mapping(&y, true)) < 0 ||
	    (ret = seed_emit_pair(&y, "hostname", host)) < 0 ||
	    (ret = seed_emit_bool(&y, "manage_etc_hosts", true)) < 0 ||
	    (ret = seed_emit_bool(&y, "ssh_pwauth", false)) < 0 ||
	    (ret = seed_emit_bool(&y, "disable_root", true)) < 0 ||
	    (ret = seed_emit_plain(&y, "users")) < 0 ||
	    (ret = seed_emit_sequence(&y, true)) < 0 ||
	    (ret = seed_emit_user(&y, p)) < 0 ||
	    (ret = seed_emit_sequence(&y, false)) < 0 ||
	    (ret = seed_emit_mapping(&y, false)) < 0 ||
	    (ret = seed_emit_document(&y, false)) < 0)
		goto out;
	ret = 0;
out:
	return seed_yaml_close(&y, ret, out, len);
}

/* --- ISO ----------------------------------------------------------------------------- */

static int seed_iso_errno(int r)
{
	/* The ISO_* codes are unsigned constants with the sign bit set. */
	return r == (int)ISO_OUT_OF_MEM ? -ENOMEM : -EIO;
}

static int seed_iso_fail(const char *what, int r)
{
	log_warnx("seed image: %s: %s", what, iso_error_to_msg(r));
	return seed_iso_errno(r);
}

/* libisofs queues its own messages (nothing on stderr); pass them to our log. */
static void seed_iso_drain_msgs(void)
{
	char msg[ISO_MSGS_MESSAGE_LEN], sev[80];
	int code, imgid;

	while (iso_obtain_msgs("SORRY", &code, &imgid, msg, sev) == 1)
		log_warnx("seed image: libisofs %s: %s", sev, msg);
}

/*
 * *data must come from malloc(): on success the memory stream owns it and free()s it
 * with the image, and *data is set to NULL. On failure it stays the caller's.
 */
static int seed_iso_add_file(IsoDir *root, const char *name, char **data, size_t len)
{
	IsoStream *stream = NULL;
	int r;

	r = iso_memory_stream_new((unsigned char *)*data, len, &stream);
	if (r < 0)
		return seed_iso_fail(name, r);
	*data = NULL;
	r = iso_tree_add_new_file(root, name, stream, NULL);
	if (r < 0) {
		/* Not taken by a file: our reference (and with it the buffer) goes here. */
		iso_stream_unref(stream);
		return seed_iso_fail(name, r);
	}
	/* The file took our reference to the stream. */
	return 0;
}

/* Like `genisoimage -V cidata -J -r`, with every time, mode and owner fixed. */
static int seed_iso_opts(IsoWriteOpts **opts)
{
	int r;

	/* Profile 2 ("distribution"): level 2, Rock Ridge, Joliet, uid/gid 0, modes 0444
	   and 0555, every time replaced by "now", in GMT. */
	if ((r = iso_write_opts_new(opts, 2)) < 0)
		return seed_iso_fail("write options", r);
	/* Otherwise the PVD says "CIDATA" (d-characters only); genisoimage writes "cidata"
	   as given, and that is what seed finders match (Joliet says "cidata" either way). */
	iso_write_opts_set_relaxed_vol_atts(*opts, 1);
	if ((r = iso_write_opts_set_pvd_times(*opts, 0, 0, 0, 0, (char *)SEED_TIME)) < 0)
		return seed_iso_fail("volume times", r);
	return 0;
}

/* Reads the whole image the writer thread produces. */
static int seed_iso_read(struct burn_source *bs, uint8_t **out, size_t *len)
{
	off_t total = bs->get_size(bs);
	uint8_t *buf;
	size_t off = 0;
	int n;

	if (total <= 0 || total % SEED_BLOCK) {
		log_warnx("seed image: unexpected image size %lld", (long long)total);
		return -EIO;
	}
	buf = malloc((size_t)total);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (off == (size_t)total) {
			/* One more read must report the end. */
			uint8_t extra[SEED_BLOCK];

			n = bs->read_xt(bs, extra, SEED_BLOCK);
			if (n == 0)
				break;
		} else {
			n = bs->read_xt(bs, buf + off, SEED_BLOCK);
		}
		if (n != SEED_BLOCK) {
			log_warnx("seed image: reading block %zu: %s", off / SEED_BLOCK,
			          n == 0 ? "early end" : n < 0 ? "read error" : "more than announced");
			free(buf);
			return -EIO;
		}
		off += (size_t)n;
	}
	*out = buf;
	*len = off;
	return 0;
}

int seed_build_iso(const struct seed_params *p, uint8_t **out, size_t *len)
{
	char *meta = NULL, *user = NULL;
	size_t meta_len, user_len;
	IsoImage *image = NULL;
	IsoWriteOpts *opts = NULL;
	struct burn_source *bs = NULL;
	bool inited = false;
	int r, ret;

	*out = NULL;
	*len = 0;
	if ((ret = seed_build_meta_data(p, &meta, &meta_len)) < 0 ||
	    (ret = seed_build_user_data(p, &user, &user_len)) < 0)
		goto out;

	/* bit0: leave the process locale alone (iso_init() calls setlocale()). Names are
	   ASCII, so the "C" charset converts them fine. */
	if ((r = iso_init_with_flag(1)) < 0) {
		ret = seed_iso_fail("init", r);
		goto out;
	}
	inited = true;
	/* Queue what is worth logging, print nothing to stderr (labd may be a daemon). */
	iso_set_msgs_severities((char *)"SORRY", (char *)"NEVER", (char *)"libisofs: ");

	if ((r = iso_image_new(SEED_VOLUME_ID, &image)) < 0) {
		ret = seed_iso_fail("new image", r);
		goto out;
	}
	if ((ret = seed_iso_add_file(iso_image_get_root(image), "meta-data", &meta,
	                             meta_len)) < 0 ||
	    (ret = seed_iso_add_file(iso_image_get_root(image), "user-data", &user,
	                             user_len)) < 0 ||
	    (ret = seed_iso_opts(&opts)) < 0)
		goto out;

	/* Starts a writer thread at once; bs->free_data() below joins it. */
	if ((r = iso_image_create_burn_source(image, opts, &bs)) < 0) {
		bs = NULL;
		ret = seed_iso_fail("create image", r);
		goto out;
	}
	ret = seed_iso_read(bs, out, len);
out:
	if (bs) {
		/* What libburn's burn_source_free() does for the last reference. If we stop
		   early, free_data closes the ring buffer first so the writer thread ends. */
		bs->free_data(bs);
		free(bs);
	}
	iso_write_opts_free(opts);
	if (image)
		iso_image_unref(image);
	if (inited) {
		seed_iso_drain_msgs();
		iso_finish();
	}
	free(meta);
	free(user);
	return ret;
}
