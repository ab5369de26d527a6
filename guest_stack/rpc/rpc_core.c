/* rpc_core.c: an endpoint's life, its sessions table, packet input (header checks, then one
 * file per packet kind) and the event loop. */
#include <string.h>
#include <rte_malloc.h>
#include "rpc_priv.h"

RTE_LOG_REGISTER_DEFAULT(rpc_logtype, NOTICE);

struct rpc *rpc_create_tp(const struct rpc_tp_ops *tp, void *ctx, const struct rpc_addr *local,
			  uint32_t udp_payload, const struct rpc_conf *conf)
{
	struct rpc *rpc;

	if (!conf || !conf->udp_port || conf->credits > RPC_MAX_CREDITS ||
	    udp_payload <= RPC_HDR + 64) {
		errno = EINVAL;
		return NULL;
	}
	rpc = rte_zmalloc("rpc", sizeof(*rpc), RTE_CACHE_LINE_SIZE);
	if (!rpc) {
		errno = ENOMEM;
		return NULL;
	}
	rpc->conf = *conf;
	if (!rpc->conf.credits)
		rpc->conf.credits = 32;
	if (!rpc->conf.rto_min_us)
		rpc->conf.rto_min_us = 2000;
	if (!rpc->conf.session_timeout_ms)
		rpc->conf.session_timeout_ms = 5000;
	rpc->tp = tp;
	rpc->tp_ctx = ctx;
	rpc->local = *local;
	rpc->pkt_payload = udp_payload - RPC_HDR;
	rpc->now = tp->now_us(ctx);
	return rpc;
}

void rpc_destroy(struct rpc *rpc)
{
	if (!rpc)
		return;
	for (unsigned int i = 0; i < RPC_MAX_SESSIONS; i++)
		if (rpc->sess[i]) {
			rpc_session_fail(rpc, rpc->sess[i], -ECONNRESET);
			rpc_session_free(rpc, rpc->sess[i]);
		}
	for (unsigned int i = 0; i < rpc->ntx; i++)
		rte_pktmbuf_free(rpc->txq[i].m);
	if (rpc->tp->close)
		rpc->tp->close(rpc->tp_ctx);
	rte_free(rpc);
}

int rpc_register_handler(struct rpc *rpc, uint8_t req_type, rpc_req_handler fn, void *ctx)
{
	if (rpc->handlers[req_type].fn)
		return -EEXIST;
	rpc->handlers[req_type].fn = fn;
	rpc->handlers[req_type].ctx = ctx;
	return 0;
}

void rpc_set_sm_handler(struct rpc *rpc, rpc_sm_handler fn, void *ctx)
{
	rpc->sm_fn = fn;
	rpc->sm_ctx = ctx;
}

uint32_t rpc_pkt_payload(const struct rpc *rpc)
{
	return rpc->pkt_payload;
}

struct rpc_session *rpc_session_get(const struct rpc *rpc, int idx)
{
	return idx >= 0 && idx < RPC_MAX_SESSIONS ? rpc->sess[idx] : NULL;
}

struct rpc_session *rpc_session_new(struct rpc *rpc)
{
	for (uint16_t i = 0; i < RPC_MAX_SESSIONS; i++) {
		if (rpc->sess[i])
			continue;
		struct rpc_session *s = rte_zmalloc("rpc_session", sizeof(*s), RTE_CACHE_LINE_SIZE);
		if (!s)
			return NULL;
		s->idx = i;
		s->credits = rpc->conf.credits;
		s->progress_us = rpc->now;
		for (unsigned int k = 0; k < RPC_WINDOW; k++)
			s->next_req_num[k] = k;
		rpc_cc_init(rpc, s);
		rpc->sess[i] = s;
		return s;
	}
	return NULL;
}

void rpc_session_free(struct rpc *rpc, struct rpc_session *s)
{
	for (unsigned int k = 0; k < RPC_WINDOW; k++) {
		struct rpc_sslot *sl = &s->s[k];
		rpc_msgbuf_release(rpc, sl->req_mb);
		rpc_msgbuf_release(rpc, sl->resp);
		if (sl->pre_resp != sl->resp)
			rpc_msgbuf_release(rpc, sl->pre_resp);
	}
	rpc->sess[s->idx] = NULL;
	rte_free(s);
}

enum rpc_session_state rpc_session_state(const struct rpc *rpc, int session)
{
	const struct rpc_session *s = rpc_session_get(rpc, session);
	return s ? s->state : RPC_S_FREE;
}

