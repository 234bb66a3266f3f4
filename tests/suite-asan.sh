# SPDX-License-Identifier: BSD-3-Clause
# Sanitizer pass: the unit tests and the PAM suite again, against an
# AddressSanitizer + UndefinedBehaviorSanitizer build ($B_ASAN, made by
# scripts/test). Any sanitizer report aborts the process, so the case fails.
# (valgrind runs in the normal pass; the two do not mix.)
if [ -z "${B_ASAN:-}" ] || [ ! -x "$B_ASAN/tests/pamcheck" ]; then
	fail "sanitizer build present (scripts/test builds it into _build-asan)"
else
	B_SAVED=$B
	B=$B_ASAN
	SANITIZED=1
	NAME_PREFIX="[asan] "
	export ASAN_OPTIONS="verify_asan_link_order=0:detect_leaks=0:abort_on_error=1"
	export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
	. "$S/tests/suite-unit.sh"
	. "$S/tests/suite-pam.sh"
	unset ASAN_OPTIONS UBSAN_OPTIONS SANITIZED
	NAME_PREFIX=""
	B=$B_SAVED
fi
