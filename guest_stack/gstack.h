/* gstack.h: the public API of libgstack, the guest's kernel-bypass stack on DPDK.
 *
 * netif (Ethernet, ARP, software RSS over cores) -> ipv4 -> icmp, udp.  Everything works on
 * bursts of mbufs and never copies a payload.  State is per worker (one per lcore): a function
 * that takes a `struct gs_worker *` may only be called from that worker's lcore.
 * Functions return 0 (or a count) on success and a negative errno on failure.
 * Addresses and ports are in host byte order in this API.
 */
#ifndef GSTACK_H
#define GSTACK_H

#include <stdbool.h>
#include <stdint.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#define GS_BURST 32

enum gs_mode {
	GS_MODE_SINGLE, /* the application thread polls the NIC itself */
	GS_MODE_1KB,	/* one dispatcher thread does RX (soft RSS to per-core rings) and TX */
	GS_MODE_2KB,	/* an RX thread and a TX thread on two lcores */
};

struct gs_conf {
	const char *dev;	    /* ethdev name or devargs: "0000:00:04.0", "net_virtio_user0,path=S" */
	uint32_t ip;		    /* our address */
	uint8_t prefix;		    /* subnet prefix length */
	uint32_t gw;		    /* default gateway, 0 for none */
	struct rte_ether_addr mac;  /* used when mac_set */
	bool mac_set;
	enum gs_mode mode;
	bool busy_poll;		    /* disable the idle back-off */
	bool symmetric_rss;	    /* symmetric Toeplitz key: both directions of a flow on one core */
	bool soft_rss;		    /* use the dispatcher even if the device has enough queues */
	bool csum_offload;	    /* use the device's checksum offloads when it has them */
	bool no_tso;		    /* no TCP segmentation offload nor large receive, even when
				     * the device has them (they are used by default) */
	unsigned int ring_size;	    /* per-core RX/TX rings (0: 1024) */
	unsigned int nb_desc;	    /* NIC descriptors per queue (0: 1024) */
	unsigned int max_sleep_us;  /* idle back-off ceiling (0: 100) */
};

struct gs_worker;
struct gs_udp_sock;

struct gs_endpoint {
	uint32_t ip;
	uint16_t port;
};

/* Lifecycle: after rte_eal_init().  gs_run() starts the dispatcher threads (multi-core modes)
 * and calls fn on every worker lcore (worker 0 on the calling lcore); it returns when all fn
 * returned.  gs_stop() may be called from a signal handler. */
int gs_init(const struct gs_conf *conf);
typedef int (*gs_worker_fn)(struct gs_worker *w, void *arg);
int gs_run(gs_worker_fn fn, void *arg);
void gs_stop(void);
bool gs_running(void);
unsigned int gs_fini(void); /* returns the mbufs never given back: leaked */

unsigned int gs_worker_count(void);
uint16_t gs_port(void);
void gs_mac(struct rte_ether_addr *mac);
unsigned int gs_worker_index(const struct gs_worker *w);
uint32_t gs_ip(void);
uint16_t gs_mtu(void); /* the device's MTU: the largest IP packet */
/* TCP segments larger than the MSS go to the device whole (TSO), and come from it whole
 * (large receive): the device has the offload and gs_conf.no_tso is off. */
bool gs_tso(void);
bool gs_lro(void);
const char *gs_mode_name(enum gs_mode m);
int gs_mode_parse(const char *s, enum gs_mode *m);

/* EAL with defaults that just work for a tool: argv[0], then the tool's EAL arguments; adds
 * --vdev/-a for dev, --in-memory, --single-file-segments, -m 256, a file prefix of its own,
 * an --lcores map for `cores` (a list like "0-2"; NULL: "0").  Returns rte_eal_init()'s
 * result.  gs_eal_cleanup() also removes the runtime directory. */
int gs_eal_init(const char *prog, const char *dev, const char *cores, int argc, char **argv);
void gs_eal_cleanup(void);

