/* rpc-bench: RPC rate, latency and goodput over the RPC engine, every byte checked.
 *
 * Worker i of the server is an endpoint on UDP port --port + i; worker i of the client opens
 * sessions to --server-port + i, one per RPC_WINDOW requests of --concurrency (as eRPC's
 * benchmarks do: a session carries 8 requests at a time), and keeps --concurrency requests in
 * flight over them.  A request
 * carries its sequence number and the response size it asks for, then a pattern derived from
 * the sequence number; the server checks it and answers with another pattern, which the client
 * checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <rte_cycles.h>
#include <rte_malloc.h>
#include "app.h"
#include "rpc.h"

#define T_BENCH 1
#define REQ_HDR 16
#define MAX_SIZES 16
#define MAX_CONC 256
#define HIST_RES 4	 /* buckets per microsecond */
#define HIST_N 400000	 /* up to 100 ms; above counts in the last bucket */
#define REQ_MAGIC 0x72706362u /* "rpcb" */

enum {
	O_SERVER = 256, O_CLIENT, O_PORT, O_SERVER_IP, O_SERVER_PORT, O_SIZE, O_RESP_SIZE,
	O_CONC, O_COUNT, O_CREDITS, O_NO_CC, O_RTO, O_TIMEOUT
};
static const struct option opts[] = {
	{"server", no_argument, NULL, O_SERVER},
	{"client", no_argument, NULL, O_CLIENT},
	{"port", required_argument, NULL, O_PORT},
	{"server-ip", required_argument, NULL, O_SERVER_IP},
	{"server-port", required_argument, NULL, O_SERVER_PORT},
	{"size", required_argument, NULL, O_SIZE},
	{"resp-size", required_argument, NULL, O_RESP_SIZE},
	{"concurrency", required_argument, NULL, O_CONC},
	{"count", required_argument, NULL, O_COUNT},
	{"credits", required_argument, NULL, O_CREDITS},
	{"no-cc", no_argument, NULL, O_NO_CC},
	{"rto-min", required_argument, NULL, O_RTO},
	{"session-timeout", required_argument, NULL, O_TIMEOUT},
	{NULL, 0, NULL, 0}};

struct sizes {
	uint32_t v[MAX_SIZES], n, max;
};

struct call {
	int sess;
	struct rpc_msgbuf *req, *resp;
	uint64_t seq, tsc;
	uint32_t qsize, rsize;
	struct bench *b;
	struct wk *wk;
};

/* One worker's state and results. */
struct wk {
	struct rpc *rpc;
	uint64_t issued, quota, done, failed, bad, bytes;
	uint64_t first_tsc, last_tsc;
	uint64_t tsc_per_bin; /* TSC cycles per latency bucket (1/HIST_RES us) */
	uint64_t rpc_c[RPC_C_MAX];
	uint64_t *hist;
	int sess[MAX_CONC / RPC_WINDOW], nsess, err;
	const char *why;
};

struct bench {
	struct gs_app app;
	bool server, client, no_cc;
	long port, server_port, conc, credits, rto, timeout;
	uint64_t count;
	uint32_t server_ip;
	struct sizes size, resp_size;
	struct wk wk[64];
};

static double number(struct bench *b, const char *what, const char *arg, double lo, double hi)
{
	char *end;
	double v = strtod(arg, &end);

	if (end == arg || *end || v < lo || v > hi)
		gs_app_die(&b->app, "bad %s '%s': want %.0f-%.0f", what, arg, lo, hi);
	return v;
}

static void parse_sizes(struct bench *b, const char *what, const char *arg, struct sizes *s,
			uint32_t lo)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", arg);
	s->n = s->max = 0;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (s->n == MAX_SIZES)
			gs_app_die(&b->app, "bad %s '%s': at most %d sizes", what, arg, MAX_SIZES);
		s->v[s->n] = (uint32_t)number(b, what, t, lo, RPC_MAX_MSG);
		s->max = RTE_MAX(s->max, s->v[s->n]);
		s->n++;
	}
	if (!s->n)
		gs_app_die(&b->app, "bad %s '%s': want a size or a list like 32,1000", what, arg);
}

