"""./vswkit deb: the packages hold the kit, install into a Debian 12 minbase chroot that has
only what they depend on, vswd runs there from the unit's own command line with the shipped
configuration (and guests talk through it), bad configuration fails with file and line, and
purging leaves the tree as it was. systemd does not run: the unit is read, not started.

Inside the chroot the names are the shipped defaults (/run/vswkit/vswd.sock, file prefix vswd):
the chroot's /run and a private hugetlbfs keep them apart from the host's."""
import re
import signal
import socket
import subprocess

import pytest

import harness
from debroot import DebRoot, base_tar, depends

pytestmark = pytest.mark.slow  # building the packages takes minutes (once per session)

OURS = {"vswkit": "host", "vswkit-guest": "guest", "libgstack0": "lib", "libgstack-dev": "dev"}
INSTALLED = ["vswkit", "vswkit-guest", "libgstack0"]  # -dev pulls in all of libdpdk-dev


@pytest.fixture(scope="module")
def debs(hugepages):
    r = subprocess.run([str(harness.ROOT / "vswkit"), "deb"], capture_output=True, text=True,
                       timeout=1800)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out = harness.BUILD / "deb"
    return {p: next(out.glob(f"{p}_*.deb")) for p in OURS}


@pytest.fixture(scope="module")
def root(debs):
    """The chroot with the host and guest packages installed by dpkg; .before is its file set
    from before."""
    tar = base_tar(depends([debs[p] for p in INSTALLED], set(OURS)))
    r = DebRoot(tar)
    try:
        r.before = r.files()
        (r.path / "tmp/debs").mkdir()
        for p in INSTALLED:
            (r.path / "tmp/debs" / debs[p].name).write_bytes(debs[p].read_bytes())
        r.run("sh", "-c", "dpkg -i /tmp/debs/*.deb")
        for p in INSTALLED:
            (r.path / "tmp/debs" / debs[p].name).unlink()
        (r.path / "tmp/debs").rmdir()
        yield r
    finally:
        r.remove()


def contents(deb):
    out = subprocess.run(["dpkg-deb", "-c", str(deb)], check=True, capture_output=True,
                         text=True).stdout
    return {l.split()[5].lstrip(".") for l in out.splitlines() if not l.endswith("/")}


def test_packages_hold_the_kit(debs):
    ma = "usr/lib/x86_64-linux-gnu"
    vswhost = {f"/usr/share/vswkit/vswhost/{p.name}"
               for p in (harness.ROOT / "provisioning/vswhost").glob("*.py")}
    docs = lambda p: {f"/usr/share/doc/{p}/changelog.gz", f"/usr/share/doc/{p}/copyright"}
    assert contents(debs["vswkit"]) == {
        "/etc/default/vswd", "/etc/vswkit/vswd.conf", "/lib/systemd/system/vswd.service",
        "/usr/bin/vhostlib-fwd", "/usr/bin/vsw-host", "/usr/bin/vswctl", "/usr/bin/vswd",
        "/usr/lib/sysusers.d/vswkit.conf", "/usr/lib/tmpfiles.d/vswkit.conf",
        "/usr/share/bash-completion/completions/vswctl", "/usr/share/man/man8/vsw-host.8.gz",
        "/usr/share/man/man8/vswctl.8.gz", "/usr/share/man/man8/vswd.8.gz",
        "/usr/share/vswkit/vsw-host"} | vswhost | docs("vswkit")
    assert contents(debs["vswkit-guest"]) == {
        *(f"/usr/bin/{b}" for b in ("floodgen", "gs-echo", "gs-ping", "gs-tcpperf", "gs-udpperf",
                                    "ktcp_cr", "kudp", "kudp_rr", "rpc-bench", "tsoflow")),
        *(f"/usr/share/man/man1/{m}.1.gz" for m in ("gs-echo", "gs-ping", "gs-udpperf",
                                                    "rpc-bench"))} | docs("vswkit-guest")
    assert contents(debs["libgstack0"]) == {
        f"/{ma}/lib{n}.so.{v}" for n in ("gstack", "gsrpc") for v in ("0", "0.1.0")} \
        | docs("libgstack0")
    assert contents(debs["libgstack-dev"]) == {
        "/usr/include/vswkit/gstack.h", "/usr/include/vswkit/rpc.h",
        *(f"/{ma}/lib{n}.{e}" for n in ("gstack", "gsrpc") for e in ("a", "so")),
        f"/{ma}/pkgconfig/libgstack.pc", f"/{ma}/pkgconfig/libgsrpc.pc"} | docs("libgstack-dev")
    # DPDK's drivers are plugins dpkg-shlibdeps cannot see: named by hand, for the ABI built on
    dep = {p: set(depends([debs[p]], set())) for p in OURS}
    assert {"python3", "passwd", "libjansson4", "librte-eal23", "librte-mempool-ring23",
            "librte-net-vhost23", "librte-net-tap23"} <= dep["vswkit"]
    assert {"libjansson4", "librte-mempool-ring23", "librte-net-virtio23"} <= dep["vswkit-guest"]
    assert {"libgstack0", "libdpdk-dev"} <= dep["libgstack-dev"]
    # one version: the changelog's is meson's
    changelog = (harness.ROOT / "debian/changelog").read_text()
    meson = (harness.ROOT / "meson.build").read_text()
    assert re.match(r"vswkit \(([^)]+)\)", changelog).group(1) == \
        re.search(r"version : '([^']+)'", meson).group(1)


