/*
 * test_host_wallet.c - libecard's purse clients: amounts, key files, the
 * issuer directory and its load authorisation, the merchant file, PIN
 * blocks and profile names, and then the whole chain end to end against
 * an in-process card (vcard-daemon/inproc.h): factory personalization, top-up,
 * purchase, balance and log, with answers lost on the way.
 *
 * The lost answers are made by a transport wrapped around the in-process
 * one: it lets the card process a command and then reports the card as
 * removed (SCARD_W_REMOVED_CARD) instead of returning the answer, or drops
 * the command before the card sees it. The clients must then find out
 * from the card what happened, and never debit or credit twice.
 *
 * Key files go to a fresh directory under /tmp per test, removed after.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "amount.h"
#include "applets.h"
#include "card.h"
#include "crypto.h"
#include "cursor.h"
#include "hex.h"
#include "inproc.h"
#include "issuer.h"
#include "keyfile.h"
#include "merchant.h"
#include "purse.h"
#include "wallet.h"
#include "test_support.h"

#define EUR 978
#define JPY 392
#define KWD 414
#define IMAGE_SIZE (256u * 1024u)

/* ---- temporary directory ---- */

static char tmpdir[64];

static void make_tmpdir(void)
{
	ts_tmpdir_make(tmpdir, sizeof(tmpdir), "host-test");
}

static void remove_tmpdir(void)
{
	ts_tmpdir_remove(tmpdir);
}

static const char *tmp_path(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", tmpdir, name);
	return buf;
}

static unsigned file_mode(const char *path)
{
	struct stat st;
	cr_assert_eq(stat(path, &st), 0, "%s does not exist", path);
	return (unsigned)(st.st_mode & 07777);
}

/* ---- amounts ---- */

static uint32_t parse_ok(const char *text, uint16_t currency)
{
	uint32_t v = 0xDEADBEEF;
	enum ec_amount_status st = ec_amount_parse(text, currency, &v);
	cr_assert_eq(st, EC_AMOUNT_OK, "\"%s\": %s", text, ec_amount_strerror(st));
	return v;
}

static void parse_fails(const char *text, uint16_t currency, enum ec_amount_status want)
{
	uint32_t v = 0xDEADBEEF;
	enum ec_amount_status st = ec_amount_parse(text, currency, &v);
	cr_assert_eq(st, want, "\"%s\" gave %d (%s), want %d", text, st, ec_amount_strerror(st),
		     want);
	cr_assert_eq(v, 0xDEADBEEF, "\"%s\": a refused amount must leave the output alone", text);
}

Test(amount, currency_table)
{
	static const struct {
		uint16_t numeric;
		const char *code;
		uint8_t exponent;
	} want[] = {
		{ 978, "EUR", 2 }, { 840, "USD", 2 }, { 826, "GBP", 2 }, { 756, "CHF", 2 },
		{ 392, "JPY", 0 }, { 752, "SEK", 2 }, { 578, "NOK", 2 }, { 208, "DKK", 2 },
		{ 985, "PLN", 2 }, { 203, "CZK", 2 },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct ec_currency *c = ec_currency_by_numeric(want[i].numeric);
		cr_assert_not_null(c, "%u missing", want[i].numeric);
		cr_assert_str_eq(c->code, want[i].code);
		cr_assert_eq(c->exponent, want[i].exponent, "%s", want[i].code);
		cr_assert_eq(ec_currency_by_code(want[i].code), c);
	}
	cr_assert_eq(ec_currency_by_code("eur"), ec_currency_by_numeric(978));
	cr_assert_eq(ec_currency_parse("978"), ec_currency_by_numeric(978));
	cr_assert_eq(ec_currency_parse("Usd"), ec_currency_by_numeric(840));
	cr_assert_null(ec_currency_by_numeric(999));
	cr_assert_null(ec_currency_by_code("EU"));
	cr_assert_null(ec_currency_by_code("EURO"));
	cr_assert_null(ec_currency_parse(""));
	cr_assert_null(ec_currency_parse("97a"));
	cr_assert_null(ec_currency_parse("9780"));
}

Test(amount, parses_major_units)
{
	cr_assert_eq(parse_ok("12.50", EUR), 1250);
	cr_assert_eq(parse_ok("12.5", EUR), 1250);
	cr_assert_eq(parse_ok("12", EUR), 1200);
	cr_assert_eq(parse_ok("0.01", EUR), 1);
	cr_assert_eq(parse_ok("0", EUR), 0);
	cr_assert_eq(parse_ok("007.05", EUR), 705);
	cr_assert_eq(parse_ok(" 12.50 ", EUR), 1250);
	cr_assert_eq(parse_ok("12.50 EUR", EUR), 1250);
	cr_assert_eq(parse_ok("12.50EUR", EUR), 1250);
	cr_assert_eq(parse_ok("12.50 eur", EUR), 1250);
	cr_assert_eq(parse_ok("1234", JPY), 1234);
	cr_assert_eq(parse_ok("1234 JPY", JPY), 1234);
	cr_assert_eq(parse_ok("1.234", KWD), 1234);
	cr_assert_eq(parse_ok("1.2", KWD), 1200);
}

Test(amount, refuses_what_it_cannot_represent_exactly)
{
	parse_fails("", EUR, EC_AMOUNT_EMPTY);
	parse_fails("   ", EUR, EC_AMOUNT_EMPTY);
	parse_fails(NULL, EUR, EC_AMOUNT_EMPTY);
	parse_fails("-1", EUR, EC_AMOUNT_NEGATIVE);
	parse_fails(" -0.01", EUR, EC_AMOUNT_NEGATIVE);
	parse_fails("1.234", EUR, EC_AMOUNT_PRECISION);
	parse_fails("12.500", EUR, EC_AMOUNT_PRECISION);
	parse_fails("12.5", JPY, EC_AMOUNT_PRECISION);
	parse_fails("1.2345", KWD, EC_AMOUNT_PRECISION);
	parse_fails("12.", EUR, EC_AMOUNT_SYNTAX);
	parse_fails(".5", EUR, EC_AMOUNT_SYNTAX);
	parse_fails("12,50", EUR, EC_AMOUNT_SYNTAX);
	parse_fails("1 000", EUR, EC_AMOUNT_SYNTAX);
	parse_fails("+1", EUR, EC_AMOUNT_SYNTAX);
	parse_fails("1e3", EUR, EC_AMOUNT_SYNTAX);
	parse_fails("12.50 EUR x", EUR, EC_AMOUNT_SYNTAX);
	parse_fails("0x10", EUR, EC_AMOUNT_SYNTAX);
	parse_fails("12.50 USD", EUR, EC_AMOUNT_CURRENCY);
	parse_fails("12.50 EURO", EUR, EC_AMOUNT_CURRENCY);
	parse_fails("12.50", 999, EC_AMOUNT_UNKNOWN_CURRENCY);
}

