/* tsoflow: one TCP/IPv4 byte stream, without a TCP stack, over a virtio_user port: the sender
 * of large TCP frames a guest with TSO hands to its vhost backend, and the receiver that checks
 * what arrives. For vswd's offload tests and bench/tso.
 *
 *   tsoflow EAL... -- --tx --dst MAC [--size B] [--mss N] [--frames N | --seconds S]
 *                     [--gap US] [--offloads on|off] [--bad mss|len] [--ipv6] [--vlan VID]
 *   tsoflow EAL... -- --rx [--offloads on|off] [--expect BYTES] [--seconds S] [--ipv6]
 *                     [--mbufs N] [--vlan VID]
 *   tsoflow EAL... -- --duplex --dst MAC --sizes B,B,... --frames N --rounds R
 *                     [--offloads on|off] [--mtu N] [--mbufs N] [--seconds S]
 *                     [--configure-after MS] [--follow]
 *
 * Sender: frames of --size payload bytes (default 64000) from one stream; with offloads (the
 * default) as single TSO frames with the MSS (--mss, default 1448) for the peer to cut (or, if
 * --size is one MSS or less, with their checksum left to the peer), without as MSS-sized frames
 * with their checksums filled here; --gap sleeps between frames (a receiver sharing the core,
 * with no TCP to resend what its full ring refused). --bad sends frames with an impossible MSS
 * (8) or an IP length past the data. Receiver: checks each frame's IPv4 checksum, its TCP
 * checksum (unless the device says the data is valid and the sum partial) and every payload
 * byte against the stream's pattern, until --expect payload bytes or --seconds without one
 * once the stream has begun. --vlan: the sender tags its frames with VID in their data (a
 * guest on a trunk); the receiver takes only frames so tagged, and counts others as bad_vlan.
 * Duplex (vswd's feature matrix, tests/vswitch/test_virtio_features.py): two guests each send
 * R rounds of N frames to the other, whole frames of the --sizes (Ethernet bytes, cycled) with
 * no TSO, and check what the peer sends, frame lengths and order too. Each starts on SIGUSR1
 * (once the test saw both links up; one that came early waits for its port) and stays until
 * SIGTERM after printing (closing the port would drop what still sits in its ring).
 * --configure-after: print "probed" and wait MS ms before configuring the port. --follow: send
 * each round only once the peer's same round has arrived (the peer leads).
 * All modes print one JSON object. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#define BURST 32
#define ISN 1000u
#define MAX_SIZE 65000
#define L3LEN (opt.ipv6 ? sizeof(struct rte_ipv6_hdr) : sizeof(struct rte_ipv4_hdr))
#define HDRS (RTE_ETHER_HDR_LEN + L3LEN + sizeof(struct rte_tcp_hdr))
#define MAX_HDRS (RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv6_hdr) + sizeof(struct rte_tcp_hdr))

#define MAX_SIZES 16

static volatile bool stop, go;
static struct {
	bool tx, duplex, follow, offloads, ipv6;
	struct rte_ether_addr dst;
	unsigned size, mss, seconds, gap_us, mbufs, mtu, rounds, nsizes, settle_ms, vlan;
	unsigned sizes[MAX_SIZES];
	uint64_t frames, expect;
	const char *bad;
} opt = {.offloads = true, .size = 64000, .mss = 1448, .mbufs = 8191};

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		go = true;
	else
		stop = true;
}

static __rte_noreturn void die(const char *msg)
{
	fprintf(stderr, "tsoflow: %s\n", msg);
	exit(2);
}

/* The stream's bytes: byte o is o mod 251 (a prime period shows a byte out of place); the
 * bytes from offset o are pattern + o % 251. */
#define PERIOD 251
static uint8_t pattern[MAX_SIZE + PERIOD];

static void pattern_init(void)
{
	for (unsigned i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i % PERIOD);
}

/* --sizes: whole frames (Ethernet header to the end of the payload, no CRC), from the shortest
 * Ethernet frame (60: IPv4 and TCP headers and 6 bytes) to a 9600-byte MTU's frame */
