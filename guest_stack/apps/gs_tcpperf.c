/* gs-tcpperf: TCP throughput on the guest stack, as iperf.  --client opens --streams
 * connections (spread over the workers: each opens its share, and each connection stays on the
 * worker that opened it), writes a known byte stream (a 64 KiB block from --seed, repeated) in
 * --size writes for --seconds or --bytes, shuts down its side (FIN) and reads what the server
 * answers on the half-closed connection until EOF.  --server accepts on --port on every worker,
 * counts what arrives (zero copy) and at EOF answers "BYTES CRC32C\n" and closes (CRC32C,
 * with the CPU's crc32 instruction: a byte-serial digest such as FNV costs the receiver ~4
 * cycles a byte and bounded the goodput it measured).  Prints bytes
 * and Gbit/s per stream; --json for scripts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <rte_cycles.h>
#include <rte_hash_crc.h>
#include "app.h"

#define MAX_STREAMS 256
#define BLOCK 65536
#define REPLY_MAX 200

enum { O_CLIENT = 256, O_SERVER, O_DST, O_PORT, O_STREAMS, O_SECONDS, O_BYTES, O_SIZE, O_SEED,
       O_TW, O_CONNS, O_SNDBUF, O_RCVBUF };
static const struct option opts[] = {
	{"client", no_argument, NULL, O_CLIENT},	{"server", no_argument, NULL, O_SERVER},
	{"dst", required_argument, NULL, O_DST},	{"port", required_argument, NULL, O_PORT},
	{"streams", required_argument, NULL, O_STREAMS}, {"seconds", required_argument, NULL, O_SECONDS},
	{"bytes", required_argument, NULL, O_BYTES},	{"size", required_argument, NULL, O_SIZE},
	{"seed", required_argument, NULL, O_SEED},
	{"tcp-time-wait-ms", required_argument, NULL, O_TW},
	{"connections", required_argument, NULL, O_CONNS},
	{"tcp-sndbuf", required_argument, NULL, O_SNDBUF},
	{"tcp-rcvbuf", required_argument, NULL, O_RCVBUF},
	{NULL, 0, NULL, 0}};

struct stream {
	struct gs_tcp_sock *s;
	unsigned int worker;
	uint64_t sent, received;
	uint32_t crc; /* CRC32C of what arrived, without its final inversion */
	uint64_t t_start, t_end; /* TSC: connected, last byte handed to the stack */
	bool connected, shut, done;
	int err;
	unsigned int rlen;
	char reply[REPLY_MAX];
};

struct perf {
	struct gs_app app;
	bool client, server;
	uint32_t dst;
	long port, streams, size;
	double seconds;
	uint64_t bytes;
	uint64_t conns; /* connection-rate mode: this many short connections */
	uint64_t c_ok[64], c_echoed[64], c_failed[64];
	uint64_t c_t0, c_t1;
	uint32_t seed;
	struct gs_tcp_conf tcp;
	uint8_t block[BLOCK];
	struct stream st[MAX_STREAMS];
	unsigned int nsrv[64];
	struct stream srv[64][MAX_STREAMS]; /* server: per worker, the connections it served */
};

static double dbl(struct perf *p, const char *name, const char *arg, double lo, double hi)
{
	char *end;
	double v = strtod(arg, &end);

	if (end == arg || *end || !(v >= lo && v <= hi))
		gs_app_die(&p->app, "bad --%s '%s': want %g-%g", name, arg, lo, hi);
	return v;
}

