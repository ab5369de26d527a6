"""Test harness: real processes (vswd, guests), real frames, network namespaces.

Everything started here is stopped by PID and every DPDK file prefix is cleaned after use, so
a test leaves no process, socket, namespace or hugepage file behind.
"""
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("VSWKIT_BUILD", ROOT / "build"))
VSWD = BUILD / "vswitch" / "vswd"
VSWCTL = BUILD / "vswitch" / "vswctl"
L2TOOL = ROOT / "tests" / "tools" / "l2.py"
PY = "/usr/bin/python3"
_seq = itertools.count()
# Everything started and every DPDK file prefix used, so the reaper can clean up after a test
# that failed half-way (see conftest.py).
LIVE = []
PREFIXES = []


def _b36(n):
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    s = ""
    while True:
        n, r = divmod(n, 36)
        s = digits[r] + s
        if n == 0:
            return s


def uid():
    """A short id unique on this machine (pid and a counter), for names that must not clash
    with another test run's: namespaces, interfaces (<= 15 characters), DPDK file prefixes."""
    return f"{_b36(os.getpid())}x{_b36(next(_seq))}"


def wait_for(cond, timeout=30.0, interval=0.1, what="condition"):
    """Polls cond() until it returns something true; generous timeouts, no fixed sleeps."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def dpdk_cleanup(prefix):
    """Removes what a DPDK process with this --file-prefix leaves once it has exited."""
    for f in Path("/dev/hugepages").glob(f"{prefix}map_*"):
        f.unlink(missing_ok=True)
    shutil.rmtree(f"/var/run/dpdk/{prefix}", ignore_errors=True)


def virtio_user(program, sock, mac, app_args, name, core=0, mem=256, queue_size=256, tag="vu",
                devargs="", eal=()):
    """A DPDK program on one net_virtio_user port at sock (a process acting as a guest): its
    Proc, with .prefix (removed by dpdk_cleanup, and at the end of the session). devargs: more
    net_virtio_user arguments (e.g. mrg_rxbuf=0,packed_vq=1); eal: more EAL arguments."""
    prefix = f"{tag}{uid()}"
    PREFIXES.append(prefix)
    vdev = f"net_virtio_user0,path={sock},mac={mac},queue_size={queue_size}"
    if devargs:
        vdev += f",{devargs}"
    # IOVA as VA: as root without an IOMMU the EAL picks physical addresses, and then a large
    # ring's IOVA-contiguous memzones (2.3 MB of tx headers at 16384 entries) need physically
    # adjacent hugepages, which a fragmented pool may not have: the probe fails, silently
    p = Proc([program, "--lcores", f"0@{core}", "-m", str(mem), "--no-pci", "--iova-mode", "va",
              "--single-file-segments", "--file-prefix", prefix, "--log-level", "notice",
              "--vdev", vdev, *eal, "--", *app_args], name)
    p.prefix = prefix
    return p


class Proc:
    """A child process with its output collected in the background; stopped by PID."""

    def __init__(self, argv, name, stdin=False, env=None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.out = []
        self.p = subprocess.Popen(self.argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                  bufsize=0)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        LIVE.append(self)

    def _read(self):
        # chunks, not lines: prompts (testpmd> ) come without a newline
        while chunk := os.read(self.p.stdout.fileno(), 65536):
            self.out.append(chunk.decode(errors="replace"))

    @property
    def pid(self):
        return self.p.pid

    def output(self):
        return "".join(self.out)

    def alive(self):
        return self.p.poll() is None

    def write(self, text):
        self.p.stdin.write(text.encode())
        self.p.stdin.flush()

    def wait(self, timeout=60):
        rc = self.p.wait(timeout)
        self._reader.join(5)
        return rc

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Signals our own child by PID; SIGKILL if it does not go. Returns its exit code."""
        if self.alive():
            os.kill(self.p.pid, sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.p.pid, signal.SIGKILL)
                self.p.wait(10)
        self._reader.join(5)
        return self.p.returncode


class CtlError(Exception):
    pass


def one_line(msg):
    """An error message must be one line: returns it, or fails the test."""
    assert msg and "\n" not in msg, repr(msg)
    return msg