static int opt(int o, const char *arg, void *ctx)
{
	struct bench *b = ctx;

	switch (o) {
	case O_SERVER:
		b->server = true;
		break;
	case O_CLIENT:
		b->client = true;
		break;
	case O_PORT:
		b->port = (long)number(b, "--port", arg, 1, 65000);
		break;
	case O_SERVER_IP:
		b->server_ip = gs_app_ip(&b->app, "--server-ip", arg);
		break;
	case O_SERVER_PORT:
		b->server_port = (long)number(b, "--server-port", arg, 1, 65000);
		break;
	case O_SIZE:
		parse_sizes(b, "--size", arg, &b->size, REQ_HDR);
		break;
	case O_RESP_SIZE:
		parse_sizes(b, "--resp-size", arg, &b->resp_size, 0);
		break;
	case O_CONC:
		b->conc = (long)number(b, "--concurrency", arg, 1, MAX_CONC);
		break;
	case O_COUNT:
		b->count = (uint64_t)number(b, "--count", arg, 1, 1e12);
		break;
	case O_CREDITS:
		b->credits = (long)number(b, "--credits", arg, 1, RPC_MAX_CREDITS);
		break;
	case O_NO_CC:
		b->no_cc = true;
		break;
	case O_RTO:
		b->rto = (long)number(b, "--rto-min", arg, 10, 1e7);
		break;
	case O_TIMEOUT:
		b->timeout = (long)number(b, "--session-timeout", arg, 10, 1e7);
		break;
	default:
		return -1;
	}
	return 0;
}

/* The pattern: 8-byte words of key ^ offset, so that filling and checking a megabyte is cheap. */
/* The payload pattern: 8-byte words key ^ offset, a shorter word at the end. Whole words go
 * by fixed-size copies (inlined), so a small message costs no library calls. */
static void fill(uint8_t *p, uint32_t from, uint32_t len, uint64_t key)
{
	uint32_t i = from;

	for (; i + 8 <= len; i += 8) {
		uint64_t v = key ^ i;

		memcpy(p + i, &v, 8);
	}
	if (i < len) {
		uint64_t v = key ^ i;

		memcpy(p + i, &v, len - i);
	}
}

static bool check(const uint8_t *p, uint32_t from, uint32_t len, uint64_t key)
{
	uint32_t i = from;

	for (; i + 8 <= len; i += 8) {
		uint64_t v;

		memcpy(&v, p + i, 8);
		if (v != (key ^ i))
			return false;
	}
	if (i < len) {
		uint64_t v = key ^ i;

		return memcmp(p + i, &v, len - i) == 0;
	}
	return true;
}

static uint64_t req_key(uint64_t seq)
{
	return seq * 0x9e3779b97f4a7c15ull;
}

static uint64_t resp_key(uint64_t seq)
{
	return ~seq * 0xc2b2ae3d27d4eb4full;
}

/* ---- server ---- */

static void serve(struct rpc *rpc, struct rpc_req *req, void *ctx)
{
	struct wk *wk = ctx;
	const struct rpc_msgbuf *in = rpc_req_msgbuf(req);
	uint64_t seq = 0;
	uint32_t rsize = 0, magic = 0;

	if (in->size >= REQ_HDR) {
		memcpy(&seq, in->data, 8);
		memcpy(&rsize, in->data + 8, 4);
		memcpy(&magic, in->data + 12, 4);
	}
	if (magic != REQ_MAGIC || rsize > RPC_MAX_MSG || !check(in->data, REQ_HDR, in->size, req_key(seq))) {
		wk->bad++;
		rsize = 0;
	}
	struct rpc_msgbuf *out = rsize <= rpc_pkt_payload(rpc) ? rpc_req_pre_resp(req)
							       : rpc_msgbuf_alloc(rpc, rsize);
	if (!out) { /* no memory: an empty answer, which the client counts as bad */
		out = rpc_req_pre_resp(req);
		rsize = 0;
	}
	rpc_msgbuf_resize(out, rsize);
	fill(out->data, 0, rsize, resp_key(seq));
	rpc_enqueue_response(rpc, req, out);
	wk->done++;
	wk->bytes += in->size + rsize;
}

static int server(struct bench *b, struct gs_worker *w, struct wk *wk)
{
	uint64_t start = rte_get_tsc_cycles();

	while (gs_app_go(&b->app, start))
		gs_idle(w, rpc_run_event_loop_once(wk->rpc));
	return 0;
}

