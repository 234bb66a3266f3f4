# SPDX-License-Identifier: BSD-3-Clause
# Test helpers shared by every suite. Sourced by tests/run-tests.sh.
#   B  build directory (binaries: $B/dbnl-pat, $B/tests/pamcheck, $B/.libs/pam_dbnl_pat.so)
#   S  source directory
#   T  scratch directory for this run (removed at exit)
# Each assertion counts one test. Never print a token: tests pass them in files/variables.

PASSED=0
FAILED=0
SKIPPED=0
FAILED_NAMES=()

NAME_PREFIX=""
pass() { PASSED=$((PASSED + 1)); printf 'PASS: %s%s\n' "$NAME_PREFIX" "$1"; }
fail() {
	FAILED=$((FAILED + 1)); FAILED_NAMES+=("$NAME_PREFIX$1")
	printf 'FAIL: %s%s\n' "$NAME_PREFIX" "$1"; shift
	[ $# -gt 0 ] && printf '      %s\n' "$@"
	return 0
}
skip() { SKIPPED=$((SKIPPED + 1)); printf 'SKIP: %s (reason: %s)\n' "$1" "$2"; }

# check_eq NAME EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected: $2" "actual:   $3"; fi
}
# check_match NAME REGEX TEXT   (grep -E on the text)
check_match() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then pass "$1"
	else fail "$1" "expected to match: $2" "text: $(printf '%s' "$3" | head -c 600)"; fi
}
# check_nomatch NAME REGEX TEXT
check_nomatch() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then
		fail "$1" "must not match: $2" "text: $(printf '%s' "$3" | head -c 600)"
	else pass "$1"; fi
}

# run_cmocka BINARY: counts each cmocka test as one test.
run_cmocka() {
	local out rc
	out=$(CMOCKA_MESSAGE_OUTPUT=STDOUT "$1" 2>&1); rc=$?
	local ok fl
	ok=$(printf '%s\n' "$out" | grep -c '^\[       OK \]')
	fl=$(printf '%s\n' "$out" | grep -E '^\[  FAILED  \] [A-Za-z_]' | grep -vc 'test(s)')
	printf '%s\n' "$out" | grep -E '^\[ *(OK|FAILED|ERROR) *\]' | sed 's/^/  /'
	PASSED=$((PASSED + ok)); FAILED=$((FAILED + fl))
	if [ "$rc" -ne 0 ] && [ "$fl" -eq 0 ]; then
		fail "$(basename "$1") exited $rc" "$(printf '%s' "$out" | tail -5)"
	fi
}

# free_port: a TCP port on 127.0.0.1 nobody listens on right now.
free_port() {
	local p
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 30000))
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "$p"; return 0; fi
	done
	return 1
}

# wait_port PORT [SECONDS]: until something listens on 127.0.0.1:PORT.
wait_port() {
	local i
	for i in $(seq 1 $(( ${2:-10} * 20 ))); do
		(exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# wait_socket PATH [PID] [SECONDS]: until a Unix socket exists at PATH (1 if
# PID, when given, dies first or SECONDS, default 5, pass).
wait_socket() {
	local i
	for i in $(seq 1 $(( ${3:-5} * 20 ))); do
		[ -S "$1" ] && return 0
		[ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null && return 1
		sleep 0.05
	done
	return 1
}

# stop_pid PID: TERM, wait up to 5 s, then KILL. Only processes a test started.
stop_pid() {
	local i
	kill "$1" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# Cleanup hooks run at exit, last registered first.
CLEANUPS=()
on_exit() { CLEANUPS=("$*" "${CLEANUPS[@]}"); }
run_cleanups() {
	local c
	for c in "${CLEANUPS[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
	CLEANUPS=()
}

summary() {
	echo
	if [ "$FAILED" -gt 0 ]; then
		printf 'failed tests:\n'; printf '  %s\n' "${FAILED_NAMES[@]}"
	fi
	if [ "$SKIPPED" -gt 0 ]; then
		printf '%d passed, %d failed, %d skipped\n' "$PASSED" "$FAILED" "$SKIPPED"
	else
		printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
	fi
}
