/* vhost-user ports on the net_vhost PMD. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_dev.h>
#include <rte_eth_vhost.h>
#include <rte_ethdev.h>
#include <rte_vhost.h>

#include "offer.h"
#include "unix_socket.h"
#include "vhost.h"

/* A server socket path is free if nothing exists there, or only a socket nobody listens on
 * (left by a crashed process: removed, as OVS does). */
static int check_server_path(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int rc = unix_listening(path);

	if (rc < 0) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return rc;
	}
	if (stat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "socket path in use: %s exists and is not a socket", path);
		return -EEXIST;
	}
	if (rc == 1) {
		snprintf(err, errlen, "socket path in use: %s has a listener", path);
		return -EADDRINUSE;
	}
	unlink(path);
	return 0;
}

struct vhp_vrings *vhp_live[RTE_MAX_ETHPORTS];

/* What vring needs to know of each port; lock orders its hand-overs (link events come from
 * rte_vhost's thread, ticks from the switch's). */
static struct {
	bool vring;
	void (*quiesce)(void);
	pthread_mutex_t lock;
	struct vhp_vrings *cur;
	struct vhp_vring_counters gone; /* of attachments gone */
} ports[RTE_MAX_ETHPORTS];

static void hold(uint16_t port_id)
{
	__atomic_store_n(&vhp_live[port_id], VHP_HOLD, __ATOMIC_SEQ_CST);
	if (ports[port_id].quiesce != NULL)
		ports[port_id].quiesce();
}

/* Adds the counters of an attachment's two rings to c. */
static void add_rings(struct vhp_vring_counters *c, const struct vhp_vrings *v)
{
	c->frames_in += v->rx.frames;
	c->frames_out += v->tx.frames;
	c->bad += v->rx.bad + v->tx.bad;
	c->dropped += v->tx.dropped;
	c->no_mbuf += v->rx.no_mbuf;
}

static void detach(uint16_t port_id)
{
	struct vhp_vrings *v = ports[port_id].cur;

	hold(port_id);
	/* rte_vhost takes over from where the rings are (and tells a stopping guest) */
	vr_detach(&v->rx, v->vid, 1);
	vr_detach(&v->tx, v->vid, 0);
	add_rings(&ports[port_id].gone, v);
	free(v);
	ports[port_id].cur = NULL;
	__atomic_store_n(&vhp_live[port_id], NULL, __ATOMIC_RELEASE);
}

static const struct rte_vhost_user_extern_ops msg_ops;

static void attach(uint16_t port_id, int vid)
{
	struct vhp_vrings *v = calloc(1, sizeof(*v)), *held = VHP_HOLD;

	if (v == NULL)
		return; /* rte_vhost keeps the rings */
	hold(port_id);
	v->vid = vid;
	rte_vhost_extern_callback_register(vid, &msg_ops, NULL);
	/* published only if no message made what vr_attach read stale meanwhile (before_msg) */
	if (vr_attach(&v->rx, vid, 1) != 0 || vr_attach(&v->tx, vid, 0) != 0 ||
	    !__atomic_compare_exchange_n(&vhp_live[port_id], &held, v, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST)) {
		vr_detach(&v->rx, vid, 1);
		vr_detach(&v->tx, vid, 0);
		free(v);
		__atomic_store_n(&vhp_live[port_id], NULL, __ATOMIC_RELEASE);
		return;
	}
	ports[port_id].cur = v;
}

/* Before rte_vhost handles a message that would change what a vring runs on: dirty logging
 * turned on (vring logs nothing: rte_vhost does, under its queue locks), a new memory table
 * (rte_vhost unmaps the old one without destroy_device), new ring addresses. The rings are
 * held before the message takes effect, and the next tick gives them to rte_vhost or takes
 * them again (vhp_refresh). In rte_vhost's thread, with its queue locks held: so nothing
 * here takes a lock (a tick may hold ports[].lock while it waits for rte_vhost's), and the
 * forwarding threads never wait for rte_vhost's locks while they drive a vring (vr_notify). */
static enum rte_vhost_msg_result before_msg(int vid, void *msg)
{
	enum { SET_FEATURES = 2, SET_MEM_TABLE = 5, SET_VRING_ADDR = 9 }; /* vhost-user requests */
	uint32_t req;
	uint64_t f;

