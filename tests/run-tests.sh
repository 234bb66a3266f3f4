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

# What the suites may add to the system, before they run (compared at the end).
system_state() {
	cut -d: -f1 /etc/passwd | sort
	echo "--"; cut -d: -f1 /etc/group | sort
	echo "--"; ls -A /etc/pam.d /etc/sudoers.d 2>/dev/null
	echo "--"; [ -d /run/sshd ] && echo /run/sshd
	echo "--"; ss -Htln 2>/dev/null | awk '{print $4}' | sort
}
system_state > "$T/state.before"

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
# Everything the suites added (users, groups, /etc/pam.d and sudoers.d files,
# /run/sshd, listeners, processes) is gone again, also after a failed test.
sleep 0.2
system_state > "$T/state.after"
check_eq "nothing the suites added to the system is left behind" "" \
	"$(diff "$T/state.before" "$T/state.after" | grep '^[<>]' | head -10 | xargs)"
check_eq "no process the suites started is still running" "" \
	"$(pgrep -af "$T" | grep -v "^$$ " | head -5 | xargs)"
summary
[ "$FAILED" -eq 0 ]