def vswctl(ctl, *args, check=True):
    r = subprocess.run([str(VSWCTL), "--ctl", str(ctl), "--json", *map(str, args)],
                       capture_output=True, text=True, timeout=60)
    sanitizer_check("vswctl", r.stderr)
    if check and r.returncode != 0:
        raise CtlError(r.stderr.strip())
    return json.loads(r.stdout) if r.returncode == 0 and r.stdout.strip() else r


class Vswd:
    """One vswd on a private control socket and file prefix."""

    def __init__(self, workdir, cores=None, args=(), ctl=None, prefix=None):
        self.workdir = Path(workdir)
        self.ctl_path = Path(ctl) if ctl else self.workdir / f"vswd{uid()}.sock"
        self.prefix = prefix or f"vswt{uid()}"
        PREFIXES.append(self.prefix)
        self.cores = cores
        self.args = list(args)
        self.proc = None

    def argv(self):
        a = [VSWD, "--ctl", self.ctl_path, "--file-prefix", self.prefix, "--socket-mem", "256",
             "--mbufs", "8191", "--log-level", "notice", "--vhost-dir", self.workdir,
             "--file-dir", self.workdir]
        if self.cores:
            a += ["--cores", self.cores]
        return a + self.args

    def start(self, timeout=60):
        self.proc = Proc(self.argv(), "vswd")
        wait_for(lambda: not self.proc.alive() or self.ready(), timeout, what="vswd to listen")
        if not self.proc.alive():
            raise RuntimeError(f"vswd exited {self.proc.p.returncode}:\n{self.proc.output()}")
        return self

    def ready(self):
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(str(self.ctl_path))
            return True
        except OSError:
            return False
        finally:
            s.close()

    def ctl(self, *args):
        return vswctl(self.ctl_path, *args)

    def ctl_fail(self, *args):
        """Runs a command that must fail; returns its one-line error."""
        r = vswctl(self.ctl_path, *args, check=False)
        assert isinstance(r, subprocess.CompletedProcess) and r.returncode != 0, \
            f"vswctl {' '.join(map(str, args))} should have failed"
        return r.stderr.strip()

    def telemetry(self, *cmds, timeout=60):
        """Answers of dpdk-telemetry.py to cmds, in order."""
        r = subprocess.run(["dpdk-telemetry.py", "-f", self.prefix], input="\n".join(cmds) + "\n",
                           capture_output=True, text=True, timeout=timeout)
        dec, answers, pos = json.JSONDecoder(), [], 0
        for cmd in cmds:
            key = cmd.split(",")[0]
            pos = r.stdout.index('{"%s"' % key, pos)
            obj, end = dec.raw_decode(r.stdout[pos:])
            answers.append(obj[key])
            pos += end
        return answers

    def inject(self, frames, to_port, timeout=30):
        """Frames (bytes) into the switch from a pcap port (net_pcap): exactly these and
        nothing else (an af_packet port would have the kernel reassemble fragments and add
        its own chatter); returns once to_port has sent as many more, then removes the port."""
        from scapy.packet import Raw
        from scapy.utils import wrpcap
        pcap = self.workdir / f"inject{uid()}.pcap"
        wrpcap(str(pcap), [Raw(f) for f in frames], linktype=1)
        before = self.stats(to_port)["tx_packets"]
        self.ctl("port", "add", "inject", "dpdk", f"dev=net_pcap_in{uid()},rx_pcap={pcap}")
        try:
            wait_for(lambda: self.stats(to_port)["tx_packets"] - before == len(frames),
                     timeout, what=f"the injected frames forwarded to {to_port}")
        finally:
            self.ctl("port", "del", "inject")

    def capture(self, iface, count, out, traffic, timeout=60, bpf=None):
        """dpdk-dumpcap on port iface while traffic() runs: count frames (those matching the
        libpcap filter bpf, if given) into out (pcapng), within timeout seconds of the traffic."""
        cap = Proc(["stdbuf", "-o0", "dpdk-dumpcap", "--file-prefix", self.prefix, "-i", iface,
                    "-w", str(out), "-c", str(count)] + (["-f", bpf] if bpf else []), "dumpcap")
        try:
            wait_for(lambda: "Capturing on" in cap.output() or not cap.alive(), 30,
                     what="dumpcap")
            traffic()
            assert cap.wait(timeout) == 0, cap.output()
        finally:
            cap.stop()

    def stats(self, port=None):
        return self.ctl("stats", port) if port else self.ctl("stats")

    def in_use(self):
        return self.stats()["mempool"]["in_use"]

    def port(self, name):
        return next(p for p in self.ctl("port", "list") if p["name"] == name)

    def wait_link(self, name, state="up", timeout=60, guest=None):
        """Waits for port name's link to be state; guest (the Proc on its other end) may not
        exit first, and what it and vswd said is in the error if the link does not come."""
        def done():
            if self.port(name)["link"] == state:
                return True
            assert guest is None or guest.alive(), \
                f"{name}: its guest exited before the link was {state}:\n{guest.output()[-2000:]}"
            return False
        try:
            wait_for(done, timeout, what=f"{name} link {state}")
        except TimeoutError as e:
            said = f"\nits guest said:\n{guest.output()[-2000:]}" if guest else ""
            raise TimeoutError(f"{e}{said}\nvswd said:\n{self.proc.output()[-2000:]}") from None

    def fdb(self, port=None):
        return {e["mac"].lower(): e for e in (self.ctl("fdb", "show", port) if port
                                              else self.ctl("fdb", "show"))}

    def stop(self):
        rc = self.proc.stop() if self.proc else 0
        dpdk_cleanup(self.prefix)
        return rc


