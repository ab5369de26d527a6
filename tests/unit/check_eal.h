/* check_eal.h: an EAL for a C unit test.  Its file prefix is NAME-PID, so that two runs at once
 * (two build trees, meson's parallel tests) never share one, and its runtime directory under
 * /var/run/dpdk is removed again at exit: a test leaves nothing behind. */
#ifndef VSW_UNIT_CHECK_EAL_H
#define VSW_UNIT_CHECK_EAL_H
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <rte_eal.h>

static char check_eal_dir[128];

static void check_eal_rmdir(void)
{
	rmdir(check_eal_dir); /* empty: --no-shconf keeps the EAL's files out of it */
}

/* args: argv[0] and the test's EAL arguments, without --file-prefix; rte_eal_init's result. */
static inline int check_eal_init(int argc, char **args, const char *name)
{
	static char prefix[96];
	char *all[64];
	int n = 0;

	snprintf(prefix, sizeof(prefix), "--file-prefix=%s-%d", name, (int)getpid());
	snprintf(check_eal_dir, sizeof(check_eal_dir), "/var/run/dpdk/%s-%d", name, (int)getpid());
	for (int i = 0; i < argc && n < 62; i++)
		all[n++] = args[i];
	all[n++] = prefix;
	all[n] = NULL;
	atexit(check_eal_rmdir);
	return rte_eal_init(n, all);
}
#endif
