/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dbnl-pat: the command-line helper. No setuid bit, no capabilities.
 *   mint    ask dbnl-patd (over its Unix socket) for a token for yourself
 *   verify  read a token from stdin and run the module's own verification
 *   keygen  make the ES256 signing key and its public key
 * See dbnl-pat(1).
 */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "dbnl.h"
#include "mint.h"
#include "proto.h"

/* Exit codes (dbnl-pat(1)). */
#define EX_OK 0
#define EX_REFUSED 1
#define EX_USAGE 2
#define EX_UNAVAIL 3
#define EX_RATE 4

#define CLIENT_TIMEOUT 30 /* seconds for the whole exchange */
#define BUSY_RETRIES 4

static const struct dbnl_logger lg = { .sink = DBNL_LOG_STDERR, .prog = "dbnl-pat" };

static int usage(FILE *f, int rc)
{
	fprintf(f,
		"usage: dbnl-pat [-c CONFIG] mint [--ttl DURATION] [--name LABEL] [--user NAME]\n"
		"       dbnl-pat [-c CONFIG] verify [--user NAME] < token\n"
		"       dbnl-pat [-c CONFIG] keygen [--dir DIR]\n"
		"  -c, --config PATH   configuration file (default %s)\n",
		DBNL_DEFAULT_CONFIG);
	return rc;
}

struct args {
	const char *config;
	const char *cmd;
	const char *ttl, *name, *user, *dir;
};

/* Take "--opt VALUE" or "--opt=VALUE"; 1 if A is OPT, -1 on a missing value. */
static int opt_value(const char *opt, int argc, char **argv, int *i, const char **out)
{
	size_t n = strlen(opt);
	const char *a = argv[*i];

	if (strcmp(a, opt) == 0) {
		if (*i + 1 >= argc)
			return -1;
		*out = argv[++*i];
		return 1;
	}
	if (strncmp(a, opt, n) == 0 && a[n] == '=') {
		*out = a + n + 1;
		return 1;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof(*a));
	a->config = DBNL_DEFAULT_CONFIG;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		int known = 0;
		int r;

		if ((r = opt_value("--config", argc, argv, &i, &a->config)) != 0 ||
		    (r = opt_value("-c", argc, argv, &i, &a->config)) != 0) {
			if (r < 0)
				return -1;
			continue;
		}
		if (a->cmd == NULL && arg[0] != '-') {
			if (strcmp(arg, "mint") != 0 && strcmp(arg, "verify") != 0 &&
			    strcmp(arg, "keygen") != 0) {
				fprintf(stderr, "dbnl-pat: unknown command '%s'\n", arg);
				return -1;
			}
			a->cmd = arg;
			continue;
		}
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)
			return 1;
		if (a->cmd == NULL) {
			fprintf(stderr, "dbnl-pat: unknown option '%s'\n", arg);
			return -1;
		}
		if (strcmp(a->cmd, "mint") == 0) {
			if ((r = opt_value("--ttl", argc, argv, &i, &a->ttl)) != 0 ||
			    (r = opt_value("--name", argc, argv, &i, &a->name)) != 0 ||
			    (r = opt_value("--user", argc, argv, &i, &a->user)) != 0)
				known = 1;
		} else if (strcmp(a->cmd, "verify") == 0) {
			if ((r = opt_value("--user", argc, argv, &i, &a->user)) != 0)
				known = 1;
		} else {
			if ((r = opt_value("--dir", argc, argv, &i, &a->dir)) != 0)
				known = 1;
		}
		if (!known) {
			fprintf(stderr, "dbnl-pat %s: unknown argument '%s'\n", a->cmd, arg);
			return -1;
		}
		if (r < 0) {
			fprintf(stderr, "dbnl-pat %s: %s needs a value\n", a->cmd, arg);
			return -1;
		}
	}
	if (a->cmd == NULL) {
		fprintf(stderr, "dbnl-pat: no command given\n");
		return -1;
	}
	return 0;
}

/* ---- mint ------------------------------------------------------------------ */

