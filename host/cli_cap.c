/*
 * cli_cap.c - `ecard cap info FILE`: what a CAP file holds and what a
 * GlobalPlatform loader would send of it (DESIGN §3, §5). The reading and
 * checking is libecard's (cap.h); this file only prints. No card is
 * involved, so the verb never connects to a reader.
 */
#include "cli.h"

#include <string.h>

#include "cap.h"
#include "hex.h"

const char cli_usage_cap[] =
	"usage: ecard cap info [--json] FILE\n"
	"\n"
	"Read the Java Card CAP file FILE and show its package (AID, version,\n"
	"name), its applets, the Java Card version it was converted for, the\n"
	"packages it imports, a table of its components with their sizes and\n"
	"whether each goes into the load file, and the size and SHA-256 of the\n"
	"load file data block (Header, Directory, Import, Applet, Class,\n"
	"Method, StaticField, Export, ConstantPool, RefLocation: the bytes\n"
	"LOAD sends inside C4, and what INSTALL [for load] and DAP hash).\n"
	"\n"
	"--json prints {file, cap_format, javacard_version, package {aid,\n"
	"version, name}, applets [{aid, install_method_offset}], imports [{aid,\n"
	"version}], components [{name, tag, size, in_load_file}], load_file\n"
	"{size, sha256}, load_data_size}; AIDs in upper-case hex, the SHA-256 in\n"
	"lower case as sha256sum prints it, javacard_version null when unknown.\n"
	"\n"
	"Exit status 2 when FILE cannot be read or is not a well-formed CAP file.\n"
	"\n"
	"example: ecard cap info applet.cap\n";

static bool in_load_file(int tag)
{
	for (size_t i = 0; i < EC_CAP_LOAD_COMPONENTS; i++)
		if ((int)ec_cap_load_order[i] == tag)
			return true;
	return false;
}

static void print_json(const char *path, const struct ec_cap *cap)
{
	char hash[2 * CRYPTO_SHA256_LEN + 1];
	bool first;

	fputs("{\"file\": ", stdout);
	cli_json_string(stdout, path);
	printf(", \"cap_format\": \"%u.%u\", \"javacard_version\": ", cap->format_major,
	       cap->format_minor);
	if (cap->javacard_version)
		cli_json_string(stdout, cap->javacard_version);
	else
		fputs("null", stdout);

	fputs(",\n \"package\": {\"aid\": ", stdout);
	cli_json_hex(stdout, cap->package.aid.bytes, cap->package.aid.len);
	printf(", \"version\": \"%u.%u\", \"name\": ", cap->package.major, cap->package.minor);
	cli_json_string(stdout, cap->package_name);
	fputs("},\n \"applets\": [", stdout);
	for (size_t i = 0; i < cap->applet_count; i++) {
		printf("%s{\"aid\": ", i ? ", " : "");
		cli_json_hex(stdout, cap->applets[i].aid.bytes, cap->applets[i].aid.len);
		printf(", \"install_method_offset\": %u}", (unsigned)cap->applets[i].install_method_offset);
	}
	fputs("],\n \"imports\": [", stdout);
	for (size_t i = 0; i < cap->import_count; i++) {
		printf("%s{\"aid\": ", i ? ", " : "");
		cli_json_hex(stdout, cap->imports[i].aid.bytes, cap->imports[i].aid.len);
		printf(", \"version\": \"%u.%u\"}", cap->imports[i].major, cap->imports[i].minor);
	}
	fputs("],\n \"components\": [", stdout);
	first = true;
	for (int tag = EC_CAP_HEADER; tag <= EC_CAP_TAG_LAST; tag++) {
		const struct ec_cap_component_info *ci = &cap->components[tag];
		if (!ci->present)
			continue;
		printf("%s\n  {\"name\": \"%s\", \"tag\": %d, \"size\": %zu, \"in_load_file\": %s}",
		       first ? "" : ",", ec_cap_component_name(tag), tag, ci->size,
		       in_load_file(tag) ? "true" : "false");
		first = false;
	}
	cli_hex_lower(cap->load_file_sha256, CRYPTO_SHA256_LEN, hash);
	printf("\n ],\n \"load_file\": {\"size\": %zu, \"sha256\": \"%s\"}, \"load_data_size\": %zu}\n",
	       cap->load_file_len, hash, cap->load_data_len);
}

