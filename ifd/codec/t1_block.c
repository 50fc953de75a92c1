/*
 * t1_block.c - the T=1 block codec (see t1_block.h): every received byte
 * is read through struct cursor.
 */
#include "t1_block.h"

#include <string.h>

#include "cursor.h"

size_t t1_edc_len(enum ifd_t1_edc edc)
{
	return edc == IFD_T1_EDC_CRC ? 2 : 1;
}

static uint8_t lrc(const uint8_t *p, size_t n)
{
	uint8_t x = 0;

	for (size_t i = 0; i < n; i++)
		x ^= p[i];
	return x;
}

/*
 * The 16-bit frame checking sequence of ISO/IEC 13239 that §11.4.4 names:
 * generator x^16 + x^12 + x^5 + 1, register preset to all ones, each byte
 * taken least significant bit first (the order its bits cross the I/O
 * line), and the ones' complement of the remainder sent low-order byte
 * first. Done a byte at a time with the usual reduction of the reflected
 * polynomial 0x8408, which needs no table.
 */
static uint16_t crc_13239(const uint8_t *p, size_t n)
{
	uint16_t reg = 0xFFFF;

	for (size_t i = 0; i < n; i++) {
		uint8_t x = (uint8_t)(p[i] ^ (reg & 0xFF));

		x = (uint8_t)(x ^ (x << 4));
		reg = (uint16_t)((reg >> 8) ^ ((uint16_t)x << 8) ^ ((uint16_t)x << 3) ^ (x >> 4));
	}
	return (uint16_t)~reg;
}

/* The epilogue of the n bytes at p, into out (t1_edc_len bytes). */
static void edc_compute(const uint8_t *p, size_t n, enum ifd_t1_edc edc, uint8_t out[2])
{
	if (edc == IFD_T1_EDC_CRC)
		store_le16(out, crc_13239(p, n));
	else
		out[0] = lrc(p, n);
}

size_t t1_block_build(uint8_t nad, uint8_t pcb, const uint8_t *inf, size_t len,
		      enum ifd_t1_edc edc, uint8_t *out)
{
	struct writer w;
	uint8_t epilogue[2];

	if (!out || len > T1_MAX_INF || (len && !inf))
		return 0;
	writer_init(&w, out, T1_MAX_BLOCK);
	writer_u8(&w, nad);
	writer_u8(&w, pcb);
	writer_u8(&w, (uint8_t)len);
	if (len)
		writer_bytes(&w, inf, len);
	if (!writer_ok(&w))
		return 0;
	edc_compute(out, w.len, edc, epilogue);
	writer_bytes(&w, epilogue, t1_edc_len(edc));
	return writer_ok(&w) ? w.len : 0;
}

int t1_block_parse(const uint8_t *buf, size_t len, enum ifd_t1_edc edc, struct t1_block *b)
{
	struct cursor c;
	uint8_t nad, pcb, inf_len, expect[2];
	const uint8_t *inf, *epilogue;
	size_t edc_len = t1_edc_len(edc);

	if (!b)
		return -1;
	cursor_init(&c, buf, len);
	cursor_u8(&c, &nad);
	cursor_u8(&c, &pcb);
	cursor_u8(&c, &inf_len);
	if (!cursor_ok(&c) || inf_len == 0xFF)
		return -1;
	cursor_bytes(&c, inf_len, &inf);
	cursor_bytes(&c, edc_len, &epilogue);
	/* Short, or with bytes after the epilogue: either way LEN lies. */
	if (!cursor_done(&c))
		return -1;
	/* The cursor has vouched for T1_PROLOGUE + inf_len bytes at buf. */
	edc_compute(buf, T1_PROLOGUE + (size_t)inf_len, edc, expect);
	if (memcmp(expect, epilogue, edc_len) != 0)
		return -1;
	b->nad = nad;
	b->pcb = pcb;
	b->inf = inf;
	b->len = inf_len;
	return 0;
}

enum t1_block_kind t1_block_kind(uint8_t pcb)
{
	if (!(pcb & 0x80))
		return T1_KIND_I;
	if ((pcb & 0xC0) == T1_R_BLOCK)
		return T1_KIND_R;
	return T1_KIND_S;
}
