"""Runs host commands (ip link, mount, modprobe) so that --dry-run and tests can intercept them.

Commands that change the host go through Runner.run: printed under --dry-run, appended to the
file named by --record-commands (or $VSWHOST_RECORD) when recording, and never run at all against a
fake sysfs tree, so a test can never reconfigure a real interface. Read-only probes (qemu
--version) go through Runner.query and always run.
"""

import os
import shlex
import shutil
import subprocess
import sys

from .errors import VswError


class Runner:
    def __init__(self, dry_run=False, record=None, fake=False, out=None):
        self.dry_run = dry_run
        self.record = record or os.environ.get("VSWHOST_RECORD") or None
        self.fake = fake
        self.out = out or sys.stdout

    def run(self, argv):
        line = shlex.join(argv)
        if self.dry_run:
            print(f"dry-run: run {line}", file=self.out)
            return
        if self.record:
            with open(self.record, "a") as f:
                f.write(line + "\n")
            return
        if self.fake:
            print(f"fake-sysfs: not running {line}", file=self.out)
            return
        try:
            proc = subprocess.run(argv, capture_output=True, text=True)
        except OSError as e:
            raise VswError(f"cannot run {argv[0]}: {e.strerror}") from None
        if proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            raise VswError(f"'{line}' failed: {detail[0] if detail else proc.returncode}")

    @staticmethod
    def query(argv):
        """Output of a read-only command, or None when it is missing or fails."""
        if not shutil.which(argv[0]):
            return None
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return proc.stdout + proc.stderr if proc.returncode == 0 else None
