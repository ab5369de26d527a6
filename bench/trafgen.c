/* trafgen: vsw-bench's generator. One busy-polling thread drives every port it was given
 * (net_virtio_user on a switch's vhost-user socket, net_af_packet on a veth of a kernel
 * bridge) and answers commands read from stdin, one JSON line each:
 *
 *   drain                 receive and drop until 50 ms pass without a frame (before a command
 *                         that several generators start together: none of them may still be
 *                         draining while another sends); 2 s at most, and then every answer
 *                         says "drain_capped": frames kept coming (going round in a loop)
 *   trial RATE SECONDS    open loop: the sending ports (--dst) offer RATE frames/s in all
 *                         (0: as fast as their rings take them) for SECONDS, then receive until
 *                         50 ms pass without a frame. Loss = offered - received; a frame the
 *                         ring did not take counts as offered (the switch did not keep up).
 *   loop INFLIGHT SECONDS [WARMUP [FIRST COUNT]]
 *                         closed loop: INFLIGHT frames are injected, and each port sends what it
 *                         receives back out of itself to its --dst (the frames bounce through the
 *                         switch, or through a guest that forwards); counted after WARMUP seconds
 *                         (1). Then it drains: "in_flight_at_end" is what was still going round.
 *                         FIRST COUNT: only ports FIRST.. FIRST+COUNT-1 take part (vsw-bench's
 *                         interleaved runs: the other ports' switches are stopped).
 *   quit
 *
 * Only the kit's frames count (EtherType 0x88b5, local experimental, and a magic value): each
 * carries its send time (TSC) and the port it left by; a receiving port puts the one-way trip
 * into a histogram of 100 ns bins (p50/p99/p999 and a CDF in the answer, null when empty) and
 * counts the frames that came back to the port that sent them ("own").
 *
 * --macs N: each frame's source and destination take bytes 2-3 from a counter that runs
 * 0..N-1 (N addresses per port for the switch to learn and look up; 1: the ports' own).
 * A loop's answer has the generator's cycles per frame received: the rounds that moved frames,
 * less those that took over 50 us and over 16 times a recent round's (the CPU was taken
 * away: counted as stalls; a slow generator, say an emulated VM's, takes 50 us every round).
 * With a kernel port (net_af_packet) a round's system calls do the bridge's work and may well
 * take longer, so there every round is timed by the thread's CPU clock instead, which
 * preemption does not advance (a system call per round, small beside a round's own).
 *
 * --yield: a poll round that found nothing to do calls sched_yield(), so that guests sharing a
 * CPU take turns at once instead of spinning through a scheduler slice each.
 *
 * --resend: a loop sends each of the kit's frames back out of the port that sent it, as it came
 * (other frames are dropped): the generator then writes no frame, as an io-forwarding guest,
 * where restamping writes a line the switch has just written and waits for it to come over
 * (about 15 % of the generator's cycles at 64 bytes). Only where the frame's path comes back to
 * its sender unchanged: one generator with both ports, one address each. The latency is then
 * sampled: every 1/64 s, for 1/1024 s, each frame sent is stamped, and a frame stamped in the
 * latest such window is counted once (after the window its stamp is cleared).
 *
 * usage: trafgen EAL-ARGS -- --sizes 64|64,512|imix [--dst PORT=MAC].. [--macs N] [--yield]
 *                             [--resend]    (ports with a --dst send)
 *        trafgen EAL-ARGS -- --forward --dst 0=MAC --dst 1=MAC [--yield]  (see forward())
 * It waits up to 30 s for every port's link before its first line ({"what": "ready"}), and
 * goes when its parent does. */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "benchport.h"

#define BURST 32
#define RING 1024
#define MAX_PORTS 16 /* vsw-bench --interleave: two for each of up to 8 switches */
#define MAX_SIZES 16
#define ETHERTYPE 0x88b5
#define MAGIC 0x76737762u /* "vswb" */
#define BIN_NS 100
#define NBINS 20000 /* 2 ms; slower trips land in the last bin */
#define DRAIN_MAX_S 2 /* a drain that never gets quiet (frames going round) ends here */

