/* Port kind "dpdk": any ethdev, by PCI address (an SR-IOV VF or NIC bound to vfio-pci) or by vdev
 * spec (net_af_packet, net_ring, ...), hot-plugged with rte_dev_probe. Also the removal that
 * every ethdev-backed kind shares. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_devargs.h>

#include "vswd.h"

/* Closes one ethdev; the device goes too once none of its ethdevs is left (a multi-port
 * device may carry other ports' ethdevs, which must not be removed under them). */
int vsw_ethdev_remove(uint16_t port_id)
{
	struct rte_eth_dev_info info;
	struct rte_device *dev;
	uint16_t other;

	if (rte_eth_dev_info_get(port_id, &info) != 0)
		return -ENODEV;
	dev = info.device;
	rte_eth_dev_stop(port_id);
	rte_eth_dev_close(port_id);
	RTE_ETH_FOREACH_DEV_OF(other, dev)
		return 0;
	return rte_dev_remove(dev);
}

/* The ethdev a probe made for the port: the one named as the device, else the first new one.
 * Others the same probe made (a multi-port device) are closed: a port is one ethdev, and the
 * driver's own arguments choose which (mlx5's representor=, for one). */
static int take_new_ethdev(const bool *had, const char *name, uint16_t *port_id)
{
	uint16_t pid, n = 0;
	char ename[RTE_ETH_NAME_MAX_LEN];

	*port_id = RTE_MAX_ETHPORTS;
	RTE_ETH_FOREACH_DEV(pid) {
		if (had[pid])
			continue;
		n++;
		if (*port_id == RTE_MAX_ETHPORTS ||
		    (rte_eth_dev_get_name_by_port(pid, ename) == 0 && strcmp(ename, name) == 0))
			*port_id = pid;
	}
	RTE_ETH_FOREACH_DEV(pid) {
		if (!had[pid] && pid != *port_id) {
			VSW_LOG(NOTICE, "device %s: ethdev %u closed, the port is ethdev %u\n", name,
				pid, *port_id);
			rte_eth_dev_close(pid);
		}
	}
	return n == 0 ? -ENODEV : 0;
}

static int dpdk_open(struct vsw_port *p, int argc, char **argv, char *err, size_t errlen)
{
	struct rte_devargs da;
	bool had[RTE_MAX_ETHPORTS] = {false};
	const char *v;
	uint16_t pid;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (vsw_kv(argv[i], "dev", &v)) {
			if (strlen(v) >= sizeof(p->dev)) {
				snprintf(err, errlen, "dev= is longer than %zu bytes", sizeof(p->dev) - 1);
				return -ENAMETOOLONG;
			}
			snprintf(p->dev, sizeof(p->dev), "%s", v);
		} else {
			snprintf(err, errlen, "unknown dpdk option '%s' (dev=)", argv[i]);
			return -EINVAL;
		}
	}
	if (p->dev[0] == '\0') {
		snprintf(err, errlen, "dpdk port needs dev=PCI-ADDRESS or dev=VDEV-SPEC");
		return -EINVAL;
	}
	rc = vsw_trust_dev(p->dev, err, errlen);
	if (rc != 0)
		return rc;
	if (rte_devargs_parse(&da, p->dev) != 0) {
		snprintf(err, errlen, "device not found: %s", p->dev);
		return -ENODEV;
	}
	rte_devargs_reset(&da);
	if (rte_eth_dev_get_port_by_name(da.name, &p->port_id) == 0) {
		snprintf(err, errlen, "device %s is already a port", da.name);
		return -EEXIST;
	}
	RTE_ETH_FOREACH_DEV(pid)
		had[pid] = true;
	rc = rte_dev_probe(p->dev);
	if (rc != 0) {
		snprintf(err, errlen, "device not found: %s (%s)", p->dev, strerror(-rc));
		return rc;
	}
	/* the new ethdev, whatever the driver named it (03:10.0 becomes 0000:03:10.0) */
	if (take_new_ethdev(had, da.name, &p->port_id) == 0)
		return 0;
	rte_eal_hotplug_remove(rte_bus_name(da.bus), da.name);
	snprintf(err, errlen, "device %s is not a network port", p->dev);
	return -ENODEV;
}

void vsw_port_close_ethdev(struct vsw_port *p)
{
	vsw_ethdev_remove(p->port_id);
}

static void dpdk_describe(const struct vsw_port *p, json_t *o)
{
	json_object_set_new(o, "dev", json_string(p->dev));
}

const struct vsw_port_ops vsw_port_dpdk = {
	.kind = "dpdk",
	.open = dpdk_open,
	.close = vsw_port_close_ethdev,
	.describe = dpdk_describe,
	.rx_holds_mbufs = true,
};
