"""Loss injection (`vswctl port set NAME drop=PERCENT[,seed=N]`): a port loses that share of the
frames it receives, before learning; every lost frame is counted as drops.injected, so what
arrives plus what was lost is exactly what was sent."""
import json
import subprocess

import pytest
from scapy.layers.l2 import Ether

from harness import PY, VSWCTL, one_line, wait_for

N = 2000
SRC, DST = "02:00:00:00:60:01", "02:00:00:00:60:02"

# Sends the frames of a file (hex, one a line) in batches, pausing between them, so that neither
# the kernel's backlog nor vswd's af_packet ring can overflow on a busy 2-core machine.
SENDER = """
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
frames = [bytes.fromhex(l) for l in open(sys.argv[2]).read().split()]
for i, f in enumerate(frames):
    s.send(f)
    if i % 100 == 99:
        time.sleep(0.002)
"""


@pytest.fixture
def pair(vswd, netns, tmp_path):
    """Namespaces a and b on af_packet ports a and b, with rings deep enough for a whole round."""
    a, b = netns(), netns()
    for ns, name in ((a, "a"), (b, "b")):
        vswd.ctl("port", "add", name, "dpdk",
                 f"dev=net_af_packet_{name},iface={ns.host_if},framecnt=4096")
        vswd.wait_link(name)
    frames = [bytes(Ether(src=SRC, dst=DST, type=0x88b5) / i.to_bytes(4, "big")).ljust(60, b"\0")
              for i in range(N)]
    (tmp_path / "frames.hex").write_text("\n".join(f.hex() for f in frames))
    (tmp_path / "send.py").write_text(SENDER)
    return a, b


def rx_count(ns):
    return int(ns.run("cat /sys/class/net/eth0/statistics/rx_packets").stdout)


def round_trip(vswd, a, b, tmp_path, setting):
    """Sets drop on port a, sends N frames from a; returns (frames b got, a's injected drops)."""
    vswd.ctl("port", "set", "a", setting)
    vswd.ctl("stats", "clear")
    before = rx_count(b)
    a.run(f"{PY} {tmp_path / 'send.py'} eth0 {tmp_path / 'frames.hex'}", timeout=120)
    wait_for(lambda: vswd.stats("a")["rx_packets"] == N, 60, what=f"{N} frames into port a")
    sa = vswd.stats("a")
    injected = sa["drops"]["injected"]
    # every frame that was not lost is flooded to b, the only other port
    wait_for(lambda: rx_count(b) - before == N - injected, 30,
             what=f"{N - injected} frames at b (b got {rx_count(b) - before})")
    arrived = rx_count(b) - before
    sb = vswd.stats("b")
    assert arrived + injected == N
    assert sb["tx_packets"] == arrived and sb["drops"]["tx_full"] == 0
    assert sa["drops"]["malformed"] == 0 and sa["rx_bytes"] == N * 60
    return arrived, injected


def test_drop_loses_its_share_counts_every_loss_and_repeats_with_a_seed(vswd, pair, tmp_path):
    a, b = pair
    got, lost = round_trip(vswd, a, b, tmp_path, "drop=50,seed=1")
    assert 800 < got < 1200, got
    p = vswd.port("a")
    assert (p["drop"], p["drop_seed"]) == (50, 1)
    # the same seed loses the same frames again: the generator restarts with every setting
    assert round_trip(vswd, a, b, tmp_path, "drop=50,seed=1") == (got, lost)

    got, lost = round_trip(vswd, a, b, tmp_path, "drop=10,seed=7")
    assert 120 < lost < 280, lost

    assert round_trip(vswd, a, b, tmp_path, "drop=0") == (N, 0)
    p = vswd.port("a")
    assert (p["drop"], p["drop_seed"]) == (0, None)

    vswd.ctl("fdb", "flush")
    assert round_trip(vswd, a, b, tmp_path, "drop=100") == (0, N)
    assert SRC not in vswd.fdb()                     # lost before learning
    assert vswd.port("a")["drop_seed"] is not None   # vswd picked a seed, shown for a rerun
    assert vswd.stats("b")["drops"]["injected"] == 0  # only the receiving port loses

    # the counter in the text table and in telemetry
    text = subprocess.run([str(VSWCTL), "--ctl", str(vswd.ctl_path), "stats"],
                          capture_output=True, text=True, check=True).stdout.splitlines()
    header = text[1].split()                         # "ports:", then the table's header
    row = next(l.split() for l in text if l.startswith("a "))
    assert row[header.index("drops.injected")] == str(N)
    r = subprocess.run(["dpdk-telemetry.py", "-f", vswd.prefix],
                       input="/vswkit/stats,a\n/vswkit/ports\n", capture_output=True, text=True,
                       timeout=30)
    dec = json.JSONDecoder()
    answers = {}
    for start in (i for i, c in enumerate(r.stdout) if r.stdout.startswith('{"/vswkit/', i)):
        answers.update(dec.raw_decode(r.stdout[start:])[0])
    assert answers["/vswkit/stats"]["drops_injected"] == N
    assert answers["/vswkit/ports"]["a"]["drop"] == "100"


@pytest.mark.parametrize("args, expect", [
    (["p", "drop=101"], "bad drop '101'"),
    (["p", "drop=100.5"], "bad drop"),
    (["p", "drop=abc"], "bad drop 'abc'"),
    (["p", "drop=-1"], "bad drop"),
    (["p", "drop="], "bad drop"),
    (["p", "drop=1e2"], "bad drop"),
    (["p", "drop=0.00001"], "at most 4 decimals"),
    (["p", "drop=5,seed=x"], "bad seed 'x'"),
    (["p", "drop=5,seed=4294967296"], "bad seed"),
    (["p", "drop=5,colour=red"], "unknown setting 'colour=red'"),
    (["p", "colour=red"], "unknown setting"),
    (["p", "seed=3"], "seed= goes with drop="),
    (["p"], "usage: port set NAME drop=PERCENT"),
    (["nope", "drop=5"], "unknown port nope"),
])
def test_bad_settings_get_one_clear_line_and_change_nothing(vswd, tmp_path, args, expect):
    vswd.ctl("port", "add", "p", "vhost", f"path={tmp_path / 'p.sock'}")
    p = vswd.ctl("port", "set", "p", "drop=0.5,seed=9")
    assert (p["drop"], p["drop_seed"]) == (0.5, 9)
    assert expect in one_line(vswd.ctl_fail("port", "set", *args))
    p = vswd.port("p")                               # still running, setting unchanged
    assert (p["drop"], p["drop_seed"]) == (0.5, 9)
