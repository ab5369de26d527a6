/* rpc.h: the RPC engine of vswkit, eRPC's protocol over the guest stack's UDP.
 *
 * One endpoint (`struct rpc`) per worker thread, used only by that thread.  A client opens a
 * session to a remote endpoint (the handshake travels on the data path, addresses by ARP),
 * enqueues requests with a continuation, and runs the event loop; a server registers a handler
 * per request type and answers from it (or later, from the same thread).  Messages of up to
 * RPC_MAX_MSG bytes are cut into MTU-sized packets; the client pulls multi-packet responses;
 * session credits bound the packets in flight; loss is repaired by a retransmission timeout and
 * go-back-N; a request is never run twice.  The wire format is in rpc_wire.h.
 *
 * Buffers: the engine copies a message into packets when it sends them (also when it sends them
 * again), so a request buffer is the application's again as soon as its continuation runs, and
 * nothing the TX path holds ever points into it.  A single-packet request reaches its handler
 * without a copy: its buffer points into the received packet and is valid until the handler
 * returns.  Functions return 0 (or a count) or a negative errno.
 */
#ifndef RPC_H
#define RPC_H

#include <stdbool.h>
#include <stdint.h>

#define RPC_MAX_MSG (8u << 20) /* bytes in one request or response */
#define RPC_WINDOW 8	       /* requests in flight per session */
#define RPC_MAX_CREDITS 64

struct rpc;
struct rpc_req;
struct gs_worker;

/* A message buffer in hugepage memory: `data` holds `size` bytes, at most `max_size`. */
struct rpc_msgbuf {
	uint8_t *data;
	uint32_t size;
	uint32_t max_size;
	uint32_t priv_flags; /* the engine's */
	void *priv;	     /* the engine's */
};

struct rpc_addr {
	uint32_t ip; /* host byte order */
	uint16_t port;
};

struct rpc_conf {
	uint16_t udp_port;	       /* this endpoint's UDP port (not 0) */
	unsigned int credits;	       /* packets in flight per session (0: 32, at most 64) */
	unsigned int rto_min_us;       /* retransmission timeout floor (0: 2000) */
	unsigned int session_timeout_ms; /* no progress this long: the session fails (0: 5000) */
	bool no_cc;		       /* congestion control off: the window is the credits */
	bool udp_cksum;		       /* UDP checksums on (default off, as eRPC: see rpc_tp_gs.c) */
};

/* Session events, to the handler set with rpc_set_sm_handler. */
enum rpc_sm_event { RPC_SM_CONNECTED, RPC_SM_CONNECT_FAILED, RPC_SM_DISCONNECTED, RPC_SM_FAILED };
enum rpc_session_state {
	RPC_S_FREE,
	RPC_S_CONNECTING,
	RPC_S_CONNECTED,
	RPC_S_DISCONNECTING,
	RPC_S_FAILED,
	RPC_S_SERVER, /* the remote end opened it */
};

typedef void (*rpc_req_handler)(struct rpc *rpc, struct rpc_req *req, void *ctx);
/* err: 0, or -ETIMEDOUT (the session failed), -EMSGSIZE (the response did not fit), -ECONNRESET
 * (the session was disconnected); on 0 the response buffer holds the response. */
typedef void (*rpc_cont)(struct rpc *rpc, void *tag, int err);
typedef void (*rpc_sm_handler)(struct rpc *rpc, int session, enum rpc_sm_event ev, int err,
			       void *ctx);

/* An endpoint on a guest-stack worker: binds conf->udp_port there and steers it to the worker.
 * Call from that worker's thread; NULL and errno on failure. */
struct rpc *rpc_create_gs(struct gs_worker *w, const struct rpc_conf *conf);
void rpc_destroy(struct rpc *rpc); /* fails what is pending, frees what the engine owns */

int rpc_register_handler(struct rpc *rpc, uint8_t req_type, rpc_req_handler fn, void *ctx);
void rpc_set_sm_handler(struct rpc *rpc, rpc_sm_handler fn, void *ctx);

/* Opens a session; returns its number (RPC_SM_CONNECTED or _CONNECT_FAILED follows).  Requests
 * may be enqueued at once: they wait for the handshake. */
int rpc_connect(struct rpc *rpc, const struct rpc_addr *remote);
int rpc_disconnect(struct rpc *rpc, int session); /* pending requests fail with -ECONNRESET */
enum rpc_session_state rpc_session_state(const struct rpc *rpc, int session);

