/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * LDAP for one login: connect (URIs in order), TLS, bind, find the user,
 * apply ldap_disabled_filter, resolve the user's current groups.
 *
 * One deadline (CLOCK_MONOTONIC + ldap_timeout) bounds everything, all URIs
 * together: before each step the network and API timeouts are set to the time
 * that remains, and every wait for an answer is bounded by it.
 *
 * Round trips after the connection is set up. Setup itself is TCP connect,
 * the TLS handshake (ldaps://) or StartTLS (ldap:// with ldap_starttls, one
 * extended operation then the handshake), and one simple bind when
 * ldap_bind_dn is set (none when anonymous). Requests that do not depend on
 * each other are pipelined: sent together, answered in one round trip.
 *
 *   memberuid  1  user search + disabled check + posixGroup search, pipelined
 *                 (ldap_nested_groups is ignored: RFC 2307 memberUid holds
 *                 user names, so groups cannot nest)
 *   memberof   1  user search (memberOf values) + disabled check, pipelined,
 *                 when the first RDN of every group DN is ldap_group_name_attr;
 *              2  otherwise (+1 pipelined batch of base reads for the names)
 *              nested: 1 + one pipelined batch of base reads per level of
 *                 groups (each group is read for its name and its memberOf);
 *                 user in inner, inner in staff: 3
 *   member     2  user search + disabled check, then (member=<user DN>)
 *              nested: 2 + one search (|(member=g1)(member=g2)...) per level
 *                 of groups (50 terms per filter, pipelined); inner/staff: 4
 *
 * Bounds: 10 levels of nesting, 1000 groups. Nested resolution is cycle-safe
 * (group DNs already seen, compared case-insensitively, are not followed
 * again). A user beyond either bound is refused (DBNL_DENIED, logged at
 * LOG_ERR): a partial group list could miss a deny_groups entry.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <poll.h>
#include <syslog.h>
#include <time.h>

#include <lber.h>
#include <ldap.h>

#include "dbnl.h"

#define LDAP_MAX_NESTING 10   /* levels of groups inside groups */
#define LDAP_MAX_PDU (4u << 20) /* bytes in one message from the server */
#define LDAP_MAX_GROUPS 1000  /* groups per user, all levels together */
#define LDAP_MAX_USER_LEN 256 /* longest user name we send to the directory */
#define LDAP_OR_CHUNK 50      /* member=... terms per nested-group search */
#define LDAP_PW_MAX 4096      /* bind password file size cap */

/* One LDAP session for one login. */
struct lctx {
	const struct dbnl_conf *c;
	const struct dbnl_logger *lg;
	LDAP *ld;
	const char *uri;          /* the URI in use (messages) */
	struct timespec deadline; /* CLOCK_MONOTONIC */
	struct ldap_conncb conncb; /* installs deadline_io on each connection */
	int fd;                   /* the connection's socket, for deadline_io */
	char *why;
	size_t whylen;
};

/* One search in a pipelined batch. */
struct lreq {
	const char *base;
	int scope;
	char *filter; /* owned */
	char **attrs;
	int sizelimit;
	int msgid;
	int err;          /* LDAP result code of the search */
	LDAPMessage *res; /* the whole answer (entries + result) */
};

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

/* Time left until the deadline; -1 when it has passed. */
static int remaining(const struct lctx *x, struct timeval *tv)
{
	struct timespec now;
	long long ns;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (long long)(x->deadline.tv_sec - now.tv_sec) * 1000000000LL +
	     (x->deadline.tv_nsec - now.tv_nsec);
	if (ns <= 0)
		return -1;
	tv->tv_sec = (time_t)(ns / 1000000000LL);
	tv->tv_usec = (suseconds_t)((ns % 1000000000LL) / 1000);
	if (tv->tv_sec == 0 && tv->tv_usec == 0)
		tv->tv_usec = 1;
	return 0;
}

static enum dbnl_rc timed_out(struct lctx *x)
{
	snprintf(x->why, x->whylen, "LDAP timed out after %llds", x->c->ldap_timeout);
	dbnl_log(x->lg, LOG_ERR, "ldap: %s (%s)", x->why, x->uri != NULL ? x->uri : "-");
	return DBNL_UNAVAIL;
}

