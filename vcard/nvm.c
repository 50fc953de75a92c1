/*
 * nvm.c - persistent memory with a redo journal (see nvm.h for the model).
 *
 * Image layout (all integers big-endian):
 *
 *   0       superblock: "ECARDNVM", version, size, journal offset and size,
 *           object table offset, heap offset and size, CRC-32 of the above
 *   512     commit record (32 bytes): "JRNL", sequence, entry count, body
 *           length, body CRC-32, record CRC-32; all zero when no commit is
 *           pending
 *   544     journal body: entries of  offset(4) length(4) bytes(length)
 *   ...     object table: VC_NVM_MAX_OBJECTS entries of 16 bytes
 *   ...     heap
 *
 * Commit order, and what a tear at each step leaves after recovery:
 *   1. body written             torn: record still zero -> before
 *   2. record written           torn: record CRC fails  -> before
 *   3. each range to its home   torn: record valid      -> replay -> after
 *   4. record zeroed            torn: record CRC fails, homes complete -> after
 * Recovery's own writes (replay, zeroing) are idempotent, so a tear during
 * recovery is recovered by the next power-up.
 */
#include "nvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "cursor.h"

#define SUPER_MAGIC "ECARDNVM"
#define SUPER_VERSION 1u
#define SUPER_LEN 40u	/* magic(8) + 7 fields(4) + crc(4) */
#define JOURNAL_OFF 512u
#define RECORD_LEN 32u
#define RECORD_MAGIC 0x4A524E4Cu	/* "JRNL" */
#define ENTRY_HEAD 8u
#define TABLE_ENTRY 16u
#define OBJ_USED 0x0001u

static const uint8_t zeros[4096];

/* The one function through which every byte reaches the medium. */
static enum vc_status phys_write(struct vc_nvm *nvm, uint32_t off, const void *buf, size_t len)
{
	if (nvm->dead)
		return VC_ERR_POWER_LOST;
	nvm->writes++;
	enum vc_status st = vc_storage_write(nvm->st, off, buf, len);
	if (st == VC_ERR_POWER_LOST)
		nvm->dead = true;
	return st;
}

static enum vc_status phys_sync(struct vc_nvm *nvm)
{
	if (!nvm->sync_on_commit)
		return VC_OK;
	enum vc_status st = vc_storage_sync(nvm->st);
	if (st == VC_ERR_POWER_LOST)
		nvm->dead = true;
	return st;
}

enum vc_status vc_nvm_format(struct vc_storage *st, uint32_t journal_size)
{
	/* 64-bit: a journal size near 4 GiB must not wrap the layout. */
	uint64_t table_end = (uint64_t)JOURNAL_OFF + journal_size + VC_NVM_MAX_OBJECTS * TABLE_ENTRY;

	if (journal_size < RECORD_LEN + 64 || st->size > UINT32_MAX ||
	    table_end >= st->size || (journal_size & 15))
		return VC_ERR_ARG;
	uint32_t table_off = JOURNAL_OFF + journal_size;
	uint32_t heap_off = (uint32_t)table_end;

	uint8_t super[SUPER_LEN];
	struct writer w;
	writer_init(&w, super, sizeof(super));
	writer_bytes(&w, SUPER_MAGIC, 8);
	writer_u32(&w, SUPER_VERSION);
	writer_u32(&w, (uint32_t)st->size);
	writer_u32(&w, JOURNAL_OFF);
	writer_u32(&w, journal_size);
	writer_u32(&w, table_off);
	writer_u32(&w, heap_off);
	writer_u32(&w, (uint32_t)st->size - heap_off);
	/* The checksum covers everything before it. */
	uint32_t crc = crypto_crc32(0, super, w.len);
	writer_u32(&w, crc);
	if (!writer_ok(&w))
		return VC_ERR_ARG;

	/* A fresh image is all zero: empty record, empty table. */
	for (size_t off = 0; off < st->size; off += sizeof(zeros)) {
		size_t n = st->size - off < sizeof(zeros) ? st->size - off : sizeof(zeros);
		enum vc_status s = vc_storage_write(st, off, zeros, n);
		if (s != VC_OK)
			return s;
	}
	enum vc_status s = vc_storage_write(st, 0, super, w.len);
	if (s == VC_OK)
		s = vc_storage_sync(st);
	return s;
}

