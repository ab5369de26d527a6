"""vsw-vm commands: start, stop, list, log, ssh, xml (migrate: migrate.py)."""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time

from . import console, domxml, qemu, spec as vmspec, state
from .migrate import cmd_migrate
from .spec import VmError

USAGE = """\
vsw-vm start NAME [--image test|box|FILE] [--nic vhost=SOCK[,mode=server|client][,mac=MAC][,queues=N][,packed=on][,mrg_rxbuf=off]]...
                  [--nic user] [--pci HOST-PCI-ADDR]... [--viommu] [--emulated-nic MODEL[,tap=IF[,vhost=on]][,mac=MAC]]...
                  [--mem MB] [--cpus N] [--cmdline ARGS] [--accel auto|kvm|tcg] [--wait-boot S]
vsw-vm stop NAME... | stop --all
vsw-vm migrate NAME NEWNAME [--nic vhost=SOCK]... [--timeout S]   (live, into a new QEMU)
vsw-vm list [--json]
vsw-vm log NAME
vsw-vm ssh [--timeout S] NAME [CMD...]   (box with --nic user: SSH; test image: its serial console)
vsw-vm xml NAME [start options]   (the same VM as a libvirt domain)
"""
VAGRANT_KEY = "/usr/share/rubygems-integration/all/gems/vagrant-2.3.4/keys/vagrant"


def _start_options(p):
    p.add_argument("name")
    p.add_argument("--image", default="test")
    p.add_argument("--nic", action="append", metavar="SPEC",
                   help="vhost=SOCK[,mode=server|client][,mac=MAC][,queues=N][,packed=on]"
                        "[,mrg_rxbuf=off] (mode is vswd's side, as in vswctl: server = vswd owns "
                        "the socket; packed: the packed virtqueue; mrg_rxbuf=off: no mergeable "
                        "receive buffers) or user")
    p.add_argument("--pci", action="append", metavar="ADDR", help="host device on vfio-pci")
    p.add_argument("--viommu", action="store_true", help="q35 with an emulated Intel IOMMU")
    p.add_argument("--emulated-nic", action="append", metavar="MODEL[,tap=IF[,vhost=on]][,mac=MAC]",
                   help="a NIC QEMU emulates; vhost=on: the kernel's vhost-net serves its TAP")
    p.add_argument("--mem", type=int, default=512, help="MB (default 512)")
    p.add_argument("--cpus", type=int, default=1)
    p.add_argument("--cmdline", help="more kernel arguments (test image: vsw.role=... etc.)")
    p.add_argument("--accel", choices=["auto", "kvm", "tcg"], default="auto")


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cmd_start(a):
    if state.alive(state.load(a.name)):
        raise VmError(f"VM {a.name} is already running (vsw-vm stop {a.name})")
    sp = vmspec.build(a)
    rd = state.rundir(a.name)
    shutil.rmtree(rd, ignore_errors=True)
    rd.mkdir(parents=True)
    try:
        overlay = None
        if sp.image.disk:
            overlay = rd / "overlay.qcow2"
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", sp.image.disk_format,
                            "-b", str(sp.image.disk), str(overlay)], check=True,
                           capture_output=True)
        ssh_port = _free_port() if any(n.kind == "user" for n in sp.nics) else None
        argv = qemu.argv(sp, rd, ssh_port, overlay)
        p = qemu.spawn(argv, rd)
        st = {"name": a.name, "pid": p.pid, "rundir": str(rd), "accel": sp.accel,
              "image": sp.image.kind, "started": time.time(), "argv": argv, "ssh_port": ssh_port,
              "console": sp.image.kind == "test",
              "nics": [{"kind": n.kind, "mac": n.mac, "path": str(n.path) if n.path else None,
                        "mode": n.mode if n.kind == "vhost" else None, "tap": n.tap}
                       for n in sp.nics],
              "pci": sp.pci}
        state.save(a.name, st)
        qemu.wait_up(p, rd)
        if a.wait_boot:
            _wait_boot(a.name, a.wait_boot)
    except BaseException:
        state.stop(a.name)
        raise
    print(f"vsw-vm: {a.name} started (pid {p.pid}, {sp.accel}, image {sp.image.kind}, "
          f"console {rd}/console.sock)")
    return 0


def _wait_boot(name, seconds):
    """Test image: until init says ready; others: until the console shows a login prompt."""
    log = state.rundir(name) / "console.log"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if "VSW ready" in text or "login:" in text:
            return
        if not state.alive(state.load(name)):
            raise VmError(f"VM {name} stopped while booting (vsw-vm log {name})")
        time.sleep(0.2)
    raise VmError(f"VM {name} did not boot within {seconds} s (vsw-vm log {name})")


def cmd_stop(a):
    names = state.names() if a.all else a.names
    if not names and not a.all:
        raise VmError("stop needs a VM name or --all")
    for n in names:
        if not state.load(n):
            raise VmError(f"no VM named {n}")
        state.stop(n)
    return 0


