/* vring's packed virtqueue (VIRTIO_F_RING_PACKED): one ring of descriptors that the guest
 * makes available and the switch marks used in place, in ring order, each lap of the ring
 * told apart by a wrap counter. rte_vhost fetches a packed ring's buffers four at a time,
 * each just before copying it; here a burst's descriptor lines are fetched at once, then all
 * its buffers, then the copies run. */
#include <linux/virtio_ring.h>

#include <rte_prefetch.h>

#include "vring_int.h"

#define AVAIL_F (1u << VRING_PACKED_DESC_F_AVAIL)
#define USED_F (1u << VRING_PACKED_DESC_F_USED)
#define RX_BUFS 256 /* receive buffers one call may scan: a 64 KB frame takes 33 of 2 KB */

/* A buffer the guest made available: a plain descriptor, or a chain (or indirect table). */
struct pbuf {
	uint8_t *va;    /* a plain descriptor's bytes; NULL: the slow path reads the chain */
	uint32_t len;
	uint16_t slot;  /* its first descriptor */
	uint16_t ndesc; /* descriptors it takes in the ring */
	uint16_t id;    /* the buffer id, in its last descriptor */
	bool bad;       /* a chain longer than MAX_CHAIN or the ring: used, never read */
};

/* A position in the ring and the wrap counter of its lap. */
struct cursor {
	uint16_t pos;
	bool wrap;
	uint32_t seen; /* descriptors scanned: never more than a ring */
};

/* Moves *pos on by k <= size descriptors. */
static inline void step(const struct vr_queue *q, uint16_t *pos, bool *wrap, uint16_t k)
{
	uint32_t p = (uint32_t)*pos + k;

	if (p >= q->size) {
		p -= q->size;
		*wrap = !*wrap;
	}
	*pos = (uint16_t)p;
}

/* Whether the guest made the descriptor with these flags available in the lap of wrap. */
static inline bool is_avail(uint16_t flags, bool wrap)
{
	return !!(flags & AVAIL_F) == wrap && !!(flags & USED_F) != wrap;
}

/* Adds to b (from b[k] on) up to n buffers available from c on; returns the new count. The
 * buffers of plain descriptors are prefetched (for write if the guest receives into them). */
static uint16_t scan(const struct vr_queue *q, struct cursor *c, struct pbuf *b, uint16_t k,
		     uint16_t n, bool rx)
{
	const uint16_t want = rx ? VRING_DESC_F_WRITE : 0;
	const uint16_t odd = VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE;
	uint16_t end = (uint16_t)(k + n);

	/* the descriptors' lines, four descriptors each, all asked for at once */
	for (uint16_t i = 0, pos = c->pos; i < n; i += 4, pos = (uint16_t)((pos + 4) % q->size))
		rte_prefetch0(&q->pdesc[pos]);
	for (; k < end && c->seen < q->size; k++) {
		const struct vring_packed_desc *d = &q->pdesc[c->pos];
		uint16_t flags = __atomic_load_n(&d->flags, __ATOMIC_ACQUIRE), cnt = 1;
		struct pbuf *p = &b[k];

		if (!is_avail(flags, c->wrap))
			break;
		p->slot = c->pos;
		p->va = NULL;
		p->bad = false;
		if ((flags & odd) == want) {
			p->id = d->id;
			p->len = d->len;
			p->va = vr_hva(q->mem, d->addr, p->len);
			if (p->va != NULL && rx) {
				rte_prefetch0(p->va); /* the header, read first (vr_put_hdr) */
				rte_prefetch0_write(p->va + q->hdr_len);
			} else if (p->va != NULL) {
				if (q->ol)
					rte_prefetch0(p->va);
				rte_prefetch0(p->va + q->hdr_len);
			}
		} else { /* a chain: the guest wrote its descriptors before the head's flags */
			uint16_t pos = c->pos;
			bool wrap = c->wrap;

			while (flags & VRING_DESC_F_NEXT) {
				if (cnt == MAX_CHAIN || c->seen + cnt >= q->size) {
					p->bad = true; /* taken up to here, and used */
					break;
				}
				step(q, &pos, &wrap, 1);
				flags = q->pdesc[pos].flags;
				cnt++;
			}
			p->id = q->pdesc[pos].id;
		}
		p->ndesc = cnt;
		c->seen += cnt;
		step(q, &c->pos, &c->wrap, cnt);
	}
	return k;
}

