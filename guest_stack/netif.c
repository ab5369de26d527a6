/* netif.c: open and configure the ethdev, lay out workers and dispatcher lcores, create the
 * mbuf pool and the per-core rings.  The data path is in netif_rxtx.c and netif_rss.c. */
#include <string.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_arp.h>
#include "gs_priv.h"

#define GS_NB_DESC 1024
#define GS_ARP_TIMEOUT_US (60ULL * 1000 * 1000)
#define GS_ARP_RETRY_US (500ULL * 1000)
#define GS_ARP_TRIES 3

struct gs_stack gs_st;

/* The default device: the ethdev port and the TSC. */
static uint16_t eth_rx(void *ctx, uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
	(void)ctx;
	return rte_eth_rx_burst(gs_st.port, queue, pkts, n);
}

static uint16_t eth_tx(void *ctx, uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
	(void)ctx;
	return rte_eth_tx_burst(gs_st.port, queue, pkts, n);
}

static uint64_t tsc_now_us(void *ctx)
{
	(void)ctx;
	/* a multiply instead of a 64-bit division: this runs several times a poll */
	return (uint64_t)(((unsigned __int128)rte_get_tsc_cycles() * gs_st.us_mult) >> 32);
}

static const struct gs_dev_ops eth_ops = {.rx = eth_rx, .tx = eth_tx, .now_us = tsc_now_us};
#define GS_TX_LINGER_US 100000

uint64_t gs_time_us(void)
{
	return gs_now_us();
}

static int find_port(const char *dev, uint16_t *port)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	size_t n = strcspn(dev, ",");

	if (n == 0 || n >= sizeof(name))
		return -EINVAL;
	memcpy(name, dev, n);
	name[n] = '\0';
	if (rte_eth_dev_get_port_by_name(name, port) == 0)
		return 0;
	int rc = rte_dev_probe(dev); /* hot-plug: a vdev spec or a PCI address */
	if (rc < 0) {
		GS_LOG(ERR, "cannot probe %s: %s", dev, strerror(-rc));
		return -ENODEV;
	}
	return rte_eth_dev_get_port_by_name(name, port) == 0 ? 0 : -ENODEV;
}

/* Workers first (worker 0 on the main lcore), the dispatcher(s) on the last lcore(s). */
static int layout(unsigned int *lcores, unsigned int nl)
{
	unsigned int need = gs_st.conf.mode == GS_MODE_SINGLE ? 1
			    : gs_st.conf.mode == GS_MODE_1KB  ? 2
							      : 3;
	if (nl < need) {
		GS_LOG(ERR, "mode %s needs %u lcores, have %u", gs_mode_name(gs_st.conf.mode), need,
		       nl);
		return -EINVAL;
	}
	switch (gs_st.conf.mode) {
	case GS_MODE_SINGLE:
		gs_st.nworkers = 1;
		gs_st.ndisp = 0;
		break;
	case GS_MODE_1KB:
		gs_st.nworkers = nl - 1;
		gs_st.ndisp = 1;
		gs_st.rx_lcore = gs_st.tx_lcore = lcores[nl - 1];
		gs_st.disp[0].role = "rxtx";
		gs_st.disp[0].lcore = gs_st.rx_lcore;
		break;
	case GS_MODE_2KB:
		gs_st.nworkers = nl - 2;
		gs_st.ndisp = 2;
		gs_st.tx_lcore = lcores[nl - 2];
		gs_st.rx_lcore = lcores[nl - 1];
		gs_st.disp[0].role = "rx";
		gs_st.disp[0].lcore = gs_st.rx_lcore;
		gs_st.disp[1].role = "tx";
		gs_st.disp[1].lcore = gs_st.tx_lcore;
		break;
	}
	gs_st.nworkers = RTE_MIN(gs_st.nworkers, (unsigned int)GS_MAX_WORKERS);
	return 0;
}

