/*
 * test_profile.c - the holder's side of the profile (host/profile.c):
 * field names and ids, policy names, then GET/PUT FIELD and GET/SET POLICY
 * against an in-process card, with the PIN the card asks for.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "host_fixture.h"
#include "pin_client.h"
#include "profile.h"

Test(profile, field_names_and_ids)
{
	cr_assert_eq(ec_profile_field_find("email")->id, 0x0A);
	cr_assert_eq(ec_profile_field_find("EMAIL")->id, 0x0A);
	cr_assert_eq(ec_profile_field_find("0A")->id, 0x0A);
	cr_assert_eq(ec_profile_field_find("0x0a")->id, 0x0A);
	cr_assert_eq(ec_profile_field_find("a")->id, 0x0A);
	cr_assert_eq(ec_profile_field_find("card-number")->id, 0x09);
	cr_assert(ec_profile_field_find("card-number")->private_class);
	cr_assert(ec_profile_field_find("password")->private_class);
	cr_assert_not(ec_profile_field_find("town")->private_class);
	cr_assert_eq(ec_profile_field_find("01")->id, 0x01);
	cr_assert_eq(ec_profile_field_find("0B")->id, 0x0B);
	cr_assert_null(ec_profile_field_find("0C"));
	cr_assert_null(ec_profile_field_find("00"));
	cr_assert_null(ec_profile_field_find("nickname"));
	cr_assert_null(ec_profile_field_find("100"));
	cr_assert_null(ec_profile_field_find(""));
	cr_assert_eq(ec_profile_policy_parse("never"), EC_POLICY_NEVER);
	cr_assert_eq(ec_profile_policy_parse("Session"), EC_POLICY_SESSION);
	cr_assert_eq(ec_profile_policy_parse("2"), EC_POLICY_ALWAYS);
	cr_assert_eq(ec_profile_policy_parse("sometimes"), -1);
	cr_assert_str_eq(ec_profile_policy_name(EC_POLICY_ALWAYS), "always");
}

/* ---- against a card ---- */

TestSuite(profile_card, .init = ts_card_init, .fini = ts_card_fini);

Test(profile_card, fields_and_policy)
{
	struct ec_error err = { 0 };
	char value[EC_PROFILE_VALUE_MAX + 1];
	size_t len;
	uint8_t general, priv;

	cr_assert_eq(ec_profile_select(&ts_test_card.pc, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_profile_get_policy(&ts_test_card.pc, &general, &priv, &err), EC_OK);
	cr_assert_eq(general, EC_POLICY_NEVER);
	cr_assert_eq(priv, EC_POLICY_ALWAYS);

	/* Writing needs a fresh PIN verification. */
	cr_assert_eq(ec_profile_put_field(&ts_test_card.pc, 0x0A, "a@example.org", 13, &err), EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6982);
	cr_assert_eq(ec_pin_verify(&ts_test_card.pc, "1234", NULL, &err), EC_OK);
	cr_assert_eq(ec_profile_put_field(&ts_test_card.pc, 0x0A, "a@example.org", 13, &err), EC_OK, "%s",
		     err.text);
	cr_assert_eq(ec_pin_verify(&ts_test_card.pc, "1234", NULL, &err), EC_OK);
	cr_assert_eq(ec_profile_put_field(&ts_test_card.pc, 0x02, "secret", 6, &err), EC_OK, "%s", err.text);

	cr_assert_eq(ec_profile_get_field(&ts_test_card.pc, 0x0A, value, sizeof(value), &len, &err), EC_OK);
	cr_assert_eq(len, 13);
	cr_assert_str_eq(value, "a@example.org");
	cr_assert_eq(ec_profile_get_field(&ts_test_card.pc, 0x03, value, sizeof(value), &len, &err), EC_OK);
	cr_assert_eq(len, 0, "an empty field");
	/* A private field wants the PIN every time. */
	cr_assert_eq(ec_profile_get_field(&ts_test_card.pc, 0x02, value, sizeof(value), &len, &err), EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6982);
	cr_assert_eq(ec_pin_verify(&ts_test_card.pc, "1234", NULL, &err), EC_OK);
	cr_assert_eq(ec_profile_get_field(&ts_test_card.pc, 0x02, value, sizeof(value), &len, &err), EC_OK);
	cr_assert_str_eq(value, "secret");

	cr_assert_eq(ec_pin_verify(&ts_test_card.pc, "1234", NULL, &err), EC_OK);
	cr_assert_eq(ec_profile_set_policy(&ts_test_card.pc, EC_POLICY_SESSION, EC_POLICY_NEVER, &err), EC_OK);
	cr_assert_eq(ec_profile_get_field(&ts_test_card.pc, 0x02, value, sizeof(value), &len, &err), EC_OK);
	cr_assert_eq(ec_profile_get_policy(&ts_test_card.pc, &general, &priv, &err), EC_OK);
	cr_assert_eq(general, EC_POLICY_SESSION);
	cr_assert_eq(priv, EC_POLICY_NEVER);

	/* Clearing a field. */
	cr_assert_eq(ec_pin_verify(&ts_test_card.pc, "1234", NULL, &err), EC_OK);
	cr_assert_eq(ec_profile_put_field(&ts_test_card.pc, 0x0A, "", 0, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_profile_get_field(&ts_test_card.pc, 0x0A, value, sizeof(value), &len, &err), EC_OK);
	cr_assert_eq(len, 0);
	cr_assert_eq(ec_profile_put_field(&ts_test_card.pc, 0x0A, value, EC_PROFILE_VALUE_MAX + 1, &err),
		     EC_ERR_ARG);
}

/* A value that is not UTF-8 is refused before it reaches the card, as a
 * usage error (the card would answer 6A80); each malformed kind. */
Test(profile_card, a_value_that_is_not_utf8_is_refused_unsent)
{
	struct ec_error err = { 0 };
	static const char *const bad[] = {
		"caf\xE9",		/* Latin-1 é */
		"\xC0\xAF",		/* overlong '/' */
		"\xED\xA0\x80",		/* a surrogate */
		"\xF4\x90\x80\x80",	/* past U+10FFFF */
		"ab\xE2\x82",		/* cut in the middle */
		"\x80",			/* a lone continuation byte */
	};
	cr_assert_eq(ec_profile_select(&ts_test_card.pc, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_pin_verify(&ts_test_card.pc, "1234", NULL, &err), EC_OK);
	unsigned long before = ts_test_card.card.apdus;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(ec_profile_put_field(&ts_test_card.pc, 0x0A, bad[i], strlen(bad[i]), &err),
			     EC_ERR_ARG, "value %zu", i);
		cr_expect(strstr(err.text, "is not"), "%s", err.text);
	}
	cr_expect_eq(ts_test_card.card.apdus, before, "nothing was sent");
	/* And good UTF-8 of every length goes through. */
	static const char good[] = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80";
	cr_assert_eq(ec_profile_put_field(&ts_test_card.pc, 0x0A, good, strlen(good), &err), EC_OK,
		     "%s", err.text);
}
