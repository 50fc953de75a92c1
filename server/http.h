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
