#!/bin/bash
# Sleeping VMs, netd's side, against the real kernel, in network namespaces this script
# creates (see tests/netns/netd.sh for the lab):
#   lab   netd, the bridge, the public addresses 203.0.113.10 and .11 on "up0"
#   inet  "the Internet": 203.0.113.100, where the students' clients run
#   vmN   a VM stand-in on bridge port vlN with a static address and a TCP server on 22
#         that greets with "vmN" and echoes. A VM that sleeps is a port that is down:
#         its stack keeps its sockets as a saved guest keeps its RAM. vm4 does not exist
#         until a test makes it appear, vm5 never does.
# netd's events are read with tests/tools/netdwatch; TCP errors the client saw are read
# from its namespace's /proc/net/snmp (an ICMP error or a reset would show there).
# Everything it creates is removed at exit, also on failure (KEEP=1 keeps the files).
set -u
cd "$(dirname "$0")/../.."
P=vs$$
. tests/netns/netd_lib.sh vlab-sleep

now_ms() { date +%s%3N; }

# map N [FIELDS]: student sN's mapping (VM 10.77.0.N+1 on vlN, 203.0.113.1x:2000x) with
# the extra JSON FIELDS ('"idle_sleep":3,"asleep":true').
map() {
	local n=$1 pub=203.0.113.10 port=2000$1 m
	[ "$n" = 2 ] && pub=203.0.113.11 port=20001
	m=$(mapping "s$n" "52:54:00:00:00:0$n" "10.77.0.$((n + 1))" 22 "$pub" "$port" "vl$n")
	[ $# -lt 2 ] && { printf '%s' "$m"; return; }
	printf '%s,%s}' "${m%\}}" "$2"
}
endpoint() { [ "$1" = 2 ] && echo "203.0.113.11 20001" || echo "203.0.113.10 2000$1"; }

put() { rpc_ok "{\"v\":1,\"op\":\"put\",\"mapping\":$(map "$@")}" >/dev/null; }

# vm_up N: VM stand-in N, created if it does not exist yet, its port up.
vm_up() {
	local n=$1 ns=$P-vm$1
	if ! ip netns list | grep -qw "$ns"; then
		vm_add "$n" "52:54:00:00:00:0$n" || return 1
		ip -n "$ns" addr add "10.77.0.$((n + 1))/20" dev eth0 || return 1
		ip -n "$ns" route add default via 10.77.0.1 || return 1
		bg_start _pid ip netns exec "$ns" "$TOOLS/tcpecho" 22 "vm$n"
	fi
	ip -n "$LAB" link set "vl$n" up
}
# vm_down N: the VM is saved: gone from the bridge, its state kept.
vm_down() { ip -n "$LAB" link set "vl$1" down; }

# probe N ARGS...: tcpprobe MODE to student N's public endpoint from the Internet.
probe() { local mode=$1 n=$2; shift 2; inet "$TOOLS/tcpprobe" "$mode" $(endpoint "$n") "$@"; }

# snmp GROUP FIELD: a counter of the Internet namespace's stack (/proc/net/snmp).
snmp() {
	inet awk -v g="$1:" -v f="$2" '$1 == g { if (!c) { for (i = 2; i <= NF; i++) if ($i == f) c = i }
		else { print $c; exit } }' /proc/net/snmp
}
# client_errors: ICMP destination-unreachable messages and resets the client received.
client_errors() { echo "$(snmp Icmp InDestUnreachs) $(snmp Tcp EstabResets) $(snmp Tcp AttemptFails)"; }

# watch_start FILE [MS]: a watcher in the background, its events in FILE; returns once
# netd has accepted the subscription.
watch_start() {
	bg_start _pid ip netns exec "$LAB" "$TOOLS/netdwatch" "$SOCK" "${2:-60000}" >"$1"
	wait_for 5 grep -q '^# watching' "$1" || fail "watcher not subscribed"
}
# ev_ts FILE EVENT STUDENT [AFTER_MS]: the time of the first such event at or after AFTER.
ev_ts() {
	awk -v e="\"event\":\"$2\"" -v s="\"student\":\"$3\"" -v a="${4:-0}" \
		'index($0, e) && index($0, s) && $1 >= a { print $1; exit }' "$1"
}
has_ev() { [ -n "$(ev_ts "$@")" ]; }
# ev_count FILE EVENT [STUDENT]
ev_count() { grep -c "\"event\":\"$2\".*\"student\":\"${3:-}" "$1"; }

