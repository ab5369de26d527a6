/* The PMD loop, run to completion: take the current datapath table, receive a burst from each
 * of this PMD's rx queues, pass it through the L2 stages and flush the tx buffers it filled (at
 * once, as OVS with tx-flush-interval 0: a frame waits for no other queue), then report a
 * quiescent state. When nothing arrives for a while it sleeps, a little longer each time, up to
 * --pmd-maxsleep (as OVS's pmd-maxsleep), so idle switches leave the cores to the guests. */
#include <sys/prctl.h>

#include <rte_cycles.h>
#include <rte_malloc.h>

#include "vswd.h"

#define IDLE_POLLS_BEFORE_SLEEP 64
#define UNDERLAY_BURSTS 4

static int pmd_init(struct vsw_pmd *pmd)
{
	for (unsigned idx = 0; idx < VSW_MAX_PORTS; idx++) {
		struct rte_eth_dev_tx_buffer *b = rte_zmalloc_socket(
			"vsw_txb", RTE_ETH_TX_BUFFER_SIZE(VSW_BURST), 0, (int)rte_socket_id());

		if (b == NULL)
			return -1;
		rte_eth_tx_buffer_init(b, VSW_BURST);
		rte_eth_tx_buffer_set_err_callback(b, vsw_tx_unsent, &pmd->port[idx]);
		pmd->txb[idx] = b;
	}
	pmd->mc = vsw_mac_cache_create(vsw.cfg.fdb_size, (int)rte_socket_id());
	if (pmd->mc == NULL)
		return -1;
	prctl(PR_SET_TIMERSLACK, 1UL); /* a 2 us sleep should not become 50 us */
	rte_rcu_qsbr_thread_register(vsw.qsbr, pmd->index);
	rte_rcu_qsbr_thread_online(vsw.qsbr, pmd->index);
	return 0;
}

static void pmd_fini(struct vsw_pmd *pmd)
{
	rte_rcu_qsbr_thread_offline(vsw.qsbr, pmd->index);
	rte_rcu_qsbr_thread_unregister(vsw.qsbr, pmd->index);
	for (unsigned idx = 0; idx < VSW_MAX_PORTS; idx++)
		rte_free(pmd->txb[idx]);
	vsw_mac_cache_free(pmd->mc);
	pmd->mc = NULL;
}

int vsw_pmd_main(void *arg)
{
	struct vsw_pmd *pmd = arg;
	struct rte_mbuf *pkts[VSW_BURST];
	const uint64_t hz = rte_get_tsc_hz();
	unsigned idle = 0, sleep_us = 0;

	if (pmd_init(pmd) != 0) {
		VSW_LOG(ERR, "PMD on lcore %u: out of memory\n", pmd->lcore);
		vsw.stop = true; /* its queues would never be polled: stop the switch */
		return -1;
	}
	VSW_LOG(INFO, "PMD %u on lcore %u\n", pmd->index, pmd->lcore);
	while (!__atomic_load_n(&vsw.stop, __ATOMIC_RELAXED)) {
		const struct vsw_dp_table *t = __atomic_load_n(&vsw.dp, __ATOMIC_ACQUIRE);
		uint64_t start = rte_rdtsc(), got = 0;

		for (unsigned i = 0; i < t->pmd[pmd->index].n; i++) {
			const struct vsw_dp_rxq *q = &t->pmd[pmd->index].q[i];
			/* an underlay carries every tunnel's traffic: it gets up to UNDERLAY_BURSTS
			 * bursts a round while they come full, so that no queue stands on it */
			unsigned bursts = t->ports[q->idx].underlay ? UNDERLAY_BURSTS : 1;
			uint16_t n;

			do {
				n = t->ports[q->idx].vhost ? vsw_vhost_rx(q, pkts)
							   : rte_eth_rx_burst(q->port_id, q->queue, pkts,
									      VSW_BURST);
				if (n == 0)
					break;
				got += n;
				vsw_l2_input(pmd, t, q->idx, pkts, n, start / hz);
				vsw_tx_flush_all(pmd, t);
			} while (n == VSW_BURST && --bursts != 0);
		}
		if (unlikely(t->n_vxlan != 0)) /* what the switch sent into tunnels, encapsulated */
			got += vsw_vxlan_poll(pmd, t, start / hz);
		rte_rcu_qsbr_quiescent(vsw.qsbr, pmd->index);

		pmd->loop.iterations++;
		if (got != 0) {
			pmd->loop.busy_iterations++;
			pmd->loop.packets += got;
			pmd->loop.busy_cycles += rte_rdtsc() - start;
			idle = 0;
			sleep_us = 0;
			continue;
		}
		pmd->loop.idle_cycles += rte_rdtsc() - start;
		if (vsw.cfg.pmd_maxsleep_us == 0 || ++idle < IDLE_POLLS_BEFORE_SLEEP)
			continue;
		sleep_us = sleep_us == 0 ? 1 : RTE_MIN(sleep_us * 2, vsw.cfg.pmd_maxsleep_us);
		pmd->loop.sleeps++;
		rte_delay_us_sleep(sleep_us);
	}
	pmd_fini(pmd);
	return 0;
}
