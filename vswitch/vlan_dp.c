/* VLANs (802.1Q) on the data path: l2.c calls these only when some port has a VLAN setting, so
 * a switch without VLANs pays one branch per burst for them.
 *
 * Inside the switch every frame is untagged in its data, its VLAN and priority in the mbuf's
 * vlan_tci: ingress strips a tag (or takes the one a PMD already stripped, RX_VLAN_STRIPPED),
 * egress puts it back for ports that want it tagged. So one frame's data is right for every
 * untagged egress port, and a tagged copy is right for every tagged one: a flood to ports that
 * differ in tagging makes one full copy (rte_pktmbuf_copy) for the tagged group and shares it
 * among them by reference count, while the untagged group shares the original. A flood where
 * all agree makes no copy. A header-only copy chained to a clone would copy less, but sends a
 * two-segment chain, which not every egress takes (the switch linearizes input for the same
 * reason); floods are broadcast and unknown unicast, mostly short ARP frames.
 *
 * Offload flags (RTE_MBUF_F_TX_VLAN) live in the mbuf, so they can only serve a frame that goes
 * to one port: unicast to a port whose device inserts tags. Shared frames carry their tag in
 * their data. */
#include <string.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "vswd.h"

#define VID_MASK 0x0fff

static inline bool tagged_member(const struct vsw_dp_vlan *v, uint16_t vid)
{
	return (v->tagged[vid >> 6] >> (vid & 63)) & 1;
}

/* rte_vlan_strip, with the 12 address bytes moved through registers: its memmove is a call
 * into libc for every tagged frame. The caller checked that the frame is tagged and long
 * enough. */
static inline void strip_tag(struct rte_mbuf *m)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	const struct rte_vlan_hdr *vh = (const struct rte_vlan_hdr *)(p + RTE_ETHER_HDR_LEN);
	uint64_t a;
	uint32_t b;

	m->vlan_tci = rte_be_to_cpu_16(vh->vlan_tci);
	memcpy(&a, p, 8);
	memcpy(&b, p + 8, 4);
	p = (uint8_t *)rte_pktmbuf_adj(m, sizeof(struct rte_vlan_hdr));
	memcpy(p, &a, 8);
	memcpy(p + 8, &b, 4);
}

unsigned vsw_vlan_input(struct vsw_pmd *pmd, const struct vsw_dp_table *t, uint16_t in,
			struct rte_mbuf **pkts, unsigned n, uint16_t *vid,
			const struct rte_ether_addr **src, const struct rte_ether_addr **dst,
			uint64_t *bytes)
{
	const struct vsw_dp_vlan *pv = &t->vlan[in];
	struct vsw_port_counters *rc = &pmd->port[in];
	unsigned k = 0;
	uint64_t b = 0;

	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		bool tagged = (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) != 0;
		uint16_t tci = tagged ? m->vlan_tci : 0, v;

		if (!tagged && eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN)) {
			if (m->data_len < RTE_ETHER_HDR_LEN + sizeof(struct rte_vlan_hdr)) {
				rc->drop_malformed++;
				rte_pktmbuf_free(m);
				continue;
			}
			strip_tag(m);
			tagged = true;
			tci = m->vlan_tci;
			eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
			/* offload metadata (offload.c) measured the headers with the tag */
			if (unlikely(vsw_ol_need(m) != 0) && m->l2_len >= RTE_ETHER_HDR_LEN + 4)
				m->l2_len -= 4;
		}
		m->ol_flags &= ~(RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED);
		v = tci & VID_MASK;
		if (v == 0) {
			/* untagged, or priority-tagged (VLAN 0): the port's untagged VLAN */
			v = pv->untagged;
			tci = (uint16_t)((tci & ~VID_MASK) | (v & VID_MASK));
		} else if (!tagged_member(pv, v)) {
			v = VSW_VLAN_NONE; /* 4095 and VLANs the port does not carry */
		}
		if (v == VSW_VLAN_NONE) {
			rc->drop_vlan++;
			rte_pktmbuf_free(m);
			continue;
		}
		m->vlan_tci = tci;
		vid[k] = v;
		src[k] = &eth->src_addr;
		dst[k] = &eth->dst_addr;
		b += m->pkt_len;
		pkts[k++] = m;
	}
	*bytes = b;
	return k;
}

