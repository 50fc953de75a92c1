/*
 * http.c - ecard-server's HTTP endpoints (http.h) on libmicrohttpd.
 *
 * libmicrohttpd's thread reads the requests; a handshake or a report, once
 * whole, is suspended and put in one queue that a pool of workers takes
 * from, each worker with its own store connection; the worker hands the
 * answer back and resumes the connection. Any free worker takes the next
 * request: one that waits on the database (a report is one short
 * transaction, ended by the log's flush) holds up no other connection.
 */
#include "http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "db.h"
#include "files.h"
#include "web.h"
#include "seram.h"
#include "store.h"

/* Order latency buckets, in milliseconds. */
static const double buckets_ms[] = { 1, 2, 5, 10, 20, 50, 100, 250, 500, 1000, 5000 };
#define BUCKETS (sizeof(buckets_ms) / sizeof(buckets_ms[0]))

struct metrics {
	atomic_ullong handshakes;
	atomic_ullong sessions_done;
	atomic_ullong sessions_failed;
	atomic_ullong orders;
	atomic_ullong apdus_out;
	atomic_ullong apdus_in;
	atomic_ullong bytes_in;
	atomic_ullong bytes_out;
	atomic_ullong jobs_done;
	atomic_ullong jobs_failed;
	atomic_ullong status[6];	/* 2xx 3xx 4xx 5xx, 404, 406 */
	atomic_ullong latency[BUCKETS + 1];
	atomic_ullong latency_us_sum;
	atomic_ullong latency_count;
};

struct http_server {
	struct MHD_Daemon *mhd;
	struct http_options opt;
	struct http_site site;
	char *cert;
	char *key;
	struct metrics m;
	pthread_key_t store_key;
	pthread_mutex_t stores_lock;
	struct store **stores;
	size_t nstores;
	atomic_ulong reports;
	atomic_ulong recorded;
	/* the workers and their queue */
	pthread_t *workers;
	size_t nworkers;
	pthread_mutex_t queue_lock;
	pthread_cond_t queue_cond;
	struct request *head, *tail;
	atomic_bool stopping;
};

enum request_state {
	REQ_READING,
	REQ_QUEUED,		/* suspended, for a worker */
	REQ_ANSWERED,		/* the worker's answer is in; resumed */
};

struct request {
	char *body;
	size_t len, cap;
	bool too_big;
	struct timespec started;	/* its headers read: the order latency counts from here */
	enum request_state state;
	struct MHD_Connection *conn;
	struct request *next;	/* in the queue */
	bool handshake;
	/* a page or an API call of the issuer centre (web.h) */
	bool web;
	size_t body_max;
	char *method, *path, *query, *cookie, *content_type, *authorization, *origin, *host;
	char client[64];
	struct web_response wr;
	char sid[SERAM_SESSION_ID_MAX + 1];
	char key[SERAM_SESSION_ID_MAX + 1];	/* Idempotency-Key, "" none */
	int status;
	char *answer;
	char error[EC_ERROR_TEXT_MAX];
};

static struct store *thread_store(struct http_server *srv, struct ec_error *err)
{
	struct store *st = pthread_getspecific(srv->store_key);

	if (st)
		return st;
	if (store_open(srv->opt.db_url, &st, err) != EC_OK)
		return NULL;
	pthread_mutex_lock(&srv->stores_lock);
	struct store **n = realloc(srv->stores, (srv->nstores + 1) * sizeof(*n));
	if (n) {
		srv->stores = n;
		n[srv->nstores++] = st;
	}
	pthread_mutex_unlock(&srv->stores_lock);
	if (!n) {
		store_close(st);
		ec_error_set(err, EC_ERR_FILE, "out of memory.");
		return NULL;
	}
	pthread_setspecific(srv->store_key, st);
	return st;
}

static void drop_store(struct http_server *srv, struct store *st)
{
	pthread_mutex_lock(&srv->stores_lock);
	for (size_t i = 0; i < srv->nstores; i++)
		if (srv->stores[i] == st) {
			srv->stores[i] = srv->stores[--srv->nstores];
			break;
		}
	pthread_mutex_unlock(&srv->stores_lock);
	pthread_setspecific(srv->store_key, NULL);
	store_close(st);
}

