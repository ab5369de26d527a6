/* rpc_tx.c: builds packets (header plus a copy of the data) into the endpoint's TX queue and
 * hands the queue to the transport, one run of packets per destination. */
#include <string.h>
#include "rpc_priv.h"

static int queue(struct rpc *rpc, const struct rpc_addr *dst, const struct rpc_hdr *h,
		 const void *data, uint32_t len)
{
	struct rte_mbuf *m;

	if (rpc->ntx == RPC_TXQ)
		rpc_tx_flush(rpc);
	if (rpc->ntx == RPC_TXQ) { /* the transport is full: lost here, repaired as any loss */
		rpc->c[RPC_C_tx_full]++;
		return -ENOBUFS;
	}
	if (rpc->tp->alloc(rpc->tp_ctx, &m, 1) < 0) {
		rpc->c[RPC_C_no_mbuf]++;
		return -ENOBUFS;
	}
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(RPC_HDR + len));
	if (!p) {
		rte_pktmbuf_free(m);
		rpc->c[RPC_C_no_mbuf]++;
		return -ENOBUFS;
	}
	memcpy(p, h, RPC_HDR);
	if (len)
		memcpy(p + RPC_HDR, data, len);
	rpc->txq[rpc->ntx++] = (struct rpc_txe){m, *dst};
	return 0;
}

int rpc_tx_raw(struct rpc *rpc, const struct rpc_addr *dst, const struct rpc_hdr *h)
{
	return queue(rpc, dst, h, NULL, 0);
}

int rpc_tx_pkt(struct rpc *rpc, const struct rpc_session *s, uint8_t kind, uint8_t req_type,
	       uint32_t msg_size, uint32_t pkt_num, uint64_t req_num, const void *data,
	       uint32_t len)
{
	struct rpc_hdr h = {
		.magic = rte_cpu_to_be_16(RPC_MAGIC),
		.kind = kind,
		.req_type = req_type,
		.dst_sess = rte_cpu_to_be_16(s->remote_sess),
		.src_sess = rte_cpu_to_be_16(s->idx),
		.msg_size = rte_cpu_to_be_32(msg_size),
		.pkt_num = rte_cpu_to_be_32(pkt_num),
		.req_num = rte_cpu_to_be_64(req_num),
	};
	return queue(rpc, &s->remote, &h, data, len);
}

void rpc_tx_flush(struct rpc *rpc)
{
	struct rte_mbuf *run[RPC_TXQ];
	unsigned int i = 0, done = 0;

	while (i < rpc->ntx) {
		unsigned int j = i, n = 0;
		while (j < rpc->ntx && rpc->txq[j].dst.ip == rpc->txq[i].dst.ip &&
		       rpc->txq[j].dst.port == rpc->txq[i].dst.port)
			run[n++] = rpc->txq[j++].m;
		uint16_t took = rpc->tp->tx(rpc->tp_ctx, run, (uint16_t)n, &rpc->txq[i].dst);
		rpc->c[RPC_C_tx_pkts] += took;
		done += took;
		if (took < n)
			break; /* the transport is full: the rest goes next time, in order */
		i = j;
	}
	if (done) {
		rpc->ntx -= done;
		memmove(rpc->txq, rpc->txq + done, rpc->ntx * sizeof(rpc->txq[0]));
	}
}
