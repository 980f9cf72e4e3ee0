#!/bin/bash
# Kernel smoke test for netd/bridge.c and netd/dhcp.c: a real bridge made over rtnetlink,
# a real dnsmasq supervised by dhcp.c, busybox udhcpc clients behind veth pairs.
# Needs root. Creates only the h-br-* namespaces and one temporary directory, and removes
# them, and every process it started, on any exit (trap). KEEP=1 keeps the directory.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
NS_PREFIX=h-br
. "$HERE/lib.sh"

LAB=h-br-lab
VM1=h-br-vm1
VM2=h-br-vm2
BR=labbr0
UDHCPC_SCRIPT=$HERE/udhcpc.script

if [ "$(id -u)" -ne 0 ]; then
	echo "bridge_dhcp_smoke: SKIP (needs root)"
	exit 77
fi
for c in ip cc pkg-config busybox /usr/sbin/dnsmasq; do
	command -v "$c" >/dev/null || { echo "bridge_dhcp_smoke: SKIP (no $c)"; exit 77; }
done
for ns in $LAB $VM1 $VM2; do
	if ip netns list | grep -qw "$ns"; then
		echo "bridge_dhcp_smoke: namespace $ns already exists (an earlier run?); not touching it"
		exit 1
	fi
done

T_DIR=$(mktemp -d /tmp/bridge_dhcp_smoke.XXXXXX) || exit 1
trap cleanup_all EXIT
trap 'exit 130' INT TERM HUP
# dnsmasq drops to "nobody" and rereads the hosts file under $T_DIR/lab/state as that user.
chmod 0755 "$T_DIR"
DIR=$T_DIR/lab
DRIVER=$T_DIR/bridge_dhcp_driver
PIDFILE=$DIR/run/dnsmasq.pid
HOSTS=$DIR/state/dhcp-hosts

echo "bridge_dhcp_smoke: building the driver"
# shellcheck disable=SC2046
(cd "$ROOT" && cc -std=c11 -D_GNU_SOURCE -I. -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	-Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter \
	-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
	$(pkg-config --cflags libnl-route-3.0 json-c) \
	tests/tools/bridge_dhcp_driver.c netd/bridge.c netd/dhcp.c common/addr.c common/fsutil.c common/log.c \
	-o "$DRIVER" $(pkg-config --libs libnl-route-3.0)) || exit 1

