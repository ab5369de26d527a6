/* FDB: the MAC table ((VLAN, MAC) -> port) with learning, moves, aging, static entries and limits.
 * Readers (PMD lcores) look up without locks; learning may run on several PMDs at once. Time is
 * passed in by the caller (seconds), so tests drive it with a fake clock. */
#ifndef VSW_FDB_H
#define VSW_FDB_H

#include <stdbool.h>
#include <stdint.h>
#include <rte_ether.h>
#include <rte_rcu_qsbr.h>

#define VSW_FDB_NO_PORT UINT16_MAX
#define VSW_FDB_ANY_VLAN UINT16_MAX /* flush: every VLAN */

/* An entry's key: the same MAC may live in two VLANs on two ports. 8 bytes, no padding. */
struct vsw_fdb_key {
	struct rte_ether_addr mac;
	uint16_t vlan; /* 0: the untagged domain of ports without a VLAN setting */
};

struct vsw_fdb;

struct vsw_fdb_params {
	uint32_t size;        /* most entries the table holds */
	uint32_t port_limit;  /* most learned entries per port (0: size) */
	uint32_t aging_s;     /* idle seconds before a learned entry goes (0: never) */
	uint16_t max_ports;
	struct rte_rcu_qsbr *qsbr; /* readers' quiescent states; NULL when single-threaded */
};

struct vsw_fdb_entry {
	struct rte_ether_addr mac;
	uint16_t vlan;
	uint16_t port;
	bool is_static;
	uint64_t age_s; /* seconds since last seen (0 for static) */
};

enum vsw_learn_result { VSW_LEARN_OK, VSW_LEARN_MOVED, VSW_LEARN_NEW, VSW_LEARN_LIMIT, VSW_LEARN_FULL };

struct vsw_fdb *vsw_fdb_create(const char *name, const struct vsw_fdb_params *p);
void vsw_fdb_free(struct vsw_fdb *fdb);

/* Data path. Learn n source keys seen on port at time now; results may be NULL. */
void vsw_fdb_learn(struct vsw_fdb *fdb, const struct vsw_fdb_key *keys, unsigned n,
		   uint16_t port, uint64_t now, enum vsw_learn_result *results);
/* Look up n destination keys; out[i] is the port or VSW_FDB_NO_PORT. */
void vsw_fdb_lookup(struct vsw_fdb *fdb, const struct vsw_fdb_key *keys, unsigned n,
		    uint16_t *out);

/* Changes with every change of a MAC's port or presence: a reader that cached a lookup (or a
 * refresh) made under the same generation may reuse it. */
uint32_t vsw_fdb_gen(const struct vsw_fdb *fdb);

/* Control path (one thread). */
int vsw_fdb_add_static(struct vsw_fdb *fdb, const struct vsw_fdb_key *key, uint16_t port);
int vsw_fdb_del(struct vsw_fdb *fdb, const struct vsw_fdb_key *key);
/* Removes learned entries (and statics too if with_static) on port, or everywhere for NO_PORT,
 * in one VLAN or in every one (VSW_FDB_ANY_VLAN). */
unsigned vsw_fdb_flush(struct vsw_fdb *fdb, uint16_t port, uint16_t vlan, bool with_static);
unsigned vsw_fdb_age(struct vsw_fdb *fdb, uint64_t now);
void vsw_fdb_set_aging(struct vsw_fdb *fdb, uint32_t aging_s);
uint32_t vsw_fdb_aging(const struct vsw_fdb *fdb);
/* Learned entries on port; for VSW_FDB_NO_PORT, every entry in the table. */
unsigned vsw_fdb_count(const struct vsw_fdb *fdb, uint16_t port);
/* Calls fn for each entry (port VSW_FDB_NO_PORT: every port); stops when fn returns non-zero. */
int vsw_fdb_walk(struct vsw_fdb *fdb, uint16_t port, uint64_t now,
		 int (*fn)(const struct vsw_fdb_entry *e, void *arg), void *arg);

/* A consistency check for tests, made while no learner runs: scans the slots and the hash. */
struct vsw_fdb_audit {
	uint32_t keys;       /* keys in the hash */
	uint32_t bad_keys;   /* keys whose slot holds another key */
	uint32_t idle_keys;  /* keys whose slot is empty (not an error) */
	uint32_t live;       /* live slots */
	uint32_t orphans;    /* live slots that their key does not map to */
	uint32_t statics;    /* live static slots */
	uint32_t *learned;   /* caller's array of max_ports: learned entries per port found */
};
/* Fills a; returns 0 when the counts equal the scan, the bounds hold and every key and live
 * slot agree, -EINVAL otherwise. */
int vsw_fdb_audit(const struct vsw_fdb *fdb, struct vsw_fdb_audit *a);

#endif
