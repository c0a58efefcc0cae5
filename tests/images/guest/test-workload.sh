#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# Workload containment in a booted ASIOS image (run as root inside it by tests/images/test-cloud-image.sh; TAP on
# standard output): asios-workload@t1.service with a drop-in as `asiosctl workload` writes it for one NVIDIA GPU
# runs a probe that may open that GPU's device file and no other, write its state directory and nothing else of
# the system, gains no privilege through a set-uid program, and runs on the CPUs, memory node and memory limit
# of the drop-in. The same probe run plainly (systemd-run, no containment) opens the other GPU's file past the
# device policy: the refusal is DeviceAllow='s.
#
# The image has no GPU: two fake NVIDIA device files are made (character major 195, minors 0 and 1). With no
# driver behind them, opening a file the cgroup allows fails with ENXIO (no such device), opening one the
# cgroup's device policy denies fails with EPERM before any driver is asked: that difference is what is checked.
# As the image's machine has no GPU for `asiosctl workload` to find, the drop-in is written here by hand, line for
# line what `asiosctl workload t1 --gpus 0 -- COMMAND` prints for a GPU 0 that is /dev/nvidia0 on NUMA node 0
# (see tests/golden/workload/*.txt), with CPU 0, node 0 and a small MemoryMax= that any machine has.
set -u
n=0 failed=0
report() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }
check_eq() { if [ "$2" = "$3" ]; then report 0 "$1"; else report 1 "$1"; printf '#   expected: %s\n#   actual:   %s\n' "$2" "$3"; fi; }
check_in() { # NAME ACTUAL ACCEPTED...
	local name=$1 actual=$2 a
	shift 2
	for a in "$@"; do [ "$actual" = "$a" ] && { report 0 "$name ($actual)"; return; }; done
	report 1 "$name"
	printf '#   expected one of: %s\n#   actual: %s\n' "$*" "${actual:-nothing}"
}

unit=asios-workload@t1.service
dropdir=/run/systemd/system/$unit.d
lib=/usr/local/lib/asios-workload-test
probe=$lib/probe.py
plain=/run/asios-workload-test-plain.txt
marker=asios-workload-test-marker
made_nodes=()

cleanup() {
	systemctl stop "$unit" asios-workload@t0.service >/dev/null 2>&1
	systemctl reset-failed "$unit" asios-workload@t0.service >/dev/null 2>&1
	rm -rf "$dropdir" "$lib" "$plain" /var/lib/private/asios-workload/t0 /var/lib/private/asios-workload/t1 \
		/var/lib/asios-workload/t0 /var/lib/asios-workload/t1 "/var/tmp/$marker" /etc/asios-workload-test \
		/usr/local/asios-workload-test
	rmdir /var/lib/private/asios-workload /var/lib/asios-workload 2>/dev/null
	local f
	for f in "${made_nodes[@]}"; do rm -f "$f"; done
	systemctl daemon-reload
}
trap cleanup EXIT

# the two fake GPUs: only when the machine has no real NVIDIA device files
for m in 0 1; do
	if [ -e "/dev/nvidia$m" ]; then
		echo "Bail out! /dev/nvidia$m exists: a machine with NVIDIA GPUs, not the image this test is for"
		exit 1
	fi
	mknod -m 0666 "/dev/nvidia$m" c 195 "$m" && made_nodes+=("/dev/nvidia$m")
done
check_eq "fake GPU device files made (character 195:0 and 195:1, in hex)" "c3:0 c3:1" \
	"$(stat -c '%t:%T' /dev/nvidia0 /dev/nvidia1 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"

# the probe: what the job can do, one "KEY VALUE" line each, into $STATE_DIRECTORY/results (or FILE, devices only)
mkdir -p "$lib"
cat >"$probe" <<'EOF'
import errno, os, subprocess, sys

def attempt(fn):
    try:
        fn()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))

def opendev(path):
    os.close(os.open(path, os.O_RDWR))

def write(path):
    with open(path, "w") as f:
        f.write("x\n")

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    return "none"

def cgroup_file(name):
    path = open("/proc/self/cgroup").read().strip().split("::", 1)[-1]
    try:
        return open("/sys/fs/cgroup%s/%s" % (path, name)).read().strip()
    except OSError as e:
        return errno.errorcode.get(e.errno, "?")

