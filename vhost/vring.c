/* vring: the split virtqueue's data path (see vring.h for why it is not rte_vhost's). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_memcpy.h>
#include <rte_net.h>
#include <rte_prefetch.h>
#include <rte_sctp.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "vring.h"

#define F(bit) (1ULL << (bit))
#define VR_BURST 64  /* frames per call: the used index is published once a call */
#define MAX_CHAIN 64 /* descriptors one frame may use; longer chains are the guest's fault */

uint64_t vr_unsupported_features(void)
{
	return F(VIRTIO_F_RING_PACKED) | F(VIRTIO_F_ACCESS_PLATFORM) | F(VHOST_F_LOG_ALL) |
	       F(VIRTIO_NET_F_HOST_ECN) | F(VIRTIO_NET_F_HOST_UFO) | F(VIRTIO_NET_F_GUEST_ECN) |
	       F(VIRTIO_NET_F_GUEST_UFO);
}

int vr_attach(struct vr_queue *q, int vid, uint16_t vring_idx)
{
	struct rte_vhost_vring vr;
	uint64_t f;

	q->vid = -1;
	if (rte_vhost_get_negotiated_features(vid, &f) != 0 ||
	    rte_vhost_get_vhost_vring(vid, vring_idx, &vr) != 0 || vr.desc == NULL ||
	    vr.size == 0 || (vr.size & (vr.size - 1)) != 0)
		return -EINVAL;
	if (f & vr_unsupported_features())
		return -ENOTSUP;
	if (rte_vhost_get_mem_table(vid, &q->mem) != 0)
		return -ENOMEM;
	if (rte_vhost_get_vring_base(vid, vring_idx, &q->last_avail, &q->last_used) != 0) {
		free(q->mem);
		q->mem = NULL;
		return -EINVAL;
	}
	q->desc = vr.desc;
	q->avail = vr.avail;
	q->used = vr.used;
	q->mask = (uint16_t)(vr.size - 1);
	q->vid = vid;
	q->vring_idx = vring_idx;
	q->event_idx = f & F(VIRTIO_RING_F_EVENT_IDX);
	q->mrg = f & F(VIRTIO_NET_F_MRG_RXBUF);
	/* odd rings carry the guest's transmissions: their headers may ask for checksums and
	 * segmentation once it negotiated CSUM; even rings' headers tell it, with GUEST_CSUM */
	q->ol = f & F(vring_idx & 1 ? VIRTIO_NET_F_CSUM : VIRTIO_NET_F_GUEST_CSUM);
	q->hdr_len = q->mrg || (f & F(VIRTIO_F_VERSION_1)) ? sizeof(struct virtio_net_hdr_mrg_rxbuf)
							   : sizeof(struct virtio_net_hdr);
	rte_vhost_enable_guest_notification(vid, vring_idx, 0); /* we poll: no kicks */
	return 0;
}

void vr_detach(struct vr_queue *q, int vid, uint16_t vring_idx)
{
	if (q->mem == NULL)
		return;
	rte_vhost_set_vring_base(vid, vring_idx, q->last_avail, q->last_used);
	free(q->mem);
	q->mem = NULL;
	q->desc = NULL;
}

/* Frames are mostly small: rte_memcpy inlines them where libc's memcpy is a call; libc's
 * wins on long copies. */
static inline void copy(void *dst, const void *src, uint32_t len)
{
	if (len <= 256)
		rte_memcpy(dst, src, len);
	else
		memcpy(dst, src, len);
}

/* The host address of len bytes at guest address gpa, or NULL if they are not all in one
 * region of the guest's memory. */
static inline void *gpa_to_hva(const struct rte_vhost_memory *mem, uint64_t gpa, uint32_t len)
{
	for (uint32_t i = 0; i < mem->nregions; i++) {
		const struct rte_vhost_mem_region *r = &mem->regions[i];
		uint64_t off = gpa - r->guest_phys_addr;

		if (gpa >= r->guest_phys_addr && off < r->size && len <= r->size - off)
			return (void *)(uintptr_t)(r->host_user_addr + off);
	}
	return NULL;
}

