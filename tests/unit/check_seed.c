/*
 * The NoCloud seed builder: exact YAML for a plain student, hostile strings parsed back
 * with libyaml's own parser, no folding of long keys, and the ISO read back with libisofs
 * (Rock Ridge and Joliet trees) from memory.
 */
#include "labd/seed.h"

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <libisofs.h>
#pragma GCC diagnostic pop
#include <yaml.h>

#define KEY_ED "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx1c3RlcmVkIGtleSBmb3IgdGVzdHMgb25seQ alice@laptop"

static const char *const simple_keys[] = { KEY_ED };

static const struct seed_params simple = {
	.instance_id = "vlab-net101-alice_b-3",
	.hostname = "alice_b",
	.user = "student",
	.keys = simple_keys,
	.n_keys = 1,
};

/* --- YAML read back with libyaml's parser -------------------------------------------- */

struct parsed {
	yaml_document_t doc;
	bool loaded;
};

/* Loads the one document of text; fails the test on a parse error or a second document. */
static yaml_node_t *parse_yaml(struct parsed *ps, const char *text, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	yaml_node_t *root;

	ck_assert(yaml_parser_initialize(&parser));
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	ck_assert_msg(yaml_parser_load(&parser, &ps->doc), "parse error: %s", parser.problem);
	ps->loaded = true;
	root = yaml_document_get_root_node(&ps->doc);
	ck_assert_ptr_nonnull(root);
	/* Nothing may follow the first document. */
	ck_assert(yaml_parser_load(&parser, &extra));
	ck_assert_ptr_null(yaml_document_get_root_node(&extra));
	yaml_document_delete(&extra);
	yaml_parser_delete(&parser);
	return root;
}

static void parsed_free(struct parsed *ps)
{
	if (ps->loaded)
		yaml_document_delete(&ps->doc);
}

static bool scalar_is(const yaml_node_t *n, const char *s)
{
	return n && n->type == YAML_SCALAR_NODE && n->data.scalar.length == strlen(s) &&
	       memcmp(n->data.scalar.value, s, strlen(s)) == 0;
}

/* The mapping must hold exactly these keys, in this order. */
static void check_keys(yaml_document_t *doc, yaml_node_t *map, const char *const *keys,
                       size_t n)
{
	yaml_node_pair_t *pair;
	size_t i = 0;

	ck_assert_int_eq(map->type, YAML_MAPPING_NODE);
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(doc, pair->key);

		ck_assert_uint_lt(i, n);
		ck_assert_msg(scalar_is(k, keys[i]), "key %zu is not %s", i, keys[i]);
		i++;
	}
	ck_assert_uint_eq(i, n);
}

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *pair;

	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		if (scalar_is(yaml_document_get_node(doc, pair->key), key))
			return yaml_document_get_node(doc, pair->value);
	}
	ck_abort_msg("no key %s", key);
	return NULL;
}

