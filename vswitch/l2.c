/* The L2 stages for one received burst: check, learn the sources, look up the destinations,
 * then send to one port or flood. Flooding shares the mbuf by reference count: no copy. With
 * VLANs (some port has a setting), vlan_dp.c classifies the burst after the checks, tags frames
 * on their way out and plans floods; a switch without VLANs keys everything in VLAN 0. */
#include <errno.h>
#include <string.h>

#include "vswd.h"

static inline void drop(struct rte_mbuf *m, uint64_t *counter)
{
	(*counter)++;
	rte_pktmbuf_free(m);
}

static inline void tx_flush(struct vsw_pmd *pmd, const struct vsw_dp_table *t, uint16_t idx)
{
	const struct vsw_dp_port *dp = &t->ports[idx];
	uint16_t q = dp->txq[pmd->index];

	if (unlikely(dp->vx != NULL) && vsw_vxlan_output(pmd, t, idx))
		return;
	if (dp->txq_lock != NULL)
		rte_spinlock_lock(&dp->txq_lock[q]);
	if (dp->vhost)
		vsw_vhost_tx(pmd, idx, dp->port_id, q);
	else
		rte_eth_tx_buffer_flush(dp->port_id, q, pmd->txb[idx]);
	if (dp->txq_lock != NULL)
		rte_spinlock_unlock(&dp->txq_lock[q]);
}

/* Queues m for port idx; sent when the buffer fills or once the rx burst is through. */
static inline void tx_one(struct vsw_pmd *pmd, const struct vsw_dp_table *t, uint16_t idx,
			  struct rte_mbuf *m)
{
	struct rte_eth_dev_tx_buffer *b = pmd->txb[idx];

	pmd->port[idx].tx_packets++;
	pmd->port[idx].tx_bytes += m->pkt_len;
	b->pkts[b->length++] = m;
	if (b->length == b->size)
		tx_flush(pmd, t, idx);
}

/* A whole burst for one port (the common case: one flow): counters and buffer in one go. */
static void tx_many(struct vsw_pmd *pmd, const struct vsw_dp_table *t, uint16_t idx,
		    struct rte_mbuf **pkts, unsigned n, uint64_t bytes)
{
	struct rte_eth_dev_tx_buffer *b = pmd->txb[idx];

	pmd->port[idx].tx_packets += n;
	pmd->port[idx].tx_bytes += bytes;
	while (n > 0) {
		unsigned k = RTE_MIN(n, (unsigned)(b->size - b->length));

		memcpy(&b->pkts[b->length], pkts, k * sizeof(*pkts));
		b->length += k;
		pkts += k;
		n -= k;
		if (b->length == b->size)
			tx_flush(pmd, t, idx);
	}
}

void vsw_l2_tx(struct vsw_pmd *pmd, const struct vsw_dp_table *t, uint16_t idx,
	       struct rte_mbuf **pkts, unsigned n, uint64_t bytes)
{
	tx_many(pmd, t, idx, pkts, n, bytes);
}

void vsw_tx_flush_all(struct vsw_pmd *pmd, const struct vsw_dp_table *t)
{
	/* tunnels first: what they encapsulate joins their underlay's buffer, flushed below */
	for (unsigned j = 0; j < t->n_active && t->n_vxlan != 0; j++) {
		uint16_t idx = t->active[j];

		if (t->ports[idx].vx != NULL && pmd->txb[idx]->length != 0)
			tx_flush(pmd, t, idx);
	}
	for (unsigned j = 0; j < t->n_active; j++) {
		uint16_t idx = t->active[j];

		if (pmd->txb[idx]->length != 0)
			tx_flush(pmd, t, idx);
	}
}

/* Counts what a tx queue refused (the tx buffer calls this), then frees it. */
void vsw_tx_unsent(struct rte_mbuf **pkts, uint16_t unsent, void *userdata)
{
	struct vsw_port_counters *c = userdata;

	for (uint16_t i = 0; i < unsent; i++)
		c->tx_bytes -= pkts[i]->pkt_len;
	c->tx_packets -= unsent;
	c->drop_tx_full += unsent;
	rte_pktmbuf_free_bulk(pkts, unsent);
}

