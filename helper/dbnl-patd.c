/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dbnl-patd: the mint service. Holds the signing key, learns who calls from
 * the kernel (SO_PEERCRED) and mints a token for that user only; root may
 * name a user. One poll loop reads bounded requests with a deadline; each
 * complete request is served by a short-lived worker process (LDAP lookup,
 * policy, signing), at most MAX_WORKERS at a time. See dbnl-patd(8) and
 * doc/protocol.md.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "dbnl.h"
#include "mint.h"
#include "proto.h"

#define MAX_CONN 256       /* connections being read or waiting for a worker */
#define MAX_CONN_PER_UID 16 /* of those, per calling uid (root exempt) */
#define MAX_WORKERS 16     /* concurrent worker processes */
#define RATE_WINDOW 60     /* seconds */
#define RATE_DEFAULT 10    /* mint requests per uid per window */
#define RATE_MAX 1000
#define RATE_SLOTS 256     /* distinct uids tracked; least recently used evicted */
#define WORKER_SLACK 10    /* seconds a worker may take beyond ldap_timeout */

enum conn_state { C_FREE = 0, C_READING, C_READY };

struct request {
	long long ttl; /* 0: default_ttl */
	char name[MINT_LABEL_MAX + 1];
	char user[65]; /* "" : the caller */
};

struct conn {
	enum conn_state state;
	int fd;
	uid_t uid;               /* from SO_PEERCRED */
	pid_t pid;               /* from SO_PEERCRED, for the log */
	unsigned long long seq;  /* accept order, for fairness */
	time_t deadline;         /* monotonic seconds */
	size_t len;
	char buf[PROTO_REQUEST_MAX + 1];
	struct request req;
};

struct rate_slot {
	uid_t uid;
	int used;
	time_t last;   /* monotonic, for eviction */
	unsigned head; /* ring index of the oldest entry */
	unsigned n;
	time_t *t;     /* rate_limit entries */
};

struct daemon {
	struct dbnl_conf conf;
	struct dbnl_logger lg;
	struct mint_signer signer;
	int listen_fd;
	int sig_fd;
	int own_socket; /* we created c->socket (unlink on exit) */
	unsigned rate_limit;
	struct conn conns[MAX_CONN];
	unsigned nworkers;
	unsigned long long seq;
	struct rate_slot rate[RATE_SLOTS];
	time_t *rate_mem;
};

static time_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: dbnl-patd [-c CONFIG] [-f] [-d] [-r N]\n"
		   "  -c, --config PATH  configuration file (default %s)\n"
		   "  -f                 stay in the foreground, log to stderr\n"
		   "  -d                 debug: -f and debug messages\n"
		   "  -r N               mint requests per user per %d s (default %d)\n",
		DBNL_DEFAULT_CONFIG, RATE_WINDOW, RATE_DEFAULT);
}

/* ---- replies -------------------------------------------------------------- */

