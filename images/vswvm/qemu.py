"""The QEMU command line of a VM spec, and starting it."""
import subprocess
import time

from .accel import KVM_CPU
from .spec import VmError


def vhost_device_opts(spec):
    """Extra virtio-net properties: under TCG QEMU 7.2 crashes in MSI-X set-up with vhost-user
    unless the NIC has no MSI-X vectors (DESIGN.md)."""
    return ",vectors=0" if spec.accel == "tcg" else ""


def argv(spec, rundir, ssh_port=None, overlay=None):
    machine = spec.machine + f",accel={spec.accel}"
    if spec.viommu:
        machine += ",kernel-irqchip=split"
    a = ["qemu-system-x86_64", "-name", spec.name, "-machine", machine + ",memory-backend=mem",
         "-cpu", KVM_CPU if spec.accel == "kvm" else "max", "-smp", str(spec.cpus),
         "-m", str(spec.mem),
         # vhost-user needs guest memory the switch can map: a shared memfd
         "-object", f"memory-backend-memfd,id=mem,size={spec.mem}M,share=on",
         "-nodefaults", "-display", "none", "-no-reboot", "-no-user-config",
         "-chardev", f"socket,id=con,path={rundir}/console.sock,server=on,wait=off,"
                     f"logfile={rundir}/console.log",
         "-serial", "chardev:con",
         "-qmp", f"unix:{rundir}/qmp.sock,server=on,wait=off"]
    if spec.viommu:
        a += ["-device", "intel-iommu,intremap=on"]  # before the devices it translates for
    img = spec.image
    if img.kernel:
        a += ["-kernel", str(img.kernel), "-initrd", str(img.initrd),
              "-append", " ".join(x for x in (img.cmdline, spec.cmdline) if x)]
    if img.disk:
        a += ["-drive", f"file={overlay},if=virtio,format=qcow2,discard=unmap"]
    for i, n in enumerate(spec.nics):
        if n.kind == "vhost":
            server = ",server=on,wait=off" if n.mode == "client" else ",reconnect=1"
            a += ["-chardev", f"socket,id=vhc{i},path={n.path}{server}",
                  "-netdev", f"vhost-user,id=net{i},chardev=vhc{i},queues={n.queues}",
                  # deep rings ride out the time slices a guest waits for on a busy host
                  "-device", f"virtio-net-pci,netdev=net{i},id=nic{i},mac={n.mac},romfile=,"
                             "rx_queue_size=1024,tx_queue_size=1024"
                             + (",mq=on" if n.queues > 1 else "") + (",packed=on" if n.packed else "")
                             + ("" if n.mrg_rxbuf else ",mrg_rxbuf=off") + vhost_device_opts(spec)]
        elif n.kind == "user":
            # management only: restrict=on cuts the guest off from every network but the
            # forwarded SSH port on the host's loopback
            a += ["-netdev", f"user,id=net{i},restrict=on,hostfwd=tcp:127.0.0.1:{ssh_port}-:22",
                  "-device", f"virtio-net-pci,netdev=net{i},id=nic{i},mac={n.mac},romfile="]
        else:
            if n.tap:
                a += ["-netdev", f"tap,id=net{i},ifname={n.tap},script=no,downscript=no"
                                 + (",vhost=on" if n.vhost_net else "")]
            a += ["-device", f"{n.model},id=nic{i},mac={n.mac},romfile="
                             + (f",netdev=net{i}" if n.tap else "")]
    for i, addr in enumerate(spec.pci):
        a += ["-device", f"vfio-pci,host={addr},id=hostdev{i}"]
    return a


def spawn(argv, rundir):
    """QEMU in a session of its own, its output in the run directory's qemu.log."""
    with open(rundir / "qemu.log", "w") as log:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True, close_fds=True)


def wait_up(p, rundir, sockets=("qmp.sock",)):
    """Until QEMU listens on its sockets in the run directory (QMP; an incoming migration's);
    an error QEMU finds in its arguments ends it before that."""
    deadline = time.monotonic() + 60
    while not all((rundir / x).exists() for x in sockets):
        if p.poll() is not None or time.monotonic() > deadline:
            err = (rundir / "qemu.log").read_text().strip().splitlines()
            raise VmError(f"QEMU did not start: {err[-1] if err else p.returncode}")
        time.sleep(0.05)