/* One exchange with the daemon. Returns the parsed response or NULL (message printed). */
static json_t *exchange(const char *path, const char *req)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { CLIENT_TIMEOUT, 0 };
	char buf[PROTO_RESPONSE_MAX + 1];
	size_t len = 0;
	json_t *resp = NULL;
	json_error_t err;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "dbnl-pat: socket path %s is too long\n", path);
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "dbnl-pat: socket: %s\n", strerror(errno));
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr,
			"dbnl-pat: the mint service is not running (cannot connect to %s: %s)\n",
			path, strerror(errno));
		goto out;
	}
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
		fprintf(stderr, "dbnl-pat: cannot send the request to %s: %s\n", path,
			strerror(errno));
		goto out;
	}
	while (len < PROTO_RESPONSE_MAX) {
		ssize_t r = recv(fd, buf + len, PROTO_RESPONSE_MAX - len, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "dbnl-pat: no answer from the mint service: %s\n",
				errno == EAGAIN ? "timed out" : strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (memchr(buf, '\n', len) != NULL)
			break;
	}
	if (len == 0 || memchr(buf, '\n', len) == NULL) {
		fprintf(stderr, "dbnl-pat: the mint service closed the connection without an answer\n");
		goto out;
	}
	resp = json_loadb(buf, (size_t)((char *)memchr(buf, '\n', len) - buf),
			  JSON_REJECT_DUPLICATES, &err);
	if (!json_is_object(resp) || json_integer_value(json_object_get(resp, "v")) != 1) {
		fprintf(stderr, "dbnl-pat: the mint service answered something unexpected\n");
		json_decref(resp);
		resp = NULL;
	}
out:
	dbnl_wipe(buf, sizeof(buf));
	close(fd);
	return resp;
}

static int code_to_exit(const char *code)
{
	if (strcmp(code, PROTO_E_RATE_LIMITED) == 0)
		return EX_RATE;
	if (strcmp(code, PROTO_E_DENIED) == 0 || strcmp(code, PROTO_E_UNKNOWN_USER) == 0 ||
	    strcmp(code, PROTO_E_BAD_TTL) == 0 || strcmp(code, PROTO_E_TOO_LONG) == 0)
		return EX_REFUSED;
	if (strcmp(code, PROTO_E_BAD_REQUEST) == 0 || strcmp(code, PROTO_E_VERSION) == 0)
		return EX_USAGE;
	return EX_UNAVAIL; /* busy, unavailable, internal, anything new */
}

