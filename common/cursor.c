/*
 * cursor.c - bounds-checked reading of untrusted bytes and bounded writing
 * of output. See cursor.h for the contract.
 */
#include "cursor.h"

#include <string.h>

/* Stand-ins for a NULL buffer, so that no pointer arithmetic is ever done
 * on NULL and a zero-length read of an empty cursor behaves like any other. */
static const uint8_t no_bytes[1];
static uint8_t no_room[1];

void cursor_init(struct cursor *c, const void *data, size_t len)
{
	c->data = data ? data : no_bytes;
	c->len = data ? len : 0;
	c->pos = 0;
	c->failed = false;
}

size_t cursor_remaining(const struct cursor *c)
{
	return c->failed ? 0 : c->len - c->pos;
}

bool cursor_ok(const struct cursor *c)
{
	return !c->failed;
}

bool cursor_done(const struct cursor *c)
{
	return !c->failed && c->pos == c->len;
}

/* The single place where a read is checked against what is left. */
static const uint8_t *take(struct cursor *c, size_t n)
{
	if (c->failed || n > c->len - c->pos) {
		c->failed = true;
		return NULL;
	}
	const uint8_t *p = c->data + c->pos;
	c->pos += n;
	return p;
}

bool cursor_u8(struct cursor *c, uint8_t *v)
{
	const uint8_t *p = take(c, 1);
	if (!p)
		return false;
	*v = p[0];
	return true;
}

bool cursor_u16(struct cursor *c, uint16_t *v)
{
	const uint8_t *p = take(c, 2);
	if (!p)
		return false;
	*v = load_be16(p);
	return true;
}

bool cursor_u32(struct cursor *c, uint32_t *v)
{
	const uint8_t *p = take(c, 4);
	if (!p)
		return false;
	*v = load_be32(p);
	return true;
}

bool cursor_u16le(struct cursor *c, uint16_t *v)
{
	const uint8_t *p = take(c, 2);
	if (!p)
		return false;
	*v = load_le16(p);
	return true;
}

bool cursor_u32le(struct cursor *c, uint32_t *v)
{
	const uint8_t *p = take(c, 4);
	if (!p)
		return false;
	*v = load_le32(p);
	return true;
}

bool cursor_bytes(struct cursor *c, size_t n, const uint8_t **out)
{
	const uint8_t *p = take(c, n);
	if (!p)
		return false;
	*out = p;
	return true;
}

bool cursor_copy(struct cursor *c, void *dst, size_t n)
{
	const uint8_t *p = take(c, n);
	if (!p)
		return false;
	if (n)
		memcpy(dst, p, n);
	return true;
}

bool cursor_skip(struct cursor *c, size_t n)
{
	return take(c, n) != NULL;
}

bool cursor_sub(struct cursor *c, size_t n, struct cursor *sub)
{
	const uint8_t *p = take(c, n);
	if (!p) {
		cursor_init(sub, NULL, 0);
		sub->failed = true;
		return false;
	}
	cursor_init(sub, p, n);
	return true;
}

bool cursor_tlv(struct cursor *c, uint32_t *tag, struct cursor *value)
{
	uint8_t b;
	if (!cursor_u8(c, &b))
		goto fail;
	uint32_t t = b;
	if ((b & 0x1F) == 0x1F) {
		/* Multi-byte tag: at most two subsequent bytes. */
		int extra = 0;
		do {
			if (!cursor_u8(c, &b) || ++extra > 2)
				goto fail;
			t = (t << 8) | b;
		} while (b & 0x80);
	}

	uint8_t l0;
	size_t len;
	if (!cursor_u8(c, &l0))
		goto fail;
	if (l0 < 0x80) {
		len = l0;
	} else if (l0 >= 0x81 && l0 <= 0x83) {
		len = 0;
		for (int i = 0; i < (l0 & 0x7F); i++) {
			if (!cursor_u8(c, &b))
				goto fail;
			len = (len << 8) | b;
		}
	} else {
		goto fail;
	}
	if (!cursor_sub(c, len, value))
		goto fail;
	*tag = t;
	return true;
fail:
	c->failed = true;
	cursor_init(value, NULL, 0);
	value->failed = true;
	return false;
}

void writer_init(struct writer *w, void *buf, size_t cap)
{
	w->data = buf ? buf : no_room;
	w->cap = buf ? cap : 0;
	w->len = 0;
	w->overflow = false;
}

bool writer_ok(const struct writer *w)
{
	return !w->overflow;
}

uint8_t *writer_reserve(struct writer *w, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return NULL;
	}
	uint8_t *p = w->data + w->len;
	w->len += n;
	return p;
}

bool writer_u8(struct writer *w, uint8_t v)
{
	uint8_t *p = writer_reserve(w, 1);
	if (!p)
		return false;
	*p = v;
	return true;
}

bool writer_u16(struct writer *w, uint16_t v)
{
	uint8_t *p = writer_reserve(w, 2);
	if (!p)
		return false;
	store_be16(p, v);
	return true;
}

bool writer_u32(struct writer *w, uint32_t v)
{
	uint8_t *p = writer_reserve(w, 4);
	if (!p)
		return false;
	store_be32(p, v);
	return true;
}

bool writer_u16le(struct writer *w, uint16_t v)
{
	uint8_t *p = writer_reserve(w, 2);
	if (!p)
		return false;
	store_le16(p, v);
	return true;
}

bool writer_u32le(struct writer *w, uint32_t v)
{
	uint8_t *p = writer_reserve(w, 4);
	if (!p)
		return false;
	store_le32(p, v);
	return true;
}

bool writer_bytes(struct writer *w, const void *src, size_t n)
{
	uint8_t *p = writer_reserve(w, n);
	if (!p)
		return false;
	if (n)
		memcpy(p, src, n);
	return true;
}
