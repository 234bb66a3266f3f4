/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests: base64url, durations, string lists, trusted files, group policy. */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dbnl.h"

static char tmpdir[64];

static void write_file(const char *name, const char *text, mode_t mode, char *path, size_t n)
{
	int fd;

	snprintf(path, n, "%s/%s", tmpdir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_b64url_roundtrip(void **state)
{
	const unsigned char bytes[] = { 0xfb, 0xff, 0x00, 0x3e, 0x3f };
	size_t n = 0;
	char *e;
	unsigned char *d;

	(void)state;
	for (size_t len = 1; len <= sizeof(bytes); len++) {
		e = dbnl_b64url_encode(bytes, len);
		assert_non_null(e);
		assert_null(strchr(e, '='));
		assert_null(strchr(e, '+'));
		assert_null(strchr(e, '/'));
		d = dbnl_b64url_decode(e, strlen(e), &n);
		assert_non_null(d);
		assert_int_equal(n, len);
		assert_memory_equal(d, bytes, len);
		free(d);
		free(e);
	}
}

static void test_b64url_rejects_noncanonical(void **state)
{
	size_t n = 99;

	(void)state;
	/* "QQ" is canonical for "A"; "QR" decodes to the same byte with a stray bit. */
	unsigned char *d = dbnl_b64url_decode("QQ", 2, &n);
	assert_non_null(d);
	assert_int_equal(n, 1);
	assert_int_equal(d[0], 'A');
	free(d);
	assert_null(dbnl_b64url_decode("QR", 2, &n));
	assert_null(dbnl_b64url_decode("QQ==", 4, &n)); /* padding */
	assert_null(dbnl_b64url_decode("Q+", 2, &n));   /* standard alphabet */
	assert_null(dbnl_b64url_decode("Q/", 2, &n));
	assert_null(dbnl_b64url_decode("QQ ", 3, &n));  /* space */
	assert_null(dbnl_b64url_decode("Q", 1, &n));    /* impossible length */
	assert_null(dbnl_b64url_decode("", 0, &n));
	assert_int_equal(n, 0);
}

static void test_duration(void **state)
{
	(void)state;
	assert_int_equal(dbnl_parse_duration("0"), 0);
	assert_int_equal(dbnl_parse_duration("90"), 90);
	assert_int_equal(dbnl_parse_duration("30s"), 30);
	assert_int_equal(dbnl_parse_duration("5m"), 300);
	assert_int_equal(dbnl_parse_duration("2h"), 7200);
	assert_int_equal(dbnl_parse_duration("30d"), 30 * 86400);
	assert_int_equal(dbnl_parse_duration(""), -1);
	assert_int_equal(dbnl_parse_duration("-5"), -1);
	assert_int_equal(dbnl_parse_duration("5 m"), -1);
	assert_int_equal(dbnl_parse_duration("5w"), -1);
	assert_int_equal(dbnl_parse_duration("5ss"), -1);
	assert_int_equal(dbnl_parse_duration("99999999999999999999"), -1);
	assert_int_equal(dbnl_parse_duration("40000d"), -1);
	assert_int_equal(dbnl_parse_duration(NULL), -1);
}

static void test_strlist(void **state)
{
	struct dbnl_strlist l = { 0 }, c = { 0 };
	char *j;

	(void)state;
	assert_int_equal(dbnl_strlist_add(&l, "staff"), 0);
	assert_int_equal(dbnl_strlist_add(&l, "devs"), 0);
	assert_true(dbnl_strlist_has(&l, "devs"));
	assert_false(dbnl_strlist_has(&l, "Devs"));
	assert_true(dbnl_strlist_has_ci(&l, "Devs"));
	j = dbnl_strlist_join(&l, ' ');
	assert_string_equal(j, "staff devs");
	free(j);
	assert_int_equal(dbnl_strlist_copy(&c, &l), 0);
	assert_int_equal(c.n, 2);
	dbnl_strlist_free(&l);
	dbnl_strlist_free(&c);
	assert_int_equal(l.n, 0);
	j = dbnl_strlist_join(&l, ' ');
	assert_string_equal(j, "");
	free(j);
}

static void test_read_trusted(void **state)
{
	char path[256], link[300], why[256];
	char *out = NULL;
	size_t len = 0;

	(void)state;
	write_file("ok", "hello", 0644, path, sizeof(path));
	assert_int_equal(dbnl_read_trusted(path, geteuid(), 0, 100, &out, &len, why, sizeof(why)),
			 DBNL_OK);
	assert_string_equal(out, "hello");
	assert_int_equal(len, 5);
	free(out);
	/* private: group/other bits refused */
	assert_int_equal(dbnl_read_trusted(path, geteuid(), DBNL_F_PRIVATE, 100, &out, &len, why,
					   sizeof(why)), DBNL_CONFIG);
	assert_non_null(strstr(why, "mode 0644 gives access to group or other"));
	/* writable by other */
	write_file("ww", "x", 0646, path, sizeof(path));
	assert_int_equal(dbnl_read_trusted(path, geteuid(), 0, 100, &out, &len, why, sizeof(why)),
			 DBNL_CONFIG);
	assert_non_null(strstr(why, "writable by group or other"));
	assert_null(out);
	/* size cap */
	write_file("big", "0123456789", 0600, path, sizeof(path));
	assert_int_equal(dbnl_read_trusted(path, geteuid(), 0, 9, &out, &len, why, sizeof(why)),
			 DBNL_CONFIG);
	assert_non_null(strstr(why, "larger than 9 bytes"));
	/* symlink */
	write_file("target", "x", 0600, path, sizeof(path));
	snprintf(link, sizeof(link), "%s/link", tmpdir);
	unlink(link);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(dbnl_read_trusted(link, geteuid(), 0, 100, &out, &len, why, sizeof(why)),
			 DBNL_CONFIG);
	assert_non_null(strstr(why, "is a symbolic link"));
	/* a directory */
	assert_int_equal(dbnl_read_trusted(tmpdir, geteuid(), 0, 100, &out, &len, why, sizeof(why)),
			 DBNL_CONFIG);
	assert_non_null(strstr(why, "not a regular file"));
	/* owner: only root or the running user */
	if (geteuid() == 0) {
		write_file("owned", "x", 0644, path, sizeof(path));
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(dbnl_read_trusted(path, 0, 0, 100, &out, &len, why, sizeof(why)),
				 DBNL_CONFIG);
		assert_non_null(strstr(why, "owned by uid 65534"));
	}
}

static void test_dirs_secure(void **state)
{
	char a[160], b[200], why[512];

	(void)state;
	snprintf(a, sizeof(a), "%s/a", tmpdir);
	snprintf(b, sizeof(b), "%s/a/b", tmpdir);
	assert_int_equal(mkdir(a, 0755), 0);
	assert_int_equal(mkdir(b, 0755), 0);
	assert_int_equal(chmod(tmpdir, 0755), 0);
	/* /tmp is 1777: sticky, so allowed */
	assert_int_equal(dbnl_dirs_secure(b, geteuid(), why, sizeof(why)), 0);
	/* a parent writable by others, not sticky: refused, and named */
	assert_int_equal(chmod(a, 0777), 0);
	assert_int_equal(dbnl_dirs_secure(b, geteuid(), why, sizeof(why)), -1);
	assert_non_null(strstr(why, "/a is writable by group or other"));
	/* group-writable too */
	assert_int_equal(chmod(a, 0775), 0);
	assert_int_equal(dbnl_dirs_secure(b, geteuid(), why, sizeof(why)), -1);
	/* the same with the sticky bit is allowed (like /tmp) */
	assert_int_equal(chmod(a, 01777), 0);
	assert_int_equal(dbnl_dirs_secure(b, geteuid(), why, sizeof(why)), 0);
	assert_int_equal(chmod(a, 0755), 0);
	/* the directory itself is checked, not only its parents */
	assert_int_equal(chmod(b, 0757), 0);
	assert_int_equal(dbnl_dirs_secure(b, geteuid(), why, sizeof(why)), -1);
	assert_int_equal(chmod(b, 0755), 0);
	/* owned by another user (only root can set that up) */
	if (geteuid() == 0) {
		assert_int_equal(chown(a, 65534, 65534), 0);
		assert_int_equal(dbnl_dirs_secure(b, 0, why, sizeof(why)), -1);
		assert_non_null(strstr(why, "is owned by uid 65534"));
		assert_int_equal(chown(a, 0, 0), 0);
	}
	/* missing */
	assert_int_equal(dbnl_dirs_secure("/nonexistent/dbnl", 0, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "cannot resolve directory /nonexistent/dbnl"));
}

static void test_policy(void **state)
{
	struct dbnl_strlist allow = { 0 }, deny = { 0 }, groups = { 0 };
	char why[128];

	(void)state;
	dbnl_strlist_add(&allow, "staff");
	dbnl_strlist_add(&deny, "banned");
	/* no allow list: anyone not denied */
	assert_int_equal(dbnl_policy_check(&allow, 0, &deny, &groups, why, sizeof(why)), DBNL_OK);
	assert_int_equal(dbnl_policy_check(&allow, 1, &deny, &groups, why, sizeof(why)), DBNL_DENIED);
	assert_string_equal(why, "not a member of any allowed group");
	dbnl_strlist_add(&groups, "STAFF");
	assert_int_equal(dbnl_policy_check(&allow, 1, &deny, &groups, why, sizeof(why)), DBNL_OK);
	dbnl_strlist_add(&groups, "banned");
	assert_int_equal(dbnl_policy_check(&allow, 1, &deny, &groups, why, sizeof(why)), DBNL_DENIED);
	assert_string_equal(why, "member of denied group 'banned'");
	dbnl_strlist_free(&allow);
	dbnl_strlist_free(&deny);
	dbnl_strlist_free(&groups);
}

static void test_pam_mapping(void **state)
{
	(void)state;
	assert_int_equal(dbnl_to_pam(DBNL_OK, 0), PAM_SUCCESS);
	assert_int_equal(dbnl_to_pam(DBNL_NOT_TOKEN, 0), PAM_AUTH_ERR);
	assert_int_equal(dbnl_to_pam(DBNL_INVALID, 0), PAM_AUTH_ERR);
	assert_int_equal(dbnl_to_pam(DBNL_USER_UNKNOWN, 0), PAM_USER_UNKNOWN);
	assert_int_equal(dbnl_to_pam(DBNL_DENIED, 0), PAM_AUTH_ERR);
	assert_int_equal(dbnl_to_pam(DBNL_DENIED, 1), PAM_PERM_DENIED);
	assert_int_equal(dbnl_to_pam(DBNL_UNAVAIL, 0), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(dbnl_to_pam(DBNL_CONFIG, 0), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(dbnl_to_pam((enum dbnl_rc)1234, 0), PAM_AUTH_ERR);
	assert_int_equal(dbnl_to_pam((enum dbnl_rc)1234, 1), PAM_PERM_DENIED);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/dbnl-unit.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url_roundtrip),
		cmocka_unit_test(test_b64url_rejects_noncanonical),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_strlist),
		cmocka_unit_test(test_read_trusted),
		cmocka_unit_test(test_dirs_secure),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_pam_mapping),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