struct payload {
	uint32_t magic;
	uint8_t origin; /* the last byte of the sending port's MAC */
	uint64_t tsc;
} __attribute__((packed));

static struct rte_mempool *pool;
static uint16_t nports;
static bool sends[MAX_PORTS];
static struct rte_ether_hdr hdr[MAX_PORTS];
static unsigned sizes[MAX_SIZES], nsizes, next_size;
static uint64_t offered[MAX_PORTS], sent[MAX_PORTS], got[MAX_PORTS], own[MAX_PORTS];
static uint64_t hist[NBINS], hz, cyc_per_bin;
static bool yield;
static bool kernel_ports; /* a net_af_packet port: rounds timed by the thread's CPU clock */
static bool resend;
static uint16_t origin_port[256]; /* --resend: the port whose MAC ends in this byte */
/* a trip is counted only for frames stamped at or after this; with clear_counted, such a frame's
 * stamp is then cleared (--resend, outside a stamping window) */
static uint64_t count_from;
static bool clear_counted;
static unsigned nmacs = 1, next_mac[MAX_PORTS];
static volatile bool stop;
static bool drain_capped; /* the last drain stopped at DRAIN_MAX_S: frames kept coming */

/* IMIX as the simple IMIX of RFC 6985's users: 7 x 64, 4 x 570, 1 x 1518 */
static const unsigned imix[] = {64, 570, 64, 64, 570, 64, 1518, 64, 570, 64, 64, 570};

static void stamp(struct rte_mbuf *m, uint16_t port)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct payload *pl = (struct payload *)(eth + 1);

	memcpy(eth, &hdr[port], sizeof(*eth));
	if (nmacs > 1) { /* --macs: bytes 2-3 of both addresses count 0..N-1 */
		unsigned k = next_mac[port]++ % nmacs;
		eth->src_addr.addr_bytes[2] = eth->dst_addr.addr_bytes[2] = (uint8_t)(k >> 8);
		eth->src_addr.addr_bytes[3] = eth->dst_addr.addr_bytes[3] = (uint8_t)k;
	}
	pl->magic = MAGIC;
	pl->origin = hdr[port].src_addr.addr_bytes[5];
	pl->tsc = rte_get_tsc_cycles();
}

/* Allocates and stamps up to n new frames of the next sizes for port; returns how many. */
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

/* Receives a burst on port and counts the kit's frames and their trips, or with kit only adds
 * their number there; returns all frames. */
static uint16_t receive(uint16_t port, struct rte_mbuf **rx, uint64_t *kit)
{
	uint16_t r = rte_eth_rx_burst(port, 0, rx, BURST);
	uint64_t now = rte_get_tsc_cycles();

	for (uint16_t i = 0; i < r; i++) {
		struct payload *pl;
		if (rx[i]->data_len < sizeof(hdr[0]) + sizeof(*pl))
			continue;
		pl = rte_pktmbuf_mtod_offset(rx[i], struct payload *, sizeof(hdr[0]));
		if (pl->magic != MAGIC)
			continue;
		if (kit) {
			(*kit)++;
			continue;
		}
		got[port]++;
		own[port] += pl->origin == hdr[port].src_addr.addr_bytes[5];
		if (pl->tsc < count_from)
			continue;
		int64_t d = (int64_t)(now - pl->tsc); /* another port's stamp can be later */
		if (clear_counted)
			pl->tsc = 0;
		uint64_t bin = d > 0 ? (uint64_t)d / cyc_per_bin : 0;
		hist[bin < NBINS ? bin : NBINS - 1]++;
	}
	return r;
}

