/* fakedev.h: a fake device and clock under the real stack (gs_init_dev), and a peer that builds
 * frames for it.  Single-threaded: the test polls the workers itself, so everything is
 * deterministic (no sleeps, no real time). */
#ifndef GSDEV_FAKEDEV_H
#define GSDEV_FAKEDEV_H
#include <string.h>
#include <rte_arp.h>
#include <rte_icmp.h>
#include <rte_udp.h>
#include "gs_priv.h"

#define FAKE_QUEUES 4
#define FAKE_QLEN 256

struct fakedev {
	uint64_t now;	 /* the clock, us */
	uint16_t rx_max; /* at most this many per rx call (0: as asked) */
	uint16_t tx_max; /* at most this many per tx call (0: all) */
	unsigned int rx_head[FAKE_QUEUES], rx_tail[FAKE_QUEUES];
	struct rte_mbuf *rxq[FAKE_QUEUES][FAKE_QLEN]; /* frames for the stack */
	unsigned int tx_head, tx_tail;
	struct rte_mbuf *txq[FAKE_QLEN]; /* frames the stack sent, in order */
	unsigned long rx_calls, tx_calls, tx_frames;
};

static inline uint16_t fake_rx(void *ctx, uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
	struct fakedev *d = ctx;
	uint16_t i;

	d->rx_calls++;
	if (d->rx_max && n > d->rx_max)
		n = d->rx_max;
	for (i = 0; i < n && d->rx_head[queue] != d->rx_tail[queue]; i++)
		pkts[i] = d->rxq[queue][d->rx_head[queue]++ % FAKE_QLEN];
	return i;
}

static inline uint16_t fake_tx(void *ctx, uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
	struct fakedev *d = ctx;
	uint16_t i;

	(void)queue;
	d->tx_calls++;
	if (d->tx_max && n > d->tx_max)
		n = d->tx_max;
	for (i = 0; i < n && d->tx_tail - d->tx_head < FAKE_QLEN; i++)
		d->txq[d->tx_tail++ % FAKE_QLEN] = pkts[i];
	d->tx_frames += i;
	return i;
}

static inline uint64_t fake_now(void *ctx)
{
	return ((struct fakedev *)ctx)->now;
}

static const struct gs_dev_ops fake_ops = {.rx = fake_rx, .tx = fake_tx, .now_us = fake_now};

/* The next frame the stack sent, or NULL. */
static inline struct rte_mbuf *fake_sent(struct fakedev *d)
{
	return d->tx_head == d->tx_tail ? NULL : d->txq[d->tx_head++ % FAKE_QLEN];
}

static inline unsigned int fake_pending(const struct fakedev *d)
{
	return d->tx_tail - d->tx_head;
}

static inline void fake_drop_sent(struct fakedev *d)
{
	struct rte_mbuf *m;

	while ((m = fake_sent(d)))
		rte_pktmbuf_free(m);
}

/* The peer: a host on the stack's subnet. */
static const struct rte_ether_addr peer_mac = {{0x02, 0, 0, 0, 0, 0x02}};
#define PEER_IP RTE_IPV4(10, 0, 0, 2)

static inline struct rte_ether_hdr *peer_frame(struct rte_mbuf *m, uint16_t len, uint16_t type)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, len);

	eth->dst_addr = gs_st.mac;
	eth->src_addr = peer_mac;
	eth->ether_type = rte_cpu_to_be_16(type);
	m->port = 0;
	return eth;
}

static inline void peer_put(struct fakedev *d, uint16_t queue, struct rte_mbuf *m)
{
	d->rxq[queue][d->rx_tail[queue]++ % FAKE_QLEN] = m;
}

static inline void peer_arp(struct fakedev *d, uint16_t op)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(gs_st.pool);
	struct rte_ether_hdr *eth =
	    peer_frame(m, sizeof(*eth) + sizeof(struct rte_arp_hdr), RTE_ETHER_TYPE_ARP);
	struct rte_arp_hdr *a = (struct rte_arp_hdr *)(eth + 1);

	a->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = RTE_ETHER_ADDR_LEN;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16(op);
	a->arp_data.arp_sha = peer_mac;
	a->arp_data.arp_sip = rte_cpu_to_be_32(PEER_IP);
	a->arp_data.arp_tha = gs_st.mac;
	a->arp_data.arp_tip = gs_st.ip_be;
	peer_put(d, 0, m);
}

