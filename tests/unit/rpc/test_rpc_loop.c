/* The RPC engine on its loopback transport: message sizes from 0 B to 8 MB, loss, duplicates
 * and reordering, credits, session failure, buffer ownership and malformed packets.  A client
 * endpoint (port 1000) and a server endpoint (port 2000) on a fake clock. */
#include <stdlib.h>
#include <string.h>
#include <rte_eal.h>
#include "rpc_priv.h"
#include "check.h"
#include "check_eal.h"

#define CIP 0x0a000001
#define SIP 0x0a000002
#define T_ECHO 1  /* response: the request's bytes, each xor 0x5a */
#define T_SIZED 2 /* response: as many bytes as the request's first 4 say, pattern of seq */
#define T_LATER 3 /* response on a later loop iteration */

static struct rpc_loop_net *net;
static struct rpc *cli, *srv;
static uint64_t handled_bad; /* a handler saw bytes that were not what the client sent */
static struct rpc_req *later;

static uint8_t pat(uint32_t seq, uint32_t i)
{
	return (uint8_t)(seq * 31 + i * 7 + (i >> 9));
}

static void echo(struct rpc *rpc, struct rpc_req *req, void *ctx)
{
	const struct rpc_msgbuf *in = rpc_req_msgbuf(req);
	struct rpc_msgbuf *out =
		in->size <= rpc_pkt_payload(rpc) ? rpc_req_pre_resp(req) : rpc_msgbuf_alloc(rpc, in->size);

	(void)ctx;
	rpc_msgbuf_resize(out, in->size);
	for (uint32_t i = 0; i < in->size; i++)
		out->data[i] = in->data[i] ^ 0x5a;
	CHECK_EQ(rpc_enqueue_response(rpc, req, out), 0);
}

/* Request: seq (4 bytes), response size (4 bytes), then pat(seq) to the end. */
static void sized(struct rpc *rpc, struct rpc_req *req, void *ctx)
{
	const struct rpc_msgbuf *in = rpc_req_msgbuf(req);
	uint32_t seq, rsize;

	(void)ctx;
	memcpy(&seq, in->data, 4);
	memcpy(&rsize, in->data + 4, 4);
	for (uint32_t i = 8; i < in->size; i++)
		if (in->data[i] != pat(seq, i)) {
			handled_bad++;
			break;
		}
	struct rpc_msgbuf *out = rpc_msgbuf_alloc(rpc, rsize);
	for (uint32_t i = 0; i < rsize; i++)
		out->data[i] = pat(seq + 1, i);
	CHECK_EQ(rpc_enqueue_response(rpc, req, out), 0);
}

static void defer(struct rpc *rpc, struct rpc_req *req, void *ctx)
{
	(void)rpc;
	(void)ctx;
	later = req;
}

struct call {
	struct rpc_msgbuf *req, *resp;
	uint32_t seq, rsize;
	int done, err;
};

static void cont(struct rpc *rpc, void *tag, int err)
{
	struct call *c = tag;

	(void)rpc;
	c->done++;
	c->err = err;
}

/* Runs both endpoints; when neither has work, time moves on by step_us.  Stops when *stop (or
 * after max_us of fake time). */
static void run(const int *stop, uint64_t max_us, uint64_t step_us)
{
	uint64_t end = rpc_loop_now(net) + max_us;

	while (!*stop && rpc_loop_now(net) < end) {
		unsigned int work = rpc_run_event_loop_once(cli) + rpc_run_event_loop_once(srv);
		if (later && rpc_loop_now(net) % 3 == 0) { /* answer the deferred one a bit later */
			struct rpc_msgbuf *out = rpc_req_pre_resp(later);
			rpc_msgbuf_resize(out, 3);
			memcpy(out->data, "ack", 3);
			CHECK_EQ(rpc_enqueue_response(srv, later, out), 0);
			later = NULL;
		}
		if (!work)
			rpc_loop_advance(net, step_us);
	}
}