static enum MHD_Result reply(struct MHD_Connection *conn, struct http_server *srv, int status,
			     const char *type, char *body, bool owned)
{
	size_t len = body ? strlen(body) : 0;
	struct MHD_Response *r = MHD_create_response_from_buffer(
		len, body ? body : (char *)"", owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);

	if (!r) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	if (type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
	MHD_destroy_response(r);
	srv->m.bytes_out += len;
	unsigned cls = status / 100;
	if (cls >= 2 && cls <= 5)
		srv->m.status[cls - 2]++;
	if (status == 404)
		srv->m.status[4]++;
	if (status == 406)
		srv->m.status[5]++;
	return ret;
}

/* An error answer: a short JSON object with the reason, for people. */
static enum MHD_Result reply_error(struct MHD_Connection *conn, struct http_server *srv,
				   int status, const char *text)
{
	char *body = malloc(strlen(text) * 2 + 32);
	if (!body)
		return reply(conn, srv, status, NULL, NULL, false);
	char *p = body + sprintf(body, "{\"error\":\"");
	for (const char *t = text; *t; t++) {
		if (*t == '"' || *t == '\\')
			*p++ = '\\';
		*p++ = (unsigned char)*t < 0x20 ? ' ' : *t;
	}
	strcpy(p, "\"}");
	return reply(conn, srv, status, "application/json", body, true);
}

static bool json_content(struct MHD_Connection *conn)
{
	const char *t = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t n = strlen(SERAM_FORMAT_JSON);
	return t && strncasecmp(t, SERAM_FORMAT_JSON, n) == 0 && (t[n] == '\0' || t[n] == ';' ||
								 t[n] == ' ');
}

/* --record: NNNNNN-ENDPOINT-request.json and -answer.json, by arrival. */
static void record(struct http_server *srv, unsigned long n, const char *endpoint,
		   const char *what, const char *body, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%06lu-%s-%s.json", srv->opt.record_dir, n, endpoint, what);
	FILE *f = fopen(path, "w");
	if (!f)
		return;
	fwrite(body, 1, len, f);
	fclose(f);
}

static double elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void observe(struct metrics *m, double ms)
{
	size_t i = 0;
	while (i < BUCKETS && ms > buckets_ms[i])
		i++;
	m->latency[i]++;
	m->latency_us_sum += (unsigned long long)(ms * 1000.0);
	m->latency_count++;
}

static void count(struct http_server *srv, const struct ota_outcome *o, const char *session)
{
	struct metrics *m = &srv->m;

	m->apdus_out += o->apdus_out;
	m->apdus_in += o->apdus_in;
	m->jobs_done += (unsigned)o->jobs_done;
	m->jobs_failed += (unsigned)o->jobs_failed;
	if (o->session_started)
		m->handshakes++;
	if (o->session_ended) {
		if (o->session_failed)
			m->sessions_failed++;
		else
			m->sessions_done++;
		if (!srv->opt.quiet)
			fprintf(stderr, "ecard-server: session %s %s (job %lld): %s\n", session,
				o->session_failed ? "failed" : "ended", o->job, o->message);
	}
}

static enum MHD_Result metrics_page(struct MHD_Connection *conn, struct http_server *srv)
{
	struct metrics *m = &srv->m;
	size_t cap = 8192, n = 0;
	char *b = malloc(cap);

	if (!b)
		return reply(conn, srv, 500, NULL, NULL, false);
#define PUT(...) n += (size_t)snprintf(b + n, n < cap ? cap - n : 0, __VA_ARGS__)
	PUT("# HELP ecard_sessions_total SERAM sessions, by outcome.\n# TYPE ecard_sessions_total counter\n");
	PUT("ecard_sessions_total{outcome=\"started\"} %llu\n", (unsigned long long)m->handshakes);
	PUT("ecard_sessions_total{outcome=\"done\"} %llu\n", (unsigned long long)m->sessions_done);
	PUT("ecard_sessions_total{outcome=\"failed\"} %llu\n", (unsigned long long)m->sessions_failed);
	PUT("# HELP ecard_orders_total Orders answered to reports.\n# TYPE ecard_orders_total counter\n");
	PUT("ecard_orders_total %llu\n", (unsigned long long)m->orders);
	PUT("# HELP ecard_apdus_total APDUs relayed, by direction.\n# TYPE ecard_apdus_total counter\n");
	PUT("ecard_apdus_total{direction=\"command\"} %llu\n", (unsigned long long)m->apdus_out);
	PUT("ecard_apdus_total{direction=\"response\"} %llu\n", (unsigned long long)m->apdus_in);
	PUT("# HELP ecard_http_bytes_total Bytes of HTTP bodies.\n# TYPE ecard_http_bytes_total counter\n");
	PUT("ecard_http_bytes_total{direction=\"in\"} %llu\n", (unsigned long long)m->bytes_in);
	PUT("ecard_http_bytes_total{direction=\"out\"} %llu\n", (unsigned long long)m->bytes_out);
	PUT("# HELP ecard_jobs_total Jobs ended, by outcome.\n# TYPE ecard_jobs_total counter\n");
	PUT("ecard_jobs_total{outcome=\"done\"} %llu\n", (unsigned long long)m->jobs_done);
	PUT("ecard_jobs_total{outcome=\"failed\"} %llu\n", (unsigned long long)m->jobs_failed);
	PUT("# HELP ecard_http_responses_total HTTP answers, by class.\n# TYPE ecard_http_responses_total counter\n");
	static const char *const cls[] = { "2xx", "3xx", "4xx", "5xx", "404", "406" };
	for (size_t i = 0; i < 6; i++)
		PUT("ecard_http_responses_total{code=\"%s\"} %llu\n", cls[i],
		    (unsigned long long)m->status[i]);
	PUT("# HELP ecard_order_seconds Time to answer a report.\n# TYPE ecard_order_seconds histogram\n");
	unsigned long long cum = 0;
	for (size_t i = 0; i < BUCKETS; i++) {
		cum += m->latency[i];
		PUT("ecard_order_seconds_bucket{le=\"%g\"} %llu\n", buckets_ms[i] / 1000.0, cum);
	}
	cum += m->latency[BUCKETS];
	PUT("ecard_order_seconds_bucket{le=\"+Inf\"} %llu\n", cum);
	PUT("ecard_order_seconds_sum %.6f\n", (double)m->latency_us_sum / 1e6);
	PUT("ecard_order_seconds_count %llu\n", (unsigned long long)m->latency_count);
#undef PUT
	if (n >= cap) {
		free(b);
		return reply(conn, srv, 500, NULL, NULL, false);
	}
	return reply(conn, srv, 200, "text/plain; version=0.0.4", b, true);
}

/* The request's Idempotency-Key, when it has a usable one. */
static const char *idempotency_key(struct MHD_Connection *conn)
{
	const char *k = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Idempotency-Key");
	return k && seram_session_id_ok(k) ? k : NULL;
}

static const char *route(const char *url);

/* The issuer's site: its SERAM endpoints and its centre; arg is the
 * server's http_options. */
static void issuer_web(struct store *st, const void *arg, const struct web_request *rq,
		       struct web_response *rs)
{
	web_handle(st, &((const struct http_options *)arg)->web, rq, rs);
}

static int issuer_handshake(struct store *st, const void *arg, const char *sid, const char *body,
			    size_t len, char **answer, struct ota_outcome *o, struct ec_error *err)
{
	return ota_handshake(st, &((const struct http_options *)arg)->ota, sid, body, len, answer, o,
			     err);
}

static int issuer_report(struct store *st, const void *arg, const char *sid, const char *key,
			 const char *body, size_t len, char **answer, struct ota_outcome *o,
			 struct ec_error *err)
{
	return ota_report(st, &((const struct http_options *)arg)->ota, sid, key, body, len, answer, o,
			  err);
}

/* Hand a whole request to the workers. */
static enum MHD_Result enqueue(struct MHD_Connection *conn, struct http_server *srv,
			       struct request *req)
{
	req->conn = conn;
	pthread_mutex_lock(&srv->queue_lock);
	bool open = !srv->stopping;
	if (open) {
		req->state = REQ_QUEUED;
		MHD_suspend_connection(conn);
		if (srv->tail)
			srv->tail->next = req;
		else
			srv->head = req;
		srv->tail = req;
		pthread_cond_signal(&srv->queue_cond);
	}
	pthread_mutex_unlock(&srv->queue_lock);
	if (!open)
		return reply_error(conn, srv, 503, "the server is stopping");
	return MHD_YES;
}

static char *header_copy(struct MHD_Connection *conn, enum MHD_ValueKind kind, const char *name)
{
	const char *v = MHD_lookup_connection_value(conn, kind, name);
	return v ? strdup(v) : NULL;
}

/* The query's arguments, as MHD decoded them, encoded again. */
static enum MHD_Result query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *value)
{
	struct sb *b = cls;
	(void)kind;
	if (b->len)
		sb_put(b, "&");
	for (int part = 0; part < 2; part++) {
		const char *t = part ? value : key;
		if (part)
			sb_put(b, "=");
		for (; t && *t; t++) {
			unsigned char c = (unsigned char)*t;
			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			    strchr("-._~", c))
				sb_printf(b, "%c", c);
			else
				sb_printf(b, "%%%02X", c);
		}
	}
	return MHD_YES;
}