static void reset(void)
{
	memset(offered, 0, sizeof(offered));
	memset(sent, 0, sizeof(sent));
	memset(got, 0, sizeof(got));
	memset(own, 0, sizeof(own));
	memset(hist, 0, sizeof(hist));
}

/* Receives and drops until quiet_ms pass without a frame, or DRAIN_MAX_S; returns the frames
 * seen. The kit's are counted as received, or with kit only their number is added there. */
static uint64_t drain(uint64_t quiet_ms, uint64_t *kit)
{
	struct rte_mbuf *rx[BURST];
	uint64_t last = rte_get_tsc_cycles(), n = 0, end = last + DRAIN_MAX_S * hz;

	drain_capped = false;
	while (rte_get_tsc_cycles() - last < quiet_ms * hz / 1000) {
		if (rte_get_tsc_cycles() > end) {
			drain_capped = true;
			break;
		}
		uint16_t seen = 0;
		for (uint16_t p = 0; p < nports; p++) {
			uint16_t r = receive(p, rx, kit);
			rte_pktmbuf_free_bulk(rx, r);
			seen += r;
		}
		if (seen) {
			n += seen;
			last = rte_get_tsc_cycles();
		} else if (yield) {
			sched_yield();
		}
	}
	return n;
}

/* The latency percentile q (0..1] in us, or -1 with no sample. */
static double pct(double q, uint64_t total)
{
	uint64_t k = 0;

	for (unsigned i = 0; total && i < NBINS; i++) {
		k += hist[i];
		if (k >= q * total)
			return (i + 0.5) * BIN_NS / 1000.0;
	}
	return -1;
}

static void print_us(const char *sep, double us)
{
	if (us < 0)
		printf("%snull", sep);
	else
		printf("%s%.2f", sep, us);
}

static void print_list(const char *name, const uint64_t *v)
{
	printf(", \"%s\": [", name);
	for (uint16_t p = 0; p < nports; p++)
		printf("%s%" PRIu64, p ? ", " : "", v[p]);
	printf("]");
}

/* One answer; extra: more fields, already formatted (", \"k\": v..."). */
static void answer(const char *what, double rate, double seconds, const char *extra)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < NBINS; i++)
		total += hist[i];
	printf("{\"what\": \"%s\", \"rate\": %.0f, \"seconds\": %.6f, \"drain_capped\": %s%s", what,
	       rate, seconds, drain_capped ? "true" : "false", extra);
	print_list("offered", offered);
	print_list("sent", sent);
	print_list("received", got);
	print_list("own", own);
	printf(", \"lat_us\": {");
	print_us("\"p50\": ", pct(0.5, total));
	print_us(", \"p99\": ", pct(0.99, total));
	print_us(", \"p999\": ", pct(0.999, total));
	printf("}, \"cdf\": [");
	for (int q = 1; q <= 100; q++) /* 1..100 percent, for charts */
		print_us(q > 1 ? ", " : "", pct(q / 100.0, total));
	printf("]}\n");
	fflush(stdout);
}