/* ---- client ---- */

static void start(struct call *c, uint64_t now);

/* A response: one clock read serves its latency and the next request's start. */
static void done(struct rpc *rpc, void *tag, int err)
{
	struct call *c = tag;
	struct wk *wk = c->wk;
	uint64_t now = rte_get_tsc_cycles();

	(void)rpc;
	if (err) {
		wk->failed++;
		if (!wk->why)
			wk->why = strerror(-err);
	} else if (c->resp->size != c->rsize || !check(c->resp->data, 0, c->rsize, resp_key(c->seq))) {
		wk->bad++;
	} else {
		uint64_t q = (now - c->tsc) / wk->tsc_per_bin;
		wk->hist[q < HIST_N ? q : HIST_N - 1]++;
		wk->done++;
		wk->bytes += c->qsize + c->rsize;
	}
	wk->last_tsc = now;
	if (!err && wk->issued < wk->quota && gs_running())
		start(c, now);
}

static void start(struct call *c, uint64_t now)
{
	struct bench *b = c->b;
	struct wk *wk = c->wk;
	uint64_t seq = wk->issued++;
	uint32_t magic = REQ_MAGIC;

	c->seq = seq;
	c->qsize = b->size.v[seq % b->size.n];
	c->rsize = b->resp_size.v[(seq / b->size.n) % b->resp_size.n]; /* every pair in turn */
	rpc_msgbuf_resize(c->req, c->qsize);
	fill(c->req->data, REQ_HDR, c->qsize, req_key(seq));
	memcpy(c->req->data, &seq, 8);
	memcpy(c->req->data + 8, &c->rsize, 4);
	memcpy(c->req->data + 12, &magic, 4);
	c->tsc = now;
	int rc = rpc_enqueue_request(wk->rpc, c->sess, T_BENCH, c->req, c->resp, done, c);
	if (rc < 0) {
		wk->failed++;
		wk->why = strerror(-rc);
	}
}

static unsigned int pending(const struct wk *wk)
{
	return (unsigned int)(wk->issued - wk->done - wk->failed - wk->bad);
}

static int client(struct bench *b, struct gs_worker *w, struct wk *wk)
{
	unsigned int i = gs_worker_index(w);
	const struct rpc_addr srv = {b->server_ip, (uint16_t)(b->server_port + i)};
	struct call *calls = rte_zmalloc("rpc_bench", sizeof(*calls) * (size_t)b->conc, 0);
	uint64_t t0 = rte_get_tsc_cycles(), hz = rte_get_tsc_hz();
	wk->nsess = (int)((b->conc + RPC_WINDOW - 1) / RPC_WINDOW);
	if (!calls)
		return -ENOMEM;
	for (int k = 0; k < wk->nsess; k++)
		if ((wk->sess[k] = rpc_connect(wk->rpc, &srv)) < 0)
			return wk->sess[k];
	for (int k = 0; k < wk->nsess; k++) {
		while (gs_app_go(&b->app, t0) &&
		       rpc_session_state(wk->rpc, wk->sess[k]) == RPC_S_CONNECTING)
			gs_idle(w, rpc_run_event_loop_once(wk->rpc));
		if (rpc_session_state(wk->rpc, wk->sess[k]) != RPC_S_CONNECTED) {
			wk->why = "no session: the server did not answer";
			rte_free(calls);
			return -ETIMEDOUT;
		}
	}
	wk->first_tsc = wk->last_tsc = rte_get_tsc_cycles();
	wk->tsc_per_bin = RTE_MAX(rte_get_tsc_hz() / (HIST_RES * 1000000), (uint64_t)1);
	for (long k = 0; k < b->conc; k++) {
		calls[k] = (struct call){.sess = wk->sess[k % wk->nsess], .b = b, .wk = wk};
		calls[k].req = rpc_msgbuf_alloc(wk->rpc, b->size.max);
		calls[k].resp = rpc_msgbuf_alloc(wk->rpc, b->resp_size.max);
		if (!calls[k].req || !calls[k].resp)
			return -ENOMEM;
		if (wk->issued < wk->quota)
			start(&calls[k], rte_get_tsc_cycles());
	}
	uint64_t start_tsc = rte_get_tsc_cycles();
	while (pending(wk) && gs_app_go(&b->app, start_tsc))
		gs_idle(w, rpc_run_event_loop_once(wk->rpc));
	/* --duration is over: no new requests, the ones in flight complete (up to 5 s) */
	wk->quota = wk->issued;
	for (uint64_t end = rte_get_tsc_cycles() + 5 * hz;
	     pending(wk) && gs_running() && rte_get_tsc_cycles() < end;)
		gs_idle(w, rpc_run_event_loop_once(wk->rpc));
	for (int k = 0; k < wk->nsess; k++) /* fails what is still pending (Ctrl-C) */
		rpc_disconnect(wk->rpc, wk->sess[k]);
	for (int k = 0; k < wk->nsess; k++)
		for (uint64_t end = rte_get_tsc_cycles() + hz;
		     rpc_session_state(wk->rpc, wk->sess[k]) != RPC_S_FREE &&
		     rte_get_tsc_cycles() < end;)
			gs_idle(w, rpc_run_event_loop_once(wk->rpc));
	for (long k = 0; k < b->conc; k++) {
		rpc_msgbuf_free(wk->rpc, calls[k].req);
		rpc_msgbuf_free(wk->rpc, calls[k].resp);
	}
	rte_free(calls);
	return 0;
}

