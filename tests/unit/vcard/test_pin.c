/*
 * test_pin.c - the card-wide PIN (DESIGN §1.3) through the card's APDU
 * interface: VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER, the try
 * limits, session state, and tearing at every persistent write of each
 * command with the rule that a try is never regained.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "applets.h"
#include "card.h"
#include "hex.h"

static struct vc_storage *tear;
static struct vc_card card;

static void boot(const char *pin, const char *puk)
{
	struct vc_storage *mem;
	struct vc_card_options opt = { .pin = pin, .puk = puk };
	cr_assert_eq(vc_storage_mem_create(256 * 1024, &mem), VC_OK);
	cr_assert_eq(vc_card_create(mem, &opt, ecard_applets, ecard_applet_count, NULL), VC_OK);
	cr_assert_eq(vc_storage_tear_create(mem, &tear), VC_OK);
	vc_card_init(&card, tear, NULL);
	for (size_t i = 0; i < ecard_applet_count; i++)
		vc_card_register(&card, ecard_applets[i]);
	cr_assert_eq(vc_card_power_up(&card), VC_OK);
}

static void setup(void)
{
	boot(NULL, NULL);
}

static void teardown(void)
{
	vc_card_free(&card);
	vc_storage_destroy(tear);
}

/* Send a command in hex; returns the status word, or 0 on power loss. */
static uint16_t send(const char *hex)
{
	uint8_t cmd[300], rsp[VC_RSP_MAX];
	size_t rlen;
	long n = hex_decode(hex, cmd, sizeof(cmd));
	cr_assert_geq(n, 4, "bad test APDU %s", hex);
	enum vc_status st = vc_card_process(&card, cmd, (size_t)n, rsp, &rlen);
	if (st == VC_ERR_POWER_LOST)
		return 0;
	cr_assert_eq(st, VC_OK);
	cr_assert_geq(rlen, 2);
	return (uint16_t)(rsp[rlen - 2] << 8 | rsp[rlen - 1]);
}

static uint8_t tries(void)
{
	return vc_pin_tries(&card.nvm, card.pin_obj.off);
}

static uint8_t puk_tries(void)
{
	return vc_puk_tries(&card.nvm, card.pin_obj.off);
}

static void power_cycle(void)
{
	vc_card_power_down(&card);
	cr_assert_eq(vc_card_power_up(&card), VC_OK);
}

#define VERIFY_1234 "00 20 00 81 08 31323334FFFFFFFF"
#define VERIFY_9999 "00 20 00 81 08 39393939FFFFFFFF"
#define VERIFY_5678 "00 20 00 81 08 35363738FFFFFFFF"
#define QUERY "00 20 00 81"
#define CHANGE_1234_TO_5678 "00 24 00 81 10 31323334FFFFFFFF 35363738FFFFFFFF"
#define UNBLOCK_TO_5678 "00 2C 00 81 10 3132333435363738 35363738FFFFFFFF"
#define WRONG_PUK_TO_5678 "00 2C 00 81 10 3132333435363730 35363738FFFFFFFF"
#define WRONG_PUK2_TO_5678 "00 2C 00 81 10 3132333435363739 35363738FFFFFFFF"

TestSuite(pin, .init = setup, .fini = teardown);

Test(pin, transport_pin_verifies)
{
	cr_assert_eq(send(QUERY), 0x63C3);
	cr_assert_eq(send(VERIFY_1234), 0x9000);
	cr_assert_eq(send(QUERY), 0x9000, "already verified");
	cr_assert_eq(tries(), 3);
}

Test(pin, three_wrong_pins_block)
{
	cr_assert_eq(send(VERIFY_9999), 0x63C2);
	cr_assert_eq(tries(), 2);
	cr_assert_eq(send(QUERY), 0x63C2);
	cr_assert_eq(send(VERIFY_9999), 0x63C1);
	cr_assert_eq(send(VERIFY_9999), 0x63C0);
	cr_assert_eq(send(VERIFY_1234), 0x6983, "blocked even for the right PIN");
	cr_assert_eq(send(QUERY), 0x6983);
	power_cycle();
	cr_assert_eq(send(VERIFY_1234), 0x6983, "blocked across power cycles");
}

Test(pin, right_pin_restores_tries)
{
	cr_assert_eq(send(VERIFY_9999), 0x63C2);
	cr_assert_eq(send(VERIFY_9999), 0x63C1);
	cr_assert_eq(send(VERIFY_1234), 0x9000);
	cr_assert_eq(tries(), 3);
}

