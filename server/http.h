/*
 * http.h - ecard-server's HTTP side (libmicrohttpd): the two SERAM
 * endpoints, at / and under /gp/seram/ as the OpenAPI file's server URL
 * has them, and GET /metrics in the Prometheus text format. TLS through
 * GnuTLS unless plain HTTP was asked for explicitly.
 */
#ifndef ECARD_SERVER_HTTP_H
#define ECARD_SERVER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "ota.h"
#include "web.h"

/* The largest request body taken (413 beyond). */
#define HTTP_BODY_MAX (1024 * 1024)

/*
 * What a server answers besides GET /metrics: the issuer's SERAM endpoints
 * (ota.h) and centre (web.h) when http_options.site is NULL, or another
 * site's (the shop's): its pages, and the SERAM endpoints of its own
 * sessions. The handlers run on the workers, each with its own store.
 */
struct http_site {
	/* Whether path is one of the site's pages or API calls (anything but
	 * the two SERAM endpoints), and the largest body it takes. */
	bool (*web_path)(const char *path, size_t *body_max);
	void (*web_handle)(struct store *st, const void *arg, const struct web_request *rq,
			   struct web_response *rs);
	/* A SERAM handshake and report (as ota_handshake and ota_report):
	 * the HTTP status, *answer malloc'd for 200. */
	int (*handshake)(struct store *st, const void *arg, const char *session_id,
			 const char *body, size_t len, char **answer, struct ota_outcome *out,
			 struct ec_error *err);
	int (*report)(struct store *st, const void *arg, const char *session_id,
		      const char *report_key, const char *body, size_t len, char **answer,
		      struct ota_outcome *out, struct ec_error *err);
	const void *arg;
};

struct http_options {
	const char *db_url;
	const char *host;	/* address to listen on; NULL: 127.0.0.1 */
	uint16_t port;		/* 0: a free one, see http_port() */
	const char *cert_pem;	/* NULL with insecure: plain HTTP */
	const char *key_pem;
	bool insecure;
	unsigned threads;	/* workers answering handshakes and reports; 0: 2 */
	struct ota_config ota;
	struct web_config web;		/* the issuer centre's pages (web.h) */
	const struct http_site *site;	/* NULL: the issuer's */
	bool quiet;		/* no log line per session */
	const char *record_dir;	/* NULL, or where every message is written */
	/*
	 * For tests of a server that dies: SIGKILL itself when report number
	 * kill_at (from 1, this process's) arrives (kill_after false), or once
	 * it has been handled and committed, before its order goes out.
	 */
	unsigned long kill_at;
	bool kill_after;
};

struct http_server;

enum ec_status http_start(const struct http_options *opt, struct http_server **out,
			  struct ec_error *err);
uint16_t http_port(const struct http_server *srv);
void http_stop(struct http_server *srv);

#endif
