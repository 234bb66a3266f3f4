/* SPDX-License-Identifier: BSD-3-Clause */
/* Logging, string lists, secret wiping, trusted-file opening, base64url. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <security/pam_ext.h>

#include "dbnl.h"

void dbnl_log(const struct dbnl_logger *lg, int prio, const char *fmt, ...)
{
	va_list ap;

	if (prio == LOG_DEBUG && (lg == NULL || !lg->debug))
		return;
	va_start(ap, fmt);
	if (lg != NULL && lg->sink == DBNL_LOG_PAM && lg->pamh != NULL) {
		pam_vsyslog(lg->pamh, prio, fmt, ap);
	} else if (lg != NULL && lg->sink == DBNL_LOG_SYSLOG) {
		vsyslog(LOG_AUTHPRIV | prio, fmt, ap);
	} else {
		fprintf(stderr, "%s: ", (lg != NULL && lg->prog != NULL) ? lg->prog : "dbnl-pat");
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

void dbnl_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

void dbnl_free_secret(char *s)
{
	if (s == NULL)
		return;
	dbnl_wipe(s, strlen(s));
	free(s);
}

int dbnl_strlist_add(struct dbnl_strlist *l, const char *s)
{
	char **nv;
	char *copy = strdup(s);

	if (copy == NULL)
		return -1;
	nv = realloc(l->v, (l->n + 2) * sizeof(*nv));
	if (nv == NULL) {
		free(copy);
		return -1;
	}
	l->v = nv;
	l->v[l->n++] = copy;
	l->v[l->n] = NULL;
	return 0;
}

int dbnl_strlist_has(const struct dbnl_strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

int dbnl_strlist_has_ci(const struct dbnl_strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcasecmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

void dbnl_strlist_free(struct dbnl_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

char *dbnl_strlist_join(const struct dbnl_strlist *l, char sep)
{
	size_t len = 1, off = 0;
	char *out;

	for (size_t i = 0; i < l->n; i++)
		len += strlen(l->v[i]) + 1;
	out = malloc(len);
	if (out == NULL)
		return NULL;
	out[0] = '\0';
	for (size_t i = 0; i < l->n; i++) {
		size_t k = strlen(l->v[i]);

		if (i > 0)
			out[off++] = sep;
		memcpy(out + off, l->v[i], k);
		off += k;
	}
	out[off] = '\0';
	return out;
}

int dbnl_strlist_copy(struct dbnl_strlist *dst, const struct dbnl_strlist *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (dbnl_strlist_add(dst, src->v[i]) != 0)
			return -1;
	return 0;
}

enum dbnl_rc dbnl_read_all(int fd, size_t max, char **out, size_t *len)
{
	char *buf = malloc(max + 1);
	size_t got = 0;

	*out = NULL;
	*len = 0;
	if (buf == NULL)
		return DBNL_NOMEM;
	for (;;) {
		ssize_t r = read(fd, buf + got, max + 1 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > max) {
			errno = EFBIG;
			goto fail;
		}
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return DBNL_OK;
fail:
	dbnl_wipe(buf, max + 1);
	free(buf);
	return DBNL_CONFIG;
}

static int owner_ok(uid_t file_owner, uid_t owner)
{
	return file_owner == 0 || file_owner == owner;
}

enum dbnl_rc dbnl_read_trusted(const char *path, uid_t owner, int flags, size_t max,
			       char **out, size_t *len, char *why, size_t whylen)
{
	return dbnl_read_trusted_at(AT_FDCWD, path, path, owner, flags, max, out, len, why,
				    whylen);
}

enum dbnl_rc dbnl_read_trusted_at(int dirfd, const char *name, const char *path, uid_t owner,
				  int flags, size_t max, char **out, size_t *len, char *why,
				  size_t whylen)
{
	enum dbnl_rc rc = DBNL_CONFIG;
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd;

	*out = NULL;
	if (len != NULL)
		*len = 0;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(why, whylen, "%s: cannot open: %s", path,
			 errno == ELOOP ? "is a symbolic link" : strerror(errno));
		return DBNL_CONFIG;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(why, whylen, "%s: cannot stat: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "%s: not a regular file", path);
		goto out;
	}
	if (!owner_ok(st.st_uid, owner)) {
		snprintf(why, whylen, "%s: owned by uid %u, expected root%s", path,
			 (unsigned)st.st_uid, owner != 0 ? " or the running user" : "");
		goto out;
	}
	if ((flags & DBNL_F_PRIVATE) && (st.st_mode & 077)) {
		snprintf(why, whylen, "%s: mode %04o gives access to group or other", path,
			 (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_mode & 022) {
		snprintf(why, whylen, "%s: mode %04o is writable by group or other", path,
			 (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if ((size_t)st.st_size > max) {
		snprintf(why, whylen, "%s: larger than %zu bytes", path, max);
		goto out;
	}
	rc = dbnl_read_all(fd, max, &buf, &got);
	if (rc == DBNL_NOMEM) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	if (rc != DBNL_OK) {
		if (errno == EFBIG)
			snprintf(why, whylen, "%s: larger than %zu bytes", path, max);
		else
			snprintf(why, whylen, "%s: read: %s", path, strerror(errno));
		rc = DBNL_CONFIG;
		goto out;
	}
	*out = buf;
	if (len != NULL)
		*len = got;
	rc = DBNL_OK;
out:
	close(fd);
	return rc;
}

int dbnl_open_trusted_dir(const char *path, uid_t owner, char *why, size_t whylen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		snprintf(why, whylen, "%s: cannot open directory: %s", path,
			 errno == ELOOP ? "is a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(why, whylen, "%s: not a directory", path);
		close(fd);
		return -1;
	}
	if (!owner_ok(st.st_uid, owner)) {
		snprintf(why, whylen, "%s: owned by uid %u, expected root%s", path,
			 (unsigned)st.st_uid, owner != 0 ? " or the running user" : "");
		close(fd);
		return -1;
	}
	if (st.st_mode & 022) {
		snprintf(why, whylen, "%s: mode %04o is writable by group or other", path,
			 (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	return fd;
}

int dbnl_dirs_secure(const char *dir, uid_t owner, char *why, size_t whylen)
{
	char *real = realpath(dir, NULL), *slash;
	int ret = -1;

	if (real == NULL) {
		snprintf(why, whylen, "cannot resolve directory %s: %s", dir, strerror(errno));
		return -1;
	}
	for (;;) {
		struct stat st;

		if (lstat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
			snprintf(why, whylen, "%s is not a directory", real);
			goto out;
		}
		if (!owner_ok(st.st_uid, owner)) {
			snprintf(why, whylen, "directory %s is owned by uid %u, must be root or uid %u",
				 real, (unsigned)st.st_uid, (unsigned)owner);
			goto out;
		}
		if ((st.st_mode & 022) && !(st.st_mode & S_ISVTX)) {
			snprintf(why, whylen, "directory %s is writable by group or other", real);
			goto out;
		}
		if (strcmp(real, "/") == 0)
			break;
		slash = strrchr(real, '/');
		if (slash == real)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	ret = 0;
out:
	free(real);
	return ret;
}

char *dbnl_b64url_encode(const unsigned char *in, size_t len)
{
	size_t cap = 4 * ((len + 2) / 3) + 1;
	char *out;
	int n;

	if (len > 1u << 20)
		return NULL;
	out = malloc(cap);
	if (out == NULL)
		return NULL;
	n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	if (n < 0) {
		free(out);
		return NULL;
	}
	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (int i = 0; i < n; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	return out;
}

unsigned char *dbnl_b64url_decode(const char *in, size_t inlen, size_t *outlen)
{
	char *std = NULL;
	unsigned char *out = NULL;
	char *again = NULL;
	size_t padded, pad;
	int n;

	*outlen = 0;
	if (inlen == 0 || inlen % 4 == 1 || inlen > DBNL_TOKEN_MAX * 2)
		return NULL;
	for (size_t i = 0; i < inlen; i++) {
		char ch = in[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return NULL;
	}
	pad = (4 - inlen % 4) % 4;
	padded = inlen + pad;
	std = malloc(padded + 1);
	out = malloc(padded / 4 * 3 + 1);
	if (std == NULL || out == NULL)
		goto fail;
	for (size_t i = 0; i < inlen; i++)
		std[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
	for (size_t i = inlen; i < padded; i++)
		std[i] = '=';
	std[padded] = '\0';
	n = EVP_DecodeBlock(out, (unsigned char *)std, (int)padded);
	if (n < 0 || (size_t)n < pad)
		goto fail;
	*outlen = (size_t)n - pad;
	out[*outlen] = '\0';
	/* Canonical form only: re-encoding must give back the same text. */
	again = dbnl_b64url_encode(out, *outlen);
	if (again == NULL || strlen(again) != inlen || memcmp(again, in, inlen) != 0)
		goto fail;
	free(again);
	free(std);
	return out;
fail:
	free(again);
	free(std);
	if (out != NULL)
		dbnl_wipe(out, padded / 4 * 3 + 1);
	free(out);
	*outlen = 0;
	return NULL;
}

long long dbnl_parse_duration(const char *s)
{
	unsigned long long v = 0, mult = 1;
	const char *p = s;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (unsigned long long)(*p - '0');
		if (v > 100ULL * 365 * 86400)
			return -1;
		p++;
	}
	switch (*p) {
	case '\0': break;
	case 's': mult = 1; p++; break;
	case 'm': mult = 60; p++; break;
	case 'h': mult = 3600; p++; break;
	case 'd': mult = 86400; p++; break;
	default: return -1;
	}
	if (*p != '\0')
		return -1;
	v *= mult;
	if (v > 100ULL * 365 * 86400)
		return -1;
	return (long long)v;
}
