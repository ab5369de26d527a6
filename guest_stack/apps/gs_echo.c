/* gs-echo: answers ICMP echo (the stack does), echoes UDP datagrams back zero copy, and echoes
 * TCP on --port: every worker listens (a connection stays where RSS delivers it); what arrives
 * is taken zero copy (gs_tcp_recv) and written back; at the peer's FIN, once all is echoed, the
 * connection is closed. */
#include <stdio.h>
#include <stdlib.h>
#include <rte_cycles.h>
#include "app.h"

#define CONN_Q 512 /* received mbufs waiting to be echoed, per connection (power of two) */

enum { O_PORT = 256, O_TW, O_MAXC, O_BACKLOG };
static const struct option opts[] = {{"port", required_argument, NULL, O_PORT},
				     {"tcp-time-wait-ms", required_argument, NULL, O_TW},
				     {"tcp-max-conns", required_argument, NULL, O_MAXC},
				     {"tcp-backlog", required_argument, NULL, O_BACKLOG},
				     {NULL, 0, NULL, 0}};

struct echo {
	struct gs_app app;
	long port;
	struct gs_tcp_conf tcp;
	long backlog;
	uint64_t echoed[64], refused[64];
	uint64_t tcp_accepted[64], tcp_bytes[64], tcp_closed[64], tcp_errors[64];
	unsigned int tcp_left[64], tcp_open[64];
};

struct conn {
	struct gs_tcp_sock *s;
	bool hup;
	uint32_t off, head, tail;
	struct rte_mbuf *q[CONN_Q];
};

static long num(struct echo *e, const char *name, const char *arg, long lo, long hi)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (end == arg || *end || v < lo || v > hi)
		gs_app_die(&e->app, "bad --%s '%s': want %ld-%ld", name, arg, lo, hi);
	return v;
}

static int opt(int o, const char *arg, void *ctx)
{
	struct echo *e = ctx;

	switch (o) {
	case O_PORT:
		e->port = num(e, "port", arg, 1, 65535);
		return 0;
	case O_TW:
		e->tcp.time_wait_us = (uint32_t)num(e, "tcp-time-wait-ms", arg, 1, 240000) * 1000;
		return 0;
	case O_MAXC:
		e->tcp.max_socks = (unsigned int)num(e, "tcp-max-conns", arg, 2, 1 << 20);
		return 0;
	case O_BACKLOG:
		e->backlog = num(e, "tcp-backlog", arg, 1, 65535);
		return 0;
	}
	return -1;
}

static void conn_free(struct conn *c)
{
	while (c->head != c->tail)
		rte_pktmbuf_free(c->q[c->head++ & (CONN_Q - 1)]);
	free(c);
}

/* Writes back what is queued, takes more, until neither moves; true when the connection is
 * done with (closed and freed). */
static bool conn_run(struct echo *e, unsigned int wi, struct conn *c)
{
	bool moved = true;

	while (moved) {
		moved = false;
		while (c->head != c->tail) {
			struct rte_mbuf *m = c->q[c->head & (CONN_Q - 1)];
			long n = gs_tcp_write(c->s, rte_pktmbuf_mtod_offset(m, char *, c->off),
					      rte_pktmbuf_data_len(m) - c->off);
			if (n == -EAGAIN)
				break;
			if (n < 0) {
				e->tcp_errors[wi]++;
				gs_tcp_close(c->s);
				conn_free(c);
				return true;
			}
			moved = true;
			e->tcp_bytes[wi] += (uint64_t)n;
			c->off += (uint32_t)n;
			if (c->off == rte_pktmbuf_data_len(m)) {
				rte_pktmbuf_free(m);
				c->head++;
				c->off = 0;
			}
		}
		uint32_t room = CONN_Q - (c->tail - c->head);
		struct rte_mbuf *in[GS_BURST];
		uint16_t k = gs_tcp_recv(c->s, in, (uint16_t)RTE_MIN(room, (uint32_t)GS_BURST));
		for (uint16_t i = 0; i < k; i++)
			c->q[c->tail++ & (CONN_Q - 1)] = in[i];
		moved |= k > 0;
	}
	if (c->hup && c->head == c->tail && gs_tcp_read(c->s, NULL, 0) == 0) {
		gs_tcp_close(c->s); /* all echoed: FIN; the stack finishes the close */
		e->tcp_closed[wi]++;
		conn_free(c);
		return true;
	}
	return false;
}

static void tcp_events(struct echo *e, unsigned int wi, struct gs_worker *w,
		       struct gs_tcp_sock *l)
{
	struct gs_tcp_event ev[GS_BURST];
	unsigned int n = gs_tcp_wait(w, ev, GS_BURST);

	for (unsigned int i = 0; i < n; i++) {
		if (ev[i].s == l) {
			struct gs_tcp_sock *s;
			while ((s = gs_tcp_accept(l))) {
				struct conn *c = calloc(1, sizeof(*c));
				if (!c) {
					gs_tcp_abort(s);
					continue;
				}
				c->s = s;
				gs_tcp_set_user(s, c);
				e->tcp_accepted[wi]++;
				e->tcp_open[wi]++;
			}
			continue;
		}
		struct conn *c = ev[i].user;
		if (!c)
			continue;
		if (ev[i].events & GS_TCP_EV_ERR) {
			e->tcp_errors[wi]++;
			e->tcp_open[wi]--;
			gs_tcp_close(c->s);
			conn_free(c);
			continue;
		}
		if (ev[i].events & GS_TCP_EV_HUP)
			c->hup = true;
		if (conn_run(e, wi, c))
			e->tcp_open[wi]--;
	}
}

