/* trafgen: vsw-bench's generator. One busy-polling thread drives every port it was given
 * (net_virtio_user on a switch's vhost-user socket, net_af_packet on a veth of a kernel
 * bridge) and answers commands read from stdin, one JSON line each:
 *
 *   trial RATE SECONDS   open loop: the sending ports (--dst) offer RATE frames/s in all
 *                        (0: as fast as their rings take them) for SECONDS, then everything
 *                        is drained until 50 ms pass without a frame. Loss = offered - received.
 *   loop INFLIGHT SECONDS closed loop: INFLIGHT frames are injected, and each port sends what
 *                        it receives back out of itself to its --dst (the frames bounce through
 *                        the switch, or through a guest that forwards); counted after 1 s.
 *   quit
 *
 * Every frame carries its send time (TSC); a receiving port in this process puts one-way
 * latency (a trip through the switch) into a histogram of 100 ns bins: p50/p99/p999 and a
 * CDF come back in the answer. Frames are EtherType 0x88b5 (local experimental: no switch reads
 * past the header).
 *
 * --macs N: each frame's source and destination take bytes 2-3 from a counter that runs
 * 0..N-1 (N addresses per port for the switch to learn and look up; 1: the ports' own).
 * A loop's answer has the generator's cycles per frame received (its rounds that moved frames).
 *
 * --yield: a poll round that found nothing to do calls sched_yield(), so that guests sharing a
 * CPU take turns at once instead of spinning through a scheduler slice each.
 *
 * usage: trafgen EAL-ARGS -- --sizes 64|64,512|imix [--dst PORT=MAC].. [--macs N] [--yield]
 *                                           (ports with a --dst send)
 *        trafgen EAL-ARGS -- --forward --dst 0=MAC --dst 1=MAC [--yield]  (see forward()) */
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#define BURST 32
#define RING 1024
#define MAX_PORTS 8
#define MAX_SIZES 16
#define ETHERTYPE 0x88b5
#define MAGIC 0x76737762u   /* "vswb" */
#define BIN_NS 100
#define NBINS 20000         /* 2 ms; slower trips land in the last bin */

struct payload {
	uint32_t magic;
	uint64_t tsc;
} __attribute__((packed));

static struct rte_mempool *pool;
static uint16_t nports;
static bool sends[MAX_PORTS];
static struct rte_ether_hdr hdr[MAX_PORTS];
static unsigned sizes[MAX_SIZES], nsizes, next_size;
static uint64_t offered[MAX_PORTS], sent[MAX_PORTS], got[MAX_PORTS];
static uint64_t hist[NBINS], hz;
static bool yield; /* --yield: a round that found nothing gives the CPU away */
static unsigned nmacs = 1, next_mac[MAX_PORTS];
static uint64_t busy; /* loop: cycles of the rounds that moved frames */
static volatile bool stop;

/* IMIX as the simple IMIX of RFC 6985's users: 7 x 64, 4 x 570, 1 x 1518 */
static const unsigned imix[] = {64, 570, 64, 64, 570, 64, 1518, 64, 570, 64, 64, 570};

static int port_up(uint16_t port)
{
	struct rte_eth_conf conf = {0};
	int rc = rte_eth_dev_configure(port, 1, 1, &conf);

	if (rc == 0)
		rc = rte_eth_rx_queue_setup(port, 0, RING, rte_eth_dev_socket_id(port), NULL, pool);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(port, 0, RING, rte_eth_dev_socket_id(port), NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(port);
	return rc;
}

static void stamp(struct rte_mbuf *m, uint16_t port)
{
	struct payload *pl = rte_pktmbuf_mtod_offset(m, struct payload *, sizeof(hdr[0]));

	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

	memcpy(eth, &hdr[port], sizeof(hdr[0]));
	if (nmacs > 1) { /* --macs: bytes 2-3 of both addresses count 0..N-1 */
		unsigned k = next_mac[port]++ % nmacs;
		eth->src_addr.addr_bytes[2] = eth->dst_addr.addr_bytes[2] = (uint8_t)(k >> 8);
		eth->src_addr.addr_bytes[3] = eth->dst_addr.addr_bytes[3] = (uint8_t)k;
	}
	pl->magic = MAGIC;
	pl->tsc = rte_get_tsc_cycles();
}

/* Allocates and stamps n new frames of the next sizes for port; returns how many. */
static unsigned make(uint16_t port, struct rte_mbuf **m, unsigned n)
{
	if (rte_pktmbuf_alloc_bulk(pool, m, n) != 0)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		unsigned len = sizes[next_size++ % nsizes] - RTE_ETHER_CRC_LEN; /* sizes count the FCS */
		m[i]->data_len = m[i]->pkt_len = len;
		stamp(m[i], port);
	}
	return n;
}

