/*
 * capgen.h - a test utility (never installed) that writes synthetic Java
 * Card CAP files, so tests and benchmarks can load packages of any size
 * without a Java Card SDK.
 *
 * The CAP files are well-formed as far as host/cap.c and a loader care:
 * Header, Directory, Import, Applet, Class, Method, StaticField,
 * ConstantPool, RefLocation (and optionally Descriptor) with their right
 * tags and u2 sizes, a Directory that lists those sizes and the import and
 * applet counts, a Header whose flags match. The bodies of Class, Method
 * and the rest are minimal or filler: no card could run them, but vcard
 * does not run Java Card bytecode (DESIGN §3), it keeps the load file.
 * The Method component is padded with a deterministic pattern to reach the
 * size asked for.
 *
 * capgen_make() builds the components in memory, so a test can check them,
 * damage them, or concatenate them itself; capgen_write() puts them in a
 * ZIP archive, and capgen_write_entries() writes any list of entries, for
 * archives that are wrong on purpose.
 */
#ifndef ECARD_TESTS_CAPGEN_H
#define ECARD_TESTS_CAPGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cap.h"

struct capgen_applet {
	const uint8_t *aid;
	size_t aid_len;
};

struct capgen_spec {
	const uint8_t *package_aid;
	size_t package_aid_len;
	uint8_t version_major;
	uint8_t version_minor;
	const char *package_path;	/* "com/example/purse"; NULL: "capgen/test" */
	const struct capgen_applet *applets;	/* none makes a library package */
	size_t applet_count;
	/* Bytes wanted in the load file data block; the Method component is
	 * padded to reach it. Smaller than the minimum gives the minimum. */
	size_t target_size;
	uint8_t format_minor;		/* CAP format 2.1 or 2.2; 0 means 2.1 */
	bool descriptor;		/* also write a Descriptor component */
};

/* What capgen_make() built: each component whole, tag and size included. */
struct capgen_cap {
	char package_path[EC_CAP_NAME_MAX];
	uint8_t *component[EC_CAP_TAG_LAST + 1];	/* NULL: not present */
	size_t len[EC_CAP_TAG_LAST + 1];
};

/*
 * Build the components for spec. 0 on success (free with capgen_free()),
 * -1 when the spec cannot be met (an AID not 5 to 16 bytes, more than 255
 * applets, a target_size beyond what one Method component can reach, no
 * memory).
 */
int capgen_make(const struct capgen_spec *spec, struct capgen_cap *out);
void capgen_free(struct capgen_cap *cap);

/*
 * Write the components of cap as a CAP file at path, under
 * "<package_path>/javacard/", with a META-INF/MANIFEST.MF. 0 or -1.
 */
int capgen_write(const struct capgen_cap *cap, const char *path);

/* capgen_make() then capgen_write(). 0 or -1. */
int capgen_write_spec(const struct capgen_spec *spec, const char *path);

/* Any ZIP archive: each entry a name and its bytes. 0 or -1. */
struct capgen_entry {
	const char *name;
	const void *data;
	size_t len;
};
int capgen_write_entries(const struct capgen_entry *entries, size_t n, const char *path);

#endif
