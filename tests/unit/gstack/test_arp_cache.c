/* The ARP cache with a fake clock: requests and retries, held packets, failure and hold-down,
 * learning, expiry. */
#include "gs_priv.h"
#include "check.h"

static unsigned int requests, sent, dropped[GS_C_MAX];
static uint32_t last_req;

static void req(void *ctx, uint32_t ip)
{
	(void)ctx;
	requests++;
	last_req = ip;
}

static void snd(void *ctx, void *pkt, const struct rte_ether_addr *mac)
{
	(void)ctx, (void)pkt;
	CHECK_EQ(mac->addr_bytes[5], 0x42);
	sent++;
}

static void drop(void *ctx, void *pkt, enum gs_ctr why)
{
	(void)ctx, (void)pkt;
	dropped[why]++;
}

int main(void)
{
	static struct gs_arp_cache c;
	static const struct gs_arp_ops ops = {req, snd, drop};
	const uint64_t T = 60000000, R = 500000; /* timeout 60 s, retry 0.5 s */
	struct rte_ether_addr mac = {.addr_bytes = {2, 0, 0, 0, 0, 0x42}}, got;
	int pkt[8];
	uint64_t now = 1000;

	gs_arp_cache_init(&c, T, R, 3, &ops, NULL);
	/* A miss sends one request and holds up to GS_ARP_HOLD packets. */
	for (int i = 0; i < 6; i++)
		CHECK_EQ(gs_arp_resolve(&c, 0x0a000001, now, &pkt[i], &got), -EAGAIN);
	CHECK_EQ(requests, 1);
	CHECK_EQ(last_req, 0x0a000001);
	CHECK_EQ(dropped[GS_C_arp_hold_drop], 6 - GS_ARP_HOLD);
	/* Retries at the retry interval, not before. */
	gs_arp_tick(&c, now + R - 1);
	CHECK_EQ(requests, 1);
	gs_arp_tick(&c, now + R);
	CHECK_EQ(requests, 2);
	gs_arp_tick(&c, now + 2 * R);
	CHECK_EQ(requests, 3);
	/* After max tries: held packets dropped, the entry fails and refuses for a while. */
	gs_arp_tick(&c, now + 3 * R);
	CHECK_EQ(requests, 3);
	CHECK_EQ(dropped[GS_C_arp_unresolved], GS_ARP_HOLD);
	CHECK_EQ(gs_arp_find(&c, 0x0a000001)->state, GS_ARP_FAILED);
	CHECK_EQ(gs_arp_resolve(&c, 0x0a000001, now + 3 * R + 1, &pkt[0], &got), -EHOSTUNREACH);
	CHECK_EQ(dropped[GS_C_arp_unresolved], GS_ARP_HOLD + 1);
	/* The hold-down ends: a new attempt. */
	now += 3 * R + 3 * R;
	gs_arp_tick(&c, now);
	CHECK(gs_arp_find(&c, 0x0a000001) == NULL);
	CHECK_EQ(gs_arp_resolve(&c, 0x0a000001, now, &pkt[0], &got), -EAGAIN);
	CHECK_EQ(requests, 4);
	/* The answer releases the held packet; lookups hit. */
	gs_arp_learn(&c, 0x0a000001, &mac, now + 10, false);
	CHECK_EQ(sent, 1);
	CHECK_EQ(gs_arp_resolve(&c, 0x0a000001, now + 20, &pkt[1], &got), 0);
	CHECK_EQ(got.addr_bytes[5], 0x42);
	/* Learning without create does not add strangers; with create it does. */
	gs_arp_learn(&c, 0x0a000009, &mac, now, false);
	CHECK(gs_arp_find(&c, 0x0a000009) == NULL);
	gs_arp_learn(&c, 0x0a000009, &mac, now, true);
	CHECK_EQ(gs_arp_find(&c, 0x0a000009)->state, GS_ARP_REACHABLE);
	/* Expiry: past the timeout the entry goes, and the next packet asks again. */
	CHECK_EQ(gs_arp_resolve(&c, 0x0a000001, now + 10 + T - 1, &pkt[1], &got), 0);
	gs_arp_tick(&c, now + 10 + T);
	CHECK(gs_arp_find(&c, 0x0a000001) == NULL);
	CHECK_EQ(gs_arp_resolve(&c, 0x0a000001, now + 10 + T, NULL, &got), -EAGAIN);
	CHECK_EQ(requests, 5);
	/* A full cache recycles the entry closest to its deadline. */
	for (uint32_t i = 0; i < 2 * GS_ARP_SIZE; i++)
		gs_arp_learn(&c, 0x0b000000 + i, &mac, now + i, true);
	CHECK(gs_arp_find(&c, 0x0b000000 + 2 * GS_ARP_SIZE - 1) != NULL);
	CHECK(gs_arp_find(&c, 0x0b000000) == NULL);
	return CHECK_DONE();
}