static void parse_sizes(char *list)
{
	for (char *tok = strtok(list, ","); tok != NULL; tok = strtok(NULL, ",")) {
		unsigned long b = strtoul(tok, NULL, 0);

		if (opt.nsizes == MAX_SIZES || b < 60 || b > 9600 + RTE_ETHER_HDR_LEN)
			die("bad --sizes: up to 16 frame lengths, 60 to 9614 bytes");
		opt.sizes[opt.nsizes++] = (unsigned)b;
	}
}

static void parse(int argc, char **argv)
{
	static const struct option lo[] = {
		{"tx", 0, 0, 't'},     {"rx", 0, 0, 'r'},	{"dst", 1, 0, 'd'},
		{"size", 1, 0, 's'},   {"mss", 1, 0, 'm'},	{"frames", 1, 0, 'f'},
		{"seconds", 1, 0, 'S'}, {"offloads", 1, 0, 'o'}, {"bad", 1, 0, 'b'},
		{"expect", 1, 0, 'e'}, {"gap", 1, 0, 'g'}, {"ipv6", 0, 0, '6'},
		{"mbufs", 1, 0, 'M'}, {"duplex", 0, 0, 'D'}, {"sizes", 1, 0, 'z'},
		{"rounds", 1, 0, 'R'}, {"mtu", 1, 0, 'u'}, {"configure-after", 1, 0, 'A'},
		{"follow", 0, 0, 'F'}, {"vlan", 1, 0, 'V'}, {0, 0, 0, 0}};
	bool mode = false;
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 't': opt.tx = true, mode = true; break;
		case 'r': opt.tx = false, mode = true; break;
		case 'D': opt.duplex = true, mode = true; break;
		case 'z': parse_sizes(optarg); break;
		case 'R': opt.rounds = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'u': opt.mtu = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'A': opt.settle_ms = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'F': opt.follow = true; break;
		case 'V':
			opt.vlan = (unsigned)strtoul(optarg, NULL, 0);
			if (opt.vlan < 1 || opt.vlan > 4094)
				die("bad --vlan: 1 to 4094");
			break;
		case 'd':
			if (rte_ether_unformat_addr(optarg, &opt.dst) != 0)
				die("bad --dst: a MAC address");
			break;
		case 's': opt.size = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'm': opt.mss = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'f': opt.frames = strtoull(optarg, NULL, 0); break;
		case 'S': opt.seconds = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'e': opt.expect = strtoull(optarg, NULL, 0); break;
		case '6': opt.ipv6 = true; break;
		case 'M': opt.mbufs = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'g': opt.gap_us = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'o':
			if (strcmp(optarg, "on") != 0 && strcmp(optarg, "off") != 0)
				die("bad --offloads: on or off");
			opt.offloads = strcmp(optarg, "on") == 0;
			break;
		case 'b':
			if (strcmp(optarg, "mss") != 0 && strcmp(optarg, "len") != 0)
				die("bad --bad: mss or len");
			opt.bad = optarg;
			break;
		default: die("usage: tsoflow EAL... -- --tx --dst MAC [...] | --rx [...] | --duplex ...");
		}
	}
	if (!mode)
		die("--tx, --rx or --duplex");
	if (opt.duplex && (opt.nsizes == 0 || opt.frames == 0 || opt.rounds == 0 ||
			   rte_is_zero_ether_addr(&opt.dst)))
		die("--duplex needs --dst, --sizes, --frames (a round) and --rounds");
	if (opt.ipv6 && opt.nsizes)
		die("--sizes sends IPv4");
	if (opt.vlan && opt.duplex)
		die("--vlan is for --tx and --rx");
	if (opt.mtu != 0 && (opt.mtu < 68 || opt.mtu > 9600))
		die("--mtu 68 to 9600");
	if (opt.size < 1 || opt.size > MAX_SIZE || opt.mss < 8 || opt.mss > 9000)
		die("--size 1 to 65000, --mss 8 to 9000");
	if (opt.tx && opt.frames == 0 && opt.seconds == 0)
		die("--tx needs --frames or --seconds");
}

