/*
 * test_tear.c - power loss at every persistent write of a transaction.
 *
 * The model is DESIGN §1.2: a tear at write k means writes 1..k-1 landed,
 * a prefix of write k landed, nothing after. For a transaction of many
 * writes we tear at every k and at several prefix lengths, power up
 * (recovery), and require the state to be exactly the state before or
 * exactly the state after; the commit point is the second write (the
 * sealed commit record). Then tears during recovery itself, and a seeded
 * random soak of transactions and tears against a model.
 *
 * Last, the plans' command-line forms (--tear-at, --tear-random): every
 * accepted form, every refused one, the bounds; a random plan replaying
 * from its seed; and an image file opened behind the wrapper.
 */
#include <criterion/criterion.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvm.h"
#include "test_support.h"

#define IMG (128u * 1024u)
#define JOURNAL 8192u
#define AREA 6000u

static struct vc_storage *tear;	/* owns the memory backend */
static uint8_t *bytes;		/* the memory backend's image */
static struct vc_nvm nvm;
static struct vc_nvm_object area;
static uint8_t *snap_before, *snap_after;

static void power_up(void)
{
	vc_nvm_close(&nvm);
	vc_tear_power_up(tear);
	cr_assert_eq(vc_nvm_open(&nvm, tear), VC_OK);
}

static void setup(void)
{
	struct vc_storage *mem;
	cr_assert_eq(vc_storage_mem_create(IMG, &mem), VC_OK);
	bytes = vc_storage_mem_bytes(mem);
	cr_assert_eq(vc_storage_tear_create(mem, &tear), VC_OK);
	cr_assert_eq(vc_nvm_format(tear, JOURNAL), VC_OK);
	memset(&nvm, 0, sizeof(nvm));
	cr_assert_eq(vc_nvm_open(&nvm, tear), VC_OK);
	cr_assert_eq(vc_nvm_alloc(&nvm, 1, 1, AREA, &area), VC_OK);
	uint8_t fill[AREA];
	for (size_t i = 0; i < AREA; i++)
		fill[i] = (uint8_t)(i * 7 + 1);
	cr_assert_eq(vc_nvm_begin(&nvm), VC_OK);
	cr_assert_eq(vc_nvm_write(&nvm, area.off, fill, 4000), VC_OK);
	cr_assert_eq(vc_nvm_commit(&nvm), VC_OK);
	snap_before = malloc(IMG);
	snap_after = malloc(IMG);
}

static void teardown(void)
{
	vc_nvm_close(&nvm);
	vc_storage_destroy(tear);
	free(snap_before);
	free(snap_after);
}

TestSuite(tear, .init = setup, .fini = teardown, .timeout = 120);

/* The operation under test: one transaction of many writes of many sizes,
 * some overlapping (they merge), some far apart. */
static enum vc_status big_transaction(void)
{
	static const struct { uint32_t off, len; } w[] = {
		{ 0, 1 }, { 3, 2 }, { 10, 16 }, { 100, 333 }, { 500, 1000 },
		{ 1490, 20 }, { 2000, 7 }, { 2008, 7 }, { 3000, 1 }, { 4100, 255 },
		{ 5000, 64 }, { 5990, 10 }, { 20, 4 },
	};
	uint8_t data[1000];
	enum vc_status s = vc_nvm_begin(&nvm);
	for (size_t i = 0; s == VC_OK && i < sizeof(w) / sizeof(w[0]); i++) {
		memset(data, (int)(0xA0 + i), w[i].len);
		s = vc_nvm_write(&nvm, area.off + w[i].off, data, w[i].len);
	}
	if (s == VC_OK)
		s = vc_nvm_commit(&nvm);
	return s;
}

/* The logical state: everything but the journal (whose body may keep the
 * bytes of a finished transaction). */
static bool state_is(const uint8_t *snap)
{
	uint32_t from = nvm.table_off;
	return memcmp(bytes + from, snap + from, IMG - from) == 0 &&
	       memcmp(bytes, snap, nvm.journal_off) == 0;
}

