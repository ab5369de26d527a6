/* tcp_input.c: a received segment's way (RFC 9293 3.10.7): header, checksum and option checks;
 * the connection table; LISTEN (bounded SYN backlog), SYN_SENT, then for synchronized states
 * the window check, RST and SYN with RFC 5961's rules (exact RST sequence or a challenge ACK),
 * ACK processing, in-order data queued zero copy (out of order kept sorted), and FIN.  Every
 * segment dropped is counted by its cause. */
#include "tcp_priv.h"

struct seg {
	uint32_t seq, ack, len; /* len: payload bytes */
	uint16_t wnd;
	uint8_t flags;
	struct gs_tcp_opts o;
};

#define F(x) RTE_TCP_##x##_FLAG

static void drop_m(struct gs_worker *w, struct rte_mbuf *m, enum gs_ctr why)
{
	w->c[why]++;
	rte_pktmbuf_free(m);
}

static struct gs_tcp_sock *listener_of(struct gs_tcp_wk *tw, uint16_t port)
{
	for (int i = 0; i < GS_TCP_LISTENERS; i++)
		if (tw->listeners[i] && tw->listeners[i]->key.lport == port)
			return tw->listeners[i];
	return NULL;
}

/* Our send MSS and window scale from the peer's SYN options. */
static void syn_opts(struct gs_tcp_sock *s, const struct gs_tcp_opts *o)
{
	uint16_t ours = (uint16_t)(gs_mtu() - 40);

	s->mss = o->mss ? RTE_MIN(RTE_MAX(o->mss, (uint16_t)64), ours) : 536;
	bool offered = s->state == GS_TCP_SYN_RCVD || s->ts_ok; /* SYN_SENT: we offered */
	s->ts_ok = offered && o->ts;
	s->sack_ok = (s->state == GS_TCP_SYN_RCVD || s->sack_ok) && o->sack_ok;
	if (s->ts_ok) {
		s->ts_recent = o->tsval;
		s->mss = (uint16_t)(s->mss - GS_TCP_TS_OPT); /* every segment carries them */
	}
	if (o->wscale >= 0 && (s->state == GS_TCP_SYN_RCVD || s->ws_ok)) {
		s->ws_ok = true;
		s->snd_wscale = (uint8_t)o->wscale;
	} else {
		s->ws_ok = false;
		s->snd_wscale = 0;
		s->rcv_wscale = 0;
	}
}

static void listen_input(struct gs_tcp_sock *l, const struct gs_tcp_key *k, const struct seg *g,
			 const struct rte_ipv4_hdr *ip, const struct rte_tcp_hdr *th,
			 struct rte_mbuf *m)
{
	struct gs_tcp_wk *tw = l->tw;
	struct gs_worker *w = tw->w;

	if (g->flags & F(RST))
		return drop_m(w, m, GS_C_tcp_rst_bad);
	if (g->flags & F(ACK)) {
		gs_tcp_send_rst(w, ip, th, g->len);
		return drop_m(w, m, GS_C_tcp_bad_ack);
	}
	if (!(g->flags & F(SYN)))
		return drop_m(w, m, GS_C_tcp_bad_flags);
	if (l->pending >= l->backlog) {
		/* full: the oldest half-open connection makes room, as FreeBSD's syncache does,
		 * so that a SYN flood cannot lock the listener until its SYN-ACKs time out */
		if (!l->synq.head)
			return drop_m(w, m, GS_C_tcp_backlog_full);
		w->c[GS_C_tcp_backlog_full]++;
		gs_tcp_drop(l->synq.head, 0);
	}
	struct gs_tcp_sock *s = gs_tcp_sock_new(tw);
	if (!s) {
		rte_pktmbuf_free(m); /* counted: tcp_table_full */
		return;
	}
	s->key = *k;
	s->state = GS_TCP_SYN_RCVD;
	s->listener = l;
	l->pending++;
	gs_tcp_list_add(&l->synq, s, GS_TCP_LINK(l_acc));
	s->on_synq = true;
	s->irs = g->seq;
	s->rcv_nxt = g->seq + 1;
	s->iss = gs_tcp_isn(tw, k);
	s->snd_una = s->snd_nxt = s->snd_max = s->iss;
	s->sbuf_seq = s->iss + 1;
	syn_opts(s, &g->o);
	s->snd_wnd = g->wnd; /* never scaled in a SYN */
	s->snd_wl1 = g->seq;
	s->max_wnd = s->snd_wnd;
	gs_tcp_cc_init(s);
	if (gs_tcp_hash_add(s) < 0) {
		gs_tcp_drop(s, 0);
		rte_pktmbuf_free(m);
		return;
	}
	s->rtt_ts = gs_now_us();
	rte_pktmbuf_free(m);
	gs_tcp_output(s); /* SYN-ACK */
}

