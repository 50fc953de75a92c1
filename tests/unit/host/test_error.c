/*
 * test_error.c - libecard's statuses in words and the struct ec_error
 * helpers (host/error.c): every status has one sentence that ends like
 * one, formatting never overflows, a status word is kept with its
 * meaning, and NULL means "status only".
 */
#include <criterion/criterion.h>

#include <string.h>

#include "error.h"

Test(error, every_status_has_a_sentence)
{
	for (int st = EC_OK; st <= EC_ERR_LIMIT; st++) {
		const char *text = ec_status_text((enum ec_status)st);
		size_t n = strlen(text);
		cr_assert_gt(n, 10, "status %d", st);
		cr_assert_eq(text[n - 1], '.', "status %d: %s", st, text);
		cr_assert_neq(strcmp(text, "libecard reported an unknown status."), 0, "status %d", st);
	}
	cr_assert_str_eq(ec_status_text((enum ec_status)999), "libecard reported an unknown status.");
}

Test(error, set_formats_and_returns_the_status)
{
	struct ec_error err = { .sw = 0x6982 };

	cr_assert_eq(ec_error_set(&err, EC_ERR_FILE, "cannot read %s: %s.", "x.key", "denied"),
		     EC_ERR_FILE);
	cr_assert_eq(err.status, EC_ERR_FILE);
	cr_assert_eq(err.sw, 0, "a new error forgets an old status word");
	cr_assert_str_eq(err.text, "cannot read x.key: denied.");
	cr_assert_eq(ec_error_set(NULL, EC_ERR_ARG, "ignored"), EC_ERR_ARG);
}

Test(error, set_cuts_a_long_sentence_within_the_buffer)
{
	struct ec_error err;
	char long_text[2 * EC_ERROR_TEXT_MAX];

	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	memset(&err, 0x55, sizeof(err));
	ec_error_set(&err, EC_ERR_FORMAT, "%s", long_text);
	cr_assert_eq(strlen(err.text), EC_ERROR_TEXT_MAX - 1);
}

Test(error, status_words_keep_their_meaning)
{
	struct ec_error err = { 0 };

	cr_assert_eq(ec_error_sw(&err, "VERIFY", 0x63C2), EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x63C2);
	cr_assert(strncmp(err.text, "the card refused VERIFY: SW 63C2 (", 34) == 0, "%s", err.text);
	cr_assert_not_null(strstr(err.text, "2"), "%s", err.text);

	cr_assert_eq(ec_error_refused(&err, "DELETE", 0x6A88, "it is not on the card."),
		     EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6A88);
	cr_assert_str_eq(err.text, "the card refused DELETE (SW 6A88): it is not on the card.");

	cr_assert_eq(ec_error_refused(&err, "DELETE", 0x6985, NULL), EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6985);
	cr_assert(strncmp(err.text, "the card refused DELETE: SW 6985 (", 34) == 0, "%s", err.text);

	cr_assert_eq(ec_error_card(&err, 0x6A82, "no %s here.", "wallet"), EC_ERR_CARD);
	cr_assert_eq(err.status, EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6A82);
	cr_assert_str_eq(err.text, "no wallet here.");

	cr_assert_eq(ec_error_card(NULL, 0x6A82, "ignored"), EC_ERR_CARD);
	cr_assert_eq(ec_error_sw(NULL, "VERIFY", 0x6983), EC_ERR_CARD);
	cr_assert_eq(ec_error_refused(NULL, "X", 0x6983, "hint"), EC_ERR_CARD);
}
