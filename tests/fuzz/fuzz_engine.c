/*
 * fuzz_engine.c - the mutation engine of the standalone fuzzers (see
 * fuzz_engine.h): generator, corpora, mutations, the loop, the options
 * and the summary line.
 */
#include "fuzz_engine.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hex.h"
#include "prng.h"

#define DEFAULT_SECONDS 5
/* Accepted inputs kept per target beyond the seeds. */
#define CORPUS_EXTRA_MAX 256

static const struct fuzz_program *program;

const char *fuzz_name(void)
{
	return program ? program->name : "fuzz";
}

void fuzz_setup_failed(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", fuzz_name());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* ---- random numbers ---- */

void fuzz_rng_seed(struct fuzz_rng *r, uint64_t seed)
{
	/* splitmix64 spreads any seed, 0 included, over the state;
	 * xorshift64* only needs it not to be 0. */
	uint64_t z = prng_splitmix64(&seed);

	r->state = z ? z : 1;
}

uint64_t fuzz_rng_next(struct fuzz_rng *r)
{
	r->state ^= r->state >> 12;
	r->state ^= r->state << 25;
	r->state ^= r->state >> 27;
	return r->state * 0x2545F4914F6CDD1Du;
}

size_t fuzz_rng_below(struct fuzz_rng *r, size_t n)
{
	return (size_t)(fuzz_rng_next(r) % n);
}

static const uint8_t interesting_bytes[] = { 0x00, 0x01, 0x02, 0x0F, 0x10, 0x1F, 0x20, 0x3B,
					     0x3F, 0x7F, 0x80, 0x81, 0xFE, 0xFF };

uint8_t fuzz_random_byte(struct fuzz_rng *g)
{
	if (fuzz_rng_below(g, 2))
		return interesting_bytes[fuzz_rng_below(g, sizeof(interesting_bytes))];
	return (uint8_t)fuzz_rng_next(g);
}

/* ---- corpora ---- */

void *fuzz_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		fuzz_setup_failed("out of memory");
	return p;
}

void fuzz_corpus_add(struct fuzz_corpus *c, const uint8_t *data, size_t len)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 32;
		struct fuzz_blob *items = realloc(c->items, cap * sizeof(*items));

		if (!items)
			fuzz_setup_failed("out of memory");
		c->items = items;
		c->cap = cap;
	}
	c->items[c->n].data = fuzz_xmalloc(len);
	if (len)
		memcpy(c->items[c->n].data, data, len);
	c->items[c->n].len = len;
	c->n++;
}

void fuzz_add_built(struct fuzz_corpus *c, const uint8_t *data, size_t n)
{
	if (!n)
		fuzz_setup_failed("a seed builder failed");
	fuzz_corpus_add(c, data, n);
}

void fuzz_corpus_free(struct fuzz_corpus *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->items[i].data);
	free(c->items);
	memset(c, 0, sizeof(*c));
}

uint8_t *fuzz_hex(const char *hex, size_t *len)
{
	size_t cap = strlen(hex) / 2 + 1;
	uint8_t *tmp = fuzz_xmalloc(cap);
	long n = hex_decode(hex, tmp, cap);

	if (n < 0) {
		free(tmp);
		return NULL;
	}
	/* Exactly n bytes, so that a read past them is caught. */
	uint8_t *out = fuzz_xmalloc((size_t)n);
	memcpy(out, tmp, (size_t)n);
	free(tmp);
	*len = (size_t)n;
	return out;
}

/* ---- temporary files ---- */

static char tmpdir[64];

static void remove_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char path[sizeof(tmpdir) + 256];

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(tmpdir);
}

const char *fuzz_tmpdir(void)
{
	if (!tmpdir[0]) {
		const char *base = getenv("TMPDIR");

		/* Memory rather than disk when there is no preference: the
		 * CAP fuzzer writes an archive per input. */
		if (!base || !*base || strlen(base) > sizeof(tmpdir) - 20)
			base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
		snprintf(tmpdir, sizeof(tmpdir), "%s/ecard-fuzz-XXXXXX", base);
		if (!mkdtemp(tmpdir))
			fuzz_setup_failed("cannot make a temporary directory: %s", strerror(errno));
		atexit(remove_tmpdir);
	}
	return tmpdir;
}

/* ---- reporting a violation ---- */

void fuzz_dump_hex(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		fprintf(stderr, "%02X%s", buf[i], (i % 32 == 31 || i + 1 == len) ? "\n" : " ");
}

