/* The real stack on a fake device with a fake clock (gs_init_dev), single mode: a peer that
 * answers ARP; UDP out (held for ARP, then sent) and in; ICMP echo answered; the peer's entry
 * refreshed past its timeout while traffic goes on (STALE -> PROBE -> REACHABLE, no datagram
 * held or dropped); unanswered, the entry is forgotten and then FAILED; an RX burst shorter than
 * asked and a device that takes part of a TX burst lose nothing.  Deterministic: the test
 * polls, the clock moves only when the test moves it. */
#include <rte_eal.h>
#include "fakedev.h"
#include "check.h"
#include "check_eal.h"

#define SEC 1000000ULL
#define ARP_TIMEOUT (60 * SEC) /* netif.c */
#define ARP_RETRY (SEC / 2)
#define TICK 10000

static struct fakedev dev;
static struct gs_worker *w;
static struct gs_udp_sock *s;
static const struct gs_endpoint peer = {PEER_IP, 7000};

/* The next frame the stack sent, parsed and freed; our gratuitous ARPs are skipped. */
static bool next_sent(struct sent *out)
{
	struct rte_mbuf *m;

	while ((m = fake_sent(&dev))) {
		*out = parse_sent(m);
		rte_pktmbuf_free(m);
		if (out->type == RTE_ETHER_TYPE_ARP && out->arp_tip == gs_st.ip)
			continue;
		return true;
	}
	return false;
}

/* Sends n tagged datagrams to the peer; they must go out at once (the MAC is known). */
static void send_now(unsigned int n, uint32_t first)
{
	struct rte_mbuf *pkts[8];
	struct sent f;

	CHECK_EQ(tagged(w, pkts, n, first), 0);
	CHECK_EQ(gs_udp_sendto(s, pkts, (uint16_t)n, &peer), n);
	gs_tx_flush(w);
	for (unsigned int i = 0; i < n; i++) {
		CHECK(next_sent(&f));
		/* a unicast probe may come first */
		if (f.type == RTE_ETHER_TYPE_ARP) {
			CHECK(rte_is_same_ether_addr(&f.dst, &peer_mac));
			CHECK(next_sent(&f));
		}
		CHECK_EQ(f.type, RTE_ETHER_TYPE_IPV4);
		CHECK_EQ(f.proto, IPPROTO_UDP);
		CHECK(rte_is_same_ether_addr(&f.dst, &peer_mac));
		CHECK_EQ(f.tag, first + i);
	}
}

/* What a socket sends carries a valid UDP checksum, or 0 ("none") once turned off. */
static void udp_cksum(void)
{
	for (int on = 1; on >= 0; on--) {
		struct rte_mbuf *pkts[1], *m;
		gs_udp_set_cksum(s, on);
		CHECK_EQ(tagged(w, pkts, 1, 900), 0);
		CHECK_EQ(gs_udp_sendto(s, pkts, 1, &peer), 1);
		gs_tx_flush(w);
		while ((m = fake_sent(&dev)) && rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type !=
							rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
			rte_pktmbuf_free(m); /* a probe */
		CHECK(m != NULL);
		if (!m)
			return;
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
								  sizeof(struct rte_ether_hdr));
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
		if (on)
			CHECK(udp->dgram_cksum != 0 && rte_ipv4_udptcp_cksum_verify(ip, udp) == 0);
		else
			CHECK_EQ(udp->dgram_cksum, 0);
		rte_pktmbuf_free(m);
	}
	gs_udp_set_cksum(s, true);
}

static uint8_t peer_state(void)
{
	const struct gs_arp_entry *e = gs_arp_find(&w->arp, PEER_IP);
	return e ? e->state : GS_ARP_FREE;
}

/* Moves the clock in tick-sized steps, polling as a worker does. */
static void advance(uint64_t us)
{
	for (uint64_t end = dev.now + us; dev.now < end;) {
		dev.now = RTE_MIN(dev.now + TICK, end);
		gs_poll(w);
	}
}

/* The ARP requests sent so far: how many, all unicast to the peer (probe) or broadcast. */
static unsigned int arp_requests(bool unicast)
{
	struct sent f;
	unsigned int n = 0;

	while (next_sent(&f)) {
		CHECK_EQ(f.type, RTE_ETHER_TYPE_ARP);
		CHECK_EQ(f.arp_op, RTE_ARP_OP_REQUEST);
		CHECK_EQ(f.arp_tip, PEER_IP);
		CHECK_EQ(rte_is_broadcast_ether_addr(&f.dst), !unicast);
		n++;
	}
	return n;
}