/* Whether a duplex guest takes frames in 2 KB pieces: the virtio driver can scatter only
 * with mergeable receive buffers (mrg_rxbuf, where the switch spreads a frame over several);
 * without them each receive buffer must hold a whole frame of the MTU. */
static bool rx_scatter(uint16_t port)
{
	struct rte_eth_dev_info info;

	return opt.duplex && rte_eth_dev_info_get(port, &info) == 0 &&
	       (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER);
}

/* The mbufs' data room. A TSO sender's hold a whole 64 KB frame; a duplex guest's without
 * scatter a frame of the MTU, with the VLAN tag and the virtio-net header (12 bytes) the
 * driver counts in, or the longest it sends; others' 2 KB or one MSS. */
static uint16_t data_room(bool tso, bool scatter)
{
	unsigned room = RTE_MAX((unsigned)RTE_MBUF_DEFAULT_DATAROOM, MAX_HDRS + opt.mss);

	if (tso)
		room = MAX_HDRS + MAX_SIZE;
	if (opt.duplex && !scatter) {
		room = (opt.mtu ? opt.mtu : RTE_ETHER_MTU) + RTE_ETHER_HDR_LEN + 4 + 12;
		for (unsigned i = 0; i < opt.nsizes; i++)
			room = RTE_MAX(room, opt.sizes[i]);
	}
	if (opt.duplex && scatter)
		room = RTE_MBUF_DEFAULT_DATAROOM;
	return (uint16_t)(RTE_PKTMBUF_HEADROOM + room);
}

static void port_init(uint16_t port, struct rte_mempool *pool, bool scatter)
{
	struct rte_eth_conf conf = {0};

	/* what the virtio driver negotiates follows what is asked: TSO and checksums on send,
	 * large frames (GUEST_TSO4) and partial checksums on receive */
	if (opt.offloads && opt.tx)
		conf.txmode.offloads = RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_MULTI_SEGS |
				       (opt.size > opt.mss ? RTE_ETH_TX_OFFLOAD_TCP_TSO : 0);
	if (opt.offloads && !opt.tx && !opt.duplex)
		conf.rxmode.offloads = RTE_ETH_RX_OFFLOAD_TCP_LRO | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
	if (opt.duplex) { /* checksums both ways (CSUM, GUEST_CSUM) or none; no TSO */
		if (opt.offloads) {
			conf.txmode.offloads = RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
			conf.rxmode.offloads = RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
		}
		/* a scattering guest sends its long frames as chains of 2 KB mbufs too */
		if (scatter) {
			conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
			conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
		}
		conf.rxmode.mtu = opt.mtu; /* 0: ethdev's 1500 */
	}
	/* as many descriptors as the ring has (virtio_user's queue_size) */
	if (rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(port, 0, 32768, rte_socket_id(), NULL, pool) != 0 ||
	    rte_eth_tx_queue_setup(port, 0, 32768, rte_socket_id(), NULL) != 0 ||
	    rte_eth_dev_start(port) != 0)
		die("cannot set up the port (does the switch offer these offloads?)");
}

/* The IP header of one frame carrying l4 bytes: IPv4 10.9.0.1 to .2, or IPv6 fd00::1 to ::2. */
static void ip_header(void *l3, unsigned l4, bool bad_len)
{
	if (opt.ipv6) {
		struct rte_ipv6_hdr *ip = l3;

		*ip = (struct rte_ipv6_hdr){.vtc_flow = RTE_BE32(6u << 28),
					    .payload_len = rte_cpu_to_be_16((uint16_t)l4),
					    .proto = IPPROTO_TCP, .hop_limits = 64,
					    .src_addr = {0xfd, [15] = 1}, .dst_addr = {0xfd, [15] = 2}};
		if (bad_len)
			ip->payload_len = rte_cpu_to_be_16((uint16_t)(l4 + 100)); /* past the data */
		return;
	}
	struct rte_ipv4_hdr *ip = l3;

	*ip = (struct rte_ipv4_hdr){.version_ihl = RTE_IPV4_VHL_DEF,
				    .total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4)),
				    .time_to_live = 64, .next_proto_id = IPPROTO_TCP,
				    .src_addr = RTE_BE32(RTE_IPV4(10, 9, 0, 1)),
				    .dst_addr = RTE_BE32(RTE_IPV4(10, 9, 0, 2))};
	if (bad_len)
		ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4 + 100));
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

