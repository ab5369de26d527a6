/* rpc_sm.c: session management on the data path: connect and disconnect handshakes, sent again
 * until answered or the session timeout passes, and answered again when repeated. */
#include <rte_random.h>
#include "rpc_priv.h"

static void sm_send(struct rpc *rpc, const struct rpc_addr *dst, uint8_t kind, uint16_t dst_sess,
		    uint16_t src_sess, uint32_t arg, uint64_t token, uint32_t err)
{
	struct rpc_hdr h = {
		.magic = rte_cpu_to_be_16(RPC_MAGIC),
		.kind = kind,
		.dst_sess = rte_cpu_to_be_16(dst_sess),
		.src_sess = rte_cpu_to_be_16(src_sess),
		.msg_size = rte_cpu_to_be_32(arg),
		.pkt_num = rte_cpu_to_be_32(err),
		.req_num = rte_cpu_to_be_64(token),
	};
	if (rpc_tx_raw(rpc, dst, &h) == 0)
		rpc->c[RPC_C_sm_tx]++;
}

static void sm_resend(struct rpc *rpc, struct rpc_session *s)
{
	if (s->state == RPC_S_CONNECTING)
		sm_send(rpc, &s->remote, RPC_K_CONNECT, RPC_NO_SESSION, s->idx, s->credits,
			s->token, 0);
	else
		sm_send(rpc, &s->remote, RPC_K_DISCONNECT, s->remote_sess, s->idx, 0, s->token, 0);
	s->sm_next_us = rpc->now + RPC_SM_RETRY_US;
}

int rpc_connect(struct rpc *rpc, const struct rpc_addr *remote)
{
	struct rpc_session *s;

	if (!remote || !remote->ip || !remote->port)
		return -EINVAL;
	if (!(s = rpc_session_new(rpc)))
		return -ENOSPC;
	s->client = true;
	s->state = RPC_S_CONNECTING;
	s->remote = *remote;
	s->remote_sess = RPC_NO_SESSION;
	s->token = rte_rand();
	sm_resend(rpc, s);
	rpc_tx_flush(rpc);
	return s->idx;
}

int rpc_disconnect(struct rpc *rpc, int session)
{
	struct rpc_session *s = rpc_session_get(rpc, session);

	if (!s || !s->client)
		return -ENOENT;
	if (s->state != RPC_S_CONNECTED) { /* nothing to tell the server */
		rpc_session_fail(rpc, s, -ECONNRESET);
		rpc_session_free(rpc, s);
		return 0;
	}
	rpc_session_fail(rpc, s, -ECONNRESET);
	s->state = RPC_S_DISCONNECTING;
	s->progress_us = rpc->now;
	sm_resend(rpc, s);
	rpc_tx_flush(rpc);
	return 0;
}

/* A handshake not answered within the session timeout fails (connect) or ends (disconnect). */
void rpc_sm_scan(struct rpc *rpc, struct rpc_session *s)
{
	if (rpc->now < s->sm_next_us)
		return;
	if (rpc->now - s->progress_us < (uint64_t)rpc->conf.session_timeout_ms * 1000) {
		sm_resend(rpc, s);
		return;
	}
	if (s->state == RPC_S_DISCONNECTING) {
		rpc_sm_event(rpc, s, RPC_SM_DISCONNECTED, -ETIMEDOUT);
		rpc_session_free(rpc, s);
		return;
	}
	rpc_session_fail(rpc, s, -ETIMEDOUT);
	rpc->c[RPC_C_sessions_failed]++;
	rpc_sm_event(rpc, s, RPC_SM_CONNECT_FAILED, -ETIMEDOUT);
}

static struct rpc_session *server_find(struct rpc *rpc, const struct rpc_addr *src,
				       uint16_t client_sess, uint64_t token)
{
	for (unsigned int i = 0; i < RPC_MAX_SESSIONS; i++) {
		struct rpc_session *s = rpc->sess[i];
		if (s && !s->client && s->remote.ip == src->ip && s->remote.port == src->port &&
		    s->remote_sess == client_sess && s->token == token)
			return s;
	}
	return NULL;
}

