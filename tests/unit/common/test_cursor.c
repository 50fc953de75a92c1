/*
 * test_cursor.c - the bounds-checked reader and writer of common/cursor.c,
 * and the hex codec of common/hex.c.
 *
 * Every decoder of untrusted bytes sits on struct cursor, so these tests
 * probe each read at its exact boundary and one byte past it, check that a
 * failure is sticky (a decoder may read a whole structure and test once),
 * and walk the BER-TLV reader through every tag and length form it accepts
 * and the ones it must refuse. Buffers are sized exactly, so the sanitizer
 * build catches any read outside them.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "hex.h"
#include "test_support.h"

/* ---- helpers ---- */


/* Decode test-vector hex into an exactly-sized heap buffer. */
static uint8_t *exact_hex(const char *hex, size_t *len)
{
	uint8_t tmp[512];
	long n = hex_decode(hex, tmp, sizeof(tmp));

	cr_assert_geq(n, 0, "bad hex in test vector: %s", hex);
	*len = (size_t)n;
	return ts_exact_copy(tmp, *len);
}

/* The state every failed read must leave behind. */
static void assert_failed(const struct cursor *c)
{
	cr_assert_not(cursor_ok(c), "the cursor should be failed");
	cr_assert_not(cursor_done(c), "a failed cursor is never done");
	cr_assert_eq(cursor_remaining(c), 0, "a failed cursor has nothing left");
}

/* ---- init, remaining, done ---- */

Test(cursor, init_and_done)
{
	static const uint8_t data[3] = { 1, 2, 3 };
	struct cursor c;

	cursor_init(&c, data, sizeof(data));
	cr_assert(cursor_ok(&c));
	cr_assert_eq(cursor_remaining(&c), 3);
	cr_assert_not(cursor_done(&c), "bytes left: not done");
	cr_assert(cursor_skip(&c, 3));
	cr_assert_eq(cursor_remaining(&c), 0);
	cr_assert(cursor_done(&c), "everything read, nothing failed: done");

	cursor_init(&c, data, 0);
	cr_assert(cursor_done(&c), "an empty cursor is done at once");
}

Test(cursor, null_data_has_no_length)
{
	struct cursor c;
	uint8_t v = 0x5A;

	cursor_init(&c, NULL, 10);
	cr_assert_eq(cursor_remaining(&c), 0);
	cr_assert(cursor_done(&c));
	cr_assert_not(cursor_u8(&c, &v));
	cr_assert_eq(v, 0x5A, "a failed read leaves the output alone");
	assert_failed(&c);
}

Test(cursor, null_data_zero_length_reads_stay_consistent)
{
	struct cursor c, sub;
	const uint8_t *p = NULL;

	/* The data field of a case 1 APDU: NULL and empty. Reading nothing
	 * from it succeeds and leaves the cursor sound. */
	cursor_init(&c, NULL, 0);
	cr_assert(cursor_bytes(&c, 0, &p));
	cr_assert_not_null(p);
	cr_assert(cursor_skip(&c, 0));
	cr_assert(cursor_copy(&c, NULL, 0));
	cr_assert(cursor_sub(&c, 0, &sub));
	cr_assert(cursor_ok(&c));
	cr_assert(cursor_done(&c));
	cr_assert_not(cursor_skip(&c, 1));
	cr_assert_not(cursor_ok(&c), "and one byte more fails as usual");

	struct writer w;
	writer_init(&w, NULL, 16);
	cr_assert(writer_bytes(&w, "", 0));
	cr_assert(writer_ok(&w));
	cr_assert_not(writer_u8(&w, 1));
	cr_assert_not(writer_ok(&w));
}

Test(cursor, done_is_false_after_a_failed_read_at_the_end)
{
	uint8_t *buf = ts_exact_copy("\x01", 1);
	struct cursor c;
	uint8_t v;

	cursor_init(&c, buf, 1);
	cr_assert(cursor_u8(&c, &v));
	cr_assert(cursor_done(&c));
	cr_assert_not(cursor_u8(&c, &v));
	cr_assert_not(cursor_done(&c), "position at the end, but a read failed");
	free(buf);
}

/* ---- fixed-size reads ---- */

