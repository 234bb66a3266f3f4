/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the one configuration parser (file and PAM arguments). */
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
static const struct dbnl_logger quiet = { .sink = DBNL_LOG_STDERR, .prog = "unit_config" };

static const char *conf_file(const char *text)
{
	static char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/c.conf", tmpdir);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	chmod(path, 0644);
	return path;
}

static enum dbnl_rc load(const char *text, struct dbnl_conf *c)
{
	enum dbnl_rc rc;

	dbnl_conf_init(c);
	rc = dbnl_conf_load(c, conf_file(text), &quiet);
	if (rc == DBNL_OK)
		rc = dbnl_conf_finish(c, &quiet);
	return rc;
}

#define MIN "issuer = https://i.test\nldap_uri = ldap://127.0.0.1\nldap_base = dc=x\n"

static void test_defaults(void **state)
{
	struct dbnl_conf c;

	(void)state;
	assert_int_equal(load(MIN, &c), DBNL_OK);
	assert_string_equal(c.issuer, "https://i.test");
	assert_string_equal(c.audience, "dbnl-pat");
	assert_string_equal(c.keys_dir, SYSCONFDIR "/dbnl-pat/keys");
	assert_int_equal(c.algorithms, DBNL_ALG_ES256);
	assert_string_equal(c.user_claim, "sub");
	assert_int_equal(c.clock_skew, 60);
	assert_int_equal(c.max_lifetime, 365 * 86400);
	assert_int_equal(c.ldap_timeout, 5);
	assert_int_equal(c.ldap_group_mode, DBNL_GROUPS_MEMBEROF);
	assert_string_equal(c.ldap_user_filter, "(objectClass=posixAccount)");
	assert_string_equal(c.ldap_user_attr, "uid");
	assert_string_equal(c.ldap_group_name_attr, "cn");
	assert_false(c.ldap_starttls);
	assert_false(c.ldap_nested_groups);
	assert_null(c.ldap_bind_dn);
	assert_false(c.allow_groups_set);
	assert_int_equal(c.default_ttl, 30 * 86400);
	assert_int_equal(c.max_ttl, 90 * 86400);
	assert_string_equal(c.service_user, "dbnl-pat");
	dbnl_conf_free(&c);
}

static void test_every_key(void **state)
{
	struct dbnl_conf c;

	(void)state;
	assert_int_equal(load("# comment\n\n  issuer = https://i.test   # trailing\n"
			      "audience = aud\nkeys_dir = /k\nalgorithms = ES256 RS512 ES384\n"
			      "user_claim = preferred_username\nclock_skew = 2m\nmax_lifetime = 10d\n"
			      "ldap_uri = ldaps://a.test ldap://b.test\nldap_starttls = yes\n"
			      "ldap_ca_file = /ca.pem\nldap_bind_dn = cn=r\nldap_bind_password_file = /pw\n"
			      "ldap_base = dc=x\nldap_user_filter = (objectClass=person)\n"
			      "ldap_user_attr = sAMAccountName\nldap_group_mode = memberuid\n"
			      "ldap_group_base = ou=g,dc=x\nldap_group_name_attr = gid\n"
			      "ldap_nested_groups = yes\nldap_disabled_filter = (pwdAccountLockedTime=*)\n"
			      "ldap_timeout = 3s\nallow_groups = a b\ndeny_groups = c\n"
			      "signing_key = /s.key\nsocket = /run/x.sock\ndefault_ttl = 1h\nmax_ttl = 2h\n"
			      "mint_groups = m\nservice_user = svc\n",
			      &c), DBNL_OK);
	assert_string_equal(c.audience, "aud");
	assert_int_equal(c.algorithms, DBNL_ALG_ES256 | DBNL_ALG_RS512 | DBNL_ALG_ES384);
	assert_int_equal(c.clock_skew, 120);
	assert_int_equal(c.ldap_uri.n, 2);
	assert_string_equal(c.ldap_uri.v[1], "ldap://b.test");
	assert_true(c.ldap_starttls);
	assert_int_equal(c.ldap_group_mode, DBNL_GROUPS_MEMBERUID);
	assert_true(c.ldap_nested_groups);
	assert_string_equal(c.ldap_disabled_filter, "(pwdAccountLockedTime=*)");
	assert_int_equal(c.ldap_timeout, 3);
	assert_true(c.allow_groups_set);
	assert_int_equal(c.allow_groups.n, 2);
	assert_true(c.mint_groups_set);
	assert_string_equal(c.mint_groups.v[0], "m");
	assert_int_equal(c.default_ttl, 3600);
	assert_string_equal(c.service_user, "svc");
	dbnl_conf_free(&c);
}

