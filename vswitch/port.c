/* The port table: add and remove ports of any kind at run time, set up their queues, follow
 * their link state. Kinds differ only in how the ethdev is opened and closed (port_*.c). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vswd.h"

#define NB_DESC 1024

static const struct vsw_port_ops *const kinds[] = {&vsw_port_vhost, &vsw_port_dpdk, &vsw_port_tap,
						   &vsw_port_vxlan};

static const struct vsw_port_ops *port_kind(const char *kind)
{
	for (unsigned i = 0; i < RTE_DIM(kinds); i++)
		if (strcmp(kinds[i]->kind, kind) == 0)
			return kinds[i];
	return NULL;
}

int vsw_kv(const char *arg, const char *key, const char **val)
{
	size_t n = strlen(key);

	if (strncmp(arg, key, n) != 0 || arg[n] != '=')
		return 0;
	*val = arg + n + 1;
	return 1;
}

int vsw_on_off(const char *key, const char *v, bool *out, char *err, size_t errlen)
{
	if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0) {
		snprintf(err, errlen, "bad %s '%s': on or off", key, v);
		return -EINVAL;
	}
	*out = strcmp(v, "on") == 0;
	return 0;
}

struct vsw_port *vsw_port_find(const char *name)
{
	for (unsigned i = 0; i < VSW_MAX_PORTS; i++)
		if (vsw.ports[i].used && strcmp(vsw.ports[i].name, name) == 0)
			return &vsw.ports[i];
	return NULL;
}

int vsw_port_index(const struct vsw_port *p)
{
	return (int)(p - vsw.ports);
}

static bool valid_name(const char *s)
{
	if (*s == '\0' || strlen(s) >= VSW_NAME_LEN)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
			return false;
	return true;
}

/* Mbufs the pool keeps beyond what rx queues hold: each lcore's mempool cache and frames in
 * flight (tx buffers and rings, vhost bursts). */
static uint32_t pool_margin(void)
{
	return vsw.pool->cache_size * (vsw.cfg.n_pmds + 1) + NB_DESC;
}

/* Refuses a port whose rx queues would take mbufs the pool cannot spare: with the pool drained
 * every port's receive stalls (no_mbuf). Says which --mbufs would do. */
static int pool_check(const struct vsw_port *p, uint32_t need, char *err, size_t errlen)
{
	uint32_t held = 0, margin = pool_margin(), want;

	for (unsigned i = 0; i < VSW_MAX_PORTS; i++)
		if (vsw.ports[i].used)
			held += vsw.ports[i].rx_mbufs;
	want = held + need + margin;
	if (want <= vsw.pool->size)
		return 0;
	snprintf(err, errlen,
		 "port %s: the mbuf pool (%u) cannot feed its rx queues (%u mbufs) besides the %u "
		 "other ports hold and %u spare: start vswd with --mbufs %u or more",
		 p->name, vsw.pool->size, need, held, margin, want);
	return -ENOBUFS;
}

/* As ethdev reckons it: max_mtu if the driver says, else its longest frame less 18 bytes */
static unsigned largest_mtu(const struct rte_eth_dev_info *info)
{
	if (info->max_mtu != UINT16_MAX)
		return info->max_mtu;
	return info->max_rx_pktlen > RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN ?
		       info->max_rx_pktlen - RTE_ETHER_HDR_LEN - RTE_ETHER_CRC_LEN : 0;
}

/* Queues: the kind asks for rx queues (vhost queues=N); one tx queue per PMD where the device
 * has enough, otherwise PMDs share them under a lock (as OVS does with too few txqs). */
