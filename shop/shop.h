/*
 * shop.h - ecard-shop, the web shop ("SmartMarket", DESIGN §8): its
 * database and its site on the server stack of ecard-server (http.h,
 * web.h, store.h).
 *
 * The shop keeps its own database (SQLite file or PostgreSQL): its
 * customers, their sessions and log-in attempts in the same tables and
 * under the same rules as the issuer centre's holders (holders.h), the
 * catalogue (catalogue.h), baskets and orders (sales.h).
 */
#ifndef ECARD_SHOP_H
#define ECARD_SHOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "http.h"
#include "pay.h"
#include "store.h"
#include "web.h"

#define SHOP_NAME_MAX 60

struct shop_config {
	char name[SHOP_NAME_MAX + 1];	/* shown on every page, and to the holder when paying */
	uint16_t currency;		/* ISO 4217 numeric */
	/* The holder's agent, as the pages reach it (`ecard agent --listen`):
	 * its base URL, e.g. "http://127.0.0.1:8855", also allowed in the
	 * pages' CSP connect-src. NULL: no paying or filling from the card. */
	const char *agent_url;
	char agent_src[128];		/* made by shop_site() */
	bool insecure;			/* plain HTTP (tests): the shop's own URL */
	struct pay_config pay;
};

/* Create the shop's schema or bring it up to date. */
enum ec_status shop_migrate(struct store *st, struct ec_error *err);

/* The site for http.h: every path but the SERAM endpoints is a page;
 * the SERAM endpoints run the payments (pay.h). cfg must outlive it. */
void shop_site(struct shop_config *cfg, struct http_site *out);

/* For tests: answer one page request as the server would. */
void shop_web_handle(struct store *st, const void *cfg, const struct web_request *rq,
		     struct web_response *rs);

#endif
