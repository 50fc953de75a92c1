/*
 * main.c - ecard-shop: the web shop paid by the card (serve), its
 * catalogue (seed, product), its customers and orders, and the records
 * it sends to the issuer for settlement.
 *
 * Exit status: 0 success, 1 refused (the issuer refused records), 2 usage
 * or environment (bad arguments, a database or file that cannot be
 * opened, an issuer that cannot be reached).
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "amount.h"
#include "catalogue.h"
#include "config.h"
#include "holders.h"
#include "http.h"
#include "merchant.h"
#include "pay.h"
#include "port_file.h"
#include "sales.h"
#include "shop.h"
#include "store.h"

#define PROGRAM "ecard-shop"
#define DB_ENV "ECARD_SHOP_DB"
#define SETTLE_BATCH 5000

static const char usage_main[] =
	"usage: ecard-shop COMMAND [OPTIONS]\n"
	"\n"
	"A web shop (\"SmartMarket\") whose customers pay with their ecard: the shop\n"
	"signs the debit request with its merchant key, the holder's agent\n"
	"(ecard agent --listen) asks for the PIN and relays, the card signs, and the\n"
	"shop checks the signed record at once and sends it to the issuer later.\n"
	"\n"
	"commands:\n"
	"  serve      run the shop (HTTPS)\n"
	"  seed       fill the catalogue with made-up products (tests, benchmarks)\n"
	"  product    add a product\n"
	"  customer   list the customers, make one staff\n"
	"  order      list the orders\n"
	"  settle     send the records the cards signed to the issuer\n"
	"  migrate    create the database or bring its schema up to date\n"
	"\n"
	"Every command takes --db sqlite:PATH or --db postgresql://... (default:\n"
	"the environment variable " DB_ENV ").\n"
	"\"ecard-shop COMMAND --help\" tells more; --version prints the version.\n";

static const char usage_serve[] =
	"usage: ecard-shop serve --db URL [--listen ADDR:PORT] (--cert FILE --key FILE | --insecure-http)\n"
	"                        [--name NAME] [--merchant FILE] [--currency CODE] [--agent URL]\n"
	"                        [--threads N] [--port-file FILE] [--quiet]\n"
	"                        [--settle-to URL --settle-token-file FILE [--settle-every SECONDS]\n"
	"                         [--ca FILE]]\n"
	"\n"
	"  --listen ADDR:PORT   where to listen (default 127.0.0.1:8444; port 0: a free one,\n"
	"                       written to --port-file)\n"
	"  --cert, --key        the shop's certificate and private key (PEM) for HTTPS\n"
	"  --insecure-http      plain HTTP, for tests on loopback only\n"
	"  --name NAME          the shop's name, on its pages and in the holder's PIN\n"
	"                       prompt (default SmartMarket)\n"
	"  --merchant FILE      the shop's merchant file (ecard merchant init): its key\n"
	"                       signs the debit requests; without it, no card payments\n"
	"  --currency CODE      prices' currency when there is no merchant file (978)\n"
	"  --agent URL          where the pages reach the holder's agent (default\n"
	"                       http://127.0.0.1:8855, as ecard agent --listen)\n"
	"  --threads N          workers answering requests, each with its own\n"
	"                       database connection (2)\n"
	"  --settle-to URL      the issuer's server: the signed records go to\n"
	"                       URL/api/settlement every --settle-every seconds (300),\n"
	"                       with the merchant token read from --settle-token-file\n";

static const char usage_seed[] =
	"usage: ecard-shop seed --db URL [--products N] [--seed N]\n"
	"\n"
	"Add N made-up products (default 10000) in ten categories, the same for the\n"
	"same --seed: for tests and benchmarks.\n";

static const char usage_product[] =
	"usage: ecard-shop product add --db URL --category NAME --name NAME --price AMOUNT\n"
	"                              [--stock N] [--description TEXT] [--currency CODE]\n";

static const char usage_customer[] =
	"usage: ecard-shop customer list --db URL\n"
	"       ecard-shop customer staff EMAIL --db URL [--off]\n"
	"\n"
	"Customers sign up on the shop's pages; staff may add products and ship\n"
	"orders on /admin.\n";

static const char usage_order[] = "usage: ecard-shop order list --db URL [--json]\n";

static const char usage_settle[] =
	"usage: ecard-shop settle --db URL --to URL --token-file FILE [--ca FILE]\n"
	"\n"
	"Send the debit records the cards signed and the shop has not sent yet to\n"
	"the issuer's server (URL/api/settlement, as ecard-server serve), with the\n"
	"merchant's upload token (ecard-server merchant add): the issuer pays the\n"
	"shop for each record once.\n";

static int fail(const struct ec_error *err, int code)
{
	fprintf(stderr, PROGRAM ": %s\n", err->text);
	return code;
}

static int usage_error(const char *text, const char *usage)
{
	fprintf(stderr, PROGRAM ": %s\n\n%s", text, usage);
	return 2;
}

static int open_db(const char *url, struct store **st)
{
	struct ec_error err;

	if (!url)
		url = getenv(DB_ENV);
	if (!url) {
		fprintf(stderr, PROGRAM ": no database: give --db sqlite:PATH or --db postgresql://... (or set " DB_ENV ").\n");
		return 2;
	}
	if (store_open(url, st, &err) != EC_OK)
		return fail(&err, 2);
	if (shop_migrate(*st, &err) != EC_OK) {
		store_close(*st);
		return fail(&err, 2);
	}
	return 0;
}

static bool parse_currency(const char *text, uint16_t *out)
{
	char *end;
	unsigned long v = strtoul(text, &end, 10);
	if (*end || v == 0 || v > 999)
		return false;
	*out = (uint16_t)v;
	return true;
}

/* ---- settlement ---- */

