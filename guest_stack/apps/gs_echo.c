/* gs-echo: answers ICMP echo (the stack does) and echoes UDP datagrams back, zero copy. */
#include <stdio.h>
#include <stdlib.h>
#include <rte_cycles.h>
#include "app.h"

enum { O_PORT = 256 };
static const struct option opts[] = {{"port", required_argument, NULL, O_PORT}, {NULL, 0, NULL, 0}};

struct echo {
	struct gs_app app;
	long port;
	uint64_t echoed[64], refused[64];
};

static int opt(int o, const char *arg, void *ctx)
{
	struct echo *e = ctx;
	char *end;

	if (o != O_PORT)
		return -1;
	e->port = strtol(arg, &end, 10);
	if (end == arg || *end || e->port < 1 || e->port > 65535)
		gs_app_die(&e->app, "bad --port '%s': want 1-65535", arg);
	return 0;
}

static int worker(struct gs_worker *w, void *arg)
{
	struct echo *e = arg;
	unsigned int i = gs_worker_index(w);
	struct gs_udp_sock *s = gs_udp_bind(w, (uint16_t)e->port);
	struct rte_mbuf *pkts[GS_BURST];
	uint64_t start = rte_get_tsc_cycles();

	if (!s)
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
		gs_idle(w, work + n);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct echo e = {.app = {.name = "gs-echo",
					.usage = "Answers ICMP echo and echoes UDP datagrams.\n"
						 "  --port P          echo UDP on port P only (default: any)\n"}};
	uint64_t echoed = 0, refused = 0;

	gs_app_parse(&e.app, argc, argv, opts, opt, &e);
	gs_app_start(&e.app);
	if (!e.app.json)
		printf("gs-echo: on %s, mode %s, %u worker(s); Ctrl-C stops\n",
		       e.app.conf.dev, gs_mode_name(e.app.conf.mode), gs_worker_count());
	fflush(stdout);
	int rc = gs_run(worker, &e);
	for (unsigned int i = 0; i < gs_worker_count(); i++)
		echoed += e.echoed[i], refused += e.refused[i];
	json_t *o = json_pack("{s:I,s:I}", "udp_echoed", (json_int_t)echoed, "udp_refused",
			      (json_int_t)refused);
	if (!e.app.json)
		printf("gs-echo: echoed %" PRIu64 " datagrams (%" PRIu64 " refused: TX full)\n",
		       echoed, refused);
	return gs_app_finish(&e.app, o, rc < 0 ? 1 : 0);
}
