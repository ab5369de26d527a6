/* TCP segmentation offload and large receive on the real stack over the fake device and clock
 * (fakedev.h, tcppeer.h), the device saying it has TSO and LRO:
 *  - segments of many MSS go as one chain with TX_TCP_SEG | TX_TCP_CKSUM | TX_IPV4, tso_segsz
 *    the MSS less the timestamps, header lengths set, the pseudo-header sum in the checksum
 *    field, and the payload the stream's; their size grows with the window up to 64 KB;
 *  - one wire segment lost inside a TSO segment is resent as that MSS alone, and a whole TSO
 *    segment lost (the switch drops frames whole) as TSO segments of the hole;
 *  - a chained segment of 5000 bytes is taken (and acknowledged at once), one that overlaps
 *    what was received is cut across its mbufs, one with a bad checksum is dropped;
 *  - TSO and large receive are off with gs_conf.no_tso, and on a device without them. */
#include <rte_eal.h>
#include <rte_ethdev.h>
#include "fakedev.h"
#include "check.h"
#include "check_eal.h"
#include "tcppeer.h"

#define MS 1000ULL
#define MSS 1448u /* the peer's 1460 less the timestamps */
#define TSO_MAX (45 * MSS)

static const struct gs_dev_ops tso_ops = {
	.rx = fake_rx, .tx = fake_tx, .now_us = fake_now,
	.tx_capa = RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
		   RTE_ETH_TX_OFFLOAD_MULTI_SEGS,
	.rx_capa = RTE_ETH_RX_OFFLOAD_TCP_LRO | RTE_ETH_RX_OFFLOAD_TCP_CKSUM};

static uint8_t data[1 << 20];
static uint32_t tsval = 100;

struct flight {
	unsigned int n;
	uint32_t seq[64], len[64];
};

/* The peer's ACK with timestamps and up to two SACK blocks. */
static void peer_ack(uint16_t pp, uint32_t p, uint32_t ack, const uint32_t *sack, unsigned nb)
{
	uint8_t o[32];

	ts_opt(o, ++tsval, 0);
	if (nb) {
		o[12] = 1, o[13] = 1, o[14] = 5, o[15] = (uint8_t)(2 + 8 * nb);
		for (unsigned int i = 0; i < 2 * nb; i++) {
			uint32_t v = rte_cpu_to_be_32(sack[i]);
			memcpy(o + 16 + 4 * i, &v, 4);
		}
	}
	peer_tcp_chain(pp, 80, p, ack, RTE_TCP_ACK_FLAG, 65535, NULL, 0, o,
		       (uint8_t)(nb ? 16 + 8 * nb : 12), 0);
}

/* A data segment as TSO must send it: flags, lengths, checksums, payload. */
static void check_seg(const struct tseg *t, uint32_t base, bool tso)
{
	CHECK(t->ip_ok);
	CHECK(t->cksum_ok);
	CHECK(t->ol & RTE_MBUF_F_TX_IPV4);
	CHECK_EQ(t->l2, 14);
	CHECK_EQ(t->l3, 20);
	CHECK_EQ(t->l4, 32); /* with timestamps */
	CHECK(memcmp(seg_data, data + (t->seq - base), t->len) == 0);
	if (tso) {
		CHECK((t->ol & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM)) ==
		      (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM));
		CHECK_EQ(t->segsz, MSS);
		CHECK(t->nb_segs > 1); /* a chain of the pool's 2 KB buffers */
	} else {
		CHECK(!(t->ol & RTE_MBUF_F_TX_TCP_SEG));
		CHECK(t->len <= MSS);
	}
}

/* The data segments the stack sent now, checked. */
static void take(struct flight *f, uint32_t base)
{
	struct tseg t;

	f->n = 0;
	while (next_tcp(&t)) {
		if (!t.len)
			continue;
		check_seg(&t, base, t.len > MSS);
		CHECK(f->n < RTE_DIM(f->seq));
		if (f->n < RTE_DIM(f->seq)) {
			f->seq[f->n] = t.seq;
			f->len[f->n++] = t.len;
		}
	}
}

