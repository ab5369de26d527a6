/* udp.c: UDP with a socket-like, burst, zero-copy API.  A socket belongs to one worker; input
 * queues the received mbuf itself (data moved to the payload) on the socket. */
#include <rte_udp.h>
#include <rte_ethdev.h>
#include "gs_priv.h"

#define GS_EPHEMERAL 49152

static struct gs_udp_sock *lookup(struct gs_worker *w, uint16_t port)
{
	struct gs_udp_sock *any = NULL;

	for (unsigned int i = 0; i < GS_MAX_SOCKS; i++) {
		struct gs_udp_sock *s = &w->socks[i];
		if (!s->used)
			continue;
		if (s->port == port)
			return s;
		if (s->port == 0)
			any = s;
	}
	return any;
}

void gs_udp_input(struct gs_worker *w, struct rte_mbuf *m, struct rte_ipv4_hdr *ip)
{
	struct rte_udp_hdr *udp = rte_pktmbuf_mtod_offset(m, struct rte_udp_hdr *, m->l3_len);
	enum gs_rx_cksum ck = gs_rx_cksum_l4(m->ol_flags);
	int why = ck == GS_RX_CKSUM_BAD ? GS_C_rx_bad_cksum
					 : gs_udp_check(ip, udp, rte_pktmbuf_data_len(m) - m->l3_len,
							ck == GS_RX_CKSUM_VERIFY);
	struct gs_udp_sock *s = why ? NULL : lookup(w, rte_be_to_cpu_16(udp->dst_port));

	if (!why && !s)
		why = GS_C_udp_no_socket;
	else if (!why && s->tail - s->head == GS_SOCK_QLEN)
		why = GS_C_udp_sock_full;
	if (why) {
		w->c[why]++;
		rte_pktmbuf_free(m);
		return;
	}
	m->l4_len = sizeof(*udp);
	rte_pktmbuf_adj(m, (uint16_t)(m->l3_len + sizeof(*udp)));
	s->q[s->tail++ & (GS_SOCK_QLEN - 1)] = m;
	w->udp_for_handlers += s->handler != NULL;
	w->c[GS_C_udp_rx]++;
}

struct gs_udp_sock *gs_udp_bind(struct gs_worker *w, uint16_t port)
{
	struct gs_udp_sock *free_slot = NULL;

	for (unsigned int i = 0; i < GS_MAX_SOCKS; i++) {
		struct gs_udp_sock *s = &w->socks[i];
		if (s->used && s->port == port) {
			errno = EADDRINUSE;
			return NULL;
		}
		if (!s->used && !free_slot)
			free_slot = s;
	}
	if (!free_slot) {
		errno = ENOSPC;
		return NULL;
	}
	free_slot->w = w;
	free_slot->port = port;
	free_slot->head = free_slot->tail = 0;
	free_slot->no_cksum = false;
	free_slot->used = true;
	return free_slot;
}

void gs_udp_set_cksum(struct gs_udp_sock *s, bool on)
{
	s->no_cksum = !on;
}

void gs_udp_set_handler(struct gs_udp_sock *s, gs_udp_rx_fn fn, void *arg)
{
	s->handler = fn;
	s->handler_arg = arg;
	s->w->udp_for_handlers += s->tail - s->head; /* already queued: delivered at the next poll */
}

void gs_udp_deliver(struct gs_worker *w)
{
	struct rte_mbuf *pkts[GS_BURST];

	if (!w->udp_for_handlers) /* the common case of a poll: nothing for a handler */
		return;
	w->udp_for_handlers = 0;
	for (unsigned int i = 0; i < GS_MAX_SOCKS; i++) {
		struct gs_udp_sock *s = &w->socks[i];
		uint16_t n;
		while (s->used && s->handler && (n = gs_udp_recv(s, pkts, GS_BURST)) > 0)
			s->handler(s, pkts, n, s->handler_arg);
	}
}

void gs_udp_close(struct gs_udp_sock *s)
{
	while (s->used && s->head != s->tail)
		rte_pktmbuf_free(s->q[s->head++ & (GS_SOCK_QLEN - 1)]);
	s->used = false;
	s->handler = NULL;
}

uint16_t gs_udp_recv(struct gs_udp_sock *s, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t i;

	for (i = 0; i < n && s->head != s->tail; i++)
		pkts[i] = s->q[s->head++ & (GS_SOCK_QLEN - 1)];
	return i;
}