static void established(struct gs_tcp_sock *s, const struct seg *g)
{
	gs_tcp_timer_stop(s);
	if (!s->rexmits) /* Karn: the SYN was not retransmitted */
		gs_tcp_rtt_sample(s, gs_now_us() - s->rtt_ts);
	s->rexmits = 0;
	s->snd_una = g->ack;
	s->snd_wnd = (uint32_t)g->wnd << s->snd_wscale;
	s->snd_wl1 = g->seq;
	s->snd_wl2 = g->ack;
	s->max_wnd = RTE_MAX(s->max_wnd, s->snd_wnd);
	gs_tcp_set_state(s, s->fin_queued ? GS_TCP_FIN_WAIT_1 : GS_TCP_ESTABLISHED);
}

static void syn_sent_input(struct gs_tcp_sock *s, const struct seg *g,
			   const struct rte_ipv4_hdr *ip, const struct rte_tcp_hdr *th,
			   struct rte_mbuf *m)
{
	struct gs_worker *w = s->tw->w;
	bool ack_ok = (g->flags & F(ACK)) && SEQ_GT(g->ack, s->iss) && SEQ_LEQ(g->ack, s->snd_max);

	if ((g->flags & F(ACK)) && !ack_ok) {
		gs_tcp_send_rst(w, ip, th, g->len);
		return drop_m(w, m, GS_C_tcp_bad_ack);
	}
	if (g->flags & F(RST)) {
		if (!ack_ok)
			return drop_m(w, m, GS_C_tcp_rst_bad);
		w->c[GS_C_tcp_rst_rx]++;
		rte_pktmbuf_free(m);
		gs_tcp_drop(s, -ECONNREFUSED);
		return;
	}
	if (!(g->flags & F(SYN)) || !ack_ok) /* no simultaneous open */
		return drop_m(w, m, GS_C_tcp_syn_bad);
	rte_pktmbuf_free(m);
	s->irs = g->seq;
	s->rcv_nxt = g->seq + 1;
	s->ws_ok = s->ts_ok = s->sack_ok = true; /* we offered: the peer's answer decides */
	syn_opts(s, &g->o);
	gs_tcp_cc_init(s);
	established(s, g);
	s->snd_wnd = g->wnd; /* never scaled in a SYN-ACK */
	s->max_wnd = s->snd_wnd;
	gs_tcp_event(s, GS_TCP_EV_CONNECTED | GS_TCP_EV_OUT);
	gs_tcp_ack_later(s);
}

/* RFC 9293 3.10.7.4's acceptability test against the window we offer. */
static bool acceptable(const struct gs_tcp_sock *s, const struct seg *g, uint32_t seglen)
{
	uint32_t wnd = gs_tcp_rcv_wnd(s);
	uint32_t off = g->seq - s->rcv_nxt;

	if (seglen == 0)
		return wnd == 0 ? g->seq == s->rcv_nxt : off < wnd;
	if (wnd == 0)
		return false;
	return off < wnd || (uint32_t)(g->seq + seglen - 1 - s->rcv_nxt) < wnd;
}

