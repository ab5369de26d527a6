/* rpc_cr.c: credit returns, the server's answer to each request packet but the last. */
#include "rpc_priv.h"

void rpc_cr_input(struct rpc *rpc, struct rpc_session *s, const struct rpc_hdr *h)
{
	uint64_t rn = rte_be_to_cpu_64(h->req_num);
	const struct rpc_cslot *c = &s->c[rn % RPC_WINDOW];

	if (c->busy && c->req_num == rn && rte_be_to_cpu_32(h->pkt_num) >= c->n_req - 1) {
		rpc->c[RPC_C_rx_bad_pkt_num]++; /* only request packets but the last get one */
		return;
	}
	if (rpc_cslot_accept(rpc, s, h))
		rpc_kick(rpc, s);
}
