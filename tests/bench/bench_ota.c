/*
 * bench_ota.c - over-the-air figures for `make bench`.
 *
 * latency: a 64 KiB CAP loaded and installed through ecard-netfault with
 *   50 ms of delay each way (a 100 ms round trip), all in this process:
 *   ecard-server's HTTP side, the proxy, the agent and a card in memory.
 *   Batched (the server's defaults) against one APDU per exchange, side by
 *   side. Goals: batched within 1.0 s, and at least 25 times faster.
 *
 * topups SERVER_URL DB_URL ISSUER_DIR N...: the same with cards the
 *   issuer personalized, each with a job topping its wallet up online
 *   (INITIALIZE LOAD, S2, CREDIT, S3, and the issuer's books), against a
 *   server started with that issuer's keys. Goals: 500 top-ups a second on
 *   SQLite, 300 on PostgreSQL, orders within 100 ms at the 99th
 *   percentile.
 *
 * capacity --server URL --db URL --sessions N: N cards in memory, each
 *   with a job loading and installing a small CAP file, and N SERAM local
 *   agents in this process, all at once over HTTP (libcurl's multi
 *   interface), against a running ecard-server on the same database.
 *   Prints sessions, exchanges and APDUs per second, the latency of the
 *   orders (p50, p99) and the failures, which must be none. The load
 *   generator shares the machine with the server and its database, so it
 *   waits with epoll on the sockets libcurl names (its socket interface)
 *   and never walks all N agents or their sockets for one event.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <pthread.h>

#include "agent.h"
#include "bench_util.h"
#include "applets.h"
#include "capgen.h"
#include "card.h"
#include "db.h"
#include "http.h"
#include "inproc.h"
#include "netfault.h"
#include "ota.h"
#include "perso.h"
#include "seram.h"
#include "store.h"

static const uint8_t pkg[] = { 0xF0, 0x45, 0x43, 0x42, 0x4E, 0x43 };
static const uint8_t module[] = { 0xF0, 0x45, 0x43, 0x42, 0x4E, 0x43, 0x01 };

static void make_cap(const char *path, size_t size)
{
	struct capgen_applet app = { module, sizeof(module) };
	struct capgen_spec spec = { .package_aid = pkg, .package_aid_len = sizeof(pkg),
				    .version_major = 1, .applets = &app, .applet_count = 1,
				    .target_size = size };
	if (capgen_write_spec(&spec, path) != 0)
		bench_die("a CAP file could not be made: ", path);
}

/* ---- latency ---- */

static struct netfault nf;
static volatile int nf_running;
static pthread_mutex_t nf_lock = PTHREAD_MUTEX_INITIALIZER;

static void *nf_main(void *arg)
{
	static struct pollfd fds[2 * NF_CONNECTIONS_MAX + 1];
	(void)arg;
	while (nf_running) {
		int timeout;
		pthread_mutex_lock(&nf_lock);
		int n = nf_fill_pollfds(&nf, fds, 2 * NF_CONNECTIONS_MAX + 1, &timeout);
		pthread_mutex_unlock(&nf_lock);
		if (timeout < 0 || timeout > 5)
			timeout = 5;
		poll(fds, (nfds_t)n, timeout);
		pthread_mutex_lock(&nf_lock);
		nf_service(&nf, fds, n);
		pthread_mutex_unlock(&nf_lock);
	}
	return NULL;
}

struct run_result {
	double seconds;
	size_t exchanges;
	size_t apdus;
	bool ok;
};

