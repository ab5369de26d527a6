/* The ARP cache with a fake clock: requests and retries, held packets, failure and hold-down,
 * learning, ageing (stale, unicast probes), the lock time, eviction; the sender checks. */
#include <rte_arp.h>
#include "gs_priv.h"
#include "check.h"

static unsigned int requests, unicast, sent, dropped[GS_C_MAX];
static uint32_t last_req;

static void req(void *ctx, uint32_t ip, const struct rte_ether_addr *mac)
{
	(void)ctx;
	requests++;
	unicast += mac != NULL;
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

static struct gs_arp_cache c;
static const struct gs_arp_ops ops = {req, snd, drop};
static const uint64_t T = 60000000, R = 500000; /* timeout 60 s, retry 0.5 s */
static const struct rte_ether_addr mac = {.addr_bytes = {2, 0, 0, 0, 0, 0x42}};

static int state_of(uint32_t ip)
{
	const struct gs_arp_entry *e = gs_arp_find(&c, ip);

	return e ? e->state : GS_ARP_FREE;
}

static void test_resolve(void)
{
	struct rte_ether_addr got;
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
	CHECK_EQ(state_of(0x0a000001), GS_ARP_FAILED);
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
	CHECK_EQ(state_of(0x0a000009), GS_ARP_REACHABLE);
}

/* A peer in use is never forgotten at its deadline: it goes STALE (MAC still used), its next use
 * sends a unicast probe, a reply confirms it; only unanswered probes free it. */
static void test_refresh_in_use(void)
{
	const uint32_t ip = 0x0a000002;
	struct rte_ether_addr got;
	uint64_t now = 5000;
	int pkt;

	gs_arp_cache_init(&c, T, R, 3, &ops, NULL);
	gs_arp_learn(&c, ip, &mac, now, true);
	requests = unicast = 0;
	CHECK_EQ(gs_arp_resolve(&c, ip, now + T - 1, &pkt, &got), 0);
	gs_arp_tick(&c, now + T);
	CHECK(gs_arp_find(&c, ip) != NULL);
	CHECK_EQ(requests, 0);
	for (int i = 0; i < 3; i++) { /* still sent to the MAC; one probe, to that MAC */
		CHECK_EQ(gs_arp_resolve(&c, ip, now + T + i, &pkt, &got), 0);
		CHECK_EQ(got.addr_bytes[5], 0x42);
	}
	CHECK_EQ(requests, 1);
	CHECK_EQ(unicast, 1);
	CHECK_EQ(last_req, ip);
	/* The reply: reachable for another timeout, no more probes. */
	CHECK_EQ(gs_arp_learn(&c, ip, &mac, now + T + 100, false), 0);
	CHECK_EQ(state_of(ip), GS_ARP_REACHABLE);
	gs_arp_tick(&c, now + T + 10 * R);
	CHECK_EQ(requests, 1);
	/* Probes unanswered: max_tries unicast requests, still sending, then forgotten. */
	now += 2 * T + 100;
	requests = unicast = 0;
	gs_arp_tick(&c, now);
	CHECK_EQ(gs_arp_resolve(&c, ip, now, &pkt, &got), 0);
	gs_arp_tick(&c, now + R);
	gs_arp_tick(&c, now + 2 * R);
	CHECK_EQ(gs_arp_resolve(&c, ip, now + 2 * R, &pkt, &got), 0);
	CHECK_EQ(requests, 3);
	CHECK_EQ(unicast, 3);
	gs_arp_tick(&c, now + 3 * R);
	CHECK(gs_arp_find(&c, ip) == NULL);
	/* The next use asks by broadcast. */
	CHECK_EQ(gs_arp_resolve(&c, ip, now + 3 * R, NULL, &got), -EAGAIN);
	CHECK_EQ(requests, 4);
	CHECK_EQ(unicast, 3);
	/* A stale entry nobody uses goes after another timeout, without a probe. */
	now += 3 * R;
	CHECK_EQ(gs_arp_learn(&c, ip, &mac, now, false), 0);
	gs_arp_tick(&c, now + T);
	CHECK_EQ(state_of(ip), GS_ARP_STALE);
	gs_arp_tick(&c, now + 2 * T);
	CHECK(gs_arp_find(&c, ip) == NULL);
	CHECK_EQ(requests, 4);
}

/* The first answer wins for GS_ARP_LOCK_US: a second MAC (another responder, a forged
 * gratuitous ARP) cannot move an entry just confirmed; later it can (a real failover). */
static void test_lock_time(void)
{
	const uint32_t ip = 0x0a000003;
	const struct rte_ether_addr other = {.addr_bytes = {2, 0, 0, 0, 0, 0x66}};
	struct rte_ether_addr got;
	const uint64_t now = 7000;

	gs_arp_cache_init(&c, T, R, 3, &ops, NULL);
	CHECK_EQ(gs_arp_resolve(&c, ip, now, NULL, &got), -EAGAIN);
	CHECK_EQ(gs_arp_learn(&c, ip, &mac, now + 10, false), 0);
	gs_arp_learn(&c, ip, &other, now + 20, false);
	gs_arp_learn(&c, ip, &other, now + 10 + GS_ARP_LOCK_US - 1, true);
	CHECK_EQ(gs_arp_resolve(&c, ip, now + 10 + GS_ARP_LOCK_US - 1, NULL, &got), 0);
	CHECK_EQ(got.addr_bytes[5], 0x42);
	/* The same MAC again renews the lock; past it, the move is taken. */
	CHECK_EQ(gs_arp_learn(&c, ip, &mac, now + 100, false), 0);
	CHECK_EQ(gs_arp_learn(&c, ip, &other, now + 100 + GS_ARP_LOCK_US - 1, false), -EBUSY);
	CHECK_EQ(gs_arp_learn(&c, ip, &other, now + 100 + GS_ARP_LOCK_US, false), 0);
	CHECK_EQ(gs_arp_resolve(&c, ip, now + 100 + GS_ARP_LOCK_US, NULL, &got), 0);
	CHECK_EQ(got.addr_bytes[5], 0x66);
}

/* A full cache evicts idle STALE entries first, then the least recently used; entries being
 * resolved, with packets held, last. */
static void test_eviction(void)
{
	struct rte_ether_addr got;
	uint64_t now = 1000;
	int pkt[GS_ARP_SIZE];

	gs_arp_cache_init(&c, T, R, 3, &ops, NULL);
	memset(dropped, 0, sizeof(dropped));
	/* Half the cache waits for answers with a packet held, half is known. */
	for (uint32_t i = 0; i < GS_ARP_SIZE / 2; i++)
		gs_arp_resolve(&c, 0x0c000000 + i, now, &pkt[i], &got);
	for (uint32_t i = 0; i < GS_ARP_SIZE / 2; i++)
		gs_arp_learn(&c, 0x0b000000 + i, &mac, now + i, true);
	/* 0x0b000001 is used again later than the others. */
	CHECK_EQ(gs_arp_resolve(&c, 0x0b000001, now + 100, NULL, &got), 0);
	/* Newcomers take the known entries, least recently used first ... */
	gs_arp_learn(&c, 0x0d000000, &mac, now + 200, true);
	CHECK(gs_arp_find(&c, 0x0b000000) == NULL);
	gs_arp_learn(&c, 0x0d000001, &mac, now + 200, true);
	CHECK(gs_arp_find(&c, 0x0b000002) == NULL);
	CHECK(gs_arp_find(&c, 0x0b000001) != NULL);
	/* ... but a STALE one before any reachable one, however recently that one was used. */
	gs_arp_tick(&c, now + T + 1); /* 0x0b000001 (learned at now + 1) goes stale */
	CHECK_EQ(state_of(0x0b000001), GS_ARP_STALE);
	gs_arp_learn(&c, 0x0d000002, &mac, now + T + 2, true);
	CHECK(gs_arp_find(&c, 0x0b000001) == NULL);
	CHECK(gs_arp_find(&c, 0x0b000003) != NULL); /* reachable, last used at now + 3 */
	/* No entry being resolved went, and no held packet was dropped. */
	for (uint32_t i = 0; i < GS_ARP_SIZE / 2; i++)
		CHECK_EQ(state_of(0x0c000000 + i), GS_ARP_INCOMPLETE);
	CHECK_EQ(dropped[GS_C_arp_unresolved], 0);
	/* A full cache recycles: the newest is always there. */
	for (uint32_t i = 0; i < 2 * GS_ARP_SIZE; i++)
		gs_arp_learn(&c, 0x0e000000 + i, &mac, now + T + 10 + i, true);
	CHECK(gs_arp_find(&c, 0x0e000000 + 2 * GS_ARP_SIZE - 1) != NULL);
	CHECK(gs_arp_find(&c, 0x0e000000) == NULL);
}

/* Who may update the cache: a unicast sender MAC equal to the frame's source; a unicast IP that
 * is not ours (no RFC 5227 probe from 0.0.0.0). */
static void test_sender_checks(void)
{
	const struct rte_ether_addr src = mac, other = {.addr_bytes = {2, 0, 0, 0, 0, 0x66}};
	const struct rte_ether_addr zero = {.addr_bytes = {0}};
	const struct rte_ether_addr mcast = {.addr_bytes = {1, 0, 0x5e, 0, 0, 1}};
	const struct rte_ether_addr bcast = {.addr_bytes = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
	struct rte_arp_hdr a = {0};

	a.arp_data.arp_sha = src;
	CHECK_EQ(gs_arp_sender_check(&src, &a), 0);
	CHECK_EQ(gs_arp_sender_check(&other, &a), GS_C_arp_bad_sender);
	a.arp_data.arp_sha = zero;
	CHECK_EQ(gs_arp_sender_check(&zero, &a), GS_C_arp_bad_sender);
	a.arp_data.arp_sha = mcast;
	CHECK_EQ(gs_arp_sender_check(&mcast, &a), GS_C_arp_bad_sender);
	a.arp_data.arp_sha = bcast;
	CHECK_EQ(gs_arp_sender_check(&bcast, &a), GS_C_arp_bad_sender);
	gs_st.ip = 0x0a000001;
	CHECK(gs_arp_learnable(0x0a000002));
	CHECK(!gs_arp_learnable(0));
	CHECK(!gs_arp_learnable(0x0a000001));
	CHECK(!gs_arp_learnable(0xe0000001));
	CHECK(!gs_arp_learnable(0xffffffff));
}

int main(void)
{
	test_resolve();
	test_refresh_in_use();
	test_lock_time();
	test_eviction();
	test_sender_checks();
	return CHECK_DONE();
}
