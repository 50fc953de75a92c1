/*
 * test_exchange.c - one command and its answer taken apart
 * (host/exchange.c), against the scripted fake card: the data and the
 * status word apart, answers longer than the caller's buffer, 9000
 * required by the *_command forms, link failures named after the command,
 * the SELECT commands on the wire byte for byte, and the secure-channel
 * forms refusing a closed channel.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "exchange.h"
#include "fake_card.h"
#include "iso7816.h"

TestSuite(exchange, .init = fake_card_setup);

static const uint8_t get_data[] = { 0x80, 0xCA, 0x00, 0x66, 0x00 };

Test(exchange, data_and_status_word_apart)
{
	uint8_t data[8];
	size_t len = 99;
	uint16_t sw = 0;
	struct ec_error err = { 0 };

	fake_answer("0102036A88");
	cr_assert_eq(ec_exchange(&pc, "GET DATA", get_data, sizeof(get_data), data, sizeof(data),
				 &len, &sw, &err), EC_OK, "any status word is the caller's");
	cr_assert_eq(sw, 0x6A88);
	cr_assert_eq(len, 3);
	cr_assert_arr_eq(data, "\x01\x02\x03", 3);
	fake_assert_sent(0, "80CA006600");
}

Test(exchange, without_a_buffer_the_data_is_discarded)
{
	size_t len = 99;
	uint16_t sw = 0;

	fake_answer("AABBCC9000");
	cr_assert_eq(ec_exchange(&pc, "GET DATA", get_data, sizeof(get_data), NULL, 0, &len, &sw,
				 NULL), EC_OK);
	cr_assert_eq(sw, SW_OK);
	cr_assert_eq(len, 0);
}

Test(exchange, an_answer_longer_than_the_buffer_is_a_format_error)
{
	uint8_t data[2] = { 0xEE, 0xEE };
	size_t len = 99;
	uint16_t sw;
	struct ec_error err = { 0 };

	fake_answer("0102039000");
	cr_assert_eq(ec_exchange(&pc, "GET DATA", get_data, sizeof(get_data), data, sizeof(data),
				 &len, &sw, &err), EC_ERR_FORMAT);
	cr_assert_eq(err.status, EC_ERR_FORMAT);
	cr_assert_not_null(strstr(err.text, "GET DATA"), "%s", err.text);
	cr_assert_not_null(strstr(err.text, "3 bytes, more than the 2 expected"), "%s", err.text);
	cr_assert_eq(len, 0);
	cr_assert_arr_eq(data, "\xEE\xEE", 2, "nothing written past the buffer, nor in it");
}

Test(exchange, a_pcsc_failure_names_the_command)
{
	uint16_t sw = 0xFFFF;
	struct ec_error err = { 0 };

	fake_answer_error(SCARD_W_REMOVED_CARD);
	cr_assert_eq(ec_exchange(&pc, "READ LOG", get_data, sizeof(get_data), NULL, 0, NULL, &sw,
				 &err), EC_ERR_PCSC);
	cr_assert_eq(sw, 0, "no status word when nothing came back");
	cr_assert(strncmp(err.text, "READ LOG failed: ", 17) == 0, "%s", err.text);
	cr_assert_not_null(strstr(err.text, "removed"), "%s", err.text);
	cr_assert(ec_is_link_failure(EC_ERR_PCSC));
}

Test(exchange, a_short_answer_has_no_status_word)
{
	struct ec_error err = { 0 };
	uint16_t sw;

	fake_answer("90");
	cr_assert_eq(ec_exchange(&pc, "GET DATA", get_data, sizeof(get_data), NULL, 0, NULL, &sw,
				 &err), EC_ERR_BAD_RESPONSE);
	cr_assert_not_null(strstr(err.text, "GET DATA"), "%s", err.text);
}

Test(exchange, command_wants_9000)
{
	uint8_t data[8];
	size_t len = 99;
	struct ec_error err = { 0 };

	fake_answer("01026982");
	cr_assert_eq(ec_command(&pc, "PUT FIELD", get_data, sizeof(get_data), data, sizeof(data),
				&len, &err), EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6982);
	cr_assert_eq(len, 0, "the data of a refusal is void");
	cr_assert_not_null(strstr(err.text, "the card refused PUT FIELD: SW 6982"), "%s", err.text);

	fake_answer("01029000");
	cr_assert_eq(ec_command(&pc, "PUT FIELD", get_data, sizeof(get_data), data, sizeof(data),
				&len, &err), EC_OK);
	cr_assert_eq(len, 2);
}

Test(exchange, select_on_the_wire)
{
	static const uint8_t aid[] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };
	uint16_t sw;

	fake_answer("9000");
	fake_answer("6F009000");
	fake_answer("9000");
	fake_answer("9000");
	cr_assert_eq(ec_select(&pc, 0, aid, sizeof(aid), false, "SELECT", &sw, NULL), EC_OK);
	cr_assert_eq(ec_select(&pc, 2, aid, sizeof(aid), true, "SELECT", &sw, NULL), EC_OK);
	cr_assert_eq(ec_select(&pc, 5, aid, 5, true, "SELECT", &sw, NULL), EC_OK);
	cr_assert_eq(ec_select(&pc, 19, NULL, 0, true, "SELECT", &sw, NULL), EC_OK);
	fake_assert_sent(0, "00A4040008A000000151000000");
	fake_assert_sent(1, "02A4040008A00000015100000000");
	fake_assert_sent(2, "41A4040005A00000015100");
	fake_assert_sent(3, "4FA404000000");
}

Test(exchange, select_refuses_what_it_cannot_send)
{
	uint8_t aid[17] = { 0 };
	uint16_t sw;
	struct ec_error err = { 0 };

	cr_assert_eq(ec_select(&pc, 20, aid, 8, false, "SELECT", &sw, &err), EC_ERR_ARG);
	cr_assert_not_null(strstr(err.text, "logical channel 20"), "%s", err.text);
	cr_assert_eq(ec_select(&pc, 0, aid, sizeof(aid), false, "SELECT", &sw, &err), EC_ERR_ARG);
	cr_assert_eq(fake.n_sent, 0, "nothing was sent");
}

Test(exchange, select_app_says_which_card_to_use)
{
	static const uint8_t aid[] = { 0xF0, 0x45, 0x43, 0x41, 0x52, 0x44, 0x57, 0x01 };
	struct ec_error err = { 0 };

	fake_answer("6A82");
	cr_assert_eq(ec_select_app(&pc, aid, sizeof(aid), "wallet", &err), EC_ERR_CARD);
	cr_assert_eq(err.sw, SW_FILE_NOT_FOUND);
	cr_assert_not_null(strstr(err.text, "no ecard wallet application"), "%s", err.text);
	fake_assert_sent(0, "00A4040008F045434152445701");

	fake_answer("6999");
	cr_assert_eq(ec_select_app(&pc, aid, sizeof(aid), "wallet", &err), EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6999);
	cr_assert_not_null(strstr(err.text, "SELECT wallet"), "%s", err.text);

	fake_answer("9000");
	cr_assert_eq(ec_select_app(&pc, aid, sizeof(aid), "wallet", &err), EC_OK);
}

Test(exchange, a_closed_secure_channel_sends_nothing)
{
	struct ec_gp_session s;
	uint16_t sw = 0xFFFF;
	struct ec_error err = { 0 };

	memset(&s, 0, sizeof(s));
	cr_assert_eq(ec_gp_exchange(&s, "GET STATUS", get_data, sizeof(get_data), NULL, 0, NULL,
				    &sw, &err), EC_ERR_ARG);
	cr_assert_eq(sw, 0);
	cr_assert_not_null(strstr(err.text, "not open for GET STATUS"), "%s", err.text);
	cr_assert_eq(ec_gp_command(NULL, "DELETE", get_data, sizeof(get_data), NULL, 0, NULL,
				   &err), EC_ERR_ARG);
	cr_assert_eq(fake.n_sent, 0);
}

Test(exchange, link_failures)
{
	const enum ec_status link[] = { EC_ERR_PCSC, EC_ERR_NOT_CONNECTED, EC_ERR_BUFFER,
					EC_ERR_TOO_LONG, EC_ERR_TOO_MANY_ROUNDS,
					EC_ERR_BAD_RESPONSE };
	const enum ec_status not_link[] = { EC_OK, EC_ERR_ARG, EC_ERR_CARD, EC_ERR_CHECK,
					    EC_ERR_FORMAT, EC_ERR_CRYPTO };
	for (size_t i = 0; i < sizeof(link) / sizeof(link[0]); i++)
		cr_assert(ec_is_link_failure(link[i]), "status %d", link[i]);
	for (size_t i = 0; i < sizeof(not_link) / sizeof(not_link[0]); i++)
		cr_assert_not(ec_is_link_failure(not_link[i]), "status %d", not_link[i]);
}
