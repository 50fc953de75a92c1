/*
 * agent_listen.h - the local agent in the browser path (DESIGN §8):
 * `ecard agent --listen 127.0.0.1:PORT` answers the pages of the sites the
 * holder allowed, on loopback, over plain HTTP (a page of an HTTPS site may
 * reach http://127.0.0.1, which browsers hold trustworthy).
 *
 *   POST /v1/session {"server": URL, "sessionId": ID}
 *        run the SERAM session that a site opened (a payment) with the
 *        card, against the site's own server only; the first time a site
 *        asks, the holder is asked (pinentry CONFIRM); the PIN a payment
 *        needs is asked through pinentry, showing the amount and merchant
 *        the card's DEBIT carries, and sent to the card only.
 *   POST /v1/fill {"fields": ["forename", ...]}
 *        the profile fields named, once the holder agreed to give those
 *        fields to that site (pinentry CONFIRM, every time); fields the
 *        card's policy keeps back need the PIN (pinentry GETPIN). Nothing
 *        is kept by the agent.
 *   OPTIONS  CORS preflight, with Private Network Access: a page of a
 *        public site asking a loopback address is let through only with
 *        Access-Control-Allow-Private-Network.
 *
 * Every request must carry the Origin of an allowed site (else 403,
 * without CORS headers, so the page cannot even read the refusal) and a
 * Host naming loopback (a DNS name rebound to 127.0.0.1 is refused). One
 * card, one request with it at a time.
 */
#ifndef ECARD_AGENT_LISTEN_H
#define ECARD_AGENT_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "pcsc.h"
#include "pinentry.h"

#define EC_LISTEN_ORIGINS_MAX 16
#define EC_LISTEN_BODY_MAX 4096

struct ec_listen_options {
	const char *host;		/* NULL: 127.0.0.1 */
	uint16_t port;			/* 0: a free one */
	const char *origins[EC_LISTEN_ORIGINS_MAX];	/* "https://shop.example[:port]" */
	size_t norigins;
	struct ec_pinentry pinentry;
	const char *ca_file;		/* the sites' CA for HTTPS; NULL: the system's */
	long retry_s;			/* how long a session keeps trying (0: 30) */
	struct ec_pcsc *pc;		/* the card */
	/* How to get the card back after it failed (agent.h); NULL: PC/SC. */
	enum ec_status (*reconnect)(void *arg, struct ec_pcsc *pc);
	void *reconnect_arg;
	/* For tests of a broken link (agent.h): each session's exchanges. */
	bool (*cut)(void *arg, size_t exchange, bool answered);
	void *cut_arg;
	/* One line per request handled (NULL: standard error). */
	void (*log)(void *arg, const char *line);
	void *log_arg;
};

struct ec_listener;

/* Whether text is an origin as browsers send it: scheme://host[:port]. */
bool ec_listen_origin_ok(const char *text);

enum ec_status ec_listen_start(const struct ec_listen_options *opt, struct ec_listener **out,
			       struct ec_error *err);
uint16_t ec_listen_port(const struct ec_listener *l);
void ec_listen_stop(struct ec_listener *l);

#endif