static enum MHD_Result queue_web(struct MHD_Connection *conn, struct http_server *srv,
				 struct request *req, const char *url, const char *method)
{
	if (req->too_big)
		return reply_error(conn, srv, 413, "the request is too large");
	struct sb q = { 0 };
	sb_put(&q, "");
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, query_arg, &q);
	req->query = q.text;
	req->method = strdup(method);
	req->path = strdup(route(url));
	req->cookie = header_copy(conn, MHD_COOKIE_KIND, WEB_COOKIE);
	req->content_type = header_copy(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	req->authorization = header_copy(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	req->origin = header_copy(conn, MHD_HEADER_KIND, "Origin");
	req->host = header_copy(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, req->client,
			  sizeof(req->client));
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, req->client,
			  sizeof(req->client));
	if (!req->query || !req->method || !req->path)
		return reply_error(conn, srv, 500, "out of memory");
	return enqueue(conn, srv, req);
}

/* The answer to a page or an API call, with the headers pages need. */
static enum MHD_Result web_reply(struct MHD_Connection *conn, struct http_server *srv,
				 struct request *req)
{
	struct web_response *w = &req->wr;
	struct MHD_Response *r = MHD_create_response_from_buffer(w->len, w->body ? w->body : (char *)"",
								 MHD_RESPMEM_MUST_FREE);
	if (!r)
		return MHD_NO;
	w->body = NULL;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, w->content_type ? w->content_type : "text/plain");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	char csp[256];
	snprintf(csp, sizeof(csp),
		 "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
		 " connect-src 'self'%s%s; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		 w->connect_src ? " " : "", w->connect_src ? w->connect_src : "");
	MHD_add_response_header(r, "Content-Security-Policy", csp);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "same-origin");
	if (w->set_cookie[0])
		MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, w->set_cookie);
	if (w->location[0])
		MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, w->location);
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)w->status, r);
	MHD_destroy_response(r);
	srv->m.bytes_out += w->len;
	unsigned cls = (unsigned)w->status / 100;
	if (cls >= 2 && cls <= 5)
		srv->m.status[cls - 2]++;
	if (w->status == 404)
		srv->m.status[4]++;
	return ret;
}

