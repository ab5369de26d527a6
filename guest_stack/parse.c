/* parse.c: parsing of user input shared by the tools (no EAL needed). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include "gs_priv.h"

int gs_parse_ipv4(const char *s, uint32_t *ip, uint8_t *prefix)
{
	char buf[32];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	struct in_addr a;

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	*ip = ntohl(a.s_addr);
	if (!prefix)
		return slash ? -EINVAL : 0;
	*prefix = 32;
	if (slash) {
		char *end;
		long p = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end || p < 0 || p > 32)
			return -EINVAL;
		*prefix = (uint8_t)p;
	}
	return 0;
}
