/*
 * javacard.h - what ecard reads inside a Java Card load file data block:
 * the sequence of CAP components (tag u1, size u2, info), the package AID
 * and version from the Header component, and the applet AIDs from the
 * Applet component. The card manager parses what LOAD delivered with it;
 * the host's CAP reader (host/cap.c) parses the same components.
 */
#ifndef ECARD_JAVACARD_H
#define ECARD_JAVACARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JC_AID_MAX 16
#define JC_MAX_APPLETS 8

enum jc_component {
	JC_HEADER = 1,
	JC_DIRECTORY = 2,
	JC_APPLET = 3,
	JC_IMPORT = 4,
	JC_CONSTANT_POOL = 5,
	JC_CLASS = 6,
	JC_METHOD = 7,
	JC_STATIC_FIELD = 8,
	JC_REFERENCE_LOCATION = 9,
	JC_EXPORT = 10,
	JC_DESCRIPTOR = 11,
	JC_DEBUG = 12,
};

struct jc_aid {
	uint8_t len;
	uint8_t bytes[JC_AID_MAX];
};

struct jc_package {
	uint8_t cap_minor, cap_major;		/* CAP format version */
	uint8_t minor, major;			/* package version */
	struct jc_aid aid;
	size_t n_applets;
	struct jc_aid applets[JC_MAX_APPLETS];
};

/* Parse a Header component's info (after tag and size). */
bool jc_parse_header(const uint8_t *info, size_t len, struct jc_package *pkg);
/* Parse an Applet component's info into pkg->applets. */
bool jc_parse_applets(const uint8_t *info, size_t len, struct jc_package *pkg);

/*
 * Walk a load file data block (components back to back): every component
 * well formed and inside the block, a Header first; fills pkg from the
 * Header and Applet components.
 */
bool jc_parse_load_file(const uint8_t *data, size_t len, struct jc_package *pkg);

#endif
