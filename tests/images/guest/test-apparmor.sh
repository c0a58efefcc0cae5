#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# AppArmor in a booted ASIOS image (run as root inside it by tests/images/test-cloud-image.sh; TAP on standard
# output): the LSM is on, every ASIOS profile is loaded and enforced, every daemon and asiosctl run under theirs,
# the kernel denied them nothing while the image test ran, and a profile really confines: asios-irqd reading a
# configuration outside /etc/asios is refused under its profile and allowed without it.
set -u
n=0 failed=0
report() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }
check_eq() { if [ "$2" = "$3" ]; then report 0 "$1"; else report 1 "$1"; printf '#   expected: %s\n#   actual:   %s\n' "$2" "$3"; fi; }
aafs=/sys/kernel/security/apparmor

lsm=$(cat /sys/kernel/security/lsm 2>/dev/null)
echo "# LSMs: ${lsm:-none}"
case ",$lsm," in *,apparmor,*) report 0 "apparmor is an active LSM ($lsm)" ;; *) report 1 "apparmor is an active LSM (${lsm:-none})" ;; esac
check_eq "AppArmor is enabled (aa-enabled)" Yes "$(aa-enabled 2>&1)"
check_eq "apparmor.service loaded the profiles at boot" active "$(systemctl is-active apparmor.service)"

