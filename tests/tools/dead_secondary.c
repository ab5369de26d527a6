/* dead_secondary --file-prefix NAME: attaches to a DPDK primary as a secondary process, takes
 * the shared memory config's hotplug lock and exits holding it, as a secondary that dies in
 * its memory start-up does (dpdk-dumpcap, when it cannot map the primary's memory). */
#include <stdio.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_eal_memconfig.h>

int main(int argc, char **argv)
{
	char *eal[] = {argv[0], "--proc-type=secondary", "--no-pci", "--log-level=error",
		       argc == 3 ? argv[1] : "", argc == 3 ? argv[2] : "", NULL};

	if (argc != 3) {
		fprintf(stderr, "usage: dead_secondary --file-prefix NAME\n");
		return 2;
	}
	if (rte_eal_init(6, eal) < 0) {
		fprintf(stderr, "dead_secondary: cannot attach to the primary\n");
		return 1;
	}
	rte_mcfg_mem_write_lock();
	_exit(0); /* no unlock, no rte_eal_cleanup: dead with the lock */
}
