"""--guest vm: the guests are test-image VMs (images/vsw-vm; QEMU, under TCG where KVM does not
work, so there the figures measure the emulator more than the switch), booted for each sample
and stopped after it. With --traffic trafgen (VmTrafGen), bench/trafgen runs in a VM with a NIC
on each of its ports: loop's generator, with both ports, on --gen-core; pvp's forwarding guest
(g0, g1) on --recv-core. Between two VMs (v2v), g0 (the sender, client) on --gen-core and g1 on
--recv-core, through their consoles:

  udp     gs-udpperf in both, on DPDK's virtio PMD in the VM; on the kernel switch the guests'
          kernel UDP (bench/kudp)
  rpc     rpc-bench client and server; on the kernel switch bench/kudp_rr
  iperf3  the guests' kernel TCP over their virtio-net NICs, with what offloads each switch
          offers: iperf3 -c in g0 to iperf3 -s in g1 (--sizes are iperf3's write length)
"""
import json
import math
import os
import re
import socket
import subprocess
import time
from pathlib import Path

from benchkit import Fail
from guests import UDP_IPS, UDP_PORT, RPC_PORT, kudp_rr_result, rpc_result, udp_result
from harness import BUILD, PY, ROOT, uid, wait_for
from switches import TAG, one_line

VSWVM = ROOT / "images" / "vsw-vm"
IMAGE = BUILD / "images" / "test"
IPERF_PORT = 5201
DPDK_MEM, KERNEL_MEM = 768, 512  # MB: a DPDK tool takes HUGEPAGES of it
HUGEPAGES = 160
BOOT_S = 300


def image_missing():
    """Why the VMs cannot start, or None."""
    if not (IMAGE / "vmlinuz").is_file() or not (IMAGE / "initrd.img").is_file():
        return f"--guest vm needs the test image ({IMAGE} is missing): ./vswkit image test"
    return None


class Vms:
    """The VMs of one run, in a vsw-vm directory of their own; stop_all() stops every one."""

    def __init__(self, tag):
        self.dir = Path(f"/run/vswkit/{tag}-vms")
        self.env = dict(os.environ, VSW_VM_DIR=str(self.dir), VSWKIT_BUILD=str(BUILD))
        self.started = False

    def vswvm(self, *args, wrap=(), timeout=120):
        return subprocess.run([*wrap, PY, str(VSWVM), *map(str, args)], capture_output=True,
                              text=True, timeout=timeout, env=self.env)

    def start(self, name, cpu, nic, cmdline, mem, netns=None):
        """Boots a VM (not waiting for it) with its QEMU on CPU cpu, in netns if given."""
        wrap = (["ip", "netns", "exec", netns] if netns else []) + ["taskset", "-c", str(cpu)]
        self.started = True
        r = self.vswvm("start", name, *nic, "--mem", mem, "--cmdline", cmdline, wrap=wrap)
        if r.returncode:
            raise Fail(f"vsw-vm start {name}: {one_line(r.stderr or r.stdout)}")

    def log(self, name):
        p = self.dir / name / "console.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def lines(self, name, what):
        return re.findall(rf"^VSW {re.escape(what)} ?(.*?)\r?$", self.log(name), re.M)

    def alive(self, name):
        try:
            os.kill(json.loads((self.dir / name / "vm.json").read_text())["pid"], 0)
            return True
        except (OSError, ValueError, KeyError):
            return False

    def poke(self, name):
        """An empty line on the console: the emulated UART sometimes holds the last bytes of
        output until its next interrupt (images/vswvm/console.py)."""
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(str(self.dir / name / "console.sock"))
            s.sendall(b"\n")
        except OSError:
            pass
        finally:
            s.close()

    def wait_line(self, name, what, timeout, index=0):
        """The first (index-th) 'VSW what ...' line of the VM's console; a 'VSW error' line, or
        QEMU gone, fails."""
        last = [time.monotonic()]

        def seen():
            err = self.lines(name, "error")
            if err:
                raise Fail(f"VM {name}: {err[0]}")
            found = self.lines(name, what)[index:]
            if not found and not self.alive(name):
                raise Fail(f"VM {name} stopped: {one_line(self.tail(name, 1))}")
            if not found and time.monotonic() - last[0] > 2:
                self.poke(name)
                last[0] = time.monotonic()
            return found
        return wait_for(seen, timeout, interval=0.3, what=f"'VSW {what}' on {name}'s console")[0]

    def tail(self, name, n=15):
        """The last n lines of the VM's console (and of QEMU's log, if it went)."""
        qemu = self.dir / name / "qemu.log"
        text = self.log(name) + (qemu.read_text(errors="replace") if qemu.exists() else "")
        return "\n".join(l.rstrip("\r") for l in text.splitlines()[-n:])

    def console(self, name, cmd, timeout=60):
        """A command on the VM's console: its output; a failure raises Fail."""
        r = self.vswvm("ssh", "--timeout", timeout, name, cmd, timeout=timeout + 30)
        if r.returncode:
            raise Fail(f"in VM {name}: {cmd}: rc {r.returncode}: {one_line(r.stdout + r.stderr)}")
        return r.stdout

    def boot(self, sw, name, cpu, ports, cmdline, mem):
        """Starts a VM with a NIC on each of the switch's ports [(index, MAC)]; returns at
        once (wait_line(name, "ready") waits for its boot)."""
        nics = [opt for i, mac in ports for opt in sw.vm_nic(i, mac)]
        self.start(name, cpu, nics, cmdline, mem, sw.vm_netns)
        for i, _ in ports:
            sw.vm_started(i)

    def stop_all(self):
        """Stops every VM of the run (their run directories go with them)."""
        if self.started:
            self.vswvm("stop", "--all")
            try:
                self.dir.rmdir()
            except OSError:
                pass
            self.started = False


