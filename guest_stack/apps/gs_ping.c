/* gs-ping: ICMP echo from the user-space stack, with a latency summary.  Worker 0 sends; a
 * reply may land on any worker (RSS), which measures it from the TSC stamp in the payload. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <rte_cycles.h>
#include "app.h"

enum { O_DST = 256, O_COUNT, O_INTERVAL, O_SIZE, O_WAIT };
static const struct option opts[] = {{"dst", required_argument, NULL, O_DST},
				     {"count", required_argument, NULL, O_COUNT},
				     {"interval", required_argument, NULL, O_INTERVAL},
				     {"size", required_argument, NULL, O_SIZE},
				     {"wait", required_argument, NULL, O_WAIT},
				     {NULL, 0, NULL, 0}};

struct ping {
	struct gs_app app;
	uint32_t dst;
	long count, size;
	double interval, wait;
	uint16_t id;
	volatile uint64_t sent;
	double *rtt[64]; /* per worker, count entries, in ms */
	volatile uint64_t got[64];
};

static int opt(int o, const char *arg, void *ctx)
{
	struct ping *p = ctx;
	char *end;
	double v = strtod(arg, &end);

	if (o == O_DST) {
		p->dst = gs_app_ip(&p->app, "--dst", arg);
		return 0;
	}
	if (end == arg || *end || v < 0)
		gs_app_die(&p->app, "bad value '%s' (see --help)", arg);
	if (o == O_COUNT && v >= 1 && v <= 1000000)
		p->count = (long)v;
	else if (o == O_INTERVAL)
		p->interval = v;
	else if (o == O_SIZE && v >= 8 && v <= 1400)
		p->size = (long)v;
	else if (o == O_WAIT)
		p->wait = v;
	else
		gs_app_die(&p->app, "bad value '%s' (see --help)", arg);
	return 0;
}

static uint64_t received(const struct ping *p)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < gs_worker_count(); i++)
		n += __atomic_load_n(&p->got[i], __ATOMIC_RELAXED);
	return n;
}

static void take_replies(struct ping *p, struct gs_worker *w)
{
	unsigned int i = gs_worker_index(w);
	struct gs_echo_reply r;

	while (gs_icmp_recv_reply(w, &r) == 0) {
		if (r.id != p->id || r.src != p->dst || p->got[i] >= (uint64_t)p->count)
			continue;
		double ms = gs_app_seconds(rte_get_tsc_cycles() - r.data) * 1e3;
		p->rtt[i][p->got[i]] = ms;
		__atomic_store_n(&p->got[i], p->got[i] + 1, __ATOMIC_RELAXED);
		if (!p->app.json)
			printf("%ld bytes from %u.%u.%u.%u: icmp_seq=%u time=%.3f ms\n",
			       p->size + 8, r.src >> 24, (r.src >> 16) & 255, (r.src >> 8) & 255,
			       r.src & 255, r.seq, ms);
	}
}

static int worker(struct gs_worker *w, void *arg)
{
	struct ping *p = arg;
	bool sender = gs_worker_index(w) == 0;
	uint64_t hz = rte_get_tsc_hz(), next = rte_get_tsc_cycles(), last = 0;
	uint64_t gap = (uint64_t)(p->interval * (double)hz);
	char payload[1400] = {0};

	gs_icmp_listen(w);
	if (sender && gs_app_wait_neigh(w, p->dst, p->wait + 2) < 0 && !p->app.json)
		printf("gs-ping: no ARP answer from the next hop yet\n");
	next = rte_get_tsc_cycles();
	while (gs_app_go(&p->app, next)) {
		unsigned int work = (unsigned int)gs_poll(w);
		uint64_t now = rte_get_tsc_cycles();
		take_replies(p, w);
		if (sender) {
			if (p->sent < (uint64_t)p->count && now >= next) {
				memcpy(payload, &now, sizeof(now));
				if (gs_icmp_echo_send(w, p->dst, p->id, (uint16_t)(p->sent + 1),
						      payload, (uint16_t)p->size) == 0) {
					p->sent++;
					last = now;
				}
				next = now + gap;
				work++;
			}
			if (p->sent == (uint64_t)p->count &&
			    (received(p) >= p->sent ||
			     now - last > (uint64_t)(p->wait * (double)hz)))
				gs_stop();
		}
		gs_idle(w, work);
	}
	return 0;
}

/* The q-quantile (nearest rank) of n sorted values. */
static double pct(const double *v, uint64_t n, double q)
{
	uint64_t rank = (uint64_t)(q * (double)n);

	if ((double)rank < q * (double)n)
		rank++;
	return n ? v[rank ? rank - 1 : 0] : 0.0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static struct ping p = {
		.app = {.name = "gs-ping",
			.usage = "Sends ICMP echo requests from the user-space stack.\n"
				 "  --dst ADDR        whom to ping (required)\n"
				 "  --count N         requests to send (default 5)\n"
				 "  --interval S      seconds between requests (default 1)\n"
				 "  --size N          payload bytes, 8-1400 (default 56)\n"
				 "  --wait S          wait for replies after the last request (default 1)\n"
				 "Exits 0 if replies came, 1 if none.\n"},
		.count = 5,
		.size = 56,
		.interval = 1,
		.wait = 1};

	gs_app_parse(&p.app, argc, argv, opts, opt, &p);
	if (!p.dst)
		gs_app_die(&p.app, "missing --dst");
	p.id = (uint16_t)getpid();
	gs_app_start(&p.app);
	for (unsigned int i = 0; i < gs_worker_count(); i++)
		p.rtt[i] = calloc((size_t)p.count, sizeof(double));
	int rc = gs_run(worker, &p);

	/* All RTTs in one sorted array for the percentiles. */
	uint64_t n = received(&p), k = 0;
	double *all = calloc(n + 1, sizeof(double)), sum = 0;
	for (unsigned int i = 0; i < gs_worker_count(); i++)
		for (uint64_t j = 0; j < p.got[i]; j++)
			sum += all[k++] = p.rtt[i][j];
	qsort(all, n, sizeof(double), cmp);
	double loss = p.sent ? 100.0 * (double)(p.sent - n) / (double)p.sent : 100.0;
	json_t *o = json_pack("{s:I,s:I,s:f,s:{s:f,s:f,s:f,s:f,s:f}}", "transmitted",
			      (json_int_t)p.sent, "received", (json_int_t)n, "loss_pct", loss,
			      "rtt_ms", "min", n ? all[0] : 0.0, "avg", n ? sum / (double)n : 0.0,
			      "max", n ? all[n - 1] : 0.0, "p50", pct(all, n, 0.5), "p99", pct(all, n, 0.99));
	if (!p.app.json)
		printf("%" PRIu64 " packets transmitted, %" PRIu64 " received, %.1f%% packet loss\n"
		       "rtt min/avg/max/p50/p99 = %.3f/%.3f/%.3f/%.3f/%.3f ms\n",
		       p.sent, n, loss, n ? all[0] : 0.0, n ? sum / (double)n : 0.0,
		       n ? all[n - 1] : 0.0, pct(all, n, 0.5), pct(all, n, 0.99));
	free(all);
	for (unsigned int i = 0; i < gs_worker_count(); i++)
		free(p.rtt[i]);
	return gs_app_finish(&p.app, o, rc < 0 || n == 0 ? 1 : 0);
}