static const char *route(const char *url)
{
	if (strncmp(url, "/gp/seram/", 10) == 0)
		return url + 9;
	return url;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct http_server *srv = cls;
	struct request *req = *con_cls;
	(void)version;

	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		*con_cls = req;
		clock_gettime(CLOCK_MONOTONIC, &req->started);
		const char *p = route(url);
		req->body_max = HTTP_BODY_MAX;
		if (strcmp(p, "/handshake") != 0 && strcmp(p, "/remoteManagement") != 0)
			req->web = srv->site.web_path(p, &req->body_max);
		/* A body announced too large is not kept: read, dropped, and
		 * answered 413 (clients that do not wait for 100 Continue get
		 * the answer, not a connection closed under them). */
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > req->body_max)
			req->too_big = true;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!req->too_big && req->len + *upload_size <= req->body_max) {
			if (req->len + *upload_size + 1 > req->cap) {
				/* Twice the room each time: a large body is copied
				 * a few times, not once per piece. */
				size_t cap = req->cap ? req->cap : 4096;
				while (cap < req->len + *upload_size + 1)
					cap *= 2;
				char *n = realloc(req->body, cap);
				if (!n)
					return MHD_NO;
				req->body = n;
				req->cap = cap;
			}
			memcpy(req->body + req->len, upload, *upload_size);
			req->len += *upload_size;
			req->body[req->len] = '\0';
		} else {
			req->too_big = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (req->state == REQ_ANSWERED && req->web)
		return web_reply(conn, srv, req);
	if (req->state == REQ_ANSWERED) {
		if (req->status != 200)
			return reply_error(conn, srv, req->status, req->error);
		if (!req->handshake) {
			srv->m.orders++;
			observe(&srv->m, elapsed_ms(&req->started));
		}
		char *answer = req->answer;
		req->answer = NULL;
		return reply(conn, srv, 200, SERAM_FORMAT_JSON, answer, true);
	}
	if (req->state == REQ_QUEUED)
		return MHD_YES;	/* woken before its answer: wait */
	srv->m.bytes_in += req->len;
	const char *path = route(url);
	bool hs = strcmp(path, "/handshake") == 0, rm = strcmp(path, "/remoteManagement") == 0;
	if (strcmp(path, "/metrics") == 0) {
		if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
			return reply_error(conn, srv, 405, "GET /metrics");
		return metrics_page(conn, srv);
	}
	if (!hs && !rm && req->web)
		return queue_web(conn, srv, req, url, method);
	if (!hs && !rm)
		return reply_error(conn, srv, 404, "no such endpoint: this server has /handshake and /remoteManagement");
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
		return reply_error(conn, srv, 405, "this endpoint takes POST");
	if (req->too_big)
		return reply_error(conn, srv, 413, "the message is too large");
	if (!json_content(conn))
		return reply_error(conn, srv, 415, "the message must be application/json");
	const char *sid = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "sessionId");
	if (!seram_session_id_ok(sid))
		return reply_error(conn, srv, 400, "the sessionId query parameter is missing or malformed");
	req->handshake = hs;
	snprintf(req->sid, sizeof(req->sid), "%s", sid);
	const char *key = idempotency_key(conn);
	snprintf(req->key, sizeof(req->key), "%s", key ? key : "");
	return enqueue(conn, srv, req);
}

