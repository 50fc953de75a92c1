/*
 * agent.c - the GP SERAM local agent (agent.h), on libcurl.
 */
#include "agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "gp.h"
#include "seram.h"
#include "wallet_proto.h"

#define RESPONSE_MAX (16 * 1024 * 1024)
#define DEFAULT_DELAY_MS 1000	/* the binding's pause when an order has none */

struct buffer {
	char *data;
	size_t len;
	bool too_big;
};

struct agent {
	struct ec_pcsc *pc;
	const struct ec_agent_options *opt;
	struct ec_agent_stats *stats;
	CURL *curl;
	size_t server;		/* the URL in use */
	char session[SERAM_SESSION_ID_MAX + 1];
	size_t requests;	/* made, answered or not */
	bool failing;		/* since first_failure, no server answered */
	struct timespec first_failure;
	long backoff_ms;
	struct ec_agent_progress prog;
	struct timespec t0;
	char failure[EC_ERROR_TEXT_MAX];
	bool retry_session;	/* the server interrupted a job: go again */
};

static double since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (ms > 0 && nanosleep(&ts, &ts) != 0)
		;
}

static size_t on_data(char *ptr, size_t size, size_t n, void *arg)
{
	struct buffer *b = arg;
	size_t len = size * n;

	if (b->len + len > RESPONSE_MAX) {
		b->too_big = true;
		return 0;
	}
	char *p = realloc(b->data, b->len + len + 1);
	if (!p)
		return 0;
	b->data = p;
	memcpy(b->data + b->len, ptr, len);
	b->len += len;
	b->data[b->len] = '\0';
	return len;
}

enum ec_status ec_agent_card_id(struct ec_pcsc *pc, char out[32], struct ec_error *err)
{
	struct ec_gp_cplc cplc;
	enum ec_status st = ec_gp_select_isd(pc, NULL, 0, err);

	if (st != EC_OK)
		return st;
	st = ec_gp_get_cplc(pc, NULL, &cplc, err);
	if (st != EC_OK)
		return st;
	snprintf(out, 32, "%08lX", (unsigned long)cplc.ic_serial);
	return EC_OK;
}

/*
 * POST body to ENDPOINT?sessionId=...; *status is the HTTP status, or 0
 * when no answer came (a transmission error).
 */
static enum ec_status post(struct agent *a, const char *endpoint, const char *body, const char *key,
			   struct buffer *answer, long *status, struct ec_error *err)
{
	char url[1024];
	const char *base = a->opt->servers[a->server];
	size_t n = strlen(base);
	struct curl_slist *headers = NULL;

