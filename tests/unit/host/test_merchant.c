/*
 * test_merchant.c - the merchant's key file (host/merchant.c): made with
 * a certificate of the issuer's CA, and checked when read back. Paying
 * with a card is tested end to end in test_wallet.c.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host_fixture.h"
#include "issuer.h"
#include "keyfile.h"
#include "merchant.h"
#include "purse.h"
#include "test_support.h"

#define EUR 978

/* ---- merchant ---- */

TestSuite(merchant, .init = ts_tmpdir_init, .fini = ts_tmpdir_fini);

static const uint8_t merchant_id[PURSE_ID_LEN] = { 0x4D, 0x45, 0x52, 0x43, 0x48, 0x00, 0x00, 0x07 };

Test(merchant, init_writes_a_certified_merchant)
{
	char dir[128], path[128];
	struct ec_issuer is;
	struct ec_merchant m;
	struct ec_error err = { 0 };
	uint8_t id[PURSE_ID_LEN], pub[CRYPTO_EC_PUB_LEN];

	ts_issuer_new("issuer", &is, dir, sizeof(dir));
	ts_tmp_path(path, sizeof(path), "shop.key");
	umask(022);
	cr_assert_eq(ec_merchant_init(&is, merchant_id, path, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ts_file_mode(path), 0600);
	cr_assert_eq(ec_merchant_load(path, &m, &err), EC_OK, "%s", err.text);
	cr_assert_arr_eq(m.id, merchant_id, PURSE_ID_LEN);
	cr_assert_arr_eq(m.ca_pub, is.ca_pub, CRYPTO_EC_PUB_LEN);
	cr_assert_eq(m.currency, EUR);
	cr_assert_eq(purse_cert_check(is.ca_pub, PURSE_CERT_MERCHANT, m.cert, id, pub), 1);
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

	ts_issuer_new("issuer", &is, dir, sizeof(dir));
	ts_tmp_path(path, sizeof(path), "shop.key");
	cr_assert_eq(ec_merchant_init(&is, merchant_id, path, &err), EC_OK, "%s", err.text);
	tamper(path, "certificate");
	cr_assert_eq(ec_merchant_load(path, &m, &err), EC_ERR_CHECK);
	cr_assert_not_null(strstr(err.text, "certificate"), "%s", err.text);

	/* The merchant of another CA does not pass this CA's check. */
	struct ec_issuer other;
	char dir2[128], path2[128];
	ts_issuer_new("other", &other, dir2, sizeof(dir2));
	ts_tmp_path(path2, sizeof(path2), "other.key");
	cr_assert_eq(ec_merchant_init(&other, merchant_id, path2, &err), EC_OK);
	cr_assert_eq(ec_merchant_load(path2, &m, &err), EC_OK);
	cr_assert_eq(purse_cert_check(is.ca_pub, PURSE_CERT_MERCHANT, m.cert, NULL, NULL), 0);

	chmod(path2, 0604);
	cr_assert_eq(ec_merchant_load(path2, &m, &err), EC_ERR_INSECURE);
	ec_issuer_wipe(&is);
	ec_issuer_wipe(&other);
}
