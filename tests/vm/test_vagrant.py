"""Vagrant: two VMs from the kit's box on libvirt talk through vswd (the top-level Vagrantfile).

libvirtd, virtlogd, dnsmasq, the VMs and vagrant itself run in a network namespace of the test's
own (libvirt_env.py), so Vagrant's SSH to 192.168.122.x never leaves it; the VMs' vhost-user
NICs are on a vswd the test starts. QEMU runs as libvirt-qemu: the test chowns vswd's server
sockets to it (LibvirtEnv.grant_socket) and keeps VAGRANT_HOME under the environment's 0755
directory, from where QEMU boots the box's kernel.
"""
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from libvirt_env import alive  # noqa: E402

BOX = harness.BUILD / "images" / "box" / "vswkit-debian12.box"
ADD_BOX = harness.ROOT / "images" / "box" / "add.sh"
MAC = "52:54:00:5e:00:{:02x}"


def log(msg):
    print(f"[test_vagrant] {msg}", flush=True)


class Vagrant:
    """vagrant on the top-level Vagrantfile, inside the libvirt environment's namespace, with
    its own VAGRANT_HOME and .vagrant directory (so parallel runs do not share state)."""

    def __init__(self, env, sock_dir, n=2, modes="server"):
        self.env = env
        self.home = env.path("vagrant.d")
        self.home.mkdir(mode=0o755)
        self.serial = env.qemu_dir("serial")
        self.prefix = f"vswt{env.uid}-"
        self.vars = {k: v for k, v in os.environ.items() if not k.startswith(("VSW_", "VAGRANT"))}
        self.vars.update(
            VAGRANT_HOME=str(self.home), VAGRANT_CWD=str(harness.ROOT),
            VAGRANT_DOTFILE_PATH=str(env.path("dot-vagrant")), VAGRANT_NO_COLOR="1",
            VAGRANT_CHECKPOINT_DISABLE="1", VAGRANT_DEFAULT_PROVIDER="libvirt",
            VSW_VMS=str(n), VSW_SOCK_DIR=str(sock_dir), VSW_VHOST_MODE=modes,
            VSW_ACCEL=os.environ.get("VSW_ACCEL", "auto"), VSW_HUGEPAGES="0", VSW_MEM="512",
            VSW_CPUS="1", VSW_PCI="", VSW_NET="10.0.0", VSW_MAC_PREFIX=MAC[:-7],
            VSW_BOX="vswkit/debian12", VSW_BOX_FILE=str(BOX), VSW_MGMT_NET="default",
            VSW_MGMT_CIDR="192.168.122.0/24", VSW_PREFIX=self.prefix,
            VSW_SERIAL_DIR=str(self.serial))
        self.outputs = []

    def __call__(self, *args, check=True, timeout=900):
        t = time.monotonic()
        r = self.env.run(["vagrant", *args], check=False, timeout=timeout, env=self.vars)
        # no progress bars (\r) and no Ruby backtraces in what a failure shows
        out = "\n".join(line for line in (r.stdout + r.stderr).replace("\r", "\n").splitlines()
                        if not line.lstrip().startswith("/usr/") and "Progress:" not in line)
        self.outputs.append(f"$ vagrant {' '.join(args)} -> {r.returncode}\n{out[-6000:]}")
        if check:
            assert r.returncode == 0, f"vagrant {' '.join(args)} failed:\n{out[-6000:]}"
        return r, time.monotonic() - t

    def add_box(self, box):
        r = subprocess.run([str(ADD_BOX), str(box), "vswkit/debian12"], capture_output=True,
                           text=True, timeout=300, env=self.vars)
        assert r.returncode == 0, r.stderr

    def diagnostics(self):
        parts = self.outputs[-3:]
        for f in sorted(self.serial.glob("*.log")):
            parts.append(f"--- {f.name} (last lines)\n" +
                         "\n".join(f.read_text(errors="replace").splitlines()[-25:]))
        for dom in self.env.domains():
            parts.append(f"--- QEMU log of {dom}\n{self.env.log(dom)[-3000:]}")
        return "\n".join(parts)


