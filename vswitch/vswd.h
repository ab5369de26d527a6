/* vswd internals shared by its files: the switch, its ports, the datapath table and counters.
 * The control thread (main lcore) owns struct vsw_switch; PMD lcores see only the published
 * struct vsw_dp_table, their own struct vsw_pmd, the FDB and the link flags. */
#ifndef VSWD_H
#define VSWD_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_spinlock.h>

#include "fdb.h"
#include "maccache.h"

#define VSW_MAX_PORTS RTE_MAX_ETHPORTS /* every port is an ethdev: 32 in Debian's DPDK */
#define VSW_MAX_PMDS 16
#define VSW_MAX_QUEUES 8 /* rx queues per port */
#define VSW_MAX_PMD_RXQ (VSW_MAX_PORTS * VSW_MAX_QUEUES)
#define VSW_BURST 32
#define VSW_NAME_LEN 32
#define VSW_ERR_LEN 256

extern int vsw_logtype;
#define VSW_LOG(level, ...) rte_log(RTE_LOG_##level, vsw_logtype, "vswd: " __VA_ARGS__)

/* Counters one PMD keeps for one port; summed over PMDs when read. The books balance:
 * on the ingress side, rx_packets = forwarded + the ingress drops (malformed, learn_limit,
 * injected, hairpin, no_egress, port_removed, vlan); on the egress side, every copy a forwarded
 * frame becomes (one for unicast, one per port for a flood; summed in the ingress port's
 * `copies`) ends as tx_packets, tx_full, port_down or no_copy of its egress port. */
struct vsw_port_counters {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t forwarded, copies; /* ingress: frames sent on, and the egress copies they made */
	uint64_t drop_tx_full, drop_malformed, drop_learn_limit, drop_port_down, drop_injected;
	uint64_t drop_hairpin, drop_no_egress, drop_port_removed;
	uint64_t drop_vlan;    /* ingress: a VLAN this port, or the unicast egress, does not carry */
	uint64_t drop_no_copy; /* egress: no mbuf for this port's tagged (or untagged) form */
	/* offloads (offload.c): frames received with a partial checksum and those of them that
	 * were large TCP frames; the same sent on to a guest that takes them; checksums filled
	 * and large frames cut into segments here for a port that does not */
	uint64_t rx_csum, rx_tso, tx_csum, tx_tso, csum_sw, gso_frames, gso_segments;
	uint64_t drop_bad_offload; /* ingress: offload metadata that does not fit the frame */
	uint64_t drop_too_big, drop_gso_nomem; /* egress: cannot be cut to fit; out of mbufs */
};

/* Counters of one port that are not per PMD (read from the ethdev). */
struct vsw_port_totals {
	struct vsw_port_counters c;
	uint64_t drop_no_mbuf;
};

struct vsw_pmd_counters {
	uint64_t iterations, busy_iterations, packets, sleeps, busy_cycles, idle_cycles;
};

/* What a PMD needs to send on a port. */
struct vsw_dp_port {
	uint16_t port_id;
	uint16_t txq[VSW_MAX_PMDS];
	rte_spinlock_t *txq_lock; /* non-NULL when PMDs share tx queues of this port */
	uint64_t loss_thresh; /* loss injection (loss.c): 0 off, 2^32 every frame */
	uint32_t loss_seed, loss_gen;
	bool underlay; /* some vxlan port's underlay: its input is looked at first (vxlan.c) */
	bool vhost;    /* a vhost port: its rings may be vring.c's (vhp_vrings) */
	struct vsw_vxlan *vx; /* a vxlan port's tunnel: frames sent to it are encapsulated */
};

struct vsw_dp_rxq {
	uint16_t idx, port_id, queue;
};

#define VSW_VLAN_NONE UINT16_MAX /* vsw_dp_vlan.untagged: untagged frames are not carried */

/* What a port carries, for the data path (vlan_dp.c): untagged frames belong to VLAN
 * `untagged` (an access port's VLAN, a trunk's native one, 0 for a port without a VLAN
 * setting), tagged ones to their tag's VLAN if its bit is set (every VLAN for a port without a
 * setting). */
struct vsw_dp_vlan {
	uint16_t untagged;
	bool tx_offload; /* the port inserts tags from mbuf metadata (RTE_MBUF_F_TX_VLAN) */
	uint64_t tagged[4096 / 64];
};