/* The virtio-net header h of a received frame (num_buffers only with 12-byte headers).
 * Written only where it differs, as rte_vhost does: a buffer the guest used before holds the
 * same header, and a line left unwritten stays in the guest's cache for the read that follows
 * (the guest's driver reads num_buffers first: written here, that read waits for the line to
 * come back). Through memcpy: the guest's buffer may be unaligned. */
static inline void put_hdr(uint8_t *dst, uint16_t hdr_len,
			   const struct virtio_net_hdr_mrg_rxbuf *h)
{
	uint64_t lo, want_lo;
	uint32_t hi, want_hi; /* csum_offset, then num_buffers */
	uint16_t hi16;

	memcpy(&want_lo, h, sizeof(want_lo));
	memcpy(&want_hi, (const uint8_t *)h + 8, sizeof(want_hi));
	memcpy(&lo, dst, sizeof(lo));
	if (lo != want_lo)
		memcpy(dst, &want_lo, sizeof(lo));
	if (hdr_len == sizeof(struct virtio_net_hdr_mrg_rxbuf)) {
		memcpy(&hi, dst + 8, sizeof(hi));
		if (hi != want_hi)
			memcpy(dst + 8, &want_hi, sizeof(want_hi));
	} else {
		memcpy(&hi16, dst + 8, sizeof(hi16));
		if (hi16 != (uint16_t)want_hi)
			memcpy(dst + 8, &want_hi, sizeof(hi16));
	}
}

/* What a frame for a guest that takes offloads (GUEST_CSUM) tells it in its header, from its
 * mbuf's flags, as rte_vhost writes it: a partial checksum with the pseudo-header's sum in
 * place, the IPv4 header's checksum filled, and a TCP frame to cut with its MSS. */
static void offload_to_guest(struct rte_mbuf *m, struct virtio_net_hdr *h)
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