Test(cursor, u8_at_boundary_and_one_past)
{
	uint8_t *buf = ts_exact_copy("\xA5\x5A", 2);
	struct cursor c;
	uint8_t v = 0;

	cursor_init(&c, buf, 2);
	cr_assert(cursor_u8(&c, &v));
	cr_assert_eq(v, 0xA5);
	cr_assert(cursor_u8(&c, &v));
	cr_assert_eq(v, 0x5A);
	cr_assert(cursor_done(&c));
	v = 0x11;
	cr_assert_not(cursor_u8(&c, &v));
	cr_assert_eq(v, 0x11);
	assert_failed(&c);
	free(buf);
}

Test(cursor, u16_is_big_endian_and_bounded)
{
	uint8_t *buf = ts_exact_copy("\x12\x34\x56", 3);
	struct cursor c;
	uint16_t v = 0;

	cursor_init(&c, buf, 2);
	cr_assert(cursor_u16(&c, &v));
	cr_assert_eq(v, 0x1234);
	cr_assert(cursor_done(&c));

	cursor_init(&c, buf, 3);
	cr_assert(cursor_u16(&c, &v));
	cr_assert_eq(cursor_remaining(&c), 1);
	v = 0xBEEF;
	cr_assert_not(cursor_u16(&c, &v), "one byte left, two asked");
	cr_assert_eq(v, 0xBEEF);
	assert_failed(&c);
	free(buf);
}

Test(cursor, u32_is_big_endian_and_bounded)
{
	uint8_t *buf = ts_exact_copy("\xDE\xAD\xBE\xEF", 4);
	struct cursor c;
	uint32_t v = 0;

	cursor_init(&c, buf, 4);
	cr_assert(cursor_u32(&c, &v));
	cr_assert_eq(v, 0xDEADBEEFu);
	cr_assert(cursor_done(&c));

	cursor_init(&c, buf, 3);
	v = 7;
	cr_assert_not(cursor_u32(&c, &v), "three bytes, four asked");
	cr_assert_eq(v, 7);
	assert_failed(&c);
	free(buf);
}

/* ---- variable-size reads ---- */

Test(cursor, bytes_borrows_in_place)
{
	uint8_t *buf = ts_exact_copy("\x01\x02\x03\x04\x05", 5);
	struct cursor c;
	const uint8_t *p = NULL;

	cursor_init(&c, buf, 5);
	cr_assert(cursor_skip(&c, 1));
	cr_assert(cursor_bytes(&c, 4, &p), "exactly what is left");
	cr_assert_eq(p, buf + 1, "a borrow points into the buffer");
	cr_assert(cursor_done(&c));
	cr_assert(cursor_bytes(&c, 0, &p), "zero bytes at the end are fine");
	cr_assert_eq(p, buf + 5);
	cr_assert(cursor_done(&c));

	cursor_init(&c, buf, 5);
	cr_assert(cursor_skip(&c, 1));
	p = NULL;
	cr_assert_not(cursor_bytes(&c, 5, &p), "one more than what is left");
	cr_assert_null(p);
	assert_failed(&c);
	free(buf);
}

Test(cursor, copy_at_boundary_and_one_past)
{
	uint8_t *buf = ts_exact_copy("\x10\x20\x30", 3);
	uint8_t dst[4] = { 0xEE, 0xEE, 0xEE, 0xEE };
	struct cursor c;

	cursor_init(&c, buf, 3);
	cr_assert(cursor_copy(&c, dst, 3));
	cr_assert_arr_eq(dst, "\x10\x20\x30\xEE", 4);
	cr_assert(cursor_done(&c));

	memset(dst, 0xEE, sizeof(dst));
	cursor_init(&c, buf, 3);
	cr_assert_not(cursor_copy(&c, dst, 4));
	cr_assert_arr_eq(dst, "\xEE\xEE\xEE\xEE", 4, "a failed copy writes nothing");
	assert_failed(&c);
	free(buf);
}

Test(cursor, skip_at_boundary_and_one_past)
{
	uint8_t *buf = ts_exact_copy("\x01\x02\x03\x04", 4);
	struct cursor c;
	uint8_t v;

	cursor_init(&c, buf, 4);
	cr_assert(cursor_skip(&c, 0));
	cr_assert(cursor_skip(&c, 3));
	cr_assert(cursor_u8(&c, &v));
	cr_assert_eq(v, 0x04);

	cursor_init(&c, buf, 4);
	cr_assert(cursor_skip(&c, 2));
	cr_assert_not(cursor_skip(&c, 3));
	assert_failed(&c);
	free(buf);
}

