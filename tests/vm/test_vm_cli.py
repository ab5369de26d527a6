"""vsw-vm's bad input: one clear line and a non-zero exit, before anything starts."""
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import harness
from vmguest import RUN_DIR, vswvm

sys.path.insert(0, str(harness.ROOT / "images"))
from vswvm.accel import _probe_kvm, choose_accel  # noqa: E402


def _fails(*args):
    r = vswvm(*args, check=False, timeout=60)
    assert r.returncode != 0, r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vsw-vm: "), r.stderr
    return lines[0]


def _nothing_started(name):
    """No run directory and no QEMU of that name."""
    assert not (RUN_DIR / name).exists()
    for p in Path("/proc").glob("[0-9]*"):
        try:
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        assert f"-name {name} " not in cmd, cmd


@pytest.fixture
def name():
    return f"bad-{harness.uid()}"


def test_vhost_socket_nothing_serves(test_image, tmp_path, name):
    err = _fails("start", name, "--nic", f"vhost={tmp_path}/none.sock")
    assert "does not exist" in err and "port add" in err, err
    stale = tmp_path / "stale.sock"  # a socket file whose server is gone
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(stale))
    s.close()
    err = _fails("start", name, "--nic", f"vhost={stale}")
    assert "nothing serves" in err, err
    err = _fails("start", name, "--nic", f"vhost={tmp_path}/no/such/dir.sock,mode=client")
    assert "directory" in err, err
    _nothing_started(name)


def test_bad_nic_options(test_image, tmp_path, name):
    assert "mode must be" in _fails("start", name, "--nic", f"vhost={tmp_path}/a,mode=both")
    assert "unknown option" in _fails("start", name, "--nic", f"vhost={tmp_path}/a,speed=10")
    assert "unicast MAC" in _fails("start", name, "--nic",
                                   f"vhost={tmp_path}/a,mode=client,mac=01:00:5e:00:00:01")
    assert "queues" in _fails("start", name, "--nic", f"vhost={tmp_path}/a,mode=client,queues=0")
    assert "packed must be on or off" in _fails("start", name, "--nic",
                                                f"vhost={tmp_path}/a,mode=client,packed=yes")
    assert "mrg_rxbuf must be on or off" in _fails("start", name, "--nic",
                                                   f"vhost={tmp_path}/a,mode=client,mrg_rxbuf=0")
    _nothing_started(name)


def test_missing_image(test_image, tmp_path, name):
    err = _fails("start", name, "--image", str(tmp_path / "none.qcow2"))
    assert "no such file" in err, err
    junk = tmp_path / "junk.img"
    junk.write_bytes(b"x" * 1000)
    assert "neither qcow2 nor a raw disk" in _fails("start", name, "--image", str(junk))
    _nothing_started(name)


def test_pci_device_missing_or_not_on_vfio(test_image, name):
    assert "no such PCI device" in _fails("start", name, "--pci", "0000:7e:1f.7")
    assert "not a PCI address" in _fails("start", name, "--pci", "00:1g.0")
    # a device of this host that is not on vfio-pci (the host bridge, on no driver here)
    dev = next((d for d in sorted(Path("/sys/bus/pci/devices").iterdir())
                if not (d / "driver").exists() or (d / "driver").resolve().name != "vfio-pci"),
               None)
    if dev is not None:
        err = _fails("start", name, "--pci", dev.name)
        assert "not vfio-pci" in err and "vsw-host bind" in err, err
    _nothing_started(name)


def test_kvm_where_it_does_not_work(test_image, name):
    """No /dev/kvm, or (these hosts since 2026-12-02) a nested KVM that aborts on the vCPU
    model VMs get: --accel kvm is refused with the probe's reason, auto takes TCG."""
    why = _probe_kvm()
    if why is None:
        pytest.skip("KVM works on this host: nothing to refuse")
    err = _fails("start", name, "--accel", "kvm")
    assert "KVM does not work here" in err and why in err, err
    _nothing_started(name)
    assert choose_accel("auto", RuntimeError) == "tcg"


def test_list_log_and_misuse(vm, name):
    v = vm("twice", "--cmdline", "vsw.ip=10.0.6.1/24")
    assert "VSW ready" in vswvm("log", v.name).stdout
    row = next(l for l in vswvm("list").stdout.splitlines() if l.startswith(v.name))
    assert row.split()[1:4] == ["running", v.info()["accel"], "test"], row
    assert v.info()["accel"] == ("kvm" if _probe_kvm() is None else "tcg")
    assert "already running" in _fails("start", v.name)
    assert "no VM named" in _fails("stop", name)
    assert "no VM named" in _fails("log", name)
    assert v.console("echo $((6 * 7))").strip() == "42"  # the console runs commands
    v.stop()
    assert v.name not in vswvm("list").stdout and not (RUN_DIR / v.name).exists()


def test_xml_of_every_kind_of_vm_validates(test_image, tmp_path, name):
    """virt-xml-validate accepts what `xml` prints for each option (the libvirt test starts one)."""
    disk = tmp_path / "disk.qcow2"
    harness.sh(f"qemu-img create -q -f qcow2 {disk} 64M")
    cases = [
        (["--nic", f"vhost={tmp_path}/s.sock,mode=client,queues=2,packed=on,mrg_rxbuf=off",
          "--accel", "tcg"],
         ["devices/interface[@type='vhostuser']/driver[@queues='2'][@packed='on']",
          "devices/interface[@type='vhostuser']/driver/host[@mrg_rxbuf='off']",
          "{http://libvirt.org/schemas/domain/qemu/1.0}override"]),
        (["--image", str(disk), "--nic", "user", "--viommu",
          "--emulated-nic", "e1000e,tap=vswtap0", "--accel", "tcg"],
         ["devices/disk/transient", "devices/iommu[@model='intel']",
          "devices/interface[@type='ethernet']/model[@type='e1000e']",
          "devices/interface[@type='network']", "os/type[@machine='q35']"]),
    ]
    for args, paths in cases:
        out = vswvm("xml", name, *args).stdout
        f = tmp_path / "dom.xml"
        f.write_text(out)
        r = subprocess.run(["virt-xml-validate", str(f)], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr + out
        dom = ET.fromstring(out)
        for p in paths:
            assert dom.find(p) is not None, (p, out)
