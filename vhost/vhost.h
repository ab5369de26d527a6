/* vhost: vhost-user ports for the switch. The only place that knows vhost-user: it creates a
 * net_vhost ethdev (DPDK's rte_vhost library behind the ethdev API, so capture, statistics and
 * the forwarding loop treat it like any other port) and checks the socket path first. */
#ifndef VHP_VHOST_H
#define VHP_VHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ethdev.h>

#include "vring.h"

struct vhp_params {
	const char *path; /* unix socket */
	bool client;      /* vswd connects (and reconnects) to a server-mode QEMU/virtio_user */
	uint16_t queues;  /* queue pairs */
	bool offloads;    /* offer checksum and TCP/IPv4 segmentation offload (see vhost.c) */
	bool vring;       /* drive the rings with vring.c where the guest's features allow */
	/* returns once no forwarding thread still uses what it read of vhp_vrings() before */
	void (*quiesce)(void);
};

/* The rings of a port that the forwarding threads drive themselves (vring.c): while a guest
 * is attached with features vring handles (split or packed ring, one queue pair, no UFO or
 * ECN, no IOMMU, no dirty logging), else NULL: rte_eth_rx_burst/tx_burst (rte_vhost's own
 * path) have them. VHP_HOLD or VHP_STALE (vhp_held) while they change hands: use neither.
 * A guest that renegotiates goes through destroy_device; one that starts dirty logging (a
 * live migration) or changes its memory table or ring addresses while running is caught
 * before rte_vhost handles the message: the rings are held, and the switch's tick hands
 * them to rte_vhost (which logs) or takes them again from the new state. So a vring never
 * runs on features or memory it cannot drive. */
struct vhp_vrings {
	int vid;
	struct vr_queue rx; /* the guest's transmit ring (vring 1) */
	struct vr_queue tx; /* its receive ring (vring 0) */
};
#define VHP_HOLD ((struct vhp_vrings *)1)
#define VHP_STALE ((struct vhp_vrings *)2) /* held, and what is being taken is out of date */
extern struct vhp_vrings *vhp_live[RTE_MAX_ETHPORTS];

static inline struct vhp_vrings *vhp_vrings(uint16_t port_id)
{
	return __atomic_load_n(&vhp_live[port_id], __ATOMIC_ACQUIRE);
}

static inline bool vhp_held(const struct vhp_vrings *v)
{
	return v == VHP_HOLD || v == VHP_STALE;
}

/* Hands the port's rings to vring.c or back to rte_vhost as the guest's state says: called on
 * its link events (inside rte_vhost's new_device and destroy_device) and by the switch's
 * tick. */
void vhp_refresh(uint16_t port_id);
/* The port's vring counters, over all attachments. */
struct vhp_vring_counters {
	uint64_t frames_in;  /* taken from the guest's transmit ring */
	uint64_t frames_out; /* put in its receive buffers */
	uint64_t bad;        /* descriptors refused */
	uint64_t dropped;    /* frames dropped for want of receive buffers */
	uint64_t no_mbuf;    /* frames left in the guest's ring for want of mbufs */
};
void vhp_vring_counters(uint16_t port_id, struct vhp_vring_counters *c);

/* Creates the port; on failure writes one line to err and returns a negative errno. */
int vhp_create(const char *name, const struct vhp_params *p, uint16_t *port_id, char *err,
	       size_t errlen);
/* Stops, closes and removes the port; a server socket file is removed too. */
int vhp_destroy(uint16_t port_id);
/* True while a guest driver is attached. */
bool vhp_connected(uint16_t port_id);
/* True if the port's socket, started in rte_eth_dev_configure, offers what the port should
 * (with or without offloads) and nothing more: offer.c withdraws the rest before the start. */
bool vhp_offered(uint16_t port_id);
/* The virtio features the attached guest negotiated; 0 with no guest. */
uint64_t vhp_features(uint16_t port_id);
/* Writes the names of the negotiated features that matter to a switch (offloads, ring
 * layout, buffers) into a JSON-ready list: calls add(name, ctx) for each. */
void vhp_feature_names(uint64_t features, void (*add)(const char *name, void *ctx), void *ctx);
/* Applies the guest's queue enable/disable events to *txq_mask (bit q: the guest receives on
 * our tx queue q); true if it changed. A guest may use fewer queue pairs than offered. */
bool vhp_poll_txqs(uint16_t port_id, uint32_t *txq_mask);

#endif
