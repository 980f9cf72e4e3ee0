/*
 * labd's volume files: a new one appears whole or not at all, holes where the data is
 * zero, the mode whatever the umask, an existing name never touched; a rewrite keeps
 * the inode. In a temporary directory, no libvirt.
 */
#include "labd/volfile.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

static char dir[] = "/tmp/check-volfile-XXXXXX";
static int saved_level;

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void setup(void)
{
	saved_level = log_getlevel();
	log_setlevel(LOG_LVL_ERR);   /* the refusals below are logged by design */
	strcpy(dir, "/tmp/check-volfile-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	log_setlevel(saved_level);
}

static char *path_of(const char *name)
{
	static char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static size_t entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/* 1 MiB: 4 KiB of data, zeros, a data block at 512 KiB, zeros, 10 odd bytes at the end. */
static uint8_t *sample(size_t *len)
{
	uint8_t *d = calloc(1, 1 << 20);

	ck_assert_ptr_nonnull(d);
	memset(d, 0xab, 4096);
	memset(d + (512 << 10), 0x5a, 4096);
	memset(d + (1 << 20) - 10, 0x11, 10);
	*len = 1 << 20;
	return d;
}

START_TEST(volfile_create_writes_content_with_holes_and_mode)
{
	uint8_t *d, *back = NULL;
	size_t len, blen = 0;
	struct stat st;
	mode_t old = umask(0077);

	d = sample(&len);
	ck_assert_int_eq(volfile_create(dir, "a.qcow2", d, len, 0640, (uid_t)-1, (gid_t)-1), 0);
	umask(old);
	ck_assert_int_eq(volfile_read(path_of("a.qcow2"), 2 << 20, &back, &blen, &st), 0);
	ck_assert_uint_eq(blen, len);
	ck_assert(memcmp(back, d, len) == 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	/* 3 blocks of data hold at most a few blocks of disk, not 1 MiB */
	ck_assert_int_lt(st.st_blocks * 512, 64 * 1024);
	free(back);
	free(d);
}
END_TEST

START_TEST(volfile_create_refuses_existing_name_and_leaves_it)
{
	static const uint8_t one[] = "first", two[] = "second";
	uint8_t *back = NULL;
	size_t blen = 0;
	struct stat st;

	ck_assert_int_eq(volfile_create(dir, "s.iso", one, sizeof(one), 0600, (uid_t)-1, (gid_t)-1), 0);
	ck_assert_int_eq(volfile_create(dir, "s.iso", two, sizeof(two), 0600, (uid_t)-1, (gid_t)-1),
			 -EEXIST);
	ck_assert_int_eq(volfile_read(path_of("s.iso"), 100, &back, &blen, &st), 0);
	ck_assert_uint_eq(blen, sizeof(one));
	ck_assert(memcmp(back, one, sizeof(one)) == 0);
	ck_assert_uint_eq(entries(), 1);
	free(back);
}
END_TEST

START_TEST(volfile_failed_write_leaves_no_file)
{
	struct rlimit lim = { .rlim_cur = 64 * 1024, .rlim_max = 64 * 1024 };
	uint8_t *d;
	size_t len;

	/* Writes past 64 KiB fail with EFBIG, as a full disk would fail them. The test
	 * runs in its own process (Check forks), so the limit ends with it. */
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	d = sample(&len);
	ck_assert_int_eq(volfile_create(dir, "big.qcow2", d, len, 0600, (uid_t)-1, (gid_t)-1),
			 -EFBIG);
	ck_assert_uint_eq(entries(), 0);
	free(d);
}
END_TEST

START_TEST(volfile_create_in_missing_directory_fails)
{
	static const uint8_t one[] = "x";
	char missing[300];

	snprintf(missing, sizeof(missing), "%s/no/such", dir);
	ck_assert_int_eq(volfile_create(missing, "a", one, 1, 0600, (uid_t)-1, (gid_t)-1), -ENOENT);
}
END_TEST

START_TEST(volfile_rewrite_keeps_inode_and_refuses_missing)
{
	static const uint8_t one[] = "first seed", two[] = "SECOND";
	uint8_t *back = NULL;
	size_t blen = 0;
	struct stat a, b;

	ck_assert_int_eq(volfile_create(dir, "s.iso", one, sizeof(one), 0600, (uid_t)-1, (gid_t)-1), 0);
	ck_assert_int_eq(stat(path_of("s.iso"), &a), 0);
	ck_assert_int_eq(volfile_rewrite(path_of("s.iso"), two, sizeof(two) - 1), 0);
	ck_assert_int_eq(volfile_read(path_of("s.iso"), 100, &back, &blen, &b), 0);
	ck_assert_uint_eq(a.st_ino, b.st_ino);
	/* from offset 0, the rest of the file as it was */
	ck_assert_uint_eq(blen, sizeof(one));
	ck_assert(memcmp(back, "SECONDseed", 10) == 0);
	free(back);
	ck_assert_int_eq(volfile_rewrite(path_of("none.iso"), two, sizeof(two)), -ENOENT);
	ck_assert_int_ne(access(path_of("none.iso"), F_OK), 0);
}
END_TEST

START_TEST(volfile_read_refuses_oversized_and_non_regular)
{
	static const uint8_t one[] = "0123456789";
	uint8_t *back = NULL;
	size_t blen = 0;
	struct stat st;

	ck_assert_int_eq(volfile_create(dir, "t", one, sizeof(one), 0600, (uid_t)-1, (gid_t)-1), 0);
	ck_assert_int_eq(volfile_read(path_of("t"), 5, &back, &blen, &st), -EFBIG);
	ck_assert_ptr_null(back);
	ck_assert_int_eq(volfile_read(dir, 1 << 20, &back, &blen, &st), -EFBIG);
	ck_assert_ptr_null(back);
}
END_TEST

Suite *make_volfile_suite(void);

Suite *make_volfile_suite(void)
{
	Suite *s = suite_create("volfile");
	TCase *tc = tcase_create("files");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, volfile_create_writes_content_with_holes_and_mode);
	tcase_add_test(tc, volfile_create_refuses_existing_name_and_leaves_it);
	tcase_add_test(tc, volfile_failed_write_leaves_no_file);
	tcase_add_test(tc, volfile_create_in_missing_directory_fails);
	tcase_add_test(tc, volfile_rewrite_keeps_inode_and_refuses_missing);
	tcase_add_test(tc, volfile_read_refuses_oversized_and_non_regular);
	suite_add_tcase(s, tc);
	return s;
}