/* Receives a burst on port: counts it, records latencies; returns the frames (not freed). */
static uint16_t receive(uint16_t port, struct rte_mbuf **rx, uint64_t now)
{
	uint16_t r = rte_eth_rx_burst(port, 0, rx, BURST);

	for (uint16_t i = 0; i < r; i++) {
		const struct payload *pl;
		if (rx[i]->data_len < sizeof(hdr[0]) + sizeof(*pl))
			continue;
		pl = rte_pktmbuf_mtod_offset(rx[i], const struct payload *, sizeof(hdr[0]));
		if (pl->magic != MAGIC)
			continue;
		uint64_t bin = (now - pl->tsc) * 1000000000ull / hz / BIN_NS;
		hist[bin < NBINS ? bin : NBINS - 1]++;
	}
	got[port] += r;
	return r;
}

static void reset(void)
{
	memset(offered, 0, sizeof(offered));
	memset(sent, 0, sizeof(sent));
	memset(got, 0, sizeof(got));
	memset(hist, 0, sizeof(hist));
	busy = 0;
}

static void drain(uint64_t quiet_ms)
{
	struct rte_mbuf *rx[BURST];
	uint64_t last = rte_get_tsc_cycles();

	while (rte_get_tsc_cycles() - last < quiet_ms * hz / 1000)
		for (uint16_t p = 0; p < nports; p++) {
			uint16_t r = receive(p, rx, rte_get_tsc_cycles());
			rte_pktmbuf_free_bulk(rx, r);
			if (r)
				last = rte_get_tsc_cycles();
		}
}

static double pct(double q)
{
	uint64_t n = 0, k = 0;

	for (unsigned i = 0; i < NBINS; i++)
		n += hist[i];
	if (!n)
		return -1;
	for (unsigned i = 0; i < NBINS; i++) {
		k += hist[i];
		if (k >= q * n)
			return (i + 0.5) * BIN_NS / 1000.0;
	}
	return -1;
}

static uint64_t got_total(void)
{
	uint64_t n = 0;

	for (uint16_t p = 0; p < nports; p++)
		n += got[p];
	return n;
}

static void answer(const char *what, double rate, double seconds)
{
	printf("{\"what\": \"%s\", \"rate\": %.0f, \"seconds\": %.6f", what, rate, seconds);
	const char *names[] = {"offered", "sent", "received"};
	uint64_t *vals[] = {offered, sent, got};
	for (int k = 0; k < 3; k++) {
		printf(", \"%s\": [", names[k]);
		for (uint16_t p = 0; p < nports; p++)
			printf("%s%" PRIu64, p ? ", " : "", vals[k][p]);
		printf("]");
	}
	printf(", \"cycles_per_frame\": %.1f", busy && got_total() ? (double)busy / got_total() : 0.0);
	printf(", \"lat_us\": {\"p50\": %.2f, \"p99\": %.2f, \"p999\": %.2f}, \"cdf\": [", pct(0.5),
	       pct(0.99), pct(0.999));
	/* the CDF at 1..100 percent, for charts */
	for (int q = 1; q <= 100; q++)
		printf("%s%.2f", q > 1 ? ", " : "", pct(q / 100.0));
	printf("]}\n");
	fflush(stdout);
}

