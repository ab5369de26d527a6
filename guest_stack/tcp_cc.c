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

void gs_tcp_cc_ack(struct gs_tcp_sock *s, uint32_t acked)
{
	if (s->cwnd < s->ssthresh)
		s->cwnd += RTE_MIN(acked, (uint32_t)s->mss);
	else
		s->cwnd += RTE_MAX(1u, (uint32_t)s->mss * s->mss / s->cwnd);
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

/* With SACK: the next hole after what this recovery resent already; false when none. */
static bool rexmit_hole(struct gs_tcp_sock *s)
{
	uint32_t seq, len;

	if (!s->sack_ok || !s->nsacked || gs_tcp_sack_hole(s, s->rexmit_hi, &seq, &len) < 0)
		return false;
	s->rtt_timing = false; /* Karn */
	if (gs_tcp_send_seg(s, seq, len, RTE_TCP_ACK_FLAG) == 0) {
		s->tw->w->c[GS_C_tcp_rexmit]++;
		s->tw->w->c[GS_C_tcp_sack_rexmit]++;
	}
	s->rexmit_hi = seq + len;
	return true;
}

/* The first unacknowledged segment again, leaving snd_nxt where it is. */
static void rexmit_una(struct gs_tcp_sock *s)
{
	uint32_t end = gs_tcp_data_end(s);
	uint32_t len = RTE_MIN((uint32_t)s->mss, end - s->snd_una);
	uint8_t f = RTE_TCP_ACK_FLAG;

	if (SEQ_GEQ(s->snd_una, end))
		len = 0;
	if (s->fin_queued && s->snd_una + len == end && SEQ_GT(s->snd_max, end))
		f |= RTE_TCP_FIN_FLAG;
	if (!len && !(f & RTE_TCP_FIN_FLAG))
		return;
	s->rtt_timing = false; /* Karn */
	if (gs_tcp_send_seg(s, s->snd_una, len, f) == 0)
		s->tw->w->c[GS_C_tcp_rexmit]++;
	s->rexmit_hi = s->snd_una + len;
}

bool gs_tcp_cc_dupack(struct gs_tcp_sock *s)
{
	if (++s->dupacks == 3 && !s->in_recovery && SEQ_GT(s->snd_una, s->recover - 1)) {
		s->ssthresh = RTE_MAX(flight(s) / 2, 2u * s->mss);
		s->recover = s->snd_max;
		s->in_recovery = true;
		s->tw->w->c[GS_C_tcp_fast_rexmit]++;
		rexmit_una(s);
		s->cwnd = s->ssthresh + 3u * s->mss;
		return true;
	}
	if (s->in_recovery && s->dupacks > 3) {
		s->cwnd += s->mss; /* each dup ACK: a segment left the network */
		return rexmit_hole(s); /* with SACK: the next hole, one per dup ACK */
	}
	return false;
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
