"""A control socket that is safe to hand out: whoever reaches it runs the switch, not the host.
Server-mode vhost sockets live in --vhost-dir (nothing is unlinked elsewhere), client paths are
absolute and fit a socket address, no path carries a comma into the driver's arguments, vdev
files live in --file-dir, only known vdev drivers, and --ctl-group opens the socket to a group.
Every refused request leaves vswd running and nothing changed, on the switch or on disk."""
import grp
import os
import shutil
import socket
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from harness import VSWCTL, Proc, Vswd, one_line, uid


@pytest.fixture
def outside():
    """A directory outside vswd's --vhost-dir and --file-dir, with a stale socket (bound, nobody
    listening: what vswd removes in its own directories) and a file with contents."""
    d = Path(tempfile.mkdtemp(prefix="vswtrust"))
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(d / "stale.sock"))
    s.close()
    (d / "victim").write_text("keep me\n")
    yield d
    shutil.rmtree(d)


def unchanged(vswd, outside):
    assert vswd.ctl("port", "list") == []
    assert stat.S_ISSOCK((outside / "stale.sock").lstat().st_mode)
    assert (outside / "victim").read_text() == "keep me\n"


def test_server_sockets_only_in_the_vhost_dir(vswd, outside):
    wd = vswd.workdir
    out = os.path.relpath(outside, wd)                        # ../../../vswtrustXXX
    (wd / "up").symlink_to(outside)                          # a directory link out of it
    (wd / "ln.sock").symlink_to(outside / "stale.sock")      # a socket link out of it
    for path, expect in [
            (outside / "stale.sock", "not in --vhost-dir"),
            (f"{wd}/{out}/stale.sock", "not in --vhost-dir"),
            (f"{wd}/../{wd.name}/{out}/stale.sock", "not in --vhost-dir"),
            (wd / "up" / "stale.sock", "not in --vhost-dir"),
            (wd / "ln.sock", "a symbolic link"),
            ("rel/x.sock", "a name or an absolute path"),
            (wd / "no-such-dir" / "x.sock", "No such file or directory"),
            (f"{wd}/a,iface=/tmp/x.sock", "a comma is not allowed")]:
        msg = one_line(vswd.ctl_fail("port", "add", "v", "vhost", f"path={path}"))
        assert expect in msg, (path, msg)
        unchanged(vswd, outside)
    msg = one_line(vswd.ctl_fail("port", "add", "v", "vhost", "path=ln.sock"))  # bare name too
    assert "a symbolic link" in msg
    assert (wd / "ln.sock").is_symlink()                      # not unlinked either


def test_bare_name_goes_in_the_first_vhost_dir(vswd):
    vswd.ctl("port", "add", "v", "vhost", "path=bare.sock")
    assert vswd.port("v")["path"] == str(vswd.workdir.resolve() / "bare.sock")
    assert stat.S_ISSOCK((vswd.workdir / "bare.sock").stat().st_mode)
    vswd.ctl("port", "del", "v")
    assert not (vswd.workdir / "bare.sock").exists()


def test_client_paths_anywhere_but_checked(vswd, outside):
    # a client path outside the vhost dir is fine (QEMU owns that socket); vswd removes nothing
    vswd.ctl("port", "add", "c", "vhost", f"path={outside / 'qemu.sock'}", "mode=client")
    vswd.ctl("port", "del", "c")
    long = "/tmp/" + "d" * 100 + "/x.sock"                    # 113 bytes: past sun_path
    for path, expect in [(long, "longer than a socket address"),
                         ("x.sock", "a client path is absolute"),
                         (f"{outside}/q.sock,queues=8", "a comma is not allowed")]:
        msg = one_line(vswd.ctl_fail("port", "add", "c", "vhost", f"path={path}", "mode=client"))
        assert expect in msg, (path, msg)
        unchanged(vswd, outside)


def test_server_path_too_long_for_a_socket(vswd_factory, tmp_path):
    deep = tmp_path / ("d" * 60) / ("e" * 40)
    deep.mkdir(parents=True)
    v = vswd_factory(args=["--vhost-dir", deep])
    msg = one_line(v.ctl_fail("port", "add", "v", "vhost", f"path={deep}/x.sock"))
    assert "longer than a socket address" in msg
    assert v.ctl("port", "list") == []


