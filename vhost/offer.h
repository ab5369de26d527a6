/* offer: the virtio features withdrawn from a vhost port's socket before it starts (offer.c
 * says why this cannot wait until after rte_eth_dev_configure). */
#ifndef VHP_OFFER_H
#define VHP_OFFER_H

#include <stdbool.h>
#include <stdint.h>

/* Withdraws the feature bits withdraw from the socket at path when it starts; -1 if the
 * table is full or out of memory. */
int vhp_offer_set(const char *path, uint64_t withdraw);
/* Forgets path's entry (the port is gone). */
void vhp_offer_clear(const char *path);
/* True if the started socket at path offers none of withdraw. */
bool vhp_offer_in_force(const char *path, uint64_t withdraw);

#endif
