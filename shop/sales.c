/*
 * sales.c - baskets and orders (sales.h).
 */
#include "sales.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "holders.h"
#include "web.h"

#define SALE_COLUMNS \
	"id, customer, state, total, to_name, to_street, to_town, to_county, to_postcode, to_email," \
	" created, updated"

static void num(char *buf, size_t cap, long long v)
{
	snprintf(buf, cap, "%lld", v);
}

static void copy(char *out, size_t cap, const char *in)
{
	snprintf(out, cap, "%s", in ? in : "");
}

/* ---- the basket ---- */

enum ec_status basket_add(struct store *st, const char *session, long long product,
			  long quantity, struct ec_error *err)
{
	char prod[24], qty[24], max[24];
	enum ec_status s;

	if (quantity < 1)
		return ec_error_set(err, EC_ERR_ARG, "a quantity is 1 or more.");
	if (quantity > BASKET_QUANTITY_MAX)
		quantity = BASKET_QUANTITY_MAX;
	num(prod, sizeof(prod), product);
	num(qty, sizeof(qty), quantity);
	num(max, sizeof(max), BASKET_QUANTITY_MAX);
	if ((s = store_begin(st, err)) != EC_OK)
		return s;
	const char *p1[] = { prod };
	const char *p2[] = { session, prod };
	struct store_stmt q[3] = {
		{ "SELECT id FROM products WHERE id = $1", p1, 1 },
		{ "SELECT quantity FROM basket WHERE session = $1 AND product = $2", p2, 2 },
		{ "SELECT count(*) FROM basket WHERE session = $1 AND $2 <> ''", p2, 2 },
	};
	struct store_result res[3];
	if ((s = store_exec_batch(st, q, 3, res, err)) != EC_OK)
		goto fail;
	bool exists = res[0].rows == 1, have = res[1].rows == 1;
	long long lines = store_cell_ll(&res[2], 0, 0, 0);
	for (int i = 0; i < 3; i++)
		store_result_free(&res[i]);
	if (!exists) {
		s = ec_error_set(err, EC_ERR_NOT_FOUND, "there is no such product.");
		goto fail;
	}
	if (!have && lines >= BASKET_LINES_MAX) {
		s = ec_error_set(err, EC_ERR_LIMIT, "a basket holds %d different products.",
				 BASKET_LINES_MAX);
		goto fail;
	}
	const char *p3[] = { session, prod, qty, max };
	if (have)
		s = store_exec(st, "UPDATE basket SET quantity = CASE"
				   " WHEN quantity + CAST($3 AS INTEGER) > CAST($4 AS INTEGER) THEN CAST($4 AS INTEGER)"
				   " ELSE quantity + CAST($3 AS INTEGER) END WHERE session = $1 AND product = $2",
			       p3, 4, NULL, err);
	else
		s = store_exec(st, "INSERT INTO basket (session, product, quantity)"
				   " VALUES ($1, $2, CAST($3 AS INTEGER))",
			       p3, 3, NULL, err);
	if (s != EC_OK)
		goto fail;
	return store_commit(st, err);
fail:
	store_rollback(st);
	return s;
}

enum ec_status basket_set(struct store *st, const char *session, long long product,
			  long quantity, struct ec_error *err)
{
	char prod[24], qty[24];

	if (quantity < 0)
		return ec_error_set(err, EC_ERR_ARG, "a quantity is 0 or more.");
	if (quantity > BASKET_QUANTITY_MAX)
		quantity = BASKET_QUANTITY_MAX;
	num(prod, sizeof(prod), product);
	num(qty, sizeof(qty), quantity);
	const char *p[] = { session, prod, qty };
	if (quantity == 0)
		return store_exec(st, "DELETE FROM basket WHERE session = $1 AND product = $2", p, 2,
				  NULL, err);
	return store_exec(st, "UPDATE basket SET quantity = CAST($3 AS INTEGER) WHERE session = $1 AND product = $2",
			  p, 3, NULL, err);
}

static enum ec_status lines_from(struct store_result *r, struct basket_line **out, size_t *count,
				 long long *total, struct ec_error *err)
{
	*out = NULL;
	*count = 0;
	if (total)
		*total = 0;
	if (r->rows && !(*out = calloc(r->rows, sizeof(**out)))) {
		store_result_free(r);
		return ec_error_set(err, EC_ERR_FILE, "out of memory.");
	}
	for (size_t i = 0; i < r->rows; i++) {
		struct basket_line *l = &(*out)[i];
		l->product = store_cell_ll(r, i, 0, 0);
		copy(l->name, sizeof(l->name), store_cell(r, i, 1));
		l->price = store_cell_ll(r, i, 2, 0);
		l->quantity = (long)store_cell_ll(r, i, 3, 0);
		if (total)
			*total += l->price * l->quantity;
	}
	*count = r->rows;
	store_result_free(r);
	return EC_OK;
}

