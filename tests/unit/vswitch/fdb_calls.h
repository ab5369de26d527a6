/* fdb_calls.h: one MAC at a time through the FDB's burst API, for the FDB unit tests.  MAC n is
 * 02:00:00:00:nn:nn.  Include after fdb.h (or fdb.c). */
#ifndef VSW_UNIT_FDB_CALLS_H
#define VSW_UNIT_FDB_CALLS_H

static struct rte_ether_addr mac(unsigned n)
{
	return (struct rte_ether_addr){{0x02, 0, 0, 0, (uint8_t)(n >> 8), (uint8_t)n}};
}

static uint16_t lookup(struct vsw_fdb *f, unsigned n)
{
	struct rte_ether_addr m = mac(n);
	const struct rte_ether_addr *p = &m;
	uint16_t port;

	vsw_fdb_lookup(f, &p, 1, &port);
	return port;
}

static enum vsw_learn_result learn(struct vsw_fdb *f, unsigned n, uint16_t port, uint64_t now)
{
	struct rte_ether_addr m = mac(n);
	const struct rte_ether_addr *p = &m;
	enum vsw_learn_result r;

	vsw_fdb_learn(f, &p, 1, port, now, &r);
	return r;
}

#endif