static void send_json(int fd, json_t *j)
{
	char *s, *line;
	size_t n;

	if (j == NULL)
		return;
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (s == NULL)
		return;
	n = strlen(s);
	line = malloc(n + 1);
	if (line != NULL) {
		memcpy(line, s, n);
		line[n] = '\n';
		(void)!send(fd, line, n + 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		dbnl_wipe(line, n + 1);
		free(line);
	}
	dbnl_wipe(s, n);
	free(s);
}

static void reply_error(int fd, const char *code, const char *msg)
{
	send_json(fd, json_pack("{s:i, s:b, s:s, s:s}", "v", PROTO_VERSION, "ok", 0, "code", code,
				"error", msg));
}

/* ---- rate limit --------------------------------------------------------------- */

/* 1 if UID may make one more mint request now (and records it), else 0 with *WAIT. */
static int rate_take(struct daemon *d, uid_t uid, time_t *wait)
{
	time_t now = mono_now();
	struct rate_slot *s = NULL, *lru = NULL;

	for (unsigned i = 0; i < RATE_SLOTS; i++) {
		struct rate_slot *r = &d->rate[i];

		if (r->used && r->uid == uid) {
			s = r;
			break;
		}
		if (lru == NULL || !r->used || (lru->used && r->last < lru->last))
			lru = r;
	}
	if (s == NULL) {
		s = lru;
		s->used = 1;
		s->uid = uid;
		s->head = 0;
		s->n = 0;
	}
	s->last = now;
	while (s->n > 0 && now - s->t[s->head] >= RATE_WINDOW) {
		s->head = (s->head + 1) % d->rate_limit;
		s->n--;
	}
	if (s->n >= d->rate_limit) {
		*wait = RATE_WINDOW - (now - s->t[s->head]);
		return 0;
	}
	s->t[(s->head + s->n) % d->rate_limit] = now;
	s->n++;
	return 1;
}

/* ---- connections ---------------------------------------------------------- */

static void conn_close(struct conn *cn)
{
	if (cn->fd >= 0)
		close(cn->fd);
	dbnl_wipe(cn->buf, sizeof(cn->buf));
	memset(cn, 0, sizeof(*cn));
	cn->fd = -1;
	cn->state = C_FREE;
}

static void refuse(struct daemon *d, struct conn *cn, const char *code, const char *msg)
{
	dbnl_log(&d->lg, LOG_NOTICE, "refused: uid=%u pid=%d code=%s reason=%s",
		 (unsigned)cn->uid, (int)cn->pid, code, msg);
	reply_error(cn->fd, code, msg);
	conn_close(cn);
}

/* Parse a complete request line; 0 or -1 with CODE/WHY. */
static int parse_request(const char *line, size_t len, struct request *rq, const char **code,
			 char *why, size_t whylen)
{
	json_error_t err;
	json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err), *v;
	const char *key;
	int ret = -1;

	memset(rq, 0, sizeof(*rq));
	*code = PROTO_E_BAD_REQUEST;
	if (j == NULL || !json_is_object(j)) {
		snprintf(why, whylen, "request is not a JSON object");
		goto out;
	}
	v = json_object_get(j, "v");
	if (!json_is_integer(v)) {
		snprintf(why, whylen, "request has no integer \"v\"");
		goto out;
	}
	if (json_integer_value(v) != PROTO_VERSION) {
		*code = PROTO_E_VERSION;
		snprintf(why, whylen, "protocol version %lld not supported (this server speaks %d)",
			 (long long)json_integer_value(v), PROTO_VERSION);
		goto out;
	}
	json_object_foreach(j, key, v) {
		if (strcmp(key, "v") == 0)
			continue;
		if (strcmp(key, "op") == 0) {
			if (!json_is_string(v) || strcmp(json_string_value(v), "mint") != 0) {
				snprintf(why, whylen, "unknown \"op\" (only \"mint\")");
				goto out;
			}
		} else if (strcmp(key, "ttl") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) <= 0) {
				*code = PROTO_E_BAD_TTL;
				snprintf(why, whylen, "\"ttl\" must be a positive number of seconds");
				goto out;
			}
			rq->ttl = (long long)json_integer_value(v);
		} else if (strcmp(key, "name") == 0) {
			if (!json_is_string(v) || !mint_label_ok(json_string_value(v))) {
				snprintf(why, whylen,
					 "\"name\" must be 1 to %d characters of A-Z a-z 0-9 space . _ -",
					 MINT_LABEL_MAX);
				goto out;
			}
			snprintf(rq->name, sizeof(rq->name), "%s", json_string_value(v));
		} else if (strcmp(key, "user") == 0) {
			if (!json_is_string(v) || !mint_username_ok(json_string_value(v))) {
				snprintf(why, whylen, "\"user\" is not a valid user name");
				goto out;
			}
			snprintf(rq->user, sizeof(rq->user), "%s", json_string_value(v));
		} else {
			snprintf(why, whylen, "unknown request field \"%.32s\"", key);
			goto out;
		}
	}
	if (!json_is_string(json_object_get(j, "op"))) {
		snprintf(why, whylen, "request has no \"op\"");
		goto out;
	}
	ret = 0;