/* The frame's segments, cut here, to each of the k ports that cannot take it whole (their
 * checksums filled: one form for all of them). One more copy per segment beyond the first. */
static void tx_segments(struct vsw_pmd *pmd, const struct vsw_dp_table *t, uint16_t in,
			const uint16_t *to, unsigned k, struct rte_mbuf *m)
{
	struct rte_mbuf *segs[VSW_GSO_MAX_SEGS];
	int n = vsw_ol_segment(m, segs, RTE_DIM(segs));

	if (n < 0) {
		for (unsigned i = 0; i < k; i++) {
			struct vsw_port_counters *c = &pmd->port[to[i]];

			(*(n == -E2BIG ? &c->drop_too_big : &c->drop_gso_nomem))++;
		}
		return;
	}
	pmd->port[in].copies += k * (unsigned)(n - 1);
	for (int j = 0; j < n && k > 1; j++)
		vsw_mbuf_share(segs[j], (int16_t)(k - 1));
	for (unsigned i = 0; i < k; i++) {
		pmd->port[to[i]].gso_frames++;
		pmd->port[to[i]].gso_segments += (unsigned)n;
		for (int j = 0; j < n; j++)
			tx_one(pmd, t, to[i], segs[j]);
	}
}

/* m to k ports, shared by reference count: each transmit frees once. A frame with offloads
 * goes whole, flags and all, to the ports that take them; a frame with a partial checksum
 * has it filled once (in place: it is not shared yet) if any port does not; a large frame
 * is cut into segments for those that do not. */
static void tx_shared(struct vsw_pmd *pmd, const struct vsw_dp_table *t, uint16_t in,
		      const uint16_t *to, unsigned k, struct rte_mbuf *m)
{
	unsigned need = vsw_ol_need(m), kw = 0, ks = 0;
	uint16_t whole[VSW_MAX_PORTS], cut[VSW_MAX_PORTS];

	for (unsigned i = 0; i < k; i++) {
		if ((need & ~vsw.tx_caps[to[i]]) == 0)
			whole[kw++] = to[i];
		else
			cut[ks++] = to[i];
	}
	if (ks != 0 && !(need & VSW_OL_TSO)) {
		/* a full checksum is right for every port, those that take partial ones too */
		vsw_ol_csum_sw(m);
		for (unsigned i = 0; i < ks; i++)
			pmd->port[cut[i]].csum_sw++;
		need = 0;
		kw = k;
		ks = 0;
	} else {
		to = whole;
	}
	if (ks != 0) {
		tx_segments(pmd, t, in, cut, ks, m);
		need = vsw_ol_need(m); /* a frame of one MSS had its checksum filled in place */
	}
	if (kw == 0) {
		rte_pktmbuf_free(m);
		return;
	}
	if (kw > 1)
		vsw_mbuf_share(m, (int16_t)(kw - 1));
	for (unsigned i = 0; i < kw; i++) {
		pmd->port[to[i]].tx_csum += need != 0;
		pmd->port[to[i]].tx_tso += (need & VSW_OL_TSO) != 0;
		tx_one(pmd, t, to[i], m);
	}
}

/* Every other port that is up gets the frame once, never the ingress port; with none, the
 * frame is dropped as no_egress on the ingress port. */
static void flood(struct vsw_pmd *pmd, const struct vsw_dp_table *t, uint16_t in,
		  struct rte_mbuf *m)
{
	struct vsw_port_counters *rc = &pmd->port[in];
	uint16_t to[VSW_MAX_PORTS];
	unsigned k = 0;

	for (unsigned j = 0; j < t->n_active; j++) {
		uint16_t idx = t->active[j];

		if (idx != in && __atomic_load_n(&vsw.link_up[idx], __ATOMIC_RELAXED))
			to[k++] = idx;
	}
	if (k == 0) {
		drop(m, &rc->drop_no_egress);
		return;
	}
	rc->forwarded++;
	rc->copies += k;
	if (likely(vsw_ol_need(m) == 0)) {
		/* each transmit frees once: every segment needs k references */
		if (k > 1)
			vsw_mbuf_share(m, (int16_t)(k - 1));
		for (unsigned i = 0; i < k; i++)
			tx_one(pmd, t, to[i], m);
		return;
	}
	tx_shared(pmd, t, in, to, k, m);
}