static void setup(const struct rpc_conf *cc)
{
	struct rpc_conf sc = {.udp_port = 2000};

	net = rpc_loop_net_create();
	CHECK(net != NULL);
	cli = rpc_create_loop(net, CIP, cc);
	srv = rpc_create_loop(net, SIP, &sc);
	CHECK(cli && srv);
	CHECK_EQ(rpc_register_handler(srv, T_ECHO, echo, NULL), 0);
	CHECK_EQ(rpc_register_handler(srv, T_SIZED, sized, NULL), 0);
	CHECK_EQ(rpc_register_handler(srv, T_LATER, defer, NULL), 0);
	CHECK_EQ(rpc_register_handler(srv, T_ECHO, echo, NULL), -EEXIST);
}

static void teardown(void)
{
	rpc_loop_net_destroy(net);
	net = NULL;
}

static int connect_srv(void)
{
	const struct rpc_addr a = {SIP, 2000};
	int s = rpc_connect(cli, &a);
	int up = 0;

	CHECK(s >= 0);
	while (!up && rpc_loop_now(net) < 60000000) {
		run(&up, 1000, 100);
		up = rpc_session_state(cli, s) == RPC_S_CONNECTED ||
		     rpc_session_state(cli, s) == RPC_S_FAILED;
	}
	CHECK_EQ(rpc_session_state(cli, s), RPC_S_CONNECTED);
	return s;
}

static uint64_t ctr(struct rpc *r, enum rpc_ctr c)
{
	uint64_t v[RPC_C_MAX];

	rpc_stats(r, v);
	return v[c];
}

/* Echo of each size, every byte checked. */
static void test_sizes(void)
{
	static const uint32_t sizes[] = {0,    1,     100,   1447,  1448,  1449,	2896,
					 2897, 10000, 65536, 1000001, 4 << 20, RPC_MAX_MSG};
	struct rpc_conf cc = {.udp_port = 1000};

	setup(&cc);
	int s = connect_srv();
	CHECK_EQ(rpc_pkt_payload(cli), 1448);
	for (unsigned int k = 0; k < RTE_DIM(sizes); k++) {
		struct call c = {.req = rpc_msgbuf_alloc(cli, sizes[k]),
				 .resp = rpc_msgbuf_alloc(cli, sizes[k])};
		for (uint32_t i = 0; i < sizes[k]; i++)
			c.req->data[i] = pat(k, i);
		CHECK_EQ(rpc_enqueue_request(cli, s, T_ECHO, c.req, c.resp, cont, &c), 0);
		run(&c.done, 60000000, 100);
		CHECK_EQ(c.done, 1);
		CHECK_EQ(c.err, 0);
		CHECK_EQ(c.resp->size, sizes[k]);
		uint32_t bad = 0;
		for (uint32_t i = 0; i < sizes[k]; i++)
			bad += c.resp->data[i] != (pat(k, i) ^ 0x5a);
		CHECK_EQ(bad, 0);
		CHECK_EQ(rpc_msgbuf_free(cli, c.req), 0);
		CHECK_EQ(rpc_msgbuf_free(cli, c.resp), 0);
	}
	CHECK_EQ(ctr(srv, RPC_C_req_handled), RTE_DIM(sizes));
	CHECK_EQ(ctr(cli, RPC_C_retransmits), 0);
	CHECK_EQ(ctr(cli, RPC_C_msgbufs_alive), 0);
	teardown();
}

/* Many requests of mixed sizes over a lossy, duplicating, reordering path: each completes
 * once with the right bytes and runs its handler once; every buffer comes back.  The client
 * reuses a request's buffer for the next request inside the continuation: any packet still
 * pointing into it would carry the new bytes and fail the server's check. */
#define NCALLS 8
static struct call calls[NCALLS];
static uint32_t next_seq, completed, total;
static int all_done;
static int sess;

static void start_call(struct call *c);