out:
	json_decref(j);
	return ret;
}

static void request_complete(struct daemon *d, struct conn *cn, size_t linelen)
{
	const char *code;
	char why[256];
	time_t wait = 0;

	if (parse_request(cn->buf, linelen, &cn->req, &code, why, sizeof(why)) != 0) {
		refuse(d, cn, code, why);
		return;
	}
	if (!rate_take(d, cn->uid, &wait)) {
		snprintf(why, sizeof(why),
			 "rate limit: at most %u tokens per %d s; try again in %lld s",
			 d->rate_limit, RATE_WINDOW, (long long)wait);
		refuse(d, cn, PROTO_E_RATE_LIMITED, why);
		return;
	}
	cn->state = C_READY;
	cn->deadline = mono_now() + PROTO_REQUEST_TIMEOUT; /* to wait for a worker */
}

static void conn_read(struct daemon *d, struct conn *cn)
{
	ssize_t r;
	char *nl;

	r = recv(cn->fd, cn->buf + cn->len, PROTO_REQUEST_MAX - cn->len, MSG_DONTWAIT);
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		conn_close(cn);
		return;
	}
	if (r == 0) {
		if (cn->len == 0) {
			dbnl_log(&d->lg, LOG_DEBUG, "uid %u closed without a request",
				 (unsigned)cn->uid);
			conn_close(cn);
		} else {
			request_complete(d, cn, cn->len); /* EOF ends the line too */
		}
		return;
	}
	nl = memchr(cn->buf + cn->len, '\n', (size_t)r);
	cn->len += (size_t)r;
	if (nl != NULL) {
		request_complete(d, cn, (size_t)(nl - cn->buf));
		return;
	}
	if (cn->len >= PROTO_REQUEST_MAX) {
		char why[96];

		snprintf(why, sizeof(why), "request longer than %d bytes", PROTO_REQUEST_MAX);
		refuse(d, cn, PROTO_E_BAD_REQUEST, why);
	}
}

static void accept_all(struct daemon *d)
{
	for (;;) {
		struct ucred cred;
		socklen_t clen = sizeof(cred);
		struct conn *cn = NULL;
		int fd = accept4(d->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return; /* EAGAIN, or EMFILE & co: try again next round */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 ||
		    clen != sizeof(cred)) {
			dbnl_log(&d->lg, LOG_ERR, "SO_PEERCRED: %s", strerror(errno));
			close(fd);
			continue;
		}
		unsigned same = 0;

		for (unsigned i = 0; i < MAX_CONN; i++) {
			if (d->conns[i].state == C_FREE) {
				if (cn == NULL)
					cn = &d->conns[i];
			} else if (d->conns[i].uid == cred.uid) {
				same++;
			}
		}
		if (cn == NULL || (cred.uid != 0 && same >= MAX_CONN_PER_UID)) {
			dbnl_log(&d->lg, LOG_DEBUG, "busy: refusing uid %u", (unsigned)cred.uid);
			reply_error(fd, PROTO_E_BUSY, "too many connections, try again");
			close(fd);
			continue;
		}
		memset(cn, 0, sizeof(*cn));
		cn->state = C_READING;
		cn->fd = fd;
		cn->uid = cred.uid;
		cn->pid = cred.pid;
		cn->seq = d->seq++;
		cn->deadline = mono_now() + PROTO_REQUEST_TIMEOUT;
	}
}

/* ---- the worker: one request, in its own process -------------------------- */

struct outcome {
	const char *code; /* NULL: minted */
	char why[256];
};