/* Set the network and synchronous-call timeouts to the time left. */
static int arm_timeouts(struct lctx *x, struct timeval *tv)
{
	if (remaining(x, tv) != 0)
		return -1;
	if (ldap_set_option(x->ld, LDAP_OPT_NETWORK_TIMEOUT, tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(x->ld, LDAP_OPT_TIMEOUT, tv) != LDAP_OPT_SUCCESS)
		return -1;
	return 0;
}

/*
 * A Sockbuf layer just above the TCP socket: when the socket would block,
 * it waits with the time left and fails with ETIMEDOUT at the deadline. libldap's TLS
 * handshake (GnuTLS, blocking session) retries EAGAIN in a busy loop with no
 * timeout of its own: a server that accepts and then says nothing would
 * hold the login (and a CPU) forever. With this layer below it, every read
 * and write of the connection, the handshake included, ends by the deadline.
 */
static int io_wait(Sockbuf_IO_Desc *sbiod, short events)
{
	const struct lctx *x = sbiod->sbiod_pvt;
	struct pollfd p = { .fd = x->fd, .events = events };
	struct timeval tv;
	int r;

	do {
		if (remaining(x, &tv) != 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&p, 1, (int)(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000));
	} while (r < 0 && errno == EINTR);
	if (r == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	return r < 0 ? -1 : 0;
}

static int io_setup(Sockbuf_IO_Desc *sbiod, void *arg)
{
	sbiod->sbiod_pvt = arg;
	return 0;
}

static int io_remove(Sockbuf_IO_Desc *sbiod)
{
	sbiod->sbiod_pvt = NULL;
	return 0;
}

static int io_ctrl(Sockbuf_IO_Desc *sbiod, int opt, void *arg)
{
	return LBER_SBIOD_CTRL_NEXT(sbiod, opt, arg);
}

/* Try first (the layers below may hold buffered data); wait only on EAGAIN. */
static ber_slen_t io_read(Sockbuf_IO_Desc *sbiod, void *buf, ber_len_t len)
{
	for (;;) {
		ber_slen_t n = LBER_SBIOD_READ_NEXT(sbiod, buf, len);

		if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			return n;
		if (io_wait(sbiod, POLLIN) != 0)
			return -1;
	}
}

static ber_slen_t io_write(Sockbuf_IO_Desc *sbiod, void *buf, ber_len_t len)
{
	for (;;) {
		ber_slen_t n = LBER_SBIOD_WRITE_NEXT(sbiod, buf, len);

		if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			return n;
		if (io_wait(sbiod, POLLOUT) != 0)
			return -1;
	}
}

static int io_close(Sockbuf_IO_Desc *sbiod)
{
	(void)sbiod;
	return 0;
}

static Sockbuf_IO deadline_io = {
	io_setup, io_remove, io_ctrl, io_read, io_write, io_close,
};

/* Called by libldap right after the TCP connect, before any TLS handshake. */
static int on_connect(LDAP *ld, Sockbuf *sb, LDAPURLDesc *srv, struct sockaddr *addr,
		      struct ldap_conncb *cb)
{
	struct lctx *x = cb->lc_arg;
	ber_socket_t fd = -1;
	ber_len_t max_pdu = LDAP_MAX_PDU;

	(void)ld;
	(void)srv;
	(void)addr;
	if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) != 1 || fd < 0)
		return -1;
	x->fd = fd;
	/* No single LDAP message over LDAP_MAX_PDU: a hostile or broken server
	 * cannot make the login buffer millions of values before our caps apply. */
	if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_SET_MAX_INCOMING, &max_pdu) != 1)
		return -1;
	/*
	 * libldap pushes its TCP and read-ahead layers (PROVIDER) after this
	 * callback and TLS (TRANSPORT) later: one level above PROVIDER puts this
	 * layer between TLS and the socket.
	 */
	return ber_sockbuf_add_io(sb, &deadline_io, LBER_SBIOD_LEVEL_PROVIDER + 1, x) == 0 ? 0
											  : -1;
}

static void on_close(LDAP *ld, Sockbuf *sb, struct ldap_conncb *cb)
{
	(void)ld;
	(void)sb;
	(void)cb;
}

/* The server's diagnostic text, if any, for messages; "" otherwise. */
static void diag(LDAP *ld, char *buf, size_t len)
{
	char *msg = NULL;

	buf[0] = '\0';
	if (ld != NULL && ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg) == LDAP_OPT_SUCCESS &&
	    msg != NULL) {
		if (msg[0] != '\0')
			snprintf(buf, len, " (%.160s)", msg);
		ldap_memfree(msg);
	}
}

/* RFC 4515 escaping by libldap; malloc'd. */
static char *escape_value(const char *s)
{
	struct berval in, out = { 0, NULL };
	char *copy = strdup(s), *r = NULL;

	if (copy == NULL)
		return NULL;
	in.bv_val = copy;
	in.bv_len = strlen(copy);
	if (ldap_bv2escaped_filter_value(&in, &out) == 0 && out.bv_val != NULL)
		r = strdup(out.bv_val);
	if (out.bv_val != NULL)
		ber_memfree(out.bv_val);
	free(copy);
	return r;
}

/* A usable name: non-empty, no control characters. */
static int printable(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/*
 * The value of DN's first RDN when its type is ATTR. 1 and *OUT (malloc'd)
 * when found, 0 when not, -1 on no memory.
 */
static int rdn_name(const char *dn, const char *attr, char **out)
{
	LDAPDN ldn = NULL;
	size_t alen = strlen(attr);
	int found = 0;

	*out = NULL;
	if (ldap_str2dn(dn, &ldn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || ldn == NULL ||
	    ldn[0] == NULL)
		goto out;
	for (LDAPAVA **a = ldn[0]; *a != NULL; a++) {
		const struct berval *t = &(*a)->la_attr, *v = &(*a)->la_value;

		if (((*a)->la_flags & LDAP_AVA_BINARY) != 0 || t->bv_len != alen ||
		    strncasecmp(t->bv_val, attr, alen) != 0 || !printable(v->bv_val, v->bv_len))
			continue;
		*out = strndup(v->bv_val, v->bv_len);
		found = *out != NULL ? 1 : -1;
		break;
	}
out:
	if (ldn != NULL)
		ldap_dnfree(ldn);
	return found;
}

/* A group entry's name: its RDN value if of the name type, else the attribute. */
static int entry_name(LDAP *ld, LDAPMessage *e, const char *dn, const char *attr, char **out)
{
	struct berval **vals;
	int r = rdn_name(dn, attr, out);

	if (r != 0)
		return r;
	vals = ldap_get_values_len(ld, e, attr);
	if (vals == NULL)
		return 0;
	for (size_t i = 0; vals[i] != NULL; i++) {
		if (printable(vals[i]->bv_val, vals[i]->bv_len)) {
			*out = strndup(vals[i]->bv_val, vals[i]->bv_len);
			r = *out != NULL ? 1 : -1;
			break;
		}
	}
	ldap_value_free_len(vals);
	return r;
}

static void batch_free(struct lreq *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].filter);
		r[i].filter = NULL;
		if (r[i].res != NULL)
			ldap_msgfree(r[i].res);
		r[i].res = NULL;
	}
}

