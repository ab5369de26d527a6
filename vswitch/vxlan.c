/* VXLAN on the data path (RFC 7348, flood and learn): decapsulation of what the underlay port
 * receives for a tunnel's local address, encapsulation of what the switch sent to the tunnel's
 * port, and ARP on the underlay (answering for the local address, resolving the remotes and
 * keeping their MACs fresh). Runs on the PMDs; the control thread only reads.
 *
 * Encapsulation prepends the outer headers in place when the frame is the tunnel's alone (one
 * reference, headroom); a frame shared with other ports (a flood) or sent to several remotes
 * (head-end replication) gets a header mbuf per remote, chained to the one frame by reference
 * count. The outer UDP source port comes from the inner flow (a CRC of the inner Ethernet and
 * IPv4 addresses and ports), in 49152-65535. The IPv4 checksum is computed; the UDP checksum
 * is 0 unless the port has udpcsum=on: RFC 7348 says it SHOULD be 0 over IPv4 (the Ethernet
 * FCS covers the frame), Linux's vxlan and OVS send 0 by default, and in full it is a third of
 * the encapsulation's cost for small frames.
 *
 * Both happen inline, while the frame is still in the cache: a frame sent to a tunnel is
 * encapsulated when its tx buffer is flushed, and what a tunnel decapsulates is switched at once
 * as the tunnel port's input. The tunnel's net_ring rings carry frames only while a capture
 * watches its ethdev (capture works by ethdev callbacks): then they go the long way round. */
#include <string.h>

#include <rte_arp.h>
#include <rte_mbuf.h>

#include "vxlan.h"

#define ARP_RETRY_S 1	 /* a remote not yet resolved is asked again after this */
#define ARP_REFRESH_S 30 /* a resolved one is asked again after this, while in use */

static uint64_t mac_word(const struct rte_ether_addr *a)
{
	return vx_mac48(a) | VX_MAC_VALID;
}

static void word_mac(uint64_t w, struct rte_ether_addr *a)
{
	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		a->addr_bytes[i] = (uint8_t)(w >> (8 * (5 - i)));
}

static int remote_of(const struct vsw_vxlan *vx, uint32_t ip)
{
	for (unsigned i = 0; i < vx->n_remotes; i++)
		if (vx->r[i].ip == ip)
			return (int)i;
	return -1;
}

static void learn_remote(struct vsw_vxlan *vx, int r, const struct rte_ether_addr *mac,
			 uint64_t now)
{
	uint64_t w = mac_word(mac);

	if (__atomic_load_n(&vx->r[r].mac, __ATOMIC_RELAXED) != w)
		__atomic_store_n(&vx->r[r].mac, w, __ATOMIC_RELAXED);
	if (__atomic_load_n(&vx->r[r].seen_s, __ATOMIC_RELAXED) != now)
		__atomic_store_n(&vx->r[r].seen_s, now, __ATOMIC_RELAXED);
}

/* An ARP request (op 1) or reply (op 2) from the tunnel's local address on the underlay. */
static void arp_send(struct vsw_pmd *pmd, const struct vsw_dp_table *t, struct vsw_vxlan *vx,
		     struct rte_mbuf *m, uint16_t op, const struct rte_ether_addr *tha,
		     uint32_t tip)
{
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *arp;

	if (m == NULL && (m = rte_pktmbuf_alloc(vsw.pool)) == NULL)
		return;
	rte_pktmbuf_reset(m);
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN);
	memset(eth, 0, RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN);
	arp = (struct rte_arp_hdr *)(eth + 1);
	if (op == RTE_ARP_OP_REQUEST)
		memset(&eth->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
	else
		eth->dst_addr = *tha;
	eth->src_addr = vx->local_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(op);
	arp->arp_data.arp_sha = vx->local_mac;
	arp->arp_data.arp_sip = vx->local;
	if (op == RTE_ARP_OP_REPLY)
		arp->arp_data.arp_tha = *tha;
	arp->arp_data.arp_tip = tip;
	vsw_l2_tx(pmd, t, vx->underlay, &m, 1, m->pkt_len);
}