static int setup_queues(struct vsw_port *p, char *err, size_t errlen)
{
	struct rte_eth_conf conf = {0};
	struct rte_eth_dev_info info;
	uint16_t nb_rxd = NB_DESC, nb_txd = NB_DESC;
	int rc, socket = rte_eth_dev_socket_id(p->port_id);

	rc = rte_eth_dev_info_get(p->port_id, &info);
	if (rc != 0)
		goto fail;
	p->nb_rxq = RTE_MIN(RTE_MAX(p->queues, 1), RTE_MIN(info.max_rx_queues, VSW_MAX_QUEUES));
	p->nb_txq = RTE_MIN((uint16_t)vsw.cfg.n_pmds, info.max_tx_queues);
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(p->port_id, &nb_rxd, &nb_txd);
	if (rc != 0)
		goto fail;
	p->rx_mbufs = p->ops->rx_holds_mbufs ? (uint32_t)p->nb_rxq * nb_rxd : 0;
	rc = pool_check(p, p->rx_mbufs, err, errlen);
	if (rc != 0)
		return rc;
	if (p->nb_rxq > 1 && info.flow_type_rss_offloads != 0) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads & RTE_ETH_RSS_PROTO_MASK;
	}
	conf.rxmode.offloads = p->rx_offloads;
	conf.txmode.offloads |= vsw_vlan_tx_offloads(&info); /* unicast tags, if it has them */
	p->vlan_tx_offload = (conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_VLAN_INSERT) != 0;
	rc = rte_eth_dev_configure(p->port_id, p->nb_rxq, p->nb_txq, &conf);
	if (rc != 0)
		goto fail;
	if (p->ops->configured != NULL && (rc = p->ops->configured(p, err, errlen)) != 0)
		return rc;
	/* every port carries --mtu; a device without an MTU setting carries what it is given */
	rc = rte_eth_dev_set_mtu(p->port_id, (uint16_t)vsw.cfg.mtu);
	if (rc != 0 && rc != -ENOTSUP) {
		snprintf(err, errlen, "port %s cannot carry --mtu %u: its largest MTU is %u",
			 p->name, vsw.cfg.mtu, largest_mtu(&info));
		return -EINVAL;
	}
	rc = 0;
	for (uint16_t q = 0; q < p->nb_rxq && rc == 0; q++)
		rc = rte_eth_rx_queue_setup(p->port_id, q, nb_rxd, socket, NULL, vsw.pool);
	for (uint16_t q = 0; q < p->nb_txq && rc == 0; q++)
		rc = rte_eth_tx_queue_setup(p->port_id, q, nb_txd, socket, NULL);
	if (rc != 0)
		goto fail;
	rte_eth_promiscuous_enable(p->port_id); /* a switch port sees every frame; may be unsupported */
	rc = rte_eth_dev_start(p->port_id);
	if (rc != 0)
		goto fail;
	for (unsigned i = 0; i < VSW_MAX_PMDS; i++)
		rte_spinlock_init(&p->txq_lock[i]);
	return 0;
fail:
	snprintf(err, errlen, "cannot set up port %s: %s", p->name, strerror(rc < 0 ? -rc : rc));
	return rc < 0 ? rc : -EIO;
}

static bool link_up(const struct vsw_port *p)
{
	struct rte_eth_link link;

	return rte_eth_link_get_nowait(p->port_id, &link) == 0 && link.link_status;
}

/* One port's link and what its peer takes, as the device says now. The control thread's
 * 100 ms tick calls this for every port (not every PMD has link interrupts); a device that
 * reports link changes (net_vhost, from its vhost-user thread, as a guest's driver starts or
 * stops) calls it at once for its port. A guest that renegotiated its features (a DPDK guest
 * does when its application configures its port) is then sent to as it negotiated last from
 * its first frame, not until the next tick: partial checksums only to a guest that takes
 * them. link_lock keeps a tick and an event from writing one port's state out of order. */
static void refresh_link(unsigned i)
{
	struct vsw_port *p = &vsw.ports[i];
	uint8_t up, caps;

	pthread_mutex_lock(&vsw.link_lock);
	up = p->used && link_up(p);
	caps = up && p->ops->tx_caps != NULL ? p->ops->tx_caps(p) : 0;
	/* a guest that comes back may have negotiated other offloads: before link up */
	if (caps != vsw.tx_caps[i])
		__atomic_store_n(&vsw.tx_caps[i], caps, __ATOMIC_RELAXED);
	if (up != vsw.link_up[i]) {
		__atomic_store_n(&vsw.link_up[i], up, __ATOMIC_RELEASE);
		VSW_LOG(INFO, "port %s link %s\n", p->name, up ? "up" : "down");
	}
	pthread_mutex_unlock(&vsw.link_lock);
}

static int on_link_event(uint16_t port_id, enum rte_eth_event_type type, void *idx, void *out)
{
	(void)port_id, (void)type, (void)out;
	refresh_link((unsigned)(uintptr_t)idx);
	return 0;
}

int vsw_port_add(const char *name, const char *kind, int argc, char **argv, char *err, size_t el)
{
	const struct vsw_port_ops *ops = port_kind(kind);
	struct vsw_port *p = NULL;
	struct vsw_port_vlan vlan = {0};
	bool has_vlan;
	int rc;

	if (!valid_name(name)) {
		snprintf(err, el, "bad port name '%s': use up to %d of [A-Za-z0-9_.-]", name,
			 VSW_NAME_LEN - 1);
		return -EINVAL;
	}
	if (vsw_port_find(name) != NULL) {
		snprintf(err, el, "port %s already exists", name);
		return -EEXIST;
	}
	if (ops == NULL) {
		snprintf(err, el, "unknown port kind '%s' (vhost, dpdk, tap, vxlan)", kind);
		return -EINVAL;
	}
	for (unsigned i = 0; i < VSW_MAX_PORTS && p == NULL; i++)
		if (!vsw.ports[i].used)
			p = &vsw.ports[i];
	if (p == NULL) {
		snprintf(err, el, "no room for another port (%d at most)", VSW_MAX_PORTS);
		return -ENOSPC;
	}
	/* the VLAN words are the switch's, not the kind's: checked first, taken out */
	rc = vsw_vlan_parse(name, &vlan, &argc, argv, &vlan, &has_vlan, err, el);
	if (rc != 0)
		return rc;
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->ops = ops;
	p->queues = 1;
	rc = ops->open(p, argc, argv, err, el);
	if (rc != 0)
		return rc;
	rc = setup_queues(p, err, el);
	if (rc != 0) {
		ops->close(p);
		return rc;
	}
	p->vlan = vlan;
	p->used = true;
	vsw_dp_publish();
	/* from here on a link event may come (and refresh_link reads p) until vsw_port_del;
	 * without it the tick still follows the link */
	if (rte_eth_dev_callback_register(p->port_id, RTE_ETH_EVENT_INTR_LSC, on_link_event,
					  (void *)(uintptr_t)vsw_port_index(p)) != 0)
		VSW_LOG(WARNING, "port %s: link events not followed, only ticks\n", name);
	vsw_ports_poll_link();
	VSW_LOG(INFO, "port %s (%s) added as ethdev %u\n", name, kind, p->port_id);
	return 0;
}