def test_vdev_files_only_in_the_file_dir(vswd, outside):
    for dev, expect in [
            (f"net_pcap_o,tx_pcap={outside / 'victim'}", "not in --file-dir"),
            (f"net_pcap_o,rx_pcap={outside / 'victim'}", "not in --file-dir"),
            (f"net_pcap_o,tx_pcap={vswd.workdir}/ok.pcap,tx_pcap={outside / 'victim'}",
             "not in --file-dir"),
            ("net_pcap_o,tx_pcap=victim", "takes an absolute path"),
            (f"net_pcap_o,tx_pcap={vswd.workdir}/{os.path.relpath(outside, vswd.workdir)}/victim",
             "not in --file-dir")]:
        msg = one_line(vswd.ctl_fail("port", "add", "o", "dpdk", f"dev={dev}"))
        assert expect in msg, (dev, msg)
        unchanged(vswd, outside)
    (vswd.workdir / "victim.lnk").symlink_to(outside / "victim")
    msg = vswd.ctl_fail("port", "add", "o", "dpdk",
                        f"dev=net_pcap_o,tx_pcap={vswd.workdir / 'victim.lnk'}")
    assert "a symbolic link" in one_line(msg)
    unchanged(vswd, outside)
    # in the file dir it works: the pcap file is written there
    vswd.ctl("port", "add", "o", "dpdk", f"dev=net_pcap_o,tx_pcap={vswd.workdir / 'out.pcap'}")
    assert (vswd.workdir / "out.pcap").exists()
    vswd.ctl("port", "del", "o")


def test_only_known_vdev_drivers(vswd, outside):
    for dev in [f"net_vhost9,iface={outside / 'stale.sock'}",
                "net_failsafe0,exec(/bin/true)",
                f"net_virtio_user9,path={outside / 'stale.sock'},server=1",
                "vdev:net_null0"]:
        msg = one_line(vswd.ctl_fail("port", "add", "o", "dpdk", f"dev={dev}"))
        assert "vdev driver not allowed" in msg, (dev, msg)
        unchanged(vswd, outside)
    msg = one_line(vswd.ctl_fail("port", "add", "o", "dpdk", "dev=net_null0," + "x" * 300))
    assert "longer than 255 bytes" in msg
    unchanged(vswd, outside)


class NoFileDir(Vswd):
    def argv(self):
        a = super().argv()
        i = a.index("--file-dir")
        return a[:i] + a[i + 2:]


def test_without_file_dir_no_vdev_files(tmp_path):
    v = NoFileDir(tmp_path).start()
    try:
        msg = v.ctl_fail("port", "add", "o", "dpdk", f"dev=net_pcap_o,tx_pcap={tmp_path}/x.pcap")
        assert "vswd was started without --file-dir" in one_line(msg)
        assert not (tmp_path / "x.pcap").exists() and v.ctl("port", "list") == []
    finally:
        assert v.stop() == 0


@pytest.fixture
def ctl_dir():
    """A directory others may traverse (pytest's tmp dirs are 0700) for the control socket."""
    d = Path(tempfile.mkdtemp(prefix="vswtrustctl"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d)


def as_user(user, group, ctl, *args):
    """vswctl as an unprivileged user whose only group is group."""
    return subprocess.run(["setpriv", f"--reuid={user}", f"--regid={group}", "--clear-groups",
                           str(VSWCTL), "--ctl", str(ctl), "--json", *args],
                          capture_output=True, text=True, timeout=30)


def test_ctl_group_lets_a_group_in(ctl_dir, vswd_factory):  # ctl_dir goes last
    group = grp.getgrnam("daemon")
    ctl = ctl_dir / f"vswd{uid()}.sock"
    vswd_factory(ctl=ctl, args=["--ctl-group", "daemon"])
    st = ctl.lstat()
    assert stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == group.gr_gid and st.st_uid == 0
    r = as_user("nobody", "daemon", ctl, "version")
    assert r.returncode == 0 and "vswd" in r.stdout, r.stderr
    r = as_user("nobody", "nogroup", ctl, "version")
    assert r.returncode != 0 and "Permission denied" in one_line(r.stderr.strip())


def test_ctl_socket_without_group_is_roots(ctl_dir, vswd_factory):
    ctl = ctl_dir / f"vswd{uid()}.sock"
    vswd_factory(ctl=ctl)
    st = ctl.lstat()
    assert stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == 0
    r = as_user("nobody", "daemon", ctl, "version")
    assert r.returncode != 0 and "Permission denied" in one_line(r.stderr.strip())


@pytest.mark.parametrize("args, expect", [
    (["--ctl-group", "no-such-group-vsw"], "bad --ctl-group 'no-such-group-vsw': no such group"),
    (["--vhost-dir", "relative/dir"], "bad --vhost-dir 'relative/dir': an absolute path"),
    (["--file-dir", "rel"], "bad --file-dir 'rel': an absolute path"),
])
def test_bad_trust_options_one_line(tmp_path, args, expect):
    v = Vswd(tmp_path, args=args)
    p = Proc(v.argv(), "vswd-bad")
    assert p.wait(30) == 1
    assert one_line(p.output().strip()).startswith("vswd: " + expect)
    assert not os.path.exists(v.ctl_path)