/* ARP on the underlay: true when the frame was the tunnel's (answered or learned, consumed). */
static bool arp_input(struct vsw_pmd *pmd, const struct vsw_dp_table *t, struct vsw_vxlan *vx,
		      struct rte_mbuf *m, uint64_t now)
{
	struct rte_arp_hdr *arp =
	    rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, RTE_ETHER_HDR_LEN);
	struct rte_ether_addr sha;
	uint32_t sip;
	int r;

	if (m->data_len < RTE_ETHER_HDR_LEN + sizeof(*arp) ||
	    arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_data.arp_tip != vx->local)
		return false;
	sha = arp->arp_data.arp_sha;
	sip = arp->arp_data.arp_sip;
	if ((r = remote_of(vx, sip)) >= 0)
		learn_remote(vx, r, &sha, now);
	if (arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST))
		arp_send(pmd, t, vx, m, RTE_ARP_OP_REPLY, &sha, sip); /* reuses m */
	else
		rte_pktmbuf_free(m);
	return true;
}

/* A VXLAN packet for vx: its remote, or a drop counted. */
static struct vsw_vxlan *tunnel_of(const struct vsw_dp_table *t, uint16_t in, uint32_t dst,
				   uint16_t dport, uint32_t vni)
{
	for (unsigned i = 0; i < t->n_vxlan; i++) {
		struct vsw_vxlan *vx = t->vxlan[i];

		if (vx->underlay == in && vx->local == dst && vx->dstport == dport &&
		    (vni == UINT32_MAX || vx->vni == vni))
			return vx;
	}
	return NULL;
}

/* Whether a capture watches the tunnel's ethdev (its rx queue, or tx queue q): rte_pdump
 * installs ethdev callbacks, which see only frames that pass through the ethdev. */
static bool captured(const struct vsw_dp_table *t, const struct vsw_vxlan *vx, uint16_t q)
{
	const struct rte_eth_fp_ops *o = &rte_eth_fp_ops[t->ports[vx->idx].port_id];

	return __atomic_load_n(&o->rxq.clbk[0], __ATOMIC_RELAXED) != NULL ||
	       __atomic_load_n(&o->txq.clbk[q], __ATOMIC_RELAXED) != NULL;
}

/* Decapsulated frames of one underlay burst, switched as their tunnel's input in runs */
struct decapped {
	struct vsw_vxlan *vx;
	uint16_t n;
	/* the last packet's address, port, VNI and sender, and what they gave: a run of packets
	 * alike looks its tunnel and remote up once */
	uint32_t dst, vni, src;
	uint16_t dport;
	struct vsw_vxlan *any, *last;
	int r;
	const struct vsw_vxlan *inner_vx; /* the last inner source stored, and where: */
	uint64_t inner;			  /* a run of frames from one source stores it once */
	struct rte_mbuf *m[VSW_BURST];
};

static void switch_decapped(struct vsw_pmd *pmd, const struct vsw_dp_table *t,
			    struct decapped *d, uint64_t now)
{
	if (d->n != 0)
		vsw_l2_input(pmd, t, d->vx->idx, d->m, d->n, now);
	d->n = 0;
}

/* Decapsulates m if it is VXLAN for a local tunnel: true when consumed (decapsulated into d,
 * queued on the tunnel's ring, or dropped). */
static bool vxlan_in(struct vsw_pmd *pmd, const struct vsw_dp_table *t, uint16_t in,
		     struct rte_mbuf *m, struct decapped *d, uint64_t now)
{
	struct rte_ipv4_hdr *ip =
	    rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct vsw_vxlan *vx, *any;
	struct rte_udp_hdr *udp;
	struct rte_vxlan_hdr *vh;
	struct vx_pmd *c;
	unsigned ihl, off;
	uint32_t vni;
	int r;