static int opt(int o, const char *arg, void *ctx)
{
	struct perf *p = ctx;

	switch (o) {
	case O_CLIENT: p->client = true; return 0;
	case O_SERVER: p->server = true; return 0;
	case O_DST: p->dst = gs_app_ip(&p->app, "dst", arg); return 0;
	case O_PORT: p->port = (long)dbl(p, "port", arg, 1, 65535); return 0;
	case O_STREAMS: p->streams = (long)dbl(p, "streams", arg, 1, MAX_STREAMS); return 0;
	case O_SECONDS: p->seconds = dbl(p, "seconds", arg, 0.001, 86400); return 0;
	case O_BYTES: p->bytes = (uint64_t)dbl(p, "bytes", arg, 1, 1e15); return 0;
	case O_SIZE: p->size = (long)dbl(p, "size", arg, 1, 1 << 20); return 0;
	case O_SEED: p->seed = (uint32_t)dbl(p, "seed", arg, 1, 4294967295.0); return 0;
	case O_CONNS: p->conns = (uint64_t)dbl(p, "connections", arg, 1, 1e9); return 0;
	case O_SNDBUF:
		p->tcp.sndbuf = (uint32_t)dbl(p, "tcp-sndbuf", arg, 4096, 1 << 30);
		if (!rte_is_power_of_2(p->tcp.sndbuf))
			gs_app_die(&p->app, "bad --tcp-sndbuf '%s': want a power of two", arg);
		return 0;
	case O_RCVBUF: p->tcp.rcvbuf = (uint32_t)dbl(p, "tcp-rcvbuf", arg, 4096, 1 << 30); return 0;
	case O_TW:
		p->tcp.time_wait_us = (uint32_t)dbl(p, "tcp-time-wait-ms", arg, 1, 240000) * 1000;
		return 0;
	}
	return -1;
}

/* The stream's bytes: xorshift32 from the seed, low byte each, 64 KiB repeated (the tests
 * rebuild it to check a digest). */
static void make_block(struct perf *p)
{
	uint32_t x = p->seed;

	for (unsigned int i = 0; i < BLOCK; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p->block[i] = (uint8_t)x;
	}
}


static bool send_more(struct perf *p, struct stream *t, uint64_t now, uint64_t hz)
{
	bool timed = !p->bytes;

	while (!t->shut) {
		uint64_t left = timed ? UINT64_MAX : p->bytes - t->sent;
		if (!left || (timed && now - t->t_start >= (uint64_t)(p->seconds * (double)hz))) {
			gs_tcp_shutdown(t->s); /* half-close: the server's answer still comes */
			t->shut = true;
			t->t_end = rte_get_tsc_cycles();
			break;
		}
		uint32_t off = (uint32_t)(t->sent % BLOCK);
		size_t n = RTE_MIN(RTE_MIN((uint64_t)p->size, left), (uint64_t)(BLOCK - off));
		long w = gs_tcp_write(t->s, p->block + off, n);
		if (w == -EAGAIN)
			return true;
		if (w < 0) {
			t->err = (int)w;
			return false;
		}
		t->sent += (uint64_t)w;
	}
	return true;
}

static void stream_done(struct stream *t)
{
	gs_tcp_close(t->s);
	t->s = NULL;
	t->done = true;
}

static int client(struct perf *p, struct gs_worker *w, unsigned int wi)
{
	unsigned int nw = gs_worker_count(), mine = 0, left;
	struct gs_endpoint dst = {p->dst, (uint16_t)p->port};
	struct gs_tcp_event ev[GS_BURST];
	uint64_t start = rte_get_tsc_cycles(), hz = rte_get_tsc_hz();

	if (gs_app_wait_neigh(w, p->dst, 10) < 0)
		return -EHOSTUNREACH;
	for (long i = wi; i < p->streams; i += nw) {
		struct stream *t = &p->st[i];
		t->worker = wi;
		t->s = gs_tcp_connect(w, &dst);
		if (!t->s)
			return -errno;
		gs_tcp_set_user(t->s, t);
		mine++;
	}
	left = mine;
	while (left && gs_app_go(&p->app, start)) {
		unsigned int work = (unsigned int)gs_poll(w);
		unsigned int n = gs_tcp_wait(w, ev, GS_BURST);
		uint64_t now = rte_get_tsc_cycles();
		for (unsigned int i = 0; i < n; i++) {
			struct stream *t = ev[i].user;
			if (t->done)
				continue;
			if (ev[i].events & GS_TCP_EV_ERR) {
				t->err = gs_tcp_error(t->s);
				stream_done(t);
				left--;
				continue;
			}
			if ((ev[i].events & GS_TCP_EV_CONNECTED) && !t->connected) {
				t->connected = true;
				t->t_start = now;
			}
			if (t->connected && !send_more(p, t, now, hz)) {
				stream_done(t);
				left--;
				continue;
			}
			long r;
			while (t->rlen < REPLY_MAX - 1 &&
			       (r = gs_tcp_read(t->s, t->reply + t->rlen, REPLY_MAX - 1 - t->rlen)) > 0)
				t->rlen += (unsigned int)r;
			if (t->shut && gs_tcp_read(t->s, t->reply, 0) == 0) {
				stream_done(t); /* the server's FIN after its answer */
				left--;
			}
		}
		/* timed streams end on the clock, not on an event */
		for (long i = wi; i < p->streams; i += nw)
			if (p->st[i].connected && !p->st[i].shut && !p->st[i].done)
				send_more(p, &p->st[i], now, hz);
		gs_idle(w, work + n);
	}
	return 0;
}

