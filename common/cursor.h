/*
 * cursor.h - the one parser for untrusted bytes, and its output twin.
 *
 * Every decoder in ecard (APDUs, TLVs, journal records, CAP components,
 * CCID messages) reads through a struct cursor: each read checks the
 * remaining length first, and a failed read makes the cursor sticky-failed
 * so a decoder can read a whole structure and test once at the end.
 * struct writer does the same for output buffers: a write that would not
 * fit marks the writer overflowed and writes nothing.
 */
#ifndef ECARD_CURSOR_H
#define ECARD_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cursor {
	const uint8_t *data;
	size_t len;
	size_t pos;
	bool failed;
};

void cursor_init(struct cursor *c, const void *data, size_t len);
size_t cursor_remaining(const struct cursor *c);
/* True when every read so far succeeded and nothing is left. */
bool cursor_done(const struct cursor *c);
bool cursor_ok(const struct cursor *c);

bool cursor_u8(struct cursor *c, uint8_t *v);
bool cursor_u16(struct cursor *c, uint16_t *v);	/* big-endian */
bool cursor_u32(struct cursor *c, uint32_t *v);	/* big-endian */
bool cursor_u16le(struct cursor *c, uint16_t *v);	/* little-endian (USB, CCID) */
bool cursor_u32le(struct cursor *c, uint32_t *v);
/* Borrow n bytes from the underlying buffer without copying. */
bool cursor_bytes(struct cursor *c, size_t n, const uint8_t **out);
bool cursor_copy(struct cursor *c, void *dst, size_t n);
bool cursor_skip(struct cursor *c, size_t n);
/* Split off the next n bytes as a cursor of its own. */
bool cursor_sub(struct cursor *c, size_t n, struct cursor *sub);

/*
 * BER-TLV as used by ISO 7816-4 and GlobalPlatform: tag of 1 to 3 bytes,
 * length in short form or 81/82/83 long form.
 */
bool cursor_tlv(struct cursor *c, uint32_t *tag, struct cursor *value);

struct writer {
	uint8_t *data;
	size_t cap;
	size_t len;
	bool overflow;
};

void writer_init(struct writer *w, void *buf, size_t cap);
bool writer_ok(const struct writer *w);
bool writer_u8(struct writer *w, uint8_t v);
bool writer_u16(struct writer *w, uint16_t v);
bool writer_u32(struct writer *w, uint32_t v);
bool writer_u16le(struct writer *w, uint16_t v);
bool writer_u32le(struct writer *w, uint32_t v);
bool writer_bytes(struct writer *w, const void *src, size_t n);
/* Reserve n bytes and return where they start (NULL if they do not fit). */
uint8_t *writer_reserve(struct writer *w, size_t n);

static inline uint16_t load_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t load_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

static inline void store_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint16_t load_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t load_le32(const uint8_t *p)
{
	return p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline void store_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void store_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

#endif
