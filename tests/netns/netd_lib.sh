# netd in namespaces: what tests/netns/netd.sh and tests/netns/sleep.sh share. Source it
# from the repository's top with P set (the prefix of the namespaces, with the PID in it)
# and the name of the temporary directory as its argument:
#   P=vn$$; . tests/netns/netd_lib.sh vlab-netd
# It sets BUILD, NETD (the sanitized build), TOOLS, T_DIR, LAB, INET, CONF and SOCK,
# sources tests/netns/lib.sh and installs its cleanup.
BUILD=${BUILD:-build}
NETD=${NETD:-$BUILD/san/netd}
TOOLS=$BUILD/tools
T_DIR=$(mktemp -d "/tmp/$1.XXXXXX")
chmod 0755 "$T_DIR"   # dnsmasq drops to nobody and rereads its hosts file here
LAB=$P-lab INET=$P-inet
. tests/netns/lib.sh
trap cleanup_all EXIT
trap 'exit 130' INT TERM

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

CONF=$T_DIR/lab.conf
SOCK=$T_DIR/run/netd.sock
NETD_PID=

lab() { ip netns exec "$LAB" "$@"; }
inet() { ip netns exec "$INET" "$@"; }
rpc() { lab "$TOOLS/rpc" "$SOCK"; }

# rpc_ok JSON: sends one request, fails unless the reply has "ok":true.
rpc_ok() {
	local r
	r=$(printf '%s\n' "$1" | rpc) || return 1
	case $r in *'"ok":true'*) printf '%s\n' "$r" ;; *) log "reply: $r"; return 1 ;; esac
}

mapping() { # student mac ip vm_port public_ip public_port [port]
	printf '{"student":"%s","mac":"%s","ip":"%s","vm_port":%s,"public_ip":"%s","public_port":%s' "${@:1:6}"
	[ $# -lt 7 ] || printf ',"port":"%s"' "$7"
	printf '}'
}

# netd's PID lives in a file: tests run in subshells and may restart it.
netd_pid() { cat "$T_DIR/netd.pid" 2>/dev/null; }

netd_start() {
	bg_start NETD_PID ip netns exec "$LAB" "$NETD" -d -c "$CONF" 2>>"$T_DIR/netd.log"
	echo "$NETD_PID" >"$T_DIR/netd.pid"
	wait_for 10 test -S "$SOCK" || { log "netd did not come up"; tail -20 "$T_DIR/netd.log" >&2; return 1; }
	wait_for 5 rpc_ok '{"v":1,"op":"status"}' >/dev/null
}

netd_stop() {
	stop_pid "$(netd_pid)"
	rm -f "$T_DIR/netd.pid"
}

vm_add() { # N MAC [PORT]: namespace vmN with eth0 (MAC) on the bridge port PORT (vlN)
	local n=$1 mac=$2 port=${3:-vl$1} ns=$P-vm$1
	netns_add "$ns" || return 1
	ip -n "$LAB" link add "$port" type veth peer name eth0 netns "$ns" || return 1
	ip -n "$LAB" link set "$port" master labbr0 up || return 1
	bridge -n "$LAB" link set dev "$port" isolated on || return 1
	ip -n "$ns" link set eth0 address "$mac" up || return 1
}

vm() { local n=$1; shift; ip netns exec "$P-vm$n" "$@"; }

# lab_up: the lab and the Internet, the two joined by a veth (up0 in the lab with the
# public addresses 203.0.113.10 and .11, inet0 with 203.0.113.100), netd running in the
# lab with configs/test.conf's settings under T_DIR.
lab_up() {
	mkdir -p "$T_DIR/run" "$T_DIR/state"
	sed -e "s|@DIR@|$T_DIR|g" -e "s|@IMAGE_DIR@|$T_DIR/img|g" configs/test.conf >"$CONF"
	netns_add "$LAB" && netns_add "$INET" || return 1
	ip -n "$LAB" link add up0 type veth peer name inet0 netns "$INET"
	ip -n "$LAB" addr add 203.0.113.10/24 dev up0
	ip -n "$LAB" addr add 203.0.113.11/24 dev up0
	ip -n "$LAB" link set up0 up
	ip -n "$INET" addr add 203.0.113.100/24 dev inet0
	ip -n "$INET" link set inet0 up
	netd_start
}

# setup_or_exit LABEL: runs the script's setup(); if it fails, shows why and exits.
setup_or_exit() {
	setup >"$T_DIR/setup.out" 2>&1 && return 0
	cat "$T_DIR/setup.out" >&2
	tail -30 "$T_DIR/netd.log" >&2
	T_FAIL=1
	summary "$1"
	exit 1
}

# finish LABEL: netd's log when a test failed, then the summary line and the status.
finish() {
	if [ "$T_FAIL" -ne 0 ]; then
		echo "--- netd log (tail) ---"
		tail -40 "$T_DIR/netd.log"
	fi
	summary "$1"
}
