/* Port kind "tap": a kernel TAP interface named after the port (net_tap). With ip=CIDR it is an
 * inband interface: the host's own stack reaches the guests through it. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <rte_dev.h>

#include "vswd.h"

static int parse_cidr(const char *s, struct in_addr *addr, struct in_addr *mask)
{
	char buf[64], *slash, *end;
	long len = 32;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash != NULL) {
		*slash = '\0';
		len = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || len < 0 || len > 32)
			return -EINVAL;
	}
	if (inet_pton(AF_INET, buf, addr) != 1)
		return -EINVAL;
	mask->s_addr = len == 0 ? 0 : htonl(~0u << (32 - len));
	return 0;
}

static int set_ip(const char *ifname, struct in_addr addr, struct in_addr mask)
{
	struct ifreq ifr = {0};
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), rc = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	sin->sin_family = AF_INET;
	sin->sin_addr = addr;
	if (ioctl(fd, SIOCSIFADDR, &ifr) != 0)
		rc = -errno;
	sin->sin_addr = mask;
	if (rc == 0 && ioctl(fd, SIOCSIFNETMASK, &ifr) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

static int tap_open(struct vsw_port *p, int argc, char **argv, char *err, size_t errlen)
{
	struct in_addr addr = {0}, mask = {0};
	char dev[RTE_DEV_NAME_MAX_LEN], args[RTE_DEV_NAME_MAX_LEN + 32];
	const char *v;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (vsw_kv(argv[i], "ip", &v) && parse_cidr(v, &addr, &mask) == 0) {
			snprintf(p->ip, sizeof(p->ip), "%s", v);
		} else {
			snprintf(err, errlen, "bad tap option '%s' (ip=A.B.C.D/LEN)", argv[i]);
			return -EINVAL;
		}
	}
	if (strlen(p->name) >= IFNAMSIZ) {
		snprintf(err, errlen, "tap port name %s is longer than an interface name (%d)",
			 p->name, IFNAMSIZ - 1);
		return -EINVAL;
	}
	if (if_nametoindex(p->name) != 0) {
		snprintf(err, errlen, "interface %s already exists", p->name);
		return -EEXIST;
	}
	snprintf(dev, sizeof(dev), "net_tap_%s", p->name);
	snprintf(args, sizeof(args), "%s,iface=%s", dev, p->name);
	rc = rte_dev_probe(args);
	if (rc == 0)
		rc = rte_eth_dev_get_port_by_name(dev, &p->port_id);
	if (rc != 0) {
		snprintf(err, errlen, "cannot create tap %s: %s", p->name, strerror(rc < 0 ? -rc : EIO));
		return rc < 0 ? rc : -EIO;
	}
	if (p->ip[0] != '\0' && (rc = set_ip(p->name, addr, mask)) != 0) {
		vsw_ethdev_remove(p->port_id);
		snprintf(err, errlen, "cannot set %s on %s: %s", p->ip, p->name, strerror(-rc));
		return rc;
	}
	return 0;
}

static void tap_describe(const struct vsw_port *p, json_t *o)
{
	json_object_set_new(o, "iface", json_string(p->name));
	if (p->ip[0] != '\0')
		json_object_set_new(o, "ip", json_string(p->ip));
}

const struct vsw_port_ops vsw_port_tap = {
	.kind = "tap",
	.open = tap_open,
	.close = vsw_port_close_ethdev,
	.describe = tap_describe,
	.rx_holds_mbufs = true,
};
