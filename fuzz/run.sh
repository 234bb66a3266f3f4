#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Builds the libFuzzer targets with clang (ASan+UBSan) against the core sources
# and runs each for SECONDS (default 30). Usage: fuzz/run.sh OUTDIR [SECONDS]
set -eu
S=$(cd "$(dirname "$0")/.." && pwd)
O=$1; secs=${2:-30}
mkdir -p "$O"
CORE="$S/pam/util.c $S/pam/config.c $S/pam/keystore.c $S/pam/token.c $S/pam/verify.c $S/pam/ldap.c"
printf '#define SYSCONFDIR "/etc"\n#define RUNSTATEDIR "/run"\n#define HAVE_EXPLICIT_BZERO 1\n#define DBNL_DEFAULT_CA_FILE "/etc/ssl/certs/ca-certificates.crt"\n#define _GNU_SOURCE 1\n' > "$O/config.h"
for t in token config; do
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I"$O" -I"$S/pam" \
		$(pkg-config --cflags libcrypto libjwt jansson ldap) \
		-DSYSCONFDIR='"/etc"' -DRUNSTATEDIR='"/run"' \
		-o "$O/fuzz_$t" "$S/fuzz/fuzz_$t.c" $CORE \
		$(pkg-config --libs libcrypto libjwt jansson ldap) -lpam -lm
	mkdir -p "$O/corpus-$t"; cp "$S/fuzz/corpus/$t/"* "$O/corpus-$t/"
	"$O/fuzz_$t" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 "$O/corpus-$t" > "$O/fuzz_$t.log" 2>&1
done