/* Some PMDs take the key only through rss_hash_update, not at configure: check, and set it. */
static void rss_key_check(struct rte_eth_rss_conf *want)
{
	uint8_t key[GS_RSS_KEY_LEN];
	struct rte_eth_rss_conf have = {.rss_key = key, .rss_key_len = sizeof(key)};

	if (rte_eth_dev_rss_hash_conf_get(gs_st.port, &have) < 0 ||
	    memcmp(key, want->rss_key, sizeof(key)) == 0)
		return; /* cannot tell: trust configure */
	if (rte_eth_dev_rss_hash_update(gs_st.port, want) < 0)
		GS_LOG(WARNING, "%s: the device keeps its own RSS key (software RSS may differ)",
		       gs_st.conf.dev);
}

/* TSO needs the TCP checksum offload (virtio's HOST_TSO4 comes with CSUM) and chained mbufs
 * (a 64 KB segment is a chain of the pool's 2 KB buffers); large receive needs the RX TCP
 * checksum (GUEST_TSO4 comes with GUEST_CSUM). */
#define GS_TSO_TX                                                                                  \
	(RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
#define GS_LRO_RX (RTE_ETH_RX_OFFLOAD_TCP_LRO | RTE_ETH_RX_OFFLOAD_TCP_CKSUM)

/* Both on by default, each only where the device has all it takes. */
static void offloads_pick(uint64_t tx_capa, uint64_t rx_capa)
{
	gs_st.tso = !gs_st.conf.no_tso && (tx_capa & GS_TSO_TX) == GS_TSO_TX;
	gs_st.lro = !gs_st.conf.no_tso && (rx_capa & GS_LRO_RX) == GS_LRO_RX;
}

static int port_setup(unsigned int nq, unsigned int nmbufs)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf pc;
	uint8_t key[GS_RSS_KEY_LEN];
	uint16_t nrx = (uint16_t)gs_st.conf.nb_desc, ntx = nrx, port = gs_st.port;
	int rc;

	if ((rc = rte_eth_dev_info_get(port, &info)) < 0)
		return rc;
	gs_st.hw_rss = gs_st.conf.mode != GS_MODE_SINGLE && !gs_st.conf.soft_rss &&
		       gs_st.nworkers > 1 && info.max_rx_queues >= gs_st.nworkers &&
		       info.max_tx_queues >= gs_st.nworkers &&
		       (info.flow_type_rss_offloads & RTE_ETH_RSS_NONFRAG_IPV4_UDP);
	if (gs_st.hw_rss) {
		nq = gs_st.nworkers;
		gs_st.ndisp = 0;
	}
	memset(&pc, 0, sizeof(pc));
	if (gs_st.hw_rss) {
		pc.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		pc.rx_adv_conf.rss_conf.rss_hf =
			info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP);
		/* softrss.c's key, so that the NIC and the software hash agree (--symmetric too) */
		if (info.hash_key_size == GS_RSS_KEY_LEN || info.hash_key_size == 0) {
			memcpy(key, gs_rss_key(gs_st.conf.symmetric_rss), GS_RSS_KEY_LEN);
			pc.rx_adv_conf.rss_conf.rss_key = key;
			pc.rx_adv_conf.rss_conf.rss_key_len = GS_RSS_KEY_LEN;
		} else {
			GS_LOG(WARNING, "%s: RSS key of %u bytes, keeping the device's",
			       gs_st.conf.dev, info.hash_key_size);
		}
	}
	if (gs_st.conf.csum_offload) {
		uint64_t want = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM |
				RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
		gs_st.tx_ol = info.tx_offload_capa & want;
		pc.txmode.offloads = gs_st.tx_ol;
		pc.rxmode.offloads = info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_CHECKSUM;
	}
	offloads_pick(info.tx_offload_capa, info.rx_offload_capa);
	pc.txmode.offloads |= gs_st.tso ? GS_TSO_TX : 0;
	pc.rxmode.offloads |= gs_st.lro ? GS_LRO_RX : 0;
	if ((rc = rte_eth_dev_configure(port, nq, nq, &pc)) < 0 ||
	    (rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrx, &ntx)) < 0)
		return rc;
	gs_st.pool = rte_pktmbuf_pool_create("gs_pool", nmbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					     (int)rte_socket_id());
	if (!gs_st.pool)
		return -rte_errno;
	for (uint16_t q = 0; q < nq; q++) {
		unsigned int sock = (unsigned int)rte_eth_dev_socket_id(port);
		if ((rc = rte_eth_rx_queue_setup(port, q, nrx, sock, NULL, gs_st.pool)) < 0 ||
		    (rc = rte_eth_tx_queue_setup(port, q, ntx, sock, NULL)) < 0)
			return rc;
	}
	if (gs_st.conf.mac_set && rte_eth_dev_default_mac_addr_set(port, &gs_st.conf.mac) < 0)
		GS_LOG(WARNING, "device refused MAC address, using its own");
	if ((rc = rte_eth_macaddr_get(port, &gs_st.mac)) < 0 || (rc = rte_eth_dev_start(port)) < 0)
		return rc;
	gs_st.up = true;
	if (pc.rx_adv_conf.rss_conf.rss_key)
		rss_key_check(&pc.rx_adv_conf.rss_conf);
	GS_LOG(INFO,
	       "%s: port %u, %u queue(s), %s, checksums %s, TSO %s, large receive %s, mac "
	       RTE_ETHER_ADDR_PRT_FMT,
	       gs_st.conf.dev, port, nq, gs_st.hw_rss ? "hardware RSS" : "software RSS",
	       gs_st.tx_ol ? "offloaded" : "in software", gs_st.tso ? "on" : "off",
	       gs_st.lro ? "on" : "off", RTE_ETHER_ADDR_BYTES(&gs_st.mac));
	return 0;
}

