/* stats.c: the log type and the counters (names, per-role snapshots, totals). */
#include <string.h>
#include "gs_priv.h"

RTE_LOG_REGISTER(gs_logtype, gstack, INFO);

#define GS_CTR_NAME(n) #n,
static const char *const ctr_names[GS_C_MAX] = {GS_COUNTERS(GS_CTR_NAME)};

const char *gs_ctr_name(enum gs_ctr c)
{
	return (unsigned int)c < GS_C_MAX ? ctr_names[c] : "?";
}

bool gs_ctr_is_drop(enum gs_ctr c)
{
	switch (c) {
	case GS_C_rx_pkts:
	case GS_C_rx_ip:
	case GS_C_rx_arp:
	case GS_C_tx_pkts:
	case GS_C_udp_rx:
	case GS_C_udp_tx:
	case GS_C_icmp_echo_rx:
	case GS_C_icmp_echo_tx:
	case GS_C_icmp_reply_rx:
	case GS_C_arp_request_rx:
	case GS_C_arp_reply_rx:
	case GS_C_arp_reply_tx:
	case GS_C_arp_request_tx:
	case GS_C_tx_loopback:
	case GS_C_rx_loopback:
	case GS_C_tcp_rx:
	case GS_C_tcp_tx:
	case GS_C_tcp_rexmit:
	case GS_C_tcp_rto:
	case GS_C_tcp_fast_rexmit:
	case GS_C_tcp_sack_rexmit:
	case GS_C_tcp_conn_open:
	case GS_C_tcp_conn_accept:
	case GS_C_tcp_conn_close:
	case GS_C_tcp_rst_rx:
	case GS_C_tcp_rst_tx:
	case GS_C_tcp_dup_data:
	case GS_C_tcp_ooo:
	case GS_C_tcp_challenge_ack:
	case GS_C_tcp_zwp:
	case GS_C_tcp_tw_recycled:
	case GS_C_tcp_keepalive:
	case GS_C_tcp_tso_tx:
	case GS_C_tcp_lro_rx:
		return false;
	default:
		return c < GS_C_MAX;
	}
}

unsigned int gs_stats_sources(void)
{
	return gs_st.nworkers + gs_st.ndisp;
}

int gs_stats_get(unsigned int src, uint64_t ctr[GS_C_MAX], const char **role, unsigned int *lcore)
{
	if (src < gs_st.nworkers) {
		memcpy(ctr, gs_st.w[src]->c, sizeof(gs_st.w[src]->c));
		*role = "worker";
		*lcore = gs_st.w[src]->lcore;
		return 0;
	}
	src -= gs_st.nworkers;
	if (src >= gs_st.ndisp)
		return -ENOENT;
	memcpy(ctr, gs_st.disp[src].c, sizeof(gs_st.disp[src].c));
	*role = gs_st.disp[src].role;
	*lcore = gs_st.disp[src].lcore;
	return 0;
}

void gs_stats_total(uint64_t ctr[GS_C_MAX])
{
	uint64_t one[GS_C_MAX];
	const char *role;
	unsigned int lcore;

	memset(ctr, 0, sizeof(uint64_t) * GS_C_MAX);
	for (unsigned int s = 0; s < gs_stats_sources(); s++) {
		gs_stats_get(s, one, &role, &lcore);
		for (unsigned int i = 0; i < GS_C_MAX; i++)
			ctr[i] += one[i];
	}
}