/* A user string must come back byte for byte, and double-quoted (never a bool or int). */
static void check_quoted(yaml_node_t *n, const char *s)
{
	ck_assert_msg(scalar_is(n, s), "scalar differs from \"%s\"", s);
	ck_assert_int_eq(n->data.scalar.style, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

static void check_plain(yaml_node_t *n, const char *s)
{
	ck_assert_msg(scalar_is(n, s), "scalar differs from %s", s);
	ck_assert_int_eq(n->data.scalar.style, YAML_PLAIN_SCALAR_STYLE);
}

/* The whole user-data structure, against p and the expected hostname. */
static void check_user_data(const struct seed_params *p, const char *host, const char *text,
                            size_t len)
{
	static const char *const top[] = { "hostname", "manage_etc_hosts", "ssh_pwauth",
	                                   "disable_root", "users" };
	static const char *const user[] = { "name", "shell", "lock_passwd", "sudo",
	                                    "ssh_authorized_keys" };
	struct parsed ps = { 0 };
	yaml_node_t *root, *users, *u, *keys;
	size_t i;

	ck_assert_uint_eq(len, strlen(text));
	ck_assert_msg(strncmp(text, "#cloud-config\n", 14) == 0, "no #cloud-config header");
	root = parse_yaml(&ps, text, len);
	check_keys(&ps.doc, root, top, 5);
	check_quoted(map_get(&ps.doc, root, "hostname"), host);
	check_plain(map_get(&ps.doc, root, "manage_etc_hosts"), "true");
	check_plain(map_get(&ps.doc, root, "ssh_pwauth"), "false");
	check_plain(map_get(&ps.doc, root, "disable_root"), "true");

	users = map_get(&ps.doc, root, "users");
	ck_assert_int_eq(users->type, YAML_SEQUENCE_NODE);
	ck_assert_int_eq(users->data.sequence.items.top - users->data.sequence.items.start, 1);
	u = yaml_document_get_node(&ps.doc, users->data.sequence.items.start[0]);
	check_keys(&ps.doc, u, user, 5);
	check_quoted(map_get(&ps.doc, u, "name"), p->user);
	check_plain(map_get(&ps.doc, u, "shell"), "/bin/bash");
	check_plain(map_get(&ps.doc, u, "lock_passwd"), "true");
	check_quoted(map_get(&ps.doc, u, "sudo"), "ALL=(ALL) NOPASSWD:ALL");

	keys = map_get(&ps.doc, u, "ssh_authorized_keys");
	ck_assert_int_eq(keys->type, YAML_SEQUENCE_NODE);
	ck_assert_int_eq(keys->data.sequence.items.top - keys->data.sequence.items.start,
	                 (long)p->n_keys);
	for (i = 0; i < p->n_keys; i++)
		check_quoted(yaml_document_get_node(&ps.doc, keys->data.sequence.items.start[i]),
		             p->keys[i]);
	parsed_free(&ps);
}

static void check_meta_data(const struct seed_params *p, const char *host, const char *text,
                            size_t len)
{
	static const char *const top[] = { "instance-id", "local-hostname" };
	struct parsed ps = { 0 };
	yaml_node_t *root;

	ck_assert_uint_eq(len, strlen(text));
	root = parse_yaml(&ps, text, len);
	check_keys(&ps.doc, root, top, 2);
	check_quoted(map_get(&ps.doc, root, "instance-id"), p->instance_id);
	check_quoted(map_get(&ps.doc, root, "local-hostname"), host);
	parsed_free(&ps);
}

/* --- YAML tests ---------------------------------------------------------------------- */

START_TEST(seed_meta_data_is_exact_for_simple_student)
{
	char *s;
	size_t n;

	ck_assert_int_eq(seed_build_meta_data(&simple, &s, &n), 0);
	ck_assert_str_eq(s, "instance-id: \"vlab-net101-alice_b-3\"\n"
	                    "local-hostname: \"alice-b\"\n");
	ck_assert_uint_eq(n, strlen(s));
	free(s);
}
END_TEST

START_TEST(seed_user_data_is_exact_for_simple_student)
{
	char *s;
	size_t n;

	ck_assert_int_eq(seed_build_user_data(&simple, &s, &n), 0);
	ck_assert_str_eq(s, "#cloud-config\n"
	                    "hostname: \"alice-b\"\n"
	                    "manage_etc_hosts: true\n"
	                    "ssh_pwauth: false\n"
	                    "disable_root: true\n"
	                    "users:\n"
	                    "- name: \"student\"\n"
	                    "  shell: /bin/bash\n"
	                    "  lock_passwd: true\n"
	                    "  sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n"
	                    "  ssh_authorized_keys:\n"
	                    "  - \"" KEY_ED "\"\n");
	ck_assert_uint_eq(n, strlen(s));
	check_user_data(&simple, "alice-b", s, n);
	free(s);
}
END_TEST

START_TEST(seed_yaml_hostile_strings_round_trip_as_data)
{
	static const char *const keys[] = {
		"ssh-ed25519 AAAA quote\" backslash\\ colon: hash # end",
		"ssh-ed25519 AAAA \"\n- ssh-rsa injected\n",
		"ssh-ed25519 AAAA tab\there cr\rhere nul-less \x1b[0m",
		"ssh-ed25519 AAAA nel\xc2\x85 ls\xe2\x80\xa8 ps\xe2\x80\xa9 nbsp\xc2\xa0 bom\xef\xbb\xbf",
		"ssh-ed25519 AAAA }]{[,&*!|>'%@` ---",
		"--- !!python/object:os.system [\"id\"]",
		"...",
		"",
	};
	const struct seed_params p = {
		.instance_id = "i\"d\n: x",
		.hostname = "mallory",
		.user = "root\"\n  - name: evil\n#",
		.keys = keys,
		.n_keys = 7,   /* the empty one is refused separately */
	};
	char *s;
	size_t n;
	const char *line;

	ck_assert_int_eq(seed_build_user_data(&p, &s, &n), 0);
	check_user_data(&p, "mallory", s, n);
	/* Output is ASCII: every newline-like code point was escaped. */
	for (line = s; *line; line++)
		ck_assert_msg((unsigned char)*line < 0x80, "non-ASCII byte in user-data");
	free(s);

	ck_assert_int_eq(seed_build_meta_data(&p, &s, &n), 0);
	check_meta_data(&p, "mallory", s, n);
	free(s);
}
END_TEST

START_TEST(seed_yaml_quotes_ids_that_yaml_would_retype)
{
	static const char *const ids[] = { "yes", "no", "on", "null", "123", "0x1f", "1e3", "y" };
	size_t i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		const struct seed_params p = {
			.instance_id = ids[i], .hostname = ids[i], .user = ids[i],
			.keys = simple_keys, .n_keys = 1,
		};
		char *s;
		size_t n;

		ck_assert_int_eq(seed_build_user_data(&p, &s, &n), 0);
		check_user_data(&p, ids[i], s, n);
		free(s);
		ck_assert_int_eq(seed_build_meta_data(&p, &s, &n), 0);
		check_meta_data(&p, ids[i], s, n);
		free(s);
	}
}
END_TEST

START_TEST(seed_yaml_never_folds_long_rsa_keys)
{
	enum { NKEYS = 16, B64 = 716 };
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *keys[NKEYS];
	struct seed_params p = simple;
	char *s, *line, *save = NULL;
	size_t n, i, j, found = 0;

	for (i = 0; i < NKEYS; i++) {
		char b64[B64 + 1];

		/* Spaces in the comment give libyaml every chance to fold. */
		for (j = 0; j < B64; j++)
			b64[j] = alphabet[(i * 7 + j * 13) % 64];
		b64[B64] = '\0';
		ck_assert_int_gt(asprintf(&keys[i], "ssh-rsa AAAAB3NzaC1yc2E%s key %zu of a long list",
		                          b64, i), 0);
		ck_assert_uint_gt(strlen(keys[i]), 740);
	}
	p.keys = (const char *const *)keys;
	p.n_keys = NKEYS;

	ck_assert_int_eq(seed_build_user_data(&p, &s, &n), 0);
	check_user_data(&p, "alice-b", s, n);
	/* What the busybox guest greps for: one key per line, `  - "KEY"`. */
	for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "  - \"ssh-rsa ", 13) != 0)
			continue;
		ck_assert_uint_lt(found, NKEYS);
		ck_assert_uint_eq(strlen(line), strlen(keys[found]) + 6);
		ck_assert(strncmp(line + 5, keys[found], strlen(keys[found])) == 0);
		ck_assert_int_eq(line[strlen(line) - 1], '"');
		found++;
	}
	ck_assert_uint_eq(found, NKEYS);
	free(s);
	for (i = 0; i < NKEYS; i++)
		free(keys[i]);
}
END_TEST

