/* What bench/floodgen and bench/trafgen share: a port brought up with one rx and one tx queue,
 * and the wait for every port's link (the switch has taken it). */
#ifndef BENCHPORT_H
#define BENCHPORT_H

#include <rte_cycles.h>
#include <rte_ethdev.h>

static inline int bench_port_up(uint16_t port, struct rte_mempool *pool, uint16_t ring)
{
	struct rte_eth_conf conf = {0};
	int rc = rte_eth_dev_configure(port, 1, 1, &conf);

	if (rc == 0)
		rc = rte_eth_rx_queue_setup(port, 0, ring, rte_eth_dev_socket_id(port), NULL, pool);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(port, 0, ring, rte_eth_dev_socket_id(port), NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(port);
	return rc;
}

/* Until every port's link is up, at most `seconds`, or *stop is set. */
static inline void bench_wait_links(uint16_t nports, unsigned seconds, volatile bool *stop)
{
	for (uint64_t until = rte_get_tsc_cycles() + seconds * rte_get_tsc_hz();
	     !*stop && rte_get_tsc_cycles() < until;) {
		uint16_t up = 0;
		for (uint16_t p = 0; p < nports; p++) {
			struct rte_eth_link link;
			up += rte_eth_link_get_nowait(p, &link) == 0 && link.link_status;
		}
		if (up == nports)
			return;
		rte_delay_ms(10);
	}
}

#endif