/* netif: L3 packets for this host (ARP is handled inside; data starts at the IP header). */
uint16_t gs_rx_burst(struct gs_worker *w, struct rte_mbuf **pkts, uint16_t n);
/* Buffers whose data starts `hdr` bytes after room for the Ethernet header. */
int gs_tx_alloc(struct gs_worker *w, struct rte_mbuf **pkts, unsigned int n, uint16_t hdr);
/* Takes IP packets, adds the Ethernet header (ARP-resolved next hop) and queues them for the
 * NIC (or the worker's TX ring); those to our own address go back into the stack instead, to the
 * worker that would receive them from the NIC (the RSS hash or gs_udp_steer), never to the NIC.  Returns how many it took (those waiting for ARP, or dropped
 * and counted, included); the rest stay the caller's, untouched: the TX path is full (or a
 * packet has no headroom for the Ethernet header), retry or free. */
uint16_t gs_tx_burst(struct gs_worker *w, struct rte_mbuf **pkts, uint16_t n);
/* 0 when dst's next hop is in the ARP cache, else -EAGAIN (a request went out) or
 * -EHOSTUNREACH; lets a sender wait for ARP before it starts. */
int gs_neigh_resolve(struct gs_worker *w, uint32_t dst);
/* Sends what gs_tx_burst buffered (called by gs_poll). */
void gs_tx_flush(struct gs_worker *w);
/* The stack's clock in microseconds (the device's: a fake one in unit tests). */
uint64_t gs_time_us(void);
/* Idle back-off: call once per loop with the work done; sleeps when idle. */
void gs_idle(struct gs_worker *w, unsigned int work);

/* Protocols: receive a burst, answer ARP and ICMP echo, queue UDP to bound sockets.
 * Returns the number of packets handled. */
int gs_poll(struct gs_worker *w);

struct gs_udp_sock *gs_udp_bind(struct gs_worker *w, uint16_t port); /* port 0: any; NULL+errno */
void gs_udp_close(struct gs_udp_sock *s);
/* Zero copy: mbufs whose data is the UDP payload; the caller frees or reuses them. */
uint16_t gs_udp_recv(struct gs_udp_sock *s, struct rte_mbuf **pkts, uint16_t n);
int gs_udp_peer(const struct rte_mbuf *m, struct gs_endpoint *src, struct gs_endpoint *dst);
/* Payload buffers for sending (data = payload, headroom for the headers). */
int gs_udp_alloc(struct gs_worker *w, struct rte_mbuf **pkts, unsigned int n);
/* Both return how many they took, like gs_tx_burst; the rest are the caller's as it gave them
 * (also a buffer without headroom for the headers).  udp_tx counts datagrams that entered the
 * TX path: one held for ARP when it goes, one dropped never. */
uint16_t gs_udp_sendto(struct gs_udp_sock *s, struct rte_mbuf **pkts, uint16_t n,
		       const struct gs_endpoint *dst);
/* Receive handler: called inside gs_poll with bursts of what arrived for s (as gs_udp_recv would
 * return them; the handler owns them), instead of leaving them queued.  NULL: queue again. */
typedef void (*gs_udp_rx_fn)(struct gs_udp_sock *s, struct rte_mbuf **pkts, uint16_t n,
			     void *arg);
void gs_udp_set_handler(struct gs_udp_sock *s, gs_udp_rx_fn fn, void *arg);
/* Checksums on what s sends (default on).  Off sends 0, "no checksum" in IPv4 (Linux's
 * SO_NO_CHECK): for protocols whose paths are memory copies or CRC-protected links, as eRPC's. */
void gs_udp_set_cksum(struct gs_udp_sock *s, bool on);
/* Every datagram to UDP port `port` goes to worker `worker` whatever its source: in soft RSS the
 * dispatcher looks the port up before hashing; with hardware RSS an rte_flow rule does it
 * (-ENOTSUP when the device has none).  Call before gs_run. */
int gs_udp_steer(uint16_t port, unsigned int worker);
/* Sends received mbufs back to where they came from, payload as it is now. */
uint16_t gs_udp_reply(struct gs_udp_sock *s, struct rte_mbuf **pkts, uint16_t n);

/* ICMP echo: requests are answered by gs_poll; replies are kept for gs_icmp_recv_reply once
 * gs_icmp_listen was called on that worker. */
int gs_icmp_echo_send(struct gs_worker *w, uint32_t dst, uint16_t id, uint16_t seq,
		      const void *data, uint16_t len);
void gs_icmp_listen(struct gs_worker *w);
struct gs_echo_reply {
	uint32_t src;
	uint16_t id, seq;
	uint64_t data; /* first 8 bytes of the payload */
};
int gs_icmp_recv_reply(struct gs_worker *w, struct gs_echo_reply *r);