static inline struct rte_ipv4_hdr *peer_ip(struct rte_mbuf *m, uint16_t l4len, uint8_t proto)
{
	struct rte_ether_hdr *eth = peer_frame(
	    m, (uint16_t)(sizeof(*eth) + sizeof(struct rte_ipv4_hdr) + l4len), RTE_ETHER_TYPE_IPV4);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4len));
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = rte_cpu_to_be_32(PEER_IP);
	ip->dst_addr = gs_st.ip_be;
	return ip;
}

/* A UDP datagram whose payload is the 4-byte tag. */
static inline void peer_udp(struct fakedev *d, uint16_t queue, uint16_t sport, uint16_t dport,
			    uint32_t tag)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(gs_st.pool);
	struct rte_ipv4_hdr *ip = peer_ip(m, sizeof(struct rte_udp_hdr) + 4, IPPROTO_UDP);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	udp->src_port = rte_cpu_to_be_16(sport);
	udp->dst_port = rte_cpu_to_be_16(dport);
	udp->dgram_len = rte_cpu_to_be_16(sizeof(*udp) + 4);
	memcpy(udp + 1, &tag, 4);
	udp->dgram_cksum = 0;
	udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	peer_put(d, queue, m);
}

static inline void peer_echo(struct fakedev *d, uint16_t id, uint16_t seq)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(gs_st.pool);
	struct rte_ipv4_hdr *ip = peer_ip(m, sizeof(struct rte_icmp_hdr) + 8, IPPROTO_ICMP);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip + 1);

	icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	icmp->icmp_code = 0;
	icmp->icmp_ident = rte_cpu_to_be_16(id);
	icmp->icmp_seq_nb = rte_cpu_to_be_16(seq);
	memcpy(icmp + 1, "gsdevpng", 8);
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = gs_icmp_cksum(icmp, sizeof(*icmp) + 8);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	peer_put(d, 0, m);
}

/* What a sent frame is, for the checks. */
struct sent {
	uint16_t type; /* EtherType */
	struct rte_ether_addr dst;
	uint16_t arp_op;
	uint32_t arp_tip;
	uint8_t proto;
	uint32_t ip_dst;
	uint16_t dport;
	uint32_t tag; /* UDP: the payload's first 4 bytes */
	uint8_t icmp_type;
	uint16_t icmp_seq;
};

static inline struct sent parse_sent(const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	struct sent s;

	memset(&s, 0, sizeof(s));
	s.type = rte_be_to_cpu_16(eth->ether_type);
	s.dst = eth->dst_addr;
	if (s.type == RTE_ETHER_TYPE_ARP) {
		const struct rte_arp_hdr *a = (const struct rte_arp_hdr *)(eth + 1);
		s.arp_op = rte_be_to_cpu_16(a->arp_opcode);
		s.arp_tip = rte_be_to_cpu_32(a->arp_data.arp_tip);
		return s;
	}
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);
	s.proto = ip->next_proto_id;
	s.ip_dst = rte_be_to_cpu_32(ip->dst_addr);
	if (s.proto == IPPROTO_UDP) {
		const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(ip + 1);
		s.dport = rte_be_to_cpu_16(udp->dst_port);
		memcpy(&s.tag, udp + 1, 4);
	} else if (s.proto == IPPROTO_ICMP) {
		const struct rte_icmp_hdr *icmp = (const struct rte_icmp_hdr *)(ip + 1);
		s.icmp_type = icmp->icmp_type;
		s.icmp_seq = rte_be_to_cpu_16(icmp->icmp_seq_nb);
	}
	return s;
}

/* Payload buffers carrying a 4-byte tag each. */
static inline int tagged(struct gs_worker *w, struct rte_mbuf **pkts, unsigned int n,
			 uint32_t first)
{
	int rc = gs_udp_alloc(w, pkts, n);

	for (unsigned int i = 0; rc == 0 && i < n; i++) {
		uint32_t tag = first + i;
		memcpy(rte_pktmbuf_append(pkts[i], 4), &tag, 4);
	}
	return rc;
}

static inline uint32_t tag_of(const struct rte_mbuf *m)
{
	uint32_t tag;

	memcpy(&tag, rte_pktmbuf_mtod(m, const void *), 4);
	return tag;
}
#endif
