/*
 * test_card.c - the card runtime (vcard/card.c) driven through
 * vc_card_process, the way a front-end drives it: answer to reset, SELECT,
 * GET RESPONSE, logical channels, class checks, the card-wide PIN's session
 * state, persistence across power cycles, and the rule that malformed input
 * never changes persistent memory.
 *
 * Each test gets a fresh card on a 256 KiB memory backend, made by the
 * factory with the applets ecard ships, so the diagnostic applet (ECHO,
 * GENERATE, INCREMENT, READ, WRITE, RANDOM; see common/diag_proto.h) is the
 * application under test.
 */
#include <criterion/criterion.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "applets.h"
#include "card.h"
#include "hex.h"
#include "test_support.h"

#define IMAGE_SIZE 262144u
#define DIAG_AID_HEX "F0 45 43 41 52 44 44 01"
#define SELECT_DIAG "00 A4 04 00 08 " DIAG_AID_HEX
#define DIAG_STATE 260u
#define PIN_1234 "31 32 33 34 FF FF FF FF"

static struct vc_storage *storage;
static struct vc_card *card;

/* The last response: data without the status word, and the status word. */
static uint8_t rsp[VC_RSP_MAX];
static size_t rsp_len;
static uint16_t rsp_sw;

/* ---- setup ---- */

static void make_card(bool register_types)
{
	struct vc_card_options opts = {
		.serial = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 },
		.serial_set = true,
	};

	cr_assert_eq(vc_storage_mem_create(IMAGE_SIZE, &storage), VC_OK);
	cr_assert_eq(vc_card_create(storage, &opts, ecard_applets, ecard_applet_count, NULL),
		     VC_OK);
	card = calloc(1, sizeof(*card));
	cr_assert_not_null(card);
	vc_card_init(card, storage, NULL);
	if (register_types)
		for (size_t i = 0; i < ecard_applet_count; i++)
			cr_assert_eq(vc_card_register(card, ecard_applets[i]), VC_OK);
	cr_assert_eq(vc_card_power_up(card), VC_OK);
}

static void setup(void)
{
	make_card(true);
}

static void setup_inert(void)
{
	make_card(false);
}

static void teardown(void)
{
	if (card) {
		vc_card_free(card);
		free(card);
		card = NULL;
	}
	if (storage) {
		vc_storage_destroy(storage);
		storage = NULL;
	}
}

TestSuite(card, .init = setup, .fini = teardown);
TestSuite(channel, .init = setup, .fini = teardown);
TestSuite(inert, .init = setup_inert, .fini = teardown);

/* ---- helpers ---- */

/* Send len bytes from an exactly-sized heap copy; returns the status word
 * and leaves the response data in rsp / rsp_len. */
static uint16_t send_bytes(const uint8_t *cmd, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	size_t total = 0;

	cr_assert_not_null(copy);
	if (len)
		memcpy(copy, cmd, len);
	cr_assert_eq(vc_card_process(card, copy, len, rsp, &total), VC_OK);
	free(copy);
	cr_assert_geq(total, 2, "every response ends with a status word");
	cr_assert_leq(total, VC_RSP_MAX);
	rsp_len = total - 2;
	rsp_sw = (uint16_t)(rsp[rsp_len] << 8 | rsp[rsp_len + 1]);
	return rsp_sw;
}

static uint16_t send_hex(const char *hex)
{
	uint8_t cmd[600];
	long n = hex_decode(hex, cmd, sizeof(cmd));

	cr_assert_geq(n, 0, "bad hex in test command: %s", hex);
	return send_bytes(cmd, (size_t)n);
}

/* Send and require a status word; a status word other than 9000 and
 * 61xx, 62xx, 63xx must come alone. */
static void expect_sw(const char *hex, uint16_t want)
{
	uint16_t sw = send_hex(hex);

	cr_assert_eq(sw, want, "%s: SW %04X, want %04X", hex, sw, want);
	if (sw != SW_OK && (sw & 0xFF00) != 0x6100 && (sw & 0xFF00) != 0x6200 &&
	    (sw & 0xFF00) != 0x6300)
		cr_assert_eq(rsp_len, 0, "%s: an error carries no data", hex);
}

/* Send and require exactly the given data and status word. */
static void expect_rsp(const char *hex, const char *want_hex, uint16_t want_sw)
{
	uint8_t want[600];
	long n = hex_decode(want_hex, want, sizeof(want));
	char got[2 * 64 + 1];

	cr_assert_geq(n, 0, "bad hex in expected answer: %s", want_hex);
	expect_sw(hex, want_sw);
	hex_encode(rsp, rsp_len < 64 ? rsp_len : 64, got);
	cr_assert_eq(rsp_len, (size_t)n, "%s: %zu data bytes (%s), want %ld", hex, rsp_len,
		     got, n);
	cr_assert(memcmp(rsp, want, rsp_len) == 0, "%s: got %s, want %s", hex, got, want_hex);
}

