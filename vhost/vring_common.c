/* vring's helpers for both ring layouts: offloads to and from virtio-net headers, and
 * copying a transmitted chain into mbufs. */
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_net.h>
#include <rte_sctp.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "vring_int.h"

/* What a frame for a guest that takes offloads (GUEST_CSUM) tells it in its header, from its
 * mbuf's flags, as rte_vhost writes it: a partial checksum with the pseudo-header's sum in
 * place, the IPv4 header's checksum filled, and a TCP frame to cut with its MSS. */
void vr_offload_to_guest(struct rte_mbuf *m, struct virtio_net_hdr *h)
{
	uint64_t l4 = m->ol_flags & RTE_MBUF_F_TX_L4_MASK;

	if (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG)
		l4 = RTE_MBUF_F_TX_TCP_CKSUM;
	if (l4 == RTE_MBUF_F_TX_TCP_CKSUM || l4 == RTE_MBUF_F_TX_UDP_CKSUM ||
	    l4 == RTE_MBUF_F_TX_SCTP_CKSUM) {
		rte_net_intel_cksum_prepare(m); /* an error: the guest drops the frame */
		h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h->csum_start = (uint16_t)(m->l2_len + m->l3_len);
		h->csum_offset = l4 == RTE_MBUF_F_TX_TCP_CKSUM ? offsetof(struct rte_tcp_hdr, cksum)
				 : l4 == RTE_MBUF_F_TX_UDP_CKSUM ? offsetof(struct rte_udp_hdr, dgram_cksum)
								 : offsetof(struct rte_sctp_hdr, cksum);
	}
	if ((m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM) &&
	    m->data_len >= m->l2_len + sizeof(struct rte_ipv4_hdr)) { /* none to skip */
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
								  m->l2_len);
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
	if (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) {
		h->gso_type = m->ol_flags & RTE_MBUF_F_TX_IPV6 ? VIRTIO_NET_HDR_GSO_TCPV6
							      : VIRTIO_NET_HDR_GSO_TCPV4;
		h->gso_size = m->tso_segsz;
		h->hdr_len = (uint16_t)(m->l2_len + m->l3_len + m->l4_len);
	}
}

/* A partial checksum the switch cannot leave partial (not TCP, UDP or SCTP, or a tunnel's
 * inner one), completed here as rte_vhost does; a header that points outside the frame's
 * first segment is ignored. */
static void finish_csum(struct rte_mbuf *m, uint16_t start, uint16_t offset)
{
	uint32_t at = (uint32_t)start + offset;
	uint16_t sum = 0;

	if (start >= m->pkt_len || at + sizeof(sum) > m->data_len ||
	    rte_raw_cksum_mbuf(m, start, m->pkt_len - start, &sum) < 0)
		return;
	if (sum != 0xffff) /* a UDP sum of 0 is sent as 0xffff */
		sum = (uint16_t)~sum;
	memcpy(rte_pktmbuf_mtod_offset(m, uint8_t *, at), &sum, sizeof(sum));
}

/* The offloads a guest asked for in a transmitted frame's header raw, as mbuf flags the way
 * rte_vhost gives them (RTE_VHOST_USER_NET_COMPLIANT_OL_FLAGS): a partial TCP, UDP or SCTP
 * checksum is RX_L4_CKSUM_NONE, any other is completed here; a TCP frame to cut is RX_LRO
 * with its MSS in tso_segsz. The switch checks the rest (vswitch/offload.c). */
