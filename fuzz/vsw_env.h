/* vsw_env.h: vswd's control-side code (port table, FDB, loss, stats, the vswctl language)
 * running in a fuzz target, on an EAL without hugepages, with no PMD thread. */
#ifndef FUZZ_VSW_ENV_H
#define FUZZ_VSW_ENV_H
#include "vswd.h"

/* Starts the EAL and the switch once (ports: none); 0 or exits. */
int fz_vsw_init(const char *name);
/* Back to the state after fz_vsw_init: no port, empty FDB, default aging, counters zero. */
void fz_vsw_reset(void);
/* PMD 0 made ready to switch, as fwd.c's pmd_init makes a PMD: its MAC cache, tx buffers. */
struct vsw_pmd *fz_vsw_pmd(void);
/* A frame as a device hands it over: one mbuf, or two chained (a device that scatters). */
struct rte_mbuf *fz_frame(const uint8_t *d, uint16_t len, bool chain);
/* Aborts unless port idx's books balance: received = forwarded + every ingress drop. */
void fz_books(const struct vsw_pmd *pmd, uint16_t idx);
/* Aborts if an mbuf was lost or freed twice: the pool's use back at baseline. */
void fz_pool_check(unsigned baseline);
#endif
