/*
 * test_wallet_tear.c - power loss at every persistent write of every
 * state-changing wallet and profile command, and a random soak.
 *
 * For each operation (INITIALIZE LOAD, CREDIT with the right and with a
 * wrong S2, VERIFY + DEBIT, VERIFY + PUT FIELD, VERIFY + SET POLICY) we
 * count its writes W, then for every k = 1..W and several prefix lengths:
 * restore the state before, tear at write k, power up (recovery), and
 * require the card's observable state to be exactly the state before or
 * exactly the state after; then that the invariants hold (balance = loads -
 * debits, the counter counts them, the log agrees), that PIN tries were
 * not regained, and that retrying the operation completes it.
 */
#include "wallet_fixture.h"

#include <stdio.h>

#define PROFILE_OBJ_SIZE (2u + PROFILE_FIELDS * (1u + PROFILE_VALUE_MAX))

/* ---- the image, saved and restored ---- */

static uint8_t *save_image(void)
{
	uint8_t *img = malloc(FX_IMAGE);
	cr_assert_eq(vc_storage_read(fx.st, 0, img, FX_IMAGE), VC_OK);
	return img;
}

static void restore_image(const uint8_t *img)
{
	vc_card_power_down(&fx.card);
	vc_tear_power_up(fx.st);
	cr_assert_eq(vc_storage_write(fx.st, 0, img, FX_IMAGE), VC_OK);
	cr_assert_eq(vc_card_power_up(&fx.card), VC_OK);
}

/* ---- what the card shows ---- */

struct obs {
	uint32_t balance, counter;
	bool has_load, has_debit, pending;
	uint8_t last_load[24];
	uint8_t last_debit[PURSE_DEBIT_RECORD_LEN];	/* the signature is checked, not compared */
	int log_n;
	uint8_t log[WALLET_LOG_ENTRIES][WALLET_LOG_ENTRY_LEN];
	uint8_t pin_tries, puk_tries;
	uint8_t profile[PROFILE_OBJ_SIZE];
};

static uint32_t owner_of(const uint8_t *aid)
{
	for (size_t i = 0; i < VC_MAX_INSTANCES; i++)
		if (fx.card.inst[i].used && memcmp(fx.card.inst[i].aid, aid, 8) == 0)
			return fx.card.inst[i].owner;
	cr_assert_fail("no instance");
	return 0;
}

/* Is a load pending? CREDIT with a wrong S2 tells (6982 yes, 6985 no) but
 * clears it, so ask on a copy of the image. */
static bool probe_pending(void)
{
	uint8_t *img = save_image();
	fx_select_wallet();
	uint8_t zero[16] = { 0 };
	uint16_t sw = fx_credit(zero);
	cr_assert(sw == 0x6982 || sw == 0x6985, "probe answered %04X", sw);
	restore_image(img);
	free(img);
	return sw == 0x6982;
}

static void observe(struct obs *o)
{
	memset(o, 0, sizeof(*o));
	fx_select_wallet();
	struct fx_purse p = fx_purse();
	o->balance = p.balance;
	o->counter = p.counter;
	o->has_load = fx_send("80 46 01 00 00") == 0x9000;
	if (o->has_load)
		memcpy(o->last_load, fx.rsp, sizeof(o->last_load));
	o->has_debit = fx_send("80 46 00 00 00") == 0x9000;
	if (o->has_debit) {
		uint8_t rec[PURSE_DEBIT_RECORD_LEN + CRYPTO_EC_SIG_LEN], cert[PURSE_CERT_LEN];
		memcpy(rec, fx.rsp, sizeof(rec));
		memcpy(o->last_debit, rec, PURSE_DEBIT_RECORD_LEN);
		cr_assert_eq(fx_send("80 4A 00 00 00"), 0x9000);
		memcpy(cert, fx.rsp, sizeof(cert));
		cr_assert_eq(purse_debit_record_check(fx.ca_pub, cert, rec, rec + PURSE_DEBIT_RECORD_LEN), 1,
			     "the stored debit is validly signed");
	}
	for (o->log_n = 0; o->log_n < WALLET_LOG_ENTRIES; o->log_n++) {
		char cmd[24];
		snprintf(cmd, sizeof(cmd), "80 48 %02X 00 00", o->log_n);
		if (fx_send(cmd) != 0x9000)
			break;
		memcpy(o->log[o->log_n], fx.rsp, WALLET_LOG_ENTRY_LEN);
	}
	o->pin_tries = vc_pin_tries(&fx.card.nvm, fx.card.pin_obj.off);
	o->puk_tries = vc_puk_tries(&fx.card.nvm, fx.card.pin_obj.off);
	struct vc_nvm_object prof;
	cr_assert_eq(vc_nvm_find(&fx.card.nvm, owner_of(applet_profile.aid), 1, &prof), VC_OK);
	cr_assert_eq(vc_nvm_read(&fx.card.nvm, prof.off, o->profile, sizeof(o->profile)), VC_OK);
	o->pending = probe_pending();
}