START_TEST(seed_yaml_allows_an_empty_key_list)
{
	struct seed_params p = simple;
	char *s;
	size_t n;

	p.keys = NULL;
	p.n_keys = 0;
	ck_assert_int_eq(seed_build_user_data(&p, &s, &n), 0);
	check_user_data(&p, "alice-b", s, n);
	free(s);
}
END_TEST

START_TEST(seed_refuses_bad_parameters)
{
	static const char *const bad_utf8[] = { "ssh-ed25519 AAAA \xff\xfe" };
	static const char *const empty[] = { KEY_ED, "" };
	static const char *const null_key[] = { KEY_ED, NULL };
	struct seed_params p;
	char *s = (char *)"untouched";
	uint8_t *iso;
	size_t n = 7;

	p = simple; p.hostname = "Alice";
	ck_assert_int_eq(seed_build_meta_data(&p, &s, &n), -EINVAL);
	ck_assert_ptr_null(s);
	ck_assert_uint_eq(n, 0);
	p = simple; p.hostname = "alice.example";
	ck_assert_int_eq(seed_build_user_data(&p, &s, &n), -EINVAL);
	p = simple; p.hostname = NULL;
	ck_assert_int_eq(seed_build_user_data(&p, &s, &n), -EINVAL);
	p = simple; p.user = "";
	ck_assert_int_eq(seed_build_user_data(&p, &s, &n), -EINVAL);
	p = simple; p.instance_id = NULL;
	ck_assert_int_eq(seed_build_meta_data(&p, &s, &n), -EINVAL);
	p = simple; p.keys = empty; p.n_keys = 2;
	ck_assert_int_eq(seed_build_user_data(&p, &s, &n), -EINVAL);
	p = simple; p.keys = null_key; p.n_keys = 2;
	ck_assert_int_eq(seed_build_user_data(&p, &s, &n), -EINVAL);
	p = simple; p.keys = NULL; p.n_keys = 1;
	ck_assert_int_eq(seed_build_user_data(&p, &s, &n), -EINVAL);
	/* libyaml refuses bytes that are not UTF-8. */
	p = simple; p.keys = bad_utf8;
	ck_assert_int_eq(seed_build_user_data(&p, &s, &n), -EINVAL);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(seed_build_iso(&p, &iso, &n), -EINVAL);
	ck_assert_ptr_null(iso);
	ck_assert_int_eq(seed_build_meta_data(NULL, &s, &n), -EINVAL);
}
END_TEST