Test(pin, wrong_pin_clears_verified_state)
{
	cr_assert_eq(send(VERIFY_1234), 0x9000);
	cr_assert_eq(send(VERIFY_9999), 0x63C2);
	cr_assert_eq(send(QUERY), 0x63C2);
}

Test(pin, verified_state_is_per_session)
{
	cr_assert_eq(send(VERIFY_1234), 0x9000);
	vc_card_reset(&card);
	cr_assert_eq(send(QUERY), 0x63C3);
	cr_assert_eq(send(VERIFY_1234), 0x9000);
	power_cycle();
	cr_assert_eq(send(QUERY), 0x63C3);
}

/* The context the platform gives the instance selected on a channel. */
static struct vc_applet_ctx ctx_on(uint8_t channel)
{
	int sel = card.chan[channel].selected;
	cr_assert_geq(sel, 0, "an application is selected on channel %u", channel);
	return (struct vc_applet_ctx){ .card = &card, .channel = channel, .owner = card.inst[sel].owner };
}

Test(pin, fresh_verification_is_consumed_once)
{
	struct vc_applet_ctx ctx = ctx_on(0);
	cr_assert(!vc_pin_take_fresh(&ctx));
	cr_assert_eq(send(VERIFY_1234), 0x9000);
	cr_assert(vc_pin_verified(&ctx));
	cr_assert(vc_pin_take_fresh(&ctx));
	cr_assert(!vc_pin_take_fresh(&ctx), "one VERIFY, one critical operation");
	cr_assert(vc_pin_verified(&ctx), "the session stays verified");
	cr_assert_eq(send(VERIFY_1234), 0x9000);
	cr_assert(vc_pin_take_fresh(&ctx));
}

#define SELECT_DIAG "00 A4 04 00 08 F045434152444401"
#define OPEN_CHANNEL_1 "00 70 00 01"

/* The card manager may be selected on two channels at once: only the
 * channel tells them apart. */
Test(pin, fresh_verification_is_for_its_channel)
{
	cr_assert_eq(send(OPEN_CHANNEL_1), 0x9000);
	cr_assert_eq(ctx_on(0).owner, ctx_on(1).owner, "the card manager on both");
	cr_assert_eq(send(VERIFY_1234), 0x9000);
	struct vc_applet_ctx other = ctx_on(1), entered = ctx_on(0);
	cr_assert(!vc_pin_take_fresh(&other), "entered on channel 0");
	cr_assert(!vc_pin_take_fresh(&entered), "spent by the first that asked");
	cr_assert(vc_pin_verified(&other), "the session stays verified");
}

Test(pin, fresh_verification_is_for_the_selected_application)
{
	struct vc_applet_ctx isd = ctx_on(0);
	cr_assert_eq(send(SELECT_DIAG), 0x9000);
	struct vc_applet_ctx diag = ctx_on(0);
	cr_assert_neq(isd.owner, diag.owner);
	cr_assert_eq(send(VERIFY_1234), 0x9000);
	cr_assert(!vc_pin_take_fresh(&isd), "another application on the same channel");
	cr_assert_eq(send(VERIFY_1234), 0x9000);
	cr_assert(vc_pin_take_fresh(&diag));
}

Test(pin, a_selection_change_voids_the_fresh_verification)
{
	cr_assert_eq(send(SELECT_DIAG), 0x9000);
	struct vc_applet_ctx diag = ctx_on(0);
	cr_assert_eq(send(VERIFY_1234), 0x9000);
	cr_assert_eq(send(SELECT_DIAG), 0x9000);
	cr_assert(!vc_pin_take_fresh(&diag), "selected again");
	cr_assert_eq(send(VERIFY_1234), 0x9000);
	cr_assert_eq(send("00 A4 04 00 05 A000000001"), 0x6A82);
	cr_assert(!vc_pin_take_fresh(&diag), "any SELECT on the channel");

	cr_assert_eq(send(OPEN_CHANNEL_1), 0x9000);
	cr_assert_eq(send("01 A4 04 00 08 F045434152444401"), 0x6985, "diag is on channel 0");
	cr_assert_eq(send("00 A4 04 00 00"), 0x9000);
	cr_assert_eq(send("01 A4 04 00 08 F045434152444401"), 0x9000);
	diag = ctx_on(1);
	cr_assert_eq(send("01 20 00 81 08 31323334FFFFFFFF"), 0x9000);
	cr_assert_eq(send("00 70 80 01"), 0x9000);
	cr_assert(!vc_pin_take_fresh(&diag), "its channel closed");
	cr_assert(vc_pin_verified(&diag), "the session stays verified");
}

/* VERIFY without data only asks: it must not carry a fresh verification
 * over to the channel it is sent on. */
