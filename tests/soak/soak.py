#!/usr/bin/python3
"""./vswkit soak: vswd's failure cases repeated until rare faults show (not in CI; the README
has the figures). Each case reports its count, its time and every failure; exit 1 if any.

  restarts   vswd restarted N times under client-mode guests, which forward again every time
  reconnect  a guest attaches and detaches its port N times; the mempool ends at its baseline
  frames     N random frames (random bytes, and scapy's fuzz() of Ethernet/IP/UDP/ARP) from a
             pcap port: no crash, and every frame counted (rx = forwarded + drops)
  control    N malformed control requests (raw bytes, bad JSON, random argv): no crash
  macs       N random source MACs: the table stays bounded, a known host is still reached

usage: ./vswkit soak [--scale F] [--only CASE[,CASE]]   (--scale 0.01 for a quick look)
"""
import argparse
import contextlib
import json
import logging
import os
import random
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import harness  # noqa: E402
from harness import Testpmd, Vswd, uid, wait_for  # noqa: E402
from scapy.layers.inet import IP, UDP  # noqa: E402
from scapy.layers.l2 import ARP, Ether  # noqa: E402
from scapy.packet import Raw, fuzz  # noqa: E402
from scapy.utils import PcapWriter  # noqa: E402

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)  # fuzz() warns at every guess
FULL = {"restarts": 100, "reconnect": 1000, "frames": 10 ** 6, "control": 10 ** 4,
        "macs": 10 ** 6}
A, B = "02:00:00:00:5a:0a", "02:00:00:00:5a:0b"
RNG = random.Random(7)


@contextlib.contextmanager
def one_vswd(work, fails):
    """A vswd for one case: an exception in the case is one of its failures (a soak counts them,
    it does not stop), and so is a vswd that does not stop cleanly."""
    v = Vswd(work).start(timeout=180)
    try:
        yield v
    except Exception as e:  # noqa: BLE001
        fails.append(str(e))
    finally:
        if v.stop() != 0:
            fails.append("vswd did not stop cleanly")


def frame(src, dst):
    return bytes(Ether(src=src, dst=dst, type=0x88b5)).ljust(60, b"\0")


def books(v, port):
    s = v.stats(port)
    return s["rx_packets"], s["forwarded"] + sum(n for k, n in s["drops"].items()
                                                 if k not in ("tx_full", "port_down", "too_big", "gso_nomem",
                                                              "no_mbuf"))


def case_restarts(work, n):
    """Guests own the sockets (server=1); every new vswd reconnects, and A's burst reaches B."""
    socks = [work / "ra.sock", work / "rb.sock"]
    ga = Testpmd(socks[0], A, B, server=True, extra=["--forward-mode=rxonly"])
    gb = Testpmd(socks[1], B, A, server=True, extra=["--forward-mode=rxonly"])
    fails, prefix = [], f"soakr{uid()}"
    try:
        for i in range(n):
            v = Vswd(work, prefix=prefix)
            try:
                v.start(timeout=180)
                for name, s in (("ra", socks[0]), ("rb", socks[1])):
                    v.ctl("port", "add", name, "vhost", f"path={s}", "mode=client")
                if i == 0:
                    ga.prompt()
                    gb.prompt()
                    gb.cmd("start")
                v.wait_link("ra")
                v.wait_link("rb")
                before = gb.stats()["rx_packets"]
                ga.cmd("stop")
                ga.cmd("start tx_first 1")
                wait_for(lambda: gb.stats()["rx_packets"] >= before + 32, 30,
                         what="B to receive A's burst")
            except Exception as e:  # noqa: BLE001 - a soak counts failures, it does not stop
                fails.append(f"restart {i}: {e}")
            finally:
                rc = v.stop() if v.proc else 0
                if rc != 0:
                    fails.append(f"restart {i}: vswd exited {rc}")
    finally:
        ga.stop()
        gb.stop()
    return fails


def case_reconnect(work, n):
    """One testpmd detaches and re-attaches its virtio_user port: a vhost connect each time."""
    fails = []
    sock = work / "rc.sock"
    with one_vswd(work, fails) as v:
        v.ctl("port", "add", "rc", "vhost", f"path={sock}")
        base = v.in_use()
        g = Testpmd(sock, A, B)
        vdev = f"net_virtio_user0,path={sock},mac={A},queue_size=256"
        try:
            for i in range(n):
                try:  # vswd must see each disconnect and each connect
                    for line in ("port stop 0", "port close 0", "device detach net_virtio_user0"):
                        g.cmd(line)
                    wait_for(lambda: v.port("rc")["link"] == "down", 30, what="a disconnect")
                    for line in (f"port attach {vdev}", "port start 0"):
                        g.cmd(line)
                    wait_for(lambda: v.port("rc")["link"] == "up", 30, what="a connect")
                except Exception as e:  # noqa: BLE001
                    fails.append(f"cycle {i}: {e}")
                    if len(fails) > 10:
                        break
        finally:
            g.stop()
        wait_for(lambda: v.port("rc")["link"] == "down", 30, what="the guest to go")
        wait_for(lambda: v.in_use() == base, 10, what="mempool back at baseline")
    return fails