/* --- ISO ----------------------------------------------------------------------------- */

struct mem_image {
	const uint8_t *buf;
	size_t len;
};

static int mem_open(IsoDataSource *src) { return 1; }
static int mem_close(IsoDataSource *src) { return 1; }
static void mem_free_data(IsoDataSource *src) { }

static int mem_read_block(IsoDataSource *src, uint32_t lba, uint8_t *buffer)
{
	const struct mem_image *m = src->data;

	if ((size_t)lba * 2048 + 2048 > m->len)
		return (int)ISO_DATA_SOURCE_MISHAP;
	memcpy(buffer, m->buf + (size_t)lba * 2048, 2048);
	return 1;
}

enum tree { TREE_ROCKRIDGE, TREE_JOLIET };

/* Imports the image from memory reading only the given tree; caller unrefs. */
static IsoImage *import_image(struct mem_image *m, enum tree tree)
{
	IsoDataSource *src = calloc(1, sizeof(*src));
	IsoReadOpts *ropts = NULL;
	IsoReadImageFeatures *features = NULL;
	IsoImage *image = NULL;

	ck_assert_ptr_nonnull(src);
	/* libisofs free()s the source when the last reference goes: heap, refcount 1. */
	src->refcount = 1;
	src->open = mem_open;
	src->close = mem_close;
	src->read_block = mem_read_block;
	src->free_data = mem_free_data;
	src->data = m;

	ck_assert_int_eq(iso_image_new("import", &image), 1);
	ck_assert_int_eq(iso_read_opts_new(&ropts, 0), 1);
	iso_read_opts_set_no_rockridge(ropts, tree != TREE_ROCKRIDGE);
	iso_read_opts_set_no_joliet(ropts, tree != TREE_JOLIET);
	ck_assert_int_eq(iso_image_import(image, src, ropts, &features), 1);
	ck_assert(iso_read_image_features_has_rockridge(features));
	ck_assert(iso_read_image_features_has_joliet(features));
	iso_read_image_features_destroy(features);
	iso_read_opts_free(ropts);
	iso_data_source_unref(src);
	return image;
}