static void worker_audit(struct daemon *d, const struct conn *cn, const char *caller,
			 const char *target, const struct outcome *o, const char *jti,
			 long long exp)
{
	const char *name = cn->req.name[0] ? cn->req.name : "-";

	if (o->code == NULL)
		dbnl_log(&d->lg, LOG_NOTICE,
			 "minted: uid=%u caller=%s user=%s jti=%s exp=%lld name=\"%s\"",
			 (unsigned)cn->uid, caller, target, jti, exp, name);
	else
		dbnl_log(&d->lg, LOG_NOTICE,
			 "refused: uid=%u caller=%s user=%s code=%s name=\"%s\" reason=%s",
			 (unsigned)cn->uid, caller, target, o->code, name, o->why);
}

static void worker(struct daemon *d, struct conn *cn)
{
	const struct dbnl_conf *c = &d->conf;
	struct outcome o = { 0 };
	struct passwd pw, *pwp = NULL;
	char pwbuf[4096], caller[65] = "?", jti[MINT_JTI_LEN] = "-";
	const char *target;
	struct dbnl_ldap_result lr = { 0 };
	struct mint_req mr;
	char *token = NULL;
	long long ttl, exp = 0;
	enum dbnl_rc rc;
	struct timeval tv = { 5, 0 };

	alarm((unsigned)(c->ldap_timeout + WORKER_SLACK)); /* the worker's own deadline */
	if (getpwuid_r(cn->uid, &pw, pwbuf, sizeof(pwbuf), &pwp) != 0 || pwp == NULL) {
		o.code = PROTO_E_UNKNOWN_USER;
		snprintf(o.why, sizeof(o.why), "uid %u has no user name", (unsigned)cn->uid);
		target = "?";
		goto done;
	}
	/* A name that does not fit, or that the mint would not accept, is refused:
	 * a truncated name would be somebody else's. */
	if (strlen(pw.pw_name) >= sizeof(caller) || !mint_username_ok(pw.pw_name)) {
		o.code = PROTO_E_UNKNOWN_USER;
		snprintf(o.why, sizeof(o.why), "uid %u has a user name the mint does not accept",
			 (unsigned)cn->uid);
		target = "?";
		goto done;
	}
	snprintf(caller, sizeof(caller), "%s", pw.pw_name);
	target = cn->req.user[0] ? cn->req.user : caller;
	if (cn->req.user[0] && strcmp(cn->req.user, caller) != 0) {
		if (cn->uid != 0) {
			o.code = PROTO_E_DENIED;
			snprintf(o.why, sizeof(o.why), "only root may mint a token for another user");
			goto done;
		}
		dbnl_log(&d->lg, LOG_NOTICE, "root (pid %d) asks for a token for %s", (int)cn->pid,
			 target);
	}
	ttl = cn->req.ttl ? cn->req.ttl : c->default_ttl;
	if (ttl > c->max_ttl) {
		o.code = PROTO_E_BAD_TTL;
		snprintf(o.why, sizeof(o.why), "ttl %llds is longer than max_ttl %llds", ttl,
			 c->max_ttl);
		goto done;
	}
	rc = dbnl_ldap_lookup(c, &d->lg, target, &lr, o.why, sizeof(o.why));
	switch (rc) {
	case DBNL_OK:
		break;
	case DBNL_USER_UNKNOWN:
		o.code = PROTO_E_UNKNOWN_USER;
		snprintf(o.why, sizeof(o.why), "user %s is not in the directory", target);
		goto done;
	case DBNL_DENIED:
		o.code = PROTO_E_DENIED;
		goto done;
	default:
		o.code = PROTO_E_UNAVAILABLE;
		if (o.why[0] == '\0')
			snprintf(o.why, sizeof(o.why), "directory %s", dbnl_rc_name(rc));
		goto done;
	}
	rc = dbnl_policy_check(&c->mint_groups, c->mint_groups_set || c->allow_groups_set,
			       &c->deny_groups, &lr.groups, o.why, sizeof(o.why));
	if (rc != DBNL_OK) {
		char tmp[sizeof(o.why)];

		snprintf(tmp, sizeof(tmp), "%s", o.why);
		snprintf(o.why, sizeof(o.why), "may not mint: %s", tmp);
		o.code = PROTO_E_DENIED;
		goto done;
	}
	mr.iss = c->issuer;
	mr.aud = c->audience;
	mr.sub = target;
	mr.user_claim = c->user_claim;
	mr.name = cn->req.name[0] ? cn->req.name : NULL;
	mr.now = time(NULL);
	mr.ttl = ttl;
	rc = mint_token(&d->signer, &mr, &token, jti, o.why, sizeof(o.why));
	if (rc == DBNL_INVALID) {
		o.code = PROTO_E_TOO_LONG;
		goto done;
	} else if (rc != DBNL_OK) {
		o.code = PROTO_E_INTERNAL;
		goto done;
	}
	exp = (long long)mr.now + ttl;
done:
	worker_audit(d, cn, caller, target, &o, jti, exp);
	/* Blocking send with a deadline: the reply is small. */
	fcntl(cn->fd, F_SETFL, fcntl(cn->fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(cn->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (o.code == NULL)
		send_json(cn->fd, json_pack("{s:i, s:b, s:s, s:s, s:I, s:s}", "v", PROTO_VERSION,
					    "ok", 1, "token", token, "jti", jti, "exp",
					    (json_int_t)exp, "user", target));
	else
		reply_error(cn->fd, o.code, o.why);
	dbnl_free_secret(token);
	dbnl_ldap_result_free(&lr);
	dbnl_wipe(pwbuf, sizeof(pwbuf));
}

static void start_workers(struct daemon *d)
{
	while (d->nworkers < MAX_WORKERS) {
		struct conn *next = NULL;
		pid_t pid;

		for (unsigned i = 0; i < MAX_CONN; i++) {
			struct conn *cn = &d->conns[i];

			if (cn->state == C_READY && (next == NULL || cn->seq < next->seq))
				next = cn;
		}
		if (next == NULL)
			return;
		pid = fork();
		if (pid < 0) {
			refuse(d, next, PROTO_E_BUSY, "cannot start a worker, try again");
			continue;
		}
		if (pid == 0) {
			sigset_t none;

			close(d->listen_fd);
			close(d->sig_fd);
			for (unsigned i = 0; i < MAX_CONN; i++)
				if (&d->conns[i] != next && d->conns[i].fd >= 0)
					close(d->conns[i].fd);
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			signal(SIGHUP, SIG_DFL);
			signal(SIGCHLD, SIG_DFL);
			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
			worker(d, next);
			mint_signer_free(&d->signer);
			_exit(0);
		}
		d->nworkers++;
		close(next->fd);
		next->fd = -1;
		conn_close(next);
	}
}

/* ---- start-up ------------------------------------------------------------ */

static int startup_fail(struct daemon *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int startup_fail(struct daemon *d, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dbnl_log(&d->lg, LOG_ERR, "refusing to start: %s", msg);
	if (d->lg.sink == DBNL_LOG_SYSLOG) /* and on the terminal that started us */
		fprintf(stderr, "dbnl-patd: refusing to start: %s\n", msg);
	return -1;
}

/* Does systemd hand us exactly one socket (LISTEN_PID is us, LISTEN_FDS is 1)?
 * One strict parse, used both to spare fd 3 at start-up and to take it. */
static int activation_offered(void)
{
	const char *pid_s = getenv("LISTEN_PID"), *fds_s = getenv("LISTEN_FDS");
	char *end;
	long pid;

	if (pid_s == NULL || fds_s == NULL || pid_s[0] == '\0')
		return 0;
	errno = 0;
	pid = strtol(pid_s, &end, 10);
	if (errno != 0 || *end != '\0' || pid != (long)getpid())
		return 0;
	return strcmp(fds_s, "1") == 0 ? 1 : -1;
}

/* systemd socket activation: exactly one listening Unix stream socket at fd 3. */
static int activated_socket(struct daemon *d)
{
	int offered = activation_offered();
	int type = 0, fam = 0, listening = 0;
	socklen_t l = sizeof(int);

	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (offered == 0)
		return -1;
	if (offered < 0)
		return -2;
	if (getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &l) != 0 || type != SOCK_STREAM ||
	    getsockopt(3, SOL_SOCKET, SO_DOMAIN, &fam, &l) != 0 || fam != AF_UNIX ||
	    getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &listening, &l) != 0 || !listening)
		return -2;
	fcntl(3, F_SETFD, FD_CLOEXEC);
	fcntl(3, F_SETFL, fcntl(3, F_GETFL) | O_NONBLOCK);
	(void)d;
	return 3;
}

static int make_socket(struct daemon *d)
{
	const char *path = d->conf.socket;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	char dir[PATH_MAX], *slash;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return startup_fail(d, "socket path %s is too long", path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) == 0) {
			/* umask(077) is in force: every user must reach the socket */
			if (chmod(dir, 0755) != 0)
				return startup_fail(d, "cannot chmod %s: %s", dir, strerror(errno));
		} else if (errno != EEXIST) {
			return startup_fail(d, "cannot create %s: %s", dir, strerror(errno));
		}
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode))
			return startup_fail(d, "%s exists and is not a socket", path);
		/* A live daemon answers a connect: do not steal its socket. */
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			return startup_fail(d, "another dbnl-patd is listening on %s", path);
		}
		if (probe >= 0)
			close(probe);
		unlink(path); /* stale, from an earlier run */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return startup_fail(d, "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		startup_fail(d, "cannot bind %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	d->own_socket = 1;
	if (chmod(path, 0666) != 0 || listen(fd, 128) != 0) {
		startup_fail(d, "cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int drop_root(struct daemon *d, uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
		return startup_fail(d, "cannot become %s: %s", d->conf.service_user,
				    strerror(errno));
	if (setuid(0) == 0 || seteuid(0) == 0 || getuid() != uid || geteuid() != uid ||
	    getegid() != gid)
		return startup_fail(d, "could regain root after switching to %s",
				    d->conf.service_user);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* a credential change resets it */
	return 0;
}

static void daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		exit(1);
	if (pid > 0)
		_exit(0);
	setsid();
	pid = fork();
	if (pid < 0)
		exit(1);
	if (pid > 0)
		_exit(0);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

/*
 * The bind password, read once at start-up and kept only in memory (wiped
 * at exit): the lookups run as service_user, which cannot read a root file.
 * Started as root: ldap_bind_password_file (root's, no group/other bits).
 * Started by systemd as service_user: the credential "ldap-bind-password"
 * (LoadCredential=), which systemd copies from the root-only file into a
 * directory only this service can read.
 */
#define BIND_CREDENTIAL "ldap-bind-password"
static int preload_bind_password(struct daemon *d, int as_root)
{
	struct dbnl_conf *c = &d->conf;
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	char why[512] = "", path[4096], *pw = NULL;
	size_t len = 0;

	if (c->ldap_bind_dn == NULL || c->ldap_bind_password_file == NULL)
		return 0;
	if (as_root) {
		snprintf(path, sizeof(path), "%s", c->ldap_bind_password_file);
	} else if (creds != NULL && creds[0] == '/' &&
		   (size_t)snprintf(path, sizeof(path), "%s/%s", creds, BIND_CREDENTIAL) <
			   sizeof(path)) {
		/* systemd made it: owned by us, 0400 */
	} else {
		return startup_fail(d,
				    "ldap_bind_dn needs the bind password: start dbnl-patd as root, or "
				    "give it LoadCredential=%s:%s (see dbnl-patd(8))",
				    BIND_CREDENTIAL, c->ldap_bind_password_file);
	}
	if (dbnl_read_trusted(path, as_root ? 0 : geteuid(), DBNL_F_PRIVATE, 4096, &pw, &len, why,
			      sizeof(why)) != DBNL_OK)
		return startup_fail(d, "bind password: %s", why);
	while (len > 0 && (pw[len - 1] == '\n' || pw[len - 1] == '\r'))
		pw[--len] = '\0';
	if (len == 0) {
		dbnl_free_secret(pw);
		return startup_fail(d, "bind password file %s is empty", path);
	}
	c->ldap_bind_password = pw;
	return 0;
}

static int start(struct daemon *d, const char *config, int foreground)
{
	struct dbnl_conf *c = &d->conf;
	char why[1024] = "", pwbuf[4096], owner_name[128];
	struct passwd pw, *pwp = NULL;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int as_root = geteuid() == 0;
	struct rlimit nocore = { 0, 0 };
	sigset_t set;

	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	setrlimit(RLIMIT_CORE, &nocore);
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	if (dbnl_conf_load(c, config, &d->lg) != DBNL_OK || dbnl_conf_finish(c, &d->lg) != DBNL_OK)
		return startup_fail(d, "configuration %s is not usable", config);
	if (as_root) {
		if (getpwnam_r(c->service_user, &pw, pwbuf, sizeof(pwbuf), &pwp) != 0 ||
		    pwp == NULL)
			return startup_fail(d, "service_user '%s' does not exist", c->service_user);
		if (pw.pw_uid == 0)
			return startup_fail(d, "service_user '%s' is root", c->service_user);
		uid = pw.pw_uid;
		gid = pw.pw_gid;
		snprintf(owner_name, sizeof(owner_name), "%s", c->service_user);
	} else if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &pwp) == 0 && pwp != NULL) {
		snprintf(owner_name, sizeof(owner_name), "%s", pw.pw_name);
	} else {
		snprintf(owner_name, sizeof(owner_name), "uid %u", (unsigned)uid);
	}
	if (mint_signer_load(&d->signer, c->signing_key, uid, owner_name, why, sizeof(why)) !=
	    DBNL_OK)
		return startup_fail(d, "%s", why);
	d->listen_fd = activated_socket(d);
	if (d->listen_fd == -2)
		return startup_fail(d, "socket activation: expected one listening Unix stream socket");
	if (d->listen_fd < 0)
		d->listen_fd = make_socket(d);
	if (d->listen_fd < 0)
		return -1;
	if (preload_bind_password(d, as_root) != 0)
		return -1;
	if (as_root && drop_root(d, uid, gid) != 0)
		return -1;
	d->rate_mem = calloc((size_t)RATE_SLOTS * d->rate_limit, sizeof(time_t));
	if (d->rate_mem == NULL)
		return startup_fail(d, "out of memory");
	for (unsigned i = 0; i < RATE_SLOTS; i++)
		d->rate[i].t = d->rate_mem + (size_t)i * d->rate_limit;
	for (unsigned i = 0; i < MAX_CONN; i++)
		d->conns[i].fd = -1;
	if (!foreground)
		daemonize();
	if (chdir("/") != 0)
		return startup_fail(d, "chdir /: %s", strerror(errno));
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	d->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->sig_fd < 0)
		return startup_fail(d, "signalfd: %s", strerror(errno));
	dbnl_log(&d->lg, LOG_INFO, "started: uid %u, key id %s, socket %s%s, %u mints per %d s",
		 (unsigned)geteuid(), d->signer.kid, c->socket,
		 d->own_socket ? "" : " (systemd)", d->rate_limit, RATE_WINDOW);
	return 0;
}

