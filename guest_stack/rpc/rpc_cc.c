/* rpc_cc.c: RTT, the retransmission timeout and congestion control.
 *
 * The RTO is RFC 6298's (srtt + 4 rttvar, a floor, doubled per timeout in a row).  Congestion
 * control is a delay-target window in the manner of Swift (SIGCOMM'20) rather than Timely's
 * paced rate: on these software paths the queue that overflows is a vring or a switch ring, and
 * bounding the packets in flight bounds it directly, with no pacing wheel.  The target is twice
 * the least RTT seen, plus 20 us.  A sample below it grows the window by one packet per RTT.
 * The window shrinks, in proportion to the excess and at most once per RTT, only when no sample
 * of a whole half RTT came below it (the least of them is Copa's standing RTT): a queue that
 * stands delays every sample, a receiver descheduled for a moment (a guest sharing its CPU)
 * only those behind the pause, and cutting for those starves a session on a crowded host.  A
 * timeout halves it.  The session's credits cap it. */
#include "rpc_priv.h"

#define CC_BETA 0.8
#define CC_TARGET_ADD_US 20.0

void rpc_cc_init(struct rpc *rpc, struct rpc_session *s)
{
	s->cwnd = s->credits;
	s->srtt = s->rttvar = s->min_rtt = 0;
	s->backoff = 0;
	s->last_cut_us = s->win_start_us = rpc->now;
	s->win_min = 0;
}

static double target(const struct rpc_session *s)
{
	return 2 * s->min_rtt + CC_TARGET_ADD_US;
}

/* The window's reaction to standing, the least RTT of the half RTT that just ended. */
static void cut(struct rpc *rpc, struct rpc_session *s, double standing)
{
	double t = target(s);

	if (standing <= t || rpc->now - s->last_cut_us < s->srtt)
		return;
	s->cwnd = RTE_MAX(s->cwnd * RTE_MAX(1 - CC_BETA * (standing - t) / standing, 0.5), 1.0);
	s->last_cut_us = rpc->now;
}

void rpc_cc_sample(struct rpc *rpc, struct rpc_session *s, double rtt)
{
	if (rtt < 1)
		rtt = 1;
	if (!s->srtt) {
		s->srtt = rtt;
		s->rttvar = rtt / 2;
	} else {
		s->rttvar = 0.75 * s->rttvar + 0.25 * (s->srtt > rtt ? s->srtt - rtt : rtt - s->srtt);
		s->srtt = 0.875 * s->srtt + 0.125 * rtt;
	}
	if (!s->min_rtt || rtt < s->min_rtt)
		s->min_rtt = rtt;
	if (rpc->conf.no_cc)
		return;
	if (rtt <= target(s))
		s->cwnd = RTE_MIN(s->cwnd + 1.0 / s->cwnd, (double)s->credits);
	if (s->win_min && rpc->now - s->win_start_us >= s->srtt / 2) {
		cut(rpc, s, s->win_min);
		s->win_min = 0;
	}
	if (!s->win_min) {
		s->win_min = rtt;
		s->win_start_us = rpc->now;
	} else if (rtt < s->win_min) {
		s->win_min = rtt;
	}
}

void rpc_cc_loss(struct rpc *rpc, struct rpc_session *s)
{
	if (s->backoff < 8)
		s->backoff++;
	if (rpc->conf.no_cc)
		return;
	s->cwnd = RTE_MAX(s->cwnd / 2, 1.0);
	s->last_cut_us = rpc->now;
}

uint64_t rpc_cc_rto(const struct rpc *rpc, const struct rpc_session *s)
{
	uint64_t base = (uint64_t)(s->srtt + 4 * s->rttvar);

	base = RTE_MAX(base, (uint64_t)rpc->conf.rto_min_us);
	return RTE_MIN(base << s->backoff, (uint64_t)RPC_RTO_MAX_US);
}

unsigned int rpc_cc_window(const struct rpc *rpc, const struct rpc_session *s)
{
	if (rpc->conf.no_cc)
		return s->credits;
	return RTE_MIN(RTE_MAX((unsigned int)s->cwnd, 1u), s->credits);
}