static char *read_iso_file(IsoImage *image, const char *path)
{
	IsoNode *node = NULL;
	IsoStream *stream;
	off_t size;
	char *buf;

	ck_assert_msg(iso_tree_path_to_node(image, path, &node) == 1, "%s missing", path);
	ck_assert_int_eq(iso_node_get_type(node), LIBISO_FILE);
	stream = iso_file_get_stream((IsoFile *)node);
	size = iso_stream_get_size(stream);
	buf = calloc(1, (size_t)size + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(iso_stream_open(stream), 1);
	ck_assert_int_eq(iso_stream_read(stream, buf, (size_t)size), (int)size);
	iso_stream_close(stream);
	return buf;
}

/* The root holds exactly meta-data and user-data, with this content. */
static void check_tree(struct mem_image *m, enum tree tree, const char *meta, const char *user)
{
	IsoImage *image;
	IsoDirIter *iter;
	IsoNode *node;
	char *got;
	int names = 0;

	ck_assert_int_eq(iso_init_with_flag(1), 1);
	image = import_image(m, tree);
	ck_assert_str_eq(iso_image_get_volume_id(image), "cidata");
	ck_assert_int_eq(iso_dir_get_children(iso_image_get_root(image), &iter), 1);
	while (iso_dir_iter_next(iter, &node) == 1) {
		const char *name = iso_node_get_name(node);

		ck_assert_msg(strcmp(name, "meta-data") == 0 || strcmp(name, "user-data") == 0,
		              "unexpected name %s", name);
		names++;
	}
	iso_dir_iter_free(iter);
	ck_assert_int_eq(names, 2);

	got = read_iso_file(image, "/meta-data");
	ck_assert_str_eq(got, meta);
	free(got);
	got = read_iso_file(image, "/user-data");
	ck_assert_str_eq(got, user);
	free(got);
	iso_image_unref(image);
	iso_finish();
}

START_TEST(seed_iso_has_cidata_primary_volume_descriptor)
{
	uint8_t *iso;
	size_t n;

	ck_assert_int_eq(seed_build_iso(&simple, &iso, &n), 0);
	ck_assert_uint_eq(n % 2048, 0);
	ck_assert_uint_gt(n, 32768 + 2048);
	ck_assert(memcmp(iso + 32768, "\x01" "CD001", 6) == 0);
	/* Volume identifier: 32 bytes, space padded, lower case as genisoimage -V writes. */
	ck_assert(memcmp(iso + 32768 + 40, "cidata                          ", 32) == 0);
	/* Next block: the Joliet supplementary descriptor (UCS-2 level 3 escape). */
	ck_assert(memcmp(iso + 34816, "\x02" "CD001", 6) == 0);
	ck_assert(memcmp(iso + 34816 + 88, "%/E", 3) == 0);
	/* Rock Ridge NM entries with the real names, found without libisofs' reader. */
	ck_assert_ptr_nonnull(memmem(iso, n, "NM\x0e\x01\x00meta-data", 14));
	ck_assert_ptr_nonnull(memmem(iso, n, "NM\x0e\x01\x00user-data", 14));
	free(iso);
}
END_TEST

START_TEST(seed_iso_holds_both_files_in_rock_ridge_and_joliet)
{
	struct mem_image m;
	uint8_t *iso;
	char *meta, *user;
	size_t n, meta_len, user_len;

	ck_assert_int_eq(seed_build_meta_data(&simple, &meta, &meta_len), 0);
	ck_assert_int_eq(seed_build_user_data(&simple, &user, &user_len), 0);
	ck_assert_int_eq(seed_build_iso(&simple, &iso, &n), 0);
	m.buf = iso;
	m.len = n;
	check_tree(&m, TREE_ROCKRIDGE, meta, user);
	check_tree(&m, TREE_JOLIET, meta, user);
	free(iso);
	free(meta);
	free(user);
}
END_TEST

START_TEST(seed_iso_is_reproducible)
{
	uint8_t *a, *b;
	size_t na, nb;
	time_t t0 = time(NULL);

	ck_assert_int_eq(seed_build_iso(&simple, &a, &na), 0);
	/* Let the clock tick, so a stray time(NULL) in the image would show. */
	while (time(NULL) == t0)
		usleep(50 * 1000);
	ck_assert_int_eq(seed_build_iso(&simple, &b, &nb), 0);
	ck_assert_uint_eq(na, nb);
	ck_assert_msg(memcmp(a, b, na) == 0, "two builds of the same seed differ");
	free(a);
	free(b);
}
END_TEST

START_TEST(seed_iso_changes_with_instance_id)
{
	struct seed_params p = simple;
	uint8_t *a, *b;
	size_t na, nb;

	ck_assert_int_eq(seed_build_iso(&simple, &a, &na), 0);
	p.instance_id = "vlab-net101-alice_b-4";
	ck_assert_int_eq(seed_build_iso(&p, &b, &nb), 0);
	ck_assert(na != nb || memcmp(a, b, na) != 0);
	free(a);
	free(b);
}
END_TEST

Suite *make_seed_suite(void);

Suite *make_seed_suite(void)
{
	Suite *s = suite_create("seed");
	TCase *yaml = tcase_create("yaml");
	TCase *iso = tcase_create("iso");

	tcase_add_test(yaml, seed_meta_data_is_exact_for_simple_student);
	tcase_add_test(yaml, seed_user_data_is_exact_for_simple_student);
	tcase_add_test(yaml, seed_yaml_hostile_strings_round_trip_as_data);
	tcase_add_test(yaml, seed_yaml_quotes_ids_that_yaml_would_retype);
	tcase_add_test(yaml, seed_yaml_never_folds_long_rsa_keys);
	tcase_add_test(yaml, seed_yaml_allows_an_empty_key_list);
	tcase_add_test(yaml, seed_refuses_bad_parameters);
	suite_add_tcase(s, yaml);

	tcase_add_test(iso, seed_iso_has_cidata_primary_volume_descriptor);
	tcase_add_test(iso, seed_iso_holds_both_files_in_rock_ridge_and_joliet);
	tcase_add_test(iso, seed_iso_is_reproducible);
	tcase_add_test(iso, seed_iso_changes_with_instance_id);
	suite_add_tcase(s, iso);
	return s;
}