/*
 * Send every search, then collect every answer: one round trip. A request's
 * own result code lands in ->err; success, sizeLimitExceeded and
 * noSuchObject are left to the caller, anything else is DBNL_UNAVAIL.
 */
static enum dbnl_rc batch_run(struct lctx *x, struct lreq *r, size_t n)
{
	struct timeval tv, stv;
	char d[200];
	int err;

	for (size_t i = 0; i < n; i++) {
		r[i].msgid = -1;
		r[i].res = NULL;
		if (arm_timeouts(x, &tv) != 0)
			return timed_out(x);
		stv.tv_sec = tv.tv_sec + 1; /* server-side time limit, whole seconds */
		stv.tv_usec = 0;
		dbnl_log(x->lg, LOG_DEBUG, "ldap: search base=\"%s\" scope=%s filter=%s", r[i].base,
			 r[i].scope == LDAP_SCOPE_BASE ? "base" : "sub", r[i].filter);
		err = ldap_search_ext(x->ld, r[i].base, r[i].scope, r[i].filter, r[i].attrs, 0, NULL,
				      NULL, &stv, r[i].sizelimit, &r[i].msgid);
		if (err != LDAP_SUCCESS) {
			diag(x->ld, d, sizeof(d));
			snprintf(x->why, x->whylen, "LDAP search failed: %s", ldap_err2string(err));
			dbnl_log(x->lg, LOG_ERR, "ldap: %s: %s%s", x->uri, x->why, d);
			return DBNL_UNAVAIL;
		}
	}
	for (size_t i = 0; i < n; i++) {
		int got;

		if (remaining(x, &tv) != 0)
			return timed_out(x);
		got = ldap_result(x->ld, r[i].msgid, LDAP_MSG_ALL, &tv, &r[i].res);
		if (got == 0)
			return timed_out(x);
		if (got < 0 || r[i].res == NULL) {
			err = LDAP_OTHER;
			ldap_get_option(x->ld, LDAP_OPT_RESULT_CODE, &err);
			diag(x->ld, d, sizeof(d));
			snprintf(x->why, x->whylen, "LDAP search failed: %s", ldap_err2string(err));
			dbnl_log(x->lg, LOG_ERR, "ldap: %s: %s%s", x->uri, x->why, d);
			return DBNL_UNAVAIL;
		}
		err = ldap_parse_result(x->ld, r[i].res, &r[i].err, NULL, NULL, NULL, NULL, 0);
		if (err != LDAP_SUCCESS)
			r[i].err = err;
		if (r[i].err != LDAP_SUCCESS && r[i].err != LDAP_SIZELIMIT_EXCEEDED &&
		    r[i].err != LDAP_NO_SUCH_OBJECT) {
			snprintf(x->why, x->whylen, "LDAP search failed: %s",
				 ldap_err2string(r[i].err));
			dbnl_log(x->lg, LOG_ERR, "ldap: %s: %s (base \"%s\", filter %s)", x->uri,
				 x->why, r[i].base, r[i].filter);
			return DBNL_UNAVAIL;
		}
	}
	return DBNL_OK;
}

/* Read the service account's password: DBNL_OK, DBNL_CONFIG. */
static enum dbnl_rc read_bind_password(struct lctx *x, char **pw, size_t *len)
{
	char why[256] = "";
	enum dbnl_rc rc;

	*pw = NULL;
	*len = 0;
	if (x->c->ldap_bind_password != NULL) {
		/* dbnl-patd read the file while it was still root */
		*pw = strdup(x->c->ldap_bind_password);
		if (*pw == NULL)
			return DBNL_NOMEM;
		*len = strlen(*pw);
		return *len > 0 ? DBNL_OK : DBNL_CONFIG;
	}
	if (x->c->ldap_bind_password_file == NULL) {
		snprintf(x->why, x->whylen, "ldap_bind_dn is set but ldap_bind_password_file is not");
		dbnl_log(x->lg, LOG_ERR, "ldap: %s", x->why);
		return DBNL_CONFIG;
	}
	rc = dbnl_read_trusted(x->c->ldap_bind_password_file, x->c->trusted_owner, DBNL_F_PRIVATE,
			       LDAP_PW_MAX, pw, len, why, sizeof(why));
	if (rc != DBNL_OK) {
		snprintf(x->why, x->whylen, "bind password file: %s", why);
		dbnl_log(x->lg, LOG_ERR, "ldap: %s", x->why);
		return rc == DBNL_NOMEM ? DBNL_NOMEM : DBNL_CONFIG;
	}
	if (*len > 0 && (*pw)[*len - 1] == '\n') {
		(*pw)[--*len] = '\0';
		if (*len > 0 && (*pw)[*len - 1] == '\r')
			(*pw)[--*len] = '\0';
	}
	if (*len == 0) {
		/* An empty password is an unauthenticated bind (RFC 4513 5.1.2). */
		snprintf(x->why, x->whylen, "bind password file %s is empty",
			 x->c->ldap_bind_password_file);
		dbnl_log(x->lg, LOG_ERR, "ldap: %s", x->why);
		return DBNL_CONFIG;
	}
	return DBNL_OK;
}

