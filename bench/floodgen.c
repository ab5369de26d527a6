/* floodgen: the generator and drain of bench/flood in one busy-polling thread. Port 0 sends
 * broadcast frames of one size into a switch as fast as its ring takes them; every other port
 * receives and drops what the switch floods to it. After --warmup seconds it counts for
 * --seconds and prints one JSON line: frames sent into port 0, frames received per other port.
 *
 * usage: floodgen EAL-ARGS (one net_virtio_user vdev per port) -- --size N [--warmup S]
 *        [--seconds S]                                   (SIGINT/SIGTERM stop it early) */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "benchport.h"

#define BURST 32
#define RING 1024
#define MAX_PORTS 17
#define ETHERTYPE 0x88b5 /* IEEE local experimental: no switch reads past the header */

static volatile bool stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = true;
}

int main(int argc, char **argv)
{
	int n = rte_eal_init(argc, argv);
	double warmup = 1, seconds = 5;
	unsigned size = 64;
	int opt;

	if (n < 0) {
		fprintf(stderr, "floodgen: EAL init failed\n");
		return 1;
	}
	argc -= n;
	argv += n;
	static const struct option lopts[] = {
		{"size", 1, 0, 's'}, {"warmup", 1, 0, 'w'}, {"seconds", 1, 0, 't'}, {0, 0, 0, 0}};
	while ((opt = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		if (opt == 's')
			size = (unsigned)atoi(optarg);
		else if (opt == 'w')
			warmup = atof(optarg);
		else if (opt == 't')
			seconds = atof(optarg);
		else {
			fprintf(stderr, "floodgen: bad option\n");
			return 1;
		}
	}
	uint16_t nports = rte_eth_dev_count_avail();
	if (nports < 2 || nports > MAX_PORTS || size < 60 || size > 1514 + 4 || seconds <= 0) {
		fprintf(stderr, "floodgen: need 2..%d ports (have %u), --size 60..1518, --seconds > 0\n",
			MAX_PORTS, nports);
		return 1;
	}
	struct rte_mempool *pool = rte_pktmbuf_pool_create("flgen", 32767, 256, 0,
							   RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (!pool) {
		fprintf(stderr, "floodgen: no mbuf pool\n");
		return 1;
	}
	for (uint16_t p = 0; p < nports; p++)
		if (bench_port_up(p, pool, RING) != 0) {
			fprintf(stderr, "floodgen: port %u does not start\n", p);
			return 1;
		}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* the clock starts once the switch has taken up every port (at most 30 s) */
	bench_wait_links(nports, 30, &stop);

	struct rte_ether_hdr hdr = {.dst_addr.addr_bytes = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
				    .src_addr.addr_bytes = {0x02, 0, 0, 0, 0xf1, 0},
				    .ether_type = rte_cpu_to_be_16(ETHERTYPE)};
	unsigned len = size - RTE_ETHER_CRC_LEN; /* the frame size counts the FCS, as testpmd */
	struct rte_mbuf *pend[BURST], *rx[BURST];
	unsigned npend = 0;
	uint64_t sent = 0, got[MAX_PORTS] = {0}, sent0 = 0, got0[MAX_PORTS] = {0};
	uint64_t hz = rte_get_tsc_hz(), t0 = rte_get_tsc_cycles();
	uint64_t t_start = t0 + (uint64_t)(warmup * hz), t_end = t_start + (uint64_t)(seconds * hz);
	bool counting = false;

	while (!stop) {
		if (npend < BURST && rte_pktmbuf_alloc_bulk(pool, pend + npend, BURST - npend) == 0) {
			for (unsigned i = npend; i < BURST; i++) {
				struct rte_mbuf *m = pend[i];
				memcpy(rte_pktmbuf_mtod(m, void *), &hdr, sizeof(hdr));
				m->data_len = m->pkt_len = len;
			}
			npend = BURST;
		}
		uint16_t k = rte_eth_tx_burst(0, 0, pend, npend);
		sent += k;
		npend -= k;
		memmove(pend, pend + k, npend * sizeof(pend[0]));
		for (uint16_t p = 1; p < nports; p++) {
			uint16_t r = rte_eth_rx_burst(p, 0, rx, BURST);
			got[p] += r;
			rte_pktmbuf_free_bulk(rx, r);
		}
		uint64_t now = rte_get_tsc_cycles();
		if (!counting && now >= t_start) {
			counting = true;
			t_start = now;
			sent0 = sent;
			memcpy(got0, got, sizeof(got));
		} else if (counting && now >= t_end) {
			printf("{\"size\": %u, \"seconds\": %.6f, \"sent\": %lu, \"received\": [", size,
			       (double)(now - t_start) / hz, sent - sent0);
			for (uint16_t p = 1; p < nports; p++)
				printf("%s%lu", p > 1 ? ", " : "", got[p] - got0[p]);
			printf("]}\n");
			fflush(stdout);
			break;
		}
	}
	rte_pktmbuf_free_bulk(pend, npend);
	for (uint16_t p = 0; p < nports; p++) {
		rte_eth_dev_stop(p);
		rte_eth_dev_close(p);
	}
	rte_eal_cleanup();
	return stop ? 1 : 0;
}