Test(pin, status_query_does_not_move_the_fresh_verification)
{
	cr_assert_eq(send(SELECT_DIAG), 0x9000);
	cr_assert_eq(send(OPEN_CHANNEL_1), 0x9000);
	cr_assert_eq(send(VERIFY_1234), 0x9000);
	cr_assert_eq(send("01 20 00 81"), 0x9000);
	struct vc_applet_ctx isd = ctx_on(1), diag = ctx_on(0);
	cr_assert(!vc_pin_take_fresh(&isd));
	cr_assert_eq(send(VERIFY_1234), 0x9000);
	cr_assert_eq(send("01 20 00 81"), 0x9000);
	cr_assert(vc_pin_take_fresh(&diag));
}

Test(pin, change_reference_data)
{
	cr_assert_eq(send("00 24 00 81 10 39393939FFFFFFFF 35363738FFFFFFFF"), 0x63C2);
	cr_assert_eq(send(CHANGE_1234_TO_5678), 0x9000);
	cr_assert_eq(tries(), 3);
	cr_assert_eq(send(QUERY), 0x9000, "CHANGE verifies the session");
	power_cycle();
	cr_assert_eq(send(VERIFY_1234), 0x63C2, "the old PIN is gone");
	cr_assert_eq(send(VERIFY_5678), 0x9000);
}

Test(pin, change_needs_valid_blocks_and_spends_no_try_on_them)
{
	cr_assert_eq(send("00 24 00 81 10 31323334FFFFFFFF 313233FFFFFFFFFF"), 0x6A80);
	cr_assert_eq(send("00 24 00 81 10 31323334FFFFFFFF 31323334FF35FFFF"), 0x6A80);
	cr_assert_eq(send("00 24 00 81 08 31323334FFFFFFFF"), 0x6700);
	cr_assert_eq(tries(), 3);
}

Test(pin, unblock_with_puk)
{
	for (int i = 0; i < 3; i++)
		send(VERIFY_9999);
	cr_assert_eq(send(VERIFY_1234), 0x6983);
	cr_assert_eq(send(WRONG_PUK_TO_5678), 0x63C9);
	cr_assert_eq(puk_tries(), 9);
	cr_assert_eq(send(UNBLOCK_TO_5678), 0x9000);
	cr_assert_eq(tries(), 3);
	cr_assert_eq(puk_tries(), 10);
	cr_assert_eq(send(VERIFY_1234), 0x63C2);
	cr_assert_eq(send(VERIFY_5678), 0x9000);
}

Test(pin, ten_wrong_puks_block_for_good)
{
	for (int i = 0; i < 3; i++)
		send(VERIFY_9999);
	for (int i = 9; i >= 0; i--)
		cr_assert_eq(send(i % 2 ? WRONG_PUK_TO_5678 : WRONG_PUK2_TO_5678), 0x63C0 | i);
	cr_assert_eq(send(UNBLOCK_TO_5678), 0x6983, "the right PUK no longer helps");
	power_cycle();
	cr_assert_eq(send(UNBLOCK_TO_5678), 0x6983);
	cr_assert_eq(send(VERIFY_1234), 0x6983);
	cr_assert_eq(tries(), 0);
}

Test(pin, malformed_commands_spend_nothing)
{
	cr_assert_eq(send("00 20 00 81 07 31323334FFFFFF"), 0x6700);
	cr_assert_eq(send("00 20 00 81 08 313233FFFFFFFFFF"), 0x6A80, "3 digits");
	cr_assert_eq(send("00 20 00 81 08 3132333AFFFFFFFF"), 0x6A80, "not a digit");
	cr_assert_eq(send("00 20 00 81 08 31323334FF35FFFF"), 0x6A80, "digit after padding");
	cr_assert_eq(send("00 20 01 81 08 31323334FFFFFFFF"), 0x6A86);
	cr_assert_eq(send("00 20 00 82 08 31323334FFFFFFFF"), 0x6A88);
	cr_assert_eq(send("00 2C 00 81 10 31323334FFFFFFFF 35363738FFFFFFFF"), 0x6A80, "PUK not 8 digits");
	cr_assert_eq(tries(), 3);
	cr_assert_eq(puk_tries(), 10);
}

Test(pin, answered_whatever_is_selected)
{
	cr_assert_eq(send("00 A4 04 00 08 F045434152444401"), 0x9000);
	cr_assert_eq(send(VERIFY_1234), 0x9000);
	/* A proprietary class is the applet's (diag's INS 20 is INCREMENT). */
	cr_assert_eq(send("80 20 00 81 08 39393939FFFFFFFF"), 0x6700);
	cr_assert_eq(tries(), 3);
	cr_assert_eq(send("00 70 00 00 01"), 0x9000);
	cr_assert_eq(send("01 20 00 81"), 0x9000, "on a supplementary channel too");
}