/* TCP (tcp_*.c), in mTCP's spirit: a connection lives on one worker (the one RSS delivers its
 * packets to; an active open picks a source port whose return flow hashes to the opening worker),
 * so nothing is locked.  A socket-like API with a per-worker event loop (gs_tcp_wait, like
 * epoll).  NewReno congestion control.  Sockets belong to the worker that made them. */
struct gs_tcp_sock;
struct gs_tcp_conf {
	unsigned int max_socks;	    /* connections and listeners per worker (0: 1024) */
	uint32_t sndbuf;	    /* send buffer bytes, a power of two (0: 256 KiB) */
	uint32_t rcvbuf;	    /* receive window bytes (0: 256 KiB) */
	uint32_t time_wait_us;	    /* TIME_WAIT, 2 MSL (0: 60 s) */
	unsigned int max_time_wait; /* bound: beyond it the oldest goes (0: max_socks / 2) */
	uint32_t min_rto_us;	    /* RTO floor (0: 200 ms, as Linux) */
};
/* Before gs_run; NULL fields (0) take the defaults.  -EINVAL on a bad value. */
int gs_tcp_configure(const struct gs_tcp_conf *c);
#define GS_TCP_EV_IN 0x01	 /* data to read, a connection to accept, or EOF */
#define GS_TCP_EV_OUT 0x02	 /* room in the send buffer */
#define GS_TCP_EV_CONNECTED 0x04 /* the handshake completed */
#define GS_TCP_EV_HUP 0x08	 /* the peer sent FIN: reads return 0 once drained */
#define GS_TCP_EV_ERR 0x10	 /* reset, refused or timed out: gs_tcp_error() says which */
struct gs_tcp_event {
	struct gs_tcp_sock *s;
	uint32_t events;
	void *user;
};
struct gs_tcp_sock *gs_tcp_listen(struct gs_worker *w, uint16_t port, unsigned int backlog);
struct gs_tcp_sock *gs_tcp_accept(struct gs_tcp_sock *l); /* NULL + errno EAGAIN: none */
/* Active open from this worker to dst: returns at once (SYN sent); EV_CONNECTED or EV_ERR. */
struct gs_tcp_sock *gs_tcp_connect(struct gs_worker *w, const struct gs_endpoint *dst);
/* Copies up to len bytes: > 0 read, 0 at EOF, -EAGAIN, or the connection's error. */
long gs_tcp_read(struct gs_tcp_sock *s, void *buf, size_t len);
/* Zero copy: mbufs whose data is the next in-order payload (the caller frees them); 0: none. */
uint16_t gs_tcp_recv(struct gs_tcp_sock *s, struct rte_mbuf **pkts, uint16_t n);
/* Copies into the send buffer: bytes taken (maybe fewer than len), -EAGAIN when full, -EPIPE
 * after shutdown, or the connection's error. */
long gs_tcp_write(struct gs_tcp_sock *s, const void *buf, size_t len);
int gs_tcp_shutdown(struct gs_tcp_sock *s); /* no more writes: FIN after the data (half-close) */
/* Gives the socket up: FIN after the data (RST when received data is left unread, RFC 2525);
 * the stack finishes the close on its own.  A listener resets its pending connections. */
void gs_tcp_close(struct gs_tcp_sock *s);
void gs_tcp_abort(struct gs_tcp_sock *s); /* RST and gone */
/* Sockets of this worker with events since the last call (EV_* bits). */
unsigned int gs_tcp_wait(struct gs_worker *w, struct gs_tcp_event *ev, unsigned int max);
void gs_tcp_set_user(struct gs_tcp_sock *s, void *user);
/* Keepalive (RFC 1122 4.2.3.6), as Linux's SO_KEEPALIVE with TCP_KEEPIDLE, TCP_KEEPINTVL and
 * TCP_KEEPCNT: after idle_us without a segment from the peer, a probe every intvl_us; cnt
 * unanswered probes reset the connection (EV_ERR, -ETIMEDOUT).  idle_us 0 turns it off. */
int gs_tcp_set_keepalive(struct gs_tcp_sock *s, uint64_t idle_us, uint64_t intvl_us,
			 unsigned int cnt);