static void fin_received(struct gs_tcp_sock *s)
{
	s->rcv_nxt++;
	s->fin_rcvd = true;
	gs_tcp_event(s, GS_TCP_EV_IN | GS_TCP_EV_HUP);
	gs_tcp_ack_later(s);
	switch (s->state) {
	case GS_TCP_SYN_RCVD:
	case GS_TCP_ESTABLISHED:
		gs_tcp_set_state(s, GS_TCP_CLOSE_WAIT);
		break;
	case GS_TCP_FIN_WAIT_1:
		gs_tcp_set_state(s, GS_TCP_CLOSING);
		break;
	case GS_TCP_FIN_WAIT_2:
		gs_tcp_enter_tw(s);
		break;
	default:
		break;
	}
}

/* In-order payload to the receive queue, a chain's segments each in a slot of their own (what
 * gs_tcp_recv hands out are single mbufs). */
static bool rxq_put(struct gs_tcp_sock *s, struct rte_mbuf *m)
{
	if (s->rxq_size - (s->rxq_tail - s->rxq_head) < m->nb_segs) {
		drop_m(s->tw->w, m, GS_C_tcp_rcv_full);
		return false;
	}
	while (m) {
		struct rte_mbuf *seg = gs_chain_pop(&m);
		if (!rte_pktmbuf_data_len(seg)) {
			rte_pktmbuf_free(seg);
			continue;
		}
		s->rxq[s->rxq_tail++ & (s->rxq_size - 1)] = seg;
		s->rx_bytes += rte_pktmbuf_data_len(seg);
		s->rcv_nxt += rte_pktmbuf_data_len(seg);
	}
	return true;
}

/* Out-of-order segments that now continue the stream. */
static void ooo_drain(struct gs_tcp_sock *s)
{
	unsigned int i = 0;

	while (i < s->nooo && SEQ_LEQ(s->ooo[i].seq, s->rcv_nxt)) {
		struct gs_tcp_ooo e = s->ooo[i++];
		uint32_t end = e.seq + e.len;
		if (SEQ_LT(end, s->rcv_nxt) || (end == s->rcv_nxt && (!e.fin || s->fin_rcvd))) {
			rte_pktmbuf_free(e.m); /* all of it already here */
			continue;
		}
		uint32_t off = s->rcv_nxt - e.seq;
		e.m = gs_chain_adj(e.m, off);
		if (e.len - off)
			rxq_put(s, e.m);
		else
			rte_pktmbuf_free(e.m);
		if (e.fin && s->rcv_nxt == end)
			fin_received(s);
	}
	memmove(s->ooo, s->ooo + i, (s->nooo - i) * sizeof(s->ooo[0]));
	s->nooo -= i;
}

static void ooo_insert(struct gs_tcp_sock *s, uint32_t seq, uint32_t len, bool fin,
		       struct rte_mbuf *m)
{
	unsigned int i = 0;

	while (i < s->nooo && SEQ_LT(s->ooo[i].seq, seq))
		i++;
	if (i < s->nooo && s->ooo[i].seq == seq && s->ooo[i].len >= len) {
		drop_m(s->tw->w, m, GS_C_tcp_dup_data); /* have it */
		return;
	}
	if (s->nooo == GS_TCP_OOO_MAX) {
		drop_m(s->tw->w, m, GS_C_tcp_ooo_full);
		return;
	}
	memmove(s->ooo + i + 1, s->ooo + i, (s->nooo - i) * sizeof(s->ooo[0]));
	s->ooo[i] = (struct gs_tcp_ooo){seq, len, fin, m};
	s->nooo++;
	s->tw->w->c[GS_C_tcp_ooo]++;
}