void fuzz_violation(const struct fuzz_run *r, const uint8_t *buf, size_t len, const char *fmt,
		    ...)
{
	va_list ap;

	fprintf(stderr, "%s: VIOLATION in %s: ", fuzz_name(), r->target);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (r->iteration == FUZZ_BEFORE_LOOP)
		fprintf(stderr, "\n%s: seed %" PRIu64 ", before the loop; rerun with "
			"--seed %" PRIu64 " --seconds 0\n", fuzz_name(), r->seed, r->seed);
	else
		fprintf(stderr, "\n%s: seed %" PRIu64 ", iteration %lu; rerun with "
			"--seed %" PRIu64 " --iterations %lu\n", fuzz_name(),
			r->seed, r->iteration, r->seed, r->iteration + 1);
	fprintf(stderr, "%s: input (%zu bytes):\n", fuzz_name(), len);
	fuzz_dump_hex(buf, len);
	if (program && program->report)
		program->report();
	if (tmpdir[0])
		remove_tmpdir();
	abort();
}

/* ---- mutations ---- */

/* A value a length field might plausibly be wrong with. */
static uint32_t length_value(struct fuzz_rng *g, size_t len, size_t after)
{
	uint32_t base;

	switch (fuzz_rng_below(g, 6)) {
	case 0:
		base = (uint32_t)len;
		break;
	case 1:
		base = (uint32_t)after;	/* the bytes that follow the field */
		break;
	case 2:
		base = program->length_limit;
		break;
	case 3:
		return (uint32_t)fuzz_rng_below(g, 300);
	case 4:
		return (uint32_t)fuzz_rng_next(g);
	default: {
		static const uint32_t edges[] = { 0, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000,
						  0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000u,
						  0xFFFFFFFFu };
		return edges[fuzz_rng_below(g, sizeof(edges) / sizeof(edges[0]))];
	}
	}
	return base + (uint32_t)fuzz_rng_below(g, 3) - 1;	/* off by one either way */
}

static void put_field(uint8_t *p, unsigned width, bool le, uint32_t v)
{
	for (unsigned i = 0; i < width; i++) {
		unsigned shift = 8 * (le ? i : width - 1 - i);

		p[i] = (uint8_t)(v >> shift);
	}
}

static void mutate_length(struct fuzz_rng *g, const struct fuzz_target *t, uint8_t *buf,
			  size_t len)
{
	size_t offset;
	unsigned width;
	bool le;

	if (t->n_lengths && fuzz_rng_below(g, 4) != 0) {
		const struct fuzz_length_field *f = &t->lengths[fuzz_rng_below(g, t->n_lengths)];

		offset = f->offset;
		width = f->width;
		le = f->little_endian;
	} else {
		static const unsigned widths[] = { 1, 2, 4 };

		width = widths[fuzz_rng_below(g, 3)];
		if (len < width)
			return;
		offset = fuzz_rng_below(g, len - width + 1);
		le = fuzz_rng_below(g, 2);
	}
	if (offset > len || width > len - offset)
		return;
	put_field(buf + offset, width, le, length_value(g, len, len - offset - width));
}

