/* gs-udpperf: UDP sender or receiver over the user-space stack.  Each datagram carries a flow
 * number, a per-flow sequence number and the sender's TSC, so the receiver counts loss and
 * latency per flow and per core (tests check flow spread and flow-to-core affinity). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <rte_cycles.h>
#include "app.h"

#define MAGIC 0x67737066u /* "gspf" */
#define MAX_FLOWS 1024
#define HIST_US 10000 /* 1-us latency buckets; the last one takes the rest */

enum { O_SEND = 256, O_RECV, O_DST, O_PORT, O_SPORT, O_SIZE, O_RATE, O_FLOWS, O_IDLE };
static const struct option opts[] = {
	{"send", no_argument, NULL, O_SEND},	     {"recv", no_argument, NULL, O_RECV},
	{"dst", required_argument, NULL, O_DST},     {"port", required_argument, NULL, O_PORT},
	{"sport", required_argument, NULL, O_SPORT}, {"size", required_argument, NULL, O_SIZE},
	{"rate", required_argument, NULL, O_RATE},   {"flows", required_argument, NULL, O_FLOWS},
	{"idle-exit", required_argument, NULL, O_IDLE}, {NULL, 0, NULL, 0}};

struct hdr {
	uint32_t magic, flow;
	uint64_t seq, tsc;
};

struct wstat {
	uint64_t pkts, bytes, first, last, lat_sum;
	uint64_t flow_pkts[MAX_FLOWS], flow_next[MAX_FLOWS];
	uint64_t hist[HIST_US + 1];
	int err;
};

struct perf {
	struct gs_app app;
	bool send, recv;
	uint32_t dst;
	long port, sport, size, flows;
	double rate, idle_exit;
	struct wstat *ws[64];
};

static int opt(int o, const char *arg, void *ctx)
{
	struct perf *p = ctx;
	char *end;
	double v = o == O_DST ? 0 : strtod(arg ? arg : "0", &end);

	if (o != O_DST && arg && (end == arg || *end || v < 0))
		gs_app_die(&p->app, "bad value '%s' (see --help)", arg);
	switch (o) {
	case O_SEND:
		p->send = true;
		break;
	case O_RECV:
		p->recv = true;
		break;
	case O_DST:
		p->dst = gs_app_ip(&p->app, "--dst", arg);
		break;
	case O_PORT:
	case O_SPORT:
		if (v < 1 || v > 65535)
			gs_app_die(&p->app, "bad port '%s': want 1-65535", arg);
		*(o == O_PORT ? &p->port : &p->sport) = (long)v;
		break;
	case O_SIZE:
		if (v < sizeof(struct hdr) || v > 1472)
			gs_app_die(&p->app, "bad --size '%s': want %zu-1472", arg, sizeof(struct hdr));
		p->size = (long)v;
		break;
	case O_RATE:
		p->rate = v;
		break;
	case O_FLOWS:
		if (v < 1 || v > MAX_FLOWS)
			gs_app_die(&p->app, "bad --flows '%s': want 1-%d", arg, MAX_FLOWS);
		p->flows = (long)v;
		break;
	case O_IDLE:
		p->idle_exit = v;
		break;
	default:
		return -1;
	}
	return 0;
}

