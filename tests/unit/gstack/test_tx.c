/* The TX path keeps count: a worker in dispatcher mode whose TX ring is full.  An ARP probe sent
 * for a packet in the middle of a burst takes room in the TX buffer; the packet after it must be
 * handed back to the caller as it was given, not dropped, and udp_tx counts only what went. */
#include <string.h>
#include <unistd.h>
#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_udp.h>
#include "gs_priv.h"
#include "check.h"
#include "check_eal.h"

static struct gs_worker w;

static void request(void *ctx, uint32_t ip, const struct rte_ether_addr *mac)
{
	gs_arp_send(ctx, RTE_ARP_OP_REQUEST, ip, mac, false);
}

static void send_held(void *ctx, void *pkt, const struct rte_ether_addr *mac)
{
	gs_eth_xmit(ctx, pkt, mac);
}

static void drop(void *ctx, void *pkt, enum gs_ctr why)
{
	((struct gs_worker *)ctx)->c[why]++;
	rte_pktmbuf_free(pkt);
}

static const struct gs_arp_ops ops = {request, send_held, drop};

static uint64_t now_us(void *ctx)
{
	(void)ctx;
	return rte_get_tsc_cycles() / (rte_get_tsc_hz() / 1000000);
}

static void setup(void)
{
	static void *full[3];

	gs_st.dev.now_us = now_us;
	gs_st.ip = RTE_IPV4(10, 0, 0, 1);
	gs_st.ip_be = rte_cpu_to_be_32(gs_st.ip);
	gs_st.mask = 0xffffff00;
	gs_st.mac = (struct rte_ether_addr){{2, 0, 0, 0, 0, 1}};
	w.pool = rte_pktmbuf_pool_create("test_tx", 511, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					 SOCKET_ID_ANY);
	w.tx_ring = rte_ring_create("test_tx", 4, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	CHECK(w.pool && w.tx_ring);
	CHECK_EQ(rte_ring_enqueue_bulk(w.tx_ring, full, 3, NULL), 3); /* the dispatcher is behind */
	/* a 1 us timeout: the peer's entry is stale when used, so the first use sends a probe */
	gs_arp_cache_init(&w.arp, 1, 1000000, 3, &ops, &w);
}

int main(int argc, char **argv)
{
	char *eal[] = {argv[0],	      "--no-huge",	   "-m",   "64", "--no-pci", "--no-shconf", "--log-level=error", NULL};
	const struct rte_ether_addr peer_mac = {{2, 0, 0, 0, 0, 2}};
	uint32_t peer = RTE_IPV4(10, 0, 0, 2);
	struct rte_mbuf *pkts[2], *fill[GS_TXBUF];

	(void)argc;
	if (check_eal_init(RTE_DIM(eal) - 1, eal, "gs_tx") < 0)
		return 77; /* skipped: no EAL here */
	setup();
	gs_arp_learn(&w.arp, peer, &peer_mac, gs_now_us(), true);
	usleep(1000);

	/* The TX buffer with room for two packets. */
	CHECK_EQ(rte_pktmbuf_alloc_bulk(w.pool, fill, GS_TXBUF - 2), 0);
	memcpy(w.txbuf, fill, sizeof(fill[0]) * (GS_TXBUF - 2));
	w.ntx = GS_TXBUF - 2;

	struct gs_udp_sock *s = gs_udp_bind(&w, 9000);
	CHECK(s != NULL);
	CHECK_EQ(gs_udp_alloc(&w, pkts, 2), 0);
	for (int i = 0; i < 2; i++)
		memcpy(rte_pktmbuf_append(pkts[i], 5), "hello", 5);
	uint16_t off = pkts[1]->data_off;
	struct gs_endpoint dst = {peer, 7};

	/* The first datagram and the probe fill the buffer: the second comes back, intact. */
	CHECK_EQ(gs_udp_sendto(s, pkts, 2, &dst), 1);
	CHECK_EQ(w.c[GS_C_arp_request_tx], 1);
	CHECK_EQ(w.c[GS_C_tx_ring_full], 0);
	CHECK_EQ(w.c[GS_C_udp_tx], 1);
	CHECK_EQ(w.ntx, GS_TXBUF);
	CHECK_EQ(pkts[1]->data_off, off);
	CHECK_EQ(rte_pktmbuf_data_len(pkts[1]), 5);

	/* To a host that ARP has not found: taken (held), not counted as sent. */
	dst.ip = RTE_IPV4(10, 0, 0, 3);
	w.ntx = 0; /* as if the ring had drained; the mbufs stay in the pool's count, fine here */
	CHECK_EQ(gs_udp_sendto(s, &pkts[1], 1, &dst), 1);
	CHECK_EQ(w.c[GS_C_udp_tx], 1);
	CHECK_EQ(w.c[GS_C_arp_request_tx], 2);
	return CHECK_DONE();
}