enum ec_status basket_get(struct store *st, const char *session, struct basket_line **out,
			  size_t *count, long long *total, struct ec_error *err)
{
	struct store_result r;
	const char *p[] = { session };
	enum ec_status s = store_exec(st,
				      "SELECT p.id, p.name, p.price, b.quantity FROM basket b"
				      " JOIN products p ON p.id = b.product WHERE b.session = $1 ORDER BY p.name, p.id",
				      p, 1, &r, err);
	if (s != EC_OK) {
		*out = NULL;
		*count = 0;
		*total = 0;
		return s;
	}
	return lines_from(&r, out, count, total, err);
}

enum ec_status basket_move(struct store *st, const char *from, const char *to,
			   struct ec_error *err)
{
	struct basket_line *lines;
	size_t n;
	long long total;
	enum ec_status s = basket_get(st, from, &lines, &n, &total, err);

	if (s != EC_OK || n == 0)
		return s;
	for (size_t i = 0; i < n && s == EC_OK; i++) {
		s = basket_add(st, to, lines[i].product, lines[i].quantity, err);
		if (s == EC_ERR_LIMIT || s == EC_ERR_NOT_FOUND)
			s = EC_OK;	/* what does not fit is dropped */
	}
	free(lines);
	const char *p[] = { from };
	if (s == EC_OK)
		s = store_exec(st, "DELETE FROM basket WHERE session = $1", p, 1, NULL, err);
	return s;
}

/* ---- orders ---- */

static bool line_ok(const char *s, size_t min, size_t max)
{
	return web_text_ok(s, min, max, false);
}

bool address_ok(const struct address *a, const char **why)
{
	const char *w = NULL;

	if (!line_ok(a->name, 1, ADDRESS_NAME_MAX))
		w = "a name";
	else if (!line_ok(a->street, 1, ADDRESS_FIELD_MAX))
		w = "a street address";
	else if (!line_ok(a->town, 1, ADDRESS_FIELD_MAX))
		w = "a town";
	else if (!line_ok(a->county, 0, ADDRESS_FIELD_MAX))
		w = "a county of up to 64 bytes, or none";
	else if (!line_ok(a->postcode, 1, ADDRESS_FIELD_MAX))
		w = "a postcode";
	else if (!holder_email_ok(a->email))
		w = "an e-mail address";
	if (why)
		*why = w;
	return w == NULL;
}

static void sale_from_row(const struct store_result *r, size_t i, struct sale *o)
{
	o->id = store_cell_ll(r, i, 0, 0);
	o->customer = store_cell_ll(r, i, 1, 0);
	copy(o->state, sizeof(o->state), store_cell(r, i, 2));
	o->total = store_cell_ll(r, i, 3, 0);
	copy(o->to.name, sizeof(o->to.name), store_cell(r, i, 4));
	copy(o->to.street, sizeof(o->to.street), store_cell(r, i, 5));
	copy(o->to.town, sizeof(o->to.town), store_cell(r, i, 6));
	copy(o->to.county, sizeof(o->to.county), store_cell(r, i, 7));
	copy(o->to.postcode, sizeof(o->to.postcode), store_cell(r, i, 8));
	copy(o->to.email, sizeof(o->to.email), store_cell(r, i, 9));
	o->created = store_cell_ll(r, i, 10, 0);
	o->updated = store_cell_ll(r, i, 11, 0);
}

