/*
 * cap.h - Java Card CAP files, read for GlobalPlatform loading (DESIGN §3).
 *
 * A CAP file is a ZIP (JAR) archive whose entries <package path>/javacard/
 * <Component>.cap each hold one component: a tag byte, a big-endian u2
 * size, then that many bytes (JCVM specification, chapter 6). ec_cap_open()
 * reads one with libzip, checks every component it finds (tag, declared
 * size against the entry's length, Header, Directory, Applet and Import
 * contents), and builds what a loader needs:
 *
 *   load file data block   the components Header, Directory, Import, Applet,
 *                          Class, Method, StaticField, Export, ConstantPool,
 *                          ReferenceLocation concatenated in that order
 *                          (Descriptor and Debug are left out), and its
 *                          SHA-256, the hash that INSTALL [for load] and a
 *                          DAP signature are computed over;
 *   LOAD data              C4 || BER length || load file data block, the
 *                          byte string that LOAD commands carry, which
 *                          ec_cap_block() cuts into numbered blocks.
 *
 * Everything read from the archive is untrusted and goes through struct
 * cursor. struct ec_cap is the caller's; the one buffer behind the load
 * file is allocated by ec_cap_open() and released by ec_cap_free().
 */
#ifndef ECARD_CAP_H
#define ECARD_CAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "error.h"

/* ISO 7816-5 AIDs of packages and applets: 5 to 16 bytes. */
#define EC_CAP_AID_MIN 5
#define EC_CAP_AID_MAX 16

/*
 * Bounds on what an archive may hold before it is refused rather than read:
 * no real CAP file comes near them, a crafted one (a ZIP bomb, millions of
 * entries) would otherwise make us allocate or loop without end.
 */
#define EC_CAP_ENTRY_MAX (8u * 1024u * 1024u)	/* uncompressed bytes of one entry */
#define EC_CAP_ENTRIES_MAX 4096u		/* entries in the archive */
#define EC_CAP_NAME_MAX 256u			/* bytes of an entry's name */

/* A component is at most its 3-byte tag and size plus 65535 bytes. */
#define EC_CAP_COMPONENT_MAX_BYTES (3u + 0xFFFFu)

/* At most C4 83 xx xx xx in front of the load file data block. */
#define EC_CAP_C4_HEADER_MAX 5

/* Component tags (JCVM specification, table 6-1). */
enum ec_cap_component {
	EC_CAP_HEADER = 1,
	EC_CAP_DIRECTORY = 2,
	EC_CAP_APPLET = 3,
	EC_CAP_IMPORT = 4,
	EC_CAP_CONSTANT_POOL = 5,
	EC_CAP_CLASS = 6,
	EC_CAP_METHOD = 7,
	EC_CAP_STATIC_FIELD = 8,
	EC_CAP_REF_LOCATION = 9,
	EC_CAP_EXPORT = 10,
	EC_CAP_DESCRIPTOR = 11,
	EC_CAP_DEBUG = 12,
};
#define EC_CAP_TAG_LAST EC_CAP_DEBUG

/* The components of the load file data block, in their order. */
#define EC_CAP_LOAD_COMPONENTS 10
extern const enum ec_cap_component ec_cap_load_order[EC_CAP_LOAD_COMPONENTS];

struct ec_cap_aid {
	uint8_t len;
	uint8_t bytes[EC_CAP_AID_MAX];
};

/* A package: the one the CAP file defines, or one it imports. */
struct ec_cap_package {
	struct ec_cap_aid aid;
	uint8_t major;
	uint8_t minor;
};

struct ec_cap_applet {
	struct ec_cap_aid aid;
	uint16_t install_method_offset;	/* into the Method component */
};

struct ec_cap_component_info {
	bool present;
	size_t size;	/* the whole component, tag and size included */
};

/* The Applet component counts applets in a u1; the Import allows 128. */
#define EC_CAP_MAX_APPLETS 255
#define EC_CAP_MAX_IMPORTS 128

/*
 * About 8 KiB, since it has room for every applet and import a CAP file
 * can list; keep it off small stacks. Not to be copied: load_file and
 * load_data point into buffer.
 */
