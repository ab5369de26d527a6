/* A PMD's cache in front of the FDB for bursts of many addresses, as OVS's exact-match cache
 * stands in front of its classifier: (VLAN, MAC) -> port, trusted only while the FDB's
 * generation is the one it was filled under (any learn of a new MAC, move or removal starts
 * it afresh). A hit costs one CRC and one cache line (a set of 4 entries), where the FDB's
 * lock-free hash costs 11-18 ns a key (bench/fdbbench) and three cache lines. One PMD's
 * alone: no locks. */
#ifndef VSW_MACCACHE_H
#define VSW_MACCACHE_H

#include <stdint.h>

#include "fdb.h"

struct vsw_mac_cache;

/* Room for about `entries` addresses (rounded up to a power of two, at least 1024). */
struct vsw_mac_cache *vsw_mac_cache_create(uint32_t entries, int socket);
void vsw_mac_cache_free(struct vsw_mac_cache *c);

/* vsw_fdb_learn through the cache: a key known on port `in` and refreshed in second `now`
 * under generation gen is VSW_LEARN_OK at once; the others go to the FDB. */
void vsw_mac_cache_learn(struct vsw_mac_cache *c, struct vsw_fdb *fdb,
			 const struct vsw_fdb_key *keys, unsigned n, uint16_t in, uint64_t now,
			 uint32_t gen, enum vsw_learn_result *results);
/* vsw_fdb_lookup through the cache. */
void vsw_mac_cache_lookup(struct vsw_mac_cache *c, struct vsw_fdb *fdb,
			  const struct vsw_fdb_key *keys, unsigned n, uint32_t gen, uint16_t *out);

#endif