/* Simple bind with the service account, bounded by the deadline. */
static enum dbnl_rc do_bind(struct lctx *x, char *pw, size_t pwlen)
{
	struct berval cred;
	struct timeval tv;
	LDAPMessage *res = NULL;
	char d[200];
	int msgid = -1, err, got;
	enum dbnl_rc rc = DBNL_UNAVAIL;

	cred.bv_val = pw;
	cred.bv_len = pwlen;
	if (arm_timeouts(x, &tv) != 0) {
		rc = timed_out(x);
		goto out;
	}
	err = ldap_sasl_bind(x->ld, x->c->ldap_bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, &msgid);
	if (err != LDAP_SUCCESS)
		goto fail;
	if (remaining(x, &tv) != 0) {
		rc = timed_out(x);
		goto out;
	}
	got = ldap_result(x->ld, msgid, LDAP_MSG_ALL, &tv, &res);
	if (got == 0) {
		rc = timed_out(x);
		goto out;
	}
	if (got < 0 || res == NULL) {
		err = LDAP_OTHER;
		ldap_get_option(x->ld, LDAP_OPT_RESULT_CODE, &err);
		goto fail;
	}
	if (ldap_parse_result(x->ld, res, &err, NULL, NULL, NULL, NULL, 0) != LDAP_SUCCESS)
		err = LDAP_OTHER;
	if (err == LDAP_SUCCESS) {
		dbnl_log(x->lg, LOG_DEBUG, "ldap: %s: bound as %s", x->uri, x->c->ldap_bind_dn);
		rc = DBNL_OK;
		goto out;
	}
fail:
	diag(x->ld, d, sizeof(d));
	snprintf(x->why, x->whylen, "LDAP bind as %.128s failed: %s", x->c->ldap_bind_dn,
		 ldap_err2string(err));
	dbnl_log(x->lg, LOG_ERR, "ldap: %s: %s%s", x->uri, x->why, d);
out:
	if (res != NULL)
		ldap_msgfree(res);
	dbnl_wipe(&cred, sizeof(cred));
	return rc;
}

/*
 * Open x->uri: options, connect, TLS, bind. DBNL_OK with x->ld set, or
 * DBNL_UNAVAIL (try the next URI while time remains) with x->ld NULL.
 */
static enum dbnl_rc open_uri(struct lctx *x, char *pw, size_t pwlen)
{
	const struct dbnl_conf *c = x->c;
	struct timeval tv;
	int v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, newctx = 0;
	int deref = LDAP_DEREF_NEVER, err;
	int ldaps = strncasecmp(x->uri, "ldaps://", 8) == 0;
	int tls = ldaps || c->ldap_starttls;
	char d[200];
	enum dbnl_rc rc = DBNL_UNAVAIL;
	const char *step = "set up";

