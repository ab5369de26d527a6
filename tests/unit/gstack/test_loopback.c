/* Datagrams to our own address loop back into the stack and never reach the device: to the
 * worker that would receive them from it.  Single mode: UDP to a bound socket of the same worker
 * and an ICMP echo answered and its reply received.  1kb with the software-RSS dispatcher, and
 * 1kb on a hardware-RSS device (direct workers): worker 0 sends to a port steered to worker 1,
 * and to an unsteered port the RSS hash places.  On the fake device of fakedev.h, polled by the
 * test: no threads, no time. */
#include <rte_eal.h>
#include "fakedev.h"
#include "check.h"
#include "check_eal.h"

#define SELF RTE_IPV4(10, 0, 0, 1)

static struct fakedev dev;

static void start(enum gs_mode mode, bool soft_rss)
{
	struct gs_conf conf = {.ip = SELF,
			       .prefix = 24,
			       .mode = mode,
			       .soft_rss = soft_rss,
			       .busy_poll = true,
			       .nb_desc = 256,
			       .ring_size = 256};

	memset(&dev, 0, sizeof(dev));
	dev.now = 1000000;
	CHECK_EQ(gs_init_dev(&conf, &fake_ops, &dev), 0);
	fake_drop_sent(&dev); /* the gratuitous ARP */
	dev.tx_frames = 0;
}

/* Nothing went to the device or toward it (the dispatcher's TX rings), no ARP was asked. */
static void none_to_device(void)
{
	uint64_t c[GS_C_MAX];

	gs_stats_total(c);
	CHECK_EQ(dev.tx_frames, 0);
	CHECK_EQ(c[GS_C_arp_request_tx], 1); /* the announcement only */
	CHECK_EQ(c[GS_C_tx_pkts], 1);
	for (unsigned int i = 0; i < gs_worker_count(); i++)
		CHECK(!gs_st.w[i]->tx_ring || rte_ring_count(gs_st.w[i]->tx_ring) == 0);
}

static void single(void)
{
	struct rte_mbuf *pkts[8];
	struct gs_endpoint src, self = {SELF, 6000};
	struct gs_echo_reply r;

	start(GS_MODE_SINGLE, false);
	struct gs_worker *w = gs_st.w[0];
	struct gs_udp_sock *s = gs_udp_bind(w, 6000);
	CHECK(s != NULL);
	CHECK_EQ(gs_neigh_resolve(w, SELF), 0);

	CHECK_EQ(tagged(w, pkts, 5, 10), 0);
	CHECK_EQ(gs_udp_sendto(s, pkts, 5, &self), 5);
	CHECK_EQ(w->c[GS_C_tx_loopback], 5);
	CHECK_EQ(w->c[GS_C_udp_tx], 5);
	CHECK_EQ(gs_poll(w), 0); /* flushed at the end of this poll ... */
	CHECK_EQ(gs_poll(w), 5); /* ... received in the next */
	CHECK_EQ(gs_udp_recv(s, pkts, 8), 5);
	for (uint32_t i = 0; i < 5; i++)
		CHECK_EQ(tag_of(pkts[i]), 10 + i);
	CHECK_EQ(gs_udp_peer(pkts[0], &src, NULL), 0);
	CHECK_EQ(src.ip, SELF);
	CHECK_EQ(src.port, 6000);
	rte_pktmbuf_free_bulk(pkts, 5);
	CHECK_EQ(w->c[GS_C_rx_loopback], 5);
	CHECK_EQ(w->c[GS_C_udp_rx], 5);
	CHECK_EQ(w->c[GS_C_rx_bad_src], 0);

	/* ping ourselves: the request is answered and the answer received, all looped */
	gs_icmp_listen(w);
	CHECK_EQ(gs_icmp_echo_send(w, SELF, 7, 1, "gsdev", 5), 0);
	for (int i = 0; i < 3; i++)
		gs_poll(w);
	CHECK_EQ(gs_icmp_recv_reply(w, &r), 0);
	CHECK_EQ(r.src, SELF);
	CHECK_EQ(r.id, 7);
	CHECK_EQ(r.seq, 1);
	CHECK_EQ(w->c[GS_C_icmp_echo_rx], 1);
	CHECK_EQ(w->c[GS_C_tx_loopback], 7);
	none_to_device();
	gs_udp_close(s);
	CHECK_EQ(gs_fini(), 0);
}