def test_two_vms_talk_through_vswd(box, vswd_factory, libvirt_env):
    """vm1's socket is vswd's (server mode, chowned to QEMU's user), vm2's is QEMU's (vswd is
    the client, in a directory owned by QEMU's user): both ways the Vagrantfile offers."""
    env = libvirt_env
    socks = env.qemu_dir("sock")
    vswd = vswd_factory(args=["--vhost-dir", socks])
    vswd.ctl("port", "add", "vm1", "vhost", f"path={socks}/vm1.sock")
    env.grant_socket(socks / "vm1.sock")
    vswd.ctl("port", "add", "vm2", "vhost", f"path={socks}/vm2.sock", "mode=client")
    vag = Vagrant(env, socks, modes="vm1=server vm2=client")
    t = time.monotonic()
    vag.add_box(box)
    log(f"box added in {time.monotonic() - t:.1f} s")
    qemus = []
    try:
        _, up_s = vag("up", "--provider", "libvirt")
        log(f"vagrant up of 2 VMs: {up_s:.1f} s")
        assert sorted(env.domains()) == [f"{vag.prefix}vm1", f"{vag.prefix}vm2"]
        qemus = env.qemu_pids()
        assert len(qemus) == 2, f"QEMU processes in the namespace: {qemus}"
        vswd.wait_link("vm1")
        vswd.wait_link("vm2")
        r, ssh_s = vag("ssh", "vm1", "-c", "ping -c 3 -w 60 10.0.0.2", check=False, timeout=180)
        log(f"ping from vm1 to vm2 over vagrant ssh: {ssh_s:.1f} s")
        assert r.returncode == 0 and " 0% packet loss" in r.stdout, vag.diagnostics()
        fdb = vswd.fdb()
        for i in (1, 2):
            assert fdb.get(MAC.format(i), {}).get("port") == f"vm{i}", f"FDB: {fdb}"
            st = vswd.stats(f"vm{i}")
            st = st["ports"][0] if "ports" in st else st
            assert st["rx_packets"] > 0 and st["tx_packets"] > 0, f"vm{i} counters: {st}"
    except BaseException:
        log(vag.diagnostics())
        raise
    finally:
        _, down_s = vag("destroy", "-f", check=False, timeout=300)
        log(f"vagrant destroy -f: {down_s:.1f} s")

    # nothing of the VMs is left: domains, their disks, QEMU
    assert env.domains() == []
    vols = env.volumes()
    assert all("_vagrant_box_image_" in v for _, v in vols), f"VM volumes left: {vols}"
    harness.wait_for(lambda: not any(alive(p) for p in qemus), 30, what="QEMU to exit")
    # the box: its volume in libvirt's pool (vagrant box remove leaves it) and the box itself
    for pool, vol in vols:
        env.virsh("vol-delete", "--pool", pool, vol)
    assert env.volumes() == []
    vag("box", "remove", "--force", "vswkit/debian12", timeout=120)
    # QEMU removed its socket (vm2's) when it stopped, vswd removes its own (vm1's) with the port
    assert [p.name for p in socks.iterdir()] == ["vm1.sock"]
    for i in (1, 2):
        vswd.ctl("port", "del", f"vm{i}")
    assert list(socks.iterdir()) == []
    # and the environment: daemons, dnsmasq, namespace, files
    daemons = list(env.pids.values()) + env.ns_pids()
    ns, top = env.ns, env.dir
    forced = env.stop()
    assert forced == [], f"had to force: {forced}"
    assert not any(alive(p) for p in daemons), "a daemon outlived stop()"
    assert ns not in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                    text=True).stdout
    assert not top.exists()


def _box(tmp_path, name, members):
    """A tar with the given members (name -> bytes)."""
    src = tmp_path / f"{name}.d"
    src.mkdir()
    path = tmp_path / f"{name}.box"
    with tarfile.open(path, "w") as tar:
        for member, data in members.items():
            (src / member).write_bytes(data)
            tar.add(src / member, arcname=member)
    return path


def _junk(path):
    path.write_bytes(b"junk" * 100)
    return path


@pytest.mark.parametrize("kind,expect", [
    ("no-metadata", "has no metadata.json"),
    ("other-provider", "names provider 'virtualbox', not libvirt"),
    ("no-image", "has no box.img"),
    ("not-a-tar", "not a tar archive"),
    ("missing", "no such box file"),
])
def test_bad_box_one_line_error(tmp_path, kind, expect):
    """images/box/add.sh refuses a box that is not one with one line, before Vagrant sees it
    (`vagrant box add` itself answers a missing metadata.json with nine lines after
    unpacking the whole box)."""
    meta = b'{"provider": "libvirt", "format": "qcow2", "virtual_size": 1}'
    box = {
        "no-metadata": lambda: _box(tmp_path, kind, {"box.img": b"x", "Vagrantfile": b""}),
        "other-provider": lambda: _box(tmp_path, kind, {"metadata.json":
                                                        b'{"provider": "virtualbox"}'}),
        "no-image": lambda: _box(tmp_path, kind, {"metadata.json": meta}),
        "not-a-tar": lambda: _junk(tmp_path / "junk.box"),
        "missing": lambda: tmp_path / "nothing.box",
    }[kind]()
    home = tmp_path / "vagrant.d"
    r = subprocess.run([str(ADD_BOX), str(box), f"vswt/bad{harness.uid()}"], capture_output=True,
                       text=True, timeout=120, env=dict(os.environ, VAGRANT_HOME=str(home)))
    assert r.returncode == 1
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("add-box: error: ") and expect in lines[0], \
        r.stderr
    assert not home.exists(), "vagrant ran although the box was refused"


@pytest.mark.parametrize("setting,expect", [
    ({"VSW_VMS": "two"}, "VSW_VMS must be a whole number, not 'two'"),
    ({"VSW_VHOST_MODE": "both"}, "VSW_VHOST_MODE must be server or client"),
    ({"VSW_PCI": "vm1=03:10"}, "'03:10' is not a PCI address"),
    ({"VSW_PCI": "vm3=0000:03:10.0"}, "VSW_PCI names vm3, but there are only vm1..vm2"),
    ({"VSW_VHOST_MODE": "vm1=client vm3=server"}, "VSW_VHOST_MODE names vm3"),
    ({}, "no vhost-user socket"),
])
def test_vagrantfile_bad_settings_one_line(tmp_path, setting, expect):
    """The Vagrantfile refuses bad settings, and `up` without vswd's socket, with one line before
    it contacts libvirt."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VSW_", "VAGRANT"))}
    env.update(VAGRANT_HOME=str(tmp_path / "vagrant.d"), VAGRANT_CWD=str(harness.ROOT),
               VAGRANT_DOTFILE_PATH=str(tmp_path / "dot"), VAGRANT_CHECKPOINT_DISABLE="1",
               VSW_VMS="2", VSW_SOCK_DIR=str(tmp_path / "nosock"))
    env.update(setting)
    r = subprocess.run(["vagrant", "up", "--provider", "libvirt"], capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Vagrantfile: ") and expect in lines[0], \
        r.stdout + r.stderr