/* len bytes from p at the end of m, in further mbufs of the pool where the last one is full */
static int put(struct rte_mempool *pool, struct rte_mbuf *m, const uint8_t *p, unsigned len)
{
	struct rte_mbuf *last = rte_pktmbuf_lastseg(m);

	while (len > 0) {
		unsigned k = RTE_MIN(len, (unsigned)rte_pktmbuf_tailroom(last));

		if (k == 0) {
			if ((last->next = rte_pktmbuf_alloc(pool)) == NULL)
				return -ENOMEM;
			last = last->next;
			m->nb_segs++;
			continue;
		}
		memcpy(rte_pktmbuf_mtod_offset(last, uint8_t *, last->data_len), p, k);
		last->data_len = (uint16_t)(last->data_len + k);
		m->pkt_len += k;
		p += k;
		len -= k;
	}
	return 0;
}

/* One frame: the headers, then len stream bytes from offset off; a chain where the pool's
 * mbufs are shorter than the frame. */
static struct rte_mbuf *make(struct rte_mempool *pool, const struct rte_ether_addr *src,
			     uint64_t off, unsigned len, bool tso)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	struct rte_ether_hdr *eth;
	struct rte_tcp_hdr *tcp;
	void *ip;

	if (m == NULL)
		return NULL;
	if ((eth = (void *)rte_pktmbuf_append(m, (uint16_t)HDRS)) == NULL)
		die("mbufs shorter than the headers");
	ip = eth + 1;
	tcp = (struct rte_tcp_hdr *)((char *)ip + L3LEN);
	*eth = (struct rte_ether_hdr){
		.src_addr = *src, .dst_addr = opt.dst,
		.ether_type = rte_cpu_to_be_16(opt.ipv6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4)};
	ip_header(ip, sizeof(*tcp) + len, opt.bad != NULL && strcmp(opt.bad, "len") == 0);
	*tcp = (struct rte_tcp_hdr){.src_port = RTE_BE16(5001), .dst_port = RTE_BE16(5002),
				    .sent_seq = rte_cpu_to_be_32((uint32_t)(ISN + off)),
				    .recv_ack = RTE_BE32(1), .data_off = 5 << 4,
				    .tcp_flags = RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG,
				    .rx_win = RTE_BE16(65535)};
	if (put(pool, m, pattern + off % PERIOD, len) != 0) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	m->l2_len = RTE_ETHER_HDR_LEN;
	m->l3_len = L3LEN;
	m->l4_len = sizeof(*tcp);
	if (tso) {
		/* the driver puts the pseudo-header sum in (rte_eth_tx_prepare) */
		m->ol_flags = (opt.ipv6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4) |
			      RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG;
		m->tso_segsz = opt.bad != NULL && strcmp(opt.bad, "mss") == 0 ? 8 : opt.mss;
	} else if (opt.offloads) { /* a frame of one MSS or less: checksum offload only */
		m->ol_flags = (opt.ipv6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4) |
			      RTE_MBUF_F_TX_TCP_CKSUM;
	} else {
		tcp->cksum = opt.ipv6 ? rte_ipv6_udptcp_cksum_mbuf(m, ip, RTE_ETHER_HDR_LEN + L3LEN)
				      : rte_ipv4_udptcp_cksum_mbuf(m, ip, RTE_ETHER_HDR_LEN + L3LEN);
	}
	if (opt.vlan) {
		m->vlan_tci = (uint16_t)opt.vlan;
		if (rte_vlan_insert(&m) != 0) /* l2_len grows by the tag */
			die("no room for the VLAN tag");
	}
	return m;
}