/* Receives on both workers, returns a bit per worker that got the tag. */
static unsigned int receivers(struct gs_udp_sock *const *socks, uint32_t tag)
{
	struct rte_mbuf *pkts[8];
	unsigned int got = 0;

	for (unsigned int i = 0; i < 2; i++) {
		gs_poll(gs_st.w[i]);
		uint16_t n = gs_udp_recv(socks[i], pkts, 8);
		for (uint16_t k = 0; k < n; k++) {
			CHECK_EQ(tag_of(pkts[k]), tag);
			got |= 1u << i;
		}
		rte_pktmbuf_free_bulk(pkts, n);
	}
	return got;
}

static void two_workers(bool soft_rss)
{
	struct gs_udp_sock *steered[2], *hashed[2];
	struct rte_mbuf *m;

	start(GS_MODE_1KB, soft_rss);
	CHECK_EQ(gs_worker_count(), 2);
	CHECK_EQ(gs_st.hw_rss, !soft_rss);
	CHECK_EQ(gs_udp_steer(6000, 1), 0);
	for (unsigned int i = 0; i < 2; i++) {
		steered[i] = gs_udp_bind(gs_st.w[i], 6000);
		hashed[i] = gs_udp_bind(gs_st.w[i], 6001);
	}

	/* from worker 0's port 6001 to the port steered to worker 1 */
	const struct gs_endpoint to_steered = {SELF, 6000}, to_hashed = {SELF, 6001};
	CHECK_EQ(tagged(gs_st.w[0], &m, 1, 20), 0);
	CHECK_EQ(gs_udp_sendto(hashed[0], &m, 1, &to_steered), 1);
	gs_tx_flush(gs_st.w[0]);
	CHECK_EQ(receivers(steered, 20), 2u);

	/* from worker 1's port 6000 to 6001: where the hash (the dispatcher's, the NIC's) says */
	unsigned int want = (gs_softrss(SELF, SELF, 6000, 6001, true, false) % GS_RETA_SIZE) % 2;
	CHECK_EQ(tagged(gs_st.w[1], &m, 1, 21), 0);
	CHECK_EQ(gs_udp_sendto(steered[1], &m, 1, &to_hashed), 1);
	gs_tx_flush(gs_st.w[1]);
	CHECK_EQ(receivers(hashed, 21), 1u << want);

	CHECK_EQ(gs_st.w[0]->c[GS_C_tx_loopback] + gs_st.w[1]->c[GS_C_tx_loopback], 2);
	CHECK_EQ(gs_st.w[0]->c[GS_C_rx_loopback] + gs_st.w[1]->c[GS_C_rx_loopback], 2);
	none_to_device();
	CHECK_EQ(gs_fini(), 0);
}

int main(int argc, char **argv)
{
	char *eal[] = {argv[0],
		       "--no-huge",
		       "-m",
		       "256",
		       "--no-pci",
		       "--no-shconf",
		       "--log-level=error",
		       "--lcores=0@(0-1),1@(0-1),2@(0-1)",
		       NULL};

	(void)argc;
	if (check_eal_init(RTE_DIM(eal) - 1, eal, "gs_loopback") < 0)
		return 77; /* skipped: no EAL here */
	single();
	two_workers(true);  /* software RSS: the dispatcher's choice */
	two_workers(false); /* hardware RSS: direct workers */
	rte_eal_cleanup();
	return CHECK_DONE();
}
