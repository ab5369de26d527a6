/* rpc_priv.h: the RPC engine's internal structures, shared by its files only. */
#ifndef RPC_PRIV_H
#define RPC_PRIV_H

#include <errno.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include "rpc.h"
#include "rpc_wire.h"

extern int rpc_logtype;
#define RPC_LOG(level, fmt, ...) rte_log(RTE_LOG_##level, rpc_logtype, "rpc: " fmt "\n", ##__VA_ARGS__)

#define RPC_MAX_SESSIONS 128
#define RPC_BACKLOG 256	  /* requests waiting for a free slot, per session */
#define RPC_TXQ 256	  /* packets built and not yet taken by the transport */
#define RPC_HDR ((uint32_t)sizeof(struct rpc_hdr))
#define RPC_RTO_MAX_US 500000
#define RPC_SM_RETRY_US 100000 /* a handshake packet is sent again this often */

/* msgbuf priv_flags */
#define RPC_MB_BUSY 1u	 /* part of a pending request: the engine's until its continuation */
#define RPC_MB_ENGINE 2u /* a response the engine owns and frees */
#define RPC_MB_VIEW 4u	 /* points into a received packet (a single-packet request) */

/* The layer under the engine: UDP datagrams whose payload is an RPC packet. */
struct rpc_tp_ops {
	/* n buffers whose data starts where the RPC header goes, with headroom below it */
	int (*alloc)(void *ctx, struct rte_mbuf **m, unsigned int n);
	/* takes a prefix of m (the rest stays the caller's) */
	uint16_t (*tx)(void *ctx, struct rte_mbuf **m, uint16_t n, const struct rpc_addr *dst);
	/* receives: hands what arrived to rpc_input(); returns packets handled */
	unsigned int (*poll)(void *ctx);
	uint64_t (*now_us)(void *ctx);
	void (*idle)(void *ctx, unsigned int work);
	void (*close)(void *ctx);
};

struct rpc_pending {
	uint8_t req_type;
	struct rpc_msgbuf *req, *resp;
	rpc_cont cont;
	void *tag;
};

/* A client slot: one request in flight, its packets counted as rpc_wire.h numbers them. */
struct rpc_cslot {
	bool busy;
	uint64_t req_num;
	struct rpc_pending p;
	uint32_t n_req, n_resp; /* n_resp: 0 until response packet 0 says */
	uint32_t num_tx, num_rx;
	uint32_t karn_until; /* packets below this number were sent twice: no RTT sample */
	uint64_t progress_us;
	uint64_t tx_us[RPC_MAX_CREDITS];
};

struct rpc_req {
	struct rpc_session *s;
	struct rpc_sslot *slot;
	struct rpc_msgbuf view; /* the request as the handler sees it */
};

/* A server slot: the current request on this slot number and its kept response. */
struct rpc_sslot {
	bool seen;
	uint64_t req_num;
	uint8_t req_type;
	uint32_t n_req, req_size, num_rx;
	bool in_handler; /* the request is complete and has no response yet */
	struct rpc_msgbuf *req_mb; /* a multi-packet request being assembled */
	struct rpc_msgbuf *resp;   /* kept until the next request: duplicates are answered from it */
	struct rpc_msgbuf *pre_resp;
	struct rpc_req req;
};

struct rpc_session {
	uint16_t idx;
	enum rpc_session_state state;
	bool client;
	struct rpc_addr remote;
	uint16_t remote_sess;
	uint64_t token;
	unsigned int credits, inflight;
	uint64_t progress_us; /* handshake start, or the last packet that moved a request on */
	uint64_t sm_next_us;  /* next handshake (re)send */
	/* client */
	struct rpc_cslot c[RPC_WINDOW];
	uint64_t next_req_num[RPC_WINDOW];
	struct rpc_pending backlog[RPC_BACKLOG];
	unsigned int bl_head, bl_tail;
	/* congestion control and RTO (rpc_cc.c) */
	double srtt, rttvar, min_rtt, cwnd;
	double win_min;       /* the least RTT since win_start_us (0: none yet) */
	uint64_t last_cut_us, win_start_us;
	unsigned int backoff;
	/* server */
	struct rpc_sslot s[RPC_WINDOW];
};

struct rpc_txe {
	struct rte_mbuf *m;
	struct rpc_addr dst;
};