/* rte_vlan_insert, which refuses any mbuf that is not direct, also for a frame in an external
 * buffer (net_vhost's large frames) that no other mbuf shares: its data is as writable. */
static int vlan_insert(struct rte_mbuf **m)
{
	struct rte_mbuf *mb = *m;
	int rc;

	if (!RTE_MBUF_HAS_EXTBUF(mb) || RTE_MBUF_CLONED(mb) ||
	    rte_mbuf_ext_refcnt_read(mb->shinfo) != 1)
		return rte_vlan_insert(m);
	mb->ol_flags &= ~RTE_MBUF_F_EXTERNAL;
	rc = rte_vlan_insert(m);
	mb->ol_flags |= RTE_MBUF_F_EXTERNAL;
	return rc;
}

/* Tags one frame that only this port will send (reference count 1). A frame with checksum or
 * segmentation offload gets its tag in its data: segments cut from it (offload.c) copy its
 * headers, and its header lengths grow with the tag (rte_vlan_insert). So does a frame in an
 * external buffer: a PMD's software tagging (net_vhost's) would refuse it. */
static inline int tag_one(const struct vsw_dp_vlan *pv, struct rte_mbuf **m)
{
	if (pv->tx_offload && likely(vsw_ol_need(*m) == 0 && RTE_MBUF_DIRECT(*m))) {
		(*m)->ol_flags |= RTE_MBUF_F_TX_VLAN;
		return 0;
	}
	return vlan_insert(m);
}

unsigned vsw_vlan_output(struct vsw_pmd *pmd, const struct vsw_dp_table *t, uint16_t out,
			 uint16_t vid, struct rte_mbuf **pkts, unsigned n, uint64_t *bytes)
{
	const struct vsw_dp_vlan *pv = &t->vlan[out];
	unsigned k = 0;
	uint64_t b = 0;

	if (vid == pv->untagged)
		return n; /* untagged already, *bytes unchanged */
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		if (tag_one(pv, &m) != 0) {
			pmd->port[out].drop_no_copy++;
			rte_pktmbuf_free(m);
			continue;
		}
		b += m->pkt_len;
		pkts[k++] = m;
	}
	*bytes = b;
	return k;
}

unsigned vsw_vlan_flood(struct vsw_pmd *pmd, const struct vsw_dp_table *t, uint16_t in,
			struct rte_mbuf *m, uint16_t vid, uint16_t *to, unsigned *nu_out,
			struct rte_mbuf **tagged, unsigned *lost)
{
	uint16_t tag[VSW_MAX_PORTS];
	unsigned nu = 0, nt = 0;
	struct rte_mbuf *c = m;

	*lost = 0;
	/* untagged members first in to[], tagged ones aside */
	for (unsigned j = 0; j < t->n_active; j++) {
		uint16_t idx = t->active[j];
		const struct vsw_dp_vlan *pv = &t->vlan[idx];

		if (idx == in || !__atomic_load_n(&vsw.link_up[idx], __ATOMIC_RELAXED))
			continue;
		if (vid == pv->untagged)
			to[nu++] = idx;
		else if (tagged_member(pv, vid))
			tag[nt++] = idx;
	}
	if (nt > 0) {
		/* the tagged group's frame: the original itself when nobody wants it untagged */
		if (nu > 0)
			c = rte_pktmbuf_copy(m, vsw.pool, 0, UINT32_MAX);
		if (c == NULL || vlan_insert(&c) != 0) {
			if (c != NULL && c != m)
				rte_pktmbuf_free(c);
			for (unsigned i = 0; i < nt; i++)
				pmd->port[tag[i]].drop_no_copy++;
			*lost = nt;
			if (nu == 0)
				rte_pktmbuf_free(m);
			nt = 0;
			c = NULL;
		}
	}
	for (unsigned i = 0; i < nt; i++)
		to[nu + i] = tag[i];
	*nu_out = nu;
	*tagged = nt > 0 ? c : NULL;
	return nu + nt;
}
