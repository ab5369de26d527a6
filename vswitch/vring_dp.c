/* The data path of vhost ports whose rings vring.c drives (vhost/vhost.h: vhp_vrings): what
 * rte_eth_rx_burst and rte_eth_tx_buffer_flush do for the other ports, capture callbacks and
 * net_vhost's VLAN tag insertion included. A port changing hands (vhp_held) receives nothing
 * and drops what it is sent. */
#include <rte_ether.h>

#include "vhost.h"
#include "vswd.h"

/* The tags vlan_dp.c leaves to the port's VLAN insertion offload (RTE_MBUF_F_TX_VLAN, which
 * net_vhost offers and does in software in its tx burst): inserted here, as net_vhost would.
 * A frame that cannot take its tag is dropped and counted, never sent untagged. */
static uint16_t insert_tags(struct vsw_pmd *pmd, uint16_t idx, struct rte_mbuf **pkts,
			    uint16_t n)
{
	uint16_t k = 0;

	for (uint16_t i = 0; i < n; i++) {
		if (unlikely(pkts[i]->ol_flags & RTE_MBUF_F_TX_VLAN) &&
		    rte_vlan_insert(&pkts[i]) != 0) {
			vsw_tx_unsent(&pkts[i], 1, &pmd->port[idx]);
			continue;
		}
		pkts[k++] = pkts[i];
	}
	return k;
}

uint16_t vsw_vhost_rx(const struct vsw_dp_rxq *q, struct rte_mbuf **pkts)
{
	struct vhp_vrings *v = vhp_vrings(q->port_id);
	uint16_t n;
	void *cb;

	if (v == NULL)
		return rte_eth_rx_burst(q->port_id, q->queue, pkts, VSW_BURST);
	if (vhp_held(v))
		return 0;
	if (unlikely(v->tx.call_pending)) /* polled here: nothing may come to send */
		vr_enqueue(&v->tx, NULL, 0);
	n = vr_dequeue(&v->rx, vsw.pool, pkts, VSW_BURST);
	/* rte_pdump works by ethdev callbacks: called here as rte_eth_rx_burst would */
	cb = __atomic_load_n((void **)&rte_eth_fp_ops[q->port_id].rxq.clbk[q->queue],
			     __ATOMIC_RELAXED);
	if (unlikely(cb != NULL))
		n = rte_eth_call_rx_callbacks(q->port_id, q->queue, pkts, n, VSW_BURST, cb);
	return n;
}

void vsw_vhost_tx(struct vsw_pmd *pmd, uint16_t idx, uint16_t port_id, uint16_t q)
{
	struct rte_eth_dev_tx_buffer *b = pmd->txb[idx];
	struct vhp_vrings *v = vhp_vrings(port_id);
	uint16_t n = b->length, sent = 0;
	void *cb;

	if (v == NULL) {
		rte_eth_tx_buffer_flush(port_id, q, b);
		return;
	}
	if (n == 0)
		return;
	b->length = 0;
	if (!vhp_held(v)) {
		cb = __atomic_load_n((void **)&rte_eth_fp_ops[port_id].txq.clbk[q],
				     __ATOMIC_RELAXED);
		if (unlikely(cb != NULL))
			n = rte_eth_call_tx_callbacks(port_id, q, b->pkts, n, cb);
		n = insert_tags(pmd, idx, b->pkts, n);
		sent = vr_enqueue(&v->tx, b->pkts, n);
		rte_pktmbuf_free_bulk(b->pkts, sent);
	}
	if (sent < n) /* as the tx buffer's callback: counted as dropped, freed */
		vsw_tx_unsent(b->pkts + sent, (uint16_t)(n - sent), &pmd->port[idx]);
}