static void resolve_and_exchange(void)
{
	struct rte_mbuf *pkts[4];
	struct sent f;
	struct gs_endpoint src;

	/* Held for ARP: a broadcast request goes, the datagrams wait. */
	CHECK_EQ(tagged(w, pkts, 3, 100), 0);
	CHECK_EQ(gs_udp_sendto(s, pkts, 3, &peer), 3);
	gs_poll(w);
	CHECK_EQ(arp_requests(false), 1);
	CHECK_EQ(w->c[GS_C_udp_tx], 0);
	CHECK_EQ(peer_state(), GS_ARP_INCOMPLETE);

	/* The answer releases them, in order. */
	peer_arp(&dev, RTE_ARP_OP_REPLY);
	CHECK_EQ(gs_poll(w), 0);
	CHECK_EQ(peer_state(), GS_ARP_REACHABLE);
	for (uint32_t i = 0; i < 3; i++) {
		CHECK(next_sent(&f));
		CHECK_EQ(f.proto, IPPROTO_UDP);
		CHECK_EQ(f.tag, 100 + i);
		CHECK_EQ(f.dport, 7000);
		CHECK(rte_is_same_ether_addr(&f.dst, &peer_mac));
	}
	CHECK_EQ(w->c[GS_C_udp_tx], 3);

	/* In: a datagram for the socket and an echo request, answered to the peer. */
	peer_udp(&dev, 0, 7000, 5000, 200);
	peer_echo(&dev, 9, 1);
	CHECK_EQ(gs_poll(w), 2);
	CHECK_EQ(gs_udp_recv(s, pkts, 4), 1);
	CHECK_EQ(tag_of(pkts[0]), 200);
	CHECK_EQ(gs_udp_peer(pkts[0], &src, NULL), 0);
	CHECK_EQ(src.ip, PEER_IP);
	CHECK_EQ(src.port, 7000);
	rte_pktmbuf_free(pkts[0]);
	CHECK(next_sent(&f));
	CHECK_EQ(f.proto, IPPROTO_ICMP);
	CHECK_EQ(f.icmp_type, RTE_IP_ICMP_ECHO_REPLY);
	CHECK_EQ(f.icmp_seq, 1);
	CHECK_EQ(f.ip_dst, PEER_IP);
	CHECK(!next_sent(&f));
}

/* Past the timeout with traffic going on: every datagram goes at once to the known MAC while a
 * unicast probe asks the peer again; its answer makes the entry REACHABLE. */
static void refresh(void)
{
	uint64_t udp_tx = w->c[GS_C_udp_tx];

	advance(ARP_TIMEOUT + TICK);
	CHECK_EQ(peer_state(), GS_ARP_STALE);
	send_now(2, 300); /* the first use probes */
	CHECK_EQ(peer_state(), GS_ARP_PROBE);
	advance(ARP_RETRY + TICK); /* unanswered once: probed again */
	CHECK_EQ(arp_requests(true), 1);
	CHECK_EQ(peer_state(), GS_ARP_PROBE);
	send_now(2, 302);
	peer_arp(&dev, RTE_ARP_OP_REPLY);
	gs_poll(w);
	CHECK_EQ(peer_state(), GS_ARP_REACHABLE);
	send_now(2, 304);
	CHECK_EQ(w->c[GS_C_udp_tx], udp_tx + 6);
	CHECK_EQ(w->c[GS_C_arp_hold_drop], 0);
	CHECK_EQ(w->c[GS_C_arp_unresolved], 0);
	CHECK_EQ(w->c[GS_C_tx_nic_full], 0);
}

/* No answer: the probes run out and the entry is forgotten; asked again by broadcast it fails,
 * and what waited is dropped and counted. */
static void fail(void)
{
	struct rte_mbuf *pkts[2];

	advance(ARP_TIMEOUT + TICK);
	send_now(1, 400);
	CHECK_EQ(peer_state(), GS_ARP_PROBE);
	advance(3 * (ARP_RETRY + TICK));
	CHECK_EQ(arp_requests(true),
		 2); /* three probes in all, the first one before the datagram */
	CHECK_EQ(peer_state(), GS_ARP_FREE);

	CHECK_EQ(tagged(w, pkts, 2, 500), 0);
	CHECK_EQ(gs_udp_sendto(s, pkts, 2, &peer), 2);
	CHECK_EQ(peer_state(), GS_ARP_INCOMPLETE);
	advance(3 * (ARP_RETRY + TICK));
	CHECK_EQ(arp_requests(false), 3);
	CHECK_EQ(peer_state(), GS_ARP_FAILED);
	CHECK_EQ(w->c[GS_C_arp_unresolved], 2);
	CHECK_EQ(gs_neigh_resolve(w, PEER_IP), -EHOSTUNREACH);
	CHECK_EQ(arp_requests(false), 0); /* the hold-down asks nothing */
}

