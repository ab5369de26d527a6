/* rpc_req.c: requests.  Client: the backlog, slots, and sending request packets and RFRs within
 * the session's window.  Server: request packets in order, assembled, the handler run once. */
#include <string.h>
#include "rpc_priv.h"

int rpc_enqueue_request(struct rpc *rpc, int session, uint8_t req_type, struct rpc_msgbuf *req,
			struct rpc_msgbuf *resp, rpc_cont cont, void *tag)
{
	struct rpc_session *s = rpc_session_get(rpc, session);

	if (!s || !s->client)
		return -ENOENT;
	if (s->state != RPC_S_CONNECTING && s->state != RPC_S_CONNECTED)
		return -ENOTCONN;
	if (!req || !resp || !cont || req == resp || req->size > req->max_size)
		return -EINVAL;
	if ((req->priv_flags | resp->priv_flags) & (RPC_MB_BUSY | RPC_MB_ENGINE | RPC_MB_VIEW))
		return -EBUSY;
	if (s->bl_tail - s->bl_head == RPC_BACKLOG)
		return -EAGAIN;
	req->priv_flags |= RPC_MB_BUSY;
	resp->priv_flags |= RPC_MB_BUSY;
	s->backlog[s->bl_tail++ % RPC_BACKLOG] = (struct rpc_pending){req_type, req, resp, cont, tag};
	rpc_kick(rpc, s);
	return 0;
}

static bool any_busy(const struct rpc_session *s)
{
	for (unsigned int k = 0; k < RPC_WINDOW; k++)
		if (s->c[k].busy)
			return true;
	return false;
}

static void slot_start(struct rpc *rpc, struct rpc_session *s, unsigned int k)
{
	struct rpc_cslot *c = &s->c[k];

	if (!any_busy(s)) /* the session's clock for failure starts with its first request */
		s->progress_us = rpc->now;
	c->busy = true;
	c->p = s->backlog[s->bl_head++ % RPC_BACKLOG];
	c->req_num = s->next_req_num[k];
	s->next_req_num[k] += RPC_WINDOW;
	c->n_req = rpc_npkts(rpc, c->p.req->size);
	c->n_resp = 0;
	c->num_tx = c->num_rx = c->karn_until = 0;
	c->progress_us = rpc->now;
	rpc->c[RPC_C_req_sent]++;
}

static bool can_send(const struct rpc_cslot *c)
{
	return c->num_tx < c->n_req || (c->n_resp && c->num_tx < c->n_req + c->n_resp - 1);
}

static void send_next(struct rpc *rpc, struct rpc_session *s, struct rpc_cslot *c)
{
	uint32_t p = c->num_tx, P = rpc->pkt_payload;

	if (c->num_tx == c->num_rx)
		c->progress_us = rpc->now; /* the timeout runs while something is in flight */
	if (p < c->n_req) {
		uint32_t off = p * P, len = RTE_MIN(P, c->p.req->size - off);
		rpc_tx_pkt(rpc, s, RPC_K_REQ, c->p.req_type, c->p.req->size, p, c->req_num,
			   c->p.req->data + off, len);
	} else {
		rpc_tx_pkt(rpc, s, RPC_K_RFR, c->p.req_type, 0, p, c->req_num, NULL, 0);
		rpc->c[RPC_C_rfr_tx]++;
	}
	c->tx_us[p % RPC_MAX_CREDITS] = rpc->now;
	c->num_tx++;
	s->inflight++;
}

/* Starts what the backlog holds on free slots, then sends while the window allows. */
void rpc_kick(struct rpc *rpc, struct rpc_session *s)
{
	if (s->state != RPC_S_CONNECTED)
		return;
	for (unsigned int k = 0; k < RPC_WINDOW && s->bl_head != s->bl_tail; k++)
		if (!s->c[k].busy)
			slot_start(rpc, s, k);
	unsigned int win = rpc_cc_window(rpc, s);
	for (unsigned int k = 0; k < RPC_WINDOW && s->inflight < win; k++) {
		struct rpc_cslot *c = &s->c[k];
		while (c->busy && s->inflight < win && can_send(c))
			send_next(rpc, s, c);
	}
}

/* ---- server ---- */

static void run_handler(struct rpc *rpc, struct rpc_session *s, struct rpc_sslot *sl,
			uint8_t *data)
{
	sl->in_handler = true;
	sl->req = (struct rpc_req){.s = s, .slot = sl};
	sl->req.view = (struct rpc_msgbuf){.data = data, .size = sl->req_size,
					   .max_size = sl->req_size, .priv_flags = RPC_MB_VIEW};
	rpc->c[RPC_C_req_handled]++;
	rpc->handlers[sl->req_type].fn(rpc, &sl->req, rpc->handlers[sl->req_type].ctx);
	/* the request's bytes are gone once the handler returns (documented in rpc.h) */
	sl->req.view.data = NULL;
	rpc_msgbuf_release(rpc, sl->req_mb);
	sl->req_mb = NULL;
}