# the profiles came compiled with the image (tools/build-image, for the features recorded in
# config/images/apparmor/linux-X.Y.features): the cache of this kernel's features holds files from before this
# boot and apparmor.service wrote none during it. Only our kernels have that file; the stock one compiles at boot.
case $(uname -r) in
*-asios-*)
	feat=$(aa-features-abi -x 2>/dev/null | md5sum)
	cache=""
	for d in /var/cache/apparmor/*/; do
		[ -f "$d.features" ] && [ "$(md5sum <"$d.features")" = "$feat" ] && cache=$d
	done
	btime=$(awk '$1 == "btime" { print $2 }' /proc/stat)
	before=0 during=0
	if [ -n "$cache" ]; then
		# by their inode change time: apparmor_parser gives a cache file its profile's modification time
		before=$(find "$cache" -type f ! -name .features ! -newerct "@$btime" | wc -l)
		during=$(find "$cache" -type f ! -name .features -newerct "@$btime" | wc -l)
	fi
	echo "# AppArmor cache of this kernel's features: ${cache:-none} ($before files from the build, $during written at this boot; caches: $(find /var/cache/apparmor -mindepth 1 -maxdepth 1 -printf '%f '))"
	report "$([ -n "$cache" ] && [ "$before" -gt 0 ] && echo 0 || echo 1)" \
		"the image's AppArmor cache was compiled for this kernel's features (else record them: docs/images.md)"
	check_eq "apparmor.service compiled no profile at boot (it loaded the image's cache)" 0 "$during"
	awk -v a="$(systemctl show -p InactiveExitTimestampMonotonic --value apparmor.service)" \
		-v b="$(systemctl show -p ActiveEnterTimestampMonotonic --value apparmor.service)" \
		'BEGIN { if (a > 0 && b > a) printf "# apparmor.service took %.2f s at this boot\n", (b - a) / 1e6 }'
	;;
*) echo "# $(uname -r) is not our kernel: its profiles are compiled at the first boot" ;;
esac

# every ASIOS profile loaded, in enforce mode
for p in asios-irqd asios-numad asios-schedd asios-healthd asios-exporter asiosctl asios-load-warm; do
	mode=$(sed -n "s/^$p (\(.*\))\$/\1/p" "$aafs/profiles" 2>/dev/null)
	check_eq "profile $p is loaded and enforced" enforce "${mode:-not loaded}"
done
aa-status 2>/dev/null | sed -n '1,3p' | sed 's/^/# aa-status: /'

# every daemon runs under its profile (asios-exporter is socket-activated: one scrape starts it)
python3 -c 'import urllib.request; urllib.request.urlopen("http://127.0.0.1:9647/metrics", timeout=20).read()' \
	>/dev/null 2>&1 || echo "# the scrape of asios-exporter failed"
for d in irqd numad schedd healthd exporter; do
	pid=$(systemctl show -p MainPID --value "asios-$d")
	label=$(tr -d '\0' <"/proc/$pid/attr/current" 2>/dev/null)
	check_eq "asios-$d (pid $pid) runs under its profile" "asios-$d (enforce)" "${label:-none}"
done
# asiosctl, by its path: its eBPF scheduler watch runs 5 s, long enough to read its label
asiosctl sched watch --seconds 5 >/tmp/asios-aa-watch.txt 2>&1 &
pid=$!
sleep 2
label=$(tr -d '\0' <"/proc/$pid/attr/current" 2>/dev/null)
wait "$pid"
rc=$?
check_eq "asiosctl runs under its profile" "asiosctl (enforce)" "${label:-none}"
check_eq "asiosctl sched watch (eBPF) works under its profile" 0 "$rc"
[ "$rc" = 0 ] || tail -n 5 /tmp/asios-aa-watch.txt | sed 's/^/#   /'
# asios-load-warm@.service: the unit applies the profile (AppArmorProfile=)
mkdir -p /var/lib/asios-test/model
python3 - <<'PY'
import json
n = 1 << 20
h = json.dumps({"w": {"dtype": "U8", "shape": [n], "data_offsets": [0, n]}}).encode()
h += b" " * (-len(h) % 8)
with open("/var/lib/asios-test/model/model.safetensors", "wb") as f:
    f.write(len(h).to_bytes(8, "little") + h + bytes(n))
PY
unit="asios-load-warm@$(systemd-escape --path /var/lib/asios-test/model).service"
systemctl start "$unit"
check_eq "$unit ran under its profile" active "$(systemctl is-active "$unit")"
journalctl -b -o cat --no-pager -u "$unit" | tail -n 2 | sed 's/^/# warm: /'
systemctl stop "$unit"

# the profile confines: asios-irqd may read its configuration only under /etc/asios
conf=/root/asios-aa-test-irqd.conf
printf '# a site configuration outside /etc/asios\n' >"$conf"
out=$(aa-exec -p asios-irqd -- /usr/sbin/asios-irqd --once --dry-run --config "$conf" 2>&1)
rc=$?
echo "# under asios-irqd's profile: rc $rc: $(printf '%s' "$out" | tail -n 1)"
report "$([ "$rc" != 0 ] && printf '%s' "$out" | grep -q 'Permission denied' && echo 0 || echo 1)" \
	"under its profile asios-irqd may not read $conf (Permission denied)"
# the same program from another path, to which no profile attaches
cp /usr/sbin/asios-irqd /usr/local/sbin/asios-irqd-unconfined
out=$(/usr/local/sbin/asios-irqd-unconfined --once --dry-run --config "$conf" 2>&1)
rc=$?
rm -f /usr/local/sbin/asios-irqd-unconfined
check_eq "without the profile (a copy at another path) the same command reads it: the refusal is the profile's" 0 "$rc"
[ "$rc" = 0 ] || printf '%s\n' "$out" | tail -n 3 | sed 's/^/#   /'
rm -f "$conf"

# nothing denied to an ASIOS program while the image test ran (the refusal just provoked aside). AppArmor's records
# go to auditd's log when auditd runs, else to the kernel's
aalog() { { cat /var/log/audit/audit.log 2>/dev/null; journalctl -k -b -o cat --no-pager; } | grep "apparmor=\"$1\"" |
	grep -E 'profile="(asios|asiosctl)'; }
brief() { sed -E 's/.*(operation="[^"]*").*(profile="[^"]*")/\2 \1/; s/ (pid|comm|fsuid|ouid|denied_mask|info|error)=[^ ]*//g' |
	sort | uniq -c | sort -rn; }
denied=$(aalog DENIED | grep -v "name=\"$conf\"")
check_eq "the kernel denied ASIOS's programs nothing" 0 "$(printf '%s' "$denied" | grep -c .)"
printf '%s\n' "$denied" | grep . | brief | head -n 40 | sed 's/^/#   /'
# in complain mode (a profile being developed) the accesses it would have refused
aalog ALLOWED | brief | head -n 150 | sed 's/^/# complain: /'
echo "1..$n"
[ "$failed" = 0 ]
