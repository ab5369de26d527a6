/* tcp_cc.c: congestion control, NewReno: slow start and congestion avoidance (RFC 5681), an
 * initial window of 10 segments (RFC 6928), fast retransmit on three duplicate ACKs and fast
 * recovery with partial ACKs (RFC 6582); with SACK, each further duplicate ACK resends the next
 * hole of the scoreboard (tcp_sack.c). */
#include "tcp_priv.h"

static uint32_t flight(const struct gs_tcp_sock *s)
{
	return s->snd_max - s->snd_una;
}

void gs_tcp_cc_init(struct gs_tcp_sock *s)
{
	s->cwnd = 10u * s->mss;
	s->ssthresh = UINT32_MAX;
	s->recover = s->iss; /* RFC 6582's "recover" starts at the initial sequence number */
}

/* Byte counting (RFC 3465; Linux counts every segment an ACK covers): one ACK of a TSO segment
 * or a large receive covers many MSS, and counting it as one would leave slow start and
 * congestion avoidance crawling. */
void gs_tcp_cc_ack(struct gs_tcp_sock *s, uint32_t acked)
{
	if (s->cwnd < s->ssthresh)
		s->cwnd += acked;
	else
		s->cwnd += RTE_MAX(1u, (uint32_t)((uint64_t)s->mss * acked / s->cwnd));
	s->cwnd = RTE_MIN(s->cwnd, 1u << 30);
}

void gs_tcp_cc_rto(struct gs_tcp_sock *s)
{
	s->ssthresh = RTE_MAX(flight(s) / 2, 2u * s->mss);
	s->cwnd = s->mss;
	s->in_recovery = false;
	s->dupacks = 0;
	s->recover = s->snd_max;
	gs_tcp_sack_clear(s); /* go-back-N resends it all */
}

/* With SACK: the next hole after what this recovery resent already; false when none.  A hole
 * goes as one segment, TSO-sized when it is larger than the MSS (the switch dropped a whole
 * TSO segment); a wire segment lost after the cut is a hole of one MSS, resent as that. */
static bool rexmit_hole(struct gs_tcp_sock *s)
{
	uint32_t seq, len;
	uint32_t max = gs_tcp_tso_max(s, gs_tcp_seg_max(s), RTE_MIN(s->snd_wnd, s->cwnd));

	if (!s->sack_ok || !s->nsacked)
		return false;
	if (gs_tcp_sack_hole(s, s->rexmit_hi, max, &seq, &len) < 0) {
		/* Every hole went once. If the peer now holds data sent after the first of
		 * those resends (two segments beyond it), a resend was lost too: walk the
		 * holes again, as Linux's lost-retransmit detection, rather than wait for
		 * the RTO. */
		if (SEQ_LEQ(s->sacked[2 * s->nsacked - 1], s->rexmit_mark + 2u * s->mss) ||
		    gs_tcp_sack_hole(s, s->snd_una, max, &seq, &len) < 0)
			return false;
		s->rexmit_mark = s->snd_nxt;
	}
	s->rtt_timing = false; /* Karn */
	if (gs_tcp_send_seg(s, seq, len, RTE_TCP_ACK_FLAG) == 0) {
		s->tw->w->c[GS_C_tcp_rexmit]++;
		s->tw->w->c[GS_C_tcp_sack_rexmit]++;
	}
	s->rexmit_hi = seq + len;
	return true;
}

/* The first unacknowledged segment again, leaving snd_nxt where it is.  With TSO it is the
 * hole at snd_una (up to the first byte the peer holds), as one segment of up to the TSO size:
 * a whole TSO segment lost, or a tail of them that no SACK reports, goes back at the pace it
 * left rather than one MSS a round trip; a lost wire segment is a hole of one MSS. */