lab() { ip netns exec "$LAB" "$@"; }
dnsmasq_pid() { cat "$PIDFILE" 2>/dev/null; }
# alive PID: running and not a zombie (an orphan's zombie may linger if PID 1 is no init).
alive() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${st#Z}" = "$st" ]; }
not_alive() { ! alive "$1"; }
is_dnsmasq() { alive "$1" && grep -q dnsmasq "/proc/$1/comm" 2>/dev/null; }
# udhcpc VM: one DHCP exchange in the VM's namespace (fails if no lease in 5 tries).
udhcpc() { ip netns exec "$1" busybox udhcpc -i eth0 -n -q -t 5 -T 1 -s "$UDHCPC_SCRIPT"; }

# vm_add NS MAC PORT: a namespace whose eth0 (with MAC) is a port of the lab bridge.
vm_add() {
	netns_add "$1" || return 1
	ip -n "$LAB" link add "$3" type veth peer name eth0 netns "$1" || return 1
	ip -n "$LAB" link set "$3" master "$BR" up || return 1
	ip -n "$1" link set eth0 address "$2" up
}

serve_start() {
	: >"$T_DIR/serve.out"
	bg_start SERVE ip netns exec "$LAB" "$DRIVER" serve "$BR" "$DIR" \
		>>"$T_DIR/serve.out" 2>>"$T_DIR/serve.err"
	wait_for 10 grep -q '^ready' "$T_DIR/serve.out" >/dev/null
}

# --- the bridge -----------------------------------------------------------------------

bridge_ensure_creates_bridge_with_gateway() {
	local out
	out=$(lab "$DRIVER" ensure "$BR")
	[ "$out" = "created=1" ] || fail "first ensure said '$out'"
	ip -n "$LAB" -d link show "$BR" | grep -q 'bridge ' || fail "$BR is not a bridge"
	ip -n "$LAB" link show "$BR" | grep -q '[<,]UP[,>]' || fail "$BR is not up"
	ip -n "$LAB" -4 addr show "$BR" | grep -q 'inet 10.77.0.1/24 brd 10.77.0.255' ||
		fail "no gateway address"
	[ -z "$(ip -n "$LAB" -6 addr show dev "$BR")" ] || fail "$BR has IPv6 addresses"
	[ "$(lab cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || fail "ip_forward off"
	[ "$(lab cat /proc/sys/net/ipv6/conf/$BR/disable_ipv6)" = 1 ] || fail "IPv6 still on"
	[ "$(lab "$DRIVER" ifindex "$BR")" = "$(lab cat /sys/class/net/$BR/ifindex)" ] ||
		fail "bridge_ifindex disagrees with sysfs"
	[ "$(lab "$DRIVER" ifindex nosuchbr0)" = -19 ] || fail "ifindex of a missing link is not -ENODEV"
}

bridge_ensure_again_changes_nothing() {
	local before after out mon
	before=$(ip -n "$LAB" addr show "$BR")
	# Any netlink notification for links or addresses would mean it changed something.
	ip -n "$LAB" monitor link address >"$T_DIR/monitor" 2>&1 &
	mon=$!
	sleep 0.3
	out=$(lab "$DRIVER" ensure "$BR")
	sleep 0.3
	kill "$mon"
	wait "$mon" 2>/dev/null || true
	[ "$out" = "created=0" ] || fail "second ensure said '$out'"
	after=$(ip -n "$LAB" addr show "$BR")
	[ "$before" = "$after" ] || fail "link or addresses changed: $before // $after"
	[ ! -s "$T_DIR/monitor" ] || fail "netlink events during the second ensure: $(cat "$T_DIR/monitor")"
}

bridge_ensure_refuses_a_non_bridge() {
	ip -n "$LAB" link add notbr0 type veth peer name notbr1
	if lab "$DRIVER" ensure notbr0 2>"$T_DIR/refuse.err"; then
		fail "ensure accepted a veth"
	fi
	grep -q 'File exists' "$T_DIR/refuse.err" || fail "not -EEXIST: $(cat "$T_DIR/refuse.err")"
	grep -q 'not a bridge' "$T_DIR/refuse.err" || fail "no clear log line"
	[ -z "$(ip -n "$LAB" -4 addr show notbr0)" ] || fail "address added to the veth"
	! ip -n "$LAB" link show notbr0 | grep -q '[<,]UP[,>]' || fail "veth brought up"
	lab "$DRIVER" remove notbr0 2>/dev/null && fail "bridge_remove deleted a veth"
	ip -n "$LAB" link show notbr0 >/dev/null || fail "veth gone"
	ip -n "$LAB" link del notbr0
}

# --- dnsmasq --------------------------------------------------------------------------

dhcp_refuses_a_state_dir_nobody_cannot_search() {
	mkdir -m 0700 "$T_DIR/private"
	if lab "$DRIVER" serve "$BR" "$T_DIR/private" >/dev/null 2>"$T_DIR/private.err"; then
		fail "served from a 0700 directory"
	fi
	grep -q "chmod o+x $T_DIR/private" "$T_DIR/private.err" ||
		fail "no fix in the message: $(cat "$T_DIR/private.err")"
}

dhcp_runs_as_nobody_without_blocked_signals() {
	local pid
	pid=$(dnsmasq_pid)
	is_dnsmasq "$pid" || fail "pid file $pid is not dnsmasq"
	[ "$(ps -o user= -p "$pid")" = nobody ] || fail "dnsmasq runs as $(ps -o user= -p "$pid")"
	[ "$(ps -o ppid= -p "$pid" | tr -d ' ')" = "$SERVE" ] || fail "not the driver's child"
	grep -q '^SigBlk:[[:space:]]*0*$' "/proc/$pid/status" || fail "signals blocked in dnsmasq"
	[ "$(stat -c %a "$HOSTS")" = 644 ] || fail "hosts file mode $(stat -c %a "$HOSTS")"
	[ "$(cat "$HOSTS")" = "52:54:00:00:00:01,10.77.0.2,vm-one" ] || fail "hosts: $(cat "$HOSTS")"
}

dhcp_known_mac_gets_its_address() {
	udhcpc "$VM1" || fail "no lease for the known MAC"
	ip -n "$VM1" -4 addr show eth0 | grep -q 'inet 10.77.0.2/24' || fail "wrong address"
	ip -n "$VM1" route show default | grep -q 'via 10.77.0.1' || fail "no default route"
	grep -q ' 52:54:00:00:00:01 10.77.0.2 vm-one ' "$DIR/state/dnsmasq.leases" ||
		fail "not in the lease file (written by dnsmasq as nobody)"
	ip netns exec "$VM1" busybox ping -c 1 -W 2 10.77.0.1 >/dev/null || fail "gateway unreachable"
}

dhcp_unknown_mac_gets_no_lease() {
	if udhcpc "$VM2"; then
		fail "unknown MAC got a lease"
	fi
	[ -z "$(ip -n "$VM2" -4 addr show eth0)" ] || fail "unknown MAC has an address"
}

dhcp_reload_serves_a_new_host_without_restart() {
	local pid
	pid=$(dnsmasq_pid)
	kill -USR1 "$SERVE"
	wait_for 5 grep -q '^reloaded' "$T_DIR/serve.out" || fail "driver did not reload"
	grep -qx '52:54:00:00:00:02,10.77.0.3' "$HOSTS" || fail "hosts: $(cat "$HOSTS")"
	[ ! -e "$HOSTS.tmp" ] || fail "temp file left"
	udhcpc "$VM2" || fail "no lease after reload"
	ip -n "$VM2" -4 addr show eth0 | grep -q 'inet 10.77.0.3/24' || fail "wrong address"
	[ "$(dnsmasq_pid)" = "$pid" ] && kill -0 "$pid" || fail "dnsmasq was restarted, not reloaded"
}

dhcp_dead_child_is_restarted() {
	local old new
	old=$(dnsmasq_pid)
	kill -KILL "$old"
	wait_for 5 grep -q '^restarted' "$T_DIR/serve.out" || fail "not restarted"
	wait_for 5 test -s "$PIDFILE"
	new=$(dnsmasq_pid)
	[ "$new" != "$old" ] && is_dnsmasq "$new" || fail "pid file says $new (was $old)"
	ip -n "$VM1" -4 addr flush dev eth0
	udhcpc "$VM1" || fail "no lease from the restarted dnsmasq"
}

# netd killed with -9. PR_SET_PDEATHSIG does not take dnsmasq along: the kernel clears it
# when dnsmasq drops to "nobody". So the orphan keeps serving (VMs keep their leases) and
# the pid file must lead the next start to it.
dhcp_orphan_keeps_serving_after_parent_kill() {
	alive "$ORPHAN" || fail "dnsmasq $ORPHAN died with its parent: update dhcp.c's comments"
	[ "$(dnsmasq_pid)" = "$ORPHAN" ] || fail "pid file does not name the orphan"
}

dhcp_start_stops_a_stale_dnsmasq() {
	wait_for 5 not_alive "$ORPHAN" || fail "stale dnsmasq $ORPHAN still running"
	grep -q "stopping stale dnsmasq $ORPHAN" "$T_DIR/serve.err" || fail "no log line"
	is_dnsmasq "$(dnsmasq_pid)" || fail "no new dnsmasq"
	[ "$(dnsmasq_pid)" != "$ORPHAN" ] || fail "pid file still names the orphan"
	ip -n "$VM1" -4 addr flush dev eth0
	udhcpc "$VM1" || fail "no lease from the new dnsmasq"
}

dhcp_stop_on_sigterm_cleans_up() {
	[ "$SERVE_RC" -eq 0 ] || fail "driver exit status $SERVE_RC"
	not_alive "$STOPPED_DNSMASQ" || fail "dnsmasq $STOPPED_DNSMASQ still running"
	[ ! -e "$PIDFILE" ] || fail "pid file left"
}

bridge_remove_deletes_and_is_idempotent() {
	lab "$DRIVER" remove "$BR" || fail "remove failed"
	! ip -n "$LAB" link show "$BR" >/dev/null 2>&1 || fail "$BR still there"
	lab "$DRIVER" remove "$BR" || fail "removing a missing bridge is not 0"
}

netns_add "$LAB" || exit 1
echo "bridge_dhcp_smoke:"
run_test bridge_ensure_creates_bridge_with_gateway
run_test bridge_ensure_again_changes_nothing
run_test bridge_ensure_refuses_a_non_bridge
run_test dhcp_refuses_a_state_dir_nobody_cannot_search

vm_add "$VM1" 52:54:00:00:00:01 vm1p || exit 1
vm_add "$VM2" 52:54:00:00:00:02 vm2p || exit 1
# Processes are started and reaped here in the main shell; run_test's subshells only check.
if serve_start; then
	run_test dhcp_runs_as_nobody_without_blocked_signals
	run_test dhcp_known_mac_gets_its_address
	run_test dhcp_unknown_mac_gets_no_lease
	run_test dhcp_reload_serves_a_new_host_without_restart
	run_test dhcp_dead_child_is_restarted

	ORPHAN=$(dnsmasq_pid)
	kill -KILL "$SERVE"
	wait "$SERVE" 2>/dev/null
	sleep 0.5
	run_test dhcp_orphan_keeps_serving_after_parent_kill
	# The netd that comes back finds the orphan through the pid file and stops it.
	serve_start
	run_test dhcp_start_stops_a_stale_dnsmasq

	STOPPED_DNSMASQ=$(dnsmasq_pid)
	kill -TERM "$SERVE"
	wait "$SERVE" 2>/dev/null
	SERVE_RC=$?
	run_test dhcp_stop_on_sigterm_cleans_up
else
	log "driver never became ready:"
	sed 's/^/  | /' "$T_DIR/serve.err" >&2
	T_FAIL=$((T_FAIL + 1))
fi

run_test bridge_remove_deletes_and_is_idempotent
summary bridge_dhcp_smoke
