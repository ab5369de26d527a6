/* Checksum and TCP segmentation offload between guests. A guest with offloads sends frames with
 * a partial L4 checksum and TCP/IPv4 frames of up to 64 KB with an MSS (net_vhost hands them up
 * with RX_L4_CKSUM_NONE and RX_LRO). At ingress they become frames with TX offload flags and
 * header lengths; an egress that takes them (a guest that negotiated the same) gets them as
 * they are, and the guest's driver does the work; any other egress gets the checksum filled
 * and the frame cut to MSS-sized segments here, with DPDK's rte_gso (headers copied, payload
 * shared by indirect mbufs) and rte_net's checksum helpers. */
#include <errno.h>

#include <rte_gso.h>
#include <rte_memcpy.h>
#include <rte_ip.h>
#include <rte_net.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "vswd.h"

#define MIN_MSS 88 /* as Linux's TCP_MIN_MSS: a smaller one is not from a real stack */
#define INDIRECT_MBUFS 16383

int vsw_ol_init(void)
{
	vsw.indirect = rte_pktmbuf_pool_create("vsw_indirect", INDIRECT_MBUFS, 256, 0, 0,
					       (int)rte_socket_id());
	return vsw.indirect == NULL ? -ENOMEM : 0;
}

void vsw_ol_fini(void)
{
	rte_mempool_free(vsw.indirect);
	vsw.indirect = NULL;
}

int vsw_ol_input(struct rte_mbuf *m)
{
	struct rte_net_hdr_lens h;
	const bool tso = (m->ol_flags & RTE_MBUF_F_RX_LRO) != 0;
	uint32_t ptype = rte_net_get_ptype(m, &h, RTE_PTYPE_ALL_MASK);
	uint32_t l3 = ptype & RTE_PTYPE_L3_MASK, l4 = ptype & RTE_PTYPE_L4_MASK, hdrs, l3_bytes;
	uint64_t ol;

	m->ol_flags &= ~(RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_MASK);
	if ((ptype & RTE_PTYPE_TUNNEL_MASK) != 0)
		return -1;
	if (RTE_ETH_IS_IPV4_HDR(l3)) {
		const struct rte_ipv4_hdr *ip =
			rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, h.l2_len);

		ol = RTE_MBUF_F_TX_IPV4;
		l3_bytes = rte_be_to_cpu_16(ip->total_length);
	} else if (RTE_ETH_IS_IPV6_HDR(l3)) {
		const struct rte_ipv6_hdr *ip =
			rte_pktmbuf_mtod_offset(m, const struct rte_ipv6_hdr *, h.l2_len);

		ol = RTE_MBUF_F_TX_IPV6;
		l3_bytes = (uint32_t)rte_be_to_cpu_16(ip->payload_len) + sizeof(*ip);
	} else {
		return -1;
	}
	if (l4 == RTE_PTYPE_L4_TCP)
		ol |= RTE_MBUF_F_TX_TCP_CKSUM;
	else if (l4 == RTE_PTYPE_L4_UDP && !tso)
		ol |= RTE_MBUF_F_TX_UDP_CKSUM;
	else
		return -1;
	/* the headers in the first segment, the IP length the frame's (Ethernet may pad) */
	hdrs = h.l2_len + h.l3_len + h.l4_len;
	if (hdrs > m->data_len || l3_bytes < h.l3_len + h.l4_len ||
	    h.l2_len + l3_bytes > m->pkt_len)
		return -1;
	if (tso) {
		if (m->tso_segsz < MIN_MSS || h.l2_len + l3_bytes <= hdrs)
			return -1;
		ol |= RTE_MBUF_F_TX_TCP_SEG;
	}
	m->l2_len = h.l2_len;
	m->l3_len = h.l3_len;
	m->l4_len = h.l4_len;
	m->ol_flags |= ol;
	return vsw_ol_need(m);
}

void vsw_ol_csum_sw(struct rte_mbuf *m)
{
	const uint64_t l4 = m->ol_flags & RTE_MBUF_F_TX_L4_MASK;
	void *l3 = rte_pktmbuf_mtod_offset(m, void *, m->l2_len);
	uint16_t *field = rte_pktmbuf_mtod_offset(
		m, uint16_t *,
		m->l2_len + m->l3_len +
			(l4 == RTE_MBUF_F_TX_TCP_CKSUM ? offsetof(struct rte_tcp_hdr, cksum)
						       : offsetof(struct rte_udp_hdr, dgram_cksum)));
	uint16_t sum;

	*field = 0;
	if (m->ol_flags & RTE_MBUF_F_TX_IPV4) {
		struct rte_ipv4_hdr *ip = l3;

		sum = rte_ipv4_udptcp_cksum_mbuf(m, ip, m->l2_len + m->l3_len);
		ip->hdr_checksum = 0; /* segments have a new length and id */
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	} else {
		sum = rte_ipv6_udptcp_cksum_mbuf(m, l3, m->l2_len + m->l3_len);
	}
	*field = sum; /* the helpers give 0xffff, not 0, for a UDP sum of 0 */
	m->ol_flags &= ~(RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IP_CKSUM);
}