/* One frame's pieces, as many as a burst holds; a pool that runs dry waits for the driver to
 * give back what it sent. */
static unsigned pieces(struct rte_mempool *pool, const struct rte_ether_addr *src, uint64_t off,
		       unsigned from, unsigned unit, bool tso, struct rte_mbuf **pkts)
{
	unsigned n = 0;

	for (unsigned done = from; done < opt.size && n < BURST; done += unit) {
		struct rte_mbuf *m;

		while ((m = make(pool, src, off + done, RTE_MIN(unit, opt.size - done), tso)) == NULL)
			if (stop || rte_eth_tx_done_cleanup(0, 0, 0) < 0)
				die("out of mbufs");
		pkts[n++] = m;
	}
	return n;
}

static void run_tx(uint16_t port, struct rte_mempool *pool)
{
	struct rte_ether_addr src;
	struct rte_mbuf *pkts[BURST];
	uint64_t off = 0, sent = 0, frames = 0, hz = rte_get_tsc_hz(), t0 = rte_rdtsc();
	uint64_t end = opt.seconds ? t0 + opt.seconds * hz : UINT64_MAX;
	const bool tso = opt.offloads && opt.size > opt.mss;
	const unsigned unit = tso ? opt.size : RTE_MIN(opt.size, opt.mss);

	rte_eth_macaddr_get(port, &src);
	while (!stop && rte_rdtsc() < end && (opt.frames == 0 || frames < opt.frames)) {
		/* a whole --size frame each time: as TSO one frame, else MSS-sized pieces */
		for (unsigned from = 0; from < opt.size; from += BURST * unit) {
			unsigned n = pieces(pool, &src, off, from, unit, tso, pkts);

			if (rte_eth_tx_prepare(port, 0, pkts, (uint16_t)n) != n)
				die("the driver refused a frame's offloads");
			unsigned k = 0;

			/* a full ring waits for the switch; a signal ends the wait (a switch gone) */
			while (k < n && !stop)
				k += rte_eth_tx_burst(port, 0, pkts + k, (uint16_t)(n - k));
			if (k < n)
				rte_pktmbuf_free_bulk(pkts + k, n - k);
		}
		/* the sequence number wraps at 4 GB: start the stream over before a frame would
		 * straddle it, so that seq - ISN is the offset the receiver checks against */
		off = off + 2 * opt.size > UINT32_MAX ? 0 : off + opt.size;
		sent += opt.size;
		frames++;
		if (opt.gap_us)
			rte_delay_us_sleep(opt.gap_us);
	}
	double secs = (double)(rte_rdtsc() - t0) / (double)hz;

	/* the last frames may still sit in the ring, and closing the port drops them: give the
	 * switch time to take them (the driver cannot say when it has) */
	for (unsigned i = 0; i < 20 && !stop; i++)
		rte_delay_us_sleep(100000);
	printf("{\"frames\": %" PRIu64 ", \"payload_bytes\": %" PRIu64 ", \"seconds\": %.3f, "
	       "\"tso\": %s}\n",
	       frames, sent, secs, tso ? "true" : "false");
}

struct rx_tally {
	uint64_t frames, bytes, payload, large, partial, lro, bad_ip, bad_tcp, bad_data, max_len;
	uint64_t bad_len, out_of_order, other, bad_vlan, next;
};

/* A partial checksum (the sender's, passed on by the switch) must hold the pseudo-header sum
 * the receiver's offload would complete; a TSO frame's leaves the length out, skipped here. */
static bool partial_ok(const struct rte_mbuf *m, const void *ip, const struct rte_tcp_hdr *tcp)
{
	if (m->ol_flags & RTE_MBUF_F_RX_LRO)
		return true;
	return tcp->cksum == (opt.ipv6 ? rte_ipv6_phdr_cksum(ip, 0) : rte_ipv4_phdr_cksum(ip, 0));
}

