#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Configures and builds out of tree (default _build/) with warnings as errors,
# including the test programs. Usage: scripts/build.sh [DIR]; extra configure
# arguments in CONFIGURE_FLAGS, compiler flags in CFLAGS.
set -eu
cd "$(dirname "$0")/.."
dir=${1:-_build}
[ -x configure ] || autoreconf -fi
mkdir -p "$dir"
cd "$dir"
# shellcheck disable=SC2086
[ -f Makefile ] || ../configure --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
	--runstatedir=/run --enable-werror ${CONFIGURE_FLAGS:-}
make -j"$(nproc)"
make -j"$(nproc)" check TESTS=