static enum vc_status parse_super(struct vc_nvm *nvm)
{
	struct cursor c;
	const uint8_t *magic;
	uint32_t version, size, crc;

	cursor_init(&c, nvm->mirror, SUPER_LEN);
	cursor_bytes(&c, 8, &magic);
	cursor_u32(&c, &version);
	cursor_u32(&c, &size);
	cursor_u32(&c, &nvm->journal_off);
	cursor_u32(&c, &nvm->journal_size);
	cursor_u32(&c, &nvm->table_off);
	cursor_u32(&c, &nvm->heap_off);
	cursor_u32(&c, &nvm->heap_size);
	cursor_u32(&c, &crc);
	if (!cursor_done(&c) || memcmp(magic, SUPER_MAGIC, 8) != 0)
		return VC_ERR_FORMAT;
	if (crc != crypto_crc32(0, nvm->mirror, SUPER_LEN - 4) ||
	    version != SUPER_VERSION || size != nvm->size)
		return VC_ERR_FORMAT;
	/* Offsets must describe the layout format() writes, nothing else. */
	uint64_t table_end = (uint64_t)JOURNAL_OFF + nvm->journal_size +
			     VC_NVM_MAX_OBJECTS * TABLE_ENTRY;
	if (nvm->journal_off != JOURNAL_OFF || nvm->journal_size < RECORD_LEN + 64 ||
	    table_end >= size ||
	    nvm->table_off != nvm->journal_off + nvm->journal_size ||
	    nvm->heap_off != table_end || nvm->heap_size != size - nvm->heap_off)
		return VC_ERR_FORMAT;
	return VC_OK;
}

/* True when [off, off+len) lies in the writable part (table and heap). */
static bool writable(const struct vc_nvm *nvm, uint32_t off, size_t len)
{
	return off >= nvm->table_off && off <= nvm->size && len <= nvm->size - off;
}

/* A record that is not replayed is cleared, so that every commit starts
 * on an all-zero record: a torn clear (a prefix of zeros) must never meet
 * a torn record write whose prefix restores the old magic. */
static enum vc_status clear_record(struct vc_nvm *nvm)
{
	if (memcmp(nvm->mirror + nvm->journal_off, zeros, RECORD_LEN) == 0)
		return VC_OK;
	enum vc_status st = phys_write(nvm, nvm->journal_off, zeros, RECORD_LEN);
	if (st != VC_OK)
		return st;
	memset(nvm->mirror + nvm->journal_off, 0, RECORD_LEN);
	return phys_sync(nvm);
}

/* Roll a sealed journal forward; clear anything else. */
static enum vc_status recover(struct vc_nvm *nvm)
{
	struct cursor c;
	uint32_t magic, seq, count, body_len, body_crc, rec_crc;
	const uint8_t *rec = nvm->mirror + nvm->journal_off;

	cursor_init(&c, rec, RECORD_LEN);
	cursor_u32(&c, &magic);
	cursor_u32(&c, &seq);
	cursor_u32(&c, &count);
	cursor_u32(&c, &body_len);
	cursor_u32(&c, &body_crc);
	cursor_u32(&c, &rec_crc);
	nvm->seq = seq;
	if (!cursor_ok(&c) || magic != RECORD_MAGIC ||
	    rec_crc != crypto_crc32(0, rec, 20) ||
	    body_len > nvm->journal_size - RECORD_LEN)
		return clear_record(nvm);	/* no sealed commit: nothing reached a home */

	const uint8_t *body = rec + RECORD_LEN;
	if (body_crc != crypto_crc32(0, body, body_len))
		return clear_record(nvm);

	/* Validate every entry before touching any home. */
	cursor_init(&c, body, body_len);
	for (uint32_t i = 0; i < count; i++) {
		uint32_t off, len;
		cursor_u32(&c, &off);
		cursor_u32(&c, &len);
		if (!cursor_skip(&c, len) || !writable(nvm, off, len))
			return VC_ERR_FORMAT;
	}
	if (!cursor_done(&c))
		return VC_ERR_FORMAT;