/* Marks buffers b[0..k) used (with lens, or 0) from last_used on: the first one's flags
 * last, so that the guest sees the call's buffers at once. With in-order on a transmit ring
 * one descriptor tells them all, as rte_vhost does: the guest reads one line, not a burst's. */
static void mark_used(struct vr_queue *q, const struct pbuf *b, uint16_t k,
		      const uint32_t *lens, bool rx)
{
	uint16_t pos = q->last_used, head = q->last_used, head_flags = 0;
	bool wrap = q->used_wrap;

	if (!rx && q->in_order) {
		uint32_t total = 0;

		for (uint16_t i = 0; i < k; i++)
			total += b[i].ndesc;
		q->pdesc[head].id = b[k - 1].id;
		q->pdesc[head].len = 0;
		head_flags = wrap ? AVAIL_F | USED_F : 0;
		step(q, &pos, &wrap, (uint16_t)total); /* scan takes a ring at most */
	} else {
		for (uint16_t i = 0; i < k; i++) {
			struct vring_packed_desc *d = &q->pdesc[pos];
			uint16_t flags = (wrap ? AVAIL_F | USED_F : 0) | (rx ? VRING_DESC_F_WRITE : 0);

			d->id = b[i].id;
			d->len = lens != NULL ? lens[i] : 0;
			if (i == 0)
				head_flags = flags;
			else
				__atomic_store_n(&d->flags, flags, __ATOMIC_RELEASE);
			step(q, &pos, &wrap, b[i].ndesc);
		}
	}
	__atomic_store_n(&q->pdesc[head].flags, head_flags, __ATOMIC_RELEASE);
	q->last_used = pos;
	q->used_wrap = wrap;
	vr_notify(q);
}

/* Moves last_avail past buffers b[0..k). */
static void consume(struct vr_queue *q, const struct pbuf *b, uint16_t k)
{
	for (uint16_t i = 0; i < k; i++)
		step(q, &q->last_avail, &q->avail_wrap, b[i].ndesc);
}

/* The descriptors of a chain or indirect buffer p: the table and the number in it, from
 * *idx on (wrapping round the ring, never in a table); NULL if p is bad. */
static const struct vring_packed_desc *chain(const struct vr_queue *q, const struct pbuf *p,
					     uint16_t *idx, uint16_t *n, bool *ring)
{
	const struct vring_packed_desc *d = &q->pdesc[p->slot];
	uint16_t flags = d->flags;
	uint32_t len = d->len;
	uint64_t addr = d->addr;

	if (p->bad)
		return NULL;
	*ring = !(flags & VRING_DESC_F_INDIRECT);
	if (*ring) {
		*idx = p->slot;
		*n = p->ndesc;
		return q->pdesc;
	}
	/* a table the spec's way: whole descriptors, 16-byte aligned, no NEXT beside */
	if (p->ndesc != 1 || len == 0 || len % sizeof(*d) != 0 || len / sizeof(*d) > MAX_CHAIN ||
	    addr % 16 != 0)
		return NULL;
	*idx = 0;
	*n = (uint16_t)(len / sizeof(*d));
	return vr_hva(q->mem, addr, len);
}

static inline uint16_t next(const struct vr_queue *q, uint16_t idx, bool ring)
{
	return ring && idx + 1u == q->size ? 0 : (uint16_t)(idx + 1);
}