struct ec_cap {
	uint8_t format_major;	/* CAP file format, from the Header */
	uint8_t format_minor;
	uint8_t flags;		/* ACC_INT 01, ACC_EXPORT 02, ACC_APPLET 04 */
	struct ec_cap_package package;
	/* "testapplets.empty": the package's path in the archive, with dots. */
	char package_name[EC_CAP_NAME_MAX];
	/*
	 * The Java Card version the package was built for, guessed from the
	 * version of javacard.framework (or else javacard.security or
	 * javacardx.crypto) it imports, as the GlobalPlatform tools do; NULL
	 * when it imports none of them or a version not known here.
	 */
	const char *javacard_version;

	size_t applet_count;
	struct ec_cap_applet applets[EC_CAP_MAX_APPLETS];
	size_t import_count;
	struct ec_cap_package imports[EC_CAP_MAX_IMPORTS];

	/* Indexed by tag; [0] is unused. */
	struct ec_cap_component_info components[EC_CAP_TAG_LAST + 1];

	/* The load file data block and its SHA-256. */
	const uint8_t *load_file;
	size_t load_file_len;
	uint8_t load_file_sha256[CRYPTO_SHA256_LEN];

	/* C4 || length || load file data block: the data of the LOAD commands. */
	const uint8_t *load_data;
	size_t load_data_len;

	uint8_t *buffer;	/* owns both of the above */
};

/*
 * Read and check the CAP file at path. On success cap holds the result and
 * must be released with ec_cap_free(); on failure nothing needs releasing
 * and err says in one sentence what is wrong: EC_ERR_FILE when the file
 * cannot be read, EC_ERR_FORMAT when it is not a well-formed CAP file,
 * EC_ERR_ARG for NULL arguments.
 */
enum ec_status ec_cap_open(const char *path, struct ec_cap *cap, struct ec_error *err);

/*
 * The same for a CAP file already in memory (len bytes at data, which need
 * to stay valid only during the call). name is what error messages call it
 * (NULL: "the CAP file").
 */
enum ec_status ec_cap_open_buffer(const void *data, size_t len, const char *name,
				  struct ec_cap *cap, struct ec_error *err);

/* Release what ec_cap_open() allocated; cap is left empty. NULL is fine. */
void ec_cap_free(struct ec_cap *cap);

/* "Header", "RefLocation"...: the component's file name without ".cap";
 * NULL for a tag that is not one of the twelve. */
const char *ec_cap_component_name(enum ec_cap_component tag);

/*
 * Write the tag and BER length of a C4 TLV holding len bytes: C4 len
 * (len < 128), C4 81 len (< 256), C4 82 hi lo (< 65536), C4 83 ... (< 2^24).
 * Returns the number of bytes written, or 0 when len needs more than three
 * length bytes.
 */
size_t ec_cap_c4_header(size_t len, uint8_t out[EC_CAP_C4_HEADER_MAX]);

/*
 * One LOAD command's share of the LOAD data. P2 carries the block number
 * in one byte; past block FF it wraps to 00 and goes on, as
 * GlobalPlatformPro numbers them, because 256 short blocks (255 bytes
 * less an 8-byte C-MAC) would stop loads near 62 KiB and cards take the
 * wrapped numbering.
 */
struct ec_cap_block {
	const uint8_t *data;	/* points into the data that was split */
	size_t len;
	size_t index;		/* from 0, not wrapped */
	uint8_t number;		/* P2: index modulo 256 */
	bool last;		/* P1 80 rather than 00 */
};

/*
 * How many blocks of at most block_size bytes len bytes make. block_size
 * must be 1 to 65535 (a short APDU takes at most 255, less any MAC the
 * secure channel adds) and len at least 1.
 */
enum ec_status ec_cap_block_count(size_t len, size_t block_size, size_t *count,
				  struct ec_error *err);

/*
 * Block number index (from 0) of the len bytes at data cut into blocks of
 * block_size: every block but the last is full. Same rules as
 * ec_cap_block_count(), and index must be below the count.
 */
enum ec_status ec_cap_block(const uint8_t *data, size_t len, size_t block_size, size_t index,
			    struct ec_cap_block *block, struct ec_error *err);

#endif