struct rpc {
	struct rpc_conf conf;
	const struct rpc_tp_ops *tp;
	void *tp_ctx;
	struct rpc_addr local;
	uint32_t pkt_payload; /* message bytes per packet */
	uint64_t now;	      /* the clock at the start of this loop iteration */
	uint64_t next_scan;
	struct {
		rpc_req_handler fn;
		void *ctx;
	} handlers[256];
	rpc_sm_handler sm_fn;
	void *sm_ctx;
	struct rpc_session *sess[RPC_MAX_SESSIONS];
	unsigned int ntx;
	struct rpc_txe txq[RPC_TXQ];
	uint64_t c[RPC_C_MAX];
};

/* rpc_core.c */
struct rpc *rpc_create_tp(const struct rpc_tp_ops *tp, void *ctx, const struct rpc_addr *local,
			  uint32_t udp_payload, const struct rpc_conf *conf);
void rpc_input(struct rpc *rpc, struct rte_mbuf **pkts, const struct rpc_addr *src, uint16_t n);
static inline uint32_t rpc_npkts(const struct rpc *rpc, uint32_t size)
{
	return size <= rpc->pkt_payload ? 1 : (size + rpc->pkt_payload - 1) / rpc->pkt_payload;
}
struct rpc_session *rpc_session_get(const struct rpc *rpc, int idx);
struct rpc_session *rpc_session_new(struct rpc *rpc);
void rpc_session_free(struct rpc *rpc, struct rpc_session *s);
void rpc_sm_event(struct rpc *rpc, struct rpc_session *s, enum rpc_sm_event ev, int err);

/* rpc_tx.c: a packet of kind for session s, with len bytes of data copied from data. */
int rpc_tx_pkt(struct rpc *rpc, const struct rpc_session *s, uint8_t kind, uint8_t req_type,
	       uint32_t msg_size, uint32_t pkt_num, uint64_t req_num, const void *data,
	       uint32_t len);
int rpc_tx_raw(struct rpc *rpc, const struct rpc_addr *dst, const struct rpc_hdr *h);
void rpc_tx_flush(struct rpc *rpc);

/* rpc_msgbuf.c */
void rpc_msgbuf_release(struct rpc *rpc, struct rpc_msgbuf *mb); /* whatever its flags */

/* rpc_sm.c: session management */
void rpc_sm_input(struct rpc *rpc, const struct rpc_hdr *h, const struct rpc_addr *src);
void rpc_sm_scan(struct rpc *rpc, struct rpc_session *s);

/* rpc_req.c: client side sending, server side request packets */
void rpc_kick(struct rpc *rpc, struct rpc_session *s);
void rpc_req_input(struct rpc *rpc, struct rpc_session *s, const struct rpc_hdr *h,
		   struct rte_mbuf *m);
/* rpc_cr.c */
void rpc_cr_input(struct rpc *rpc, struct rpc_session *s, const struct rpc_hdr *h);
/* rpc_resp.c: server sending responses (and on RFR), client receiving them */
void rpc_resp_send(struct rpc *rpc, struct rpc_session *s, struct rpc_sslot *slot, uint32_t k);
void rpc_rfr_input(struct rpc *rpc, struct rpc_session *s, const struct rpc_hdr *h);
void rpc_resp_input(struct rpc *rpc, struct rpc_session *s, const struct rpc_hdr *h,
		    const uint8_t *data, uint32_t len);
/* the client slot a CR or response is for, after the order checks; NULL: dropped, counted */
struct rpc_cslot *rpc_cslot_accept(struct rpc *rpc, struct rpc_session *s,
				   const struct rpc_hdr *h);
void rpc_cslot_complete(struct rpc *rpc, struct rpc_session *s, struct rpc_cslot *c, int err);

/* rpc_loss.c */
void rpc_loss_scan(struct rpc *rpc);
void rpc_session_fail(struct rpc *rpc, struct rpc_session *s, int err);

/* rpc_cc.c */
void rpc_cc_init(struct rpc *rpc, struct rpc_session *s);
void rpc_cc_sample(struct rpc *rpc, struct rpc_session *s, double rtt_us);
void rpc_cc_loss(struct rpc *rpc, struct rpc_session *s);
uint64_t rpc_cc_rto(const struct rpc *rpc, const struct rpc_session *s);
unsigned int rpc_cc_window(const struct rpc *rpc, const struct rpc_session *s);

#endif