void rpc_sm_event(struct rpc *rpc, struct rpc_session *s, enum rpc_sm_event ev, int err)
{
	if (rpc->sm_fn)
		rpc->sm_fn(rpc, s->idx, ev, err, rpc->sm_ctx);
}

/* Checks what every packet must satisfy; the kind's own file checks the rest. */
static void input_one(struct rpc *rpc, struct rte_mbuf *m, const struct rpc_addr *src)
{
	const struct rpc_hdr *h = rte_pktmbuf_mtod(m, const struct rpc_hdr *);
	uint32_t len = rte_pktmbuf_data_len(m);
	struct rpc_session *s;

	if (m->nb_segs != 1 || len < RPC_HDR) {
		rpc->c[RPC_C_rx_short]++;
		goto drop;
	}
	if (h->magic != rte_cpu_to_be_16(RPC_MAGIC)) {
		rpc->c[RPC_C_rx_bad_magic]++;
		goto drop;
	}
	if (h->kind >= RPC_K_CONNECT && h->kind <= RPC_K_DISCONNECT_OK) {
		rpc->c[RPC_C_sm_rx]++;
		rpc_sm_input(rpc, h, src);
		goto drop;
	}
	s = rpc_session_get(rpc, rte_be_to_cpu_16(h->dst_sess));
	if (!s || (s->state != RPC_S_CONNECTED && s->state != RPC_S_SERVER) ||
	    s->remote.ip != src->ip || s->remote.port != src->port) {
		rpc->c[RPC_C_rx_unknown_session]++;
		goto drop;
	}
	switch (h->kind) {
	case RPC_K_REQ:
		if (s->client)
			break;
		rpc_req_input(rpc, s, h, m); /* takes m */
		return;
	case RPC_K_RFR:
		if (s->client)
			break;
		rpc_rfr_input(rpc, s, h);
		goto drop;
	case RPC_K_CR:
		if (!s->client)
			break;
		rpc_cr_input(rpc, s, h);
		goto drop;
	case RPC_K_RESP:
		if (!s->client)
			break;
		rpc_resp_input(rpc, s, h, (const uint8_t *)(h + 1), len - RPC_HDR);
		goto drop;
	}
	rpc->c[RPC_C_rx_bad_kind]++;
drop:
	rte_pktmbuf_free(m);
}

void rpc_input(struct rpc *rpc, struct rte_mbuf **pkts, const struct rpc_addr *src, uint16_t n)
{
	rpc->c[RPC_C_rx_pkts] += n;
	for (uint16_t i = 0; i < n; i++)
		input_one(rpc, pkts[i], &src[i]);
}

unsigned int rpc_run_event_loop_once(struct rpc *rpc)
{
	rpc->now = rpc->tp->now_us(rpc->tp_ctx);
	unsigned int work = rpc->tp->poll(rpc->tp_ctx);
	if (rpc->now >= rpc->next_scan) {
		rpc->next_scan = rpc->now + rpc->conf.rto_min_us / 4;
		rpc_loss_scan(rpc);
	}
	rpc_tx_flush(rpc);
	return work;
}

void rpc_run_event_loop(struct rpc *rpc, unsigned int timeout_ms)
{
	uint64_t end = rpc->tp->now_us(rpc->tp_ctx) + (uint64_t)timeout_ms * 1000;

	while (rpc->now < end) {
		unsigned int work = rpc_run_event_loop_once(rpc);
		if (rpc->tp->idle)
			rpc->tp->idle(rpc->tp_ctx, work);
	}
}

static const char *const ctr_names[] = {
#define RPC_CTR_NAME(n) #n,
	RPC_COUNTERS(RPC_CTR_NAME)};

const char *rpc_ctr_name(enum rpc_ctr c)
{
	return c < RPC_C_MAX ? ctr_names[c] : "?";
}

void rpc_stats(const struct rpc *rpc, uint64_t ctr[RPC_C_MAX])
{
	memcpy(ctr, rpc->c, sizeof(rpc->c));
}

int rpc_session_info(const struct rpc *rpc, int session, double *srtt_us, double *cwnd)
{
	const struct rpc_session *s = rpc_session_get(rpc, session);

	if (!s)
		return -ENOENT;
	*srtt_us = s->srtt;
	*cwnd = s->cwnd;
	return 0;
}
