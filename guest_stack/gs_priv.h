/* gs_priv.h: libgstack's internal structures, shared by its files only (apps use gstack.h). */
#ifndef GS_PRIV_H
#define GS_PRIV_H

#include <errno.h>
#include <rte_common.h>
#include <rte_log.h>
#include <rte_ring.h>
#include <rte_ip.h>
#include "gstack.h"

extern int gs_logtype;
#define GS_LOG(level, fmt, ...)                                                                    \
	rte_log(RTE_LOG_##level, gs_logtype, "gstack: " fmt "\n", ##__VA_ARGS__)

#define GS_MAX_WORKERS 16
#define GS_MAX_SOCKS 16
#define GS_SOCK_QLEN 1024 /* power of two */
#define GS_REPLY_QLEN 64  /* power of two */
#define GS_RSS_KEY_LEN 40
#define GS_RETA_SIZE 128
#define GS_TXBUF (2 * GS_BURST)
#define GS_ANNOUNCE 3		       /* gratuitous ARPs at start, ... */
#define GS_ANNOUNCE_GAP_US 500000      /* ... this far apart (the switch may still be busy) */

#define GS_CTR(cnt, name) ((cnt)[GS_C_##name]++)

/* The device and the clock under the stack.  The default drives the ethdev (gs_st.port) and the
 * TSC; the unit tests run the real stack on a fake device with a fake clock (gs_init_dev).  One
 * indirect call per burst, never per packet. */
struct gs_dev_ops {
	uint16_t (*rx)(void *ctx, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
	/* takes a prefix of pkts, as rte_eth_tx_burst */
	uint16_t (*tx)(void *ctx, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
	uint64_t (*now_us)(void *ctx);
	/* a fake device's offloads (RTE_ETH_TX_OFFLOAD_*, RTE_ETH_RX_OFFLOAD_*): none unless a
	 * test asks; an ethdev's come from rte_eth_dev_info */
	uint64_t tx_capa, rx_capa;
};
/* gs_init without an ethdev: creates the pool and the workers but sets up no port.  The device
 * has as many queues as needed; with mode != single and !soft_rss it is a hardware-RSS device
 * (a direct worker per queue; gs_udp_steer only fills the table, which the fake may read with
 * gs_rss_queue).  MAC: conf->mac when mac_set, else 02:00:00:00:00:01.  Internal: only tests
 * need another device, and every real one is an ethdev. */
int gs_init_dev(const struct gs_conf *conf, const struct gs_dev_ops *ops, void *ctx);

/* Idle back-off (backoff.c): spin a little, then sleep, doubling up to max_us. */
struct gs_backoff {
	uint32_t idle;
	uint32_t sleep_us;
	uint32_t max_us;
	bool busy;
};
void gs_backoff_init(struct gs_backoff *b, bool busy, uint32_t max_us);
void gs_backoff_step(struct gs_backoff *b, unsigned int work);
void gs_thread_prepare(void);

/* ARP cache (arp_cache.c): pure, time in microseconds, so it can be tested with a fake clock.
 * Linux's neighbour states, cut down: INCOMPLETE (broadcast requests, packets held), REACHABLE
 * (confirmed within the timeout), STALE (past it: the MAC is still used), PROBE (a STALE entry
 * in use: unicast requests, the MAC still used), FAILED (a hold-down after unanswered requests). */
#define GS_ARP_SIZE 64
#define GS_ARP_HOLD 4
#define GS_ARP_LOCK_US 1000000 /* Linux's locktime: the first answer wins for this long */
enum gs_arp_state {
	GS_ARP_FREE,
	GS_ARP_INCOMPLETE,
	GS_ARP_REACHABLE,
	GS_ARP_STALE,
	GS_ARP_PROBE,
	GS_ARP_FAILED
};
struct gs_arp_entry {
	uint32_t ip;
	uint8_t state;
	uint8_t tries;
	uint8_t nhold;
	struct rte_ether_addr mac;
	uint64_t deadline;
	uint64_t updated; /* the MAC was last set or confirmed (lock time) */
	uint64_t used;	  /* last lookup (eviction takes the least recently used) */
	void *hold[GS_ARP_HOLD];
};
struct gs_arp_ops {
	/* an ARP request: broadcast when mac is NULL, else a unicast probe to mac */
	void (*request)(void *ctx, uint32_t ip, const struct rte_ether_addr *mac);
	void (*send)(void *ctx, void *pkt, const struct rte_ether_addr *mac); /* held packet */
	void (*drop)(void *ctx, void *pkt, enum gs_ctr why);
};
struct gs_arp_cache {
	struct gs_arp_entry e[GS_ARP_SIZE];
	uint64_t timeout_us, retry_us;
	unsigned int max_tries;
	struct gs_arp_ops ops;
	void *ctx;
};
void gs_arp_cache_init(struct gs_arp_cache *c, uint64_t timeout_us, uint64_t retry_us,
		       unsigned int max_tries, const struct gs_arp_ops *ops, void *ctx);
/* 0 and *mac when known; -EAGAIN when pkt was held (or dropped) waiting; -EHOSTUNREACH. */
int gs_arp_resolve(struct gs_arp_cache *c, uint32_t ip, uint64_t now, void *pkt,
		   struct rte_ether_addr *mac);
/* ip is at mac: 0 when stored; -ENOENT when unknown and not created; -EBUSY when the entry
 * holds another MAC set less than GS_ARP_LOCK_US ago (kept). */
int gs_arp_learn(struct gs_arp_cache *c, uint32_t ip, const struct rte_ether_addr *mac,
		 uint64_t now, bool create);
void gs_arp_tick(struct gs_arp_cache *c, uint64_t now);
const struct gs_arp_entry *gs_arp_find(const struct gs_arp_cache *c, uint32_t ip);

/* Header checks (cksum.c): pure, return 0 or the counter of the drop cause. */
int gs_ipv4_check(const void *buf, uint32_t len, bool verify_cksum, uint16_t *l3len,
		  uint16_t *tot_len);
int gs_udp_check(const struct rte_ipv4_hdr *ip, const void *l4, uint32_t l4len, bool verify);
int gs_icmp_check(const void *l4, uint32_t l4len);
int gs_arp_check(const void *buf, uint32_t len);
uint16_t gs_icmp_cksum(const void *icmp, uint32_t len);
/* What the device's RX checksum flags leave to us. */
enum gs_rx_cksum { GS_RX_CKSUM_VALID, GS_RX_CKSUM_BAD, GS_RX_CKSUM_VERIFY };
enum gs_rx_cksum gs_rx_cksum_ip(uint64_t ol_flags);
enum gs_rx_cksum gs_rx_cksum_l4(uint64_t ol_flags);
bool gs_ipv4_src_invalid(uint32_t src, uint32_t self, uint32_t mask);

/* Software RSS (softrss.c). */
void gs_rss_init(bool symmetric);
uint16_t gs_rss_queue(const struct rte_mbuf *m, unsigned int nq); /* m starts at IP */
const uint8_t *gs_rss_key(bool symmetric); /* GS_RSS_KEY_LEN bytes, also given to the NIC */

struct gs_udp_sock {
	struct gs_worker *w;
	uint16_t port;
	bool used;
	gs_udp_rx_fn handler;
	void *handler_arg;
	bool no_cksum; /* send checksum 0 */
	uint32_t head, tail;
	struct rte_mbuf *q[GS_SOCK_QLEN];
};

struct gs_worker {
	unsigned int idx, lcore;
	uint16_t port, queue;
	bool direct; /* polls its own NIC queue (single mode, hardware RSS) */
	uint16_t rx_ask; /* how many frames the next poll of the device asks for (netif_rxtx.c) */
	struct rte_ring *rx_ring, *tx_ring;
	/* What other workers (or this one) hand to this worker, multi-producer: datagrams to our
	 * own address, and with hardware RSS the ARP that another worker's queue received. */
	struct rte_ring *in_ring;
	struct rte_mempool *pool;
	uint64_t c[GS_C_MAX];
	struct gs_backoff bo;
	struct gs_arp_cache arp;
	uint64_t next_tick;
	uint64_t announce_at; /* the next gratuitous ARP (worker 0), in us */
	unsigned int announced;
	uint16_t ntx;
	struct rte_mbuf *txbuf[GS_TXBUF];
	uint16_t nlo; /* datagrams to our own address, for the in_ring of their worker */
	struct rte_mbuf *lobuf[GS_TXBUF];
	bool icmp_listen;
	uint32_t rhead, rtail;
	struct gs_echo_reply replies[GS_REPLY_QLEN];
	unsigned int udp_for_handlers; /* queued since the last gs_udp_deliver */
	struct gs_tcp_wk *tcp;	       /* this worker's TCP, made on first use (tcp_table.c) */
	struct gs_udp_sock socks[GS_MAX_SOCKS];
} __rte_cache_aligned;

struct gs_disp {
	const char *role;
	unsigned int lcore;
	uint64_t c[GS_C_MAX];
	struct gs_backoff bo;
	unsigned int rr;
} __rte_cache_aligned;

struct gs_stack {
	struct gs_conf conf;
	uint16_t port;
	bool ethdev; /* on a real ethdev port (else a fake device, gs_init_dev) */
	bool up;
	struct gs_dev_ops dev;
	void *dev_ctx;
	struct rte_ether_addr mac;
	uint32_t ip, mask, ip_be;
	struct rte_mempool *pool;
	unsigned int nworkers, ndisp;
	bool hw_rss;
	uint64_t tx_ol; /* checksum offloads in use */
	bool tso, lro;	/* TCP segmentation offload on send, large (chained) frames on receive */
	unsigned int rx_lcore, tx_lcore;
	struct gs_worker *w[GS_MAX_WORKERS];
	struct gs_disp disp[2];
	volatile bool stop, disp_stop;
	uint64_t us_mult; /* microseconds per TSC cycle, times 2^32 */
	uint8_t steer_udp[65536]; /* UDP destination port -> worker + 1 (0: hash) */
};
extern struct gs_stack gs_st;

static inline bool gs_ipv4_is_frag(const struct rte_ipv4_hdr *ip)
{
	return (ip->fragment_offset &
		rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0;
}

static inline uint64_t gs_now_us(void)
{
	return gs_st.dev.now_us(gs_st.dev_ctx);
}

/* m->port of a datagram to our own address: it came from no device and its source (us) is
 * legitimate. */
#define GS_PORT_LOOP (RTE_MBUF_PORT_INVALID - 1)

/* Chains (chain.c): a large received frame is a chain of mbufs. */
struct rte_mbuf *gs_chain_adj(struct rte_mbuf *m, uint32_t len); /* the new head */
void gs_chain_trim(struct rte_mbuf *m, uint32_t len);
/* The first segment of *m as a single mbuf; *m becomes the rest (NULL at the end). */
struct rte_mbuf *gs_chain_pop(struct rte_mbuf **m);

/* netif internals. */
enum gs_cls { GS_CLS_DROP, GS_CLS_IP, GS_CLS_ARP };
int gs_l2_classify(struct rte_mbuf *m, uint64_t *cnt);
void gs_arp_input(struct gs_worker *w, struct rte_mbuf *m);
struct rte_arp_hdr;
int gs_arp_sender_check(const struct rte_ether_addr *eth_src, const struct rte_arp_hdr *a);
bool gs_arp_learnable(uint32_t sip);
void gs_arp_send(struct gs_worker *w, uint16_t op, uint32_t tip, const struct rte_ether_addr *tha,
		 uint16_t queue_direct);
void gs_eth_xmit(struct gs_worker *w, struct rte_mbuf *m, const struct rte_ether_addr *dst);
void gs_worker_tick(struct gs_worker *w);
uint16_t gs_tx_room(struct gs_worker *w);
int gs_disp_main(void *arg);
void gs_ipv4_fill(struct rte_mbuf *m, struct rte_ipv4_hdr *ip, rte_be32_t dst, uint8_t proto);
void gs_ipv4_input(struct gs_worker *w, struct rte_mbuf **pkts, uint16_t n);
void gs_icmp_input(struct gs_worker *w, struct rte_mbuf *m, struct rte_ipv4_hdr *ip);
void gs_udp_input(struct gs_worker *w, struct rte_mbuf *m, struct rte_ipv4_hdr *ip);
void gs_udp_deliver(struct gs_worker *w); /* to the sockets with a receive handler */
/* TCP (tcp_input.c): segments in; after a burst, the ACKs and data it made due, and timers. */
void gs_tcp_input(struct gs_worker *w, struct rte_mbuf *m, struct rte_ipv4_hdr *ip);
void gs_tcp_after_burst(struct gs_worker *w);
void gs_tcp_fini(struct gs_worker *w);
/* The worker the device (soft RSS or the NIC's RETA, same key) gives a flow from the peer. */
uint16_t gs_rss_queue_tuple(uint32_t sip, uint32_t dip, uint16_t sport, uint16_t dport,
			    unsigned int nq);

#endif