/* Connections still in the table at the stop, to stderr: what a stuck test needs to see. */
static void dump(const struct gs_tcp_sock *s, void *arg)
{
	struct gs_tcp_info i;
	struct gs_endpoint peer;

	gs_tcp_info(s, &i);
	gs_tcp_peer(s, &peer, NULL);
	fprintf(stderr,
		"gs-echo: worker %u: tcp port %u %s una %u nxt %u max %u sbuf %u swnd %u cwnd %u "
		"ssthresh %u rcv_nxt %u rwnd %u rx %u ooo %u rto %" PRIu64 " (in %" PRIu64 ")\n",
		*(unsigned int *)arg, peer.port, i.state, i.snd_una, i.snd_nxt, i.snd_max,
		i.sbuf_len, i.snd_wnd, i.cwnd, i.ssthresh, i.rcv_nxt, i.rcv_wnd, i.rx_bytes, i.ooo,
		i.rto_us, i.rto_in_us);
}

static int worker(struct gs_worker *w, void *arg)
{
	struct echo *e = arg;
	unsigned int i = gs_worker_index(w);
	struct gs_udp_sock *s = gs_udp_bind(w, (uint16_t)e->port);
	struct gs_tcp_sock *l =
	    e->port ? gs_tcp_listen(w, (uint16_t)e->port, (unsigned int)e->backlog) : NULL;
	struct rte_mbuf *pkts[GS_BURST];
	uint64_t start = rte_get_tsc_cycles();

	if (!s || (e->port && !l))
		return -errno;
	while (gs_app_go(&e->app, start)) {
		unsigned int work = (unsigned int)gs_poll(w);
		uint16_t n = gs_udp_recv(s, pkts, GS_BURST);
		if (n) {
			uint16_t sent = gs_udp_reply(s, pkts, n);
			e->echoed[i] += sent;
			e->refused[i] += n - sent;
			rte_pktmbuf_free_bulk(pkts + sent, n - sent);
			gs_tx_flush(w);
		}
		if (l)
			tcp_events(e, i, w, l);
		gs_idle(w, work + n);
	}
	/* A stop lets the connections the echo has closed finish their handshakes, for up to
	 * 2 s (a lost last ACK is answered by a resent FIN within an RTO); TIME_WAIT and the
	 * connections still open stay as they are. */
	uint64_t until = rte_get_tsc_cycles() + 2 * rte_get_tsc_hz();
	unsigned int tw;
	while (rte_get_tsc_cycles() < until && gs_tcp_conns(w, &tw) - tw > e->tcp_open[i])
		gs_idle(w, (unsigned int)gs_poll(w));
	/* what is left open at the stop: counted, then gs_fini frees it with the stack */
	e->tcp_left[i] = gs_tcp_conns(w, NULL);
	gs_tcp_foreach(w, dump, &i);
	return 0;
}

int main(int argc, char **argv)
{
	static struct echo e = {
	    .app = {.name = "gs-echo",
		    .usage = "Answers ICMP echo, echoes UDP datagrams and TCP streams.\n"
			     "  --port P          echo UDP on port P only (default: any), and TCP on P\n"
			     "  --tcp-time-wait-ms MS   TIME_WAIT length (default 60000)\n"
			     "  --tcp-max-conns N       TCP connections per worker (default 1024)\n"
			     "  --tcp-backlog N         SYN backlog of the listener (default 128)\n"}};
	uint64_t echoed = 0, refused = 0, acc = 0, bytes = 0, closed = 0, errs = 0;
	unsigned int left = 0, open = 0;

	gs_app_parse(&e.app, argc, argv, opts, opt, &e);
	if (gs_tcp_configure(&e.tcp) < 0)
		gs_app_die(&e.app, "bad TCP settings");
	gs_app_start(&e.app);
	if (!e.app.json)
		printf("gs-echo: on %s, mode %s, %u worker(s); Ctrl-C stops\n",
		       e.app.conf.dev, gs_mode_name(e.app.conf.mode), gs_worker_count());
	fflush(stdout);
	int rc = gs_run(worker, &e);
	json_t *per = json_array();
	for (unsigned int i = 0; i < gs_worker_count(); i++) {
		echoed += e.echoed[i], refused += e.refused[i];
		acc += e.tcp_accepted[i], bytes += e.tcp_bytes[i], closed += e.tcp_closed[i];
		errs += e.tcp_errors[i], left += e.tcp_left[i], open += e.tcp_open[i];
		json_array_append_new(per, json_pack("{s:I,s:I}", "tcp_accepted",
						     (json_int_t)e.tcp_accepted[i], "tcp_bytes",
						     (json_int_t)e.tcp_bytes[i]));
	}
	json_t *o = json_pack("{s:I,s:I,s:{s:I,s:I,s:I,s:I,s:i,s:i,s:o}}", "udp_echoed",
			      (json_int_t)echoed, "udp_refused", (json_int_t)refused, "tcp",
			      "accepted", (json_int_t)acc, "bytes_echoed", (json_int_t)bytes,
			      "closed", (json_int_t)closed, "errors", (json_int_t)errs,
			      "conns_in_table", (int)left, "open_at_stop", (int)open, "per_worker",
			      per);
	if (!e.app.json)
		printf("gs-echo: echoed %" PRIu64 " datagrams (%" PRIu64 " refused: TX full), "
		       "%" PRIu64 " TCP connections, %" PRIu64 " bytes\n",
		       echoed, refused, acc, bytes);
	return gs_app_finish(&e.app, o, rc < 0 ? 1 : 0);
}