static void test_mint_groups_follow_allow(void **state)
{
	struct dbnl_conf c;

	(void)state;
	assert_int_equal(load(MIN "allow_groups = staff ops\n", &c), DBNL_OK);
	assert_true(c.mint_groups_set == 0);
	assert_int_equal(c.mint_groups.n, 2);
	assert_string_equal(c.mint_groups.v[1], "ops");
	dbnl_conf_free(&c);
}

static void test_file_errors(void **state)
{
	static const char *const bad[] = {
		MIN "colour = blue\n",                 /* unknown key */
		MIN "issuer = https://again\n",        /* duplicate */
		MIN "ldap_timeout\n",                  /* no '=' */
		MIN "ldap_timeout = 0\n",              /* out of range */
		MIN "ldap_timeout = 301\n",
		MIN "clock_skew = 2h\n",
		MIN "ldap_starttls = true\n",          /* yes/no only */
		MIN "algorithms = HS256\n",
		MIN "algorithms = none\n",
		MIN "algorithms = es256\n",            /* case matters */
		MIN "algorithms = PS256\n",
		MIN "ldap_group_mode = nested\n",
		MIN "keys_dir = relative/path\n",
		MIN "ldap_user_filter = objectClass=person\n",
		MIN "ldap_disabled_filter = (a=b))(\n",
		MIN "default_ttl = 100d\n",            /* longer than max_ttl */
		MIN "ldap_bind_dn = cn=r\n",           /* no password file */
		"ldap_uri = ldap://x\nldap_base = dc=x\n",            /* no issuer */
		"issuer = i\nldap_base = dc=x\n",                      /* no ldap_uri */
		"issuer = i\nldap_uri = ldap://x\n",                   /* no ldap_base */
		MIN "ldap_uri = http://x\n",
		MIN "issuer = \n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dbnl_conf c;

		if (load(bad[i], &c) != DBNL_CONFIG)
			fail_msg("accepted bad configuration #%zu: %s", i, bad[i]);
		dbnl_conf_free(&c);
	}
}

static void test_set_messages(void **state)
{
	struct dbnl_conf c;
	char why[256];

	(void)state;
	dbnl_conf_init(&c);
	assert_int_equal(dbnl_conf_set(&c, "nope", "x", 1, why, sizeof(why)), -1);
	assert_string_equal(why, "unknown key 'nope'");
	assert_int_equal(dbnl_conf_set(&c, "issuer", "a", 1, why, sizeof(why)), 0);
	assert_int_equal(dbnl_conf_set(&c, "issuer", "b", 1, why, sizeof(why)), -1);
	assert_string_equal(why, "duplicate key 'issuer'");
	/* PAM arguments override what the file said */
	assert_int_equal(dbnl_conf_set(&c, "allow_groups", "a b", 1, why, sizeof(why)), 0);
	assert_int_equal(dbnl_conf_set(&c, "allow_groups", "x,y,z", 0, why, sizeof(why)), 0);
	assert_int_equal(c.allow_groups.n, 3);
	assert_string_equal(c.allow_groups.v[2], "z");
	/* an empty list is the same as no list */
	assert_int_equal(dbnl_conf_set(&c, "deny_groups", "", 0, why, sizeof(why)), 0);
	assert_int_equal(c.deny_groups.n, 0);
	assert_int_equal(dbnl_conf_set(&c, "ldap_timeout", "soon", 0, why, sizeof(why)), -1);
	assert_string_equal(why, "bad duration 'soon' for 'ldap_timeout' (use N, Ns, Nm, Nh or Nd)");
	assert_int_equal(dbnl_conf_set(&c, "issuer", "a\tb", 0, why, sizeof(why)), -1);
	assert_string_equal(why, "control character in 'issuer'");
	dbnl_conf_free(&c);
}

static void test_file_trust(void **state)
{
	struct dbnl_conf c;
	const char *p = conf_file(MIN);

	(void)state;
	chmod(p, 0666);
	dbnl_conf_init(&c);
	assert_int_equal(dbnl_conf_load(&c, p, &quiet), DBNL_CONFIG);
	dbnl_conf_free(&c);
	dbnl_conf_init(&c);
	assert_int_equal(dbnl_conf_load(&c, "/nonexistent/dbnl.conf", &quiet), DBNL_CONFIG);
	dbnl_conf_free(&c);
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
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_mint_groups_follow_allow),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_set_messages),
		cmocka_unit_test(test_file_trust),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
