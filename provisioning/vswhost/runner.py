"""Runs host commands (ip link, mount, modprobe) so that --dry-run and tests can intercept them.

Commands that change the host go through Runner.run: printed under --dry-run, appended to the
file named by --record-commands (or $VSWHOST_RECORD) when recording. Against a fake sysfs tree
they are never run on this machine: the fake (fake_commands.py) plays them, so that a test can
neither reconfigure a real interface nor pass where the real command would fail. Read-only
probes (qemu --version, ip -j link show) go through Runner.query: real commands on a real host,
the fake's answers on a fake tree.
"""

import os
import shlex
import shutil
import subprocess
import sys

from .errors import VswError


class Runner:
    def __init__(self, dry_run=False, record=None, fake=None, out=None):
        self.dry_run = dry_run
        self.record = record or os.environ.get("VSWHOST_RECORD") or None
        self.fake = fake  # a fake_commands.FakeCommands for a fake tree
        self.out = out or sys.stdout

    def run(self, argv):
        line = shlex.join(argv)
        if self.dry_run:
            print(f"dry-run: run {line}", file=self.out)
            return
        if self.record:
            with open(self.record, "a") as f:
                f.write(line + "\n")
            if self.fake is None:
                return
        if self.fake is not None:
            rc, out, err = self.fake.run(argv)
        else:
            try:
                proc = subprocess.run(argv, capture_output=True, text=True)
            except OSError as e:
                raise VswError(f"cannot run {argv[0]}: {e.strerror}") from None
            rc, out, err = proc.returncode, proc.stdout, proc.stderr
        if rc != 0:
            detail = (err or out).strip().splitlines()
            raise VswError(f"'{line}' failed: {detail[0] if detail else rc}")

    def query(self, argv):
        """Output of a read-only command, or None when it is missing or fails."""
        if self.fake is not None:
            rc, out, err = self.fake.run(argv)
            return out + err if rc == 0 else None
        if not shutil.which(argv[0]):
            return None
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return proc.stdout + proc.stderr if proc.returncode == 0 else None

    def have(self, name):
        """Is the command NAME installed (on a fake tree: listed in the fake's tools)?"""
        if self.fake is not None:
            return name in self.fake.config.get("tools", {})
        return shutil.which(name) is not None