static unsigned long count_writes(enum vc_status (*op)(void))
{
	memcpy(snap_before, bytes, IMG);
	struct vc_tear_plan none = { 0 };
	vc_tear_arm(tear, &none);
	cr_assert_eq(op(), VC_OK);
	unsigned long w = vc_tear_writes(tear);
	memcpy(snap_after, bytes, IMG);
	memcpy(bytes, snap_before, IMG);
	power_up();
	return w;
}

static const size_t partials[] = { 0, 1, 2, 7, 33, 500, SIZE_MAX / 2, VC_TEAR_PARTIAL_RANDOM };
#define N_PARTIALS (sizeof(partials) / sizeof(partials[0]))

Test(tear, every_write_of_a_transaction)
{
	unsigned long w = count_writes(big_transaction);
	cr_assert_geq(w, 10, "the transaction has many writes (%lu)", w);
	unsigned long points = 0, befores = 0, afters = 0;

	for (unsigned long k = 1; k <= w; k++) {
		for (size_t p = 0; p < N_PARTIALS; p++) {
			memcpy(bytes, snap_before, IMG);
			power_up();
			struct vc_tear_plan plan = { .tear_at = k, .partial = partials[p], .seed = k * 31 + p };
			vc_tear_arm(tear, &plan);
			cr_assert_eq(big_transaction(), VC_ERR_POWER_LOST, "k=%lu", k);
			size_t landed, len;
			vc_tear_last(tear, &landed, &len);

			power_up();
			bool before = state_is(snap_before), after = state_is(snap_after);
			cr_assert(before || after, "k=%lu landed=%zu/%zu: state is neither before nor after",
				  k, landed, len);
			/* Before the sealed record nothing happened; from the first
			 * home write on, recovery completes the transaction. The
			 * record's fields end at byte 24 (zero padding follows, which
			 * is already zero), so 24 landed bytes seal it. */
			bool sealed = k >= 3 || (k == 2 && landed >= 24);
			if (!sealed)
				cr_assert(before, "k=%lu landed=%zu/%zu must be before", k, landed, len);
			else
				cr_assert(after, "k=%lu landed=%zu/%zu must be after", k, landed, len);
			befores += before;
			afters += after;

			/* Retrying the operation completes it. */
			if (before) {
				cr_assert_eq(big_transaction(), VC_OK);
				power_up();
				cr_assert(state_is(snap_after));
			}
			points++;
		}
	}
	printf("tearing: transaction of %lu writes, %lu tear points (%lu before, %lu after)\n",
	       w, points, befores, afters);
	cr_assert_eq(points, w * N_PARTIALS);
}

Test(tear, tears_during_recovery)
{
	unsigned long w = count_writes(big_transaction);
	unsigned long points = 0;

	for (unsigned long k = 3; k <= w; k++) {
		/* How many writes does recovery need after a tear at k? */
		memcpy(bytes, snap_before, IMG);
		power_up();
		struct vc_tear_plan plan = { .tear_at = k, .partial = 0 };
		vc_tear_arm(tear, &plan);
		cr_assert_eq(big_transaction(), VC_ERR_POWER_LOST);
		uint8_t *torn = malloc(IMG);
		memcpy(torn, bytes, IMG);
		power_up();
		unsigned long rw = nvm.writes;
		cr_assert(nvm.recovered);
		cr_assert_geq(rw, 2);

		for (unsigned long j = 1; j <= rw; j++) {
			for (size_t p = 0; p < N_PARTIALS; p++) {
				memcpy(bytes, torn, IMG);
				vc_nvm_close(&nvm);
				vc_tear_power_up(tear);
				struct vc_tear_plan second = { .tear_at = j, .partial = partials[p], .seed = j };
				vc_tear_arm(tear, &second);
				cr_assert_eq(vc_nvm_open(&nvm, tear), VC_ERR_POWER_LOST,
					     "recovery tear at %lu", j);
				power_up();
				cr_assert(state_is(snap_after), "k=%lu j=%lu p=%zu", k, j, p);
				points++;
			}
		}
		free(torn);
	}
	printf("tearing: %lu double-tear points (tear in commit, then in recovery)\n", points);
}

