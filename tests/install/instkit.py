"""Helpers of the install tests (a module of its own: `conftest` is a name every suite's
conftest.py shares)."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import harness

sys.path.insert(0, str(harness.ROOT / "tests" / "gstack"))
from gsguest import leftovers  # noqa: E402,F401  (re-exported: what a gs process left behind)

def build_ready():
    """Returns the build's (prefix, libdir), with the build dir as the install tests need it:
    configured with help2man present (man pages) and with relocatable .pc files (the project
    default; an older build dir may predate it). Reconfigures only when it is not so."""
    if shutil.which("help2man") is None:
        subprocess.run([str(harness.ROOT / "vswkit"), "bootstrap"], check=True)
    build = harness.BUILD
    if not (build / "build.ninja").exists():
        subprocess.run([str(harness.ROOT / "vswkit"), "build"], check=True)
    opts = json.loads(subprocess.run(["meson", "introspect", "--buildoptions", str(build)],
                                     check=True, capture_output=True, text=True).stdout)
    reloc = next(o["value"] for o in opts if o["name"] == "pkgconfig.relocatable")
    targets = json.loads(subprocess.run(["meson", "introspect", "--targets", str(build)],
                                        check=True, capture_output=True, text=True).stdout)
    if not reloc or not any(t["name"] == "vswd.8" for t in targets):
        subprocess.run(["meson", "setup", "--reconfigure", str(build), str(harness.ROOT),
                        "-Dpkgconfig.relocatable=true"], check=True, capture_output=True)
    opt = {o["name"]: o["value"] for o in opts}
    return opt["prefix"], opt["libdir"]


class InstalledVswd(harness.Vswd):
    """harness.Vswd on an installed vswd and vswctl (in bindir), with inst names."""

    def __init__(self, workdir, bindir, args=()):
        super().__init__(workdir, args=args, prefix=f"inst{harness.uid()}")
        self.bindir = Path(bindir)
        self.ctl_path = Path(workdir) / f"inst{harness.uid()}.sock"

    def argv(self):
        return [self.bindir / "vswd", *super().argv()[1:]]

    def ctl(self, *args):
        r = subprocess.run([str(self.bindir / "vswctl"), "--ctl", str(self.ctl_path), *args],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout
