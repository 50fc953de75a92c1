/*
 * purse.c - the purse's messages (formats in purse.h), built and parsed
 * with the cursor and the crypto module only.
 */
#include "purse.h"

#include <string.h>

#include "cursor.h"

static const char kload_label[] = "ECARD-LOAD";

int purse_derive_kload(const uint8_t master[PURSE_MASTER_KEY_LEN],
		       const uint8_t serial[PURSE_SERIAL_LEN], uint8_t kload[PURSE_KEY_LEN])
{
	return crypto_kdf_ctr_cmac(master, PURSE_MASTER_KEY_LEN, kload_label,
				   sizeof(kload_label) - 1, serial, PURSE_SERIAL_LEN, kload,
				   PURSE_KEY_LEN);
}

/* tag || serial || counter || amount || challenge [|| balance] */
static int load_mac(const uint8_t kload[PURSE_KEY_LEN], const char tag[4],
		    const struct purse_load *l, bool with_balance, uint8_t mac[PURSE_MAC_LEN])
{
	uint8_t msg[4 + PURSE_SERIAL_LEN + 4 + 4 + PURSE_CHALLENGE_LEN + 4];
	struct writer w;
	writer_init(&w, msg, sizeof(msg));
	writer_bytes(&w, tag, 4);
	writer_bytes(&w, l->serial, PURSE_SERIAL_LEN);
	writer_u32(&w, l->counter);
	writer_u32(&w, l->amount);
	writer_bytes(&w, l->challenge, PURSE_CHALLENGE_LEN);
	if (with_balance)
		writer_u32(&w, l->balance);
	if (!writer_ok(&w))
		return -1;
	return crypto_aes_cmac(kload, PURSE_KEY_LEN, msg, w.len, mac);
}

int purse_s1(const uint8_t kload[PURSE_KEY_LEN], const struct purse_load *l,
	     uint8_t mac[PURSE_MAC_LEN])
{
	return load_mac(kload, "LREQ", l, true, mac);
}

int purse_s2(const uint8_t kload[PURSE_KEY_LEN], const struct purse_load *l,
	     uint8_t mac[PURSE_MAC_LEN])
{
	return load_mac(kload, "LAUT", l, false, mac);
}

int purse_s3(const uint8_t kload[PURSE_KEY_LEN], const uint8_t serial[PURSE_SERIAL_LEN],
	     uint32_t new_counter, uint32_t amount, uint32_t new_balance,
	     uint8_t mac[PURSE_MAC_LEN])
{
	uint8_t msg[4 + PURSE_SERIAL_LEN + 12];
	struct writer w;
	writer_init(&w, msg, sizeof(msg));
	writer_bytes(&w, "LDON", 4);
	writer_bytes(&w, serial, PURSE_SERIAL_LEN);
	writer_u32(&w, new_counter);
	writer_u32(&w, amount);
	writer_u32(&w, new_balance);
	if (!writer_ok(&w))
		return -1;
	return crypto_aes_cmac(kload, PURSE_KEY_LEN, msg, w.len, mac);
}

/* Where the parts of a certificate are. */
#define CERT_KIND 0
#define CERT_ID PURSE_CERT_ID_OFF
#define CERT_PUB PURSE_CERT_PUB_OFF
#define CERT_SIG (CERT_PUB + CRYPTO_EC_PUB_LEN)
#define CERT_BODY_LEN (4 + 1 + PURSE_ID_LEN + CRYPTO_EC_PUB_LEN)

/* The bytes a CA signs: "ECRT" || kind || id || key. */
static void cert_body(uint8_t kind, const uint8_t id[PURSE_ID_LEN],
		      const uint8_t pub[CRYPTO_EC_PUB_LEN], uint8_t out[CERT_BODY_LEN])
{
	memcpy(out, "ECRT", 4);
	out[4] = kind;
	memcpy(out + 5, id, PURSE_ID_LEN);
	memcpy(out + 5 + PURSE_ID_LEN, pub, CRYPTO_EC_PUB_LEN);
}

int purse_cert_make(const uint8_t ca_priv[CRYPTO_EC_PRIV_LEN], uint8_t kind,
		    const uint8_t id[PURSE_ID_LEN], const uint8_t pub[CRYPTO_EC_PUB_LEN],
		    uint8_t cert[PURSE_CERT_LEN])
{
	uint8_t body[CERT_BODY_LEN];
	if (kind != PURSE_CERT_CARD && kind != PURSE_CERT_MERCHANT)
		return -1;
	cert_body(kind, id, pub, body);
	cert[CERT_KIND] = kind;
	memcpy(cert + CERT_ID, id, PURSE_ID_LEN);
	memcpy(cert + CERT_PUB, pub, CRYPTO_EC_PUB_LEN);
	return crypto_ecdsa_sign(ca_priv, body, sizeof(body), cert + CERT_SIG);
}

int purse_cert_check(const uint8_t ca_pub[CRYPTO_EC_PUB_LEN], uint8_t kind,
		     const uint8_t cert[PURSE_CERT_LEN], uint8_t id[PURSE_ID_LEN],
		     uint8_t pub[CRYPTO_EC_PUB_LEN])
{
	uint8_t body[CERT_BODY_LEN];
	/* The kind is signed too, so this is a shortcut, not the check. */
	if (cert[CERT_KIND] != kind)
		return 0;
	cert_body(kind, cert + CERT_ID, cert + CERT_PUB, body);
	if (crypto_ecdsa_verify(ca_pub, body, sizeof(body), cert + CERT_SIG) != 1)
		return 0;
	if (id)
		memcpy(id, cert + CERT_ID, PURSE_ID_LEN);
	if (pub)
		memcpy(pub, cert + CERT_PUB, CRYPTO_EC_PUB_LEN);
	return 1;
}

int purse_perso_seal(const uint8_t kload[PURSE_KEY_LEN], const uint8_t serial[PURSE_SERIAL_LEN],
		     const uint8_t ca_pub[CRYPTO_EC_PUB_LEN], uint16_t currency,
		     uint32_t max_balance, const uint8_t cert[PURSE_CERT_LEN],
		     uint8_t mac[PURSE_MAC_LEN])
{
	uint8_t msg[4 + PURSE_SERIAL_LEN + CRYPTO_EC_PUB_LEN + 2 + 4 + PURSE_CERT_LEN];
	struct writer w;
	writer_init(&w, msg, sizeof(msg));
	writer_bytes(&w, "PSEL", 4);
	writer_bytes(&w, serial, PURSE_SERIAL_LEN);
	writer_bytes(&w, ca_pub, CRYPTO_EC_PUB_LEN);
	writer_u16(&w, currency);
	writer_u32(&w, max_balance);
	writer_bytes(&w, cert, PURSE_CERT_LEN);
	if (!writer_ok(&w))
		return -1;
	return crypto_aes_cmac(kload, PURSE_KEY_LEN, msg, w.len, mac);
}

static void debit_signed_part(const struct purse_debit_request *r,
			      uint8_t out[PURSE_DEBIT_SIGNED_LEN])
{
	store_be32(out, r->amount);
	store_be16(out + 4, r->currency);
	memcpy(out + 6, r->merchant_id, PURSE_ID_LEN);
	memcpy(out + 14, r->challenge, PURSE_CHALLENGE_LEN);
}

int purse_debit_request_make(const struct purse_debit_request *req_unsigned,
			     const uint8_t merchant_priv[CRYPTO_EC_PRIV_LEN],
			     uint8_t out[PURSE_DEBIT_REQUEST_LEN])
{
	debit_signed_part(req_unsigned, out);
	memcpy(out + PURSE_DEBIT_SIGNED_LEN, req_unsigned->cert, PURSE_CERT_LEN);
	return crypto_ecdsa_sign(merchant_priv, out, PURSE_DEBIT_SIGNED_LEN,
				 out + PURSE_DEBIT_SIGNED_LEN + PURSE_CERT_LEN);
}

bool purse_debit_request_parse(const uint8_t *buf, size_t len, struct purse_debit_request *req)
{
	struct cursor c;
	cursor_init(&c, buf, len);
	cursor_u32(&c, &req->amount);
	cursor_u16(&c, &req->currency);
	cursor_copy(&c, req->merchant_id, PURSE_ID_LEN);
	cursor_copy(&c, req->challenge, PURSE_CHALLENGE_LEN);
	cursor_copy(&c, req->cert, PURSE_CERT_LEN);
	cursor_copy(&c, req->signature, CRYPTO_EC_SIG_LEN);
	return cursor_done(&c);
}