static bool obs_equal(const struct obs *a, const struct obs *b)
{
	return a->balance == b->balance && a->counter == b->counter &&
	       a->has_load == b->has_load && a->has_debit == b->has_debit &&
	       a->pending == b->pending &&
	       memcmp(a->last_load, b->last_load, sizeof(a->last_load)) == 0 &&
	       memcmp(a->last_debit, b->last_debit, sizeof(a->last_debit)) == 0 &&
	       a->log_n == b->log_n && memcmp(a->log, b->log, sizeof(a->log)) == 0 &&
	       a->puk_tries == b->puk_tries &&
	       memcmp(a->profile, b->profile, sizeof(a->profile)) == 0;
	/* PIN tries are checked on their own: a torn VERIFY may spend one. */
}

/* Balance = loads - debits, one counter step per logged operation, and
 * each log entry's balance follows from the one before it. */
static void check_invariants(const struct obs *o, uint32_t base_counter)
{
	int64_t sum = 0;
	cr_assert_lt(o->log_n, WALLET_LOG_ENTRIES, "the test history fits the log");
	int64_t expected_after = o->balance;
	for (int i = 0; i < o->log_n; i++) {
		const uint8_t *e = o->log[i];
		int64_t amount = load_be32(e + 5);
		int64_t delta = e[0] == 0x01 ? amount : -amount;
		cr_assert(e[0] == 0x01 || e[0] == 0x02);
		cr_assert_eq(load_be32(e + 1), o->counter - (uint32_t)i, "log counters step by one");
		cr_assert_eq((int64_t)load_be32(e + 9), expected_after, "log entry %d: balance after", i);
		expected_after -= delta;
		sum += delta;
	}
	cr_assert_eq(sum, (int64_t)o->balance, "value loaded - value debited = balance");
	cr_assert_eq(o->counter, base_counter + (uint32_t)o->log_n);
	cr_assert_leq(o->pin_tries, VC_PIN_TRY_LIMIT);
}

/* ---- the operations ---- */

static struct purse_load pending_load;
static uint8_t debit_req[PURSE_DEBIT_REQUEST_LEN];

/* Each returns false when the card lost power during it. */
typedef bool (*op_fn)(void);

/* The last status word of an operation: 0 (power lost) or the one wanted. */
static bool finished(uint16_t sw, uint16_t want)
{
	if (sw == 0)
		return false;
	cr_assert_eq(sw, want);
	return true;
}

static bool op_init_load(void)
{
	struct purse_load l;
	fx_select_wallet();
	uint16_t sw = fx_init_load(300, &l);
	return finished(sw, 0x9000);
}

static bool op_credit(void)
{
	uint8_t s2[16];
	cr_assert_eq(purse_s2(fx.kload, &pending_load, s2), 0);
	fx_select_wallet();
	uint16_t sw = fx_credit(s2);
	return finished(sw, 0x9000);
}

static bool op_credit_wrong(void)
{
	uint8_t s2[16];
	cr_assert_eq(purse_s2(fx.kload, &pending_load, s2), 0);
	s2[0] ^= 1;
	fx_select_wallet();
	uint16_t sw = fx_credit(s2);
	return finished(sw, 0x6982);
}

static bool op_pay(void)
{
	fx_select_wallet();
	if (!finished(fx_send(VERIFY_1234), 0x9000))
		return false;
	uint16_t sw = fx_send_debit(debit_req);
	return finished(sw, 0x9000);
}