/* Copies transmitted buffer p into m, chaining more mbufs from mp as needed, and its
 * virtio-net header into hdr; false if the buffer is bad or the pool empty. */
static bool copy_from_chain(struct vr_queue *q, const struct pbuf *p, struct rte_mbuf *m,
			    struct rte_mempool *mp, uint8_t *hdr)
{
	struct rte_mbuf *seg = m;
	uint32_t skip = q->hdr_len;
	uint64_t total = 0;
	uint16_t idx, n;
	bool ring;
	const struct vring_packed_desc *t = chain(q, p, &idx, &n, &ring);

	if (t == NULL)
		return false;
	/* the frame's length first: one buffer for a long one */
	for (uint16_t i = 0, j = idx; i < n; i++, j = next(q, j, ring))
		total += t[j].len;
	vr_room_for(q, m, total);
	for (uint16_t i = 0; i < n; i++, idx = next(q, idx, ring)) {
		uint32_t len = t[idx].len; /* once: the guest may change it meanwhile */
		const uint8_t *src;

		/* not WRITE in a table: DPDK's virtio driver marks its transmit tables' entries
		 * so (vring_desc_init_indirect_packed), and rte_vhost reads them all the same */
		if (t[idx].flags & (ring ? VRING_DESC_F_WRITE | VRING_DESC_F_INDIRECT
					 : VRING_DESC_F_INDIRECT))
			return false;
		src = vr_hva(q->mem, t[idx].addr, len);
		if (src == NULL || !vr_take(q, m, &seg, mp, src, len, &skip, hdr))
			return false;
	}
	return m->pkt_len > 0;
}

uint16_t vrp_dequeue(struct vr_queue *q, struct rte_mempool *mp, struct rte_mbuf **pkts,
		     uint16_t n)
{
	struct cursor c = {.pos = q->last_avail, .wrap = q->avail_wrap};
	struct pbuf b[VR_BURST];
	uint8_t chain_hdr[sizeof(struct virtio_net_hdr_mrg_rxbuf)];
	uint16_t k = scan(q, &c, b, 0, RTE_MIN(n, VR_BURST), false), got = 0;

	if (k == 0)
		return 0;
	if (rte_pktmbuf_alloc_bulk(mp, pkts, k) != 0) {
		q->no_mbuf += k;
		return 0;
	}
	for (uint16_t i = 0; i < k; i++) {
		struct rte_mbuf *m = pkts[got];
		const uint8_t *hdr = b[i].va;
		bool ok;

		if (b[i].va != NULL && b[i].len > q->hdr_len &&
		    b[i].len - q->hdr_len <= rte_pktmbuf_tailroom(m)) { /* the usual frame */
			m->data_len = (uint16_t)(b[i].len - q->hdr_len);
			m->pkt_len = m->data_len;
			vr_copy(rte_pktmbuf_mtod(m, void *), b[i].va + q->hdr_len, m->data_len);
			ok = true;
		} else {
			hdr = chain_hdr;
			ok = copy_from_chain(q, &b[i], m, mp, chain_hdr);
		}
		if (!ok) {
			q->bad++;
			rte_pktmbuf_free(m->next); /* segments a partial copy chained */
			m->next = NULL;
			rte_pktmbuf_reset(m);
			continue;
		}
		if (q->ol)
			vr_offload_from_guest(m, hdr);
		got++;
	}
	consume(q, b, k);
	mark_used(q, b, k, NULL, false);
	q->frames += got;
	if (got < k)
		rte_pktmbuf_free_bulk(&pkts[got], k - got);
	return got;
}

/* Copies m, with header h, into the receive buffers from b[taken] on (scanning more into b
 * from c as needed, up to RX_BUFS), writing each one's length in lens: returns how many it
 * used, 0 if it does not fit in what the guest posted (or it posted a bad buffer). */
