/*
 * fuzz_engine.h - the mutation engine the standalone fuzzers share
 * (fuzz_parsers: the reader driver's codecs; fuzz_card: the card's APDU
 * entry point; fuzz_host: the host's CAP and GlobalPlatform parsers).
 *
 * They need no fuzzing engine, only a C compiler, so that CI runs them
 * under AddressSanitizer and UndefinedBehaviorSanitizer for a bounded
 * time on every change. A program describes its targets; the engine
 * seeds one corpus per target with the target's valid inputs (each must
 * be accepted as it is), then, until the time or the iteration count is
 * up, picks a target and an input, mutates it (bit flips, byte sets,
 * insertions, deletions, truncations, length-field overwrites, splices,
 * and the target's own mutation when it has one), and feeds the result,
 * in a heap buffer of exactly its length, to the target's run function,
 * which CHECKs the target's invariants. Some accepted inputs join the
 * corpus. A violation prints the input, the seed and the iteration, and
 * aborts.
 *
 * Everything random comes from one generator seeded by --seed (a new one
 * each run unless given, printed first), so a run with the same seed and
 * --iterations is the same run as far as the program's inputs decide it.
 *
 *   PROGRAM [--seconds N | --iterations N] [--seed N]
 */
#ifndef ECARD_TESTS_FUZZ_ENGINE_H
#define ECARD_TESTS_FUZZ_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- random numbers: xorshift64*, seeded through splitmix64 ---- */

struct fuzz_rng {
	uint64_t state;
};

void fuzz_rng_seed(struct fuzz_rng *r, uint64_t seed);
uint64_t fuzz_rng_next(struct fuzz_rng *r);
/* Uniform enough in [0, n) for fuzzing; n must not be 0. */
size_t fuzz_rng_below(struct fuzz_rng *r, size_t n);
/* A byte, half the time one of the values parsers trip on (00, 7F, 80, FF...). */
uint8_t fuzz_random_byte(struct fuzz_rng *r);

/* ---- corpora ---- */

struct fuzz_blob {
	uint8_t *data;
	size_t len;
};

struct fuzz_corpus {
	struct fuzz_blob *items;
	size_t n;
	size_t cap;
	size_t n_seeds;
};

/* malloc that exits (status 2) when there is no memory; 0 bytes is fine. */
void *fuzz_xmalloc(size_t n);
void fuzz_corpus_add(struct fuzz_corpus *c, const uint8_t *data, size_t len);
/* A seed a builder made: n 0 means the builder failed, which ends the program. */
void fuzz_add_built(struct fuzz_corpus *c, const uint8_t *data, size_t n);
void fuzz_corpus_free(struct fuzz_corpus *c);

/* The program's name in every line it prints ("fuzz_card"). */
const char *fuzz_name(void);
/* A setup step failed (not a finding): say so and exit with status 2. */
__attribute__((format(printf, 1, 2), noreturn))
void fuzz_setup_failed(const char *fmt, ...);

/* A private directory for the run's temporary files, made on first use
 * and removed, with what is in it, when the program ends. */
const char *fuzz_tmpdir(void);

/* ---- targets ---- */

/* The iteration number of what runs before the loop (the seeds, and a
 * program's own replays in its setup). */
#define FUZZ_BEFORE_LOOP ((unsigned long)-1)

/* What a run function needs to say where it failed, and the run's
 * generator for targets that make choices of their own. */
struct fuzz_run {
	const char *target;
	uint64_t seed;
	unsigned long iteration;
	uint8_t *scratch;	/* the program's max_input bytes, for re-encoding */
	struct fuzz_rng *rng;
};

void fuzz_dump_hex(const uint8_t *buf, size_t len);

__attribute__((format(printf, 4, 5), noreturn))
void fuzz_violation(const struct fuzz_run *r, const uint8_t *buf, size_t len,
		    const char *fmt, ...);

/* For the run functions, whose parameters are always buf, len, r. */
#define CHECK(cond, ...)                                          \
	do {                                                      \
		if (!(cond))                                      \
			fuzz_violation(r, buf, len, __VA_ARGS__); \
	} while (0)

/* A field a length-overwrite mutation aims at: offset, width, byte order. */
struct fuzz_length_field {
	size_t offset;
	unsigned width;		/* 1, 2 or 4 */
	bool little_endian;
};

struct fuzz_target {
	const char *name;
	void (*seed)(struct fuzz_corpus *c);
	/* Feed one input; true when the target accepted it. */
	bool (*run)(const uint8_t *buf, size_t len, const struct fuzz_run *r);
	const struct fuzz_length_field *lengths;
	size_t n_lengths;
	/* Optional: make a mutated input consistent again (a length field
	 * that agrees, a check byte that matches), so that mutations reach
	 * past the first checks into the rest of the parser. */
	void (*fixup)(uint8_t *buf, size_t len);
	/* Optional: a mutation that knows the format, drawn as often as
	 * each generic one; buf has room for cap bytes. */
	void (*mutate)(struct fuzz_rng *g, uint8_t *buf, size_t *len, size_t cap);
	/* How often the target is picked against the others (0 counts as 1):
	 * a cheap parser can take many inputs in the time an archive takes. */
	unsigned weight;
};

struct fuzz_program {
	const char *name;
	const char *usage;	/* what it mutates, for --help */
	const struct fuzz_target *targets;
	size_t n_targets;
	size_t max_input;	/* the longest input a mutation may make */
	size_t keep_max_len;	/* the longest accepted input kept in a corpus */
	/* The largest length the format allows (CCID's dwLength, an APDU's
	 * Lc): length mutations try it, off by one either way. */
	uint32_t length_limit;
	/* Stateful targets (a card) refuse valid inputs in the wrong state:
	 * their seeds are run, not required to be accepted. */
	bool seeds_may_be_refused;
	/* Optional: before the seeds (past findings are replayed here) and
	 * after the loop. */
	void (*setup)(void);
	void (*teardown)(void);
	/* Optional: more of the summary line, after the accepted counts. */
	void (*summary)(void);
	/* Optional: what else a violation should show (a card's recent APDUs). */
	void (*report)(void);
};

/* Parse the options, run the program, print its summary line:
 * "NAME: seed S, N iterations in T s, accepted: ...". */
int fuzz_main(const struct fuzz_program *p, int argc, char **argv);

/* Decode hex (spaces allowed) into a new exact-size buffer; NULL on bad hex. */
uint8_t *fuzz_hex(const char *hex, size_t *len);

#endif