/* A worker's part of a request: the store's answer in req. */
static void answer_request(struct http_server *srv, struct request *req)
{
	struct ec_error err;
	struct ota_outcome o;
	bool rm = !req->handshake;
	struct store *st = thread_store(srv, &err);

	req->answer = NULL;
	if (!st) {
		fprintf(stderr, "ecard-server: %s\n", err.text);
		req->status = 500;
		snprintf(req->error, sizeof(req->error), "the database is not reachable");
		return;
	}
	err.text[0] = '\0';
	if (req->web) {
		struct web_request rq = {
			.method = req->method, .path = req->path, .query = req->query,
			.body = req->body ? req->body : "", .len = req->len, .cookie = req->cookie,
			.content_type = req->content_type, .authorization = req->authorization,
			.origin = req->origin, .host = req->host, .client = req->client,
		};
		srv->site.web_handle(st, srv->site.arg, &rq, &req->wr);
		if (req->wr.status == 500)
			drop_store(srv, st);
		return;
	}
	/* A poll with nothing to do waits a while for a job (long polling). */
	if (rm && !srv->opt.site && srv->opt.ota.long_poll_ms > 0) {
		for (long waited = 0; waited < srv->opt.ota.long_poll_ms && !srv->stopping; waited += 250) {
			if (!ota_poll_would_idle(st, req->sid, req->body ? req->body : "", req->len))
				break;
			struct timespec pause = { 0, 250 * 1000000L };
			nanosleep(&pause, NULL);
		}
	}
	unsigned long number = rm ? ++srv->reports : 0;
	if (rm && srv->opt.kill_at == number && !srv->opt.kill_after)
		raise(SIGKILL);
	unsigned long rec = 0;
	const char *endpoint = rm ? "remoteManagement" : "handshake";
	if (srv->opt.record_dir) {
		rec = ++srv->recorded;
		record(srv, rec, endpoint, "request", req->body ? req->body : "", req->len);
	}
	if (!rm)
		req->status = srv->site.handshake(st, srv->site.arg, req->sid,
						  req->body ? req->body : "", req->len, &req->answer,
						  &o, &err);
	else
		req->status = srv->site.report(st, srv->site.arg, req->sid,
					       req->key[0] ? req->key : NULL, req->body ? req->body : "",
					       req->len, &req->answer, &o, &err);
	if (req->status == 500) {
		fprintf(stderr, "ecard-server: session %s: %s\n", req->sid, err.text);
		/* A broken connection is opened again by the next request. */
		drop_store(srv, st);
	}
	if (req->status != 200) {
		free(req->answer);
		req->answer = NULL;
		snprintf(req->error, sizeof(req->error), "%s", err.text[0] ? err.text : "refused");
		return;
	}
	if (rm && srv->opt.kill_at == number && srv->opt.kill_after)
		raise(SIGKILL);
	if (rec)
		record(srv, rec, endpoint, "answer", req->answer, strlen(req->answer));
	count(srv, &o, req->sid);
}

