"""The same VM as a libvirt domain (what `vsw-vm xml` prints).

libvirt names the vhost-user socket's side from QEMU's point of view: mode='client' means QEMU
connects, i.e. vswd's port is mode=server. Under TCG the NIC needs vectors=0, which libvirt has
no element for: a <qemu:override> sets it on the device (libvirt >= 8.2).
"""
import xml.etree.ElementTree as ET

QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"


def _sub(parent, tag, text=None, **attrs):
    e = ET.SubElement(parent, tag, {k.rstrip("_"): str(v) for k, v in attrs.items()})
    if text is not None:
        e.text = str(text)
    return e


def domain(spec, rundir):
    ET.register_namespace("qemu", QEMU_NS)
    d = ET.Element("domain", type="kvm" if spec.accel == "kvm" else "qemu")
    _sub(d, "name", spec.name)
    _sub(d, "memory", spec.mem, unit="MiB")
    _sub(d, "vcpu", spec.cpus)
    mb = _sub(d, "memoryBacking")
    _sub(mb, "source", type="memfd")
    _sub(mb, "access", mode="shared")
    os_ = _sub(d, "os")
    _sub(os_, "type", "hvm", arch="x86_64", machine=spec.machine)
    img = spec.image
    if img.kernel:
        _sub(os_, "kernel", img.kernel)
        _sub(os_, "initrd", img.initrd)
        _sub(os_, "cmdline", " ".join(x for x in (img.cmdline, spec.cmdline) if x))
    else:
        _sub(os_, "boot", dev="hd")
    if spec.viommu:
        f = _sub(d, "features")
        _sub(f, "acpi")
        _sub(f, "ioapic", driver="qemu")
    if spec.accel == "kvm":
        _sub(d, "cpu", mode="host-passthrough")
    _sub(d, "on_reboot", "destroy")
    dev = _sub(d, "devices")
    _sub(dev, "emulator", "/usr/bin/qemu-system-x86_64")
    if img.disk:
        disk = _sub(dev, "disk", type="file", device="disk")
        _sub(disk, "driver", name="qemu", type=img.disk_format)
        _sub(disk, "source", file=img.disk)
        _sub(disk, "target", dev="vda", bus="virtio")
        _sub(disk, "transient")  # libvirt writes to an overlay it drops: the image stays as built
    overrides = []
    for i, n in enumerate(spec.nics):
        if n.kind == "vhost":
            itf = _sub(dev, "interface", type="vhostuser")
            _sub(itf, "mac", address=n.mac)
            _sub(itf, "source", type="unix", path=n.path,
                 mode="client" if n.mode == "server" else "server")
            _sub(itf, "model", type="virtio")
            if n.queues > 1 or n.packed or not n.mrg_rxbuf:
                drv = _sub(itf, "driver", **({"queues": n.queues} if n.queues > 1 else {}),
                           **({"packed": "on"} if n.packed else {}))
                if not n.mrg_rxbuf:
                    _sub(drv, "host", mrg_rxbuf="off")
            alias = f"ua-net{i}"
            _sub(itf, "alias", name=alias)
            overrides.append(alias)
        elif n.kind == "user":
            itf = _sub(dev, "interface", type="network")  # libvirt's NAT network for management
            _sub(itf, "mac", address=n.mac)
            _sub(itf, "source", network="default")
            _sub(itf, "model", type="virtio")
        else:
            itf = _sub(dev, "interface", type="ethernet")
            _sub(itf, "mac", address=n.mac)
            if n.tap:
                _sub(itf, "target", dev=n.tap, managed="no")
            _sub(itf, "model", type=n.model)
            if n.vhost_net:
                _sub(itf, "driver", name="vhost")
    for addr in spec.pci:
        hd = _sub(dev, "hostdev", mode="subsystem", type="pci", managed="yes")
        src = _sub(hd, "source")
        dom, bus, sf = addr.split(":")
        slot, fn = sf.split(".")
        _sub(src, "address", domain=f"0x{dom}", bus=f"0x{bus}", slot=f"0x{slot}",
             function=f"0x{fn}")
    serial = _sub(dev, "serial", type="unix")
    _sub(serial, "source", mode="bind", path=f"{rundir}/console.sock")
    _sub(serial, "log", file=f"{rundir}/console.log")
    _sub(serial, "target", port=0)
    con = _sub(dev, "console", type="unix")
    _sub(con, "source", mode="bind", path=f"{rundir}/console.sock")
    _sub(con, "target", type="serial", port=0)
    _sub(dev, "memballoon", model="none")
    if spec.viommu:
        iommu = _sub(dev, "iommu", model="intel")
        _sub(iommu, "driver", intremap="on")
    if overrides and spec.accel == "tcg":
        ov = ET.SubElement(d, f"{{{QEMU_NS}}}override")
        for alias in overrides:
            qd = ET.SubElement(ov, f"{{{QEMU_NS}}}device", alias=alias)
            fe = ET.SubElement(qd, f"{{{QEMU_NS}}}frontend")
            ET.SubElement(fe, f"{{{QEMU_NS}}}property", name="vectors", type="unsigned",
                          value="0")
    ET.indent(d)
    return ET.tostring(d, encoding="unicode") + "\n"

