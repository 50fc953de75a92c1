/*
 * agent_listen.c - the local agent's loopback endpoint for pages
 * (agent_listen.h), on libmicrohttpd, a thread per connection: a payment
 * session runs as long as the holder takes to type the PIN.
 */
#include "agent_listen.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "agent.h"
#include "amount.h"
#include "crypto.h"
#include "hex.h"
#include "pin_client.h"
#include "profile.h"
#include "seram.h"

struct ec_listener {
	struct MHD_Daemon *mhd;
	struct ec_listen_options opt;
	pthread_mutex_t card;		/* one request with the card at a time */
	pthread_mutex_t lock;		/* the sites the holder let in */
	char allowed[EC_LISTEN_ORIGINS_MAX][256];
	bool consented[EC_LISTEN_ORIGINS_MAX];
	uint16_t port;
};

struct request {
	char body[EC_LISTEN_BODY_MAX + 1];
	size_t len;
	bool too_big;
};

static void say(struct ec_listener *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct ec_listener *l, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (l->opt.log)
		l->opt.log(l->opt.log_arg, line);
	else
		fprintf(stderr, "agent: %s\n", line);
}

bool ec_listen_origin_ok(const char *text)
{
	const char *h;
	if (!text || strlen(text) >= 256)
		return false;
	if (strncmp(text, "https://", 8) == 0)
		h = text + 8;
	else if (strncmp(text, "http://", 7) == 0)
		h = text + 7;
	else
		return false;
	if (!*h)
		return false;
	for (const char *p = h; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr(".-:[]", *p)))
			return false;	/* lower-case host, port: no path, user or query */
	return true;
}

/* The index of an allowed origin, or -1. */
static int allowed(struct ec_listener *l, const char *origin)
{
	for (size_t i = 0; origin && i < l->opt.norigins; i++)
		if (strcmp(l->allowed[i], origin) == 0)
			return (int)i;
	return -1;
}

/* A Host naming loopback: 127.0.0.1, [::1] or localhost, with our port. */
static bool loopback_host(struct ec_listener *l, const char *host)
{
	char want[3][64];
	snprintf(want[0], sizeof(want[0]), "127.0.0.1:%u", l->port);
	snprintf(want[1], sizeof(want[1]), "[::1]:%u", l->port);
	snprintf(want[2], sizeof(want[2]), "localhost:%u", l->port);
	for (int i = 0; host && i < 3; i++)
		if (strcmp(host, want[i]) == 0)
			return true;
	return false;
}

/* The session's server is of the page's origin: origin, then "/" or end. */
static bool same_origin(const char *origin, const char *server)
{
	size_t n = strlen(origin);
	if (strncmp(server, origin, n) != 0 || (server[n] != '/' && server[n] != '\0'))
		return false;
	return strpbrk(server, "?#@\\ \t\r\n") == NULL && strlen(server) < 1024;
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, const char *origin,
			      json_t *body, bool preflight, bool private_network)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	struct MHD_Response *r = MHD_create_response_from_buffer(
		text ? strlen(text) : 0, text ? text : (char *)"", text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	if (text)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "Vary", "Origin");
	if (origin) {
		MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
		if (preflight) {
			MHD_add_response_header(r, "Access-Control-Allow-Methods", "POST");
			MHD_add_response_header(r, "Access-Control-Allow-Headers", "Content-Type");
			MHD_add_response_header(r, "Access-Control-Max-Age", "600");
			if (private_network)
				MHD_add_response_header(r, "Access-Control-Allow-Private-Network", "true");
		}
	}
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static json_t *error_body(const char *text)
{
	return json_pack("{s:s}", "error", text);
}

/* ---- payments ---- */

struct pay_prompt {
	struct ec_listener *l;
	const char *origin;
	char last[160];		/* the shop's word after a wrong PIN */
	unsigned asked;
};

