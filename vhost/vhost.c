/* vhost-user ports on the net_vhost PMD. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_dev.h>
#include <rte_eth_vhost.h>
#include <rte_ethdev.h>

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
	/* Without client=1 rte_vhost listens; with it rte_vhost connects and reconnects. */
	snprintf(args, sizeof(args), "%s,iface=%s,queues=%u,client=%d", dev, p->path, p->queues,
		 p->client ? 1 : 0);
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
	return 0;
}

int vhp_destroy(uint16_t port_id)
{
	char dev[RTE_ETH_NAME_MAX_LEN];

	if (rte_eth_dev_get_name_by_port(port_id, dev) != 0)
		return -ENODEV;
	rte_eth_dev_stop(port_id);
	rte_eth_dev_close(port_id);
	/* rte_vhost unregisters the socket driver and unlinks a server socket here */
	return rte_eal_hotplug_remove("vdev", dev);
}

bool vhp_connected(uint16_t port_id)
{
	return rte_eth_vhost_get_vid_from_port_id(port_id) >= 0;
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
