#!/bin/bash
# netd against the real kernel, in network namespaces this script creates:
#   lab   netd, the bridge, the public addresses 203.0.113.10 and .11 on "up0"
#   inet  "the Internet": 203.0.113.100 on the other end of up0
#   vmN   a VM stand-in: eth0 on a veth whose peer is the bridge port vlN (named like
#         labd's taps, isolated as libvirt's <port isolated='yes'/>), an address from
#         netd's dnsmasq by DHCP, and a TCP server on port 22 that greets with the VM's
#         name
# Everything it creates is removed at exit, also on failure (KEEP=1 keeps the files).
set -u
cd "$(dirname "$0")/../.."
P=vn$$
. tests/netns/netd_lib.sh vlab-netd

# vm_restore N: VM N's own MAC, address and default route again (after a spoofing test).
vm_restore() {
	local n=$1 ns=$P-vm$1
	ip -n "$ns" link set eth0 address "52:54:00:00:00:0$n"
	ip -n "$ns" -4 addr flush dev eth0
	ip -n "$ns" addr add "10.77.0.$((n + 1))/20" dev eth0
	ip -n "$ns" route replace default via 10.77.0.1 dev eth0
	ip -n "$ns" neigh flush dev eth0
}

# egress_ok N: VM N reaches the Internet's listener (bounded).
egress_ok() { vm "$1" "$TOOLS/tcpprobe" once 203.0.113.100 8080 "${2:-700}" >/dev/null; }

# fdb_port MAC: the bridge port(s) the bridge has learned MAC on.
fdb_port() { lab bridge fdb show br labbr0 | awk -v m="$1" 'tolower($1) == m { print $3 }'; }

# gw_lladdr IP: the MAC the host (the gateway) has for IP.
gw_lladdr() { lab ip neigh show "$1" dev labbr0 | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }'; }

vm_dhcp() { # N: udhcpc once, bounded (5 tries, 1 s apart)
	ip netns exec "$P-vm$1" busybox udhcpc -i eth0 -n -q -t 5 -T 1 -s "$PWD/tests/netns/udhcpc.script" >/dev/null 2>&1
}

vm_ip() { ip -n "$P-vm$1" -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1; }

setup() {
	lab_up || return 1
	for i in 1 2 3; do
		vm_add $i "52:54:00:00:00:0$i" || return 1
	done
	rpc_ok "{\"v\":1,\"op\":\"put\",\"mapping\":$(mapping s1 52:54:00:00:00:01 10.77.0.2 22 203.0.113.10 20001 vl1)}" >/dev/null &&
	rpc_ok "{\"v\":1,\"op\":\"put\",\"mapping\":$(mapping s2 52:54:00:00:00:02 10.77.0.3 22 203.0.113.11 20001 vl2)}" >/dev/null &&
	rpc_ok "{\"v\":1,\"op\":\"put\",\"mapping\":$(mapping s3 52:54:00:00:00:03 10.77.0.4 2222 203.0.113.10 20002 vl3)}" >/dev/null || return 1
	for i in 1 2 3; do
		local port=22
		[ $i -eq 3 ] && port=2222   # nothing may assume 22
		bg_start _pid ip netns exec "$P-vm$i" "$TOOLS/tcpecho" $port "vm$i"
	done
	bg_start _pid ip netns exec "$INET" "$TOOLS/tcpecho" 8080 internet --peer
	return 0
}

# --- the tests ---------------------------------------------------------------

t_bridge_has_gateway_and_forwarding() {
	lab ip -4 -o addr show dev labbr0 | grep -q ' 10.77.0.1/20 '
	[ "$(lab cat /proc/sys/net/ipv4/ip_forward)" = 1 ]
	lab nft list table ip vlab >/dev/null
	lab nft list table bridge vlab >/dev/null
}

t_dhcp_gives_each_vm_its_fixed_ip() {
	local i
	for i in 1 2 3; do
		vm_dhcp $i || fail "vm$i: no DHCP lease"
		[ "$(vm_ip $i)" = "10.77.0.$((i + 1))" ] || fail "vm$i got '$(vm_ip $i)'"
	done
}