Test(tear, allocation_is_atomic)
{
	/* Allocation zeroes free space in place, then commits the table entry. */
	uint8_t junk[512];
	memset(junk, 0xEE, sizeof(junk));
	struct vc_nvm_object scratch;
	cr_assert_eq(vc_nvm_alloc(&nvm, 2, 1, sizeof(junk), &scratch), VC_OK);
	cr_assert_eq(vc_nvm_begin(&nvm), VC_OK);
	cr_assert_eq(vc_nvm_write(&nvm, scratch.off, junk, sizeof(junk)), VC_OK);
	cr_assert_eq(vc_nvm_commit(&nvm), VC_OK);
	cr_assert_eq(vc_nvm_free(&nvm, 2, 1), VC_OK);

	memcpy(snap_before, bytes, IMG);
	struct vc_tear_plan none = { 0 };
	vc_tear_arm(tear, &none);
	struct vc_nvm_object o;
	cr_assert_eq(vc_nvm_alloc(&nvm, 3, 9, sizeof(junk), &o), VC_OK);
	cr_assert_eq(o.off, scratch.off);
	unsigned long w = vc_tear_writes(tear);
	cr_assert_geq(w, 5, "zeroing + commit");

	for (unsigned long k = 1; k <= w; k++) {
		for (size_t p = 0; p < N_PARTIALS; p++) {
			memcpy(bytes, snap_before, IMG);
			power_up();
			struct vc_tear_plan plan = { .tear_at = k, .partial = partials[p], .seed = k };
			vc_tear_arm(tear, &plan);
			cr_assert_eq(vc_nvm_alloc(&nvm, 3, 9, sizeof(junk), &o), VC_ERR_POWER_LOST);
			power_up();
			struct vc_nvm_object f;
			if (vc_nvm_find(&nvm, 3, 9, &f) == VC_OK) {
				uint8_t back[512], zero[512] = { 0 };
				vc_nvm_read(&nvm, f.off, back, sizeof(back));
				cr_assert_arr_eq(back, zero, sizeof(zero), "an allocated object is zero (k=%lu)", k);
			} else {
				cr_assert_eq(vc_nvm_alloc(&nvm, 3, 9, sizeof(junk), &f), VC_OK, "retry");
			}
		}
	}
}

/*
 * Two tears in a row across two transactions: the first tears the clear of
 * its commit record (a prefix of zeros lands, the rest of the old record
 * stays), the second tears its own record write after a few bytes. The
 * old record must never come back to life and replay stale bytes over a
 * later immediate write.
 */