def reach(vms, name, ip):
    """Until ip answers g0's kernel ping (the receiver is up), at most a minute."""
    try:  # a subshell: an exit must not end the console's shell
        vms.console(name, f"(i=0; until ping -c 1 -W 1 {ip} >/dev/null 2>&1; do i=$((i + 1)); "
                          f"[ $i -lt 60 ] || exit 1; done)", timeout=90)
    except Fail:
        raise Fail(f"{ip} does not answer {name}'s ping: the receiving guest is not up") from None


def json_of(text, what):
    lines = [l for l in text.splitlines() if l.startswith("{")]
    if not lines:
        raise Fail(f"{what} printed no JSON: {one_line(text) if text.strip() else 'nothing'}")
    return json.loads(lines[-1])


class VmSample:
    """One sample's two VMs on switch sw (started), and its traffic."""

    def __init__(self, run, sw, size, a):
        self.run, self.sw, self.size, self.a = run, sw, size, a
        self.vms = run.vms
        self.dpdk = a.traffic in ("udp", "rpc") and sw.name != "kernel"
        self.names = [f"{TAG}{uid()}g{i}" for i in (0, 1)]
        self.secs = max(1, math.ceil(a.seconds))  # whole seconds: iperf3 -t

    def boot(self, macs):
        for i, name in enumerate(self.names):
            cmdline = f"vsw.role=shell vsw.ip={UDP_IPS[i]}/24" + (
                f" vsw.hugepages={HUGEPAGES}" if self.dpdk else "")
            self.vms.boot(self.sw, name, self.a.gen_core if i == 0 else self.a.recv_core,
                          [(i, macs[i])], cmdline, DPDK_MEM if self.dpdk else KERNEL_MEM)
        for name in self.names:
            self.vms.wait_line(name, "ready", BOOT_S)
        self.sw.wait_ready()

    def gs(self, i, tool, args):
        """A DPDK tool in VM i (images/test/vsw-gs), once it says it started."""
        ip = f"{UDP_IPS[i]}/24"
        self.vms.console(self.names[i], f"vsw-gs {tool} {ip} uio_pci_generic {HUGEPAGES} {args}")
        self.vms.wait_line(self.names[i], "started", 60)

    def gs_end(self, i, tool, timeout):
        """The exit code and JSON line of VM i's tool, once it ended."""
        name = self.names[i]
        rc = int(self.vms.wait_line(name, "exit", timeout).split()[-1])
        return rc, json_of(self.vms.lines(name, "json")[0], f"{tool} in {name}")

    def kernel_server(self, argv, out):
        """A kernel tool in g1 in the background (its output in out), once it says ready."""
        g1 = self.names[1]
        self.vms.console(g1, f"{argv} > {out} 2>&1 &")
        wait_for(lambda: "ready" in self.vms.console(g1, f"cat {out}"), 30, interval=0.5,
                 what=f"{argv.split()[0]} in {g1}")

    def udp(self):
        a, s = self.a, self.secs
        if self.dpdk:
            self.gs(1, "gs-udpperf", f"--recv --idle-exit 2 --duration {s + 120:.0f} "
                    f"--nb-desc 1024 --port {UDP_PORT}")
            reach(self.vms, self.names[0], UDP_IPS[1])
            self.gs(0, "gs-udpperf", f"--send --dst {UDP_IPS[1]} --port {UDP_PORT} "
                    f"--size {self.size} --flows {a.flows} --duration {s} --busy-poll")
            rc, snd = self.gs_end(0, "gs-udpperf", s + 120)
            if rc or snd.get("arp_error", 0) < 0:
                raise Fail(f"gs-udpperf --send in {self.names[0]} exited {rc}")
            try:
                _, rcv = self.gs_end(1, "gs-udpperf", 10)
            except TimeoutError:  # its idle exit waits for a first datagram: on SIGINT it
                self.vms.console(self.names[1],  # reports all the same
                                 "kill -INT $(cat /run/gs-udpperf.pid) 2>/dev/null; true")
                _, rcv = self.gs_end(1, "gs-udpperf", 60)
            u = {"generator": "gs-udpperf", "sent": snd["sent"], "received": rcv["received"],
                 "send_seconds": snd["seconds"]}
        else:
            # it ends 2 s after the last datagram, or at most 30 s after the sender should
            self.kernel_server(f"kudp recv {UDP_PORT} {a.flows} 2 {s + 30}", "/tmp/kudp")
            snd = json_of(self.vms.console(
                self.names[0], f"kudp send {UDP_IPS[1]} {UDP_PORT} {self.size} {s} {a.flows}",
                timeout=s + 60), "kudp send")
            rcv = wait_for(lambda: self.kudp_received(), 60, interval=0.5,
                           what=f"kudp recv in {self.names[1]} to end")
            u = {"generator": "kudp", "sent": snd["pkts"], "received": rcv["pkts"],
                 "send_seconds": snd["seconds"]}
        return udp_result(u, self.size, a.flows)

    def kudp_received(self):
        out = self.vms.console(self.names[1], "cat /tmp/kudp")
        r = json_of(out, "kudp recv")
        return r if "pkts" in r else None

    def rpc(self):
        a, s = self.a, self.secs
        if self.dpdk:
            self.gs(1, "rpc-bench", f"--server --duration {s + 300:.0f}")
            reach(self.vms, self.names[0], UDP_IPS[1])
            self.gs(0, "rpc-bench", f"--client --server-ip {UDP_IPS[1]} --size {self.size} "
                    f"--resp-size {self.size} --concurrency {a.concurrency} --duration {s}")
            rc, r = self.gs_end(0, "rpc-bench", s + 120)
            r = rpc_result(r, rc, a.concurrency, f"rpc-bench --client in {self.names[0]}")
        else:
            self.kernel_server(f"kudp_rr server {RPC_PORT} {s + 120:.0f}", "/tmp/kudp_rr")
            r = json_of(self.vms.console(
                self.names[0], f"kudp_rr client {UDP_IPS[1]} {RPC_PORT} {self.size} "
                               f"{a.concurrency} {s}", timeout=s + 60), "kudp_rr client")
            if not r.get("completed"):
                raise Fail(f"kudp_rr client in {self.names[0]}: nothing completed")
            r = kudp_rr_result(r)
        return {"mpps": r.pop("rps") / 1e6, "concurrency": a.concurrency, **r}

    def iperf3(self):
        s = self.secs
        # -D returns before the server listens: wait for it
        self.vms.console(self.names[1], f"iperf3 -s -D -1 -p {IPERF_PORT}; (i=0; until netstat "
                                        f"-ltn | grep -q ':{IPERF_PORT} '; do i=$((i + 1)); "
                                        f"[ $i -lt 100 ] || exit 1; sleep 0.1; done)")
        reach(self.vms, self.names[0], UDP_IPS[1])
        out = self.vms.console(self.names[0], f"iperf3 -c {UDP_IPS[1]} -p {IPERF_PORT} -t {s} "
                                              f"-i 0 -J -l {self.size}", timeout=s + 60)
        try:  # one JSON document over many lines
            j = json.JSONDecoder().raw_decode(out[out.index("{"):])[0]
        except ValueError:
            raise Fail(f"iperf3 -c in {self.names[0]} printed no JSON: {one_line(out)}") from None
        if "error" in j:
            raise Fail(f"iperf3 -c in {self.names[0]}: {j['error']}")
        sent, got = j["end"]["sum_sent"], j["end"]["sum_received"]
        return {"generator": "iperf3", "gbps": got["bits_per_second"] / 1e9,
                "sent_gbps": sent["bits_per_second"] / 1e9, "bytes": got["bytes"],
                "seconds": round(got["seconds"], 3), "retransmits": sent.get("retransmits"),
                "write_bytes": self.size,
                "tso": self.offload(0)}

    def offload(self, i):
        """Whether VM i's NIC does TCP segmentation offload (what the switch offered)."""
        out = self.vms.console(self.names[i], "ethtool -k eth0")
        m = re.search(r"^tcp-segmentation-offload: (\w+)", out, re.M)
        return m.group(1) if m else "unknown"