	/* The body is copied first: replaying overwrites the mirror. */
	memcpy(nvm->journal_buf, body, body_len);
	cursor_init(&c, nvm->journal_buf, body_len);
	for (uint32_t i = 0; i < count; i++) {
		uint32_t off, len;
		const uint8_t *data;
		cursor_u32(&c, &off);
		cursor_u32(&c, &len);
		cursor_bytes(&c, len, &data);
		enum vc_status st = phys_write(nvm, off, data, len);
		if (st != VC_OK)
			return st;
		memcpy(nvm->mirror + off, data, len);
	}
	enum vc_status st = phys_write(nvm, nvm->journal_off, zeros, RECORD_LEN);
	if (st != VC_OK)
		return st;
	memset(nvm->mirror + nvm->journal_off, 0, RECORD_LEN);
	nvm->recovered = true;
	return phys_sync(nvm);
}

const char *vc_nvm_diagnose_file(const char *path, char *why, size_t cap)
{
	struct stat st;
	uint8_t super[SUPER_LEN];

	why[0] = '\0';
	if (stat(path, &st) != 0) {
		snprintf(why, cap, "%s: %s", path,
			 errno == ENOENT ? "no such file: make one with 'ecard-vcard --new --image FILE'"
					 : strerror(errno));
		return why;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(why, cap, "%s is a directory, not a card image", path);
		return why;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, cap, "%s is not a regular file, so not a card image", path);
		return why;
	}
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EACCES || errno == EROFS || errno == EPERM)
			snprintf(why, cap, "%s cannot be opened for writing (%s): the card writes to its image",
				 path, strerror(errno));
		else
			snprintf(why, cap, "%s: %s", path, strerror(errno));
		return why;
	}
	struct vc_storage *probe;
	long holder = vc_storage_file_holder(path);
	close(fd);
	enum vc_status s = vc_storage_file_open(path, &probe);
	if (s == VC_ERR_IN_USE) {
		if (holder > 0)
			snprintf(why, cap, "%s is in use by process %ld", path, holder);
		else
			snprintf(why, cap, "%s is in use by another program", path);
		return why;
	}
	if (s != VC_OK) {
		snprintf(why, cap, "%s: %s", path, vc_status_str(s));
		return why;
	}
	uint64_t size = probe->size;
	if (size == 0) {
		snprintf(why, cap, "%s is empty: not a card image", path);
	} else if (size < SUPER_LEN || vc_storage_read(probe, 0, super, SUPER_LEN) != VC_OK ||
		   memcmp(super, SUPER_MAGIC, 8) != 0) {
		snprintf(why, cap, "%s is not a card image (it does not begin with \"%s\")", path,
			 SUPER_MAGIC);
	} else if (crypto_crc32(0, super, SUPER_LEN - 4) != load_be32(super + SUPER_LEN - 4)) {
		snprintf(why, cap, "%s: the card image's header is damaged (checksum)", path);
	} else if (load_be32(super + 8) != SUPER_VERSION) {
		snprintf(why, cap, "%s has card image format %u; this ecard takes format %u", path,
			 (unsigned)load_be32(super + 8), SUPER_VERSION);
	} else if (load_be32(super + 12) > size) {
		snprintf(why, cap, "%s is truncated: %llu of its %u bytes are left", path,
			 (unsigned long long)size, (unsigned)load_be32(super + 12));
	} else if (load_be32(super + 12) < size) {
		snprintf(why, cap, "%s has grown to %llu bytes where its header says %u", path,
			 (unsigned long long)size, (unsigned)load_be32(super + 12));
	}
	vc_storage_destroy(probe);
	return why;
}

const char *vc_nvm_explain(const char *path, enum vc_status st, char *why, size_t cap)
{
	if (*vc_nvm_diagnose_file(path, why, cap) == '\0')
		snprintf(why, cap, "%s is not a usable card image: %s", path, vc_status_str(st));
	return why;
}

enum vc_status vc_nvm_open(struct vc_nvm *nvm, struct vc_storage *st)
{
	bool sync = nvm->sync_on_commit;
	memset(nvm, 0, sizeof(*nvm));
	nvm->sync_on_commit = sync;
	nvm->st = st;
	nvm->size = st->size;
	if (nvm->size < JOURNAL_OFF + SUPER_LEN || nvm->size > UINT32_MAX)
		return VC_ERR_FORMAT;

