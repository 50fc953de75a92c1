/*
 * storage.h - the medium under the card's persistent memory.
 *
 * The persistent memory manager (nvm.c) sees its medium only through this
 * interface, the way SQLite sees files through a VFS. Three backends exist:
 * a file (the card image of ecard-vcard), memory (unit tests) and a tearing
 * wrapper around either, which cuts the power at a chosen write and keeps
 * only a prefix of that write, so every power-loss point can be tested.
 */
#ifndef VCARD_STORAGE_H
#define VCARD_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Status codes shared by the whole card platform. */
enum vc_status {
	VC_OK = 0,
	VC_ERR_IO,		/* the medium failed (file error) */
	VC_ERR_POWER_LOST,	/* a tear: the card has no power any more */
	VC_ERR_FORMAT,		/* not a card image, or an unsupported one */
	VC_ERR_ARG,		/* bad argument or out-of-bounds access */
	VC_ERR_STATE,		/* wrong state: nested transaction, none open... */
	VC_ERR_JOURNAL_FULL,	/* the transaction does not fit the journal */
	VC_ERR_NO_SPACE,	/* persistent memory exhausted */
	VC_ERR_NOT_FOUND,
	VC_ERR_EXISTS,
	VC_ERR_NO_MEMORY,
	VC_ERR_OLD_FORMAT,	/* a card image of a version this one no longer takes */
	VC_ERR_IN_USE,		/* another process (or descriptor) holds the image */
};

const char *vc_status_str(enum vc_status st);

struct vc_storage;

struct vc_storage_ops {
	enum vc_status (*read)(struct vc_storage *s, size_t off, void *buf, size_t len);
	enum vc_status (*write)(struct vc_storage *s, size_t off, const void *buf, size_t len);
	/* Make completed writes durable (fdatasync for a file). */
	enum vc_status (*sync)(struct vc_storage *s);
	void (*destroy)(struct vc_storage *s);
};

struct vc_storage {
	const struct vc_storage_ops *ops;
	size_t size;
};

static inline enum vc_status vc_storage_read(struct vc_storage *s, size_t off, void *buf, size_t len)
{
	return s->ops->read(s, off, buf, len);
}

static inline enum vc_status vc_storage_write(struct vc_storage *s, size_t off, const void *buf, size_t len)
{
	return s->ops->write(s, off, buf, len);
}

static inline enum vc_status vc_storage_sync(struct vc_storage *s)
{
	return s->ops->sync(s);
}

void vc_storage_destroy(struct vc_storage *s);

/*
 * File backend. create fails if the file exists; open needs it to exist.
 * The image is locked for as long as the storage lives: a second open,
 * from another process or from this one, fails with VC_ERR_IN_USE (two
 * cards on one image would each overwrite what the other committed). The
 * lock goes with the process, kill -9 included.
 */
enum vc_status vc_storage_file_create(const char *path, size_t size, struct vc_storage **out);
enum vc_status vc_storage_file_open(const char *path, struct vc_storage **out);

/* The process holding the image's lock, 0 if none or not known. */
long vc_storage_file_holder(const char *path);


/* Memory backend, zero-filled. */
enum vc_status vc_storage_mem_create(size_t size, struct vc_storage **out);
/* Direct access to the bytes of a memory backend (tests compare images). */
uint8_t *vc_storage_mem_bytes(struct vc_storage *s);

/*
 * Tearing wrapper. It counts the writes that reach it; the plan says at
 * which write the power is lost and how many bytes of that write land.
 * After the tear every write fails with VC_ERR_POWER_LOST (the card is
 * dead) until vc_tear_power_up(). Reads keep working: they model the
 * medium, not the card.
 */
#define VC_TEAR_PARTIAL_RANDOM ((size_t)-1)

struct vc_tear_plan {
	unsigned long tear_at;	/* 1-based index of the write to tear; 0 = never */
	size_t partial;		/* bytes of that write that land, or PARTIAL_RANDOM */
	double probability;	/* > 0: tear each write with this probability */
	uint64_t seed;		/* seed of the deterministic fault generator */
};

/* The wrapper takes ownership of inner. */
enum vc_status vc_storage_tear_create(struct vc_storage *inner, struct vc_storage **out);
/* A card image file behind the wrapper, the way the daemons run a card
 * (so that a plan can cut the power at any write): VC_ERR_NOT_FOUND when
 * there is no such file, VC_ERR_NO_MEMORY, or vc_storage_file_open()'s
 * other failures. */
enum vc_status vc_storage_tear_open(const char *path, struct vc_storage **out);
/* Arm a plan; write counting restarts at 0. A plan with tear_at fires
 * once; a random plan stays armed across power-ups. */
void vc_tear_arm(struct vc_storage *s, const struct vc_tear_plan *plan);
void vc_tear_disarm(struct vc_storage *s);
/* Power comes back: writes are accepted again, counting restarts at 0
 * (so a plan armed before power-up counts the writes after it). */
void vc_tear_power_up(struct vc_storage *s);
bool vc_tear_torn(const struct vc_storage *s);
/* Writes since the last arm or power-up. */
unsigned long vc_tear_writes(const struct vc_storage *s);
/*
 * What is armed, for a status line: "off", "write N" (the tear comes at
 * the N-th write from now) or "random P". Writes into buf (32 bytes are
 * enough) and returns it.
 */
const char *vc_tear_describe(const struct vc_storage *s, char *buf, size_t cap);
/* Bytes of the torn write that landed, and its full length. */
void vc_tear_last(const struct vc_storage *s, size_t *landed, size_t *len);

/*
 * A plan from the command line (ecard-vcard's --tear-at and --tear-random).
 * Each sets only the fields its form gives, so both forms may be combined
 * (the later one decides partial); on anything else it returns false and
 * leaves the plan as it was.
 *
 * parse_at: "N" or "N:LEN", decimal: tear the N-th write (N >= 1), letting
 * LEN bytes of it land, a random prefix without LEN. Sets tear_at and
 * partial.
 * parse_random: "SEED,P": tear each write with probability P, 0 < P <= 1
 * (strtod's forms), drawn from SEED (decimal, 0x hex or 0 octal), a random
 * prefix landing. Sets seed, probability and partial.
 */
bool vc_tear_plan_parse_at(const char *arg, struct vc_tear_plan *plan);
bool vc_tear_plan_parse_random(const char *arg, struct vc_tear_plan *plan);

#endif