static int sender(struct perf *p, struct gs_worker *w, struct wstat *st)
{
	unsigned int i = gs_worker_index(w), nw = gs_worker_count(), nf = 0, k = 0;
	unsigned int flows[MAX_FLOWS];
	struct rte_mbuf *pkts[GS_BURST];
	struct gs_udp_sock *s = gs_udp_bind(w, (uint16_t)(p->sport + i));
	double rate = p->rate / (double)nw, hz = (double)rte_get_tsc_hz();

	for (long f = i; f < p->flows; f += nw)
		flows[nf++] = (unsigned int)f;
	if (!s || !nf)
		return s ? 0 : -errno;
	if ((st->err = gs_app_wait_neigh(w, p->dst, 5.0)) < 0)
		return st->err;
	uint64_t start = rte_get_tsc_cycles();
	st->first = start;
	while (gs_app_go(&p->app, start)) {
		unsigned int work = (unsigned int)gs_poll(w);
		uint64_t now = rte_get_tsc_cycles();
		uint64_t burst = GS_BURST;
		if (rate > 0) {
			double due = (double)(now - start) / hz * rate - (double)st->pkts;
			burst = due < 1 ? 0 : due > GS_BURST ? GS_BURST : (uint64_t)due;
		}
		if (!burst || gs_udp_alloc(w, pkts, (unsigned int)burst) < 0) {
			gs_idle(w, work);
			continue;
		}
		unsigned int f = flows[k++ % nf];
		for (uint64_t j = 0; j < burst; j++) {
			struct hdr h = {MAGIC, f, st->flow_next[f]++, now};
			/* the payload is 2 bytes past 8-byte alignment: copied, never cast (UBSan) */
			memcpy(rte_pktmbuf_append(pkts[j], (uint16_t)p->size), &h, sizeof(h));
		}
		struct gs_endpoint dst = {p->dst, (uint16_t)(p->port + f)};
		uint16_t sent = gs_udp_sendto(s, pkts, (uint16_t)burst, &dst);
		st->flow_next[f] -= burst - sent; /* not taken: TX full, sent again later */
		st->flow_pkts[f] += sent;
		st->pkts += sent;
		st->bytes += sent * (uint64_t)p->size;
		rte_pktmbuf_free_bulk(pkts + sent, (unsigned int)(burst - sent));
		gs_tx_flush(w);
		gs_idle(w, work + sent);
	}
	st->last = rte_get_tsc_cycles();
	for (int j = 0; j < 1000; j++) /* let the TX ring drain */
		gs_tx_flush(w);
	return 0;
}

static void account(struct wstat *st, const void *payload, uint16_t len, uint64_t now, double us)
{
	struct hdr h;

	if (len < sizeof(h))
		return;
	memcpy(&h, payload, sizeof(h)); /* misaligned in the frame: copied, never cast (UBSan) */
	if (h.magic != MAGIC || h.flow >= MAX_FLOWS)
		return;
	st->flow_pkts[h.flow]++;
	if (h.seq + 1 > st->flow_next[h.flow])
		st->flow_next[h.flow] = h.seq + 1;
	uint64_t lat = now > h.tsc ? (uint64_t)((double)(now - h.tsc) / us) : 0;
	st->lat_sum += lat;
	st->hist[lat < HIST_US ? lat : HIST_US]++;
}

static int receiver(struct perf *p, struct gs_worker *w, struct wstat *st)
{
	struct gs_udp_sock *s = gs_udp_bind(w, 0);
	struct rte_mbuf *pkts[GS_BURST];
	uint64_t start = rte_get_tsc_cycles();
	double us = (double)rte_get_tsc_hz() / 1e6;

	if (!s)
		return -errno;
	while (gs_app_go(&p->app, start)) {
		unsigned int work = (unsigned int)gs_poll(w);
		uint16_t n = gs_udp_recv(s, pkts, GS_BURST);
		uint64_t now = rte_get_tsc_cycles();
		for (uint16_t j = 0; j < n; j++)
			account(st, rte_pktmbuf_mtod(pkts[j], const void *),
				rte_pktmbuf_data_len(pkts[j]), now, us);
		for (uint16_t j = 0; j < n; j++)
			st->bytes += rte_pktmbuf_data_len(pkts[j]);
		rte_pktmbuf_free_bulk(pkts, n);
		if (n) {
			st->first = st->pkts ? st->first : now;
			st->last = now;
			st->pkts += n;
		} else if (p->idle_exit > 0 && st->pkts &&
			   gs_app_seconds(now - st->last) > p->idle_exit) {
			gs_stop();
		}
		gs_idle(w, work + n);
	}
	return 0;
}

static int worker(struct gs_worker *w, void *arg)
{
	struct perf *p = arg;
	struct wstat *st = p->ws[gs_worker_index(w)];

	return p->send ? sender(p, w, st) : receiver(p, w, st);
}

static double quantile(const uint64_t *hist, uint64_t n, double q)
{
	return gs_app_quantile(hist, HIST_US + 1, n, q); /* 1-us buckets */
}