Test(amount, bounds_of_32_bits)
{
	cr_assert_eq(parse_ok("42949672.95", EUR), UINT32_MAX);
	cr_assert_eq(parse_ok("4294967295", JPY), UINT32_MAX);
	parse_fails("42949672.96", EUR, EC_AMOUNT_OVERFLOW);
	parse_fails("42949673", EUR, EC_AMOUNT_OVERFLOW);
	parse_fails("4294967296", JPY, EC_AMOUNT_OVERFLOW);
	parse_fails("99999999999999999999999999", EUR, EC_AMOUNT_OVERFLOW);
	/* Too precise wins over too large: the first thing to fix. */
	parse_fails("99999999999999999999.123", EUR, EC_AMOUNT_PRECISION);
}

Test(amount, formats_with_the_code)
{
	char buf[EC_AMOUNT_TEXT_MAX];
	cr_assert_str_eq(ec_amount_format(1250, EUR, buf, sizeof(buf)), "12.50 EUR");
	cr_assert_str_eq(ec_amount_format(5, EUR, buf, sizeof(buf)), "0.05 EUR");
	cr_assert_str_eq(ec_amount_format(0, EUR, buf, sizeof(buf)), "0.00 EUR");
	cr_assert_str_eq(ec_amount_format(UINT32_MAX, EUR, buf, sizeof(buf)), "42949672.95 EUR");
	cr_assert_str_eq(ec_amount_format(1234, JPY, buf, sizeof(buf)), "1234 JPY");
	cr_assert_str_eq(ec_amount_format(1, KWD, buf, sizeof(buf)), "0.001 KWD");
	cr_assert_str_eq(ec_amount_format(1250, 999, buf, sizeof(buf)),
			 "1250 minor units of currency 999");
	cr_assert_str_eq(ec_amount_format_number(1250, EUR, buf, sizeof(buf)), "12.50");
	cr_assert_str_eq(ec_amount_format(1250, EUR, buf, 5), "", "a short buffer gets nothing, not a cut number");
}

Test(amount, format_and_parse_round_trip)
{
	static const uint16_t codes[] = { EUR, JPY, KWD };
	char buf[EC_AMOUNT_TEXT_MAX];
	for (size_t c = 0; c < 3; c++)
		for (uint64_t v = 0; v <= UINT32_MAX; v = v * 7 + 3) {
			ec_amount_format((uint32_t)v, codes[c], buf, sizeof(buf));
			cr_assert_eq(parse_ok(buf, codes[c]), (uint32_t)v, "%s", buf);
		}
}

/* ---- key files ---- */

TestSuite(keyfile, .init = make_tmpdir, .fini = remove_tmpdir);

static void write_sample(const char *path, unsigned flags, enum ec_status want)
{
	static const uint8_t key[4] = { 0xDE, 0xAD, 0xBE, 0xEF };
	struct ec_keyfile kf;
	struct ec_error err = { 0 };
	ec_keyfile_init(&kf);
	ec_keyfile_add_comment(&kf, "a test key");
	ec_keyfile_add_hex(&kf, "key", key, sizeof(key));
	ec_keyfile_add_u32(&kf, "number", 4294967295u);
	cr_assert_eq(ec_keyfile_write(&kf, path, flags, &err), want, "%s", err.text);
}

Test(keyfile, secret_written_0600_whatever_the_umask_and_read_back)
{
	char path[128];
	struct ec_keyfile kf;
	struct ec_error err = { 0 };
	uint8_t key[4];
	uint32_t n;

	umask(0);
	tmp_path(path, sizeof(path), "secret.key");
	write_sample(path, EC_KEYFILE_SECRET, EC_OK);
	cr_assert_eq(file_mode(path), 0600);
	cr_assert_eq(ec_keyfile_read(&kf, path, true, &err), EC_OK, "%s", err.text);
	cr_assert_eq(kf.count, 2);
	cr_assert_eq(ec_keyfile_get_hex(&kf, path, "key", key, 4, &err), EC_OK);
	cr_assert_arr_eq(key, "\xDE\xAD\xBE\xEF", 4);
	cr_assert_eq(ec_keyfile_get_u32(&kf, path, "number", &n, &err), EC_OK);
	cr_assert_eq(n, 4294967295u);
	cr_assert_eq(ec_keyfile_get_hex(&kf, path, "key", key, 3, &err), EC_ERR_FORMAT);
	cr_assert_eq(ec_keyfile_get_hex(&kf, path, "missing", key, 4, &err), EC_ERR_FORMAT);
	cr_assert_null(ec_keyfile_get(&kf, "missing"));
	ec_keyfile_wipe(&kf);
}

Test(keyfile, public_file_is_0644_even_under_a_strict_umask)
{
	char path[128];
	umask(077);
	write_sample(tmp_path(path, sizeof(path), "public"), 0, EC_OK);
	cr_assert_eq(file_mode(path), 0644);
}

Test(keyfile, refuses_to_read_a_secret_others_can_read)
{
	char path[128];
	struct ec_keyfile kf;
	struct ec_error err = { 0 };

	write_sample(tmp_path(path, sizeof(path), "loose.key"), EC_KEYFILE_SECRET, EC_OK);
	cr_assert_eq(chmod(path, 0644), 0);
	cr_assert_eq(ec_keyfile_read(&kf, path, true, &err), EC_ERR_INSECURE);
	cr_assert_eq(err.status, EC_ERR_INSECURE);
	cr_assert_not_null(strstr(err.text, "0644"), "%s", err.text);
	cr_assert_not_null(strstr(err.text, "chmod 600"), "%s", err.text);
	cr_assert_eq(kf.count, 0, "nothing of a refused file is kept");

	cr_assert_eq(chmod(path, 0640), 0);
	cr_assert_eq(ec_keyfile_read(&kf, path, true, &err), EC_ERR_INSECURE);
	/* The same file read as a public one is fine. */
	cr_assert_eq(ec_keyfile_read(&kf, path, false, &err), EC_OK);
	cr_assert_eq(chmod(path, 0600), 0);
	cr_assert_eq(ec_keyfile_read(&kf, path, true, &err), EC_OK);
}

Test(keyfile, never_overwrites_unless_asked_and_leaves_no_temporary_file)
{
	char path[128];
	struct ec_keyfile kf;
	struct ec_error err = { 0 };

	tmp_path(path, sizeof(path), "k");
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("old=01\n", f);
	fclose(f);
	chmod(path, 0600);
	write_sample(path, EC_KEYFILE_SECRET, EC_ERR_EXISTS);
	cr_assert_eq(ec_keyfile_read(&kf, path, true, &err), EC_OK);
	cr_assert_str_eq(ec_keyfile_get(&kf, "old"), "01", "the old file is untouched");

	write_sample(path, EC_KEYFILE_SECRET | EC_KEYFILE_OVERWRITE, EC_OK);
	cr_assert_eq(ec_keyfile_read(&kf, path, true, &err), EC_OK);
	cr_assert_null(ec_keyfile_get(&kf, "old"));
	cr_assert_str_eq(ec_keyfile_get(&kf, "key"), "DEADBEEF");

	/* Only the file itself is in the directory: no temporaries left over. */
	DIR *d = opendir(tmpdir);
	cr_assert_not_null(d);
	int entries = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			entries++;
	closedir(d);
	cr_assert_eq(entries, 1);
}