/* rte_gso cuts TCP/IPv4 only; TCP/IPv6 is cut the same way: each segment a copy of the
 * headers followed by indirect mbufs on the payload, its length, sequence number and flags
 * set as rte_gso sets them (FIN and PSH on the last segment only, CWR on the first). */
static int segment_tcp6(struct rte_mbuf *m, struct rte_mbuf **segs, unsigned n)
{
	const unsigned hdrs = m->l2_len + m->l3_len + m->l4_len, mss = m->tso_segsz;
	const struct rte_tcp_hdr *tcp0 =
		rte_pktmbuf_mtod_offset(m, const struct rte_tcp_hdr *, m->l2_len + m->l3_len);
	const uint32_t seq0 = rte_be_to_cpu_32(tcp0->sent_seq);
	struct rte_mbuf *in = m;
	uint32_t at = hdrs, left = m->pkt_len - hdrs;
	unsigned made = 0;

	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *h = rte_pktmbuf_alloc(vsw.pool), *prev = h;
		uint32_t want = RTE_MIN(left, mss);
		struct rte_ipv6_hdr *ip;
		struct rte_tcp_hdr *tcp;

		if (h == NULL)
			goto nomem;
		segs[made++] = h;
		rte_memcpy(rte_pktmbuf_append(h, (uint16_t)hdrs), rte_pktmbuf_mtod(m, void *), hdrs);
		h->ol_flags = m->ol_flags & ~RTE_MBUF_F_TX_TCP_SEG;
		h->tx_offload = m->tx_offload;
		for (uint32_t got = 0; got < want;) {
			struct rte_mbuf *p;
			uint32_t take;

			while (at >= in->data_len) { /* the payload goes on in the next segment */
				at -= in->data_len;
				in = in->next;
			}
			p = rte_pktmbuf_alloc(vsw.indirect);
			if (p == NULL)
				goto nomem;
			rte_pktmbuf_attach(p, in);
			take = RTE_MIN(want - got, in->data_len - at);
			p->data_off = (uint16_t)(in->data_off + at);
			p->data_len = (uint16_t)take;
			p->pkt_len = take;
			prev->next = p;
			prev = p;
			h->nb_segs++;
			h->pkt_len += take;
			at += take;
			got += take;
		}
		left -= want;
		ip = rte_pktmbuf_mtod_offset(h, struct rte_ipv6_hdr *, h->l2_len);
		ip->payload_len = rte_cpu_to_be_16((uint16_t)(h->pkt_len - h->l2_len - sizeof(*ip)));
		tcp = rte_pktmbuf_mtod_offset(h, struct rte_tcp_hdr *, h->l2_len + h->l3_len);
		tcp->sent_seq = rte_cpu_to_be_32(seq0 + i * mss);
		if (i + 1 < n)
			tcp->tcp_flags &= (uint8_t)~(RTE_TCP_FIN_FLAG | RTE_TCP_PSH_FLAG);
		if (i > 0)
			tcp->tcp_flags &= (uint8_t)~RTE_TCP_CWR_FLAG;
	}
	return (int)n;
nomem:
	for (unsigned i = 0; i < made; i++)
		rte_pktmbuf_free(segs[i]);
	return -ENOMEM;
}

int vsw_ol_segment(struct rte_mbuf *m, struct rte_mbuf **segs, unsigned max)
{
	const uint64_t ol = m->ol_flags;
	const unsigned hdrs = m->l2_len + m->l3_len + m->l4_len, mss = m->tso_segsz;
	struct rte_gso_ctx ctx = {
		.direct_pool = vsw.pool,
		.indirect_pool = vsw.indirect,
		.gso_types = RTE_ETH_TX_OFFLOAD_TCP_TSO,
		.gso_size = (uint16_t)(hdrs + mss),
		.flag = 0, /* each segment its own IP id, as a stack sending them would */
	};
	const unsigned want = (m->pkt_len - hdrs + mss - 1) / mss;
	int n;

	/* every segment must fit the egress; and no more of them than there is room for */
	if (hdrs - m->l2_len + mss > vsw.cfg.mtu || want > max)
		return -E2BIG;
	if (m->ol_flags & RTE_MBUF_F_TX_IPV6)
		n = want > 1 ? segment_tcp6(m, segs, want) : 0;
	else
		n = rte_gso_segment(m, &ctx, segs, (uint16_t)max);
	m->ol_flags = ol; /* rte_gso clears TX_TCP_SEG: other ports may take the frame whole */
	if (n < 0)
		return n;
	if (n == 0) { /* no longer than one MSS after all: fill its checksum, send as is */
		vsw_ol_csum_sw(m);
		vsw_mbuf_share(m, 1); /* the caller keeps its own reference */
		segs[0] = m;
		return 1;
	}
	for (int i = 0; i < n; i++) {
		/* a segment's head is a direct mbuf with a copy of the headers, but rte_gso (and
		 * segment_tcp6, as it) copied m's flags onto it, the external-buffer flag of
		 * net_vhost's large frames too: freeing it would look for a buffer it lacks */
		segs[i]->ol_flags &= ~(RTE_MBUF_F_EXTERNAL | RTE_MBUF_F_INDIRECT);
		vsw_ol_csum_sw(segs[i]);
	}
	return n;
}
