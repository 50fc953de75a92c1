/*
 * test_profile.c - the profile applet (DESIGN §2.2, APDUs in
 * common/profile_proto.h) on an in-memory card: fields, release policies per class, the fresh-VERIFY
 * rule for changes, UTF-8 and length checks, persistence, and that every
 * refused command leaves the card's memory untouched.
 */
/* The fixture serves the wallet tests too: most of its helpers are unused
 * here. */
#include "wallet_fixture.h"

#define F_USERNAME 0x01
#define F_PASSWORD 0x02
#define F_FORENAME 0x03
#define F_CARDNO 0x09
#define F_EMAIL 0x0A
#define F_PHONE 0x0B

static void boot_profile(void)
{
	fx_boot(false);
	cr_assert_eq(fx_send(SELECT_PROFILE), 0x9000);
}

TestSuite(profile, .init = boot_profile, .fini = fx_teardown);

/* ---- helpers ---- */

static void verify(void)
{
	cr_assert_eq(fx_send(VERIFY_1234), 0x9000);
}

static void reselect(void)
{
	cr_assert_eq(fx_send(SELECT_PROFILE), 0x9000);
}

static uint16_t get(uint8_t id)
{
	uint8_t cmd[5] = { 0x00, 0xCA, 0x01, id, 0x00 };
	return fx_send_bytes(cmd, sizeof(cmd));
}

/* PUT FIELD, case 3 (case 1 when len is 0). */
static uint16_t put(uint8_t id, const void *value, size_t len)
{
	return fx_send_data(0x00, 0xDA, 0x01, id, value, len, false);
}

static uint16_t set_policy(uint8_t general, uint8_t priv)
{
	uint8_t p[2] = { general, priv };
	return fx_send_data(0x80, 0x32, 0x00, 0x00, p, 2, false);
}

static void expect_policy(uint8_t general, uint8_t priv)
{
	cr_assert_eq(fx_send("80 30 00 00 00"), 0x9000);
	cr_assert_eq(fx.rsp_len, 2);
	cr_assert_eq(fx.rsp[0], general, "general policy %02x, expected %02x", fx.rsp[0], general);
	cr_assert_eq(fx.rsp[1], priv, "private policy %02x, expected %02x", fx.rsp[1], priv);
}

/* GET FIELD answers 9000 with exactly these bytes. */
static void expect_field(uint8_t id, const void *value, size_t len)
{
	cr_assert_eq(get(id), 0x9000, "GET FIELD %02x", id);
	cr_assert_eq(fx.rsp_len, len, "field %02x: %zu bytes, expected %zu", id, fx.rsp_len, len);
	if (len)
		cr_assert_arr_eq(fx.rsp, value, len, "field %02x", id);
}

static void put_ok(uint8_t id, const void *value, size_t len)
{
	verify();
	cr_assert_eq(put(id, value, len), 0x9000, "PUT FIELD %02x", id);
}

static void set_policy_ok(uint8_t general, uint8_t priv)
{
	verify();
	cr_assert_eq(set_policy(general, priv), 0x9000);
	expect_policy(general, priv);
}

static unsigned long writes(void)
{
	return vc_card_writes(&fx.card);
}

/* ---- defaults and empty fields ---- */

Test(profile, default_policy_is_general_never_private_always)
{
	expect_policy(0x00, 0x02);
}

Test(profile, get_policy_refuses_bad_parameters)
{
	cr_assert_eq(fx_send("80 30 01 00 00"), 0x6A86);
	cr_assert_eq(fx_send("80 30 00 01 00"), 0x6A86);
	cr_assert_eq(fx_send("80 30 00 00 01 00"), 0x6700);
}

Test(profile, empty_fields_answer_9000_without_data)
{
	for (uint8_t id = 1; id <= PROFILE_FIELDS; id++) {
		bool priv = id == F_PASSWORD || id == F_CARDNO;
		if (priv) {
			cr_assert_eq(get(id), 0x6982, "private field %02x needs the PIN", id);
			verify();
		}
		cr_assert_eq(get(id), 0x9000, "field %02x", id);
		cr_assert_eq(fx.rsp_len, 0, "field %02x is empty", id);
	}
}

/* ---- PUT FIELD and the fresh VERIFY ---- */

