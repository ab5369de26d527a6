/* The Toeplitz hash against the Microsoft RSS verification suite (IPv4, with and without
 * ports), and the symmetric key's symmetry. */
#include <arpa/inet.h>
#include "gs_priv.h"
#include "check.h"

static uint32_t ip(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return ntohl(a.s_addr);
}

int main(void)
{
	static const struct {
		const char *dst, *src;
		uint16_t dport, sport;
		uint32_t l4, l3;
	} v[] = {
		{"161.142.100.80", "66.9.149.187", 1766, 2794, 0x51ccc178, 0x323e8fc2},
		{"65.69.140.83", "199.92.111.2", 4739, 14230, 0xc626b0ea, 0xd718262a},
		{"12.22.207.184", "24.19.198.95", 38024, 12898, 0x5c2b394a, 0xd2d0a5de},
		{"209.142.163.6", "38.27.205.30", 2217, 48228, 0xafc7327f, 0x82989176},
		{"202.188.127.2", "153.39.163.191", 1303, 44251, 0x10e828a2, 0x5d1809c5},
	};
	for (unsigned int i = 0; i < RTE_DIM(v); i++) {
		uint32_t s = ip(v[i].src), d = ip(v[i].dst);
		CHECK_EQ(gs_softrss(s, d, v[i].sport, v[i].dport, true, false), v[i].l4);
		CHECK_EQ(gs_softrss(s, d, v[i].sport, v[i].dport, false, false), v[i].l3);
		/* symmetric key: both directions hash alike */
		CHECK_EQ(gs_softrss(s, d, v[i].sport, v[i].dport, true, true),
			 gs_softrss(d, s, v[i].dport, v[i].sport, true, true));
	}
	return CHECK_DONE();
}
