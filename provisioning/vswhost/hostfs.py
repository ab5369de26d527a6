"""Every file read and write on the host, behind roots that tests can move.

Why one layer: --dry-run must show every write and make none, --sysfs-root/--proc-root/--etc-root
must redirect every path, and a fake sysfs tree (marked by DIR/.vswkit-fake-sysfs) needs writes to
files such as sriov_numvfs or bind to take their kernel effect. Doing this in one place keeps the
rest of the code ignorant of all three.
"""

import errno
import os
import sys

from .errors import VswError
from .runner import Runner

FAKE_MARKER = ".vswkit-fake-sysfs"


class Host:
    """Paths and I/O of one host (real or fake); carries the command runner and the dry-run flag."""

    def __init__(self, sysfs_root="/sys", proc_root="/proc", etc_root="/etc",
                 dry_run=False, record=None, out=None, dev_root=None):
        self.sysfs_root = os.path.abspath(sysfs_root)
        self.proc_root = os.path.abspath(proc_root)
        self.etc_root = os.path.abspath(etc_root)
        self.dev_root = os.path.abspath(dev_root or "/dev")
        self.dry_run = dry_run
        self.out = out or sys.stdout
        self.fake = commands = None
        if os.path.exists(os.path.join(self.sysfs_root, FAKE_MARKER)):
            from . import fake_commands, fake_kernel  # the test double, only for a marked tree
            self.fake = fake_kernel.FakeKernel(self)
            commands = fake_commands.FakeCommands(self.fake)
            if dev_root is None:  # never the real /dev behind a fake tree
                self.dev_root = self.fake.dev_root
        self.runner = Runner(dry_run=dry_run, record=record, fake=commands, out=self.out)

    # paths -----------------------------------------------------------------
    def sys(self, *parts):
        return os.path.join(self.sysfs_root, *parts)

    def proc(self, *parts):
        return os.path.join(self.proc_root, *parts)

    def etc(self, *parts):
        return os.path.join(self.etc_root, *parts)

    def devfs(self, *parts):
        return os.path.join(self.dev_root, *parts)

    # reads -----------------------------------------------------------------
    @staticmethod
    def read(path, default=None):
        """File content stripped, or default when it does not exist or cannot be read."""
        try:
            with open(path) as f:
                return f.read().strip()
        except OSError:
            return default

    def read_int(self, path, default=None):
        value = self.read(path)
        try:
            return int(value, 0) if value is not None else default
        except ValueError:
            return default

    @staticmethod
    def listdir(path):
        try:
            return sorted(os.listdir(path))
        except OSError:
            return []

    @staticmethod
    def link_name(path):
        """Basename of a symlink's target (driver, iommu_group, physfn), or None."""
        try:
            return os.path.basename(os.readlink(path))
        except OSError:
            return None

    # writes ----------------------------------------------------------------
    def say(self, text):
        print(text, file=self.out)

    def write(self, path, value):
        """Write a sysfs/procfs attribute; in dry-run only print what would be written."""
        if self.dry_run:
            self.say(f"dry-run: write {value!r} to {path}")
            return
        try:
            if self.fake is not None and self.fake.handles(path):
                self.fake.write(path, value)
            else:
                with open(path, "w") as f:
                    f.write(value)
        except OSError as e:
            reason = e.strerror or errno.errorcode.get(e.errno, str(e))
            raise VswError(f"writing {value!r} to {path} failed: {reason}") from None

    def write_file(self, path, text):
        """Create or replace a configuration file (under --etc-root); returns what undo needs:
        the old content (None: no file) and the directories this write created."""
        info = {"old": self.read_raw(path), "made": []}
        if self.dry_run:
            self.say(f"dry-run: write {path}:")
            for line in text.splitlines():
                self.say(f"dry-run:   {line}")
            return info
        info["made"] = self.make_parents(path)
        with open(path, "w") as f:
            f.write(text)
        self.say(f"wrote {path}")
        return info

    @staticmethod
    def make_parents(path):
        """Create path's missing directories; returns them, outermost first (for undo)."""
        made, parent = [], os.path.dirname(path)
        while not os.path.isdir(parent):
            made.insert(0, parent)
            parent = os.path.dirname(parent)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return made

    def write_link(self, path, target):
        """Create a symlink (a systemd unit enabled under *.wants); undo info as write_file's."""
        info = {"old": None, "made": [], "link": True}
        if self.dry_run:
            self.say(f"dry-run: link {path} -> {target}")
            return info
        info["made"] = self.make_parents(path)
        if os.path.lexists(path):
            info["old_link"] = os.readlink(path)
            os.unlink(path)
        os.symlink(target, path)
        return info

    def remove_file(self, path, why=""):
        """Remove a configuration file that exists; returns {path: undo info} (restore_file
        puts it back), or {} if there is none."""
        old = self.read_raw(path)
        if old is None:
            return {}
        if self.dry_run:
            self.say(f"dry-run: remove {path}")
        else:
            os.unlink(path)
            self.say(f"removed {path}{why}")
        return {path: {"old": old, "made": []}}

    def restore_file(self, path, info):
        """Undo write_file/write_link: put back the old content or link, or remove the file and
        the directories the write made."""
        old = info["old"]
        if self.dry_run:
            self.say(f"dry-run: {'restore' if old is not None else 'remove'} {path}")
            return
        if info.get("old_link"):
            os.unlink(path)
            os.symlink(info["old_link"], path)
            return
        if old is not None:
            with open(path, "w") as f:
                f.write(old)
            return
        if os.path.lexists(path):
            os.unlink(path)
        for made in reversed(info.get("made", [])):
            if os.path.isdir(made) and not os.listdir(made):
                os.rmdir(made)

    def restore_files(self, files):
        """restore_file for each of {path: info}, newest first (a link before its unit)."""
        for path, info in reversed(list(files.items())):
            self.restore_file(path, info)

    @staticmethod
    def read_raw(path):
        try:
            with open(path) as f:
                return f.read()
        except OSError:
            return None
