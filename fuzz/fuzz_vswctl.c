/* Fuzz target "vswctl": vswctl commands and --config lines (cmd.c, the port code).
 *
 * The vswctl language as vswd runs it, from a --config file or a control client's words
 * (vsw_cmd_line -> vsw_cmd_exec), over the real port table, FDB, loss injection, stats and path
 * checks.  The input is lines of a config file; the switch is reset after each input.  Devices: see
 * vsw_env.c (nothing outside the process and its temporary folder). */
#include <stdlib.h>
#include <string.h>

#include "vsw_env.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return fz_vsw_init("fuzz_vswctl");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *rest = text, *line;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	while ((line = strsep(&rest, "\n")) != NULL) {
		char err[VSW_ERR_LEN];
		json_t *out = NULL;
		char *s;

		/* the same call as main.c's run_config and ctl.c, and the reply encoded as sent */
		vsw_cmd_line(line, &out, err, sizeof(err));
		s = out != NULL ? json_dumps(out, JSON_COMPACT) : NULL;
		free(s);
		json_decref(out);
	}
	free(text);
	fz_vsw_reset();
	return 0;
}