/* The datapath's view, replaced as a whole when ports change (RCU). */
struct vsw_dp_table {
	bool vlans; /* some port has a VLAN setting: frames are classified by VLAN (vlan_dp.c) */
	struct vsw_dp_port ports[VSW_MAX_PORTS];
	uint16_t active[VSW_MAX_PORTS]; /* port indexes present */
	uint16_t n_active;
	struct {
		uint16_t n;
		struct vsw_dp_rxq q[VSW_MAX_PMD_RXQ];
	} pmd[VSW_MAX_PMDS];
	struct vsw_dp_vlan vlan[VSW_MAX_PORTS]; /* read only when vlans is set */
	struct vsw_vxlan *vxlan[VSW_MAX_PORTS]; /* the vxlan ports' data path state */
	uint16_t n_vxlan;
};

/* The last source learned and the last destination looked up on one ingress port, valid while
 * the FDB generation stays the same: most bursts are one flow, and then skip the hash. */
struct vsw_l2_cache {
	struct rte_ether_addr src, dst;
	uint16_t src_vlan, dst_vlan;
	bool src_ok, dst_ok;
	uint16_t dst_port;
	uint32_t src_gen, dst_gen;
	uint64_t src_now;
};

/* A PMD's loss-injection generator for one ingress port (loss.c). */
struct vsw_loss_rng {
	uint64_t s;
	uint32_t gen; /* the setting it was seeded for */
};

struct vsw_pmd {
	unsigned lcore, index;
	struct vsw_l2_cache l2c[VSW_MAX_PORTS]; /* by ingress port */
	struct vsw_mac_cache *mc; /* bursts of many addresses (maccache.h) */
	struct rte_eth_dev_tx_buffer *txb[VSW_MAX_PORTS];
	struct vsw_port_counters port[VSW_MAX_PORTS];
	struct vsw_loss_rng loss[VSW_MAX_PORTS]; /* by ingress port */
	struct vsw_pmd_counters loop;
	struct vsw_pmd_counters loop_base; /* control thread: at the last `stats clear` */
} __rte_cache_aligned;

struct vsw_port;

/* A kind of port: how to open and close it; all are ethdevs once open. */
struct vsw_port_ops {
	const char *kind;
	/* Parses KEY=VALUE arguments into p and opens the device. */
	int (*open)(struct vsw_port *p, int argc, char **argv, char *err, size_t errlen);
	void (*close)(struct vsw_port *p);
	void (*describe)(const struct vsw_port *p, json_t *o);
	/* NULL, or: updates p->txq_mask from the device, true if the tx queues to use changed */
	bool (*poll_txqs)(struct vsw_port *p);
	/* NULL, or: called once the ethdev is configured, before its queues are set up */
	int (*configured)(struct vsw_port *p, char *err, size_t errlen);
	/* NULL, or: what the port's peer takes of a frame's offloads now (VSW_OL_*) */
	uint8_t (*tx_caps)(const struct vsw_port *p);
	/* rx queues fill their descriptors with mbufs from the pool when set up (NIC, TAP,
	 * af_packet); net_vhost takes mbufs only per received burst */
	bool rx_holds_mbufs;
};

/* A port's VLAN setting (vlan.c): `vlan=ID` (access), `trunks=LIST [native=ID]`, or none. */
enum vsw_vlan_mode { VSW_VLAN_MODE_NONE, VSW_VLAN_MODE_ACCESS, VSW_VLAN_MODE_TRUNK };
struct vsw_port_vlan {
	enum vsw_vlan_mode mode;
	uint16_t vlan; /* access: its VLAN; trunk: the native VLAN, 0 for none */
	uint64_t trunks[4096 / 64];
};

struct vsw_port {
	bool used;
	char name[VSW_NAME_LEN];
	const struct vsw_port_ops *ops;
	uint16_t port_id, nb_rxq, nb_txq;
	uint32_t rx_mbufs; /* mbufs its rx queues hold for good (rx_holds_mbufs kinds) */
	/* kind-specific settings, kept for listing and for close */
	char path[PATH_MAX];
	char dev[256];
	char ip[64];
	bool client;
	bool offloads;        /* vhost: offered to the guest (port_vhost.c) */
	uint64_t rx_offloads; /* RTE_ETH_RX_OFFLOAD_* the kind asks of its device */
	uint16_t queues;
	uint32_t txq_mask; /* tx queues the peer enabled, for kinds with poll_txqs (0: all) */
	rte_spinlock_t txq_lock[VSW_MAX_PMDS];
	uint32_t loss_ppm, loss_seed, loss_gen; /* `port set NAME drop=` (loss.c) */
	struct vsw_port_vlan vlan;              /* `vlan=`, `trunks=` (vlan.c) */
	bool vlan_tx_offload;                   /* the device inserts VLAN tags itself */
	struct vsw_vxlan *vx;                   /* kind vxlan: its tunnel (port_vxlan.c) */
	struct vsw_port_counters base; /* counters at the last `stats clear` */
	uint64_t base_no_mbuf;
};

