"""libvirt: the domain `vsw-vm xml` prints validates, and a libvirtd of the test's own defines and
starts it; its vhost-user port on vswd comes up and the guest pings through vswd.

The libvirtd runs in a network namespace with private libvirt directories (libvirt_env.py).
QEMU runs as libvirt-qemu, so: vswd's server socket is chowned to it (grant_socket), the VM's
run directory (console socket) is owned by it, and the kernel and initrd are copies under the
environment's directory: libvirt chowns the files it boots while the domain runs, and the
originals in build/ are shared with other test runs.
"""
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from libvirt_env import QEMU_USER, alive  # noqa: E402

VSW_VM = harness.ROOT / "images" / "vsw-vm"
QEMU_NS = "{http://libvirt.org/schemas/domain/qemu/1.0}"
ACCEL = os.environ.get("VSW_ACCEL", "tcg")  # the machines here have no working KVM


def log(msg):
    print(f"[test_libvirt] {msg}", flush=True)


def test_vsw_vm_xml_defines_and_starts(test_image, vswd_factory, netns, libvirt_env):
    env = libvirt_env
    name = f"vswt{env.uid}"
    # vswd: the VM's vhost port (vswd is the server) and a host in a namespace to ping
    socks = env.path("sock")
    socks.mkdir(mode=0o755)
    vswd = vswd_factory(args=["--vhost-dir", socks])
    sock = socks / f"{name}.sock"
    vswd.ctl("port", "add", name, "vhost", f"path={sock}")
    env.grant_socket(sock)
    peer = netns(ip="10.0.0.2/24")
    peer.attach(vswd, "peer")
    # what vsw-vm reads: a build dir with copies of the test image, a run dir QEMU can write
    img = env.path("build", "images", "test")
    img.mkdir(parents=True)
    for f in ("vmlinuz", "initrd.img"):
        shutil.copy(test_image / f, img / f)
    vmdir = env.qemu_dir("vm")
    rundir = vmdir / name
    rundir.mkdir()
    shutil.chown(rundir, QEMU_USER, QEMU_USER)
    r = subprocess.run([str(VSW_VM), "xml", name, "--image", "test", "--nic", f"vhost={sock}",
                        "--accel", ACCEL, "--cmdline",
                        "vsw.role=ping vsw.ip=10.0.0.1/24 vsw.peer=10.0.0.2 vsw.count=3"],
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, VSWKIT_BUILD=str(env.path("build")),
                                VSW_VM_DIR=str(vmdir)))
    assert r.returncode == 0, r.stderr
    xml_file = env.path(f"{name}.xml")
    xml_file.write_text(r.stdout)

    # the XML: valid for libvirt's schema, and what a vhost-user VM needs
    v = subprocess.run(["virt-xml-validate", str(xml_file)], capture_output=True, text=True,
                       timeout=60)
    assert v.returncode == 0, v.stdout + v.stderr
    dom = ET.fromstring(r.stdout)
    itf = dom.find("devices/interface[@type='vhostuser']")
    assert itf is not None and itf.find("source").get("path") == str(sock)
    assert itf.find("source").get("mode") == "client"  # QEMU connects: vswd is the server
    assert dom.find("memoryBacking/access").get("mode") == "shared"
    vectors = dom.findall(f"{QEMU_NS}override/{QEMU_NS}device/{QEMU_NS}frontend/"
                          f"{QEMU_NS}property[@name='vectors']")
    assert [p.get("value") for p in vectors] == (["0"] if ACCEL == "tcg" else [])
    mac = itf.find("mac").get("address").lower()

    # libvirt defines and starts it; vswd's port comes up; the guest pings through vswd
    env.virsh("define", str(xml_file))
    t = time.monotonic()
    env.virsh("start", name)
    try:
        vswd.wait_link(name, timeout=180)
        log(f"port {name} up {time.monotonic() - t:.1f} s after virsh start")
        console = rundir / "console.log"
        harness.wait_for(lambda: console.exists() and "VSW ready" in console.read_text(
            errors="replace"), 240, interval=0.5, what="the guest's init to finish")
        text = console.read_text(errors="replace")
        log(f"guest done {time.monotonic() - t:.1f} s after virsh start")
        assert "VSW ping transmitted=3 received=3" in text, text[-3000:]
        assert vswd.fdb().get(mac, {}).get("port") == name
        st = vswd.stats(name)
        assert st["rx_packets"] > 0 and st["tx_packets"] > 0, st
    except BaseException:
        log(f"QEMU log:\n{env.log(name)[-3000:]}\nconsole:\n" +
            ((rundir / "console.log").read_text(errors="replace")[-3000:]
             if (rundir / "console.log").exists() else "(none)"))
        raise
    finally:
        qemus = env.qemu_pids()
        env.virsh("destroy", name, check=False)
        env.virsh("undefine", name, check=False)

    assert env.domains() == []
    harness.wait_for(lambda: not any(alive(p) for p in qemus), 30, what="QEMU to exit")
    vswd.ctl("port", "del", name)
    assert not sock.exists()
    daemons = list(env.pids.values()) + env.ns_pids()
    top = env.dir
    assert env.stop() == []
    assert not any(alive(p) for p in daemons)
    assert not top.exists()