static struct run_result one_load(const char *dir, const char *cap, size_t batch_commands,
				  long delay_ms, uint32_t number)
{
	struct http_options o = { .insecure = true, .threads = 2, .quiet = true };
	struct ec_error err = { 0 };
	struct run_result r = { 0 };
	struct http_server *srv;
	struct store *st;
	char db[512], base[64], cmd[64], reply[256];
	struct bench_card c;

	snprintf(db, sizeof(db), "sqlite:%s/latency-%u.db", dir, number);
	if (store_open(db, &st, &err) != EC_OK || db_migrate(st, &err) != EC_OK)
		bench_die("", err.text);
	o.db_url = db;
	o.ota.test_keys = true;
	o.ota.max_batch_commands = batch_commands;
	if (http_start(&o, &srv, &err) != EC_OK)
		bench_die("", err.text);
	bench_card_make(&c, number, 0);
	struct ota_load_args a = { .cap_path = cap, .install = module, .install_len = sizeof(module) };
	long long id;
	if (ota_add_load(st, c.id, &a, &id, &err) != EC_OK)
		bench_die("", err.text);

	/* The proxy in front of this server, with the delay each way. */
	struct sockaddr_storage lis, up;
	socklen_t ll, ul;
	char text[32];
	snprintf(text, sizeof(text), "127.0.0.1:%u", (unsigned)http_port(srv));
	if (!nf_parse_loopback("127.0.0.1:0", &lis, &ll) || !nf_parse_loopback(text, &up, &ul) ||
	    nf_open(&nf, &lis, ll, &up, ul) != 0)
		bench_die("", "the proxy could not start");
	snprintf(cmd, sizeof(cmd), "delay up %ld", delay_ms);
	nf_command(&nf, cmd, reply, sizeof(reply));
	snprintf(cmd, sizeof(cmd), "delay down %ld", delay_ms);
	nf_command(&nf, cmd, reply, sizeof(reply));
	nf_running = 1;
	pthread_t t;
	pthread_create(&t, NULL, nf_main, NULL);

	struct ec_agent_options opt = { .nservers = 1, .retry_s = 60 };
	struct ec_agent_stats stats;
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", (unsigned)nf_port(&nf));
	opt.servers[0] = base;
	double t0 = bench_now();
	enum ec_status s = ec_agent_run(&c.pc, &opt, &stats, &err);
	r.seconds = bench_now() - t0;
	r.exchanges = stats.exchanges;
	r.apdus = stats.apdus;
	r.ok = s == EC_OK && stats.jobs_done == 1;
	if (!r.ok)
		fprintf(stderr, "bench_ota: the load failed: %s\n", err.text);
	nf_running = 0;
	pthread_join(t, NULL);
	nf_close(&nf);
	http_stop(srv);
	store_close(st);
	bench_card_free(&c);
	return r;
}

static int latency(long delay_ms, size_t size)
{
	char dir[] = "/tmp/ecard-bench-ota-XXXXXX", cap[128], cmd[160];

	if (!mkdtemp(dir))
		bench_die("", strerror(errno));
	snprintf(cap, sizeof(cap), "%s/app.cap", dir);
	make_cap(cap, size);
	printf("over the air, %zu-byte CAP loaded and installed through ecard-netfault, %ld ms each way:\n",
	       size, delay_ms);
	struct run_result b = one_load(dir, cap, 0, delay_ms, 1);
	printf("  batched:       %7.3f s  %4zu HTTP exchanges  %4zu APDUs\n", b.seconds, b.exchanges,
	       b.apdus);
	struct run_result p = one_load(dir, cap, 1, delay_ms, 2);
	printf("  one APDU each: %7.3f s  %4zu HTTP exchanges  %4zu APDUs\n", p.seconds, p.exchanges,
	       p.apdus);
	double ratio = p.seconds / b.seconds;
	printf("  batched is %.1fx faster (goal: >= 25x); batched %.3f s (goal: <= 1.0 s)%s\n", ratio,
	       b.seconds, ratio >= 25 && b.seconds <= 1.0 ? "" : "  <- goal missed");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_ota: %s was left behind\n", dir);
	return b.ok && p.ok ? 0 : 1;
}

/* ---- capacity ---- */

struct vagent {
	struct bench_card c;
	CURL *easy;
	struct curl_slist *headers;
	char sid[37];
	char url[256];
	char *body;
	char *resp;
	size_t resp_len;
	int step;		/* 0: handshake sent, 1: reports */
	double sent;
	double due;		/* 0, or when the next report goes (think time) */
	char *pending;		/* that report */
	const char *pending_to;	/* its endpoint */
	bool done;
	bool failed;
	int jobs_done;
};

