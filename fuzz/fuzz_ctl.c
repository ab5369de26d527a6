/* Fuzz target "ctl": control socket requests (ctl.c's reader and its JSON parsing).
 *
 * The request as ctl.c reads it from a client (one line, or up to end of file; 64 KiB at most) and
 * parses it (JSON {"argv": [...]}) before the vswctl language runs it.  ctl.c is compiled in here
 * so that its static reader is reached as a client's bytes reach it: through a socket. */
#include <sys/socket.h>

#include "../vswitch/ctl.c"
#include "vsw_env.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return fz_vsw_init("fuzz_ctl");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct client c = {.fd = -1};
	int sv[2];
	size_t off = 0;
	bool keep = true;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	c.fd = sv[0];
	c.in = malloc(REQ_MAX);
	/* the client's bytes, then its end of file; read as they come, as vsw_ctl_poll does */
	while (keep && c.out == NULL) {
		if (off < size) {
			ssize_t w = write(sv[1], data + off, size - off);

			if (w > 0)
				off += (size_t)w;
			if (off == size)
				shutdown(sv[1], SHUT_WR);
		} else if (size == 0) {
			shutdown(sv[1], SHUT_WR);
		}
		keep = client_read(&c);
	}
	if (c.out != NULL) {
		char sink[4096];

		while (client_write(&c)) /* the socket is full: the client reads */
			while (read(sv[1], sink, sizeof(sink)) > 0)
				;
		if (c.out_len == 0 || c.out[c.out_len - 1] != '\n')
			abort(); /* every reply sent whole ends with its newline */
	}
	close(sv[0]);
	close(sv[1]);
	free(c.in);
	free(c.out);
	fz_vsw_reset();
	return 0;
}