Test(profile, put_needs_a_fresh_verify_and_consumes_it)
{
	unsigned long w = writes();
	cr_assert_eq(put(F_USERNAME, "alice", 5), 0x6982, "no VERIFY at all");
	cr_assert_eq(writes(), w);
	expect_field(F_USERNAME, NULL, 0);

	verify();
	w = writes();
	cr_assert_eq(put(F_USERNAME, "alice", 5), 0x9000);
	cr_assert_gt(writes(), w, "a PUT that succeeds writes");
	expect_field(F_USERNAME, "alice", 5);

	w = writes();
	cr_assert_eq(put(F_USERNAME, "bob", 3), 0x6982, "the VERIFY was consumed");
	cr_assert_eq(writes(), w);
	expect_field(F_USERNAME, "alice", 5);

	verify();
	cr_assert_eq(put(F_USERNAME, "bob", 3), 0x9000);
	expect_field(F_USERNAME, "bob", 3);
}

Test(profile, put_after_a_failed_verify_is_refused)
{
	verify();
	/* A wrong PIN ends the verified state, fresh included. */
	cr_assert_eq(fx_send("00 20 00 81 08 39393939FFFFFFFF"), 0x63C2);
	unsigned long w = writes();
	cr_assert_eq(put(F_USERNAME, "alice", 5), 0x6982);
	cr_assert_eq(writes(), w);
	expect_field(F_USERNAME, NULL, 0);
}

Test(profile, a_private_read_consumes_the_fresh_verify)
{
	verify();
	cr_assert_eq(get(F_PASSWORD), 0x9000);
	unsigned long w = writes();
	cr_assert_eq(put(F_USERNAME, "alice", 5), 0x6982);
	cr_assert_eq(writes(), w);
}

/* ---- release policies ---- */

Test(profile, general_fields_readable_without_pin_under_policy_00)
{
	put_ok(F_USERNAME, "alice", 5);
	put_ok(F_EMAIL, "alice@example.org", 17);
	vc_card_reset(&fx.card);
	reselect();
	expect_field(F_USERNAME, "alice", 5);
	expect_field(F_USERNAME, "alice", 5);
	expect_field(F_EMAIL, "alice@example.org", 17);
	fx_power_cycle();
	reselect();
	expect_field(F_EMAIL, "alice@example.org", 17);
}

Test(profile, private_fields_need_a_fresh_verify_for_every_read)
{
	put_ok(F_PASSWORD, "s3cret", 6);
	put_ok(F_CARDNO, "4111111111111111", 16);

	cr_assert_eq(get(F_PASSWORD), 0x6982, "the PUT consumed the VERIFY");
	cr_assert_eq(fx.rsp_len, 0);
	verify();
	expect_field(F_PASSWORD, "s3cret", 6);
	cr_assert_eq(get(F_PASSWORD), 0x6982, "read again without a VERIFY");
	cr_assert_eq(fx.rsp_len, 0, "and nothing leaks");
	cr_assert_eq(get(F_CARDNO), 0x6982);
	verify();
	expect_field(F_CARDNO, "4111111111111111", 16);
	cr_assert_eq(get(F_CARDNO), 0x6982);
	verify();
	expect_field(F_PASSWORD, "s3cret", 6);
	/* General fields stay free meanwhile. */
	expect_field(F_USERNAME, NULL, 0);
}

Test(profile, general_policy_01_once_per_session)
{
	put_ok(F_USERNAME, "alice", 5);
	set_policy_ok(0x01, 0x02);

	/* The VERIFY of SET POLICY was consumed, but the session is verified. */
	expect_field(F_USERNAME, "alice", 5);
	expect_field(F_USERNAME, "alice", 5);

	vc_card_reset(&fx.card);
	reselect();
	cr_assert_eq(get(F_USERNAME), 0x6982, "a new session after reset");
	cr_assert_eq(fx.rsp_len, 0);
	verify();
	expect_field(F_USERNAME, "alice", 5);
	expect_field(F_USERNAME, "alice", 5);
	/* Session reads did not use up the fresh VERIFY; a PUT does, and
	 * the session stays verified. */
	cr_assert_eq(put(F_FORENAME, "Alice", 5), 0x9000);
	expect_field(F_USERNAME, "alice", 5);
	expect_field(F_FORENAME, "Alice", 5);
	cr_assert_eq(put(F_FORENAME, "Bob", 3), 0x6982);

	fx_power_cycle();
	reselect();
	expect_policy(0x01, 0x02);
	cr_assert_eq(get(F_USERNAME), 0x6982, "a new session after power-up");
	verify();
	expect_field(F_USERNAME, "alice", 5);
	/* The private class is unchanged: every time. */
	cr_assert_eq(get(F_PASSWORD), 0x9000);
	cr_assert_eq(get(F_PASSWORD), 0x6982);
}

