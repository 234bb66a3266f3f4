/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "dbnl.h"
static void test_placeholder(void **state) { (void)state; assert_int_equal(1, 1); }
int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_placeholder) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