/* Connection-rate mode: --streams connections at a time (per worker, its share of
 * --connections), each writes --bytes, shuts down, reads the answer to EOF and closes. */
static int conn_rate(struct perf *p, struct gs_worker *w, unsigned int wi)
{
	unsigned int nw = gs_worker_count(), active = 0;
	uint64_t todo = p->conns / nw + (wi < p->conns % nw), started = 0, done = 0;
	unsigned int par = (unsigned int)RTE_MAX(1L, p->streams / (long)nw);
	struct gs_endpoint dst = {p->dst, (uint16_t)p->port};
	struct gs_tcp_event ev[GS_BURST];
	struct stream *slot = &p->st[wi * (MAX_STREAMS / nw)];
	uint64_t start = rte_get_tsc_cycles();

	par = RTE_MIN(par, MAX_STREAMS / nw);
	if (gs_app_wait_neigh(w, p->dst, 10) < 0)
		return -EHOSTUNREACH;
	if (wi == 0)
		p->c_t0 = rte_get_tsc_cycles();
	while (done < todo && gs_app_go(&p->app, start)) {
		for (unsigned int i = 0; i < par && started < todo && active < par; i++) {
			struct stream *t = &slot[i];
			if (t->s)
				continue;
			memset(t, 0, sizeof(*t));
			t->worker = wi;
			t->s = gs_tcp_connect(w, &dst);
			if (!t->s) {
				p->c_failed[wi]++, done++, started++;
				continue;
			}
			gs_tcp_set_user(t->s, t);
			started++, active++;
		}
		unsigned int work = (unsigned int)gs_poll(w);
		unsigned int n = gs_tcp_wait(w, ev, GS_BURST);
		for (unsigned int i = 0; i < n; i++) {
			struct stream *t = ev[i].user;
			if (!t->s)
				continue;
			bool over = ev[i].events & GS_TCP_EV_ERR;
			if (!over && (ev[i].events & GS_TCP_EV_CONNECTED) && !t->shut) {
				gs_tcp_write(t->s, p->block, p->bytes);
				gs_tcp_shutdown(t->s);
				t->shut = true;
			}
			long r;
			while (!over && t->rlen < REPLY_MAX - 1 &&
			       (r = gs_tcp_read(t->s, t->reply + t->rlen, REPLY_MAX - 1 - t->rlen)) > 0)
				t->rlen += (unsigned int)r;
			if (!over && !(t->shut && gs_tcp_read(t->s, t->reply, 0) == 0))
				continue;
			if (over || !t->rlen)
				p->c_failed[wi]++;
			else
				p->c_ok[wi]++;
			p->c_echoed[wi] += t->rlen == p->bytes && !memcmp(t->reply, p->block, p->bytes);
			gs_tcp_close(t->s);
			t->s = NULL;
			active--, done++;
		}
		gs_idle(w, work + n);
	}
	p->c_t1 = RTE_MAX(p->c_t1, rte_get_tsc_cycles());
	return 0;
}

/* CRC32C of a segment's bytes: byte by byte up to an 8-byte boundary, then rte_hash_crc,
 * which loads 8 bytes at a time in place (a misaligned load otherwise: UBSan). The value is
 * the same: the crc32 instruction's 8-byte step is eight 1-byte steps. */
