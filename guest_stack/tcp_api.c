/* tcp_api.c: the socket-like API (listen, accept, connect, read, recv, write, shutdown, close,
 * abort) and the per-worker event loop (gs_tcp_wait): a connection with news goes once on its
 * worker's ready list, as epoll's ready list. */
#include "tcp_priv.h"

static const char *const state_names[] = {
	"CLOSED",     "LISTEN",	    "SYN_SENT",	  "SYN_RCVD", "ESTABLISHED", "FIN_WAIT_1",
	"FIN_WAIT_2", "CLOSE_WAIT", "CLOSING",	  "LAST_ACK", "TIME_WAIT",
};

const char *gs_tcp_state_name(const struct gs_tcp_sock *s)
{
	return state_names[s->state];
}

void gs_tcp_event(struct gs_tcp_sock *s, uint32_t ev)
{
	if (!s->accepted || s->user_closed)
		return; /* nobody to tell (yet: accept reports what came before) */
	s->ev |= ev;
	if (!s->on_ready) {
		s->on_ready = true;
		s->tw->ready[s->tw->nready++] = s;
	}
}

void gs_tcp_set_state(struct gs_tcp_sock *s, uint8_t st)
{
	s->state = st;
}

void gs_tcp_drop(struct gs_tcp_sock *s, int err)
{
	struct gs_tcp_sock *l = s->listener;


	if (l) { /* never accepted: the listener's to forget */
		if (s->on_acceptq) {
			gs_tcp_list_del(&l->acceptq, s, GS_TCP_LINK(l_acc));
			s->on_acceptq = false;
		}
		if (s->on_synq) {
			gs_tcp_list_del(&l->synq, s, GS_TCP_LINK(l_acc));
			s->on_synq = false;
		}
		l->pending--;
		gs_tcp_sock_free(s);
		return;
	}
	if (!s->accepted || s->user_closed) {
		gs_tcp_sock_free(s);
		return;
	}
	gs_tcp_unhash(s);
	s->state = GS_TCP_CLOSED;
	s->err = err;
	gs_tcp_event(s, GS_TCP_EV_IN | GS_TCP_EV_OUT | (err ? GS_TCP_EV_ERR : GS_TCP_EV_HUP));
}

struct gs_tcp_sock *gs_tcp_listen(struct gs_worker *w, uint16_t port, unsigned int backlog)
{
	struct gs_tcp_wk *tw = gs_tcp_wk(w);
	int slot = -1;

	if (!tw)
		return NULL;
	for (int i = 0; i < GS_TCP_LISTENERS; i++) {
		if (tw->listeners[i] && tw->listeners[i]->key.lport == port) {
			errno = EADDRINUSE;
			return NULL;
		}
		if (!tw->listeners[i] && slot < 0)
			slot = i;
	}
	struct gs_tcp_sock *s = slot < 0 || port == 0 ? NULL : gs_tcp_sock_new(tw);
	if (!s) {
		errno = port == 0 ? EINVAL : ENOSPC;
		return NULL;
	}
	s->state = GS_TCP_LISTEN;
	s->key.lport = port;
	s->key.lip = gs_ip();
	s->backlog = backlog ? backlog : 128;
	s->accepted = true;
	tw->listeners[slot] = s;
	return s;
}

struct gs_tcp_sock *gs_tcp_accept(struct gs_tcp_sock *l)
{
	struct gs_tcp_sock *s = l->acceptq.head;

	if (l->state != GS_TCP_LISTEN || !s) {
		errno = l->state != GS_TCP_LISTEN ? EINVAL : EAGAIN;
		return NULL;
	}
	gs_tcp_list_del(&l->acceptq, s, GS_TCP_LINK(l_acc));
	s->on_acceptq = false;
	s->listener = NULL;
	l->pending--;
	s->accepted = true;
	s->tw->w->c[GS_C_tcp_conn_accept]++;
	if (l->acceptq.head)
		gs_tcp_event(l, GS_TCP_EV_IN); /* level: more to accept */
	/* what happened before anyone could be told */
	gs_tcp_event(s, GS_TCP_EV_CONNECTED | GS_TCP_EV_OUT |
			    (s->rx_bytes || s->fin_rcvd ? GS_TCP_EV_IN : 0) |
			    (s->fin_rcvd ? GS_TCP_EV_HUP : 0));
	return s;
}

struct gs_tcp_sock *gs_tcp_connect(struct gs_worker *w, const struct gs_endpoint *dst)
{
	struct gs_tcp_wk *tw = gs_tcp_wk(w);
	struct gs_tcp_key k = {.rip = dst->ip, .lip = gs_ip(), .rport = dst->port};
	int rc;