class VmTrafGen:
    """bench/trafgen in a VM of its own with a NIC on each of its switch ports (DPDK's virtio
    PMD on uio_pci_generic: images/test/vsw-trafgen), driven as guests.TrafGen is: commands
    through the VM's console, answers from its "VSW tg" lines."""

    def __init__(self, run, sw, ports, args, cpu, role):
        """ports: [(switch port index, own MAC, MAC it sends to or None)]; args: trafgen's
        (--sizes .. or --forward); role: the VM's name's tail."""
        self.vms, self.name, self.seen = run.vms, f"{TAG}{uid()}{role}", 0
        t0 = time.monotonic()
        self.vms.boot(sw, self.name, cpu, [(i, mac) for i, mac, _ in ports],
                      f"vsw.role=shell vsw.hugepages={HUGEPAGES}", DPDK_MEM)
        self.vms.wait_line(self.name, "ready", BOOT_S)
        self.boot_seconds = round(time.monotonic() - t0, 1)
        dsts = " ".join(f"--dst={n}={dst}" for n, (_, _, dst) in enumerate(ports) if dst)
        out = self.vms.console(self.name, f"vsw-trafgen {HUGEPAGES} "
                                          f"{','.join(mac for _, mac, _ in ports)} {args} {dsts}")
        if "vsw-trafgen: not found" in out:
            raise Fail(f"the test image {IMAGE} has no vsw-trafgen: rebuild it (./vswkit image "
                       f"test)")
        self.answer(120)  # "ready": every port's link is up

    def send(self, line):
        self.vms.console(self.name, f"echo '{line}' >/run/trafgen.in")

    def answer(self, timeout):
        try:
            l = self.vms.wait_line(self.name, "tg", timeout, self.seen)
        except TimeoutError:
            raise Fail(f"trafgen in VM {self.name} did not answer in {timeout:.0f} s: "
                       f"{one_line(self.vms.tail(self.name, 3))}") from None
        self.seen += 1
        a = json.loads(l)
        if a.get("what") == "error":
            raise Fail(f"trafgen in VM {self.name}: {a['error']}")
        return a

    def quit(self):
        """Nothing: the VM and its trafgen stay for the sample's next phase (zero loss after
        the closed loop), and go when the sample ends (stop_all)."""


def measure(run, sw, size, macs, a):
    """The sample's traffic between two VMs: (mode, result)."""
    v = VmSample(run, sw, size, a)
    t0 = time.monotonic()
    try:
        v.boot(macs)
        boot_s = round(time.monotonic() - t0, 1)
        out = getattr(v, a.traffic)()
    except (Fail, TimeoutError) as e:  # the VMs' consoles say more than the switch's log
        raise Fail(f"{sw.name}, {a.traffic} between VMs: {one_line(e)}" + "".join(
            f"\n--- the tail of VM {n}'s console:\n{run.vms.tail(n)}" for n in v.names
            if run.vms.log(n))) from e
    out["boot_seconds"] = boot_s
    return out