static const char *server_url;
static bool topups;			/* top-up jobs on personalized cards */
static struct ec_issuer topup_issuer;
static double think_s;		/* time a card and its link take per exchange */
static double *latencies;
static size_t nlat, cap_lat;
static size_t exchanges, apdus_total, failures;
static size_t ongoing;		/* agents not done */
static int epfd;		/* the sockets libcurl waits on */
static long curl_timeout_ms = -1;	/* when libcurl wants to be called, -1 none */

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct vagent *v = arg;
	size_t len = size * n;
	char *r = realloc(v->resp, v->resp_len + len + 1);
	if (!r)
		return 0;
	v->resp = r;
	memcpy(v->resp + v->resp_len, p, len);
	v->resp_len += len;
	v->resp[v->resp_len] = '\0';
	return len;
}

static void post(CURLM *m, struct vagent *v, const char *endpoint, char *body)
{
	char key[37], header[64];
	free(v->body);
	v->body = body;
	free(v->resp);
	v->resp = NULL;
	v->resp_len = 0;
	snprintf(v->url, sizeof(v->url), "%s/%s?sessionId=%s", server_url, endpoint, v->sid);
	curl_slist_free_all(v->headers);
	seram_new_session_id(key);
	snprintf(header, sizeof(header), "Idempotency-Key: %s", key);
	v->headers = curl_slist_append(NULL, "Content-Type: application/json");
	v->headers = curl_slist_append(v->headers, header);
	v->headers = curl_slist_append(v->headers, "Expect:");
	curl_easy_setopt(v->easy, CURLOPT_URL, v->url);
	curl_easy_setopt(v->easy, CURLOPT_HTTPHEADER, v->headers);
	curl_easy_setopt(v->easy, CURLOPT_POSTFIELDS, v->body);
	curl_easy_setopt(v->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(v->body));
	v->sent = bench_now();
	curl_multi_add_handle(m, v->easy);
}

static void fail(struct vagent *v, const char *why)
{
	if (!v->failed && failures < 5)
		fprintf(stderr, "bench_ota: card %s: %s\n", v->c.id, why);
	if (!v->done)
		ongoing--;
	v->failed = true;
	v->done = true;
	failures++;
}

/* libcurl's socket interface: which sockets to wait on, for what. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct epoll_event ev = { .data.fd = fd };
	(void)easy;
	(void)arg;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) != 0)
		epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
	(void)sockp;
	return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *arg)
{
	(void)m;
	(void)arg;
	curl_timeout_ms = timeout_ms;
	return 0;
}

/* An answer came: run it and send the next report. */
static void advance(CURLM *m, struct vagent *v, long status)
{
	struct ec_error err = { 0 };
	if (status != 200) {
		fail(v, "an HTTP status other than 200");
		return;
	}
	if (v->step == 0) {
		struct seram_report r = { .status = SERAM_POLLING };
		v->step = 1;
		post(m, v, "remoteManagement", seram_report_encode(&r));
		return;
	}
	struct seram_order o;
	if (seram_order_parse(v->resp, v->resp_len, &o, &err) != EC_OK) {
		seram_order_free(&o);
		fail(v, err.text);
		return;
	}
	struct seram_report r = { .status = SERAM_POLLING };
	bool stop = false;
	size_t executed = 0;
	for (size_t i = 0; i < o.count; i++) {
		struct seram_command *c = &o.commands[i];
		if (c->type == SERAM_CMD_STOP)
			stop = true;
		if (c->type == SERAM_CMD_NOTIFICATION && c->notification) {
			if (strstr(c->notification, "/done"))
				v->jobs_done++;
			if (strstr(c->notification, "/failed") || strstr(c->notification, "/interrupted"))
				fail(v, c->notification);
		}
		if (c->type != SERAM_CMD_SE_RAM)
			continue;
		struct seram_apdu_list *l = seram_report_add(&r);
		bool stopped = false;
		r.status = SERAM_PROCESSED;
		for (size_t k = 0; k < c->apdus.count; k++) {
			static uint8_t rsp[VC_RSP_MAX];
			size_t n = 0;
			if (stopped ||
			    vc_card_process(&v->c.card, c->apdus.items[k].bytes, c->apdus.items[k].len, rsp,
					    &n) != VC_OK) {
				seram_apdu_list_add(l, NULL, 0);
				stopped = true;
				continue;
			}
			apdus_total++;
			executed++;
			seram_apdu_list_add(l, rsp, n);
			uint16_t sw = (uint16_t)(rsp[n - 2] << 8 | rsp[n - 1]);
			if (sw != 0x9000 && (sw & 0xFF00) != 0x6100)
				stopped = true;
		}
	}
	seram_order_free(&o);
	if (stop) {
		seram_report_free(&r);
		if (!v->done)
			ongoing--;
		v->done = true;
		if (v->jobs_done != 1)
			fail(v, "the session ended without the job done");
		return;
	}
	r.executed = (long)executed;
	if (think_s > 0) {
		/* 0.8 to 1.2 times the think time: cards are not in step. */
		free(v->pending);
		v->pending = seram_report_encode(&r);
		v->pending_to = "remoteManagement";
		v->due = bench_now() + think_s * (0.8 + 0.4 * (double)rand() / RAND_MAX);
	} else {
		post(m, v, "remoteManagement", seram_report_encode(&r));
	}
	seram_report_free(&r);
}

