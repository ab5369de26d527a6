/* vring: taking and handing back the rings, and the split virtqueue's data path (see vring.h
 * for why it is not rte_vhost's). */
#include <errno.h>
#include <stdlib.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include <rte_prefetch.h>

#include "vring_int.h"

#define F(bit) (1ULL << (bit))

uint64_t vr_unsupported_features(void)
{
	return F(VIRTIO_F_ACCESS_PLATFORM) | F(VHOST_F_LOG_ALL) | F(VIRTIO_NET_F_HOST_ECN) |
	       F(VIRTIO_NET_F_HOST_UFO) | F(VIRTIO_NET_F_GUEST_ECN) | F(VIRTIO_NET_F_GUEST_UFO);
}

/* rte_vhost keeps a packed ring's wrap counter in bit 15 of its indexes */
static void set_base(const struct vr_queue *q, int vid, uint16_t vring_idx)
{
	if (q->packed)
		rte_vhost_set_vring_base(vid, vring_idx,
					 (uint16_t)(q->last_avail | q->avail_wrap << 15),
					 (uint16_t)(q->last_used | q->used_wrap << 15));
	else
		rte_vhost_set_vring_base(vid, vring_idx, q->last_avail, q->last_used);
}

int vr_attach(struct vr_queue *q, int vid, uint16_t vring_idx)
{
	struct rte_vhost_vring vr;
	uint64_t f;

	q->vid = -1;
	/* first: rte_vhost takes the queue's lock here, so a message being handled (new features,
	 * a new memory table) is through before anything below is read */
	rte_vhost_enable_guest_notification(vid, vring_idx, 0); /* we poll: no kicks */
	if (rte_vhost_get_negotiated_features(vid, &f) != 0 ||
	    rte_vhost_get_vhost_vring(vid, vring_idx, &vr) != 0 || vr.desc == NULL ||
	    vr.size == 0 || vr.size > 32768)
		return -EINVAL;
	q->packed = f & F(VIRTIO_F_RING_PACKED);
	if (!q->packed && (vr.size & (vr.size - 1)) != 0) /* a split ring's size is a power of 2 */
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
	if (q->packed) {
		q->avail_wrap = q->last_avail >> 15;
		q->used_wrap = q->last_used >> 15;
		q->last_avail &= 0x7fff;
		q->last_used &= 0x7fff;
		q->pdesc = vr.desc_packed;
		q->driver_event = vr.driver_event;
	} else {
		q->desc = vr.desc;
		q->avail = vr.avail;
		q->used = vr.used;
	}
	q->size = (uint16_t)vr.size;
	q->mask = (uint16_t)(vr.size - 1);
	q->vid = vid;
	q->vring_idx = vring_idx;
	q->event_idx = f & F(VIRTIO_RING_F_EVENT_IDX);
	q->mrg = f & F(VIRTIO_NET_F_MRG_RXBUF);
	q->in_order = f & F(VIRTIO_F_IN_ORDER);
	/* odd rings carry the guest's transmissions: their headers may ask for checksums and
	 * segmentation once it negotiated CSUM; even rings' headers tell it, with GUEST_CSUM */
	q->ol = f & F(vring_idx & 1 ? VIRTIO_NET_F_CSUM : VIRTIO_NET_F_GUEST_CSUM);
	q->hdr_len = q->mrg || (f & F(VIRTIO_F_VERSION_1)) ? sizeof(struct virtio_net_hdr_mrg_rxbuf)
							   : sizeof(struct virtio_net_hdr);
	q->call_pending = false;
	return 0;
}

void vr_detach(struct vr_queue *q, int vid, uint16_t vring_idx)
{
	if (q->mem == NULL)
		return;
	set_base(q, vid, vring_idx);
	free(q->mem);
	q->mem = NULL;
	q->desc = NULL;
	q->pdesc = NULL;
}

/* Interrupts the guest if it asked to be (a polling driver, DPDK's, never does). Through
 * rte_vhost, which owns the eventfd (a guest may replace it) and, with the event index, keeps
 * what it signalled last: it is told the ring's position first, or it would judge by the
 * position it had when vring took the ring, and never interrupt again. Never waiting for
 * rte_vhost's queue lock: a message handler holds it while it waits for this thread to
 * drop the rings (vhost.c); the call is made on the next burst instead. */
void vr_notify(struct vr_queue *q)
{
	if (q->vid < 0)
		return;
	if (!q->event_idx) { /* the flag, read here: the common case costs no call */
		rte_atomic_thread_fence(__ATOMIC_SEQ_CST); /* used entries out before flags in */
		if (q->packed ? __atomic_load_n(&q->driver_event->flags, __ATOMIC_RELAXED) ==
					VRING_PACKED_EVENT_FLAG_DISABLE
			      : __atomic_load_n(&q->avail->flags, __ATOMIC_RELAXED) &
					VRING_AVAIL_F_NO_INTERRUPT)
			return;
	}
	set_base(q, q->vid, q->vring_idx);
	q->call_pending = rte_vhost_vring_call_nonblock(q->vid, q->vring_idx) == -EAGAIN;
}

