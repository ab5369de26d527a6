"""Checksum offload between two gs guests back to back over vhost-user, without vswd (vswd's
net_vhost ports finish partial checksums in software, so a guest behind it never sees one).
The sender on net_virtio_user offloads its UDP checksum: the virtio header says NEEDS_CSUM and
the field holds only the pseudo-header sum.  The receiver's net_vhost, asked for RX checksum
offload, flags such a datagram RX_L4_CKSUM_NONE: valid data, not to be verified."""
import json
from pathlib import Path

import harness
from gsguest import leftovers, tool


def udpperf(name, dev, ip, mac, *args):
    return harness.Proc([tool("gs-udpperf"), "--dev", dev, "--ip", ip, "--mac", mac,
                         "--csum-offload", "--json", *args], name)


def result(proc):
    lines = [l for l in proc.output().splitlines() if l.startswith("{")]
    assert lines, proc.output()[-3000:]
    return json.loads(lines[-1])


def test_partial_udp_checksums_are_accepted(hugepages, tmp_path):
    sock = Path(tmp_path) / "b2b.sock"
    rx = udpperf("gs-udpperf-rx", f"net_vhost0,iface={sock}", "10.99.7.2/24",
                 "02:00:00:00:77:02", "--recv", "--idle-exit", "3", "--duration", "60")
    harness.wait_for(sock.exists, 60, what="the receiver's vhost-user socket")
    tx = udpperf("gs-udpperf-tx", f"net_virtio_user0,path={sock}", "10.99.7.1/24",
                 "02:00:00:00:77:01", "--send", "--dst", "10.99.7.2", "--rate", "2000",
                 "--duration", "2", "--size", "64")
    assert tx.wait(120) == 0, tx.output()[-3000:]
    assert rx.wait(120) == 0, rx.output()[-3000:]
    for p in (tx, rx):
        assert not leftovers(p.pid), leftovers(p.pid)
        assert "checksums offloaded" in p.output(), p.output()[-3000:]
    s, r = result(tx), result(rx)
    assert s["sent"] > 1000, s
    assert r["counters"]["rx_bad_cksum"] == 0, r["counters"]
    assert r["received"] == s["sent"], (s["sent"], r["received"], r["counters"])