/* Data and FIN of an acceptable segment; m's data is the payload.  Takes m. */
static void data_input(struct gs_tcp_sock *s, struct seg *g, struct rte_mbuf *m)
{
	struct gs_worker *w = s->tw->w;
	bool fin = g->flags & F(FIN);
	uint32_t seq = g->seq, len = g->len;

	if (s->state != GS_TCP_ESTABLISHED && s->state != GS_TCP_FIN_WAIT_1 &&
	    s->state != GS_TCP_FIN_WAIT_2 && s->state != GS_TCP_SYN_RCVD) {
		if (len)
			return drop_m(w, m, GS_C_tcp_closed_data); /* after the peer's FIN */
		rte_pktmbuf_free(m);
		return;
	}
	if (SEQ_LT(seq, s->rcv_nxt)) { /* the front was here already */
		uint32_t off = RTE_MIN(s->rcv_nxt - seq, len);
		m = gs_chain_adj(m, off);
		seq += off;
		len -= off;
		if (!len && !(fin && seq == s->rcv_nxt)) {
			gs_tcp_ack_later(s);
			return drop_m(w, m, GS_C_tcp_dup_data);
		}
	}
	uint32_t wnd = gs_tcp_rcv_wnd(s), off = seq - s->rcv_nxt;
	if (off + len > wnd) { /* beyond the window: cut (and its FIN with it) */
		uint32_t cut = off + len - wnd;
		gs_chain_trim(m, cut);
		len -= cut;
		fin = false;
		w->c[GS_C_tcp_out_of_window]++;
	}
	if (s->user_closed && len) { /* nobody will read it: acknowledged and dropped */
		gs_chain_trim(m, len);
		w->c[GS_C_tcp_closed_data]++;
		if (seq == s->rcv_nxt)
			s->rcv_nxt += len;
		len = 0;
	}
	if (seq != s->rcv_nxt) {
		if (!len) {
			rte_pktmbuf_free(m);
			return;
		}
		ooo_insert(s, seq, len, fin, m);
		/* a duplicate ACK per out-of-order segment, at once: the peer's fast
		 * retransmit counts them */
		gs_tcp_send_seg(s, s->snd_nxt, 0, F(ACK));
		return;
	}
	bool hole = s->nooo > 0;
	if (len) {
		rxq_put(s, m);
		if (s->nooo)
			ooo_drain(s);
		gs_tcp_event(s, GS_TCP_EV_IN);
	} else {
		rte_pktmbuf_free(m);
	}
	if (fin && s->rcv_nxt == seq + len && !s->fin_rcvd)
		fin_received(s); /* ACKed at once */
	/* at most one ACK per connection per burst, never an ACK of an ACK; delayed unless
	 * this filled a hole (the sender is recovering: RFC 5681 4.2) or was more than one full
	 * segment (a large receive: as Linux's "more than one rcv_mss" rule) */
	if (len && (hole || len > s->mss))
		gs_tcp_ack_later(s);
	else if (len)
		gs_tcp_delack(s);
}