	nvm->mirror = malloc(nvm->size);
	if (!nvm->mirror)
		return VC_ERR_NO_MEMORY;
	enum vc_status s = vc_storage_read(st, 0, nvm->mirror, nvm->size);
	if (s == VC_OK)
		s = parse_super(nvm);
	if (s == VC_OK) {
		nvm->journal_buf = malloc(nvm->journal_size);
		if (!nvm->journal_buf)
			s = VC_ERR_NO_MEMORY;
	}
	if (s == VC_OK)
		s = recover(nvm);
	if (s != VC_OK)
		vc_nvm_close(nvm);
	return s;
}

void vc_nvm_close(struct vc_nvm *nvm)
{
	free(nvm->mirror);
	free(nvm->ranges);
	free(nvm->journal_buf);
	nvm->mirror = NULL;
	nvm->ranges = NULL;
	nvm->journal_buf = NULL;
	nvm->n_ranges = nvm->cap_ranges = 0;
	nvm->in_tx = false;
}

enum vc_status vc_nvm_begin(struct vc_nvm *nvm)
{
	if (nvm->dead)
		return VC_ERR_POWER_LOST;
	if (nvm->in_tx)
		return VC_ERR_STATE;	/* transactions do not nest */
	nvm->in_tx = true;
	nvm->n_ranges = 0;
	nvm->journal_needed = 0;
	return VC_OK;
}

static void end_tx(struct vc_nvm *nvm)
{
	nvm->in_tx = false;
	nvm->n_ranges = 0;
	nvm->journal_needed = 0;
}

enum vc_status vc_nvm_abort(struct vc_nvm *nvm)
{
	if (!nvm->in_tx)
		return VC_ERR_STATE;
	/* Homes hold the committed bytes: reload the mirror from them. */
	enum vc_status result = VC_OK;
	for (size_t i = 0; i < nvm->n_ranges; i++) {
		const struct vc_nvm_range *r = &nvm->ranges[i];
		enum vc_status s = vc_storage_read(nvm->st, r->off, nvm->mirror + r->off, r->len);
		if (s != VC_OK)
			result = s;
	}
	end_tx(nvm);
	return result;
}

enum vc_status vc_nvm_commit(struct vc_nvm *nvm)
{
	if (!nvm->in_tx)
		return VC_ERR_STATE;
	if (nvm->dead)
		return VC_ERR_POWER_LOST;
	if (nvm->n_ranges == 0) {
		end_tx(nvm);
		return VC_OK;
	}

	struct writer w;
	writer_init(&w, nvm->journal_buf, nvm->journal_size - RECORD_LEN);
	for (size_t i = 0; i < nvm->n_ranges; i++) {
		const struct vc_nvm_range *r = &nvm->ranges[i];
		writer_u32(&w, r->off);
		writer_u32(&w, r->len);
		writer_bytes(&w, nvm->mirror + r->off, r->len);
	}
	if (!writer_ok(&w)) {
		/* Cannot happen: vc_nvm_write() keeps the write set in bounds. */
		vc_nvm_abort(nvm);
		return VC_ERR_JOURNAL_FULL;
	}

	uint8_t rec[RECORD_LEN] = { 0 };
	store_be32(rec, RECORD_MAGIC);
	store_be32(rec + 4, nvm->seq + 1);
	store_be32(rec + 8, (uint32_t)nvm->n_ranges);
	store_be32(rec + 12, (uint32_t)w.len);
	store_be32(rec + 16, crypto_crc32(0, nvm->journal_buf, w.len));
	store_be32(rec + 20, crypto_crc32(0, rec, 20));

	enum vc_status s = phys_write(nvm, nvm->journal_off + RECORD_LEN, nvm->journal_buf, w.len);
	if (s == VC_OK)
		s = phys_write(nvm, nvm->journal_off, rec, RECORD_LEN);
	if (s == VC_OK)
		s = phys_sync(nvm);
	for (size_t i = 0; s == VC_OK && i < nvm->n_ranges; i++) {
		const struct vc_nvm_range *r = &nvm->ranges[i];
		s = phys_write(nvm, r->off, nvm->mirror + r->off, r->len);
	}
	if (s == VC_OK)
		s = phys_sync(nvm);
	if (s == VC_OK)
		s = phys_write(nvm, nvm->journal_off, zeros, RECORD_LEN);
	if (s != VC_OK) {
		/* Power lost or I/O error: the mirror is void and the record may
		 * be sealed; refuse everything until a power-up recovers. */
		nvm->dead = true;
		end_tx(nvm);
		return s;
	}
	nvm->seq++;
	end_tx(nvm);
	return VC_OK;
}

