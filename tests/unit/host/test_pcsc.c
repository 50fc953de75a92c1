/*
 * test_pcsc.c - ec_transmit's T=0 response rules against a scripted
 * fake card, plus the status-word and PC/SC error texts.
 *
 * The fake card (tests/support/fake_card.h) replaces the raw transmit of
 * struct ec_pcsc, so no pcscd is needed: it records every command it
 * receives (the tests check the exact bytes) and answers from a script.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "fake_card.h"
#include "hex.h"
#include "pcsc.h"
#include "sw.h"

static void assert_counting(const uint8_t *data, size_t len, uint8_t first)
{
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(data[i], (uint8_t)(first + i), "byte %zu is %02X", i, data[i]);
}

static enum ec_status send_hex(const char *hex, uint8_t *resp, size_t cap, size_t *len)
{
	uint8_t cmd[FAKE_MAX_CMD];
	size_t n = fake_unhex(hex, cmd, sizeof(cmd));
	return ec_transmit(&pc, cmd, n, resp, cap, len);
}

TestSuite(transmit, .init = fake_card_setup);

Test(transmit, plain_9000_passes_through)
{
	uint8_t resp[EC_RESPONSE_SHORT_MAX];
	size_t len = 99;

	fake_answer("6F0A 8408F045434152445701 9000");
	cr_assert_eq(send_hex("00A4040008F04543415244570100", resp, sizeof(resp), &len), EC_OK);
	cr_assert_eq(fake.n_sent, 1);
	fake_assert_sent(0, "00A4040008F04543415244570100");
	cr_assert_eq(len, 14);
	uint8_t want[14];
	fake_unhex("6F0A8408F0454341524457019000", want, sizeof(want));
	cr_assert_arr_eq(resp, want, 14);
	cr_assert_eq(ec_response_sw(resp, len), 0x9000);
}

Test(transmit, status_word_only_answer)
{
	uint8_t resp[8];
	size_t len;

	fake_answer("6982");
	cr_assert_eq(send_hex("80440000", resp, sizeof(resp), &len), EC_OK);
	cr_assert_eq(len, 2);
	cr_assert_eq(ec_response_sw(resp, len), 0x6982);
	cr_assert_eq(fake.n_sent, 1);
}

Test(transmit, chain_of_get_responses_is_concatenated)
{
	uint8_t resp[EC_RESPONSE_MAX];
	size_t len;

	fake_answer("6110");
	fake_answer_data(16, 0x00, 0x6108);
	fake_answer_data(8, 0x10, 0x6104);
	fake_answer_data(4, 0x18, 0x9000);
	cr_assert_eq(send_hex("80CA9F7F00", resp, sizeof(resp), &len), EC_OK);
	cr_assert_eq(fake.n_sent, 4);
	fake_assert_sent(0, "80CA9F7F00");
	fake_assert_sent(1, "00C0000010");
	fake_assert_sent(2, "00C0000008");
	fake_assert_sent(3, "00C0000004");
	cr_assert_eq(len, 28 + 2);
	assert_counting(resp, 28, 0x00);
	cr_assert_eq(ec_response_sw(resp, len), 0x9000);
}

Test(transmit, data_before_61xx_is_kept)
{
	uint8_t resp[EC_RESPONSE_MAX];
	size_t len;

	/* A T=1 card may send some data together with 61xx. */
	fake_answer_data(5, 0x40, 0x6103);
	fake_answer_data(3, 0x45, 0x9000);
	cr_assert_eq(send_hex("00B0000000", resp, sizeof(resp), &len), EC_OK);
	fake_assert_sent(1, "00C0000003");
	cr_assert_eq(len, 8 + 2);
	assert_counting(resp, 8, 0x40);
}

Test(transmit, final_status_word_is_the_last_one)
{
	uint8_t resp[EC_RESPONSE_MAX];
	size_t len;

	fake_answer("6104");
	fake_answer_data(4, 0x01, 0x6282);
	cr_assert_eq(send_hex("00B2010C00", resp, sizeof(resp), &len), EC_OK);
	cr_assert_eq(len, 6);
	assert_counting(resp, 4, 0x01);
	cr_assert_eq(ec_response_sw(resp, len), 0x6282);
}