	memcpy(&req, msg, sizeof(req)); /* the wire format: request, flags, size, payload */
	if (req == SET_FEATURES) {
		memcpy(&f, (const char *)msg + 12, sizeof(f));
		if (!(f & (1ULL << VHOST_F_LOG_ALL)))
			return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	} else if (req != SET_MEM_TABLE && req != SET_VRING_ADDR) {
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	}
	for (uint16_t p = 0; p < RTE_MAX_ETHPORTS; p++) {
		struct vhp_vrings *v = VHP_HOLD;

		if (!ports[p].vring || rte_eth_vhost_get_vid_from_port_id(p) != vid)
			continue;
		/* an attach under way publishes nothing; a live vring is held */
		if (__atomic_compare_exchange_n(&vhp_live[p], &v, VHP_STALE, false,
						__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			break;
		if (v != NULL && !vhp_held(v) &&
		    __atomic_compare_exchange_n(&vhp_live[p], &v, VHP_HOLD, false,
						__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST) &&
		    ports[p].quiesce != NULL)
			ports[p].quiesce();
		break;
	}
	return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
}

static const struct rte_vhost_user_extern_ops msg_ops = {.pre_msg_handle = before_msg};

void vhp_refresh(uint16_t port_id)
{
	int vid = rte_eth_vhost_get_vid_from_port_id(port_id);
	struct rte_eth_link link;
	uint64_t f = 0;
	bool want;

	pthread_mutex_lock(&ports[port_id].lock);
	want = ports[port_id].vring && vid >= 0 && rte_eth_link_get_nowait(port_id, &link) == 0 &&
	       link.link_status == RTE_ETH_LINK_UP &&
	       rte_vhost_get_negotiated_features(vid, &f) == 0 &&
	       !(f & vr_unsupported_features()) && rte_vhost_get_vring_num(vid) == 2;
	/* held by before_msg: given back, then taken again if the guest's state allows */
	if (ports[port_id].cur != NULL &&
	    (!want || ports[port_id].cur->vid != vid || vhp_vrings(port_id) != ports[port_id].cur))
		detach(port_id);
	if (want && ports[port_id].cur == NULL)
		attach(port_id, vid);
	pthread_mutex_unlock(&ports[port_id].lock);
}

void vhp_vring_counters(uint16_t port_id, struct vhp_vring_counters *c)
{
	const struct vhp_vrings *v;

	pthread_mutex_lock(&ports[port_id].lock);
	v = ports[port_id].cur;
	*c = ports[port_id].gone;
	if (v != NULL)
		add_rings(c, v);
	pthread_mutex_unlock(&ports[port_id].lock);
}

/* In rte_vhost's thread, inside its new_device and destroy_device: so the rings are handed
 * back before rte_vhost reports their position to a stopping guest or unmaps its memory. */
static int on_link(uint16_t port_id, enum rte_eth_event_type type, void *ctx, void *ret)
{
	(void)type, (void)ctx, (void)ret;
	vhp_refresh(port_id);
	return 0;
}

#define F(x) (1ULL << (x))
/* Offloads on: checksum offload and TCP segmentation offload (IPv4 and IPv6; DPDK's virtio
 * driver offers TSO only with both) both ways. Never UFO or ECN, which the switch does not
 * handle. Off: none of them, as OVS-DPDK without userspace TSO. */
#define NEVER (F(VIRTIO_NET_F_GSO) | F(VIRTIO_NET_F_HOST_UFO) | F(VIRTIO_NET_F_GUEST_UFO) |      \
	       F(VIRTIO_NET_F_HOST_ECN) | F(VIRTIO_NET_F_GUEST_ECN))
#define OFFLOADS (F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_HOST_TSO4) | \
		  F(VIRTIO_NET_F_HOST_TSO6) | F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6))