static inline void publish(struct vr_queue *q, uint16_t n)
{
	q->last_used = (uint16_t)(q->last_used + n);
	/* a release store: on x86 a plain one, where rte_vhost's locked add stalls on the line */
	__atomic_store_n(&q->used->idx, q->last_used, __ATOMIC_RELEASE);
	vr_notify(q);
}

/* The table an indirect descriptor d points to, and its last index; NULL unless it is a
 * table the spec's way: whole descriptors, 16-byte aligned, no NEXT beside. */
static const struct vring_desc *indirect(const struct vr_queue *q, const struct vring_desc *d,
					 uint32_t *last)
{
	uint32_t len = d->len;
	uint64_t addr = d->addr;
	const struct vring_desc *table;

	if (len == 0 || len % sizeof(*d) != 0 || len / sizeof(*d) > MAX_CHAIN ||
	    (d->flags & VRING_DESC_F_NEXT) || addr % 16 != 0)
		return NULL;
	table = vr_hva(q->mem, addr, len);
	*last = len / sizeof(*d) - 1;
	return table;
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
		table = indirect(q, &table[head], &last);
		if (table == NULL)
			return false;
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
	vr_room_for(q, m, total);
	for (int hops = 0; hops < MAX_CHAIN; hops++) {
		const struct vring_desc *d = &table[idx];
		uint32_t len = d->len; /* once: the guest may change it meanwhile */
		const uint8_t *src;

		if (d->flags & (VRING_DESC_F_WRITE | VRING_DESC_F_INDIRECT))
			return false;
		src = vr_hva(q->mem, d->addr, len);
		if (src == NULL || !vr_take(q, m, &seg, mp, src, len, &skip, hdr))
			return false;
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
		bufs[i] = vr_hva(q->mem, d->addr, lens[i]);
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

static uint16_t dequeue_split(struct vr_queue *q, struct rte_mempool *mp,
			      struct rte_mbuf **pkts, uint16_t n)
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
			vr_copy(rte_pktmbuf_mtod(m, void *), bufs[i] + q->hdr_len, m->data_len);
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
			vr_offload_from_guest(m, hdr);
		got++;
	}
	q->last_avail = (uint16_t)(q->last_avail + n);
	publish(q, n);
	q->frames += got;
	if (got < n)
		rte_pktmbuf_free_bulk(&pkts[got], n - got);
	return got;
}

uint16_t vr_dequeue(struct vr_queue *q, struct rte_mempool *mp, struct rte_mbuf **pkts,
		    uint16_t n)
{
	if (unlikely(q->call_pending))
		vr_notify(q);
	return q->packed ? vrp_dequeue(q, mp, pkts, n) : dequeue_split(q, mp, pkts, n);
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
		uint32_t written = 0, last = q->mask; /* the table's last index */
		const struct vring_desc *table = q->desc;

		if (head > q->mask)
			goto bad;
		if (table[head].flags & VRING_DESC_F_INDIRECT) { /* a driver's multi-part buffer */
			table = indirect(q, &table[head], &last);
			if (table == NULL)
				goto bad;
			idx = 0;
		}
		for (int hops = 0;; hops++) {
			const struct vring_desc *d = &table[idx];
			uint32_t room = d->len;
			uint8_t *dst;

			if (hops == MAX_CHAIN || !(d->flags & VRING_DESC_F_WRITE) ||
			    (d->flags & VRING_DESC_F_INDIRECT))
				goto bad;
			dst = vr_hva(q->mem, d->addr, room);
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
			if (seg == NULL || !(d->flags & VRING_DESC_F_NEXT))
				break;
			idx = d->next;
			if (idx > last)
				goto bad;
		}
		q->used->ring[(uint16_t)(q->last_used + taken + bufs) & q->mask].id = head;
		q->used->ring[(uint16_t)(q->last_used + taken + bufs) & q->mask].len = written;
		bufs++;
		if (seg == NULL) {
			if (q->mrg && bufs > 1) {
				h->num_buffers = bufs;
				vr_put_hdr(hdr, q->hdr_len, h);
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

		vr_rx_hdr(q, m, &h);
		/* gathered slot k is avail slot last_avail + k: the next buffer is slot taken */
		if (taken < batch && bufs[taken] != NULL && m->nb_segs == 1 &&
		    m->data_len + q->hdr_len <= lens[taken]) { /* the usual frame */
			uint16_t slot = (uint16_t)(q->last_used + taken) & q->mask;

			vr_put_hdr(bufs[taken], q->hdr_len, &h);
			vr_copy(bufs[taken] + q->hdr_len, rte_pktmbuf_mtod(m, void *), m->data_len);
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

	if (unlikely(q->call_pending))
		vr_notify(q);

	while (sent < n) {
		uint16_t want = RTE_MIN(n - sent, VR_BURST);
		uint16_t got = q->packed ? vrp_enqueue(q, pkts + sent, want)
					 : enqueue_burst(q, pkts + sent, want);

		sent += got;
		if (got < want) {
			q->dropped += n - sent - (want - got); /* enqueue_burst counted its own */
			break;
		}
	}
	return sent;
}
