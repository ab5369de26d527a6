/* chain.c: cutting chained mbufs.  A large TCP frame from a device with large receive (virtio's
 * mergeable buffers) arrives as a chain of 2 KB segments; DPDK's rte_pktmbuf_adj and _trim
 * work within the first and the last segment only, and TCP cuts anywhere. */
#include "gs_priv.h"

struct rte_mbuf *gs_chain_adj(struct rte_mbuf *m, uint32_t len)
{
	uint32_t pkt_len = m->pkt_len - len;
	uint16_t nb = m->nb_segs;

	while (len >= m->data_len && m->next) { /* whole leading segments go */
		struct rte_mbuf *next = m->next;
		len -= m->data_len;
		m->next = NULL;
		m->nb_segs = 1;
		rte_pktmbuf_free_seg(m);
		m = next;
		nb--;
	}
	m->data_off = (uint16_t)(m->data_off + len);
	m->data_len = (uint16_t)(m->data_len - len);
	m->pkt_len = pkt_len;
	m->nb_segs = nb;
	return m;
}

void gs_chain_trim(struct rte_mbuf *m, uint32_t len)
{
	uint32_t keep = m->pkt_len - len;
	struct rte_mbuf *s = m;
	uint16_t nb = 1;

	m->pkt_len = keep;
	while (keep > s->data_len && s->next) {
		keep -= s->data_len;
		s = s->next;
		nb++;
	}
	s->data_len = (uint16_t)keep;
	if (s->next) { /* the rest of the chain */
		rte_pktmbuf_free(s->next);
		s->next = NULL;
	}
	m->nb_segs = nb;
}

struct rte_mbuf *gs_chain_pop(struct rte_mbuf **m)
{
	struct rte_mbuf *head = *m, *rest = head->next;

	if (rest) {
		rest->pkt_len = head->pkt_len - head->data_len;
		rest->nb_segs = (uint16_t)(head->nb_segs - 1);
	}
	head->next = NULL;
	head->nb_segs = 1;
	head->pkt_len = head->data_len;
	*m = rest;
	return head;
}