def test_installed_binaries_find_their_libraries(root):
    bins = ["/usr/bin/" + b for b in ("vswd", "vswctl", "vhostlib-fwd", "gs-echo", "gs-ping",
                                      "gs-tcpperf", "gs-udpperf", "rpc-bench", "kudp", "kudp_rr",
                                      "ktcp_cr", "tsoflow", "floodgen")]
    libs = [f"/usr/lib/x86_64-linux-gnu/lib{n}.so.0" for n in ("gstack", "gsrpc")]
    for f in bins + libs:
        out = root.run("ldd", f).stdout
        assert "not found" not in out, f"{f}:\n{out}"
    assert root.run("vsw-host", "--help").stdout.startswith("usage: vsw-host")
    assert root.run("getent", "group", "vswkit").stdout.startswith("vswkit:x:")
    # enabled (a link for multi-user.target), not started: there is no systemd here anyway
    assert (root.path / "etc/systemd/system/multi-user.target.wants/vswd.service").is_symlink()


def start_vswd(root):
    """vswd as vswd.service would start it; returns (proc, control socket path on the host)."""
    ctl = root.path / "run/vswkit/vswd.sock"
    v = root.popen(root.unit_command(), "inst-vswd")

    def ready():
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(str(ctl))
            return True
        except OSError:
            return False
        finally:
            s.close()

    harness.wait_for(lambda: not v.alive() or ready(), 60, what="vswd in the chroot")
    assert v.alive(), v.output()
    return v, ctl


def stop_vswd(root, v, ctl):
    """systemctl stop: SIGTERM, a clean exit, nothing of vswd's left."""
    assert v.stop(signal.SIGTERM) == 0, v.output()
    assert not ctl.exists() and not (root.path / "run/dpdk/vswd").exists()


def test_vswd_starts_from_the_unit_with_the_shipped_config(root):
    argv = root.unit_command()
    assert argv == ["/usr/bin/vswd", "--config", "/etc/vswkit/vswd.conf",
                    "--ctl-group", "vswkit"]
    v, ctl = start_vswd(root)
    try:
        assert root.run("vswctl", "--json", "port", "list").stdout.strip() == "[]"
        assert "0.1.0" in root.run("vswctl", "version").stdout
        st = ctl.stat()
        gid = int(root.run("getent", "group", "vswkit").stdout.split(":")[2])
        assert (st.st_gid, st.st_mode & 0o777) == (gid, 0o660)
    finally:
        stop_vswd(root, v, ctl)