/* The header a frame gets in the guest's buffers (num_buffers 1). */
static inline void rx_hdr(const struct vr_queue *q, struct rte_mbuf *m,
			  struct virtio_net_hdr_mrg_rxbuf *h)
{
	*h = (struct virtio_net_hdr_mrg_rxbuf){.num_buffers = 1};
	if (q->ol && unlikely(m->ol_flags & (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG |
					     RTE_MBUF_F_TX_IP_CKSUM)))
		offload_to_guest(m, &h->hdr);
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
static void offload_from_guest(struct rte_mbuf *m, const uint8_t *raw)
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

/* Interrupts the guest if it asked to be (a polling driver, DPDK's, never does). Through
 * rte_vhost, which owns the eventfd (a guest may replace it) and, with the event index, keeps
 * what it signalled last: it is told the ring's position first, or it would judge by the
 * position it had when vring took the ring, and never interrupt again. */
static inline void notify(const struct vr_queue *q)
{
	if (q->vid < 0)
		return;
	if (!q->event_idx) { /* the flag, read here: the common case costs no call */
		rte_atomic_thread_fence(__ATOMIC_SEQ_CST); /* used index out before flags in */
		if (__atomic_load_n(&q->avail->flags, __ATOMIC_RELAXED) &
		    VRING_AVAIL_F_NO_INTERRUPT)
			return;
	}
	rte_vhost_set_vring_base(q->vid, q->vring_idx, q->last_avail, q->last_used);
	rte_vhost_vring_call(q->vid, q->vring_idx);
}

static inline void publish(struct vr_queue *q, uint16_t n)
{
	q->last_used = (uint16_t)(q->last_used + n);
	/* a release store: on x86 a plain one, where rte_vhost's locked add stalls on the line */
	__atomic_store_n(&q->used->idx, q->last_used, __ATOMIC_RELEASE);
	notify(q);
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

/* Copies one transmitted chain (headed by head) into m, chaining more mbufs from mp as
 * needed, and its virtio-net header into hdr; false if the chain is bad or the pool empty. */
static bool copy_from_chain(struct vr_queue *q, uint16_t head, struct rte_mbuf *m,
			    struct rte_mempool *mp, uint8_t *hdr)
{
	const struct vring_desc *table = q->desc;
	struct rte_mbuf *seg = m;
	uint32_t skip = q->hdr_len, last = q->mask; /* the table's last index */
	uint16_t idx = head;

	if (table[head].flags & VRING_DESC_F_INDIRECT) { /* the chain is in a table of its own */
		uint32_t len = table[head].len;

		/* a table the spec's way: whole descriptors, 16-byte aligned, no NEXT beside */
		if (len == 0 || len % sizeof(*table) != 0 || len / sizeof(*table) > MAX_CHAIN ||
		    (table[head].flags & VRING_DESC_F_NEXT) || table[head].addr % 16 != 0)
			return false;
		table = gpa_to_hva(q->mem, table[head].addr, len);
		if (table == NULL)
			return false;
		last = len / sizeof(*table) - 1;
		idx = 0;
	}
	/* the frame's length first: one buffer for a long one (the copy below still checks
	 * every descriptor, which the guest may have changed meanwhile) */
	uint64_t total = 0;
	for (uint16_t i = idx, hops = 0; hops < MAX_CHAIN; hops++) {
		total += table[i].len;
		if (!(table[i].flags & VRING_DESC_F_NEXT) || table[i].next > last)
			break;
		i = table[i].next;
	}
	if (total > skip + rte_pktmbuf_tailroom(m))
		attach_ext(m, (uint32_t)RTE_MIN(total - skip, (uint64_t)UINT16_MAX + 1));
	for (int hops = 0; hops < MAX_CHAIN; hops++) {
		const struct vring_desc *d = &table[idx];
		uint32_t len = d->len;
		const uint8_t *src;

		if (d->flags & (VRING_DESC_F_WRITE | VRING_DESC_F_INDIRECT))
			return false;
		src = gpa_to_hva(q->mem, d->addr, len);
		if (src == NULL)
			return false;
		if (skip > 0) { /* the header, which may span descriptors */
			uint32_t c = RTE_MIN(skip, len);

			memcpy(hdr + (q->hdr_len - skip), src, c);
			skip -= c;
			src += c;
			len -= c;
		}
		while (len > 0) {
			uint32_t room = rte_pktmbuf_tailroom(seg), c = RTE_MIN(room, len);

			if (room == 0) {
				struct rte_mbuf *next = rte_pktmbuf_alloc(mp);

				if (next == NULL || m->nb_segs == UINT16_MAX) {
					rte_pktmbuf_free(next);
					return false;
				}
				seg->next = next;
				seg = next;
				m->nb_segs++;
				continue;
			}
			copy(rte_pktmbuf_mtod_offset(seg, uint8_t *, seg->data_len), src, c);
			seg->data_len = (uint16_t)(seg->data_len + c);
			m->pkt_len += c;
			src += c;
			len -= c;
		}
		if (!(d->flags & VRING_DESC_F_NEXT))
			return m->pkt_len > 0;
		idx = d->next;
		if (idx > last)
			return false;
	}
	return false;
}

/* The batch's first two passes, from avail slot last_avail on: each slot's head and, with
 * every descriptor line fetched at once, the buffer of each head that is one plain
 * descriptor (NULL for a chain, an indirect or bad one, which the slow path handles). The
 * buffers are prefetched too (for write if the guest receives into them): on a guest's rings
 * every line is the guest's, and fetching them one by one leaves the copies waiting on each
 * in turn. */
static void gather(const struct vr_queue *q, uint16_t n, bool rx,
		   uint16_t *heads, uint8_t **bufs, uint32_t *lens)
{
	uint16_t want = rx ? VRING_DESC_F_WRITE : 0;

	for (uint16_t i = 0; i < n; i++) {
		heads[i] = q->avail->ring[(uint16_t)(q->last_avail + i) & q->mask];
		if (heads[i] <= q->mask)
			rte_prefetch0(&q->desc[heads[i]]);
	}
	for (uint16_t i = 0; i < n; i++) {
		const struct vring_desc *d;

		bufs[i] = NULL;
		if (heads[i] > q->mask)
			continue;
		d = &q->desc[heads[i]];
		if ((d->flags & (VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE)) !=
		    want)
			continue;
		lens[i] = d->len;
		bufs[i] = gpa_to_hva(q->mem, d->addr, lens[i]);
		if (bufs[i] == NULL)
			continue;
		/* the frame's first line; and on receive the header's, read (see put_hdr). Not
		 * the header of a transmitted frame unless it may ask for offloads: nothing else
		 * reads it, and the guest writes it again for the buffer's next frame */
		if (rx) {
			rte_prefetch0(bufs[i]);
			rte_prefetch0_write(bufs[i] + q->hdr_len);
		} else {
			if (q->ol)
				rte_prefetch0(bufs[i]);
			rte_prefetch0(bufs[i] + q->hdr_len);
		}
	}
}

uint16_t vr_dequeue(struct vr_queue *q, struct rte_mempool *mp, struct rte_mbuf **pkts,
		    uint16_t n)
{
	uint16_t avail = __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE);
	uint16_t ready = (uint16_t)(avail - q->last_avail), got = 0;
	uint16_t heads[VR_BURST];
	uint8_t *bufs[VR_BURST];
	uint32_t lens[VR_BURST];
	uint8_t chain_hdr[sizeof(struct virtio_net_hdr_mrg_rxbuf)];

	if (ready == 0 || ready > q->mask + 1) /* more than a ring ahead: nothing is sane */
		return 0;
	n = RTE_MIN(RTE_MIN(n, ready), VR_BURST);
	if (rte_pktmbuf_alloc_bulk(mp, pkts, n) != 0) {
		q->no_mbuf += n;
		return 0;
	}
	gather(q, n, false, heads, bufs, lens);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[got];
		const uint8_t *hdr = bufs[i];
		bool ok;

		/* every entry, even in order where the last of a batch would do: measured, the
		 * guest's driver spends some 100 cycles a frame more when the others are left */
		q->used->ring[(uint16_t)(q->last_used + i) & q->mask].id = heads[i];
		q->used->ring[(uint16_t)(q->last_used + i) & q->mask].len = 0;
		if (bufs[i] != NULL && lens[i] > q->hdr_len &&
		    lens[i] - q->hdr_len <= rte_pktmbuf_tailroom(m)) { /* the usual frame */
			m->data_len = (uint16_t)(lens[i] - q->hdr_len);
			m->pkt_len = m->data_len;
			copy(rte_pktmbuf_mtod(m, void *), bufs[i] + q->hdr_len, m->data_len);
			ok = true;
		} else {
			hdr = chain_hdr;
			ok = heads[i] <= q->mask && copy_from_chain(q, heads[i], m, mp, chain_hdr);
		}
		if (!ok) {
			q->bad++;
			rte_pktmbuf_free(m->next); /* segments a partial copy chained */
			m->next = NULL;
			rte_pktmbuf_reset(m);
			continue;
		}
		if (q->ol)
			offload_from_guest(m, hdr);
		got++;
	}
	q->last_avail = (uint16_t)(q->last_avail + n);
	publish(q, n);
	q->frames += got;
	if (got < n)
		rte_pktmbuf_free_bulk(&pkts[got], n - got);
	return got;
}

