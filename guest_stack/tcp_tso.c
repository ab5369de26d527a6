/* tcp_tso.c: a segment's payload and TCP segmentation offload.  The payload is copied out of
 * the send buffer into a fresh mbuf (so a retransmission is the same code); with TSO a segment
 * of many MSS is one chain of the pool's mbufs that the device (or the switch, or the peer's
 * driver) cuts into wire segments: the stack pays its per-segment costs (headers, ACK
 * processing, ring slots, the switch's work per frame) once per 64 KB. */
#include "tcp_priv.h"

#define TSO_MAX_PAYLOAD (65535u - 20u - 60u) /* an IPv4 datagram with the longest headers */
#define TSO_MIN_MSS 88u /* as Linux's TCP_MIN_MSS: the switch refuses TSO below it */
#define TSO_MAX_SEGS (TSO_MAX_PAYLOAD / 1024u + 2u) /* pool buffers hold 2 KB */

/* As Linux's tcp_tso_autosize in spirit (it sizes by the pacing rate, 1 ms of data): up to
 * 64 KB, and a quarter of what the windows allow, so that a window is still a few segments
 * whose ACKs clock the next ones; always a multiple of the MSS. */
uint32_t gs_tcp_tso_max(const struct gs_tcp_sock *s, uint32_t mss, uint32_t wnd)
{
	(void)s;
	if (!gs_st.tso || mss < TSO_MIN_MSS)
		return mss;
	uint32_t n = RTE_MIN(TSO_MAX_PAYLOAD, wnd / 4) / mss;
	return RTE_MAX(n, 1u) * mss;
}

static void copy_out(const struct gs_tcp_sock *s, uint32_t off, uint8_t *dst, uint32_t len)
{
	uint32_t at = (s->sbuf_head + off) & (s->sbuf_size - 1);
	uint32_t first = RTE_MIN(len, s->sbuf_size - at);

	memcpy(dst, s->sbuf + at, first);
	memcpy(dst + first, s->sbuf, len - first);
}

struct rte_mbuf *gs_tcp_payload(struct gs_tcp_sock *s, uint32_t seq, uint32_t len, uint16_t hdr)
{
	struct gs_worker *w = s->tw->w;
	struct rte_mbuf *segs[TSO_MAX_SEGS];
	uint32_t room = rte_pktmbuf_data_room_size(w->pool);
	uint32_t first = room - RTE_PKTMBUF_HEADROOM; /* the head keeps room for the headers */
	uint32_t n = len <= first ? 1 : 1 + (len - first + room - 1) / room;
	uint32_t off = seq - s->sbuf_seq;

	if (n > TSO_MAX_SEGS || gs_tx_alloc(w, segs, n, hdr) < 0)
		return NULL;
	for (uint32_t i = 0; i < n; i++) {
		struct rte_mbuf *m = segs[i];
		if (i) { /* the others are payload only: all of their buffer */
			m->data_off = 0;
			segs[i - 1]->next = m;
		}
		uint32_t k = RTE_MIN(len, rte_pktmbuf_tailroom(m));
		copy_out(s, off, (uint8_t *)rte_pktmbuf_append(m, (uint16_t)k), k);
		off += k;
		len -= k;
	}
	segs[0]->nb_segs = (uint16_t)n;
	segs[0]->pkt_len = off - (seq - s->sbuf_seq);
	return segs[0];
}