	if (m->data_len < RTE_ETHER_HDR_LEN + sizeof(*ip) + sizeof(*udp) ||
	    ip->next_proto_id != IPPROTO_UDP || (ip->version_ihl >> 4) != 4)
		return false;
	ihl = (ip->version_ihl & 0xf) * 4u;
	off = RTE_ETHER_HDR_LEN + ihl;
	if (ihl < sizeof(*ip) || m->data_len < off + sizeof(*udp))
		return false;
	udp = rte_pktmbuf_mtod_offset(m, struct rte_udp_hdr *, off);
	if (d->any == NULL || ip->dst_addr != d->dst || udp->dst_port != d->dport) {
		any = tunnel_of(t, in, ip->dst_addr, rte_be_to_cpu_16(udp->dst_port), UINT32_MAX);
		if (any == NULL)
			return false; /* not for a tunnel here: switched as any frame */
		d->any = any;
		d->dst = ip->dst_addr;
		d->dport = udp->dst_port;
		d->last = NULL;
	}
	any = d->any;
	c = &any->pmd[pmd->index];
	off += sizeof(*udp);
	vh = rte_pktmbuf_mtod_offset(m, struct rte_vxlan_hdr *, off);
	if (m->data_len < off + sizeof(*vh) + RTE_ETHER_HDR_LEN ||
	    (rte_be_to_cpu_32(vh->vx_flags) & 0x08000000) == 0 ||
	    (rte_be_to_cpu_16(ip->fragment_offset) & 0x3fff) != 0) {
		c->d.malformed++; /* short, no VNI flag, or a fragment */
		rte_pktmbuf_free(m);
		return true;
	}
	vni = rte_be_to_cpu_32(vh->vx_vni) >> 8;
	if (d->last == NULL || vni != d->vni || ip->src_addr != d->src) {
		vx = tunnel_of(t, in, ip->dst_addr, rte_be_to_cpu_16(udp->dst_port), vni);
		if (vx == NULL) {
			c->d.wrong_vni++;
			rte_pktmbuf_free(m);
			return true;
		}
		r = remote_of(vx, ip->src_addr);
		if (r < 0) {
			vx->pmd[pmd->index].d.unknown_remote++;
			rte_pktmbuf_free(m);
			return true;
		}
		d->last = vx;
		d->vni = vni;
		d->src = ip->src_addr;
		d->r = r;
	}
	vx = d->last;
	r = d->r;
	c = &vx->pmd[pmd->index];
	learn_remote(vx, r, &eth->src_addr, now);
	rte_pktmbuf_adj(m, (uint16_t)(off + sizeof(*vh)));
	{
		/* the inner source lives behind this remote: unicast to it goes there alone */
		const struct rte_ether_hdr *ie = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		uint64_t w = vx_mac48(&ie->src_addr) | ((uint64_t)(r + 1) << 48);

		if (d->inner_vx != vx || d->inner != w) {
			uint64_t *slot = &vx->macs[vx_mac_slot(w & 0xffffffffffffULL)];

			if (__atomic_load_n(slot, __ATOMIC_RELAXED) != w)
				__atomic_store_n(slot, w, __ATOMIC_RELAXED);
			d->inner_vx = vx;
			d->inner = w;
		}
	}
	m->ol_flags &= RTE_MBUF_F_EXTERNAL | RTE_MBUF_F_INDIRECT; /* where its buffer lives */
	m->packet_type = 0;
	c->r[r].rx_packets++;
	c->r[r].rx_bytes += m->pkt_len;
	if (unlikely(captured(t, vx, 0))) {
		if (rte_ring_enqueue(vx->rx, m) != 0) {
			c->d.rx_full++;
			rte_pktmbuf_free(m);
		}
		return true;
	}
	if (d->vx != vx)
		switch_decapped(pmd, t, d, now);
	d->vx = vx;
	d->m[d->n++] = m;
	return true;
}

