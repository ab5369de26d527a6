/* tcp_priv.h: the TCP control block and the per-worker TCP state, shared by the tcp_*.c files
 * only.  As in mTCP, everything here belongs to one worker: a connection lives and dies on the
 * worker RSS delivers it to, so nothing is locked. */
#ifndef GS_TCP_PRIV_H
#define GS_TCP_PRIV_H

#include <rte_hash.h>
#include <rte_tcp.h>
#include "gs_priv.h"

#define GS_TCP_OOO_MAX 256
#define GS_TCP_SACKED_MAX 16	       /* SACKed ranges kept (the scoreboard) */	       /* out-of-order segments kept per connection */
#define GS_TCP_LISTENERS 16	       /* listening ports per worker */
#define GS_TCP_MIN_RTO_US 200000       /* Linux's floor (RFC 6298 says 1 s; 200 ms as Linux) */
#define GS_TCP_MAX_RTO_US 60000000     /* RFC 6298 2.5 */
#define GS_TCP_INIT_RTO_US 1000000     /* RFC 6298 2.1 */
#define GS_TCP_MAX_REXMIT 12	       /* then ETIMEDOUT */
#define GS_TCP_MAX_SYN_REXMIT 5
#define GS_TCP_WSCALE 7		       /* what we offer, as Linux */
#define GS_TCP_TICK_US 1000
#define GS_TCP_DELACK_US 40000       /* delayed ACK, as Linux's minimum (RFC 1122: < 500 ms) */

enum gs_tcp_state {
	GS_TCP_CLOSED,
	GS_TCP_LISTEN,
	GS_TCP_SYN_SENT,
	GS_TCP_SYN_RCVD,
	GS_TCP_ESTABLISHED,
	GS_TCP_FIN_WAIT_1,
	GS_TCP_FIN_WAIT_2,
	GS_TCP_CLOSE_WAIT,
	GS_TCP_CLOSING,
	GS_TCP_LAST_ACK,
	GS_TCP_TIME_WAIT,
};

/* Host byte order; 12 bytes, the rte_hash key (hashed by tcp_table.c's key_hash). */
struct gs_tcp_key {
	uint32_t rip, lip;
	uint16_t rport, lport;
};

/* An intrusive list link by pointer (a connection is on at most one list per link). */
struct gs_tcp_link {
	struct gs_tcp_sock *prev, *next;
};
struct gs_tcp_list {
	struct gs_tcp_sock *head, *tail;
	unsigned int n;
};

struct gs_tcp_ooo {
	uint32_t seq, len;
	bool fin;
	struct rte_mbuf *m;
};

struct gs_tcp_sock {
	struct gs_tcp_wk *tw;
	uint8_t state;
	bool used, hashed, user_closed, fin_rcvd, fin_queued;
	bool ws_ok, need_ack, on_ack_list, on_ready, on_timer, want_write;
	bool in_recovery, rtt_timing, on_tw, on_fw2, on_acceptq, on_synq, on_delack, on_ka, on_wupd;
	bool accepted; /* the application holds it (listen, connect, accept) */
	bool ts_ok, sack_ok; /* both offered them in the handshake */
	uint32_t ts_recent;  /* the peer's timestamp to echo (RFC 7323 4.3) */
	struct gs_tcp_key key;
	struct gs_tcp_sock *listener;	/* SYN_RCVD and not yet accepted: whose backlog */
	unsigned int backlog, pending;	/* LISTEN: the bound, embryonic + not accepted */
	struct gs_tcp_list acceptq;	/* LISTEN: established, not accepted */
	struct gs_tcp_list synq;	/* LISTEN: half-open (SYN_RCVD), oldest first */
	struct gs_tcp_link l_acc, l_timer, l_tw, l_delack;
	uint32_t unacked; /* in-order segments received since our last ACK */
	uint64_t delack_at;
	struct gs_tcp_link l_ka;
	uint64_t ka_idle, ka_intvl, last_rx;
	unsigned int ka_cnt, ka_probes;
	struct gs_tcp_link l_wupd;
	uint64_t wupd_at;
	unsigned int wupd_n;
	/* send side: sbuf holds [sbuf_seq, sbuf_seq + sbuf_len) */
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2, max_wnd;
	uint32_t sbuf_seq, sbuf_len, sbuf_head, sbuf_size;
	uint8_t *sbuf;
	uint16_t mss;			/* what we send: min(peer's MSS, ours) */
	uint8_t snd_wscale, rcv_wscale;
	/* receive side: in-order payload mbufs in rxq, the rest in ooo (sorted by seq) */
	uint32_t irs, rcv_nxt, rcv_adv, rcvbuf, rx_bytes, rx_off;
	uint32_t rxq_head, rxq_tail;
	struct rte_mbuf **rxq;		/* ring of rxq_size, power of two */
	uint32_t rxq_size;
	unsigned int nooo;
	struct gs_tcp_ooo ooo[GS_TCP_OOO_MAX];
	/* RTO (RFC 6298, Karn), congestion control (NewReno, RFC 5681/6582) */
	uint64_t rto_us, srtt_us, rttvar_us, rtt_ts, rto_at, tw_at;
	uint32_t rtt_seq, rexmits, dupacks, recover, cwnd, ssthresh;
	/* SACK scoreboard (RFC 6675, cut down): what the peer holds beyond snd_una, merged and
	 * sorted; in recovery, holes are resent in order from rexmit_hi */
	unsigned int nsacked;
	uint32_t sacked[2 * GS_TCP_SACKED_MAX];
	uint32_t rexmit_hi;
	uint32_t rexmit_mark; /* snd_nxt when the walk over the holes began */
	/* events for the application */
	uint32_t ev;
	int err;
	void *user;
};