/* The server's own order latency histogram (GET /metrics): cumulative
 * counts per bucket bound, in seconds. */
#define METRIC_BUCKETS 16
struct histogram {
	size_t n;
	double le[METRIC_BUCKETS];
	unsigned long long count[METRIC_BUCKETS];
};

static void server_histogram(struct histogram *h)
{
	struct vagent buf = { 0 };
	char url[300];
	CURL *c = curl_easy_init();

	memset(h, 0, sizeof(*h));
	snprintf(url, sizeof(url), "%s/metrics", server_url);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &buf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (curl_easy_perform(c) == CURLE_OK && buf.resp) {
		const char *key = "ecard_order_seconds_bucket{le=\"";
		for (const char *p = strstr(buf.resp, key); p && h->n < METRIC_BUCKETS;
		     p = strstr(p + 1, key)) {
			const char *v = p + strlen(key);
			h->le[h->n] = strncmp(v, "+Inf", 4) == 0 ? 1e9 : strtod(v, NULL);
			const char *end = strchr(v, '}');
			h->count[h->n++] = end ? strtoull(end + 1, NULL, 10) : 0;
		}
	}
	free(buf.resp);
	curl_easy_cleanup(c);
}

/* The bucket bound under which 99 % of the orders answered between the two
 * readings were made, in ms (-1 unknown). */
static double server_p99_ms(const struct histogram *before, const struct histogram *after)
{
	if (after->n == 0 || after->n != before->n)
		return -1;
	unsigned long long total = after->count[after->n - 1] - before->count[before->n - 1];
	for (size_t i = 0; i < after->n && total; i++)
		if ((double)(after->count[i] - before->count[i]) >= 0.99 * (double)total)
			return after->le[i] * 1e3;
	return -1;
}