Test(transmit, sw_6100_asks_for_256_bytes)
{
	uint8_t resp[EC_RESPONSE_MAX];
	size_t len;

	fake_answer("6100");
	fake_answer_data(256, 0x00, 0x9000);
	cr_assert_eq(send_hex("80CA00FE00", resp, sizeof(resp), &len), EC_OK);
	cr_assert_eq(fake.n_sent, 2);
	fake_assert_sent(1, "00C0000000");
	cr_assert_eq(len, 258);
	assert_counting(resp, 256, 0x00);
	cr_assert_eq(ec_response_sw(resp, len), 0x9000);
}

Test(transmit, sw_6cxx_resends_case2_with_the_right_le)
{
	uint8_t resp[EC_RESPONSE_MAX];
	size_t len;

	fake_answer("6C12");
	fake_answer_data(0x12, 0x30, 0x9000);
	cr_assert_eq(send_hex("00B0000000", resp, sizeof(resp), &len), EC_OK);
	cr_assert_eq(fake.n_sent, 2);
	fake_assert_sent(0, "00B0000000");
	fake_assert_sent(1, "00B0000012");
	cr_assert_eq(len, 0x12 + 2);
	assert_counting(resp, 0x12, 0x30);
}

Test(transmit, sw_6cxx_appends_le_to_case1_and_case3)
{
	uint8_t resp[EC_RESPONSE_MAX];
	size_t len;

	fake_answer("6C08");
	fake_answer_data(8, 0, 0x9000);
	cr_assert_eq(send_hex("80CA0066", resp, sizeof(resp), &len), EC_OK);
	fake_assert_sent(1, "80CA006608");

	fake_card_setup();
	fake_answer("6C02");
	fake_answer_data(2, 0, 0x9000);
	cr_assert_eq(send_hex("80400000 04 00000064", resp, sizeof(resp), &len), EC_OK);
	fake_assert_sent(1, "80400000040000006402");
}

Test(transmit, sw_6cxx_replaces_le_of_case4)
{
	uint8_t resp[EC_RESPONSE_MAX];
	size_t len;

	fake_answer("6C00");
	fake_answer_data(256, 7, 0x9000);
	cr_assert_eq(send_hex("8040000004000000640A", resp, sizeof(resp), &len), EC_OK);
	fake_assert_sent(1, "80400000040000006400");
	cr_assert_eq(len, 258);
}

Test(transmit, sw_6cxx_resend_happens_only_once)
{
	uint8_t resp[EC_RESPONSE_MAX];
	size_t len;

	fake_answer("6C10");
	fake_answer("6C20");
	cr_assert_eq(send_hex("00B0000005", resp, sizeof(resp), &len), EC_OK);
	cr_assert_eq(fake.n_sent, 2);
	fake_assert_sent(1, "00B0000010");
	cr_assert_eq(len, 2);
	cr_assert_eq(ec_response_sw(resp, len), 0x6C20);
}

Test(transmit, sw_6cxx_then_61xx_chain)
{
	uint8_t resp[EC_RESPONSE_MAX];
	size_t len;

	fake_answer("6C20");
	fake_answer_data(0x10, 0, 0x6110);
	fake_answer_data(0x10, 0x10, 0x9000);
	cr_assert_eq(send_hex("84B0000000", resp, sizeof(resp), &len), EC_OK);
	fake_assert_sent(1, "84B0000020");
	fake_assert_sent(2, "00C0000010");
	cr_assert_eq(len, 0x22);
	assert_counting(resp, 0x20, 0);
}