	if (!tw)
		return NULL;
	if (!dst->ip || !dst->port) {
		errno = EINVAL;
		return NULL;
	}
	if ((rc = gs_tcp_pick_port(tw, &k)) < 0) {
		errno = -rc;
		return NULL;
	}
	struct gs_tcp_sock *s = gs_tcp_sock_new(tw);
	if (!s) {
		errno = ENOSPC;
		return NULL;
	}
	s->key = k;
	s->iss = gs_tcp_isn(tw, &k);
	s->snd_una = s->snd_nxt = s->snd_max = s->iss;
	s->sbuf_seq = s->iss + 1;
	s->mss = 536; /* RFC 9293 3.7.1, until the peer's SYN says more */
	s->state = GS_TCP_SYN_SENT;
	s->accepted = true;
	if ((rc = gs_tcp_hash_add(s)) < 0) {
		gs_tcp_sock_free(s);
		errno = -rc;
		return NULL;
	}
	w->c[GS_C_tcp_conn_open]++;
	s->rtt_ts = gs_now_us();
	gs_tcp_output(s);
	return s;
}

/* After the application took data: tell the peer when the window opened by enough to matter
 * (two segments, RFC 1122's receiver silly window avoidance). */
static void window_update(struct gs_tcp_sock *s)
{
	uint32_t adv = SEQ_GT(s->rcv_adv, s->rcv_nxt) ? s->rcv_adv - s->rcv_nxt : 0;
	uint32_t space = s->rx_bytes >= s->rcvbuf ? 0 : s->rcvbuf - s->rx_bytes;

	if (s->hashed && space >= adv + 2u * s->mss) {
		gs_tcp_ack_later(s);
		if (adv < s->mss) /* it was closed: make sure the sender hears (tcp_timer.c) */
			gs_tcp_wupd(s);
	}
}

static int read_status(const struct gs_tcp_sock *s)
{
	if (s->fin_rcvd)
		return 0;
	if (s->err)
		return s->err;
	return s->state == GS_TCP_CLOSED ? 0 : -EAGAIN;
}

long gs_tcp_read(struct gs_tcp_sock *s, void *buf, size_t len)
{
	size_t done = 0;

	if (!s->rx_bytes)
		return read_status(s);
	while (done < len && s->rxq_head != s->rxq_tail) {
		struct rte_mbuf *m = s->rxq[s->rxq_head & (s->rxq_size - 1)];
		uint32_t have = rte_pktmbuf_data_len(m) - s->rx_off;
		uint32_t n = (uint32_t)RTE_MIN((size_t)have, len - done);
		memcpy((char *)buf + done, rte_pktmbuf_mtod_offset(m, char *, s->rx_off), n);
		done += n;
		s->rx_off += n;
		if (s->rx_off == rte_pktmbuf_data_len(m)) {
			rte_pktmbuf_free(m);
			s->rxq_head++;
			s->rx_off = 0;
		}
	}
	s->rx_bytes -= (uint32_t)done;
	if (s->rx_bytes)
		gs_tcp_event(s, GS_TCP_EV_IN); /* level-triggered: more left */
	window_update(s);
	return (long)done;
}

uint16_t gs_tcp_recv(struct gs_tcp_sock *s, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t i;

	for (i = 0; i < n && s->rxq_head != s->rxq_tail; i++) {
		struct rte_mbuf *m = s->rxq[s->rxq_head++ & (s->rxq_size - 1)];
		rte_pktmbuf_adj(m, (uint16_t)s->rx_off);
		s->rx_off = 0;
		s->rx_bytes -= rte_pktmbuf_data_len(m);
		pkts[i] = m;
	}
	if (s->rx_bytes)
		gs_tcp_event(s, GS_TCP_EV_IN);
	if (i)
		window_update(s);
	return i;
}

long gs_tcp_write(struct gs_tcp_sock *s, const void *buf, size_t len)
{
	if (s->err)
		return s->err;
	if (s->fin_queued || s->user_closed)
		return -EPIPE;
	if (s->state != GS_TCP_ESTABLISHED && s->state != GS_TCP_CLOSE_WAIT &&
	    s->state != GS_TCP_SYN_SENT && s->state != GS_TCP_SYN_RCVD)
		return -ENOTCONN;
	uint32_t room = s->sbuf_size - s->sbuf_len;
	uint32_t n = (uint32_t)RTE_MIN((size_t)room, len);
	if (n < len)
		s->want_write = true;
	if (!n)
		return -EAGAIN;
	uint32_t at = (s->sbuf_head + s->sbuf_len) & (s->sbuf_size - 1);
	uint32_t first = RTE_MIN(n, s->sbuf_size - at);
	memcpy(s->sbuf + at, buf, first);
	memcpy(s->sbuf, (const char *)buf + first, n - first);
	s->sbuf_len += n;
	gs_tcp_output_later(s); /* sent after this poll's burst: writes of one loop coalesce */
	return n;
}