Test(profile, general_policy_02_every_time)
{
	put_ok(F_EMAIL, "a@b.c", 5);
	set_policy_ok(0x02, 0x02);
	cr_assert_eq(get(F_EMAIL), 0x6982);
	verify();
	expect_field(F_EMAIL, "a@b.c", 5);
	cr_assert_eq(get(F_EMAIL), 0x6982);
	verify();
	expect_field(F_EMAIL, "a@b.c", 5);
}

Test(profile, private_policy_00_never_asks)
{
	put_ok(F_PASSWORD, "s3cret", 6);
	set_policy_ok(0x00, 0x00);
	expect_field(F_PASSWORD, "s3cret", 6);
	expect_field(F_PASSWORD, "s3cret", 6);
	fx_power_cycle();
	reselect();
	expect_field(F_PASSWORD, "s3cret", 6);
	/* Changing still needs a fresh VERIFY. */
	cr_assert_eq(put(F_PASSWORD, "x", 1), 0x6982);
	expect_field(F_PASSWORD, "s3cret", 6);
}

Test(profile, private_policy_01_once_per_session)
{
	put_ok(F_CARDNO, "1234", 4);
	set_policy_ok(0x00, 0x01);
	expect_field(F_CARDNO, "1234", 4);
	expect_field(F_CARDNO, "1234", 4);
	vc_card_reset(&fx.card);
	reselect();
	cr_assert_eq(get(F_CARDNO), 0x6982);
	verify();
	expect_field(F_CARDNO, "1234", 4);
	expect_field(F_CARDNO, "1234", 4);
}

/* ---- SET POLICY ---- */

Test(profile, set_policy_needs_a_fresh_verify)
{
	unsigned long w = writes();
	cr_assert_eq(set_policy(0x00, 0x00), 0x6982, "no VERIFY");
	cr_assert_eq(writes(), w);
	expect_policy(0x00, 0x02);

	verify();
	cr_assert_eq(put(F_USERNAME, "a", 1), 0x9000);
	w = writes();
	cr_assert_eq(set_policy(0x00, 0x00), 0x6982, "verified, but not fresh");
	cr_assert_eq(writes(), w);
	expect_policy(0x00, 0x02);

	verify();
	cr_assert_eq(set_policy(0x01, 0x01), 0x9000);
	expect_policy(0x01, 0x01);
	w = writes();
	cr_assert_eq(set_policy(0x02, 0x02), 0x6982, "consumed");
	cr_assert_eq(writes(), w);
	expect_policy(0x01, 0x01);
}

Test(profile, set_policy_refuses_malformed_input_changing_nothing)
{
	verify();
	unsigned long w = writes();
	cr_assert_eq(set_policy(0x03, 0x02), 0x6A80);
	cr_assert_eq(set_policy(0x00, 0x03), 0x6A80);
	cr_assert_eq(set_policy(0xFF, 0xFF), 0x6A80);
	cr_assert_eq(fx_send("80 32 00 00 01 00"), 0x6700, "Lc 1");
	cr_assert_eq(fx_send("80 32 00 00 03 000000"), 0x6700, "Lc 3");
	cr_assert_eq(fx_send("80 32 00 00"), 0x6700, "no data");
	cr_assert_eq(fx_send("80 32 01 00 02 0000"), 0x6A86);
	cr_assert_eq(fx_send("80 32 00 01 02 0000"), 0x6A86);
	cr_assert_eq(writes(), w, "no refused SET POLICY writes");
	expect_policy(0x00, 0x02);
	/* The checks come before the PIN: the fresh VERIFY is still there. */
	cr_assert_eq(set_policy(0x02, 0x00), 0x9000);
	expect_policy(0x02, 0x00);
}

/* ---- values: length, UTF-8, clearing ---- */

