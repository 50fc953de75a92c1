/*
 * prng.h - splitmix64, the small deterministic generator behind the
 * reproducible fault plans (the tearing storage, the CCID simulator's
 * wire faults) and the parsers' fuzzer: the same seed gives the same
 * sequence on every machine, so a failing run replays from its seed.
 *
 * NOT for secrets: its output is predictable from any one value. Keys,
 * challenges, serial numbers and anything else an attacker must not guess
 * come from crypto_random() in crypto.h.
 */
#ifndef ECARD_PRNG_H
#define ECARD_PRNG_H

#include <stdint.h>

/* The next value of the sequence; advances *state (any value, 0 included,
 * is a valid state: seed it with the seed itself). */
uint64_t prng_splitmix64(uint64_t *state);

#endif