/* The frame is as long as its IP header says: nothing cut off, nothing added. */
static bool length_ok(const struct rte_mbuf *m, const void *ip)
{
	unsigned l3 = opt.ipv6 ? sizeof(struct rte_ipv6_hdr) +
					 rte_be_to_cpu_16(((const struct rte_ipv6_hdr *)ip)->payload_len)
			       : rte_be_to_cpu_16(((const struct rte_ipv4_hdr *)ip)->total_length);

	return m->pkt_len == RTE_ETHER_HDR_LEN + l3;
}

/* With --vlan: whether m came tagged with it; the tag is taken off. */
static bool vlan_ok(struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_vlan_hdr *vh = (const void *)(eth + 1);

	return m->data_len >= RTE_ETHER_HDR_LEN + sizeof(*vh) &&
	       eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_VLAN) &&
	       (rte_be_to_cpu_16(vh->vlan_tci) & 0xfff) == opt.vlan && rte_vlan_strip(m) == 0;
}

static void check(struct rte_mbuf *m, struct rx_tally *t)
{
	uint8_t buf[MAX_HDRS];
	const struct rte_ether_hdr *eth = rte_pktmbuf_read(m, 0, HDRS, buf);
	const void *ip = eth + 1;
	const struct rte_tcp_hdr *tcp = (const void *)((const char *)ip + L3LEN);
	const uint16_t type = opt.ipv6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4;
	const uint8_t proto = opt.ipv6 ? ((const struct rte_ipv6_hdr *)ip)->proto
				       : ((const struct rte_ipv4_hdr *)ip)->next_proto_id;
	uint64_t off;
	unsigned len, hlen = HDRS;
	struct rte_mbuf *s;

	if (eth == NULL || m->pkt_len < HDRS || eth->ether_type != rte_cpu_to_be_16(type) ||
	    proto != IPPROTO_TCP || tcp->dst_port != RTE_BE16(5002)) {
		t->other++; /* not the stream (the switch floods what it does not know) */
		return;
	}
	t->frames++;
	t->bytes += m->pkt_len;
	t->max_len = RTE_MAX(t->max_len, (uint64_t)m->pkt_len);
	if (!opt.ipv6 && rte_ipv4_cksum(ip) != 0)
		t->bad_ip++;
	if (!length_ok(m, ip))
		t->bad_len++;
	if (m->ol_flags & RTE_MBUF_F_RX_LRO)
		t->lro++;
	if ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_NONE) {
		t->partial++; /* data valid, checksum left to the receiver's offload */
		if (!partial_ok(m, ip, tcp))
			t->bad_tcp++;
	} else if ((opt.ipv6 ? rte_ipv6_udptcp_cksum_mbuf_verify(m, ip, RTE_ETHER_HDR_LEN + L3LEN)
			     : rte_ipv4_udptcp_cksum_mbuf_verify(m, ip, RTE_ETHER_HDR_LEN + L3LEN)) != 0) {
		t->bad_tcp++;
	}
	off = (uint32_t)(rte_be_to_cpu_32(tcp->sent_seq) - ISN);
	len = m->pkt_len - HDRS;
	/* one sender, one switch queue: frames come in order (offset 0: the sender started over
	 * before the 4 GB wrap) */
	if (off != t->next && off != 0)
		t->out_of_order++;
	t->next = off + len;
	t->payload += len;
	if (len > opt.mss)
		t->large++;
	/* every payload byte, across the chain */
	for (s = m; s != NULL; s = s->next) {
		const uint8_t *p = rte_pktmbuf_mtod(s, const uint8_t *);
		unsigned skip = RTE_MIN(hlen, s->data_len), k = s->data_len - skip;

		if (k > MAX_SIZE || memcmp(p + skip, pattern + off % PERIOD, k) != 0) {
			t->bad_data++;
			return;
		}
		off += k;
		hlen -= skip;
	}
}