t_dhcp_gives_unknown_mac_nothing() {
	# A port without the student prefix, so the request reaches dnsmasq, which must
	# refuse a MAC it has no host line for.
	vm_add 9 52:54:00:00:00:99 ext9
	if vm_dhcp 9; then fail "unknown MAC got a lease: $(vm_ip 9)"; fi
	[ -z "$(vm_ip 9)" ]
}

t_student_port_without_mapping_gets_nothing_through() {
	# vl8 is a student port netd has no mapping for: its VM is trusted with nothing,
	# not even with an address it configured itself.
	vm_add 8 52:54:00:00:00:08
	if vm_dhcp 8; then fail "vl8 got a lease: $(vm_ip 8)"; fi
	ip -n "$P-vm8" addr add 10.77.0.9/20 dev eth0
	ip -n "$P-vm8" route add default via 10.77.0.1
	if egress_ok 8; then fail "a VM on an unmapped student port reached the Internet"; fi
}

t_dnat_reaches_the_right_vm_only() {
	[ "$(inet "$TOOLS/tcpprobe" once 203.0.113.10 20001)" = vm1 ]
	[ "$(inet "$TOOLS/tcpprobe" once 203.0.113.11 20001)" = vm2 ]
	[ "$(inet "$TOOLS/tcpprobe" once 203.0.113.10 20002)" = vm3 ]
	# The same port on the other address is another student's (or nobody's).
	if inet "$TOOLS/tcpprobe" once 203.0.113.11 20002 500; then fail "203.0.113.11:20002 answered"; fi
}

t_unmapped_port_is_refused() {
	local rc=0
	inet "$TOOLS/tcpprobe" once 203.0.113.10 20999 1000 || rc=$?
	[ $rc -ne 0 ] || fail "unmapped port answered"
	# the VM's port itself is not reachable directly from outside either
	rc=0
	inet "$TOOLS/tcpprobe" once 203.0.113.10 22 500 || rc=$?
	[ $rc -ne 0 ] || fail "port 22 of the host answered"
}

t_routed_connection_into_lab_without_dnat_is_dropped() {
	# An outsider who routes straight to a VM's private address gets nothing: only
	# connections DNATed through the map may enter the lab.
	ip -n "$INET" route add 10.77.0.0/20 via 203.0.113.10
	local rc=0
	inet "$TOOLS/tcpprobe" once 10.77.0.2 22 700 || rc=$?
	ip -n "$INET" route del 10.77.0.0/20 via 203.0.113.10
	[ $rc -ne 0 ] || fail "reached vm1 directly, without DNAT"
}

t_vm_cannot_reach_another_vm() {
	# L2: the bridge ports are isolated.
	if ip netns exec "$P-vm1" "$TOOLS/tcpprobe" once 10.77.0.3 22 700; then fail "vm1 reached vm2 (L2)"; fi
	if ip netns exec "$P-vm1" busybox ping -c 1 -W 1 10.77.0.3 >/dev/null; then fail "vm1 pinged vm2"; fi
	# L3: routed through the host, dropped by the forward chain.
	ip -n "$P-vm1" route add 10.77.0.3/32 via 10.77.0.1
	local rc=0
	ip netns exec "$P-vm1" "$TOOLS/tcpprobe" once 10.77.0.3 22 700 || rc=$?
	ip -n "$P-vm1" route del 10.77.0.3/32 via 10.77.0.1
	[ $rc -ne 0 ] || fail "vm1 reached vm2 through the host"
}

t_vm_reaches_host_only_for_dhcp_dns() {
	bg_start pid ip netns exec "$LAB" "$TOOLS/tcpecho" 2323 host
	wait_for 3 lab "$TOOLS/tcpprobe" once 10.77.0.1 2323 >/dev/null
	local rc=0
	ip netns exec "$P-vm1" "$TOOLS/tcpprobe" once 10.77.0.1 2323 700 || rc=$?
	stop_pid "$pid"
	[ $rc -ne 0 ] || fail "vm1 reached a host service on the bridge"
}

t_vm_egress_is_masqueraded() {
	local got
	got=$(ip netns exec "$P-vm1" "$TOOLS/tcpprobe" once 203.0.113.100 8080)
	case $got in "internet from 203.0.113.1"[01]) ;; *) fail "egress greeting '$got'" ;; esac
}