struct reply {
	char *data;
	size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t add = size * n;
	if (r->len + add > 1024 * 1024)
		return 0;
	char *grown = realloc(r->data, r->len + add + 1);
	if (!grown)
		return 0;
	memcpy(grown + r->len, ptr, add);
	r->data = grown;
	r->len += add;
	r->data[r->len] = '\0';
	return add;
}

/* Send what is not settled, in batches; the number sent in *sent. */
static enum ec_status settle_once(struct store *st, const char *to, const char *token,
				  const char *ca, size_t *sent, struct ec_error *err)
{
	char url[1024], auth[512];
	*sent = 0;
	snprintf(url, sizeof(url), "%s%sapi/settlement", to, to[0] && to[strlen(to) - 1] == '/' ? "" : "/");
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	for (;;) {
		char *lines;
		size_t n;
		enum ec_status s = pay_unsettled(st, SETTLE_BATCH, &lines, &n, err);
		if (s != EC_OK)
			return s;
		if (n == 0) {
			free(lines);
			return EC_OK;
		}
		CURL *curl = curl_easy_init();
		struct curl_slist *h = NULL;
		struct reply r = { 0 };
		long status = 0;
		if (!curl) {
			free(lines);
			return ec_error_set(err, EC_ERR_NETWORK, "libcurl could not start.");
		}
		h = curl_slist_append(h, auth);
		h = curl_slist_append(h, "Content-Type: application/json");
		h = curl_slist_append(h, "Expect:");
		curl_easy_setopt(curl, CURLOPT_URL, url);
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, lines);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(lines));
		curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r);
		curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
		curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
		if (ca)
			curl_easy_setopt(curl, CURLOPT_CAINFO, ca);
		CURLcode rc = curl_easy_perform(curl);
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		curl_slist_free_all(h);
		curl_easy_cleanup(curl);
		if (rc != CURLE_OK || status != 200) {
			if (rc != CURLE_OK)
				s = ec_error_set(err, EC_ERR_NETWORK, "the issuer at %s did not answer: %s.", to,
						 curl_easy_strerror(rc));
			else
				s = ec_error_set(err, EC_ERR_CHECK, "the issuer refused the records (HTTP %ld): %.300s",
						 status, r.data ? r.data : "");
			free(r.data);
			free(lines);
			return s;
		}
		free(r.data);
		/* The issuer took them (each record is paid once however often
		 * it is sent): they are settled. */
		s = pay_mark_settled(st, lines, err);
		free(lines);
		if (s != EC_OK)
			return s;
		*sent += n;
	}
}