static enum ec_status read_text(const char *content, struct ec_error *err)
{
	char path[128];
	struct ec_keyfile kf;
	tmp_path(path, sizeof(path), "t");
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(content, f);
	fclose(f);
	enum ec_status st = ec_keyfile_read(&kf, path, false, err);
	unlink(path);
	return st;
}

Test(keyfile, malformed_files_are_refused)
{
	struct ec_error err = { 0 };
	cr_assert_eq(read_text("# comment\n\n  a=1  \r\nb=2", &err), EC_OK, "%s", err.text);
	cr_assert_eq(read_text("no equals sign\n", &err), EC_ERR_FORMAT);
	cr_assert_not_null(strstr(err.text, "line 1"), "%s", err.text);
	cr_assert_eq(read_text("a=1\na=2\n", &err), EC_ERR_FORMAT);
	cr_assert_eq(read_text("=1\n", &err), EC_ERR_FORMAT);
	cr_assert_eq(read_text("bad name=1\n", &err), EC_ERR_FORMAT);

	char many[600] = "";
	for (int i = 0; i < EC_KEYFILE_ENTRIES + 1; i++) {
		char line[16];
		snprintf(line, sizeof(line), "k%d=1\n", i);
		strcat(many, line);
	}
	cr_assert_eq(read_text(many, &err), EC_ERR_FORMAT);

	char path[128];
	struct ec_keyfile kf;
	cr_assert_eq(ec_keyfile_read(&kf, tmp_path(path, sizeof(path), "absent"), false, &err),
		     EC_ERR_FILE);
	cr_assert_eq(ec_keyfile_read(&kf, tmpdir, false, &err), EC_ERR_FORMAT, "a directory");
}

/* ---- issuer ---- */

TestSuite(issuer, .init = make_tmpdir, .fini = remove_tmpdir);