Test(cursor, huge_lengths_do_not_wrap)
{
	uint8_t *buf = ts_exact_copy("\x01\x02", 2);
	struct cursor c;
	const uint8_t *p = NULL;

	cursor_init(&c, buf, 2);
	cr_assert(cursor_skip(&c, 1));
	cr_assert_not(cursor_bytes(&c, SIZE_MAX, &p));
	cr_assert_null(p);
	assert_failed(&c);

	cursor_init(&c, buf, 2);
	cr_assert(cursor_skip(&c, 1));
	cr_assert_not(cursor_skip(&c, SIZE_MAX));
	assert_failed(&c);
	free(buf);
}

Test(cursor, sub_splits_off_exactly_n)
{
	uint8_t *buf = ts_exact_copy("\xAA\xBB\xCC\xDD", 4);
	struct cursor c, sub;
	uint8_t v;

	cursor_init(&c, buf, 4);
	cr_assert(cursor_sub(&c, 3, &sub));
	cr_assert_eq(cursor_remaining(&sub), 3);
	cr_assert_eq(cursor_remaining(&c), 1);
	cr_assert(cursor_skip(&sub, 2));
	cr_assert(cursor_u8(&sub, &v));
	cr_assert_eq(v, 0xCC);
	cr_assert_not(cursor_u8(&sub, &v), "the sub-cursor ends where it was cut");
	assert_failed(&sub);
	cr_assert(cursor_ok(&c), "a failure inside the sub-cursor leaves the parent alone");
	cr_assert(cursor_u8(&c, &v));
	cr_assert_eq(v, 0xDD);
	cr_assert(cursor_done(&c));

	cursor_init(&c, buf, 4);
	cr_assert(cursor_sub(&c, 4, &sub), "the whole buffer");
	cr_assert(cursor_done(&c));
	cr_assert_eq(cursor_remaining(&sub), 4);

	cursor_init(&c, buf, 4);
	cr_assert_not(cursor_sub(&c, 5, &sub), "one past");
	assert_failed(&c);
	assert_failed(&sub);
	free(buf);
}