static void *worker_main(void *arg)
{
	struct http_server *srv = arg;

	for (;;) {
		pthread_mutex_lock(&srv->queue_lock);
		while (!srv->head && !srv->stopping)
			pthread_cond_wait(&srv->queue_cond, &srv->queue_lock);
		struct request *req = srv->head;
		if (req) {
			srv->head = req->next;
			if (!srv->head)
				srv->tail = NULL;
			req->next = NULL;
		}
		pthread_mutex_unlock(&srv->queue_lock);
		if (!req)
			return NULL;	/* stopping, and nothing left */
		answer_request(srv, req);
		req->state = REQ_ANSWERED;
		MHD_resume_connection(req->conn);
	}
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct request *req = *con_cls;
	(void)cls;
	(void)conn;
	(void)toe;
	if (req) {
		free(req->body);
		free(req->answer);
		free(req->method);
		free(req->path);
		free(req->query);
		free(req->cookie);
		free(req->content_type);
		free(req->authorization);
		free(req->origin);
		free(req->host);
		free(req->wr.body);
		free(req);
		*con_cls = NULL;
	}
}

static void stop_workers(struct http_server *srv)
{
	pthread_mutex_lock(&srv->queue_lock);
	srv->stopping = true;
	pthread_cond_broadcast(&srv->queue_cond);
	pthread_mutex_unlock(&srv->queue_lock);
	for (size_t i = 0; i < srv->nworkers; i++)
		pthread_join(srv->workers[i], NULL);
	free(srv->workers);
	srv->workers = NULL;
	srv->nworkers = 0;
}

static void free_queue(struct http_server *srv)
{
	pthread_cond_destroy(&srv->queue_cond);
	pthread_mutex_destroy(&srv->queue_lock);
}

enum ec_status http_start(const struct http_options *opt, struct http_server **out,
			  struct ec_error *err)
{
	struct http_server *srv = calloc(1, sizeof(*srv));
	struct sockaddr_in6 a6;
	struct sockaddr_in a4;
	struct sockaddr *addr;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	const char *host = opt->host ? opt->host : "127.0.0.1";

