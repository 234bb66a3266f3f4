#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Installs every package the build, the tests and the demo need (Debian 12, as root).
set -eu
PKGS="build-essential autoconf autoconf-archive automake libtool pkg-config make gcc
 libpam0g-dev libpam-modules libpam-runtime libssl-dev openssl libjwt-dev libjansson-dev
 libldap2-dev ldap-utils slapd libcmocka-dev libpam-wrapper libpamtest0-dev
 mandoc valgrind openssh-server openssh-client sshpass sudo expect libcap2-bin procps
 passwd login util-linux bsdutils iproute2 ca-certificates clang libclang-rt-14-dev perl systemd python3 python3-jwt python3-cryptography"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi
# slapd's package may start a system instance; the tests run their own.
echo "deps: all packages present"