Test(cursor, failure_is_sticky)
{
	uint8_t *buf = ts_exact_copy("\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	struct cursor c, sub;
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	const uint8_t *p;
	uint8_t dst[1];

	cursor_init(&c, buf, 8);
	cr_assert(cursor_skip(&c, 2));
	cr_assert_not(cursor_bytes(&c, 7, &p), "7 asked, 6 left");
	/* Six bytes are still physically there, but every read now fails. */
	cr_assert_eq(cursor_remaining(&c), 0);
	cr_assert_not(cursor_u8(&c, &v8));
	cr_assert_not(cursor_u16(&c, &v16));
	cr_assert_not(cursor_u32(&c, &v32));
	cr_assert_not(cursor_bytes(&c, 0, &p), "even a zero-length read fails");
	cr_assert_not(cursor_copy(&c, dst, 1));
	cr_assert_not(cursor_skip(&c, 0));
	cr_assert_not(cursor_sub(&c, 1, &sub));
	assert_failed(&sub);
	assert_failed(&c);
	free(buf);
}

/* ---- BER-TLV ---- */

/* Read one TLV from hex, expecting success; checks tag, value and what
 * is left in the outer cursor. */
static void expect_tlv(const char *hex, uint32_t want_tag, size_t value_off,
		       size_t value_len, size_t left)
{
	size_t len;
	uint8_t *buf = exact_hex(hex, &len);
	struct cursor c, value;
	uint32_t tag = 0;
	const uint8_t *p = NULL;

	cursor_init(&c, buf, len);
	cr_assert(cursor_tlv(&c, &tag, &value), "TLV %s should parse", hex);
	cr_assert_eq(tag, want_tag, "TLV %s: tag %X, want %X", hex, tag, want_tag);
	cr_assert_eq(cursor_remaining(&value), value_len, "TLV %s: value length", hex);
	cr_assert(cursor_bytes(&value, value_len, &p));
	cr_assert(cursor_done(&value));
	if (value_len)
		cr_assert_eq(p, buf + value_off, "TLV %s: value in place", hex);
	cr_assert_eq(cursor_remaining(&c), left, "TLV %s: bytes after it", hex);
	free(buf);
}

/* Read one TLV from len bytes of buf, expecting refusal. */
static void expect_tlv_refused(const uint8_t *bytes, size_t len, const char *what)
{
	uint8_t *buf = ts_exact_copy(bytes, len);
	struct cursor c, value;
	uint32_t tag = 0x12345678;

	cursor_init(&c, buf, len);
	cr_assert_not(cursor_tlv(&c, &tag, &value), "%s should be refused", what);
	assert_failed(&c);
	assert_failed(&value);
	cr_assert_eq(tag, 0x12345678, "%s: tag left alone", what);
	free(buf);
}

static void expect_tlv_refused_hex(const char *hex)
{
	size_t len;
	uint8_t *buf = exact_hex(hex, &len);

	expect_tlv_refused(buf, len, hex);
	free(buf);
}

Test(tlv, one_byte_tag_short_length)
{
	expect_tlv("84 02 AA BB", 0x84, 2, 2, 0);
	expect_tlv("84 02 AA BB 90 00", 0x84, 2, 2, 2);
	expect_tlv("01 01 FF", 0x01, 2, 1, 0);
}

Test(tlv, two_and_three_byte_tags)
{
	expect_tlv("5F 2D 02 65 6E", 0x5F2D, 3, 2, 0);
	expect_tlv("9F 7F 01 00", 0x9F7F, 3, 1, 0);
	expect_tlv("DF 81 02 01 42", 0xDF8102, 4, 1, 0);
	expect_tlv("7F FF 7F 00", 0x7FFF7F, 4, 0, 0);
}

Test(tlv, four_byte_tag_refused)
{
	expect_tlv_refused_hex("DF 81 81 01 01 AA");
	expect_tlv_refused_hex("1F FF FF 7F 00");
}

Test(tlv, truncated_tags_and_lengths_refused)
{
	expect_tlv_refused(NULL, 0, "empty input");
	expect_tlv_refused_hex("84");
	expect_tlv_refused_hex("5F");
	expect_tlv_refused_hex("DF 81");
	expect_tlv_refused_hex("84 81");
	expect_tlv_refused_hex("84 82 01");
	expect_tlv_refused_hex("84 83 00 01");
}

Test(tlv, zero_length_value)
{
	expect_tlv("04 00", 0x04, 2, 0, 0);
	expect_tlv("04 00 05 00", 0x04, 2, 0, 2);
	expect_tlv("04 81 00", 0x04, 3, 0, 0);
}

Test(tlv, short_length_maximum)
{
	static uint8_t buf[2 + 0x7F];

	memset(buf, 0x33, sizeof(buf));
	buf[0] = 0x53;
	buf[1] = 0x7F;
	uint8_t *copy = ts_exact_copy(buf, sizeof(buf));
	struct cursor c, value;
	uint32_t tag;

	cursor_init(&c, copy, sizeof(buf));
	cr_assert(cursor_tlv(&c, &tag, &value));
	cr_assert_eq(tag, 0x53);
	cr_assert_eq(cursor_remaining(&value), 0x7F);
	cr_assert(cursor_done(&c));
	free(copy);
}

/* Build tag 0x53, the given length field, then n bytes of value, and check
 * that exactly n bytes come back. */
static void check_long_form(const uint8_t *lenfield, size_t lenfield_len, size_t n)
{
	size_t total = 1 + lenfield_len + n;
	uint8_t *buf = malloc(total);
	struct cursor c, value;
	uint32_t tag;
	const uint8_t *p;

	cr_assert_not_null(buf);
	buf[0] = 0x53;
	memcpy(buf + 1, lenfield, lenfield_len);
	for (size_t i = 0; i < n; i++)
		buf[1 + lenfield_len + i] = (uint8_t)(i * 7);
	cursor_init(&c, buf, total);
	cr_assert(cursor_tlv(&c, &tag, &value), "long form %02X with %zu bytes", lenfield[0], n);
	cr_assert_eq(tag, 0x53);
	cr_assert_eq(cursor_remaining(&value), n);
	cr_assert(cursor_done(&c));
	cr_assert(cursor_bytes(&value, n, &p));
	cr_assert_eq(p, buf + 1 + lenfield_len);
	free(buf);

	/* The same header with one value byte missing is refused. */
	buf = malloc(total - 1);
	cr_assert_not_null(buf);
	buf[0] = 0x53;
	memcpy(buf + 1, lenfield, lenfield_len);
	memset(buf + 1 + lenfield_len, 0, n - 1);
	cursor_init(&c, buf, total - 1);
	cr_assert_not(cursor_tlv(&c, &tag, &value), "long form %02X one byte short", lenfield[0]);
	assert_failed(&c);
	assert_failed(&value);
	free(buf);
}

Test(tlv, long_forms_81_82_83)
{
	check_long_form((const uint8_t *)"\x81\x80", 2, 0x80);
	check_long_form((const uint8_t *)"\x81\xFF", 2, 0xFF);
	check_long_form((const uint8_t *)"\x82\x01\x00", 3, 0x100);
	check_long_form((const uint8_t *)"\x82\x01\x2C", 3, 300);
	check_long_form((const uint8_t *)"\x83\x01\x00\x00", 4, 0x10000);
	check_long_form((const uint8_t *)"\x83\x00\x00\x05", 4, 5);
}

Test(tlv, length_larger_than_remaining_refused)
{
	expect_tlv_refused_hex("84 05 AA BB CC DD");
	expect_tlv_refused_hex("84 81 05 AA BB CC DD");
	expect_tlv_refused_hex("84 82 00 05 AA BB CC DD");
	expect_tlv_refused_hex("84 83 FF FF FF AA");
}

Test(tlv, other_length_forms_refused)
{
	expect_tlv_refused_hex("84 84 00 00 00 01 AA");
	expect_tlv_refused_hex("84 80 AA 00 00");
	expect_tlv_refused_hex("84 FF AA");
}

Test(tlv, nested_and_sequential)
{
	size_t len;
	uint8_t *buf = exact_hex("6F 07 84 02 A0 00 A5 01 55 90 00", &len);
	struct cursor c, fci, inner;
	uint32_t tag;
	const uint8_t *p;

	cursor_init(&c, buf, len);
	cr_assert(cursor_tlv(&c, &tag, &fci));
	cr_assert_eq(tag, 0x6F);
	cr_assert(cursor_tlv(&fci, &tag, &inner));
	cr_assert_eq(tag, 0x84);
	cr_assert(cursor_bytes(&inner, 2, &p));
	cr_assert_arr_eq(p, "\xA0\x00", 2);
	cr_assert(cursor_tlv(&fci, &tag, &inner));
	cr_assert_eq(tag, 0xA5);
	cr_assert_eq(cursor_remaining(&inner), 1);
	cr_assert(cursor_done(&fci));
	cr_assert_not(cursor_tlv(&fci, &tag, &inner), "nothing left in the FCI");
	cr_assert(cursor_tlv(&c, &tag, &inner), "the outer cursor goes on after the FCI");
	cr_assert_eq(tag, 0x90);
	cr_assert(cursor_done(&c));
	free(buf);
}

Test(tlv, failed_cursor_refuses_tlv)
{
	size_t len;
	uint8_t *buf = exact_hex("84 01 AA", &len);
	struct cursor c, value;
	uint32_t tag;

	cursor_init(&c, buf, len);
	cr_assert_not(cursor_skip(&c, 4));
	cr_assert_not(cursor_tlv(&c, &tag, &value));
	assert_failed(&value);
	free(buf);
}

/* ---- writer ---- */

Test(writer, fills_exactly_to_cap)
{
	uint8_t buf[8];
	struct writer w;

	memset(buf, 0xEE, sizeof(buf));
	writer_init(&w, buf, 7);
	cr_assert(writer_u8(&w, 0x01));
	cr_assert(writer_u16(&w, 0x0203));
	cr_assert(writer_u32(&w, 0x04050607));
	cr_assert_eq(w.len, 7);
	cr_assert(writer_ok(&w));
	cr_assert(writer_bytes(&w, "x", 0), "zero bytes fit in a full writer");
	cr_assert(writer_ok(&w));
	cr_assert_arr_eq(buf, "\x01\x02\x03\x04\x05\x06\x07\xEE", 8);
}

/* Each write that does not fit: nothing written, len unchanged, overflow. */
Test(writer, overflow_writes_nothing)
{
	uint8_t buf[8];
	struct writer w;

	memset(buf, 0xEE, sizeof(buf));
	writer_init(&w, buf, 4);
	cr_assert(writer_u16(&w, 0xA1A2));
	cr_assert(writer_u8(&w, 0xA3));
	cr_assert_not(writer_u16(&w, 0xB1B2), "two bytes into one");
	cr_assert_not(writer_ok(&w));
	cr_assert_eq(w.len, 3);
	cr_assert_arr_eq(buf, "\xA1\xA2\xA3\xEE\xEE\xEE\xEE\xEE", 8);
	/* Sticky: a write that would fit fails too. */
	cr_assert_not(writer_u8(&w, 0xC1));
	cr_assert_eq(w.len, 3);
	cr_assert_eq(buf[3], 0xEE);
	cr_assert_not(writer_bytes(&w, "z", 0), "even zero bytes after an overflow");
}

Test(writer, each_kind_overflows_one_past)
{
	uint8_t buf[8];
	struct writer w;

	memset(buf, 0xEE, sizeof(buf));
	writer_init(&w, buf, 3);
	cr_assert_not(writer_u32(&w, 0x01020304));
	cr_assert_eq(w.len, 0);
	cr_assert(w.overflow);

	writer_init(&w, buf, 0);
	cr_assert_not(writer_u8(&w, 1));
	cr_assert(w.overflow);

	writer_init(&w, buf, 1);
	cr_assert_not(writer_u16(&w, 0x0102));
	cr_assert(w.overflow);

	writer_init(&w, buf, 5);
	cr_assert(writer_bytes(&w, "abcde", 5));
	writer_init(&w, buf, 5);
	cr_assert_not(writer_bytes(&w, "ABCDEF", 6));
	cr_assert(w.overflow);
	cr_assert_arr_eq(buf, "abcde\xEE\xEE\xEE", 8, "the failed write left the buffer alone");
}

Test(writer, reserve)
{
	uint8_t buf[6];
	struct writer w;

	memset(buf, 0, sizeof(buf));
	writer_init(&w, buf, 6);
	cr_assert(writer_u8(&w, 0x7E));
	uint8_t *p = writer_reserve(&w, 3);
	cr_assert_eq(p, buf + 1, "reserved bytes start at the current length");
	cr_assert_eq(w.len, 4);
	store_be16(p, 0x1122);
	p[2] = 0x33;
	cr_assert(writer_u16(&w, 0x4455), "writes go on after the reserved bytes");
	cr_assert_arr_eq(buf, "\x7E\x11\x22\x33\x44\x55", 6);
	cr_assert_eq(writer_reserve(&w, 0), buf + 6, "zero bytes at the end");
	cr_assert_null(writer_reserve(&w, 1));
	cr_assert(w.overflow);
	cr_assert_eq(w.len, 6);

	writer_init(&w, buf, 6);
	cr_assert_null(writer_reserve(&w, SIZE_MAX), "a huge reservation does not wrap");
	cr_assert(w.overflow);
	cr_assert_eq(w.len, 0);
}

/* ---- big-endian helpers ---- */

Test(cursor, load_store_round_trip)
{
	uint8_t b[4];

	store_be16(b, 0xA1B2);
	cr_assert_arr_eq(b, "\xA1\xB2", 2);
	cr_assert_eq(load_be16(b), 0xA1B2);
	store_be32(b, 0xC1D2E3F4u);
	cr_assert_arr_eq(b, "\xC1\xD2\xE3\xF4", 4);
	cr_assert_eq(load_be32(b), 0xC1D2E3F4u);
}

/* ---- hex ---- */

Test(hex, decode_with_separators)
{
	uint8_t out[8];

	memset(out, 0, sizeof(out));
	cr_assert_eq(hex_decode("01 02:03\t04", out, sizeof(out)), 4);
	cr_assert_arr_eq(out, "\x01\x02\x03\x04", 4);
	cr_assert_eq(hex_decode("  aBcD:eF  ", out, sizeof(out)), 3);
	cr_assert_arr_eq(out, "\xAB\xCD\xEF", 3);
	cr_assert_eq(hex_decode("00FF", out, sizeof(out)), 2);
	cr_assert_arr_eq(out, "\x00\xFF", 2);
	cr_assert_eq(hex_decode("", out, sizeof(out)), 0);
	cr_assert_eq(hex_decode(" : \t", out, sizeof(out)), 0);
}

Test(hex, decode_refusals)
{
	uint8_t out[8];

	cr_assert_eq(hex_decode("0 1", out, sizeof(out)), -1, "separator inside a byte");
	cr_assert_eq(hex_decode("012", out, sizeof(out)), -1, "odd digit count");
	cr_assert_eq(hex_decode("01 2", out, sizeof(out)), -1, "odd digit count at the end");
	cr_assert_eq(hex_decode("0G", out, sizeof(out)), -1, "non-hex digit");
	cr_assert_eq(hex_decode("01-02", out, sizeof(out)), -1, "dash is not a separator");
	cr_assert_eq(hex_decode("0x01", out, sizeof(out)), -1, "no 0x prefix");
}

Test(hex, decode_capacity)
{
	uint8_t out[4];

	memset(out, 0xEE, sizeof(out));
	cr_assert_eq(hex_decode("010203", out, 3), 3, "exactly the capacity");
	cr_assert_arr_eq(out, "\x01\x02\x03\xEE", 4);

	memset(out, 0xEE, sizeof(out));
	cr_assert_eq(hex_decode("01020304", out, 3), -1, "one byte past the capacity");
	cr_assert_eq(out[3], 0xEE, "nothing written past the capacity");

	cr_assert_eq(hex_decode("01", NULL, 0), -1, "no room at all");
	cr_assert_eq(hex_decode("", NULL, 0), 0);
}

Test(hex, encode)
{
	char out[2 * 4 + 1];

	memset(out, 'x', sizeof(out));
	hex_encode((const uint8_t *)"\x00\x9A\xBC\xFF", 4, out);
	cr_assert_str_eq(out, "009ABCFF", "upper case, terminated");
	hex_encode(NULL, 0, out);
	cr_assert_str_eq(out, "");
}

Test(hex, round_trip_every_byte)
{
	uint8_t all[256], back[256];
	char text[2 * 256 + 1];

	for (size_t i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	hex_encode(all, sizeof(all), text);
	cr_assert_eq(strlen(text), 512);
	cr_assert_eq(hex_decode(text, back, sizeof(back)), 256);
	cr_assert_arr_eq(back, all, 256);
}

/* ---- little-endian reads and writes (USB and CCID fields) ---- */

Test(cursor, u16le_is_little_endian_and_bounded)
{
	uint8_t *buf = ts_exact_copy("\x34\x12\x56", 3);
	struct cursor c;
	uint16_t v = 0;

	cursor_init(&c, buf, 2);
	cr_assert(cursor_u16le(&c, &v));
	cr_assert_eq(v, 0x1234);
	cr_assert(cursor_done(&c));

	cursor_init(&c, buf, 3);
	cr_assert(cursor_u16le(&c, &v));
	cr_assert_eq(cursor_remaining(&c), 1);
	v = 0xBEEF;
	cr_assert_not(cursor_u16le(&c, &v), "one byte left, two asked");
	cr_assert_eq(v, 0xBEEF, "a failed read leaves the output alone");
	assert_failed(&c);
	free(buf);
}

Test(cursor, u32le_is_little_endian_and_bounded)
{
	uint8_t *buf = ts_exact_copy("\xEF\xBE\xAD\xDE", 4);
	struct cursor c;
	uint32_t v = 0;

	cursor_init(&c, buf, 4);
	cr_assert(cursor_u32le(&c, &v));
	cr_assert_eq(v, 0xDEADBEEFu);
	cr_assert(cursor_done(&c));

	for (size_t n = 0; n < 4; n++) {
		cursor_init(&c, buf, n);
		v = 7;
		cr_assert_not(cursor_u32le(&c, &v), "%zu bytes, four asked", n);
		cr_assert_eq(v, 7);
		assert_failed(&c);
	}
	free(buf);
}

Test(cursor, le_and_be_read_the_same_bytes_in_opposite_order)
{
	uint8_t *buf = ts_exact_copy("\x01\x02\x03\x04\x05\x06", 6);
	struct cursor be, le;
	uint16_t b16, l16;
	uint32_t b32, l32;

	cursor_init(&be, buf, 6);
	cursor_init(&le, buf, 6);
	cr_assert(cursor_u16(&be, &b16) && cursor_u16le(&le, &l16));
	cr_assert(cursor_u32(&be, &b32) && cursor_u32le(&le, &l32));
	cr_assert_eq(b16, 0x0102);
	cr_assert_eq(l16, 0x0201);
	cr_assert_eq(b32, 0x03040506u);
	cr_assert_eq(l32, 0x06050403u);
	cr_assert(cursor_done(&be) && cursor_done(&le));
	free(buf);
}

Test(cursor, le_reads_fail_after_a_failure)
{
	uint8_t *buf = ts_exact_copy("\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	struct cursor c;
	uint16_t v16 = 0x1111;
	uint32_t v32 = 0x22222222;

	cursor_init(&c, buf, 8);
	cr_assert_not(cursor_skip(&c, 9));
	cr_assert_not(cursor_u16le(&c, &v16), "bytes are there, but the cursor failed");
	cr_assert_not(cursor_u32le(&c, &v32));
	cr_assert_eq(v16, 0x1111);
	cr_assert_eq(v32, 0x22222222);
	assert_failed(&c);
	free(buf);
}

Test(writer, le_writes_fill_exactly_and_overflow_one_past)
{
	uint8_t buf[8];
	struct writer w;

	memset(buf, 0xEE, sizeof(buf));
	writer_init(&w, buf, 6);
	cr_assert(writer_u16le(&w, 0x0201));
	cr_assert(writer_u32le(&w, 0x06050403u));
	cr_assert_eq(w.len, 6);
	cr_assert(writer_ok(&w));
	cr_assert_arr_eq(buf, "\x01\x02\x03\x04\x05\x06\xEE\xEE", 8);

	/* Each one past its capacity: nothing written, len unchanged. */
	memset(buf, 0xEE, sizeof(buf));
	writer_init(&w, buf, 1);
	cr_assert_not(writer_u16le(&w, 0xA1A2));
	cr_assert(w.overflow);
	cr_assert_eq(w.len, 0);
	writer_init(&w, buf, 3);
	cr_assert_not(writer_u32le(&w, 0xB1B2B3B4u));
	cr_assert(w.overflow);
	cr_assert_eq(w.len, 0);
	cr_assert_arr_eq(buf, "\xEE\xEE\xEE\xEE\xEE\xEE\xEE\xEE", 8);

	/* Sticky, as for the big-endian writes. */
	writer_init(&w, buf, 4);
	cr_assert(writer_u16le(&w, 0x0102));
	cr_assert_not(writer_u32le(&w, 0x03040506u));
	cr_assert_not(writer_u16le(&w, 0x0708), "would fit, but the writer overflowed");
	cr_assert_eq(w.len, 2);
	cr_assert_arr_eq(buf, "\x02\x01\xEE\xEE", 4);
}

Test(writer, le_round_trips_through_the_cursor)
{
	static const uint32_t values[] = { 0, 1, 0xFF, 0x100, 0xFFFF, 0x10000, 0x7FFFFFFF,
					   0x80000000u, 0xFFFFFFFFu, 0x12345678 };
	uint8_t buf[6];

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		struct writer w;
		struct cursor c;
		uint16_t v16;
		uint32_t v32;

		writer_init(&w, buf, sizeof(buf));
		cr_assert(writer_u32le(&w, values[i]));
		cr_assert(writer_u16le(&w, (uint16_t)values[i]));
		cursor_init(&c, buf, w.len);
		cr_assert(cursor_u32le(&c, &v32));
		cr_assert(cursor_u16le(&c, &v16));
		cr_assert(cursor_done(&c));
		cr_assert_eq(v32, values[i]);
		cr_assert_eq(v16, (uint16_t)values[i]);
	}
}

Test(cursor, load_store_le_round_trip)
{
	uint8_t b[4];

	store_le16(b, 0xA1B2);
	cr_assert_arr_eq(b, "\xB2\xA1", 2);
	cr_assert_eq(load_le16(b), 0xA1B2);
	store_le32(b, 0xC1D2E3F4u);
	cr_assert_arr_eq(b, "\xF4\xE3\xD2\xC1", 4);
	cr_assert_eq(load_le32(b), 0xC1D2E3F4u);
	/* The top bit of each byte must not sign-extend into the others. */
	cr_assert_eq(load_le32((const uint8_t *)"\x80\x80\x80\x80"), 0x80808080u);
	cr_assert_eq(load_le16((const uint8_t *)"\xFF\x80"), 0x80FF);
}