static void mixed_cont(struct rpc *rpc, void *tag, int err)
{
	struct call *c = tag;
	uint32_t bad = 0;

	(void)rpc;
	CHECK_EQ(err, 0);
	CHECK_EQ(c->resp->size, c->rsize);
	for (uint32_t i = 0; i < c->resp->size; i++)
		bad += c->resp->data[i] != pat(c->seq + 1, i);
	CHECK_EQ(bad, 0);
	completed++;
	if (next_seq < total)
		start_call(c);
	else if (completed == total)
		all_done = 1;
}

static void start_call(struct call *c)
{
	static const uint32_t sizes[] = {8, 64, 1448, 1449, 5000, 30000, 200000};
	uint32_t seq = next_seq++;
	uint32_t qsize = sizes[seq % RTE_DIM(sizes)], rsize = sizes[(seq / 3) % RTE_DIM(sizes)];

	c->seq = seq;
	c->rsize = rsize;
	rpc_msgbuf_resize(c->req, qsize);
	memcpy(c->req->data, &seq, 4);
	memcpy(c->req->data + 4, &rsize, 4);
	for (uint32_t i = 8; i < qsize; i++)
		c->req->data[i] = pat(seq, i);
	CHECK_EQ(rpc_enqueue_request(cli, sess, T_SIZED, c->req, c->resp, mixed_cont, c), 0);
}

/* Connects a client with conf cc, sets faults f and starts n mixed calls, NCALLS at a time. */
static void start_mixed(const struct rpc_conf *cc, const struct rpc_loop_faults *f, uint32_t n)
{
	setup(cc);
	sess = connect_srv();
	rpc_loop_set_faults(net, f);
	next_seq = completed = 0;
	total = n;
	all_done = 0;
	handled_bad = 0;
	for (unsigned int i = 0; i < NCALLS; i++) {
		calls[i].req = rpc_msgbuf_alloc(cli, 200000);
		calls[i].resp = rpc_msgbuf_alloc(cli, 200000);
		start_call(&calls[i]);
	}
}

static void free_calls(void)
{
	for (unsigned int i = 0; i < NCALLS; i++) {
		CHECK_EQ(rpc_msgbuf_free(cli, calls[i].req), 0);
		CHECK_EQ(rpc_msgbuf_free(cli, calls[i].resp), 0);
	}
}

static void test_faults(unsigned int drop, unsigned int dup, unsigned int reorder, uint32_t n)
{
	struct rpc_conf cc = {.udp_port = 1000, .rto_min_us = 1000, .session_timeout_ms = 60000};

	start_mixed(&cc, &(struct rpc_loop_faults){.drop_pm = drop, .dup_pm = dup,
						.reorder_pm = reorder, .seed = 7}, n);
	run(&all_done, 3600ull * 1000000, 200);
	CHECK_EQ(completed, n);
	CHECK_EQ(handled_bad, 0);
	CHECK_EQ(ctr(srv, RPC_C_req_handled), n); /* never twice */
	CHECK_EQ(ctr(cli, RPC_C_req_failed), 0);
	if (drop)
		CHECK(ctr(cli, RPC_C_retransmits) > 0);
	if (dup)
		CHECK(ctr(srv, RPC_C_rx_dup) + ctr(cli, RPC_C_rx_dup) > 0);
	printf("faults drop=%u dup=%u reorder=%u: %u calls, %lu retransmitted packets, %lu RTOs\n",
	       drop, dup, reorder, n, (unsigned long)ctr(cli, RPC_C_retransmits),
	       (unsigned long)ctr(cli, RPC_C_rto_events));
	free_calls();
	/* drain what is still on the wire (duplicates), then count buffers */
	rpc_loop_set_faults(net, &(struct rpc_loop_faults){0});
	int never = 0;
	run(&never, 100000, 1000);
	CHECK_EQ(ctr(cli, RPC_C_msgbufs_alive), 0);
	/* the server keeps one response per slot it used, for duplicates */
	CHECK(ctr(srv, RPC_C_msgbufs_alive) <= 2 * RPC_WINDOW);
	CHECK_EQ(rpc_loop_mbufs_in_use(net), 0);
	teardown();
}