/* A new request on the slot: the client has the previous response, so it goes. */
static void slot_reset(struct rpc *rpc, struct rpc_sslot *sl, const struct rpc_hdr *h)
{
	if (sl->resp != sl->pre_resp)
		rpc_msgbuf_release(rpc, sl->resp);
	sl->resp = NULL;
	rpc_msgbuf_release(rpc, sl->req_mb);
	sl->req_mb = NULL;
	sl->seen = true;
	sl->req_num = rte_be_to_cpu_64(h->req_num);
	sl->req_type = h->req_type;
	sl->req_size = rte_be_to_cpu_32(h->msg_size);
	sl->n_req = rpc_npkts(rpc, sl->req_size);
	sl->num_rx = 0;
}

/* Returns the counter of the drop, or 0 when the packet is the next one in order.  Nothing
 * changes until a packet passed every check: a bad one cannot take a slot's kept response. */
static int req_check(struct rpc *rpc, struct rpc_session *s, struct rpc_sslot *sl,
		     const struct rpc_hdr *h, uint32_t len)
{
	uint64_t rn = rte_be_to_cpu_64(h->req_num);
	uint32_t p = rte_be_to_cpu_32(h->pkt_num), P = rpc->pkt_payload;
	uint32_t size = rte_be_to_cpu_32(h->msg_size);
	bool fresh = !sl->seen || rn > sl->req_num;

	if (!fresh && rn < sl->req_num)
		return RPC_C_rx_stale;
	if (size > RPC_MAX_MSG)
		return RPC_C_rx_bad_size;
	if (fresh && sl->in_handler) /* the client cannot have its response yet */
		return RPC_C_rx_out_of_order;
	if (fresh && !rpc->handlers[h->req_type].fn)
		return RPC_C_rx_no_handler;
	if (!fresh && (size != sl->req_size || h->req_type != sl->req_type))
		return RPC_C_rx_bad_size;
	if (p >= rpc_npkts(rpc, size))
		return RPC_C_rx_bad_pkt_num;
	if (len != RTE_MIN(P, size - p * P))
		return RPC_C_rx_bad_size;
	if (fresh) {
		if (p != 0)
			return RPC_C_rx_out_of_order; /* its first packet was lost */
		slot_reset(rpc, sl, h);
	}
	if (p < sl->num_rx) { /* sent again: its answer was lost, send that again */
		if (p < sl->n_req - 1) {
			rpc_tx_pkt(rpc, s, RPC_K_CR, sl->req_type, 0, p, rn, NULL, 0);
			rpc->c[RPC_C_cr_tx]++;
		} else if (sl->resp) {
			rpc_resp_send(rpc, s, sl, 0);
		}
		return RPC_C_rx_dup;
	}
	if (p > sl->num_rx)
		return RPC_C_rx_out_of_order;
	return 0;
}

void rpc_req_input(struct rpc *rpc, struct rpc_session *s, const struct rpc_hdr *h,
		   struct rte_mbuf *m)
{
	struct rpc_sslot *sl = &s->s[rte_be_to_cpu_64(h->req_num) % RPC_WINDOW];
	uint32_t len = rte_pktmbuf_data_len(m) - RPC_HDR, p = rte_be_to_cpu_32(h->pkt_num);
	uint8_t *data = (uint8_t *)(h + 1);
	int why = req_check(rpc, s, sl, h, len);

	if (!why && sl->n_req > 1 && p == 0) {
		sl->req_mb = rpc_msgbuf_alloc(rpc, sl->req_size);
		if (!sl->req_mb)
			why = RPC_C_no_mbuf;
	}
	if (why) {
		rpc->c[why]++;
		rte_pktmbuf_free(m);
		return;
	}
	sl->num_rx++;
	if (sl->n_req == 1) { /* zero copy: the handler reads the packet itself */
		run_handler(rpc, s, sl, data);
		rte_pktmbuf_free(m);
		return;
	}
	memcpy(sl->req_mb->data + p * rpc->pkt_payload, data, len);
	rte_pktmbuf_free(m);
	if (p < sl->n_req - 1) {
		rpc_tx_pkt(rpc, s, RPC_K_CR, sl->req_type, 0, p, sl->req_num, NULL, 0);
		rpc->c[RPC_C_cr_tx]++;
	} else {
		run_handler(rpc, s, sl, sl->req_mb->data);
	}
}

const struct rpc_msgbuf *rpc_req_msgbuf(const struct rpc_req *req)
{
	return &req->view;
}

uint8_t rpc_req_type(const struct rpc_req *req)
{
	return req->slot->req_type;
}

struct rpc_msgbuf *rpc_req_pre_resp(struct rpc_req *req)
{
	return req->slot->pre_resp;
}
