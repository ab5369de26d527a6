/* TCP on the real stack over the fake device and clock (fakedev.h): a peer written here
 * drives a passive open with options (MSS, window scale: our window is scaled, theirs is read
 * scaled), then fast retransmit on three duplicate ACKs, the RTO with exponential back-off
 * and Karn's rule, a FIN exchange into TIME_WAIT and its expiry on the clock, and an active open
 * whose source port hashes back to the opening worker.  Deterministic: the clock moves only when
 * the test moves it. */
#include <rte_eal.h>
#include <rte_tcp.h>
#include "fakedev.h"
#include "check.h"
#include "check_eal.h"
#include "tcppeer.h"

#define SEC 1000000ULL
#define MS 1000ULL
#define PEER_MSS 1000
#define PEER_WS 3
#define TW_US (5 * SEC)

/* A segment from the peer; SYNs carry MSS and window scale (no timestamps, no SACK). */
static void peer_tcp(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
		     uint16_t wnd, const void *data, uint16_t len)
{
	static const uint8_t syn[8] = {2, 4, PEER_MSS >> 8, PEER_MSS & 0xff, 1, 3, 3, PEER_WS};

	peer_tcp_opts(sport, dport, seq, ack, flags, wnd, data, len, syn,
		      flags & RTE_TCP_SYN_FLAG ? 8 : 0);
}

static unsigned int drain_count(uint8_t flag_mask, uint32_t *first_seq)
{
	struct tseg t;
	unsigned int n = 0;

	while (next_tcp(&t)) {
		CHECK(t.cksum_ok);
		if (!flag_mask || (t.flags & flag_mask)) {
			if (!n && first_seq)
				*first_seq = t.seq;
			n++;
		}
	}
	return n;
}

static struct gs_tcp_sock *passive_open(uint16_t pp, uint32_t *iss, uint32_t piss)
{
	struct gs_tcp_sock *l = gs_tcp_listen(w, 80, 8), *s;
	struct gs_tcp_event ev[4];
	struct tseg t;