int vsw_port_del(const char *name, char *err, size_t errlen)
{
	struct vsw_port *p = vsw_port_find(name);
	int idx;

	if (p == NULL) {
		snprintf(err, errlen, "unknown port %s", name);
		return -ENOENT;
	}
	idx = vsw_port_index(p);
	if (vsw_vxlan_user((uint16_t)idx) != NULL) {
		snprintf(err, errlen, "port %s is the underlay of vxlan port %s: delete that first",
			 name, vsw_vxlan_user((uint16_t)idx)->name);
		return -EBUSY;
	}
	/* no link event writes this port's state once it goes; one that runs now finishes */
	while (rte_eth_dev_callback_unregister(p->port_id, RTE_ETH_EVENT_INTR_LSC, on_link_event,
					       (void *)(uintptr_t)idx) == -EAGAIN)
		rte_delay_us_sleep(100);
	p->used = false;
	vsw_dp_publish(); /* returns after every PMD has left the old table */
	__atomic_store_n(&vsw.link_up[idx], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&vsw.tx_caps[idx], 0, __ATOMIC_RELAXED);
	vsw_fdb_flush(vsw.fdb, (uint16_t)idx, VSW_FDB_ANY_VLAN, true);
	vsw_stats_retire(p); /* no PMD counts for it any more; before close (ethdev no_mbuf) */
	p->ops->close(p);
	for (unsigned i = 0; i < vsw.cfg.n_pmds; i++) {
		memset(&vsw.pmds[i].port[idx], 0, sizeof(vsw.pmds[i].port[idx]));
		memset(&vsw.pmds[i].l2c[idx], 0, sizeof(vsw.pmds[i].l2c[idx]));
	}
	VSW_LOG(INFO, "port %s removed\n", name);
	return 0;
}

void vsw_port_del_all(void)
{
	char err[VSW_ERR_LEN];

	/* tunnels first: their underlays cannot go before them */
	for (unsigned i = 0; i < VSW_MAX_PORTS; i++)
		if (vsw.ports[i].used && vsw.ports[i].vx != NULL)
			vsw_port_del(vsw.ports[i].name, err, sizeof(err));
	for (unsigned i = 0; i < VSW_MAX_PORTS; i++)
		if (vsw.ports[i].used)
			vsw_port_del(vsw.ports[i].name, err, sizeof(err));
}

void vsw_ports_poll_link(void)
{
	bool republish = false;

	for (unsigned i = 0; i < VSW_MAX_PORTS; i++) {
		struct vsw_port *p = &vsw.ports[i];

		refresh_link(i);
		if (p->used && p->ops->poll_txqs != NULL && p->ops->poll_txqs(p))
			republish = true;
	}
	if (republish)
		vsw_dp_publish();
}

json_t *vsw_port_json(const struct vsw_port *p)
{
	struct rte_ether_addr mac;
	char macs[RTE_ETHER_ADDR_FMT_SIZE] = "";
	json_t *o;

	if (rte_eth_macaddr_get(p->port_id, &mac) == 0)
		rte_ether_format_addr(macs, sizeof(macs), &mac);
	o = json_pack("{s:s, s:s, s:i, s:s, s:i, s:i, s:s, s:i}", "name", p->name, "kind",
		      p->ops->kind, "ethdev", p->port_id, "link",
		      vsw.link_up[vsw_port_index(p)] ? "up" : "down", "rxq", p->nb_rxq, "txq",
		      p->nb_txq, "mac", macs, "fdb_learned",
		      vsw_fdb_count(vsw.fdb, (uint16_t)vsw_port_index(p)));
	vsw_loss_json(p, o);
	vsw_vlan_json(p, o);
	p->ops->describe(p, o);
	return o;
}