status_field() { printf '{"v":1,"op":"status"}\n' | rpc | grep -o "\"$1\":[0-9a-z]*" | cut -d: -f2; }
idle_s() { printf '{"v":1,"op":"dump"}\n' | rpc | grep -o "\"student\":\"$1\"[^}]*" | grep -o '"idle_s":[0-9a-z]*' | cut -d: -f2; }
asleep_set() { lab nft list set ip vlab asleep; }

setup() {
	lab_up || return 1
	for i in 1 2 3; do
		vm_up $i || return 1
		put $i || return 1
	done
	put 4 '"asleep":true' && put 5 || return 1
	for i in 1 2 3; do
		wait_for 5 probe once $i 500 >/dev/null || { log "vm$i not reachable"; return 1; }
	done
}

# --- the tests ---------------------------------------------------------------

t_sleep_fields_are_checked() {
	local f r
	for f in '"idle_sleep":"3"' '"idle_sleep":-1' '"idle_sleep":604801' '"idle_sleep":3.5' \
		 '"asleep":"yes"' '"asleep":1' '"asleep":null'; do
		r=$(printf '{"v":1,"op":"put","mapping":%s}\n' "$(map 1 "$f")" | rpc)
		case $r in *'"code":"invalid"'*) ;; *) fail "put with $f: $r" ;; esac
	done
	put 1 '"idle_sleep":604800,"asleep":false'
	printf '{"v":1,"op":"dump"}\n' | rpc | grep -q '"student":"s1"[^}]*"idle_sleep":604800' ||
		fail "idle_sleep not in the dump"
	put 1
	printf '{"v":1,"op":"dump"}\n' | rpc | grep -q '"student":"s4"[^}]*"asleep":true' ||
		fail "asleep not in the dump"
	wait_for 3 grep -q '"student":"s4"[^}]*"asleep":true' "$T_DIR/state/netd-mappings.json" ||
		fail "asleep not in the state file"
	asleep_set | grep -q 'elements = { 10.77.0.5 }' || fail "asleep set: $(asleep_set)"
}

t_idle_event_after_idle_sleep_and_not_before() {
	local w=$T_DIR/w1 hold t1 t_idle t_hold_end busy quiet
	watch_start "$w"
	# s2 is busy (a packet every 100 ms for 6 s), s1 gets one connection and then nothing.
	bg_start hold ip netns exec "$INET" "$TOOLS/tcpprobe" hold $(endpoint 2) 6000
	[ "$(probe once 1)" = vm1 ] || fail "vm1 did not answer"
	t1=$(now_ms)
	put 1 '"idle_sleep":3'
	put 2 '"idle_sleep":3'
	wait_for 8 has_ev "$w" idle s1 || fail "no idle event for s1: $(cat "$w")"
	t_idle=$(ev_ts "$w" idle s1)
	log "s1 idle $((t_idle - t1)) ms after its last packet"
	[ $((t_idle - t1)) -ge 2900 ] && [ $((t_idle - t1)) -le 4500 ] ||
		fail "s1's idle event came $((t_idle - t1)) ms after its last packet (want ~3000)"
	grep -q '"event":"idle","student":"s1","idle_s":3}' "$w" || fail "idle_s: $(grep s1 "$w")"
	# A classmate's traffic is not s1's activity, and s1's silence is not the classmate's.
	busy=$(idle_s s2) quiet=$(idle_s s1)
	[ "$busy" -le 1 ] && [ "$quiet" -ge 3 ] || fail "idle_s: s2 $busy (busy), s1 $quiet (quiet)"
	# The kernel keys activity by the VM's address, never by the client's.
	lab nft list set ip vlab active | grep -q '10\.77\.0\.3 expires' || fail "no element for s2's VM"
	if lab nft list set ip vlab active | grep -q '203\.0\.113'; then fail "a client's address in active"; fi
	wait "$hold" || fail "the busy client's connection broke"
	t_hold_end=$(now_ms)
	if has_ev "$w" idle s2 0; then
		[ "$(ev_ts "$w" idle s2)" -ge $((t_hold_end - 300)) ] || fail "s2 told idle while busy"
	fi
	wait_for 6 has_ev "$w" idle s2 || fail "no idle event for s2 after its traffic stopped"
	[ "$(ev_ts "$w" idle s2)" -ge $((t_hold_end + 2500)) ] || fail "s2 told idle too early"
	[ "$(ev_count "$w" idle s1)" = 1 ] || fail "s1 told more than once: $(cat "$w")"
	put 1 && put 2
}