	CHECK(l != NULL);
	CHECK(gs_tcp_listen(w, 80, 8) == NULL && errno == EADDRINUSE);
	peer_tcp(pp, 80, piss, 0, RTE_TCP_SYN_FLAG, 60000, NULL, 0);
	poll_at(dev.now);
	CHECK(next_tcp(&t));
	CHECK_EQ(t.flags, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
	CHECK_EQ(t.ack, piss + 1);
	CHECK_EQ(t.mss, 1460); /* 1500 - 40 */
	CHECK_EQ(t.wscale, 7); /* the peer offered: we answer with ours */
	CHECK(t.cksum_ok);
	*iss = t.seq;
	CHECK(gs_tcp_accept(l) == NULL && errno == EAGAIN);
	/* the peer's ACK 10 ms later: the first RTT sample */
	peer_tcp(pp, 80, piss + 1, *iss + 1, RTE_TCP_ACK_FLAG, 1000, NULL, 0);
	poll_at(dev.now + 10 * MS);
	CHECK_EQ(gs_tcp_wait(w, ev, 4), 1);
	CHECK(ev[0].s == l && (ev[0].events & GS_TCP_EV_IN));
	s = gs_tcp_accept(l);
	CHECK(s != NULL);
	struct gs_tcp_info i;
	gs_tcp_info(s, &i);
	CHECK_EQ(i.mss, PEER_MSS);
	CHECK_EQ(i.snd_wnd, 1000u << PEER_WS); /* their window, scaled */
	CHECK_EQ(i.srtt_us, 10 * MS);
	CHECK_EQ(i.rto_us, 200 * MS); /* 10 ms + 4 x 5 ms, under the 200 ms floor */
	CHECK(strcmp(i.state, "ESTABLISHED") == 0);
	gs_tcp_close(l); /* the accepted connection stays */
	return s;
}

static void window_scaling(struct gs_tcp_sock *s, uint32_t piss, uint32_t iss)
{
	struct tseg t;
	uint8_t buf[300];

	memset(buf, 'x', sizeof(buf));
	peer_tcp(4000, 80, piss + 1, iss + 1, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 1000, buf, 300);
	poll_at(dev.now);
	uint64_t t0 = dev.now;
	CHECK(!next_tcp(&t)); /* one segment: the ACK is delayed ... */
	poll_at(t0 + 39 * MS);
	CHECK(!next_tcp(&t));
	poll_at(t0 + 41 * MS); /* ... 40 ms */
	CHECK(next_tcp(&t));
	CHECK_EQ(t.ack, piss + 301);
	/* our window in units of 128: the 256 KiB buffer less the 300 bytes held */
	CHECK_EQ(t.wnd, (256 * 1024 - 300) >> 7);
	CHECK_EQ(gs_tcp_read(s, buf, sizeof(buf)), 300);
	CHECK_EQ(gs_tcp_read(s, buf, sizeof(buf)), -EAGAIN);
	/* a second segment: acknowledged at once (RFC 5681 4.2), one ACK for the two */
	peer_tcp(4000, 80, piss + 301, iss + 1, RTE_TCP_ACK_FLAG, 1000, buf, 100);
	peer_tcp(4000, 80, piss + 401, iss + 1, RTE_TCP_ACK_FLAG, 1000, buf, 100);
	poll_at(dev.now + MS);
	CHECK(next_tcp(&t));
	CHECK_EQ(t.ack, piss + 501);
	CHECK(!next_tcp(&t));
	CHECK_EQ(gs_tcp_read(s, buf, sizeof(buf)), 200);
}

/* 8 segments out; the first is acknowledged, then three duplicate ACKs: the second goes
 * again at once, without waiting for the RTO. */
static void fast_retransmit(struct gs_tcp_sock *s, uint32_t p, uint32_t iss)
{
	static uint8_t data[8000];
	uint32_t una = iss + 1, seq = 0;

	CHECK_EQ(gs_tcp_write(s, data, sizeof(data)), 8000);
	poll_at(dev.now + MS);
	CHECK_EQ(drain_count(0, NULL), 8); /* cwnd 10 segments, their window 8000 bytes */
	peer_tcp(4000, 80, p, una + 1000, RTE_TCP_ACK_FLAG, 1000, NULL, 0);
	poll_at(dev.now + MS);
	CHECK_EQ(drain_count(0, NULL), 0); /* all is out already, and an ACK gets no ACK */
	for (int i = 0; i < 3; i++)
		peer_tcp(4000, 80, p, una + 1000, RTE_TCP_ACK_FLAG, 1000, NULL, 0);
	poll_at(dev.now + MS);
	CHECK_EQ(drain_count(0, &seq), 1);
	CHECK_EQ(seq, una + 1000);
	uint64_t c[GS_C_MAX];
	gs_stats_total(c);
	CHECK_EQ(c[GS_C_tcp_fast_rexmit], 1);
	CHECK_EQ(c[GS_C_tcp_rto], 0);
	peer_tcp(4000, 80, p, una + 8000, RTE_TCP_ACK_FLAG, 1000, NULL, 0); /* full ACK */
	poll_at(dev.now + MS);
	fake_drop_sent(&dev);
	struct gs_tcp_info i;
	gs_tcp_info(s, &i);
	CHECK_EQ(i.snd_una, una + 8000);
	CHECK_EQ(i.rto_in_us, 0); /* nothing outstanding: no timer */
}

/* Nothing acknowledged: the first segment again after the RTO (200 ms), then after 400, 800 ms
 * (RFC 6298 5.5); Karn: the ACK of a retransmission gives no RTT sample. */
static void rto_backoff(struct gs_tcp_sock *s, uint32_t p, uint32_t iss)
{
	static uint8_t data[3000];
	uint32_t una = iss + 1 + 8000, seq = 0;
	uint64_t t0, c[GS_C_MAX];

	struct gs_tcp_info i;
	gs_tcp_info(s, &i);
	uint64_t srtt = i.srtt_us;
	CHECK_EQ(gs_tcp_write(s, data, sizeof(data)), 3000);
	poll_at(dev.now + MS);
	t0 = dev.now;
	CHECK(drain_count(0, NULL) >= 1);
	uint64_t at = t0;
	for (uint64_t rto = 200 * MS; rto <= 800 * MS; rto *= 2) {
		poll_at(at + rto - 2 * MS);
		CHECK_EQ(drain_count(0, NULL), 0); /* not yet */
		poll_at(at + rto + MS);
		CHECK_EQ(drain_count(0, &seq), 1); /* one segment: cwnd is 1 after an RTO */
		CHECK_EQ(seq, una);
		at = dev.now;
	}
	gs_stats_total(c);
	CHECK_EQ(c[GS_C_tcp_rto], 3);
	gs_tcp_info(s, &i);
	CHECK_EQ(i.cwnd, PEER_MSS);
	CHECK_EQ(i.rto_us, 1600 * MS); /* backed off three times, kept */
	peer_tcp(4000, 80, p, una + 3000, RTE_TCP_ACK_FLAG, 1000, NULL, 0);
	poll_at(dev.now + 5 * MS);
	fake_drop_sent(&dev);
	gs_tcp_info(s, &i);
	CHECK_EQ(i.snd_una, una + 3000);
	CHECK_EQ(i.srtt_us, srtt); /* Karn: no sample from a retransmitted segment */
}

/* We close first: FIN_WAIT_1, FIN_WAIT_2, the peer's FIN, TIME_WAIT for TW_US, then gone. */
static void time_wait(struct gs_tcp_sock *s, uint32_t p, uint32_t iss)
{
	uint32_t end = iss + 1 + 8000 + 3000;
	unsigned int tw;
	struct tseg t;

	gs_tcp_close(s);
	poll_at(dev.now + MS);
	CHECK(next_tcp(&t));
	CHECK(t.flags & RTE_TCP_FIN_FLAG);
	CHECK_EQ(t.seq, end);
	peer_tcp(4000, 80, p, end + 1, RTE_TCP_ACK_FLAG, 1000, NULL, 0);
	peer_tcp(4000, 80, p, end + 1, RTE_TCP_ACK_FLAG | RTE_TCP_FIN_FLAG, 1000, NULL, 0);
	poll_at(dev.now + MS);
	CHECK(next_tcp(&t));
	CHECK_EQ(t.flags, RTE_TCP_ACK_FLAG);
	CHECK_EQ(t.ack, p + 1);
	uint64_t entered = dev.now;
	CHECK_EQ(gs_tcp_conns(w, &tw), 1);
	CHECK_EQ(tw, 1);
	/* a retransmitted FIN in TIME_WAIT is answered and restarts it */
	poll_at(entered + TW_US / 2);
	peer_tcp(4000, 80, p, end + 1, RTE_TCP_ACK_FLAG | RTE_TCP_FIN_FLAG, 1000, NULL, 0);
	poll_at(dev.now);
	CHECK(next_tcp(&t) && t.ack == p + 1);
	entered = dev.now;
	poll_at(entered + TW_US - 2 * MS);
	CHECK_EQ(gs_tcp_conns(w, &tw), 1);
	poll_at(entered + TW_US + 2 * MS);
	CHECK_EQ(gs_tcp_conns(w, &tw), 0);
	CHECK_EQ(tw, 0);
}

/* Closed by us, our FIN acknowledged, and the peer never sends its own: the orphan in
 * FIN_WAIT_2 goes after as long as TIME_WAIT lasts, counted. */
static void fin_wait2_orphan(void)
{
	uint32_t iss, p = 7000;
	struct gs_tcp_sock *s = passive_open(4006, &iss, p - 1);
	struct gs_tcp_info i;
	uint64_t c[GS_C_MAX];
	struct tseg t;

	gs_tcp_close(s);
	poll_at(dev.now + MS);
	CHECK(next_tcp(&t) && (t.flags & RTE_TCP_FIN_FLAG));
	peer_tcp(4006, 80, p, iss + 2, RTE_TCP_ACK_FLAG, 1000, NULL, 0);
	poll_at(dev.now + MS);
	uint64_t t0 = dev.now;
	CHECK_EQ(gs_tcp_conns(w, NULL), 1);
	gs_tcp_foreach(w, first_info, &i);
	CHECK(strcmp(i.state, "FIN_WAIT_2") == 0);
	poll_at(t0 + TW_US - 2 * MS);
	CHECK_EQ(gs_tcp_conns(w, NULL), 1);
	poll_at(t0 + TW_US + 2 * MS);
	CHECK_EQ(gs_tcp_conns(w, NULL), 0);
	gs_stats_total(c);
	CHECK_EQ(c[GS_C_tcp_fw2_timeout], 1);
	fake_drop_sent(&dev);
}

/* The peer's window closes with our data waiting: probes (one below snd_una, RFC 9293
 * 3.8.6.1) on the backed-off timer; the window opens and the data goes. */
static void zero_window(void)
{
	static uint8_t data[5000];
	uint32_t iss, p = 5000, seq = 0;
	struct gs_tcp_sock *s = passive_open(4001, &iss, p - 1);
	uint64_t c[GS_C_MAX];

	peer_tcp(4001, 80, p, iss + 1, RTE_TCP_ACK_FLAG, 0, NULL, 0); /* window 0 */
	poll_at(dev.now + MS);
	CHECK_EQ(gs_tcp_write(s, data, sizeof(data)), 5000);
	poll_at(dev.now + MS);
	CHECK_EQ(drain_count(0, NULL), 0);
	uint64_t at = dev.now;
	for (uint64_t rto = 200 * MS; rto <= 400 * MS; rto *= 2) {
		poll_at(at + rto - 2 * MS);
		CHECK_EQ(drain_count(0, NULL), 0);
		poll_at(at + rto + MS);
		struct tseg t;
		CHECK(next_tcp(&t));
		CHECK_EQ(t.seq, iss); /* snd_una - 1 */
		CHECK_EQ(t.len, 0);
		CHECK(!next_tcp(&t));
		/* the peer answers with its window still 0 */
		peer_tcp(4001, 80, p, iss + 1, RTE_TCP_ACK_FLAG, 0, NULL, 0);
		poll_at(dev.now);
		at = dev.now;
	}
	gs_stats_total(c);
	CHECK_EQ(c[GS_C_tcp_zwp], 2);
	peer_tcp(4001, 80, p, iss + 1, RTE_TCP_ACK_FLAG, 1000, NULL, 0); /* 8000 bytes open */
	poll_at(dev.now + MS);
	CHECK_EQ(drain_count(0, &seq), 5);
	CHECK_EQ(seq, iss + 1);
	gs_tcp_abort(s);
	poll_at(dev.now + MS);
	struct tseg t;
	CHECK(next_tcp(&t) && (t.flags & RTE_TCP_RST_FLAG));
	fake_drop_sent(&dev);
	CHECK_EQ(gs_tcp_conns(w, NULL), 0);
}

/* TIME_WAIT is bounded (max_socks / 2 = 8 here): the ninth recycles the oldest. */
static void time_wait_bound(void)
{
	unsigned int tw;
	uint64_t c[GS_C_MAX];

	for (uint16_t i = 0; i < 9; i++) {
		uint32_t iss, p = 100000u * (i + 1);
		uint16_t pp = (uint16_t)(4100 + i);
		struct gs_tcp_sock *s = passive_open(pp, &iss, p - 1);
		gs_tcp_close(s);
		poll_at(dev.now + MS);
		peer_tcp(pp, 80, p, iss + 2, RTE_TCP_ACK_FLAG | RTE_TCP_FIN_FLAG, 1000, NULL, 0);
		poll_at(dev.now + MS);
		fake_drop_sent(&dev);
	}
	CHECK_EQ(gs_tcp_conns(w, &tw), 8);
	CHECK_EQ(tw, 8);
	gs_stats_total(c);
	CHECK_EQ(c[GS_C_tcp_tw_recycled], 1);
	poll_at(dev.now + TW_US + 2 * MS);
	CHECK_EQ(gs_tcp_conns(w, &tw), 0);
}

/* Keepalive 1 s / 100 ms / 3: a probe after 1 s of silence, answered (the count restarts);
 * then unanswered probes 100 ms apart, and after the third an RST and ETIMEDOUT. */
static void keepalive(void)
{
	uint32_t iss, p = 7000;
	struct gs_tcp_sock *s = passive_open(4200, &iss, p - 1);
	struct gs_tcp_event ev[4];
	struct tseg t;

	CHECK_EQ(gs_tcp_set_keepalive(s, SEC, 0, 3), -EINVAL);
	CHECK_EQ(gs_tcp_set_keepalive(s, SEC, 100 * MS, 3), 0);
	uint64_t t0 = dev.now;
	poll_at(t0 + SEC - 2 * MS);
	CHECK(!next_tcp(&t));
	poll_at(t0 + SEC + MS);
	CHECK(next_tcp(&t) && t.seq == iss && t.len == 0); /* snd_una - 1 */
	peer_tcp(4200, 80, p, iss + 1, RTE_TCP_ACK_FLAG, 1000, NULL, 0);
	poll_at(dev.now);
	CHECK(!next_tcp(&t)); /* an ACK gets no ACK */
	t0 = dev.now;
	for (int i = 0; i < 3; i++) {
		poll_at(t0 + SEC + (uint64_t)i * 100 * MS + MS);
		CHECK(next_tcp(&t) && t.seq == iss && !(t.flags & RTE_TCP_RST_FLAG));
	}
	poll_at(t0 + SEC + 300 * MS + MS);
	CHECK(next_tcp(&t) && (t.flags & RTE_TCP_RST_FLAG));
	CHECK_EQ(gs_tcp_wait(w, ev, 4), 1);
	CHECK(ev[0].s == s && (ev[0].events & GS_TCP_EV_ERR));
	CHECK_EQ(gs_tcp_error(s), -ETIMEDOUT);
	uint64_t c[GS_C_MAX];
	gs_stats_total(c);
	CHECK_EQ(c[GS_C_tcp_keepalive], 4);
	CHECK_EQ(c[GS_C_tcp_ka_timeout], 1);
	gs_tcp_close(s);
	CHECK_EQ(gs_tcp_conns(w, NULL), 0);
}

/* Eight segments out; the peer holds 2, 4, 6 and 7 and says so in SACK blocks on its duplicate
 * ACKs: after the third, segment 0 goes (fast retransmit), then one hole per duplicate ACK
 * (1, 3, 5) and nothing more: NewReno alone would resend one hole per round trip. */
static void sack_recovery(struct gs_tcp_sock *s, uint32_t base, uint32_t p)
{
	static uint8_t data[8 * 988];
	const uint32_t mss = 988;
	uint32_t want[] = {base, base + mss, base + 3 * mss, base + 5 * mss};
	uint32_t blocks[] = {base + 2 * mss, base + 3 * mss, base + 4 * mss, base + 5 * mss,
			     base + 6 * mss, base + 8 * mss};
	uint8_t o[40];
	struct tseg t;
	uint64_t c[GS_C_MAX];
	unsigned int got = 0;

		CHECK_EQ(gs_tcp_write(s, data, sizeof(data)), sizeof(data));
	poll_at(dev.now + MS);
	CHECK_EQ(drain_count(0, NULL), 8);
	for (unsigned int d = 1; d <= 7; d++) {
		unsigned int nb = RTE_MIN(d, 3u);
		ts_opt(o, 103 + d, 0);
		o[12] = 1, o[13] = 1, o[14] = 5, o[15] = (uint8_t)(2 + 8 * nb);
		for (unsigned int b = 0; b < 2 * nb; b++) {
			uint32_t v = rte_cpu_to_be_32(blocks[b]);
			memcpy(o + 16 + 4 * b, &v, 4);
		}
		peer_tcp_opts(4300, 82, p, base, RTE_TCP_ACK_FLAG, 1000, NULL, 0, o,
			      (uint8_t)(16 + 8 * nb));
		poll_at(dev.now + MS);
		while (next_tcp(&t)) {
			if (!t.len)
				continue;
			CHECK(got < RTE_DIM(want));
			if (got < RTE_DIM(want))
				CHECK_EQ(t.seq, want[got]);
			got++;
		}
	}
	CHECK_EQ(got, 4);
	gs_stats_total(c);
	CHECK_EQ(c[GS_C_tcp_sack_rexmit], 3);
}

/* The peer's ACK with timestamps and one SACK block [st, en). */
static void peer_sack(uint32_t p, uint32_t ack, uint32_t tsval, uint32_t st, uint32_t en)
{
	uint8_t o[24];

	ts_opt(o, tsval, 0);
	o[12] = 1, o[13] = 1, o[14] = 5, o[15] = 10;
	st = rte_cpu_to_be_32(st), en = rte_cpu_to_be_32(en);
	memcpy(o + 16, &st, 4);
	memcpy(o + 20, &en, 4);
	peer_tcp_opts(4300, 82, p, ack, RTE_TCP_ACK_FLAG, 1000, NULL, 0, o, 24);
}

/* Three segments are all there is to send, the first is lost: the one ACK that SACKs the
 * other two cannot be followed by a third duplicate, and nothing new can go out to draw one,
 * so the hole goes at once (RFC 5827's early retransmit) rather than after the 200 ms RTO. */
static void early_retransmit(struct gs_tcp_sock *s, uint32_t base, uint32_t p)
{
	static uint8_t data[3 * 988];
	const uint32_t mss = 988;
	uint64_t c0[GS_C_MAX], c[GS_C_MAX];
	uint32_t seq = 0;

	gs_stats_total(c0);
	CHECK_EQ(gs_tcp_write(s, data, sizeof(data)), sizeof(data));
	poll_at(dev.now + MS);
	CHECK_EQ(drain_count(0, NULL), 3);
	peer_sack(p, base, 120, base + mss, base + 3 * mss);
	poll_at(dev.now + MS);
	CHECK_EQ(drain_count(0, &seq), 1);
	CHECK_EQ(seq, base);
	gs_stats_total(c);
	CHECK_EQ(c[GS_C_tcp_fast_rexmit] - c0[GS_C_tcp_fast_rexmit], 1);
	CHECK_EQ(c[GS_C_tcp_rto], c0[GS_C_tcp_rto]);
	peer_sack(p, base + 3 * mss, 121, 0, 0); /* a full ACK (an empty block is ignored) */
	poll_at(dev.now + MS);
	fake_drop_sent(&dev);
}

/* A peer that offers timestamps and SACK (as Linux): our SYN-ACK answers both; every segment
 * then carries timestamps (so the MSS shrinks by 12), an out-of-order segment is reported in a
 * SACK block at once, and a segment with an older timestamp is dropped (PAWS). */
static void ts_sack(void)
{
	struct gs_tcp_sock *l = gs_tcp_listen(w, 82, 8), *s;
	uint8_t syn[20] = {2, 4, PEER_MSS >> 8, PEER_MSS & 0xff, 4, 2, 8, 10, 0, 0, 0, 100,
			   0, 0, 0, 0, 1, 3, 3, PEER_WS};
	uint8_t o[12], data[500];
	uint32_t p = 90000, iss;
	struct tseg t;
	struct gs_tcp_info i;
	uint64_t c[GS_C_MAX];

	peer_tcp_opts(4300, 82, p - 1, 0, RTE_TCP_SYN_FLAG, 60000, NULL, 0, syn, 20);
	poll_at(dev.now + MS);
	CHECK(next_tcp(&t));
	CHECK(t.ts && t.sack_ok && t.wscale == 7);
	CHECK_EQ(t.tsecr, 100);
	iss = t.seq;
	ts_opt(o, 101, t.tsval);
	peer_tcp_opts(4300, 82, p, iss + 1, RTE_TCP_ACK_FLAG, 1000, NULL, 0, o, 12);
	poll_at(dev.now + MS);
	s = gs_tcp_accept(l);
	CHECK(s != NULL);
	gs_tcp_info(s, &i);
	CHECK_EQ(i.mss, PEER_MSS - 12);
	memset(data, 'y', sizeof(data));
	ts_opt(o, 102, 0);
	peer_tcp_opts(4300, 82, p + 1000, iss + 1, RTE_TCP_ACK_FLAG, 1000, data, 500, o, 12);
	poll_at(dev.now + MS);
	CHECK(next_tcp(&t));
	CHECK_EQ(t.ack, p); /* the hole */
	CHECK(t.ts && t.tsecr == 101); /* an out-of-order segment's timestamp is not echoed */
	CHECK_EQ(t.nsack, 1);
	CHECK(t.sack[0] == p + 1000 && t.sack[1] == p + 1500);
	ts_opt(o, 50, 0); /* older than 101: PAWS */
	peer_tcp_opts(4300, 82, p, iss + 1, RTE_TCP_ACK_FLAG, 1000, data, 100, o, 12);
	poll_at(dev.now + MS);
	gs_stats_total(c);
	CHECK_EQ(c[GS_C_tcp_paws], 1);
	gs_tcp_info(s, &i);
	CHECK_EQ(i.rcv_nxt, p);
	/* while we hold the out-of-order 500 bytes, the SACK block rides on our data and comes
	 * out of it: 988 bytes go as 976 (with a 12-byte block) and 12 (the MTU holds no more) */
	static uint8_t out[988];
	fake_drop_sent(&dev); /* the ACK of the PAWS drop */
	CHECK_EQ(gs_tcp_write(s, out, sizeof(out)), sizeof(out));
	poll_at(dev.now + MS);
	CHECK(next_tcp(&t));
	CHECK(t.len == 976 && t.nsack == 1 && t.sack[0] == p + 1000);
	CHECK(next_tcp(&t));
	CHECK_EQ(t.len, 12);
	/* the peer fills its hole and acknowledges all */
	ts_opt(o, 103, 0);
	peer_tcp_opts(4300, 82, p, iss + 1 + 988, RTE_TCP_ACK_FLAG, 1000, data, 500, o, 12);
	ts_opt(o, 103, 0);
	peer_tcp_opts(4300, 82, p + 500, iss + 1 + 988, RTE_TCP_ACK_FLAG, 1000, data, 500, o, 12);
	poll_at(dev.now + MS);
	CHECK(next_tcp(&t));
	CHECK(t.ack == p + 1500 && t.nsack == 0);
	fake_drop_sent(&dev);
	sack_recovery(s, iss + 1 + 988, p + 1500);
	peer_sack(p + 1500, iss + 1 + 988 + 8 * 988, 111, 0, 0); /* all of it */
	poll_at(dev.now + MS);
	fake_drop_sent(&dev);
	early_retransmit(s, iss + 1 + 988 + 8 * 988, p + 1500);
	gs_tcp_abort(s);
	gs_tcp_close(l);
	poll_at(dev.now + MS);
	fake_drop_sent(&dev);
	CHECK_EQ(gs_tcp_conns(w, NULL), 0);
}

/* connect(): a SYN with our options from a port whose return flow is ours; the SYN-ACK
 * completes it; the peer's RST (exact sequence) resets it. */
static void active_open(void)
{
	struct gs_endpoint dst = {PEER_IP, 9000};
	struct gs_tcp_sock *s = gs_tcp_connect(w, &dst);
	struct gs_tcp_event ev[4];
	struct tseg t;

	CHECK(s != NULL);
	poll_at(dev.now + MS);
	CHECK(next_tcp(&t));
	CHECK_EQ(t.flags, RTE_TCP_SYN_FLAG);
	CHECK_EQ(t.dport, 9000);
	CHECK(t.sport >= 49152);
	CHECK_EQ(t.wscale, 7);
	CHECK(t.ts && t.sack_ok && t.tsecr == 0); /* offered */
	peer_tcp(9000, t.sport, 777, t.seq + 1, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 5000, NULL, 0);
	poll_at(dev.now + MS);
	CHECK_EQ(gs_tcp_wait(w, ev, 4), 1);
	CHECK(ev[0].s == s && (ev[0].events & GS_TCP_EV_CONNECTED));
	uint32_t iss = t.seq;
	CHECK(next_tcp(&t) && t.flags == RTE_TCP_ACK_FLAG && t.ack == 778);
	CHECK(!t.ts); /* the peer did not take them */
	peer_tcp(9000, t.sport, 778, iss + 1, RTE_TCP_RST_FLAG, 0, NULL, 0);
	poll_at(dev.now + MS);
	CHECK_EQ(gs_tcp_wait(w, ev, 4), 1);
	CHECK(ev[0].events & GS_TCP_EV_ERR);
	CHECK_EQ(gs_tcp_error(s), -ECONNRESET);
	gs_tcp_close(s);
	CHECK_EQ(gs_tcp_conns(w, NULL), 0);
}

int main(int argc, char **argv)
{
	char *eal[] = {argv[0], "--no-huge", "-m", "128", "--no-pci", "--no-shconf",
		       "--log-level=error", NULL};
	struct gs_conf conf = {.ip = RTE_IPV4(10, 0, 0, 1), .prefix = 24, .mode = GS_MODE_SINGLE,
			       .busy_poll = true, .nb_desc = 256, .ring_size = 256};
	struct gs_tcp_conf tc = {.max_socks = 16, .time_wait_us = TW_US};
	uint32_t iss, piss = 0xfffff000; /* the peer's sequence numbers wrap during the test */

	(void)argc;
	if (check_eal_init(RTE_DIM(eal) - 1, eal, "gs_tcp") < 0)
		return 77;
	dev.now = SEC;
	CHECK_EQ(gs_tcp_configure(&(struct gs_tcp_conf){.sndbuf = 1000}), -EINVAL);
	CHECK_EQ(gs_tcp_configure(&tc), 0);
	CHECK_EQ(gs_init_dev(&conf, &fake_ops, &dev), 0);
	w = gs_st.w[0];
	peer_arp(&dev, RTE_ARP_OP_REQUEST); /* the stack learns the peer's MAC */
	poll_at(dev.now);
	fake_drop_sent(&dev);

	struct gs_tcp_sock *s = passive_open(4000, &iss, piss);
	uint32_t p = piss + 1;
	window_scaling(s, piss, iss);
	p += 500;
	fast_retransmit(s, p, iss);
	rto_backoff(s, p, iss);
	time_wait(s, p, iss);
	active_open();
	zero_window();
	fin_wait2_orphan();
	time_wait_bound();
	keepalive();
	ts_sack();
	CHECK_EQ(gs_fini(), 0); /* every mbuf back */
	rte_eal_cleanup();
	return CHECK_DONE();
}
