/* netif_rxtx.c: the Ethernet layer's data path for a worker: filter what arrives (our MAC and
 * IP, ARP handled here), and on the way out add the Ethernet header of the ARP-resolved next hop
 * and send to the NIC queue (direct) or to the worker's TX ring (dispatcher modes). */
#include <rte_arp.h>
#include <rte_prefetch.h>
#include "gs_priv.h"

#define GS_TICK_US 10000

/* Strips the Ethernet header of what is for us and says what it is; counts the rest. */
int gs_l2_classify(struct rte_mbuf *m, uint64_t *cnt)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);

	/* a chain (large receive) is fine while its headers are in the first segment: IPv4
	 * input takes chains for TCP only */
	if (rte_pktmbuf_data_len(m) < sizeof(*eth)) {
		cnt[GS_C_rx_malformed]++;
		return GS_CLS_DROP;
	}
	if (!rte_is_same_ether_addr(&eth->dst_addr, &gs_st.mac) &&
	    !rte_is_broadcast_ether_addr(&eth->dst_addr)) {
		cnt[GS_C_rx_not_for_us]++;
		return GS_CLS_DROP;
	}
	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
		rte_pktmbuf_adj(m, sizeof(*eth));
		m->packet_type = RTE_PTYPE_L2_ETHER_ARP;
		cnt[GS_C_rx_arp]++;
		return GS_CLS_ARP;
	}
	if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
		cnt[GS_C_rx_unknown_ethertype]++;
		return GS_CLS_DROP;
	}
	if (rte_pktmbuf_data_len(m) < sizeof(*eth) + sizeof(struct rte_ipv4_hdr)) {
		cnt[GS_C_rx_malformed]++;
		return GS_CLS_DROP;
	}
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);
	if (ip->dst_addr != gs_st.ip_be) {
		cnt[GS_C_rx_not_for_us]++;
		return GS_CLS_DROP;
	}
	rte_pktmbuf_adj(m, sizeof(*eth));
	m->packet_type = RTE_PTYPE_L3_IPV4;
	m->l2_len = sizeof(*eth);
	return GS_CLS_IP;
}

void gs_worker_tick(struct gs_worker *w)
{
	uint64_t now = gs_now_us();

	if (now < w->next_tick)
		return;
	w->next_tick = now + GS_TICK_US;
	gs_arp_tick(&w->arp, now);
	if (w->idx == 0 && w->announced < GS_ANNOUNCE && now >= w->announce_at) {
		gs_arp_send(w, RTE_ARP_OP_REQUEST, gs_st.ip, NULL, false);
		w->announced++;
		w->announce_at = now + GS_ANNOUNCE_GAP_US;
	}
}

/* Hardware RSS: ARP lands on one queue (RSS does not hash it; queue 0 on most NICs), but every
 * worker keeps its own ARP cache and the requests for us are answered by worker 0.  The others
 * get a reference each, as the dispatcher gives them in the software-RSS modes. */
static void arp_share(struct gs_worker *w, struct rte_mbuf *m)
{
	unsigned int nw = gs_st.nworkers;

	rte_mbuf_refcnt_update(m, (int16_t)(nw - 1)); /* before any other worker may free it */
	for (unsigned int i = 0; i < nw; i++) {
		if (i == w->idx)
			continue;
		if (rte_ring_enqueue(gs_st.w[i]->in_ring, m) < 0) {
			w->c[GS_C_rx_ring_full]++;
			rte_pktmbuf_free(m); /* that worker's reference */
		}
	}
}

/* What was handed to this worker: ARP (hardware RSS) is handled here; datagrams to our own
 * address start the burst, at most half of it so that the device is still polled. */
static uint16_t in_drain(struct gs_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	unsigned int nb =
	    rte_ring_dequeue_burst(w->in_ring, (void **)pkts, n > 1 ? n / 2u : n, NULL);
	uint16_t out = 0;

	for (unsigned int i = 0; i < nb; i++) {
		if (pkts[i]->packet_type == RTE_PTYPE_L2_ETHER_ARP)
			gs_arp_input(w, pkts[i]);
		else
			pkts[out++] = pkts[i];
	}
	w->c[GS_C_rx_loopback] += out;
	return out;
}

/* A poll asks the device for what the last polls suggest will come, not for a whole burst:
 * a vhost backend's packed ring (DPDK 22.11's rte_vhost_dequeue_burst) allocates as many mbufs
 * as asked and frees those it did not fill, every poll, which was a third of a busy-polling
 * RPC server's time while 1 or 2 frames came per poll. At least the packed ring's batch of 4. */
