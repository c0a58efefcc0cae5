#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# Module signature enforcement in a booted ASIOS image (run as root inside it by tests/images/test-cloud-image.sh;
# TAP on standard output). The image boots with module.sig_enforce=1: a module of the running kernel, signed at
# its build, loads; the same module with its signature cut off is refused (EKEYREJECTED), and so is a copy whose
# signature no longer matches its contents.
set -u
n=0 failed=0
report() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }
check_eq() { if [ "$2" = "$3" ]; then report 0 "$1"; else report 1 "$1"; printf '#   expected: %s\n#   actual:   %s\n' "$2" "$3"; fi; }
magic='~Module signature appended~'

check_eq "module.sig_enforce=1 is on the command line" 1 "$(tr ' ' '\n' </proc/cmdline | grep -c '^module.sig_enforce=1$')"
check_eq "the kernel enforces module signatures" Y "$(cat /sys/module/module/parameters/sig_enforce 2>/dev/null)"

# a module of this kernel that is not loaded and needs no other: tried in this order
kdir=/lib/modules/$(uname -r)
mod="" file=""
for m in dummy crc-itu-t crc7 crc8 crc4 ts_bm ts_kmp; do
	f=$(modinfo -n "$m" 2>/dev/null) || continue
	[ -z "$(modinfo -F depends "$m" 2>/dev/null)" ] || continue
	grep -q "^${m//-/_} " /proc/modules && continue
	mod=$m file=$f
	break
done
if [ -z "$mod" ]; then
	report 1 "a module to test with (none of dummy, crc-itu-t, crc7, crc8, crc4, ts_bm, ts_kmp in $kdir)"
	echo "1..$n"
	exit 1
fi
echo "# module under test: $mod ($file)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; rmmod "$mod" 2>/dev/null' EXIT
case $file in
*.xz) xz -dc "$file" >"$tmp/signed.ko" ;;
*.zst) zstd -qdc "$file" >"$tmp/signed.ko" ;;
*.gz) gzip -dc "$file" >"$tmp/signed.ko" ;;
*) cp "$file" "$tmp/signed.ko" ;;
esac
# the signature's layout (scripts/sign-file): module | PKCS#7 | struct module_signature (12 bytes, its last 4 the
# PKCS#7 length, big-endian) | the magic string
size=$(stat -c %s "$tmp/signed.ko")
check_eq "the shipped module is signed (it ends with the signature's marker)" "$magic" \
	"$(tail -c 28 "$tmp/signed.ko" | tr -d '\n')"
siglen=$(python3 - "$tmp" <<'PY'
import sys
d = sys.argv[1]
m = open(d + "/signed.ko", "rb").read()
n = int.from_bytes(m[-32:-28], "big")
open(d + "/unsigned.ko", "wb").write(m[:len(m) - 28 - 12 - n])
# one byte of the module's own text changed (its licence string): the signature no longer matches
i = m.index(b"license=")
open(d + "/tampered.ko", "wb").write(m[:i] + b"L" + m[i + 1:])
print(n)
PY
)
echo "# signed $size bytes, PKCS#7 $siglen bytes, unsigned $(stat -c %s "$tmp/unsigned.ko") bytes"

err=$(insmod "$tmp/unsigned.ko" 2>&1)
rc=$?
echo "# insmod of the unsigned copy: rc $rc: $err"
report "$([ "$rc" != 0 ] && printf '%s' "$err" | grep -q 'Key was rejected by service' && echo 0 || echo 1)" \
	"the unsigned copy of $mod is refused (Key was rejected by service)"
check_eq "the kernel logged the refusal" 1 "$(dmesg | grep -c 'Loading of unsigned module is rejected' | awk '{ print ($1 > 0) }')"
err=$(insmod "$tmp/tampered.ko" 2>&1)
rc=$?
echo "# insmod of the tampered copy: rc $rc: $err"
report "$([ "$rc" != 0 ] && echo 0 || echo 1)" "the copy whose contents no longer match its signature is refused"
grep -q "^${mod//-/_} " /proc/modules && rmmod "$mod"
err=$(insmod "$tmp/signed.ko" 2>&1)
rc=$?
check_eq "the signed module loads ($err)" 0 "$rc"
check_eq "it is in /proc/modules" 1 "$(grep -c "^${mod//-/_} " /proc/modules)"
rmmod "$mod" 2>/dev/null
echo "1..$n"
[ "$failed" = 0 ]
