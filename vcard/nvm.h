/*
 * nvm.h - the card's persistent memory: image layout, atomic transactions,
 * recovery at power-up, and allocation of persistent objects.
 *
 * The whole image is mirrored in RAM for reading; the medium (storage.h) is
 * the authority. Writes inside a transaction change only the mirror and are
 * remembered as ranges; commit writes them to a redo journal, seals it with
 * a checksummed commit record, copies them to their home and clears the
 * record. At power-up a sealed record is replayed (roll forward), anything
 * else is ignored (roll back: homes were never touched). Every physical
 * write goes through one function, which is also what tearing counts.
 */
#ifndef VCARD_NVM_H
#define VCARD_NVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage.h"

#define VC_NVM_DEFAULT_SIZE (256u * 1024u)
#define VC_NVM_DEFAULT_JOURNAL (8u * 1024u)
#define VC_NVM_MAX_OBJECTS 128

struct vc_nvm_range {
	uint32_t off;
	uint32_t len;
};

struct vc_nvm {
	struct vc_storage *st;
	uint8_t *mirror;
	size_t size;

	uint32_t journal_off;	/* commit record, then the journal body */
	uint32_t journal_size;
	uint32_t table_off;	/* object table */
	uint32_t heap_off;	/* object data */
	uint32_t heap_size;

	bool sync_on_commit;
	bool in_tx;
	struct vc_nvm_range *ranges;	/* write set of the open transaction */
	size_t n_ranges;
	size_t cap_ranges;
	size_t journal_needed;		/* journal bytes the write set takes */
	uint8_t *journal_buf;		/* scratch for building the body */
	uint32_t seq;

	unsigned long writes;		/* physical writes since power-up */
	bool dead;			/* power lost: refuse everything */
	bool recovered;			/* the last power-up replayed a journal */
};

/* Lay out a fresh image on empty storage (not torn: done at the factory). */
enum vc_status vc_nvm_format(struct vc_storage *st, uint32_t journal_size);

/* Power-up: read the image, recover the journal, build the mirror. */
enum vc_status vc_nvm_open(struct vc_nvm *nvm, struct vc_storage *st);

/*
 * Why the card image at path cannot be opened or powered up, in one
 * sentence for its user: missing, not a regular file, no permission, in
 * use by process N, empty, shorter than its own header says (N of M
 * bytes), not a card image, a damaged header, a format version this ecard
 * does not take. Writes "" when the file looks like a valid image (its
 * records can still be damaged: the power-up says so). Returns why.
 */
const char *vc_nvm_diagnose_file(const char *path, char *why, size_t cap);
/* The same, for an image that failed with st (opened or powered up, and
 * closed again since): the diagnosis, or st's text when the file looks
 * right. */
const char *vc_nvm_explain(const char *path, enum vc_status st, char *why, size_t cap);
void vc_nvm_close(struct vc_nvm *nvm);

enum vc_status vc_nvm_begin(struct vc_nvm *nvm);
enum vc_status vc_nvm_commit(struct vc_nvm *nvm);
enum vc_status vc_nvm_abort(struct vc_nvm *nvm);

enum vc_status vc_nvm_read(const struct vc_nvm *nvm, uint32_t off, void *buf, size_t len);
/* Transactional write: only inside a transaction. */
enum vc_status vc_nvm_write(struct vc_nvm *nvm, uint32_t off, const void *buf, size_t len);
/*
 * Immediate write to the home location, outside any journal. It is atomic
 * under tearing only for a single byte (a torn write lands a prefix), so it
 * is used for one-byte counters that must move before a check (PIN tries).
 * Refused for a range the open transaction has written.
 */
enum vc_status vc_nvm_write_now(struct vc_nvm *nvm, uint32_t off, const void *buf, size_t len);
/* Direct pointer into the mirror for reading (valid until the next write). */
const uint8_t *vc_nvm_peek(const struct vc_nvm *nvm, uint32_t off, size_t len);

/*
 * Persistent objects: (owner, tag) -> a zero-filled area of the heap.
 * Owner 0 is the platform; applet instances get their own owner ids.
 * Allocation and freeing are transactional (they open and commit a
 * transaction of their own when none is open).
 */
struct vc_nvm_object {
	uint32_t owner;
	uint16_t tag;
	uint32_t off;
	uint32_t size;
};

enum vc_status vc_nvm_alloc(struct vc_nvm *nvm, uint32_t owner, uint16_t tag,
			    uint32_t size, struct vc_nvm_object *obj);
enum vc_status vc_nvm_find(const struct vc_nvm *nvm, uint32_t owner, uint16_t tag,
			   struct vc_nvm_object *obj);
enum vc_status vc_nvm_free(struct vc_nvm *nvm, uint32_t owner, uint16_t tag);
/* Free every object of an owner (applet deletion). */
enum vc_status vc_nvm_free_owner(struct vc_nvm *nvm, uint32_t owner);
/* Bytes of heap not allocated. */
uint32_t vc_nvm_free_space(const struct vc_nvm *nvm);

#endif
