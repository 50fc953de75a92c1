/*
 * mkcap.c - write a synthetic CAP file for the benchmark (tests/capgen.c):
 * package AID, version 1.0, one applet, a load file data block of the
 * size asked for. The benchmark cannot link Criterion, so it cannot use
 * the test programs to make one.
 *
 * usage: mkcap PATH BYTES [PACKAGE_AID [APPLET_AID]]
 *   BYTES   bytes of the load file data block (what `ecard gp load` sends,
 *           without its C4 header), from 200 to about 65600
 *   AIDs    hex, 5 to 16 bytes; default A0000004455043424E and
 *           A0000004455043424E01 (the applet's must start with the package's)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capgen.h"
#include "hex.h"

static int usage(void)
{
	fputs("usage: mkcap PATH BYTES [PACKAGE_AID [APPLET_AID]]\n", stderr);
	return 2;
}

static int parse_aid(const char *what, const char *text, uint8_t out[16], size_t *len)
{
	long n = hex_decode(text, out, 16);
	if (n < 5 || n > 16) {
		fprintf(stderr, "mkcap: %s \"%s\" is not an AID of 5 to 16 bytes in hex.\n", what, text);
		return -1;
	}
	*len = (size_t)n;
	return 0;
}

int main(int argc, char **argv)
{
	uint8_t package[16], applet[16];
	size_t package_len, applet_len;
	char *end;

	if (argc < 3 || argc > 5)
		return usage();
	errno = 0;
	unsigned long bytes = strtoul(argv[2], &end, 10);
	if (errno || end == argv[2] || *end || argv[2][0] == '-' || bytes < 200 || bytes > 1000000) {
		fprintf(stderr, "mkcap: BYTES \"%s\" is not a size from 200 to about 65600.\n", argv[2]);
		return 2;
	}
	if (parse_aid("PACKAGE_AID", argc > 3 ? argv[3] : "A0000004455043424E", package,
		      &package_len) != 0 ||
	    parse_aid("APPLET_AID", argc > 4 ? argv[4] : "A0000004455043424E01", applet, &applet_len) != 0)
		return 2;

	const struct capgen_applet app = { applet, applet_len };
	const struct capgen_spec spec = {
		.package_aid = package,
		.package_aid_len = package_len,
		.version_major = 1,
		.version_minor = 0,
		.package_path = "com/ecard/bench",
		.applets = &app,
		.applet_count = 1,
		.target_size = bytes,
	};
	if (capgen_write_spec(&spec, argv[1]) != 0) {
		fprintf(stderr, "mkcap: cannot write a CAP file of %lu bytes to %s (too big for one Method component, or the path is not writable).\n",
			bytes, argv[1]);
		return 1;
	}
	return 0;
}