struct vsw_config {
	char ctl_path[PATH_MAX];
	int ctl_gid; /* --ctl-group, or -1 */
	char config_path[PATH_MAX];
	unsigned pmd_cpus[VSW_MAX_PMDS];
	unsigned n_pmds;
	unsigned pmd_maxsleep_us;
	uint32_t fdb_size, fdb_port_limit, fdb_aging_s;
	unsigned mtu;
	unsigned nb_mbufs;
};

struct vsw_switch {
	struct vsw_config cfg;
	pthread_mutex_t lock; /* control thread vs telemetry thread */
	struct vsw_port ports[VSW_MAX_PORTS];
	struct vsw_pmd pmds[VSW_MAX_PMDS];
	struct vsw_dp_table *dp; /* published with release semantics */
	struct rte_rcu_qsbr *qsbr;
	struct vsw_fdb *fdb;
	struct rte_mempool *pool;
	uint8_t link_up[VSW_MAX_PORTS]; /* written by control, read by PMDs */
	uint32_t max_frame;
	struct rte_mempool *indirect; /* payload references of segments cut here (offload.c) */
	uint8_t tx_caps[VSW_MAX_PORTS]; /* VSW_OL_*: what each port's peer takes, by control */
	pthread_mutex_t link_lock;      /* link_up and tx_caps: the tick vs link events (port.c) */
	volatile bool stop;
	bool closed; /* under lock: the switch is being torn down, telemetry answers nothing */
};

extern struct vsw_switch vsw;

/* clock.c-free time: seconds from the TSC, as the FDB wants them */
static inline uint64_t vsw_now_s(void)
{
	return rte_get_tsc_cycles() / rte_get_tsc_hz();
}

/* trust.c: the paths and devices a control client may name (see the file's comment) */
int vsw_trust_vhost_dir(const char *dir);
int vsw_trust_file_dir(const char *dir);
void vsw_trust_init(void); /* the default --vhost-dir; creates the vhost dirs */
/* The socket path to use for a vhost port's path= (a bare name goes in the first vhost dir). */
int vsw_trust_vhost_path(const char *path, bool client, char *out, size_t outlen, char *err,
			 size_t errlen);
int vsw_trust_dev(const char *spec, char *err, size_t errlen); /* a dpdk port's dev= */

/* port.c */
int vsw_port_add(const char *name, const char *kind, int argc, char **argv, char *err, size_t el);
int vsw_port_del(const char *name, char *err, size_t errlen);
struct vsw_port *vsw_port_find(const char *name);
int vsw_port_index(const struct vsw_port *p);
void vsw_port_del_all(void);
void vsw_ports_poll_link(void);
json_t *vsw_port_json(const struct vsw_port *p);
extern const struct vsw_port_ops vsw_port_vhost, vsw_port_dpdk, vsw_port_tap, vsw_port_vxlan;
const struct vsw_port *vsw_vxlan_user(uint16_t underlay); /* a vxlan port over it, or NULL */
void vsw_vxlan_fdb_json(const struct vsw_port *p, const struct rte_ether_addr *mac, json_t *row);
int vsw_ethdev_remove(uint16_t port_id); /* stop, close, unplug */
void vsw_port_close_ethdev(struct vsw_port *p); /* the close of every plain ethdev kind */
int vsw_kv(const char *arg, const char *key, const char **val); /* key=value matcher */
/* v of key=on|off into *out; else one line in err and -EINVAL */
int vsw_on_off(const char *key, const char *v, bool *out, char *err, size_t errlen);

/* dp.c */
int vsw_dp_init(void);
void vsw_dp_publish(void);
void vsw_dp_fini(void);

/* fwd.c, l2.c */
int vsw_pmd_main(void *arg);
void vsw_l2_input(struct vsw_pmd *pmd, const struct vsw_dp_table *t, uint16_t in,
		  struct rte_mbuf **pkts, uint16_t n, uint64_t now);
void vsw_tx_flush_all(struct vsw_pmd *pmd, const struct vsw_dp_table *t);
void vsw_tx_unsent(struct rte_mbuf **pkts, uint16_t unsent, void *userdata);
/* vring_dp.c: a vhost port's burst in, and its tx buffer out (to queue q), by whichever of
 * vring.c and rte_vhost has its rings. */
