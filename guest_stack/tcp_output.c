/* tcp_output.c: every segment we send is built here: data from the send buffer (its payload
 * from tcp_tso.c: one mbuf, or a TSO chain), SYN and SYN-ACK with their options, FIN, pure ACKs
 * (after a burst, one per connection: ACKs are coalesced per burst), RSTs. */
#include <rte_ethdev.h>
#include "tcp_priv.h"

#define OPT_ROOM 40 /* the most TCP options there can be */

/* The window we offer: the free receive buffer, never shrinking what was advertised (RFC 7323
 * 2.4), and 0 rather than a sliver (receiver-side silly window avoidance, RFC 1122 4.2.3.3). */
uint32_t gs_tcp_rcv_wnd(const struct gs_tcp_sock *s)
{
	uint32_t space = s->rx_bytes >= s->rcvbuf ? 0 : s->rcvbuf - s->rx_bytes;
	uint32_t adv = SEQ_GT(s->rcv_adv, s->rcv_nxt) ? s->rcv_adv - s->rcv_nxt : 0;

	if (space < RTE_MIN(s->rcvbuf / 4, (uint32_t)s->mss))
		space = 0;
	return RTE_MAX(space, adv);
}

/* What we hold beyond a hole, as SACK blocks (RFC 2018): the out-of-order segments merged
 * into runs. */
static unsigned int sack_blocks(const struct gs_tcp_sock *s, uint32_t *b, unsigned int max)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < s->nooo; i++) {
		uint32_t st = s->ooo[i].seq, en = s->ooo[i].seq + s->ooo[i].len;
		if (n && SEQ_LEQ(st, b[2 * n - 1])) {
			if (SEQ_GT(en, b[2 * n - 1]))
				b[2 * n - 1] = en;
			continue;
		}
		if (n == max)
			break;
		b[2 * n] = st;
		b[2 * n + 1] = en;
		n++;
	}
	return n;
}

uint32_t gs_tcp_seg_max(const struct gs_tcp_sock *s)
{
	uint32_t b[8];
	unsigned int n = s->sack_ok ? sack_blocks(s, b, s->ts_ok ? 3 : 4) : 0;

	/* the SACK blocks we hold go on every segment and come out of its data, as Linux's
	 * tcp_current_mss: a full segment with them would not fit the MTU */
	return n ? s->mss - (4u + 8u * n) : s->mss;
}

/* Header and checksum for a segment whose payload (if any) is m's data; takes m.  segsz: the
 * payload of each wire segment of a TSO segment (0: m is one segment). */