Test(tear, torn_clear_then_torn_record_never_replays_the_old_record)
{
	struct vc_nvm_object b;
	cr_assert_eq(vc_nvm_alloc(&nvm, 5, 1, 1, &b), VC_OK);
	unsigned long points = 0;
	for (size_t clear_landed = 1; clear_landed < 32; clear_landed++) {
		for (size_t rec_landed = 1; rec_landed < 32; rec_landed++) {
			/* T_O writes A and B = 9; its clear tears. */
			struct vc_tear_plan none = { 0 };
			vc_tear_arm(tear, &none);
			unsigned long w0 = vc_tear_writes(tear);
			cr_assert_eq(vc_nvm_begin(&nvm), VC_OK);
			cr_assert_eq(vc_nvm_write(&nvm, area.off, "AAAA", 4), VC_OK);
			cr_assert_eq(vc_nvm_write(&nvm, b.off, "\x09", 1), VC_OK);
			uint8_t *img = malloc(IMG);
			memcpy(img, bytes, IMG);
			cr_assert_eq(vc_nvm_commit(&nvm), VC_OK);
			unsigned long w = vc_tear_writes(tear) - w0;
			memcpy(bytes, img, IMG);
			free(img);
			power_up();
			struct vc_tear_plan p1 = { .tear_at = w, .partial = clear_landed };
			vc_tear_arm(tear, &p1);
			cr_assert_eq(vc_nvm_begin(&nvm), VC_OK);
			cr_assert_eq(vc_nvm_write(&nvm, area.off, "AAAA", 4), VC_OK);
			cr_assert_eq(vc_nvm_write(&nvm, b.off, "\x09", 1), VC_OK);
			cr_assert_eq(vc_nvm_commit(&nvm), VC_ERR_POWER_LOST);
			power_up();
			/* An immediate write, then T_N with a prefix of T_O's body. */
			cr_assert_eq(vc_nvm_write_now(&nvm, b.off, "\x00", 1), VC_OK);
			struct vc_tear_plan p2 = { .tear_at = 2, .partial = rec_landed };
			vc_tear_arm(tear, &p2);
			cr_assert_eq(vc_nvm_begin(&nvm), VC_OK);
			cr_assert_eq(vc_nvm_write(&nvm, area.off, "AAAA", 4), VC_OK);
			cr_assert_eq(vc_nvm_commit(&nvm), VC_ERR_POWER_LOST);
			power_up();
			uint8_t v;
			vc_nvm_read(&nvm, b.off, &v, 1);
			cr_assert_eq(v, 0, "clear %zu, record %zu: a stale record was replayed", clear_landed,
				     rec_landed);
			points++;
		}
	}
	printf("tearing: %lu double-tear points across two transactions\n", points);
}

/* ---- random soak against a model ---- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)((rng_state >> 33) % n);
}

Test(tear, random_soak)
{
	uint8_t *model = malloc(AREA), *next = malloc(AREA);
	vc_nvm_read(&nvm, area.off, model, AREA);
	rng_state = 20261121;
	unsigned long tears = 0, commits = 0, aborts = 0;
	const int steps = 4000;

	for (int step = 0; step < steps; step++) {
		memcpy(next, model, AREA);
		bool do_abort = rnd(10) == 0;
		struct vc_tear_plan plan = { 0 };
		if (rnd(4) == 0) {
			plan.tear_at = 1 + rnd(12);
			plan.partial = VC_TEAR_PARTIAL_RANDOM;
			plan.seed = (uint64_t)step;
		}
		vc_tear_arm(tear, &plan);

		enum vc_status s = vc_nvm_begin(&nvm);
		int n = 1 + (int)rnd(8);
		for (int i = 0; s == VC_OK && i < n; i++) {
			uint32_t len = 1 + rnd(300);
			uint32_t off = rnd(AREA - len);
			uint8_t buf[300];
			for (uint32_t b = 0; b < len; b++)
				buf[b] = (uint8_t)rnd(256);
			s = vc_nvm_write(&nvm, area.off + off, buf, len);
			memcpy(next + off, buf, len);
		}
		if (s == VC_OK)
			s = do_abort ? vc_nvm_abort(&nvm) : vc_nvm_commit(&nvm);

		uint8_t now[AREA];
		if (s == VC_ERR_POWER_LOST) {
			tears++;
			power_up();
			vc_nvm_read(&nvm, area.off, now, AREA);
			bool before = memcmp(now, model, AREA) == 0;
			bool after = memcmp(now, next, AREA) == 0;
			cr_assert(before || after, "step %d: torn transaction is half applied", step);
			if (after)
				memcpy(model, next, AREA);
		} else {
			cr_assert_eq(s, VC_OK, "step %d", step);
			if (do_abort) {
				aborts++;
			} else {
				commits++;
				memcpy(model, next, AREA);
			}
			/* Every few steps, a clean power cycle too. */
			if (rnd(8) == 0)
				power_up();
			vc_nvm_read(&nvm, area.off, now, AREA);
			cr_assert_arr_eq(now, model, AREA, "step %d", step);
		}
	}
	printf("tearing soak: %d steps, %lu commits, %lu aborts, %lu tears\n", steps, commits, aborts,
	       tears);
	cr_assert_gt(tears, 100);
	free(model);
	free(next);
}