static char *read_token(const char *path, struct ec_error *err)
{
	char line[256];
	FILE *f = fopen(path, "r");
	if (!f) {
		ec_error_set(err, EC_ERR_FILE, "%s cannot be read.", path);
		return NULL;
	}
	bool ok = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (!ok || !line[0] || strpbrk(line, " \t")) {
		ec_error_set(err, EC_ERR_FORMAT, "%s does not hold a merchant token on its first line.", path);
		return NULL;
	}
	return strdup(line);
}

/* ---- serve ---- */

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

struct settler {
	const char *db, *to, *token, *ca;
	long every_s;
};

static void *settler_main(void *arg)
{
	struct settler *s = arg;
	struct store *st = NULL;
	struct ec_error err;

	while (!stopping) {
		for (long waited = 0; waited < s->every_s * 10 && !stopping; waited++) {
			struct timespec t = { 0, 100 * 1000000L };
			nanosleep(&t, NULL);
		}
		if (stopping)
			break;
		size_t sent;
		if (!st && store_open(s->db, &st, &err) != EC_OK) {
			fprintf(stderr, PROGRAM ": settlement: %s\n", err.text);
			st = NULL;
			continue;
		}
		if (settle_once(st, s->to, s->token, s->ca, &sent, &err) != EC_OK)
			fprintf(stderr, PROGRAM ": settlement: %s (tried again later)\n", err.text);
		else if (sent)
			fprintf(stderr, PROGRAM ": settlement: %zu records sent to the issuer\n", sent);
	}
	store_close(st);
	return NULL;
}