t_vm_with_a_classmates_mac_gets_nothing_through() {
	local rc=0 got
	# vm1 takes vm2's MAC and tries the Internet and the gateway. Were its frames
	# let through, the bridge would learn vm2's MAC on vl1 and send vm2's SSH to vm1.
	ip -n "$P-vm1" link set eth0 address 52:54:00:00:00:02
	ip -n "$P-vm1" neigh flush dev eth0
	if egress_ok 1; then log "vm1 with vm2's MAC reached the Internet"; rc=1; fi
	if vm 1 busybox arping -c 1 -w 1 -I eth0 10.77.0.1 >/dev/null 2>&1; then
		log "the gateway answered vm1 with vm2's MAC"; rc=1
	fi
	case " $(fdb_port 52:54:00:00:00:02) " in *" vl1 "*) log "the bridge learned vm2's MAC on vl1"; rc=1 ;; esac
	got=$(inet "$TOOLS/tcpprobe" once 203.0.113.11 20001 1000) || true
	[ "$got" = vm2 ] || { log "vm2's SSH reached '$got', not vm2"; rc=1; }
	vm_restore 1
	wait_for 3 egress_ok 1 300 || { log "vm1 not back with its own MAC"; rc=1; }
	return $rc
}

t_vm_with_a_classmates_ip_cannot_take_it() {
	local rc=0 got
	# The host has learned vm2's MAC (a DNAT to vm2 needed it) ...
	[ "$(inet "$TOOLS/tcpprobe" once 203.0.113.11 20001 1000)" = vm2 ]
	[ "$(gw_lladdr 10.77.0.3)" = 52:54:00:00:00:02 ] || fail "gateway had '$(gw_lladdr 10.77.0.3)' for 10.77.0.3"
	# ... then vm1 keeps its MAC, takes vm2's address and announces it, past the
	# neighbour table's 1 s locktime. Were that believed, vm2's SSH would reach vm1's
	# server on :22, which greets "vm1".
	sleep 1.1
	ip -n "$P-vm1" -4 addr flush dev eth0
	ip -n "$P-vm1" addr add 10.77.0.3/20 dev eth0
	ip -n "$P-vm1" route replace default via 10.77.0.1 dev eth0
	vm 1 busybox arping -U -c 2 -w 2 -I eth0 10.77.0.3 >/dev/null 2>&1 || true
	vm 1 busybox arping -A -c 2 -w 2 -I eth0 10.77.0.3 >/dev/null 2>&1 || true
	[ "$(gw_lladdr 10.77.0.3)" = 52:54:00:00:00:02 ] || { log "gateway now has $(gw_lladdr 10.77.0.3) for 10.77.0.3"; rc=1; }
	got=$(inet "$TOOLS/tcpprobe" once 203.0.113.11 20001 1000) || true
	[ "$got" = vm2 ] || { log "vm2's SSH reached '$got', not vm2"; rc=1; }
	if egress_ok 1; then log "vm1 reached the Internet from vm2's address"; rc=1; fi
	vm_restore 1
	wait_for 3 egress_ok 1 300 || { log "vm1 not back with its own address"; rc=1; }
	[ "$(inet "$TOOLS/tcpprobe" once 203.0.113.10 20001 1000)" = vm1 ] || { log "vm1's SSH broken after"; rc=1; }
	return $rc
}

t_vm_with_a_made_up_mac_gets_nothing_through() {
	local rc=0
	ip -n "$P-vm1" link set eth0 address 02:00:00:00:00:99
	ip -n "$P-vm1" neigh flush dev eth0
	if egress_ok 1; then log "vm1 with a made-up MAC reached the Internet"; rc=1; fi
	if vm 1 busybox udhcpc -i eth0 -n -q -t 2 -T 1 -s /bin/true >/dev/null 2>&1; then
		log "vm1 with a made-up MAC got a lease"; rc=1
	fi
	[ -z "$(fdb_port 02:00:00:00:00:99)" ] || { log "the bridge learned the made-up MAC on $(fdb_port 02:00:00:00:00:99)"; rc=1; }
	vm_restore 1
	wait_for 3 egress_ok 1 300 || { log "vm1 not back with its own MAC"; rc=1; }
	return $rc
}