static void rexmit_una(struct gs_tcp_sock *s)
{
	uint32_t end = gs_tcp_data_end(s);
	/* never past what was sent: bytes beyond snd_max would be taken, and the peer's ACK
	 * of them refused as acknowledging unsent data (RFC 5961), for ever */
	uint32_t hi = SEQ_LT(s->snd_max, end) ? s->snd_max : end;
	uint32_t hole = s->nsacked && SEQ_GT(s->sacked[0], s->snd_una) && SEQ_LT(s->sacked[0], hi)
				? s->sacked[0]
				: hi;
	uint32_t max = gs_tcp_tso_max(s, gs_tcp_seg_max(s), RTE_MIN(s->snd_wnd, s->cwnd));
	uint32_t len = RTE_MIN(max, hole - s->snd_una);
	uint8_t f = RTE_TCP_ACK_FLAG;

	if (SEQ_GEQ(s->snd_una, hi))
		len = 0;
	if (s->fin_queued && s->snd_una + len == end && SEQ_GT(s->snd_max, end))
		f |= RTE_TCP_FIN_FLAG;
	if (!len && !(f & RTE_TCP_FIN_FLAG))
		return;
	s->rtt_timing = false; /* Karn */
	if (gs_tcp_send_seg(s, s->snd_una, len, f) == 0)
		s->tw->w->c[GS_C_tcp_rexmit]++;
	s->rexmit_hi = s->snd_una + len;
	s->rexmit_mark = s->snd_nxt;
}

/* Nothing new can go out: all is sent, or the windows have no room for a full segment (the
 * sender's silly window avoidance holds back a smaller one). */
static bool stalled(const struct gs_tcp_sock *s)
{
	return SEQ_GEQ(s->snd_nxt, gs_tcp_data_end(s)) ||
	       s->snd_nxt - s->snd_una + gs_tcp_seg_max(s) > RTE_MIN(s->snd_wnd, s->cwnd);
}

void gs_tcp_cc_dupack(struct gs_tcp_sock *s, uint32_t newly_sacked)
{
	uint32_t sacked = gs_tcp_sack_bytes(s);

	/* Lost: three duplicates; three segments' worth SACKed beyond the hole (RFC 6675's
	 * IsLost: a peer that acknowledges every second segment SACKs two at a time); or, when
	 * nothing new can go out to draw more ACKs, all but one segment of the flight SACKed
	 * (RFC 5827's early retransmit), or the RTO would be all that is left. */
	++s->dupacks;
	bool lost = s->dupacks >= 3 || sacked >= 3u * s->mss ||
		    (sacked && stalled(s) && sacked + gs_tcp_seg_max(s) >= flight(s));
	/* After a recovery or an RTO, NewReno waits for everything sent before it to be
	 * acknowledged (RFC 6582), as duplicates of a go-back-N look like loss. A SACK that
	 * reports new data held is no such duplicate: a loss in the resent flight is
	 * repaired now, not by the next RTO. */
	bool may = SEQ_GT(s->snd_una, s->recover - 1) || (s->sack_ok && newly_sacked);
	if (lost && may && !s->in_recovery) {
		s->ssthresh = RTE_MAX(flight(s) / 2, 2u * s->mss);
		s->recover = s->snd_max;
		s->in_recovery = true;
		s->tw->w->c[GS_C_tcp_fast_rexmit]++;
		rexmit_una(s);
		s->cwnd = s->ssthresh + 3u * s->mss;
	} else if (s->in_recovery) {
		s->cwnd += s->mss; /* each dup ACK: a segment left the network */
		rexmit_hole(s);	   /* with SACK: the next hole, one per dup ACK */
	}
}

bool gs_tcp_cc_recovery_ack(struct gs_tcp_sock *s, uint32_t acked)
{
	if (SEQ_GEQ(s->snd_una, s->recover)) { /* full ACK: deflate (RFC 6582 3.2 step 3) */
		s->cwnd = RTE_MIN(s->ssthresh, RTE_MAX(flight(s), (uint32_t)s->mss) + s->mss);
		s->in_recovery = false;
		s->dupacks = 0;
		return false;
	}
	/* partial ACK: the next hole goes at once; deflate by what was acked */
	if (SEQ_LT(s->rexmit_hi, s->snd_una) || !rexmit_hole(s))
		rexmit_una(s);
	s->cwnd = s->cwnd > acked ? s->cwnd - acked : s->mss;
	if (acked >= s->mss)
		s->cwnd += s->mss;
	return true;
}