/* ACK processing; false when the segment goes no further. */
static bool ack_input(struct gs_tcp_sock *s, const struct seg *g)
{
	struct gs_worker *w = s->tw->w;
	uint32_t wnd = (uint32_t)g->wnd << s->snd_wscale;

	if (SEQ_GT(g->ack, s->snd_max)) { /* RFC 5961 5.2: acknowledges what we never sent */
		gs_tcp_ack_later(s);
		w->c[GS_C_tcp_bad_ack]++;
		return false;
	}
	if (SEQ_LT(g->ack, s->snd_una - RTE_MAX(s->max_wnd, 65535u))) {
		w->c[GS_C_tcp_bad_ack]++;
		return false;
	}
	uint32_t newly_sacked = 0;
	if (s->sack_ok && g->o.nsack)
		newly_sacked = gs_tcp_sack_update(s, &g->o);
	bool same_wnd = wnd == s->snd_wnd;
	if (SEQ_LT(s->snd_wl1, g->seq) || (s->snd_wl1 == g->seq && SEQ_LEQ(s->snd_wl2, g->ack))) {
		s->snd_wnd = wnd;
		s->snd_wl1 = g->seq;
		s->snd_wl2 = g->ack;
		s->max_wnd = RTE_MAX(s->max_wnd, wnd);
		if (wnd && !same_wnd)
			gs_tcp_output_later(s); /* the window opened */
	}
	if (SEQ_GT(g->ack, s->snd_una)) {
		uint32_t acked = g->ack - s->snd_una;
		uint32_t end = gs_tcp_data_end(s);
		uint32_t upto = SEQ_LT(g->ack, end) ? g->ack : end;
		if (SEQ_GT(upto, s->sbuf_seq)) {
			uint32_t d = upto - s->sbuf_seq;
			s->sbuf_head = (s->sbuf_head + d) & (s->sbuf_size - 1);
			s->sbuf_len -= d;
			s->sbuf_seq = upto;
		}
		if (s->ts_ok && g->o.ts && g->o.tsecr) { /* RFC 7323 4.1: every ACK measures */
			gs_tcp_rtt_sample(s, (uint64_t)(gs_tcp_ts_now() - g->o.tsecr) * 1000);
			s->rtt_timing = false;
		} else if (s->rtt_timing && SEQ_GEQ(g->ack, s->rtt_seq)) {
			gs_tcp_rtt_sample(s, gs_now_us() - s->rtt_ts);
			s->rtt_timing = false;
		}
		s->snd_una = g->ack;
		if (s->nsacked)
			gs_tcp_sack_update(s, &(struct gs_tcp_opts){.nsack = 0}); /* trims */
		if (SEQ_LT(s->snd_nxt, s->snd_una))
			s->snd_nxt = s->snd_una;
		s->rexmits = 0;
		if (!s->in_recovery || !gs_tcp_cc_recovery_ack(s, acked)) {
			gs_tcp_cc_ack(s, acked);
			s->dupacks = 0;
			if (newly_sacked && s->nsacked) /* a hole is left: RFC 6675 counts it */
				gs_tcp_cc_dupack(s, newly_sacked);
		}
		gs_tcp_timer_stop(s); /* RFC 6298 5.3: restart for what is still out */
		if (s->snd_una != s->snd_max)
			gs_tcp_timer_arm(s);
		if (s->want_write && s->sbuf_len < s->sbuf_size) {
			s->want_write = false;
			gs_tcp_event(s, GS_TCP_EV_OUT);
		}
		gs_tcp_output_later(s);
		if (s->fin_queued && g->ack == end + 1) { /* our FIN is acknowledged */
			if (s->state == GS_TCP_FIN_WAIT_1) {
				gs_tcp_set_state(s, GS_TCP_FIN_WAIT_2);
				gs_tcp_fw2_orphan(s);
			} else if (s->state == GS_TCP_CLOSING) {
				gs_tcp_enter_tw(s);
			} else if (s->state == GS_TCP_LAST_ACK) {
				gs_tcp_drop(s, 0);
				return false;
			}
		}
	} else if (g->ack == s->snd_una && s->snd_una != s->snd_max &&
		   (newly_sacked || (!g->len && !(g->flags & (F(SYN) | F(FIN))) && same_wnd))) {
		/* with SACK, an ACK riding on the peer's data counts too (RFC 6675): in a
		 * two-way transfer the peer's ACKs carry data, and RFC 5681 alone would
		 * leave every loss to the RTO */
		gs_tcp_cc_dupack(s, newly_sacked);
		gs_tcp_output_later(s); /* recovery, or limited transmit */
	}
	return true;
}