	err = ldap_initialize(&x->ld, x->uri);
	if (err != LDAP_SUCCESS || x->ld == NULL) {
		x->ld = NULL;
		snprintf(x->why, x->whylen, "LDAP URI %.128s unusable: %s", x->uri,
			 ldap_err2string(err));
		dbnl_log(x->lg, LOG_ERR, "ldap: %s", x->why);
		return DBNL_UNAVAIL;
	}
	if (ldap_set_option(x->ld, LDAP_OPT_PROTOCOL_VERSION, &v3) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(x->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(x->ld, LDAP_OPT_RESTART, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(x->ld, LDAP_OPT_CONNECT_ASYNC, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(x->ld, LDAP_OPT_DEREF, &deref) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(x->ld, LDAP_OPT_CONNECT_CB, &x->conncb) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(x->ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) != LDAP_OPT_SUCCESS ||
	    /* A TLS context only where TLS is used (parsing the system bundle costs
	     * ~10 ms), and always with a CA file of our own: a new per-handle
	     * context has no trust anchors, and the global ones could come from
	     * the caller's environment (LDAPTLS_CACERT) under sudo. */
	    (tls && ldap_set_option(x->ld, LDAP_OPT_X_TLS_CACERTFILE,
				    c->ldap_ca_file != NULL ? c->ldap_ca_file
							    : DBNL_DEFAULT_CA_FILE) !=
			    LDAP_OPT_SUCCESS) ||
	    (tls && ldap_set_option(x->ld, LDAP_OPT_X_TLS_NEWCTX, &newctx) != LDAP_OPT_SUCCESS)) {
		err = LDAP_LOCAL_ERROR;
		step = "set options for";
		goto fail;
	}
	if (arm_timeouts(x, &tv) != 0) {
		rc = timed_out(x);
		goto out;
	}
	step = ldaps ? "connect (TLS) to" : "connect to";
	err = ldap_connect(x->ld);
	if (err != LDAP_SUCCESS)
		goto fail;
	if (!ldaps && c->ldap_starttls) {
		if (arm_timeouts(x, &tv) != 0) {
			rc = timed_out(x);
			goto out;
		}
		step = "StartTLS with";
		err = ldap_start_tls_s(x->ld, NULL, NULL);
		if (err != LDAP_SUCCESS)
			goto fail;
	}
	dbnl_log(x->lg, LOG_DEBUG, "ldap: connected to %s%s", x->uri,
		 ldaps || c->ldap_starttls ? " (TLS)" : "");
	if (pw != NULL) {
		rc = do_bind(x, pw, pwlen);
		goto out;
	}
	rc = DBNL_OK;
	goto out;
fail:
	if (remaining(x, &tv) != 0) {
		rc = timed_out(x);
		goto out;
	}
	diag(x->ld, d, sizeof(d));
	snprintf(x->why, x->whylen, "cannot %s %.128s: %s", step, x->uri, ldap_err2string(err));
	dbnl_log(x->lg, LOG_WARNING, "ldap: %s%s", x->why, d);
	rc = DBNL_UNAVAIL;
out:
	if (rc != DBNL_OK && x->ld != NULL) {
		ldap_unbind_ext_s(x->ld, NULL, NULL);
		x->ld = NULL;
	}
	return rc;
}

/* Remember group DN; 1 if new, 0 if seen, -1 no memory, -2 over the cap. */
static int visit(struct dbnl_strlist *seen, const char *dn)
{
	if (dbnl_strlist_has_ci(seen, dn))
		return 0;
	if (seen->n >= LDAP_MAX_GROUPS)
		return -2;
	return dbnl_strlist_add(seen, dn) == 0 ? 1 : -1;
}

static enum dbnl_rc add_name(struct dbnl_ldap_result *out, const char *name)
{
	if (dbnl_strlist_has_ci(&out->groups, name))
		return DBNL_OK;
	return dbnl_strlist_add(&out->groups, name) == 0 ? DBNL_OK : DBNL_NOMEM;
}

static enum dbnl_rc too_many(struct lctx *x, const char *what)
{
	snprintf(x->why, x->whylen, "group resolution stopped: %s", what);
	dbnl_log(x->lg, LOG_ERR, "ldap: %s", x->why);
	return DBNL_DENIED;
}

static enum dbnl_rc nomem(struct lctx *x)
{
	snprintf(x->why, x->whylen, "out of memory");
	return DBNL_NOMEM;
}

/*
 * Add memberOf values of entry E to LEVEL (new DNs only, remembered in SEEN).
 */
static enum dbnl_rc collect_memberof(struct lctx *x, LDAPMessage *e, struct dbnl_strlist *seen,
				     struct dbnl_strlist *level)
{
	struct berval **vals = ldap_get_values_len(x->ld, e, "memberOf");
	enum dbnl_rc rc = DBNL_OK;

	if (vals == NULL)
		return DBNL_OK;
	for (size_t i = 0; vals[i] != NULL && rc == DBNL_OK; i++) {
		char *dn;
		int r;

		if (vals[i]->bv_len == 0 || memchr(vals[i]->bv_val, '\0', vals[i]->bv_len) != NULL)
			continue;
		dn = strndup(vals[i]->bv_val, vals[i]->bv_len);
		if (dn == NULL) {
			rc = nomem(x);
			break;
		}
		r = visit(seen, dn);
		if (r == 1 && dbnl_strlist_add(level, dn) != 0)
			r = -1;
		if (r == -1)
			rc = nomem(x);
		else if (r == -2)
			rc = too_many(x, "more than 1000 groups");
		free(dn);
	}
	ldap_value_free_len(vals);
	return rc;
}

/* memberof mode: LEVEL holds the user's memberOf DNs (already in SEEN). */
static enum dbnl_rc groups_memberof(struct lctx *x, struct dbnl_strlist *seen,
				    struct dbnl_strlist *level, struct dbnl_ldap_result *out)
{
	const struct dbnl_conf *c = x->c;
	char a_memberof[] = "memberOf";
	char *attrs[] = { c->ldap_group_name_attr, a_memberof, NULL };
	struct lreq *reqs = NULL;
	struct dbnl_strlist next = { 0 };
	size_t nreq = 0;
	enum dbnl_rc rc = DBNL_OK;

	if (!c->ldap_nested_groups)
		attrs[1] = NULL; /* the name only */
	for (int depth = 0; level->n > 0; depth++) {
		/* Names from the RDN where possible; read the rest (and all, if nested). */
		reqs = calloc(level->n, sizeof(*reqs));
		if (reqs == NULL) {
			rc = nomem(x);
			goto out;
		}
		nreq = 0;
		for (size_t i = 0; i < level->n; i++) {
			char *name = NULL;
			int r = rdn_name(level->v[i], c->ldap_group_name_attr, &name);

			if (r < 0) {
				rc = nomem(x);
				goto out;
			}
			if (r == 1) {
				rc = add_name(out, name);
				free(name);
				if (rc != DBNL_OK)
					goto out;
			}
			if (r == 1 && !c->ldap_nested_groups)
				continue;
			reqs[nreq].base = level->v[i];
			reqs[nreq].scope = LDAP_SCOPE_BASE;
			reqs[nreq].filter = strdup("(objectClass=*)");
			reqs[nreq].attrs = attrs;
			reqs[nreq].sizelimit = 1;
			if (reqs[nreq++].filter == NULL) {
				rc = nomem(x);
				goto out;
			}
		}
		if (nreq == 0)
			break;
		if (depth > LDAP_MAX_NESTING) {
			rc = too_many(x, "groups nested more than 10 levels deep");
			goto out;
		}
		rc = batch_run(x, reqs, nreq);
		if (rc != DBNL_OK)
			goto out;
		for (size_t i = 0; i < nreq; i++) {
			LDAPMessage *e = ldap_first_entry(x->ld, reqs[i].res);
			char *name = NULL;
			int r;

			if (reqs[i].err == LDAP_NO_SUCH_OBJECT || e == NULL) {
				dbnl_log(x->lg, LOG_DEBUG, "ldap: group %s does not exist, skipped",
					 reqs[i].base);
				continue;
			}
			r = entry_name(x->ld, e, reqs[i].base, c->ldap_group_name_attr, &name);
			if (r < 0) {
				rc = nomem(x);
				goto out;
			}
			if (r == 0)
				dbnl_log(x->lg, LOG_DEBUG, "ldap: group %s has no usable %s",
					 reqs[i].base, c->ldap_group_name_attr);
			else
				rc = add_name(out, name);
			free(name);
			if (rc == DBNL_OK && c->ldap_nested_groups)
				rc = collect_memberof(x, e, seen, &next);
			if (rc != DBNL_OK)
				goto out;
		}
		batch_free(reqs, nreq);
		free(reqs);
		reqs = NULL;
		nreq = 0;
		dbnl_strlist_free(level);
		*level = next;
		next.v = NULL;
		next.n = 0;
	}
out:
	if (reqs != NULL) {
		batch_free(reqs, nreq);
		free(reqs);
	}
	dbnl_strlist_free(&next);
	return rc;
}

/*
 * Take the group entries of answered searches: names into OUT, new DNs into
 * NEXT (when non-NULL) and SEEN.
 */
static enum dbnl_rc take_groups(struct lctx *x, struct lreq *reqs, size_t n,
				struct dbnl_strlist *seen, struct dbnl_strlist *next,
				struct dbnl_ldap_result *out)
{
	enum dbnl_rc rc = DBNL_OK;

	for (size_t i = 0; i < n; i++) {
		if (reqs[i].err == LDAP_NO_SUCH_OBJECT) {
			snprintf(x->why, x->whylen, "group base \"%.128s\" does not exist",
				 reqs[i].base);
			dbnl_log(x->lg, LOG_ERR, "ldap: %s", x->why);
			return DBNL_UNAVAIL;
		}
		if (reqs[i].err == LDAP_SIZELIMIT_EXCEEDED)
			return too_many(x, "the group search hit a size limit");
		for (LDAPMessage *e = ldap_first_entry(x->ld, reqs[i].res); e != NULL;
		     e = ldap_next_entry(x->ld, e)) {
			char *dn = ldap_get_dn(x->ld, e), *name = NULL;
			int r;

			if (dn == NULL)
				return nomem(x);
			r = visit(seen, dn);
			if (r == 1) {
				r = entry_name(x->ld, e, dn, x->c->ldap_group_name_attr, &name);
				if (r == 0)
					dbnl_log(x->lg, LOG_DEBUG, "ldap: group %s has no usable %s",
						 dn, x->c->ldap_group_name_attr);
				else if (r == 1)
					rc = add_name(out, name);
				if (rc == DBNL_OK && r >= 0 && next != NULL &&
				    dbnl_strlist_add(next, dn) != 0)
					r = -1;
			}
			free(name);
			ldap_memfree(dn);
			if (r == -1)
				return nomem(x);
			if (r == -2)
				return too_many(x, "more than 1000 groups");
			if (rc != DBNL_OK)
				return rc;
		}
	}
	return rc;
}

/* member mode: groups whose member is the user's DN, then groups of groups. */
static enum dbnl_rc groups_member(struct lctx *x, const char *user_dn,
				  struct dbnl_ldap_result *out)
{
	const struct dbnl_conf *c = x->c;
	const char *gbase = c->ldap_group_base != NULL ? c->ldap_group_base : c->ldap_base;
	char *attrs[] = { c->ldap_group_name_attr, NULL };
	struct dbnl_strlist seen = { 0 }, level = { 0 }, next = { 0 };
	struct lreq *reqs = NULL;
	size_t nreq = 0;
	enum dbnl_rc rc = DBNL_OK;
	char *esc = NULL;

	/* Level 0 is the user itself. */
	if (dbnl_strlist_add(&level, user_dn) != 0) {
		rc = nomem(x);
		goto out;
	}
	for (int depth = 0; level.n > 0; depth++) {
		/* Level 0 is the user, so this mode needs one search more than
		 * memberof for the same depth: both accept groups 10 levels deep. */
		if (depth > LDAP_MAX_NESTING + 1) {
			rc = too_many(x, "groups nested more than 10 levels deep");
			goto out;
		}
		nreq = (level.n + LDAP_OR_CHUNK - 1) / LDAP_OR_CHUNK;
		reqs = calloc(nreq, sizeof(*reqs));
		if (reqs == NULL) {
			rc = nomem(x);
			goto out;
		}
		for (size_t k = 0; k < nreq; k++) {
			size_t from = k * LDAP_OR_CHUNK, to = from + LDAP_OR_CHUNK;
			char *f = strdup(""), *nf;

			if (to > level.n)
				to = level.n;
			for (size_t i = from; i < to && f != NULL; i++) {
				esc = escape_value(level.v[i]);
				nf = esc != NULL ? xasprintf("%s(member=%s)", f, esc) : NULL;
				free(esc);
				esc = NULL;
				free(f);
				f = nf;
			}
			if (f != NULL && to - from > 1) {
				nf = xasprintf("(|%s)", f);
				free(f);
				f = nf;
			}
			reqs[k].base = gbase;
			reqs[k].scope = LDAP_SCOPE_SUBTREE;
			reqs[k].filter = f;
			reqs[k].attrs = attrs;
			reqs[k].sizelimit = LDAP_MAX_GROUPS + 1;
			if (f == NULL) {
				rc = nomem(x);
				goto out;
			}
		}
		rc = batch_run(x, reqs, nreq);
		if (rc == DBNL_OK)
			rc = take_groups(x, reqs, nreq, &seen, c->ldap_nested_groups ? &next : NULL,
					 out);
		if (rc != DBNL_OK)
			goto out;
		batch_free(reqs, nreq);
		free(reqs);
		reqs = NULL;
		nreq = 0;
		dbnl_strlist_free(&level);
		level = next;
		next.v = NULL;
		next.n = 0;
	}
out:
	if (reqs != NULL) {
		batch_free(reqs, nreq);
		free(reqs);
	}
	dbnl_strlist_free(&seen);
	dbnl_strlist_free(&level);
	dbnl_strlist_free(&next);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Find the user, check the disabled filter, resolve groups. */
/* Does entry E carry USER, byte for byte, in ldap_user_attr? */
static int name_matches(struct lctx *x, LDAPMessage *e, const char *user)
{
	struct berval **vals = ldap_get_values_len(x->ld, e, x->c->ldap_user_attr);
	size_t ulen = strlen(user);
	int found = 0;

	for (size_t i = 0; vals != NULL && vals[i] != NULL; i++)
		if (vals[i]->bv_len == ulen && memcmp(vals[i]->bv_val, user, ulen) == 0)
			found = 1;
	ldap_value_free_len(vals);
	return found;
}

static enum dbnl_rc lookup(struct lctx *x, const char *user, struct dbnl_ldap_result *out)
{
	const struct dbnl_conf *c = x->c;
	const char *gbase = c->ldap_group_base != NULL ? c->ldap_group_base : c->ldap_base;
	const char *uf = c->ldap_user_filter != NULL ? c->ldap_user_filter : "";
	char a_none[] = "1.1", a_memberof[] = "memberOf", a_posix[] = "posixGroup";
	char *uattrs[] = { c->ldap_user_attr,
			   c->ldap_group_mode == DBNL_GROUPS_MEMBEROF ? a_memberof : NULL, NULL };
	char *none[] = { a_none, NULL };
	char *gattrs[] = { c->ldap_group_name_attr, NULL };
	struct lreq reqs[3];
	struct dbnl_strlist seen = { 0 }, level = { 0 };
	size_t nreq = 0, ri_dis = 0, ri_grp = 0;
	char *esc = NULL, *dn = NULL;
	LDAPMessage *e;
	int count;
	enum dbnl_rc rc = DBNL_OK;

	memset(reqs, 0, sizeof(reqs));
	esc = escape_value(user);
	if (esc == NULL) {
		rc = nomem(x);
		goto out;
	}
	/* The user; sizelimit 2 tells "one" from "ambiguous". */
	reqs[nreq].base = c->ldap_base;
	reqs[nreq].scope = LDAP_SCOPE_SUBTREE;
	reqs[nreq].filter = uf[0] != '\0' ? xasprintf("(&%s(%s=%s))", uf, c->ldap_user_attr, esc)
					  : xasprintf("(%s=%s)", c->ldap_user_attr, esc);
	reqs[nreq].attrs = uattrs;
	reqs[nreq++].sizelimit = 2;
	/* The same entry, if it also matches the disabled filter. */
	if (c->ldap_disabled_filter != NULL) {
		ri_dis = nreq;
		reqs[nreq].base = c->ldap_base;
		reqs[nreq].scope = LDAP_SCOPE_SUBTREE;
		reqs[nreq].filter = xasprintf("(&%s(%s=%s)%s)", uf, c->ldap_user_attr, esc,
					      c->ldap_disabled_filter);
		reqs[nreq].attrs = none;
		reqs[nreq++].sizelimit = 2;
	}
	/* memberUid holds user names: no need to wait for the user's DN. */
	if (c->ldap_group_mode == DBNL_GROUPS_MEMBERUID) {
		ri_grp = nreq;
		reqs[nreq].base = gbase;
		reqs[nreq].scope = LDAP_SCOPE_SUBTREE;
		reqs[nreq].filter = xasprintf("(&(objectClass=%s)(memberUid=%s))", a_posix, esc);
		reqs[nreq].attrs = gattrs;
		reqs[nreq++].sizelimit = LDAP_MAX_GROUPS + 1;
	}
	for (size_t i = 0; i < nreq; i++) {
		if (reqs[i].filter == NULL) {
			rc = nomem(x);
			goto out;
		}
	}
	rc = batch_run(x, reqs, nreq);
	if (rc != DBNL_OK)
		goto out;

	if (reqs[0].err == LDAP_NO_SUCH_OBJECT) {
		snprintf(x->why, x->whylen, "search base \"%.128s\" does not exist", c->ldap_base);
		dbnl_log(x->lg, LOG_ERR, "ldap: %s", x->why);
		rc = DBNL_UNAVAIL;
		goto out;
	}
	count = ldap_count_entries(x->ld, reqs[0].res);
	if (count == 0) {
		snprintf(x->why, x->whylen, "user %.64s not found in LDAP", user);
		rc = DBNL_USER_UNKNOWN;
		goto out;
	}
	if (count > 1 || reqs[0].err == LDAP_SIZELIMIT_EXCEEDED) {
		snprintf(x->why, x->whylen, "user %.64s is ambiguous: more than one LDAP entry",
			 user);
		dbnl_log(x->lg, LOG_ERR, "ldap: %s", x->why);
		rc = DBNL_DENIED;
		goto out;
	}
	e = ldap_first_entry(x->ld, reqs[0].res);
	dn = e != NULL ? ldap_get_dn(x->ld, e) : NULL;
	if (dn == NULL) {
		rc = nomem(x);
		goto out;
	}
	out->dn = strdup(dn);
	if (out->dn == NULL) {
		rc = nomem(x);
		goto out;
	}
	/*
	 * The directory matched case-insensitively (uid is caseIgnoreMatch); the
	 * PAM user must be the entry's name exactly, or "ALICE" would log in
	 * with alice's groups.
	 */
	if (!name_matches(x, e, user)) {
		snprintf(x->why, x->whylen, "user %.64s not found in LDAP (entry %.128s has another %s)",
			 user, dn, c->ldap_user_attr);
		rc = DBNL_USER_UNKNOWN;
		goto out;
	}
	dbnl_log(x->lg, LOG_DEBUG, "ldap: user %s is %s", user, dn);
	if (c->ldap_disabled_filter != NULL && ldap_count_entries(x->ld, reqs[ri_dis].res) > 0) {
		snprintf(x->why, x->whylen, "account disabled");
		rc = DBNL_DENIED;
		goto out;
	}

	switch (c->ldap_group_mode) {
	case DBNL_GROUPS_MEMBEROF:
		rc = collect_memberof(x, e, &seen, &level);
		if (rc == DBNL_OK)
			rc = groups_memberof(x, &seen, &level, out);
		break;
	case DBNL_GROUPS_MEMBER:
		rc = groups_member(x, dn, out);
		break;
	case DBNL_GROUPS_MEMBERUID:
		rc = take_groups(x, &reqs[ri_grp], 1, &seen, NULL, out);
		break;
	default:
		snprintf(x->why, x->whylen, "unknown ldap_group_mode");
		rc = DBNL_CONFIG;
		break;
	}
	if (rc != DBNL_OK)
		goto out;
	if (out->groups.n > 1)
		qsort(out->groups.v, out->groups.n, sizeof(out->groups.v[0]), cmp_str);
	dbnl_log(x->lg, LOG_DEBUG, "ldap: user %s: %zu group(s)", user, out->groups.n);
out:
	batch_free(reqs, nreq);
	if (dn != NULL)
		ldap_memfree(dn);
	free(esc);
	dbnl_strlist_free(&seen);
	dbnl_strlist_free(&level);
	return rc;
}

enum dbnl_rc dbnl_ldap_lookup(const struct dbnl_conf *c, const struct dbnl_logger *lg,
			      const char *user, struct dbnl_ldap_result *out, char *why,
			      size_t whylen)
{
	struct lctx x = { .c = c, .lg = lg, .why = why, .whylen = whylen };

	x.conncb.lc_add = on_connect;
	x.conncb.lc_del = on_close;
	x.conncb.lc_arg = &x;
	char *pw = NULL;
	size_t pwlen = 0, ulen;
	enum dbnl_rc rc = DBNL_UNAVAIL;

	out->dn = NULL;
	out->groups.v = NULL;
	out->groups.n = 0;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &x.deadline);
	x.deadline.tv_sec += (time_t)c->ldap_timeout;

	ulen = user != NULL ? strlen(user) : 0;
	if (ulen == 0 || ulen > LDAP_MAX_USER_LEN || !printable(user, ulen)) {
		snprintf(why, whylen, "user name is empty, too long or has control characters");
		dbnl_log(lg, LOG_DEBUG, "ldap: %s", why);
		rc = DBNL_USER_UNKNOWN;
		goto out;
	}
	if (c->ldap_uri.n == 0 || c->ldap_base == NULL || c->ldap_user_attr == NULL ||
	    c->ldap_group_name_attr == NULL) {
		snprintf(why, whylen, "LDAP is not configured");
		rc = DBNL_CONFIG;
		goto out;
	}
	if (c->ldap_bind_dn != NULL) {
		rc = read_bind_password(&x, &pw, &pwlen);
		if (rc != DBNL_OK)
			goto out;
	}
	rc = DBNL_UNAVAIL;
	for (size_t i = 0; i < c->ldap_uri.n; i++) {
		struct timeval tv;

		if (remaining(&x, &tv) != 0) {
			rc = timed_out(&x);
			break;
		}
		x.uri = c->ldap_uri.v[i];
		rc = open_uri(&x, pw, pwlen);
		if (rc == DBNL_OK || remaining(&x, &tv) != 0)
			break;
	}
	/* The password is not needed past the bind. */
	if (pw != NULL) {
		dbnl_wipe(pw, pwlen);
		free(pw);
		pw = NULL;
	}
	if (rc != DBNL_OK) {
		if (c->ldap_uri.n > 1 && rc == DBNL_UNAVAIL)
			dbnl_log(lg, LOG_ERR, "ldap: no LDAP server usable (%zu tried): %s",
				 c->ldap_uri.n, why);
		goto out;
	}
	rc = lookup(&x, user, out);
out:
	if (pw != NULL) {
		dbnl_wipe(pw, pwlen);
		free(pw);
	}
	if (x.ld != NULL)
		ldap_unbind_ext_s(x.ld, NULL, NULL);
	if (rc != DBNL_OK)
		dbnl_ldap_result_free(out);
	if (rc != DBNL_OK && why != NULL && whylen > 0 && why[0] == '\0')
		snprintf(why, whylen, "%s", dbnl_rc_name(rc));
	return rc;
}

void dbnl_ldap_result_free(struct dbnl_ldap_result *r)
{
	free(r->dn);
	r->dn = NULL;
	dbnl_strlist_free(&r->groups);
}
