/* arp_cache.c: the neighbour cache of one worker: resolve with a few held packets, retries,
 * a hold-down after failures, and expiry.  Time is passed in (microseconds), so the unit tests
 * drive it with a fake clock; packets are opaque pointers handed back through ops. */
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

static void drop_held(struct gs_arp_cache *c, struct gs_arp_entry *e, enum gs_ctr why)
{
	for (unsigned int i = 0; i < e->nhold; i++)
		c->ops.drop(c->ctx, e->hold[i], why);
	e->nhold = 0;
}

/* A free slot, or the one closest to its deadline among those not being resolved. */
static struct gs_arp_entry *slot(struct gs_arp_cache *c)
{
	struct gs_arp_entry *victim = NULL;

	for (unsigned int i = 0; i < GS_ARP_SIZE; i++) {
		struct gs_arp_entry *e = &c->e[i];
		if (e->state == GS_ARP_FREE)
			return e;
		if (!victim || e->deadline < victim->deadline)
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
	c->ops.request(c->ctx, ip);
}

int gs_arp_resolve(struct gs_arp_cache *c, uint32_t ip, uint64_t now, void *pkt,
		   struct rte_ether_addr *mac)
{
	struct gs_arp_entry *e = find(c, ip);

	if (e && e->state == GS_ARP_REACHABLE && now < e->deadline) {
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

void gs_arp_learn(struct gs_arp_cache *c, uint32_t ip, const struct rte_ether_addr *mac,
		  uint64_t now, bool create)
{
	struct gs_arp_entry *e = find(c, ip);

	if (!e) {
		if (!create)
			return;
		e = slot(c);
		e->ip = ip;
		e->nhold = 0;
	}
	e->mac = *mac;
	e->state = GS_ARP_REACHABLE;
	e->tries = 0;
	e->deadline = now + c->timeout_us;
	for (unsigned int i = 0; i < e->nhold; i++)
		c->ops.send(c->ctx, e->hold[i], mac);
	e->nhold = 0;
}

void gs_arp_tick(struct gs_arp_cache *c, uint64_t now)
{
	for (unsigned int i = 0; i < GS_ARP_SIZE; i++) {
		struct gs_arp_entry *e = &c->e[i];
		if (e->state == GS_ARP_FREE || now < e->deadline)
			continue;
		if (e->state != GS_ARP_INCOMPLETE) {
			e->state = GS_ARP_FREE; /* expired, or the hold-down is over */
		} else if (e->tries < c->max_tries) {
			e->tries++;
			e->deadline = now + c->retry_us;
			c->ops.request(c->ctx, e->ip);
		} else {
			drop_held(c, e, GS_C_arp_unresolved);
			e->state = GS_ARP_FAILED;
			e->deadline = now + c->retry_us * c->max_tries;
		}
	}
}