/* Open loop at rate frames/s in all for seconds; the sending ports share the rate. */
static void trial(double rate, double seconds)
{
	struct rte_mbuf *pend[MAX_PORTS][BURST], *rx[BURST];
	unsigned npend[MAX_PORTS] = {0}, nsend = 0;

	reset();
	for (uint16_t p = 0; p < nports; p++)
		nsend += sends[p];
	uint64_t t0 = rte_get_tsc_cycles(), t_end = t0 + (uint64_t)(seconds * hz);
	for (uint64_t now = t0; now < t_end; now = rte_get_tsc_cycles()) {
		unsigned made = 0;
		for (uint16_t p = 0; p < nports; p++) {
			if (!sends[p])
				continue;
			if (rate > 0) {
				/* frames are due by the clock; what the ring does not take was
				 * offered and is lost */
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
			uint16_t r = receive(p, rx, NULL);
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
	drain(50, NULL); /* counted: the trial's frames still on their way */
	answer("trial", rate, seconds, "");
}

/* The thread's CPU time, in TSC cycles. */
static uint64_t cpu_cycles(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * hz + (uint64_t)t.tv_nsec * hz / 1000000000;
}

/* --resend: the kit's frames of a burst leave again by the ports that sent them, stamped with
 * tsc unless it is 0; others are dropped. */
static void resend_burst(struct rte_mbuf **rx, uint16_t r, uint64_t tsc)
{
	struct rte_mbuf *out[MAX_PORTS][BURST];
	uint16_t n[MAX_PORTS] = {0};

	for (uint16_t i = 0; i < r; i++) {
		struct payload *pl = rte_pktmbuf_mtod_offset(rx[i], struct payload *, sizeof(hdr[0]));
		uint16_t o = rx[i]->data_len >= sizeof(hdr[0]) + sizeof(*pl) && pl->magic == MAGIC
				     ? origin_port[pl->origin]
				     : MAX_PORTS;
		if (o >= nports) {
			rte_pktmbuf_free(rx[i]);
			continue;
		}
		if (tsc)
			pl->tsc = tsc;
		out[o][n[o]++] = rx[i];
	}
	for (uint16_t o = 0; o < nports; o++) {
		uint16_t k = n[o] ? rte_eth_tx_burst(o, 0, out[o], n[o]) : 0;
		sent[o] += k;
		rte_pktmbuf_free_bulk(out[o] + k, n[o] - k);
	}
}

/* Closed loop: what a port receives goes back out of it, restamped, to its --dst (with
 * --resend, out of the port that sent it, as it came). */
static void loop(unsigned inflight, double seconds, double warmup, uint16_t first, uint16_t end)
{
	struct rte_mbuf *rx[BURST];
	unsigned nsend = 0, injected = 0;
	uint64_t busy = 0, stalls = 0, round_max = hz / 20000; /* 50 us */
	uint64_t usual = 0; /* a moving average of the rounds that moved frames */
	uint64_t t_start = rte_get_tsc_cycles(), every = hz / 64, stamping = hz / 1024;

	for (uint16_t p = first; p < end; p++)
		nsend += sends[p];
	for (uint16_t p = first; p < end && nsend; p++) {
		for (unsigned left = inflight / nsend; sends[p] && left;) {
			unsigned n = make(p, rx, left < BURST ? left : BURST);
			if (n == 0)
				break; /* no mbufs: fewer in flight, as the answer says */
			uint16_t k = rte_eth_tx_burst(p, 0, rx, n);
			rte_pktmbuf_free_bulk(rx + k, n - k);
			injected += k;
			left -= n;
		}
	}
	uint64_t t_count = rte_get_tsc_cycles() + (uint64_t)(warmup * hz), t_end = t_count + (uint64_t)(seconds * hz);
	uint64_t t_reset = 0, now = rte_get_tsc_cycles();
	for (; now < t_end; now = rte_get_tsc_cycles()) {
		if (!t_reset && now >= t_count) {
			reset();
			busy = stalls = 0;
			t_reset = now;
		}
		uint16_t seen = 0;
		uint64_t cpu0 = kernel_ports ? cpu_cycles() : 0;
		if (resend) { /* the latest stamping window began at count_from */
			count_from = t_start + (now - t_start) / every * every;
			clear_counted = now - count_from >= stamping;
		}
		for (uint16_t p = first; p < end; p++) {
			uint16_t r = receive(p, rx, NULL);
			seen += r;
			if (resend) {
				resend_burst(rx, r, clear_counted ? 0 : now);
				continue;
			}
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
		uint64_t took = rte_get_tsc_cycles() - now;
		bool stalled = took >= round_max && (!seen || (usual && took > 16 * usual));
		if (seen && !stalled)
			usual = usual ? usual - usual / 16 + took / 16 : took;
		if (seen && kernel_ports)
			busy += cpu_cycles() - cpu0;
		else if (seen && !stalled)
			busy += took;
		stalls += stalled;
		if (yield && !seen)
			sched_yield();
	}
	count_from = 0;
	clear_counted = false;
	memcpy(offered, sent, sizeof(offered));
	uint64_t n = 0;
	for (uint16_t p = 0; p < nports; p++)
		n += got[p];
	/* what is still going round, not counted as received: with no loss, every frame
	 * injected (over all generators of the loop, whose drains overlap) */
	uint64_t left = 0;
	drain(50, &left);
	char extra[200];
	snprintf(extra, sizeof(extra),
		 ", \"injected\": %u, \"in_flight_at_end\": %" PRIu64 ", \"cycles_per_frame\": %.1f"
		 ", \"stalls\": %" PRIu64, injected, left, n ? (double)busy / n : 0.0, stalls);
	answer("loop", 0, t_reset ? (double)(now - t_reset) / hz : 0, extra);
}

/* --forward: a guest that forwards (pvp): the kit's frames that port 2k receives leave by 2k+1
 * and the other way round, to the --dst of the port it leaves by, their send time kept (the
 * generator measures the whole trip), until SIGINT/SIGTERM; other frames are dropped. */
static void forward(void)
{
	struct rte_mbuf *rx[BURST];

	while (!stop) {
		uint16_t seen = 0;
		for (uint16_t p = 0; p < nports; p++) {
			struct rte_mbuf *fwd[BURST];
			uint16_t out = p ^ 1, r = rte_eth_rx_burst(p, 0, rx, BURST), n = 0;
			seen += r;
			for (uint16_t i = 0; i < r; i++) {
				struct rte_ether_hdr *eth = rte_pktmbuf_mtod(rx[i], struct rte_ether_hdr *);
				const struct payload *pl = (const struct payload *)(eth + 1);
				/* only the kit's frames: anything else (a kernel's IGMP report flooded
				 * by a bridge) sent on with new addresses would go round for ever */
				if (rx[i]->data_len < sizeof(*eth) + sizeof(*pl) || pl->magic != MAGIC ||
				    out >= nports) {
					rte_pktmbuf_free(rx[i]);
					continue;
				}
				/* new addresses; bytes 2-3 (the --macs counter) kept */
				uint8_t k2 = eth->dst_addr.addr_bytes[2], k3 = eth->dst_addr.addr_bytes[3];
				memcpy(eth, &hdr[out], 2 * RTE_ETHER_ADDR_LEN);
				eth->src_addr.addr_bytes[2] = eth->dst_addr.addr_bytes[2] = k2;
				eth->src_addr.addr_bytes[3] = eth->dst_addr.addr_bytes[3] = k3;
				fwd[n++] = rx[i];
			}
			uint16_t k = n ? rte_eth_tx_burst(out, 0, fwd, n) : 0;
			rte_pktmbuf_free_bulk(fwd + k, n - k);
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
	for (char *end; *s; s = *end ? end + 1 : end) {
		unsigned long v = strtoul(s, &end, 10);
		if (end == s || (*end && *end != ',') || v < 64 || v > 1518 || nsizes == MAX_SIZES)
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

static int parse_args(int argc, char **argv, bool *fwd)
{
	static const struct option lopts[] = {{"sizes", 1, 0, 's'}, {"dst", 1, 0, 'd'},
					      {"yield", 0, 0, 'y'}, {"forward", 0, 0, 'f'},
					      {"macs", 1, 0, 'm'}, {"resend", 0, 0, 'r'}, {0}};
	int opt;

	while ((opt = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (parse_sizes(optarg) != 0)
				return -1;
			break;
		case 'd':
			if (parse_dst(optarg) != 0)
				return -1;
			break;
		case 'm':
			if (atoi(optarg) < 1 || atoi(optarg) > 65536)
				return -1;
			nmacs = (unsigned)atoi(optarg);
			break;
		case 'y':
			yield = true;
			break;
		case 'r':
			resend = true;
			break;
		case 'f':
			*fwd = true;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	int n = rte_eal_init(argc, argv);
	bool fwd = false;
	char line[128];

	prctl(PR_SET_PDEATHSIG, SIGTERM); /* a benchmark killed outright takes us with it */
	if (n < 0) {
		fprintf(stderr, "trafgen: EAL init failed\n");
		return 1;
	}
	if (parse_args(argc - n, argv + n, &fwd) != 0) {
		fprintf(stderr, "trafgen: bad option (--sizes 64..1518[,..] (16 at most)|imix, "
				"--dst PORT=MAC, --macs 1..65536, --yield, --resend, --forward)\n");
		return 1;
	}
	nports = rte_eth_dev_count_avail();
	if (nports < 1 || nports > MAX_PORTS || (nsizes == 0 && !fwd)) {
		fprintf(stderr, "trafgen: need 1..%d ports (have %u) and --sizes\n", MAX_PORTS, nports);
		return 1;
	}
	hz = rte_get_tsc_hz();
	cyc_per_bin = hz / (1000000000 / BIN_NS);
	pool = rte_pktmbuf_pool_create("trafgen", 32767, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       rte_socket_id());
	if (!pool) {
		fprintf(stderr, "trafgen: no mbuf pool\n");
		return 1;
	}
	for (uint16_t p = 0; p < nports; p++) {
		if (bench_port_up(p, pool, RING) != 0) {
			fprintf(stderr, "trafgen: port %u does not start\n", p);
			return 1;
		}
		struct rte_eth_dev_info info;
		if (rte_eth_dev_info_get(p, &info) == 0 &&
		    strcmp(info.driver_name, "net_af_packet") == 0)
			kernel_ports = true;
		rte_eth_macaddr_get(p, &hdr[p].src_addr);
		hdr[p].ether_type = rte_cpu_to_be_16(ETHERTYPE);
	}
	memset(origin_port, 0xff, sizeof(origin_port));
	for (uint16_t p = 0; p < nports; p++) {
		uint8_t last = hdr[p].src_addr.addr_bytes[5];
		if (resend && (origin_port[last] != UINT16_MAX || nmacs > 1)) {
			fprintf(stderr, "trafgen: --resend needs one address per port, and ports whose "
					"addresses differ in the last byte\n");
			return 1;
		}
		origin_port[last] = p;
	}
	bench_wait_links(nports, 30, &stop);
	printf("{\"what\": \"ready\", \"ports\": %u}\n", nports);
	fflush(stdout);
	if (fwd) { /* stopped by a signal; commands on stdin are not read */
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		forward();
	}
	while (!fwd && fgets(line, sizeof(line), stdin)) {
		double a, b, w = 1;
		unsigned first = 0, count = nports;
		int k;
		if (sscanf(line, "trial %lf %lf", &a, &b) == 2 && isfinite(a) && isfinite(b) &&
		    a >= 0 && b > 0 && b < 3600)
			trial(a, b);
		else if ((k = sscanf(line, "loop %lf %lf %lf %u %u", &a, &b, &w, &first, &count)) >= 2 &&
			 k != 4 && isfinite(a) && isfinite(b) && isfinite(w) && a >= 1 &&
			 a <= 16384 && b > 0 && b < 3600 && w >= 0 && w < 60 && first < nports &&
			 count >= 1 && count <= nports - first)
			loop((unsigned)a, b, w, (uint16_t)first, (uint16_t)(first + count));
		else if (strncmp(line, "drain", 5) == 0) {
			uint64_t n = drain(50, NULL);
			printf("{\"what\": \"drained\", \"frames\": %" PRIu64
			       ", \"drain_capped\": %s}\n", n, drain_capped ? "true" : "false");
			fflush(stdout);
		} else if (strncmp(line, "quit", 4) == 0)
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