def test_guests_talk_through_the_packaged_vswd(root):
    """The guest package's tools, on two vhost ports of the packaged vswd made by its config."""
    conf = root.path / "etc/vswkit/vswd.conf"
    shipped = conf.read_text()
    # bare names: the sockets go in the default --vhost-dir, /run/vswkit/vhost
    conf.write_text(shipped + "port add inst-g1 vhost path=inst-g1.sock\n"
                    "port add inst-g2 vhost path=inst-g2.sock\n")
    v, ctl = start_vswd(root)
    guests = []
    try:
        vhost = "net_virtio_user0,path=/run/vswkit/vhost"
        echo = root.popen(["gs-echo", "--dev", f"{vhost}/inst-g1.sock",
                           "--ip", "10.78.0.1/24", "--mac", "02:78:00:00:00:01"], "inst-echo")
        guests.append(echo)
        harness.wait_for(lambda: not echo.alive() or "02:78:00:00:00:01" in
                         root.run("vswctl", "fdb", "show").stdout.lower(), 60,
                         what="gs-echo to announce itself")
        ping = root.popen(["gs-ping", "--dev", f"{vhost}/inst-g2.sock",
                           "--ip", "10.78.0.2/24", "--mac", "02:78:00:00:00:02",
                           "--dst", "10.78.0.1", "--count", "3", "--interval", "0.2",
                           "--wait", "3"], "inst-ping")
        guests.append(ping)
        assert ping.wait(120) == 0, ping.output()[-3000:]
        assert echo.stop(signal.SIGINT) == 0, echo.output()[-3000:]
    finally:
        for g in guests:
            g.stop()
        stop_vswd(root, v, ctl)
        conf.write_text(shipped)
    for g in guests:  # the tools' hugepage-less EAL leaves no runtime directory either
        assert not (root.path / f"run/dpdk/gs-{g.pid}").exists()


def test_bad_config_names_file_and_line(root):
    conf = root.path / "etc/vswkit/vswd.conf"
    shipped = conf.read_text()
    try:
        conf.write_text(shipped + "port add inst-p0 vhost path=inst-p0.sock\n"
                        "port add inst-p1 vhost\n")
        bad = shipped.count("\n") + 2
        v = root.popen(root.unit_command(), "inst-vswd")
        assert v.wait(60) == 1
        assert f"vswd: /etc/vswkit/vswd.conf:{bad}: " in v.output(), v.output()
        conf.unlink()
        v = root.popen(root.unit_command(), "inst-vswd")
        assert v.wait(60) == 1
        assert v.output() == ("vswd: cannot read /etc/vswkit/vswd.conf: "
                              "No such file or directory\n")
    finally:
        conf.write_text(shipped)
    assert [p for p in (root.path / "run/vswkit").rglob("*") if not p.is_dir()] == []
    assert not (root.path / "run/dpdk/vswd").exists()


def test_purge_leaves_the_tree_as_it_was(root):
    """Last in this file: the packages go, and so does everything they made, except what is
    not theirs: dpkg's own records and logs, the vswkit group (Debian keeps system groups:
    files may still carry its id), and /run/dpdk, DPDK's runtime parent directory."""
    root.run("dpkg", "--purge", *reversed(INSTALLED))
    after = root.files()
    kept = re.compile(r"(var/lib/dpkg|var/log|var/cache/debconf)(/|$)|etc/(g?shadow|group)-?$"
                      r"|run/dpdk$")
    assert sorted(p for p in after - root.before if not kept.match(p)) == []
    assert sorted(root.before - after) == []
    assert not (root.path / "etc/vswkit").exists() and not (root.path / "etc/default/vswd").exists()
