/*
 * catalogue.c - the shop's products (catalogue.h).
 */
#include "catalogue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "web.h"

#define PRODUCT_COLUMNS \
	"p.id, p.category, c.name, p.name, p.description, p.price, p.stock"
#define PRODUCT_FROM " FROM products p JOIN categories c ON c.id = p.category"

static void copy(char *out, size_t cap, const char *in)
{
	snprintf(out, cap, "%s", in ? in : "");
}

static bool text_ok(const char *s, size_t min, size_t max)
{
	return web_text_ok(s, min, max, true);
}

static void product_from_row(const struct store_result *r, size_t row, struct product *p)
{
	p->id = store_cell_ll(r, row, 0, 0);
	p->category = store_cell_ll(r, row, 1, 0);
	copy(p->category_name, sizeof(p->category_name), store_cell(r, row, 2));
	copy(p->name, sizeof(p->name), store_cell(r, row, 3));
	copy(p->description, sizeof(p->description), store_cell(r, row, 4));
	p->price = store_cell_ll(r, row, 5, 0);
	p->stock = store_cell_ll(r, row, 6, 0);
}

static enum ec_status products_from(struct store_result *r, struct product **out, size_t *count,
				    struct ec_error *err)
{
	*out = NULL;
	*count = 0;
	if (r->rows) {
		*out = calloc(r->rows, sizeof(**out));
		if (!*out) {
			store_result_free(r);
			return ec_error_set(err, EC_ERR_FILE, "out of memory.");
		}
	}
	for (size_t i = 0; i < r->rows; i++)
		product_from_row(r, i, &(*out)[i]);
	*count = r->rows;
	store_result_free(r);
	return EC_OK;
}

/* ---- categories ---- */

enum ec_status catalogue_category(struct store *st, const char *name, long long *id,
				  struct ec_error *err)
{
	struct store_result r;
	const char *p[] = { name };

	if (!text_ok(name, 1, CATEGORY_NAME_MAX) || strpbrk(name, "\r\n\t"))
		return ec_error_set(err, EC_ERR_ARG, "a category's name is 1 to %d bytes of text on one line.",
				    CATEGORY_NAME_MAX);
	enum ec_status s = store_exec(st, "SELECT id FROM categories WHERE name = $1", p, 1, &r, err);
	if (s == EC_OK && r.rows == 0) {
		store_result_free(&r);
		s = store_exec(st, "INSERT INTO categories (name) VALUES ($1) RETURNING id", p, 1, &r, err);
	}
	if (s != EC_OK)
		return s;
	*id = store_cell_ll(&r, 0, 0, 0);
	store_result_free(&r);
	return EC_OK;
}

enum ec_status catalogue_categories(struct store *st, struct category **out, size_t *count,
				    struct ec_error *err)
{
	struct store_result r;
	enum ec_status s = store_exec(st, "SELECT id, name, products FROM categories ORDER BY name", NULL,
				      0, &r, err);
	*out = NULL;
	*count = 0;
	if (s != EC_OK)
		return s;
	if (r.rows && !(*out = calloc(r.rows, sizeof(**out)))) {
		store_result_free(&r);
		return ec_error_set(err, EC_ERR_FILE, "out of memory.");
	}
	for (size_t i = 0; i < r.rows; i++) {
		(*out)[i].id = store_cell_ll(&r, i, 0, 0);
		copy((*out)[i].name, sizeof((*out)[i].name), store_cell(&r, i, 1));
		(*out)[i].products = store_cell_ll(&r, i, 2, 0);
	}
	*count = r.rows;
	store_result_free(&r);
	return EC_OK;
}

enum ec_status catalogue_category_get(struct store *st, long long id, struct category *out,
				      struct ec_error *err)
{
	struct store_result r;
	char num[24];
	snprintf(num, sizeof(num), "%lld", id);
	const char *p[] = { num };
	enum ec_status s = store_exec(st, "SELECT id, name, products FROM categories WHERE id = $1", p, 1,
				      &r, err);
	if (s != EC_OK)
		return s;
	if (r.rows == 0) {
		store_result_free(&r);
		return ec_error_set(err, EC_ERR_NOT_FOUND, "there is no such category.");
	}
	out->id = store_cell_ll(&r, 0, 0, 0);
	copy(out->name, sizeof(out->name), store_cell(&r, 0, 1));
	out->products = store_cell_ll(&r, 0, 2, 0);
	store_result_free(&r);
	return EC_OK;
}