class Netns:
    """A network namespace with one veth pair: eth0 inside (with ip), host_if outside."""

    def __init__(self, ip=None, mtu=None):
        n = uid()
        self.name = f"vswt-{n}"
        self.host_if = f"vth{n}"
        self.ip = ip
        sh(f"ip netns add {self.name}")
        sh(f"ip link add {self.host_if} type veth peer name eth0 netns {self.name}")
        # no IPv6 chatter (router/neighbour solicitations) to disturb frame counts
        sh(f"sysctl -qw net.ipv6.conf.{self.host_if}.disable_ipv6=1")
        self.run("sysctl -qw net.ipv6.conf.all.disable_ipv6=1")
        self.run("sysctl -qw net.ipv6.conf.default.disable_ipv6=1")
        self.run("sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1")
        if mtu:
            sh(f"ip link set {self.host_if} mtu {mtu}")
            self.run(f"ip link set eth0 mtu {mtu}")
        if ip:
            self.run(f"ip addr add {ip} dev eth0")
        self.run("ip link set lo up")
        self.run("ip link set eth0 up")
        sh(f"ip link set {self.host_if} up")
        self.mac = self.run("cat /sys/class/net/eth0/address").stdout.strip().lower()

    @property
    def addr(self):
        return self.ip.split("/")[0]

    def run(self, cmd, check=True, timeout=60):
        return subprocess.run(["ip", "netns", "exec", self.name, "sh", "-c", cmd], check=check,
                              capture_output=True, text=True, timeout=timeout)

    def popen(self, argv, name):
        return Proc(["ip", "netns", "exec", self.name, *argv], name)

    def attach(self, vswd, port):
        """Adds host_if to vswd as an af_packet port named port."""
        vswd.ctl("port", "add", port, "dpdk", f"dev=net_af_packet_{port},iface={self.host_if}")
        vswd.wait_link(port)

    def send(self, *frames):
        """Sends raw Ethernet frames (bytes) out of eth0."""
        self.run(f"{PY} {L2TOOL} send eth0 " + " ".join(f.hex() for f in frames))

    def sniff(self, seconds=60):
        """Starts capturing frames received on eth0 (for at most seconds); see Sniffer."""
        return Sniffer(self, seconds)

    def delete(self):
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


class Sniffer:
    """Frames a namespace receives, printed by l2.py as they come."""

    def __init__(self, ns, seconds):
        self.proc = ns.popen([PY, L2TOOL, "sniff", "eth0", str(seconds)], "sniff")
        wait_for(lambda: "ready" in self.proc.output() or not self.proc.alive(), 30,
                 what="sniffer")

    def seen(self):
        return [bytes.fromhex(l) for l in self.proc.output().split()[1:]]

    def frames(self, at_least=0, timeout=30, grace=0.5):
        """Waits for at_least frames (a condition, not a fixed window), then grace seconds
        more for any that should not be there, and stops; returns the frames."""
        wait_for(lambda: len(self.seen()) >= at_least, timeout, what=f"{at_least} frames")
        time.sleep(grace)
        self.proc.stop()
        return self.seen()