/* One worker's TCP: the table, the connections, the lists the timers and the event loop walk. */
struct gs_tcp_wk {
	struct gs_worker *w;
	struct rte_hash *table;
	struct gs_tcp_conf conf;
	struct gs_tcp_sock *socks;	/* conf.max_socks */
	struct gs_tcp_sock **free;	/* stack of free socks */
	unsigned int nfree;
	uint8_t *sbuf_arena;
	struct rte_mbuf **rxq_arena;
	struct gs_tcp_sock *listeners[GS_TCP_LISTENERS];
	struct gs_tcp_list timers, tw;	/* armed RTO; TIME_WAIT in expiry order */
	struct gs_tcp_list fw2;		/* orphans in FIN_WAIT_2, in expiry order (on l_tw) */
	struct gs_tcp_list delack;	/* an ACK owed, in expiry order */
	struct gs_tcp_list ka;		/* keepalive on */
	struct gs_tcp_list wupd;	/* a reopened window announced again until the peer sends */
	struct gs_tcp_sock **ackl;	/* need an ACK or output after this burst */
	unsigned int nack;
	struct gs_tcp_sock **ready;	/* have events for gs_tcp_wait */
	unsigned int nready;
	uint64_t next_tick;
	uint32_t isn_secret;
	uint16_t next_port;
	unsigned int nconns;		/* hashed connections (TIME_WAIT included) */
};

/* tcp_table.c */
struct gs_tcp_wk *gs_tcp_wk(struct gs_worker *w); /* created on first use; NULL + errno */
struct gs_tcp_sock *gs_tcp_lookup(struct gs_tcp_wk *tw, const struct gs_tcp_key *k);
struct gs_tcp_sock *gs_tcp_sock_new(struct gs_tcp_wk *tw);
int gs_tcp_hash_add(struct gs_tcp_sock *s);
void gs_tcp_unhash(struct gs_tcp_sock *s);
void gs_tcp_sock_free(struct gs_tcp_sock *s); /* unhashes, frees its mbufs, back to the pool */
void gs_tcp_release(struct gs_tcp_sock *s); /* back to the pool once off every list */
void gs_tcp_list_add(struct gs_tcp_list *l, struct gs_tcp_sock *s, size_t link_off);
void gs_tcp_list_del(struct gs_tcp_list *l, struct gs_tcp_sock *s, size_t link_off);
#define GS_TCP_LINK(f) offsetof(struct gs_tcp_sock, f)
uint32_t gs_tcp_isn(struct gs_tcp_wk *tw, const struct gs_tcp_key *k);
int gs_tcp_pick_port(struct gs_tcp_wk *tw, struct gs_tcp_key *k);

/* tcp_output.c */
void gs_tcp_output(struct gs_tcp_sock *s);		  /* data, FIN, or a needed ACK */
int gs_tcp_send_seg(struct gs_tcp_sock *s, uint32_t seq, uint32_t len, uint8_t flags);
/* the most data a segment sent now carries: the MSS less the SACK blocks it will carry */
uint32_t gs_tcp_seg_max(const struct gs_tcp_sock *s);
void gs_tcp_send_rst(struct gs_worker *w, const struct rte_ipv4_hdr *ip,
		     const struct rte_tcp_hdr *th, uint32_t seglen);
void gs_tcp_ack_later(struct gs_tcp_sock *s);		  /* after this burst */
void gs_tcp_flush(struct gs_tcp_wk *tw);
uint32_t gs_tcp_rcv_wnd(const struct gs_tcp_sock *s);
static inline uint32_t gs_tcp_data_end(const struct gs_tcp_sock *s)
{
	return s->sbuf_seq + s->sbuf_len;
}

/* tcp_tso.c */
/* How much payload one segment may carry: mss (one wire segment's), or with TSO a multiple
 * of it sized against wnd, what the windows allow. */