int vhp_create(const char *name, const struct vhp_params *p, uint16_t *port_id, char *err,
	       size_t errlen)
{
	char dev[RTE_DEV_NAME_MAX_LEN], args[PATH_MAX + 128];
	int rc;

	if (!p->client) {
		rc = check_server_path(p->path, err, errlen);
		if (rc < 0)
			return rc;
	}
	snprintf(dev, sizeof(dev), "net_vhost_%s", name);
	/* Without client=1 rte_vhost listens; with it rte_vhost connects and reconnects. tso=1
	 * keeps the host TSO features net_vhost would otherwise turn off; ext-buffer=1 dequeues a
	 * frame larger than an mbuf (a 64 KB TSO frame) into one external buffer instead of a
	 * chain of 32 mbufs (rte_malloc'd; a chain again when that fails). */
	snprintf(args, sizeof(args), "%s,iface=%s,queues=%u,client=%d,tso=%d,ext-buffer=%d", dev,
		 p->path, p->queues, p->client ? 1 : 0, p->offloads ? 1 : 0, p->offloads ? 1 : 0);
	rc = rte_dev_probe(args);
	if (rc != 0) {
		snprintf(err, errlen, "cannot create vhost port on %s: %s", p->path,
			 strerror(rc < 0 ? -rc : EINVAL));
		return rc < 0 ? rc : -EINVAL;
	}
	rc = rte_eth_dev_get_port_by_name(dev, port_id);
	if (rc != 0) {
		rte_eal_hotplug_remove("vdev", dev);
		snprintf(err, errlen, "vhost port %s has no ethdev", dev);
		return -ENODEV;
	}
	if (vhp_offer_set(*port_id, p->path, NEVER | (p->offloads ? 0 : OFFLOADS)) != 0) {
		rte_eal_hotplug_remove("vdev", dev);
		snprintf(err, errlen, "vhost port %s: out of memory", dev);
		return -ENOMEM;
	}
	pthread_mutex_init(&ports[*port_id].lock, NULL);
	ports[*port_id].vring = p->vring; /* one queue pair (port_vhost.c checks) */
	ports[*port_id].quiesce = p->quiesce;
	ports[*port_id].gone = (struct vhp_vring_counters){0};
	/* before any guest can attach: the socket starts in the ethdev's configure */
	rte_eth_dev_callback_register(*port_id, RTE_ETH_EVENT_INTR_LSC, on_link, NULL);
	return 0;
}

int vhp_destroy(uint16_t port_id)
{
	char dev[RTE_ETH_NAME_MAX_LEN];

	if (rte_eth_dev_get_name_by_port(port_id, dev) != 0)
		return -ENODEV;
	pthread_mutex_lock(&ports[port_id].lock); /* the rings back to rte_vhost first */
	ports[port_id].vring = false;
	pthread_mutex_unlock(&ports[port_id].lock);
	vhp_refresh(port_id);
	while (rte_eth_dev_callback_unregister(port_id, RTE_ETH_EVENT_INTR_LSC, on_link, NULL) ==
	       -EAGAIN)
		usleep(100);
	rte_eth_dev_stop(port_id);
	rte_eth_dev_close(port_id);
	vhp_offer_clear(port_id);
	/* rte_vhost unregisters the socket driver and unlinks a server socket here */
	return rte_eal_hotplug_remove("vdev", dev);
}

bool vhp_connected(uint16_t port_id)
{
	return rte_eth_vhost_get_vid_from_port_id(port_id) >= 0;
}

bool vhp_offered(uint16_t port_id)
{
	return vhp_offer_in_force(port_id);
}

uint64_t vhp_features(uint16_t port_id)
{
	int vid = rte_eth_vhost_get_vid_from_port_id(port_id);
	uint64_t f;

	return vid >= 0 && rte_vhost_get_negotiated_features(vid, &f) == 0 ? f : 0;
}

void vhp_feature_names(uint64_t features, void (*add)(const char *name, void *ctx), void *ctx)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{VIRTIO_NET_F_CSUM, "csum"},
		{VIRTIO_NET_F_GUEST_CSUM, "guest_csum"},
		{VIRTIO_NET_F_HOST_TSO4, "host_tso4"},
		{VIRTIO_NET_F_HOST_TSO6, "host_tso6"},
		{VIRTIO_NET_F_GUEST_TSO4, "guest_tso4"},
		{VIRTIO_NET_F_GUEST_TSO6, "guest_tso6"},
		{VIRTIO_NET_F_MRG_RXBUF, "mrg_rxbuf"},
		{VIRTIO_RING_F_EVENT_IDX, "event_idx"},
		{VIRTIO_RING_F_INDIRECT_DESC, "indirect_desc"},
		{VIRTIO_F_IN_ORDER, "in_order"},
		{VIRTIO_F_RING_PACKED, "packed"},
		{VIRTIO_NET_F_MQ, "mq"},
	};

	for (unsigned i = 0; i < RTE_DIM(names); i++)
		if (features & F(names[i].bit))
			add(names[i].name, ctx);
}

bool vhp_poll_txqs(uint16_t port_id, uint32_t *txq_mask)
{
	struct rte_eth_vhost_queue_event ev;
	uint32_t old = *txq_mask;

	while (rte_eth_vhost_get_queue_event(port_id, &ev) == 0) {
		if (ev.rx || ev.queue_id >= 32)
			continue; /* the guest's tx rings are our rx queues: always polled */
		if (ev.enable)
			*txq_mask |= 1u << ev.queue_id;
		else
			*txq_mask &= ~(1u << ev.queue_id);
	}
	return *txq_mask != old;
}