static int cmd_mint(const struct args *a)
{
	struct dbnl_conf c;
	json_t *req = NULL, *resp = NULL;
	char *line = NULL;
	const char *token, *code;
	long long ttl = 0;
	int rc = EX_UNAVAIL;

	dbnl_conf_init(&c);
	if (a->ttl != NULL) {
		ttl = dbnl_parse_duration(a->ttl);
		if (ttl <= 0) {
			fprintf(stderr, "dbnl-pat mint: bad --ttl '%s' (use N, Ns, Nm, Nh or Nd)\n",
				a->ttl);
			rc = EX_USAGE;
			goto out;
		}
	}
	if (a->name != NULL && !mint_label_ok(a->name)) {
		fprintf(stderr,
			"dbnl-pat mint: --name must be 1 to %d characters of A-Z a-z 0-9 space . _ -\n",
			MINT_LABEL_MAX);
		rc = EX_USAGE;
		goto out;
	}
	if (a->user != NULL && !mint_username_ok(a->user)) {
		fprintf(stderr, "dbnl-pat mint: --user '%s' is not a valid user name\n", a->user);
		rc = EX_USAGE;
		goto out;
	}
	/* Only `socket` is needed: no dbnl_conf_finish, so no LDAP keys required. */
	if (dbnl_conf_load(&c, a->config, &lg) != DBNL_OK) {
		fprintf(stderr, "dbnl-pat mint: cannot use the configuration %s\n", a->config);
		goto out;
	}
	req = json_pack("{s:i, s:s}", "v", PROTO_VERSION, "op", "mint");
	if (req == NULL || (ttl > 0 && json_object_set_new(req, "ttl", json_integer(ttl)) != 0) ||
	    (a->name != NULL && json_object_set_new(req, "name", json_string(a->name)) != 0) ||
	    (a->user != NULL && json_object_set_new(req, "user", json_string(a->user)) != 0))
		goto out;
	{
		char *s = json_dumps(req, JSON_COMPACT);

		if (s == NULL)
			goto out;
		line = malloc(strlen(s) + 2);
		if (line == NULL) {
			free(s);
			goto out;
		}
		sprintf(line, "%s\n", s);
		free(s);
	}
	for (int attempt = 0;; attempt++) {
		resp = exchange(c.socket, line);
		if (resp == NULL)
			goto out;
		code = json_string_value(json_object_get(resp, "code"));
		if (json_is_true(json_object_get(resp, "ok")) || code == NULL ||
		    strcmp(code, PROTO_E_BUSY) != 0 || attempt == BUSY_RETRIES)
			break;
		json_decref(resp);
		resp = NULL;
		usleep(200000u * (unsigned)(attempt + 1));
	}
	if (!json_is_true(json_object_get(resp, "ok"))) {
		const char *err = json_string_value(json_object_get(resp, "error"));

		code = json_string_value(json_object_get(resp, "code"));
		fprintf(stderr, "dbnl-pat mint: refused (%s): %s\n", code ? code : "?",
			err ? err : "no reason given");
		rc = code_to_exit(code ? code : "");
		goto out;
	}
	token = json_string_value(json_object_get(resp, "token"));
	if (token == NULL || strlen(token) >= MINT_TOKEN_LIMIT) {
		fprintf(stderr, "dbnl-pat mint: the mint service answered without a usable token\n");
		goto out;
	}
	if (printf("%s\n", token) < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "dbnl-pat mint: cannot write the token: %s\n", strerror(errno));
		goto out;
	}
	if (isatty(STDOUT_FILENO))
		fprintf(stderr, "dbnl-pat: paste this token at the password prompt (ssh, sudo, su); "
				"it is shown only once and cannot be recovered\n");
	rc = EX_OK;
out:
	if (resp != NULL) {
		json_t *t = json_object_get(resp, "token");

		if (json_is_string(t)) /* wipe our copy of the token */
			dbnl_wipe((void *)(uintptr_t)json_string_value(t),
				  strlen(json_string_value(t)));
	}
	json_decref(resp);
	json_decref(req);
	free(line);
	dbnl_conf_free(&c);
	return rc;
}

/* ---- verify ---------------------------------------------------------------- */

/* Read one token from stdin (no echo on a terminal). Returns malloc'd text or NULL. */
static char *read_token(int *too_long)
{
	size_t cap = DBNL_TOKEN_MAX + 2, len = 0;
	char *buf = malloc(cap + 1);
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO), echo_off = 0;
	int ch;

	*too_long = 0;
	if (buf == NULL)
		return NULL;
	if (tty) {
		fprintf(stderr, "Token: ");
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
		}
	}
	while ((ch = getchar()) != EOF && ch != '\n') {
		if (len >= cap) {
			*too_long = 1;
			continue; /* drain the line */
		}
		buf[len++] = (char)ch;
	}
	if (echo_off) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	/* Exactly the line, as a password prompt would pass it: no trimming, so
	 * verify never accepts what a login refuses. */
	buf[len] = '\0';
	return buf;
}

static void print_time(const char *label, long long t)
{
	char when[64] = "";
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	printf("%-8s %lld (%s)\n", label, t, when);
}

#define SHOW(label, s) printf("%-8s %s\n", label, (s) != NULL ? (s) : "-")

