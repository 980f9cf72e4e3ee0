# A whole lab in namespaces, for the end-to-end test and `make demo`. Source it after
# setting LAB_DIR (absolute, created here), LAB_NAME (namespace prefix) and BUILD.
#
#   $LAB_NAME-lab   private libvirtd (and its qemu guests), netd, labd, the bridge,
#                   public addresses 203.0.113.10 and .11 on "up0"
#   $LAB_NAME-inet  "the Internet": 203.0.113.100 on the other end of up0
#
# Nothing is added to the machine's own network namespace. lab_down removes everything
# lab_up made (processes by PID, namespaces, the bridge, the table), also half-made labs.

. "$(dirname "${BASH_SOURCE[0]}")/libvirtd.sh"

LAB_NS="$LAB_NAME-lab"
INET_NS="$LAB_NAME-inet"
LAB_CONF="$LAB_DIR/lab.conf"
GUEST_DIR=${GUEST_DIR:-$PWD/$BUILD/guest}
NETD_BIN=${NETD_BIN:-$PWD/$BUILD/netd}
LABD_BIN=${LABD_BIN:-$PWD/$BUILD/labd}
LABCTL_BIN=${LABCTL_BIN:-$PWD/$BUILD/labctl}

lab_log() { printf 'lab: %s\n' "$*" >&2; }

# lab_wait SECONDS CMD...: bounded retry every 100 ms.
lab_wait() {
	local limit=$1 end
	shift
	end=$(($(date +%s%N) + limit * 1000000000))
	while [ "$(date +%s%N)" -lt "$end" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	"$@"
}

lab_config() {
	sed -e "s|@DIR@|$LAB_DIR|g" -e "s|@IMAGE_DIR@|$GUEST_DIR|g" configs/test.conf >"$LAB_CONF"
}

lab_daemon_start() { # NAME BIN: starts BIN -d -c LAB_CONF inside the lab namespace
	local name=$1 bin=$2
	# A socket left by a daemon killed with -9 would make the readiness check lie.
	rm -f "$LAB_DIR/run/$name.sock"
	ip netns exec "$LAB_NS" "$bin" -d -c "$LAB_CONF" >>"$LAB_DIR/$name.log" 2>&1 &
	echo $! >"$LAB_DIR/$name.pid"
}

lab_daemon_stop() { # NAME [SIGNAL]
	local pidf="$LAB_DIR/$1.pid" pid i
	[ -f "$pidf" ] || return 0
	pid=$(cat "$pidf")
	kill "-${2:-TERM}" "$pid" 2>/dev/null
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$pidf"
}

netd_up() {
	lab_daemon_start netd "$NETD_BIN"
	lab_wait 10 test -S "$LAB_DIR/run/netd.sock" || { lab_log "netd did not start"; tail -20 "$LAB_DIR/netd.log" >&2; return 1; }
}

labd_up() {
	lab_daemon_start labd "$LABD_BIN"
	lab_wait 30 test -S "$LAB_DIR/run/labd.sock" || { lab_log "labd did not start"; tail -30 "$LAB_DIR/labd.log" >&2; return 1; }
}

lab_up() {
	mkdir -p "$LAB_DIR/run" "$LAB_DIR/state" "$LAB_DIR/pool"
	chmod 0755 "$LAB_DIR"      # dnsmasq runs as nobody and rereads its hosts file there
	lab_config
	ip netns add "$LAB_NS" || return 1
	ip netns add "$INET_NS" || return 1
	ip -n "$LAB_NS" link set lo up
	ip -n "$INET_NS" link set lo up
	ip -n "$LAB_NS" link add up0 type veth peer name inet0 netns "$INET_NS"
	ip -n "$LAB_NS" addr add 203.0.113.10/24 dev up0
	ip -n "$LAB_NS" addr add 203.0.113.11/24 dev up0
	ip -n "$LAB_NS" link set up0 up
	ip -n "$INET_NS" addr add 203.0.113.100/24 dev inet0
	ip -n "$INET_NS" link set inet0 up
	# The lab's default route points at the "Internet" side, as a real uplink would.
	ip -n "$LAB_NS" route add default via 203.0.113.100
	libvirtd_start "$LAB_DIR/libvirt" "$LAB_NS" || { lab_log "libvirtd did not start"; return 1; }
	netd_up || return 1
	labd_up || return 1
}

lab_down() {
	local ns pid
	lab_daemon_stop labd
	lab_daemon_stop netd
	[ -d "$LAB_DIR/libvirt" ] && libvirtd_stop "$LAB_DIR/libvirt" "$LAB_NS"
	if ip netns list | grep -qw "$LAB_NS"; then
		ip netns exec "$LAB_NS" "$NETD_BIN" -c "$LAB_CONF" --teardown >>"$LAB_DIR/netd.log" 2>&1
	fi
	# Whatever is still inside our namespaces was started by us (guests, dnsmasq).
	for ns in "$LAB_NS" "$INET_NS"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
	done
	for ns in "$LAB_NS" "$INET_NS"; do
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}

labctl() { "$LABCTL_BIN" --config "$LAB_CONF" "$@"; }

# lab_ssh KEY PORT PUBLIC_IP CMD...: the student's own ssh, from the Internet namespace.
lab_ssh() {
	local key=$1 port=$2 ip=$3
	shift 3
	ip netns exec "$INET_NS" ssh -i "$key" -p "$port" -o BatchMode=yes \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
		-o ConnectTimeout=5 -o IdentitiesOnly=yes "student@$ip" "$@"
}
