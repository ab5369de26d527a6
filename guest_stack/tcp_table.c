/* tcp_table.c: a worker's connections: the rte_hash 4-tuple table, the preallocated control
 * blocks and buffers (nothing is allocated per connection), intrusive lists, initial sequence
 * numbers (RFC 6528) and source ports chosen so the return flow comes back to this worker. */
#include <stdlib.h>
#include <string.h>
#include <rte_cycles.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_random.h>
#include "tcp_priv.h"

static struct gs_tcp_conf tcp_conf;

/* The 12-byte key as one 8- and one 4-byte CRC, read with memcpy: rte_hash_crc loads 8 bytes
 * at a time in place, and a key inside a control block is only 4-byte aligned (UBSan). */
static uint32_t key_hash(const void *key, uint32_t len, uint32_t init)
{
	uint64_t a;
	uint32_t b;

	(void)len;
	memcpy(&a, key, 8);
	memcpy(&b, (const char *)key + 8, 4);
	return rte_hash_crc_4byte(b, rte_hash_crc_8byte(a, init));
}

int gs_tcp_configure(const struct gs_tcp_conf *c)
{
	if (c->sndbuf && (!rte_is_power_of_2(c->sndbuf) || c->sndbuf < 4096))
		return -EINVAL;
	if (c->rcvbuf && (c->rcvbuf < 4096 || c->rcvbuf > (1u << 30)))
		return -EINVAL;
	if (c->max_socks > (1u << 20))
		return -EINVAL;
	tcp_conf = *c;
	return 0;
}

static void conf_defaults(struct gs_tcp_conf *c)
{
	*c = tcp_conf;
	if (!c->max_socks)
		c->max_socks = 1024;
	if (!c->sndbuf)
		c->sndbuf = 256 * 1024;
	if (!c->rcvbuf)
		c->rcvbuf = 256 * 1024;
	if (!c->time_wait_us)
		c->time_wait_us = 60000000;
	if (!c->max_time_wait)
		c->max_time_wait = c->max_socks / 2;
	if (!c->min_rto_us)
		c->min_rto_us = GS_TCP_MIN_RTO_US;
}

/* Receive queue slots per connection: a full window of the smallest useful segments. */
static uint32_t rxq_slots(const struct gs_tcp_conf *c)
{
	return rte_align32pow2(c->rcvbuf / 512 + GS_TCP_OOO_MAX);
}

struct gs_tcp_wk *gs_tcp_wk(struct gs_worker *w)
{
	struct gs_tcp_wk *tw;
	char name[RTE_HASH_NAMESIZE];

	if (w->tcp)
		return w->tcp;
	tw = calloc(1, sizeof(*tw));
	if (!tw)
		goto nomem;
	tw->w = w;
	conf_defaults(&tw->conf);
	unsigned int n = tw->conf.max_socks;
	snprintf(name, sizeof(name), "gs_tcp%u", w->idx);
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = RTE_MAX(n, 16u),
		.key_len = sizeof(struct gs_tcp_key),
		.hash_func = key_hash,
		.socket_id = (int)rte_socket_id(),
	};
	tw->table = rte_hash_create(&hp);
	/* plain memory: the stack copies out of it into mbufs, no device reads it; pages are
	 * touched only as connections use them (the free stack hands back the warmest first) */
	tw->socks = calloc(n, sizeof(*tw->socks));
	tw->free = calloc(n, sizeof(*tw->free));
	tw->ackl = calloc(n, sizeof(*tw->ackl));
	tw->ready = calloc(n, sizeof(*tw->ready));
	tw->sbuf_arena = calloc(n, tw->conf.sndbuf);
	tw->rxq_arena = calloc((size_t)n * rxq_slots(&tw->conf), sizeof(struct rte_mbuf *));
	if (!tw->table || !tw->socks || !tw->free || !tw->ackl || !tw->ready || !tw->sbuf_arena ||
	    !tw->rxq_arena) {
		GS_LOG(ERR, "TCP on worker %u: no memory for %u connections", w->idx, n);
		rte_hash_free(tw->table);
		free(tw->socks), free(tw->free), free(tw->ackl), free(tw->ready);
		free(tw->sbuf_arena), free(tw->rxq_arena), free(tw);
		goto nomem;
	}
	for (unsigned int i = 0; i < n; i++)
		tw->free[tw->nfree++] = &tw->socks[n - 1 - i];
	tw->isn_secret = (uint32_t)rte_rand();
	tw->next_port = (uint16_t)(49152 + rte_rand() % 16384);
	w->tcp = tw;
	return tw;
nomem:
	errno = ENOMEM;
	return NULL;
}

struct gs_tcp_sock *gs_tcp_lookup(struct gs_tcp_wk *tw, const struct gs_tcp_key *k)
{
	void *data;

	return rte_hash_lookup_data(tw->table, k, &data) >= 0 ? data : NULL;
}

