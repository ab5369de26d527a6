/* Port kind "vhost": a vhost-user socket, through the vhost/ module. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_net.h>

#include "vhost.h"
#include "vswd.h"

/* vring hands rings over once the forwarding threads have passed a quiescent state */
static void quiesce(void)
{
	if (vsw.qsbr != NULL)
		rte_rcu_qsbr_synchronize(vsw.qsbr, RTE_QSBR_THRID_INVALID);
}

static int vhost_open(struct vsw_port *p, int argc, char **argv, char *err, size_t errlen)
{
	const char *v, *path = NULL, *mode = "server";
	struct vhp_params vp;
	int vring = -1; /* default: on where it can be (one queue pair); faster (README) */
	bool on;
	int rc;

	p->offloads = true; /* what kernel guests need for fast TCP; DPDK guests ask for less */

	for (int i = 0; i < argc; i++) {
		if (vsw_kv(argv[i], "path", &v)) {
			path = v;
		} else if (vsw_kv(argv[i], "mode", &v)) {
			mode = v;
		} else if (vsw_kv(argv[i], "offloads", &v)) {
			if (vsw_on_off("offloads", v, &p->offloads, err, errlen) != 0)
				return -EINVAL;
		} else if (vsw_kv(argv[i], "vring", &v)) {
			if (vsw_on_off("vring", v, &on, err, errlen) != 0)
				return -EINVAL;
			vring = on;
		} else if (vsw_kv(argv[i], "queues", &v)) {
			char *end;
			long q = strtol(v, &end, 10);

			if (*v == '\0' || *end != '\0' || q < 1 || q > VSW_MAX_QUEUES) {
				snprintf(err, errlen, "bad queues '%s': 1 to %d", v, VSW_MAX_QUEUES);
				return -EINVAL;
			}
			p->queues = (uint16_t)q;
		} else {
			snprintf(err, errlen,
				 "unknown vhost option '%s' (path=, mode=, queues=, offloads=, vring=)",
				 argv[i]);
			return -EINVAL;
		}
	}
	if (path == NULL || path[0] == '\0') {
		snprintf(err, errlen, "vhost port needs path=SOCKET");
		return -EINVAL;
	}
	if (vring == 1 && p->queues > 1) {
		snprintf(err, errlen, "vring=on drives one queue pair: not with queues=%u", p->queues);
		return -EINVAL;
	}
	if (strcmp(mode, "server") != 0 && strcmp(mode, "client") != 0) {
		snprintf(err, errlen, "bad mode '%s': server or client", mode);
		return -EINVAL;
	}
	p->client = strcmp(mode, "client") == 0;
	rc = vsw_trust_vhost_path(path, p->client, p->path, sizeof(p->path), err, errlen);
	if (rc != 0)
		return rc;
	/* net_vhost leaves a partial checksum as it is (RX_L4_CKSUM_NONE) instead of filling it
	 * in software, when the checksum offloads are asked for */
	if (p->offloads)
		p->rx_offloads = RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
	vp = (struct vhp_params){.path = p->path,
				 .client = p->client,
				 .queues = p->queues,
				 .offloads = p->offloads,
				 .vring = vring < 0 ? p->queues == 1 : vring,
				 .quiesce = quiesce};
	return vhp_create(p->name, &vp, &p->port_id, err, errlen);
}

static int vhost_configured(struct vsw_port *p, char *err, size_t errlen)
{
	if (vhp_offered(p->port_id))
		return 0;
	snprintf(err, errlen, "vhost port %s: its socket offers virtio features it should not",
		 p->name);
	return -EIO;
}

static void vhost_close(struct vsw_port *p)
{
	vhp_destroy(p->port_id);
}

static void add_name(const char *name, void *ctx)
{
	json_array_append_new(ctx, json_string(name));
}

/* Who drives the rings: vring (vswd's own loop), rte_vhost, or none (no guest). */
static const char *vhost_rings(const struct vsw_port *p)
{
	struct vhp_vrings *v = vhp_vrings(p->port_id);

	if (v != NULL)
		return "vring";
	return vhp_connected(p->port_id) ? "rte_vhost" : "none";
}

static void vhost_describe(const struct vsw_port *p, json_t *o)
{
	struct vhp_vring_counters c;
	json_t *features;

	json_object_set_new(o, "path", json_string(p->path));
	json_object_set_new(o, "mode", json_string(p->client ? "client" : "server"));
	json_object_set_new(o, "queues", json_integer(p->queues));
	json_object_set_new(o, "connected", json_boolean(vhp_connected(p->port_id)));
	json_object_set_new(o, "offloads", json_string(p->offloads ? "on" : "off"));
	json_object_set_new(o, "rings", json_string(vhost_rings(p)));
	vhp_vring_counters(p->port_id, &c);
	json_object_set_new(o, "vring",
			    json_pack("{s:I, s:I, s:I, s:I, s:I}", "frames_in",
				      (json_int_t)c.frames_in, "frames_out", (json_int_t)c.frames_out,
				      "bad_descriptors", (json_int_t)c.bad, "no_room",
				      (json_int_t)c.dropped, "no_mbuf", (json_int_t)c.no_mbuf));
	features = json_array();
	vhp_feature_names(vhp_features(p->port_id), add_name, features);
	json_object_set_new(o, "negotiated", features);
}

/* A guest with checksum offload takes partial checksums; with TSO4/TSO6 too, large TCP
 * frames (the virtio spec has no TSO without checksum offload). */
static uint8_t vhost_tx_caps(const struct vsw_port *p)
{
	uint64_t f = p->offloads ? vhp_features(p->port_id) : 0;
	uint8_t caps = 0;

	if (f & (1ULL << VIRTIO_NET_F_GUEST_CSUM)) {
		caps |= VSW_OL_CSUM;
		if (f & (1ULL << VIRTIO_NET_F_GUEST_TSO4))
			caps |= VSW_OL_TSO4;
		if (f & (1ULL << VIRTIO_NET_F_GUEST_TSO6))
			caps |= VSW_OL_TSO6;
	}
	return caps;
}

static bool vhost_poll_txqs(struct vsw_port *p)
{
	vhp_refresh(p->port_id); /* retries a hand-over that found a ring not ready */
	return vhp_poll_txqs(p->port_id, &p->txq_mask);
}

const struct vsw_port_ops vsw_port_vhost = {
	.kind = "vhost",
	.open = vhost_open,
	.close = vhost_close,
	.describe = vhost_describe,
	.poll_txqs = vhost_poll_txqs,
	.configured = vhost_configured,
	.tx_caps = vhost_tx_caps,
};
