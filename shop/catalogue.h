/*
 * catalogue.h - the shop's products (DESIGN §8): categories, products,
 * full-text search (SQLite FTS5, or PostgreSQL's text search on a
 * generated tsvector), and a seed catalogue for tests and benchmarks.
 *
 * What a visitor types into the search box never reaches the search
 * engine's query language: it is cut into words (letters and digits,
 * UTF-8 kept whole), at most CATALOGUE_WORDS of them, and the query is
 * made of those words only (each a prefix), passed as a parameter.
 */
#ifndef ECARD_SHOP_CATALOGUE_H
#define ECARD_SHOP_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

#define CATEGORY_NAME_MAX 60		/* bytes of UTF-8, without the NUL */
#define PRODUCT_NAME_MAX 120
#define PRODUCT_TEXT_MAX 2000
#define PRODUCT_PRICE_MAX 100000000LL	/* minor units: 1,000,000.00 */
#define PRODUCT_STOCK_MAX 1000000
#define CATALOGUE_PAGE 24		/* products per page */
#define CATALOGUE_WORDS 8		/* words of a search taken */
#define CATALOGUE_WORD_MAX 40		/* bytes of a word taken */
#define CATALOGUE_QUERY_MAX (CATALOGUE_WORDS * (CATALOGUE_WORD_MAX + 5))

struct category {
	long long id;
	char name[CATEGORY_NAME_MAX + 1];
	long long products;
};

struct product {
	long long id;
	long long category;
	char category_name[CATEGORY_NAME_MAX + 1];
	char name[PRODUCT_NAME_MAX + 1];
	char description[PRODUCT_TEXT_MAX + 1];
	long long price;	/* minor units of the shop's currency */
	long long stock;
};

/* The category of that name, made when missing. */
enum ec_status catalogue_category(struct store *st, const char *name, long long *id,
				  struct ec_error *err);
/* All categories, by name, with how many products each has; *out malloc'd. */
enum ec_status catalogue_categories(struct store *st, struct category **out, size_t *count,
				    struct ec_error *err);
enum ec_status catalogue_category_get(struct store *st, long long id, struct category *out,
				      struct ec_error *err);

/*
 * Add a product (p->id is set): its category by p->category_name (made
 * when missing), a name of 1 to PRODUCT_NAME_MAX bytes and a description
 * of up to PRODUCT_TEXT_MAX bytes of UTF-8 text, a price of 1 to
 * PRODUCT_PRICE_MAX minor units, a stock of 0 to PRODUCT_STOCK_MAX.
 * EC_ERR_ARG, saying which, for anything else.
 */
enum ec_status catalogue_add(struct store *st, struct product *p, struct ec_error *err);
/* EC_ERR_NOT_FOUND for no such product. */
enum ec_status catalogue_get(struct store *st, long long id, struct product *out,
			     struct ec_error *err);

/* A page of products: of one category (0: all), by name, from offset;
 * *total is how many there are in all. *out malloc'd. */
enum ec_status catalogue_list(struct store *st, long long category, size_t offset, size_t limit,
			      struct product **out, size_t *count, size_t *total,
			      struct ec_error *err);

/*
 * The search query made from what a visitor typed (see above) into out:
 * false when it holds no word.
 */
bool catalogue_query(const char *typed, enum store_kind kind, char out[CATALOGUE_QUERY_MAX]);
/* Products matching every word (as prefixes) of typed, best first, a page
 * from offset; *out malloc'd. A search with no word finds nothing. */
enum ec_status catalogue_search(struct store *st, const char *typed, size_t offset, size_t limit,
				struct product **out, size_t *count, struct ec_error *err);

/*
 * A made-up catalogue of count products in ten categories, the same for
 * the same seed: names and descriptions from word lists, prices from 0.50
 * to 500.00. progress (may be NULL) is called every 1000 products.
 */
enum ec_status catalogue_seed(struct store *st, size_t count, uint64_t seed,
			      void (*progress)(void *arg, size_t done, size_t count), void *arg,
			      struct ec_error *err);

#endif