/* Copies m, with header h, into the guest's receive buffers from the taken-th of this call
 * on (avail slot last_avail + taken, used entry last_used + taken), at most limit of them:
 * returns how many it used, 0 if it does not fit in what the guest has posted (or it posted
 * a bad buffer). */
static uint16_t copy_to_buffers(struct vr_queue *q, const struct rte_mbuf *m,
				struct virtio_net_hdr_mrg_rxbuf *h, uint16_t taken, uint16_t limit)
{
	const struct rte_mbuf *seg = m;
	uint32_t seg_off = 0, hdr_left = q->hdr_len;
	uint8_t *hdr = NULL;
	uint16_t bufs = 0;

	while (bufs < limit) {
		uint16_t head = q->avail->ring[(uint16_t)(q->last_avail + taken + bufs) & q->mask];
		uint16_t idx = head;
		uint32_t written = 0;

		if (head > q->mask)
			goto bad;
		for (int hops = 0;; hops++) {
			const struct vring_desc *d = &q->desc[idx];
			uint32_t room = d->len;
			uint8_t *dst;

			if (hops == MAX_CHAIN || !(d->flags & VRING_DESC_F_WRITE) ||
			    (d->flags & VRING_DESC_F_INDIRECT))
				goto bad;
			dst = gpa_to_hva(q->mem, d->addr, room);
			if (dst == NULL)
				goto bad;
			if (hdr_left > 0) { /* the header opens the first buffer */
				if (room < hdr_left)
					goto bad;
				hdr = dst;
				put_hdr(dst, q->hdr_len, h);
				dst += hdr_left;
				room -= hdr_left;
				written += hdr_left;
				hdr_left = 0;
			}
			while (room > 0 && seg != NULL) {
				uint32_t c = RTE_MIN(room, seg->data_len - seg_off);

				copy(dst, rte_pktmbuf_mtod_offset(seg, const uint8_t *, seg_off), c);
				dst += c;
				room -= c;
				written += c;
				seg_off += c;
				if (seg_off == seg->data_len) {
					seg = seg->next;
					seg_off = 0;
				}
			}
			if (seg == NULL || !(d->flags & VRING_DESC_F_NEXT))
				break;
			idx = d->next;
			if (idx > q->mask)
				goto bad;
		}
		q->used->ring[(uint16_t)(q->last_used + taken + bufs) & q->mask].id = head;
		q->used->ring[(uint16_t)(q->last_used + taken + bufs) & q->mask].len = written;
		bufs++;
		if (seg == NULL) {
			if (q->mrg && bufs > 1) {
				h->num_buffers = bufs;
				put_hdr(hdr, q->hdr_len, h);
			}
			return bufs;
		}
		if (!q->mrg)
			return 0; /* one chain per frame without mergeable buffers */
	}
	return 0;
bad:
	q->bad++;
	return 0;
}