static void sync_input(struct gs_tcp_sock *s, struct seg *g, struct rte_mbuf *m)
{
	struct gs_worker *w = s->tw->w;
	uint32_t seglen = g->len + !!(g->flags & F(SYN)) + !!(g->flags & F(FIN));

	if (s->state == GS_TCP_SYN_RCVD && (g->flags & F(SYN)) && g->seq == s->irs &&
	    !(g->flags & (F(ACK) | F(RST)))) {
		s->snd_nxt = s->iss; /* the peer did not get our SYN-ACK: again */
		gs_tcp_output(s);
		return drop_m(w, m, GS_C_tcp_dup_data);
	}
	if (s->state == GS_TCP_TIME_WAIT && (g->flags & F(FIN)) && !(g->flags & F(RST)) &&
	    g->seq + g->len + 1 == s->rcv_nxt) {
		gs_tcp_ack_later(s); /* the peer lost our last ACK: again, and wait anew */
		gs_tcp_enter_tw(s);
		return drop_m(w, m, GS_C_tcp_dup_data);
	}
	if (!acceptable(s, g, seglen)) {
		if (g->flags & F(RST))
			return drop_m(w, m, GS_C_tcp_rst_bad);
		gs_tcp_ack_later(s);
		bool old = SEQ_LEQ(g->seq + seglen, s->rcv_nxt);
		return drop_m(w, m, old ? GS_C_tcp_dup_data : GS_C_tcp_out_of_window);
	}
	if (s->ts_ok && g->o.ts && !(g->flags & F(RST))) {
		/* PAWS (RFC 7323 5.3): an older timestamp is an old duplicate */
		if ((int32_t)(g->o.tsval - s->ts_recent) < 0) {
			gs_tcp_ack_later(s);
			return drop_m(w, m, GS_C_tcp_paws);
		}
		if (SEQ_LEQ(g->seq, s->rcv_nxt)) /* 4.3: it covers what we acknowledge next */
			s->ts_recent = g->o.tsval;
	}
	if (s->on_wupd)
		gs_tcp_wupd_stop(s); /* the peer heard us: it sends again */
	if (s->on_ka) { /* the peer is there */
		s->last_rx = gs_now_us();
		s->ka_probes = 0;
	}
	if (g->flags & F(RST)) { /* RFC 5961 3.2: only the exact sequence number resets */
		if (g->seq != s->rcv_nxt) {
			w->c[GS_C_tcp_challenge_ack]++;
			gs_tcp_send_seg(s, s->snd_nxt, 0, F(ACK));
			return drop_m(w, m, GS_C_tcp_rst_bad);
		}
		w->c[GS_C_tcp_rst_rx]++;
		rte_pktmbuf_free(m);
		gs_tcp_drop(s, s->state == GS_TCP_TIME_WAIT ? 0 : -ECONNRESET);
		return;
	}
	if (g->flags & F(SYN)) { /* RFC 5961 4.2: a SYN in a synchronized state */
		w->c[GS_C_tcp_challenge_ack]++;
		gs_tcp_send_seg(s, s->snd_nxt, 0, F(ACK));
		return drop_m(w, m, GS_C_tcp_syn_bad);
	}
	if (!(g->flags & F(ACK)))
		return drop_m(w, m, GS_C_tcp_no_ack);
	if (s->state == GS_TCP_SYN_RCVD) {
		if (!SEQ_GT(g->ack, s->snd_una) || SEQ_GT(g->ack, s->snd_max)) {
			gs_tcp_send_seg(s, g->ack, 0, F(RST)); /* as RFC 9293: <SEQ=SEG.ACK><RST> */
			return drop_m(w, m, GS_C_tcp_bad_ack);
		}
		established(s, g);
		struct gs_tcp_sock *l = s->listener;
		gs_tcp_list_del(&l->synq, s, GS_TCP_LINK(l_acc));
		s->on_synq = false;
		gs_tcp_list_add(&l->acceptq, s, GS_TCP_LINK(l_acc));
		s->on_acceptq = true;
		gs_tcp_event(l, GS_TCP_EV_IN);
	}
	if (!ack_input(s, g)) {
		rte_pktmbuf_free(m);
		return;
	}
	if (s->state == GS_TCP_TIME_WAIT) {
		rte_pktmbuf_free(m);
		return;
	}
	data_input(s, g, m);
}

