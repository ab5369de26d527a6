/* rpc_loss.c: loss.  A client slot with packets in flight and no answer for an RTO goes back to
 * its first unanswered packet and sends from there again (go-back-N); a session with no answer
 * at all for the session timeout fails every request it holds. */
#include "rpc_priv.h"

void rpc_session_fail(struct rpc *rpc, struct rpc_session *s, int err)
{
	if (!s->client)
		return;
	s->state = RPC_S_FAILED; /* first: a continuation that enqueues again gets -ENOTCONN */
	for (unsigned int k = 0; k < RPC_WINDOW; k++)
		if (s->c[k].busy)
			rpc_cslot_complete(rpc, s, &s->c[k], err);
	while (s->bl_head != s->bl_tail) {
		struct rpc_pending p = s->backlog[s->bl_head++ % RPC_BACKLOG];
		p.req->priv_flags &= ~RPC_MB_BUSY;
		p.resp->priv_flags &= ~RPC_MB_BUSY;
		rpc->c[RPC_C_req_failed]++;
		p.cont(rpc, p.tag, err);
	}
	s->inflight = 0;
}

static void session_scan(struct rpc *rpc, struct rpc_session *s)
{
	uint64_t rto = rpc_cc_rto(rpc, s);
	bool lost = false;

	for (unsigned int k = 0; k < RPC_WINDOW; k++) {
		struct rpc_cslot *c = &s->c[k];
		if (!c->busy || c->num_tx == c->num_rx || rpc->now - c->progress_us < rto)
			continue;
		if (rpc->now - s->progress_us >= (uint64_t)rpc->conf.session_timeout_ms * 1000) {
			RPC_LOG(NOTICE, "session %u: no answer for %u ms, failed", s->idx,
				rpc->conf.session_timeout_ms);
			rpc_session_fail(rpc, s, -ETIMEDOUT);
			rpc->c[RPC_C_sessions_failed]++;
			rpc_sm_event(rpc, s, RPC_SM_FAILED, -ETIMEDOUT);
			return;
		}
		/* With a copy per packet sent, nothing queued below us points into the request:
		 * sending again needs no drain, and stale copies still queued are dropped as
		 * duplicates by the server. */
		rpc->c[RPC_C_retransmits] += c->num_tx - c->num_rx;
		s->inflight -= c->num_tx - c->num_rx;
		c->karn_until = c->num_tx;
		c->num_tx = c->num_rx;
		c->progress_us = rpc->now;
		lost = true;
	}
	if (lost) {
		rpc->c[RPC_C_rto_events]++;
		rpc_cc_loss(rpc, s);
		rpc_kick(rpc, s);
	}
}

void rpc_loss_scan(struct rpc *rpc)
{
	for (unsigned int i = 0; i < RPC_MAX_SESSIONS; i++) {
		struct rpc_session *s = rpc->sess[i];
		if (!s || !s->client)
			continue;
		if (s->state == RPC_S_CONNECTING || s->state == RPC_S_DISCONNECTING)
			rpc_sm_scan(rpc, s);
		else if (s->state == RPC_S_CONNECTED)
			session_scan(rpc, s);
	}
}