t_arp_spoofing_leaves_the_gateways_neighbour_alone() {
	local rc=0 before got
	# The host has learned vm2's MAC (a DNAT to vm2 needed it) ...
	[ "$(inet "$TOOLS/tcpprobe" once 203.0.113.11 20001 1000)" = vm2 ]
	before=$(gw_lladdr 10.77.0.3)
	[ "$before" = 52:54:00:00:00:02 ] || fail "gateway had '$before' for 10.77.0.3"
	# ... and vm1 claims 10.77.0.3 from its own MAC: gratuitously, as replies, and as a
	# request to the gateway itself (which Linux always learns the sender from). Past
	# the neighbour table's 1 s locktime, an accepted claim would override the entry.
	sleep 1.1
	vm 1 sysctl -qw net.ipv4.ip_nonlocal_bind=1
	vm 1 busybox arping -U -c 2 -w 2 -I eth0 -s 10.77.0.3 10.77.0.3 >/dev/null 2>&1 || true
	vm 1 busybox arping -A -c 2 -w 2 -I eth0 -s 10.77.0.3 10.77.0.1 >/dev/null 2>&1 || true
	vm 1 busybox arping -c 1 -w 1 -I eth0 -s 10.77.0.3 10.77.0.1 >/dev/null 2>&1 || true
	vm 1 sysctl -qw net.ipv4.ip_nonlocal_bind=0
	[ "$(gw_lladdr 10.77.0.3)" = 52:54:00:00:00:02 ] || { log "gateway now has $(gw_lladdr 10.77.0.3) for 10.77.0.3"; rc=1; }
	got=$(inet "$TOOLS/tcpprobe" once 203.0.113.11 20001 1000) || true
	[ "$got" = vm2 ] || { log "vm2's SSH reached '$got', not vm2"; rc=1; }
	# vm1's own ARP still works (the gateway answers it).
	vm 1 busybox arping -c 1 -w 1 -I eth0 10.77.0.1 >/dev/null 2>&1 || { log "vm1's own ARP got no answer"; rc=1; }
	return $rc
}

# dump_state: the mappings without their idle times (which move on by themselves)
dump_state() { printf '{"v":1,"op":"dump"}\n' | rpc | sed 's/,"idle_s":[0-9a-z]*//g'; }

t_bad_requests_are_refused_without_change() {
	local before after req r code
	before=$(dump_state)
	while IFS='|' read -r code req; do
		[ -n "$code" ] || continue
		r=$(printf '%s\n' "$req" | rpc)
		printf '%s' "$r" | iconv -f UTF-8 -t UTF-8 >/dev/null 2>&1 || fail "reply to $req is not UTF-8"
		case $r in
		*'"ok":false'*"\"code\":\"$code\""*) ;;
		*) fail "request $req: expected error $code, got: $r" ;;
		esac
	done <<EOF