/* m to the k ports of to[], shared by reference count (each transmit frees once) */
static void tx_group(struct vsw_pmd *pmd, const struct vsw_dp_table *t, uint16_t in,
		     const uint16_t *to, unsigned k, struct rte_mbuf *m)
{
	if (k == 0)
		return;
	if (unlikely(vsw_ol_need(m) != 0)) {
		tx_shared(pmd, t, in, to, k, m);
		return;
	}
	if (k > 1)
		vsw_mbuf_share(m, (int16_t)(k - 1));
	for (unsigned i = 0; i < k; i++)
		tx_one(pmd, t, to[i], m);
}

/* A flood within VLAN vid (vlan_dp.c plans it: members only, a tagged copy where needed). */
static void flood_vlan(struct vsw_pmd *pmd, const struct vsw_dp_table *t, uint16_t in,
		       struct rte_mbuf *m, uint16_t vid)
{
	struct vsw_port_counters *rc = &pmd->port[in];
	uint16_t to[VSW_MAX_PORTS];
	struct rte_mbuf *tagged;
	unsigned nu, lost, k = vsw_vlan_flood(pmd, t, in, m, vid, to, &nu, &tagged, &lost);

	if (k == 0 && lost == 0) {
		drop(m, &rc->drop_no_egress);
		return;
	}
	rc->forwarded++;
	rc->copies += k + lost;
	tx_group(pmd, t, in, to, nu, m);
	tx_group(pmd, t, in, to + nu, k - nu, tagged);
}

/* Frames of one burst mostly come in runs with the same address (one guest, one flow): each
 * run is learned or looked up once. run[i] is frame i's index into uniq; vid (NULL: VLAN 0 for
 * all) is each frame's VLAN, part of the key. */
static unsigned runs(const struct rte_ether_addr *const *addr, const uint16_t *vid, unsigned n,
		     struct vsw_fdb_key *uniq, uint8_t *run)
{
	unsigned u = 0;

	for (unsigned i = 0; i < n; i++) {
		uint16_t v = vid != NULL ? vid[i] : 0;

		if (u == 0 || !rte_is_same_ether_addr(addr[i], &uniq[u - 1].mac) ||
		    v != uniq[u - 1].vlan) {
			rte_ether_addr_copy(addr[i], &uniq[u].mac);
			uniq[u++].vlan = v;
		}
		run[i] = (uint8_t)(u - 1);
	}
	return u;
}

/* Returns the number of distinct runs of source addresses. */
static unsigned learn(struct vsw_pmd *pmd, uint16_t in, const struct rte_ether_addr *const *src,
		      const uint16_t *vid, unsigned m, uint64_t now, uint32_t gen, uint8_t *run,
		      enum vsw_learn_result *learned)
{
	struct vsw_fdb_key uniq[VSW_BURST];
	struct vsw_l2_cache *c = &pmd->l2c[in];
	unsigned u = runs(src, vid, m, uniq, run);

	if (u == 1 && c->src_ok && c->src_gen == gen && c->src_now == now &&
	    rte_is_same_ether_addr(&uniq[0].mac, &c->src) && uniq[0].vlan == c->src_vlan) {
		learned[0] = VSW_LEARN_OK; /* known here, and refreshed this second already */
		return 1;
	}
	vsw_mac_cache_learn(pmd->mc, vsw.fdb, uniq, u, in, now, gen, learned);
	if (u == 1 && learned[0] == VSW_LEARN_OK) {
		c->src = uniq[0].mac;
		c->src_vlan = uniq[0].vlan;
		c->src_now = now;
		c->src_gen = gen;
		c->src_ok = true;
	}
	return u;
}