enum ec_status sale_place(struct store *st, const char *session, long long customer,
			  const struct address *to, struct sale *out, struct ec_error *err)
{
	const char *why;
	struct basket_line *lines = NULL;
	size_t n = 0;
	long long total = 0;
	struct store_result r;
	char cust[24], tot[24], now[24], id[24];
	enum ec_status s;

	if (!address_ok(to, &why))
		return ec_error_set(err, EC_ERR_ARG, "the address needs %s.", why);
	if ((s = store_begin(st, err)) != EC_OK)
		return s;
	if ((s = basket_get(st, session, &lines, &n, &total, err)) != EC_OK)
		goto fail;
	if (n == 0) {
		s = ec_error_set(err, EC_ERR_ARG, "the basket is empty.");
		goto fail;
	}
	num(cust, sizeof(cust), customer);
	num(tot, sizeof(tot), total);
	num(now, sizeof(now), db_now_ms());
	const char *p[] = { cust, SALE_AWAITING, tot, to->name, to->street, to->town, to->county,
			    to->postcode, to->email, now };
	s = store_exec(st,
		       "INSERT INTO sales (customer, state, total, to_name, to_street, to_town, to_county,"
		       " to_postcode, to_email, created, updated)"
		       " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING " SALE_COLUMNS,
		       p, 10, &r, err);
	if (s != EC_OK)
		goto fail;
	sale_from_row(&r, 0, out);
	store_result_free(&r);
	num(id, sizeof(id), out->id);
	for (size_t i = 0; i < n && s == EC_OK; i++) {
		char prod[24], price[24], qty[24];
		num(prod, sizeof(prod), lines[i].product);
		num(price, sizeof(price), lines[i].price);
		num(qty, sizeof(qty), lines[i].quantity);
		const char *l[] = { id, prod, lines[i].name, price, qty };
		s = store_write(st, "INSERT INTO sale_lines (sale, product, name, price, quantity)"
				    " VALUES ($1, $2, $3, $4, CAST($5 AS INTEGER))",
				l, 5, err);
	}
	const char *b[] = { session };
	if (s == EC_OK)
		s = store_write(st, "DELETE FROM basket WHERE session = $1", b, 1, err);
	if (s != EC_OK)
		goto fail;
	free(lines);
	return store_commit(st, err);
fail:
	free(lines);
	store_rollback(st);
	return s;
}

enum ec_status sale_get(struct store *st, long long id, struct sale *out,
			struct basket_line **lines, size_t *count, struct ec_error *err)
{
	char num_id[24];
	num(num_id, sizeof(num_id), id);
	const char *p[] = { num_id };
	struct store_stmt q[2] = {
		{ "SELECT " SALE_COLUMNS " FROM sales WHERE id = $1", p, 1 },
		{ "SELECT product, name, price, quantity FROM sale_lines WHERE sale = $1 ORDER BY name, product",
		  p, 1 },
	};
	struct store_result res[2];
	enum ec_status s = store_exec_batch(st, q, lines ? 2 : 1, res, err);

	if (lines) {
		*lines = NULL;
		*count = 0;
	}
	if (s != EC_OK)
		return s;
	if (res[0].rows == 0) {
		store_result_free(&res[0]);
		if (lines)
			store_result_free(&res[1]);
		return ec_error_set(err, EC_ERR_NOT_FOUND, "there is no such order.");
	}
	sale_from_row(&res[0], 0, out);
	store_result_free(&res[0]);
	if (lines)
		return lines_from(&res[1], lines, count, NULL, err);
	return EC_OK;
}

enum ec_status sale_list(struct store *st, long long customer, struct sale **out, size_t *count,
			 struct ec_error *err)
{
	char cust[24];
	struct store_result r;
	num(cust, sizeof(cust), customer);
	const char *p[] = { cust };
	enum ec_status s = store_exec(st,
				      customer ? "SELECT " SALE_COLUMNS " FROM sales WHERE customer = $1 ORDER BY id DESC"
					       : "SELECT " SALE_COLUMNS " FROM sales WHERE $1 = '0' ORDER BY id DESC LIMIT 500",
				      p, 1, &r, err);
	*out = NULL;
	*count = 0;
	if (s != EC_OK)
		return s;
	if (r.rows && !(*out = calloc(r.rows, sizeof(**out)))) {
		store_result_free(&r);
		return ec_error_set(err, EC_ERR_FILE, "out of memory.");
	}
	for (size_t i = 0; i < r.rows; i++)
		sale_from_row(&r, i, &(*out)[i]);
	*count = r.rows;
	store_result_free(&r);
	return EC_OK;
}

enum ec_status sale_move(struct store *st, long long id, const char *from, const char *to,
			 struct ec_error *err)
{
	char num_id[24], now[24];
	struct store_result r;
	num(num_id, sizeof(num_id), id);
	num(now, sizeof(now), db_now_ms());
	const char *p[] = { num_id, from, to, now };
	enum ec_status s = store_exec(st,
				      "UPDATE sales SET state = $3, updated = $4 WHERE id = $1 AND state = $2 RETURNING id",
				      p, 4, &r, err);
	if (s != EC_OK)
		return s;
	bool moved = r.rows == 1;
	store_result_free(&r);
	if (!moved)
		return ec_error_set(err, EC_ERR_CHECK, "the order is not %s.", from);
	return EC_OK;
}