int purse_debit_request_check(const uint8_t ca_pub[CRYPTO_EC_PUB_LEN],
			      const struct purse_debit_request *req)
{
	uint8_t id[PURSE_ID_LEN], pub[CRYPTO_EC_PUB_LEN], signed_part[PURSE_DEBIT_SIGNED_LEN];
	if (purse_cert_check(ca_pub, PURSE_CERT_MERCHANT, req->cert, id, pub) != 1)
		return 0;
	if (memcmp(id, req->merchant_id, PURSE_ID_LEN) != 0)
		return 0;
	debit_signed_part(req, signed_part);
	return crypto_ecdsa_verify(pub, signed_part, sizeof(signed_part), req->signature) == 1;
}

void purse_debit_record_encode(const struct purse_debit_record *r,
			       uint8_t out[PURSE_DEBIT_RECORD_LEN])
{
	struct writer w;
	writer_init(&w, out, PURSE_DEBIT_RECORD_LEN);
	writer_bytes(&w, r->serial, PURSE_SERIAL_LEN);
	writer_u32(&w, r->counter);
	writer_u32(&w, r->amount);
	writer_u16(&w, r->currency);
	writer_bytes(&w, r->merchant_id, PURSE_ID_LEN);
	writer_bytes(&w, r->challenge, PURSE_CHALLENGE_LEN);
	writer_u32(&w, r->balance);
}

bool purse_debit_record_parse(const uint8_t *buf, size_t len, struct purse_debit_record *r)
{
	struct cursor c;
	cursor_init(&c, buf, len);
	cursor_copy(&c, r->serial, PURSE_SERIAL_LEN);
	cursor_u32(&c, &r->counter);
	cursor_u32(&c, &r->amount);
	cursor_u16(&c, &r->currency);
	cursor_copy(&c, r->merchant_id, PURSE_ID_LEN);
	cursor_copy(&c, r->challenge, PURSE_CHALLENGE_LEN);
	cursor_u32(&c, &r->balance);
	return cursor_done(&c);
}

static void record_body(const uint8_t record[PURSE_DEBIT_RECORD_LEN],
			uint8_t out[4 + PURSE_DEBIT_RECORD_LEN])
{
	memcpy(out, "EDEB", 4);
	memcpy(out + 4, record, PURSE_DEBIT_RECORD_LEN);
}

int purse_debit_record_sign(const uint8_t card_priv[CRYPTO_EC_PRIV_LEN],
			    const uint8_t record[PURSE_DEBIT_RECORD_LEN],
			    uint8_t sig[CRYPTO_EC_SIG_LEN])
{
	uint8_t body[4 + PURSE_DEBIT_RECORD_LEN];
	record_body(record, body);
	return crypto_ecdsa_sign(card_priv, body, sizeof(body), sig);
}

int purse_debit_record_check(const uint8_t ca_pub[CRYPTO_EC_PUB_LEN],
			     const uint8_t card_cert[PURSE_CERT_LEN],
			     const uint8_t record[PURSE_DEBIT_RECORD_LEN],
			     const uint8_t sig[CRYPTO_EC_SIG_LEN])
{
	uint8_t id[PURSE_ID_LEN], pub[CRYPTO_EC_PUB_LEN];
	if (purse_cert_check(ca_pub, PURSE_CERT_CARD, card_cert, id, pub) != 1)
		return 0;
	/* The certificate must be this card's: its id is the serial. */
	if (memcmp(id, record, PURSE_SERIAL_LEN) != 0)
		return 0;
	return purse_debit_record_verify(pub, record, sig);
}

int purse_debit_record_verify_with(struct crypto_ec_verifier *card,
				   const uint8_t record[PURSE_DEBIT_RECORD_LEN],
				   const uint8_t sig[CRYPTO_EC_SIG_LEN])
{
	uint8_t body[4 + PURSE_DEBIT_RECORD_LEN];

	record_body(record, body);
	return crypto_ec_verifier_check(card, body, sizeof(body), sig) == 1;
}

int purse_debit_record_verify(const uint8_t card_pub[CRYPTO_EC_PUB_LEN],
			      const uint8_t record[PURSE_DEBIT_RECORD_LEN],
			      const uint8_t sig[CRYPTO_EC_SIG_LEN])
{
	uint8_t body[4 + PURSE_DEBIT_RECORD_LEN];

	record_body(record, body);
	return crypto_ecdsa_verify(card_pub, body, sizeof(body), sig) == 1;
}