/* Open loop at rate frames/s in all for seconds; the sending ports share the rate. */
static void trial(double rate, double seconds)
{
	struct rte_mbuf *pend[MAX_PORTS][BURST], *rx[BURST];
	unsigned npend[MAX_PORTS] = {0}, nsend = 0;
	uint64_t t0, t_end;

	drain(20); /* what an earlier command left in the rings */
	reset();
	for (uint16_t p = 0; p < nports; p++)
		nsend += sends[p];
	t0 = rte_get_tsc_cycles();
	t_end = t0 + (uint64_t)(seconds * hz);
	for (uint64_t now = t0; now < t_end; now = rte_get_tsc_cycles()) {
		unsigned made = 0;
		for (uint16_t p = 0; p < nports; p++) {
			if (!sends[p])
				continue;
			if (rate > 0) {
				/* frames are due by the clock; what the ring does not take was
				 * offered and is lost (the switch did not keep up) */
				uint64_t due = (uint64_t)((double)(now - t0) / hz * rate / nsend);
				uint64_t want = due > offered[p] ? due - offered[p] : 0;
				npend[p] = want ? make(p, pend[p], want < BURST ? (unsigned)want : BURST) : 0;
				offered[p] += npend[p];
			} else if (npend[p] == 0) {
				npend[p] = make(p, pend[p], BURST);
			}
			made += npend[p];
			uint16_t k = rte_eth_tx_burst(p, 0, pend[p], npend[p]);
			sent[p] += k;
			npend[p] -= k;
			if (rate > 0) {
				rte_pktmbuf_free_bulk(pend[p] + k, npend[p]);
				npend[p] = 0;
			} else {
				memmove(pend[p], pend[p] + k, npend[p] * sizeof(pend[p][0]));
			}
		}
		uint16_t seen = 0;
		for (uint16_t p = 0; p < nports; p++) {
			uint16_t r = receive(p, rx, now);
			seen += r;
			rte_pktmbuf_free_bulk(rx, r);
		}
		if (yield && !seen && !made)
			sched_yield();
	}
	for (uint16_t p = 0; p < nports; p++)
		rte_pktmbuf_free_bulk(pend[p], npend[p]);
	if (rate == 0) /* as fast as the rings take them: what they took was offered */
		memcpy(offered, sent, sizeof(offered));
	drain(50);
	answer("trial", rate, seconds);
}

/* Closed loop: what a port receives goes back out of it, restamped, to its --dst. */
static void loop(unsigned inflight, double seconds)
{
	struct rte_mbuf *rx[BURST];
	unsigned nsend = 0;

	drain(20);
	for (uint16_t p = 0; p < nports; p++)
		nsend += sends[p];
	for (uint16_t p = 0; p < nports && nsend; p++) {
		for (unsigned left = inflight / nsend; sends[p] && left;) {
			unsigned n = make(p, rx, left < BURST ? left : BURST);
			uint16_t k = rte_eth_tx_burst(p, 0, rx, n);
			rte_pktmbuf_free_bulk(rx + k, n - k);
			left -= n;
		}
	}
	uint64_t t_count = rte_get_tsc_cycles() + hz, t_end = t_count + (uint64_t)(seconds * hz);
	bool counting = false;
	for (uint64_t now = rte_get_tsc_cycles(); now < t_end; now = rte_get_tsc_cycles()) {
		if (!counting && now >= t_count) {
			reset();
			counting = true;
		}
		uint16_t seen = 0;
		for (uint16_t p = 0; p < nports; p++) {
			uint16_t r = receive(p, rx, now);
			seen += r;
			if (!sends[p]) {
				rte_pktmbuf_free_bulk(rx, r);
				continue;
			}
			for (uint16_t i = 0; i < r; i++)
				stamp(rx[i], p);
			uint16_t k = rte_eth_tx_burst(p, 0, rx, r);
			sent[p] += k;
			rte_pktmbuf_free_bulk(rx + k, r - k);
		}
		if (seen && counting)
			busy += rte_get_tsc_cycles() - now;
		if (yield && !seen)
			sched_yield();
	}
	memcpy(offered, sent, sizeof(offered));
	answer("loop", 0, seconds);
	drain(50); /* the frames still bouncing */
}

/* --forward: a guest that forwards (pvp): what port 2k receives leaves by 2k+1 and the other
 * way round, to the --dst of the port it leaves by, its send time kept (the generator measures
 * the whole trip), until SIGINT/SIGTERM. */
static void forward(void)
{
	struct rte_mbuf *rx[BURST];

	while (!stop) {
		uint16_t seen = 0;
		for (uint16_t p = 0; p < nports; p++) {
			uint16_t out = p ^ 1, r = rte_eth_rx_burst(p, 0, rx, BURST);
			seen += r;
			for (uint16_t i = 0; i < r; i++) {
				/* new addresses; bytes 2-3 (the --macs counter) kept */
				struct rte_ether_hdr *eth = rte_pktmbuf_mtod(rx[i], struct rte_ether_hdr *);
				uint8_t k2 = eth->dst_addr.addr_bytes[2], k3 = eth->dst_addr.addr_bytes[3];
				memcpy(eth, &hdr[out], 2 * RTE_ETHER_ADDR_LEN);
				eth->src_addr.addr_bytes[2] = eth->dst_addr.addr_bytes[2] = k2;
				eth->src_addr.addr_bytes[3] = eth->dst_addr.addr_bytes[3] = k3;
			}
			uint16_t k = out < nports ? rte_eth_tx_burst(out, 0, rx, r) : 0;
			rte_pktmbuf_free_bulk(rx + k, r - k);
		}
		if (yield && !seen)
			sched_yield();
	}
}