static int range_cmp(const void *a, const void *b)
{
	const struct vc_nvm_range *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* Add [off, off+len) to the write set, merging overlapping or touching
 * ranges, and recompute the journal bytes the set needs. */
static enum vc_status add_range(struct vc_nvm *nvm, uint32_t off, uint32_t len)
{
	if (nvm->n_ranges == nvm->cap_ranges) {
		size_t cap = nvm->cap_ranges ? nvm->cap_ranges * 2 : 16;
		struct vc_nvm_range *r = realloc(nvm->ranges, cap * sizeof(*r));
		if (!r)
			return VC_ERR_NO_MEMORY;
		nvm->ranges = r;
		nvm->cap_ranges = cap;
	}
	nvm->ranges[nvm->n_ranges++] = (struct vc_nvm_range){ off, len };
	qsort(nvm->ranges, nvm->n_ranges, sizeof(*nvm->ranges), range_cmp);

	size_t out = 0;
	size_t needed = 0;
	for (size_t i = 0; i < nvm->n_ranges; i++) {
		struct vc_nvm_range r = nvm->ranges[i];
		if (out > 0) {
			struct vc_nvm_range *prev = &nvm->ranges[out - 1];
			uint32_t prev_end = prev->off + prev->len;
			if (r.off <= prev_end) {
				uint32_t end = r.off + r.len;
				if (end > prev_end)
					prev->len = end - prev->off;
				continue;
			}
		}
		nvm->ranges[out++] = r;
	}
	nvm->n_ranges = out;
	for (size_t i = 0; i < out; i++)
		needed += ENTRY_HEAD + nvm->ranges[i].len;
	nvm->journal_needed = needed;
	return VC_OK;
}

static bool overlaps_write_set(const struct vc_nvm *nvm, uint32_t off, size_t len)
{
	for (size_t i = 0; i < nvm->n_ranges; i++) {
		const struct vc_nvm_range *r = &nvm->ranges[i];
		if (off < r->off + r->len && r->off < off + len)
			return true;
	}
	return false;
}

enum vc_status vc_nvm_write(struct vc_nvm *nvm, uint32_t off, const void *buf, size_t len)
{
	if (nvm->dead)
		return VC_ERR_POWER_LOST;
	if (!nvm->in_tx)
		return VC_ERR_STATE;
	if (!writable(nvm, off, len))
		return VC_ERR_ARG;
	if (len == 0)
		return VC_OK;
	enum vc_status s = add_range(nvm, off, (uint32_t)len);
	if (s == VC_OK && nvm->journal_needed > nvm->journal_size - RECORD_LEN)
		s = VC_ERR_JOURNAL_FULL;
	if (s != VC_OK) {
		/* Like Java Card's BUFFER_FULL: the whole transaction is void. */
		vc_nvm_abort(nvm);
		return s;
	}
	memcpy(nvm->mirror + off, buf, len);
	return VC_OK;
}

enum vc_status vc_nvm_write_now(struct vc_nvm *nvm, uint32_t off, const void *buf, size_t len)
{
	if (nvm->dead)
		return VC_ERR_POWER_LOST;
	if (!writable(nvm, off, len))
		return VC_ERR_ARG;
	if (nvm->in_tx && overlaps_write_set(nvm, off, len))
		return VC_ERR_STATE;
	enum vc_status s = phys_write(nvm, off, buf, len);
	if (s == VC_OK)
		memcpy(nvm->mirror + off, buf, len);
	if (s == VC_OK)
		s = phys_sync(nvm);	/* a try counter is spent before the check */
	return s;
}

enum vc_status vc_nvm_read(const struct vc_nvm *nvm, uint32_t off, void *buf, size_t len)
{
	if (off > nvm->size || len > nvm->size - off)
		return VC_ERR_ARG;
	memcpy(buf, nvm->mirror + off, len);
	return VC_OK;
}

const uint8_t *vc_nvm_peek(const struct vc_nvm *nvm, uint32_t off, size_t len)
{
	if (off > nvm->size || len > nvm->size - off)
		return NULL;
	return nvm->mirror + off;
}

/* ---- persistent objects ---- */

struct table_entry {
	uint32_t owner;
	uint16_t tag;
	uint16_t flags;
	uint32_t off;
	uint32_t size;
};

static void decode_entry(const uint8_t *p, struct table_entry *e)
{
	struct cursor c;
	cursor_init(&c, p, TABLE_ENTRY);
	cursor_u32(&c, &e->owner);
	cursor_u16(&c, &e->tag);
	cursor_u16(&c, &e->flags);
	cursor_u32(&c, &e->off);
	cursor_u32(&c, &e->size);
}

static bool entry_sane(const struct vc_nvm *nvm, const struct table_entry *e)
{
	return (e->flags & OBJ_USED) && e->off >= nvm->heap_off &&
	       e->off <= nvm->size && e->size <= nvm->size - e->off;
}

static uint32_t entry_off(const struct vc_nvm *nvm, size_t i)
{
	return nvm->table_off + (uint32_t)(i * TABLE_ENTRY);
}

enum vc_status vc_nvm_find(const struct vc_nvm *nvm, uint32_t owner, uint16_t tag,
			   struct vc_nvm_object *obj)
{
	for (size_t i = 0; i < VC_NVM_MAX_OBJECTS; i++) {
		struct table_entry e;
		decode_entry(nvm->mirror + entry_off(nvm, i), &e);
		if (entry_sane(nvm, &e) && e.owner == owner && e.tag == tag) {
			*obj = (struct vc_nvm_object){ owner, tag, e.off, e.size };
			return VC_OK;
		}
	}
	return VC_ERR_NOT_FOUND;
}

/* Collect the heap ranges in use, both in the open transaction's view and
 * in the committed image: space freed by the open transaction stays taken
 * until it commits, because an abort would bring its owner back. */
static size_t used_ranges(const struct vc_nvm *nvm, const uint8_t *committed,
			  struct vc_nvm_range *out)
{
	size_t n = 0;
	for (int pass = 0; pass < 2; pass++) {
		const uint8_t *table = pass == 0 ? nvm->mirror + nvm->table_off : committed;
		for (size_t i = 0; i < VC_NVM_MAX_OBJECTS; i++) {
			struct table_entry e;
			decode_entry(table + i * TABLE_ENTRY, &e);
			if (entry_sane(nvm, &e) && e.size > 0)
				out[n++] = (struct vc_nvm_range){ e.off, e.size };
		}
	}
	qsort(out, n, sizeof(*out), range_cmp);
	return n;
}

static enum vc_status find_gap(const struct vc_nvm *nvm, uint32_t size, uint32_t *where)
{
	uint8_t committed[VC_NVM_MAX_OBJECTS * TABLE_ENTRY];
	struct vc_nvm_range used[2 * VC_NVM_MAX_OBJECTS];

	enum vc_status s = vc_storage_read(nvm->st, nvm->table_off, committed, sizeof(committed));
	if (s != VC_OK)
		return s;
	size_t n = used_ranges(nvm, committed, used);
	uint32_t cursor_pos = nvm->heap_off;
	for (size_t i = 0; i <= n; i++) {
		uint32_t next = i < n ? used[i].off : (uint32_t)nvm->size;
		if (next >= cursor_pos && next - cursor_pos >= size) {
			*where = cursor_pos;
			return VC_OK;
		}
		if (i < n && used[i].off + used[i].len > cursor_pos)
			cursor_pos = used[i].off + used[i].len;
	}
	return VC_ERR_NO_SPACE;
}

/* Zero an area about to be handed out. Free space belongs to nobody, so it
 * is cleared in place, outside the journal (a tear leaves it free anyway),
 * except where the open transaction wrote it. */
static enum vc_status zero_area(struct vc_nvm *nvm, uint32_t off, uint32_t size)
{
	while (size > 0) {
		uint32_t n = size < sizeof(zeros) ? size : (uint32_t)sizeof(zeros);
		enum vc_status s = VC_OK;
		if (overlaps_write_set(nvm, off, n))
			s = vc_nvm_write(nvm, off, zeros, n);
		else if (memcmp(nvm->mirror + off, zeros, n) != 0)
			/* Outside the write set the mirror equals the medium,
			 * so an area that reads zero needs no write. */
			s = vc_nvm_write_now(nvm, off, zeros, n);
		if (s != VC_OK)
			return s;
		off += n;
		size -= n;
	}
	return VC_OK;
}

static enum vc_status alloc_in_tx(struct vc_nvm *nvm, uint32_t owner, uint16_t tag,
				  uint32_t size, struct vc_nvm_object *obj)
{
	struct vc_nvm_object existing;
	if (vc_nvm_find(nvm, owner, tag, &existing) == VC_OK)
		return VC_ERR_EXISTS;

	size_t slot = VC_NVM_MAX_OBJECTS;
	for (size_t i = 0; i < VC_NVM_MAX_OBJECTS; i++) {
		struct table_entry e;
		decode_entry(nvm->mirror + entry_off(nvm, i), &e);
		if (!(e.flags & OBJ_USED)) {
			slot = i;
			break;
		}
	}
	if (slot == VC_NVM_MAX_OBJECTS)
		return VC_ERR_NO_SPACE;

	uint32_t where;
	enum vc_status s = find_gap(nvm, size, &where);
	if (s == VC_OK)
		s = zero_area(nvm, where, size);
	if (s != VC_OK)
		return s;

	uint8_t ent[TABLE_ENTRY];
	store_be32(ent, owner);
	store_be16(ent + 4, tag);
	store_be16(ent + 6, OBJ_USED);
	store_be32(ent + 8, where);
	store_be32(ent + 12, size);
	s = vc_nvm_write(nvm, entry_off(nvm, slot), ent, sizeof(ent));
	if (s == VC_OK)
		*obj = (struct vc_nvm_object){ owner, tag, where, size };
	return s;
}

/* Finish an object operation: when it opened its own transaction
 * (no caller transaction was open), commit it or abort it here. */
static enum vc_status finish_own_tx(struct vc_nvm *nvm, bool own,
				     enum vc_status result)
{
	if (!own)
		return result;
	if (result == VC_OK)
		return vc_nvm_commit(nvm);
	if (nvm->in_tx)
		vc_nvm_abort(nvm);
	return result;
}

enum vc_status vc_nvm_alloc(struct vc_nvm *nvm, uint32_t owner, uint16_t tag,
			    uint32_t size, struct vc_nvm_object *obj)
{
	bool own = !nvm->in_tx;
	if (own) {
		enum vc_status s = vc_nvm_begin(nvm);
		if (s != VC_OK)
			return s;
	}
	return finish_own_tx(nvm, own, alloc_in_tx(nvm, owner, tag, size, obj));
}

static enum vc_status free_matching(struct vc_nvm *nvm, uint32_t owner, bool any_tag,
				    uint16_t tag)
{
	bool found = false;
	for (size_t i = 0; i < VC_NVM_MAX_OBJECTS; i++) {
		struct table_entry e;
		decode_entry(nvm->mirror + entry_off(nvm, i), &e);
		if (!(e.flags & OBJ_USED) || e.owner != owner || (!any_tag && e.tag != tag))
			continue;
		enum vc_status s = vc_nvm_write(nvm, entry_off(nvm, i), zeros, TABLE_ENTRY);
		if (s != VC_OK)
			return s;
		found = true;
	}
	return found || any_tag ? VC_OK : VC_ERR_NOT_FOUND;
}

enum vc_status vc_nvm_free(struct vc_nvm *nvm, uint32_t owner, uint16_t tag)
{
	bool own = !nvm->in_tx;
	if (own) {
		enum vc_status s = vc_nvm_begin(nvm);
		if (s != VC_OK)
			return s;
	}
	return finish_own_tx(nvm, own, free_matching(nvm, owner, false, tag));
}

enum vc_status vc_nvm_free_owner(struct vc_nvm *nvm, uint32_t owner)
{
	bool own = !nvm->in_tx;
	if (own) {
		enum vc_status s = vc_nvm_begin(nvm);
		if (s != VC_OK)
			return s;
	}
	return finish_own_tx(nvm, own, free_matching(nvm, owner, true, 0));
}

uint32_t vc_nvm_free_space(const struct vc_nvm *nvm)
{
	uint32_t used = 0;
	for (size_t i = 0; i < VC_NVM_MAX_OBJECTS; i++) {
		struct table_entry e;
		decode_entry(nvm->mirror + entry_off(nvm, i), &e);
		if (entry_sane(nvm, &e))
			used += e.size;
	}
	return nvm->heap_size - used;
}
