"""meson install --destdir: every file the kit installs, and an application built outside the
tree against the installed libraries with pkg-config, running through the installed vswd."""
import json
import os
import shlex
import signal
import subprocess
from pathlib import Path

import harness
from instkit import InstalledVswd, leftovers

BIN = ["floodgen", "gs-echo", "gs-ping", "gs-tcpperf", "gs-udpperf", "ktcp_cr", "kudp", "kudp_rr", "rpc-bench",
       "tsoflow",
       "vhostlib-fwd", "vsw-host", "vswctl", "vswd"]
MAN = ["man1/gs-echo.1", "man1/gs-ping.1", "man1/gs-udpperf.1", "man1/rpc-bench.1",
       "man8/vsw-host.8", "man8/vswctl.8", "man8/vswd.8"]


def expected_files(libdir):
    """Everything under PREFIX, relative to it: vsw-host's modules are whatever
    provisioning/vswhost holds."""
    libs = [f"{libdir}/lib{n}{ext}" for n in ("gsrpc", "gstack")
            for ext in (".a", ".so", ".so.0", ".so.0.1.0")]
    vswhost = sorted(f"share/vswkit/vswhost/{p.name}"
                     for p in (harness.ROOT / "provisioning" / "vswhost").glob("*.py"))
    return sorted(
        [f"bin/{b}" for b in BIN]
        + ["etc/default/vswd", "etc/vswkit/vswd.conf",
           "include/vswkit/gstack.h", "include/vswkit/rpc.h",
           "lib/systemd/system/vswd.service", "lib/sysusers.d/vswkit.conf",
           "lib/tmpfiles.d/vswkit.conf"]
        + libs + [f"{libdir}/pkgconfig/libgsrpc.pc", f"{libdir}/pkgconfig/libgstack.pc"]
        + ["share/bash-completion/completions/vswctl"]
        + [f"share/man/{m}" for m in MAN]
        + ["share/vswkit/vsw-host"] + vswhost)