void gs_tcp_input(struct gs_worker *w, struct rte_mbuf *m, struct rte_ipv4_hdr *ip)
{
	uint32_t l4len = rte_pktmbuf_pkt_len(m) - m->l3_len;
	uint32_t first = rte_pktmbuf_data_len(m) - m->l3_len; /* TCP bytes in the first segment */
	struct rte_tcp_hdr *th = rte_pktmbuf_mtod_offset(m, struct rte_tcp_hdr *, m->l3_len);
	enum gs_rx_cksum ck = gs_rx_cksum_l4(m->ol_flags);
	uint32_t hl = l4len >= sizeof(*th) ? (uint32_t)(th->data_off >> 4) * 4 : 0;
	struct seg g;

	if (hl < sizeof(*th) || hl > first)
		return drop_m(w, m, GS_C_rx_malformed);
	if (ck == GS_RX_CKSUM_BAD ||
	    (ck == GS_RX_CKSUM_VERIFY &&
	     (m->nb_segs > 1 ? rte_ipv4_udptcp_cksum_mbuf_verify(m, ip, m->l3_len)
			     : rte_ipv4_udptcp_cksum_verify(ip, th)) != 0))
		return drop_m(w, m, GS_C_rx_bad_cksum);
	g.flags = th->tcp_flags & 0x3f;
	if ((g.flags & F(SYN) && g.flags & (F(FIN) | F(RST))) || g.flags == 0)
		return drop_m(w, m, GS_C_tcp_bad_flags);
	if (gs_tcp_opts_parse(th, hl, &g.o) < 0)
		return drop_m(w, m, GS_C_tcp_bad_opt);
	w->c[GS_C_tcp_rx]++;
	if (m->nb_segs > 1 || (m->ol_flags & RTE_MBUF_F_RX_LRO))
		w->c[GS_C_tcp_lro_rx]++;
	g.seq = rte_be_to_cpu_32(th->sent_seq);
	g.ack = rte_be_to_cpu_32(th->recv_ack);
	g.wnd = rte_be_to_cpu_16(th->rx_win);
	g.len = l4len - hl;
	struct gs_tcp_key k = {.rip = rte_be_to_cpu_32(ip->src_addr),
			       .lip = rte_be_to_cpu_32(ip->dst_addr),
			       .rport = rte_be_to_cpu_16(th->src_port),
			       .lport = rte_be_to_cpu_16(th->dst_port)};
	rte_pktmbuf_adj(m, (uint16_t)(m->l3_len + hl)); /* ip and th stay readable in front */
	struct gs_tcp_sock *s = gs_tcp_lookup(w->tcp, &k);
	if (!s) {
		struct gs_tcp_sock *l = listener_of(w->tcp, k.lport);
		if (l)
			return listen_input(l, &k, &g, ip, th, m);
		uint32_t seglen = g.len + !!(g.flags & F(SYN)) + !!(g.flags & F(FIN));
		gs_tcp_send_rst(w, ip, th, seglen);
		return drop_m(w, m, GS_C_tcp_no_socket);
	}
	if (s->state == GS_TCP_SYN_SENT)
		return syn_sent_input(s, &g, ip, th, m);
	sync_input(s, &g, m);
}

void gs_tcp_after_burst(struct gs_worker *w)
{
	gs_tcp_flush(w->tcp);
	gs_tcp_tick(w->tcp);
	gs_tcp_flush(w->tcp); /* what the timers queued */
}

void gs_tcp_fini(struct gs_worker *w)
{
	struct gs_tcp_wk *tw = w->tcp;

	if (!tw)
		return;
	for (unsigned int i = 0; i < tw->conf.max_socks; i++) {
		struct gs_tcp_sock *s = &tw->socks[i];
		s->on_ack_list = s->on_ready = false;
		if (s->used)
			gs_tcp_sock_free(s);
	}
	rte_hash_free(tw->table);
	free(tw->socks), free(tw->free), free(tw->ackl), free(tw->ready);
	free(tw->sbuf_arena), free(tw->rxq_arena), free(tw);
	w->tcp = NULL;
}