static void new_issuer(const char *name, struct ec_issuer *is, char *dir, size_t cap)
{
	struct ec_error err = { 0 };
	tmp_path(dir, cap, name);
	cr_assert_eq(ec_issuer_init(dir, EUR, 50000, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_issuer_load(dir, is, &err), EC_OK, "%s", err.text);
}

Test(issuer, init_and_load_round_trip)
{
	char dir[128], path[160];
	struct ec_issuer is;
	struct ec_error err = { 0 };
	uint8_t pub[CRYPTO_EC_PUB_LEN], published[CRYPTO_EC_PUB_LEN];

	umask(022);
	new_issuer("issuer", &is, dir, sizeof(dir));
	cr_assert_eq(file_mode(dir), 0700);
	snprintf(path, sizeof(path), "%s/master.key", dir);
	cr_assert_eq(file_mode(path), 0600);
	snprintf(path, sizeof(path), "%s/ca.key", dir);
	cr_assert_eq(file_mode(path), 0600);
	snprintf(path, sizeof(path), "%s/ca.pub", dir);
	cr_assert_eq(file_mode(path), 0644);
	snprintf(path, sizeof(path), "%s/issuer.conf", dir);
	cr_assert_eq(file_mode(path), 0644);

	cr_assert_eq(is.currency, EUR);
	cr_assert_eq(is.max_balance, 50000);
	cr_assert_eq(crypto_ec_public(is.ca_priv, pub), 0);
	cr_assert_arr_eq(pub, is.ca_pub, CRYPTO_EC_PUB_LEN);
	cr_assert_eq(ec_issuer_load_ca_public(dir, published, &err), EC_OK);
	cr_assert_arr_eq(published, is.ca_pub, CRYPTO_EC_PUB_LEN);

	static const uint8_t zero[PURSE_MASTER_KEY_LEN];
	cr_assert(memcmp(is.master_key, zero, sizeof(zero)) != 0, "a master key was made");

	/* Two issuers never share keys. */
	struct ec_issuer other;
	char dir2[128];
	new_issuer("issuer2", &other, dir2, sizeof(dir2));
	cr_assert(memcmp(is.master_key, other.master_key, PURSE_MASTER_KEY_LEN) != 0);
	cr_assert(memcmp(is.ca_pub, other.ca_pub, CRYPTO_EC_PUB_LEN) != 0);
	ec_issuer_wipe(&is);
	ec_issuer_wipe(&other);
}

Test(issuer, refuses_to_overwrite_an_issuer_directory)
{
	char dir[128], path[160];
	struct ec_issuer is, again;
	struct ec_error err = { 0 };

	new_issuer("issuer", &is, dir, sizeof(dir));
	cr_assert_eq(ec_issuer_init(dir, EUR, 50000, &err), EC_ERR_EXISTS);
	cr_assert_eq(ec_issuer_load(dir, &again, &err), EC_OK);
	cr_assert_arr_eq(again.master_key, is.master_key, PURSE_MASTER_KEY_LEN, "keys untouched");

	/* An empty directory is adopted and made private. */
	tmp_path(dir, sizeof(dir), "empty");
	cr_assert_eq(mkdir(dir, 0755), 0);
	cr_assert_eq(ec_issuer_init(dir, EUR, 100, &err), EC_OK, "%s", err.text);
	cr_assert_eq(file_mode(dir), 0700);

	/* A bad currency creates nothing. */
	tmp_path(dir, sizeof(dir), "bad");
	cr_assert_eq(ec_issuer_init(dir, 999, 100, &err), EC_ERR_ARG);
	cr_assert_eq(ec_issuer_init(dir, EUR, 0, &err), EC_ERR_ARG);
	struct stat st;
	cr_assert_neq(stat(dir, &st), 0);

	/* A loose secret stops the load. */
	tmp_path(dir, sizeof(dir), "issuer");
	snprintf(path, sizeof(path), "%s/master.key", dir);
	cr_assert_eq(chmod(path, 0640), 0);
	cr_assert_eq(ec_issuer_load(dir, &again, &err), EC_ERR_INSECURE);
}

/* What a card with this issuer's keys answers to INITIALIZE LOAD. */
static void card_init_load(const struct ec_issuer *is, const uint8_t master[PURSE_MASTER_KEY_LEN],
			   uint32_t amount, uint32_t balance, struct purse_load *l,
			   uint8_t answer[EC_INIT_LOAD_RESPONSE_LEN])
{
	uint8_t kload[PURSE_KEY_LEN];
	(void)is;
	memcpy(l->serial, "\x01\x02\x03\x04\x05\x06\x07\x08", PURSE_SERIAL_LEN);
	l->counter = 7;
	l->amount = amount;
	l->balance = balance;
	cr_assert_eq(crypto_random(l->challenge, PURSE_CHALLENGE_LEN), 0);
	cr_assert_eq(purse_derive_kload(master, l->serial, kload), 0);
	memcpy(answer, l->challenge, 16);
	memcpy(answer + 16, l->serial, 8);
	store_be32(answer + 24, l->counter);
	store_be32(answer + 28, l->balance);
	cr_assert_eq(purse_s1(kload, l, answer + 32), 0);
}

Test(issuer, authorize_load_gives_s2_only_for_a_genuine_s1)
{
	char dir[128];
	struct ec_issuer is;
	struct ec_error err = { 0 };
	struct purse_load l, got;
	uint8_t answer[EC_INIT_LOAD_RESPONSE_LEN], s2[PURSE_MAC_LEN], want[PURSE_MAC_LEN];
	uint8_t kload[PURSE_KEY_LEN];
	static const uint8_t untouched[PURSE_MAC_LEN];

	new_issuer("issuer", &is, dir, sizeof(dir));
	card_init_load(&is, is.master_key, 2000, 500, &l, answer);

	cr_assert_eq(ec_issuer_authorize_load(&is, answer, sizeof(answer), 2000, &got, s2, &err),
		     EC_OK, "%s", err.text);
	cr_assert_eq(purse_derive_kload(is.master_key, l.serial, kload), 0);
	cr_assert_eq(purse_s2(kload, &l, want), 0);
	cr_assert_arr_eq(s2, want, PURSE_MAC_LEN, "S2 is purse_s2 of the card's load");
	cr_assert_arr_eq(got.serial, l.serial, PURSE_SERIAL_LEN);
	cr_assert_eq(got.counter, 7);
	cr_assert_eq(got.balance, 500);
	cr_assert_eq(got.amount, 2000);

	/* Every single bit of S1 matters. */
	for (size_t bit = 0; bit < 8 * PURSE_MAC_LEN; bit += 13) {
		uint8_t forged[EC_INIT_LOAD_RESPONSE_LEN];
		memcpy(forged, answer, sizeof(forged));
		forged[32 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		memset(s2, 0, sizeof(s2));
		cr_assert_eq(ec_issuer_authorize_load(&is, forged, sizeof(forged), 2000, &got, s2, &err),
			     EC_ERR_CHECK);
		cr_assert_arr_eq(s2, untouched, PURSE_MAC_LEN, "no S2 for a forged S1");
		cr_assert_not_null(strstr(err.text, "S1"), "%s", err.text);
	}
	/* Another amount than the card was asked for, or an altered balance. */
	memset(s2, 0, sizeof(s2));
	cr_assert_eq(ec_issuer_authorize_load(&is, answer, sizeof(answer), 2001, &got, s2, &err),
		     EC_ERR_CHECK);
	cr_assert_arr_eq(s2, untouched, PURSE_MAC_LEN);
	answer[31] ^= 1;
	cr_assert_eq(ec_issuer_authorize_load(&is, answer, sizeof(answer), 2000, &got, s2, &err),
		     EC_ERR_CHECK);
	answer[31] ^= 1;
	/* A card of another issuer. */
	uint8_t other_master[PURSE_MASTER_KEY_LEN];
	cr_assert_eq(crypto_random(other_master, sizeof(other_master)), 0);
	card_init_load(&is, other_master, 2000, 500, &l, answer);
	cr_assert_eq(ec_issuer_authorize_load(&is, answer, sizeof(answer), 2000, &got, s2, &err),
		     EC_ERR_CHECK);
	/* Wrong length, zero amount. */
	cr_assert_eq(ec_issuer_authorize_load(&is, answer, sizeof(answer) - 1, 2000, &got, s2, &err),
		     EC_ERR_FORMAT);
	cr_assert_eq(ec_issuer_authorize_load(&is, answer, sizeof(answer), 0, &got, s2, &err),
		     EC_ERR_ARG);
	ec_issuer_wipe(&is);
}

Test(issuer, authorize_load_respects_the_maximum_balance)
{
	char dir[128];
	struct ec_issuer is;
	struct ec_error err = { 0 };
	struct purse_load l, got;
	uint8_t answer[EC_INIT_LOAD_RESPONSE_LEN], s2[PURSE_MAC_LEN];

	new_issuer("issuer", &is, dir, sizeof(dir));
	card_init_load(&is, is.master_key, 10000, 40000, &l, answer);
	cr_assert_eq(ec_issuer_authorize_load(&is, answer, sizeof(answer), 10000, &got, s2, &err),
		     EC_OK, "exactly the maximum is fine: %s", err.text);
	card_init_load(&is, is.master_key, 10001, 40000, &l, answer);
	cr_assert_eq(ec_issuer_authorize_load(&is, answer, sizeof(answer), 10001, &got, s2, &err),
		     EC_ERR_CHECK);
	cr_assert_not_null(strstr(err.text, "500.00 EUR"), "%s", err.text);
	ec_issuer_wipe(&is);
}

Test(issuer, s3_receipt_is_checked)
{
	char dir[128];
	struct ec_issuer is;
	struct ec_error err = { 0 };
	struct purse_load l;
	uint8_t answer[EC_INIT_LOAD_RESPONSE_LEN], receipt[EC_CREDIT_RESPONSE_LEN];
	uint8_t kload[PURSE_KEY_LEN];
	uint32_t counter, balance;

	new_issuer("issuer", &is, dir, sizeof(dir));
	card_init_load(&is, is.master_key, 2000, 500, &l, answer);
	cr_assert_eq(purse_derive_kload(is.master_key, l.serial, kload), 0);
	store_be32(receipt, 8);
	store_be32(receipt + 4, 2500);
	cr_assert_eq(purse_s3(kload, l.serial, 8, 2000, 2500, receipt + 8), 0);
	cr_assert_eq(ec_issuer_check_s3(&is, &l, receipt, sizeof(receipt), &counter, &balance, &err),
		     EC_OK, "%s", err.text);
	cr_assert_eq(counter, 8);
	cr_assert_eq(balance, 2500);

	receipt[20] ^= 0x80;
	cr_assert_eq(ec_issuer_check_s3(&is, &l, receipt, sizeof(receipt), NULL, NULL, &err),
		     EC_ERR_CHECK);
	/* A genuine receipt of an earlier load of the same amount. */
	store_be32(receipt, 7);
	cr_assert_eq(purse_s3(kload, l.serial, 7, 2000, 2500, receipt + 8), 0);
	cr_assert_eq(ec_issuer_check_s3(&is, &l, receipt, sizeof(receipt), NULL, NULL, &err),
		     EC_ERR_CHECK);
	cr_assert_eq(ec_issuer_check_s3(&is, &l, receipt, 10, NULL, NULL, &err), EC_ERR_FORMAT);
	ec_issuer_wipe(&is);
}

/* ---- merchant ---- */

TestSuite(merchant, .init = make_tmpdir, .fini = remove_tmpdir);

static const uint8_t merchant_id[PURSE_ID_LEN] = { 0x4D, 0x45, 0x52, 0x43, 0x48, 0x00, 0x00, 0x07 };

Test(merchant, init_writes_a_certified_merchant)
{
	char dir[128], path[128];
	struct ec_issuer is;
	struct ec_merchant m;
	struct ec_error err = { 0 };
	uint8_t id[PURSE_ID_LEN], pub[CRYPTO_EC_PUB_LEN];

	new_issuer("issuer", &is, dir, sizeof(dir));
	tmp_path(path, sizeof(path), "shop.key");
	umask(022);
	cr_assert_eq(ec_merchant_init(&is, merchant_id, path, &err), EC_OK, "%s", err.text);
	cr_assert_eq(file_mode(path), 0600);
	cr_assert_eq(ec_merchant_load(path, &m, &err), EC_OK, "%s", err.text);
	cr_assert_arr_eq(m.id, merchant_id, PURSE_ID_LEN);
	cr_assert_arr_eq(m.ca_pub, is.ca_pub, CRYPTO_EC_PUB_LEN);
	cr_assert_eq(m.currency, EUR);
	cr_assert_eq(purse_cert_check(is.ca_pub, m.cert, id, pub), 1);
	cr_assert_arr_eq(id, merchant_id, PURSE_ID_LEN);
	cr_assert_arr_eq(pub, m.pub, CRYPTO_EC_PUB_LEN);

	/* A request signed with it passes the card's own check. */
	struct purse_debit_request req = { .amount = 750, .currency = EUR };
	uint8_t buf[PURSE_DEBIT_REQUEST_LEN];
	memcpy(req.merchant_id, m.id, PURSE_ID_LEN);
	memcpy(req.cert, m.cert, PURSE_CERT_LEN);
	cr_assert_eq(purse_debit_request_make(&req, m.priv, buf), 0);
	cr_assert(purse_debit_request_parse(buf, sizeof(buf), &req));
	cr_assert_eq(purse_debit_request_check(is.ca_pub, &req), 1);

	cr_assert_eq(ec_merchant_init(&is, merchant_id, path, &err), EC_ERR_EXISTS);
	ec_merchant_wipe(&m);
	ec_issuer_wipe(&is);
}

/* Replace the value of name in a key file by its value with one hex digit changed. */
static void tamper(const char *path, const char *name)
{
	char text[EC_KEYFILE_MAX];
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	char key[64];
	snprintf(key, sizeof(key), "\n%s=", name);
	char *p = strstr(text, key);
	cr_assert_not_null(p);
	p += strlen(key) + 90;	/* well inside the value */
	*p = *p == '0' ? '1' : '0';
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

Test(merchant, load_checks_the_certificate)
{
	char dir[128], path[128];
	struct ec_issuer is;
	struct ec_merchant m;
	struct ec_error err = { 0 };

	new_issuer("issuer", &is, dir, sizeof(dir));
	tmp_path(path, sizeof(path), "shop.key");
	cr_assert_eq(ec_merchant_init(&is, merchant_id, path, &err), EC_OK, "%s", err.text);
	tamper(path, "certificate");
	cr_assert_eq(ec_merchant_load(path, &m, &err), EC_ERR_CHECK);
	cr_assert_not_null(strstr(err.text, "certificate"), "%s", err.text);

	/* The merchant of another CA does not pass this CA's check. */
	struct ec_issuer other;
	char dir2[128], path2[128];
	new_issuer("other", &other, dir2, sizeof(dir2));
	tmp_path(path2, sizeof(path2), "other.key");
	cr_assert_eq(ec_merchant_init(&other, merchant_id, path2, &err), EC_OK);
	cr_assert_eq(ec_merchant_load(path2, &m, &err), EC_OK);
	cr_assert_eq(purse_cert_check(is.ca_pub, m.cert, NULL, NULL), 0);

	chmod(path2, 0604);
	cr_assert_eq(ec_merchant_load(path2, &m, &err), EC_ERR_INSECURE);
	ec_issuer_wipe(&is);
	ec_issuer_wipe(&other);
}

/* ---- PIN blocks and profile names ---- */

Test(pin, blocks_are_checked_before_anything_is_sent)
{
	uint8_t b[EC_PIN_BLOCK_LEN];
	cr_assert_eq(ec_pin_block("1234", b, NULL), EC_OK);
	cr_assert_arr_eq(b, "\x31\x32\x33\x34\xFF\xFF\xFF\xFF", 8);
	cr_assert_eq(ec_pin_block("12345678", b, NULL), EC_OK);
	cr_assert_arr_eq(b, "12345678", 8);
	cr_assert_eq(ec_pin_block("123", b, NULL), EC_ERR_ARG);
	cr_assert_eq(ec_pin_block("123456789", b, NULL), EC_ERR_ARG);
	cr_assert_eq(ec_pin_block("12a4", b, NULL), EC_ERR_ARG);
	cr_assert_eq(ec_pin_block("", b, NULL), EC_ERR_ARG);
	cr_assert_eq(ec_pin_block(NULL, b, NULL), EC_ERR_ARG);
	cr_assert_eq(ec_puk_block("12345678", b, NULL), EC_OK);
	cr_assert_arr_eq(b, "12345678", 8);
	cr_assert_eq(ec_puk_block("1234567", b, NULL), EC_ERR_ARG);
	cr_assert_eq(ec_puk_block("1234567x", b, NULL), EC_ERR_ARG);
}

Test(profile, field_names_and_ids)
{
	cr_assert_eq(ec_profile_field_find("email")->id, 0x0A);
	cr_assert_eq(ec_profile_field_find("EMAIL")->id, 0x0A);
	cr_assert_eq(ec_profile_field_find("0A")->id, 0x0A);
	cr_assert_eq(ec_profile_field_find("0x0a")->id, 0x0A);
	cr_assert_eq(ec_profile_field_find("a")->id, 0x0A);
	cr_assert_eq(ec_profile_field_find("card-number")->id, 0x09);
	cr_assert(ec_profile_field_find("card-number")->private_class);
	cr_assert(ec_profile_field_find("password")->private_class);
	cr_assert_not(ec_profile_field_find("town")->private_class);
	cr_assert_eq(ec_profile_field_find("01")->id, 0x01);
	cr_assert_eq(ec_profile_field_find("0B")->id, 0x0B);
	cr_assert_null(ec_profile_field_find("0C"));
	cr_assert_null(ec_profile_field_find("00"));
	cr_assert_null(ec_profile_field_find("nickname"));
	cr_assert_null(ec_profile_field_find("100"));
	cr_assert_null(ec_profile_field_find(""));
	cr_assert_eq(ec_profile_policy_parse("never"), EC_POLICY_NEVER);
	cr_assert_eq(ec_profile_policy_parse("Session"), EC_POLICY_SESSION);
	cr_assert_eq(ec_profile_policy_parse("2"), EC_POLICY_ALWAYS);
	cr_assert_eq(ec_profile_policy_parse("sometimes"), -1);
	cr_assert_str_eq(ec_profile_policy_name(EC_POLICY_ALWAYS), "always");
}

/* ---- end to end, in process ---- */

static struct vc_storage *storage;
static struct vc_card card;
static struct ec_pcsc pc;
static ec_raw_transmit_fn inner_transmit;
static struct ec_issuer issuer;
static struct ec_merchant shop;
static uint8_t serial[PURSE_SERIAL_LEN];

/* What the lossy transport does to the next command with this INS. */
enum loss {
	LOSE_NOTHING,
	LOSE_ANSWER,		/* the card processes it, the answer never arrives */
	LOSE_COMMAND,		/* the card never sees it */
};

static uint8_t lossy_ins;
static enum loss lossy_mode;
static unsigned lost_count;

static long lossy_transmit(struct ec_pcsc *p, const uint8_t *cmd, size_t cmd_len,
			   uint8_t *resp, size_t *resp_len)
{
	if (lossy_mode != LOSE_NOTHING && cmd_len >= 2 && cmd[1] == lossy_ins) {
		enum loss mode = lossy_mode;
		lossy_mode = LOSE_NOTHING;
		lost_count++;
		if (mode == LOSE_ANSWER) {
			long rv = inner_transmit(p, cmd, cmd_len, resp, resp_len);
			cr_assert_eq(rv, SCARD_S_SUCCESS);
			*resp_len = 0;
		}
		return SCARD_W_REMOVED_CARD;
	}
	return inner_transmit(p, cmd, cmd_len, resp, resp_len);
}

static void lose_next(uint8_t ins, enum loss mode)
{
	lossy_ins = ins;
	lossy_mode = mode;
}

static int pin_1234(void *arg, char pin[EC_PIN_TEXT_MAX], struct ec_error *err)
{
	(void)err;
	snprintf(pin, EC_PIN_TEXT_MAX, "%s", arg ? (const char *)arg : "1234");
	return 0;
}

static int pin_cancel(void *arg, char pin[EC_PIN_TEXT_MAX], struct ec_error *err)
{
	(void)arg;
	(void)pin;
	(void)err;
	return -1;
}

static void e2e_setup(void)
{
	char dir[128], path[128];
	struct ec_error err = { 0 };

	make_tmpdir();
	cr_assert_eq(vc_storage_mem_create(IMAGE_SIZE, &storage), VC_OK);
	cr_assert_eq(vc_card_create(storage, NULL, ecard_applets, ecard_applet_count, NULL), VC_OK);
	vc_card_init(&card, storage, NULL);
	for (size_t i = 0; i < ecard_applet_count; i++)
		cr_assert_eq(vc_card_register(&card, ecard_applets[i]), VC_OK);
	cr_assert_eq(vc_card_power_up(&card), VC_OK);

	ec_pcsc_init(&pc, NULL);
	vc_inproc_attach(&pc, &card);
	inner_transmit = pc.raw_transmit;
	pc.raw_transmit = lossy_transmit;
	lossy_mode = LOSE_NOTHING;
	lost_count = 0;

	tmp_path(dir, sizeof(dir), "issuer");
	cr_assert_eq(ec_issuer_init(dir, EUR, 50000, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_issuer_load(dir, &issuer, &err), EC_OK, "%s", err.text);
	tmp_path(path, sizeof(path), "shop.key");
	cr_assert_eq(ec_merchant_init(&issuer, merchant_id, path, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_merchant_load(path, &shop, &err), EC_OK, "%s", err.text);

	cr_assert_eq(ec_issuer_personalize(&issuer, &pc, serial, &err), EC_OK, "%s", err.text);
}

static void e2e_teardown(void)
{
	ec_issuer_wipe(&issuer);
	ec_merchant_wipe(&shop);
	vc_card_free(&card);
	vc_storage_destroy(storage);
	remove_tmpdir();
}

TestSuite(e2e, .init = e2e_setup, .fini = e2e_teardown);

static struct ec_purse_data purse(void)
{
	struct ec_purse_data pd;
	struct ec_error err = { 0 };
	cr_assert_eq(ec_wallet_select(&pc, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_wallet_purse_data(&pc, &pd, &err), EC_OK, "%s", err.text);
	cr_assert_arr_eq(pd.serial, serial, PURSE_SERIAL_LEN);
	return pd;
}

static void load(uint32_t amount)
{
	struct ec_load_result res;
	struct ec_error err = { 0 };
	cr_assert_eq(ec_wallet_load(&pc, &issuer, amount, &res, &err), EC_OK, "%s", err.text);
	cr_assert_not(res.recovered);
}

static void pay(uint32_t amount, struct ec_payment *p)
{
	struct ec_error err = { 0 };
	cr_assert_eq(ec_merchant_pay(&shop, &pc, amount, EUR, pin_1234, NULL, p, &err), EC_OK,
		     "%s", err.text);
}

Test(e2e, personalized_card_is_certified_by_the_issuer)
{
	struct ec_error err = { 0 };
	uint8_t cert[PURSE_CERT_LEN], id[PURSE_ID_LEN];

	struct ec_purse_data pd = purse();
	cr_assert_eq(pd.version, 1);
	cr_assert_eq(pd.currency, EUR);
	cr_assert_eq(pd.balance, 0);
	cr_assert_eq(pd.max_balance, 50000);
	cr_assert_eq(pd.counter, 0);
	cr_assert_eq(ec_wallet_card_cert(&pc, cert, &err), EC_OK, "%s", err.text);
	cr_assert_eq(purse_cert_check(issuer.ca_pub, cert, id, NULL), 1);
	cr_assert_arr_eq(id, serial, PURSE_SERIAL_LEN);

	/* Personalization happens once. */
	cr_assert_eq(ec_issuer_personalize(&issuer, &pc, NULL, &err), EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6985);
	cr_assert_not_null(strstr(err.text, "6985"), "%s", err.text);
}

Test(e2e, load_pay_balance_and_log)
{
	struct ec_load_result res;
	struct ec_payment p;
	struct ec_error err = { 0 };
	struct ec_log_entry e;
	bool present;

	cr_assert_eq(ec_wallet_load(&pc, &issuer, 2000, &res, &err), EC_OK, "%s", err.text);
	cr_assert_eq(res.balance, 2000);
	cr_assert_eq(res.counter, 1);
	cr_assert_eq(res.load.counter, 0);
	cr_assert_arr_eq(res.load.serial, serial, PURSE_SERIAL_LEN);

	pay(750, &p);
	cr_assert_not(p.recovered);
	cr_assert_eq(p.record.amount, 750);
	cr_assert_eq(p.record.balance, 1250);
	cr_assert_eq(p.record.counter, 2);
	cr_assert_eq(p.record.currency, EUR);
	cr_assert_eq(p.balance_before, 2000);
	cr_assert_arr_eq(p.record.serial, serial, PURSE_SERIAL_LEN);
	cr_assert_arr_eq(p.record.merchant_id, merchant_id, PURSE_ID_LEN);
	/* What the merchant keeps verifies offline with the issuer's public key alone. */
	cr_assert_eq(purse_debit_record_check(issuer.ca_pub, p.card_cert, p.record_bytes,
					      p.signature), 1);

	struct ec_purse_data pd = purse();
	cr_assert_eq(pd.balance, 1250);
	cr_assert_eq(pd.counter, 2);

	cr_assert_eq(ec_wallet_log(&pc, 0, &e, &present, &err), EC_OK, "%s", err.text);
	cr_assert(present);
	cr_assert_eq(e.type, EC_LOG_DEBIT);
	cr_assert_eq(e.counter, 2);
	cr_assert_eq(e.amount, 750);
	cr_assert_eq(e.balance, 1250);
	cr_assert_arr_eq(e.merchant_id, merchant_id, PURSE_ID_LEN);
	cr_assert_eq(ec_wallet_log(&pc, 1, &e, &present, &err), EC_OK);
	cr_assert(present);
	cr_assert_eq(e.type, EC_LOG_LOAD);
	cr_assert_eq(e.counter, 1);
	cr_assert_eq(e.amount, 2000);
	cr_assert_eq(e.balance, 2000);
	cr_assert_eq(ec_wallet_log(&pc, 2, &e, &present, &err), EC_OK);
	cr_assert_not(present, "the log ends after two entries");

	char text[EC_AMOUNT_TEXT_MAX];
	cr_assert_str_eq(ec_amount_format(pd.balance, pd.currency, text, sizeof(text)), "12.50 EUR");
}

Test(e2e, load_driven_by_hand_with_authorize_load)
{
	static const uint8_t init[] = { 0x80, 0x40, 0x00, 0x00, 0x04, 0x00, 0x00, 0x03, 0xE8, 0x00 };
	uint8_t answer[64], credit[22] = { 0x80, 0x42, 0x00, 0x00, 0x10 }, receipt[64];
	struct ec_error err = { 0 };
	struct purse_load l;
	size_t n;
	uint32_t balance;

	cr_assert_eq(ec_wallet_select(&pc, &err), EC_OK);
	cr_assert_eq(ec_command(&pc, "INITIALIZE LOAD", init, sizeof(init), answer, sizeof(answer),
				&n, &err), EC_OK, "%s", err.text);
	cr_assert_eq(n, EC_INIT_LOAD_RESPONSE_LEN);
	cr_assert_eq(ec_issuer_authorize_load(&issuer, answer, n, 1000, &l, credit + 5, &err), EC_OK,
		     "%s", err.text);
	credit[21] = 0x00;
	cr_assert_eq(ec_command(&pc, "CREDIT", credit, sizeof(credit), receipt, sizeof(receipt), &n,
				&err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_issuer_check_s3(&issuer, &l, receipt, n, NULL, &balance, &err), EC_OK);
	cr_assert_eq(balance, 1000);
	/* The same S2 a second time credits nothing. */
	cr_assert_eq(ec_command(&pc, "CREDIT", credit, sizeof(credit), receipt, sizeof(receipt), &n,
				&err), EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6985);
	cr_assert_eq(purse().balance, 1000);
}

Test(e2e, load_by_another_issuer_is_refused_and_credits_nothing)
{
	char dir[128];
	struct ec_issuer other;
	struct ec_load_result res;
	struct ec_error err = { 0 };

	tmp_path(dir, sizeof(dir), "other");
	cr_assert_eq(ec_issuer_init(dir, EUR, 50000, &err), EC_OK);
	cr_assert_eq(ec_issuer_load(dir, &other, &err), EC_OK);
	cr_assert_eq(ec_wallet_load(&pc, &other, 2000, &res, &err), EC_ERR_CHECK);
	cr_assert_not_null(strstr(err.text, "S1"), "%s", err.text);
	cr_assert_eq(purse().balance, 0);

	/* Above the card's maximum: refused before the card is asked, with the
	 * reason the card's bare 6985 would not give... */
	cr_assert_eq(ec_wallet_load(&pc, &issuer, 50001, &res, &err), EC_ERR_CHECK);
	cr_assert_not_null(strstr(err.text, "500.00 EUR"), "%s", err.text);
	/* ...which is what the card says when asked anyway. */
	static const uint8_t too_much[] = { 0x80, 0x40, 0x00, 0x00, 0x04, 0x00, 0x00, 0xC3, 0x51, 0x00 };
	cr_assert_eq(ec_command(&pc, "INITIALIZE LOAD", too_much, sizeof(too_much), NULL, 0, NULL,
				&err), EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6985);
	cr_assert_eq(purse().balance, 0);
	ec_issuer_wipe(&other);
}

Test(e2e, lost_credit_answer_is_recovered_and_credited_once)
{
	struct ec_load_result res;
	struct ec_error err = { 0 };

	load(1000);
	lose_next(0x42, LOSE_ANSWER);
	cr_assert_eq(ec_wallet_load(&pc, &issuer, 2000, &res, &err), EC_OK, "%s", err.text);
	cr_assert_eq(lost_count, 1);
	cr_assert(res.recovered);
	cr_assert_eq(res.balance, 3000);
	cr_assert_eq(res.counter, 2);
	struct ec_purse_data pd = purse();
	cr_assert_eq(pd.balance, 3000, "credited exactly once");
	cr_assert_eq(pd.counter, 2);
}

Test(e2e, lost_credit_command_is_sent_again_and_credited_once)
{
	struct ec_load_result res;
	struct ec_error err = { 0 };

	lose_next(0x42, LOSE_COMMAND);
	cr_assert_eq(ec_wallet_load(&pc, &issuer, 2000, &res, &err), EC_OK, "%s", err.text);
	cr_assert(res.recovered);
	cr_assert_eq(res.balance, 2000);
	cr_assert_eq(purse().balance, 2000);
	cr_assert_eq(purse().counter, 1);
}

Test(e2e, lost_debit_answer_recovers_the_same_record_and_debits_once)
{
	struct ec_payment first, p;
	struct ec_error err = { 0 };
	struct ec_log_entry e;
	bool present;

	load(2000);
	pay(750, &first);
	lose_next(0x44, LOSE_ANSWER);
	cr_assert_eq(ec_merchant_pay(&shop, &pc, 500, EUR, pin_1234, NULL, &p, &err), EC_OK, "%s",
		     err.text);
	cr_assert_eq(lost_count, 1, "the DEBIT answer was really dropped");
	cr_assert(p.recovered);
	cr_assert_eq(p.record.amount, 500);
	cr_assert_eq(p.record.balance, 750);
	cr_assert_eq(p.record.counter, 3);
	cr_assert_eq(purse_debit_record_check(issuer.ca_pub, p.card_cert, p.record_bytes,
					      p.signature), 1);

	struct ec_purse_data pd = purse();
	cr_assert_eq(pd.balance, 750, "debited exactly once");
	cr_assert_eq(pd.counter, 3);
	cr_assert_eq(ec_wallet_log(&pc, 0, &e, &present, &err), EC_OK);
	cr_assert(present && e.type == EC_LOG_DEBIT && e.amount == 500 && e.counter == 3);
	cr_assert_eq(ec_wallet_log(&pc, 1, &e, &present, &err), EC_OK);
	cr_assert(present && e.type == EC_LOG_DEBIT && e.amount == 750 && e.counter == 2);
	cr_assert_eq(ec_wallet_log(&pc, 2, &e, &present, &err), EC_OK);
	cr_assert(present && e.type == EC_LOG_LOAD);
	cr_assert_eq(ec_wallet_log(&pc, 3, &e, &present, &err), EC_OK);
	cr_assert_not(present, "one debit, one log entry");
}

Test(e2e, lost_debit_command_is_reported_as_not_done)
{
	struct ec_payment first, p;
	struct ec_error err = { 0 };

	load(2000);
	/* With no debit at all on the card yet. */
	lose_next(0x44, LOSE_COMMAND);
	cr_assert_eq(ec_merchant_pay(&shop, &pc, 500, EUR, pin_1234, NULL, &p, &err),
		     EC_ERR_NOT_DONE);
	cr_assert_not_null(strstr(err.text, "nothing was debited"), "%s", err.text);
	cr_assert_eq(purse().balance, 2000);

	/* With an earlier debit on record: its challenge is not ours. */
	pay(750, &first);
	lose_next(0x44, LOSE_COMMAND);
	cr_assert_eq(ec_merchant_pay(&shop, &pc, 500, EUR, pin_1234, NULL, &p, &err),
		     EC_ERR_NOT_DONE);
	cr_assert_eq(purse().balance, 1250);
	cr_assert_eq(purse().counter, 2);

	/* Running it again works. */
	pay(500, &p);
	cr_assert_eq(purse().balance, 750);
}

Test(e2e, payments_the_card_or_the_merchant_refuses)
{
	struct ec_payment p;
	struct ec_error err = { 0 };
	int tries = -1;

	load(1000);
	/* Not enough money: refused before the PIN is asked. */
	cr_assert_eq(ec_merchant_pay(&shop, &pc, 1001, EUR, pin_cancel, NULL, &p, &err),
		     EC_ERR_CHECK);
	cr_assert_not_null(strstr(err.text, "10.00 EUR"), "%s", err.text);
	/* No PIN given. */
	cr_assert_eq(ec_merchant_pay(&shop, &pc, 100, EUR, pin_cancel, NULL, &p, &err),
		     EC_ERR_CANCELLED);
	/* A wrong PIN. */
	cr_assert_eq(ec_merchant_pay(&shop, &pc, 100, EUR, pin_1234, "9999", &p, &err),
		     EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x63C2);
	cr_assert_not_null(strstr(err.text, "2 tries left"), "%s", err.text);
	/* A malformed PIN never reaches the card. */
	cr_assert_eq(ec_merchant_pay(&shop, &pc, 100, EUR, pin_1234, "12", &p, &err), EC_ERR_ARG);
	cr_assert_eq(ec_pin_status(&pc, &tries, &err), EC_ERR_CARD);
	cr_assert_eq(tries, 2);
	/* Another currency. */
	cr_assert_eq(ec_merchant_pay(&shop, &pc, 100, 840, pin_1234, NULL, &p, &err), EC_ERR_ARG);
	cr_assert_eq(purse().balance, 1000);
	cr_assert_eq(purse().counter, 1);

	/* A merchant of another issuer does not accept this issuer's cards. */
	char dir[128], path[128];
	struct ec_issuer other;
	struct ec_merchant stranger;
	tmp_path(dir, sizeof(dir), "other");
	cr_assert_eq(ec_issuer_init(dir, EUR, 50000, &err), EC_OK);
	cr_assert_eq(ec_issuer_load(dir, &other, &err), EC_OK);
	tmp_path(path, sizeof(path), "stranger.key");
	cr_assert_eq(ec_merchant_init(&other, merchant_id, path, &err), EC_OK);
	cr_assert_eq(ec_merchant_load(path, &stranger, &err), EC_OK);
	cr_assert_eq(ec_merchant_pay(&stranger, &pc, 100, EUR, pin_1234, NULL, &p, &err),
		     EC_ERR_CHECK);
	cr_assert_eq(purse().balance, 1000);
	ec_issuer_wipe(&other);
	ec_merchant_wipe(&stranger);
}

Test(e2e, pin_verify_change_unblock)
{
	struct ec_error err = { 0 };
	int tries = -1;

	cr_assert_eq(ec_pin_verify(&pc, "1234", &tries, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_pin_status(&pc, &tries, &err), EC_OK);
	cr_assert_eq(ec_pin_change(&pc, "1234", "24680", &tries, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_pin_verify(&pc, "1234", &tries, &err), EC_ERR_CARD);
	cr_assert_eq(tries, 2);
	cr_assert_eq(ec_pin_verify(&pc, "0000", &tries, &err), EC_ERR_CARD);
	cr_assert_eq(ec_pin_verify(&pc, "0000", &tries, &err), EC_ERR_CARD);
	cr_assert_eq(tries, 0);
	cr_assert_eq(ec_pin_verify(&pc, "24680", &tries, &err), EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6983, "blocked");
	cr_assert_eq(ec_pin_unblock(&pc, "00000000", "1111", &tries, &err), EC_ERR_CARD);
	cr_assert_eq(ec_pin_unblock(&pc, "12345678", "1111", &tries, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_pin_verify(&pc, "1111", &tries, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_pin_change(&pc, "1111", "12", &tries, &err), EC_ERR_ARG);
}

Test(e2e, profile_fields_and_policy)
{
	struct ec_error err = { 0 };
	char value[EC_PROFILE_VALUE_MAX + 1];
	size_t len;
	uint8_t general, priv;

	cr_assert_eq(ec_profile_select(&pc, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_profile_get_policy(&pc, &general, &priv, &err), EC_OK);
	cr_assert_eq(general, EC_POLICY_NEVER);
	cr_assert_eq(priv, EC_POLICY_ALWAYS);

	/* Writing needs a fresh PIN verification. */
	cr_assert_eq(ec_profile_put_field(&pc, 0x0A, "a@example.org", 13, &err), EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6982);
	cr_assert_eq(ec_pin_verify(&pc, "1234", NULL, &err), EC_OK);
	cr_assert_eq(ec_profile_put_field(&pc, 0x0A, "a@example.org", 13, &err), EC_OK, "%s",
		     err.text);
	cr_assert_eq(ec_pin_verify(&pc, "1234", NULL, &err), EC_OK);
	cr_assert_eq(ec_profile_put_field(&pc, 0x02, "secret", 6, &err), EC_OK, "%s", err.text);

	cr_assert_eq(ec_profile_get_field(&pc, 0x0A, value, sizeof(value), &len, &err), EC_OK);
	cr_assert_eq(len, 13);
	cr_assert_str_eq(value, "a@example.org");
	cr_assert_eq(ec_profile_get_field(&pc, 0x03, value, sizeof(value), &len, &err), EC_OK);
	cr_assert_eq(len, 0, "an empty field");
	/* A private field wants the PIN every time. */
	cr_assert_eq(ec_profile_get_field(&pc, 0x02, value, sizeof(value), &len, &err), EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6982);
	cr_assert_eq(ec_pin_verify(&pc, "1234", NULL, &err), EC_OK);
	cr_assert_eq(ec_profile_get_field(&pc, 0x02, value, sizeof(value), &len, &err), EC_OK);
	cr_assert_str_eq(value, "secret");

	cr_assert_eq(ec_pin_verify(&pc, "1234", NULL, &err), EC_OK);
	cr_assert_eq(ec_profile_set_policy(&pc, EC_POLICY_SESSION, EC_POLICY_NEVER, &err), EC_OK);
	cr_assert_eq(ec_profile_get_field(&pc, 0x02, value, sizeof(value), &len, &err), EC_OK);
	cr_assert_eq(ec_profile_get_policy(&pc, &general, &priv, &err), EC_OK);
	cr_assert_eq(general, EC_POLICY_SESSION);
	cr_assert_eq(priv, EC_POLICY_NEVER);

	/* Clearing a field. */
	cr_assert_eq(ec_pin_verify(&pc, "1234", NULL, &err), EC_OK);
	cr_assert_eq(ec_profile_put_field(&pc, 0x0A, "", 0, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_profile_get_field(&pc, 0x0A, value, sizeof(value), &len, &err), EC_OK);
	cr_assert_eq(len, 0);
	cr_assert_eq(ec_profile_put_field(&pc, 0x0A, value, EC_PROFILE_VALUE_MAX + 1, &err),
		     EC_ERR_ARG);
}