parse|{"v":1,"op":"put",
parse|[1,2,3]
parse|{"v":1,"op":"dump"} trailing
version|{"op":"dump"}
version|{"v":"1","op":"dump"}
version|{"v":2,"op":"dump"}
unknown_op|{"v":1,"op":"explode"}
invalid|{"v":1,"op":"put"}
invalid|{"v":1,"op":"put","mapping":$(mapping s4 52:54:00:00:00:0g 10.77.0.5 22 203.0.113.10 20004)}
invalid|{"v":1,"op":"put","mapping":$(mapping s4 01:54:00:00:00:04 10.77.0.5 22 203.0.113.10 20004)}
invalid|{"v":1,"op":"put","mapping":$(mapping s4 52:54:00:00:00:04 10.78.0.5 22 203.0.113.10 20004)}
invalid|{"v":1,"op":"put","mapping":$(mapping s4 52:54:00:00:00:04 10.77.0.1 22 203.0.113.10 20004)}
invalid|{"v":1,"op":"put","mapping":$(mapping s4 52:54:00:00:00:04 10.77.0.5 22 203.0.113.12 20004)}
invalid|{"v":1,"op":"put","mapping":$(mapping s4 52:54:00:00:00:04 10.77.0.5 22 203.0.113.10 21000)}
invalid|{"v":1,"op":"put","mapping":$(mapping s4 52:54:00:00:00:04 10.77.0.5 0 203.0.113.10 20004)}
invalid|{"v":1,"op":"put","mapping":$(mapping S4 52:54:00:00:00:04 10.77.0.5 22 203.0.113.10 20004)}
invalid|{"v":1,"op":"put","mapping":$(mapping ../x 52:54:00:00:00:04 10.77.0.5 22 203.0.113.10 20004)}
invalid|{"v":1,"op":"put","mapping":{"student":"s4","mac":"52:54:00:00:00:04","ip":"10.77.0.5","vm_port":"22","public_ip":"203.0.113.10","public_port":20004}}
invalid|{"v":1,"op":"put","mapping":$(mapping s4 52:54:00:00:00:04 10.77.0.5 22 203.0.113.10 20004 eth0)}
invalid|{"v":1,"op":"put","mapping":$(mapping s4 52:54:00:00:00:04 10.77.0.5 22 203.0.113.10 20004 'vl4;x')}
conflict|{"v":1,"op":"put","mapping":$(mapping s4 52:54:00:00:00:04 10.77.0.5 22 203.0.113.10 20004 vl1)}
conflict|{"v":1,"op":"put","mapping":$(mapping s4 52:54:00:00:00:04 10.77.0.5 22 203.0.113.10 20001)}
conflict|{"v":1,"op":"put","mapping":$(mapping s4 52:54:00:00:00:01 10.77.0.5 22 203.0.113.10 20004)}
conflict|{"v":1,"op":"put","mapping":$(mapping s4 52:54:00:00:00:04 10.77.0.2 22 203.0.113.10 20004)}
invalid|{"v":1,"op":"sync","mappings":[$(mapping a 52:54:00:00:01:01 10.77.0.20 22 203.0.113.10 20100),$(mapping b 52:54:00:00:01:02 10.77.0.21 22 203.0.113.10 20100)]}
invalid|{"v":1,"op":"sync","mappings":[$(mapping a 52:54:00:00:01:01 10.77.0.20 22 203.0.113.10 20100),$(mapping b 52:54:00:00:01:01 10.77.0.21 22 203.0.113.10 20101)]}
invalid|{"v":1,"op":"sync","mappings":[$(mapping a 52:54:00:00:01:01 10.77.0.20 22 203.0.113.10 20100),$(mapping a 52:54:00:00:01:02 10.77.0.21 22 203.0.113.10 20101)]}
invalid|{"v":1,"op":"sync","mappings":"all"}
not_found|{"v":1,"op":"del","student":"nobody"}
invalid|{"v":1,"op":"del","student":"aéééééééééééééééééééééééé"}
EOF
	after=$(dump_state)
	[ "$before" = "$after" ] || fail "state changed: $before -> $after"
	[ "$(inet "$TOOLS/tcpprobe" once 203.0.113.10 20001)" = vm1 ]
}

t_oversized_line_is_refused() {
	local r
	r=$( { printf '{"v":1,"op":"dump","pad":"'; head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' a; printf '"}\n{"v":1,"op":"status"}\n'; } | rpc)
	case $r in *'"code":"parse"'*'"ok":true'*) ;; *) fail "reply: ${r:0:300}" ;; esac
}