static int worker(struct gs_worker *w, void *arg)
{
	struct bench *b = arg;
	unsigned int i = gs_worker_index(w), nw = gs_worker_count();
	struct wk *wk = &b->wk[i];
	struct rpc_conf conf = {.udp_port = (uint16_t)(b->port + i),
				.credits = (unsigned int)b->credits,
				.no_cc = b->no_cc,
				.rto_min_us = (unsigned int)b->rto,
				.session_timeout_ms = (unsigned int)b->timeout};
	int rc;

	wk->quota = b->count ? b->count / nw + (i < b->count % nw) : UINT64_MAX;
	wk->hist = calloc(HIST_N, sizeof(*wk->hist));
	if (!wk->hist || !(wk->rpc = rpc_create_gs(w, &conf))) {
		wk->why = "cannot create the endpoint";
		wk->err = -errno;
		return wk->err;
	}
	if (b->server)
		rpc_register_handler(wk->rpc, T_BENCH, serve, wk);
	rc = b->server ? server(b, w, wk) : client(b, w, wk);
	rpc_stats(wk->rpc, wk->rpc_c);
	rpc_destroy(wk->rpc);
	wk->err = rc;
	return rc;
}

static double quantile(const uint64_t *hist, uint64_t n, double q)
{
	return n ? (gs_app_quantile(hist, HIST_N, n, q) + 0.5) / HIST_RES : 0; /* bucket middle */
}