static uint32_t crc_update(const uint8_t *b, uint32_t len, uint32_t crc)
{
	for (; len && ((uintptr_t)b & 7); len--)
		crc = rte_hash_crc_1byte(*b++, crc);
	return rte_hash_crc(b, len, crc);
}

static int server(struct perf *p, struct gs_worker *w, unsigned int wi)
{
	struct gs_tcp_sock *l = gs_tcp_listen(w, (uint16_t)p->port, 128);
	struct gs_tcp_event ev[GS_BURST];
	struct rte_mbuf *m[GS_BURST];
	uint64_t start = rte_get_tsc_cycles();

	if (!l)
		return -errno;
	while (gs_app_go(&p->app, start)) {
		unsigned int work = (unsigned int)gs_poll(w);
		unsigned int n = gs_tcp_wait(w, ev, GS_BURST);
		for (unsigned int i = 0; i < n; i++) {
			struct gs_tcp_sock *s;
			if (ev[i].s == l) {
				while ((s = gs_tcp_accept(l))) {
					if (p->nsrv[wi] == MAX_STREAMS) {
						gs_tcp_abort(s);
						continue;
					}
					struct stream *t = &p->srv[wi][p->nsrv[wi]++];
					t->s = s;
					t->worker = wi;
					t->crc = 0xffffffff;
					t->t_start = rte_get_tsc_cycles();
					gs_tcp_set_user(s, t);
				}
				continue;
			}
			struct stream *t = ev[i].user;
			if (t->done)
				continue;
			uint16_t k;
			while ((k = gs_tcp_recv(t->s, m, GS_BURST)) > 0) {
				for (uint16_t j = 0; j < k; j++) {
					t->received += rte_pktmbuf_data_len(m[j]);
					t->crc = crc_update(rte_pktmbuf_mtod(m[j], uint8_t *),
							    rte_pktmbuf_data_len(m[j]), t->crc);
				}
				rte_pktmbuf_free_bulk(m, k);
			}
			if (ev[i].events & GS_TCP_EV_ERR) {
				t->err = gs_tcp_error(t->s);
				stream_done(t);
			} else if (gs_tcp_read(t->s, m, 0) == 0) { /* EOF: answer, then close */
				t->t_end = rte_get_tsc_cycles();
				int len = snprintf(t->reply, REPLY_MAX, "%" PRIu64 " %08" PRIx32 "\n",
						   t->received, ~t->crc);
				gs_tcp_write(t->s, t->reply, (size_t)len);
				stream_done(t);
			}
		}
		gs_idle(w, work + n);
	}
	gs_tcp_close(l);
	return 0;
}

static int worker(struct gs_worker *w, void *arg)
{
	struct perf *p = arg;

	unsigned int wi = gs_worker_index(w);

	if (p->client && p->conns)
		return conn_rate(p, w, wi);
	return p->client ? client(p, w, wi) : server(p, w, wi);
}

static json_t *stream_json(const struct stream *t, bool client)
{
	double secs = t->t_end > t->t_start ? gs_app_seconds(t->t_end - t->t_start) : 0;
	uint64_t bytes = client ? t->sent : t->received;
	char reply[REPLY_MAX];

	snprintf(reply, sizeof(reply), "%.*s", (int)t->rlen, t->reply);
	if (t->rlen && reply[t->rlen - 1] == '\n')
		reply[t->rlen - 1] = 0;
	return json_pack("{s:i,s:I,s:f,s:f,s:s,s:s,s:s}", "worker", (int)t->worker, "bytes",
			 (json_int_t)bytes, "seconds", secs, "gbps",
			 secs > 0 ? (double)bytes * 8 / secs / 1e9 : 0.0, "error",
			 t->err ? strerror(-t->err) : "", "reply", client ? reply : "", "digest",
			 client ? "" : t->reply);
}

