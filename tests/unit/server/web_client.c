/*
 * web_client.c - a small browser for the tests of the web pages (web_client.h).
 */
#include "web_client.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

const char *web_base;


static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t k = size * n;
	r->body = realloc(r->body, r->len + k + 1);
	cr_assert_not_null(r->body);
	memcpy(r->body + r->len, data, k);
	r->len += k;
	r->body[r->len] = '\0';
	return k;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t k = size * n;
	char line[512];
	snprintf(line, sizeof(line), "%.*s", (int)(k < sizeof(line) - 1 ? k : sizeof(line) - 1), data);
	if (strncasecmp(line, "Set-Cookie: __Host-ecard=", 25) == 0) {
		size_t v = strcspn(line + 25, ";\r\n");
		snprintf(r->cookie, sizeof(r->cookie), "%.*s", (int)v, line + 25);
		if (v == 0)
			strcpy(r->cookie, "-");
		cr_assert(strstr(line, "HttpOnly") && strstr(line, "Secure") &&
			  strstr(line, "SameSite=Strict") && strstr(line, "Path=/"), "%s", line);
	}
	size_t have = strlen(r->headers);
	snprintf(r->headers + have, sizeof(r->headers) - have, "%s", line);
	if (strncasecmp(line, "Location: ", 10) == 0)
		snprintf(r->location, sizeof(r->location), "%.*s", (int)strcspn(line + 10, "\r\n"), line + 10);
	return k;
}

/* One request; headers (may be NULL) as curl takes them. */
struct reply request(const char *method, const char *path, const char *cookie,
			    const char *type, const char *body, size_t len, const char *header)
{
	struct reply r = { 0 };
	char url[512], c[128];
	CURL *h = curl_easy_init();
	struct curl_slist *hs = NULL;

	cr_assert_not_null(h);
	snprintf(url, sizeof(url), "%s%s", web_base, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	if (cookie && cookie[0]) {
		snprintf(c, sizeof(c), "__Host-ecard=%s", cookie);
		curl_easy_setopt(h, CURLOPT_COOKIE, c);
	}
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	if (type) {
		char t[128];
		snprintf(t, sizeof(t), "Content-Type: %s", type);
		hs = curl_slist_append(hs, t);
	}
	if (header) {
		char *copy = strdup(header);
		for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n"))
			hs = curl_slist_append(hs, line);
		free(copy);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
	cr_assert_eq(curl_easy_perform(h), CURLE_OK, "%s %s", method, path);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
	curl_slist_free_all(hs);
	curl_easy_cleanup(h);
	if (!r.body)
		r.body = calloc(1, 1);
	return r;
}

void keep(struct browser *b, const struct reply *r)
{
	if (r->cookie[0])
		snprintf(b->cookie, sizeof(b->cookie), "%s", strcmp(r->cookie, "-") ? r->cookie : "");
	const char *t = strstr(r->body, "name=\"csrf\" value=\"");
	if (t)
		snprintf(b->csrf, sizeof(b->csrf), "%.*s", (int)strcspn(t + 19, "\""), t + 19);
}

struct reply get(struct browser *b, const char *path)
{
	struct reply r = request("GET", path, b->cookie, NULL, NULL, 0, NULL);
	keep(b, &r);
	return r;
}

/* A form: "name=value&..." (urlencoded by the caller), with the CSRF token
 * (csrf NULL: the browser's). */
struct reply post(struct browser *b, const char *path, const char *fields, const char *csrf)
{
	char *form = malloc(strlen(fields) + 128);
	sprintf(form, "csrf=%s%s%s", csrf ? csrf : b->csrf, fields[0] ? "&" : "", fields);
	struct reply r = request("POST", path, b->cookie, "application/x-www-form-urlencoded", form,
				 strlen(form), NULL);
	free(form);
	keep(b, &r);
	return r;
}

void done(struct reply *r)
{
	free(r->body);
	r->body = NULL;
}

