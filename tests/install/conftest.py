"""Fixtures for the install tests: the kit installed with `meson install --destdir` (once per
session) and, in test_deb.py, the Debian packages in a chroot (debroot.py)."""
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import harness

from instkit import build_ready


class Installed:
    """A --destdir tree: dest, root (dest + prefix), the prefix and libdir as configured."""

    def __init__(self, dest, root, prefix, libdir):
        self.dest, self.root, self.prefix, self.libdir = dest, root, prefix, libdir


@pytest.fixture(scope="session")
def destdir(hugepages):
    """`meson install --destdir` of the build into a temporary tree; removed at the end."""
    prefix, libdir = build_ready()
    d = Path(tempfile.mkdtemp(prefix="inst-destdir-"))
    try:
        r = subprocess.run(["meson", "install", "-C", str(harness.BUILD), "--destdir", str(d)],
                           capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        yield Installed(d, d / prefix.lstrip("/"), prefix, libdir)
    finally:
        shutil.rmtree(d, ignore_errors=True)