/* The mean congestion window over n mixed calls (the sizes of test_faults) with faults f
 * on the way; every call completes, every byte checked. */
static double mean_window(const struct rpc_loop_faults *f, uint32_t n)
{
	struct rpc_conf cc = {.udp_port = 1000, .session_timeout_ms = 60000};
	double sum = 0, srtt, cwnd;
	unsigned int samples = 0;

	start_mixed(&cc, f, n);
	while (!all_done && samples < 1000000) {
		run(&all_done, 100, 5);
		CHECK_EQ(rpc_session_info(cli, sess, &srtt, &cwnd), 0);
		sum += cwnd;
		samples++;
	}
	CHECK_EQ(completed, n);
	CHECK_EQ(handled_bad, 0);
	free_calls();
	teardown();
	return sum / samples;
}

/* Congestion control tells a queue from a crowded host: the window rides out a receiver that
 * is descheduled now and then (1 packet in 50 taken 500 us late, and those behind it; the
 * window was 7 here when each late sample cut it), but shrinks when a queue stands (each side
 * takes one packet per 50 us: a full window of 32 waits 1.6 ms, against an RTT of 20 us). */
static void test_congestion(void)
{
	const struct rpc_loop_faults calm = {.delay_us = 10};
	const struct rpc_loop_faults crowded = {.delay_us = 10, .stall_pm = 20, .stall_us = 500,
						.seed = 3};
	const struct rpc_loop_faults queue = {.delay_us = 10, .gap_us = 50};
	double w_calm = mean_window(&calm, 300), w_crowded = mean_window(&crowded, 300);
	double w_queue = mean_window(&queue, 300);

	printf("congestion: mean window calm %.1f, crowded %.1f, queue %.1f packets\n", w_calm,
	       w_crowded, w_queue);
	CHECK(w_calm > 28);
	CHECK(w_crowded > 12);
	CHECK(w_queue < 10);
}

/* Credits bound what is in flight: with every answer lost, the client sends its credits' worth
 * of a large request and then nothing until the timeout. */
static void test_credits(void)
{
	struct rpc_conf cc = {.udp_port = 1000, .credits = 4, .no_cc = true, .rto_min_us = 5000};

	setup(&cc);
	int s = connect_srv();
	struct call c = {.req = rpc_msgbuf_alloc(cli, 100000), .resp = rpc_msgbuf_alloc(cli, 100000)};
	memset(c.req->data, 7, 100000);
	rpc_loop_set_faults(net, &(struct rpc_loop_faults){.drop_all = true, .port = 1000});
	uint64_t rx0 = ctr(srv, RPC_C_rx_pkts);
	CHECK_EQ(rpc_enqueue_request(cli, s, T_ECHO, c.req, c.resp, cont, &c), 0);
	for (int i = 0; i < 50; i++) /* no time passes */
		rpc_run_event_loop_once(cli), rpc_run_event_loop_once(srv);
	CHECK_EQ(ctr(srv, RPC_C_rx_pkts) - rx0, 4);
	CHECK_EQ(ctr(srv, RPC_C_cr_tx), 4);
	CHECK_EQ(rpc_msgbuf_free(cli, c.req), -EBUSY); /* the engine's until the continuation */
	rpc_loop_set_faults(net, &(struct rpc_loop_faults){0});
	run(&c.done, 10000000, 1000); /* the timeout sends them again; now answered */
	CHECK_EQ(c.done, 1);
	CHECK_EQ(c.err, 0);
	CHECK(ctr(cli, RPC_C_retransmits) >= 4);
	CHECK_EQ(rpc_msgbuf_free(cli, c.req), 0);
	CHECK_EQ(rpc_msgbuf_free(cli, c.resp), 0);
	teardown();
}

/* A dead path: the pending request fails with -ETIMEDOUT after the session timeout, and the
 * session takes no more; a connect to nobody fails too. */