Test(profile, values_up_to_64_bytes)
{
	uint8_t v[PROFILE_VALUE_MAX + 1];
	for (size_t i = 0; i < sizeof(v); i++)
		v[i] = (uint8_t)('A' + i % 26);
	cr_assert_eq(PROFILE_VALUE_MAX, 64);

	put_ok(F_PHONE, v, 64);
	expect_field(F_PHONE, v, 64);

	put_ok(F_EMAIL, v, 63);
	expect_field(F_EMAIL, v, 63);

	put_ok(F_PHONE, "zz", 2);
	verify();
	unsigned long w = writes();
	cr_assert_eq(put(F_PHONE, v, 65), 0x6700);
	cr_assert_eq(writes(), w);
	expect_field(F_PHONE, "zz", 2);
	/* 65 bytes did not take the fresh VERIFY. */
	cr_assert_eq(put(F_PHONE, v, 64), 0x9000);
	expect_field(F_PHONE, v, 64);
}

Test(profile, a_shorter_value_leaves_nothing_of_the_old_one)
{
	uint8_t v[PROFILE_VALUE_MAX];
	memset(v, 'x', sizeof(v));
	put_ok(F_USERNAME, v, sizeof(v));
	expect_field(F_USERNAME, v, sizeof(v));
	put_ok(F_USERNAME, "abc", 3);
	expect_field(F_USERNAME, "abc", 3);
	put_ok(F_USERNAME, v, sizeof(v));
	put_ok(F_USERNAME, "q", 1);
	expect_field(F_USERNAME, "q", 1);
}

/* Whether the card's persistent image holds these bytes anywhere. */
static bool image_contains(const uint8_t *pat, size_t n)
{
	size_t size = fx.st->size;
	uint8_t *img = malloc(size);
	cr_assert_not_null(img);
	cr_assert_eq(vc_storage_read(fx.st, 0, img, size), VC_OK);
	bool found = false;
	for (size_t i = 0; i + n <= size && !found; i++)
		found = memcmp(img + i, pat, n) == 0;
	free(img);
	return found;
}

Test(profile, a_shorter_value_erases_the_old_one_from_memory)
{
	/* Not only GET: the old value's tail must not stay in the image. */
	uint8_t v[PROFILE_VALUE_MAX];
	for (size_t i = 0; i < sizeof(v); i++)
		v[i] = (uint8_t)(0x21 + (i * 7) % 90);	/* printable, no obvious runs */
	put_ok(F_PASSWORD, v, sizeof(v));
	cr_assert(image_contains(v + 8, 24), "the value is in the image");
	put_ok(F_PASSWORD, "abc", 3);
	cr_assert_not(image_contains(v + 8, 24), "the old value's tail lingers");
	cr_assert_not(image_contains(v + 40, 24), "the old value's tail lingers");
	verify();
	expect_field(F_PASSWORD, "abc", 3);
}

Test(profile, put_with_lc_0_clears_the_field)
{
	put_ok(F_USERNAME, "alice", 5);
	put_ok(F_EMAIL, "a@b.c", 5);
	verify();
	cr_assert_eq(fx_send("00 DA 01 01"), 0x9000, "case 1: no data");
	expect_field(F_USERNAME, NULL, 0);
	expect_field(F_EMAIL, "a@b.c", 5);
	/* Clearing is a change: it needs a fresh VERIFY too. */
	cr_assert_eq(fx_send("00 DA 01 0A"), 0x6982);
	expect_field(F_EMAIL, "a@b.c", 5);
	fx_power_cycle();
	reselect();
	expect_field(F_USERNAME, NULL, 0);
}