uint32_t gs_tcp_tso_max(const struct gs_tcp_sock *s, uint32_t mss, uint32_t wnd);
/* len bytes of the send buffer from seq in a fresh mbuf (a chain when they do not fit one)
 * with hdr bytes of headroom; NULL (counted) when the pool is dry. */
struct rte_mbuf *gs_tcp_payload(struct gs_tcp_sock *s, uint32_t seq, uint32_t len, uint16_t hdr);

/* tcp_options.c */
struct gs_tcp_opts {
	uint16_t mss;
	int8_t wscale; /* -1: none */
	bool sack_ok, ts;
	uint32_t tsval, tsecr;
	uint8_t nsack;
	uint32_t sack[8]; /* the peer's SACK blocks: start, end pairs */
};
int gs_tcp_opts_parse(const struct rte_tcp_hdr *th, uint32_t hlen, struct gs_tcp_opts *o);
uint8_t gs_tcp_opts_syn(uint8_t *p, uint16_t mss, int wscale, bool sack, const uint32_t *ts);
uint8_t gs_tcp_opts_data(uint8_t *p, const uint32_t *ts, const uint32_t *blocks,
			 unsigned int nblocks);
#define GS_TCP_TS_OPT 12 /* NOP NOP TS: what timestamps take from every segment */
static inline uint32_t gs_tcp_ts_now(void)
{
	return (uint32_t)(gs_now_us() / 1000); /* a 1 ms timestamp clock (RFC 7323 5.4) */
}

/* tcp_timer.c */
void gs_tcp_timer_arm(struct gs_tcp_sock *s);
void gs_tcp_timer_stop(struct gs_tcp_sock *s);
void gs_tcp_rtt_sample(struct gs_tcp_sock *s, uint64_t rtt_us);
void gs_tcp_enter_tw(struct gs_tcp_sock *s);
void gs_tcp_fw2_orphan(struct gs_tcp_sock *s); /* FIN_WAIT_2 and closed: a bounded wait */
void gs_tcp_fw2_stop(struct gs_tcp_sock *s);
void gs_tcp_delack(struct gs_tcp_sock *s);	   /* ACK within GS_TCP_DELACK_US */
void gs_tcp_delack_stop(struct gs_tcp_sock *s); /* an ACK went */
void gs_tcp_ka_stop(struct gs_tcp_sock *s);
void gs_tcp_wupd(struct gs_tcp_sock *s);
void gs_tcp_wupd_stop(struct gs_tcp_sock *s);
void gs_tcp_tick(struct gs_tcp_wk *tw);

/* tcp_cc.c: NewReno */
void gs_tcp_cc_init(struct gs_tcp_sock *s);
void gs_tcp_cc_ack(struct gs_tcp_sock *s, uint32_t acked);
void gs_tcp_cc_rto(struct gs_tcp_sock *s);
/* a duplicate ACK: one that did not advance snd_una (RFC 5681), or one with SACK blocks that
 * report new data held (RFC 6675, even with data on it); it may retransmit */
void gs_tcp_cc_dupack(struct gs_tcp_sock *s, uint32_t newly_sacked);
/* the ACK advanced snd_una to ack while in recovery; true: still in recovery */
bool gs_tcp_cc_recovery_ack(struct gs_tcp_sock *s, uint32_t acked);
/* tcp_sack.c: the scoreboard */
uint32_t gs_tcp_sack_update(struct gs_tcp_sock *s, const struct gs_tcp_opts *o);
uint32_t gs_tcp_sack_bytes(const struct gs_tcp_sock *s);
void gs_tcp_sack_clear(struct gs_tcp_sock *s);
/* The next hole at or after from (below the highest SACKed byte): 0 and *seq, *len (at most
 * max), or -ENOENT. */
int gs_tcp_sack_hole(const struct gs_tcp_sock *s, uint32_t from, uint32_t max, uint32_t *seq,
		     uint32_t *len);

/* tcp_api.c */
void gs_tcp_event(struct gs_tcp_sock *s, uint32_t ev);
void gs_tcp_set_state(struct gs_tcp_sock *s, uint8_t st);
/* The connection is over (err 0: closed normally): freed, or, while the application holds it,
 * out of the table with EV_ERR (or EV_HUP) until gs_tcp_close. */
void gs_tcp_drop(struct gs_tcp_sock *s, int err);
void gs_tcp_output_later(struct gs_tcp_sock *s); /* output after this burst, no ACK forced */

/* tcp_input.c */
void gs_tcp_input(struct gs_worker *w, struct rte_mbuf *m, struct rte_ipv4_hdr *ip);
void gs_tcp_after_burst(struct gs_worker *w);
void gs_tcp_fini(struct gs_worker *w);

#define SEQ_LT(a, b) ((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((a) - (b)) <= 0)
#define SEQ_GT(a, b) ((int32_t)((a) - (b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((a) - (b)) >= 0)

#endif