static json_t *summary(struct perf *p)
{
	static uint64_t hist[HIST_US + 1], flow_pkts[MAX_FLOWS], flow_next[MAX_FLOWS];
	uint64_t pkts = 0, bytes = 0, first = UINT64_MAX, last = 0, lat = 0, expected = 0;
	json_t *per = json_array(), *o = json_object();

	for (unsigned int i = 0; i < gs_worker_count(); i++) {
		struct wstat *st = p->ws[i];
		json_t *fl = json_object();
		for (unsigned int f = 0; f < MAX_FLOWS; f++) {
			char key[16];
			if (!st->flow_pkts[f])
				continue;
			snprintf(key, sizeof(key), "%u", f);
			json_object_set_new(fl, key, json_integer((json_int_t)st->flow_pkts[f]));
			flow_pkts[f] += st->flow_pkts[f];
			flow_next[f] = RTE_MAX(flow_next[f], st->flow_next[f]);
		}
		for (unsigned int b = 0; b <= HIST_US; b++)
			hist[b] += st->hist[b];
		pkts += st->pkts;
		bytes += st->bytes;
		lat += st->lat_sum;
		if (st->pkts) {
			first = RTE_MIN(first, st->first);
			last = RTE_MAX(last, st->last);
		}
		json_array_append_new(per, json_pack("{s:i,s:I,s:o}", "worker", i, p->send ? "sent" : "received",
						     (json_int_t)st->pkts, "flows", fl));
	}
	for (unsigned int f = 0; f < MAX_FLOWS; f++)
		expected += flow_next[f];
	double secs = last > first ? gs_app_seconds(last - first) : 0;
	json_object_set_new(o, "role", json_string(p->send ? "send" : "recv"));
	json_object_set_new(o, p->send ? "sent" : "received", json_integer((json_int_t)pkts));
	json_object_set_new(o, "seconds", json_real(secs));
	json_object_set_new(o, "pps", json_real(secs > 0 ? (double)pkts / secs : 0));
	json_object_set_new(o, "mbps", json_real(secs > 0 ? (double)bytes * 8 / secs / 1e6 : 0));
	json_object_set_new(o, "per_worker", per);
	if (p->send) {
		json_object_set_new(o, "arp_error", json_integer(p->ws[0]->err));
		return o;
	}
	json_object_set_new(o, "expected", json_integer((json_int_t)expected));
	json_object_set_new(o, "lost", json_integer((json_int_t)(expected - RTE_MIN(expected, pkts))));
	unsigned int seen = 0;
	for (unsigned int f = 0; f < MAX_FLOWS; f++)
		seen += flow_pkts[f] != 0;
	json_object_set_new(o, "flows_seen", json_integer(seen));
	json_object_set_new(
		o, "latency_us",
		json_pack("{s:f,s:f,s:f,s:f,s:f}", "avg", pkts ? (double)lat / (double)pkts : 0.0,
			  "p50", quantile(hist, pkts, 0.5), "p90", quantile(hist, pkts, 0.9), "p99",
			  quantile(hist, pkts, 0.99), "max", quantile(hist, pkts, 1.0)));
	return o;
}

int main(int argc, char **argv)
{
	static struct perf p = {
		.app = {.name = "gs-udpperf",
			.usage = "UDP throughput, loss and latency over the user-space stack.\n"
				 "  --send | --recv   role (one is required)\n"
				 "  --dst ADDR        receiver's address (--send)\n"
				 "  --port P          first destination port; flow f uses P+f (9000)\n"
				 "  --sport P         source port of worker 0, +1 per worker (10000)\n"
				 "  --size N          UDP payload bytes (default 64)\n"
				 "  --rate PPS        datagrams per second in total, 0: as fast as possible\n"
				 "  --flows N         flows (destination ports), spread over workers (1)\n"
				 "  --idle-exit S     receiver: stop S seconds after the last datagram\n"},
		.port = 9000,
		.sport = 10000,
		.size = 64,
		.flows = 1};

	gs_app_parse(&p.app, argc, argv, opts, opt, &p);
	if (p.send == p.recv)
		gs_app_die(&p.app, "say --send or --recv");
	if (p.send && !p.dst)
		gs_app_die(&p.app, "--send needs --dst");
	if (p.send && p.app.duration <= 0)
		p.app.duration = 5;
	gs_app_start(&p.app);
	for (unsigned int i = 0; i < gs_worker_count(); i++)
		p.ws[i] = calloc(1, sizeof(struct wstat));
	int rc = gs_run(worker, &p);
	json_t *o = summary(&p);
	if (!p.app.json) {
		char *s = json_dumps(o, JSON_INDENT(2));
		printf("%s\n", s);
		free(s);
	}
	if (p.send && p.ws[0]->err < 0) {
		fprintf(stderr, "gs-udpperf: no ARP answer from the destination\n");
		rc = -1;
	}
	for (unsigned int i = 0; i < gs_worker_count(); i++)
		free(p.ws[i]);
	return gs_app_finish(&p.app, o, rc < 0 ? 1 : 0);
}
