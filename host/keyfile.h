/*
 * keyfile.h - the small text files that hold ecard's keys and settings:
 * the issuer key directory (issuer.h) and the merchant file (merchant.h).
 *
 * A key file is lines of "name=value"; values are hex for keys and
 * certificates, decimal for numbers. Blank lines and lines starting with
 * '#' are comments. A file holds at most EC_KEYFILE_ENTRIES entries and
 * EC_KEYFILE_MAX bytes.
 *
 * Writing is atomic: the text goes to a new file created with O_EXCL next
 * to the target (same directory, so same file system), is synced, and
 * only then takes the target's name, so a crash leaves either no file or a
 * whole one. An existing target is left alone unless the caller asks to
 * replace it. Secret files get mode 0600; reading a secret file that its
 * group or others may read is refused, the way ssh refuses a private key
 * with loose permissions, because such a key must be considered exposed.
 *
 * struct ec_keyfile holds the whole text, secrets included: wipe it with
 * ec_keyfile_wipe() on every path once the values are copied out.
 */
#ifndef ECARD_KEYFILE_H
#define ECARD_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define EC_KEYFILE_MAX 4096
#define EC_KEYFILE_ENTRIES 16
#define EC_KEYFILE_NAME_MAX 32

/* Flags of ec_keyfile_write. */
#define EC_KEYFILE_SECRET 0x1u		/* mode 0600 instead of 0644 */
#define EC_KEYFILE_OVERWRITE 0x2u	/* replace an existing file */

struct ec_keyfile_entry {
	const char *name;	/* both point into text */
	const char *value;
};

struct ec_keyfile {
	char text[EC_KEYFILE_MAX];
	size_t len;
	struct ec_keyfile_entry entry[EC_KEYFILE_ENTRIES];
	size_t count;
	bool overflow;		/* an append did not fit: writing is refused */
};

/* Start an empty file to be built with the ec_keyfile_add_* functions. */
void ec_keyfile_init(struct ec_keyfile *kf);
/* "# text" on a line of its own. */
void ec_keyfile_add_comment(struct ec_keyfile *kf, const char *text);
void ec_keyfile_add_hex(struct ec_keyfile *kf, const char *name, const uint8_t *value, size_t len);
void ec_keyfile_add_u32(struct ec_keyfile *kf, const char *name, uint32_t value);

/*
 * Write the text built so far to path (see the top of this file). flags:
 * EC_KEYFILE_SECRET, EC_KEYFILE_OVERWRITE. An existing path without
 * EC_KEYFILE_OVERWRITE gives EC_ERR_EXISTS.
 */
enum ec_status ec_keyfile_write(const struct ec_keyfile *kf, const char *path, unsigned flags,
				struct ec_error *err);

/*
 * Read and parse path. secret: refuse (EC_ERR_INSECURE) a file its group
 * or others can read. Not a regular file, larger than EC_KEYFILE_MAX, a line
 * without '=', a name given twice or too many entries: EC_ERR_FORMAT.
 */
enum ec_status ec_keyfile_read(struct ec_keyfile *kf, const char *path, bool secret,
			       struct ec_error *err);

/* The value of name, or NULL. */
const char *ec_keyfile_get(const struct ec_keyfile *kf, const char *name);
/* Exactly len bytes of hex (EC_ERR_FORMAT otherwise; path names the file
 * in the message). */
enum ec_status ec_keyfile_get_hex(const struct ec_keyfile *kf, const char *path,
				  const char *name, uint8_t *out, size_t len,
				  struct ec_error *err);
/* A decimal number up to UINT32_MAX. */
enum ec_status ec_keyfile_get_u32(const struct ec_keyfile *kf, const char *path,
				  const char *name, uint32_t *out, struct ec_error *err);

void ec_keyfile_wipe(struct ec_keyfile *kf);

#endif