Test(pin, personal_pin_and_puk)
{
	teardown();
	boot("87654321", "11112222");
	cr_assert_eq(send(VERIFY_1234), 0x63C2);
	cr_assert_eq(send("00 20 00 81 08 3837363534333231"), 0x9000);
	cr_assert_eq(send("00 2C 00 81 10 3131313132323232 31323334FFFFFFFF"), 0x9000);
	cr_assert_eq(send(VERIFY_1234), 0x9000);
}

static char captured[4096];

static void capture(void *arg, enum log_level level, const char *msg)
{
	(void)arg;
	(void)level;
	strncat(captured, msg, sizeof(captured) - strlen(captured) - 2);
	strcat(captured, "\n");
}

Test(pin, never_in_the_debug_log)
{
	struct logger lg = { .level = LOG_DEBUG, .emit = capture };
	captured[0] = '\0';
	card.log = &lg;
	cr_assert_eq(send(VERIFY_1234), 0x9000);
	cr_assert_eq(send(CHANGE_1234_TO_5678), 0x9000);
	cr_assert_eq(send(UNBLOCK_TO_5678), 0x9000);
	cr_assert_eq(send("00 A4 04 00 08 F045434152444401"), 0x9000);
	/* Malformed or in another class, the PIN is still a PIN. */
	cr_assert_eq(send("00 20 00 81 08 31323334FFFFFFFF 0000"), 0x6700);
	cr_assert_eq(send("80 20 00 81 08 31323334FFFFFFFF"), 0x6700);
	cr_assert_eq(send("00 20 00 81 07 31323334FFFFFF"), 0x6700);
	card.log = NULL;
	cr_assert(strstr(captured, "[PIN data hidden]"), "%s", captured);
	cr_assert(strstr(captured, "F045434152444401"), "other commands are traced: %s", captured);
	cr_assert_null(strstr(captured, "31323334"), "PIN in the log: %s", captured);
	cr_assert_null(strstr(captured, "35363738"), "new PIN in the log: %s", captured);
	cr_assert_null(strstr(captured, "3132333435363738"), "PUK in the log: %s", captured);
}

/* ---- tearing ---- */

/* Persistent writes one command makes, measured on a copy of the state. */
static unsigned long writes_of(const char *apdu)
{
	unsigned long before = vc_card_writes(&card);
	cr_assert_neq(send(apdu), 0);
	return vc_card_writes(&card) - before;
}

#define IMAGE_SIZE (256u * 1024u)

/* The card's whole image, to run every tear point from the same state. */
static uint8_t *save_image(void)
{
	uint8_t *img = malloc(IMAGE_SIZE);
	cr_assert_eq(vc_storage_read(tear, 0, img, IMAGE_SIZE), VC_OK);
	return img;
}

static void restore_image(const uint8_t *img)
{
	vc_card_power_down(&card);
	vc_tear_power_up(tear);
	cr_assert_eq(vc_storage_write(tear, 0, img, IMAGE_SIZE), VC_OK);
	cr_assert_eq(vc_card_power_up(&card), VC_OK);
}

static const size_t partials[] = { 0, 1, 5, SIZE_MAX / 2, VC_TEAR_PARTIAL_RANDOM };
#define N_PARTIALS (sizeof(partials) / sizeof(partials[0]))

static void arm(unsigned long k, size_t partial)
{
	struct vc_tear_plan plan = { .tear_at = k, .partial = partial, .seed = k * 13 + partial };
	vc_tear_arm(tear, &plan);
}

Test(pin, tearing_wrong_verify_never_regains_a_try)
{
	unsigned long points = 0;
	/* From each counter value 3, 2, 1: tear every write of a wrong
	 * VERIFY at every prefix length, each time from the same state. */
	for (uint8_t start = 3; start > 0; start--) {
		power_cycle();
		cr_assert_eq(tries(), start);
		uint8_t *img = save_image();
		unsigned long w = writes_of(VERIFY_9999);
		cr_assert_eq(tries(), start - 1);
		cr_assert_geq(w, 1);
		for (unsigned long k = 1; k <= w; k++) {
			for (size_t p = 0; p < N_PARTIALS; p++) {
				restore_image(img);
				arm(k, partials[p]);
				cr_assert_eq(send(VERIFY_9999), 0, "torn commands answer nothing");
				power_cycle();
				cr_assert_leq(tries(), start, "a tear gave a try back");
				/* The next answer reports the counter as it is. */
				uint8_t left = tries();
				uint16_t sw = send(VERIFY_9999);
				cr_assert_eq(sw, left ? (0x63C0 | (left - 1)) : 0x6983);
				points++;
			}
		}
		restore_image(img);
		free(img);
		cr_assert_eq(send(VERIFY_9999), 0x63C0 | (start - 1));
	}
	cr_assert_eq(send(VERIFY_1234), 0x6983);
	printf("tearing: wrong PIN VERIFY, %lu tear points, tries never regained\n", points);
}