struct rpc_msgbuf *rpc_msgbuf_alloc(struct rpc *rpc, uint32_t max_size); /* NULL: errno */
/* -EBUSY while the buffer belongs to a pending request (it stays allocated). */
int rpc_msgbuf_free(struct rpc *rpc, struct rpc_msgbuf *mb);
int rpc_msgbuf_resize(struct rpc_msgbuf *mb, uint32_t size); /* -EINVAL past max_size */

/* Client: sends req (req->size bytes) to the session's endpoint, the response lands in resp;
 * both stay the engine's until cont(rpc, tag, err) runs.  -EAGAIN: the session's backlog is
 * full; -ENOTCONN: the session failed or is closed; -EMSGSIZE, -EINVAL: bad buffers. */
int rpc_enqueue_request(struct rpc *rpc, int session, uint8_t req_type, struct rpc_msgbuf *req,
			struct rpc_msgbuf *resp, rpc_cont cont, void *tag);

/* Server, in or after a handler: the request, and a response buffer of one packet's payload
 * the engine owns.  rpc_enqueue_response takes resp (the pre-allocated one or one from
 * rpc_msgbuf_alloc, which the engine frees when it is done with it). */
const struct rpc_msgbuf *rpc_req_msgbuf(const struct rpc_req *req);
uint8_t rpc_req_type(const struct rpc_req *req);
struct rpc_msgbuf *rpc_req_pre_resp(struct rpc_req *req);
int rpc_enqueue_response(struct rpc *rpc, struct rpc_req *req, struct rpc_msgbuf *resp);

/* Receives, runs handlers and continuations, retransmits, sends.  _once returns the packets
 * handled; rpc_run_event_loop runs for timeout_ms (idle back-off through the stack). */
unsigned int rpc_run_event_loop_once(struct rpc *rpc);
void rpc_run_event_loop(struct rpc *rpc, unsigned int timeout_ms);

/* The largest message payload in one packet. */
uint32_t rpc_pkt_payload(const struct rpc *rpc);

/* Counters: every dropped packet has one. */
#define RPC_COUNTERS(X)                                                                            \
	X(rx_pkts) X(tx_pkts) X(tx_full) X(no_mbuf) X(rx_short) X(rx_bad_magic) X(rx_bad_kind)      \
	X(rx_bad_size) X(rx_bad_pkt_num) X(rx_unknown_session) X(rx_stale) X(rx_out_of_order)       \
	X(rx_dup) X(rx_no_handler) X(req_sent) X(req_done) X(req_failed) X(req_handled)             \
	X(resp_too_big) X(retransmits) X(rto_events) X(cr_tx) X(rfr_tx) X(sm_tx) X(sm_rx)           \
	X(sessions_connected) X(sessions_failed) X(msgbufs_alive)
#define RPC_CTR_ENUM(n) RPC_C_##n,
enum rpc_ctr { RPC_COUNTERS(RPC_CTR_ENUM) RPC_C_MAX };
const char *rpc_ctr_name(enum rpc_ctr c);
void rpc_stats(const struct rpc *rpc, uint64_t ctr[RPC_C_MAX]);
/* The session's smoothed RTT and congestion window, for tools. */
int rpc_session_info(const struct rpc *rpc, int session, double *srtt_us, double *cwnd);

/* A loopback transport for tests: endpoints in one process on one thread, a fake clock, and
 * faults on the way (per mille of packets dropped, duplicated, delayed behind the next one) and
 * at the receiver, which takes its packets in order (a stalled one holds those behind it). */
struct rpc_loop_net;
struct rpc_loop_faults {
	unsigned int drop_pm, dup_pm, reorder_pm;
	uint32_t seed;
	bool drop_all;
	uint16_t port;         /* only packets sent to this UDP port (0: all) */
	uint32_t delay_us;     /* each packet arrives this long after it is sent */
	unsigned int stall_pm; /* per mille of packets the receiver takes stall_us late (a */
	uint32_t stall_us;     /* descheduled guest) */
	uint32_t gap_us;       /* the receiver takes packets at least this far apart (a queue) */
};
struct rpc_loop_net *rpc_loop_net_create(void); /* needs the EAL (an mbuf pool) */
void rpc_loop_net_destroy(struct rpc_loop_net *net);
void rpc_loop_set_faults(struct rpc_loop_net *net, const struct rpc_loop_faults *f);
void rpc_loop_advance(struct rpc_loop_net *net, uint64_t us); /* the fake clock */
uint64_t rpc_loop_now(const struct rpc_loop_net *net);
unsigned int rpc_loop_mbufs_in_use(const struct rpc_loop_net *net);
/* An endpoint at address ip:conf->udp_port on the loopback net. */
struct rpc *rpc_create_loop(struct rpc_loop_net *net, uint32_t ip, const struct rpc_conf *conf);

#endif