int main(int argc, char **argv)
{
	static struct perf p = {
	    .app = {.name = "gs-tcpperf",
		    .usage = "TCP throughput, as iperf.\n"
			     "  --client | --server\n"
			     "  --dst ADDR        the server (client)\n"
			     "  --port P          server port (default 5201)\n"
			     "  --streams N       connections (client, default 1)\n"
			     "  --seconds S       send for S seconds (client, default 5)\n"
			     "  --bytes N         send N bytes per stream instead\n"
			     "  --size B          bytes per write (default 65536)\n"
			     "  --seed N          the stream's bytes (default 1)\n"
			     "  --connections N   connection rate (client): N short connections,\n"
			     "                    --streams at a time, each writes --bytes (< 200,\n"
			     "                    default 64), reads the answer to EOF, closes\n"
			     "  --tcp-time-wait-ms MS   TIME_WAIT length (default 60000)\n"
			     "  --tcp-sndbuf BYTES  send buffer per connection, a power of two (256 KiB)\n"
			     "  --tcp-rcvbuf BYTES  receive window per connection (256 KiB)\n"},
	    .port = 5201, .streams = 1, .seconds = 5, .size = 65536, .seed = 1};
	uint64_t total = 0;

	gs_app_parse(&p.app, argc, argv, opts, opt, &p);
	if (p.client == p.server)
		gs_app_die(&p.app, "say --client or --server");
	if (p.client && !p.dst)
		gs_app_die(&p.app, "--client needs --dst");
	if (p.conns && !p.bytes)
		p.bytes = 64;
	if (p.conns && p.bytes >= REPLY_MAX)
		gs_app_die(&p.app, "--connections wants --bytes under %d", REPLY_MAX);
	if (gs_tcp_configure(&p.tcp) < 0)
		gs_app_die(&p.app, "bad TCP settings");
	make_block(&p);
	gs_app_start(&p.app);
	int rc = gs_run(worker, &p);
	unsigned int errors = 0;
	if (p.client && p.conns) {
		uint64_t ok = 0, echoed = 0, failed = 0;
		for (unsigned int i = 0; i < gs_worker_count(); i++)
			ok += p.c_ok[i], echoed += p.c_echoed[i], failed += p.c_failed[i];
		double secs = p.c_t1 > p.c_t0 ? gs_app_seconds(p.c_t1 - p.c_t0) : 0;
		json_t *o = json_pack("{s:s,s:I,s:I,s:I,s:f,s:f}", "role", "client", "connections",
				      (json_int_t)ok, "echoed", (json_int_t)echoed, "failed",
				      (json_int_t)failed, "seconds", secs, "conns_per_sec",
				      secs > 0 ? (double)ok / secs : 0.0);
		if (!p.app.json)
			printf("%" PRIu64 " connections (%" PRIu64 " failed) in %.3f s: %.0f/s\n", ok,
			       failed, secs, secs > 0 ? (double)ok / secs : 0.0);
		return gs_app_finish(&p.app, o, rc < 0 || failed || ok != p.conns ? 1 : 0);
	}
	json_t *arr = json_array();
	if (p.client) {
		for (long i = 0; i < p.streams; i++) {
			json_array_append_new(arr, stream_json(&p.st[i], true));
			total += p.st[i].sent;
			errors += p.st[i].err != 0 || !p.st[i].done;
		}
	} else {
		for (unsigned int wi = 0; wi < gs_worker_count(); wi++)
			for (unsigned int i = 0; i < p.nsrv[wi]; i++) {
				json_array_append_new(arr, stream_json(&p.srv[wi][i], false));
				total += p.srv[wi][i].received;
				errors += p.srv[wi][i].err != 0;
			}
	}
	if (!p.app.json) {
		for (size_t i = 0; i < json_array_size(arr); i++) {
			json_t *s = json_array_get(arr, i);
			printf("stream %zu: %" JSON_INTEGER_FORMAT " bytes, %.3f Gbit/s %s\n", i,
			       json_integer_value(json_object_get(s, "bytes")),
			       json_real_value(json_object_get(s, "gbps")),
			       json_string_value(json_object_get(s, "error")));
		}
	}
	json_t *o = json_pack("{s:s,s:o,s:I,s:i}", "role", p.client ? "client" : "server",
			      "streams", arr, "bytes", (json_int_t)total, "errors", (int)errors);
	return gs_app_finish(&p.app, o, rc < 0 || (p.client && errors) ? 1 : 0);
}
