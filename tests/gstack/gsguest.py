"""Helpers for the guest stack tests: gs tools as guests on vswd's vhost-user ports.
(A module of its own: `conftest` is a name every suite's conftest.py shares.)"""
import json
import signal
from pathlib import Path

import harness

APPS = harness.BUILD / "guest_stack" / "apps"


def tool(name):
    return str(APPS / name)


def leftovers(pid):
    """What a gs tool with this PID left behind: hugepage files, runtime directory."""
    left = [str(p) for p in Path("/dev/hugepages").glob(f"gs-{pid}map_*")]
    if Path(f"/var/run/dpdk/gs-{pid}").exists():
        left.append(f"/var/run/dpdk/gs-{pid}")
    return left


class Guest:
    """A gs tool on its own vhost-user port of vswd (server mode: vswd owns the socket)."""

    def __init__(self, vswd, name, app, ip, mac, mode="single", cores=None, args=(),
                 queue_size=None):
        self.vswd, self.name, self.app, self.mac = vswd, name, app, mac.lower()
        self.ip = ip.split("/")[0]
        self.sock = Path(vswd.workdir) / f"{name}.sock"
        if not any(p["name"] == name for p in vswd.ctl("port", "list")):
            vswd.ctl("port", "add", name, "vhost", f"path={self.sock}")
        dev = f"net_virtio_user0,path={self.sock}" + (f",queue_size={queue_size}"
                                                       if queue_size else "")
        argv = [tool(app), "--dev", dev, "--ip", ip,
                "--mac", mac, "--mode", mode, "--json", *(["--cores", cores] if cores else []),
                *args]
        self.proc = harness.Proc(argv, app)
        self._json = None

    def wait_ready(self, timeout=60):
        """Ready once vswd learned our MAC from the gratuitous ARP sent at start."""
        harness.wait_for(lambda: not self.proc.alive() or self.mac in self.vswd.fdb(),
                         timeout, what=f"{self.app} on {self.name} to announce itself")
        assert self.proc.alive() or self.proc.p.returncode == 0, self.proc.output()
        return self

    def stop(self, timeout=60):
        """SIGINT: the tool prints its JSON summary and exits; returns the exit code."""
        rc = self.proc.stop(signal.SIGINT, timeout)
        assert not leftovers(self.proc.pid), leftovers(self.proc.pid)
        return rc

    def wait(self, timeout=120):
        rc = self.proc.wait(timeout)
        assert not leftovers(self.proc.pid), leftovers(self.proc.pid)
        return rc

    def result(self):
        if self._json is None:
            lines = [l for l in self.proc.output().splitlines() if l.startswith("{")]
            assert lines, f"{self.app} printed no JSON:\n{self.proc.output()[-3000:]}"
            self._json = json.loads(lines[-1])
        return self._json


def cores_for(mode):
    """Two workers in every multi-core mode (lcores float over this machine's CPUs)."""
    return {"single": "0", "1kb": "0-2", "2kb": "0-3"}[mode]
