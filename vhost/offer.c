/* The virtio features a vhost port offers, withdrawn before its socket starts.
 *
 * net_vhost registers and starts the socket inside rte_eth_dev_configure, so a caller could
 * only narrow the features after a guest may already have connected and read them (a server
 * mode QEMU answers at once): the guest then acks a feature withdrawn in between, rte_vhost
 * refuses its SET_FEATURES and the link never comes. So rte_vhost_driver_start is defined
 * here: net_vhost's call lands in vswd first (the executable's definition wins the dynamic
 * linker's lookup), withdraws what the path's port does not offer, and starts the socket
 * through rte_vhost's own. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_ethdev.h>
#include <rte_vhost.h>

#include "offer.h"

/* by port id; the start below knows only the path */
static struct {
	char *path;
	uint64_t withdraw;
} offers[RTE_MAX_ETHPORTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

int vhp_offer_set(uint16_t port_id, const char *path, uint64_t withdraw)
{
	char *dup = strdup(path);

	if (dup == NULL)
		return -1;
	pthread_mutex_lock(&lock);
	free(offers[port_id].path);
	offers[port_id].path = dup;
	offers[port_id].withdraw = withdraw;
	pthread_mutex_unlock(&lock);
	return 0;
}

void vhp_offer_clear(uint16_t port_id)
{
	pthread_mutex_lock(&lock);
	free(offers[port_id].path);
	offers[port_id].path = NULL;
	pthread_mutex_unlock(&lock);
}

bool vhp_offer_in_force(uint16_t port_id)
{
	uint64_t f;

	return offers[port_id].path != NULL &&
	       rte_vhost_driver_get_features(offers[port_id].path, &f) == 0 &&
	       (f & offers[port_id].withdraw) == 0;
}

int rte_vhost_driver_start(const char *path)
{
	static int (*start)(const char *);
	uint64_t withdraw = 0;

	if (start == NULL)
		start = (int (*)(const char *))dlsym(RTLD_NEXT, "rte_vhost_driver_start");
	if (start == NULL)
		return -1;
	pthread_mutex_lock(&lock);
	for (unsigned int i = 0; i < RTE_DIM(offers); i++)
		if (offers[i].path != NULL && strcmp(offers[i].path, path) == 0)
			withdraw = offers[i].withdraw;
	pthread_mutex_unlock(&lock);
	if (withdraw != 0 && rte_vhost_driver_disable_features(path, withdraw) != 0)
		return -1;
	return start(path);
}
