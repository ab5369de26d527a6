/* tcppeer.h: the TCP peer of the unit tests on the fake device (fakedev.h): segments it sends
 * (one mbuf, or a chain as large receive hands it over) and what it reads of ours (headers,
 * options, offload metadata, checksums, payload).  Include after fakedev.h and check.h. */
#ifndef GS_TCPPEER_H
#define GS_TCPPEER_H
#include <rte_tcp.h>

static struct fakedev dev;
static struct gs_worker *w;

struct tseg {
	uint64_t ol;	  /* the mbuf's offload flags */
	uint16_t segsz;	  /* its tso_segsz */
	uint16_t nb_segs; /* how many mbufs carried it */
	uint8_t l2, l3, l4;
	bool ip_ok;	  /* the IPv4 header checksum */
	uint8_t flags;
	uint32_t seq, ack, len;
	uint16_t wnd, sport, dport, mss;
	int wscale;
	bool cksum_ok, ts, sack_ok;
	uint32_t tsval, tsecr, nsack, sack[2]; /* the first SACK block */
};

static inline uint32_t be32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return rte_be_to_cpu_32(v);
}

/* The payload of the last segment next_tcp returned. */
static uint8_t seg_data[65536];

/* The next TCP segment the stack sent (ARP and the rest skipped and freed).  Its checksum is
 * checked in full, or, when the device was to finish it (TX_TCP_CKSUM, as with TSO), as the
 * pseudo-header sum DPDK's offloads want. */
static inline bool next_tcp(struct tseg *t)
{
	struct rte_mbuf *m;

	while ((m = fake_sent(&dev))) {
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
		if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
		    ip->next_proto_id != IPPROTO_TCP) {
			rte_pktmbuf_free(m);
			continue;
		}
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
		uint32_t hl = (uint32_t)(th->data_off >> 4) * 4;
		uint8_t *o = (uint8_t *)(th + 1);
		memset(t, 0, sizeof(*t));
		t->flags = th->tcp_flags;
		t->seq = rte_be_to_cpu_32(th->sent_seq);
		t->ack = rte_be_to_cpu_32(th->recv_ack);
		t->wnd = rte_be_to_cpu_16(th->rx_win);
		t->sport = rte_be_to_cpu_16(th->src_port);
		t->dport = rte_be_to_cpu_16(th->dst_port);
		t->len = rte_be_to_cpu_16(ip->total_length) - sizeof(*ip) - hl;
		t->wscale = -1;
		for (uint32_t i = 0; i + 1 < hl - sizeof(*th);) {
			if (o[i] == 1) {
				i++;
				continue;
			}
			if (o[i] == 2)
				t->mss = (uint16_t)(o[i + 2] << 8 | o[i + 3]);
			if (o[i] == 3)
				t->wscale = o[i + 2];
			if (o[i] == 4)
				t->sack_ok = true;
			if (o[i] == 8) {
				t->ts = true;
				t->tsval = be32_at(o + i + 2);
				t->tsecr = be32_at(o + i + 6);
			}
			if (o[i] == 5) {
				t->nsack = (o[i + 1] - 2u) / 8;
				t->sack[0] = be32_at(o + i + 2);
				t->sack[1] = be32_at(o + i + 6);
			}
			i += o[i + 1] ? o[i + 1] : 1;
		}
		t->ol = m->ol_flags;
		t->segsz = m->tso_segsz;
		t->nb_segs = m->nb_segs;
		t->l2 = (uint8_t)m->l2_len, t->l3 = (uint8_t)m->l3_len, t->l4 = (uint8_t)m->l4_len;
		t->ip_ok = rte_ipv4_cksum(ip) == 0;
		if (m->ol_flags & RTE_MBUF_F_TX_TCP_CKSUM)
			t->cksum_ok = th->cksum == rte_ipv4_phdr_cksum(ip, m->ol_flags);
		else
			t->cksum_ok = rte_ipv4_udptcp_cksum_mbuf_verify(m, ip, sizeof(*eth) + sizeof(*ip)) == 0;
		const void *pl = t->len <= sizeof(seg_data) ? rte_pktmbuf_read(
		    m, (uint32_t)(sizeof(*eth) + sizeof(*ip) + hl), t->len, seg_data) : NULL;
		if (pl && pl != seg_data) /* contiguous: read gave its place, not a copy */
			memcpy(seg_data, pl, t->len);
		rte_pktmbuf_free(m);
		return true;
	}
	return false;
}

/* A segment from the peer with these options (a multiple of 4 bytes); its payload in a chain
 * of chunk-byte mbufs after the headers' (0: all in one), as a device with large receive hands
 * over a large frame. */
static inline void peer_tcp_chain(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
			   uint8_t flags, uint16_t wnd, const uint8_t *data, uint32_t len,
			   const uint8_t *opts, uint8_t optlen, uint16_t chunk)
{
	uint32_t first = chunk && len > chunk ? chunk : len;
	struct rte_mbuf *m = rte_pktmbuf_alloc(gs_st.pool);
	struct rte_ipv4_hdr *ip =
	    peer_ip(m, (uint16_t)(sizeof(struct rte_tcp_hdr) + optlen + first), IPPROTO_TCP);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
	uint8_t *o = (uint8_t *)(th + 1);

	memset(th, 0, sizeof(*th));
	th->src_port = rte_cpu_to_be_16(sport);
	th->dst_port = rte_cpu_to_be_16(dport);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = (uint8_t)(((sizeof(*th) + optlen) / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(wnd);
	memcpy(o, opts, optlen);
	if (first)
		memcpy(o + optlen, data, first);
	for (uint32_t off = first; off < len; off += chunk) {
		struct rte_mbuf *seg = rte_pktmbuf_alloc(gs_st.pool);
		uint16_t k = (uint16_t)RTE_MIN((uint32_t)chunk, len - off);
		memcpy(rte_pktmbuf_append(seg, k), data + off, k);
		CHECK_EQ(rte_pktmbuf_chain(m, seg), 0);
	}
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + sizeof(*th) + optlen + len));
	th->cksum = rte_ipv4_udptcp_cksum_mbuf(m, ip, sizeof(struct rte_ether_hdr) + sizeof(*ip));
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	peer_put(&dev, 0, m);
}

/* A segment from the peer with these options (a multiple of 4 bytes). */
static inline void peer_tcp_opts(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
			  uint8_t flags, uint16_t wnd, const void *data, uint16_t len,
			  const uint8_t *opts, uint8_t optlen)
{
	peer_tcp_chain(sport, dport, seq, ack, flags, wnd, data, len, opts, optlen, 0);
}

/* NOP NOP TS(tsval, tsecr) */
static inline void ts_opt(uint8_t *o, uint32_t tsval, uint32_t tsecr)
{
	o[0] = 1, o[1] = 1, o[2] = 8, o[3] = 10;
	tsval = rte_cpu_to_be_32(tsval), tsecr = rte_cpu_to_be_32(tsecr);
	memcpy(o + 4, &tsval, 4);
	memcpy(o + 8, &tsecr, 4);
}

static inline void first_info(const struct gs_tcp_sock *s, void *arg)
{
	gs_tcp_info(s, arg);
}

static inline void poll_at(uint64_t t)
{
	dev.now = t;
	gs_poll(w);
}

#endif