	memset(answer, 0, sizeof(*answer));
	*status = 0;
	a->requests++;
	if (a->opt->cut && a->opt->cut(a->opt->cut_arg, a->requests, false))
		return ec_error_set(err, EC_ERR_NETWORK, "the request was lost (a test's cut).");
	snprintf(url, sizeof(url), "%.*s/%s?sessionId=%s", (int)(n && base[n - 1] == '/' ? n - 1 : n),
		 base, endpoint, a->session);
	/* Each report a key of its own, kept when it is sent again (by us
	 * after a cut, or by libcurl when a kept-alive connection turns out
	 * closed): the server then answers it without doing it twice. */
	char key_header[64];
	snprintf(key_header, sizeof(key_header), "Idempotency-Key: %s", key);
	headers = curl_slist_append(headers, key_header);
	headers = curl_slist_append(headers, "Content-Type: " SERAM_FORMAT_JSON);
	headers = curl_slist_append(headers, "Accept: " SERAM_FORMAT_JSON);
	headers = curl_slist_append(headers, "Expect:");
	curl_easy_setopt(a->curl, CURLOPT_URL, url);
	curl_easy_setopt(a->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(a->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(a->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(a->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(a->curl, CURLOPT_WRITEDATA, answer);
	CURLcode rc = curl_easy_perform(a->curl);
	curl_slist_free_all(headers);
	if (rc != CURLE_OK) {
		free(answer->data);
		memset(answer, 0, sizeof(*answer));
		/* A certificate that does not check is not a transmission error. */
		if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
		    rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CONNECT_ERROR)
			return ec_error_set(err, EC_ERR_CHECK,
					    "the TLS connection to %s failed: %s; check the server's certificate and --ca.",
					    base, curl_easy_strerror(rc));
		return ec_error_set(err, EC_ERR_NETWORK, "%s did not answer: %s.", base,
				    curl_easy_strerror(rc));
	}
	curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, status);
	a->stats->exchanges++;
	if (a->opt->cut && a->opt->cut(a->opt->cut_arg, a->requests, true)) {
		free(answer->data);
		memset(answer, 0, sizeof(*answer));
		*status = 0;
		return ec_error_set(err, EC_ERR_NETWORK, "the answer was lost (a test's cut).");
	}
	return EC_OK;
}

static void report_progress(struct agent *a)
{
	a->prog.seconds = since(&a->t0);
	if (a->opt->progress)
		a->opt->progress(a->opt->progress_arg, &a->prog);
}

/* "job/ID/KIND/start/COMMANDS", ".../done", ".../failed/TEXT", ".../interrupted/TEXT". */
static void on_notification(struct agent *a, const char *text)
{
	long long id;
	char kind[16], what[16];
	int used = 0;

	if (a->opt->notify)
		a->opt->notify(a->opt->notify_arg, text);
	if (sscanf(text, "pay/%15[^/]%n", what, &used) == 1) {
		const char *rest = text[used] == '/' ? text + used + 1 : "";
		if (strcmp(what, "done") == 0) {
			a->stats->jobs_done++;
		} else if (strcmp(what, "failed") == 0) {
			a->stats->jobs_failed++;
			snprintf(a->failure, sizeof(a->failure), "the payment failed: %s", rest);
		}
		return;
	}
	if (sscanf(text, "job/%lld/%15[^/]/%15[^/]%n", &id, kind, what, &used) != 3)
		return;
	const char *rest = text[used] == '/' ? text + used + 1 : "";
	if (strcmp(what, "start") == 0) {
		memset(&a->prog, 0, sizeof(a->prog));
		a->prog.job = id;
		snprintf(a->prog.kind, sizeof(a->prog.kind), "%s", kind);
		char *end;
		a->prog.commands = (size_t)strtoul(rest, &end, 10);
		a->prog.blocks = *end == '/' ? (size_t)strtoul(end + 1, NULL, 10) : 0;
	} else if (strcmp(what, "done") == 0) {
		a->stats->jobs_done++;
	} else if (strcmp(what, "failed") == 0) {
		a->stats->jobs_failed++;
		snprintf(a->failure, sizeof(a->failure), "job %lld (%s) failed: %s", id, kind, rest);
	} else if (strcmp(what, "interrupted") == 0) {
		a->retry_session = true;
		snprintf(a->failure, sizeof(a->failure), "job %lld (%s) was interrupted: %s", id, kind,
			 rest);
	}
}

/*
 * After a transmission error: whether to try again (the binding's 5
 * minutes, --retry, are not over), having waited a little longer each time
 * and moved to the next server URL.
 */
static bool keep_trying(struct agent *a)
{
	long retry_ms = (a->opt->retry_s > 0 ? a->opt->retry_s : 300) * 1000;

	a->stats->retries++;
	if (!a->failing) {
		a->failing = true;
		a->backoff_ms = 100;
		clock_gettime(CLOCK_MONOTONIC, &a->first_failure);
	}
	if (since(&a->first_failure) * 1000 > retry_ms)
		return false;
	a->server = (a->server + 1) % a->opt->nservers;
	sleep_ms(a->backoff_ms);
	a->backoff_ms = a->backoff_ms * 2 > 5000 ? 5000 : a->backoff_ms * 2;
	return true;
}

/* Run one seRamCommand into rsp; false when the card failed. */
static bool run_apdus(struct agent *a, const struct seram_apdu_list *cmds,
		      struct seram_apdu_list *rsp, size_t *executed, struct ec_error *err)
{
	uint8_t cmd[SERAM_APDU_MAX], answer[65536 + 2];
	bool stopped = false, card_ok = true;

	for (size_t i = 0; i < cmds->count; i++) {
		size_t len = 0, cmd_len = cmds->items[i].len;
		if (stopped || cmd_len > sizeof(cmd)) {
			seram_apdu_list_add(rsp, NULL, 0);
			continue;
		}
		memcpy(cmd, cmds->items[i].bytes, cmd_len);
		if (a->opt->tap)
			a->opt->tap(a->opt->tap_arg, true, cmd, &cmd_len, sizeof(cmd));
		enum ec_status st = ec_transmit(a->pc, cmd, cmd_len, answer, sizeof(answer) - 2, &len);
		if (st != EC_OK) {
			ec_error_transport(err, a->pc, st, "the card");
			seram_apdu_list_add(rsp, NULL, 0);
			stopped = true;
			card_ok = false;
			continue;
		}
		a->stats->apdus++;
		a->prog.relayed++;
		a->prog.bytes += cmd_len;
		if (cmd_len >= 2 && cmd[1] == 0xE8) {	/* LOAD: its header stays in clear */
			a->stats->load_blocks++;
			a->prog.load_blocks++;
		}
		if (a->opt->tap)
			a->opt->tap(a->opt->tap_arg, false, answer, &len, sizeof(answer));
		seram_apdu_list_add(rsp, answer, len);
		(*executed)++;
		uint16_t sw = ec_response_sw(answer, len);
		if (sw != 0x9000 && (sw & 0xFF00) != 0x6100)
			stopped = true;
	}
	return card_ok;
}

enum session_end {
	SESSION_STOPPED,	/* ramStopCommand */
	SESSION_LINK,		/* a transmission error: retry */
	SESSION_CARD,		/* the card failed: reconnect it, retry */
	SESSION_FATAL,
	SESSION_GIVE_UP,	/* no server answered for --retry seconds */
};

static enum session_end session(struct agent *a, enum ec_status *st, struct ec_error *err)
{
	struct seram_handshake hs;
	struct seram_report rep;
	struct buffer ans;
	long status;
	enum session_end end = SESSION_FATAL;
	bool card_failed = false;

	if (a->opt->session_id)
		snprintf(a->session, sizeof(a->session), "%s", a->opt->session_id);
	else if (seram_new_session_id(a->session) != EC_OK) {
		*st = ec_error_set(err, EC_ERR_CRYPTO, "the random generator failed.");
		return SESSION_FATAL;
	}
	memset(&hs, 0, sizeof(hs));
	hs.se_count = 1;
	snprintf(hs.se[0].type, sizeof(hs.se[0].type), "%s", a->opt->se_type ? a->opt->se_type : "eSE");
	snprintf(hs.se[0].id, sizeof(hs.se[0].id), "%s", a->stats->card);
	char *body = seram_handshake_encode(&hs);
	if (!body) {
		*st = ec_error_set(err, EC_ERR_ARG, "out of memory.");
		return SESSION_FATAL;
	}
	char key[37];
	if (seram_new_session_id(key) != EC_OK) {
		free(body);
		*st = ec_error_set(err, EC_ERR_CRYPTO, "the random generator failed.");
		return SESSION_FATAL;
	}
	*st = post(a, "handshake", body, key, &ans, &status, err);
	free(body);
	if (*st != EC_OK)
		return *st == EC_ERR_NETWORK ? SESSION_LINK : SESSION_FATAL;
	a->failing = false;
	a->stats->sessions++;
	if (status != 200) {
		*st = ec_error_set(err, status >= 500 ? EC_ERR_NETWORK : EC_ERR_FORMAT,
				   "the server refused the handshake (HTTP %ld%s%.200s).", status,
				   ans.data ? ": " : "", ans.data ? ans.data : "");
		free(ans.data);
		return status >= 500 ? SESSION_LINK : SESSION_FATAL;
	}
	struct seram_handshake_response hr;
	*st = seram_handshake_response_parse(ans.data ? ans.data : "", ans.len, &hr, err);
	free(ans.data);
	if (*st != EC_OK)
		return SESSION_FATAL;

	memset(&rep, 0, sizeof(rep));
	rep.status = SERAM_POLLING;
	for (;;) {
		body = seram_report_encode(&rep);
		seram_report_free(&rep);
		if (!body) {
			*st = ec_error_set(err, EC_ERR_ARG, "out of memory.");
			return SESSION_FATAL;
		}
		/* The same report, with the same key, until a server answers it:
		 * the session goes on, on this instance or another. */
		if (seram_new_session_id(key) != EC_OK) {
			free(body);
			*st = ec_error_set(err, EC_ERR_CRYPTO, "the random generator failed.");
			return SESSION_FATAL;
		}
		for (;;) {
			*st = post(a, "remoteManagement", body, key, &ans, &status, err);
			if (*st == EC_OK && status < 500)
				break;
			if (*st == EC_OK) {
				ec_error_set(err, EC_ERR_NETWORK, "the server failed (HTTP %ld).", status);
				free(ans.data);
			}
			if (*st != EC_OK && *st != EC_ERR_NETWORK) {
				free(body);
				return SESSION_FATAL;
			}
			if (!keep_trying(a)) {
				free(body);
				*st = EC_ERR_NETWORK;
				return SESSION_GIVE_UP;
			}
		}
		free(body);
		a->failing = false;
		if (status != 200) {
			*st = ec_error_set(err, status == 404 ? EC_ERR_NETWORK : EC_ERR_FORMAT,
					   "the server refused a report (HTTP %ld%s%.200s).", status,
					   ans.data ? ": " : "", ans.data ? ans.data : "");
			free(ans.data);
			/* 404: no server knows the session any more; a new one goes on. */
			return status == 404 ? SESSION_LINK : SESSION_FATAL;
		}
		struct seram_order order;
		*st = seram_order_parse(ans.data ? ans.data : "", ans.len, &order, err);
		free(ans.data);
		if (*st != EC_OK) {
			seram_order_free(&order);
			return SESSION_FATAL;
		}
		memset(&rep, 0, sizeof(rep));
		bool stop = false, any = false;
		size_t executed = 0;
		for (size_t i = 0; i < order.count && !stop; i++) {
			struct seram_command *c = &order.commands[i];
			switch (c->type) {
			case SERAM_CMD_START:
				break;
			case SERAM_CMD_NOTIFICATION:
				on_notification(a, c->notification ? c->notification : "");
				if (a->opt->act && !card_failed &&
				    !a->opt->act(a->opt->act_arg, a->pc, c->notification ? c->notification : "",
						 &order, i + 1)) {
					card_failed = true;
					rep.status = SERAM_UNAVAILABLE_SE;
					rep.error = strdup("the card failed while the agent spoke to it");
					snprintf(a->failure, sizeof(a->failure), "%s", rep.error ? rep.error : "");
				}
				break;
			case SERAM_CMD_STOP:
				stop = true;
				break;
			case SERAM_CMD_SE_RAM: {
				struct seram_apdu_list *l = seram_report_add(&rep);
				any = true;
				if (!l)
					break;
				if (card_failed) {
					for (size_t k = 0; k < c->apdus.count; k++)
						seram_apdu_list_add(l, NULL, 0);
					break;
				}
				if (!run_apdus(a, &c->apdus, l, &executed, err)) {
					card_failed = true;
					rep.status = SERAM_UNAVAILABLE_SE;
					rep.error = strdup(err->text);
					snprintf(a->failure, sizeof(a->failure), "%s", err->text);
				}
				break;
			}
			}
		}
		long delay = order.delay >= 0 ? order.delay : DEFAULT_DELAY_MS;
		seram_order_free(&order);
		report_progress(a);
		if (stop) {
			seram_report_free(&rep);
			*st = EC_OK;
			return card_failed ? SESSION_CARD : SESSION_STOPPED;
		}
		if (!card_failed)
			rep.status = any ? SERAM_PROCESSED : SERAM_POLLING;
		rep.executed = (long)executed;
		if (delay > 0)
			sleep_ms(delay > 30000 ? 30000 : delay);
		end = SESSION_STOPPED;
	}
	return end;
}

/* After the card failed in the middle of an order. */
static enum ec_status card_back(struct agent *a)
{
	if (a->opt->reconnect)
		return a->opt->reconnect(a->opt->reconnect_arg, a->pc);
	for (int i = 0; i < 40; i++) {
		if (ec_reconnect(a->pc, SCARD_RESET_CARD) == EC_OK)
			return EC_OK;
		sleep_ms(250);
	}
	return EC_ERR_CARD_LOST;
}

enum ec_status ec_agent_run(struct ec_pcsc *pc, const struct ec_agent_options *opt,
			    struct ec_agent_stats *stats, struct ec_error *err)
{
	struct ec_agent_stats local;
	struct agent a;
	enum ec_status st;

	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	memset(&a, 0, sizeof(a));
	a.pc = pc;
	a.opt = opt;
	a.stats = stats;
	clock_gettime(CLOCK_MONOTONIC, &a.t0);
	if (opt->nservers == 0 || opt->nservers > EC_AGENT_SERVERS_MAX)
		return ec_error_set(err, EC_ERR_ARG, "give the server's URL (--server).");
	st = ec_agent_card_id(pc, stats->card, err);
	if (st != EC_OK)
		return st;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	a.curl = curl_easy_init();
	if (!a.curl)
		return ec_error_set(err, EC_ERR_ARG, "libcurl could not start.");
	long timeout = opt->response_timeout_s > 0 ? opt->response_timeout_s : 40;
	curl_easy_setopt(a.curl, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(a.curl, CURLOPT_CONNECTTIMEOUT, timeout);
	curl_easy_setopt(a.curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(a.curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(a.curl, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(a.curl, CURLOPT_COOKIEFILE, "");	/* cookies in memory */
	if (opt->ca_file)
		curl_easy_setopt(a.curl, CURLOPT_CAINFO, opt->ca_file);

	unsigned card_retries = opt->card_retries, card_failures = 0;
	for (;;) {
		a.retry_session = false;
		enum session_end end = session(&a, &st, err);
		if (end == SESSION_STOPPED && !a.retry_session) {
			if (stats->jobs_failed) {
				st = ec_error_set(err, EC_ERR_CARD, "%s", a.failure);
			}
			break;
		}
		if (end == SESSION_FATAL)
			break;
		if (end == SESSION_CARD || (end == SESSION_STOPPED && a.retry_session)) {
			if (card_failures++ >= card_retries) {
				if (end == SESSION_STOPPED)
					st = ec_error_set(err, EC_ERR_CARD, "%s", a.failure);
				else if (st == EC_OK)
					st = ec_error_set(err, EC_ERR_CARD_LOST, "the card kept failing.");
				break;
			}
			if (end == SESSION_CARD && card_back(&a) != EC_OK) {
				st = ec_error_set(err, EC_ERR_CARD_LOST,
						  "the card failed and did not come back: %s", a.failure);
				break;
			}
			continue;
		}
		if (end == SESSION_GIVE_UP || (end == SESSION_LINK && !keep_trying(&a))) {
			char last[EC_ERROR_TEXT_MAX];
			snprintf(last, sizeof(last), "%s", err->text);
			ec_error_set(err, EC_ERR_NETWORK,
				     "no server answered for %ld s; the last error: %s",
				     opt->retry_s > 0 ? opt->retry_s : 300, last);
			st = EC_ERR_NETWORK;
			break;
		}
		/* SESSION_LINK: a new session, on the next server. */
	}
	stats->seconds = since(&a.t0);
	report_progress(&a);
	curl_easy_cleanup(a.curl);
	return st;
}

bool ec_agent_debit_in_order(const struct seram_order *order, size_t next,
			     struct purse_debit_request *req)
{
	for (size_t i = next; order && i < order->count; i++) {
		const struct seram_command *c = &order->commands[i];
		if (c->type != SERAM_CMD_SE_RAM)
			continue;
		for (size_t k = 0; k < c->apdus.count; k++) {
			const struct seram_apdu *a = &c->apdus.items[k];
			/* 80 44 00 00 Lc request [Le] */
			if (a->len >= 5 + PURSE_DEBIT_REQUEST_LEN && a->bytes[0] == WALLET_CLA &&
			    a->bytes[1] == WALLET_INS_DEBIT && a->bytes[4] == PURSE_DEBIT_REQUEST_LEN)
				return purse_debit_request_parse(a->bytes + 5, PURSE_DEBIT_REQUEST_LEN, req);
		}
		return false;	/* the DEBIT must be the next card command */
	}
	return false;
}