static uint16_t enqueue_burst(struct vr_queue *q, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t avail = __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE);
	uint16_t ready = (uint16_t)(avail - q->last_avail), taken = 0, sent = 0, batch;
	uint16_t heads[VR_BURST];
	uint8_t *bufs[VR_BURST];
	uint32_t lens[VR_BURST];

	if (ready == 0 || ready > q->mask + 1) {
		q->dropped += n;
		return 0;
	}
	/* guessing one buffer a frame, which holds until a frame needs more */
	batch = RTE_MIN(n, ready);
	gather(q, batch, true, heads, bufs, lens);
	for (uint16_t i = 0; i < n && taken < ready; i++) {
		struct rte_mbuf *m = pkts[i];
		struct virtio_net_hdr_mrg_rxbuf h;
		uint16_t used;

		rx_hdr(q, m, &h);
		/* gathered slot k is avail slot last_avail + k: the next buffer is slot taken */
		if (taken < batch && bufs[taken] != NULL && m->nb_segs == 1 &&
		    m->data_len + q->hdr_len <= lens[taken]) { /* the usual frame */
			uint16_t slot = (uint16_t)(q->last_used + taken) & q->mask;

			put_hdr(bufs[taken], q->hdr_len, &h);
			copy(bufs[taken] + q->hdr_len, rte_pktmbuf_mtod(m, void *), m->data_len);
			q->used->ring[slot].id = heads[taken];
			q->used->ring[slot].len = m->data_len + q->hdr_len;
			used = 1;
		} else {
			used = copy_to_buffers(q, m, &h, taken, (uint16_t)(ready - taken));
		}
		/* as rte_vhost: the frames sent are the first ones, the caller counts the rest */
		if (used == 0)
			break;
		taken = (uint16_t)(taken + used);
		sent++;
	}
	q->dropped += (uint64_t)(n - sent);
	q->frames += sent;
	if (taken == 0)
		return 0;
	q->last_avail = (uint16_t)(q->last_avail + taken);
	publish(q, taken);
	return sent;
}

uint16_t vr_enqueue(struct vr_queue *q, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t sent = 0;

	while (sent < n) {
		uint16_t want = RTE_MIN(n - sent, VR_BURST);
		uint16_t got = enqueue_burst(q, pkts + sent, want);

		sent += got;
		if (got < want) {
			q->dropped += n - sent - (want - got); /* enqueue_burst counted its own */
			break;
		}
	}
	return sent;
}