static int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "insecure-http", no_argument, NULL, 'I' },
		{ "name", required_argument, NULL, 'n' },
		{ "merchant", required_argument, NULL, 'm' },
		{ "currency", required_argument, NULL, 'C' },
		{ "agent", required_argument, NULL, 'a' },
		{ "threads", required_argument, NULL, 't' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "settle-to", required_argument, NULL, 'S' },
		{ "settle-token-file", required_argument, NULL, 'T' },
		{ "settle-every", required_argument, NULL, 'E' },
		{ "ca", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct shop_config cfg;
	struct http_options o;
	struct http_site site;
	struct ec_merchant merchant;
	const char *merchant_file = NULL, *port_file = NULL, *token_file = NULL;
	char listen_buf[128] = "127.0.0.1:8444";
	struct settler settler = { .every_s = 300 };
	struct ec_error err;
	int c;

	memset(&o, 0, sizeof(o));
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.name, sizeof(cfg.name), "SmartMarket");
	cfg.currency = 978;
	cfg.agent_url = "http://127.0.0.1:8855";
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'd': o.db_url = optarg; break;
		case 'l': snprintf(listen_buf, sizeof(listen_buf), "%s", optarg); break;
		case 'c': o.cert_pem = optarg; break;
		case 'k': o.key_pem = optarg; break;
		case 'I': o.insecure = true; break;
		case 'n':
			if (!web_text_ok(optarg, 1, SHOP_NAME_MAX, false))
				return usage_error("--name takes 1 to 60 bytes of text.", usage_serve);
			snprintf(cfg.name, sizeof(cfg.name), "%s", optarg);
			break;
		case 'm': merchant_file = optarg; break;
		case 'C':
			if (!parse_currency(optarg, &cfg.currency))
				return usage_error("--currency takes an ISO 4217 numeric code (978).", usage_serve);
			break;
		case 'a':
			if (strncmp(optarg, "http://", 7) != 0 && strncmp(optarg, "https://", 8) != 0)
				return usage_error("--agent takes the agent's URL, e.g. http://127.0.0.1:8855.", usage_serve);
			cfg.agent_url = optarg;
			break;
		case 't':
			o.threads = (unsigned)strtoul(optarg, &end, 10);
			if (*end || o.threads == 0 || o.threads > 256)
				return usage_error("--threads takes 1 to 256.", usage_serve);
			break;
		case 'p': port_file = optarg; break;
		case 'q': o.quiet = true; break;
		case 'S': settler.to = optarg; break;
		case 'T': token_file = optarg; break;
		case 'E':
			settler.every_s = strtol(optarg, &end, 10);
			if (*end || settler.every_s < 1 || settler.every_s > 86400)
				return usage_error("--settle-every takes 1 to 86400 seconds.", usage_serve);
			break;
		case 'A': settler.ca = optarg; break;
		case 'h': fputs(usage_serve, stdout); return 0;
		default: return usage_error("unknown option.", usage_serve);
		}
	}
	if (optind < argc)
		return usage_error("serve takes no arguments.", usage_serve);
	if (!listen_parse(listen_buf, &o.host, &o.port))
		return usage_error("--listen takes ADDR:PORT, e.g. 127.0.0.1:8444 or [::1]:8444.", usage_serve);
	if (o.insecure && (o.cert_pem || o.key_pem))
		return usage_error("--insecure-http and --cert/--key exclude each other.", usage_serve);
	if (!settler.to != !token_file)
		return usage_error("--settle-to and --settle-token-file go together.", usage_serve);
	if (!o.db_url)
		o.db_url = getenv(DB_ENV);
	struct store *st;
	int rc = open_db(o.db_url, &st);
	if (rc)
		return rc;
	store_close(st);
	if (merchant_file) {
		if (ec_merchant_load(merchant_file, &merchant, &err) != EC_OK)
			return fail(&err, 2);
		cfg.pay.merchant = &merchant;
		cfg.currency = merchant.currency;
	}
	char *token = NULL;
	if (token_file && !(token = read_token(token_file, &err))) {
		if (merchant_file)
			ec_merchant_wipe(&merchant);
		return fail(&err, 2);
	}
	cfg.insecure = o.insecure;
	shop_site(&cfg, &site);
	o.site = &site;
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct http_server *srv;
	if (http_start(&o, &srv, &err) != EC_OK) {
		if (merchant_file)
			ec_merchant_wipe(&merchant);
		free(token);
		return fail(&err, 2);
	}
	fprintf(stderr, PROGRAM ": %s listening on %s port %u (%s), database %s%s\n", cfg.name, o.host,
		(unsigned)http_port(srv), o.insecure ? "plain HTTP" : "HTTPS",
		strncmp(o.db_url, "sqlite:", 7) == 0 ? o.db_url : "postgresql",
		merchant_file ? "" : "; no merchant file: no card payments");
	if (port_file && port_file_write(port_file, http_port(srv)) != 0) {
		fprintf(stderr, PROGRAM ": %s could not be written.\n", port_file);
		http_stop(srv);
		return 2;
	}
	pthread_t settle_thread;
	bool settling = false;
	if (settler.to) {
		settler.db = o.db_url;
		settler.token = token;
		settling = pthread_create(&settle_thread, NULL, settler_main, &settler) == 0;
	}
	while (!stopping)
		pause();
	if (settling)
		pthread_join(settle_thread, NULL);
	http_stop(srv);
	if (merchant_file)
		ec_merchant_wipe(&merchant);
	free(token);
	fprintf(stderr, PROGRAM ": stopped\n");
	return 0;
}

/* ---- the catalogue ---- */

static void seed_progress(void *arg, size_t done, size_t count)
{
	(void)arg;
	fprintf(stderr, "\r" PROGRAM ": %zu of %zu products", done, count);
	if (done == count)
		fputc('\n', stderr);
}

static int cmd_seed(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "products", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = NULL;
	unsigned long count = 10000;
	unsigned long long seed = 1;
	struct ec_error err;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'd': db = optarg; break;
		case 'n':
			count = strtoul(optarg, &end, 10);
			if (*end || count == 0 || count > 10000000)
				return usage_error("--products takes 1 to 10000000.", usage_seed);
			break;
		case 's':
			seed = strtoull(optarg, &end, 10);
			if (*end)
				return usage_error("--seed takes a number.", usage_seed);
			break;
		case 'h': fputs(usage_seed, stdout); return 0;
		default: return usage_error("unknown option.", usage_seed);
		}
	}
	if (optind < argc)
		return usage_error("seed takes no arguments.", usage_seed);
	struct store *st;
	int rc = open_db(db, &st);
	if (rc)
		return rc;
	enum ec_status s = catalogue_seed(st, count, seed, isatty(2) ? seed_progress : NULL, NULL, &err);
	store_close(st);
	if (s != EC_OK)
		return fail(&err, 2);
	printf("%lu products added\n", count);
	return 0;
}