/* ---- the loop ------------------------------------------------------------------ */

/* Returns 1 to go on, 0 on SIGTERM/SIGINT. */
static int handle_signals(struct daemon *d)
{
	struct signalfd_siginfo si;
	int go_on = 1;

	while (read(d->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			dbnl_log(&d->lg, LOG_INFO, "signal %u: stopping", si.ssi_signo);
			go_on = 0;
		}
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		if (d->nworkers > 0)
			d->nworkers--;
	return go_on;
}

static void run(struct daemon *d)
{
	struct pollfd pf[MAX_CONN + 2];
	struct conn *who[MAX_CONN + 2];

	for (;;) {
		time_t now = mono_now(), next = 0;
		nfds_t n = 0;
		int timeout = -1;

		/* Deadlines first: a silent client gets a reply and the slot back. */
		for (unsigned i = 0; i < MAX_CONN; i++) {
			struct conn *cn = &d->conns[i];

			if (cn->state == C_FREE)
				continue;
			if (now >= cn->deadline) {
				if (cn->state == C_READING)
					refuse(d, cn, PROTO_E_BAD_REQUEST,
					       "timed out waiting for the request");
				else
					refuse(d, cn, PROTO_E_BUSY, "server busy, try again");
				continue;
			}
			if (next == 0 || cn->deadline < next)
				next = cn->deadline;
		}
		if (next != 0)
			timeout = (int)(next - now) * 1000 + 10;
		pf[n].fd = d->sig_fd;
		pf[n].events = POLLIN;
		who[n++] = NULL;
		pf[n].fd = d->listen_fd;
		pf[n].events = POLLIN;
		who[n++] = NULL;
		for (unsigned i = 0; i < MAX_CONN; i++) {
			if (d->conns[i].state != C_READING)
				continue;
			pf[n].fd = d->conns[i].fd;
			pf[n].events = POLLIN;
			who[n++] = &d->conns[i];
		}
		if (poll(pf, n, timeout) < 0 && errno != EINTR) {
			dbnl_log(&d->lg, LOG_ERR, "poll: %s", strerror(errno));
			return;
		}
		if ((pf[0].revents & POLLIN) && !handle_signals(d))
			return;
		for (nfds_t i = 2; i < n; i++)
			if (pf[i].revents & (POLLIN | POLLHUP | POLLERR))
				conn_read(d, who[i]);
		if (pf[1].revents & POLLIN)
			accept_all(d);
		start_workers(d);
	}
}

static void stop(struct daemon *d)
{
	for (unsigned i = 0; i < MAX_CONN; i++)
		if (d->conns[i].state != C_FREE)
			conn_close(&d->conns[i]);
	if (d->listen_fd >= 0)
		close(d->listen_fd);
	if (d->own_socket && d->conf.socket != NULL)
		unlink(d->conf.socket); /* may fail once root is gone: harmless */
	if (d->sig_fd >= 0)
		close(d->sig_fd);
	mint_signer_free(&d->signer);
	free(d->rate_mem);
	dbnl_conf_free(&d->conf);
}

int main(int argc, char **argv)
{
	static struct daemon d; /* large; zeroed */
	const char *config = DBNL_DEFAULT_CONFIG;
	int foreground = 0, debug = 0, rc;

	d.listen_fd = -1;
	d.sig_fd = -1;
	d.rate_limit = RATE_DEFAULT;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc)
			config = argv[++i];
		else if (strncmp(a, "--config=", 9) == 0)
			config = a + 9;
		else if (strcmp(a, "-f") == 0)
			foreground = 1;
		else if (strcmp(a, "-d") == 0)
			foreground = debug = 1;
		else if (strcmp(a, "-r") == 0 && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);

			if (*end != '\0' || v < 1 || v > RATE_MAX) {
				fprintf(stderr, "dbnl-patd: -r takes 1 to %d\n", RATE_MAX);
				return 2;
			}
			d.rate_limit = (unsigned)v;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	{
		/* Close what we inherited, except a socket systemd hands over at fd 3. */
		close_range(activation_offered() == 1 ? 4 : 3, ~0U, 0);
	}
	d.lg.prog = "dbnl-patd";
	d.lg.debug = debug;
	d.lg.sink = foreground ? DBNL_LOG_STDERR : DBNL_LOG_SYSLOG;
	openlog("dbnl-patd", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
	dbnl_conf_init(&d.conf);
	rc = start(&d, config, foreground);
	if (rc == 0)
		run(&d);
	stop(&d);
	closelog();
	return rc == 0 ? 0 : 1;
}
