/*
 * test_pin_client.c - the holder's side of the card-wide PIN
 * (host/pin_client.c): PIN and PUK blocks checked before anything is sent,
 * then VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER against an
 * in-process card.
 */
#include <criterion/criterion.h>

#include "host_fixture.h"
#include "pin_client.h"

Test(pin, blocks_are_checked_before_anything_is_sent)
{
	uint8_t b[EC_PIN_BLOCK_LEN];
	cr_assert_eq(ec_pin_block("1234", b, NULL), EC_OK);
	cr_assert_arr_eq(b, "\x31\x32\x33\x34\xFF\xFF\xFF\xFF", 8);
	cr_assert_eq(ec_pin_block("12345678", b, NULL), EC_OK);
	cr_assert_arr_eq(b, "12345678", 8);
	cr_assert_eq(ec_pin_block("123", b, NULL), EC_ERR_ARG);
	cr_assert_eq(ec_pin_block("123456789", b, NULL), EC_ERR_ARG);
	cr_assert_eq(ec_pin_block("12a4", b, NULL), EC_ERR_ARG);
	cr_assert_eq(ec_pin_block("", b, NULL), EC_ERR_ARG);
	cr_assert_eq(ec_pin_block(NULL, b, NULL), EC_ERR_ARG);
	cr_assert_eq(ec_puk_block("12345678", b, NULL), EC_OK);
	cr_assert_arr_eq(b, "12345678", 8);
	cr_assert_eq(ec_puk_block("1234567", b, NULL), EC_ERR_ARG);
	cr_assert_eq(ec_puk_block("1234567x", b, NULL), EC_ERR_ARG);
}

/* ---- against a card ---- */

TestSuite(pin_card, .init = ts_card_init, .fini = ts_card_fini);

Test(pin_card, verify_change_unblock)
{
	struct ec_error err = { 0 };
	int tries = -1;

	cr_assert_eq(ec_pin_verify(&ts_test_card.pc, "1234", &tries, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_pin_status(&ts_test_card.pc, &tries, &err), EC_OK);
	cr_assert_eq(ec_pin_change(&ts_test_card.pc, "1234", "24680", &tries, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_pin_verify(&ts_test_card.pc, "1234", &tries, &err), EC_ERR_CARD);
	cr_assert_eq(tries, 2);
	cr_assert_eq(ec_pin_verify(&ts_test_card.pc, "0000", &tries, &err), EC_ERR_CARD);
	cr_assert_eq(ec_pin_verify(&ts_test_card.pc, "0000", &tries, &err), EC_ERR_CARD);
	cr_assert_eq(tries, 0);
	cr_assert_eq(ec_pin_verify(&ts_test_card.pc, "24680", &tries, &err), EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6983, "blocked");
	cr_assert_eq(ec_pin_unblock(&ts_test_card.pc, "00000000", "1111", &tries, &err), EC_ERR_CARD);
	cr_assert_eq(ec_pin_unblock(&ts_test_card.pc, "12345678", "1111", &tries, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_pin_verify(&ts_test_card.pc, "1111", &tries, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_pin_change(&ts_test_card.pc, "1111", "12", &tries, &err), EC_ERR_ARG);
}