/* ---- plans from the command line ---- */

/* A plan whose every field says "untouched". */
static struct vc_tear_plan marked(void)
{
	return (struct vc_tear_plan){ .tear_at = 77, .partial = 55, .probability = 0.25, .seed = 99 };
}

static void assert_untouched(const struct vc_tear_plan *p, const char *arg)
{
	cr_assert(p->tear_at == 77 && p->partial == 55 && p->probability == 0.25 && p->seed == 99,
		  "'%s' changed the plan", arg);
}

Test(tear_plan, at_takes_n_and_n_colon_len)
{
	struct vc_tear_plan p = marked();
	cr_assert(vc_tear_plan_parse_at("1", &p));
	cr_assert_eq(p.tear_at, 1);
	cr_assert_eq(p.partial, VC_TEAR_PARTIAL_RANDOM, "no LEN: a random prefix lands");
	cr_assert(p.probability == 0.25 && p.seed == 99, "parse_at sets tear_at and partial only");

	cr_assert(vc_tear_plan_parse_at("3:2", &p));
	cr_assert_eq(p.tear_at, 3);
	cr_assert_eq(p.partial, 2);
	cr_assert(vc_tear_plan_parse_at("3:0", &p));
	cr_assert_eq(p.partial, 0, "LEN 0: nothing of the write lands");
	cr_assert(vc_tear_plan_parse_at("12:4096", &p));
	cr_assert_eq(p.tear_at, 12);
	cr_assert_eq(p.partial, 4096);
	cr_assert(vc_tear_plan_parse_at("007", &p));
	cr_assert_eq(p.tear_at, 7, "decimal, a leading 0 is not octal");
	cr_assert_eq(p.partial, VC_TEAR_PARTIAL_RANDOM);
}

Test(tear_plan, at_bounds)
{
	struct vc_tear_plan p = marked();
	char arg[64];
	snprintf(arg, sizeof(arg), "%lu", ULONG_MAX);
	cr_assert(vc_tear_plan_parse_at(arg, &p));
	cr_assert_eq(p.tear_at, ULONG_MAX);
	snprintf(arg, sizeof(arg), "%lu0", ULONG_MAX);	/* past ULONG_MAX */
	p = marked();
	cr_assert_not(vc_tear_plan_parse_at(arg, &p));
	assert_untouched(&p, arg);
	cr_assert_not(vc_tear_plan_parse_at("0", &p), "N starts at 1");
	assert_untouched(&p, "0");
}

Test(tear_plan, at_refuses_everything_else)
{
	static const char *const bad[] = {
		"", "0", "0:2", "x", "3x", "3 ", "3.5", "3:", "3:x", "3:2x", "3:2:1", ":2", "3,2",
		"0x3", "3: 2x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vc_tear_plan p = marked();
		cr_assert_not(vc_tear_plan_parse_at(bad[i], &p), "'%s' taken", bad[i]);
		assert_untouched(&p, bad[i]);
	}
}

Test(tear_plan, random_takes_seed_comma_probability)
{
	struct vc_tear_plan p = marked();
	cr_assert(vc_tear_plan_parse_random("42,0.01", &p));
	cr_assert_eq(p.seed, 42);
	cr_assert(p.probability == 0.01);
	cr_assert_eq(p.partial, VC_TEAR_PARTIAL_RANDOM);
	cr_assert_eq(p.tear_at, 77, "parse_random leaves tear_at alone");

	cr_assert(vc_tear_plan_parse_random("0x10,1e-3", &p));
	cr_assert_eq(p.seed, 16);
	cr_assert(p.probability == 1e-3);
	cr_assert(vc_tear_plan_parse_random("010,.5", &p));
	cr_assert_eq(p.seed, 8, "SEED takes C's prefixes: 010 is octal");
	cr_assert(p.probability == 0.5);
	cr_assert(vc_tear_plan_parse_random("0,0.5", &p));
	cr_assert_eq(p.seed, 0);
	cr_assert(vc_tear_plan_parse_random("18446744073709551615,0.5", &p));
	cr_assert_eq(p.seed, UINT64_MAX);
}

