/* arp_cache.c: the neighbour cache of one worker (states in gs_priv.h): resolve with a few held
 * packets, retries, a hold-down after failures; a confirmed entry goes STALE at its deadline and
 * is probed by unicast while in use, so flows to a peer never stall when an entry ages.  Time is
 * passed in (microseconds), so the unit tests drive it with a fake clock; packets are opaque
 * pointers handed back through ops. */
#include <string.h>
#include "gs_priv.h"

void gs_arp_cache_init(struct gs_arp_cache *c, uint64_t timeout_us, uint64_t retry_us,
		       unsigned int max_tries, const struct gs_arp_ops *ops, void *ctx)
{
	memset(c->e, 0, sizeof(c->e));
	c->timeout_us = timeout_us;
	c->retry_us = retry_us;
	c->max_tries = max_tries;
	c->ops = *ops;
	c->ctx = ctx;
}

static struct gs_arp_entry *find(struct gs_arp_cache *c, uint32_t ip)
{
	for (unsigned int i = 0; i < GS_ARP_SIZE; i++)
		if (c->e[i].state != GS_ARP_FREE && c->e[i].ip == ip)
			return &c->e[i];
	return NULL;
}

const struct gs_arp_entry *gs_arp_find(const struct gs_arp_cache *c, uint32_t ip)
{
	return find((struct gs_arp_cache *)(uintptr_t)c, ip);
}

static bool has_mac(const struct gs_arp_entry *e)
{
	return e->state == GS_ARP_REACHABLE || e->state == GS_ARP_STALE || e->state == GS_ARP_PROBE;
}

static void drop_held(struct gs_arp_cache *c, struct gs_arp_entry *e, enum gs_ctr why)
{
	for (unsigned int i = 0; i < e->nhold; i++)
		c->ops.drop(c->ctx, e->hold[i], why);
	e->nhold = 0;
}

/* Who goes first when the cache is full: what costs nothing (a hold-down, an idle STALE
 * entry), then entries in use, and entries being resolved (packets held) last. */
static int keep_rank(const struct gs_arp_entry *e)
{
	switch (e->state) {
	case GS_ARP_FREE:
		return 0;
	case GS_ARP_FAILED:
		return 1;
	case GS_ARP_STALE:
		return 2;
	case GS_ARP_INCOMPLETE:
		return 4;
	default: /* REACHABLE, PROBE */
		return 3;
	}
}

/* A free slot, or the least recently used entry of the lowest rank. */
static struct gs_arp_entry *slot(struct gs_arp_cache *c)
{
	struct gs_arp_entry *victim = &c->e[0];

	for (unsigned int i = 1; i < GS_ARP_SIZE && victim->state != GS_ARP_FREE; i++) {
		struct gs_arp_entry *e = &c->e[i];
		int d = keep_rank(e) - keep_rank(victim);

		if (d < 0 || (d == 0 && e->used < victim->used))
			victim = e;
	}
	drop_held(c, victim, GS_C_arp_unresolved);
	victim->state = GS_ARP_FREE;
	return victim;
}

static void start(struct gs_arp_cache *c, struct gs_arp_entry *e, uint32_t ip, uint64_t now)
{
	e->ip = ip;
	e->state = GS_ARP_INCOMPLETE;
	e->tries = 1;
	e->deadline = now + c->retry_us;
	e->used = now;
	c->ops.request(c->ctx, ip, NULL);
}

/* A STALE entry is in use again: ask its MAC directly (as Linux), and keep using it meanwhile. */
static void probe(struct gs_arp_cache *c, struct gs_arp_entry *e, uint64_t now)
{
	e->state = GS_ARP_PROBE;
	e->tries = 1;
	e->deadline = now + c->retry_us;
	c->ops.request(c->ctx, e->ip, &e->mac);
}

/* Not confirmed for timeout_us: the MAC is kept (probably still right); unused, it goes after
 * another timeout_us. */
static void make_stale(struct gs_arp_cache *c, struct gs_arp_entry *e, uint64_t now)
{
	e->state = GS_ARP_STALE;
	e->deadline = now + c->timeout_us;
}

int gs_arp_resolve(struct gs_arp_cache *c, uint32_t ip, uint64_t now, void *pkt,
		   struct rte_ether_addr *mac)
{
	struct gs_arp_entry *e = find(c, ip);

	if (e && e->state == GS_ARP_REACHABLE && now >= e->deadline)
		make_stale(c, e, now); /* the tick has not seen it yet */
	if (e && e->state == GS_ARP_STALE)
		probe(c, e, now);
	if (e && has_mac(e)) {
		e->used = now;
		*mac = e->mac;
		return 0;
	}
	if (e && e->state == GS_ARP_FAILED && now < e->deadline) {
		if (pkt)
			c->ops.drop(c->ctx, pkt, GS_C_arp_unresolved);
		return -EHOSTUNREACH;
	}
	if (!e)
		e = slot(c);
	if (e->state != GS_ARP_INCOMPLETE)
		start(c, e, ip, now);
	if (!pkt)
		return -EAGAIN;
	if (e->nhold < GS_ARP_HOLD)
		e->hold[e->nhold++] = pkt;
	else
		c->ops.drop(c->ctx, pkt, GS_C_arp_hold_drop);
	return -EAGAIN;
}

int gs_arp_learn(struct gs_arp_cache *c, uint32_t ip, const struct rte_ether_addr *mac,
		 uint64_t now, bool create)
{
	struct gs_arp_entry *e = find(c, ip);

	if (!e && !create)
		return -ENOENT;
	/* The first answer wins for a while: a second responder or a forged gratuitous ARP
	 * cannot move an entry just confirmed (Linux's locktime). */
	if (e && has_mac(e) && !rte_is_same_ether_addr(&e->mac, mac) &&
	    now < e->updated + GS_ARP_LOCK_US)
		return -EBUSY;
	if (!e) {
		e = slot(c);
		e->ip = ip;
		e->used = now;
	}
	e->mac = *mac;
	e->state = GS_ARP_REACHABLE;
	e->tries = 0;
	e->deadline = now + c->timeout_us;
	e->updated = now;
	for (unsigned int i = 0; i < e->nhold; i++)
		c->ops.send(c->ctx, e->hold[i], mac);
	e->nhold = 0;
	return 0;
}

/* Another request, or give up: a peer that ignores its probes is gone or has moved, and is
 * forgotten (the next use asks by broadcast); one never answered holds its packets' fate. */
static void retry(struct gs_arp_cache *c, struct gs_arp_entry *e, uint64_t now)
{
	bool probing = e->state == GS_ARP_PROBE;

	if (e->tries < c->max_tries) {
		e->tries++;
		e->deadline = now + c->retry_us;
		c->ops.request(c->ctx, e->ip, probing ? &e->mac : NULL);
	} else if (probing) {
		e->state = GS_ARP_FREE;
	} else {
		drop_held(c, e, GS_C_arp_unresolved);
		e->state = GS_ARP_FAILED;
		e->deadline = now + c->retry_us * c->max_tries;
	}
}

void gs_arp_tick(struct gs_arp_cache *c, uint64_t now)
{
	for (unsigned int i = 0; i < GS_ARP_SIZE; i++) {
		struct gs_arp_entry *e = &c->e[i];

		if (e->state == GS_ARP_FREE || now < e->deadline)
			continue;
		if (e->state == GS_ARP_REACHABLE)
			make_stale(c, e, now);
		else if (e->state == GS_ARP_INCOMPLETE || e->state == GS_ARP_PROBE)
			retry(c, e, now);
		else
			e->state = GS_ARP_FREE; /* STALE and unused, or the hold-down is over */
	}
}