class TestpmdShell:
    """dpdk-testpmd in interactive mode, driven through its prompt; its files go when it stops."""

    def __init__(self, eal, app, prefix, name="testpmd", wait=True, wrap=()):
        """wrap: what runs it (e.g. ip netns exec NS)."""
        self.prefix = f"{prefix}{uid()}"
        PREFIXES.append(self.prefix)
        # unbuffered: testpmd printf()s its answers but write()s its prompt
        argv = [*wrap, "stdbuf", "-o0", "dpdk-testpmd", *eal, "--no-pci", "--single-file-segments",
                "--file-prefix", self.prefix, "--log-level", "notice", "--", "-i", *app]
        self.proc = Proc(argv, name, stdin=True)
        if wait:
            self.prompt()

    def prompt(self, timeout=60, since=0):
        wait_for(lambda: not self.proc.alive() or "testpmd> " in self.proc.output()[since:],
                 timeout, what="testpmd prompt")
        if not self.proc.alive():
            raise RuntimeError(f"{self.proc.name} exited:\n" + self.proc.output()[-3000:])

    def cmd(self, line, timeout=60):
        """Runs one interactive command and returns what it printed."""
        start = len(self.proc.output())
        self.proc.write(line + "\n")
        self.prompt(timeout, since=start)
        return self.proc.output()[start:]

    def stop(self):
        if self.proc.alive():
            try:
                self.proc.write("quit\n")
                self.proc.wait(30)
            except Exception:
                pass
        self.proc.stop(signal.SIGKILL)
        dpdk_cleanup(self.prefix)


class Testpmd(TestpmdShell):
    """A guest on one net_virtio_user port."""

    def __init__(self, sock, mac, peer=None, lcores="0@0,1@0", server=False, queues=1,
                 extra=()):
        """With server=True the guest owns the socket and waits for vswd before its prompt:
        call .prompt() once vswd has its client port."""
        self.mac = mac
        self.queues = queues
        vdev = f"net_virtio_user0,path={sock},mac={mac},queue_size=256,queues={queues}"
        if server:
            vdev += ",server=1"
        app = ["--total-num-mbufs=4096", f"--rxq={queues}", f"--txq={queues}", *extra]
        if peer:
            app.append(f"--eth-peer=0,{peer}")
        # both lcores on CPU 0: vswd's PMD has the last CPU (1 here) to itself
        super().__init__(["--lcores", lcores, "-m", "256", "--vdev", vdev], app, "gst",
                         wait=not server)

    def stats(self):
        out = self.cmd("show port stats 0")
        nums = dict(re.findall(r"(RX-packets|TX-packets|RX-bytes|TX-bytes):\s+(\d+)", out))
        return {k.lower().replace("-", "_"): int(v) for k, v in nums.items()}


# What a sanitized build (./vswkit test --sanitize) prints when it finds a bug: a test whose
# processes printed one fails, whatever their exit status (a guest stopped by a signal, a
# vswctl expected to fail).
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error: ")
SANITIZER_REPORTS = []


def sanitizer_check(name, text):
    for mark in SANITIZER_MARKS:
        if (i := text.find(mark)) >= 0:
            SANITIZER_REPORTS.append(f"{name}: ...{text[max(0, i - 300):i + 3000]}")
            return


def reap():
    """Stops whatever a test left running and removes its DPDK files; fails the test if a
    process it ran reported a sanitizer error."""
    while LIVE:
        p = LIVE.pop()
        p.stop(timeout=10)
        sanitizer_check(p.name, p.output())
    while PREFIXES:
        dpdk_cleanup(PREFIXES.pop())
    reports = SANITIZER_REPORTS[:]
    SANITIZER_REPORTS.clear()
    assert not reports, "sanitizer report:\n" + "\n".join(reports)


def sh(cmd):
    return subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True)