t_sync_1000_while_client_loops() {
	local i maps out
	maps="$(mapping s1 52:54:00:00:00:01 10.77.0.2 22 203.0.113.10 20001 vl1),$(mapping s2 52:54:00:00:00:02 10.77.0.3 22 203.0.113.11 20001 vl2),$(mapping s3 52:54:00:00:00:03 10.77.0.4 2222 203.0.113.10 20002 vl3)"
	# 997 more (the test lab is a /20, room for 4093 VMs).
	for i in $(seq 5 1001); do
		maps="$maps,$(mapping "x$i" "$(printf '52:54:00:00:%02x:%02x' $((i / 256)) $((i % 256)))" "10.77.$((i / 256)).$((i % 256))" 22 203.0.113.11 $((19997 + i)) "vlx$i")"
	done
	printf '{"v":1,"op":"sync","mappings":[%s]}\n' "$maps" >"$T_DIR/sync1000.json"
	bg_start pid ip netns exec "$INET" "$TOOLS/tcpprobe" loop 203.0.113.10 20001 vm1 3000
	sleep 0.5
	for i in 1 2 3; do
		rpc <"$T_DIR/sync1000.json" | grep -q '"ok":true' || fail "sync $i refused"
		sleep 0.3
	done
	wait "$pid" || fail "the client saw failed connections during the syncs"
	[ "$(lab nft list map ip vlab ssh_dnat | grep -c ' : ')" -ge 1 ]
	[ "$(printf '{"v":1,"op":"status"}\n' | rpc | grep -o '"kernel_elements":[0-9]*')" = '"kernel_elements":1000' ] ||
		fail "kernel map does not hold 1000 elements"
	[ "$(lab nft list set bridge vlab port_addrs | grep -o '"vl[x0-9]*" \.' | wc -l)" = 2000 ] ||
		fail "port_addrs does not hold 2000 elements"
	egress_ok 1 || fail "vm1 lost its port elements in the sync"
}

t_del_cuts_new_connections() {
	[ "$(inet "$TOOLS/tcpprobe" once 203.0.113.10 20002)" = vm3 ]
	rpc_ok '{"v":1,"op":"del","student":"s3"}' >/dev/null
	if inet "$TOOLS/tcpprobe" once 203.0.113.10 20002 700; then fail "still reachable after del"; fi
	printf '{"v":1,"op":"dump"}\n' | rpc | grep -vq '"student":"s3"'
	[ "$(inet "$TOOLS/tcpprobe" once 203.0.113.10 20001)" = vm1 ]
}

t_del_of_a_vanished_port_element_rebuilds() {
	# Someone deleted x1001's port element by hand: the del's batch fails on it, and
	# netd rebuilds both tables without x1001 instead.
	lab nft delete element bridge vlab port_addrs '{ "vlx1001" . 52:54:00:00:03:e9 . 10.77.3.233 }'
	rpc_ok '{"v":1,"op":"del","student":"x1001"}' >/dev/null
	if lab nft list set bridge vlab port_addrs | grep -q '"vlx1001"'; then fail "x1001 still has port elements"; fi
	lab nft list set bridge vlab port_addrs | grep -q '"vlx1000" . 52:54:00:00:03:e8 . 10.77.3.232' || fail "x1000 lost"
	egress_ok 1 || fail "vm1 cut off after the rebuild"
}

t_flush_ruleset_is_repaired_within_1s() {
	local start end
	lab nft flush ruleset
	start=$(date +%s%N)
	wait_for 3 inet "$TOOLS/tcpprobe" once 203.0.113.10 20001 200 >/dev/null || fail "not repaired in 3 s"
	end=$(date +%s%N)
	log "repaired after $(((end - start) / 1000000)) ms"
	[ $(((end - start) / 1000000)) -lt 1000 ] || fail "took $(((end - start) / 1000000)) ms"
	grep -q 'vanished' "$T_DIR/netd.log"
	lab nft list set bridge vlab port_addrs | grep -q '"vl1" . 52:54:00:00:00:01 . 10.77.0.2' ||
		fail "the bridge table was not rebuilt"
}

t_bridge_table_deleted_alone_is_rebuilt() {
	lab nft delete table bridge vlab
	wait_for 3 sh -c "ip netns exec $LAB nft list set bridge vlab port_addrs | grep -q '\"vl2\" . 52:54:00:00:00:02 . 10.77.0.3'" ||
		fail "bridge table not rebuilt in 3 s"
	egress_ok 1 || fail "vm1 cut off after the rebuild"
}