static enum rpc_sm_event last_ev;
static int sm_events;
static void sm(struct rpc *rpc, int session, enum rpc_sm_event ev, int err, void *ctx)
{
	(void)rpc, (void)session, (void)err, (void)ctx;
	last_ev = ev;
	sm_events++;
}

static void test_session_failure(void)
{
	struct rpc_conf cc = {.udp_port = 1000, .session_timeout_ms = 300};

	setup(&cc);
	rpc_set_sm_handler(cli, sm, NULL);
	int s = connect_srv();
	CHECK_EQ(last_ev, RPC_SM_CONNECTED);
	struct call c = {.req = rpc_msgbuf_alloc(cli, 5000), .resp = rpc_msgbuf_alloc(cli, 5000)};
	struct call c2 = {.req = rpc_msgbuf_alloc(cli, 10), .resp = rpc_msgbuf_alloc(cli, 10)};
	rpc_loop_set_faults(net, &(struct rpc_loop_faults){.drop_all = true});
	uint64_t t0 = rpc_loop_now(net);
	CHECK_EQ(rpc_enqueue_request(cli, s, T_ECHO, c.req, c.resp, cont, &c), 0);
	CHECK_EQ(rpc_enqueue_request(cli, s, T_ECHO, c2.req, c2.resp, cont, &c2), 0);
	run(&c2.done, 10000000, 1000);
	CHECK_EQ(c.done, 1);
	CHECK_EQ(c.err, -ETIMEDOUT);
	CHECK_EQ(c2.err, -ETIMEDOUT);
	CHECK(rpc_loop_now(net) - t0 >= 300000);
	CHECK(rpc_loop_now(net) - t0 < 2000000);
	CHECK_EQ(last_ev, RPC_SM_FAILED);
	CHECK_EQ(rpc_session_state(cli, s), RPC_S_FAILED);
	CHECK_EQ(rpc_enqueue_request(cli, s, T_ECHO, c.req, c.resp, cont, &c), -ENOTCONN);
	CHECK_EQ(ctr(srv, RPC_C_req_handled), 0);

	const struct rpc_addr nobody = {SIP, 2999};
	rpc_loop_set_faults(net, &(struct rpc_loop_faults){0});
	int s2 = rpc_connect(cli, &nobody);
	int failed = 0;
	while (!failed && rpc_loop_now(net) - t0 < 20000000) {
		run(&failed, 1000, 1000);
		failed = rpc_session_state(cli, s2) == RPC_S_FAILED;
	}
	CHECK_EQ(last_ev, RPC_SM_CONNECT_FAILED);
	CHECK_EQ(rpc_msgbuf_free(cli, c.req), 0);
	CHECK_EQ(rpc_msgbuf_free(cli, c.resp), 0);
	CHECK_EQ(rpc_msgbuf_free(cli, c2.req), 0);
	CHECK_EQ(rpc_msgbuf_free(cli, c2.resp), 0);
	teardown();
}

/* Disconnect fails what is pending with -ECONNRESET and frees the server's session; a response
 * larger than the client's buffer fails with -EMSGSIZE; a deferred response arrives. */
