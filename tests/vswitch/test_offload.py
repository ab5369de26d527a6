"""Checksum and TCP segmentation offload between guests (vswitch/offload.c).

A virtio_user guest (bench's tsoflow) sends one TCP stream as 64 KB frames with the TSO flags;
vswd hands them whole to a guest that negotiated TSO and cuts them into MSS-sized segments, with
their checksums filled, for any other port. The receivers check every checksum and every byte
of the stream. The main cases run twice: on rte_vhost's ring path (vring=off) and on vswd's own
(vhost/vring.c, the default), whose counters show the frames went its way."""
import json
import socket
import struct
import subprocess

import pytest

from harness import BUILD, dpdk_cleanup, uid, virtio_user, wait_for
from test_books import balanced

TSOFLOW = BUILD / "bench" / "tsoflow"
SIZE, MSS, FRAMES = 64000, 1448, 200
SEGS = -(-SIZE // MSS)                         # 45 segments per 64 KB frame


class Flow:
    """tsoflow on one net_virtio_user port. A receiver's ring holds a whole test's stream, so
    that no frame is lost while it waits for the CPU it shares with the sender."""

    def __init__(self, sock, mac, *args):
        ring = 16384 if "--rx" in args else 256
        if "--rx" in args:
            args += ("--mbufs", str(2 * ring + 8191))
        self.proc = virtio_user(TSOFLOW, sock, mac, args, "tsoflow", queue_size=ring, tag="tso")
        self.prefix = self.proc.prefix

    def result(self, timeout=120):
        assert self.proc.wait(timeout) == 0, self.proc.output()[-3000:]
        dpdk_cleanup(self.prefix)
        return json.loads(self.proc.output().strip().splitlines()[-1])


RINGS = ["rte_vhost", "vring"]


def vring(rings):
    return ["vring=on" if rings == "vring" else "vring=off"]


def receiver(vswd, name, mac, offloads, expect, *args, rings="rte_vhost"):
    vswd.ctl("port", "add", name, "vhost", f"path={name}.sock", *vring(rings))
    f = Flow(vswd.workdir / f"{name}.sock", mac, "--rx", "--offloads", offloads,
             "--expect", str(expect), "--seconds", "20", *args)
    vswd.wait_link(name, guest=f.proc)
    assert vswd.port(name)["rings"] == rings
    return f


def through_vring(vswd, port, frames_in=0, frames_out=0):
    """vring's counters of port: what it took from the guest and gave it."""
    v = vswd.port(port)["vring"]
    assert (v["frames_in"], v["frames_out"], v["bad_descriptors"]) == (frames_in, frames_out, 0), v


def send(vswd, dst, *args, frames=FRAMES, port="tx", mss=MSS, rings="rte_vhost"):
    vswd.ctl("port", "add", port, "vhost", f"path={port}.sock", *vring(rings))
    f = Flow(vswd.workdir / f"{port}.sock", "02:00:00:00:70:01", "--tx", "--dst", dst,
             "--size", str(SIZE), "--mss", str(mss), "--frames", str(frames), "--gap", "2000",
             *args)
    return f.result()


@pytest.mark.parametrize("rings", RINGS)
def test_partial_checksums_pass_to_a_guest_that_takes_them_and_are_filled_for_others(vswd,
                                                                                     rings):
    """Frames of one MSS with only their checksum offloaded (--size 1000)."""
    n = 100
    part = receiver(vswd, "part", "02:00:00:00:70:02", "on", n * 1000, rings=rings)
    full = receiver(vswd, "full", "02:00:00:00:70:03", "off", n * 1000, rings=rings)
    vswd.ctl("fdb", "add", "02:00:00:00:70:02", "part")
    vswd.ctl("fdb", "add", "02:00:00:00:70:03", "full")
    send(vswd, "02:00:00:00:70:02", "--size", "1000", frames=n, rings=rings)
    send(vswd, "02:00:00:00:70:03", "--size", "1000", frames=n, port="tx2", rings=rings)
    p, f = part.result(), full.result()
    assert p["frames"] == n and p["partial_csum"] == n and p["bad_data"] == 0, p
    assert f["frames"] == n and f["partial_csum"] == 0 and f["bad_tcp_csum"] == 0, f
    assert f["bad_data"] == 0 and f["bad_ip_csum"] == 0, f
    assert vswd.stats("tx")["offload"]["rx_csum"] == n
    assert vswd.stats("part")["offload"]["tx_csum"] == n
    assert vswd.stats("full")["offload"]["csum_sw"] == n
    if rings == "vring":
        for port, frames_in, frames_out in (("tx", n, 0), ("tx2", n, 0), ("part", 0, n),
                                            ("full", 0, n)):
            through_vring(vswd, port, frames_in, frames_out)


@pytest.mark.parametrize("rings", RINGS)
def test_a_guest_with_tso_gets_the_frames_whole(vswd, rings):
    rx = receiver(vswd, "big", "02:00:00:00:70:02", "on", FRAMES * SIZE, rings=rings)
    assert {"guest_tso4", "guest_csum"} <= set(vswd.port("big")["negotiated"])
    vswd.ctl("fdb", "add", "02:00:00:00:70:02", "big")
    sent = send(vswd, "02:00:00:00:70:02", rings=rings)
    assert sent["tso"] and sent["payload_bytes"] == FRAMES * SIZE
    got = rx.result()
    assert vswd.stats("big")["drops"]["tx_full"] == 0
    # every frame whole, its checksum left to the receiver, every byte in place
    assert got["frames"] == FRAMES and got["large"] == FRAMES and got["lro"] == FRAMES, got
    assert got["payload_bytes"] == FRAMES * SIZE and got["bad_data"] == 0, got
    assert got["partial_csum"] == FRAMES and got["bad_ip_csum"] == 0, got
    st = vswd.stats()
    by = {p["name"]: p for p in st["ports"]}
    assert by["tx"]["offload"]["rx_tso"] == FRAMES, by["tx"]
    assert by["big"]["offload"]["tx_tso"] == FRAMES and by["big"]["tx_packets"] == FRAMES
    assert by["big"]["offload"]["gso_frames"] == 0
    if rings == "vring":
        through_vring(vswd, "tx", FRAMES, 0)
        through_vring(vswd, "big", 0, FRAMES)


# IPv4 through rte_gso; IPv6 through vswd's own cut (rte_gso has none), at the MSS that fits
# (the sender on vring too, for IPv6)
@pytest.mark.parametrize("ip,mss,hdrs,rings", [("ipv4", MSS, 14 + 40, "rte_vhost"),
                                               ("ipv6", 1440, 14 + 60, "vring")])
def test_a_guest_without_tso_gets_checked_segments(vswd, ip, mss, hdrs, rings):
    v6 = ["--ipv6"] if ip == "ipv6" else []
    segs = -(-SIZE // mss)
    rx = receiver(vswd, "small", "02:00:00:00:70:03", "off", FRAMES * SIZE, *v6, rings=rings)
    assert not {"guest_tso4", "guest_csum"} & set(vswd.port("small")["negotiated"])
    vswd.ctl("fdb", "add", "02:00:00:00:70:03", "small")
    send(vswd, "02:00:00:00:70:03", *v6, mss=mss, rings=rings)
    got = rx.result()
    assert got["frames"] == FRAMES * segs and got["large"] == 0, got
    assert got["payload_bytes"] == FRAMES * SIZE and got["bad_data"] == 0, got
    assert got["bad_ip_csum"] == 0 and got["bad_tcp_csum"] == 0 and got["partial_csum"] == 0
    assert got["max_len"] == hdrs + mss
    small = vswd.stats("small")
    assert small["offload"]["gso_frames"] == FRAMES
    assert small["offload"]["gso_segments"] == FRAMES * segs == small["tx_packets"]
    # the books: each segment is a copy of the frame that came in
    assert vswd.stats("tx")["copies"] == FRAMES * segs
    assert vswd.in_use() == vswd.baseline                     # every segment's mbufs back


@pytest.mark.parametrize("rings", RINGS)
def test_ipv6_tso_goes_whole_to_a_guest_with_tso6(vswd, rings):
    rx = receiver(vswd, "big", "02:00:00:00:70:02", "on", 50 * SIZE, "--ipv6", rings=rings)
    vswd.ctl("fdb", "add", "02:00:00:00:70:02", "big")
    send(vswd, "02:00:00:00:70:02", "--ipv6", frames=50, mss=1440, rings=rings)
    got = rx.result()
    assert got["frames"] == 50 and got["lro"] == 50 and got["bad_data"] == 0, got
    assert vswd.stats("big")["offload"]["tx_tso"] == 50
    if rings == "vring":
        through_vring(vswd, "tx", 50, 0)
        through_vring(vswd, "big", 0, 50)


def test_segments_that_cannot_fit_the_mtu_are_dropped_as_too_big(vswd):
    """An IPv6 frame at MSS 1448: 1508-byte segments, past --mtu 1500."""
    rx = receiver(vswd, "small", "02:00:00:00:70:03", "off", 0, "--ipv6")
    vswd.ctl("fdb", "add", "02:00:00:00:70:03", "small")
    send(vswd, "02:00:00:00:70:03", "--ipv6", frames=10)
    wait_for(lambda: vswd.stats("small")["drops"]["too_big"] == 10, 20, what="10 too_big")
    assert vswd.stats("small")["tx_packets"] == 0
    assert not balanced(vswd.stats())
    rx.proc.stop()


def test_flooded_tso_frame_takes_each_ports_form(vswd, netns):
    """Unknown destination: the frame floods to a guest with TSO (whole), one without
    (segments) and a TAP port (segments, which its kernel checks)."""
    n = 20
    big = receiver(vswd, "big", "02:00:00:00:70:02", "on", n * SIZE)
    small = receiver(vswd, "small", "02:00:00:00:70:03", "off", n * SIZE)
    tap = f"vto{uid()}"
    vswd.ctl("port", "add", tap, "tap")
    vswd.wait_link(tap)
    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    sniff.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)         # SO_RCVBUFFORCE: all of them
    sniff.bind((tap, 0))
    sniff.settimeout(10)
    send(vswd, "02:00:00:00:70:0f", frames=n)                 # nobody has that MAC
    b, s = big.result(), small.result()
    assert b["frames"] == n and b["large"] == n and b["bad_data"] == 0, b
    assert s["frames"] == n * SEGS and s["bad_tcp_csum"] == 0 and s["bad_data"] == 0, s
    seen = 0
    while seen < n * SEGS:
        frame = sniff.recv(65536)
        if frame[23] != 6 or struct.unpack("!H", frame[36:38])[0] != 5002:
            continue                                           # the tap's own chatter
        assert len(frame) == 14 + 40 + MSS or seen % SEGS == SEGS - 1
        assert tcp_sum_ok(frame), frame[:60].hex()
        seen += 1
    sniff.close()
    assert vswd.stats(tap)["offload"]["gso_segments"] == n * SEGS
    assert vswd.stats("tx")["copies"] == n * (1 + 2 * SEGS)   # whole once, cut twice
    wait_for(lambda: not balanced(vswd.stats()), 10, what="the books to balance")


@pytest.mark.parametrize("tagged", ["receivers", "sender"])
def test_tso_frames_cross_a_vlan_tagged_or_untagged(vswd, tagged):
    """VLAN 10. Receivers on trunks: vswd tags the 64 KB frame in its data, for the guest with
    TSO (whole; unicast, then flooded) and before it cuts it for the one without, so that every
    segment carries the tag. Sender on a trunk, tagging its frames itself: vswd takes the tag
    off the large frame for receivers on access ports."""
    n = 20
    rx_tag = ["--vlan", "10"] if tagged == "receivers" else []
    big = receiver(vswd, "big", "02:00:00:00:70:02", "on", 2 * n * SIZE, *rx_tag)
    small = receiver(vswd, "small", "02:00:00:00:70:03", "off", n * SIZE, *rx_tag)
    for port in ("big", "small"):
        vswd.ctl("port", "set", port, "trunks=10" if rx_tag else "vlan=10")
    vswd.ctl("port", "add", "tx", "vhost", "path=tx.sock")
    vswd.ctl("port", "set", "tx", "vlan=10" if rx_tag else "trunks=10")
    vswd.ctl("fdb", "add", "02:00:00:00:70:02", "big", "vlan=10")
    tx_tag = [] if rx_tag else ["--vlan", "10"]
    for dst in ("02:00:00:00:70:02", "02:00:00:00:70:0f"):    # big's, then nobody's: flooded
        Flow(vswd.workdir / "tx.sock", "02:00:00:00:70:01", "--tx", "--dst", dst, "--size",
             str(SIZE), "--frames", str(n), "--gap", "2000", *tx_tag).result()
    b, s = big.result(), small.result()
    assert b["frames"] == 2 * n and b["large"] == 2 * n and b["lro"] == 2 * n, b
    assert s["frames"] == n * SEGS and s["large"] == 0, s
    for got in (b, s):
        assert got["bad_vlan"] == 0 and got["bad_data"] == 0 and got["bad_len"] == 0, got
        assert got["bad_ip_csum"] == 0 and got["bad_tcp_csum"] == 0, got
    assert vswd.stats("small")["offload"]["gso_segments"] == n * SEGS
    assert vswd.stats("big")["drops"]["no_copy"] == 0
    wait_for(lambda: not balanced(vswd.stats()), 10, what="the books to balance")
    assert vswd.in_use() == vswd.baseline


def test_tso_frames_enter_a_vxlan_tunnel_as_checked_segments(vswd, netns):
    """A tunnel takes no TSO: vswd cuts the 64 KB frames to an MSS that fits the underlay's
    MTU with the outer headers, and encapsulates each segment. Linux's VTEP decapsulates
    them; its vxlan device sees every segment, each with a good TCP checksum."""
    from test_vxlan import linux_vtep, tunnel
    n, mss = 10, 1398                         # 1438-byte inner IP + 50 of VXLAN: 1488
    segs = -(-SIZE // mss)
    u = linux_vtep(netns, vswd)
    tunnel(vswd)
    inner = u.run("cat /sys/class/net/vx0/address").stdout.strip()
    vswd.ctl("port", "add", "tx", "vhost", "path=tx.sock")
    vswd.ctl("port", "set", "tx", "vlan=10")

    def flow(frames):
        Flow(vswd.workdir / "tx.sock", "02:00:00:00:70:01", "--tx", "--dst", inner, "--size",
             str(SIZE), "--mss", str(mss), "--frames", str(frames), "--gap", "2000").result()

    flow(1)                                   # makes the tunnel ask for the VTEP's MAC
    wait_for(lambda: vswd.port("vx")["remotes"][0]["mac"], 20, what="the VTEP's MAC")
    before = vswd.stats("vx")["offload"]["gso_segments"]
    dump = u.popen(["tcpdump", "-vv", "-n", "-l", "-i", "vx0", "-c", str(n * segs),
                    "tcp dst port 5002"], "tcpdump")
    wait_for(lambda: "listening" in dump.output(), 20, what="tcpdump")
    try:
        flow(n)
        assert dump.wait(60) == 0, dump.output()[-2000:]
    finally:
        dump.stop()
    out = dump.output()
    assert out.count("(correct)") == n * segs and "incorrect" not in out, out[-2000:]
    assert f"length {mss}" in out
    assert vswd.stats("vx")["offload"]["gso_segments"] - before == n * segs
    assert vswd.port("vx")["remotes"][0]["tx_packets"] >= n * segs
    vswd.ctl("port", "del", "vx")


def tcp_sum_ok(frame):
    ip = frame[14:34]
    seg = frame[34:14 + struct.unpack("!H", ip[2:4])[0]]
    pseudo = ip[12:20] + struct.pack("!BBH", 0, 6, len(seg))
    data = pseudo + seg + (b"\0" if len(seg) % 2 else b"")
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return total == 0xffff


@pytest.mark.parametrize("rings", RINGS)
def test_bad_offload_metadata_is_dropped_and_counted(vswd, rings):
    rx = receiver(vswd, "big", "02:00:00:00:70:02", "on", 10 * SIZE, rings=rings)
    vswd.ctl("fdb", "add", "02:00:00:00:70:02", "big")
    # an MSS of 8; an IPv4 length past the frame's end, on a large frame and on a frame with
    # only its checksum offloaded; an IPv6 payload length past the end
    for port, args in (("mss", ["--bad", "mss"]), ("len", ["--bad", "len"]),
                       ("csum", ["--bad", "len", "--size", "1000"]),
                       ("v6", ["--bad", "len", "--ipv6"])):
        send(vswd, "02:00:00:00:70:02", *args, frames=10, port=port, mss=1440, rings=rings)
        wait_for(lambda: vswd.stats(port)["rx_packets"] == 10, 20, what="10 frames in")
        st = vswd.stats(port)
        assert st["drops"]["bad_offload"] == 10 and st["forwarded"] == 0, (port, st)
    assert vswd.stats("big")["tx_packets"] == 0
    # vswd is unharmed: a good stream still crosses, to the same receiver
    send(vswd, "02:00:00:00:70:02", frames=10, rings=rings)
    got = rx.result()
    assert got["frames"] == 10 and got["bad_data"] == 0, got


def test_offloads_off_offers_none(vswd):
    vswd.ctl("port", "add", "p", "vhost", "path=p.sock", "offloads=off")
    f = Flow(vswd.workdir / "p.sock", "02:00:00:00:70:05", "--rx", "--offloads", "on",
             "--seconds", "1")
    # the guest asks for TSO and the switch does not offer it: its port cannot start
    assert f.proc.wait(60) == 2 and "cannot set up the port" in f.proc.output()
    dpdk_cleanup(f.prefix)
    assert vswd.port("p")["offloads"] == "off"
    r = subprocess.run([str(BUILD / "vswitch" / "vswctl"), "--ctl", str(vswd.ctl_path),
                        "port", "add", "q", "vhost", "path=q.sock", "offloads=maybe"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and r.stderr.strip().endswith("bad offloads 'maybe': on or off")
    assert len(r.stderr.strip().splitlines()) == 1
