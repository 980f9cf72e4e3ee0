# A private libvirtd for tests. Source this file, then:
#
#   libvirtd_start DIR NETNS   start libvirtd inside network namespace NETNS (the caller
#                              created it) with all its state under DIR; returns once it
#                              answers (at most 20 s), non-zero (and its log) if it did not
#   libvirtd_uri DIR           prints the URI to connect with:
#                              qemu:///system?socket=DIR/run/libvirt-sock
#   libvirtd_stop DIR          stops it (TERM, then KILL) and kills the qemu processes it
#                              left in NETNS; safe to call twice or when start failed
#   libvirtd_restart DIR NETNS [--reboot]
#                              stops libvirtd alone (TERM, then KILL after 20 s) and starts
#                              it again: its qemu guests keep running and the new daemon
#                              re-attaches to them. --reboot also empties what a host reboot
#                              loses with /run (DIR/run-libvirt: the daemon's /run/libvirt,
#                              where it keeps running domains' status and the "autostarted"
#                              marker), so the new daemon autostarts domains as at boot; the
#                              guests must be gone already
#
# The daemon runs in its own mount namespace with a tmpfs on /run and fresh directories
# from DIR bound over /etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/log/libvirt and
# /var/cache/libvirt, so it shares no state with any other libvirtd (and finds no
# Debian "default" network to autostart). Only its socket directory, DIR/run, is
# visible from outside. Its qemu processes live in NETNS, their logs in
# DIR/log-libvirt/qemu/, the daemon's own log is DIR/libvirtd.log.
#
# DIR must be an absolute path outside /run (the daemon's /run is a private tmpfs) and
# short: the socket path DIR/run/libvirt-sock must fit in 107 bytes.
# LIBVIRTD_START_MS is set to how long the start took: ~8 s with a fresh capability
# cache (libvirtd probes every qemu-system-* binary), ~0.2 s with a warm one. Set
# LIBVIRTD_CACHE=/some/dir to keep /var/cache/libvirt there across runs (opt-in: it is
# the one piece of state such daemons then share; it only holds qemu's probed
# capabilities, keyed by binary and ctime).

libvirtd_log() { printf '%s\n' "$*" >&2; }

# The daemon and its qemu driver come from Debian's libvirt-daemon-system.
libvirtd_require() {
	dpkg-query -W -f='${Status}' libvirt-daemon-system 2>/dev/null | grep -q 'ok installed' &&
		return 0
	libvirtd_log "installing libvirt-daemon-system"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		-o Dpkg::Options::=--force-confnew libvirt-daemon-system >/dev/null
}

libvirtd_uri() {
	printf 'qemu:///system?socket=%s/run/libvirt-sock\n' "$1"
}

libvirtd_write_conf() {
	local dir=$1

	cat >"$dir/libvirtd.conf" <<EOF
# private test libvirtd: unix socket only, no auth (the directory is root's)
listen_tls = 0
listen_tcp = 0
unix_sock_dir = "$dir/run"
unix_sock_group = "root"
unix_sock_ro_perms = "0770"
unix_sock_rw_perms = "0770"
unix_sock_admin_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
log_outputs = "3:stderr"
EOF
	cat >"$dir/etc-libvirt/qemu.conf" <<EOF
# no systemd, no SELinux/AppArmor, no virtlogd here: plain root processes
user = "root"
group = "root"
security_driver = "none"
dynamic_ownership = 0
remember_owner = 0
cgroup_controllers = [ ]
stdio_handler = "file"
namespaces = [ ]
set_process_name = 0
EOF
}