/* Which PIN the card holds, read from its record without spending a try. */
static bool pin_is(const char *digits)
{
	uint8_t block[ISO_PIN_BLOCK_LEN];
	cr_assert(vc_pin_block_from_digits(digits, block));
	const uint8_t *rec = vc_nvm_peek(&card.nvm, card.pin_obj.off + VC_PIN_OFF_BLOCK, ISO_PIN_BLOCK_LEN);
	return memcmp(rec, block, ISO_PIN_BLOCK_LEN) == 0;
}

Test(pin, tearing_right_verify_and_change)
{
	unsigned long points = 0;
	cr_assert_eq(send(VERIFY_9999), 0x63C2);	/* start from 2 tries left */
	power_cycle();
	uint8_t *img = save_image();

	const char *const commands[] = { VERIFY_1234, CHANGE_1234_TO_5678 };
	for (size_t c = 0; c < 2; c++) {
		restore_image(img);
		unsigned long w = writes_of(commands[c]);
		cr_assert_geq(w, c == 0 ? 2 : 4, "decrement, restore / decrement + a transaction");
		for (unsigned long k = 1; k <= w; k++) {
			for (size_t p = 0; p < N_PARTIALS; p++) {
				restore_image(img);
				arm(k, partials[p]);
				cr_assert_eq(send(commands[c]), 0);
				power_cycle();
				/* Exactly one of the two PINs is the card's PIN. */
				bool changed = pin_is("5678");
				cr_assert(changed != pin_is("1234"));
				cr_assert(c == 1 || !changed);
				/* Tries only return to 3 with the right PIN presented,
				 * which it was: never above the limit, never above the
				 * start unless the command's restore landed. */
				cr_assert(tries() <= 2 || tries() == 3, "k=%lu tries=%u", k, tries());
				if (changed)
					cr_assert_eq(tries(), 3, "the new PIN commits with a fresh counter");
				cr_assert_geq(tries(), 1);
				cr_assert_eq(send(changed ? VERIFY_5678 : VERIFY_1234), 0x9000, "k=%lu", k);
				points++;
			}
		}
	}
	free(img);
	printf("tearing: right PIN VERIFY and CHANGE REFERENCE DATA, %lu tear points, PIN always old or new\n",
	       points);
}

Test(pin, tearing_unblock_never_regains_a_puk_try)
{
	for (int i = 0; i < 3; i++)
		send(VERIFY_9999);
	power_cycle();
	unsigned long w_wrong = writes_of(WRONG_PUK_TO_5678);
	unsigned long points = 0;
	for (unsigned long k = 1; k <= w_wrong; k++) {
		for (size_t p = 0; p < N_PARTIALS; p++) {
			uint8_t start = puk_tries();
			arm(k, partials[p]);
			cr_assert_eq(send(WRONG_PUK_TO_5678), 0);
			power_cycle();
			cr_assert_leq(puk_tries(), start);
			points++;
		}
	}
	/* The right PUK, torn at every write: either nothing happened (PIN
	 * still blocked, PUK try spent or not) or the new PIN is in place. */
	uint8_t *blocked = save_image();
	unsigned long w_right = writes_of(UNBLOCK_TO_5678);
	for (unsigned long k = 1; k <= w_right; k++) {
		for (size_t p = 0; p < N_PARTIALS; p++) {
			restore_image(blocked);
			uint8_t start = puk_tries();
			arm(k, partials[p]);
			cr_assert_eq(send(UNBLOCK_TO_5678), 0);
			power_cycle();
			if (tries() == 0) {
				cr_assert_leq(puk_tries(), start, "k=%lu", k);
				cr_assert_eq(send(VERIFY_5678), 0x6983);
			} else {
				cr_assert_eq(tries(), 3);
				cr_assert_eq(puk_tries(), 10);
				cr_assert_eq(send(VERIFY_5678), 0x9000, "k=%lu", k);
			}
			points++;
		}
	}
	free(blocked);
	printf("tearing: RESET RETRY COUNTER, %lu tear points, PUK tries never regained\n", points);
}
