"""vsw-vm migrate: a running VM live-migrated into a new QEMU, whose vhost-user NICs may go to
other switch ports (another host's vswd, or another port of this one).

The destination runs the source's command line with its own run directory and NIC sockets and
`-incoming`; the source's QMP `migrate` sends the guest's memory while it runs (the switch
logs the pages it writes into it: VHOST_F_LOG_ALL) and stops it for the last pass. Then the
source goes and the destination runs on under the new name.
"""
import json
import shutil
import socket
import time

from . import qemu, state
from .spec import VmError


class Qmp:
    """One QMP connection: commands in, their answers out (events are skipped)."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(30)
        try:
            self.s.connect(str(path))
        except OSError as e:
            raise VmError(f"cannot reach QMP at {path}: {e.strerror}") from None
        self.f = self.s.makefile("rwb")
        self._read()  # the greeting
        self.cmd("qmp_capabilities")

    def _read(self):
        while True:
            line = self.f.readline()
            if not line:
                raise VmError("QEMU closed its QMP socket")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def cmd(self, name, **args):
        self.f.write(json.dumps({"execute": name, "arguments": args}).encode() + b"\n")
        self.f.flush()
        r = self._read()
        if "error" in r:
            raise VmError(f"QMP {name}: {r['error'].get('desc', r['error'])}")
        return r.get("return")

    def close(self):
        self.f.close()
        self.s.close()


def _dest_argv(src, rd, name, paths):
    """The source's command line for the destination: its run directory, name and NIC paths."""
    argv = [x.replace(src["rundir"], str(rd)) for x in src["argv"]]
    argv[argv.index("-name") + 1] = name
    vhost = [i for i, n in enumerate(src["nics"]) if n["kind"] == "vhost"]
    for i, new in zip(vhost, paths):
        old = f"path={src['nics'][i]['path']}"
        argv = [x.replace(old, f"path={new}") if x.startswith(f"socket,id=vhc{i},") else x
                for x in argv]
    return argv + ["-incoming", f"unix:{rd}/migrate.sock"]


def cmd_migrate(a):
    src = state.load(a.name)
    if not src:
        raise VmError(f"no VM named {a.name}")
    if not state.alive(src):
        raise VmError(f"VM {a.name} is not running (vsw-vm log {a.name} tells why)")
    if state.load(a.to):
        raise VmError(f"a VM named {a.to} exists already (vsw-vm stop {a.to})")
    if src["image"] != "test" or src["pci"] or any(n["kind"] != "vhost" for n in src["nics"]):
        raise VmError(f"{a.name} cannot migrate: only test-image VMs (no disk) with vhost-user "
                      "NICs alone (no --nic user, --pci or --emulated-nic) do")
    vhost = [n for n in src["nics"] if n["kind"] == "vhost"]
    paths = [n.removeprefix("vhost=") for n in a.nic or []]
    if a.nic and (len(paths) != len(vhost) or not all(n.startswith("vhost=") for n in a.nic)):
        raise VmError(f"--nic: give vhost=SOCK for each of {a.name}'s {len(vhost)} vhost NICs, "
                      "in order")
    paths = paths or [n["path"] for n in vhost]
    if any(n["mode"] == "client" for n in vhost):
        raise VmError(f"{a.name} has a NIC whose socket QEMU serves (mode=client): the "
                      "destination could not serve it at the same time")

    rd = state.rundir(a.to)
    shutil.rmtree(rd, ignore_errors=True)  # what a VM of that name left behind
    rd.mkdir(parents=True)
    argv = _dest_argv(src, rd, a.to, paths)
    dst = dict(src, name=a.to, rundir=str(rd), argv=argv, started=time.time(),
               nics=[dict(n, path=p) for n, p in zip(vhost, paths)])
    try:
        p = qemu.spawn(argv, rd)
        dst["pid"] = p.pid
        state.save(a.to, dst)
        qemu.wait_up(p, rd, ("qmp.sock", "migrate.sock"))
        q = Qmp(state.rundir(a.name) / "qmp.sock")
        try:
            q.cmd("migrate", uri=f"unix:{rd}/migrate.sock")
            deadline = time.monotonic() + a.timeout
            while True:
                info = q.cmd("query-migrate")
                if info.get("status") == "completed":
                    break
                if info.get("status") in ("failed", "cancelled"):
                    raise VmError(f"migration {info['status']}: "
                                  f"{info.get('error-desc', 'QEMU gave no reason')}")
                if time.monotonic() > deadline:
                    q.cmd("migrate_cancel")
                    raise VmError(f"migration not done within {a.timeout:g} s (cancelled)")
                time.sleep(0.2)
        finally:
            q.close()
    except BaseException:
        state.stop(a.to)  # the source runs on
        raise
    ram = info.get("ram", {})
    state.stop(a.name)
    print(f"vsw-vm: {a.name} migrated to {a.to} (pid {dst['pid']}): "
          f"{info.get('total-time', 0) / 1000:.1f} s, downtime {info.get('downtime', 0)} ms, "
          f"{ram.get('transferred', 0) >> 20} MB sent")
    return 0
