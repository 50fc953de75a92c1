/*
 * shop.c - the shop's schema and its site for the HTTP layer (shop.h).
 */
#include "shop.h"

#include <stdio.h>
#include <string.h>

#include "holders.h"

/*
 * Migration N takes the shop's schema from version N-1 to N (store.h);
 * never edit a published one.
 */
static const char *const migrations[] = {
	/* 1: customers (the holders' tables), catalogue, baskets, orders,
	 * payment sessions and the records the cards signed */
	HOLDERS_TABLES_V1
	"CREATE TABLE categories ("
	" id @ID@,"
	" name TEXT NOT NULL UNIQUE,"
	" products BIGINT NOT NULL DEFAULT 0);"
	"CREATE TABLE products ("
	" id @ID@,"
	" category BIGINT NOT NULL,"
	" name TEXT NOT NULL,"
	" description TEXT NOT NULL,"
	" price BIGINT NOT NULL,"
	" stock BIGINT NOT NULL);"
	"CREATE INDEX products_by_category ON products (category, name, id);"
	"CREATE INDEX products_by_name ON products (name, id);"
	"@SQLITE@"
	"CREATE VIRTUAL TABLE products_fts USING fts5(name, description, content='products',"
	" content_rowid='id', tokenize='unicode61 remove_diacritics 2');"
	"CREATE TRIGGER products_fts_insert AFTER INSERT ON products BEGIN"
	" INSERT INTO products_fts (rowid, name, description) VALUES (new.id, new.name, new.description);"
	" END;"
	"CREATE TRIGGER products_fts_delete AFTER DELETE ON products BEGIN"
	" INSERT INTO products_fts (products_fts, rowid, name, description)"
	" VALUES ('delete', old.id, old.name, old.description);"
	" END;"
	"CREATE TRIGGER products_fts_update AFTER UPDATE ON products BEGIN"
	" INSERT INTO products_fts (products_fts, rowid, name, description)"
	" VALUES ('delete', old.id, old.name, old.description);"
	" INSERT INTO products_fts (rowid, name, description) VALUES (new.id, new.name, new.description);"
	" END;"
	"@END@"
	"@POSTGRESQL@"
	"ALTER TABLE products ADD COLUMN search tsvector GENERATED ALWAYS AS"
	" (to_tsvector('simple', name || ' ' || description)) STORED;"
	"CREATE INDEX products_search ON products USING GIN (search);"
	"@END@"
	"CREATE TABLE basket ("
	" session TEXT NOT NULL,"
	" product BIGINT NOT NULL,"
	" quantity INTEGER NOT NULL,"
	" PRIMARY KEY (session, product));"
	"CREATE TABLE sales ("
	" id @ID@,"
	" customer BIGINT NOT NULL,"
	" state TEXT NOT NULL,"
	" total BIGINT NOT NULL,"
	" to_name TEXT NOT NULL,"
	" to_street TEXT NOT NULL,"
	" to_town TEXT NOT NULL,"
	" to_county TEXT NOT NULL,"
	" to_postcode TEXT NOT NULL,"
	" to_email TEXT NOT NULL,"
	" created BIGINT NOT NULL,"
	" updated BIGINT NOT NULL);"
	"CREATE INDEX sales_by_customer ON sales (customer, id);"
	"CREATE TABLE sale_lines ("
	" sale BIGINT NOT NULL,"
	" product BIGINT NOT NULL,"
	" name TEXT NOT NULL,"
	" price BIGINT NOT NULL,"
	" quantity INTEGER NOT NULL);"
	"CREATE INDEX sale_lines_by_sale ON sale_lines (sale);"
	"CREATE TABLE payments ("
	" id @ID@,"
	" sale BIGINT NOT NULL,"
	" customer BIGINT NOT NULL,"
	" session TEXT NOT NULL UNIQUE,"
	" state TEXT NOT NULL,"
	" amount BIGINT NOT NULL,"
	" se_id TEXT,"
	" serial TEXT,"
	" card_cert TEXT,"
	" request TEXT,"
	" counter_before BIGINT,"
	" pin_tries INTEGER NOT NULL,"
	" debits INTEGER NOT NULL,"
	" unknown INTEGER NOT NULL,"
	" message TEXT NOT NULL,"
	" last_key TEXT,"
	" last_order TEXT,"
	" created BIGINT NOT NULL,"
	" updated BIGINT NOT NULL,"
	" expires BIGINT NOT NULL);"
	"CREATE INDEX payments_by_sale ON payments (sale, id);"
	"CREATE TABLE debit_records ("
	" serial TEXT NOT NULL,"
	" counter BIGINT NOT NULL,"
	" sale BIGINT NOT NULL,"
	" amount BIGINT NOT NULL,"
	" record TEXT NOT NULL,"
	" signature TEXT NOT NULL,"
	" card_cert TEXT NOT NULL,"
	" created BIGINT NOT NULL,"
	" settled BIGINT,"
	" PRIMARY KEY (serial, counter));"
	"CREATE INDEX debit_records_by_settled ON debit_records (settled, created);",
};

#define MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

enum ec_status shop_migrate(struct store *st, struct ec_error *err)
{
	return store_migrate(st, migrations, MIGRATIONS, "ecard-shop", err);
}

/* ---- the site ---- */

static bool shop_path(const char *path, size_t *body_max)
{
	(void)path;
	*body_max = WEB_FORM_MAX;
	return true;
}

static int shop_handshake(struct store *st, const void *arg, const char *sid, const char *body,
			  size_t len, char **answer, struct ota_outcome *o, struct ec_error *err)
{
	return pay_handshake(st, &((const struct shop_config *)arg)->pay, sid, body, len, answer, o,
			     err);
}

static int shop_report(struct store *st, const void *arg, const char *sid, const char *key,
		       const char *body, size_t len, char **answer, struct ota_outcome *o,
		       struct ec_error *err)
{
	return pay_report(st, &((const struct shop_config *)arg)->pay, sid, key, body, len, answer, o,
			  err);
}

void shop_site(struct shop_config *cfg, struct http_site *out)
{
	cfg->pay.shop_name = cfg->name;
	cfg->agent_src[0] = '\0';
	if (cfg->agent_url) {
		/* The origin of the agent's URL: scheme://host:port. */
		const char *h = strstr(cfg->agent_url, "://");
		const char *end = h ? strchr(h + 3, '/') : NULL;
		size_t n = end ? (size_t)(end - cfg->agent_url) : strlen(cfg->agent_url);
		if (h && n < sizeof(cfg->agent_src))
			snprintf(cfg->agent_src, sizeof(cfg->agent_src), "%.*s", (int)n, cfg->agent_url);
	}
	*out = (struct http_site){
		.web_path = shop_path,
		.web_handle = shop_web_handle,
		.handshake = shop_handshake,
		.report = shop_report,
		.arg = cfg,
	};
}