#define RX_ASK_MIN 4

uint16_t gs_rx_burst(struct gs_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t nb = 0, out;

	gs_worker_tick(w);
	out = in_drain(w, pkts, n);
	if (out < n && w->direct) {
		/* the first poll asks for all; then a full burst doubles the ask, any other sets it
		 * to twice what came */
		uint16_t ask = w->rx_ask ? RTE_MIN((uint16_t)(n - out), w->rx_ask) : n - out;

		nb = gs_st.dev.rx(gs_st.dev_ctx, w->queue, pkts + out, ask);
		w->rx_ask = (uint16_t)RTE_MAX(2 * (nb == ask ? ask : nb), RX_ASK_MIN);
		w->c[GS_C_rx_pkts] += nb;
	} else if (out < n) {
		nb = (uint16_t)rte_ring_dequeue_burst(w->rx_ring, (void **)(pkts + out), n - out,
						      NULL);
	}
	nb += out;
	/* Each frame's first two cache lines (its headers; a UDP payload's own header crosses
	 * into the second) were written by the peer's core: every one is a miss, so start them
	 * all before the first is read. */
	for (uint16_t i = out; i < nb; i++) {
		const char *d = rte_pktmbuf_mtod(pkts[i], const char *);

		rte_prefetch0(d);
		rte_prefetch0(d + RTE_CACHE_LINE_SIZE);
	}
	for (uint16_t i = out; i < nb; i++) {
		struct rte_mbuf *m = pkts[i];
		int cls = w->direct ? gs_l2_classify(m, w->c)
			  : m->packet_type == RTE_PTYPE_L2_ETHER_ARP ? GS_CLS_ARP
								      : GS_CLS_IP;
		if (cls == GS_CLS_IP) {
			pkts[out++] = m;
		} else if (cls == GS_CLS_ARP) {
			if (gs_st.hw_rss)
				arp_share(w, m);
			gs_arp_input(w, m);
		} else {
			rte_pktmbuf_free(m);
		}
	}
	w->c[GS_C_rx_ip] += out;
	return out;
}

/* Hands the datagrams to our own address to the worker that would receive them from the device
 * (the dispatcher's or the NIC's choice: gs_udp_steer, else the RSS hash; the NIC is given the
 * same key).  What a full in_ring does not take stays staged, in order: back-pressure, as the
 * device's TX. */
static void lo_flush(struct gs_worker *w)
{
	struct rte_mbuf *stage[GS_TXBUF];
	unsigned int nw = gs_st.nworkers, ok[GS_MAX_WORKERS] = {0};
	uint8_t to[GS_TXBUF];
	uint16_t keep = 0;

	for (uint16_t i = 0; i < w->nlo; i++)
		to[i] = (uint8_t)(nw > 1 ? gs_rss_queue(w->lobuf[i], nw) : 0);
	for (unsigned int q = 0; q < nw; q++) {
		unsigned int n = 0;
		for (uint16_t i = 0; i < w->nlo; i++)
			if (to[i] == q)
				stage[n++] = w->lobuf[i];
		if (n)
			ok[q] =
			    rte_ring_enqueue_burst(gs_st.w[q]->in_ring, (void **)stage, n, NULL);
	}
	for (uint16_t i = 0; i < w->nlo; i++) {
		if (ok[to[i]])
			ok[to[i]]--;
		else
			w->lobuf[keep++] = w->lobuf[i];
	}
	w->nlo = keep;
}

void gs_tx_flush(struct gs_worker *w)
{
	uint16_t sent;

	if (w->nlo)
		lo_flush(w);
	if (!w->ntx)
		return;
	if (w->direct) {
		sent = gs_st.dev.tx(gs_st.dev_ctx, w->queue, w->txbuf, w->ntx);
		w->c[GS_C_tx_pkts] += sent;
	} else {
		sent = (uint16_t)rte_ring_enqueue_burst(w->tx_ring, (void **)w->txbuf, w->ntx, NULL);
	}
	w->ntx -= sent;
	if (w->ntx && sent)
		memmove(w->txbuf, w->txbuf + sent, w->ntx * sizeof(w->txbuf[0]));
}

uint16_t gs_tx_room(struct gs_worker *w)
{
	if (w->ntx == GS_TXBUF)
		gs_tx_flush(w);
	return (uint16_t)(GS_TXBUF - w->ntx);
}

/* Counted where a datagram enters the TX path, so that one held for ARP counts when it goes
 * and one dropped never does.  (We send ICMP echo requests and replies only.) */
