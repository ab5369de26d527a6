"""VMs for the tests, started and stopped through vsw-vm (a module of its own: every suite's
conftest.py shares the name `conftest`)."""
import json
import os
import re
import subprocess
from pathlib import Path

import harness

VSWVM = harness.ROOT / "images" / "vsw-vm"
# Every test run has its own run directory for its VMs, so runs never see each other's.
RUN_DIR = Path(f"/run/vswkit/vm-test-{os.getpid()}")
ENV = dict(os.environ, VSW_VM_DIR=str(RUN_DIR), VSWKIT_BUILD=str(harness.BUILD))


def vswvm(*args, check=True, timeout=300):
    r = subprocess.run([harness.PY, str(VSWVM), *map(str, args)], capture_output=True, text=True,
                       timeout=timeout, env=ENV)
    if check and r.returncode != 0:
        raise RuntimeError(f"vsw-vm {' '.join(map(str, args))}: {r.stderr.strip()}")
    return r


def build_image(kind):
    """Builds images/KIND into build/images/KIND (only what changed); returns that directory."""
    out = harness.BUILD / "images" / kind
    r = subprocess.run([str(harness.ROOT / "images" / kind / "build.sh"), str(out)],
                       capture_output=True, text=True, timeout=3600, env=ENV)
    assert r.returncode == 0, f"image {kind} build failed:\n{r.stdout}{r.stderr}"
    return out


class Vm:
    """One VM of vsw-vm. `console()` runs a command on the test image's console."""

    def __init__(self, name, *args, wait_boot=120):
        self.name = f"{name}-{harness.uid()}"
        self.stopped = False
        vswvm("start", self.name, *args, "--wait-boot", wait_boot)

    def info(self):
        return next(v for v in json.loads(vswvm("list", "--json").stdout) if v["name"] == self.name)

    def log(self):
        p = RUN_DIR / self.name / "console.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def lines(self, what):
        """The details of every 'VSW <what> ...' line the image printed so far."""
        return re.findall(rf"^VSW {re.escape(what)} ?(.*?)\r?$", self.log(), re.M)

    def wait_line(self, what, timeout=120):
        return harness.wait_for(lambda: self.lines(what), timeout, interval=0.3,
                                what=f"'VSW {what}' on {self.name}'s console")[0]

    def console(self, cmd, timeout=120, check=True):
        r = vswvm("ssh", "--timeout", timeout, self.name, cmd, check=False, timeout=timeout + 30)
        if check and r.returncode != 0:
            raise RuntimeError(f"in {self.name}: {cmd}: rc {r.returncode}\n{r.stdout}{r.stderr}"
                               f"\n--- console ---\n{self.log()[-3000:]}")
        return r.stdout

    def ssh(self, cmd, check=True, timeout=120):
        """A command over SSH (a box with --nic user): (exit code, output)."""
        r = vswvm("ssh", self.name, cmd, check=False, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"ssh {self.name}: {cmd}: rc {r.returncode}\n{r.stdout}{r.stderr}")
        return r.returncode, r.stdout + r.stderr

    def migrate(self, name, *args, timeout=400):
        """vsw-vm migrate into a new QEMU named name-<uid>: returns it (this one is gone). On
        failure this one runs on and the new one is gone."""
        new = object.__new__(Vm)
        new.name, new.stopped = f"{name}-{harness.uid()}", False
        vswvm("migrate", self.name, new.name, *args, timeout=timeout)
        self.stopped = True
        return new

    def stop(self):
        if not self.stopped:
            vswvm("stop", self.name, check=False)
            self.stopped = True


def cleanup_run_dir():
    """After the session: no VM of this run may outlive it."""
    if RUN_DIR.exists():
        vswvm("stop", "--all", check=False)
        try:
            RUN_DIR.rmdir()
        except OSError:
            pass