static void test_disconnect_and_limits(void)
{
	struct rpc_conf cc = {.udp_port = 1000};

	setup(&cc);
	int s = connect_srv();
	struct call c = {.req = rpc_msgbuf_alloc(cli, 100), .resp = rpc_msgbuf_alloc(cli, 50)};
	uint32_t seq = 5, rsize = 51;
	memcpy(c.req->data, &seq, 4);
	memcpy(c.req->data + 4, &rsize, 4);
	for (uint32_t i = 8; i < 100; i++)
		c.req->data[i] = pat(seq, i);
	CHECK_EQ(rpc_enqueue_request(cli, s, T_SIZED, c.req, c.resp, cont, &c), 0);
	run(&c.done, 1000000, 100);
	CHECK_EQ(c.done, 1);
	CHECK_EQ(c.err, -EMSGSIZE);
	CHECK_EQ(ctr(cli, RPC_C_resp_too_big), 1);

	c.done = 0;
	CHECK_EQ(rpc_enqueue_request(cli, s, T_LATER, c.req, c.resp, cont, &c), 0);
	run(&c.done, 1000000, 1);
	CHECK_EQ(c.done, 1);
	CHECK_EQ(c.err, 0);
	CHECK_EQ(c.resp->size, 3);
	CHECK(memcmp(c.resp->data, "ack", 3) == 0);

	c.done = 0;
	rpc_loop_set_faults(net, &(struct rpc_loop_faults){.drop_all = true, .port = 2000});
	CHECK_EQ(rpc_enqueue_request(cli, s, T_ECHO, c.req, c.resp, cont, &c), 0);
	rpc_run_event_loop_once(cli);
	rpc_loop_set_faults(net, &(struct rpc_loop_faults){0});
	CHECK_EQ(rpc_disconnect(cli, s), 0);
	CHECK_EQ(c.done, 1);
	CHECK_EQ(c.err, -ECONNRESET);
	int gone = 0;
	while (!gone && rpc_loop_now(net) < 60000000) {
		run(&gone, 1000, 100);
		gone = rpc_session_state(cli, s) == RPC_S_FREE;
	}
	CHECK_EQ(rpc_session_state(cli, s), RPC_S_FREE);
	CHECK_EQ(ctr(srv, RPC_C_msgbufs_alive), 0); /* the server's session and its buffers went */
	CHECK_EQ(rpc_msgbuf_free(cli, c.req), 0);
	CHECK_EQ(rpc_msgbuf_free(cli, c.resp), 0);
	teardown();
}

/* A client that restarts (same address, same session number, new token) replaces its old
 * session on the server instead of leaking it. */
static void test_client_restart(void)
{
	struct rpc_conf cc = {.udp_port = 1000};

	setup(&cc);
	for (int round = 0; round < 3; round++) {
		if (round) {
			rpc_destroy(cli); /* gone without a word to the server */
			cli = rpc_create_loop(net, CIP, &cc);
		}
		int s = connect_srv();
		CHECK_EQ(s, 0);
		struct call c = {.req = rpc_msgbuf_alloc(cli, 10), .resp = rpc_msgbuf_alloc(cli, 10)};
		memset(c.req->data, 3, 10);
		CHECK_EQ(rpc_enqueue_request(cli, s, T_ECHO, c.req, c.resp, cont, &c), 0);
		run(&c.done, 1000000, 100);
		CHECK_EQ(c.err, 0);
		rpc_msgbuf_free(cli, c.req);
		rpc_msgbuf_free(cli, c.resp);
		/* one session's pre-allocated responses, whatever the round */
		CHECK_EQ(ctr(srv, RPC_C_msgbufs_alive), RPC_WINDOW);
	}
	teardown();
}

/* Malformed packets straight into the server's input: each dropped and counted under its
 * cause, and the real session goes on. */
static void inject(struct rpc *to, const struct rpc_hdr *h, uint32_t len, uint16_t sport)
{
	static struct rte_mempool *pool;
	struct rte_mbuf *m;
	const struct rpc_addr src = {CIP, sport};

	if (!pool)
		pool = rte_pktmbuf_pool_create("inject", 63, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					       SOCKET_ID_ANY);
	CHECK_EQ(rte_pktmbuf_alloc_bulk(pool, &m, 1), 0);
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);
	memset(p, 0xab, len);
	memcpy(p, h, RTE_MIN(len, RPC_HDR));
	rpc_input(to, &m, &src, 1);
}

