"""vfio's unsafe no-IOMMU mode (dpdk-devbind's --noiommu-mode), for hosts without an IOMMU.

With /sys/module/vfio/parameters/enable_unsafe_noiommu_mode set, vfio-pci takes a device that
has no IOMMU group and gives it a "vfio-noiommu" group (/dev/vfio/noiommu-N): DPDK can drive it,
and the device can DMA anywhere in memory, which is why it is opt-in and worth a warning.
"""

import os

from .errors import VswError


def param(host):
    return host.sys("module", "vfio", "parameters", "enable_unsafe_noiommu_mode")


def enable(host):
    """Turn the mode on; returns the old value ('Y'/'N') for undo."""
    path = param(host)
    if not os.path.exists(path) and not host.dry_run:
        raise VswError("vfio has no enable_unsafe_noiommu_mode parameter (kernel built without "
                       "CONFIG_VFIO_NOIOMMU, or vfio not loaded)")
    old = host.read(path, "N")
    if old != "Y":
        host.write(path, "1")
    host.say("warning: vfio's unsafe no-IOMMU mode: the device can DMA anywhere in memory")
    return old


def restore(host, old):
    if old is not None and (host.dry_run or host.read(param(host)) != old):
        host.write(param(host), "1" if old == "Y" else "0")