static void arp_request_cb(void *ctx, uint32_t ip, const struct rte_ether_addr *mac)
{
	gs_arp_send(ctx, RTE_ARP_OP_REQUEST, ip, mac, false);
}

static void arp_send_cb(void *ctx, void *pkt, const struct rte_ether_addr *mac)
{
	gs_eth_xmit(ctx, pkt, mac);
}

static void arp_drop_cb(void *ctx, void *pkt, enum gs_ctr why)
{
	struct gs_worker *w = ctx;

	w->c[why]++;
	rte_pktmbuf_free(pkt);
}

static const struct gs_arp_ops arp_ops = {arp_request_cb, arp_send_cb, arp_drop_cb};

static int worker_setup(unsigned int i, unsigned int lcore)
{
	struct gs_worker *w = rte_zmalloc("gs_worker", sizeof(*w), RTE_CACHE_LINE_SIZE);
	char name[RTE_RING_NAMESIZE];

	if (!w)
		return -ENOMEM;
	gs_st.w[i] = w;
	w->idx = i;
	w->lcore = lcore;
	w->port = gs_st.port;
	w->queue = gs_st.hw_rss ? (uint16_t)i : 0;
	w->direct = gs_st.ndisp == 0;
	w->pool = gs_st.pool;
	gs_backoff_init(&w->bo, gs_st.conf.busy_poll, gs_st.conf.max_sleep_us);
	gs_arp_cache_init(&w->arp, GS_ARP_TIMEOUT_US, GS_ARP_RETRY_US, GS_ARP_TRIES, &arp_ops, w);
	/* Multi-producer: any worker may hand this one a datagram to our own address, and with
	 * hardware RSS the ARP its queue received (RSS does not hash ARP; every worker keeps its
	 * own cache). */
	snprintf(name, sizeof(name), "gs_in%u", i);
	w->in_ring =
	    rte_ring_create(name, gs_st.conf.ring_size, (int)rte_socket_id(), RING_F_SC_DEQ);
	if (!w->in_ring)
		return -rte_errno;
	if (w->direct)
		return 0;
	snprintf(name, sizeof(name), "gs_rx%u", i);
	w->rx_ring = rte_ring_create(name, gs_st.conf.ring_size, (int)rte_socket_id(),
				     RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "gs_tx%u", i);
	w->tx_ring = rte_ring_create(name, gs_st.conf.ring_size, (int)rte_socket_id(),
				     RING_F_SP_ENQ | RING_F_SC_DEQ);
	return w->rx_ring && w->tx_ring ? 0 : -rte_errno;
}

