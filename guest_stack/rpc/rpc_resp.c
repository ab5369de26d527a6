/* rpc_resp.c: responses.  Server: enqueue, send packet 0, send packet k for each RFR.  Client:
 * the order checks shared with credit returns, response packets copied into the application's
 * buffer, completion. */
#include <string.h>
#include "rpc_priv.h"

int rpc_enqueue_response(struct rpc *rpc, struct rpc_req *req, struct rpc_msgbuf *resp)
{
	struct rpc_sslot *sl = req->slot;

	if (!sl->in_handler || !resp || resp->size > resp->max_size)
		return -EINVAL;
	if (resp != sl->pre_resp) {
		if (resp->priv_flags)
			return -EBUSY;
		resp->priv_flags = RPC_MB_ENGINE;
	}
	sl->resp = resp;
	sl->in_handler = false;
	rpc_resp_send(rpc, req->s, sl, 0);
	return 0;
}

void rpc_resp_send(struct rpc *rpc, struct rpc_session *s, struct rpc_sslot *sl, uint32_t k)
{
	uint32_t P = rpc->pkt_payload, off = k * P, len = RTE_MIN(P, sl->resp->size - off);

	rpc_tx_pkt(rpc, s, RPC_K_RESP, sl->req_type, sl->resp->size, sl->n_req - 1 + k,
		   sl->req_num, sl->resp->data + off, len);
}

void rpc_rfr_input(struct rpc *rpc, struct rpc_session *s, const struct rpc_hdr *h)
{
	uint64_t rn = rte_be_to_cpu_64(h->req_num);
	struct rpc_sslot *sl = &s->s[rn % RPC_WINDOW];
	uint32_t p = rte_be_to_cpu_32(h->pkt_num);

	if (!sl->seen || rn != sl->req_num || !sl->resp) {
		rpc->c[RPC_C_rx_stale]++;
		return;
	}
	if (p < sl->n_req || p - (sl->n_req - 1) >= rpc_npkts(rpc, sl->resp->size)) {
		rpc->c[RPC_C_rx_bad_pkt_num]++;
		return;
	}
	rpc_resp_send(rpc, s, sl, p - (sl->n_req - 1));
}

/* The slot a CR or response packet answers, if it is the next answer it waits for.  Go-back-N:
 * anything else is dropped (and repaired by the timeout).  Counts it received: the RTT sample,
 * the credit back. */
struct rpc_cslot *rpc_cslot_accept(struct rpc *rpc, struct rpc_session *s,
				   const struct rpc_hdr *h)
{
	uint64_t rn = rte_be_to_cpu_64(h->req_num);
	struct rpc_cslot *c = &s->c[rn % RPC_WINDOW];
	uint32_t p = rte_be_to_cpu_32(h->pkt_num);

	if (!c->busy || c->req_num != rn) {
		rpc->c[RPC_C_rx_stale]++;
		return NULL;
	}
	if (p != c->num_rx || p >= c->num_tx) {
		rpc->c[p < c->num_rx ? RPC_C_rx_dup : RPC_C_rx_out_of_order]++;
		return NULL;
	}
	if (p >= c->karn_until) /* Karn: no sample from a packet sent twice */
		rpc_cc_sample(rpc, s, (double)(rpc->now - c->tx_us[p % RPC_MAX_CREDITS]));
	c->num_rx++;
	s->inflight--;
	c->progress_us = s->progress_us = rpc->now;
	s->backoff = 0;
	return c;
}

void rpc_cslot_complete(struct rpc *rpc, struct rpc_session *s, struct rpc_cslot *c, int err)
{
	struct rpc_pending p = c->p;

	s->inflight -= c->num_tx - c->num_rx;
	c->busy = false;
	p.req->priv_flags &= ~RPC_MB_BUSY;
	p.resp->priv_flags &= ~RPC_MB_BUSY;
	rpc->c[err ? RPC_C_req_failed : RPC_C_req_done]++;
	p.cont(rpc, p.tag, err);
}

void rpc_resp_input(struct rpc *rpc, struct rpc_session *s, const struct rpc_hdr *h,
		    const uint8_t *data, uint32_t len)
{
	uint32_t p = rte_be_to_cpu_32(h->pkt_num), size = rte_be_to_cpu_32(h->msg_size);
	uint64_t rn = rte_be_to_cpu_64(h->req_num);
	struct rpc_cslot *c = &s->c[rn % RPC_WINDOW];
	uint32_t P = rpc->pkt_payload;

	/* checks before the packet counts as the answer it claims to be */
	if (c->busy && c->req_num == rn && p == c->num_rx && p < c->num_tx) {
		uint32_t k = p - (c->n_req - 1);
		int why = 0;
		if (p < c->n_req - 1)
			why = RPC_C_rx_bad_pkt_num;
		else if (size > RPC_MAX_MSG || (k > 0 && size != c->p.resp->size))
			why = RPC_C_rx_bad_size;
		else if (k >= rpc_npkts(rpc, size) || len != RTE_MIN(P, size - k * P))
			why = RPC_C_rx_bad_size;
		if (why) {
			rpc->c[why]++;
			return;
		}
	}
	if (!(c = rpc_cslot_accept(rpc, s, h)))
		return;
	uint32_t k = p - (c->n_req - 1);
	if (k == 0) {
		if (size > c->p.resp->max_size) {
			rpc->c[RPC_C_resp_too_big]++;
			rpc_cslot_complete(rpc, s, c, -EMSGSIZE);
			rpc_kick(rpc, s);
			return;
		}
		c->p.resp->size = size;
		c->n_resp = rpc_npkts(rpc, size);
	}
	memcpy(c->p.resp->data + k * P, data, len);
	if (c->num_rx == c->n_req + c->n_resp - 1)
		rpc_cslot_complete(rpc, s, c, 0);
	rpc_kick(rpc, s);
}
