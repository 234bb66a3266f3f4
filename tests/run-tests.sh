#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Runs every test suite against a built tree and ends with "N passed, N failed".
# Usage: tests/run-tests.sh [SUITE...]   (from anywhere; B defaults to the source tree)
# Suites: unit ldap pam mint e2e asan fuzz dist (B_ASAN: a sanitizer build). The integration suites need root (they start
# slapd, create users, start sshd) and the packages scripts/deps.sh installs.
set -u
S=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-$S}
T=$(mktemp -d /tmp/dbnl-test.XXXXXX)
chmod 755 "$T"
export S B T
. "$S/tests/lib.sh"
trap 'run_cleanups; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM

suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(unit ldap pam mint e2e asan fuzz dist)
for s in "${suites[@]}"; do
	f="$S/tests/suite-$s.sh"
	if [ ! -f "$f" ]; then
		fail "suite $s exists"
		continue
	fi
	echo "=== suite: $s"
	# shellcheck disable=SC1090
	. "$f"
	run_cleanups
	unset LDAP_URI LDAPS_URI
done
summary
[ "$FAILED" -eq 0 ]