static int cmd_verify(const struct args *a)
{
	struct dbnl_conf c;
	struct dbnl_verdict v;
	struct passwd *pw;
	char *token = NULL, *groups = NULL, *user = NULL;
	int too_long = 0, rc = EX_UNAVAIL;
	enum dbnl_rc r;

	memset(&v, 0, sizeof(v));
	dbnl_conf_init(&c);
	if (a->user != NULL) {
		user = strdup(a->user);
	} else {
		pw = getpwuid(getuid());
		if (pw == NULL) {
			fprintf(stderr, "dbnl-pat verify: your uid has no user name; use --user\n");
			rc = EX_USAGE;
			goto out;
		}
		user = strdup(pw->pw_name);
	}
	if (user == NULL)
		goto out;
	if (dbnl_conf_load(&c, a->config, &lg) != DBNL_OK || dbnl_conf_finish(&c, &lg) != DBNL_OK) {
		printf("verdict  unavailable\nreason   configuration %s is not usable\n", a->config);
		goto out;
	}
	token = read_token(&too_long);
	if (token == NULL)
		goto out;
	if (too_long) {
		printf("verdict  refused (invalid token)\nuser     %s\nreason   longer than %d characters\n",
		       user, DBNL_TOKEN_MAX);
		rc = EX_REFUSED;
		goto out;
	}
	r = dbnl_verify(&c, &lg, user, token, time(NULL), &v);
	dbnl_free_secret(token);
	token = NULL;
	if (r == DBNL_OK)
		printf("verdict  accepted\n");
	else
		printf("verdict  refused (%s)\n", dbnl_rc_name(r));
	SHOW("user", user);
	SHOW("reason", v.reason);
	SHOW("alg", v.claims.alg);
	SHOW("kid", v.claims.kid);
	SHOW("iss", v.claims.iss);
	SHOW("sub", v.claims.sub);
	if (c.user_claim != NULL && strcmp(c.user_claim, "sub") != 0) {
		char label[40];

		snprintf(label, sizeof(label), "%.30s", c.user_claim);
		SHOW(label, v.claims.user);
	}
	SHOW("jti", v.claims.jti);
	SHOW("name", v.claims.name);
	if (v.claims.iat)
		print_time("iat", v.claims.iat);
	if (v.claims.has_nbf)
		print_time("nbf", v.claims.nbf);
	if (v.claims.exp)
		print_time("exp", v.claims.exp);
	SHOW("claims", v.claims.payload_json);
	SHOW("dn", v.dn);
	groups = dbnl_strlist_join(&v.groups, ' ');
	SHOW("groups", groups != NULL && groups[0] != '\0' ? groups : NULL);
	switch (r) {
	case DBNL_OK:
		rc = EX_OK;
		break;
	case DBNL_UNAVAIL:
	case DBNL_CONFIG:
	case DBNL_NOMEM:
		rc = EX_UNAVAIL;
		break;
	default:
		rc = EX_REFUSED;
		break;
	}
out:
	fflush(stdout);
	dbnl_free_secret(token);
	free(groups);
	free(user);
	dbnl_verdict_free(&v);
	dbnl_conf_free(&c);
	return rc;
}

/* ---- keygen ---------------------------------------------------------------- */

static int cmd_keygen(const struct args *a)
{
	const char *dir = a->dir != NULL ? a->dir : SYSCONFDIR "/dbnl-pat";
	char why[1024] = "", *kid = NULL;

	if (dir[0] == '\0') {
		fprintf(stderr, "dbnl-pat keygen: empty --dir\n");
		return EX_USAGE;
	}
	if (mint_keygen(dir, &kid, why, sizeof(why)) != 0) {
		fprintf(stderr, "dbnl-pat keygen: %s\n", why);
		return EX_REFUSED;
	}
	printf("%s\n", kid);
	fprintf(stderr,
		"dbnl-pat keygen: wrote %s/signing.key (0600) and %s/keys/%s.pem;\n"
		"  give signing.key to the service user (chown dbnl-pat) and copy the .pem\n"
		"  to the keys directory of every host that verifies tokens\n",
		dir, dir, kid);
	free(kid);
	return EX_OK;
}

int main(int argc, char **argv)
{
	struct args a;
	int r = parse_args(argc, argv, &a);

	if (r > 0)
		return usage(stdout, EX_OK);
	if (r < 0)
		return usage(stderr, EX_USAGE);
	if (strcmp(a.cmd, "mint") == 0)
		return cmd_mint(&a);
	if (strcmp(a.cmd, "verify") == 0)
		return cmd_verify(&a);
	return cmd_keygen(&a);
}