/* Require rsp[0..n) to be (first + i) & FF, GENERATE's pattern. */
static void expect_counting(size_t n, size_t first)
{
	cr_assert_eq(rsp_len, n, "%zu data bytes, want %zu", rsp_len, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(rsp[i], (uint8_t)(first + i), "byte %zu is %02X, want %02X", i,
			     rsp[i], (uint8_t)(first + i));
}

/* READ the diagnostic state (counter || record) with an extended Le. */
static void read_state(uint8_t state[DIAG_STATE])
{
	expect_sw("80 22 00 00 00 01 04", SW_OK);
	cr_assert_eq(rsp_len, DIAG_STATE);
	memcpy(state, rsp, DIAG_STATE);
}

static uint32_t diag_counter(void)
{
	uint8_t state[DIAG_STATE];

	read_state(state);
	return (uint32_t)state[0] << 24 | (uint32_t)state[1] << 16 |
	       (uint32_t)state[2] << 8 | state[3];
}

/* ---- answer to reset ---- */

Test(card, atr_is_well_formed)
{
	uint8_t atr[VC_ATR_MAX];
	size_t n = vc_card_atr(atr);

	cr_assert_leq(n, VC_ATR_MAX);
	cr_assert_eq(atr[0], 0x3B, "direct convention");

	/* Walk the interface bytes to find where the historical bytes start. */
	size_t i = 2;
	uint8_t y = atr[1] >> 4;
	size_t k = atr[1] & 0x0F;
	bool tck_needed = false;
	while (y) {
		bool td = y & 0x8;
		i += (size_t)((y & 1) + ((y >> 1) & 1) + ((y >> 2) & 1));
		if (!td)
			break;
		cr_assert_lt(i, n);
		if ((atr[i] & 0x0F) != 0)
			tck_needed = true;
		y = atr[i] >> 4;
		i++;
	}
	cr_assert(tck_needed, "T=1 is offered, so TCK is mandatory");
	cr_assert_eq(n, i + k + 1, "T0 announces %zu historical bytes", k);

	uint8_t x = 0;
	for (size_t j = 1; j < n; j++)
		x ^= atr[j];
	cr_assert_eq(x, 0, "TCK makes the XOR of T0..TCK zero");

	/* Category 80, card capabilities (73) with extended Lc/Le (b7 of the
	 * third byte) and 4 logical channels (b3-b1 = 3), issuer data. */
	static const uint8_t want[] = {
		0x3B, 0x8B, 0x01, 0x80, 0x73, 0x80, 0x00, 0x5B,
		0x55, 'E', 'C', 'A', 'R', 'D', 0xA6,
	};
	cr_assert_eq(n, sizeof(want));
	cr_assert_arr_eq(atr, want, sizeof(want));
	cr_assert(atr[7] & 0x40, "extended length announced");
	cr_assert_eq((atr[7] & 0x07) + 1, VC_CHANNELS);
}

/* ---- SELECT ---- */

Test(card, no_application_before_select)
{
	expect_sw("80 10 00 00 01 AA", SW_INS_NOT_SUPPORTED);
	expect_sw("80 00 00 00", SW_INS_NOT_SUPPORTED);
}

Test(card, select_unknown_aid)
{
	expect_sw("00 A4 04 00 05 A0 00 00 00 01", SW_FILE_NOT_FOUND);
	expect_sw("00 A4 04 00 08 F0 45 43 41 52 44 44 02", SW_FILE_NOT_FOUND);
	expect_sw("00 A4 04 00 09 " DIAG_AID_HEX " 00", SW_FILE_NOT_FOUND);
	expect_sw("80 10 00 00 01 AA", SW_INS_NOT_SUPPORTED);
}

/* The card manager is selected at power-up, by an empty SELECT, and on a
 * channel opened from the basic channel; it answers GET DATA at once. */
Test(card, card_manager_is_the_default_application)
{
	expect_sw("80 CA 00 66 00", SW_OK);
	cr_assert_eq(rsp[0], 0x66, "card recognition data without any SELECT");
	cr_assert_eq(rsp_len, 2u + rsp[1], "the outer length covers exactly the rest");
	cr_assert_eq(rsp[2], 0x73);
	cr_assert_eq(rsp[3], rsp_len - 4, "and so does the inner one");
	expect_sw(SELECT_DIAG, SW_OK);
	expect_sw("80 CA 00 66 00", SW_INS_NOT_SUPPORTED);
	expect_rsp("00 A4 04 00 00", "6F 10 84 08 A0 00 00 01 51 00 00 00 A5 04 9F 65 01 FF", SW_OK);
	expect_sw("80 CA 00 C1 00", SW_OK);
	cr_assert_eq(rsp_len, 5);
	cr_assert_eq(rsp[0], 0xC1);
	/* Security domains are multi-selectable: a new channel gets it too. */
	expect_rsp("00 70 00 00 01", "01", SW_OK);
	expect_sw("81 CA 00 66 00", SW_OK);
	expect_sw("01 A4 04 00 08 A0 00 00 01 51 00 00 00", SW_OK);
	vc_card_reset(card);
	expect_sw("80 CA 00 66 00", SW_OK);
}

Test(card, card_manager_get_data)
{
	expect_sw("80 CA 9F 7F 00", SW_OK);
	cr_assert_eq(rsp_len, 45);
	cr_assert_eq(rsp[0], 0x9F);
	cr_assert_eq(rsp[2], 42);
	cr_assert_arr_eq(rsp + 3 + 12, "\x05\x06\x07\x08", 4, "IC serial from the card serial");
	expect_sw("80 CA 00 E0 00", SW_OK);
	/* ENC, MAC, DEK of key set 30, AES, 16 bytes */
	cr_assert_eq(rsp_len, 2 + 18);
	cr_assert_arr_eq(rsp + 2, "\xC0\x04\x01\x30\x88\x10\xC0\x04\x02\x30\x88\x10", 12);
	expect_sw("80 CA 00 C1 00", SW_OK);
	cr_assert_arr_eq(rsp, "\xC1\x03\x00\x00\x00", 5);
	expect_sw("80 CA 12 34 00", SW_REF_DATA_NOT_FOUND);
	expect_sw("80 CA 00 66 01 00 00", SW_WRONG_LENGTH);
	/* Card content management needs a secure channel. */
	expect_sw("80 F2 80 00 02 4F 00 00", SW_SECURITY_STATUS);
	expect_sw("80 E6 02 00 00", SW_SECURITY_STATUS);
	expect_sw("84 CA 00 66 00", SW_SECURITY_STATUS);
}

Test(card, select_by_full_aid)
{
	expect_rsp(SELECT_DIAG, "", SW_OK);
	expect_rsp("80 10 00 00 03 01 02 03", "01 02 03", SW_OK);
	expect_rsp(SELECT_DIAG " 00", "", SW_OK);
	expect_rsp("00 A4 04 0C 08 " DIAG_AID_HEX, "", SW_OK);
}

Test(card, select_by_partial_aid)
{
	expect_rsp("00 A4 04 00 06 F0 45 43 41 52 44", "", SW_OK);
	expect_rsp("80 10 00 00 02 CA FE", "CA FE", SW_OK);
}

Test(card, select_bad_p2_and_length)
{
	expect_sw("00 A4 04 02 08 " DIAG_AID_HEX, SW_INCORRECT_P1P2);
	expect_sw("00 A4 04 00 11 " DIAG_AID_HEX " " DIAG_AID_HEX " 00", SW_WRONG_LENGTH);
	expect_sw("80 10 00 00 01 AA", SW_INS_NOT_SUPPORTED);
}

/* ---- the diagnostic applet and GET RESPONSE ---- */

Test(card, echo)
{
	expect_sw(SELECT_DIAG, SW_OK);
	expect_rsp("80 10 00 00 01 AA", "AA", SW_OK);
	expect_rsp("80 10 00 00 04 00 FF 00 FF 04", "00 FF 00 FF", SW_OK);
	expect_rsp("80 00 00 00", "", SW_OK);
	expect_sw("00 10 00 00 01 AA", SW_CLA_NOT_SUPPORTED);
	expect_sw("80 99 00 00", SW_INS_NOT_SUPPORTED);
}

Test(card, echo_extended_longest)
{
	size_t len = 7 + 65535;
	uint8_t *cmd = malloc(len);

	cr_assert_not_null(cmd);
	memcpy(cmd, "\x80\x10\x00\x00\x00\xFF\xFF", 7);
	for (size_t i = 0; i < 65535; i++)
		cmd[7 + i] = (uint8_t)(i * 3);
	expect_sw(SELECT_DIAG, SW_OK);
	cr_assert_eq(send_bytes(cmd, len), SW_OK);
	cr_assert_eq(rsp_len, 65535);
	cr_assert_arr_eq(rsp, cmd + 7, 65535);
	free(cmd);
}

Test(card, generate_then_get_response)
{
	expect_sw(SELECT_DIAG, SW_OK);
	expect_sw("80 12 01 2C 00", 0x612C);
	expect_counting(256, 0);
	expect_sw("00 C0 00 00 2C", SW_OK);
	expect_counting(44, 256);
	expect_sw("00 C0 00 00 2C", SW_CONDITIONS);
}

Test(card, get_response_in_pieces)
{
	expect_sw(SELECT_DIAG, SW_OK);
	expect_sw("80 12 01 2C 00", 0x612C);
	expect_sw("00 C0 00 00 10", 0x611C);
	expect_counting(16, 256);
	expect_sw("00 C0 00 00 1C", SW_OK);
	expect_counting(28, 272);
}

/* 61 00 stands for 256 bytes or more; below that SW2 counts them. */
Test(card, generate_more_than_512)
{
	expect_sw(SELECT_DIAG, SW_OK);
	expect_sw("80 12 02 00 00", 0x6100);
	expect_counting(256, 0);
	expect_sw("00 C0 00 00 00", SW_OK);
	expect_counting(256, 256);

	expect_sw("80 12 02 10 00", 0x6100);
	expect_counting(256, 0);
	expect_sw("00 C0 00 00 00", 0x6110);
	expect_counting(256, 256);
	expect_sw("00 C0 00 00 10", SW_OK);
	expect_counting(16, 512);
}

Test(card, get_response_with_nothing_pending)
{
	expect_sw("00 C0 00 00 10", SW_CONDITIONS);
	expect_sw(SELECT_DIAG, SW_OK);
	expect_sw("00 C0 00 00 00", SW_CONDITIONS);
	expect_sw("80 12 00 10 10", SW_OK);
	expect_counting(16, 0);
	expect_sw("00 C0 00 00 00", SW_CONDITIONS);
}

Test(card, get_response_bad_p1p2_keeps_pending)
{
	expect_sw(SELECT_DIAG, SW_OK);
	expect_sw("80 12 01 2C 00", 0x612C);
	expect_sw("00 C0 01 00 2C", SW_INCORRECT_P1P2);
	expect_sw("00 C0 00 00 2C", SW_OK);
	expect_counting(44, 256);
}

Test(card, other_command_forfeits_pending)
{
	expect_sw(SELECT_DIAG, SW_OK);
	expect_sw("80 12 01 2C 00", 0x612C);
	expect_rsp("80 10 00 00 01 AA", "AA", SW_OK);
	expect_sw("00 C0 00 00 2C", SW_CONDITIONS);

	/* A refused command forfeits them too. */
	expect_sw("80 12 01 2C 00", 0x612C);
	expect_sw("80 99 00 00", SW_INS_NOT_SUPPORTED);
	expect_sw("00 C0 00 00 2C", SW_CONDITIONS);
}

Test(card, generate_extended_le)
{
	expect_sw(SELECT_DIAG, SW_OK);
	expect_sw("80 12 01 2C 00 00 00", SW_OK);
	expect_counting(300, 0);
	expect_sw("80 12 01 2C 00 01 2C", SW_OK);
	expect_counting(300, 0);
	expect_sw("80 12 01 2C 00 01 00", 0x612C);
	expect_counting(256, 0);
}

Test(card, generate_rejects_data)
{
	expect_sw(SELECT_DIAG, SW_OK);
	expect_sw("80 12 00 10 01 AA", SW_WRONG_LENGTH);
}

/* ---- logical channels ---- */

Test(channel, open_in_turn_until_full)
{
	expect_rsp("00 70 00 00 01", "01", SW_OK);
	expect_rsp("00 70 00 00 01", "02", SW_OK);
	expect_rsp("00 70 00 00 01", "03", SW_OK);
	expect_sw("00 70 00 00 01", SW_FUNC_NOT_SUPPORTED);
}

Test(channel, open_a_given_channel)
{
	expect_rsp("00 70 00 02", "", SW_OK);
	expect_sw("00 70 00 02", SW_CONDITIONS);
	expect_sw("00 70 00 04", SW_INCORRECT_P1P2);
	expect_rsp("00 70 00 00 01", "01", SW_OK);
	expect_rsp("00 70 00 00 01", "03", SW_OK);
	expect_sw("00 70 40 00", SW_INCORRECT_P1P2);
	expect_sw("00 70 00 00 01 AA", SW_WRONG_LENGTH);
}

Test(channel, closed_channels_refused)
{
	expect_sw("01 A4 04 00 08 " DIAG_AID_HEX, SW_CHANNEL_NOT_SUPPORTED);
	expect_sw("81 10 00 00 01 AA", SW_CHANNEL_NOT_SUPPORTED);
	expect_sw("03 20 00 81", SW_CHANNEL_NOT_SUPPORTED);
	expect_sw("40 A4 04 00 08 " DIAG_AID_HEX, SW_CHANNEL_NOT_SUPPORTED);
	expect_sw("4F 70 00 00 01", SW_CHANNEL_NOT_SUPPORTED);
	expect_sw("C0 10 00 00 01 AA", SW_CHANNEL_NOT_SUPPORTED);
}

Test(channel, close_then_refused)
{
	expect_rsp("00 70 00 00 01", "01", SW_OK);
	expect_sw("01 A4 04 00 08 " DIAG_AID_HEX, SW_OK);
	expect_rsp("81 10 00 00 01 AA", "AA", SW_OK);
	expect_rsp("00 70 80 01", "", SW_OK);
	expect_sw("81 10 00 00 01 AA", SW_CHANNEL_NOT_SUPPORTED);
	expect_sw("01 A4 04 00 08 " DIAG_AID_HEX, SW_CHANNEL_NOT_SUPPORTED);
	expect_sw("00 70 80 01", SW_CHANNEL_NOT_SUPPORTED);

	/* Reopened, the channel starts with nothing selected. */
	expect_rsp("00 70 00 00 01", "01", SW_OK);
	expect_sw("81 10 00 00 01 AA", SW_INS_NOT_SUPPORTED);
}

Test(channel, close_from_the_channel_itself)
{
	expect_rsp("00 70 00 00 01", "01", SW_OK);
	expect_rsp("01 70 80 00", "", SW_OK);
	expect_sw("01 70 80 00", SW_CHANNEL_NOT_SUPPORTED);
}

Test(channel, basic_channel_cannot_be_closed)
{
	expect_sw("00 70 80 00", SW_INCORRECT_P1P2);
	expect_sw("00 70 80 04", SW_INCORRECT_P1P2);
	expect_sw("00 70 80 02", SW_CHANNEL_NOT_SUPPORTED);
	expect_sw("00 70 10 00", SW_INCORRECT_P1P2);
	expect_sw(SELECT_DIAG, SW_OK);
}

Test(channel, not_multi_selectable)
{
	expect_sw(SELECT_DIAG, SW_OK);
	expect_rsp("00 70 00 00 01", "01", SW_OK);
	expect_sw("01 A4 04 00 08 " DIAG_AID_HEX, SW_CONDITIONS);
	expect_sw("01 A4 04 00 06 F0 45 43 41 52 44", SW_CONDITIONS);

	/* SELECT of an unknown AID fails before deselecting: channel 0 keeps
	 * the applet, so channel 1 still cannot have it. */
	expect_sw("00 A4 04 00 05 A0 00 00 00 01", SW_FILE_NOT_FOUND);
	expect_rsp("80 10 00 00 01 AA", "AA", SW_OK);
	expect_sw("01 A4 04 00 08 " DIAG_AID_HEX, SW_CONDITIONS);
	expect_sw("81 10 00 00 01 AA", SW_INS_NOT_SUPPORTED);

	/* Selecting it again on its own channel is allowed. */
	expect_sw(SELECT_DIAG, SW_OK);
	expect_rsp("80 10 00 00 01 BB", "BB", SW_OK);
}

Test(channel, applet_moves_after_close)
{
	expect_rsp("00 70 00 00 01", "01", SW_OK);
	expect_sw("01 A4 04 00 08 " DIAG_AID_HEX, SW_OK);
	/* The applet insists on CLA 80 | channel. */
	expect_rsp("81 10 00 00 01 11", "11", SW_OK);
	expect_sw("01 10 00 00 01 11", SW_CLA_NOT_SUPPORTED);
	expect_sw("80 10 00 00 01 11", SW_INS_NOT_SUPPORTED);
	expect_sw(SELECT_DIAG, SW_CONDITIONS);

	expect_rsp("00 70 80 01", "", SW_OK);
	expect_sw(SELECT_DIAG, SW_OK);
	expect_rsp("80 10 00 00 01 22", "22", SW_OK);
}

Test(channel, pending_bytes_are_per_channel)
{
	expect_rsp("00 70 00 00 01", "01", SW_OK);
	expect_sw("01 A4 04 00 08 " DIAG_AID_HEX, SW_OK);
	expect_sw("81 12 01 2C 00", 0x612C);
	expect_sw("00 C0 00 00 2C", SW_CONDITIONS);
	expect_sw("01 C0 00 00 2C", SW_OK);
	expect_counting(44, 256);
}

Test(channel, counter_shared_between_channels)
{
	expect_rsp("00 70 00 00 01", "01", SW_OK);
	expect_sw("01 A4 04 00 08 " DIAG_AID_HEX, SW_OK);
	expect_rsp("81 20 00 00", "00 00 00 01", SW_OK);
	expect_rsp("00 70 80 01", "", SW_OK);
	expect_sw(SELECT_DIAG, SW_OK);
	expect_rsp("80 20 00 00", "00 00 00 02", SW_OK);
}

/* ---- class and length errors ---- */

Test(card, chaining_refused)
{
	expect_sw("10 A4 04 00 08 " DIAG_AID_HEX, SW_CHAINING_NOT_SUPPORTED);
	expect_sw(SELECT_DIAG, SW_OK);
	expect_sw("90 10 00 00 01 AA", SW_CHAINING_NOT_SUPPORTED);
	expect_sw("10 20 00 81", SW_CHAINING_NOT_SUPPORTED);
}

Test(card, secure_messaging_refused_for_interindustry_classes)
{
	uint8_t before = vc_pin_tries(&card->nvm, card->pin_obj.off);
	/* SM bits set: neither the PIN nor SELECT may run as if plain. */
	expect_sw("04 20 00 81 08 " PIN_1234, SW_SM_NOT_SUPPORTED);
	expect_sw("08 24 00 81 10 " PIN_1234 " " PIN_1234, SW_SM_NOT_SUPPORTED);
	expect_sw("0C A4 04 00 08 " DIAG_AID_HEX, SW_SM_NOT_SUPPORTED);
	expect_sw("00 20 00 81", 0x63C3);
	cr_assert_eq(vc_pin_tries(&card->nvm, card->pin_obj.off), before);
	/* A proprietary class with SM (GlobalPlatform 84) goes to the applet. */
	expect_sw(SELECT_DIAG, SW_OK);
	expect_sw("84 00 00 00", SW_CLA_NOT_SUPPORTED);
}

Test(card, echo_without_data)
{
	expect_sw(SELECT_DIAG, SW_OK);
	expect_sw("80 10 00 00", SW_OK);
	cr_assert_eq(rsp_len, 0);
	expect_sw("80 10 00 00 00", SW_OK);
	cr_assert_eq(rsp_len, 0);
}

/* A front-end whose frames hold less than an extended answer (vpcd: 65535
 * bytes) gets the rest behind 61xx instead of an answer it cannot send. */
Test(card, front_end_frame_limit)
{
	card->max_rsp_data = 1000;
	expect_sw(SELECT_DIAG, SW_OK);
	cr_assert_eq(send_hex("80 12 0B B8 00 00 00"), 0x6100, "3000 bytes asked, 1000 sent");
	cr_assert_eq(rsp_len, 1000);
	cr_assert_eq(rsp[999], (uint8_t)999);
	cr_assert_eq(send_hex("00 C0 00 00 00 00 00"), 0x6100);
	cr_assert_eq(rsp_len, 1000);
	cr_assert_eq(rsp[0], (uint8_t)1000);
	cr_assert_eq(send_hex("00 C0 00 00 00 00 00"), SW_OK);
	cr_assert_eq(rsp_len, 1000);
	cr_assert_eq(rsp[999], (uint8_t)2999);
}

Test(card, invalid_class)
{
	expect_sw("FF A4 04 00 08 " DIAG_AID_HEX, SW_CLA_NOT_SUPPORTED);
	expect_sw("20 A4 04 00 08 " DIAG_AID_HEX, SW_CLA_NOT_SUPPORTED);
	expect_sw("FF 00 00 00", SW_CLA_NOT_SUPPORTED);
}

Test(card, malformed_lengths)
{
	expect_sw("", SW_WRONG_LENGTH);
	expect_sw("00", SW_WRONG_LENGTH);
	expect_sw("00 A4 04", SW_WRONG_LENGTH);
	expect_sw("00 A4 04 00 09 " DIAG_AID_HEX, SW_WRONG_LENGTH);
	expect_sw("00 A4 04 00 08 " DIAG_AID_HEX " 00 00", SW_WRONG_LENGTH);
	expect_sw("00 A4 04 00 00 01", SW_WRONG_LENGTH);
	expect_sw("00 A4 04 00 00 00 08 " DIAG_AID_HEX " 00", SW_WRONG_LENGTH);
	expect_sw("00 A4 04 00 00 00 00 AA", SW_WRONG_LENGTH);
	expect_sw("80 10 00 00 00 00", SW_WRONG_LENGTH);
	/* The well-formed extended SELECT still works afterwards. */
	expect_sw("00 A4 04 00 00 00 08 " DIAG_AID_HEX, SW_OK);
}

/* ---- malformed input never changes persistent state ---- */

struct bad_command {
	const char *hex;
	uint16_t sw;
};

static const struct bad_command battery_before_select[] = {
	{ "", SW_WRONG_LENGTH },
	{ "00 20 00", SW_WRONG_LENGTH },
	{ "00 20 00 81 08 31 32 33 34", SW_WRONG_LENGTH },
	{ "00 20 00 81 00 01", SW_WRONG_LENGTH },
	{ "00 24 00 81 00 00 00 AA", SW_WRONG_LENGTH },
	{ "00 20 00 81 08 " PIN_1234 " 00 00", SW_WRONG_LENGTH },
	{ "FF 20 00 81 08 " PIN_1234, SW_CLA_NOT_SUPPORTED },
	{ "20 20 00 81 08 " PIN_1234, SW_CLA_NOT_SUPPORTED },
	{ "10 20 00 81 08 " PIN_1234, SW_CHAINING_NOT_SUPPORTED },
	{ "01 20 00 81 08 " PIN_1234, SW_CHANNEL_NOT_SUPPORTED },
	{ "40 20 00 81 08 " PIN_1234, SW_CHANNEL_NOT_SUPPORTED },
	{ "00 20 01 81 08 " PIN_1234, SW_INCORRECT_P1P2 },
	{ "00 20 01 81", SW_INCORRECT_P1P2 },
	{ "00 20 00 82 08 " PIN_1234, SW_REF_DATA_NOT_FOUND },
	{ "00 20 00 82", SW_REF_DATA_NOT_FOUND },
	{ "00 24 01 81 10 " PIN_1234 " " PIN_1234, SW_INCORRECT_P1P2 },
	{ "00 2C 00 80 10 31 32 33 34 35 36 37 38 " PIN_1234, SW_REF_DATA_NOT_FOUND },
	/* PIN blocks that are not 4..8 digits padded with FF. */
	{ "00 20 00 81 08 31 32 33 FF FF FF FF FF", SW_WRONG_DATA },
	{ "00 20 00 81 08 31 32 33 41 FF FF FF FF", SW_WRONG_DATA },
	{ "00 20 00 81 08 31 32 33 34 41 FF FF FF", SW_WRONG_DATA },
	{ "00 20 00 81 08 31 32 33 34 FF 00 FF FF", SW_WRONG_DATA },
	{ "00 20 00 81 08 31 32 33 34 00 00 00 00", SW_WRONG_DATA },
	{ "00 20 00 81 08 FF FF FF FF FF FF FF FF", SW_WRONG_DATA },
	{ "00 20 00 81 07 31 32 33 34 FF FF FF", SW_WRONG_LENGTH },
	{ "00 20 00 81 09 31 32 33 34 FF FF FF FF FF", SW_WRONG_LENGTH },
	{ "00 24 00 81 08 " PIN_1234, SW_WRONG_LENGTH },
	{ "00 24 00 81 10 " PIN_1234 " 31 32 33 FF FF FF FF FF", SW_WRONG_DATA },
	{ "00 24 00 81 10 31 32 FF FF FF FF FF FF " PIN_1234, SW_WRONG_DATA },
	{ "00 2C 00 81 08 31 32 33 34 35 36 37 38", SW_WRONG_LENGTH },
	{ "00 2C 00 81 10 31 32 33 34 35 36 37 FF " PIN_1234, SW_WRONG_DATA },
	{ "00 2C 00 81 10 31 32 33 34 35 36 37 38 31 32 33 FF FF FF FF FF", SW_WRONG_DATA },
	/* Status query: no try spent. */
	{ "00 20 00 81", 0x63C3 },
	{ "80 20 00 00", SW_INS_NOT_SUPPORTED },
	{ "80 24 00 00 01 AA", SW_INS_NOT_SUPPORTED },
	{ "00 A4 04 02 08 " DIAG_AID_HEX, SW_INCORRECT_P1P2 },
	{ "00 70 40 00", SW_INCORRECT_P1P2 },
	{ "00 70 80 00", SW_INCORRECT_P1P2 },
	{ "00 C0 00 00 00", SW_CONDITIONS },
};

static const struct bad_command battery_after_select[] = {
	{ "80 24 01 00 01 AA", SW_WRONG_DATA },
	{ "80 24 01 01 01 AA", SW_WRONG_DATA },
	{ "80 24 FF FF 01 AA", SW_WRONG_DATA },
	{ "80 24 00 FF 02 AA BB", SW_WRONG_DATA },
	{ "80 24 00 00", SW_WRONG_LENGTH },
	{ "80 24 00 00 00", SW_WRONG_LENGTH },
	{ "80 20 00 00 01 AA", SW_WRONG_LENGTH },
	{ "80 20 00 00 00 00 01 AA", SW_WRONG_LENGTH },
	{ "80 24 00 00 02 AA", SW_WRONG_LENGTH },
	{ "00 24 00 00 01 AA", SW_REF_DATA_NOT_FOUND },
	{ "84 20 00 00", SW_CLA_NOT_SUPPORTED },
	{ "00 22 00 00 00", SW_CLA_NOT_SUPPORTED },
	{ "90 20 00 00", SW_CHAINING_NOT_SUPPORTED },
	{ "FF 20 00 00", SW_CLA_NOT_SUPPORTED },
	{ "81 20 00 00", SW_CHANNEL_NOT_SUPPORTED },
	{ "80 99 00 00", SW_INS_NOT_SUPPORTED },
	{ "80 FE 00 00 02 00 00", SW_INS_NOT_SUPPORTED },
	{ "80 84 00 00", SW_WRONG_LENGTH },
	{ "80 84 00 00 01 AA 10", SW_WRONG_LENGTH },
	{ "80 12 00 01 01 AA", SW_WRONG_LENGTH },
	{ "00 20 00 81 07 31 32 33 34 FF FF FF", SW_WRONG_LENGTH },
	{ "00 20 00 81 08 31 32 33 FF FF FF FF FF", SW_WRONG_DATA },
};

static void run_battery(const struct bad_command *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		expect_sw(b[i].hex, b[i].sw);
}

Test(card, malformed_input_never_changes_persistent_state)
{
	uint8_t *before = malloc(IMAGE_SIZE);
	uint8_t *image = vc_storage_mem_bytes(storage);

	cr_assert_not_null(before);
	cr_assert_not_null(image);
	memcpy(before, image, IMAGE_SIZE);
	unsigned long writes = vc_card_writes(card);

	run_battery(battery_before_select,
		    sizeof(battery_before_select) / sizeof(battery_before_select[0]));
	expect_sw(SELECT_DIAG, SW_OK);
	run_battery(battery_after_select,
		    sizeof(battery_after_select) / sizeof(battery_after_select[0]));

	cr_assert_eq(vc_card_writes(card), writes, "no physical write");
	cr_assert(memcmp(image, before, IMAGE_SIZE) == 0, "the image is unchanged");
	expect_sw("00 20 00 81", 0x63C3);
	cr_assert_eq(diag_counter(), 0, "no WRITE or INCREMENT went through");

	/* The comparison can see a change: a real INCREMENT makes one. */
	expect_rsp("80 20 00 00", "00 00 00 01", SW_OK);
	cr_assert_gt(vc_card_writes(card), writes);
	cr_assert(memcmp(image, before, IMAGE_SIZE) != 0);
	free(before);
}

/* ---- persistent applet state ---- */

Test(card, increment_read_and_persistence)
{
	uint8_t state[DIAG_STATE];

	expect_sw(SELECT_DIAG, SW_OK);
	expect_rsp("80 20 00 00", "00 00 00 01", SW_OK);
	expect_rsp("80 20 00 00 04", "00 00 00 02", SW_OK);

	/* READ with Le 00: 256 bytes, then the last 4 by GET RESPONSE. */
	expect_sw("80 22 00 00 00", 0x6104);
	cr_assert_eq(rsp_len, 256);
	cr_assert_arr_eq(rsp, "\x00\x00\x00\x02", 4);
	for (size_t i = 4; i < 256; i++)
		cr_assert_eq(rsp[i], 0, "record byte %zu", i - 4);
	expect_rsp("00 C0 00 00 04", "00 00 00 00", SW_OK);

	read_state(state);
	cr_assert_arr_eq(state, "\x00\x00\x00\x02", 4);

	vc_card_power_down(card);
	cr_assert_eq(vc_card_power_up(card), VC_OK);
	expect_sw("80 22 00 00 00 01 04", SW_INS_NOT_SUPPORTED);
	expect_sw(SELECT_DIAG, SW_OK);
	cr_assert_eq(diag_counter(), 2, "the counter survives a power cycle");
	expect_rsp("80 20 00 00", "00 00 00 03", SW_OK);
}

Test(card, write_patches_the_record)
{
	uint8_t state[DIAG_STATE];

	expect_sw(SELECT_DIAG, SW_OK);
	expect_rsp("80 24 00 10 04 DE AD BE EF", "", SW_OK);
	read_state(state);
	cr_assert_arr_eq(state, "\x00\x00\x00\x01", 4, "WRITE increments the counter");
	cr_assert_arr_eq(state + 4 + 0x10, "\xDE\xAD\xBE\xEF", 4);
	for (size_t i = 0; i < DIAG_RECORD_LEN; i++)
		if (i < 0x10 || i >= 0x14)
			cr_assert_eq(state[4 + i], 0, "record byte %zu untouched", i);

	/* The last four bytes of the record are writable, one more is not. */
	expect_rsp("80 24 00 FC 04 01 02 03 04", "", SW_OK);
	expect_sw("80 24 00 FD 04 01 02 03 04", SW_WRONG_DATA);
	read_state(state);
	cr_assert_arr_eq(state, "\x00\x00\x00\x02", 4);
	cr_assert_arr_eq(state + 4 + 0xFC, "\x01\x02\x03\x04", 4);
	cr_assert_arr_eq(state + 4 + 0x10, "\xDE\xAD\xBE\xEF", 4);
}

/* A second instance whose AID is a prefix of the first: SELECT by that
 * prefix must pick the exact match, not the earlier partial one. Each
 * instance keeps its own counter, and each may sit on its own channel. */
Test(card, exact_aid_wins_over_partial)
{
	static const uint8_t short_aid[7] = { 0xF0, 0x45, 0x43, 0x41, 0x52, 0x44, 0x44 };

	cr_assert_eq(vc_card_install(card, applet_diag.aid, applet_diag.aid_len, short_aid,
				     sizeof(short_aid), NULL, 0), VC_OK);
	expect_sw(SELECT_DIAG, SW_OK);
	expect_rsp("80 20 00 00", "00 00 00 01", SW_OK);
	expect_rsp("80 20 00 00", "00 00 00 02", SW_OK);

	expect_sw("00 A4 04 00 07 F0 45 43 41 52 44 44", SW_OK);
	expect_rsp("80 20 00 00", "00 00 00 01", SW_OK);

	expect_rsp("00 70 00 00 01", "01", SW_OK);
	expect_sw("01 A4 04 00 08 " DIAG_AID_HEX, SW_OK);
	expect_rsp("81 20 00 00", "00 00 00 03", SW_OK);
	expect_sw("01 A4 04 00 07 F0 45 43 41 52 44 44", SW_CONDITIONS);
}

/* ---- reset and the PIN's session state ---- */

Test(card, reset_clears_selection_and_pin_state)
{
	expect_sw("00 20 00 81", 0x63C3);
	expect_sw("00 20 00 81 08 39 39 39 39 FF FF FF FF", 0x63C2);
	expect_sw("00 20 00 81", 0x63C2);
	expect_rsp("00 20 00 81 08 " PIN_1234, "", SW_OK);
	expect_sw("00 20 00 81", SW_OK);
	expect_sw(SELECT_DIAG, SW_OK);
	expect_rsp("80 10 00 00 01 AA", "AA", SW_OK);

	vc_card_reset(card);
	expect_sw("00 20 00 81", 0x63C3);
	expect_sw("80 10 00 00 01 AA", SW_INS_NOT_SUPPORTED);
}

Test(card, reset_closes_channels)
{
	expect_rsp("00 70 00 00 01", "01", SW_OK);
	expect_sw("01 A4 04 00 08 " DIAG_AID_HEX, SW_OK);
	vc_card_reset(card);
	expect_sw("81 10 00 00 01 AA", SW_CHANNEL_NOT_SUPPORTED);
	expect_sw(SELECT_DIAG, SW_OK);
}

Test(card, pin_commands_answer_whatever_is_selected)
{
	expect_sw(SELECT_DIAG, SW_OK);
	expect_rsp("00 20 00 81 08 " PIN_1234, "", SW_OK);
	expect_rsp("00 20 00 81", "", SW_OK);
	expect_rsp("80 10 00 00 01 AA", "AA", SW_OK);
}

/* ---- RANDOM ---- */

Test(card, random_bytes_differ)
{
	uint8_t first[16];

	expect_sw(SELECT_DIAG, SW_OK);
	expect_sw("80 84 00 00 10", SW_OK);
	cr_assert_eq(rsp_len, 16);
	memcpy(first, rsp, 16);
	expect_sw("80 84 00 00 10", SW_OK);
	cr_assert_eq(rsp_len, 16);
	cr_assert(memcmp(first, rsp, 16) != 0, "two draws of 16 bytes differ");
}

/* ---- the debug trace ---- */

static struct ts_log_capture log_capture;
static const char *const trace = log_capture.text;

#define PROFILE_AID_HEX "F0 45 43 41 52 44 50 01"
#define WALLET_AID_HEX "F0 45 43 41 52 44 57 01"
/* "SECRET_FIELD_VAL", "KLOADKEY_0123456", "ISD_KEY_01234567" */
#define FIELD_VALUE "53 45 43 52 45 54 5F 46 49 45 4C 44 5F 56 41 4C"
#define K_LOAD "4B 4C 4F 41 44 4B 45 59 5F 30 31 32 33 34 35 36"
#define ISD_KEY "49 53 44 5F 4B 45 59 5F 30 31 32 33 34 35 36 37"

/* Whether the trace holds the bytes of hex, as the trace spells them. */
static bool traced(const char *hex)
{
	uint8_t bytes[64];
	char spelled[2 * sizeof(bytes) + 1];
	long n = hex_decode(hex, bytes, sizeof(bytes));

	cr_assert_gt(n, 0);
	hex_encode(bytes, (size_t)n, spelled);
	return strstr(trace, spelled) != NULL;
}

/* What may carry a secret is traced by its header and status word only:
 * the PIN, personal data written or read, personalization, keys. */
Test(card, trace_hides_secrets)
{
	ts_log_capture_init(&log_capture);
	card->log = &log_capture.logger;

	expect_sw("00 A4 04 00 08 " PROFILE_AID_HEX, SW_OK);
	expect_sw("00 20 00 81 08 " PIN_1234, SW_OK);
	expect_sw("00 DA 01 0A 10 " FIELD_VALUE, SW_OK);
	expect_rsp("00 CA 01 0A 00", FIELD_VALUE, SW_OK);
	/* The rest of a long answer comes by GET RESPONSE. */
	expect_sw("00 CA 01 0A 04", 0x610C);
	expect_sw("00 C0 00 00 0C", SW_OK);
	cr_assert_eq(rsp_len, 12);

	/* STORE DATA in any class, refused or not, is traced without its data. */
	expect_sw("00 A4 04 00 08 " WALLET_AID_HEX, SW_OK);
	send_hex("80 E2 00 00 12 C1 10 " K_LOAD);
	send_hex("84 E2 00 01 12 C1 10 " K_LOAD);
	send_hex("00 E2 00 02 12 C1 10 " K_LOAD);
	/* PUT KEY, in clear and in a secure channel's class. */
	expect_sw("00 A4 04 00 08 A0 00 00 01 51 00 00 00", SW_OK);
	send_hex("80 D8 31 81 17 88 10 " ISD_KEY " 03 00 00 00");
	send_hex("84 D8 31 81 17 88 10 " ISD_KEY " 03 00 00 00");
	card->log = NULL;

	cr_assert(!traced(PIN_1234), "the PIN is traced: %s", trace);
	cr_assert(!traced("53 45 43 52"), "a field value is traced: %s", trace);
	cr_assert(!traced("5F 56 41 4C"), "its last bytes are traced: %s", trace);
	cr_assert(!traced("4B 4C 4F 41"), "K_load is traced: %s", trace);
	cr_assert(!traced("49 53 44 5F"), "a key is traced: %s", trace);

	/* The headers and status words stay, and the rest is traced. */
	cr_assert(traced("00 DA 01 0A"), "%s", trace);
	cr_assert(strstr(trace, "C: 00CA010A00  R: [personal data hidden] 9000"), "%s", trace);
	cr_assert(strstr(trace, "C: 00C000000C  R: [continued data hidden] 9000"), "%s", trace);
	cr_assert(traced("80 E2 00 00") && traced("84 E2 00 01") && traced("00 E2 00 02"), "%s",
		  trace);
	cr_assert(traced("80 D8 31 81") && traced("84 D8 31 81"), "%s", trace);
	cr_assert(strstr(trace, "[field data hidden]"), "%s", trace);
	cr_assert(strstr(trace, "[personalization data hidden]"), "%s", trace);
	cr_assert(strstr(trace, "[key data hidden]"), "%s", trace);
	cr_assert(traced("00 A4 04 00 08 " WALLET_AID_HEX), "other commands are traced: %s", trace);
}

/* ---- power ---- */

Test(card, process_refused_without_power)
{
	uint8_t cmd[4] = { 0x00, 0xA4, 0x04, 0x00 };
	size_t len = 99;

	vc_card_power_down(card);
	cr_assert_eq(vc_card_process(card, cmd, sizeof(cmd), rsp, &len), VC_ERR_STATE);
	cr_assert_eq(len, 0);
	cr_assert_eq(vc_card_power_up(card), VC_OK);
	expect_sw(SELECT_DIAG, SW_OK);
}

Test(card, serial_from_the_factory)
{
	uint8_t serial[8];

	vc_card_serial(card, serial);
	cr_assert_arr_eq(serial, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
}

/* ---- an instance without a native implementation ---- */

Test(inert, selectable_but_answers_nothing)
{
	expect_rsp(SELECT_DIAG, "", SW_OK);
	expect_sw("80 10 00 00 01 AA", SW_INS_NOT_SUPPORTED);
	expect_sw("80 00 00 00", SW_INS_NOT_SUPPORTED);
	expect_sw("80 20 00 00", SW_INS_NOT_SUPPORTED);
	/* The platform itself still answers. */
	expect_sw("00 20 00 81", 0x63C3);
	expect_rsp("00 70 00 00 01", "01", SW_OK);
}

/* ---- write counters ---- */

/* What an operation writes is measured over power cycles too: the count
 * since power-up starts again, the total does not. */
Test(card, write_counts_since_power_up_and_in_all)
{
	cr_assert_eq(vc_card_writes_total(card), vc_card_writes(card));
	cr_assert_eq(send_hex("00 A4 04 00 08 F045434152444401"), SW_OK);
	cr_assert_eq(send_hex("80 20 00 00"), SW_OK);	/* INCREMENT: a transaction */
	unsigned long first = vc_card_writes(card);
	cr_assert_gt(first, 0);
	cr_assert_eq(vc_card_writes_total(card), first);

	vc_card_power_down(card);
	cr_assert_eq(vc_card_writes_total(card), first, "nothing is counted twice");
	cr_assert_eq(vc_card_power_up(card), VC_OK);
	unsigned long recovery = vc_card_writes(card);
	cr_assert_eq(send_hex("00 A4 04 00 08 F045434152444401"), SW_OK);
	cr_assert_eq(send_hex("80 20 00 00"), SW_OK);
	unsigned long second = vc_card_writes(card);
	cr_assert_eq(second - recovery, first, "the same command, the same writes");
	cr_assert_eq(vc_card_writes_total(card), first + second);
}