def su():
    try:
        p = subprocess.run(["su", "-c", "id -u", "root"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=20)
        return "root" if p.returncode == 0 and p.stdout.strip() == "0" else "refused"
    except (OSError, subprocess.TimeoutExpired) as e:
        return "refused:" + type(e).__name__

out = {"nvidia0": attempt(lambda: opendev("/dev/nvidia0")), "nvidia1": attempt(lambda: opendev("/dev/nvidia1"))}
if sys.argv[1] == "all":
    state = os.environ.get("STATE_DIRECTORY", "")
    out.update({
        "uid": str(os.getuid()),
        "state": attempt(lambda: write(os.path.join(state, "scratch"))) if state else "no STATE_DIRECTORY",
        "etc": attempt(lambda: write("/etc/asios-workload-test")),
        "usr-local": attempt(lambda: write("/usr/local/asios-workload-test")),
        "var-tmp": attempt(lambda: write("/var/tmp/asios-workload-test-marker")),
        "root-home": attempt(lambda: write("/root/asios-workload-test")),
        "nonewprivs": status("NoNewPrivs"),
        "capeff": status("CapEff"),
        "su": su(),
        "cpus": status("Cpus_allowed_list"),
        "mems": status("Mems_allowed_list"),
        "memory.max": cgroup_file("memory.max"),
        "cpuset.cpus.effective": cgroup_file("cpuset.cpus.effective"),
    })
    target = os.path.join(state, "results")
else:
    target = sys.argv[2]
with open(target + ".tmp", "w") as f:
    f.write("".join("%s %s\n" % kv for kv in out.items()))
os.rename(target + ".tmp", target)
EOF
chmod 0755 "$lib" && chmod 0644 "$probe"

systemctl daemon-reload

# asiosctl workload on this machine: a drop-in, or an error naming why (no GPU here), never a crash
out=$(asiosctl workload t1 --gpus 0 -- /bin/true 2>&1)
rc=$?
echo "# asiosctl workload on this machine: rc $rc: $(printf '%s' "$out" | head -n 1)"
check_in "asiosctl workload on this GPU-less machine answers with a drop-in or a named error" "$rc" 0 1

# the drop-in, as asiosctl workload writes it for one NVIDIA GPU (see the header)
mkdir -p "$dropdir"
cat >"$dropdir/50-asios.conf" <<EOF
# $dropdir/50-asios.conf
# written by hand as asiosctl workload would: GPU 0 /dev/nvidia0 on NUMA node 0
[Service]
ExecStart=
ExecStart=/usr/bin/python3 $probe all
# the device files of these GPUs; every other one stays closed (DevicePolicy=closed)
DeviceAllow=/dev/nvidia0 rw
DeviceAllow=/dev/nvidiactl rw
DeviceAllow=/dev/nvidia-uvm rw
DeviceAllow=/dev/nvidia-uvm-tools rw
DeviceAllow=/dev/nvidia-modeset rw
# the CPUs of NUMA node 0, nearest the GPU
AllowedCPUs=0
AllowedMemoryNodes=0
MemoryMax=256M
EOF
systemctl daemon-reload
show() { systemctl show -p "$1" --value "$unit"; }
check_eq "systemd reads the drop-in: device policy, CPUs, memory nodes, MemoryMax" \
	"closed 0 0 268435456" "$(show DevicePolicy) $(show AllowedCPUs) $(show AllowedMemoryNodes) $(show MemoryMax)"

rm -f "/var/tmp/$marker" /etc/asios-workload-test /usr/local/asios-workload-test
systemctl start "$unit"
for _ in $(seq 1 120); do
	state=$(systemctl show -p ActiveState --value "$unit")
	[ "$state" = active ] || [ "$state" = activating ] || break
	sleep 0.5
done
check_eq "the contained job ran to its end" "inactive success" \
	"$(systemctl show -p ActiveState --value "$unit") $(systemctl show -p Result --value "$unit")"
res=/var/lib/asios-workload/t1/results
if [ ! -f "$res" ]; then
	report 1 "the job wrote its results into its state directory"
	journalctl -b -u "$unit" -o cat --no-pager | tail -n 20 | sed 's/^/#   /'
	echo "1..$n"
	exit 1
fi
report 0 "the job wrote its results into its state directory"
sed 's/^/# job: /' "$res"
get() { sed -n "s/^$1 //p" "$res"; }

check_eq "the allowed GPU's file opens past the device policy (ENXIO: no driver behind it)" ENXIO "$(get nvidia0)"
check_eq "the other GPU's file is refused by the device policy (EPERM)" EPERM "$(get nvidia1)"
check_eq "the state directory is writable" ok "$(get state)"
check_in "/etc is read-only" "$(get etc)" EROFS EACCES
check_in "/usr/local is read-only" "$(get usr-local)" EROFS EACCES
check_in "home folders are read-only" "$(get root-home)" EROFS EACCES
# /var/tmp (like /tmp) is the job's own (PrivateTmp=): writable inside, nothing of it reaches the machine's
check_eq "/var/tmp is writable inside the job" ok "$(get var-tmp)"
report "$([ ! -e "/var/tmp/$marker" ] && echo 0 || echo 1)" "what the job wrote in /var/tmp is not in the machine's /var/tmp"
report "$([ ! -e /etc/asios-workload-test ] && [ ! -e /usr/local/asios-workload-test ] && echo 0 || echo 1)" \
	"nothing the job tried to write reached /etc or /usr/local"
uid=$(get uid)
report "$([ -n "$uid" ] && [ "$uid" != 0 ] && echo 0 || echo 1)" "the job runs as a dynamic user, not root (uid $uid)"
check_eq "no new privileges (NoNewPrivs)" 1 "$(get nonewprivs)"
check_eq "no capability (CapEff)" 0000000000000000 "$(get capeff)"
check_in "su does not make the job root" "$(get su)" refused refused:FileNotFoundError
check_eq "AllowedCPUs= took effect (Cpus_allowed_list)" 0 "$(get cpus)"
check_eq "AllowedCPUs= took effect (cpuset.cpus.effective)" 0 "$(get cpuset.cpus.effective)"
check_eq "AllowedMemoryNodes= took effect (Mems_allowed_list)" 0 "$(get mems)"
check_eq "MemoryMax= took effect (memory.max)" 268435456 "$(get memory.max)"
[ "$(nproc --all)" -gt 1 ] || echo "# one CPU here: the CPU checks hold trivially"

# the same probe without containment: root, no device policy: the other GPU's file opens as far as the driver
rm -f "$plain"
systemd-run --wait --quiet --collect /usr/bin/python3 "$probe" devices "$plain" >/dev/null 2>&1
check_eq "without containment the other GPU's file gets past the cgroup (ENXIO, not EPERM)" ENXIO \
	"$(sed -n 's/^nvidia1 //p' "$plain" 2>/dev/null)"
check_eq "without containment the first GPU's file too (ENXIO)" ENXIO "$(sed -n 's/^nvidia0 //p' "$plain" 2>/dev/null)"

echo "1..$n"
[ "$failed" = 0 ]
