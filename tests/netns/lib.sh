# Shared helpers for the namespace tests: a tiny harness (run_test / summary), bounded
# waits, and cleanup of exactly what the test created. Source it; set NS_PREFIX first.

T_PASS=0
T_FAIL=0
T_FAILED_NAMES=()
T_PIDS=()       # processes we started, stopped by PID at exit
T_NETNS=()      # namespaces we created, deleted at exit

log() { printf '%s\n' "$*" >&2; }

# run_test NAME: runs the shell function NAME; a non-zero status is a failure.
run_test() {
	local name=$1 start end rc
	start=$(date +%s%N)
	( set -e; "$name" ) >"$T_DIR/$name.out" 2>&1
	rc=$?
	end=$(date +%s%N)
	if [ $rc -eq 0 ]; then
		T_PASS=$((T_PASS + 1))
		printf '  PASS %-52s %5d ms\n' "$name" $(((end - start) / 1000000))
	else
		T_FAIL=$((T_FAIL + 1))
		T_FAILED_NAMES+=("$name")
		printf '  FAIL %-52s %5d ms\n' "$name" $(((end - start) / 1000000))
		sed 's/^/       | /' "$T_DIR/$name.out" | tail -n 40
	fi
}

# summary LABEL: the closing line, and the exit status.
summary() {
	printf '%s: %d passed, %d failed\n' "$1" "$T_PASS" "$T_FAIL"
	[ "$T_FAIL" -eq 0 ]
}

fail() { log "FAILED: $*"; return 1; }

# wait_for SECONDS CMD...: retries CMD every 50 ms until it succeeds or time runs out.
wait_for() {
	local limit=$1 end
	shift
	end=$(($(date +%s%N) + limit * 1000000000))
	while [ "$(date +%s%N)" -lt "$end" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	"$@"
}

netns_add() {
	ip netns add "$1" || return 1
	T_NETNS+=("$1")
	echo "$1" >>"$T_DIR/.netns"   # tests run in subshells: cleanup reads this file
	ip -n "$1" link set lo up
}

# bg_start NAME CMD...: starts CMD in the background and puts its PID in variable NAME.
# PIDs are also recorded in a file: tests run in subshells, and cleanup must see them all.
bg_start() {
	local __var=$1 __pid
	shift
	"$@" &
	__pid=$!
	T_PIDS+=("$__pid")
	echo "$__pid" >>"$T_DIR/.pids"
	printf -v "$__var" '%s' "$__pid"
}

stop_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

cleanup_all() {
	local pid ns i
	[ -f "$T_DIR/.pids" ] && T_PIDS+=($(cat "$T_DIR/.pids"))
	[ -f "$T_DIR/.netns" ] && T_NETNS=($(sort -u "$T_DIR/.netns"))
	for pid in "${T_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for i in $(seq 1 30); do
		local alive=0
		for pid in "${T_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
		[ $alive -eq 0 ] && break
		sleep 0.1
	done
	for pid in "${T_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
	wait 2>/dev/null
	# Processes still inside our namespaces (children of what we started, e.g. a
	# dnsmasq orphaned by a kill -9 in a test) are ours too: end them by PID.
	for ns in "${T_NETNS[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
	done
	for ns in "${T_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "${T_DIR:-}" ] && [ -d "$T_DIR" ] && [ -z "${KEEP:-}" ] && rm -rf "$T_DIR"
}
