/* kudp: the kernel's UDP path for bench/udp, as fair as we can make it: sendmmsg/recvmmsg in
 * batches of 64, one socket, the same payload size and flows as gs-udpperf.
 *   kudp send DST PORT SIZE SECONDS FLOWS    (flow f goes to PORT+f)
 *   kudp recv PORT FLOWS IDLE_EXIT_S MAX_S
 * Prints one JSON line: {"role":..., "pkts":N, "seconds":S, "pps":P}. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sender(const char *dst, int port, int size, double secs, int flows)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	static char buf[BATCH][2048];
	struct sockaddr_in to[BATCH];
	struct iovec iov[BATCH];
	struct mmsghdr msg[BATCH];
	unsigned long long pkts = 0;

	memset(msg, 0, sizeof(msg));
	for (int i = 0; i < BATCH; i++) {
		to[i] = (struct sockaddr_in){.sin_family = AF_INET};
		inet_pton(AF_INET, dst, &to[i].sin_addr);
		iov[i] = (struct iovec){buf[i], (size_t)size};
		msg[i].msg_hdr.msg_name = &to[i];
		msg[i].msg_hdr.msg_namelen = sizeof(to[i]);
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
	}
	double t0 = now(), t = t0;
	for (unsigned int k = 0; t - t0 < secs; k++) {
		for (int i = 0; i < BATCH; i++)
			to[i].sin_port = htons((uint16_t)(port + (int)((k * BATCH + i) % flows)));
		int n = sendmmsg(fd, msg, BATCH, 0);
		if (n > 0)
			pkts += (unsigned long long)n;
		else if (errno != ENOBUFS && errno != EAGAIN)
			return perror("sendmmsg"), 1;
		if ((k & 15) == 0)
			t = now();
	}
	t = now();
	printf("{\"role\":\"send\",\"pkts\":%llu,\"seconds\":%.6f,\"pps\":%.1f}\n", pkts, t - t0,
	       (double)pkts / (t - t0));
	return 0;
}

static int receiver(int port, int flows, double idle, double max)
{
	static char buf[BATCH][2048];
	struct iovec iov[BATCH];
	struct mmsghdr msg[BATCH];
	struct pollfd pfd[1024];
	unsigned long long pkts = 0;
	double first = 0, last = 0, start = now();

	if (flows > 1024)
		flows = 1024;
	for (int f = 0; f < flows; f++) {
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(port + f))};
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), big = 8 << 20;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
			return perror("bind"), 1;
		pfd[f] = (struct pollfd){.fd = fd, .events = POLLIN};
	}
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){buf[i], sizeof(buf[i])};
		memset(&msg[i], 0, sizeof(msg[i]));
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
	}
	printf("{\"role\":\"recv\",\"ready\":true}\n");
	fflush(stdout);
	for (;;) {
		double t = now();
		if (t - start > max || (pkts && t - last > idle))
			break;
		if (poll(pfd, (nfds_t)flows, 100) <= 0)
			continue;
		for (int f = 0; f < flows; f++) {
			int n;
			while ((n = recvmmsg(pfd[f].fd, msg, BATCH, MSG_DONTWAIT, NULL)) > 0) {
				last = now();
				if (!pkts)
					first = last;
				pkts += (unsigned long long)n;
			}
		}
	}
	double secs = last > first ? last - first : 0;
	printf("{\"role\":\"recv\",\"pkts\":%llu,\"seconds\":%.6f,\"pps\":%.1f}\n", pkts, secs,
	       secs > 0 ? (double)pkts / secs : 0.0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 7 && strcmp(argv[1], "send") == 0)
		return sender(argv[2], atoi(argv[3]), atoi(argv[4]), atof(argv[5]), atoi(argv[6]));
	if (argc == 6 && strcmp(argv[1], "recv") == 0)
		return receiver(atoi(argv[2]), atoi(argv[3]), atof(argv[4]), atof(argv[5]));
	fprintf(stderr, "usage: kudp send DST PORT SIZE SECONDS FLOWS | kudp recv PORT FLOWS "
			"IDLE_EXIT_S MAX_S\n");
	return 2;
}