/* A fake device: the pool, and as many queues as the layout wants. */
static int fake_setup(unsigned int nmbufs)
{
	static const struct rte_ether_addr def_mac = {{0x02, 0, 0, 0, 0, 0x01}};

	gs_st.hw_rss =
	    gs_st.conf.mode != GS_MODE_SINGLE && !gs_st.conf.soft_rss && gs_st.nworkers > 1;
	if (gs_st.hw_rss)
		gs_st.ndisp = 0;
	gs_st.mac = gs_st.conf.mac_set ? gs_st.conf.mac : def_mac;
	offloads_pick(gs_st.dev.tx_capa, gs_st.dev.rx_capa);
	gs_st.pool = rte_pktmbuf_pool_create("gs_pool", nmbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					     (int)rte_socket_id());
	return gs_st.pool ? 0 : -rte_errno;
}

static int init(const struct gs_conf *conf, const struct gs_dev_ops *ops, void *ctx)
{
	unsigned int lcores[RTE_MAX_LCORE], nl = 0, l;
	int rc;

	if (!conf || (!ops && !conf->dev) || !conf->ip || conf->prefix > 32)
		return -EINVAL;
	memset(&gs_st, 0, sizeof(gs_st));
	gs_st.conf = *conf;
	gs_st.ethdev = !ops;
	gs_st.dev = ops ? *ops : eth_ops;
	gs_st.dev_ctx = ctx;
	if (!gs_st.conf.ring_size)
		gs_st.conf.ring_size = 1024;
	gs_st.conf.ring_size = rte_align32pow2(gs_st.conf.ring_size);
	gs_st.ip = conf->ip;
	gs_st.ip_be = rte_cpu_to_be_32(conf->ip);
	gs_st.mask = conf->prefix ? ~0u << (32 - conf->prefix) : 0;
	gs_st.us_mult = ((uint64_t)1000000 << 32) / RTE_MAX(rte_get_tsc_hz(), (uint64_t)1000000);
	gs_rss_init(conf->symmetric_rss);

	lcores[nl++] = rte_get_main_lcore();
	RTE_LCORE_FOREACH_WORKER(l)
	lcores[nl++] = l;
	if ((rc = layout(lcores, nl)) < 0 ||
	    (gs_st.ethdev && (rc = find_port(conf->dev, &gs_st.port)) < 0))
		return rc;
	if (!gs_st.conf.nb_desc)
		gs_st.conf.nb_desc = GS_NB_DESC;
	gs_st.conf.nb_desc = RTE_MIN(gs_st.conf.nb_desc, 32768u);
	unsigned int nmbufs = 8192 + gs_st.nworkers * (gs_st.conf.nb_desc * 2 +
						       gs_st.conf.ring_size * 3 + GS_SOCK_QLEN * 2);
	rc = gs_st.ethdev ? port_setup(1, nmbufs) : fake_setup(nmbufs);
	if (rc < 0) {
		GS_LOG(ERR, "%s: port setup failed: %s", conf->dev ? conf->dev : "fake device",
		       strerror(-rc));
		return rc;
	}
	for (unsigned int i = 0; i < gs_st.nworkers; i++)
		if ((rc = worker_setup(i, lcores[i])) < 0)
			return rc;
	/* Announce ourselves: a gratuitous ARP before any thread owns the queue. */
	gs_arp_send(gs_st.w[0], RTE_ARP_OP_REQUEST, gs_st.ip, NULL, true);
	gs_st.w[0]->announced = 1;
	gs_st.w[0]->announce_at = gs_now_us() + GS_ANNOUNCE_GAP_US;
	return 0;
}