int gs_tcp_shutdown(struct gs_tcp_sock *s)
{
	if (s->state == GS_TCP_LISTEN || s->state == GS_TCP_CLOSED)
		return s->err ? s->err : -ENOTCONN;
	if (s->fin_queued)
		return 0;
	s->fin_queued = true;
	if (s->state == GS_TCP_ESTABLISHED)
		gs_tcp_set_state(s, GS_TCP_FIN_WAIT_1);
	else if (s->state == GS_TCP_CLOSE_WAIT)
		gs_tcp_set_state(s, GS_TCP_LAST_ACK);
	/* SYN_SENT, SYN_RCVD: the FIN waits for the handshake (tcp_input.c) */
	gs_tcp_output_later(s);
	return 0;
}

static void close_listener(struct gs_tcp_sock *l)
{
	struct gs_tcp_wk *tw = l->tw;

	for (unsigned int i = 0; i < tw->conf.max_socks; i++) {
		struct gs_tcp_sock *s = &tw->socks[i];
		if (s->used && s->listener == l) {
			gs_tcp_send_seg(s, s->snd_nxt, 0, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
			gs_tcp_drop(s, -ECONNRESET);
		}
	}
	for (int i = 0; i < GS_TCP_LISTENERS; i++)
		if (tw->listeners[i] == l)
			tw->listeners[i] = NULL;
	gs_tcp_sock_free(l);
}

void gs_tcp_abort(struct gs_tcp_sock *s)
{
	if (s->state == GS_TCP_LISTEN) {
		close_listener(s);
		return;
	}
	if (s->hashed && s->state != GS_TCP_SYN_SENT && s->state != GS_TCP_TIME_WAIT)
		gs_tcp_send_seg(s, s->snd_nxt, 0, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
	s->user_closed = true;
	gs_tcp_sock_free(s);
}

void gs_tcp_close(struct gs_tcp_sock *s)
{
	if (s->state == GS_TCP_LISTEN) {
		close_listener(s);
		return;
	}
	if (s->state == GS_TCP_CLOSED || s->state == GS_TCP_SYN_SENT || s->rx_bytes) {
		gs_tcp_abort(s); /* unread data: RST, as RFC 2525 2.17 and Linux */
		return;
	}
	s->user_closed = true;
	if (s->state == GS_TCP_TIME_WAIT)
		return; /* goes when it expires */
	gs_tcp_shutdown(s);
	gs_tcp_fw2_orphan(s); /* closed after a shutdown the peer took already */
}

unsigned int gs_tcp_wait(struct gs_worker *w, struct gs_tcp_event *ev, unsigned int max)
{
	struct gs_tcp_wk *tw = w->tcp;
	unsigned int n = 0, i;

	if (!tw)
		return 0;
	for (i = 0; i < tw->nready && n < max; i++) {
		struct gs_tcp_sock *s = tw->ready[i];
		s->on_ready = false;
		if (!s->used || s->user_closed || !s->ev) {
			gs_tcp_release(s);
			continue;
		}
		ev[n++] = (struct gs_tcp_event){s, s->ev, s->user};
		s->ev = 0;
	}
	memmove(tw->ready, tw->ready + i, (tw->nready - i) * sizeof(tw->ready[0]));
	tw->nready -= i;
	return n;
}

void gs_tcp_set_user(struct gs_tcp_sock *s, void *user)
{
	s->user = user;
}

int gs_tcp_error(const struct gs_tcp_sock *s)
{
	return s->err;
}

int gs_tcp_peer(const struct gs_tcp_sock *s, struct gs_endpoint *peer, struct gs_endpoint *self)
{
	if (peer)
		*peer = (struct gs_endpoint){s->key.rip, s->key.rport};
	if (self)
		*self = (struct gs_endpoint){s->key.lip, s->key.lport};
	return 0;
}

int gs_tcp_info(const struct gs_tcp_sock *s, struct gs_tcp_info *i)
{
	uint64_t now = gs_now_us();

	*i = (struct gs_tcp_info){
	    .state = gs_tcp_state_name(s), .snd_una = s->snd_una, .snd_nxt = s->snd_nxt,
	    .snd_max = s->snd_max, .snd_wnd = s->snd_wnd, .cwnd = s->cwnd,
	    .ssthresh = s->ssthresh, .sbuf_len = s->sbuf_len, .rcv_nxt = s->rcv_nxt,
	    .rcv_wnd = gs_tcp_rcv_wnd(s), .rx_bytes = s->rx_bytes, .ooo = s->nooo, .mss = s->mss,
	    .snd_wscale = s->snd_wscale, .rcv_wscale = s->rcv_wscale, .srtt_us = s->srtt_us,
	    .rto_us = s->rto_us, .rto_in_us = s->on_timer && s->rto_at > now ? s->rto_at - now
						: s->on_timer ? 1 : 0};
	return 0;
}

void gs_tcp_foreach(struct gs_worker *w, void (*fn)(const struct gs_tcp_sock *, void *),
		    void *arg)
{
	struct gs_tcp_wk *tw = w->tcp;

	for (unsigned int i = 0; tw && i < tw->conf.max_socks; i++)
		if (tw->socks[i].used && tw->socks[i].hashed)
			fn(&tw->socks[i], arg);
}