void vr_offload_from_guest(struct rte_mbuf *m, const uint8_t *raw)
{
	struct virtio_net_hdr h;
	struct rte_net_hdr_lens lens;
	uint32_t ptype, l4;
	uint8_t gso;

	memcpy(&h, raw, sizeof(h)); /* once: the guest may write it meanwhile */
	if (h.flags == 0 && h.gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return;
	m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN;
	ptype = rte_net_get_ptype(m, &lens, RTE_PTYPE_ALL_MASK);
	m->packet_type = ptype;
	l4 = ptype & RTE_PTYPE_L4_MASK;
	if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (h.csum_start <= lens.l2_len + lens.l3_len + lens.l4_len &&
		    (l4 == RTE_PTYPE_L4_TCP || l4 == RTE_PTYPE_L4_UDP || l4 == RTE_PTYPE_L4_SCTP))
			m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_NONE;
		else
			finish_csum(m, h.csum_start, h.csum_offset);
	}
	gso = h.gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	if ((gso == VIRTIO_NET_HDR_GSO_TCPV4 || gso == VIRTIO_NET_HDR_GSO_TCPV6) &&
	    h.gso_size != 0 && l4 == RTE_PTYPE_L4_TCP) {
		m->ol_flags |= RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_NONE;
		m->tso_segsz = h.gso_size;
	}
}

static void ext_free(void *addr, void *opaque)
{
	(void)addr;
	rte_free(opaque);
}

/* A frame longer than an mbuf (a TSO guest's 64 KB) goes into one buffer of its own, as
 * rte_vhost's ext-buffer does: a chain of 2 KB mbufs costs the switch more to copy and to
 * cut. Without that buffer (too long for 16-bit lengths, or no memory) it is chained. */
static void attach_ext(struct rte_mbuf *m, uint32_t len)
{
	struct rte_mbuf_ext_shared_info *shinfo;
	uint32_t total = RTE_ALIGN_CEIL(RTE_PKTMBUF_HEADROOM + len + sizeof(*shinfo) +
					sizeof(uintptr_t), sizeof(uintptr_t));
	uint16_t buf_len = (uint16_t)total;
	void *buf;

	if (total > UINT16_MAX || RTE_MBUF_HAS_EXTBUF(m))
		return;
	buf = rte_malloc_socket(NULL, total, RTE_CACHE_LINE_SIZE, rte_socket_id());
	if (buf == NULL)
		return;
	shinfo = rte_pktmbuf_ext_shinfo_init_helper(buf, &buf_len, ext_free, buf);
	if (shinfo == NULL) {
		rte_free(buf);
		return;
	}
	rte_pktmbuf_attach_extbuf(m, buf, rte_malloc_virt2iova(buf), buf_len, shinfo);
	rte_pktmbuf_reset_headroom(m);
}

void vr_room_for(struct vr_queue *q, struct rte_mbuf *m, uint64_t total)
{
	if (total > q->hdr_len + rte_pktmbuf_tailroom(m))
		attach_ext(m, (uint32_t)RTE_MIN(total - q->hdr_len, (uint64_t)UINT16_MAX + 1));
}

bool vr_take(struct vr_queue *q, struct rte_mbuf *m, struct rte_mbuf **seg,
	     struct rte_mempool *mp, const uint8_t *src, uint32_t len, uint32_t *skip,
	     uint8_t *hdr)
{
	if (*skip > 0) { /* the header, which may span descriptors */
		uint32_t c = RTE_MIN(*skip, len);

		memcpy(hdr + (q->hdr_len - *skip), src, c);
		*skip -= c;
		src += c;
		len -= c;
	}
	while (len > 0) {
		uint32_t room = rte_pktmbuf_tailroom(*seg), c = RTE_MIN(room, len);

		if (room == 0) {
			struct rte_mbuf *next = rte_pktmbuf_alloc(mp);

			if (next == NULL || m->nb_segs == UINT16_MAX) {
				rte_pktmbuf_free(next);
				return false;
			}
			(*seg)->next = next;
			*seg = next;
			m->nb_segs++;
			continue;
		}
		vr_copy(rte_pktmbuf_mtod_offset(*seg, uint8_t *, (*seg)->data_len), src, c);
		(*seg)->data_len = (uint16_t)((*seg)->data_len + c);
		m->pkt_len += c;
		src += c;
		len -= c;
	}
	return true;
}