/* A shop's "pay/verify-pin/NAME": the PIN through pinentry, to the card. */
static bool verify_pin(void *arg, struct ec_pcsc *pc, const char *text,
		       const struct seram_order *order, size_t next)
{
	struct pay_prompt *pp = arg;
	struct purse_debit_request req;
	struct ec_error err = { 0 };
	char amount[EC_AMOUNT_TEXT_MAX], merchant[2 * PURSE_ID_LEN + 1], desc[768], pin[EC_PIN_TEXT_MAX];
	int tries;

	if (strncmp(text, "pay/wrong-pin/", 14) == 0) {
		snprintf(pp->last, sizeof(pp->last), "%s", text + 14);
		return true;
	}
	if (strncmp(text, "pay/verify-pin/", 15) != 0)
		return true;
	/* What the card will sign, not what the notification says, is shown;
	 * a notification that no DEBIT follows asks for nothing. */
	if (!ec_agent_debit_in_order(order, next, &req)) {
		say(pp->l, "%s asked for the PIN without a payment after it: not asked", pp->origin);
		return true;
	}
	hex_encode(req.merchant_id, PURSE_ID_LEN, merchant);
	snprintf(desc, sizeof(desc), "%s%s%sPay %s to %.60s (merchant %s), for the web site %s?\n\nThe PIN goes to your card only.",
		 pp->last[0] ? "Wrong PIN: " : "", pp->last, pp->last[0] ? ".\n\n" : "",
		 ec_amount_format(req.amount, req.currency, amount, sizeof(amount)), text + 15, merchant,
		 pp->origin);
	pp->asked++;
	if (ec_pinentry_getpin(&pp->l->opt.pinentry, desc, "PIN:", pin, sizeof(pin), &err) != EC_OK) {
		say(pp->l, "payment for %s: %s", pp->origin, err.text);
		return true;	/* DEBIT then finds no fresh PIN: nothing is paid */
	}
	enum ec_status st = ec_pin_verify(pc, pin, &tries, &err);
	crypto_wipe(pin, sizeof(pin));
	/* A wrong PIN is the card's answer; a card that did not answer
	 * failed, and the payment goes on once it is back. */
	return st == EC_OK || st == EC_ERR_CARD || st == EC_ERR_ARG;
}

/* Ask the holder once per run whether the site may use the card. */
static bool consent(struct ec_listener *l, int site, const char *origin)
{
	struct ec_error err = { 0 };
	char desc[512];
	bool yes = false;

	pthread_mutex_lock(&l->lock);
	bool before = l->consented[site];
	pthread_mutex_unlock(&l->lock);
	if (before)
		return true;
	snprintf(desc, sizeof(desc),
		 "The web site %s wants to use your card to take payments.\n\nEach payment will still ask for your PIN. Allow this site?",
		 origin);
	if (ec_pinentry_confirm(&l->opt.pinentry, desc, &yes, &err) != EC_OK)
		say(l, "%s", err.text);
	if (yes) {
		pthread_mutex_lock(&l->lock);
		l->consented[site] = true;
		pthread_mutex_unlock(&l->lock);
	}
	return yes;
}

static enum MHD_Result session(struct MHD_Connection *conn, struct ec_listener *l, int site,
			       const char *origin, json_t *in)
{
	const char *server = json_string_value(json_object_get(in, "server"));
	const char *sid = json_string_value(json_object_get(in, "sessionId"));
	struct ec_error err = { 0 };

	if (!server || !sid || !seram_session_id_ok(sid))
		return answer(conn, 400, origin, error_body("give server and sessionId"), false, false);
	if (!same_origin(origin, server)) {
		say(l, "%s asked for a session on %.200s: refused, not its own server", origin, server);
		return answer(conn, 403, origin, error_body("the server must be the page's own site"), false, false);
	}
	if (!consent(l, site, origin))
		return answer(conn, 403, origin, error_body("the card holder did not allow this site"), false, false);
	struct pay_prompt pp = { .l = l, .origin = origin };
	struct ec_agent_options opt = { .nservers = 1, .ca_file = l->opt.ca_file,
					.retry_s = l->opt.retry_s ? l->opt.retry_s : 30,
					.response_timeout_s = 30, .card_retries = 3, .session_id = sid,
					.act = verify_pin, .act_arg = &pp, .reconnect = l->opt.reconnect,
					.reconnect_arg = l->opt.reconnect_arg, .cut = l->opt.cut,
					.cut_arg = l->opt.cut_arg };
	struct ec_agent_stats stats;
	opt.servers[0] = server;
	pthread_mutex_lock(&l->card);
	enum ec_status st = ec_agent_run(l->opt.pc, &opt, &stats, &err);
	pthread_mutex_unlock(&l->card);
	say(l, "session %s for %s: %s", sid, origin, st == EC_OK ? "done" : err.text);
	if (st != EC_OK)
		return answer(conn, 409, origin, error_body(err.text), false, false);
	return answer(conn, 200, origin, json_pack("{s:s,s:I}", "status", "done", "pin_asked", (json_int_t)pp.asked),
		      false, false);
}

/* ---- filling forms ---- */