/* Returns the number of distinct runs of destination addresses. */
static unsigned lookup(struct vsw_pmd *pmd, uint16_t in, const struct rte_ether_addr *const *dst,
		       const uint16_t *vid, unsigned m, uint32_t gen, uint8_t *run, uint16_t *out)
{
	struct vsw_fdb_key uniq[VSW_BURST];
	struct vsw_l2_cache *c = &pmd->l2c[in];
	unsigned u = runs(dst, vid, m, uniq, run);

	if (u == 1 && c->dst_ok && c->dst_gen == gen && rte_is_same_ether_addr(&uniq[0].mac, &c->dst) &&
	    uniq[0].vlan == c->dst_vlan) {
		out[0] = c->dst_port;
		return 1;
	}
	vsw_mac_cache_lookup(pmd->mc, vsw.fdb, uniq, u, gen, out);
	if (u == 1) {
		c->dst = uniq[0].mac;
		c->dst_vlan = uniq[0].vlan;
		c->dst_port = out[0];
		c->dst_gen = gen;
		c->dst_ok = true;
	}
	return u;
}

#define OFFLOADED (RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_MASK)

/* A frame from a guest with offloads (partial checksum, or a large TCP frame): made ready for
 * any egress, or dropped as bad_offload; false if dropped. */
static bool offload_in(struct vsw_port_counters *rc, struct rte_mbuf *mb, unsigned *need,
		       unsigned *n_csum, unsigned *n_tso)
{
	int r;

	if ((mb->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) != RTE_MBUF_F_RX_L4_CKSUM_NONE &&
	    !(mb->ol_flags & RTE_MBUF_F_RX_LRO))
		return true; /* a checksum verified (or found bad) by the device: nothing to do */
	r = vsw_ol_input(mb);
	if (r < 0) {
		drop(mb, &rc->drop_bad_offload);
		return false;
	}
	*need |= (unsigned)r;
	rc->rx_csum++;
	(*n_csum)++;
	if (r & VSW_OL_TSO) {
		rc->rx_tso++;
		(*n_tso)++;
	}
	return true;
}

void vsw_l2_input(struct vsw_pmd *pmd, const struct vsw_dp_table *t, uint16_t in,
		  struct rte_mbuf **pkts, uint16_t n, uint64_t now)
{
	const struct rte_ether_addr *src[VSW_BURST], *dst[VSW_BURST];
	struct rte_mbuf *ok[VSW_BURST];
	enum vsw_learn_result learned[VSW_BURST];
	uint16_t out[VSW_BURST];
	uint8_t src_run[VSW_BURST], dst_run[VSW_BURST];
	uint16_t vid_buf[VSW_BURST], *vid = NULL; /* each frame's VLAN, when there are VLANs */
	struct vsw_port_counters *rc = &pmd->port[in];
	unsigned m = 0, n_src, n_dst, need = 0, n_csum = 0, n_tso = 0;
	uint64_t ok_bytes = 0;
	uint32_t gen;

	rc->rx_packets += n;
	if (unlikely(t->ports[in].loss_thresh != 0) &&
	    (n = vsw_loss_burst(pmd, &t->ports[in], in, pkts, n)) == 0)
		return; /* a test's injected loss, before any check or learning (loss.c) */
	if (unlikely(t->ports[in].underlay) &&
	    (n = vsw_vxlan_underlay_input(pmd, t, in, pkts, n, now)) == 0)
		return; /* tunnel traffic for a local address (vxlan.c) */
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *mb = pkts[i];
		struct rte_ether_hdr *eth;

