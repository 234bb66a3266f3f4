#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Configures and builds into _build/ (out of tree) with warnings as errors.
set -eu
cd "$(dirname "$0")/.."
[ -x configure ] || autoreconf -fi
mkdir -p _build
cd _build
[ -f Makefile ] || ../configure --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
	--runstatedir=/run --enable-werror ${CONFIGURE_FLAGS:-}
make -j"$(nproc)"
make -j"$(nproc)" check TESTS=
