/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: the configuration file parser on arbitrary file contents. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dbnl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	const struct dbnl_logger lg = { .sink = DBNL_LOG_STDERR, .prog = "fuzz" };
	struct dbnl_conf c;
	enum dbnl_rc rc;
	int fd;

	if (path[0] == '\0') {
		char dir[] = "/tmp/dbnl-fuzz.XXXXXX";

		if (mkdtemp(dir) == NULL)
			abort();
		snprintf(path, sizeof(path), "%s/f.conf", dir);
	}
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	chmod(path, 0644);
	dbnl_conf_init(&c);
	rc = dbnl_conf_load(&c, path, &lg);
	if (rc == DBNL_OK)
		rc = dbnl_conf_finish(&c, &lg);
	if (rc != DBNL_OK && rc != DBNL_CONFIG)
		abort();
	/* what parsed must be consistent */
	if (rc == DBNL_OK && (c.issuer == NULL || c.ldap_uri.n == 0 || c.ldap_base == NULL ||
			      c.algorithms == 0 || c.default_ttl > c.max_ttl))
		abort();
	dbnl_conf_free(&c);
	return 0;
}