int gs_init(const struct gs_conf *conf)
{
	return init(conf, NULL, NULL);
}

int gs_init_dev(const struct gs_conf *conf, const struct gs_dev_ops *ops, void *ctx)
{
	if (!ops || !ops->rx || !ops->tx || !ops->now_us)
		return -EINVAL;
	return init(conf, ops, ctx);
}

unsigned int gs_fini(void)
{
	unsigned int leaked = 0;

	for (unsigned int i = 0; i < GS_MAX_WORKERS; i++) {
		struct gs_worker *w = gs_st.w[i];
		struct rte_mbuf *m;
		if (!w)
			continue;
		for (unsigned int s = 0; s < GS_MAX_SOCKS; s++)
			gs_udp_close(&w->socks[s]);
		gs_tcp_fini(w);
		for (unsigned int e = 0; e < GS_ARP_SIZE; e++)
			for (unsigned int h = 0; h < w->arp.e[e].nhold; h++)
				rte_pktmbuf_free(w->arp.e[e].hold[h]);
		rte_pktmbuf_free_bulk(w->txbuf, w->ntx);
		rte_pktmbuf_free_bulk(w->lobuf, w->nlo);
		while (w->rx_ring && rte_ring_dequeue(w->rx_ring, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		while (w->tx_ring && rte_ring_dequeue(w->tx_ring, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		while (w->in_ring && rte_ring_dequeue(w->in_ring, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(w->rx_ring);
		rte_ring_free(w->tx_ring);
		rte_ring_free(w->in_ring);
		rte_free(w);
		gs_st.w[i] = NULL;
	}
	if (gs_st.up) {
		/* Linger, as a NIC sends what is in its ring after the process is gone: a virtio
		 * backend takes what we queued only while we are attached, and our last burst may
		 * still be in the ring (counted as sent). */
		rte_delay_us_sleep(GS_TX_LINGER_US);
		rte_eth_dev_stop(gs_st.port);
		rte_eth_dev_close(gs_st.port);
		gs_st.up = false;
	}
	if (gs_st.pool) /* the device is closed: every mbuf should be back */
		leaked = rte_mempool_in_use_count(gs_st.pool);
	rte_mempool_free(gs_st.pool);
	gs_st.pool = NULL;
	return leaked;
}

unsigned int gs_worker_count(void)
{
	return gs_st.nworkers;
}

uint16_t gs_port(void)
{
	return gs_st.port;
}

void gs_mac(struct rte_ether_addr *mac)
{
	*mac = gs_st.mac;
}

uint32_t gs_ip(void)
{
	return gs_st.ip;
}

uint16_t gs_mtu(void)
{
	uint16_t mtu = RTE_ETHER_MTU;

	if (gs_st.ethdev)
		rte_eth_dev_get_mtu(gs_st.port, &mtu);
	return mtu;
}

bool gs_tso(void)
{
	return gs_st.tso;
}

bool gs_lro(void)
{
	return gs_st.lro;
}

unsigned int gs_worker_index(const struct gs_worker *w)
{
	return w->idx;
}

const char *gs_mode_name(enum gs_mode m)
{
	return m == GS_MODE_SINGLE ? "single" : m == GS_MODE_1KB ? "1kb" : "2kb";
}

int gs_mode_parse(const char *s, enum gs_mode *m)
{
	static const enum gs_mode all[] = {GS_MODE_SINGLE, GS_MODE_1KB, GS_MODE_2KB};

	for (unsigned int i = 0; i < RTE_DIM(all); i++)
		if (strcmp(s, gs_mode_name(all[i])) == 0) {
			*m = all[i];
			return 0;
		}
	return -EINVAL;
}