def cmd_list(a):
    rows = []
    for n in state.names():
        st = state.load(n)
        up = state.alive(st)
        rows.append({"name": n, "state": "running" if up else "stopped", "pid": st["pid"],
                     "accel": st["accel"], "image": st["image"], "ssh_port": st["ssh_port"],
                     "uptime_s": round(time.time() - st["started"], 1) if up else None,
                     "nics": st["nics"], "pci": st["pci"], "rundir": st["rundir"]})
    if a.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'NAME':16} {'STATE':8} {'ACCEL':5} {'IMAGE':5} {'PID':>8} {'UPTIME':>8}  NICS")
    for r in rows:
        nics = " ".join(f"{x['kind']}:{x['path'] or x['tap'] or ''}" for x in r["nics"])
        up = f"{r['uptime_s']:.0f}s" if r["uptime_s"] is not None else "-"
        print(f"{r['name']:16} {r['state']:8} {r['accel']:5} {r['image']:5} {r['pid']:>8} "
              f"{up:>8}  {nics}")
    return 0


def _running(name):
    st = state.load(name)
    if not st:
        raise VmError(f"no VM named {name}")
    if not state.alive(st):
        raise VmError(f"VM {name} is not running (vsw-vm log {name} tells why)")
    return st


def cmd_log(a):
    st = state.load(a.name)
    if not st:
        raise VmError(f"no VM named {a.name}")
    sys.stdout.write((state.rundir(a.name) / "console.log").read_text(errors="replace"))
    return 0


def _private_key(name, key):
    """ssh refuses a private key others can read (Debian ships Vagrant's as 0644): use a 0600
    copy in the run directory."""
    if not os.path.isfile(key):
        raise VmError(f"SSH key {key} does not exist (VSW_VM_SSH_KEY)")
    if os.stat(key).st_mode & 0o077 == 0:
        return key
    copy = state.rundir(name) / "ssh_key"
    if not copy.exists():
        fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(key, "rb") as src:
            os.write(fd, src.read())
        os.close(fd)
    return str(copy)


def cmd_ssh(a):
    st = _running(a.name)
    if st["ssh_port"]:
        key = _private_key(a.name, os.environ.get("VSW_VM_SSH_KEY", VAGRANT_KEY))
        ssh = ["ssh", "-q", "-p", str(st["ssh_port"]), "-i", key, "-o", "StrictHostKeyChecking=no",
               "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10",
               f"{os.environ.get('VSW_VM_SSH_USER', 'vagrant')}@127.0.0.1", *a.cmd]
        return subprocess.call(ssh)
    if not st["console"]:
        raise VmError(f"VM {a.name} has neither SSH (--nic user) nor a command console")
    sock = state.rundir(a.name) / "console.sock"
    if not a.cmd:
        return console.interactive(sock)
    try:
        rc, out = console.run(sock, " ".join(a.cmd), timeout=a.timeout)
    except console.ConsoleError as e:
        raise VmError(str(e)) from None
    sys.stdout.write(out)
    return rc


def cmd_xml(a):
    sp = vmspec.build(a)
    sys.stdout.write(domxml.domain(sp, state.rundir(a.name)))
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(prog="vsw-vm", usage=USAGE,
                                description="Test VMs on QEMU wired to vswd over vhost-user.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    s = sub.add_parser("start", help="start a VM")
    _start_options(s)
    s.add_argument("--wait-boot", type=float, default=0, metavar="S",
                   help="wait until the guest is up (test image: init ready)")
    s = sub.add_parser("stop", help="stop VMs and remove their run directories")
    s.add_argument("names", nargs="*")
    s.add_argument("--all", action="store_true")
    s = sub.add_parser("migrate", help="live-migrate a VM into a new QEMU (NICs to new sockets)")
    s.add_argument("name")
    s.add_argument("to", metavar="NEWNAME")
    s.add_argument("--nic", action="append", metavar="vhost=SOCK",
                   help="the destination's socket for each vhost NIC, in order (default: "
                        "the same sockets, as on another host)")
    s.add_argument("--timeout", type=float, default=300, help="seconds (default 300)")
    s = sub.add_parser("list", help="the VMs and how they run")
    s.add_argument("--json", action="store_true")
    s = sub.add_parser("log", help="the VM's console output")
    s.add_argument("name")
    s = sub.add_parser("ssh", help="a command in the VM")
    s.add_argument("name")
    s.add_argument("--timeout", type=float, default=120, help="console commands (default 120 s)")
    s.add_argument("cmd", nargs=argparse.REMAINDER)
    s = sub.add_parser("xml", help="the libvirt domain XML of the same VM")
    _start_options(s)
    a = p.parse_args(argv)
    if not a.command:
        p.print_usage(sys.stderr)
        return 2
    try:
        return {"start": cmd_start, "stop": cmd_stop, "list": cmd_list, "log": cmd_log,
                "ssh": cmd_ssh, "xml": cmd_xml, "migrate": cmd_migrate}[a.command](a)
    except VmError as e:
        print(f"vsw-vm: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