static bool verify_then(const char *apdu)
{
	cr_assert_eq(fx_send(SELECT_PROFILE), 0x9000);
	if (!finished(fx_send(VERIFY_1234), 0x9000))
		return false;
	uint16_t sw = fx_send(apdu);
	return finished(sw, 0x9000);
}

static bool op_put_field(void)
{
	return verify_then("00 DA 01 02 0B 73 33 63 72 33 74 2D 70 61 73 73");
}

static bool op_set_policy(void)
{
	return verify_then("80 32 00 00 02 01 00");
}

/* ---- the loop ---- */

static const size_t partials[] = { 0, 1, 3, 17, SIZE_MAX / 2, VC_TEAR_PARTIAL_RANDOM };
#define N_PARTIALS (sizeof(partials) / sizeof(partials[0]))

static unsigned long total_points;

static void tear_every_write(const char *name, op_fn op)
{
	uint8_t *start = save_image();
	struct obs before, after, now;
	restore_image(start);
	observe(&before);
	uint32_t base_counter = before.counter - (uint32_t)before.log_n;
	check_invariants(&before, base_counter);

	restore_image(start);
	unsigned long w0 = vc_card_writes(&fx.card);
	cr_assert(op(), "%s completes without a tear", name);
	unsigned long w = vc_card_writes(&fx.card) - w0;
	observe(&after);
	check_invariants(&after, base_counter);
	cr_assert(!obs_equal(&before, &after), "%s changes the state", name);
	cr_assert_geq(w, 1);

	unsigned long points = 0, befores = 0;
	for (unsigned long k = 1; k <= w; k++) {
		for (size_t p = 0; p < N_PARTIALS; p++) {
			restore_image(start);
			struct vc_tear_plan plan = { .tear_at = k, .partial = partials[p],
						     .seed = k * 7919 + p };
			vc_tear_arm(fx.st, &plan);
			cr_assert(!op(), "%s: the tear at write %lu cut the power", name, k);
			fx_power_cycle();
			observe(&now);
			bool is_before = obs_equal(&now, &before), is_after = obs_equal(&now, &after);
			cr_assert(is_before || is_after, "%s, tear at write %lu/%lu (prefix %zu): neither before nor after",
				  name, k, w, partials[p]);
			check_invariants(&now, base_counter);
			cr_assert_leq(now.pin_tries, before.pin_tries > after.pin_tries ? before.pin_tries
							: after.pin_tries, "PIN tries regained");
			if (is_before) {
				befores++;
				/* Retrying completes it. */
				cr_assert(op(), "%s: retry", name);
				observe(&now);
				cr_assert(obs_equal(&now, &after), "%s: the retry ends in the state after", name);
			}
			points++;
		}
	}
	/* The next operation starts from the same state as this one did. */
	restore_image(start);
	free(start);
	total_points += points;
	printf("tearing: %s, %lu writes, %lu tear points (%lu before, %lu after), all exact\n",
	       name, w, points, befores, points - befores);
}

static void setup(void)
{
	fx_boot(true);
	total_points = 0;
	/* A history: two loads, one purchase, one wrong PIN (2 tries left). */
	fx_load(5000);
	fx_load(1200);
	cr_assert_eq(fx_pay(700), 0x9000);
	cr_assert_eq(fx_send("00 20 00 81 08 39393939FFFFFFFF"), 0x63C2);
	fx_debit_request(450, debit_req);
}

TestSuite(wallet_tear, .init = setup, .fini = fx_teardown, .timeout = 300);

Test(wallet_tear, every_state_changing_command)
{
	tear_every_write("INITIALIZE LOAD", op_init_load);

	fx_select_wallet();
	cr_assert_eq(fx_init_load(800, &pending_load), 0x9000);
	tear_every_write("CREDIT", op_credit);
	tear_every_write("CREDIT with a wrong S2", op_credit_wrong);

	tear_every_write("VERIFY + DEBIT", op_pay);
	tear_every_write("VERIFY + PUT FIELD", op_put_field);
	tear_every_write("VERIFY + SET POLICY", op_set_policy);
	printf("tearing: wallet and profile, %lu tear points in all\n", total_points);
	cr_assert_gt(total_points, 100);
}