static int cmd_product(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "category", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "price", required_argument, NULL, 'p' },
		{ "stock", required_argument, NULL, 's' },
		{ "description", required_argument, NULL, 'D' },
		{ "currency", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = NULL, *category = NULL, *name = NULL, *price = NULL, *description = "";
	long long stock = 10;
	uint16_t currency = 978;
	struct ec_error err;
	int c;

	optind = 1;
	if (argc < 2 || strcmp(argv[1], "add") != 0) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
			fputs(usage_product, stdout);
			return 0;
		}
		return usage_error("product takes add.", usage_product);
	}
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'd': db = optarg; break;
		case 'c': category = optarg; break;
		case 'n': name = optarg; break;
		case 'p': price = optarg; break;
		case 'D': description = optarg; break;
		case 's':
			stock = strtoll(optarg, &end, 10);
			if (*end || stock < 0 || stock > PRODUCT_STOCK_MAX)
				return usage_error("--stock takes 0 to 1000000.", usage_product);
			break;
		case 'C':
			if (!parse_currency(optarg, &currency))
				return usage_error("--currency takes an ISO 4217 numeric code (978).", usage_product);
			break;
		case 'h': fputs(usage_product, stdout); return 0;
		default: return usage_error("unknown option.", usage_product);
		}
	}
	if (!category || !name || !price)
		return usage_error("product add needs --category, --name and --price.", usage_product);
	struct product *p = calloc(1, sizeof(*p));
	uint32_t minor;
	if (!p)
		return 2;
	enum ec_amount_status as = ec_amount_parse(price, currency, &minor);
	if (as != EC_AMOUNT_OK) {
		free(p);
		fprintf(stderr, PROGRAM ": --price: %s.\n", ec_amount_strerror(as));
		return 2;
	}
	snprintf(p->category_name, sizeof(p->category_name), "%s", category);
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->description, sizeof(p->description), "%s", description);
	if (strlen(category) > CATEGORY_NAME_MAX || strlen(name) > PRODUCT_NAME_MAX ||
	    strlen(description) > PRODUCT_TEXT_MAX) {
		free(p);
		return usage_error("the category, name or description is too long.", usage_product);
	}
	p->price = minor;
	p->stock = stock;
	struct store *st;
	int rc = open_db(db, &st);
	if (rc) {
		free(p);
		return rc;
	}
	enum ec_status s = catalogue_add(st, p, &err);
	store_close(st);
	if (s == EC_OK)
		printf("product %lld added\n", p->id);
	free(p);
	return s == EC_OK ? 0 : fail(&err, s == EC_ERR_ARG ? 2 : 1);
}

/* ---- customers and orders ---- */

static int cmd_customer(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "off", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = NULL;
	bool off = false;
	struct ec_error err;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd')
			db = optarg;
		else if (c == 'o')
			off = true;
		else if (c == 'h') {
			fputs(usage_customer, stdout);
			return 0;
		} else
			return usage_error("unknown option.", usage_customer);
	}
	const char *verb = optind < argc ? argv[optind] : "";
	bool list = strcmp(verb, "list") == 0 && optind + 1 == argc;
	bool staff = strcmp(verb, "staff") == 0 && optind + 2 == argc;
	if (!list && !staff)
		return usage_error("customer takes list, or staff EMAIL.", usage_customer);
	struct store *st;
	int rc = open_db(db, &st);
	if (rc)
		return rc;
	if (staff) {
		enum ec_status s = holders_set_staff(st, argv[optind + 1], !off, &err);
		store_close(st);
		if (s != EC_OK)
			return fail(&err, 1);
		printf("%s is %s\n", argv[optind + 1], off ? "no longer staff" : "staff");
		return 0;
	}
	struct store_result r;
	enum ec_status s = store_exec(st, "SELECT id, email, name, staff FROM holders ORDER BY id", NULL, 0,
				      &r, &err);
	store_close(st);
	if (s != EC_OK)
		return fail(&err, 2);
	for (size_t i = 0; i < r.rows; i++)
		printf("%s\t%s\t%s%s\n", store_cell(&r, i, 0), store_cell(&r, i, 1), store_cell(&r, i, 2),
		       store_cell_ll(&r, i, 3, 0) ? "\tstaff" : "");
	store_result_free(&r);
	return 0;
}