static json_t *report(struct bench *b)
{
	static uint64_t hist[HIST_N];
	uint64_t c[RPC_C_MAX] = {0}, done = 0, failed = 0, bad = 0, bytes = 0, first = UINT64_MAX,
		 last = 0;
	const char *why = NULL;
	json_t *rc = json_object(), *per = json_array();

	for (unsigned int i = 0; i < gs_worker_count(); i++) {
		struct wk *wk = &b->wk[i];
		done += wk->done, failed += wk->failed, bad += wk->bad, bytes += wk->bytes;
		first = RTE_MIN(first, wk->first_tsc), last = RTE_MAX(last, wk->last_tsc);
		why = why ? why : wk->why;
		for (unsigned int k = 0; wk->hist && k < HIST_N; k++)
			hist[k] += wk->hist[k];
		for (unsigned int k = 0; k < RPC_C_MAX; k++)
			c[k] += wk->rpc_c[k];
		json_array_append_new(per, json_integer((json_int_t)wk->done));
		free(wk->hist);
	}
	for (unsigned int k = 0; k < RPC_C_MAX; k++)
		json_object_set_new(rc, rpc_ctr_name(k), json_integer((json_int_t)c[k]));
	double secs = last > first ? (double)(last - first) / (double)rte_get_tsc_hz() : 0;
	json_t *o = json_pack("{s:s,s:I,s:I,s:I,s:f,s:I,s:o}", "role", b->server ? "server" : "client",
			      b->server ? "handled" : "completed", (json_int_t)done, "failed",
			      (json_int_t)failed, b->server ? "bad_requests" : "bad_responses",
			      (json_int_t)bad, "seconds", secs, "retransmits",
			      (json_int_t)c[RPC_C_retransmits], "rpc", rc);
	json_object_set_new(o, "per_worker", per); /* RPCs completed (client) or handled (server) */
	if (why)
		json_object_set_new(o, "error", json_string(why));
	if (b->client) {
		double rps = secs > 0 ? (double)done / secs : 0;
		double gbps = secs > 0 ? (double)bytes * 8 / secs / 1e9 : 0;
		json_object_set_new(o, "rps", json_real(rps));
		json_object_set_new(o, "goodput_gbps", json_real(gbps));
		json_object_set_new(o, "p50_us", json_real(quantile(hist, done, 0.5)));
		json_object_set_new(o, "p99_us", json_real(quantile(hist, done, 0.99)));
		json_object_set_new(o, "p999_us", json_real(quantile(hist, done, 0.999)));
		if (!b->app.json)
			printf("rpc-bench: %" PRIu64 " RPCs in %.2f s: %.0f/s, p50 %.1f us, p99 %.1f "
			       "us, p999 %.1f us, goodput %.3f Gbit/s; %" PRIu64 " failed, %" PRIu64
			       " bad, %" PRIu64 " packets retransmitted%s%s\n",
			       done, secs, rps, quantile(hist, done, 0.5), quantile(hist, done, 0.99),
			       quantile(hist, done, 0.999), gbps, failed, bad, c[RPC_C_retransmits],
			       why ? ": " : "", why ? why : "");
	} else if (!b->app.json) {
		printf("rpc-bench: served %" PRIu64 " RPCs (%" PRIu64 " bad requests)\n", done, bad);
	}
	json_object_set_new(o, "msgbufs_alive", json_integer((json_int_t)c[RPC_C_msgbufs_alive]));
	return o;
}

int main(int argc, char **argv)
{
	static struct bench b = {
		.app = {.name = "rpc-bench",
			.usage = "RPC benchmark over the RPC engine: a --server, or a --client that "
				 "checks every response.\n"
				 "  --server | --client\n"
				 "  --port P              this side's first UDP port (default 31850; "
				 "worker i: P+i)\n"
				 "  --server-ip ADDR      client: the server\n"
				 "  --server-port P       client: the server's first port (default 31850)\n"
				 "  --size B[,B..]        client: request sizes, in turn (default 32; "
				 "at least 16)\n"
				 "  --resp-size B[,B..]   client: response sizes, in turn (default 32)\n"
				 "  --concurrency N       client: requests in flight per worker "
				 "(default 8)\n"
				 "  --count N             client: stop after N RPCs (default: --duration)\n"
				 "  --credits N           packets in flight per session (default 32)\n"
				 "  --no-cc               no congestion control\n"
				 "  --rto-min US          retransmission timeout floor (default 2000)\n"
				 "  --session-timeout MS  a session with no answer this long fails "
				 "(default 5000)\n"},
		.port = 31850,
		.server_port = 31850,
		.conc = 8,
		.size = {{32}, 1, 32},
		.resp_size = {{32}, 1, 32},
	};

	gs_app_parse(&b.app, argc, argv, opts, opt, &b);
	if (b.server == b.client)
		gs_app_die(&b.app, "say --server or --client");
	if (b.client && !b.server_ip)
		gs_app_die(&b.app, "--client needs --server-ip");
	if (b.client && !b.count && !b.app.duration)
		gs_app_die(&b.app, "--client needs --count or --duration");
	gs_app_start(&b.app);
	if (!b.app.json)
		printf("rpc-bench: %s on %s, %u worker(s), UDP port %ld%s\n",
		       b.server ? "server" : "client", b.app.conf.dev, gs_worker_count(), b.port,
		       b.server ? "; Ctrl-C stops" : "");
	fflush(stdout);
	int rc = gs_run(worker, &b);
	json_t *o = report(&b);
	bool ok = rc == 0 && (b.server || (json_integer_value(json_object_get(o, "failed")) == 0 &&
					   json_integer_value(json_object_get(o, "bad_responses")) == 0));
	if (rc < 0 && !b.app.json)
		fprintf(stderr, "rpc-bench: %s\n",
			json_object_get(o, "error") ? json_string_value(json_object_get(o, "error"))
						     : strerror(-rc));
	return gs_app_finish(&b.app, o, ok ? 0 : 1);
}
