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
PREFIXES=(vswdemo$$ demog$$)

vswctl() { "$BUILD/vswitch/vswctl" --ctl "$CTL" "$@"; }

cleanup() {
	exec 3>&- # the guests read EOF and quit
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

step "two guests in one testpmd on CPU $GUEST_CPU: ports ga and gb, mac forwarding through vswd"
# One process with both guests' ports: a closed loop (what ga receives goes out of gb to ga's
# MAC, and the other way round), so the rate is vswd's forwarding, not two busy-polling guests
# taking turns on one CPU.
mkfifo "$TMP/g.in"
exec 3<>"$TMP/g.in" # read-write: opening does not wait for a reader
dpdk-testpmd --lcores "0@$GUEST_CPU,1@$GUEST_CPU" --no-pci --single-file-segments \
	--file-prefix "${PREFIXES[1]}" -m 512 --log-level notice \
	--vdev "net_virtio_user0,path=$TMP/ga.sock,mac=02:00:00:00:de:0a,queue_size=1024" \
	--vdev "net_virtio_user1,path=$TMP/gb.sock,mac=02:00:00:00:de:0b,queue_size=1024" -- \
	-i --forward-mode=mac --eth-peer=0,02:00:00:00:de:0b --eth-peer=1,02:00:00:00:de:0a \
	--total-num-mbufs=16384 <"$TMP/g.in" >"$TMP/g.log" 2>&1 &
PIDS+=($!)
link_up() { vswctl --json port list | grep -c '"link": "up"' | grep -qx 3; }
wait_for 60 link_up
echo "start tx_first 8" >&3 # 2 ports x 8 bursts x 32: 512 frames in flight
vswctl port list

step "forwarding for $SECONDS_RUN s"
sleep 1
vswctl stats clear
sleep "$SECONDS_RUN"
vswctl --json stats >"$TMP/stats.json"

step "FDB"
vswctl fdb show
step "counters"
vswctl stats
step "rate"
/usr/bin/python3 - "$TMP/stats.json" "$SECONDS_RUN" <<'PY'
import json, sys
st, s = json.load(open(sys.argv[1])), float(sys.argv[2])
n = st["switch"]["rx_packets"]
print(f"vswd forwarded {n} frames in {s:g} s: {n / s / 1e6:.3f} Mpps (a closed loop of 512 "
      f"frames of 64 bytes between two guest ports)")
for p in st["pmds"]:
    print(f"PMD {p['pmd']} on CPU {p['lcore']}: busy {p['busy_pct']:.0f} %")
PY
step "stopping everything the demo started"