/* The device returns fewer frames than asked, and takes fewer than given: nothing is lost, and
 * the order holds. */
static void short_bursts(void)
{
	struct rte_mbuf *pkts[GS_BURST];
	uint16_t got[8], n;
	uint64_t rx = w->c[GS_C_rx_pkts];

	dev.rx_max = 3;
	for (uint32_t i = 0; i < 10; i++)
		peer_udp(&dev, 0, 7000, 5000, 600 + i);
	for (unsigned int i = 0; i < RTE_DIM(got); i++)
		got[i] = (uint16_t)gs_poll(w);
	CHECK_EQ(got[0], 3);
	CHECK_EQ(got[1], 3);
	CHECK_EQ(got[2], 3);
	CHECK_EQ(got[3], 1);
	CHECK_EQ(got[4], 0);
	CHECK_EQ(w->c[GS_C_rx_pkts], rx + 10);
	n = gs_udp_recv(s, pkts, GS_BURST);
	CHECK_EQ(n, 10);
	for (uint16_t i = 0; i < n; i++)
		CHECK_EQ(tag_of(pkts[i]), 600 + i);
	rte_pktmbuf_free_bulk(pkts, n);
	dev.rx_max = 0;

	peer_arp(&dev, RTE_ARP_OP_REPLY); /* the peer is back */
	gs_poll(w);
	CHECK_EQ(peer_state(), GS_ARP_REACHABLE);
	dev.tx_max = 2;
	unsigned long calls = dev.tx_calls;
	CHECK_EQ(tagged(w, pkts, 5, 700), 0);
	CHECK_EQ(gs_udp_sendto(s, pkts, 5, &peer), 5);
	gs_tx_flush(w);
	CHECK_EQ(w->ntx, 3); /* kept for the next flush, not dropped */
	gs_tx_flush(w);
	gs_tx_flush(w);
	CHECK_EQ(w->ntx, 0);
	CHECK_EQ(dev.tx_calls, calls + 3);
	CHECK_EQ(w->c[GS_C_tx_nic_full], 0);
	for (uint32_t i = 0; i < 5; i++) {
		struct sent f;
		CHECK(next_sent(&f));
		CHECK_EQ(f.tag, 700 + i);
	}
	dev.tx_max = 0;
}

int main(int argc, char **argv)
{
	char *eal[] = {argv[0],
		       "--no-huge",
		       "-m",
		       "128",
		       "--no-pci",
		       "--no-shconf",
		       "--log-level=error",
		       NULL};
	struct gs_conf conf = {.ip = RTE_IPV4(10, 0, 0, 1),
			       .prefix = 24,
			       .mode = GS_MODE_SINGLE,
			       .busy_poll = true,
			       .nb_desc = 256,
			       .ring_size = 256};
	struct sent f;

	(void)argc;
	if (check_eal_init(RTE_DIM(eal) - 1, eal, "gs_fakedev") < 0)
		return 77; /* skipped: no EAL here */
	dev.now = SEC;
	CHECK_EQ(gs_init_dev(&conf, NULL, NULL), -EINVAL);
	CHECK_EQ(gs_init_dev(&conf, &fake_ops, &dev), 0);
	CHECK_EQ(gs_worker_count(), 1);
	w = gs_st.w[0];
	CHECK(w->direct);
	/* the gratuitous ARP went out on the fake device */
	CHECK_EQ(fake_pending(&dev), 1);
	struct rte_mbuf *m = fake_sent(&dev);
	f = parse_sent(m);
	rte_pktmbuf_free(m);
	CHECK_EQ(f.type, RTE_ETHER_TYPE_ARP);
	CHECK_EQ(f.arp_tip, gs_st.ip);
	CHECK_EQ(gs_time_us(), SEC);

	s = gs_udp_bind(w, 5000);
	CHECK(s != NULL);
	resolve_and_exchange();
	udp_cksum();
	refresh();
	fail();
	short_bursts();
	CHECK(!next_sent(&f));

	gs_udp_close(s);
	CHECK_EQ(gs_fini(), 0); /* every mbuf back */
	rte_eal_cleanup();
	return CHECK_DONE();
}
