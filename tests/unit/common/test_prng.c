/*
 * test_prng.c - splitmix64 of common/prng.c, the generator behind the
 * reproducible fault plans and the fuzzer: it must give the reference
 * sequence bit for bit, since seeded runs are replayed from their seed.
 */
#include <criterion/criterion.h>

#include <stdint.h>

#include "prng.h"

Test(prng, gives_the_reference_sequence_from_seed_0)
{
	/* The first outputs of splitmix64 from state 0, as published with it. */
	uint64_t state = 0;
	cr_assert_eq(prng_splitmix64(&state), 0xE220A8397B1DCDAFULL);
	cr_assert_eq(prng_splitmix64(&state), 0x6E789E6AA1B965F4ULL);
	cr_assert_eq(prng_splitmix64(&state), 0x06C45D188009454FULL);
}

Test(prng, gives_the_reference_sequence_from_other_seeds)
{
	uint64_t one = 1, top = UINT64_MAX;
	cr_assert_eq(prng_splitmix64(&one), 0x910A2DEC89025CC1ULL);
	cr_assert_eq(prng_splitmix64(&one), 0xBEEB8DA1658EEC67ULL);
	cr_assert_eq(prng_splitmix64(&top), 0xE4D971771B652C20ULL);
	cr_assert_eq(prng_splitmix64(&top), 0xE99FF867DBF682C9ULL);
}

Test(prng, advances_the_state_by_the_golden_gamma)
{
	uint64_t state = 5;
	prng_splitmix64(&state);
	cr_assert_eq(state, 5 + 0x9E3779B97F4A7C15ULL);
	prng_splitmix64(&state);
	cr_assert_eq(state, 5 + 2 * 0x9E3779B97F4A7C15ULL);
	/* The state wraps around: any value is a valid state. */
	state = UINT64_MAX;
	prng_splitmix64(&state);
	cr_assert_eq(state, 0x9E3779B97F4A7C14ULL);
}

Test(prng, replays_a_seed_and_tells_seeds_apart)
{
	uint64_t a = 42, b = 42, c = 43;
	for (int i = 0; i < 1000; i++) {
		uint64_t va = prng_splitmix64(&a);
		cr_assert_eq(va, prng_splitmix64(&b), "same seed, value %d differs", i);
		cr_assert_neq(va, prng_splitmix64(&c), "seeds 42 and 43 agree at value %d", i);
	}
}