static void test_bad_input(void)
{
	struct rpc_conf cc = {.udp_port = 1000};

	setup(&cc);
	int s = connect_srv();
	uint16_t ss = cli->sess[s]->remote_sess;
	struct rpc_hdr ok = {.magic = rte_cpu_to_be_16(RPC_MAGIC), .kind = RPC_K_REQ,
			     .req_type = T_ECHO, .dst_sess = rte_cpu_to_be_16(ss),
			     .msg_size = rte_cpu_to_be_32(10), .req_num = rte_cpu_to_be_64(1000)};
	struct rpc_hdr h;

	inject(srv, &ok, 10, 1000); /* short */
	CHECK_EQ(ctr(srv, RPC_C_rx_short), 1);
	h = ok, h.magic = 0x1234;
	inject(srv, &h, RPC_HDR + 10, 1000);
	CHECK_EQ(ctr(srv, RPC_C_rx_bad_magic), 1);
	h = ok, h.kind = 99;
	inject(srv, &h, RPC_HDR + 10, 1000);
	CHECK_EQ(ctr(srv, RPC_C_rx_bad_kind), 1);
	h = ok, h.dst_sess = rte_cpu_to_be_16(77);
	inject(srv, &h, RPC_HDR + 10, 1000);
	h = ok;
	inject(srv, &h, RPC_HDR + 10, 1001); /* right session, wrong source */
	CHECK_EQ(ctr(srv, RPC_C_rx_unknown_session), 2);
	h = ok, h.msg_size = rte_cpu_to_be_32(RPC_MAX_MSG + 1);
	inject(srv, &h, RPC_HDR + 10, 1000);
	h = ok, h.req_num = rte_cpu_to_be_64(1008);
	inject(srv, &h, RPC_HDR + 9, 1000); /* length does not match msg_size */
	CHECK_EQ(ctr(srv, RPC_C_rx_bad_size), 2);
	h = ok, h.req_num = rte_cpu_to_be_64(1016), h.pkt_num = rte_cpu_to_be_32(5);
	inject(srv, &h, RPC_HDR + 10, 1000); /* packet 5 of a 1-packet message */
	CHECK_EQ(ctr(srv, RPC_C_rx_bad_pkt_num), 1);
	h.msg_size = rte_cpu_to_be_32(10000); /* packet 5 of 7, its first never came */
	inject(srv, &h, RPC_HDR + 1448, 1000);
	CHECK_EQ(ctr(srv, RPC_C_rx_out_of_order), 1);
	h = ok, h.kind = RPC_K_RFR, h.req_num = rte_cpu_to_be_64(3);
	inject(srv, &h, RPC_HDR, 1000);
	CHECK_EQ(ctr(srv, RPC_C_rx_stale), 1);
	h = ok, h.kind = RPC_K_CONNECT, h.src_sess = rte_cpu_to_be_16(RPC_NO_SESSION);
	inject(srv, &h, RPC_HDR, 1000);
	CHECK_EQ(ctr(srv, RPC_C_rx_unknown_session), 3);
	CHECK_EQ(ctr(srv, RPC_C_req_handled), 0);

	struct call c = {.req = rpc_msgbuf_alloc(cli, 3000), .resp = rpc_msgbuf_alloc(cli, 3000)};
	memset(c.req->data, 1, 3000);
	CHECK_EQ(rpc_enqueue_request(cli, s, T_ECHO, c.req, c.resp, cont, &c), 0);
	run(&c.done, 1000000, 100);
	CHECK_EQ(c.done, 1);
	CHECK_EQ(c.err, 0);
	CHECK_EQ(c.resp->data[2999], 1 ^ 0x5a);
	rpc_msgbuf_free(cli, c.req);
	rpc_msgbuf_free(cli, c.resp);
	teardown();
}

int main(int argc, char **argv)
{
	char *eal[] = {argv[0], "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
		       "--log-level=error", NULL};

	(void)argc;
	if (check_eal_init(RTE_DIM(eal) - 1, eal, "rpc_loop") < 0)
		return 77;
	test_sizes();
	test_faults(0, 0, 0, 500);
	test_faults(20, 0, 0, 1000);
	test_faults(100, 0, 0, 1000);
	test_faults(30, 50, 50, 1000);
	test_congestion();
	test_credits();
	test_session_failure();
	test_disconnect_and_limits();
	test_bad_input();
	test_client_restart();
	rte_eal_cleanup();
	return CHECK_DONE();
}