struct gs_tcp_sock *gs_tcp_sock_new(struct gs_tcp_wk *tw)
{
	if (!tw->nfree) {
		tw->w->c[GS_C_tcp_table_full]++;
		return NULL;
	}
	struct gs_tcp_sock *s = tw->free[--tw->nfree];
	size_t i = (size_t)(s - tw->socks);
	uint32_t slots = rxq_slots(&tw->conf);

	memset(s, 0, sizeof(*s));
	s->tw = tw;
	s->used = true;
	s->sbuf = tw->sbuf_arena + i * tw->conf.sndbuf;
	s->sbuf_size = tw->conf.sndbuf;
	s->rxq = tw->rxq_arena + i * slots;
	s->rxq_size = slots;
	s->rcvbuf = tw->conf.rcvbuf;
	s->rcv_wscale = GS_TCP_WSCALE;
	s->rto_us = GS_TCP_INIT_RTO_US;
	return s;
}

int gs_tcp_hash_add(struct gs_tcp_sock *s)
{
	int rc = rte_hash_add_key_data(s->tw->table, &s->key, s);
	if (rc < 0) {
		s->tw->w->c[GS_C_tcp_table_full]++;
		return rc;
	}
	s->hashed = true;
	s->tw->nconns++;
	return 0;
}

/* Out of the table and off the timers: no segment reaches it any more. */
void gs_tcp_unhash(struct gs_tcp_sock *s)
{
	struct gs_tcp_wk *tw = s->tw;

	if (s->hashed) {
		rte_hash_del_key(tw->table, &s->key);
		s->hashed = false;
		tw->nconns--;
		tw->w->c[GS_C_tcp_conn_close]++;
	}
	gs_tcp_timer_stop(s);
	gs_tcp_delack_stop(s);
	gs_tcp_ka_stop(s);
	gs_tcp_wupd_stop(s);
	if (s->on_tw) {
		gs_tcp_list_del(&tw->tw, s, GS_TCP_LINK(l_tw));
		s->on_tw = false;
	}
	gs_tcp_fw2_stop(s);
}

void gs_tcp_sock_free(struct gs_tcp_sock *s)
{
	gs_tcp_unhash(s);
	while (s->rxq_head != s->rxq_tail)
		rte_pktmbuf_free(s->rxq[s->rxq_head++ & (s->rxq_size - 1)]);
	for (unsigned int i = 0; i < s->nooo; i++)
		rte_pktmbuf_free(s->ooo[i].m);
	s->nooo = 0;
	/* the ACK and ready lists skip it and give it back (gs_tcp_release) */
	s->used = false;
	s->state = GS_TCP_CLOSED;
	gs_tcp_release(s);
}

void gs_tcp_release(struct gs_tcp_sock *s)
{
	if (!s->used && !s->on_ack_list && !s->on_ready)
		s->tw->free[s->tw->nfree++] = s;
}

static inline struct gs_tcp_link *link_of(struct gs_tcp_sock *s, size_t off)
{
	return (struct gs_tcp_link *)((char *)s + off);
}

void gs_tcp_list_add(struct gs_tcp_list *l, struct gs_tcp_sock *s, size_t off)
{
	struct gs_tcp_link *k = link_of(s, off);

	k->next = NULL;
	k->prev = l->tail;
	if (l->tail)
		link_of(l->tail, off)->next = s;
	else
		l->head = s;
	l->tail = s;
	l->n++;
}

void gs_tcp_list_del(struct gs_tcp_list *l, struct gs_tcp_sock *s, size_t off)
{
	struct gs_tcp_link *k = link_of(s, off);

	if (k->prev)
		link_of(k->prev, off)->next = k->next;
	else
		l->head = k->next;
	if (k->next)
		link_of(k->next, off)->prev = k->prev;
	else
		l->tail = k->prev;
	k->prev = k->next = NULL;
	l->n--;
}

/* RFC 6528: a hash of the 4-tuple and a secret plus a 4-microsecond clock. */
uint32_t gs_tcp_isn(struct gs_tcp_wk *tw, const struct gs_tcp_key *k)
{
	return key_hash(k, sizeof(*k), tw->isn_secret) + (uint32_t)(gs_now_us() / 4);
}

/* A free source port for k (lport filled in) whose return flow RSS gives to this worker, as
 * mTCP does; 0 or -EADDRNOTAVAIL. */
int gs_tcp_pick_port(struct gs_tcp_wk *tw, struct gs_tcp_key *k)
{
	unsigned int nw = gs_worker_count();

	for (unsigned int i = 0; i < 16384; i++) {
		uint16_t p = tw->next_port;
		tw->next_port = (uint16_t)(p == 65535 ? 49152 : p + 1);
		if (nw > 1 && gs_rss_queue_tuple(k->rip, k->lip, k->rport, p, nw) != tw->w->idx)
			continue;
		k->lport = p;
		if (!gs_tcp_lookup(tw, k))
			return 0;
	}
	return -EADDRNOTAVAIL;
}

unsigned int gs_tcp_conns(struct gs_worker *w, unsigned int *time_wait)
{
	if (time_wait)
		*time_wait = w->tcp ? w->tcp->tw.n : 0;
	return w->tcp ? w->tcp->nconns : 0;
}