static int capacity(const char *db_url, size_t n, size_t cap_size)
{
	char dir[] = "/tmp/ecard-bench-load-XXXXXX", cap[128];
	struct ec_error err = { 0 };
	struct store *st;

	struct rlimit rl = { 65536, 65536 };
	setrlimit(RLIMIT_NOFILE, &rl);
	if (!mkdtemp(dir))
		bench_die("", strerror(errno));
	snprintf(cap, sizeof(cap), "%s/small.cap", dir);
	make_cap(cap, cap_size);
	if (store_open(db_url, &st, &err) != EC_OK || db_migrate(st, &err) != EC_OK)
		bench_die("", err.text);

	/* The cards, and a job for each: the first through ota_add_load, the
	 * others copies of it in one transaction. */
	double t0 = bench_now();
	struct vagent *v = calloc(n, sizeof(*v));
	static uint32_t run;
	run++;
	for (size_t i = 0; i < n; i++) {
		bench_card_make(&v[i].c, (uint32_t)(run << 24 | (i + 1)) ^ (uint32_t)getpid() << 12, 96 * 1024);
		if (topups) {
			struct ec_gp_keys test;
			ec_gp_default_keys(&test, 0);
			if (ec_personalize(&topup_issuer, &v[i].c.pc, NULL, &test, NULL, NULL, &err) != EC_OK)
				bench_die("a card could not be personalized: ", err.text);
		}
	}
	struct ota_load_args a = { .cap_path = cap, .install = module, .install_len = sizeof(module) };
	long long first;
	if ((topups ? ota_add_topup(st, v[0].c.id, "1.00", NULL, &first, &err)
		    : ota_add_load(st, v[0].c.id, &a, &first, &err)) != EC_OK)
		bench_die("", err.text);
	struct db_job tmpl;
	if (db_job_get(st, first, false, &tmpl, &err) != EC_OK || store_begin(st, &err) != EC_OK)
		bench_die("", err.text);
	for (size_t i = 1; i < n; i++) {
		struct db_job j = tmpl;
		j.params = strdup(tmpl.params);
		snprintf(j.card, sizeof(j.card), "%s", v[i].c.id);
		if (db_job_add(st, &j, &err) != EC_OK)
			bench_die("", err.text);
		free(j.params);
	}
	if (store_commit(st, &err) != EC_OK)
		bench_die("", err.text);
	db_job_free(&tmpl);
	printf("  %zu cards and jobs ready in %.1f s\n", n, bench_now() - t0);

	CURLM *m = curl_multi_init();
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)n + 16);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	curl_timeout_ms = -1;
	curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timer);
	ongoing = n;
	struct histogram before, after;
	server_histogram(&before);
	exchanges = apdus_total = failures = nlat = 0;
	cap_lat = 8 * n + 64;
	latencies = malloc(cap_lat * sizeof(*latencies));
	t0 = bench_now();
	for (size_t i = 0; i < n; i++) {
		struct seram_handshake hs = { .se_count = 1 };
		v[i].easy = curl_easy_init();
		curl_easy_setopt(v[i].easy, CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(v[i].easy, CURLOPT_WRITEDATA, &v[i]);
		curl_easy_setopt(v[i].easy, CURLOPT_PRIVATE, &v[i]);
		curl_easy_setopt(v[i].easy, CURLOPT_TIMEOUT, 120L);
		curl_easy_setopt(v[i].easy, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(v[i].easy, CURLOPT_TCP_NODELAY, 1L);
		seram_new_session_id(v[i].sid);
		snprintf(hs.se[0].type, sizeof(hs.se[0].type), "eSE");
		snprintf(hs.se[0].id, sizeof(hs.se[0].id), "%s", v[i].c.id);
		if (think_s > 0) {
			/* Paced agents come over one think time, not all at once. */
			v[i].pending = seram_handshake_encode(&hs);
			v[i].pending_to = "handshake";
			v[i].due = t0 + think_s * (double)rand() / RAND_MAX;
		} else {
			post(m, &v[i], "handshake", seram_handshake_encode(&hs));
		}
	}
	int running = 0;
	static struct epoll_event events[512];
	curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
	while (ongoing > 0) {
		long wait = curl_timeout_ms < 0 ? 100 : curl_timeout_ms;
		if (think_s > 0 && wait > 2)
			wait = 2;
		int k = epoll_wait(epfd, events, (int)(sizeof(events) / sizeof(events[0])), (int)wait);
		for (int e = 0; e < k; e++) {
			int flags = (events[e].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
				    (events[e].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
				    (events[e].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
			curl_multi_socket_action(m, events[e].data.fd, flags, &running);
		}
		if (k <= 0)
			curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(m, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			struct vagent *a2;
			long status = 0;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&a2);
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
			CURLcode rc = msg->data.result;
			curl_multi_remove_handle(m, msg->easy_handle);
			if (nlat < cap_lat)
				latencies[nlat++] = bench_now() - a2->sent;
			exchanges++;
			if (rc != CURLE_OK)
				fail(a2, curl_easy_strerror(rc));
			else
				advance(m, a2, status);
		}
		/* Paced reports whose think time is over. */
		if (think_s > 0) {
			double now = bench_now();
			for (size_t i = 0; i < n; i++)
				if (v[i].pending && v[i].due <= now) {
					char *body = v[i].pending;
					v[i].pending = NULL;
					post(m, &v[i], v[i].pending_to, body);
				}
		}
	}
	double secs = bench_now() - t0;
	server_histogram(&after);
	double server_p99 = server_p99_ms(&before, &after);
	double p50 = bench_percentile(latencies, nlat, 50), p99 = bench_percentile(latencies, nlat, 99);
	size_t done = 0;
	for (size_t i = 0; i < n; i++)
		done += v[i].jobs_done;
	printf("  %6zu concurrent %s%s: %6.2f s, %6.0f %s/s, %6.0f exchanges/s, %6.0f APDUs/s,"
	       " order latency p50 %.1f ms p99 %.1f ms (in the server: p99 <= %.0f ms);"
	       " %zu jobs done, %zu failures\n",
	       n, topups ? "top-ups" : "sessions", think_s > 0 ? " (1 exchange/s each)" : "", secs,
	       n / secs, topups ? "top-ups" : "sessions", exchanges / secs,
	       apdus_total / secs, p50 * 1e3, p99 * 1e3, server_p99, done, failures);
	for (size_t i = 0; i < n; i++) {
		curl_easy_cleanup(v[i].easy);
		curl_slist_free_all(v[i].headers);
		free(v[i].body);
		free(v[i].resp);
		free(v[i].pending);
		bench_card_free(&v[i].c);
	}
	free(v);
	free(latencies);
	curl_multi_cleanup(m);
	close(epfd);
	store_close(st);
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_ota: %s was left behind\n", dir);
	return failures || done != n ? 1 : 0;
}

int main(int argc, char **argv)
{
	bench_name = "bench_ota";
	/* As ecard-server: no mapping and unmapping of every large buffer. */
	mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024 * 1024);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (argc >= 2 && strcmp(argv[1], "latency") == 0)
		return latency(argc >= 3 ? atol(argv[2]) : 50, argc >= 4 ? (size_t)atol(argv[3]) : 64 * 1024);
	if (argc >= 5 && strcmp(argv[1], "capacity") == 0) {
		server_url = argv[2];
		int rc = 0;
		/* N: as fast as they can; N/paced: each agent one exchange a
		 * second, as a card and a mobile link would. */
		for (int i = 4; i < argc; i++) {
			think_s = strstr(argv[i], "/paced") ? 1.0 : 0;
			rc |= capacity(argv[3], (size_t)atol(argv[i]), 2000);
		}
		return rc;
	}
	if (argc >= 6 && strcmp(argv[1], "topups") == 0) {
		struct ec_error err = { 0 };
		server_url = argv[2];
		topups = true;
		if (ec_issuer_load(argv[4], &topup_issuer, &err) != EC_OK)
			bench_die("", err.text);
		int rc = 0;
		for (int i = 5; i < argc; i++) {
			think_s = strstr(argv[i], "/paced") ? 1.0 : 0;
			rc |= capacity(argv[3], (size_t)atol(argv[i]), 2000);
		}
		ec_issuer_wipe(&topup_issuer);
		return rc;
	}
	fprintf(stderr, "usage: bench_ota latency [DELAY_MS [CAP_BYTES]]\n"
			"       bench_ota topups SERVER_URL DB_URL ISSUER_DIR SESSIONS[/paced]...\n"
			"       bench_ota capacity SERVER_URL DB_URL SESSIONS[/paced]...\n");
	return 2;
}