def random_frames(n):
    """Random bytes of random length, and scapy's fuzz() of well-formed layers, half each."""
    templates = [Ether() / IP() / UDP() / Raw(b"x" * 18), Ether() / ARP(), Ether() / IP()]
    for i in range(n):
        if i % 2:
            yield os.urandom(RNG.choice((1, 13, 14, 60, 64, RNG.randint(1, 1600), 1518, 1600)))
        else:
            try:
                yield bytes(fuzz(RNG.choice(templates)))
            except (TypeError, ValueError, OSError):  # scapy cannot build that one
                yield os.urandom(60)


def pcap_port(v, name, path, frames):
    """Writes frames to a pcap file and lets vswd read it as a port; returns how many."""
    count = 0
    with PcapWriter(str(path), linktype=1) as w:
        for f in frames:
            w.write(f)
            count += 1
    v.ctl("port", "add", name, "dpdk", f"dev=net_pcap_{name}{uid()},rx_pcap={path}")
    wait_for(lambda: v.stats(name)["rx_packets"] == count, 600, interval=1,
             what=f"{count} frames from the pcap")
    return count


def case_frames(work, n, netns):
    fails = []
    with one_vswd(work, fails) as v:
        netns.attach(v, "out")
        count = pcap_port(v, "fz", work / "fz.pcap", random_frames(n))
        rx, accounted = books(v, "fz")
        if (rx, accounted) != (count, count):
            fails.append(f"{count} frames in, rx {rx}, forwarded + drops {accounted}")
        v.ctl("port", "del", "fz")
        assert v.ctl("version")["vswd"]
    return fails


WORDS = ["port", "fdb", "stats", "del", "show", "flush", "aging", "set", "list", "clear",
         "version", "vhost", "dpdk", "drop=", "seed=", "path=", "02:00:00:00:00:01", "-1",
         "99999999999999999999", "", " ", "=", ",", "\t", "\x00", "é", "%s%n", "x" * 300]


def control_line(rng):
    kind = rng.randrange(4)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 200))) + b"\n"
    if kind == 1:
        return json.dumps({"argv": rng.choice([None, 1, "x", {}, [1, 2], [[]]])}).encode() + b"\n"
    argv = [rng.choice(WORDS) + (str(rng.randrange(100)) if rng.random() < 0.3 else "")
            for _ in range(rng.randint(0, 8))]
    if argv[:2] == ["port", "add"]:  # never create a device: this case is about parsing
        argv[1] = "show"
    return json.dumps({"argv": argv}).encode() + b"\n"


def case_control(work, n):
    fails = []
    with one_vswd(work, fails) as v:
        for i in range(n):
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(10)
            try:
                s.connect(str(v.ctl_path))
                s.sendall(control_line(RNG))
                s.recv(65536)
            except OSError:
                pass  # vswd may close a request it refuses; it must still be there
            finally:
                s.close()
            if not v.proc.alive():
                fails.append(f"vswd died at request {i}:\n{v.proc.output()[-2000:]}")
                break
        if v.ctl("port", "list") != []:
            fails.append("a malformed request created a port")
    return fails


def case_macs(work, n, nets):
    fails = []
    known = "02:00:00:00:5a:0f"
    with one_vswd(work, fails) as v:
        nets[0].attach(v, "in")
        nets[1].attach(v, "known")
        nets[1].send(frame(known, "ff:ff:ff:ff:ff:ff"))
        wait_for(lambda: known in v.fdb(), 20, what="the known host learned")
        frames = (frame("02:%02x:%02x:%02x:%02x:%02x" % tuple(RNG.randrange(256)
                                                                for _ in range(5)),
                        "ff:ff:ff:ff:ff:ff") for _ in range(n))
        pcap_port(v, "macs", work / "macs.pcap", frames)
        st = v.stats()
        if st["fdb"]["entries"] > st["fdb"]["size"] + len(st["pmds"]):
            fails.append(f"table past its bound: {st['fdb']}")
        if v.fdb().get(known, {}).get("port") != "known":
            fails.append("the known host was pushed out")
        tx = v.stats("known")["tx_packets"]
        nets[0].send(frame("02:00:00:00:5a:01", known))
        wait_for(lambda: v.stats("known")["tx_packets"] == tx + 1, 20,
                 what="a unicast frame to the known host")
    return fails


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the full counts")
    ap.add_argument("--only", default=",".join(FULL), help="cases, comma separated")
    args = ap.parse_args()
    cases = args.only.split(",")
    bad = [c for c in cases if c not in FULL]
    if bad:
        sys.exit(f"soak: unknown case {bad[0]} (one of {', '.join(FULL)})")
    failed = 0
    with tempfile.TemporaryDirectory(prefix="vswsoak") as tmp:
        work = Path(tmp)
        nets = []
        try:
            for case in cases:
                n = max(1, int(FULL[case] * args.scale))
                t = time.monotonic()
                if case in ("frames", "macs"):
                    while len(nets) < 2:
                        nets.append(harness.Netns())
                    fails = (case_frames(work, n, nets[0]) if case == "frames"
                             else case_macs(work, n, nets))
                else:
                    fails = globals()[f"case_{case}"](work, n)
                secs = time.monotonic() - t
                print(f"{case:10} {n:>8} in {secs:7.1f} s: "
                      f"{'ok' if not fails else f'{len(fails)} FAILED'}", flush=True)
                for f in fails[:10]:
                    print(f"    {f}", flush=True)
                failed += bool(fails)
        finally:
            for ns in nets:
                ns.delete()
            harness.reap()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