	*out = NULL;
	if (!srv)
		return ec_error_set(err, EC_ERR_ARG, "out of memory.");
	srv->opt = *opt;
	if (opt->site) {
		srv->site = *opt->site;
	} else {
		srv->site = (struct http_site){ .web_path = web_path, .web_handle = issuer_web,
						.handshake = issuer_handshake,
						.report = issuer_report, .arg = &srv->opt };
	}
	pthread_key_create(&srv->store_key, NULL);
	pthread_mutex_init(&srv->stores_lock, NULL);
	memset(&a6, 0, sizeof(a6));
	memset(&a4, 0, sizeof(a4));
	if (inet_pton(AF_INET, host, &a4.sin_addr) == 1) {
		a4.sin_family = AF_INET;
		a4.sin_port = htons(opt->port);
		addr = (struct sockaddr *)&a4;
	} else if (inet_pton(AF_INET6, host, &a6.sin6_addr) == 1) {
		a6.sin6_family = AF_INET6;
		a6.sin6_port = htons(opt->port);
		addr = (struct sockaddr *)&a6;
		flags |= MHD_USE_IPv6;
	} else {
		free(srv);
		return ec_error_set(err, EC_ERR_ARG, "\"%s\" is not an IP address to listen on.", host);
	}
	if (!opt->insecure) {
		if (!opt->cert_pem || !opt->key_pem) {
			free(srv);
			return ec_error_set(err, EC_ERR_ARG,
					    "give --cert and --key for HTTPS, or --insecure-http for plain HTTP (tests only).");
		}
		srv->cert = files_read(opt->cert_pem, NULL, err);
		srv->key = srv->cert ? files_read(opt->key_pem, NULL, err) : NULL;
		if (!srv->key) {
			free(srv->cert);
			free(srv);
			return EC_ERR_FILE;
		}
		flags |= MHD_USE_TLS;
	}
	/* The workers; libmicrohttpd's own thread reads and writes, two of
	 * them with TLS, whose handshakes take work. */
	unsigned threads = opt->threads ? opt->threads : 2;
	unsigned io_threads = srv->cert ? 2 : 1;
	pthread_mutex_init(&srv->queue_lock, NULL);
	pthread_cond_init(&srv->queue_cond, NULL);
	srv->workers = calloc(threads, sizeof(*srv->workers));
	for (unsigned i = 0; srv->workers && i < threads; i++) {
		if (pthread_create(&srv->workers[i], NULL, worker_main, srv) != 0)
			break;
		srv->nworkers++;
	}
	if (srv->nworkers == 0) {
		stop_workers(srv);
		free_queue(srv);
		free(srv->cert);
		free(srv->key);
		free(srv);
		return ec_error_set(err, EC_ERR_ARG, "the server's threads could not be started.");
	}
	struct MHD_OptionItem ops[] = {
		{ MHD_OPTION_SOCK_ADDR, 0, addr },
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, srv },
		{ MHD_OPTION_CONNECTION_TIMEOUT, 30, NULL },
		{ MHD_OPTION_CONNECTION_LIMIT, 20000, NULL },
		{ MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096, NULL },
		/* One thread is the daemon's own; a pool only from two on. */
		{ io_threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, io_threads, NULL },
		{ MHD_OPTION_END, 0, NULL },
		{ MHD_OPTION_END, 0, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};
	if (io_threads > 1 && srv->cert) {
		ops[6] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, srv->cert };
		ops[7] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, srv->key };
	} else if (srv->cert) {
		ops[5] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, srv->cert };
		ops[6] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, srv->key };
	}
	srv->mhd = MHD_start_daemon(flags, opt->port, NULL, NULL, handle, srv, MHD_OPTION_ARRAY, ops,
				    MHD_OPTION_END);
	if (!srv->mhd) {
		stop_workers(srv);
		free_queue(srv);
		free(srv->cert);
		free(srv->key);
		free(srv);
		return ec_error_set(err, EC_ERR_ARG,
				    "the server could not listen on %s port %u (in use, or the certificate and key do not load).",
				    host, (unsigned)opt->port);
	}
	*out = srv;
	return EC_OK;
}

uint16_t http_port(const struct http_server *srv)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
	return i ? i->port : 0;
}

void http_stop(struct http_server *srv)
{
	if (!srv)
		return;
	/* The workers answer what is queued; what comes meanwhile gets 503. */
	stop_workers(srv);
	MHD_stop_daemon(srv->mhd);
	free_queue(srv);
	for (size_t i = 0; i < srv->nstores; i++)
		store_close(srv->stores[i]);
	free(srv->stores);
	pthread_key_delete(srv->store_key);
	pthread_mutex_destroy(&srv->stores_lock);
	if (srv->key)
		memset(srv->key, 0, strlen(srv->key));
	free(srv->key);
	free(srv->cert);
	free(srv);
}
