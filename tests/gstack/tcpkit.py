"""Helpers for the TCP tests: a kernel namespace on vswd ready for TCP, and ktcp.py in it.
(A module of its own, as gsguest.py.)"""
import json
from pathlib import Path

import harness

KTCP = Path(__file__).resolve().parent / "ktcp.py"


def kernel_ns(vswd, netns, ip):
    """A namespace on an af_packet port of vswd.  Checksum offload and segmentation off on its
    veth: DPDK's af_packet would hand the guest partial checksums and oversized frames."""
    ns = netns(ip)
    ns.attach(vswd, "ns")
    ns.run("ethtool -K eth0 tx off tso off gso off gro off >/dev/null")
    harness.sh(f"ethtool -K {ns.host_if} tx off tso off gso off gro off >/dev/null")
    return ns


def ktcp(ns, *args, timeout=300):
    """Runs ktcp.py in ns; its JSON result."""
    r = ns.run(f"{harness.PY} {KTCP} " + " ".join(str(a) for a in args), check=False,
               timeout=timeout)
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    assert lines, f"ktcp {args}: rc {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    return json.loads(lines[-1])


def ktcp_bg(ns, *args):
    """ktcp.py in ns in the background (a harness.Proc, stopped by PID)."""
    return ns.popen([harness.PY, str(KTCP), *[str(a) for a in args]], "ktcp")


def stream_block(seed):
    """gs-tcpperf's 64 KiB block for --seed (xorshift32, the low byte of each step); its stream
    is the block repeated."""
    x, block = seed, bytearray(65536)
    for i in range(65536):
        x ^= (x << 13) & 0xffffffff
        x ^= x >> 17
        x ^= (x << 5) & 0xffffffff
        block[i] = x & 0xff
    return block


def stream_sha256(seed, nbytes):
    """The sha256 of gs-tcpperf's first nbytes for --seed."""
    import hashlib
    block, h = stream_block(seed), hashlib.sha256()
    full, rest = divmod(nbytes, 65536)
    for _ in range(full):
        h.update(block)
    h.update(block[:rest])
    return h.hexdigest()


def stream_crc32c(seed, nbytes):
    """gs-tcpperf --server's digest of a client's first nbytes for --seed, as "BYTES %08x" in
    its answer."""
    from ktcp import crc32c, crc32c_final
    block, crc = stream_block(seed), 0xffffffff
    full, rest = divmod(nbytes, 65536)
    for _ in range(full):
        crc = crc32c(block, crc)
    return f"{crc32c_final(crc32c(block[:rest], crc)):08x}"