/* ---- products ---- */

static enum ec_status product_check(const struct product *p, struct ec_error *err)
{
	if (!text_ok(p->name, 1, PRODUCT_NAME_MAX) || strpbrk(p->name, "\r\n\t"))
		return ec_error_set(err, EC_ERR_ARG, "a product's name is 1 to %d bytes of text on one line.",
				    PRODUCT_NAME_MAX);
	if (!text_ok(p->description, 0, PRODUCT_TEXT_MAX))
		return ec_error_set(err, EC_ERR_ARG, "a description is up to %d bytes of text.",
				    PRODUCT_TEXT_MAX);
	if (p->price < 1 || p->price > PRODUCT_PRICE_MAX)
		return ec_error_set(err, EC_ERR_ARG, "a price is 1 to %lld minor units.", PRODUCT_PRICE_MAX);
	if (p->stock < 0 || p->stock > PRODUCT_STOCK_MAX)
		return ec_error_set(err, EC_ERR_ARG, "a stock is 0 to %d.", PRODUCT_STOCK_MAX);
	return EC_OK;
}

/* In the caller's transaction, with the category's id known. */
static enum ec_status insert_product(struct store *st, struct product *p, struct ec_error *err)
{
	struct store_result r;
	char cat[24], price[24], stock[24];
	snprintf(cat, sizeof(cat), "%lld", p->category);
	snprintf(price, sizeof(price), "%lld", p->price);
	snprintf(stock, sizeof(stock), "%lld", p->stock);
	const char *v[] = { cat, p->name, p->description, price, stock };
	enum ec_status s = store_exec(st,
				      "INSERT INTO products (category, name, description, price, stock)"
				      " VALUES ($1, $2, $3, $4, $5) RETURNING id",
				      v, 5, &r, err);
	if (s != EC_OK)
		return s;
	p->id = store_cell_ll(&r, 0, 0, 0);
	store_result_free(&r);
	return EC_OK;
}

/* Each category keeps how many products it has: pages need not count. */
static enum ec_status count_products(struct store *st, struct ec_error *err)
{
	return store_write(st, "UPDATE categories SET products ="
			       " (SELECT count(*) FROM products p WHERE p.category = categories.id)",
			   NULL, 0, err);
}

enum ec_status catalogue_add(struct store *st, struct product *p, struct ec_error *err)
{
	enum ec_status s = product_check(p, err);
	if (s != EC_OK)
		return s;
	if ((s = store_begin(st, err)) != EC_OK)
		return s;
	s = catalogue_category(st, p->category_name, &p->category, err);
	if (s == EC_OK)
		s = insert_product(st, p, err);
	char cat[24];
	snprintf(cat, sizeof(cat), "%lld", p->category);
	const char *c[] = { cat };
	if (s == EC_OK)
		s = store_write(st, "UPDATE categories SET products = products + 1 WHERE id = $1", c, 1, err);
	if (s == EC_OK)
		return store_commit(st, err);
	store_rollback(st);
	return s;
}

enum ec_status catalogue_get(struct store *st, long long id, struct product *out,
			     struct ec_error *err)
{
	struct store_result r;
	char num[24];
	snprintf(num, sizeof(num), "%lld", id);
	const char *p[] = { num };
	enum ec_status s = store_exec(st, "SELECT " PRODUCT_COLUMNS PRODUCT_FROM " WHERE p.id = $1", p,
				      1, &r, err);
	if (s != EC_OK)
		return s;
	if (r.rows == 0) {
		store_result_free(&r);
		return ec_error_set(err, EC_ERR_NOT_FOUND, "there is no such product.");
	}
	product_from_row(&r, 0, out);
	store_result_free(&r);
	return EC_OK;
}