static void on_signal(int sig)
{
	(void)sig;
	stop = true;
}

static int parse_sizes(const char *s)
{
	if (strcmp(s, "imix") == 0) {
		nsizes = sizeof(imix) / sizeof(imix[0]);
		memcpy(sizes, imix, sizeof(imix));
		return 0;
	}
	for (char *end; *s && nsizes < MAX_SIZES; s = *end ? end + 1 : end) {
		unsigned long v = strtoul(s, &end, 10);
		if (end == s || (*end && *end != ',') || v < 64 || v > 1518)
			return -1;
		sizes[nsizes++] = (unsigned)v;
	}
	return nsizes ? 0 : -1;
}

static int parse_dst(const char *s)
{
	char *end;
	unsigned long p = strtoul(s, &end, 10);

	if (end == s || *end != '=' || p >= MAX_PORTS ||
	    rte_ether_unformat_addr(end + 1, &hdr[p].dst_addr) != 0)
		return -1;
	sends[p] = true;
	return 0;
}

int main(int argc, char **argv)
{
	int n = rte_eal_init(argc, argv), opt;
	char line[128];

	if (n < 0) {
		fprintf(stderr, "trafgen: EAL init failed\n");
		return 1;
	}
	argc -= n;
	argv += n;
	static const struct option lopts[] = {{"sizes", 1, 0, 's'}, {"dst", 1, 0, 'd'},
					      {"yield", 0, 0, 'y'}, {"forward", 0, 0, 'f'},
					      {"macs", 1, 0, 'm'}, {0}};
	bool fwd = false;
	while ((opt = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		if (opt == 'y')
			yield = true;
		else if (opt == 'f')
			fwd = true;
		else if (opt == 'm' && atoi(optarg) >= 1 && atoi(optarg) <= 65536)
			nmacs = (unsigned)atoi(optarg);
		else if ((opt == 's' && parse_sizes(optarg) != 0) ||
			 (opt == 'd' && parse_dst(optarg) != 0) || (opt != 's' && opt != 'd')) {
			fprintf(stderr, "trafgen: bad option (--sizes 64..1518[,..]|imix, "
					"--dst PORT=MAC, --macs 1..65536, --yield, --forward)\n");
			return 1;
		}
	}
	nports = rte_eth_dev_count_avail();
	if (nports < 1 || nports > MAX_PORTS || (nsizes == 0 && !fwd)) {
		fprintf(stderr, "trafgen: need 1..%d ports (have %u) and --sizes\n", MAX_PORTS, nports);
		return 1;
	}
	hz = rte_get_tsc_hz();
	pool = rte_pktmbuf_pool_create("trafgen", 32767, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       rte_socket_id());
	if (!pool) {
		fprintf(stderr, "trafgen: no mbuf pool\n");
		return 1;
	}
	for (uint16_t p = 0; p < nports; p++) {
		if (port_up(p) != 0) {
			fprintf(stderr, "trafgen: port %u does not start\n", p);
			return 1;
		}
		rte_eth_macaddr_get(p, &hdr[p].src_addr);
		hdr[p].ether_type = rte_cpu_to_be_16(ETHERTYPE);
	}
	printf("{\"what\": \"ready\", \"ports\": %u}\n", nports);
	fflush(stdout);
	if (fwd) { /* stopped by a signal; commands on stdin are not read */
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		forward();
	}
	while (!fwd && fgets(line, sizeof(line), stdin)) {
		double a, b;
		if (sscanf(line, "trial %lf %lf", &a, &b) == 2 && a >= 0 && b > 0)
			trial(a, b);
		else if (sscanf(line, "loop %lf %lf", &a, &b) == 2 && a >= 1 && b > 0)
			loop((unsigned)a, b);
		else if (strncmp(line, "quit", 4) == 0)
			break;
		else {
			printf("{\"what\": \"error\", \"error\": \"bad command\"}\n");
			fflush(stdout);
		}
	}
	for (uint16_t p = 0; p < nports; p++) {
		rte_eth_dev_stop(p);
		rte_eth_dev_close(p);
	}
	rte_eal_cleanup();
	return 0;
}