def test_installs_exactly_the_kit(destdir):
    root, prefix = destdir.root, destdir.prefix
    # nothing outside the prefix: --destdir and the prefix both respected
    assert [str(p.relative_to(destdir.dest)) for p in destdir.dest.rglob("*")
            if not p.is_dir() and not str(p).startswith(str(root) + "/")] == []
    got = sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())
    assert got == expected_files(destdir.libdir)
    for b in BIN:
        assert os.access(root / "bin" / b, os.X_OK), b
    # vsw-host on PATH is a relative link to its launcher, which finds its package
    assert os.readlink(root / "bin/vsw-host") == "../share/vswkit/vsw-host"
    r = subprocess.run([str(root / "bin/vsw-host"), "--help"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0 and "usage: vsw-host" in r.stdout, r.stderr
    # the unit runs the installed vswd on the installed config, with the environment file
    unit = (root / "lib/systemd/system/vswd.service").read_text()
    conf = f"{prefix}/etc/vswkit/vswd.conf"
    assert f"ExecStart={prefix}/bin/vswd --config {conf} $VSWD_OPTS\n" in unit
    assert f"EnvironmentFile=-{prefix}/etc/default/vswd\n" in unit
    assert 'VSWD_OPTS="--ctl-group vswkit"' in (root / "etc/default/vswd").read_text()
    assert "d /run/vswkit/vhost 0755 root root -" in \
        (root / "lib/tmpfiles.d/vswkit.conf").read_text()
    # man pages are the programs' --help
    assert "\\-\\-socket\\-mem" in (root / "share/man/man8/vswd.8").read_text()
    assert "\\-\\-server\\-ip" in (root / "share/man/man1/rpc-bench.1").read_text()


def complete(destdir, *words):
    """What the installed completion offers for the last word, with the installed vswctl on
    PATH (the one it asks for port names)."""
    comp = destdir.root / "share/bash-completion/completions/vswctl"
    script = (f"source {comp}; COMP_WORDS=({' '.join(shlex.quote(str(w)) for w in words)}); "
              f"COMP_CWORD={len(words) - 1}; _vswctl; echo ${{COMPREPLY[*]}}")
    env = dict(os.environ, PATH=f"{destdir.root / 'bin'}:{os.environ['PATH']}")
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env,
                          timeout=30).stdout.split()


def test_vswctl_completion(destdir, tmp_path):
    assert complete(destdir, "vswctl", "") == ["port", "fdb", "stats", "version", "--ctl",
                                               "--json", "--help"]
    assert complete(destdir, "vswctl", "po") == ["port"]
    assert complete(destdir, "vswctl", "port", "") == ["add", "del", "list", "set"]
    assert complete(destdir, "vswctl", "--json", "port", "add", "p0", "") == \
        ["vhost", "dpdk", "tap", "vxlan"]
    assert complete(destdir, "vswctl", "fdb", "f") == ["flush"]
    # port names come from the vswd on --ctl
    v = InstalledVswd(tmp_path, destdir.root / "bin").start()
    try:
        for name in ("inst-c1", "inst-c2"):
            v.ctl("port", "add", name, "vhost", f"path={tmp_path / name}.sock")
        assert complete(destdir, "vswctl", "--ctl", v.ctl_path, "port", "del", "") == \
            ["inst-c1", "inst-c2"]
        assert complete(destdir, "vswctl", "--ctl", v.ctl_path, "stats", "inst-c") == \
            ["inst-c1", "inst-c2"]
    finally:
        assert v.stop() == 0, v.proc.output()


def _pkg_env(destdir):
    root = destdir.root
    env = dict(os.environ, PKG_CONFIG_PATH=str(root / destdir.libdir / "pkgconfig"))
    env.pop("PKG_CONFIG_SYSROOT_DIR", None)
    return env, root


def _cc(destdir, out, src, pkg):
    """cc SRC $(pkg-config --cflags --libs PKG), as a user outside the tree writes it."""
    env, _ = _pkg_env(destdir)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", pkg], env=env, check=True,
                           capture_output=True, text=True).stdout.split()
    r = subprocess.run(["cc", "-o", str(out), str(src), *flags], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return flags


def test_rpc_echo_builds_with_pkg_config_and_runs_through_vswd(destdir, tmp_path):
    """examples/rpc-echo, copied out of the tree, built against the installed libgsrpc and
    libgstack (shared), talks through the installed vswd."""
    env, root = _pkg_env(destdir)
    src = tmp_path / "app"
    src.mkdir()
    for f in ("server.c", "client.c"):
        (src / f).write_text((harness.ROOT / "examples/rpc-echo" / f).read_text())
    flags = _cc(destdir, src / "srv", src / "server.c", "libgsrpc")
    _cc(destdir, src / "cli", src / "client.c", "libgsrpc")
    # headers and libraries come from the installed tree, DPDK's from the system
    incs = [Path(f[2:]).resolve() for f in flags if f.startswith("-I")]
    assert root / "include/vswkit" in incs, flags
    assert "-lgsrpc" in flags and "-lgstack" in flags and "-lrte_eal" in flags
    run_env = dict(os.environ, LD_LIBRARY_PATH=str(root / destdir.libdir))
    ldd = subprocess.run(["ldd", str(src / "srv")], env=run_env, capture_output=True,
                         text=True).stdout
    assert f"libgstack.so.0 => {root / destdir.libdir}/libgstack.so.0" in ldd, ldd

    v = InstalledVswd(tmp_path, root / "bin").start()
    procs = []
    try:
        socks = {p: tmp_path / f"{p}.sock" for p in ("inst-es", "inst-ec")}
        for name, sock in socks.items():
            v.ctl("port", "add", name, "vhost", f"path={sock}")
        srv = harness.Proc([src / "srv", f"net_virtio_user0,path={socks['inst-es']}",
                            "10.77.0.1/24"], "inst-echo-server", env=run_env)
        procs.append(srv)
        # up once vswd learned its MAC (the gratuitous ARP it sends when its port is up): on a
        # loaded machine the client's 5 s session timeout must not run while the server starts
        harness.wait_for(lambda: not srv.alive() or
                         json.loads(v.ctl("--json", "fdb", "show", "inst-es")), 60,
                         what="rpc-echo-server on its port")
        msg = "installed " * 300  # 3000 bytes: two packets each way
        cli = harness.Proc([src / "cli", f"net_virtio_user0,path={socks['inst-ec']}",
                            "10.77.0.2/24", "10.77.0.1", msg], "inst-echo-client", env=run_env)
        procs.append(cli)
        assert cli.wait(60) == 0, cli.output()
        assert msg in cli.output()
        assert srv.stop(signal.SIGINT) == 0, srv.output()
    finally:
        for p in procs:
            p.stop()
            harness.dpdk_cleanup(f"gs-{p.pid}")
            print(f"--- {p.name}:\n{p.output()[-3000:]}")  # shown if the test fails
        rc = v.stop()
        print(f"--- vswd:\n{v.proc.output()[-3000:]}")
        assert rc == 0
    for p in procs:
        assert not leftovers(p.pid)
    assert not v.ctl_path.exists()