/* ---- random soak ---- */

static uint64_t rng;

static uint32_t rnd(uint32_t n)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)((rng >> 33) % n);
}

Test(wallet_tear, random_soak)
{
	rng = 0xEC4D2026;
	const int steps = 5000;
	uint64_t loaded = 5000 + 1200, debited = 700;
	uint32_t counter = 3;
	unsigned long tears = 0, loads = 0, pays = 0, resets = 0;

	for (int step = 0; step < steps; step++) {
		uint32_t choice = rnd(10);
		bool tear = rnd(3) == 0;
		if (tear) {
			struct vc_tear_plan plan = { .tear_at = 1 + rnd(10), .partial = VC_TEAR_PARTIAL_RANDOM,
						     .seed = (uint64_t)step };
			vc_tear_arm(fx.st, &plan);
		}
		fx_power_cycle();
		fx_select_wallet();
		struct fx_purse before = fx_purse();
		cr_assert_eq(before.balance, loaded - debited, "step %d", step);
		cr_assert_eq(before.counter, counter, "step %d", step);

		bool completed = true;
		if (choice < 4) {
			uint32_t amount = 1 + rnd(2000);
			if (before.balance + amount > FX_MAX)
				amount = 1;
			struct purse_load l;
			uint8_t s2[16];
			uint16_t sw = fx_init_load(amount, &l);
			if (sw == 0x9000) {
				cr_assert_eq(purse_s2(fx.kload, &l, s2), 0);
				sw = fx_credit(s2);
			}
			completed = sw != 0;
			if (completed)
				cr_assert_eq(sw, 0x9000);
			loads++;
		} else if (choice < 8) {
			uint32_t amount = 1 + rnd(before.balance ? before.balance : 1);
			uint8_t req[PURSE_DEBIT_REQUEST_LEN];
			fx_debit_request(amount, req);
			uint16_t sw = fx_send(VERIFY_1234);
			if (sw == 0x9000)
				sw = fx_send_debit(req);
			completed = sw != 0;
			if (completed)
				cr_assert(sw == 0x9000 || (sw == 0x6400 && amount > before.balance));
			/* A lost answer: GET LAST TRANSACTION tells whether it happened. */
			fx_power_cycle();
			fx_select_wallet();
			bool happened = fx_send("80 46 00 00 00") == 0x9000 &&
					memcmp(fx.rsp + 26, req + 14, PURSE_CHALLENGE_LEN) == 0;
			struct fx_purse p = fx_purse();
			cr_assert_eq(p.balance, happened ? before.balance - amount : before.balance,
				     "step %d: the record and the balance agree", step);
			pays++;
		} else {
			/* A reset, or a PIN check, while tearing may be armed. */
			uint16_t sw = fx_send(rnd(2) ? VERIFY_1234 : "00 20 00 81");
			completed = sw != 0;
			resets++;
		}
		if (!completed)
			tears++;
		vc_tear_disarm(fx.st);
		fx_power_cycle();
		fx_select_wallet();
		struct fx_purse after = fx_purse();
		/* Exactly one operation or none took effect. */
		if (after.counter == counter + 1) {
			if (after.balance > before.balance)
				loaded += after.balance - before.balance;
			else
				debited += before.balance - after.balance;
			counter++;
		} else {
			cr_assert_eq(after.counter, counter, "step %d: counter jumped", step);
			cr_assert_eq(after.balance, before.balance, "step %d: value without a count", step);
		}
		cr_assert_eq(after.balance, loaded - debited, "step %d", step);
		uint8_t tries = vc_pin_tries(&fx.card.nvm, fx.card.pin_obj.off);
		cr_assert_geq(tries, 1, "step %d: the right PIN never blocks the card", step);
		if (tries < 3)
			cr_assert_eq(fx_send(VERIFY_1234), 0x9000);
	}
	printf("tearing soak: %d steps (%lu loads, %lu purchases, %lu resets), %lu tears, "
	       "balance %llu = %llu loaded - %llu debited\n",
	       steps, loads, pays, resets, tears, (unsigned long long)(loaded - debited),
	       (unsigned long long)loaded, (unsigned long long)debited);
	cr_assert_gt(tears, 100);
}