uint16_t vsw_vxlan_underlay_input(struct vsw_pmd *pmd, const struct vsw_dp_table *t, uint16_t in,
				  struct rte_mbuf **pkts, uint16_t n, uint64_t now)
{
	struct decapped d; /* not zeroed whole: its array is filled as it goes */
	uint16_t k = 0;

	d.vx = NULL;
	d.inner_vx = NULL;
	d.any = NULL;
	d.last = NULL;
	d.n = 0;

	for (uint16_t i = 0; i < n; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		bool taken = false;

		if (m->data_len >= RTE_ETHER_HDR_LEN && m->nb_segs == 1) {
			if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
				taken = vxlan_in(pmd, t, in, m, &d, now);
			} else if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
				for (unsigned j = 0; j < t->n_vxlan && !taken; j++)
					if (t->vxlan[j]->underlay == in)
						taken = arp_input(pmd, t, t->vxlan[j], m, now);
			}
		}
		if (taken)
			pmd->port[in].forwarded++; /* the books: received, and handled */
		else
			pkts[k++] = m;
	}
	switch_decapped(pmd, t, &d, now);
	return k;
}

/* Entropy for the outer UDP source port: the inner Ethernet addresses and, for IPv4, the
 * addresses and the first 4 bytes after the IP header (the ports of TCP and UDP). Each field
 * goes into the CRC from a load of its own size: bytes copied into one key and read back in
 * wider words stall the store forwarding (a third of the encapsulation's time, by perf). */
static uint16_t flow_port(const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *e = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	uint64_t w8;
	uint32_t w4, h;

	memcpy(&w8, e, 8); /* unaligned frames: memcpy, never a cast */
	memcpy(&w4, (const uint8_t *)e + 8, 4);
	h = rte_hash_crc_4byte(w4, rte_hash_crc_8byte(w8, 0));
	if (e->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) &&
	    m->data_len >= RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr) + 4) {
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(e + 1);
		unsigned ihl = (ip->version_ihl & 0xf) * 4u;

		memcpy(&w8, &ip->src_addr, 8);
		h = rte_hash_crc_8byte(w8, h);
		if (m->data_len >= RTE_ETHER_HDR_LEN + ihl + 4) {
			memcpy(&w4, (const uint8_t *)ip + ihl, 4);
			h = rte_hash_crc_4byte(w4, h);
		}
	}
	return (uint16_t)(49152 + h % 16384);
}

/* c's outer headers for remote r, rebuilt when the remote's MAC has changed */
static const struct vx_tmpl *template_of(struct vx_pmd *c, const struct vsw_vxlan *vx, unsigned r)
{
	struct vx_tmpl *tp = &c->tmpl[r];
	uint64_t mac = __atomic_load_n(&vx->r[r].mac, __ATOMIC_RELAXED);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)tp->hdr;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	struct rte_vxlan_hdr *vh = (struct rte_vxlan_hdr *)(udp + 1);

	if (likely(tp->mac == mac))
		return tp;
	memset(tp->hdr, 0, sizeof(tp->hdr));
	word_mac(mac, &eth->dst_addr);
	eth->src_addr = vx->local_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = vx->local;
	ip->dst_addr = vx->r[r].ip;
	udp->dst_port = rte_cpu_to_be_16(vx->dstport);
	vh->vx_flags = rte_cpu_to_be_32(0x08000000);
	vh->vx_vni = rte_cpu_to_be_32(vx->vni << 8);
	tp->ip_sum = __rte_raw_cksum(ip, sizeof(*ip), 0);
	tp->mac = mac;
	return tp;
}

/* Outer headers for remote r in front of the inner frame, which m holds (in place, or chained
 * behind a header mbuf: then m is that header mbuf). */