uint16_t vsw_vhost_rx(const struct vsw_dp_rxq *q, struct rte_mbuf **pkts);
void vsw_vhost_tx(struct vsw_pmd *pmd, uint16_t idx, uint16_t port_id, uint16_t q);

/* loss.c: loss injection, `port set NAME drop=PERCENT[,seed=N]` */
int vsw_port_set(struct vsw_port *p, int argc, char **argv, char *err, size_t errlen);
uint64_t vsw_loss_thresh(const struct vsw_port *p);
void vsw_loss_json(const struct vsw_port *p, json_t *o);
/* Loses the burst's share of frames (counted); returns how many are left, compacted in pkts. */
uint16_t vsw_loss_burst(struct vsw_pmd *pmd, const struct vsw_dp_port *dp, uint16_t in,
			struct rte_mbuf **pkts, uint16_t n);

/* vlan.c: VLAN settings of ports (control side) */
/* Takes the VLAN words (vlan=, trunks=, native=) out of argv, checks them into *cfg (starting
 * from the port's current setting cur); *found tells whether there was any. */
int vsw_vlan_parse(const char *port, const struct vsw_port_vlan *cur, int *argc, char **argv,
		   struct vsw_port_vlan *cfg, bool *found, char *err, size_t errlen);
void vsw_vlan_apply(struct vsw_port *p, const struct vsw_port_vlan *cfg); /* port in use */
void vsw_vlan_dp(const struct vsw_port *p, struct vsw_dp_vlan *dv);
bool vsw_vlan_any(void); /* some port in use has a VLAN setting */
bool vsw_vlan_carries(const struct vsw_port *p, uint16_t vlan);
uint16_t vsw_vlan_untagged(const struct vsw_port *p); /* VSW_VLAN_NONE: no untagged VLAN */
void vsw_vlan_json(const struct vsw_port *p, json_t *o);
int vsw_vlan_id(const char *s, uint16_t min, uint16_t *v, char *err, size_t errlen);
uint64_t vsw_vlan_tx_offloads(const struct rte_eth_dev_info *info); /* for rte_eth_dev_configure */

/* vlan_dp.c: VLANs on the data path, called from l2.c only when the table's vlans is set */
/* Classifies a burst by VLAN: strips tags into mbuf metadata (vlan_tci), drops what the port
 * does not carry; returns the frames left, compacted, with their VLAN in vid and their
 * addresses in src/dst again (the header moved) and *bytes their length. */
unsigned vsw_vlan_input(struct vsw_pmd *pmd, const struct vsw_dp_table *t, uint16_t in,
			struct rte_mbuf **pkts, unsigned n, uint16_t *vid,
			const struct rte_ether_addr **src, const struct rte_ether_addr **dst,
			uint64_t *bytes);
/* Readies n frames of VLAN vid for port out (tags them where it wants tags); returns the frames
 * left, compacted (a tag that cannot be inserted is counted as no_copy), *bytes their length. */
unsigned vsw_vlan_output(struct vsw_pmd *pmd, const struct vsw_dp_table *t, uint16_t out,
			 uint16_t vid, struct rte_mbuf **pkts, unsigned n, uint64_t *bytes);
/* The ports a flood of frame m in VLAN vid goes to: to[0..*nu) take m as it is (untagged),
 * the others *tagged (m itself, tagged, when no port wants it untagged; else a tagged copy).
 * No references are taken: the caller shares each among its group. Returns how many ports;
 * *lost counts tagged members left without a copy (counted as their no_copy). With 0 and no
 * loss m is untouched. */
unsigned vsw_vlan_flood(struct vsw_pmd *pmd, const struct vsw_dp_table *t, uint16_t in,
			struct rte_mbuf *m, uint16_t vid, uint16_t *to, unsigned *nu,
			struct rte_mbuf **tagged, unsigned *lost);
/* Whether port out carries VLAN vid (an untagged or a tagged member) */
static inline bool vsw_vlan_member(const struct vsw_dp_table *t, uint16_t out, uint16_t vid)
{
	const struct vsw_dp_vlan *v = &t->vlan[out];

	return vid == v->untagged || (vid < 4096 && (v->tagged[vid >> 6] >> (vid & 63)) & 1);
}

/* vxlan.c: the tunnels' data path */
/* Takes what the underlay port in received for a tunnel (VXLAN, ARP for a local address) out
 * of the burst; returns the frames left for switching, compacted. */
