/* rpc_tp_gs.c: the engine over the guest stack: a UDP socket on one worker, its port steered
 * there, packets received by a handler inside gs_poll. */
#include <rte_ip.h>
#include <rte_malloc.h>
#include "gstack.h"
#include "rpc_priv.h"

struct tp_gs {
	struct gs_worker *w;
	struct gs_udp_sock *sock;
	struct rpc *rpc;
};

static int gs_alloc(void *ctx, struct rte_mbuf **m, unsigned int n)
{
	return gs_udp_alloc(((struct tp_gs *)ctx)->w, m, n);
}

/* Flushed at once: the engine sends at the end of its loop iteration, after the stack's poll
 * (which flushes too) has run, so waiting for the next poll would add an iteration (or an idle
 * back-off's sleep) to every round trip. */
static uint16_t gs_tx(void *ctx, struct rte_mbuf **m, uint16_t n, const struct rpc_addr *dst)
{
	struct tp_gs *t = ctx;
	const struct gs_endpoint ep = {dst->ip, dst->port};
	uint16_t took = gs_udp_sendto(t->sock, m, n, &ep);

	gs_tx_flush(t->w);
	return took;
}

static void gs_rx(struct gs_udp_sock *s, struct rte_mbuf **pkts, uint16_t n, void *arg)
{
	struct tp_gs *t = arg;
	struct rpc_addr src[GS_BURST];

	(void)s;
	for (uint16_t i = 0; i < n; i++) {
		struct gs_endpoint ep = {0, 0};
		gs_udp_peer(pkts[i], &ep, NULL);
		src[i] = (struct rpc_addr){ep.ip, ep.port};
	}
	rpc_input(t->rpc, pkts, src, n);
}

static unsigned int gs_poll_tp(void *ctx)
{
	return (unsigned int)gs_poll(((struct tp_gs *)ctx)->w);
}

/* The stack's clock: a fake one when the stack runs on a fake device. */
static uint64_t gs_now(void *ctx)
{
	(void)ctx;
	return gs_time_us();
}

static void gs_idle_tp(void *ctx, unsigned int work)
{
	gs_idle(((struct tp_gs *)ctx)->w, work);
}

static void gs_close(void *ctx)
{
	struct tp_gs *t = ctx;

	gs_udp_close(t->sock);
	rte_free(t);
}

static const struct rpc_tp_ops gs_ops = {gs_alloc, gs_tx, gs_poll_tp, gs_now, gs_idle_tp, gs_close};

struct rpc *rpc_create_gs(struct gs_worker *w, const struct rpc_conf *conf)
{
	struct tp_gs *t;
	int rc;

	if (!w || !conf || !conf->udp_port) {
		errno = EINVAL;
		return NULL;
	}
	if ((rc = gs_udp_steer(conf->udp_port, gs_worker_index(w))) < 0) {
		errno = -rc;
		return NULL;
	}
	if (!(t = rte_zmalloc("rpc_tp_gs", sizeof(*t), 0))) {
		errno = ENOMEM;
		return NULL;
	}
	t->w = w;
	if (!(t->sock = gs_udp_bind(w, conf->udp_port))) {
		rte_free(t);
		return NULL;
	}
	const struct rpc_addr local = {gs_ip(), conf->udp_port};
	/* a packet is one mbuf: a jumbo MTU is capped by the stack's buffer size */
	uint32_t payload = RTE_MIN((uint32_t)gs_mtu() - sizeof(struct rte_ipv4_hdr) - 8,
				   (uint32_t)RTE_MBUF_DEFAULT_DATAROOM);
	if (!(t->rpc = rpc_create_tp(&gs_ops, t, &local, payload, conf))) {
		rc = errno;
		gs_close(t);
		errno = rc;
		return NULL;
	}
	/* No UDP checksum by default: the paths are vring copies or CRC-protected links, and on
	 * virtio without offloads both ends would compute it in software for every packet. */
	gs_udp_set_cksum(t->sock, conf->udp_cksum);
	gs_udp_set_handler(t->sock, gs_rx, t);
	return t->rpc;
}
