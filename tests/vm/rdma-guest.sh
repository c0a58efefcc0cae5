#!/bin/sh
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# In-guest soft-RoCE test (run by tests/vm/nic-guest.sh in the boot of tests/vm/test-nic.sh): a veth pair, an
# rdma_rxe device on each end (`rdma link add`), ASIOS's RDMA discovery
# (`asiosctl topology --json`) checked against them, then Debian's perftest over RoCE v2 (the GID of each end's
# IPv4 address; perftest's own TCP exchange sets the connection up, as the test kernel has no rdma_cm):
# ib_write_bw and ib_send_lat, server on one device and client on the other, each pinned to a CPU of its own.
# Both ends stay in the initial network namespace: 6.12's rxe receives RoCE's UDP port 4791 on a socket of the
# initial namespace only, so with the ends in two namespaces every work request ends flushed (status 5, measured
# here; docs/nic.md). In one namespace rxe hands packets between its two devices itself (its loopback path). The numbers are recorded; under qemu's emulation they say the path works, not how fast it is.
# The programs and their libraries come in /nic, /nic/lib; the rxe provider of libibverbs in /nic/rdma.
PATH=/bin
ok() { echo "ASIOS: ok $1"; }
fail() { echo "ASIOS: fail $1 $2"; }
val() { echo "ASIOS: value $1 $2"; }
# the host's layout: the loader, the libraries and libibverbs' provider where the programs look for them
mkdir -p /lib64 /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/libibverbs /etc/libibverbs.d /run/netns /tmp
cp /nic/lib/* /lib/x86_64-linux-gnu/
ln -sf /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 /lib64/ld-linux-x86-64.so.2
cp /nic/rdma/librxe-rdmav34.so /usr/lib/x86_64-linux-gnu/libibverbs/
echo "driver rxe" >/etc/libibverbs.d/rxe.driver
ip=/nic/ip
if $ip link add va type veth peer name vb && $ip addr add 10.9.0.1/24 dev va && $ip addr add 10.9.0.2/24 dev vb &&
	$ip link set lo up && $ip link set va up && $ip link set vb up; then
	ok "veth-pair"
else
	fail "veth-pair" "(ip failed)"
	exit 0
fi
if /nic/rdma-tool link add rxa type rxe netdev va && /nic/rdma-tool link add rxb type rxe netdev vb; then
	ok "rdma-link-add-rxe"
else
	fail "rdma-link-add-rxe" "(rdma link add failed)"
	exit 0
fi
sleep 2
/nic/rdma-tool link show | sed 's/^/ASIOS: value rdma-link /'
# ASIOS's RDMA discovery on them: each port active, RoCE (Ethernet), on its interface, with RoCE v2 GIDs
/nic/asiosctl topology --json >/tmp/topo.json 2>/tmp/topo.err
for d in rxa:va rxb:vb; do
	dev=${d%%:*} nd=${d#*:}
	# one "device":"rxa" object of rdma[]: its fields on one line after tr
	entry=$(tr -d ' \n' </tmp/topo.json | grep -o "{\"device\":\"$dev\"[^}]*}")
	case $entry in
	*'"link_layer":"Ethernet"'*'"state":"ACTIVE"'*'"netdev":"'$nd'"'*) ok "asios-discovers-$dev-on-$nd" ;;
	*) fail "asios-discovers-$dev-on-$nd" "($entry)" ;;
	esac
	val "topology-$dev" "$entry"
done
# the GID table index of DEVICE's IPv4 address HEX ("0a09:0001" for 10.9.0.1: ::ffff:10.9.0.1)
gid_index() {
	for g in /sys/class/infiniband/"$1"/ports/1/gids/*; do
		case $(cat "$g" 2>/dev/null) in *:ffff:"$2") basename "$g"; return ;; esac
	done
}
ga=$(gid_index rxa 0a09:0001) gb=$(gid_index rxb 0a09:0002)
val gid-index "rxa $ga rxb $gb"
# perftest: server on rxa (CPU 0), client on rxb (CPU 1)
perf() { # NAME PROGRAM ARGS…: the client's output in /tmp/NAME.out
	name=$1 prog=$2
	shift 2
	timeout 120 taskset -c 0 "/nic/$prog" -d rxa -x "$ga" "$@" >"/tmp/$name.srv" 2>&1 &
	srv=$!
	sleep 3
	timeout 120 taskset -c 1 "/nic/$prog" -d rxb -x "$gb" "$@" 10.9.0.1 >"/tmp/$name.out" 2>&1
	rc=$?
	wait $srv
	src=$?
	if [ $rc = 0 ] && [ $src = 0 ]; then
		ok "perftest-$name"
	else
		fail "perftest-$name" "(client exit $rc, server exit $src)"
		sed "s/^/ASIOS: value $name-client /" "/tmp/$name.out"
		sed "s/^/ASIOS: value $name-server /" "/tmp/$name.srv"
	fi
	grep -E '^ *[0-9]+ +[0-9]+' "/tmp/$name.out" | sed "s/^/ASIOS: value $name /"
}
# only on request (tests/vm/test-nic.sh with NIC_PERFTEST=1): on 6.12.117 neither layout completes a work
# request, and destroying the stuck queue pair then oopses in rxe (docs/nic.md, "Soft-RoCE")
perftest=0
read -r cmdline </proc/cmdline
for w in $cmdline; do [ "$w" != asios.perftest=1 ] || perftest=1; done
if [ $perftest = 1 ]; then
	perf ib_write_bw ib_write_bw -s 65536 -n 2000
	perf ib_send_lat ib_send_lat -s 64 -n 1000
else
	echo "ASIOS: skip perftest rxe on 6.12.117 completes no work request and oopses on the stuck queue pair's destroy (NIC_PERFTEST=1 runs it)"
fi