uint16_t vsw_vxlan_underlay_input(struct vsw_pmd *pmd, const struct vsw_dp_table *t, uint16_t in,
				  struct rte_mbuf **pkts, uint16_t n, uint64_t now);
/* Encapsulates the frames in vxlan port idx's tx buffer onto its underlay's, at once; false
 * (nothing done) while a capture watches the port: then they go by its ring, where the capture
 * sees them, and vsw_vxlan_poll encapsulates them. */
bool vsw_vxlan_output(struct vsw_pmd *pmd, const struct vsw_dp_table *t, uint16_t idx);
/* Encapsulates what reached vxlan ports' rings, resolves remotes; returns frames sent. */
unsigned vsw_vxlan_poll(struct vsw_pmd *pmd, const struct vsw_dp_table *t, uint64_t now);
/* n frames out of port idx (bytes in all), counted and buffered as the switch's own */
void vsw_l2_tx(struct vsw_pmd *pmd, const struct vsw_dp_table *t, uint16_t idx,
	       struct rte_mbuf **pkts, unsigned n, uint64_t bytes);

/* offload.c: checksum and TCP segmentation offload (see the file) */
#define VSW_OL_CSUM 1 /* the port takes frames with a partial L4 checksum */
#define VSW_OL_TSO4 2 /* and TCP/IPv4 frames longer than the MTU, cut by the peer */
#define VSW_OL_TSO6 4 /* and the same over IPv6 */
#define VSW_OL_TSO (VSW_OL_TSO4 | VSW_OL_TSO6)
#define VSW_TSO_MAX_FRAME (RTE_ETHER_HDR_LEN + 4 + 40 + 65535) /* IPv6's, one VLAN tag */
#define VSW_GSO_MAX_SEGS 768 /* 64 KB at the smallest MSS accepted (88 bytes) */
int vsw_ol_init(void);
void vsw_ol_fini(void);
/* A frame received with RX_LRO or RX_L4_CKSUM_NONE: sets its TX offload flags and header
 * lengths; returns what it needs of the egress (VSW_OL_*), or -1 when the metadata does not
 * fit the frame. */
int vsw_ol_input(struct rte_mbuf *m);
/* What a frame with TX offload flags needs of its egress (VSW_OL_*). */
static inline unsigned vsw_ol_need(const struct rte_mbuf *m)
{
	if (likely((m->ol_flags & (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG)) == 0))
		return 0;
	if (!(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG))
		return VSW_OL_CSUM;
	return VSW_OL_CSUM | (m->ol_flags & RTE_MBUF_F_TX_IPV6 ? VSW_OL_TSO6 : VSW_OL_TSO4);
}
void vsw_ol_csum_sw(struct rte_mbuf *m); /* fills the L4 (and IPv4) checksum, clears the flags */
/* Cuts a large TCP frame into segments with their checksums filled; m keeps its flags and
 * the caller's reference. Returns the number of segments, -E2BIG if they cannot fit the MTU
 * or segs, or -ENOMEM. */
int vsw_ol_segment(struct rte_mbuf *m, struct rte_mbuf **segs, unsigned max);

/* k more references to a frame: each segment of a chain is freed once per reference */
static inline void vsw_mbuf_share(struct rte_mbuf *m, int16_t k)
{
	for (struct rte_mbuf *s = m; s != NULL; s = s->next)
		rte_mbuf_refcnt_update(s, k);
}

/* stats.c */
json_t *vsw_stats_json(const struct vsw_port *only);
void vsw_stats_clear(struct vsw_port *only); /* NULL: all ports and the PMD counters */
void vsw_stats_retire(const struct vsw_port *p); /* a port going: keep it in the switch sums */

/* cmd.c: one command in the vswctl language; *out is the result (a JSON value) */
json_t *vsw_ports_json(void);
json_t *vsw_fdb_json(uint16_t port); /* VSW_FDB_NO_PORT: every port */
json_t *vsw_fdb_json_vlan(uint16_t port, uint16_t vlan); /* VSW_FDB_ANY_VLAN: every VLAN */
int vsw_cmd_exec(int argc, char **argv, json_t **out, char *err, size_t errlen);
int vsw_cmd_line(char *line, json_t **out, char *err, size_t errlen);

/* ctl.c */
int vsw_ctl_check(const char *path, char *err, size_t errlen); /* before EAL: in use? */
int vsw_ctl_open(const char *path, int gid, char *err, size_t errlen); /* gid -1: root's */
void vsw_ctl_poll(int timeout_ms);
void vsw_ctl_close(void);

/* telemetry.c */
void vsw_telemetry_init(void);

#endif