static struct gs_tcp_sock *open_conn(struct gs_worker *w, uint16_t pp, uint32_t p,
				     uint32_t *iss)
{
	struct gs_tcp_sock *l = gs_tcp_listen(w, 80, 8), *s;
	/* MSS 1460, SACK-permitted, timestamps, window scale 7 (as Linux) */
	uint8_t syn[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 100, 0, 0, 0, 0, 1, 3, 3, 7};
	struct tseg t;
	uint8_t o[12];

	peer_tcp_chain(pp, 80, p - 1, 0, RTE_TCP_SYN_FLAG, 65535, NULL, 0, syn, 20, 0);
	poll_at(dev.now + MS);
	CHECK(next_tcp(&t) && t.flags == (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG));
	*iss = t.seq;
	ts_opt(o, ++tsval, t.tsval);
	peer_tcp_chain(pp, 80, p, *iss + 1, RTE_TCP_ACK_FLAG, 65535, NULL, 0, o, 12, 0);
	poll_at(dev.now + MS);
	s = gs_tcp_accept(l);
	CHECK(s != NULL);
	gs_tcp_close(l);
	struct gs_tcp_info i;
	gs_tcp_info(s, &i);
	CHECK_EQ(i.mss, MSS);
	return s;
}

/* 1 MB written: each round the peer acknowledges all; the segments grow with the window
 * (a quarter of it) from 2 MSS up to 45 (64 KB), always whole MSS.  Then, in one flight, the
 * third wire segment of the first TSO segment is lost and the third TSO segment whole. */
static void tso_send_and_loss(struct gs_worker *w)
{
	uint32_t iss, p = 5000;
	struct gs_tcp_sock *s = open_conn(w, 4400, p, &iss);
	const uint32_t base = iss + 1;
	struct flight f;
	uint64_t c0[GS_C_MAX], c[GS_C_MAX];

	for (uint32_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + (i >> 11));
	CHECK_EQ(gs_tcp_write(s, data, sizeof(data)), (long)sizeof(data));
	poll_at(dev.now + MS);
	take(&f, base);
	CHECK_EQ(f.n, 5); /* the initial window, 10 MSS, as 2-MSS segments */
	for (unsigned int i = 0; i < f.n; i++)
		CHECK(f.seq[i] == base + i * 2 * MSS && f.len[i] == 2 * MSS);
	unsigned int rounds = 0;
	while (f.len[0] < TSO_MAX && rounds++ < 8) {
		uint32_t end = f.seq[f.n - 1] + f.len[f.n - 1];
		peer_ack(4400, p, end, NULL, 0);
		poll_at(dev.now + MS);
		take(&f, base);
		CHECK(f.n > 0 && f.seq[0] == end);
		for (unsigned int i = 0; i < f.n; i++)
			CHECK(f.len[i] % MSS == 0 && f.len[i] <= TSO_MAX);
	}
	CHECK_EQ(f.len[0], TSO_MAX);
	CHECK(f.n >= 4);
	/* the losses: [lost, lost + MSS) inside the first, all of the third */
	uint32_t lost = f.seq[0] + 2 * MSS, end = f.seq[f.n - 1] + f.len[f.n - 1];
	uint32_t sack[4] = {lost + MSS, f.seq[2], f.seq[2] + f.len[2], end};
	gs_stats_total(c0);
	peer_ack(4400, p, lost, sack, 2);
	poll_at(dev.now + MS);
	take(&f, base);
	CHECK_EQ(f.n, 1); /* the MSS lost, alone */
	CHECK(f.seq[0] == lost && f.len[0] == MSS);
	/* each further duplicate: the next piece of the whole segment lost, as TSO */
	uint32_t at = sack[1];
	for (int i = 0; i < 4 && at != sack[2]; i++) {
		peer_ack(4400, p, lost, sack, 2);
		poll_at(dev.now + MS);
		take(&f, base);
		CHECK_EQ(f.n, 1);
		CHECK(f.seq[0] == at && f.len[0] > MSS && at + f.len[0] <= sack[2]);
		at += f.len[0];
	}
	CHECK(at == sack[2]);
	peer_ack(4400, p, lost, sack, 2); /* nothing more is missing */
	poll_at(dev.now + MS);
	take(&f, base);
	CHECK_EQ(f.n, 0);
	gs_stats_total(c);
	CHECK_EQ(c[GS_C_tcp_fast_rexmit] - c0[GS_C_tcp_fast_rexmit], 1);
	CHECK_EQ(c[GS_C_tcp_rto], 0);
	CHECK(c[GS_C_tcp_tso_tx] > 20);
	gs_tcp_abort(s);
	poll_at(dev.now + MS);
	fake_drop_sent(&dev);
}