static void connect_input(struct rpc *rpc, const struct rpc_hdr *h, const struct rpc_addr *src)
{
	uint16_t csess = rte_be_to_cpu_16(h->src_sess);
	uint64_t token = rte_be_to_cpu_64(h->req_num);
	struct rpc_session *s = server_find(rpc, src, csess, token);

	if (csess == RPC_NO_SESSION) {
		rpc->c[RPC_C_rx_unknown_session]++;
		return;
	}
	if (!s) /* the client reused its session number: the old session is dead */
		for (unsigned int i = 0; i < RPC_MAX_SESSIONS; i++) {
			struct rpc_session *o = rpc->sess[i];
			if (o && !o->client && o->remote.ip == src->ip &&
			    o->remote.port == src->port && o->remote_sess == csess)
				rpc_session_free(rpc, o);
		}
	if (!s && (s = rpc_session_new(rpc))) {
		s->state = RPC_S_SERVER;
		s->remote = *src;
		s->remote_sess = csess;
		s->token = token;
		for (unsigned int k = 0; k < RPC_WINDOW && s; k++) {
			s->s[k].pre_resp = rpc_msgbuf_alloc(rpc, rpc->pkt_payload);
			if (!s->s[k].pre_resp) {
				rpc_session_free(rpc, s);
				s = NULL;
			} else {
				s->s[k].pre_resp->priv_flags = RPC_MB_ENGINE;
			}
		}
	}
	if (!s) {
		sm_send(rpc, src, RPC_K_CONNECT_ERR, csess, RPC_NO_SESSION, 0, token, ENOSPC);
		return;
	}
	sm_send(rpc, src, RPC_K_CONNECT_OK, csess, s->idx, 0, token, 0);
}

/* An answer to our handshake: for one of our client sessions, from its server, with its token. */
static struct rpc_session *client_for(struct rpc *rpc, const struct rpc_hdr *h,
				      const struct rpc_addr *src, enum rpc_session_state want)
{
	struct rpc_session *s = rpc_session_get(rpc, rte_be_to_cpu_16(h->dst_sess));

	if (!s || !s->client || s->state != want || s->remote.ip != src->ip ||
	    s->remote.port != src->port || s->token != rte_be_to_cpu_64(h->req_num))
		return NULL;
	return s;
}

void rpc_sm_input(struct rpc *rpc, const struct rpc_hdr *h, const struct rpc_addr *src)
{
	struct rpc_session *s;

	switch (h->kind) {
	case RPC_K_CONNECT:
		connect_input(rpc, h, src);
		return;
	case RPC_K_CONNECT_OK:
		if (!(s = client_for(rpc, h, src, RPC_S_CONNECTING)))
			break; /* also a repeated answer: harmless */
		s->remote_sess = rte_be_to_cpu_16(h->src_sess);
		s->state = RPC_S_CONNECTED;
		s->progress_us = rpc->now;
		rpc->c[RPC_C_sessions_connected]++;
		rpc_sm_event(rpc, s, RPC_SM_CONNECTED, 0);
		rpc_kick(rpc, s); /* what was enqueued while connecting */
		return;
	case RPC_K_CONNECT_ERR:
		if (!(s = client_for(rpc, h, src, RPC_S_CONNECTING)))
			break;
		rpc_session_fail(rpc, s, -ECONNREFUSED);
		rpc->c[RPC_C_sessions_failed]++;
		rpc_sm_event(rpc, s, RPC_SM_CONNECT_FAILED, -(int)rte_be_to_cpu_32(h->pkt_num));
		return;
	case RPC_K_DISCONNECT: {
		uint16_t csess = rte_be_to_cpu_16(h->src_sess);
		uint64_t token = rte_be_to_cpu_64(h->req_num);
		if ((s = server_find(rpc, src, csess, token))) {
			rpc_sm_event(rpc, s, RPC_SM_DISCONNECTED, 0);
			rpc_session_free(rpc, s);
		}
		sm_send(rpc, src, RPC_K_DISCONNECT_OK, csess, RPC_NO_SESSION, 0, token, 0);
		return;
	}
	case RPC_K_DISCONNECT_OK:
		if (!(s = client_for(rpc, h, src, RPC_S_DISCONNECTING)))
			break;
		rpc_sm_event(rpc, s, RPC_SM_DISCONNECTED, 0);
		rpc_session_free(rpc, s);
		return;
	default:
		rpc->c[RPC_C_rx_bad_kind]++;
		return;
	}
	/* an answer to a handshake sent more than once, or to no handshake of ours */
	s = rpc_session_get(rpc, rte_be_to_cpu_16(h->dst_sess));
	bool ours = s && s->client && s->token == rte_be_to_cpu_64(h->req_num);
	rpc->c[ours ? RPC_C_rx_dup : RPC_C_rx_unknown_session]++;
}