t_missing_vm_not_marked_asleep_gets_no_route_to_host() {
	# The pitfall the asleep set exists for: a VM that is not there, DNATed anyway, makes
	# the host answer ICMP host-unreachable, and the client's connect() fails at once.
	local before after out
	before=$(client_errors)
	out=$(probe timed 5 10000) && fail "connected to a VM that does not exist: $out"
	after=$(client_errors)
	log "client: $out; ICMP unreachable/resets/attempt fails $before -> $after"
	case $out in "error No route to host"*) ;; *) fail "client saw '$out'" ;; esac
	[ "${after%% *}" -gt "${before%% *}" ] || fail "no ICMP counted: $before -> $after"
}

t_wake_connect_completes_when_the_vm_appears() {
	local w=$T_DIR/w2 out t0 t_wake before after pid ms
	watch_start "$w"
	before=$(client_errors)
	bg_start pid sh -c "ip netns exec $INET $TOOLS/tcpprobe timed $(endpoint 4) 20000 >$T_DIR/conn4 2>$T_DIR/conn4.err"
	wait_for 3 has_ev "$w" wake s4 || fail "no wake event for s4: $(cat "$w")"
	t_wake=$(ev_ts "$w" wake s4)
	t0=$(sed -n 's/^connect at //p' "$T_DIR/conn4.err")
	log "wake event $((t_wake - t0)) ms after connect()"
	[ $((t_wake - t0)) -le 1000 ] || fail "wake event $((t_wake - t0)) ms after connect()"
	grep -q '"event":"wake","student":"s4","client":"203.0.113.100:[0-9]*"}' "$w" ||
		fail "wake event: $(cat "$w")"
	# The VM appears only now, after its first SYN was dropped; labd marks it awake.
	vm_up 4
	put 4
	wait "$pid"
	out=$(cat "$T_DIR/conn4")
	after=$(client_errors)
	log "client: $out; ICMP unreachable/resets/attempt fails $before -> $after"
	case $out in "vm4 "*) ;; *) fail "the connect() did not complete: '$out'" ;; esac
	ms=${out#vm4 }
	[ "$ms" -ge 900 ] || fail "connected in $ms ms: not by a retransmission"
	[ "$before" = "$after" ] || fail "the client got ICMP errors or resets: $before -> $after"
	[ "$(status_field wakes)" -ge 1 ] || fail "status counts no wake"
	[ "$(printf '{"v":1,"op":"status"}\n' | rpc | grep -o '"asleep":[0-9]*')" = '"asleep":0' ] ||
		fail "status: $(printf '{"v":1,"op":"status"}\n' | rpc)"
}

t_open_session_wakes_its_vm_and_goes_on() {
	local w=$T_DIR/w3 go=$T_DIR/go3 pid out before after t0 t_wake
	watch_start "$w"
	bg_start pid sh -c "ip netns exec $INET $TOOLS/tcpprobe session $(endpoint 1) $go 20000 >$T_DIR/sess1"
	wait_for 3 grep -q '^open' "$T_DIR/sess1" || fail "session not open: $(cat "$T_DIR/sess1")"
	# labd marks it asleep, then saves it.
	put 1 '"asleep":true'
	vm_down 1
	before=$(client_errors)
	t0=$(now_ms)
	touch "$go"          # the student types after a long pause
	wait_for 3 has_ev "$w" wake s1 || fail "no wake event for s1's session: $(cat "$w")"
	t_wake=$(ev_ts "$w" wake s1)
	log "wake event $((t_wake - t0)) ms after the session's packet"
	sleep 1              # the restore takes a while; the client retransmits meanwhile
	vm_up 1
	put 1
	wait "$pid"
	out=$(cat "$T_DIR/sess1")
	after=$(client_errors)
	log "session: $(echo $out); ICMP unreachable/resets/attempt fails $before -> $after"
	case $out in *"echo "*) ;; *) fail "the session did not go on: '$out'" ;; esac
	[ "$before" = "$after" ] || fail "the client got ICMP errors or resets: $before -> $after"
}