static void fill_outer(struct vx_pmd *c, const struct vsw_vxlan *vx, unsigned r,
		       struct rte_mbuf *m, uint16_t sport, uint32_t inner_len)
{
	const struct vx_tmpl *tp = template_of(c, vx, r);
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint16_t udp_len = (uint16_t)(sizeof(*udp) + sizeof(struct rte_vxlan_hdr) + inner_len);
	uint16_t ip_len = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + udp_len));

	memcpy(rte_pktmbuf_mtod(m, void *), tp->hdr, VX_HDR_LEN);
	ip->total_length = ip_len;
	ip->hdr_checksum = (uint16_t)~__rte_raw_cksum_reduce(tp->ip_sum + ip_len);
	udp->src_port = rte_cpu_to_be_16(sport);
	udp->dgram_len = rte_cpu_to_be_16(udp_len);
	if (vx->udpcsum) {
		udp->dgram_cksum =
		    rte_ipv4_udptcp_cksum_mbuf(m, ip, RTE_ETHER_HDR_LEN + sizeof(*ip));
		if (udp->dgram_cksum == 0)
			udp->dgram_cksum = 0xffff; /* 0 would mean "no checksum" */
	}
	m->ol_flags = 0;
}

/* Encapsulates inner frame m for the remotes in to[0..k) (one reference of m per remote) onto
 * out[*n...], their bytes added to *bytes. */
static void encap(struct vsw_pmd *pmd, struct vsw_vxlan *vx, struct rte_mbuf *m,
		  const uint8_t *to, unsigned k, struct rte_mbuf **out, unsigned *n, uint64_t *bytes)
{
	uint32_t len = m->pkt_len;
	uint16_t sport = flow_port(m);
	struct vx_pmd *c = &vx->pmd[pmd->index];

	if (k > 1)
		rte_mbuf_refcnt_update(m, (int16_t)(k - 1));
	for (unsigned i = 0; i < k; i++) {
		struct rte_mbuf *h = m;

		if (k == 1 && rte_mbuf_refcnt_read(m) == 1 && RTE_MBUF_DIRECT(m) &&
		    rte_pktmbuf_headroom(m) >= VX_HDR_LEN) {
			rte_pktmbuf_prepend(m, VX_HDR_LEN);
		} else if ((h = rte_pktmbuf_alloc(vsw.pool)) == NULL ||
			   rte_pktmbuf_append(h, VX_HDR_LEN) == NULL ||
			   rte_pktmbuf_chain(h, m) != 0) {
			if (h != NULL)
				rte_pktmbuf_free_seg(h);
			rte_pktmbuf_free(m); /* this remote's reference */
			pmd->port[vx->idx].drop_no_copy++;
			continue;
		}
		fill_outer(c, vx, to[i], h, sport, len);
		c->r[to[i]].tx_packets++;
		c->r[to[i]].tx_bytes += h->pkt_len;
		*bytes += h->pkt_len;
		out[(*n)++] = h;
	}
}

/* Asks for a remote's MAC when it is unknown (every ARP_RETRY_S) or getting old; one PMD asks.
 * Returns whether it asked (a frame to flush). */
static bool resolve(struct vsw_pmd *pmd, const struct vsw_dp_table *t, struct vsw_vxlan *vx,
		    unsigned r, uint64_t now)
{
	struct vx_remote *x = &vx->r[r];
	uint64_t asked = __atomic_load_n(&x->asked_s, __ATOMIC_RELAXED);
	bool known = __atomic_load_n(&x->mac, __ATOMIC_RELAXED) & VX_MAC_VALID;

	if (now < asked + ARP_RETRY_S ||
	    (known && now < __atomic_load_n(&x->seen_s, __ATOMIC_RELAXED) + ARP_REFRESH_S) ||
	    !__atomic_compare_exchange_n(&x->asked_s, &asked, now, false, __ATOMIC_RELAXED,
					 __ATOMIC_RELAXED))
		return false;
	arp_send(pmd, t, vx, NULL, RTE_ARP_OP_REQUEST, NULL, x->ip);
	return true;
}