Test(profile, invalid_utf8_is_refused_changing_nothing)
{
	static const struct {
		const char *what;
		uint8_t b[8];
		size_t n;
	} bad[] = {
		{ "lone continuation byte", { 0x80 }, 1 },
		{ "continuation inside text", { 'a', 'b', 0xBF, 'c' }, 4 },
		{ "overlong slash", { 0xC0, 0xAF }, 2 },
		{ "overlong C1", { 0xC1, 0xBF }, 2 },
		{ "overlong 3-byte", { 0xE0, 0x80, 0xAF }, 3 },
		{ "overlong 4-byte", { 0xF0, 0x8F, 0xBF, 0xBF }, 4 },
		{ "surrogate D800", { 0xED, 0xA0, 0x80 }, 3 },
		{ "surrogate DFFF", { 0xED, 0xBF, 0xBF }, 3 },
		{ "truncated 3-byte", { 0xE2, 0x82 }, 2 },
		{ "truncated at the end", { 'Z', 'o', 0xC3 }, 3 },
		{ "lead byte then ASCII", { 0xC3, 'a' }, 2 },
		{ "F5 lead", { 0xF5, 0x80, 0x80, 0x80 }, 4 },
		{ "past U+10FFFF", { 0xF4, 0x90, 0x80, 0x80 }, 4 },
		{ "5-byte lead", { 0xF8, 0x88, 0x80, 0x80, 0x80 }, 5 },
		{ "FF", { 0xFF }, 1 },
	};
	put_ok(F_USERNAME, "alice", 5);
	verify();
	unsigned long w = writes();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(put(F_USERNAME, bad[i].b, bad[i].n), 0x6A80, "%s", bad[i].what);
	cr_assert_eq(writes(), w, "nothing written");
	expect_field(F_USERNAME, "alice", 5);
	/* Refused before the PIN check: the VERIFY is still fresh. */
	cr_assert_eq(put(F_USERNAME, "bob", 3), 0x9000);
	expect_field(F_USERNAME, "bob", 3);
}