/* Large receive: a 5000-byte segment in three mbufs (1800 bytes each at most); one that overlaps it in five; one with a
 * bad checksum. */
static void large_receive(struct gs_worker *w)
{
	uint32_t iss, p = 90000;
	struct gs_tcp_sock *s = open_conn(w, 4401, p, &iss);
	static uint8_t in[8000], got[8000];
	uint8_t o[12];
	uint64_t c0[GS_C_MAX], c[GS_C_MAX];
	struct tseg t;

	for (unsigned int i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 13 + 5);
	gs_stats_total(c0);
	ts_opt(o, ++tsval, 0);
	peer_tcp_chain(4401, 80, p, iss + 1, RTE_TCP_ACK_FLAG, 65535, in, 5000, o, 12, 1800);
	poll_at(dev.now); /* the clock stands still: no delayed ACK */
	CHECK(next_tcp(&t) && t.ack == p + 5000);
	CHECK_EQ(gs_tcp_read(s, got, sizeof(got)), 5000);
	CHECK(memcmp(got, in, 5000) == 0);
	fake_drop_sent(&dev);
	/* [2000, 7000): its first 3000 bytes (three mbufs) are old */
	ts_opt(o, ++tsval, 0);
	peer_tcp_chain(4401, 80, p + 2000, iss + 1, RTE_TCP_ACK_FLAG, 65535, in + 2000, 5000, o,
		       12, 1000);
	poll_at(dev.now);
	CHECK(next_tcp(&t) && t.ack == p + 7000);
	CHECK_EQ(gs_tcp_read(s, got, sizeof(got)), 2000);
	CHECK(memcmp(got, in + 5000, 2000) == 0);
	/* a chain whose checksum does not match its bytes */
	ts_opt(o, ++tsval, 0);
	peer_tcp_chain(4401, 80, p + 7000, iss + 1, RTE_TCP_ACK_FLAG, 65535, in, 1000, o, 12, 400);
	struct rte_mbuf *m = dev.rxq[0][(dev.rx_tail[0] - 1) % FAKE_QLEN];
	rte_pktmbuf_mtod(m->next, uint8_t *)[0] ^= 1;
	poll_at(dev.now);
	gs_stats_total(c);
	CHECK_EQ(c[GS_C_tcp_lro_rx] - c0[GS_C_tcp_lro_rx], 2);
	CHECK_EQ(c[GS_C_rx_bad_cksum] - c0[GS_C_rx_bad_cksum], 1);
	gs_tcp_abort(s);
	poll_at(dev.now + MS);
	fake_drop_sent(&dev);
}

static void start(struct gs_conf *conf, const struct gs_dev_ops *ops)
{
	CHECK_EQ(gs_init_dev(conf, ops, &dev), 0);
	w = gs_st.w[0];
	peer_arp(&dev, RTE_ARP_OP_REQUEST); /* the stack learns the peer's MAC */
	poll_at(dev.now);
	fake_drop_sent(&dev);
}

int main(int argc, char **argv)
{
	char *eal[] = {argv[0], "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
		       "--log-level=error", NULL};
	struct gs_conf conf = {.ip = RTE_IPV4(10, 0, 0, 1), .prefix = 24, .mode = GS_MODE_SINGLE,
			       .busy_poll = true, .nb_desc = 256, .ring_size = 256};

	(void)argc;
	if (check_eal_init(RTE_DIM(eal) - 1, eal, "gs_tcp_tso") < 0)
		return 77;
	dev.now = 1000000;
	CHECK_EQ(gs_tcp_configure(&(struct gs_tcp_conf){.max_socks = 16, .sndbuf = 1 << 20}), 0);
	start(&conf, &tso_ops);
	CHECK(gs_tso() && gs_lro());
	tso_send_and_loss(w);
	large_receive(w);
	CHECK_EQ(gs_fini(), 0); /* every mbuf back */
	/* off when asked, and on a device without the offloads */
	conf.no_tso = true;
	start(&conf, &tso_ops);
	CHECK(!gs_tso() && !gs_lro());
	CHECK_EQ(gs_fini(), 0);
	conf.no_tso = false;
	start(&conf, &fake_ops);
	CHECK(!gs_tso() && !gs_lro());
	CHECK_EQ(gs_fini(), 0);
	rte_eal_cleanup();
	return CHECK_DONE();
}