static int cmd_order(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = NULL;
	bool json = false;
	struct ec_error err;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd')
			db = optarg;
		else if (c == 'j')
			json = true;
		else if (c == 'h') {
			fputs(usage_order, stdout);
			return 0;
		} else
			return usage_error("unknown option.", usage_order);
	}
	if (optind + 1 != argc || strcmp(argv[optind], "list") != 0)
		return usage_error("order takes list.", usage_order);
	struct store *st;
	int rc = open_db(db, &st);
	if (rc)
		return rc;
	struct sale *s;
	size_t n;
	enum ec_status es = sale_list(st, 0, &s, &n, &err);
	store_close(st);
	if (es != EC_OK)
		return fail(&err, 2);
	for (size_t i = 0; i < n; i++) {
		if (json)
			printf("{\"id\":%lld,\"customer\":%lld,\"state\":\"%s\",\"total\":%lld}\n", s[i].id,
			       s[i].customer, s[i].state, s[i].total);
		else
			printf("%lld\t%s\t%lld\tcustomer %lld\n", s[i].id, s[i].state, s[i].total, s[i].customer);
	}
	free(s);
	return 0;
}

static int cmd_settle(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "to", required_argument, NULL, 't' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "ca", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = NULL, *to = NULL, *token_file = NULL, *ca = NULL;
	struct ec_error err;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 't': to = optarg; break;
		case 'T': token_file = optarg; break;
		case 'A': ca = optarg; break;
		case 'h': fputs(usage_settle, stdout); return 0;
		default: return usage_error("unknown option.", usage_settle);
		}
	}
	if (!to || !token_file || optind < argc)
		return usage_error("settle needs --to and --token-file.", usage_settle);
	char *token = read_token(token_file, &err);
	if (!token)
		return fail(&err, 2);
	struct store *st;
	int rc = open_db(db, &st);
	if (rc) {
		free(token);
		return rc;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	size_t sent;
	enum ec_status s = settle_once(st, to, token, ca, &sent, &err);
	store_close(st);
	free(token);
	if (s != EC_OK)
		return fail(&err, s == EC_ERR_CHECK ? 1 : 2);
	printf("%zu record%s sent to the issuer\n", sent, sent == 1 ? "" : "s");
	return 0;
}

static int cmd_migrate(int argc, char **argv)
{
	const char *db = NULL;
	struct store *st;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			db = argv[++i];
		else if (strncmp(argv[i], "--db=", 5) == 0)
			db = argv[i] + 5;
		else if (strcmp(argv[i], "--help") == 0) {
			puts("usage: ecard-shop migrate --db URL\n\nCreate the database, or bring its schema up to date.");
			return 0;
		} else
			return usage_error("unknown option.", usage_main);
	}
	if ((rc = open_db(db, &st)))
		return rc;
	store_close(st);
	printf("database ready\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("a command is needed.", usage_main);
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage_main, stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf(PROGRAM " %s\n", PACKAGE_VERSION);
		return 0;
	}
	static const struct {
		const char *name;
		int (*run)(int, char **);
	} cmds[] = {
		{ "serve", cmd_serve }, { "seed", cmd_seed }, { "product", cmd_product },
		{ "customer", cmd_customer }, { "order", cmd_order }, { "settle", cmd_settle },
		{ "migrate", cmd_migrate },
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmd, cmds[i].name) == 0)
			return cmds[i].run(argc - 1, argv + 1);
	fprintf(stderr, PROGRAM ": unknown command \"%s\".\n\n%s", cmd, usage_main);
	return 2;
}
