/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * blackhole PORT [SECONDS]: a TCP server on 127.0.0.1:PORT that accepts
 * connections and holds them open without ever reading or answering, to test
 * that LDAP lookups give up within ldap_timeout. Exits after SECONDS
 * (default 120) or on SIGTERM/SIGINT. Prints nothing but errors.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HELD 256

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static long parse_num(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	return v;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	struct sigaction act;
	struct timespec start, now;
	int held[MAX_HELD];
	int nheld = 0, one = 1, fd, rc = 1;
	long port, secs = 120;

	if (argc < 2 || argc > 3 || (port = parse_num(argv[1], 1, 65535)) < 0 ||
	    (argc == 3 && (secs = parse_num(argv[2], 1, 86400)) < 0)) {
		fprintf(stderr, "usage: blackhole PORT [SECONDS]\n");
		return 2;
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = on_signal;
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	signal(SIGPIPE, SIG_IGN);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("blackhole: socket");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 64) != 0) {
		perror("blackhole: bind/listen");
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!stop) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long left;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = secs * 1000 - ((now.tv_sec - start.tv_sec) * 1000 +
				      (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0)
			break;
		if (poll(&p, 1, left > 1000 ? 1000 : (int)left) <= 0)
			continue;
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0)
			continue;
		if (nheld < MAX_HELD)
			held[nheld++] = c; /* never read, never answered */
		else
			close(c);
	}
	rc = 0;
out:
	for (int i = 0; i < nheld; i++)
		close(held[i]);
	close(fd);
	return rc;
}
