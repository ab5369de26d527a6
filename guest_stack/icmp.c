/* icmp.c: echo requests are answered in place (the request's buffer becomes the reply); echo
 * replies are queued for gs_icmp_recv_reply() (gs-ping); other types are counted and dropped. */
#include <rte_icmp.h>
#include "gs_priv.h"

static void echo_reply(struct gs_worker *w, struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
		       struct rte_icmp_hdr *icmp, uint32_t len)
{
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = gs_icmp_cksum(icmp, len);
	gs_ipv4_fill(m, ip, ip->src_addr, IPPROTO_ICMP);
	if (gs_tx_burst(w, &m, 1) != 1) {
		w->c[w->direct ? GS_C_tx_nic_full : GS_C_tx_ring_full]++;
		rte_pktmbuf_free(m);
	}
}

static void echo_reply_in(struct gs_worker *w, const struct rte_ipv4_hdr *ip,
			  const struct rte_icmp_hdr *icmp, uint32_t len)
{
	w->c[GS_C_icmp_reply_rx]++;
	if (!w->icmp_listen)
		return;
	if (w->rtail - w->rhead == GS_REPLY_QLEN) {
		w->c[GS_C_icmp_reply_full]++;
		return;
	}
	struct gs_echo_reply *r = &w->replies[w->rtail++ & (GS_REPLY_QLEN - 1)];
	r->src = rte_be_to_cpu_32(ip->src_addr);
	r->id = rte_be_to_cpu_16(icmp->icmp_ident);
	r->seq = rte_be_to_cpu_16(icmp->icmp_seq_nb);
	r->data = 0;
	memcpy(&r->data, icmp + 1, RTE_MIN(len - sizeof(*icmp), sizeof(r->data)));
}

void gs_icmp_input(struct gs_worker *w, struct rte_mbuf *m, struct rte_ipv4_hdr *ip)
{
	struct rte_icmp_hdr *icmp = rte_pktmbuf_mtod_offset(m, struct rte_icmp_hdr *, m->l3_len);
	uint32_t len = rte_pktmbuf_data_len(m) - m->l3_len;
	int why = gs_icmp_check(icmp, len);

	if (why) {
		w->c[why]++;
	} else if (icmp->icmp_type == RTE_IP_ICMP_ECHO_REQUEST && icmp->icmp_code == 0) {
		w->c[GS_C_icmp_echo_rx]++;
		echo_reply(w, m, ip, icmp, len);
		return;
	} else if (icmp->icmp_type == RTE_IP_ICMP_ECHO_REPLY) {
		echo_reply_in(w, ip, icmp, len);
	} else {
		w->c[GS_C_rx_icmp_other]++;
	}
	rte_pktmbuf_free(m);
}

void gs_icmp_listen(struct gs_worker *w)
{
	w->icmp_listen = true;
}

int gs_icmp_recv_reply(struct gs_worker *w, struct gs_echo_reply *r)
{
	if (w->rhead == w->rtail)
		return -EAGAIN;
	*r = w->replies[w->rhead++ & (GS_REPLY_QLEN - 1)];
	return 0;
}

int gs_icmp_echo_send(struct gs_worker *w, uint32_t dst, uint16_t id, uint16_t seq,
		      const void *data, uint16_t len)
{
	struct rte_mbuf *m;
	int rc = gs_tx_alloc(w, &m, 1, sizeof(struct rte_ipv4_hdr));

	if (rc < 0)
		return rc;
	uint16_t tot = (uint16_t)(sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_icmp_hdr) + len);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)rte_pktmbuf_append(m, tot);
	if (!ip) {
		rte_pktmbuf_free(m);
		return -EMSGSIZE;
	}
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip + 1);
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	icmp->icmp_code = 0;
	icmp->icmp_ident = rte_cpu_to_be_16(id);
	icmp->icmp_seq_nb = rte_cpu_to_be_16(seq);
	memcpy(icmp + 1, data, len);
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = gs_icmp_cksum(icmp, sizeof(*icmp) + len);
	gs_ipv4_fill(m, ip, rte_cpu_to_be_32(dst), IPPROTO_ICMP);
	if (gs_tx_burst(w, &m, 1) != 1) {
		rte_pktmbuf_free(m);
		return -EAGAIN; /* told, not counted: the caller sees the error */
	}
	gs_tx_flush(w);
	return 0;
}
