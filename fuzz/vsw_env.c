/* vsw_env.c: see vsw_env.h.  What keeps a fuzz target harmless: the only devices it can ever
 * create are net_null and net_ring (in memory) and server-mode net_vhost sockets in its own
 * temporary folder.  Every probe of vswd's port code goes through rte_dev_probe, which this
 * build wraps (-Wl,--wrap=rte_dev_probe): anything else (a TAP or af_packet interface in the
 * kernel, a client-mode vhost connecting to a path outside, a PCI device, pcap files) is
 * refused as if the device were missing, after vswd has parsed and checked the whole request. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_log.h>
#include <rte_malloc.h>

#include "check_eal.h"
#include "vsw_env.h"

struct vsw_switch vsw; /* main.c's, which the fuzz targets do not link */
int vsw_logtype;

static char tmpdir[64];

int __real_rte_dev_probe(const char *devargs);
int __wrap_rte_dev_probe(const char *devargs);

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int __wrap_rte_dev_probe(const char *devargs)
{
	if (starts(devargs, "net_null") || starts(devargs, "net_ring")) {
		if (strchr(devargs, '=') != NULL) /* net_ring's nodeaction=, net_null's options */
			return -ENODEV;
		return __real_rte_dev_probe(devargs);
	}
	if (starts(devargs, "net_vhost")) { /* vhost.c: "DEV,iface=PATH,queues=N,client=0" */
		const char *iface = strstr(devargs, ",iface="),
			   *client = strstr(devargs, ",client=0");
		size_t n = strlen(tmpdir);

		if (iface != NULL && client != NULL && strncmp(iface + 7, tmpdir, n) == 0 &&
		    iface[7 + n] == '/' && strchr(iface + 7 + n + 1, '/') == NULL &&
		    strstr(devargs, "client=1") == NULL)
			return __real_rte_dev_probe(devargs);
	}
	return -ENODEV;
}

static void rm_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz: cannot remove %s\n", tmpdir);
}

int fz_vsw_init(const char *name)
{
	char *eal[] = {"fuzz",		 "--no-huge",	     "-m", "256", "--no-pci", "--no-shconf",
		       "--no-telemetry", "--log-level=crit", "-l", "0",	  NULL};
	struct vsw_fdb_params fp;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vswkit-fuzz-%d", (int)getpid());
	if (mkdir(tmpdir, 0700) != 0) {
		perror(tmpdir);
		exit(1);
	}
	atexit(rm_tmpdir);
	if (check_eal_init(RTE_DIM(eal) - 1, eal, name) < 0) {
		fprintf(stderr, "fuzz: no EAL\n");
		exit(1);
	}
	vsw_logtype = rte_log_register("vswd.fuzz");
	pthread_mutex_init(&vsw.lock, NULL);
	vsw.cfg = (struct vsw_config){.ctl_gid = -1,
				      .n_pmds = 1,
				      .fdb_size = 256,
				      .fdb_port_limit = 16,
				      .fdb_aging_s = 300,
				      .mtu = 1500,
				      .nb_mbufs = 8191};
	vsw.max_frame = vsw.cfg.mtu + RTE_ETHER_HDR_LEN + 4;
	vsw_trust_vhost_dir(tmpdir);
	vsw_trust_file_dir(tmpdir);
	vsw.pool = rte_pktmbuf_pool_create("fz_mbufs", vsw.cfg.nb_mbufs, 256, 0,
					   RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (vsw.pool == NULL || vsw_ol_init() != 0 ||
	    vsw_dp_init() != 0) /* no PMD registers with RCU: no waiting */
		exit(1);
	fp = (struct vsw_fdb_params){.size = vsw.cfg.fdb_size,
				     .port_limit = vsw.cfg.fdb_port_limit,
				     .aging_s = vsw.cfg.fdb_aging_s,
				     .max_ports = VSW_MAX_PORTS,
				     .qsbr = vsw.qsbr};
	vsw.fdb = vsw_fdb_create("fz_fdb", &fp);
	if (vsw.fdb == NULL)
		exit(1);
	vsw.pmds[0] = (struct vsw_pmd){.lcore = 0, .index = 0};
	return 0;
}

void fz_vsw_reset(void)
{
	vsw_port_del_all();
	vsw_fdb_flush(vsw.fdb, VSW_FDB_NO_PORT, VSW_FDB_ANY_VLAN, true);
	vsw_fdb_set_aging(vsw.fdb, vsw.cfg.fdb_aging_s);
	vsw_stats_clear(NULL);
}
