#!/bin/sh
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# make install into a staging folder: every file where Debian expects it, programs runnable, the shipped
# configuration accepted by the programs as it is (all defaults commented out).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
O=${ASIOS_BUILD:-build}
check "make install DESTDIR=" make -C "$top" --no-print-directory -s O="$O" SANITIZE=1 DESTDIR="$dest" install
for f in usr/bin/asiosctl usr/sbin/asios-irqd usr/share/man/man1/asiosctl.1 usr/share/man/man8/asios-irqd.8 \
	lib/systemd/system/asios-irqd.service etc/asios/irqd.conf usr/sbin/asios-numad usr/share/man/man8/asios-numad.8 \
	lib/systemd/system/asios-numad.service etc/asios/numad.conf usr/sbin/asios-schedd usr/share/man/man8/asios-schedd.8 \
	lib/systemd/system/asios-schedd.service etc/asios/schedd.conf; do
	check "installs /$f" test -f "$dest/$f"
done
check "installed asiosctl runs" "$dest/usr/bin/asiosctl" --version
check "installed asios-irqd runs" "$dest/usr/sbin/asios-irqd" --version
check "the shipped irqd.conf is valid as shipped" "$dest/usr/bin/asiosctl" irq plan --config "$dest/etc/asios/irqd.conf" \
	--config-dir "$dest/etc/asios/irqd.conf.d"
check "the shipped irqd.conf sets nothing (all commented)" test -z "$(grep -v -e '^#' -e '^$' -e '^\[' "$dest/etc/asios/irqd.conf")"
check "installed asios-numad runs" "$dest/usr/sbin/asios-numad" --version
check "the shipped numad.conf is valid as shipped" "$dest/usr/bin/asiosctl" numa plan --config "$dest/etc/asios/numad.conf" \
	--config-dir "$dest/etc/asios/numad.conf.d"
check "the shipped numad.conf sets nothing (all commented)" test -z "$(grep -v -e '^#' -e '^$' -e '^\[' "$dest/etc/asios/numad.conf")"
check "installed asios-schedd runs" "$dest/usr/sbin/asios-schedd" --version
check "the shipped schedd.conf is valid as shipped" "$dest/usr/bin/asiosctl" isolate plan --config "$dest/etc/asios/schedd.conf" \
	--config-dir "$dest/etc/asios/schedd.conf.d"
check "the shipped schedd.conf sets nothing (all commented)" test -z "$(grep -v -e '^#' -e '^$' -e '^\[' "$dest/etc/asios/schedd.conf")"
done_testing