Test(tear_plan, random_probability_bounds)
{
	struct vc_tear_plan p = marked();
	cr_assert(vc_tear_plan_parse_random("1,1", &p), "P = 1 tears every write");
	cr_assert(p.probability == 1.0);
	cr_assert(vc_tear_plan_parse_random("1,1e-300", &p), "any P above 0");
	cr_assert(p.probability == 1e-300);
	static const char *const bad[] = { "1,0", "1,0.0", "1,-0.5", "1,1.0000001", "1,2",
					   "1,nan", "1,inf", "1,-inf" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = marked();
		cr_assert_not(vc_tear_plan_parse_random(bad[i], &p), "'%s' taken", bad[i]);
		assert_untouched(&p, bad[i]);
	}
}

Test(tear_plan, random_refuses_everything_else)
{
	static const char *const bad[] = {
		"", "x", "42", "42,", ",0.5", "x,0.5", "42;0.5", "42 0.5", "42,0.5x", "42,0.5,1",
		"42,,0.5", "42:0.5", "4 2,0.5",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vc_tear_plan p = marked();
		cr_assert_not(vc_tear_plan_parse_random(bad[i], &p), "'%s' taken", bad[i]);
		assert_untouched(&p, bad[i]);
	}
}

Test(tear_plan, both_forms_combine_and_the_later_decides_partial)
{
	struct vc_tear_plan p = { 0 };
	cr_assert(vc_tear_plan_parse_at("3:2", &p));
	cr_assert(vc_tear_plan_parse_random("5,0.5", &p));
	cr_assert_eq(p.tear_at, 3);
	cr_assert_eq(p.seed, 5);
	cr_assert_eq(p.partial, VC_TEAR_PARTIAL_RANDOM);

	struct vc_tear_plan q = { 0 };
	cr_assert(vc_tear_plan_parse_random("5,0.5", &q));
	cr_assert(vc_tear_plan_parse_at("3:2", &q));
	cr_assert_eq(q.tear_at, 3);
	cr_assert(q.probability == 0.5);
	cr_assert_eq(q.partial, 2);
}

/* Where a random plan tears a run of writes: (write index, bytes landed). */
static void random_run(uint64_t seed, unsigned long *at, size_t *landed, int n)
{
	struct vc_storage *mem, *t;
	struct vc_tear_plan plan = { 0 };
	uint8_t buf[64] = { 0 };
	char arg[64];

	snprintf(arg, sizeof(arg), "%llu,0.1", (unsigned long long)seed);
	cr_assert(vc_tear_plan_parse_random(arg, &plan));
	cr_assert_eq(vc_storage_mem_create(4096, &mem), VC_OK);
	cr_assert_eq(vc_storage_tear_create(mem, &t), VC_OK);
	vc_tear_arm(t, &plan);
	for (int found = 0, w = 1; found < n; w++) {
		cr_assert_lt(w, 100000);
		if (vc_storage_write(t, 0, buf, sizeof(buf)) != VC_ERR_POWER_LOST)
			continue;
		size_t len;
		at[found] = (unsigned long)w;
		vc_tear_last(t, &landed[found], &len);
		found++;
		vc_tear_power_up(t);
	}
	vc_storage_destroy(t);
}

Test(tear_plan, a_random_plan_replays_from_its_seed)
{
	unsigned long a1[20], a2[20], b[20];
	size_t l1[20], l2[20], lb[20];
	random_run(42, a1, l1, 20);
	random_run(42, a2, l2, 20);
	random_run(43, b, lb, 20);
	cr_assert_arr_eq(a1, a2, sizeof(a1));
	cr_assert_arr_eq(l1, l2, sizeof(l1));
	cr_assert(memcmp(a1, b, sizeof(a1)) != 0 || memcmp(l1, lb, sizeof(l1)) != 0,
		  "seeds 42 and 43 tear alike");
}