enum ec_status catalogue_list(struct store *st, long long category, size_t offset, size_t limit,
			      struct product **out, size_t *count, size_t *total,
			      struct ec_error *err)
{
	struct store_result r;
	char cat[24], lim[24], off[24];
	snprintf(cat, sizeof(cat), "%lld", category);
	snprintf(lim, sizeof(lim), "%zu", limit);
	snprintf(off, sizeof(off), "%zu", offset);
	const char *p[] = { cat, lim, off };
	/* The page's ids from the index alone, then their rows: a deep page
	 * does not join every row it skips. */
	struct store_stmt q[2] = {
		{ category ? "SELECT products FROM categories WHERE id = $1"
			   : "SELECT sum(products) FROM categories WHERE $1 = '0'", p, 1 },
		{ category ? "SELECT " PRODUCT_COLUMNS PRODUCT_FROM " WHERE p.id IN (SELECT id FROM products"
			     " WHERE category = $1 ORDER BY name, id LIMIT CAST($2 AS BIGINT) OFFSET CAST($3 AS BIGINT))"
			     " ORDER BY p.name, p.id"
			   : "SELECT " PRODUCT_COLUMNS PRODUCT_FROM " WHERE p.id IN (SELECT id FROM products"
			     " WHERE $1 = '0' ORDER BY name, id LIMIT CAST($2 AS BIGINT) OFFSET CAST($3 AS BIGINT))"
			     " ORDER BY p.name, p.id",
		  p, 3 },
	};
	struct store_result res[2];
	enum ec_status s = store_exec_batch(st, q, 2, res, err);
	*out = NULL;
	*count = *total = 0;
	if (s != EC_OK)
		return s;
	*total = (size_t)store_cell_ll(&res[0], 0, 0, 0);
	store_result_free(&res[0]);
	r = res[1];
	return products_from(&r, out, count, err);
}

/* ---- search ---- */

static bool word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

bool catalogue_query(const char *typed, enum store_kind kind, char out[CATALOGUE_QUERY_MAX])
{
	size_t words = 0, k = 0;
	const unsigned char *s = (const unsigned char *)typed;

	out[0] = '\0';
	while (*s && words < CATALOGUE_WORDS) {
		while (*s && !word_byte(*s))
			s++;
		const unsigned char *w = s;
		while (*s && word_byte(*s))
			s++;
		size_t n = (size_t)(s - w);
		if (n == 0)
			break;
		if (n > CATALOGUE_WORD_MAX) {
			n = CATALOGUE_WORD_MAX;
			while (n > 0 && (w[n] & 0xC0) == 0x80)
				n--;	/* not in the middle of a character */
		}
		if (n == 0 || !utf8_valid(w, n))
			continue;
		/* SQLite FTS5: "word"* ...; PostgreSQL tsquery: 'word':* & ... */
		const char *q = kind == STORE_POSTGRESQL ? "'" : "\"";
		const char *sep = words == 0 ? "" : kind == STORE_POSTGRESQL ? " & " : " ";
		k += (size_t)snprintf(out + k, CATALOGUE_QUERY_MAX - k, "%s%s", sep, q);
		for (size_t i = 0; i < n; i++)
			out[k++] = (char)((w[i] >= 'A' && w[i] <= 'Z') ? w[i] + 32 : w[i]);
		k += (size_t)snprintf(out + k, CATALOGUE_QUERY_MAX - k, "%s%s", q,
				      kind == STORE_POSTGRESQL ? ":*" : "*");
		words++;
	}
	return words > 0;
}

enum ec_status catalogue_search(struct store *st, const char *typed, size_t offset, size_t limit,
				struct product **out, size_t *count, struct ec_error *err)
{
	char query[CATALOGUE_QUERY_MAX], lim[24], off[24];
	struct store_result r;

	*out = NULL;
	*count = 0;
	if (!catalogue_query(typed, store_kind(st), query))
		return EC_OK;
	snprintf(lim, sizeof(lim), "%zu", limit);
	snprintf(off, sizeof(off), "%zu", offset);
	const char *p[] = { query, lim, off };
	enum ec_status s = store_exec(
		st,
		store_kind(st) == STORE_POSTGRESQL
			? "SELECT " PRODUCT_COLUMNS PRODUCT_FROM
			  " WHERE p.search @@ to_tsquery('simple', $1)"
			  " ORDER BY ts_rank(p.search, to_tsquery('simple', $1)) DESC, p.id"
			  " LIMIT CAST($2 AS BIGINT) OFFSET CAST($3 AS BIGINT)"
			: "SELECT " PRODUCT_COLUMNS " FROM products_fts f JOIN products p ON p.id = f.rowid"
			  " JOIN categories c ON c.id = p.category WHERE products_fts MATCH $1"
			  " ORDER BY f.rank, p.id LIMIT CAST($2 AS BIGINT) OFFSET CAST($3 AS BIGINT)",
		p, 3, &r, err);
	if (s != EC_OK)
		return s;
	return products_from(&r, out, count, err);
}

/* ---- the seed catalogue ---- */