static uint16_t copy_to_buffers(struct vr_queue *q, const struct rte_mbuf *m,
				struct virtio_net_hdr_mrg_rxbuf *h, struct pbuf *b, uint32_t *lens,
				uint16_t taken, uint16_t *k, struct cursor *c)
{
	const struct rte_mbuf *seg = m;
	uint32_t seg_off = 0, hdr_left = q->hdr_len;
	uint8_t *hdr = NULL;
	uint16_t bufs = 0;

	for (;;) {
		uint16_t at = (uint16_t)(taken + bufs), idx, n;
		uint32_t written = 0;
		const struct vring_packed_desc *t;
		bool ring;

		if (at == *k && (*k == RX_BUFS || (*k = scan(q, c, b, *k, 1, true)) == at))
			return 0; /* no more buffers */
		t = chain(q, &b[at], &idx, &n, &ring);
		if (t == NULL)
			goto bad;
		for (uint16_t i = 0; i < n && seg != NULL; i++, idx = next(q, idx, ring)) {
			uint32_t room = t[idx].len;
			uint8_t *dst;

			if (!(t[idx].flags & VRING_DESC_F_WRITE) ||
			    (t[idx].flags & VRING_DESC_F_INDIRECT))
				goto bad;
			dst = vr_hva(q->mem, t[idx].addr, room);
			if (dst == NULL)
				goto bad;
			if (hdr_left > 0) { /* the header opens the first buffer */
				if (room < hdr_left)
					goto bad;
				hdr = dst;
				vr_put_hdr(dst, q->hdr_len, h);
				dst += hdr_left;
				room -= hdr_left;
				written += hdr_left;
				hdr_left = 0;
			}
			written += vr_fill(dst, room, &seg, &seg_off);
		}
		lens[at] = written;
		bufs++;
		if (seg == NULL) {
			if (q->mrg && bufs > 1) {
				h->num_buffers = bufs;
				vr_put_hdr(hdr, q->hdr_len, h);
			}
			return bufs;
		}
		if (!q->mrg)
			return 0; /* one buffer per frame without mergeable buffers */
	}
bad:
	q->bad++;
	return 0;
}

/* One pass: as many of the n frames as the buffers scanned from last_avail take. */
static uint16_t enqueue_pass(struct vr_queue *q, struct rte_mbuf **pkts, uint16_t n)
{
	struct cursor c = {.pos = q->last_avail, .wrap = q->avail_wrap};
	struct pbuf b[RX_BUFS];
	uint32_t lens[RX_BUFS];
	uint16_t k = scan(q, &c, b, 0, n, true), taken = 0, sent = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct virtio_net_hdr_mrg_rxbuf h;
		uint16_t used;

		vr_rx_hdr(q, m, &h);
		if (taken < k && b[taken].va != NULL && m->nb_segs == 1 &&
		    m->data_len + q->hdr_len <= b[taken].len) { /* the usual frame */
			vr_put_hdr(b[taken].va, q->hdr_len, &h);
			vr_copy(b[taken].va + q->hdr_len, rte_pktmbuf_mtod(m, void *), m->data_len);
			lens[taken] = m->data_len + q->hdr_len;
			used = 1;
		} else {
			used = copy_to_buffers(q, m, &h, b, lens, taken, &k, &c);
		}
		if (used == 0)
			break;
		taken = (uint16_t)(taken + used);
		sent++;
	}
	if (taken > 0) {
		consume(q, b, taken);
		mark_used(q, b, taken, lens, true);
	}
	return sent;
}

uint16_t vrp_enqueue(struct vr_queue *q, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t sent = 0, got;

	/* another pass only where long frames used up the buffers one pass may scan */
	do {
		got = enqueue_pass(q, pkts + sent, (uint16_t)(n - sent));
		sent = (uint16_t)(sent + got);
	} while (got > 0 && sent < n);
	q->dropped += (uint64_t)(n - sent);
	q->frames += sent;
	return sent;
}