t_put_and_del_right_after_flush() {
	lab nft flush ruleset
	rpc_ok "{\"v\":1,\"op\":\"put\",\"mapping\":$(mapping s3 52:54:00:00:00:03 10.77.0.4 2222 203.0.113.10 20002 vl3)}" >/dev/null
	[ "$(inet "$TOOLS/tcpprobe" once 203.0.113.10 20002)" = vm3 ] || fail "put after flush"
	[ "$(inet "$TOOLS/tcpprobe" once 203.0.113.10 20001)" = vm1 ] || fail "others after flush"
	lab nft flush ruleset
	rpc_ok '{"v":1,"op":"del","student":"s3"}' >/dev/null
	if inet "$TOOLS/tcpprobe" once 203.0.113.10 20002 700; then fail "del after flush"; fi
	[ "$(inet "$TOOLS/tcpprobe" once 203.0.113.10 20001)" = vm1 ]
}

t_kill9_keeps_open_connection() {
	local pid
	bg_start pid ip netns exec "$INET" "$TOOLS/tcpprobe" hold 203.0.113.10 20001 3000
	sleep 0.5
	kill -KILL "$(netd_pid)"
	wait_for 5 sh -c "! kill -0 $(netd_pid) 2>/dev/null"
	netd_start
	wait "$pid" || fail "the open connection broke across kill -9 and restart"
	[ "$(inet "$TOOLS/tcpprobe" once 203.0.113.11 20001)" = vm2 ]
	printf '{"v":1,"op":"dump"}\n' | rpc | grep -q '"student":"x1000"' || fail "mappings lost across restart"
	printf '{"v":1,"op":"dump"}\n' | rpc | grep -q '"port":"vl2"' || fail "ports lost across restart"
	lab nft list set bridge vlab port_addrs | grep -q '"vl2" . 52:54:00:00:00:02 . 10.77.0.3' ||
		fail "port elements lost across restart"
}

t_sigterm_leaves_rules_and_restart_changes_nothing() {
	local before after
	before=$(lab ip -4 -o addr show dev labbr0)
	netd_stop
	[ "$(inet "$TOOLS/tcpprobe" once 203.0.113.10 20001)" = vm1 ] || fail "DNAT stopped with netd"
	netd_start
	netd_stop
	netd_start
	after=$(lab ip -4 -o addr show dev labbr0)
	[ "$before" = "$after" ] || fail "bridge addresses changed: $before -> $after"
	[ "$(lab ip -o link show type bridge | wc -l)" = 1 ]
	[ "$(inet "$TOOLS/tcpprobe" once 203.0.113.10 20001)" = vm1 ]
}

t_dnsmasq_is_restarted_when_it_dies() {
	local pid newpid
	pid=$(printf '{"v":1,"op":"status"}\n' | rpc | grep -o '"dnsmasq_pid":[0-9]*' | cut -d: -f2)
	[ -n "$pid" ] && [ "$pid" -gt 0 ]
	kill -KILL "$pid"
	wait_for 5 sh -c "printf '{\"v\":1,\"op\":\"status\"}\n' | ip netns exec $LAB $TOOLS/rpc $SOCK | grep -q '\"dnsmasq_pid\":[1-9]' && ! printf '{\"v\":1,\"op\":\"status\"}\n' | ip netns exec $LAB $TOOLS/rpc $SOCK | grep -q '\"dnsmasq_pid\":$pid,'"
	ip -n "$P-vm2" addr flush dev eth0
	vm_dhcp 2 || fail "no lease from the restarted dnsmasq"
	[ "$(vm_ip 2)" = 10.77.0.3 ]
}

t_sighup_reload_applies_egress_and_keeps_bad_config_out() {
	cp "$CONF" "$T_DIR/lab.conf.orig"
	sed -i 's/egress = true;/egress = false;/' "$CONF"
	kill -HUP "$(netd_pid)"
	wait_for 3 sh -c "! ip netns exec $P-vm1 $TOOLS/tcpprobe once 203.0.113.100 8080 300" || fail "egress still on"
	[ "$(inet "$TOOLS/tcpprobe" once 203.0.113.10 20001)" = vm1 ] || fail "DNAT lost on reload"
	echo 'this is { not a config' >"$CONF"
	kill -HUP "$(netd_pid)"
	sleep 0.3
	kill -0 "$(netd_pid)" || fail "netd died on a bad config"
	grep -q 'reload refused' "$T_DIR/netd.log" || fail "no refusal logged"
	cp "$T_DIR/lab.conf.orig" "$CONF"
	kill -HUP "$(netd_pid)"
	wait_for 3 ip netns exec "$P-vm1" "$TOOLS/tcpprobe" once 203.0.113.100 8080 300 || fail "egress not back"
}