/* Sends the n frames the switch sent to tunnel vx to their remotes over the underlay. */
static void encap_burst(struct vsw_pmd *pmd, const struct vsw_dp_table *t, struct vsw_vxlan *vx,
		struct rte_mbuf **pkts, unsigned n)
{
	struct vx_pmd *c = &vx->pmd[pmd->index];
	struct rte_mbuf *out[VSW_BURST * VX_MAX_REMOTES];
	unsigned n_out = 0;
	uint64_t bytes = 0;
	uint64_t last = UINT64_MAX; /* the last unicast destination, and its remote: */
	int last_one = -1;	    /* a run of frames to one MAC looks it up once */

	if (!__atomic_load_n(&vsw.link_up[vx->underlay], __ATOMIC_RELAXED)) {
		pmd->port[vx->underlay].drop_port_down += n;
		rte_pktmbuf_free_bulk(pkts, n);
		return;
	}
	for (unsigned i = 0; i < n; i++) /* the headers' line: the frame's first is warm */
		rte_prefetch0_write(rte_pktmbuf_mtod_offset(pkts[i], char *, -(int)VX_HDR_LEN));
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct rte_ether_hdr *e = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		uint8_t to[VX_MAX_REMOTES];
		unsigned k = 0;
		int one = -1;

		if (rte_is_unicast_ether_addr(&e->dst_addr)) {
			uint64_t d = vx_mac48(&e->dst_addr);

			if (d != last) {
				uint64_t w = __atomic_load_n(&vx->macs[vx_mac_slot(d)],
							     __ATOMIC_RELAXED);

				last = d;
				last_one = (w & 0xffffffffffffULL) == d && (w >> 48) != 0
					       ? (int)(w >> 48) - 1
					       : -1;
			}
			one = last_one;
		}
		/* a known unicast to its remote; else head-end replication to every one */
		for (unsigned r = 0; r < vx->n_remotes; r++) {
			if (one >= 0 && (int)r != one)
				continue;
			if (__atomic_load_n(&vx->r[r].mac, __ATOMIC_RELAXED) & VX_MAC_VALID)
				to[k++] = (uint8_t)r;
			else
				c->r[r].unresolved++;
		}
		if (k == 0)
			rte_pktmbuf_free(m);
		else
			encap(pmd, vx, m, to, k, out, &n_out, &bytes);
	}
	if (n_out != 0)
		vsw_l2_tx(pmd, t, vx->underlay, out, n_out, bytes);
}

bool vsw_vxlan_output(struct vsw_pmd *pmd, const struct vsw_dp_table *t, uint16_t idx)
{
	struct rte_eth_dev_tx_buffer *b = pmd->txb[idx];
	struct vsw_vxlan *vx = t->ports[idx].vx;

	if (unlikely(captured(t, vx, t->ports[idx].txq[pmd->index])))
		return false;
	encap_burst(pmd, t, vx, b->pkts, b->length);
	b->length = 0;
	return true;
}

unsigned vsw_vxlan_poll(struct vsw_pmd *pmd, const struct vsw_dp_table *t, uint64_t now)
{
	struct rte_mbuf *pkts[VSW_BURST];
	unsigned total = 0;
	bool asked = false;

	for (unsigned v = 0; v < t->n_vxlan; v++) {
		struct vsw_vxlan *vx = t->vxlan[v];
		unsigned n = rte_ring_dequeue_burst(vx->tx, (void **)pkts, VSW_BURST, NULL);

		for (unsigned r = 0; r < vx->n_remotes; r++)
			asked |= resolve(pmd, t, vx, r, now);
		total += n;
		if (n != 0)
			encap_burst(pmd, t, vx, pkts, n);
	}
	if (total != 0 || asked)
		vsw_tx_flush_all(pmd, t);
	return total;
}
