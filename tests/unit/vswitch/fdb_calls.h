/* fdb_calls.h: one MAC at a time through the FDB's burst API, for the FDB unit tests.  MAC n is
 * 02:00:00:00:nn:nn.  Include after fdb.h (or fdb.c). */
#ifndef VSW_UNIT_FDB_CALLS_H
#define VSW_UNIT_FDB_CALLS_H

static struct rte_ether_addr mac(unsigned n)
{
	return (struct rte_ether_addr){{0x02, 0, 0, 0, (uint8_t)(n >> 8), (uint8_t)n}};
}

/* The key of MAC m in VLAN 0, or in VLAN v */
#define K(m) (&(struct vsw_fdb_key){.mac = (m)})
#define KV(m, v) (&(struct vsw_fdb_key){.mac = (m), .vlan = (v)})

static uint16_t lookup_v(struct vsw_fdb *f, unsigned n, uint16_t vlan)
{
	uint16_t port;

	vsw_fdb_lookup(f, KV(mac(n), vlan), 1, &port);
	return port;
}

static enum vsw_learn_result learn_v(struct vsw_fdb *f, unsigned n, uint16_t vlan, uint16_t port,
				     uint64_t now)
{
	enum vsw_learn_result r;

	vsw_fdb_learn(f, KV(mac(n), vlan), 1, port, now, &r);
	return r;
}

static inline uint16_t lookup(struct vsw_fdb *f, unsigned n)
{
	return lookup_v(f, n, 0);
}

static inline enum vsw_learn_result learn(struct vsw_fdb *f, unsigned n, uint16_t port,
					  uint64_t now)
{
	return learn_v(f, n, 0, port, now);
}

#endif