/* The headers of a received datagram are still in front of its payload. */
int gs_udp_peer(const struct rte_mbuf *m, struct gs_endpoint *src, struct gs_endpoint *dst)
{
	if (m->l4_len != sizeof(struct rte_udp_hdr) || m->data_off < m->l3_len + m->l4_len)
		return -EINVAL;
	const struct rte_udp_hdr *udp =
		rte_pktmbuf_mtod_offset(m, const struct rte_udp_hdr *, -(int)sizeof(*udp));
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)((const char *)udp - m->l3_len);
	if (src)
		*src = (struct gs_endpoint){rte_be_to_cpu_32(ip->src_addr),
					    rte_be_to_cpu_16(udp->src_port)};
	if (dst)
		*dst = (struct gs_endpoint){rte_be_to_cpu_32(ip->dst_addr),
					    rte_be_to_cpu_16(udp->dst_port)};
	return 0;
}

int gs_udp_alloc(struct gs_worker *w, struct rte_mbuf **pkts, unsigned int n)
{
	return gs_tx_alloc(w, pkts, n, sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr));
}

/* Prepends UDP and IP headers to a payload (data must start at the payload). */
static int udp_out(struct rte_mbuf *m, uint16_t sport, uint32_t dip, uint16_t dport, bool cksum)
{
	uint16_t len = (uint16_t)(rte_pktmbuf_data_len(m) + sizeof(struct rte_udp_hdr));
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)rte_pktmbuf_prepend(
		m, sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr));

	if (!ip)
		return -ENOSPC;
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	udp->src_port = rte_cpu_to_be_16(sport);
	udp->dst_port = rte_cpu_to_be_16(dport);
	udp->dgram_len = rte_cpu_to_be_16(len);
	udp->dgram_cksum = 0;
	gs_ipv4_fill(m, ip, rte_cpu_to_be_32(dip), IPPROTO_UDP);
	m->l4_len = sizeof(*udp);
	if (!cksum)
		return 0; /* 0: no checksum (RFC 768) */
	if (gs_st.tx_ol & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) {
		m->ol_flags |= RTE_MBUF_F_TX_UDP_CKSUM;
		udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
	} else {
		udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	}
	return 0;
}

/* Takes the headers udp_out added off again, so that a packet handed back is as the caller gave
 * it; a reply gets the received addresses and ports back for gs_udp_peer. */
static void udp_unbuild(struct rte_mbuf *m, bool reply)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	if (reply) {
		RTE_SWAP(ip->src_addr, ip->dst_addr);
		RTE_SWAP(udp->src_port, udp->dst_port);
	}
	rte_pktmbuf_adj(m, sizeof(*ip) + sizeof(*udp));
}

/* pkts[0..built) have their headers; what the TX path does not take goes back to the caller. */
static uint16_t send_built(struct gs_worker *w, struct rte_mbuf **pkts, uint16_t built,
			   bool reply)
{
	uint16_t taken = gs_tx_burst(w, pkts, built);

	for (uint16_t i = taken; i < built; i++)
		udp_unbuild(pkts[i], reply);
	return taken;
}

uint16_t gs_udp_sendto(struct gs_udp_sock *s, struct rte_mbuf **pkts, uint16_t n,
		       const struct gs_endpoint *dst)
{
	struct gs_worker *w = s->w;
	uint16_t sport = s->port ? s->port : (uint16_t)(GS_EPHEMERAL + w->idx);
	uint16_t built = 0;

	n = RTE_MIN(n, gs_tx_room(w)); /* no headers built for packets that cannot go */
	while (built < n && udp_out(pkts[built], sport, dst->ip, dst->port, !s->no_cksum) == 0)
		built++;
	return send_built(w, pkts, built, false);
}

uint16_t gs_udp_reply(struct gs_udp_sock *s, struct rte_mbuf **pkts, uint16_t n)
{
	struct gs_worker *w = s->w;
	uint16_t built = 0;

	n = RTE_MIN(n, gs_tx_room(w)); /* no headers built for packets that cannot go */
	for (; built < n; built++) {
		struct gs_endpoint src, dst;
		if (gs_udp_peer(pkts[built], &src, &dst) < 0 ||
		    udp_out(pkts[built], dst.port, src.ip, src.port, !s->no_cksum) < 0)
			break;
	}
	return send_built(w, pkts, built, true);
}