Test(profile, valid_multibyte_utf8_round_trips)
{
	static const struct {
		uint8_t id;
		uint8_t b[16];
		size_t n;
	} good[] = {
		{ F_FORENAME, { 'Z', 'o', 0xC3, 0xAB }, 4 },			/* Zoë */
		{ 0x06, { 0xE6, 0x9D, 0xB1, 0xE4, 0xBA, 0xAC }, 6 },		/* 東京 */
		{ F_USERNAME, { 0xF0, 0x9F, 0x98, 0x80 }, 4 },			/* U+1F600 */
		{ 0x04, { 0xC2, 0x80, 0xDF, 0xBF }, 4 },			/* U+0080, U+07FF */
		{ 0x05, { 0xE0, 0xA0, 0x80, 0xED, 0x9F, 0xBF, 0xEE, 0x80, 0x80, 0xEF, 0xBF, 0xBF },
		  12 },								/* U+0800 D7FF E000 FFFF */
		{ 0x07, { 0xF0, 0x90, 0x80, 0x80, 0xF4, 0x8F, 0xBF, 0xBF }, 8 },	/* U+10000 10FFFF */
		{ 0x08, { 0x00, 0x7F }, 2 },					/* NUL and DEL are ASCII */
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		put_ok(good[i].id, good[i].b, good[i].n);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		expect_field(good[i].id, good[i].b, good[i].n);
}

/* ---- addressing ---- */

Test(profile, unknown_field_ids_are_refused)
{
	static const uint8_t ids[] = { 0x00, 0x0C, 0x80, 0xFF };
	verify();
	unsigned long w = writes();
	for (size_t i = 0; i < sizeof(ids); i++) {
		cr_assert_eq(get(ids[i]), 0x6A88, "GET %02x", ids[i]);
		cr_assert_eq(put(ids[i], "x", 1), 0x6A88, "PUT %02x", ids[i]);
	}
	cr_assert_eq(writes(), w);
	cr_assert_eq(put(F_PHONE, "+441234", 7), 0x9000, "VERIFY still fresh");
	expect_field(F_PHONE, "+441234", 7);
}

Test(profile, p1_other_than_01_is_refused)
{
	verify();
	unsigned long w = writes();
	cr_assert_eq(fx_send("00 CA 00 01 00"), 0x6A86);
	cr_assert_eq(fx_send("00 CA 02 01 00"), 0x6A86);
	cr_assert_eq(fx_send("00 DA 00 01 01 41"), 0x6A86);
	cr_assert_eq(fx_send("00 DA 02 01 01 41"), 0x6A86);
	cr_assert_eq(fx_send("00 DA FF 01 01 41"), 0x6A86);
	cr_assert_eq(writes(), w);
	expect_field(F_USERNAME, NULL, 0);
}

Test(profile, get_field_with_data_is_a_wrong_length)
{
	cr_assert_eq(fx_send("00 CA 01 01 01 00 00"), 0x6700);
}

Test(profile, wrong_class_or_instruction)
{
	/* The applet answers by (CLA, INS) pair: a known class with an INS it
	 * does not have under that class is 6D00. */
	cr_assert_eq(fx_send("80 CA 01 01 00"), 0x6D00);
	cr_assert_eq(fx_send("00 30 00 00 00"), 0x6D00);
	cr_assert_eq(fx_send("00 B0 00 00 00"), 0x6D00);
	cr_assert_eq(fx_send("80 00 00 00"), 0x6D00);
	verify();
	unsigned long w = writes();
	cr_assert_eq(fx_send("80 DA 01 01 01 41"), 0x6D00);
	cr_assert_eq(fx_send("00 32 00 00 02 0000"), 0x6D00);
	/* Proprietary class with secure messaging bits: not this applet's
	 * class at all. */
	cr_assert_eq(fx_send("84 30 00 00 00"), 0x6E00);
	cr_assert_eq(fx_send("84 32 00 00 02 0000"), 0x6E00);
	/* Inter-industry secure messaging: the platform refuses it. */
	cr_assert_eq(fx_send("04 DA 01 01 01 41"), 0x6882);
	cr_assert_eq(writes(), w);
	expect_field(F_USERNAME, NULL, 0);
	expect_policy(0x00, 0x02);
	cr_assert_eq(put(F_USERNAME, "a", 1), 0x9000, "the VERIFY survived the refusals");
}

Test(profile, works_on_a_logical_channel)
{
	cr_assert_eq(fx_send("00 70 00 00 01"), 0x9000);
	cr_assert_eq(fx.rsp_len, 1);
	cr_assert_eq(fx.rsp[0], 0x01);
	/* Not multi-selectable: selected on the basic channel already. */
	cr_assert_eq(fx_send("01 A4 04 00 08 F045434152445001 00"), 0x6985);
	cr_assert_eq(fx_send(SELECT_WALLET), 0x9000);
	cr_assert_eq(fx_send("01 A4 04 00 08 F045434152445001 00"), 0x9000);
	verify();
	cr_assert_eq(fx_send("01 DA 01 01 03 616263"), 0x6982,
		     "entered on the basic channel, for the wallet selected there");
	cr_assert_eq(fx_send("01 20 00 81 08 31323334FFFFFFFF"), 0x9000);
	cr_assert_eq(fx_send("01 DA 01 01 03 616263"), 0x9000);
	cr_assert_eq(fx_send("01 CA 01 01 00"), 0x9000);
	cr_assert_eq(fx.rsp_len, 3);
	cr_assert_arr_eq(fx.rsp, "abc", 3);
	cr_assert_eq(fx_send("81 30 00 00 00"), 0x9000);
	cr_assert_eq(fx.rsp_len, 2);
	cr_assert_eq(fx.rsp[0], 0x00);
	cr_assert_eq(fx.rsp[1], 0x02);
	cr_assert_eq(fx_send("01 DA 01 01 01 41"), 0x6982, "the VERIFY was consumed");
	/* Back on the basic channel: the same data. */
	cr_assert_eq(fx_send("00 70 80 01"), 0x9000);
	reselect();
	expect_field(F_USERNAME, "abc", 3);
	/* Nothing selected on channel 2 (not open): the platform refuses. */
	cr_assert_eq(fx_send("02 CA 01 01 00"), 0x6881);
}

/* ---- persistence ---- */

Test(profile, values_and_policy_survive_a_power_cycle)
{
	uint8_t v[PROFILE_VALUE_MAX];
	memset(v, 0x7A, sizeof(v));
	put_ok(F_USERNAME, "alice", 5);
	put_ok(F_PASSWORD, "s3cret", 6);
	put_ok(F_PHONE, v, sizeof(v));
	put_ok(F_FORENAME, "Zo\xC3\xAB", 4);
	set_policy_ok(0x00, 0x01);

	fx_power_cycle();
	reselect();
	expect_policy(0x00, 0x01);
	expect_field(F_USERNAME, "alice", 5);
	expect_field(F_PHONE, v, sizeof(v));
	expect_field(F_FORENAME, "Zo\xC3\xAB", 4);
	cr_assert_eq(get(F_PASSWORD), 0x6982);
	verify();
	expect_field(F_PASSWORD, "s3cret", 6);
	expect_field(F_PASSWORD, "s3cret", 6);

	fx_power_cycle();
	reselect();
	cr_assert_eq(get(F_PASSWORD), 0x6982, "the session did not survive");
}