t_socket_refuses_other_users() {
	local r
	lab stat -c '%a' "$SOCK" | grep -qx 660
	# Open the file mode wide to reach netd's own SO_PEERCRED check.
	chmod 0666 "$SOCK"
	r=$(printf '{"v":1,"op":"status"}\n' | lab setpriv --reuid 65534 --regid 65534 --clear-groups "$TOOLS/rpc" "$SOCK" || true)
	chmod 0660 "$SOCK"
	case $r in *'"code":"denied"'*) ;; *) fail "unprivileged peer got: $r" ;; esac
}

t_teardown_removes_what_netd_made() {
	local dpid
	dpid=$(printf '{"v":1,"op":"status"}\n' | rpc | grep -o '"dnsmasq_pid":[0-9]*' | cut -d: -f2)
	netd_stop
	lab "$NETD" -c "$CONF" --teardown 2>>"$T_DIR/netd.log" || fail "teardown failed"
	if lab nft list table ip vlab >/dev/null 2>&1; then fail "table still there"; fi
	if lab nft list table bridge vlab >/dev/null 2>&1; then fail "bridge table still there"; fi
	if lab ip link show labbr0 >/dev/null 2>&1; then fail "bridge still there"; fi
	if [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null; then fail "dnsmasq $dpid still running"; fi
	# A second teardown is harmless.
	lab "$NETD" -c "$CONF" --teardown 2>>"$T_DIR/netd.log"
}

t_config_errors_exit_2() {
	local rc=0
	"$NETD" -c "$T_DIR/does-not-exist.conf" --check-config 2>"$T_DIR/err" || rc=$?
	[ $rc -eq 2 ] && grep -q 'does-not-exist.conf' "$T_DIR/err"
	printf 'network = { subnet = "10.0.0.0/33"; };\n' >"$T_DIR/bad.conf"
	rc=0
	"$NETD" -c "$T_DIR/bad.conf" --check-config 2>"$T_DIR/err" || rc=$?
	[ $rc -eq 2 ] && grep -q 'bad.conf:1' "$T_DIR/err"
}

echo "netd namespace tests (namespaces $P-*)"
setup_or_exit netns
run_test t_bridge_has_gateway_and_forwarding
run_test t_dhcp_gives_each_vm_its_fixed_ip
run_test t_dhcp_gives_unknown_mac_nothing
run_test t_student_port_without_mapping_gets_nothing_through
run_test t_dnat_reaches_the_right_vm_only
run_test t_unmapped_port_is_refused
run_test t_routed_connection_into_lab_without_dnat_is_dropped
run_test t_vm_cannot_reach_another_vm
run_test t_vm_reaches_host_only_for_dhcp_dns
run_test t_vm_egress_is_masqueraded
run_test t_vm_with_a_classmates_mac_gets_nothing_through
run_test t_vm_with_a_classmates_ip_cannot_take_it
run_test t_vm_with_a_made_up_mac_gets_nothing_through
run_test t_arp_spoofing_leaves_the_gateways_neighbour_alone
run_test t_bad_requests_are_refused_without_change
run_test t_oversized_line_is_refused
run_test t_sync_1000_while_client_loops
run_test t_del_cuts_new_connections
run_test t_del_of_a_vanished_port_element_rebuilds
run_test t_flush_ruleset_is_repaired_within_1s
run_test t_bridge_table_deleted_alone_is_rebuilt
run_test t_put_and_del_right_after_flush
run_test t_kill9_keeps_open_connection
run_test t_sigterm_leaves_rules_and_restart_changes_nothing
run_test t_dnsmasq_is_restarted_when_it_dies
run_test t_sighup_reload_applies_egress_and_keeps_bad_config_out
run_test t_socket_refuses_other_users
run_test t_teardown_removes_what_netd_made
run_test t_config_errors_exit_2
finish netns