static uint64_t next(uint64_t *state)
{
	/* splitmix64: a made-up catalogue, not a secret */
	uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

#define PICK(list, state) (list)[next(state) % (sizeof(list) / sizeof((list)[0]))]

static const char *const categories[] = {
	"Books", "Music", "Garden", "Kitchen", "Toys", "Sports", "Electronics", "Office", "Outdoor", "Health",
};

static const char *const nouns[][6] = {
	{ "Novel", "Cookbook", "Atlas", "Biography", "Poetry Collection", "Field Guide" },
	{ "Vinyl Record", "Songbook", "Ukulele", "Harmonica", "Metronome", "Headphones" },
	{ "Trowel", "Watering Can", "Planter", "Hose Reel", "Seed Tray", "Pruning Shears" },
	{ "Teapot", "Frying Pan", "Chef Knife", "Cutting Board", "Mixing Bowl", "Espresso Cup" },
	{ "Puzzle", "Kite", "Building Set", "Teddy Bear", "Spinning Top", "Toy Train" },
	{ "Football", "Yoga Mat", "Tennis Racket", "Skipping Rope", "Water Bottle", "Running Cap" },
	{ "Card Reader", "USB Cable", "Desk Lamp", "Power Bank", "Keyboard", "Smart Card" },
	{ "Notebook", "Fountain Pen", "Stapler", "Desk Organiser", "Paper Tray", "Calculator" },
	{ "Tent", "Sleeping Bag", "Lantern", "Compass", "Rucksack", "Camping Stove" },
	{ "Thermometer", "First Aid Kit", "Toothbrush", "Hand Cream", "Pill Box", "Massage Ball" },
};

static const char *const adjectives[] = {
	"Classic", "Compact", "Sturdy", "Deluxe", "Handmade", "Light", "Modern", "Rustic", "Quiet",
	"Bright", "Foldable", "Vintage", "Premium", "Travel", "Family", "Pocket", "Solid", "Smart",
	"Gentle", "Rugged",
};

static const char *const materials[] = {
	"Oak", "Steel", "Cotton", "Bamboo", "Glass", "Leather", "Ceramic", "Wool", "Copper", "Linen",
	"Maple", "Recycled",
};

static const char *const praise[] = {
	"built to last", "easy to clean", "made in small batches", "a favourite of our customers",
	"light enough to carry anywhere", "tested by our own team", "a thoughtful gift",
	"designed for everyday use",
};

enum ec_status catalogue_seed(struct store *st, size_t count, uint64_t seed,
			      void (*progress)(void *arg, size_t done, size_t count), void *arg,
			      struct ec_error *err)
{
	long long cat_ids[sizeof(categories) / sizeof(categories[0])];
	uint64_t state = seed;
	struct product *p = malloc(sizeof(*p));
	enum ec_status s;

	if (!p)
		return ec_error_set(err, EC_ERR_FILE, "out of memory.");
	if ((s = store_begin(st, err)) != EC_OK) {
		free(p);
		return s;
	}
	for (size_t c = 0; c < sizeof(categories) / sizeof(categories[0]) && s == EC_OK; c++)
		s = catalogue_category(st, categories[c], &cat_ids[c], err);
	for (size_t i = 0; i < count && s == EC_OK; i++) {
		size_t c = next(&state) % (sizeof(categories) / sizeof(categories[0]));
		memset(p, 0, sizeof(*p));
		p->category = cat_ids[c];
		const char *adj = PICK(adjectives, &state), *mat = PICK(materials, &state);
		const char *noun = nouns[c][next(&state) % 6];
		snprintf(p->name, sizeof(p->name), "%s %s %s %c%c-%04u", adj, mat, noun,
			 'A' + (int)(next(&state) % 26), 'A' + (int)(next(&state) % 26),
			 (unsigned)(next(&state) % 10000));
		snprintf(p->description, sizeof(p->description),
			 "%s %s of %s, %s. From our %s range: %s, and %s.",
			 PICK(adjectives, &state), noun, mat, PICK(praise, &state), categories[c],
			 PICK(praise, &state), PICK(praise, &state));
		p->price = 50 + (long long)(next(&state) % 49951);
		p->stock = (long long)(next(&state) % 200);
		s = insert_product(st, p, err);
		if (s == EC_OK && progress && (i + 1) % 1000 == 0)
			progress(arg, i + 1, count);
	}
	free(p);
	if (s == EC_OK)
		s = count_products(st, err);
	if (s == EC_OK)
		return store_commit(st, err);
	store_rollback(st);
	return s;
}