static int xmit(struct gs_worker *w, struct rte_mbuf *m, rte_be32_t dst, uint16_t sport,
		uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd,
		const uint8_t *opts, uint8_t optlen, uint16_t segsz)
{
	uint16_t hl = (uint16_t)(sizeof(struct rte_tcp_hdr) + optlen);
	struct rte_ipv4_hdr *ip =
	    (struct rte_ipv4_hdr *)rte_pktmbuf_prepend(m, (uint16_t)(sizeof(*ip) + hl));

	if (!ip) {
		rte_pktmbuf_free(m);
		return -ENOSPC;
	}
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
	th->src_port = rte_cpu_to_be_16(sport);
	th->dst_port = rte_cpu_to_be_16(dport);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = (uint8_t)((hl / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(wnd);
	th->cksum = 0;
	th->tcp_urp = 0;
	if (optlen)
		memcpy(th + 1, opts, optlen);
	gs_ipv4_fill(m, ip, dst, IPPROTO_TCP);
	m->l4_len = hl;
	if (segsz) { /* the pseudo-header sum without the length, as DPDK's TSO wants */
		m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM;
		m->tso_segsz = segsz;
		th->cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
	} else if (gs_st.tx_ol & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) {
		m->ol_flags |= RTE_MBUF_F_TX_TCP_CKSUM;
		th->cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
	} else {
		th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	}
	if (gs_tx_burst(w, &m, 1) != 1) { /* TX path full: as lost on the wire, the RTO resends */
		rte_pktmbuf_free(m);
		w->c[GS_C_tx_nic_full]++;
		return -ENOBUFS;
	}
	w->c[GS_C_tcp_tx]++;
	if (segsz)
		w->c[GS_C_tcp_tso_tx]++;
	if (flags & RTE_TCP_RST_FLAG)
		w->c[GS_C_tcp_rst_tx]++;
	return 0;
}

#define HDR_ROOM (sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_tcp_hdr) + OPT_ROOM)

static struct rte_mbuf *seg_alloc(struct gs_worker *w)
{
	struct rte_mbuf *m;

	if (gs_tx_alloc(w, &m, 1, HDR_ROOM) < 0)
		return NULL;
	return m;
}

/* One segment of connection s: len bytes of the send buffer from seq (SYN and FIN as flags).
 * More than one MSS is a TSO segment (gs_tcp_tso_max said how much). */
int gs_tcp_send_seg(struct gs_tcp_sock *s, uint32_t seq, uint32_t len, uint8_t flags)
{
	struct gs_worker *w = s->tw->w;
	struct rte_mbuf *m = len ? gs_tcp_payload(s, seq, len, HDR_ROOM) : seg_alloc(w);
	uint8_t opts[OPT_ROOM];
	uint8_t optlen = 0;
	uint16_t wnd, segsz = 0;

	if (!m)
		return -ENOBUFS;
	uint32_t rwnd = gs_tcp_rcv_wnd(s);
	uint32_t ts[2] = {gs_tcp_ts_now(), s->ts_recent};
	if (flags & RTE_TCP_SYN_FLAG) {
		/* our MSS: what fits the device's MTU; window scale, SACK-permitted and timestamps
		 * offered on a SYN, answered on a SYN-ACK only when the peer offered them */
		bool offer = s->state == GS_TCP_SYN_SENT;
		optlen = gs_tcp_opts_syn(opts, (uint16_t)(gs_mtu() - 40),
					 offer || s->ws_ok ? s->rcv_wscale : -1, offer || s->sack_ok,
					 offer || s->ts_ok ? ts : NULL);
		wnd = (uint16_t)RTE_MIN(rwnd, 65535u); /* never scaled on a SYN */
		s->rcv_adv = s->rcv_nxt + wnd;
	} else {
		uint8_t sh = s->ws_ok ? s->rcv_wscale : 0;
		uint32_t field = RTE_MIN(rwnd >> sh, 65535u);
		if ((field << sh) < rwnd && field < 65535 && SEQ_GT(s->rcv_adv, s->rcv_nxt) &&
		    (field << sh) < s->rcv_adv - s->rcv_nxt)
			field++; /* rounding down would shrink the advertised edge */
		wnd = (uint16_t)field;
		if (SEQ_GT(s->rcv_nxt + (field << sh), s->rcv_adv))
			s->rcv_adv = s->rcv_nxt + (field << sh);
		uint32_t blocks[8];
		unsigned int nb = 0;
		if (s->sack_ok && (flags & RTE_TCP_ACK_FLAG) && !(flags & RTE_TCP_RST_FLAG))
			nb = sack_blocks(s, blocks, 4);
		/* never more than the MTU holds (a segment cut before the blocks changed); a TSO
		 * segment's wire segments each carry the options, and their payload is the MSS
		 * less what the options take beyond the timestamps, as gs_tcp_seg_max */
		int room = (int)gs_mtu() - 40 - (int)len - (s->ts_ok ? GS_TCP_TS_OPT : 0);
		if (len > s->mss)
			room = INT16_MAX;
		nb = RTE_MIN(nb, room >= 12 ? (unsigned int)(room - 4) / 8 : 0u);
		optlen = gs_tcp_opts_data(opts, s->ts_ok ? ts : NULL, blocks, nb);
		if (len > s->mss)
			segsz = (uint16_t)(s->mss + (s->ts_ok ? GS_TCP_TS_OPT : 0) - optlen);
	}
	uint32_t ack = flags & RTE_TCP_ACK_FLAG ? s->rcv_nxt : 0;
	int rc = xmit(w, m, rte_cpu_to_be_32(s->key.rip), s->key.lport, s->key.rport, seq, ack,
		      flags, wnd, opts, optlen, segsz);
	if (rc == 0 && (flags & RTE_TCP_ACK_FLAG)) {
		s->need_ack = false;
		gs_tcp_delack_stop(s);
	}
	return rc;
}

/* The answer to a segment no connection takes (RFC 793 3.4, "reset generation"). */
void gs_tcp_send_rst(struct gs_worker *w, const struct rte_ipv4_hdr *ip,
		     const struct rte_tcp_hdr *th, uint32_t seglen)
{
	struct rte_mbuf *m;

	if (th->tcp_flags & RTE_TCP_RST_FLAG)
		return;
	m = seg_alloc(w);
	if (!m)
		return;
	uint16_t sport = rte_be_to_cpu_16(th->dst_port), dport = rte_be_to_cpu_16(th->src_port);
	if (th->tcp_flags & RTE_TCP_ACK_FLAG)
		xmit(w, m, ip->src_addr, sport, dport, rte_be_to_cpu_32(th->recv_ack), 0,
		     RTE_TCP_RST_FLAG, 0, NULL, 0, 0);
	else
		xmit(w, m, ip->src_addr, sport, dport, 0,
		     rte_be_to_cpu_32(th->sent_seq) + seglen, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG,
		     0, NULL, 0, 0);
}

static bool sends_data(uint8_t st)
{
	return st == GS_TCP_ESTABLISHED || st == GS_TCP_CLOSE_WAIT || st == GS_TCP_FIN_WAIT_1 ||
	       st == GS_TCP_CLOSING || st == GS_TCP_LAST_ACK;
}

/* Sends what the windows allow (data, then FIN), else the ACK that is due. */
void gs_tcp_output(struct gs_tcp_sock *s)
{
	bool sent = false;

	if (s->state == GS_TCP_SYN_SENT || s->state == GS_TCP_SYN_RCVD) {
		if (s->snd_nxt == s->iss) {
			uint8_t f = RTE_TCP_SYN_FLAG |
				    (s->state == GS_TCP_SYN_RCVD ? RTE_TCP_ACK_FLAG : 0);
			if (gs_tcp_send_seg(s, s->iss, 0, f) == 0) {
				s->snd_nxt = s->iss + 1;
				if (SEQ_GT(s->snd_nxt, s->snd_max))
					s->snd_max = s->snd_nxt;
			}
		}
		gs_tcp_timer_arm(s);
		return;
	}
	if (sends_data(s->state)) {
		uint32_t end = gs_tcp_data_end(s);
		/* limited transmit (RFC 3042): the first two duplicate ACKs each let a new
		 * segment out, to draw the third */
		uint32_t lt = s->in_recovery ? 0 : RTE_MIN(s->dupacks, 2u) * s->mss;
		uint32_t wnd = RTE_MIN(s->snd_wnd, s->cwnd + lt);
		uint32_t max = gs_tcp_seg_max(s); /* what we hold out of order is fixed meanwhile */
		uint32_t tso = gs_tcp_tso_max(s, max, wnd);
		while (SEQ_LT(s->snd_nxt, end)) {
			uint32_t inflight = s->snd_nxt - s->snd_una;
			if (inflight >= wnd)
				break;
			uint32_t len = RTE_MIN(RTE_MIN(tso, end - s->snd_nxt), wnd - inflight);
			/* sender silly window avoidance (RFC 1122 4.2.3.4): a short segment only
			 * when it is all there is, or nothing is in flight */
			if (len < max && len < end - s->snd_nxt && inflight)
				break;
			if (len > max && len < end - s->snd_nxt)
				len -= len % max; /* full wire segments; only the end of data is short */
			uint8_t f = RTE_TCP_ACK_FLAG;
			bool fin = s->fin_queued && s->snd_nxt + len == end;
			if (s->snd_nxt + len == end)
				f |= RTE_TCP_PSH_FLAG;
			if (fin)
				f |= RTE_TCP_FIN_FLAG;
			if (gs_tcp_send_seg(s, s->snd_nxt, len, f) < 0)
				break;
			if (SEQ_GT(s->snd_nxt, s->snd_max) || s->snd_nxt == s->snd_max) {
				if (!s->rtt_timing) { /* Karn: new data only */
					s->rtt_timing = true;
					s->rtt_seq = s->snd_nxt + len;
					s->rtt_ts = gs_now_us();
				}
			} else {
				s->tw->w->c[GS_C_tcp_rexmit]++;
			}
			s->snd_nxt += len + fin;
			if (SEQ_GT(s->snd_nxt, s->snd_max))
				s->snd_max = s->snd_nxt;
			sent = true;
		}
		/* FIN alone: it takes no window */
		if (s->fin_queued && s->snd_nxt == end &&
		    gs_tcp_send_seg(s, end, 0, RTE_TCP_ACK_FLAG | RTE_TCP_FIN_FLAG) == 0) {
			if (SEQ_LT(s->snd_nxt, s->snd_max))
				s->tw->w->c[GS_C_tcp_rexmit]++;
			s->snd_nxt = end + 1;
			if (SEQ_GT(s->snd_nxt, s->snd_max))
				s->snd_max = s->snd_nxt;
			sent = true;
		}
	}
	if (!sent && s->need_ack && s->state != GS_TCP_CLOSED && s->state != GS_TCP_LISTEN)
		gs_tcp_send_seg(s, s->snd_nxt, 0, RTE_TCP_ACK_FLAG);
	/* outstanding data, or data the peer's zero window holds back: the timer runs */
	if (s->snd_max != s->snd_una || (sends_data(s->state) && s->snd_wnd == 0 &&
					 SEQ_LT(s->snd_una, gs_tcp_data_end(s))))
		gs_tcp_timer_arm(s);
}

void gs_tcp_ack_later(struct gs_tcp_sock *s)
{
	s->need_ack = true;
	gs_tcp_output_later(s);
}

void gs_tcp_output_later(struct gs_tcp_sock *s)
{
	if (!s->on_ack_list) {
		s->on_ack_list = true;
		s->tw->ackl[s->tw->nack++] = s;
	}
}

/* After a burst: output for every connection the burst touched (data its ACKs let go, the ACK
 * for what arrived: one per connection per burst). */
void gs_tcp_flush(struct gs_tcp_wk *tw)
{
	for (unsigned int i = 0; i < tw->nack; i++) {
		struct gs_tcp_sock *s = tw->ackl[i];
		s->on_ack_list = false;
		if (s->used)
			gs_tcp_output(s);
		else
			gs_tcp_release(s);
	}
	tw->nack = 0;
}