static enum MHD_Result fill(struct MHD_Connection *conn, struct ec_listener *l, const char *origin,
			    json_t *in)
{
	json_t *names = json_object_get(in, "fields");
	const struct ec_profile_field *want[EC_PROFILE_FIELDS];
	size_t n = 0;
	char list[512] = "", desc[768], value[EC_PROFILE_VALUE_MAX + 1], pin[EC_PIN_TEXT_MAX];
	struct ec_error err = { 0 };
	bool yes = false, have_pin = false;

	if (!json_is_array(names) || json_array_size(names) == 0 || json_array_size(names) > EC_PROFILE_FIELDS)
		return answer(conn, 400, origin, error_body("give fields: a list of profile field names"), false, false);
	for (size_t i = 0; i < json_array_size(names); i++) {
		const char *name = json_string_value(json_array_get(names, i));
		const struct ec_profile_field *f = name ? ec_profile_field_find(name) : NULL;
		if (!f || strcmp(f->name, name) != 0)
			return answer(conn, 400, origin, error_body("an unknown profile field"), false, false);
		bool dup = false;
		for (size_t k = 0; k < n; k++)
			dup |= want[k] == f;
		if (dup)
			continue;
		want[n++] = f;
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s%s", n > 1 ? ", " : "", f->name,
			 f->private_class ? " (private)" : "");
	}
	/* Which fields, for which site: asked every time. */
	snprintf(desc, sizeof(desc), "The web site %s asks for these details from your card:\n\n%s\n\nGive them to this site?",
		 origin, list);
	if (ec_pinentry_confirm(&l->opt.pinentry, desc, &yes, &err) != EC_OK || !yes) {
		say(l, "fill for %s: the holder said no", origin);
		return answer(conn, 403, origin, error_body("the card holder did not give the details"), false, false);
	}
	json_t *out = json_object();
	pthread_mutex_lock(&l->card);
	enum ec_status st = ec_profile_select(l->opt.pc, &err);
	for (size_t i = 0; st == EC_OK && i < n; i++) {
		size_t len;
		st = ec_profile_get_field(l->opt.pc, want[i]->id, value, sizeof(value), &len, &err);
		if (st == EC_ERR_CARD && err.sw == 0x6982) {
			/* The card's policy keeps it back until the PIN is given. */
			if (!have_pin) {
				snprintf(desc, sizeof(desc),
					 "Your card releases %s only with your PIN.\n\nPIN, to give it to %s:",
					 want[i]->name, origin);
				if (ec_pinentry_getpin(&l->opt.pinentry, desc, "PIN:", pin, sizeof(pin), &err) != EC_OK) {
					st = EC_OK;
					continue;	/* that field is left out */
				}
				have_pin = true;
			}
			int tries;
			st = ec_pin_verify(l->opt.pc, pin, &tries, &err);
			if (st == EC_OK)
				st = ec_profile_get_field(l->opt.pc, want[i]->id, value, sizeof(value), &len, &err);
			if (st != EC_OK)
				break;
		}
		if (st == EC_OK && len > 0)
			json_object_set_new(out, want[i]->name, json_stringn(value, len));
		crypto_wipe(value, sizeof(value));
	}
	pthread_mutex_unlock(&l->card);
	crypto_wipe(pin, sizeof(pin));
	if (st != EC_OK) {
		json_decref(out);
		say(l, "fill for %s: %s", origin, err.text);
		return answer(conn, 409, origin, error_body(err.text), false, false);
	}
	say(l, "fill for %s: %zu fields given", origin, json_object_size(out));
	return answer(conn, 200, origin, json_pack("{s:o}", "fields", out), false, false);
}

