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

struct vsw_pmd *fz_vsw_pmd(void)
{
	struct vsw_pmd *pmd = &vsw.pmds[0];

	pmd->mc = vsw_mac_cache_create(vsw.cfg.fdb_size, SOCKET_ID_ANY);
	if (pmd->mc == NULL)
		exit(1);
	for (unsigned idx = 0; idx < VSW_MAX_PORTS; idx++) {
		pmd->txb[idx] = rte_zmalloc("fz_txb", RTE_ETH_TX_BUFFER_SIZE(VSW_BURST), 0);
		if (pmd->txb[idx] == NULL)
			exit(1);
		rte_eth_tx_buffer_init(pmd->txb[idx], VSW_BURST);
		rte_eth_tx_buffer_set_err_callback(pmd->txb[idx], vsw_tx_unsent, &pmd->port[idx]);
	}
	return pmd;
}

struct rte_mbuf *fz_frame(const uint8_t *d, uint16_t len, bool chain)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(vsw.pool), *m2;
	uint16_t first = chain ? len / 2 : len;
	char *p;

	if (m == NULL)
		abort();
	if (first > rte_pktmbuf_tailroom(m))
		first = rte_pktmbuf_tailroom(m);
	p = rte_pktmbuf_append(m, first);
	memcpy(p, d, first);
	if (first == len)
		return m;
	m2 = rte_pktmbuf_alloc(vsw.pool);
	if (m2 == NULL)
		abort();
	p = rte_pktmbuf_append(m2, (uint16_t)(len - first));
	if (p == NULL)
		abort(); /* at most 4095 bytes: both halves fit */
	memcpy(p, d + first, len - first);
	if (rte_pktmbuf_chain(m, m2) != 0)
		abort();
	return m;
}

void fz_books(const struct vsw_pmd *pmd, uint16_t idx)
{
	const struct vsw_port_counters *c = &pmd->port[idx];

	if (c->rx_packets != c->forwarded + c->drop_malformed + c->drop_learn_limit +
				 c->drop_injected + c->drop_hairpin + c->drop_no_egress +
				 c->drop_port_removed + c->drop_vlan + c->drop_bad_offload)
		abort();
}

void fz_pool_check(unsigned baseline)
{
	if (rte_mempool_in_use_count(vsw.pool) != baseline ||
	    rte_mempool_in_use_count(vsw.indirect) != 0)
		abort(); /* an mbuf lost (or freed twice) on the way */
}