static void print_text(const struct ec_cap *cap)
{
	char hex[2 * EC_CAP_AID_MAX + 1];
	char hash[2 * CRYPTO_SHA256_LEN + 1];

	hex_encode(cap->package.aid.bytes, cap->package.aid.len, hex);
	printf("package      %s version %u.%u (", hex, cap->package.major, cap->package.minor);
	cli_print_safe(stdout, cap->package_name, strlen(cap->package_name));
	fputs(")\n", stdout);
	if (cap->applet_count == 0)
		fputs("applets      none (a library package)\n", stdout);
	for (size_t i = 0; i < cap->applet_count; i++) {
		hex_encode(cap->applets[i].aid.bytes, cap->applets[i].aid.len, hex);
		printf("%-12s %s\n", i ? "" : "applet", hex);
	}
	printf("cap format   %u.%u, Java Card %s\n", cap->format_major, cap->format_minor,
	       cap->javacard_version ? cap->javacard_version : "version unknown");
	for (size_t i = 0; i < cap->import_count; i++) {
		hex_encode(cap->imports[i].aid.bytes, cap->imports[i].aid.len, hex);
		printf("%-12s %s version %u.%u\n", i ? "" : "imports", hex, cap->imports[i].major,
		       cap->imports[i].minor);
	}

	printf("\n%-14s %4s %8s  %s\n", "component", "tag", "bytes", "in load file");
	for (int tag = EC_CAP_HEADER; tag <= EC_CAP_TAG_LAST; tag++) {
		const struct ec_cap_component_info *ci = &cap->components[tag];
		if (!ci->present)
			continue;
		printf("%-14s %4d %8zu  %s\n", ec_cap_component_name(tag), tag, ci->size,
		       in_load_file(tag) ? "yes" : "no");
	}

	cli_hex_lower(cap->load_file_sha256, CRYPTO_SHA256_LEN, hash);
	printf("\nload file    %zu bytes (%zu with C4 and its length)\n", cap->load_file_len,
	       cap->load_data_len);
	printf("SHA-256      %s\n", hash);
}

int verb_cap(struct cli *cli, int argc, char **argv)
{
	struct ec_error err = { 0 };
	struct ec_cap *cap;
	int npos;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(cli_usage_cap, stdout);
		return EXIT_SUCCESS;
	}
	if (argc < 2 || strcmp(argv[1], "info") != 0) {
		cli_error("\"ecard cap\" needs \"info\" and a CAP file: run \"ecard cap --help\".");
		return EXIT_USAGE;
	}
	int r = cli_verb_args(cli, argc - 1, argv + 1, NULL, &npos);
	if (r != CLI_CONTINUE)
		return r;
	if (npos != 1) {
		cli_error("\"ecard cap info\" takes exactly one CAP file: run \"ecard cap --help\".");
		return EXIT_USAGE;
	}
	const char *path = argv[2];

	/* struct ec_cap holds every applet and import a CAP file can list:
	 * too large to put on the stack of a command-line verb lightly. */
	cap = malloc(sizeof(*cap));
	if (!cap) {
		cli_error("out of memory while reading %s: close other programs and try again.", path);
		return EXIT_USAGE;
	}
	if (ec_cap_open(path, cap, &err) != EC_OK) {
		free(cap);
		return cli_fail(&err);
	}
	if (cli->json)
		print_json(path, cap);
	else
		print_text(cap);
	ec_cap_free(cap);
	free(cap);
	return EXIT_SUCCESS;
}