/* ---- HTTP ---- */

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct ec_listener *l = cls;
	struct request *req = *con_cls;
	(void)version;

	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		*con_cls = req;
		return MHD_YES;
	}
	if (*upload_size) {
		if (req->len + *upload_size <= EC_LISTEN_BODY_MAX) {
			memcpy(req->body + req->len, upload, *upload_size);
			req->len += *upload_size;
		} else {
			req->too_big = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
	const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	int site = allowed(l, origin);
	if (!loopback_host(l, host)) {
		say(l, "a request for host %.100s: refused", host ? host : "(none)");
		return answer(conn, 421, NULL, error_body("this agent answers on loopback only"), false, false);
	}
	if (site < 0) {
		say(l, "a request from %.200s: refused, not an allowed site", origin ? origin : "no origin");
		return answer(conn, 403, NULL, error_body("this site may not use the card"), false, false);
	}
	bool known = strcmp(url, "/v1/session") == 0 || strcmp(url, "/v1/fill") == 0;
	if (strcmp(method, "OPTIONS") == 0) {
		const char *pna = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							      "Access-Control-Request-Private-Network");
		return answer(conn, known ? 204 : 404, origin, NULL, known, pna && strcmp(pna, "true") == 0);
	}
	if (!known)
		return answer(conn, 404, origin, error_body("no such endpoint"), false, false);
	if (strcmp(method, "POST") != 0)
		return answer(conn, 405, origin, error_body("POST only"), false, false);
	if (req->too_big)
		return answer(conn, 413, origin, error_body("the request is too large"), false, false);
	const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (!type || strncmp(type, "application/json", 16) != 0)
		return answer(conn, 415, origin, error_body("send application/json"), false, false);
	json_error_t je;
	json_t *in = json_loadb(req->body, req->len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(in)) {
		json_decref(in);
		return answer(conn, 400, origin, error_body("the body is not a JSON object"), false, false);
	}
	enum MHD_Result r = strcmp(url, "/v1/session") == 0 ? session(conn, l, site, origin, in)
							    : fill(conn, l, origin, in);
	json_decref(in);
	return r;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	if (*con_cls) {
		crypto_wipe(*con_cls, sizeof(struct request));
		free(*con_cls);
	}
	*con_cls = NULL;
}

enum ec_status ec_listen_start(const struct ec_listen_options *opt, struct ec_listener **out,
			       struct ec_error *err)
{
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	struct sockaddr *addr;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_ERROR_LOG;
	const char *host = opt->host ? opt->host : "127.0.0.1";

	*out = NULL;
	if (!opt->pc || opt->norigins == 0 || opt->norigins > EC_LISTEN_ORIGINS_MAX)
		return ec_error_set(err, EC_ERR_ARG, "give the sites whose pages may use the card (--allow-origin).");
	for (size_t i = 0; i < opt->norigins; i++)
		if (!ec_listen_origin_ok(opt->origins[i]))
			return ec_error_set(err, EC_ERR_ARG,
					    "\"%s\" is not an origin: scheme://host[:port], in lower case, nothing after.",
					    opt->origins[i]);
	if (inet_pton(AF_INET, host, &a4.sin_addr) == 1) {
		if ((ntohl(a4.sin_addr.s_addr) >> 24) != 127)
			return ec_error_set(err, EC_ERR_ARG, "the agent listens on loopback only (127.0.0.1 or ::1).");
		a4.sin_port = htons(opt->port);
		addr = (struct sockaddr *)&a4;
	} else if (inet_pton(AF_INET6, host, &a6.sin6_addr) == 1 && IN6_IS_ADDR_LOOPBACK(&a6.sin6_addr)) {
		a6.sin6_port = htons(opt->port);
		addr = (struct sockaddr *)&a6;
		flags |= MHD_USE_IPv6;
	} else {
		return ec_error_set(err, EC_ERR_ARG, "the agent listens on loopback only (127.0.0.1 or ::1).");
	}
	struct ec_listener *l = calloc(1, sizeof(*l));
	if (!l)
		return ec_error_set(err, EC_ERR_ARG, "out of memory.");
	l->opt = *opt;
	for (size_t i = 0; i < opt->norigins; i++)
		snprintf(l->allowed[i], sizeof(l->allowed[i]), "%s", opt->origins[i]);
	pthread_mutex_init(&l->card, NULL);
	pthread_mutex_init(&l->lock, NULL);
	l->mhd = MHD_start_daemon(flags, opt->port, NULL, NULL, handle, l, MHD_OPTION_SOCK_ADDR, addr,
				  MHD_OPTION_NOTIFY_COMPLETED, completed, l, MHD_OPTION_CONNECTION_TIMEOUT,
				  (unsigned)300, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
	if (!l->mhd) {
		pthread_mutex_destroy(&l->card);
		pthread_mutex_destroy(&l->lock);
		free(l);
		return ec_error_set(err, EC_ERR_ARG, "the agent could not listen on %s port %u (in use?).", host,
				    (unsigned)opt->port);
	}
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_BIND_PORT);
	l->port = i ? i->port : opt->port;
	*out = l;
	return EC_OK;
}

uint16_t ec_listen_port(const struct ec_listener *l)
{
	return l->port;
}

void ec_listen_stop(struct ec_listener *l)
{
	if (!l)
		return;
	MHD_stop_daemon(l->mhd);
	pthread_mutex_destroy(&l->card);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