Test(tear_plan, an_image_file_opens_behind_the_wrapper, .init = ts_tmpdir_init,
     .fini = ts_tmpdir_fini)
{
	const char *dir = ts_tmpdir();
	char path[96];
	struct vc_storage *st;

	ts_tmp_path(path, sizeof(path), "card.img");
	cr_assert_eq(vc_storage_tear_open(path, &st), VC_ERR_NOT_FOUND);
	cr_assert_eq(vc_storage_tear_open(dir, &st), VC_ERR_IO, "a directory is no image");

	cr_assert_eq(vc_storage_file_create(path, 8192, &st), VC_OK);
	vc_storage_destroy(st);
	cr_assert_eq(vc_storage_tear_open(path, &st), VC_OK);
	cr_assert_eq(st->size, 8192);
	struct vc_tear_plan plan = { .tear_at = 2, .partial = 1 };
	vc_tear_arm(st, &plan);
	uint8_t data[4] = { 1, 2, 3, 4 };
	cr_assert_eq(vc_storage_write(st, 0, data, 4), VC_OK);
	cr_assert_eq(vc_storage_write(st, 8, data, 4), VC_ERR_POWER_LOST);
	cr_assert(vc_tear_torn(st));
	uint8_t back[12];
	cr_assert_eq(vc_storage_read(st, 0, back, sizeof(back)), VC_OK);
	uint8_t want[12] = { 1, 2, 3, 4, 0, 0, 0, 0, 1, 0, 0, 0 };
	cr_assert_arr_eq(back, want, sizeof(want), "one byte of the torn write landed");
	vc_storage_destroy(st);
}

/* What a status line shows of an armed tear: the writes left until it
 * fires, counted again from a power-up; nothing once it fired or was
 * disarmed. */
Test(tear_plan, an_armed_tear_is_described_until_it_fires)
{
	struct vc_storage *mem, *t;
	uint8_t buf[8] = { 0 };
	char text[32];

	cr_assert_eq(vc_storage_mem_create(4096, &mem), VC_OK);
	cr_assert_eq(vc_storage_tear_create(mem, &t), VC_OK);
	cr_expect_str_eq(vc_tear_describe(t, text, sizeof(text)), "off");
	struct vc_tear_plan plan = { .tear_at = 3, .partial = 0 };
	vc_tear_arm(t, &plan);
	cr_expect_str_eq(vc_tear_describe(t, text, sizeof(text)), "write 3");
	cr_assert_eq(vc_storage_write(t, 0, buf, sizeof(buf)), VC_OK);
	cr_expect_str_eq(vc_tear_describe(t, text, sizeof(text)), "write 2");
	vc_tear_power_up(t);
	cr_expect_str_eq(vc_tear_describe(t, text, sizeof(text)), "write 3");
	vc_tear_disarm(t);
	cr_expect_str_eq(vc_tear_describe(t, text, sizeof(text)), "off");
	for (int i = 0; i < 5; i++)
		cr_assert_eq(vc_storage_write(t, 0, buf, sizeof(buf)), VC_OK, "disarmed");
	vc_tear_arm(t, &plan);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(vc_storage_write(t, 0, buf, sizeof(buf)), VC_OK);
	cr_expect_str_eq(vc_tear_describe(t, text, sizeof(text)), "write 1");
	cr_assert_eq(vc_storage_write(t, 0, buf, sizeof(buf)), VC_ERR_POWER_LOST);
	cr_expect_str_eq(vc_tear_describe(t, text, sizeof(text)), "off", "spent");
	struct vc_tear_plan random = { .probability = 0.25, .seed = 1 };
	vc_tear_arm(t, &random);
	cr_expect_str_eq(vc_tear_describe(t, text, sizeof(text)), "random 0.25");
	vc_storage_destroy(t);
}