		rc->rx_bytes += mb->pkt_len;
		if (unlikely(mb->ol_flags & OFFLOADED) && !offload_in(rc, mb, &need, &n_csum, &n_tso))
			continue;
		/* runt or oversized; a chained frame (a device that scatters anyway) is made linear:
		 * the mbufs hold a whole frame; only a large TCP frame stays a chain (offload.c) */
		if (mb->data_len < RTE_ETHER_HDR_LEN ||
		    mb->pkt_len > (mb->ol_flags & RTE_MBUF_F_TX_TCP_SEG ? VSW_TSO_MAX_FRAME
									 : vsw.max_frame) ||
		    (unlikely(mb->nb_segs > 1) && !(mb->ol_flags & RTE_MBUF_F_TX_TCP_SEG) &&
		     rte_pktmbuf_linearize(mb) != 0)) {
			drop(mb, &rc->drop_malformed);
			continue;
		}
		eth = rte_pktmbuf_mtod(mb, struct rte_ether_hdr *);
		if (!rte_is_unicast_ether_addr(&eth->src_addr) ||
		    rte_is_zero_ether_addr(&eth->src_addr)) {
			drop(mb, &rc->drop_malformed); /* never learn a group or null source */
			continue;
		}
		ok_bytes += mb->pkt_len;
		ok[m] = mb;
		src[m] = &eth->src_addr;
		dst[m] = &eth->dst_addr;
		m++;
	}
	if (unlikely(t->vlans) && m != 0) {
		m = vsw_vlan_input(pmd, t, in, ok, m, vid_buf, src, dst, &ok_bytes);
		vid = vid_buf;
	}
	if (m == 0)
		return;
	/* read before learning: this burst's own changes invalidate what it caches */
	gen = vsw_fdb_gen(vsw.fdb);
	n_src = learn(pmd, in, src, vid, m, now, gen, src_run, learned);
	n_dst = lookup(pmd, in, dst, vid, m, gen, dst_run, out);
	if (n_src == 1 && n_dst == 1 && learned[0] != VSW_LEARN_LIMIT && out[0] != in &&
	    out[0] != VSW_FDB_NO_PORT && rte_is_unicast_ether_addr(dst[0]) &&
	    t->ports[out[0]].port_id != RTE_MAX_ETHPORTS &&
	    __atomic_load_n(&vsw.link_up[out[0]], __ATOMIC_RELAXED) &&
	    (need & ~vsw.tx_caps[out[0]]) == 0 &&
	    (likely(vid == NULL) || vsw_vlan_member(t, out[0], vid[0]))) {
		rc->forwarded += m;
		rc->copies += m;
		pmd->port[out[0]].tx_csum += n_csum;
		pmd->port[out[0]].tx_tso += n_tso;
		if (unlikely(vid != NULL)) /* tags them for their port, if it wants tags */
			m = vsw_vlan_output(pmd, t, out[0], vid[0], ok, m, &ok_bytes);
		tx_many(pmd, t, out[0], ok, m, ok_bytes); /* one flow: the whole burst to one port */
		return;
	}
	for (unsigned i = 0; i < m; i++) {
		uint16_t o = out[dst_run[i]];

		if (learned[src_run[i]] == VSW_LEARN_LIMIT)
			drop(ok[i], &rc->drop_learn_limit);
		else if ((o == VSW_FDB_NO_PORT || !rte_is_unicast_ether_addr(dst[i])) && vid != NULL)
			flood_vlan(pmd, t, in, ok[i], vid[i]);
		else if (o == VSW_FDB_NO_PORT || !rte_is_unicast_ether_addr(dst[i]))
			flood(pmd, t, in, ok[i]);
		else if (o == in)
			drop(ok[i], &rc->drop_hairpin); /* already on its segment */
		else if (t->ports[o].port_id == RTE_MAX_ETHPORTS)
			drop(ok[i], &rc->drop_port_removed); /* its port is going away */
		else if (vid != NULL && !vsw_vlan_member(t, o, vid[i]))
			drop(ok[i], &rc->drop_vlan); /* a static entry on a port that left the VLAN */
		else {
			rc->forwarded++;
			rc->copies++;
			if (!__atomic_load_n(&vsw.link_up[o], __ATOMIC_RELAXED))
				drop(ok[i], &pmd->port[o].drop_port_down);
			else if (vid != NULL &&
				 vsw_vlan_output(pmd, t, o, vid[i], &ok[i], 1, &ok_bytes) == 0)
				continue; /* no room for its tag: counted as no_copy */
			else if (likely(vsw_ol_need(ok[i]) == 0))
				tx_one(pmd, t, o, ok[i]);
			else
				tx_shared(pmd, t, in, &o, 1, ok[i]);
		}
	}
}