/* Apply one random mutation to buf (len bytes, room for max_input). */
static void mutate_once(struct fuzz_rng *g, const struct fuzz_target *t,
			const struct fuzz_corpus *c, uint8_t *buf, size_t *len)
{
	size_t n = *len, max = program->max_input;

	switch (fuzz_rng_below(g, t->mutate ? 9 : 8)) {
	case 0:	/* bit flip */
		if (n)
			buf[fuzz_rng_below(g, n)] ^= (uint8_t)(1u << fuzz_rng_below(g, 8));
		break;
	case 1:	/* byte set */
		if (n)
			buf[fuzz_rng_below(g, n)] = fuzz_random_byte(g);
		break;
	case 2: {	/* insertion of fresh or repeated bytes */
		size_t k = 1 + fuzz_rng_below(g, fuzz_rng_below(g, 8) ? 8 : 300);
		size_t pos = fuzz_rng_below(g, n + 1);

		if (k > max - n)
			break;
		memmove(buf + pos + k, buf + pos, n - pos);
		/* Repeated bytes come from the input as it was before the
		 * move, so that no byte is read before it is written. */
		for (size_t i = 0; i < k; i++) {
			if (n && fuzz_rng_below(g, 2)) {
				size_t from = fuzz_rng_below(g, n);

				buf[pos + i] = buf[from < pos ? from : from + k];
			} else {
				buf[pos + i] = fuzz_random_byte(g);
			}
		}
		*len = n + k;
		break;
	}
	case 3: {	/* deletion */
		if (!n)
			break;
		size_t pos = fuzz_rng_below(g, n);
		size_t k = 1 + fuzz_rng_below(g, n - pos < 8 ? n - pos : 8);

		memmove(buf + pos, buf + pos + k, n - pos - k);
		*len = n - k;
		break;
	}
	case 4:	/* truncation */
		if (n)
			*len = fuzz_rng_below(g, n);
		break;
	case 5:	/* length-field overwrite */
	case 6:
		mutate_length(g, t, buf, n);
		break;
	case 7: {	/* splice: a piece of another input of the same target */
		const struct fuzz_blob *other = &c->items[fuzz_rng_below(g, c->n)];

		if (!other->len || !n)
			break;
		size_t from = fuzz_rng_below(g, other->len);
		size_t k = 1 + fuzz_rng_below(g, other->len - from);
		size_t pos = fuzz_rng_below(g, n);

		if (k > n - pos)
			k = n - pos;
		memcpy(buf + pos, other->data + from, k);
		break;
	}
	default:	/* the target's own */
		t->mutate(g, buf, len, max);
		break;
	}
}

