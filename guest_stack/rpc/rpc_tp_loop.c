/* rpc_tp_loop.c: a loopback transport for tests.  Endpoints in one process exchange packets
 * through per-endpoint FIFOs, on a fake clock the test advances, with drops, duplicates and
 * reordering drawn from a seeded generator, so a failure repeats exactly. */
#include <string.h>
#include <rte_malloc.h>
#include "rpc_priv.h"

#define LOOP_EPS 16
#define LOOP_FIFO 8192
#define LOOP_PAYLOAD 1472 /* a 1500-byte MTU less IPv4 and UDP */

struct loop_pkt {
	struct rte_mbuf *m;
	struct rpc_addr src;
	uint64_t at; /* when the receiver may take it */
};

struct loop_ep {
	struct rpc_loop_net *net;
	struct rpc *rpc;
	struct rpc_addr addr;
	unsigned int head, tail;
	uint64_t last_at; /* of the last packet queued */
	struct loop_pkt fifo[LOOP_FIFO];
};

struct rpc_loop_net {
	struct rte_mempool *pool;
	uint64_t now;
	uint64_t rng;
	struct rpc_loop_faults f;
	struct loop_pkt held; /* a packet delayed behind the next one */
	struct rpc_addr held_dst;
	struct loop_ep *ep[LOOP_EPS];
};

struct rpc_loop_net *rpc_loop_net_create(void)
{
	static unsigned int seq;
	char name[RTE_MEMPOOL_NAMESIZE];
	struct rpc_loop_net *net = rte_zmalloc("rpc_loop", sizeof(*net), 0);

	if (!net)
		return NULL;
	snprintf(name, sizeof(name), "rpc_loop%u", seq++);
	net->pool = rte_pktmbuf_pool_create(name, 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					    SOCKET_ID_ANY);
	if (!net->pool) {
		rte_free(net);
		return NULL;
	}
	net->now = 1000000;
	return net;
}

void rpc_loop_net_destroy(struct rpc_loop_net *net)
{
	if (!net)
		return;
	for (unsigned int i = 0; i < LOOP_EPS; i++)
		if (net->ep[i])
			rpc_destroy(net->ep[i]->rpc);
	rte_pktmbuf_free(net->held.m);
	rte_mempool_free(net->pool);
	rte_free(net);
}

void rpc_loop_set_faults(struct rpc_loop_net *net, const struct rpc_loop_faults *f)
{
	net->f = *f;
	net->rng = f->seed ? f->seed : 1;
}

void rpc_loop_advance(struct rpc_loop_net *net, uint64_t us)
{
	net->now += us;
}

uint64_t rpc_loop_now(const struct rpc_loop_net *net)
{
	return net->now;
}

unsigned int rpc_loop_mbufs_in_use(const struct rpc_loop_net *net)
{
	return rte_mempool_in_use_count(net->pool);
}

static unsigned int per_mille(struct rpc_loop_net *net)
{
	net->rng ^= net->rng << 13; /* xorshift64 */
	net->rng ^= net->rng >> 7;
	net->rng ^= net->rng << 17;
	return (unsigned int)(net->rng % 1000);
}

static void deliver(struct rpc_loop_net *net, struct loop_pkt p, const struct rpc_addr *dst)
{
	for (unsigned int i = 0; i < LOOP_EPS; i++) {
		struct loop_ep *e = net->ep[i];
		if (e && e->addr.ip == dst->ip && e->addr.port == dst->port &&
		    e->tail - e->head < LOOP_FIFO) {
			p.at = net->now + net->f.delay_us;
			if (net->f.stall_pm && per_mille(net) < net->f.stall_pm)
				p.at += net->f.stall_us;
			if (e->tail != e->head) /* in order, gap_us apart */
				p.at = RTE_MAX(p.at, e->last_at + net->f.gap_us);
			e->last_at = p.at;
			e->fifo[e->tail++ % LOOP_FIFO] = p;
			return;
		}
	}
	rte_pktmbuf_free(p.m); /* nobody there, or its queue is full: lost */
}

static uint16_t loop_tx(void *ctx, struct rte_mbuf **m, uint16_t n, const struct rpc_addr *dst)
{
	struct loop_ep *e = ctx;
	struct rpc_loop_net *net = e->net;

	for (uint16_t i = 0; i < n; i++) {
		struct loop_pkt p = {m[i], e->addr, 0};
		if (net->f.port && dst->port != net->f.port) {
			deliver(net, p, dst);
			continue;
		}
		if (net->f.drop_all || per_mille(net) < net->f.drop_pm) {
			rte_pktmbuf_free(p.m);
			continue;
		}
		if (per_mille(net) < net->f.dup_pm) {
			struct rte_mbuf *c = rte_pktmbuf_copy(p.m, net->pool, 0, UINT32_MAX);
			if (c)
				deliver(net, (struct loop_pkt){c, e->addr, 0}, dst);
		}
		if (!net->held.m && per_mille(net) < net->f.reorder_pm) {
			net->held = p;
			net->held_dst = *dst;
			continue;
		}
		deliver(net, p, dst);
		if (net->held.m) {
			deliver(net, net->held, &net->held_dst);
			net->held.m = NULL;
		}
	}
	return n;
}

static int loop_alloc(void *ctx, struct rte_mbuf **m, unsigned int n)
{
	return rte_pktmbuf_alloc_bulk(((struct loop_ep *)ctx)->net->pool, m, n);
}

static unsigned int loop_poll(void *ctx)
{
	struct loop_ep *e = ctx;
	struct rte_mbuf *pkts[32];
	struct rpc_addr src[32];
	uint16_t n = 0;

	while (n < 32 && e->head != e->tail && e->fifo[e->head % LOOP_FIFO].at <= e->net->now) {
		struct loop_pkt p = e->fifo[e->head++ % LOOP_FIFO];
		pkts[n] = p.m;
		src[n++] = p.src;
	}
	if (n)
		rpc_input(e->rpc, pkts, src, n);
	return n;
}

static uint64_t loop_now(void *ctx)
{
	return ((struct loop_ep *)ctx)->net->now;
}

static void loop_close(void *ctx)
{
	struct loop_ep *e = ctx;

	while (e->head != e->tail)
		rte_pktmbuf_free(e->fifo[e->head++ % LOOP_FIFO].m);
	for (unsigned int i = 0; i < LOOP_EPS; i++)
		if (e->net->ep[i] == e)
			e->net->ep[i] = NULL;
	rte_free(e);
}

static const struct rpc_tp_ops loop_ops = {loop_alloc, loop_tx, loop_poll, loop_now, NULL,
					   loop_close};

struct rpc *rpc_create_loop(struct rpc_loop_net *net, uint32_t ip, const struct rpc_conf *conf)
{
	unsigned int i;

	for (i = 0; i < LOOP_EPS && net->ep[i]; i++)
		;
	if (i == LOOP_EPS || !conf) {
		errno = i == LOOP_EPS ? ENOSPC : EINVAL;
		return NULL;
	}
	struct loop_ep *e = rte_zmalloc("rpc_loop_ep", sizeof(*e), 0);
	if (!e) {
		errno = ENOMEM;
		return NULL;
	}
	e->net = net;
	e->addr = (struct rpc_addr){ip, conf->udp_port};
	if (!(e->rpc = rpc_create_tp(&loop_ops, e, &e->addr, LOOP_PAYLOAD, conf))) {
		rte_free(e);
		return NULL;
	}
	net->ep[i] = e;
	return e->rpc;
}