/* One receive burst, each frame checked; how many came. */
static uint16_t receive(uint16_t port, struct rx_tally *t)
{
	struct rte_mbuf *pkts[BURST];
	uint16_t n = rte_eth_rx_burst(port, 0, pkts, BURST);

	for (uint16_t i = 0; i < n; i++) {
		if (opt.vlan && !vlan_ok(pkts[i]))
			t->bad_vlan++;
		else
			check(pkts[i], t);
	}
	if (n > 0)
		rte_pktmbuf_free_bulk(pkts, n);
	return n;
}

/* The receiver's JSON object, less its closing brace (duplex adds what it sent). */
static void print_tally(const struct rx_tally *t, double secs)
{
	printf("{\"frames\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"payload_bytes\": %" PRIu64
	       ", \"large\": %" PRIu64 ", \"lro\": %" PRIu64 ", \"partial_csum\": %" PRIu64
	       ", \"bad_ip_csum\": %" PRIu64 ", \"bad_tcp_csum\": %" PRIu64 ", \"bad_data\": %" PRIu64
	       ", \"bad_len\": %" PRIu64 ", \"out_of_order\": %" PRIu64 ", \"other\": %" PRIu64
	       ", \"bad_vlan\": %" PRIu64 ", \"max_len\": %" PRIu64
	       ", \"seconds\": %.3f, \"gbps\": %.3f",
	       t->frames, t->bytes, t->payload, t->large, t->lro, t->partial, t->bad_ip, t->bad_tcp,
	       t->bad_data, t->bad_len, t->out_of_order, t->other, t->bad_vlan, t->max_len, secs,
	       secs > 0 ? (double)t->payload * 8 / secs / 1e9 : 0.0);
}

static void run_rx(uint16_t port)
{
	struct rx_tally t = {0};
	uint64_t hz = rte_get_tsc_hz(), t0 = 0, last = rte_rdtsc();
	const uint64_t idle = (opt.seconds ? opt.seconds : 10) * hz, first = 120 * hz;

	printf("ready\n"); /* the port is up: the sender may start */
	fflush(stdout);
	/* --seconds without a frame ends it, once the stream has started (before: 2 minutes) */
	while (!stop && (opt.expect == 0 || t.payload < opt.expect) &&
	       rte_rdtsc() - last < (t0 ? idle : first)) {
		if (receive(port, &t) == 0)
			continue;
		last = rte_rdtsc();
		if (t0 == 0)
			t0 = last;
	}
	print_tally(&t, t0 ? (double)(last - t0) / (double)hz : 0);
	printf("}\n");
}

/* Duplex: frame i of every round is --sizes[i % n] bytes long, so that a round's payload is
 * known to both sides. */
static unsigned frame_len(uint64_t i)
{
	return opt.sizes[i % opt.frames % opt.nsizes];
}

static uint64_t round_payload(void)
{
	uint64_t sum = 0;

	for (uint64_t i = 0; i < opt.frames; i++)
		sum += frame_len(i) - HDRS;
	return sum;
}

/* Both guests run this with the same options. A round goes once the peer's previous round
 * has arrived whole, so a receive ring never holds more than two of the peer's rounds: no
 * frame is lost however late a guest that shares its CPU polls, if a round fills at most
 * half the ring, and the rings still wrap round many times. */