int gs_tcp_error(const struct gs_tcp_sock *s); /* 0 or -ECONNRESET, -ECONNREFUSED, -ETIMEDOUT */
int gs_tcp_peer(const struct gs_tcp_sock *s, struct gs_endpoint *peer, struct gs_endpoint *self);
const char *gs_tcp_state_name(const struct gs_tcp_sock *s);
struct gs_tcp_info {
	const char *state;
	uint32_t snd_una, snd_nxt, snd_max, snd_wnd, cwnd, ssthresh, sbuf_len;
	uint32_t rcv_nxt, rcv_wnd, rx_bytes, ooo;
	uint16_t mss;
	uint8_t snd_wscale, rcv_wscale;
	uint64_t srtt_us, rto_us, rto_in_us; /* rto_in_us: when the timer fires (0: off) */
};
int gs_tcp_info(const struct gs_tcp_sock *s, struct gs_tcp_info *i);
/* Calls fn for every connection of this worker that is in the table (debugging, tools). */
void gs_tcp_foreach(struct gs_worker *w, void (*fn)(const struct gs_tcp_sock *, void *),
		    void *arg);
/* Connections of this worker in the table (TIME_WAIT included), and those in TIME_WAIT. */
unsigned int gs_tcp_conns(struct gs_worker *w, unsigned int *time_wait);

/* Counters: every drop has one. */
#define GS_COUNTERS(X)                                                                             \
	X(rx_pkts) X(rx_ip) X(rx_arp) X(tx_pkts) X(rx_not_for_us) X(rx_malformed) X(rx_bad_cksum)  \
	X(rx_bad_src)                                                                              \
	X(rx_frag) X(rx_ip_options) X(rx_unknown_proto) X(rx_unknown_ethertype) X(rx_ring_full)    \
	X(rx_icmp_other) X(udp_no_socket) X(udp_sock_full) X(udp_rx) X(udp_tx) X(icmp_echo_rx)     \
	X(icmp_echo_tx) X(icmp_reply_rx) X(icmp_reply_full) X(arp_request_rx) X(arp_reply_rx)      \
	X(arp_reply_tx) X(arp_request_tx) X(arp_other_host) X(arp_malformed) X(arp_hold_drop)      \
	X(arp_unresolved) X(arp_bad_sender) X(arp_locked) X(no_route) X(no_mbuf) X(tx_ring_full)    \
	X(tx_nic_full) X(tx_loopback) X(rx_loopback)                                             \
	X(tcp_rx) X(tcp_tx) X(tcp_rexmit) X(tcp_rto) X(tcp_fast_rexmit) X(tcp_sack_rexmit)         \
	X(tcp_conn_open) X(tcp_conn_accept) X(tcp_conn_close) X(tcp_rst_rx) X(tcp_rst_tx)          \
	X(tcp_dup_data) X(tcp_ooo) X(tcp_challenge_ack) X(tcp_zwp) X(tcp_tw_recycled)              \
	X(tcp_keepalive) X(tcp_no_socket) X(tcp_bad_opt) X(tcp_out_of_window) X(tcp_bad_ack)       \
	X(tcp_rst_bad) X(tcp_syn_bad) X(tcp_no_ack) X(tcp_backlog_full) X(tcp_table_full)          \
	X(tcp_ooo_full) X(tcp_rcv_full) X(tcp_bad_flags) X(tcp_closed_data) X(tcp_ka_timeout)      \
	X(tcp_paws) X(tcp_fw2_timeout) X(tcp_tso_tx) X(tcp_lro_rx)
#define GS_CTR_ENUM(n) GS_C_##n,
enum gs_ctr { GS_COUNTERS(GS_CTR_ENUM) GS_C_MAX };
const char *gs_ctr_name(enum gs_ctr c);
bool gs_ctr_is_drop(enum gs_ctr c);
/* Per-role counter snapshots: index 0..workers-1 are the workers, then the dispatcher(s). */
unsigned int gs_stats_sources(void);
int gs_stats_get(unsigned int src, uint64_t ctr[GS_C_MAX], const char **role, unsigned int *lcore);
void gs_stats_total(uint64_t ctr[GS_C_MAX]);

/* Helpers that need no EAL (also used by the unit tests). */
uint32_t gs_softrss(uint32_t sip, uint32_t dip, uint16_t sport, uint16_t dport, bool l4,
		    bool symmetric);
int gs_parse_ipv4(const char *s, uint32_t *ip, uint8_t *prefix); /* "a.b.c.d[/n]" */

#endif
