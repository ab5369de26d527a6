/* vsw_env.h: vswd's control-side code (port table, FDB, loss, stats, the vswctl language)
 * running in a fuzz target, on an EAL without hugepages, with no PMD thread. */
#ifndef FUZZ_VSW_ENV_H
#define FUZZ_VSW_ENV_H
#include "vswd.h"

/* Starts the EAL and the switch once (ports: none); 0 or exits. */
int fz_vsw_init(const char *name);
/* Back to the state after fz_vsw_init: no port, empty FDB, default aging, counters zero. */
void fz_vsw_reset(void);
#endif
