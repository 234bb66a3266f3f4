/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"
int main(void) { return 2; }
