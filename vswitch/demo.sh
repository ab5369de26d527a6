#!/usr/bin/env bash
# ./vswkit demo: vswd with two guests (testpmd on net_virtio_user) and a TAP port. The guests
# bounce frames at each other through vswd for 10 s; then the rate, and everything stops.
set -euo pipefail

BUILD=${VSWKIT_BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
SECONDS_RUN=${DEMO_SECONDS:-10}
NCPU=$(nproc)
PMD_CPU=$((NCPU - 1))
GUEST_CPU=0
TMP=$(mktemp -d /tmp/vswdemo.XXXXXX)
CTL="$TMP/vswd.sock"
TAP=vswdemo$$
TAP=${TAP:0:15}
PIDS=()
PREFIXES=(vswdemo$$ demoa$$ demob$$)

vswctl() { "$BUILD/vswitch/vswctl" --ctl "$CTL" "$@"; }

cleanup() {
	exec 3>&- 4>&- # guests read EOF and quit
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	for p in "${PREFIXES[@]}"; do rm -rf /dev/hugepages/"$p"map_* /var/run/dpdk/"$p"; done
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

step() { printf '\n== %s\n' "$*"; }
wait_for() { # seconds, command...
	local t=$1; shift
	for _ in $(seq $((t * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	echo "demo: timed out waiting for: $*" >&2
	return 1
}

step "vswd on CPU $PMD_CPU (control socket $CTL)"
"$BUILD/vswitch/vswd" --ctl "$CTL" --vhost-dir "$TMP" --file-prefix "${PREFIXES[0]}" \
	--cores "$PMD_CPU" --socket-mem 512 --pmd-maxsleep 0 --log-level notice >"$TMP/vswd.log" 2>&1 &
PIDS+=($!)
wait_for 30 vswctl version
vswctl port add ga vhost path="$TMP/ga.sock" >/dev/null
vswctl port add gb vhost path="$TMP/gb.sock" >/dev/null
vswctl port add "$TAP" tap >/dev/null

step "two guests: testpmd on net_virtio_user, mac forwarding at each other, on CPU $GUEST_CPU"
guest() { # name prefix mac peer; driven through a FIFO at its prompt
	dpdk-testpmd --lcores "0@$GUEST_CPU,1@$GUEST_CPU" --no-pci --single-file-segments \
		--file-prefix "$2" -m 256 --log-level notice \
		--vdev "net_virtio_user0,path=$TMP/$1.sock,mac=$3,queue_size=1024" -- \
		-i --forward-mode=mac --eth-peer="0,$4" --total-num-mbufs=8192 \
		<"$TMP/$1.in" >"$TMP/$1.log" 2>&1 &
	PIDS+=($!)
}
mkfifo "$TMP/ga.in" "$TMP/gb.in"
exec 3<>"$TMP/ga.in" 4<>"$TMP/gb.in" # read-write: opening does not wait for a reader
guest ga "${PREFIXES[1]}" 02:00:00:00:de:0a 02:00:00:00:de:0b
guest gb "${PREFIXES[2]}" 02:00:00:00:de:0b 02:00:00:00:de:0a
link_up() { vswctl --json port list | grep -c '"link": "up"' | grep -qx 3; }
wait_for 60 link_up
# Both guests busy-poll one CPU and run in turns of a scheduler slice: many frames in flight
# (16 bursts of 32 each) keep the loop going through those turns.
echo "start tx_first 16" >&3
echo "start tx_first 16" >&4
vswctl port list

step "forwarding for $SECONDS_RUN s"
sleep 1
vswctl stats clear
rx0=$(vswctl --json stats | awk '/"rx_packets"/ {gsub(/[^0-9]/, "", $2); s += $2} END {print s+0}')
sleep "$SECONDS_RUN"
rx1=$(vswctl --json stats | awk '/"rx_packets"/ {gsub(/[^0-9]/, "", $2); s += $2} END {print s+0}')

step "FDB"
vswctl fdb show
step "counters"
vswctl stats
step "rate"
awk -v n=$((rx1 - rx0)) -v s="$SECONDS_RUN" 'BEGIN {
	printf "vswd forwarded %d frames in %d s: %.3f Mpps (two guests and vswd share %d CPUs)\n",
	       n, s, n / s / 1e6, '"$NCPU"' }'
step "stopping everything the demo started"