Test(transmit, sw_6cxx_on_get_response_asks_again)
{
	uint8_t resp[EC_RESPONSE_MAX];
	size_t len;

	fake_answer("6110");
	fake_answer("6C08");
	fake_answer_data(8, 0x50, 0x9000);
	cr_assert_eq(send_hex("00CB3FFF00", resp, sizeof(resp), &len), EC_OK);
	fake_assert_sent(1, "00C0000010");
	fake_assert_sent(2, "00C0000008");
	cr_assert_eq(len, 10);
	assert_counting(resp, 8, 0x50);
}

Test(transmit, get_response_keeps_the_logical_channel)
{
	static const struct {
		uint8_t cla;
		uint8_t get_response_cla;
	} cases[] = {
		{ 0x00, 0x00 }, { 0x01, 0x01 }, { 0x03, 0x03 },
		{ 0x0C, 0x00 },	/* secure messaging bits are not carried */
		{ 0x0E, 0x02 },
		{ 0x10, 0x00 },	/* nor is command chaining */
		{ 0x80, 0x00 }, { 0x83, 0x03 }, { 0x84, 0x00 }, { 0x87, 0x03 },
		{ 0x40, 0x40 }, { 0x45, 0x45 }, { 0x4F, 0x4F },
		{ 0x65, 0x45 }, { 0x70, 0x40 },
		{ 0xC0, 0x40 }, { 0xC7, 0x47 }, { 0xE9, 0x49 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t cmd[5] = { cases[i].cla, 0xCA, 0x00, 0x66, 0x00 };
		uint8_t want[5] = { cases[i].get_response_cla, 0xC0, 0x00, 0x00, 0x04 };
		uint8_t resp[64];
		size_t len;

		fake_card_setup();
		fake_answer("6104");
		fake_answer_data(4, 0, 0x9000);
		cr_assert_eq(ec_transmit(&pc, cmd, sizeof(cmd), resp, sizeof(resp), &len), EC_OK);
		cr_assert_eq(fake.n_sent, 2);
		cr_assert_eq(fake.sent_len[1], 5);
		cr_assert_arr_eq(fake.sent[1], want, 5,
				 "CLA %02X gave GET RESPONSE CLA %02X, expected %02X",
				 cases[i].cla, fake.sent[1][0], cases[i].get_response_cla);
	}
}

Test(transmit, endless_61xx_is_stopped_by_the_round_bound)
{
	uint8_t resp[EC_RESPONSE_MAX];
	size_t len = 1234;

	fake_answer("6110");
	fake.repeat_last = true;
	cr_assert_eq(send_hex("00B0000000", resp, sizeof(resp), &len),
		     EC_ERR_TOO_MANY_ROUNDS);
	cr_assert_eq(fake.n_sent, 1 + EC_DEFAULT_MAX_GET_RESPONSE);
	cr_assert_eq(len, 0);
	for (size_t i = 1; i < fake.n_sent; i++)
		fake_assert_sent(i, "00C0000010");
	cr_assert_str_neq(ec_strerror(&pc, EC_ERR_TOO_MANY_ROUNDS), "");
}

Test(transmit, round_bound_is_configurable)
{
	uint8_t resp[EC_RESPONSE_MAX];
	size_t len;

	pc.max_get_response = 3;
	fake_answer_data(1, 0, 0x6101);
	fake.repeat_last = true;
	cr_assert_eq(send_hex("00B0000000", resp, sizeof(resp), &len),
		     EC_ERR_TOO_MANY_ROUNDS);
	cr_assert_eq(fake.n_sent, 4);
}

Test(transmit, endless_data_is_stopped_by_the_size_bound)
{
	uint8_t resp[4096];
	size_t len;

	memset(resp, 0xEE, sizeof(resp));
	pc.max_response = 1000;
	fake_answer_data(256, 0, 0x6100);
	fake.repeat_last = true;
	cr_assert_eq(send_hex("00B0000000", resp, sizeof(resp), &len), EC_ERR_TOO_LONG);
	cr_assert_eq(len, 0);
	/* The bound also bounds the writing: nothing beyond max_response. */
	for (size_t i = 1000; i < sizeof(resp); i++)
		cr_assert_eq(resp[i], 0xEE, "byte %zu was written", i);
	cr_assert_lt(fake.n_sent, 10);
}

Test(transmit, response_larger_than_the_buffer_is_an_error)
{
	uint8_t resp[200];
	size_t len;

	memset(resp, 0xEE, sizeof(resp));
	fake_answer("6100");
	fake_answer_data(256, 0, 0x9000);
	cr_assert_eq(send_hex("00B0000000", resp, 100, &len), EC_ERR_BUFFER);
	cr_assert_eq(len, 0);
	cr_assert_leq(fake.last_capacity, 100);
	for (size_t i = 100; i < sizeof(resp); i++)
		cr_assert_eq(resp[i], 0xEE, "byte %zu was written", i);
}

Test(transmit, chained_pieces_beyond_the_buffer_are_an_error)
{
	uint8_t resp[64];
	size_t len;

	memset(resp, 0xEE, sizeof(resp));
	fake_answer("6120");
	fake_answer_data(0x20, 0, 0x6120);
	fake_answer_data(0x20, 0x20, 0x9000);
	cr_assert_eq(send_hex("00B0000000", resp, 50, &len), EC_ERR_BUFFER);
	for (size_t i = 50; i < sizeof(resp); i++)
		cr_assert_eq(resp[i], 0xEE, "byte %zu was written", i);
}

Test(transmit, first_answer_beyond_the_buffer_is_an_error)
{
	uint8_t resp[16];
	size_t len;

	fake_answer_data(40, 0, 0x9000);
	cr_assert_eq(send_hex("00B0000028", resp, sizeof(resp), &len), EC_ERR_BUFFER);
	cr_assert_eq(fake.last_capacity, sizeof(resp));
}

Test(transmit, buffer_too_small_for_a_status_word_sends_nothing)
{
	uint8_t resp[1];
	size_t len;

	cr_assert_eq(send_hex("00A40000", resp, sizeof(resp), &len), EC_ERR_BUFFER);
	cr_assert_eq(fake.n_sent, 0);
}

Test(transmit, raw_transmit_errors_propagate)
{
	uint8_t resp[64];
	size_t len;

	fake_answer_error(SCARD_W_REMOVED_CARD);
	cr_assert_eq(send_hex("00A4040000", resp, sizeof(resp), &len), EC_ERR_PCSC);
	cr_assert_eq(pc.last_rv, SCARD_W_REMOVED_CARD);
	cr_assert(strstr(ec_strerror(&pc, EC_ERR_PCSC), "removed"));
	cr_assert_eq(fake.n_sent, 1);
}

Test(transmit, raw_transmit_error_during_get_response_propagates)
{
	uint8_t resp[64];
	size_t len = 77;

	fake_answer("6110");
	fake_answer_error(SCARD_E_NOT_TRANSACTED);
	cr_assert_eq(send_hex("00B0000000", resp, sizeof(resp), &len), EC_ERR_PCSC);
	cr_assert_eq(pc.last_rv, SCARD_E_NOT_TRANSACTED);
	cr_assert_eq(len, 0);
	cr_assert_eq(fake.n_sent, 2);
}

Test(transmit, answer_without_status_word_is_an_error)
{
	uint8_t resp[64];
	size_t len;

	fake_answer("90");
	cr_assert_eq(send_hex("00B0000000", resp, sizeof(resp), &len), EC_ERR_BAD_RESPONSE);
}

Test(transmit, extended_apdu_is_passed_unchanged)
{
	uint8_t cmd[4 + 3 + 300 + 2];
	uint8_t resp[EC_RESPONSE_MAX];
	size_t len;

	/* Case 4E: Lc = 300 (012C), Le = 0400. */
	cmd[0] = 0x00; cmd[1] = 0xDA; cmd[2] = 0x01; cmd[3] = 0x02;
	cmd[4] = 0x00; cmd[5] = 0x01; cmd[6] = 0x2C;
	for (size_t i = 0; i < 300; i++)
		cmd[7 + i] = (uint8_t)i;
	cmd[307] = 0x04; cmd[308] = 0x00;

	fake_answer_data(1024, 0x80, 0x9000);
	cr_assert_eq(ec_transmit(&pc, cmd, sizeof(cmd), resp, sizeof(resp), &len), EC_OK);
	cr_assert_eq(fake.n_sent, 1);
	cr_assert_eq(fake.sent_len[0], sizeof(cmd));
	cr_assert_arr_eq(fake.sent[0], cmd, sizeof(cmd));
	cr_assert_eq(len, 1026);
	assert_counting(resp, 1024, 0x80);
}

Test(transmit, extended_apdu_is_not_rewritten_on_6cxx)
{
	uint8_t resp[64];
	size_t len;

	fake_answer("6C10");
	cr_assert_eq(send_hex("00B00000000100", resp, sizeof(resp), &len), EC_OK);
	cr_assert_eq(fake.n_sent, 1);
	fake_assert_sent(0, "00B00000000100");
	cr_assert_eq(ec_response_sw(resp, len), 0x6C10);
}

Test(transmit, malformed_short_apdu_is_sent_as_it_is)
{
	uint8_t resp[64];
	size_t len;

	/* Lc says 5 bytes, 2 follow: the card, not the host, says 6700. */
	fake_answer("6C05");
	cr_assert_eq(send_hex("00D600000501 02", resp, sizeof(resp), &len), EC_OK);
	cr_assert_eq(fake.n_sent, 1);
	fake_assert_sent(0, "00D60000050102");
	cr_assert_eq(ec_response_sw(resp, len), 0x6C05);
}

Test(transmit, command_shorter_than_a_header_is_refused)
{
	uint8_t resp[64];
	size_t len;

	cr_assert_eq(send_hex("00A404", resp, sizeof(resp), &len), EC_ERR_ARG);
	cr_assert_eq(fake.n_sent, 0);
}

Test(transmit, default_transport_needs_a_connection)
{
	uint8_t cmd[5] = { 0x00, 0xB0, 0x00, 0x00, 0x00 };
	uint8_t resp[64];
	size_t len;

	ec_pcsc_init(&pc, NULL);
	cr_assert_eq(ec_transmit(&pc, cmd, sizeof(cmd), resp, sizeof(resp), &len),
		     EC_ERR_NOT_CONNECTED);
}

Test(transmit, response_sw)
{
	const uint8_t r[] = { 0x01, 0x02, 0x63, 0xC2 };
	cr_assert_eq(ec_response_sw(r, 4), 0x63C2);
	cr_assert_eq(ec_response_sw(r, 2), 0x0102);
	cr_assert_eq(ec_response_sw(r, 1), 0);
}

Test(sw, wrong_pin_says_how_many_tries_are_left)
{
	char buf[EC_SW_TEXT_MAX];

	const char *t = ec_sw_describe(0x63C2, buf, sizeof(buf));
	cr_assert(strstr(t, "wrong PIN"), "%s", t);
	cr_assert(strstr(t, "2 tries left"), "%s", t);
	t = ec_sw_describe(0x63C1, buf, sizeof(buf));
	cr_assert(strstr(t, "1 try left"), "%s", t);
	t = ec_sw_describe(0x63C0, buf, sizeof(buf));
	cr_assert(strstr(t, "blocked"), "%s", t);
}

/* The same status word read for the command that got it. */
Test(sw, pin_answers_are_read_for_their_command)
{
	char buf[EC_SW_TEXT_MAX];
	static const uint8_t query[] = { 0x00, 0x20, 0x00, 0x81 };
	static const uint8_t query_lc0[] = { 0x00, 0x20, 0x00, 0x81, 0x00 };
	static const uint8_t verify[] = { 0x00, 0x20, 0x00, 0x81, 0x08, '1', '2', '3', '4',
					  0xFF, 0xFF, 0xFF, 0xFF };
	static const uint8_t change[] = { 0x00, 0x24, 0x00, 0x81, 0x10 };
	static const uint8_t unblock[] = { 0x00, 0x2C, 0x00, 0x81, 0x10 };
	static const uint8_t select[] = { 0x00, 0xA4, 0x04, 0x00, 0x01, 0xAA };

	cr_expect_str_eq(ec_sw_describe_command(query, 4, 0x63C3, buf, sizeof(buf)),
			 "the PIN is not verified; 3 tries left");
	cr_expect_str_eq(ec_sw_describe_command(query_lc0, 5, 0x63C1, buf, sizeof(buf)),
			 "the PIN is not verified; 1 try left");
	cr_expect_str_eq(ec_sw_describe_command(query, 4, 0x9000, buf, sizeof(buf)),
			 "the PIN is verified");
	cr_expect(ec_sw_is_pin_query(query, 4) && ec_sw_is_pin_query(query_lc0, 5));
	cr_expect(!ec_sw_is_pin_query(verify, sizeof(verify)));
	cr_expect_str_eq(ec_sw_describe_command(verify, sizeof(verify), 0x63C2, buf, sizeof(buf)),
			 "wrong PIN, 2 tries left");
	cr_expect_str_eq(ec_sw_describe_command(change, sizeof(change), 0x63C2, buf, sizeof(buf)),
			 "wrong current PIN, 2 tries left");
	cr_expect_str_eq(ec_sw_describe_command(unblock, sizeof(unblock), 0x63C9, buf, sizeof(buf)),
			 "wrong PUK, 9 tries left");
	cr_expect_str_eq(ec_sw_describe_command(unblock, sizeof(unblock), 0x63C0, buf, sizeof(buf)),
			 "wrong PUK, no tries left: the PUK is now blocked");
	cr_expect_str_eq(ec_sw_describe_command(unblock, sizeof(unblock), 0x6983, buf, sizeof(buf)),
			 "the PUK is blocked: the PIN can no longer be unblocked");
	/* Other commands, and no command: the plain meaning. */
	cr_expect_str_eq(ec_sw_describe_command(select, sizeof(select), 0x63C2, buf, sizeof(buf)),
			 ec_sw_describe(0x63C2, buf, sizeof(buf)));
	cr_expect_str_eq(ec_sw_describe_command(NULL, 0, 0x6A82, buf, sizeof(buf)),
			 "file or application not found");
	cr_expect_str_eq(ec_sw_describe_command(unblock, sizeof(unblock), 0x6A80, buf, sizeof(buf)),
			 "incorrect parameters in the command data");
}

Test(sw, numbered_texts_carry_their_number)
{
	char buf[EC_SW_TEXT_MAX];

	cr_assert(strstr(ec_sw_describe(0x6110, buf, sizeof(buf)), "16 bytes"));
	cr_assert(strstr(ec_sw_describe(0x6100, buf, sizeof(buf)), "256"));
	const char *t = ec_sw_describe(0x6C12, buf, sizeof(buf));
	cr_assert(strstr(t, "18 bytes") && strstr(t, "Le=12"), "%s", t);
	cr_assert(strstr(ec_sw_describe(0x9ABC, buf, sizeof(buf)), "9ABC"));
}

Test(sw, fixed_texts)
{
	char buf[EC_SW_TEXT_MAX];

	cr_assert_str_eq(ec_sw_describe(0x9000, buf, sizeof(buf)), "success");
	cr_assert(strstr(ec_sw_describe(0x6400, buf, sizeof(buf)), "insufficient funds"));
	cr_assert(strstr(ec_sw_describe(0x6982, buf, sizeof(buf)), "security status"));
	cr_assert(strstr(ec_sw_describe(0x6983, buf, sizeof(buf)), "blocked"));
	cr_assert(strstr(ec_sw_describe(0x6A82, buf, sizeof(buf)), "not found"));
	cr_assert(strstr(ec_sw_describe(0x6D00, buf, sizeof(buf)), "instruction"));
	cr_assert(strstr(ec_sw_describe(0x6E00, buf, sizeof(buf)), "class"));
	cr_assert(strstr(ec_sw_describe(0x6700, buf, sizeof(buf)), "length"));
	/* A family member without its own text gets the family's. */
	cr_assert(strstr(ec_sw_describe(0x6A87, buf, sizeof(buf)), "wrong parameters"));
}

Test(sw, every_listed_word_has_its_own_text)
{
	static const uint16_t words[] = {
		0x9000, 0x6400, 0x6581, 0x6700, 0x6881, 0x6882, 0x6883, 0x6884,
		0x6982, 0x6983, 0x6984, 0x6985, 0x6986, 0x6A80, 0x6A81, 0x6A82,
		0x6A84, 0x6A86, 0x6A88, 0x6B00, 0x6D00, 0x6E00, 0x6F00,
	};
	const size_t n = sizeof(words) / sizeof(words[0]);
	char a[EC_SW_TEXT_MAX], b[EC_SW_TEXT_MAX];

	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			cr_assert_str_neq(ec_sw_describe(words[i], a, sizeof(a)),
					  ec_sw_describe(words[j], b, sizeof(b)),
					  "%04X and %04X share a text", words[i], words[j]);
}

Test(sw, no_buffer_still_gives_a_text)
{
	char tiny[4];

	const char *t = ec_sw_describe(0x63C2, NULL, 0);
	cr_assert(t && strstr(t, "wrong PIN"));
	t = ec_sw_describe(0x6C10, tiny, sizeof(tiny));
	cr_assert(t != tiny && strstr(t, "Le"));
	cr_assert_not_null(ec_sw_describe(0x1234, NULL, 0));
}

Test(pcsc_error, no_service_names_pcscd)
{
	const char *t = ec_pcsc_strerror(SCARD_E_NO_SERVICE);
	cr_assert(strstr(t, "pcscd"), "%s", t);
	cr_assert(strstr(t, "not running"), "%s", t);
}

Test(pcsc_error, every_common_failure_has_its_own_sentence)
{
	static const long codes[] = {
		SCARD_E_NO_SERVICE, SCARD_E_NO_READERS_AVAILABLE,
		SCARD_E_UNKNOWN_READER, SCARD_W_REMOVED_CARD,
		SCARD_E_NO_SMARTCARD, SCARD_W_UNRESPONSIVE_CARD,
		SCARD_E_SHARING_VIOLATION, SCARD_E_READER_UNAVAILABLE,
		SCARD_E_TIMEOUT, SCARD_E_INSUFFICIENT_BUFFER, SCARD_F_COMM_ERROR,
		SCARD_E_NOT_TRANSACTED, SCARD_W_RESET_CARD, SCARD_E_INVALID_HANDLE,
		SCARD_E_SERVICE_STOPPED,
	};
	const size_t n = sizeof(codes) / sizeof(codes[0]);

	for (size_t i = 0; i < n; i++) {
		const char *t = ec_pcsc_strerror(codes[i]);
		size_t len = strlen(t);
		cr_assert(len > 10 && t[len - 1] == '.', "%s", t);
		cr_assert_null(strstr(t, "0x"), "code %lX fell to the default: %s",
			       (unsigned long)codes[i], t);
		for (size_t j = i + 1; j < n; j++)
			cr_assert_str_neq(t, ec_pcsc_strerror(codes[j]));
	}
}

Test(pcsc_error, unknown_code_shows_the_hex_code)
{
	char buf[160];

	const char *t = ec_pcsc_strerror_r(0x80100099L, buf, sizeof(buf));
	cr_assert_eq(t, buf);
	cr_assert(strstr(t, "0x80100099"), "%s", t);
	t = ec_pcsc_strerror(SCARD_E_CANT_DISPOSE);
	cr_assert(strstr(t, "0x8010000E"), "%s", t);
}

Test(pcsc_error, status_texts_are_sentences)
{
	for (int st = EC_OK; st <= EC_ERR_BAD_RESPONSE; st++) {
		const char *t = ec_strerror(NULL, (enum ec_status)st);
		size_t len = strlen(t);
		cr_assert(len > 10 && t[len - 1] == '.', "status %d: %s", st, t);
	}
}
