/* Port kind "vxlan": `vni=N local=IP remotes=IP[,IP]... underlay=PORT [dstport=4789]
 * [udpcsum=on|off]`. The port
 * is a net_ring ethdev over two rings (see vxlan.h); this file checks the settings, makes the
 * rings and the ethdev, and describes the tunnel: its remotes, their MACs, the inner MACs
 * learned behind each and per-remote counters. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eth_ring.h>
#include <rte_malloc.h>

#include "vxlan.h"

#define RING_SIZE 1024

static int parse_ip(const char *key, const char *v, uint32_t *ip, char *err, size_t errlen)
{
	struct in_addr a;

	if (inet_pton(AF_INET, v, &a) != 1 || a.s_addr == 0 || a.s_addr == INADDR_BROADCAST ||
	    IN_MULTICAST(ntohl(a.s_addr))) {
		snprintf(err, errlen, "bad %s= '%s': a unicast IPv4 address", key, v);
		return -EINVAL;
	}
	*ip = a.s_addr;
	return 0;
}

static int parse_num(const char *key, const char *v, unsigned long min, unsigned long max,
		     unsigned long *x, char *err, size_t errlen)
{
	char *end;

	errno = 0;
	*x = (*v >= '0' && *v <= '9') ? strtoul(v, &end, 10) : 0;
	if (*v < '0' || *v > '9' || errno != 0 || *end != '\0' || *x < min || *x > max) {
		snprintf(err, errlen, "bad %s= '%s': %lu to %lu", key, v, min, max);
		return -EINVAL;
	}
	return 0;
}

static int parse_remotes(struct vsw_vxlan *vx, const char *v, char *err, size_t errlen)
{
	char buf[256], *save = NULL, *ip;

	if (snprintf(buf, sizeof(buf), "%s", v) >= (int)sizeof(buf) || v[0] == '\0') {
		snprintf(err, errlen, "bad remotes= '%.32s': IP[,IP]... (%d at most)", v,
			 VX_MAX_REMOTES);
		return -EINVAL;
	}
	for (ip = strtok_r(buf, ",", &save); ip != NULL; ip = strtok_r(NULL, ",", &save)) {
		uint32_t a;

		if (parse_ip("remotes", ip, &a, err, errlen) != 0)
			return -EINVAL;
		for (unsigned i = 0; i < vx->n_remotes; i++)
			if (vx->r[i].ip == a) {
				snprintf(err, errlen, "remote %s given twice", ip);
				return -EINVAL;
			}
		if (vx->n_remotes == VX_MAX_REMOTES) {
			snprintf(err, errlen, "too many remotes (%d at most)", VX_MAX_REMOTES);
			return -EINVAL;
		}
		vx->r[vx->n_remotes++].ip = a;
	}
	return 0;
}

static int parse(struct vsw_port *p, struct vsw_vxlan *vx, int argc, char **argv, char *err,
		 size_t errlen)
{
	const char *v, *under = NULL;
	bool has_vni = false, has_local = false;
	unsigned long x;
	struct vsw_port *u;

	vx->dstport = 4789;
	for (int i = 0; i < argc; i++) {
		if (vsw_kv(argv[i], "vni", &v)) {
			if (parse_num("vni", v, 0, 0xffffff, &x, err, errlen) != 0)
				return -EINVAL;
			vx->vni = (uint32_t)x;
			has_vni = true;
		} else if (vsw_kv(argv[i], "local", &v)) {
			if (parse_ip("local", v, &vx->local, err, errlen) != 0)
				return -EINVAL;
			has_local = true;
		} else if (vsw_kv(argv[i], "remotes", &v)) {
			if (parse_remotes(vx, v, err, errlen) != 0)
				return -EINVAL;
		} else if (vsw_kv(argv[i], "dstport", &v)) {
			if (parse_num("dstport", v, 1, 65535, &x, err, errlen) != 0)
				return -EINVAL;
			vx->dstport = (uint16_t)x;
		} else if (vsw_kv(argv[i], "udpcsum", &v)) {
			if (vsw_on_off("udpcsum", v, &vx->udpcsum, err, errlen) != 0)
				return -EINVAL;
		} else if (vsw_kv(argv[i], "underlay", &v)) {
			under = v;
		} else {
			snprintf(
			    err, errlen,
			    "unknown vxlan option '%s' (vni, local, remotes, underlay, dstport, "
			    "udpcsum)",
			    argv[i]);
			return -EINVAL;
		}
	}
	if (!has_vni || !has_local || vx->n_remotes == 0 || under == NULL) {
		snprintf(err, errlen,
			 "vxlan port needs vni=N local=IP remotes=IP[,IP]... "
			 "underlay=PORT");
		return -EINVAL;
	}
	u = vsw_port_find(under);
	if (u == NULL || u->vx != NULL) {
		snprintf(err, errlen, "bad underlay=%s: %s", under,
			 u == NULL ? "no such port" : "a vxlan port cannot carry another");
		return -EINVAL;
	}
	for (unsigned i = 0; i < VSW_MAX_PORTS; i++) {
		const struct vsw_vxlan *o = vsw.ports[i].used ? vsw.ports[i].vx : NULL;

		if (o != NULL && o->underlay == vsw_port_index(u) && o->local == vx->local &&
		    o->dstport == vx->dstport && o->vni == vx->vni) {
			snprintf(err, errlen, "port %s already has VNI %u on %s", vsw.ports[i].name,
				 vx->vni, under);
			return -EEXIST;
		}
	}
	vx->underlay = (uint16_t)vsw_port_index(u);
	vx->underlay_port_id = u->port_id;
	if (rte_eth_macaddr_get(u->port_id, &vx->local_mac) != 0) {
		snprintf(err, errlen, "bad underlay=%s: it has no MAC address", under);
		return -EINVAL;
	}
	(void)p;
	return 0;
}

/* Frees what a ring still holds (frames queued when the port went), then the ring. */
static void ring_drain_free(struct rte_ring *r)
{
	void *m;

	while (r != NULL && rte_ring_dequeue(r, &m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(r);
}

static void free_vx(struct vsw_vxlan *vx)
{
	if (vx == NULL)
		return;
	ring_drain_free(vx->rx);
	ring_drain_free(vx->tx);
	rte_free(vx);
}

static int vxlan_open(struct vsw_port *p, int argc, char **argv, char *err, size_t errlen)
{
	static unsigned seq;
	struct vsw_vxlan *vx = rte_zmalloc("vsw_vxlan", sizeof(*vx), RTE_CACHE_LINE_SIZE);
	char name[RTE_RING_NAMESIZE];
	int rc;

	if (vx == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = parse(p, vx, argc, argv, err, errlen);
	if (rc != 0) {
		free_vx(vx);
		return rc;
	}
	vx->idx = (uint16_t)vsw_port_index(p);
	seq++; /* names for the rings and the device: unique, and short enough */
	snprintf(name, sizeof(name), "vsw_vxr%u", seq);
	vx->rx = rte_ring_create(name, RING_SIZE, SOCKET_ID_ANY, 0);
	snprintf(name, sizeof(name), "vsw_vxt%u", seq);
	vx->tx = rte_ring_create(name, RING_SIZE, SOCKET_ID_ANY, 0);
	snprintf(name, sizeof(name), "net_ring_vx%u", seq);
	rc = vx->rx != NULL && vx->tx != NULL
		 ? rte_eth_from_rings(name, &vx->rx, 1, &vx->tx, 1, SOCKET_ID_ANY)
		 : -1;
	if (rc < 0) {
		snprintf(err, errlen, "cannot make the ring device of vxlan port %s", p->name);
		free_vx(vx);
		return -ENOMEM;
	}
	p->port_id = (uint16_t)rc;
	p->vx = vx;
	return 0;
}

static void vxlan_close(struct vsw_port *p)
{
	vsw_ethdev_remove(p->port_id);
	free_vx(p->vx); /* no PMD holds it: the port left the datapath table first */
	p->vx = NULL;
}

static json_t *ip_json(uint32_t ip)
{
	char s[INET_ADDRSTRLEN];

	return json_string(inet_ntop(AF_INET, &ip, s, sizeof(s)));
}

static json_t *mac_json(uint64_t w)
{
	struct rte_ether_addr a;
	char s[RTE_ETHER_ADDR_FMT_SIZE];

	if (!(w & VX_MAC_VALID))
		return json_null();
	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		a.addr_bytes[i] = (uint8_t)(w >> (8 * (5 - i)));
	rte_ether_format_addr(s, sizeof(s), &a);
	return json_string(s);
}

static void vxlan_describe(const struct vsw_port *p, json_t *o)
{
	const struct vsw_vxlan *vx = p->vx;
	json_t *rs = json_array();
	struct vx_drops d = {0};

	for (unsigned i = 0; i < vx->n_remotes; i++) {
		struct vx_remote_counters c = {0};
		unsigned macs = 0;

		for (unsigned k = 0; k < vsw.cfg.n_pmds; k++) {
			const struct vx_remote_counters *x = &vx->pmd[k].r[i];

			c.tx_packets += x->tx_packets;
			c.tx_bytes += x->tx_bytes;
			c.rx_packets += x->rx_packets;
			c.rx_bytes += x->rx_bytes;
			c.unresolved += x->unresolved;
		}
		for (unsigned k = 0; k < VX_MAC_SLOTS; k++)
			macs += (__atomic_load_n(&vx->macs[k], __ATOMIC_RELAXED) >> 48) == i + 1;
		json_array_append_new(
		    rs, json_pack("{s:o, s:o, s:i, s:I, s:I, s:I, s:I, s:I}", "ip",
				  ip_json(vx->r[i].ip), "mac",
				  mac_json(__atomic_load_n(&vx->r[i].mac, __ATOMIC_RELAXED)),
				  "inner_macs", macs, "tx_packets", (json_int_t)c.tx_packets,
				  "tx_bytes", (json_int_t)c.tx_bytes, "rx_packets",
				  (json_int_t)c.rx_packets, "rx_bytes", (json_int_t)c.rx_bytes,
				  "unresolved", (json_int_t)c.unresolved));
	}
	for (unsigned k = 0; k < vsw.cfg.n_pmds; k++) {
		d.malformed += vx->pmd[k].d.malformed;
		d.wrong_vni += vx->pmd[k].d.wrong_vni;
		d.unknown_remote += vx->pmd[k].d.unknown_remote;
		d.rx_full += vx->pmd[k].d.rx_full;
	}
	json_object_set_new(o, "vni", json_integer(vx->vni));
	json_object_set_new(o, "local", ip_json(vx->local));
	json_object_set_new(o, "underlay", json_string(vsw.ports[vx->underlay].name));
	json_object_set_new(o, "dstport", json_integer(vx->dstport));
	json_object_set_new(o, "udpcsum", json_string(vx->udpcsum ? "on" : "off"));
	json_object_set_new(o, "remotes", rs);
	json_object_set_new(o, "vxlan_drops",
			    json_pack("{s:I, s:I, s:I, s:I}", "malformed", (json_int_t)d.malformed,
				      "wrong_vni", (json_int_t)d.wrong_vni, "unknown_remote",
				      (json_int_t)d.unknown_remote, "rx_full",
				      (json_int_t)d.rx_full));
}

const struct vsw_port *vsw_vxlan_user(uint16_t underlay)
{
	for (unsigned i = 0; i < VSW_MAX_PORTS; i++)
		if (vsw.ports[i].used && vsw.ports[i].vx != NULL &&
		    vsw.ports[i].vx->underlay == underlay)
			return &vsw.ports[i];
	return NULL;
}

/* An FDB row of a vxlan port says behind which remote the MAC was learned. */
void vsw_vxlan_fdb_json(const struct vsw_port *p, const struct rte_ether_addr *mac, json_t *row)
{
	uint64_t m = vx_mac48(mac), w;

	if (p->vx == NULL)
		return;
	w = __atomic_load_n(&p->vx->macs[vx_mac_slot(m)], __ATOMIC_RELAXED);
	if ((w & 0xffffffffffffULL) == m && (w >> 48) != 0 && (w >> 48) <= p->vx->n_remotes)
		json_object_set_new(row, "remote", ip_json(p->vx->r[(w >> 48) - 1].ip));
}

const struct vsw_port_ops vsw_port_vxlan = {
	.kind = "vxlan",
	.open = vxlan_open,
	.close = vxlan_close,
	.describe = vxlan_describe,
	.rx_holds_mbufs = false,
};