static void run_duplex(uint16_t port, struct rte_mempool *pool)
{
	struct rte_ether_addr src;
	struct rte_mbuf *out[BURST];
	struct rx_tally t = {0};
	const uint64_t total = opt.rounds * opt.frames, round = round_payload();
	uint64_t sent = 0, sent_bytes = 0, off = 0, hz = rte_get_tsc_hz(), t0 = 0;
	uint64_t last = rte_rdtsc(), idle = (opt.seconds ? opt.seconds : 10) * hz, nap = 0;
	unsigned n = 0, k = 0;

	rte_eth_macaddr_get(port, &src);
	printf("ready\n");
	fflush(stdout);
	while (!stop && (sent < total || t.payload < opt.rounds * round) &&
	       rte_rdtsc() - last < (t0 ? idle : 120 * hz)) {
		uint64_t may = go ? RTE_MIN(total, (t.payload / round + !opt.follow) * opt.frames) : 0;
		bool busy = false;

		if (k == n && sent < may) { /* the next frames, within what the peer allows */
			for (n = k = 0; n < BURST && sent + n < may; n++) {
				unsigned len = frame_len(sent + n) - HDRS;

				if ((out[n] = make(pool, &src, off, len, false)) == NULL)
					die("out of mbufs");
				off += len;
			}
			if (rte_eth_tx_prepare(port, 0, out, (uint16_t)n) != n)
				die("the driver refused a frame's offloads");
		}
		if (k < n) {
			uint16_t m = rte_eth_tx_burst(port, 0, out + k, (uint16_t)(n - k));

			for (uint16_t i = 0; i < m; i++)
				sent_bytes += frame_len(sent + i);
			sent += m, k += m, busy = m > 0;
		}
		if (receive(port, &t) > 0) {
			last = rte_rdtsc(), busy = true;
			t0 = t0 ? t0 : last;
		}
		/* the peer and vswd may share this CPU: an idle guest lets them run */
		nap = busy ? 0 : RTE_MIN(nap + 1, 100u);
		if (nap > 0)
			rte_delay_us_sleep((unsigned)nap);
	}
	if (k < n)
		rte_pktmbuf_free_bulk(out + k, n - k);
	/* a frame too many would come now */
	for (uint64_t end = rte_rdtsc() + hz / 5; !stop && rte_rdtsc() < end;)
		if (receive(port, &t) == 0)
			rte_delay_us_sleep(100);
	print_tally(&t, t0 ? (double)(last - t0) / (double)hz : 0);
	printf(", \"sent_frames\": %" PRIu64 ", \"sent_bytes\": %" PRIu64 "}\n", sent, sent_bytes);
	fflush(stdout);
	/* the peer may still be taking our last frames from the ring, which closing would drop */
	while (!stop)
		rte_delay_us_sleep(10000);
}

int main(int argc, char **argv)
{
	struct rte_mempool *pool, *txpool;
	bool tso, scatter;
	int n = rte_eal_init(argc, argv);

	if (n < 0)
		die("cannot start the EAL");
	parse(argc - n, argv + n);
	pattern_init();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (rte_eth_dev_count_avail() < 1)
		die("no port: give a --vdev net_virtio_user0,path=...");
	signal(SIGUSR1, on_signal);
	if (opt.settle_ms) {
		/* an application that sets other things up before its port: the driver has come
		 * up with its default features (no offloads) and renegotiates on configure */
		printf("probed\n");
		fflush(stdout);
		rte_delay_us_sleep(opt.settle_ms * 1000u);
	}
	/* The driver frees what it sent only once most of its ring is used: room for a ring and
	 * more (a duplex guest's sender takes its own pool of --mbufs). */
	scatter = rx_scatter(0);
	tso = opt.tx && opt.offloads && opt.size > opt.mss;
	pool = rte_pktmbuf_pool_create("tsoflow", opt.tx ? 2047 : opt.mbufs, 256, 0,
				       data_room(tso, scatter), (int)rte_socket_id());
	txpool = !opt.duplex ? pool
			     : rte_pktmbuf_pool_create("tsoflow_tx", opt.mbufs, 256, 0,
						       data_room(false, scatter), (int)rte_socket_id());
	if (pool == NULL || txpool == NULL)
		die("cannot make the mbuf pool");
	port_init(0, pool, scatter);
	if (opt.duplex)
		run_duplex(0, txpool);
	else if (opt.tx)
		run_tx(0, pool);
	else
		run_rx(0);
	fflush(stdout);
	rte_eth_dev_stop(0);
	rte_eth_dev_close(0);
	rte_eal_cleanup();
	return 0;
}
