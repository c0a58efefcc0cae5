#!/bin/sh
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# In-guest soft-RoCE test (run by tests/vm/nic-guest.sh in the boot of tests/vm/test-nic.sh): a veth pair, an
# rdma_rxe device on each end (`rdma link add`), ASIOS's RDMA discovery (`asiosctl topology --json`) checked
# against them, then Debian's perftest over RoCE v2 (the GID of each end's IPv4 address; perftest's own TCP
# exchange sets the connection up, as the test kernel has no rdma_cm): ib_write_bw and ib_send_lat, server on
# one device and client on the other, each pinned to a CPU of the housekeeping CPUs of the node ASIOS's
# discovery gives the device (the whole machine when it has none, as for a veth).
# Both ends stay in the initial network namespace: 6.12's rxe receives RoCE's UDP port 4791 on a socket of the
# initial namespace only, so with the ends in two namespaces every work request ends flushed (status 5, measured
# here; docs/nic.md). In one namespace the kernel would route a packet for the other end's address through the
# loopback device, where rxe's receive finds no rxe device and drops it (nothing completes, and destroying the
# stuck queue pair then oopses). So a routing rule for locally sent packets (`iif lo`) sends each end's
# packets to the other's address out of its own veth, and the receiving end accepts its own namespace's
# source address (accept_local): the RoCE traffic crosses the veth pair as it would cross a wire, which the
# test checks by the pair's packet counters. The numbers are recorded; under qemu's emulation they say the
# path works, not how fast it is.
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
# each end's packets to the other's address out of its own veth, not through lo (see above), with each other's
# MAC address as a permanent neighbour
sys=/proc/sys/net/ipv4/conf
ma=$(cat /sys/class/net/va/address) mb=$(cat /sys/class/net/vb/address)
if for i in all va vb; do echo 1 >$sys/$i/accept_local && echo 0 >$sys/$i/rp_filter || exit 1; done &&
	$ip rule add pref 100 lookup local && $ip rule del pref 0 &&
	$ip route add 10.9.0.1 dev vb src 10.9.0.2 table 10 && $ip rule add pref 10 iif lo from 10.9.0.2 to 10.9.0.1 lookup 10 &&
	$ip route add 10.9.0.2 dev va src 10.9.0.1 table 11 && $ip rule add pref 10 iif lo from 10.9.0.1 to 10.9.0.2 lookup 11 &&
	$ip neigh replace 10.9.0.1 lladdr "$ma" dev vb nud permanent && $ip neigh replace 10.9.0.2 lladdr "$mb" dev va nud permanent; then
	ok "veth-pair-routed"
else
	fail "veth-pair-routed" "(ip rule/route/neigh or the sysctls failed)"
	exit 0
fi
case $($ip route get 10.9.0.1 from 10.9.0.2) in
*" dev vb "*) ok "route-crosses-veth" ;;
*) fail "route-crosses-veth" "($($ip route get 10.9.0.1 from 10.9.0.2 | tr '\n' ' '))" ;;
esac
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
# the CPUs perftest runs on: the housekeeping CPUs (online, not isolated) of the node ASIOS's discovery gives
# rxa, or of the whole machine when it gives none (-1: a veth has no PCI function); the server on the first,
# the client on the last
node=$(tr -d ' \n' </tmp/topo.json | grep -o '{"device":"rxa"[^}]*}' | grep -o '"node":-\{0,1\}[0-9]*' | cut -d: -f2)
cpus=/sys/devices/system/cpu/online
[ "${node:--1}" -lt 0 ] || cpus=/sys/devices/system/node/node$node/cpulist
cpulist() { # a cpulist file ("0-2,5") as one CPU a line
	tr ',' '\n' <"$1" | while IFS=- read -r a b; do
		[ -n "$a" ] || continue
		i=$a
		while [ "$i" -le "${b:-$a}" ]; do echo "$i"; i=$((i + 1)); done
	done
}
hk=""
for c in $(cpulist "$cpus"); do
	case " $(cpulist /sys/devices/system/cpu/isolated | tr '\n' ' ') " in *" $c "*) ;; *) hk="$hk $c" ;; esac
done
hk=${hk# }
cs=${hk%% *} cc=${hk##* }
val perftest-cpus "node ${node:-?} housekeeping $hk: server $cs, client $cc"
# perftest: server on rxa, client on rxb; their packets counted on the veth pair
perf() { # NAME PROGRAM ARGS…: the client's output in /tmp/NAME.out
	name=$1 prog=$2
	shift 2
	tx0=$(cat /sys/class/net/vb/statistics/tx_packets) rx0=$(cat /sys/class/net/va/statistics/rx_packets)
	timeout 120 taskset -c "$cs" "/nic/$prog" -d rxa -x "$ga" "$@" >"/tmp/$name.srv" 2>&1 &
	srv=$!
	sleep 3
	timeout 120 taskset -c "$cc" "/nic/$prog" -d rxb -x "$gb" "$@" 10.9.0.1 >"/tmp/$name.out" 2>&1
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
	# the RoCE packets went out of vb and into va (perftest's TCP exchange adds a few): at least one a message
	tx=$(($(cat /sys/class/net/vb/statistics/tx_packets) - tx0)) rx=$(($(cat /sys/class/net/va/statistics/rx_packets) - rx0))
	val "$name-veth-packets" "vb sent $tx, va received $rx"
	if [ "$tx" -ge "$iters" ] && [ "$rx" -ge "$iters" ]; then
		ok "$name-crossed-veth"
	else
		fail "$name-crossed-veth" "(vb sent $tx, va received $rx packets; at least $iters expected)"
	fi
}
iters=2000
perf ib_write_bw ib_write_bw -s 65536 -n $iters
iters=1000
perf ib_send_lat ib_send_lat -s 64 -n $iters
