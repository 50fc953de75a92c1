/*
 * storage_tear.c - power loss at a chosen persistent write.
 *
 * Wraps another backend and counts the writes that pass through it. When
 * the plan says so, the current write lands only partly (a prefix of its
 * bytes) and from then on the card is dead: every write fails with
 * VC_ERR_POWER_LOST and changes nothing. This is the one place where the
 * fault model of DESIGN §1.2 lives; the tests drive it in loops over every
 * write index and several prefix lengths. A plan's command-line forms
 * (--tear-at, --tear-random) are read here too, next to what they mean.
 *
 * The random plan uses a small deterministic generator (splitmix64, from
 * prng.h) on purpose: a failing soak must be reproducible from its seed.
 * It is a test tool, not a source of secrets.
 */
#include "storage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "prng.h"

struct tear_storage {
	struct vc_storage base;
	struct vc_storage *inner;
	struct vc_tear_plan plan;
	bool armed;
	bool torn;
	unsigned long writes;
	uint64_t rng;
	size_t last_landed;
	size_t last_len;
};

static bool should_tear(struct tear_storage *ts)
{
	if (!ts->armed)
		return false;
	if (ts->plan.tear_at && ts->writes == ts->plan.tear_at)
		return true;
	if (ts->plan.probability > 0) {
		double u = (double)(prng_splitmix64(&ts->rng) >> 11) / 9007199254740992.0;
		return u < ts->plan.probability;
	}
	return false;
}

static enum vc_status tear_read(struct vc_storage *s, size_t off, void *buf, size_t len)
{
	struct tear_storage *ts = (struct tear_storage *)s;
	return vc_storage_read(ts->inner, off, buf, len);
}

static enum vc_status tear_write(struct vc_storage *s, size_t off, const void *buf, size_t len)
{
	struct tear_storage *ts = (struct tear_storage *)s;

	if (ts->torn)
		return VC_ERR_POWER_LOST;
	ts->writes++;
	if (!should_tear(ts))
		return vc_storage_write(ts->inner, off, buf, len);

	size_t landed = ts->plan.partial;
	if (landed == VC_TEAR_PARTIAL_RANDOM)
		landed = (size_t)(prng_splitmix64(&ts->rng) % (len + 1));	/* 0..len */
	if (landed > len)
		landed = len;
	ts->torn = true;
	if (ts->plan.probability <= 0)
		ts->armed = false;	/* a one-shot plan is spent */
	ts->last_landed = landed;
	ts->last_len = len;
	if (landed > 0)
		(void)vc_storage_write(ts->inner, off, buf, landed);
	return VC_ERR_POWER_LOST;
}

static enum vc_status tear_sync(struct vc_storage *s)
{
	struct tear_storage *ts = (struct tear_storage *)s;
	if (ts->torn)
		return VC_ERR_POWER_LOST;
	return vc_storage_sync(ts->inner);
}

static void tear_destroy(struct vc_storage *s)
{
	struct tear_storage *ts = (struct tear_storage *)s;
	vc_storage_destroy(ts->inner);
	free(ts);
}

static const struct vc_storage_ops tear_ops = {
	.read = tear_read,
	.write = tear_write,
	.sync = tear_sync,
	.destroy = tear_destroy,
};

enum vc_status vc_storage_tear_create(struct vc_storage *inner, struct vc_storage **out)
{
	struct tear_storage *ts = calloc(1, sizeof(*ts));
	if (!ts)
		return VC_ERR_NO_MEMORY;
	ts->base.ops = &tear_ops;
	ts->base.size = inner->size;
	ts->inner = inner;
	*out = &ts->base;
	return VC_OK;
}

enum vc_status vc_storage_tear_open(const char *path, struct vc_storage **out)
{
	struct vc_storage *file;
	enum vc_status st = vc_storage_file_open(path, &file);
	if (st != VC_OK)
		return st;
	st = vc_storage_tear_create(file, out);
	if (st != VC_OK)
		vc_storage_destroy(file);
	return st;
}

static struct tear_storage *as_tear(const struct vc_storage *s)
{
	return s && s->ops == &tear_ops ? (struct tear_storage *)s : NULL;
}

void vc_tear_arm(struct vc_storage *s, const struct vc_tear_plan *plan)
{
	struct tear_storage *ts = as_tear(s);
	if (!ts)
		return;
	ts->plan = *plan;
	ts->armed = plan->tear_at != 0 || plan->probability > 0;
	ts->writes = 0;
	ts->rng = plan->seed;
}

void vc_tear_disarm(struct vc_storage *s)
{
	struct tear_storage *ts = as_tear(s);
	if (ts)
		ts->armed = false;
}

void vc_tear_power_up(struct vc_storage *s)
{
	struct tear_storage *ts = as_tear(s);
	if (!ts)
		return;
	ts->torn = false;
	ts->writes = 0;
}

bool vc_tear_torn(const struct vc_storage *s)
{
	const struct tear_storage *ts = as_tear(s);
	return ts && ts->torn;
}

const char *vc_tear_describe(const struct vc_storage *s, char *buf, size_t cap)
{
	const struct tear_storage *ts = as_tear(s);
	if (!ts || !ts->armed)
		snprintf(buf, cap, "off");
	else if (ts->plan.probability > 0)
		snprintf(buf, cap, "random %g", ts->plan.probability);
	else
		snprintf(buf, cap, "write %lu", ts->plan.tear_at - ts->writes);
	return buf;
}

unsigned long vc_tear_writes(const struct vc_storage *s)
{
	const struct tear_storage *ts = as_tear(s);
	return ts ? ts->writes : 0;
}

void vc_tear_last(const struct vc_storage *s, size_t *landed, size_t *len)
{
	const struct tear_storage *ts = as_tear(s);
	*landed = ts ? ts->last_landed : 0;
	*len = ts ? ts->last_len : 0;
}

/* ---- plans from the command line ---- */

bool vc_tear_plan_parse_at(const char *arg, struct vc_tear_plan *plan)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(arg, &end, 10);
	if (errno || end == arg || n == 0)
		return false;
	size_t partial = VC_TEAR_PARTIAL_RANDOM;
	if (*end == ':') {
		const char *len = end + 1;
		partial = strtoul(len, &end, 10);
		if (end == len)
			return false;
	}
	if (*end)
		return false;
	plan->tear_at = n;
	plan->partial = partial;
	return true;
}

bool vc_tear_plan_parse_random(const char *arg, struct vc_tear_plan *plan)
{
	char *end;
	unsigned long long seed = strtoull(arg, &end, 0);
	if (end == arg || *end != ',')
		return false;
	const char *p = end + 1;
	double prob = strtod(p, &end);
	if (end == p || *end || !(prob > 0 && prob <= 1))
		return false;
	plan->seed = seed;
	plan->probability = prob;
	plan->partial = VC_TEAR_PARTIAL_RANDOM;
	return true;
}