/* ---- the loop ---- */

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool parse_number(const char *s, uint64_t *out)
{
	char *end;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/* Feed an input to a target from an exact-size heap copy. */
static bool run_exact(const struct fuzz_target *t, const uint8_t *data, size_t len,
		      struct fuzz_run *ctx)
{
	uint8_t *exact = fuzz_xmalloc(len);

	if (len)
		memcpy(exact, data, len);
	ctx->target = t->name;
	bool ok = t->run(exact, len, ctx);
	free(exact);
	return ok;
}

/* Every seed must be accepted as it is: a seed the target refuses is a
 * bug in the program or in the builder it came from. */
static int seed_corpora(const struct fuzz_program *p, struct fuzz_corpus *corpora,
			struct fuzz_run *ctx)
{
	ctx->iteration = FUZZ_BEFORE_LOOP;
	for (size_t t = 0; t < p->n_targets; t++) {
		p->targets[t].seed(&corpora[t]);
		corpora[t].n_seeds = corpora[t].n;
		if (!corpora[t].n)
			fuzz_setup_failed("%s has no seeds", p->targets[t].name);
		for (size_t i = 0; i < corpora[t].n; i++) {
			const struct fuzz_blob *b = &corpora[t].items[i];

			if (!run_exact(&p->targets[t], b->data, b->len, ctx) &&
			    !p->seeds_may_be_refused) {
				fprintf(stderr, "%s: seed %zu of %s is refused by its own target; "
					"fix the seed or the target.\n", p->name, i,
					p->targets[t].name);
				fuzz_dump_hex(b->data, b->len);
				return 1;
			}
		}
	}
	return 0;
}

static unsigned weight_of(const struct fuzz_target *t)
{
	return t->weight ? t->weight : 1;
}

static size_t pick_target(const struct fuzz_program *p, struct fuzz_rng *g,
			  unsigned long total_weight)
{
	size_t w = fuzz_rng_below(g, total_weight), t = 0;

	while (w >= weight_of(&p->targets[t]))
		w -= weight_of(&p->targets[t++]);
	return t;
}

/* Keep some accepted inputs to mutate further; input is taken over. */
static void keep(const struct fuzz_program *p, struct fuzz_rng *g, struct fuzz_corpus *c,
		 uint8_t **input, size_t len)
{
	if (len > p->keep_max_len || fuzz_rng_below(g, 8) != 0)
		return;
	if (c->n < c->n_seeds + CORPUS_EXTRA_MAX) {
		fuzz_corpus_add(c, *input, len);
		return;
	}
	struct fuzz_blob *old = &c->items[c->n_seeds + fuzz_rng_below(g, CORPUS_EXTRA_MAX)];
	free(old->data);
	old->data = *input;
	old->len = len;
	*input = NULL;
}

static void usage(const struct fuzz_program *p)
{
	fprintf(stderr, "usage: %s [--seconds N | --iterations N] [--seed N]\n"
			"%s for N seconds (default %d) or N iterations, and abort on the first "
			"broken invariant.\n", p->name, p->usage, DEFAULT_SECONDS);
}

int fuzz_main(const struct fuzz_program *p, int argc, char **argv)
{
	uint64_t seconds = DEFAULT_SECONDS, iterations = 0, seed = 0;
	bool have_seed = false, have_seconds = false;

	program = p;
	/* Every option takes a value, so they come in pairs. */
	for (int i = 1; i < argc; i += 2) {
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t *dst;

		if (!strcmp(argv[i], "--seconds")) {
			dst = &seconds;
			have_seconds = true;
		} else if (!strcmp(argv[i], "--iterations")) {
			dst = &iterations;
		} else if (!strcmp(argv[i], "--seed")) {
			dst = &seed;
			have_seed = true;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(p);
			return 0;
		} else {
			fprintf(stderr, "%s: unknown option %s; see --help.\n", p->name, argv[i]);
			return 2;
		}
		if (!parse_number(value, dst)) {
			fprintf(stderr, "%s: %s needs a non-negative number; see --help.\n",
				p->name, argv[i]);
			return 2;
		}
	}
	/* --iterations alone runs to the count; with --seconds too, to
	 * whichever comes first. */
	bool timed = !iterations || have_seconds;
	if (!have_seed)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	/* Said first as well as in the summary: a sanitizer report ends the
	 * run before the summary, and the seed is what reproduces it. */
	printf("%s: seed %" PRIu64 "\n", p->name, seed);
	fflush(stdout);

	struct fuzz_rng g;
	struct fuzz_corpus *corpora = calloc(p->n_targets, sizeof(*corpora));
	unsigned long *accepted = calloc(p->n_targets, sizeof(*accepted));
	uint8_t *work = calloc(1, p->max_input);
	struct fuzz_run ctx = { .seed = seed, .scratch = fuzz_xmalloc(p->max_input), .rng = &g };

	if (!corpora || !accepted || !work)
		fuzz_setup_failed("out of memory");
	fuzz_rng_seed(&g, seed);
	if (p->setup)
		p->setup();
	if (seed_corpora(p, corpora, &ctx) != 0)
		return 1;

	double start = now_seconds(), elapsed = 0;
	unsigned long done = 0, total_weight = 0;

	for (size_t t = 0; t < p->n_targets; t++)
		total_weight += weight_of(&p->targets[t]);

	for (;;) {
		if (iterations && done >= iterations)
			break;
		/* The clock every 64 iterations: a card's are slow enough for
		 * that to matter little, a codec's fast enough for it not to. */
		if (timed && (done & 0x3F) == 0) {
			elapsed = now_seconds() - start;
			if (elapsed >= (double)seconds)
				break;
		}

		size_t t = pick_target(p, &g, total_weight);
		const struct fuzz_target *target = &p->targets[t];
		struct fuzz_corpus *c = &corpora[t];
		const struct fuzz_blob *pick = &c->items[fuzz_rng_below(&g, c->n)];
		size_t len = pick->len;

		memcpy(work, pick->data, len);
		/* Mostly one mutation, sometimes a stack of them. */
		size_t rounds = 1 + (fuzz_rng_below(&g, 4) ? 0 : fuzz_rng_below(&g, 8));
		for (size_t k = 0; k < rounds; k++)
			mutate_once(&g, target, c, work, &len);
		if (target->fixup && fuzz_rng_below(&g, 4) == 0)
			target->fixup(work, len);

		/* Exactly len bytes on the heap: a read past them is caught. */
		uint8_t *input = fuzz_xmalloc(len);
		if (len)
			memcpy(input, work, len);
		ctx.target = target->name;
		ctx.iteration = done;
		if (target->run(input, len, &ctx)) {
			accepted[t]++;
			keep(p, &g, c, &input, len);
		}
		free(input);
		done++;
	}
	elapsed = now_seconds() - start;

	printf("%s: seed %" PRIu64 ", %lu iterations in %.1f s, accepted:", p->name, seed, done,
	       elapsed);
	for (size_t t = 0; t < p->n_targets; t++)
		printf(" %s %lu%s", p->targets[t].name, accepted[t], t + 1 < p->n_targets ? "," : "");
	if (p->summary)
		p->summary();
	printf("\n");

	if (p->teardown)
		p->teardown();
	for (size_t t = 0; t < p->n_targets; t++)
		fuzz_corpus_free(&corpora[t]);
	free(corpora);
	free(accepted);
	free(work);
	free(ctx.scratch);
	return 0;
}