libvirtd_start() {
	local dir=$1 ns=$2 start pid i uri cache
	case $dir in
	/run/* | /run) libvirtd_log "libvirtd_start: $dir is under /run"; return 1 ;;
	/*) ;;
	*) libvirtd_log "libvirtd_start: $dir is not absolute"; return 1 ;;
	esac
	libvirtd_require || return 1
	mkdir -p "$dir/run" "$dir/etc-libvirt" "$dir/run-libvirt" "$dir/lib-libvirt" \
		"$dir/log-libvirt" "$dir/cache-libvirt" || return 1
	chmod 700 "$dir/run"
	cache="$dir/cache-libvirt"
	if [ -n "${LIBVIRTD_CACHE:-}" ]; then
		mkdir -p "$LIBVIRTD_CACHE" && cache=$LIBVIRTD_CACHE
	fi
	libvirtd_write_conf "$dir" || return 1
	echo "$ns" >"$dir/libvirtd.netns"
	uri=$(libvirtd_uri "$dir")

	start=$(date +%s%N)
	# ip netns exec and unshare both exec (no fork) and sh ends in exec: $! is
	# libvirtd itself. The mount namespace dies with the last process in it.
	ip netns exec "$ns" unshare -m --propagation private sh -c '
		set -e
		d=$1
		mount -t tmpfs -o mode=755 vlab-libvirtd /run
		mkdir -p /run/libvirt
		mount --bind "$d/run-libvirt" /run/libvirt
		mount --bind "$d/etc-libvirt" /etc/libvirt
		mount --bind "$d/lib-libvirt" /var/lib/libvirt
		mount --bind "$d/log-libvirt" /var/log/libvirt
		mount --bind "$2" /var/cache/libvirt
		exec libvirtd -f "$d/libvirtd.conf" -p "$d/run/libvirtd.pid"
	' sh "$dir" "$cache" </dev/null >>"$dir/libvirtd.log" 2>&1 &
	pid=$!
	echo "$pid" >"$dir/libvirtd.pid"

	for i in $(seq 1 200); do
		if ! kill -0 "$pid" 2>/dev/null; then
			libvirtd_log "libvirtd exited during start; its log:"
			tail -n 30 "$dir/libvirtd.log" >&2
			rm -f "$dir/libvirtd.pid"
			return 1
		fi
		if virsh -q -c "$uri" version >/dev/null 2>&1; then
			LIBVIRTD_START_MS=$((($(date +%s%N) - start) / 1000000))
			return 0
		fi
		sleep 0.1
	done
	libvirtd_log "libvirtd did not answer on $uri within 20 s; its log:"
	tail -n 30 "$dir/libvirtd.log" >&2
	libvirtd_stop "$dir"
	return 1
}

# libvirtd_kill_pid PID SECONDS: TERM, wait up to SECONDS, KILL.
libvirtd_kill_pid() {
	local pid=$1 secs=$2 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 $((secs * 10))); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	return 0
}

libvirtd_stop() {
	local dir=$1 pid ns p comm
	if [ -f "$dir/libvirtd.pid" ]; then
		pid=$(cat "$dir/libvirtd.pid")
		# Only if it still is the libvirtd we started (the PID may be reused).
		if [ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = libvirtd ]; then
			libvirtd_kill_pid "$pid" 10
			wait "$pid" 2>/dev/null || true
		fi
		rm -f "$dir/libvirtd.pid"
	fi
	# libvirtd leaves its guests running when it stops: kill the qemu processes
	# that live in our namespace (and nothing else).
	ns=$(cat "$dir/libvirtd.netns" 2>/dev/null) || return 0
	[ -n "$ns" ] || return 0
	for p in $(ip netns pids "$ns" 2>/dev/null); do
		comm=$(cat /proc/"$p"/comm 2>/dev/null) || continue
		case $comm in
		qemu-system-*) libvirtd_kill_pid "$p" 5 ;;
		esac
	done
	return 0
}

libvirtd_restart() {
	local dir=$1 ns=$2 pid
	pid=$(cat "$dir/libvirtd.pid" 2>/dev/null)
	# Only if it still is the libvirtd we started (the PID may be reused).
	if [ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = libvirtd ]; then
		libvirtd_kill_pid "$pid" 20
	fi
	rm -f "$dir/libvirtd.pid"
	if [ "${3-}" = --reboot ]; then
		find "$dir/run-libvirt" -mindepth 1 -delete || return 1
	fi
	libvirtd_start "$dir" "$ns"
}