static void count_tx(struct gs_worker *w, const struct rte_mbuf *m)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);

	if (m->packet_type != RTE_PTYPE_L3_IPV4)
		return;
	if (ip->next_proto_id == IPPROTO_UDP)
		w->c[GS_C_udp_tx]++;
	else if (ip->next_proto_id == IPPROTO_ICMP)
		w->c[GS_C_icmp_echo_tx]++;
}

/* A datagram to our own address goes back into the stack and never to the device, as Linux's
 * lo: staged for lo_flush.  Its checksums are valid by construction (maybe partial, for an
 * offload that never runs); GS_PORT_LOOP lets our own source address through IPv4 input.
 * false: no room, m untouched. */
static bool lo_stage(struct gs_worker *w, struct rte_mbuf *m)
{
	if (w->nlo == GS_TXBUF)
		lo_flush(w);
	if (w->nlo == GS_TXBUF)
		return false;
	count_tx(w, m);
	w->c[GS_C_tx_loopback]++;
	m->port = GS_PORT_LOOP;
	m->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	w->lobuf[w->nlo++] = m;
	return true;
}

/* m's data starts at L3; packet_type says ARP or IPv4.  Takes m: queues it or drops it. */
void gs_eth_xmit(struct gs_worker *w, struct rte_mbuf *m, const struct rte_ether_addr *dst)
{
	if (!gs_tx_room(w) || rte_pktmbuf_headroom(m) < sizeof(struct rte_ether_hdr)) {
		w->c[w->direct ? GS_C_tx_nic_full : GS_C_tx_ring_full]++;
		rte_pktmbuf_free(m);
		return;
	}
	count_tx(w, m);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_prepend(m, sizeof(*eth));
	m->l2_len = sizeof(*eth);
	eth->dst_addr = *dst;
	eth->src_addr = gs_st.mac;
	eth->ether_type = rte_cpu_to_be_16(m->packet_type == RTE_PTYPE_L2_ETHER_ARP
						   ? RTE_ETHER_TYPE_ARP
						   : RTE_ETHER_TYPE_IPV4);
	w->txbuf[w->ntx++] = m;
}

int gs_tx_alloc(struct gs_worker *w, struct rte_mbuf **pkts, unsigned int n, uint16_t hdr)
{
	if (hdr + sizeof(struct rte_ether_hdr) > RTE_PKTMBUF_HEADROOM)
		return -EINVAL;
	if (rte_pktmbuf_alloc_bulk(w->pool, pkts, n) < 0) {
		w->c[GS_C_no_mbuf] += n;
		return -ENOBUFS;
	}
	return 0;
}

static uint32_t next_hop(uint32_t dst)
{
	return ((dst ^ gs_st.ip) & gs_st.mask) == 0 ? dst : gs_st.conf.gw;
}

int gs_neigh_resolve(struct gs_worker *w, uint32_t dst)
{
	struct rte_ether_addr mac;
	uint32_t nh = next_hop(dst);

	if (dst == gs_st.ip)
		return 0; /* looped back, no neighbour */
	if (!nh)
		return -EHOSTUNREACH;
	int rc = gs_arp_resolve(&w->arp, nh, gs_now_us(), NULL, &mac);
	gs_tx_flush(w);
	return rc;
}

uint16_t gs_tx_burst(struct gs_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	uint32_t memo_ip = 0;
	struct rte_ether_addr mac;
	uint64_t now = 0;
	uint16_t i;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		if (rte_pktmbuf_headroom(m) < sizeof(struct rte_ether_hdr))
			break; /* not ours to drop: handed back untouched */
		const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
		uint32_t dst = rte_be_to_cpu_32(ip->dst_addr);
		uint32_t nh = next_hop(dst);

		m->packet_type = RTE_PTYPE_L3_IPV4;
		if (dst == gs_st.ip) {
			if (!lo_stage(w, m))
				break;
			continue;
		}
		if (!nh) {
			w->c[GS_C_no_route]++;
			rte_pktmbuf_free(m);
			continue;
		}
		if (nh != memo_ip) {
			if (!now)
				now = gs_now_us();
			if (gs_arp_resolve(&w->arp, nh, now, m, &mac) < 0)
				continue; /* held until resolved, or dropped and counted */
			memo_ip = nh;
		}
		/* Room is checked per packet: an ARP request sent for an earlier one took some. */
		if (!gs_tx_room(w))
			break;
		gs_eth_xmit(w, m, &mac);
	}
	return i;
}

void gs_idle(struct gs_worker *w, unsigned int work)
{
	gs_backoff_step(&w->bo, work);
}