t_wake_names_the_sleeping_student_only() {
	local w=$T_DIR/w4 n out
	watch_start "$w"
	put 3 '"asleep":true'
	vm_down 3
	# Classmates' connections wake nobody.
	[ "$(probe once 1)" = vm1 ] && [ "$(probe once 2)" = vm2 ] || fail "classmates unreachable"
	# s3's client tries for 4.5 s: 5 SYNs, at most one wake every 2 s.
	out=$(probe timed 3 4500) && fail "s3 answered while asleep: $out"
	wait_for 2 has_ev "$w" wake s3 || fail "no wake for s3"
	n=$(ev_count "$w" wake s3)
	[ "$n" -ge 2 ] && [ "$n" -le 3 ] || fail "$n wake events for s3 in 4.5 s: $(cat "$w")"
	grep -v '"student":"s3"' "$w" | grep -q '"event":"wake"' && fail "a wake names another student: $(cat "$w")"
	vm_up 3
	put 3
	[ "$(probe once 3)" = vm3 ] || fail "vm3 not back"
}

t_stalled_watcher_does_not_hold_netd_back() {
	local w=$T_DIR/w5 t0
	bg_start _pid ip netns exec "$LAB" "$TOOLS/netdwatch" --stall "$SOCK" 30000
	watch_start "$w"
	put 3 '"asleep":true'
	vm_down 3
	probe timed 3 1500 >/dev/null || true   # no answer while it sleeps
	wait_for 2 has_ev "$w" wake s3 || fail "the reading watcher got no wake"
	t0=$(now_ms)
	rpc_ok '{"v":1,"op":"status"}' | grep -q '"watchers":[2-9]' || fail "status: watchers"
	[ $(($(now_ms) - t0)) -lt 1000 ] || fail "status took $(($(now_ms) - t0)) ms"
	vm_up 3
	put 3
}

t_restart_and_flush_keep_sleeping_vms_asleep() {
	local w=$T_DIR/w6 w2=$T_DIR/w6b before after
	put 3 '"asleep":true'
	vm_down 3
	[ "$(probe once 2)" = vm2 ]
	sleep 2
	before=$(idle_s s2)
	kill -KILL "$(netd_pid)"
	wait_for 5 sh -c "! kill -0 $(netd_pid) 2>/dev/null"
	netd_start
	asleep_set | grep -q 'elements = { 10.77.0.4 }' || fail "asleep set after restart: $(asleep_set)"
	after=$(idle_s s2)
	log "s2 idle_s $before before the restart, $after after"
	[ "$after" -ge "$before" ] || fail "s2's idle time restarted: $before -> $after"
	watch_start "$w"
	probe timed 3 1500 >/dev/null || true   # no answer while it sleeps
	wait_for 2 has_ev "$w" wake s3 || fail "no wake after the restart"
	lab nft flush ruleset
	wait_for 3 sh -c "ip netns exec $LAB nft list set ip vlab asleep 2>/dev/null | grep -q 'elements = { 10.77.0.4 }'" ||
		fail "asleep set not rebuilt"
	sleep 2              # past the wake de-duplication
	watch_start "$w2"
	probe timed 3 1500 >/dev/null || true   # no answer while it sleeps
	wait_for 2 has_ev "$w2" wake s3 || fail "no wake after the flush"
	vm_up 3
	put 3
	[ "$(probe once 3)" = vm3 ] || fail "vm3 not back"
}

echo "sleeping VMs, netd's side (namespaces $P-*)"
setup_or_exit sleep
run_test t_sleep_fields_are_checked
run_test t_idle_event_after_idle_sleep_and_not_before
run_test t_wake_connect_completes_when_the_vm_appears
run_test t_open_session_wakes_its_vm_and_goes_on
run_test t_wake_names_the_sleeping_student_only
run_test t_stalled_watcher_does_not_hold_netd_back
run_test t_restart_and_flush_keep_sleeping_vms_asleep
# Last: the SYN its client sent just before the ICMP error arrived fails its own neighbour
# lookup 3 s later, and that ICMP would count against a test that runs meanwhile.
run_test t_missing_vm_not_marked_asleep_gets_no_route_to_host
finish sleep
