/*
 * wallet.c - the electronic purse (DESIGN §2.1; APDUs in
 * common/wallet_proto.h, messages in common/purse.h).
 *
 * Two persistent objects: the configuration written at personalization
 * (keys, certificate, currency, maximum) and the state every purse command
 * changes (balance, counter, pending load, last transactions, log). Each
 * state change is one transaction, computed in full (MACs, signature)
 * before the transaction starts, so a tear leaves the purse exactly before
 * or exactly after a command. The counter grows by one at every credit and
 * every debit and never otherwise.
 */
#include "applets.h"

#include <string.h>

#include "crypto.h"
#include "cursor.h"
#include "purse.h"

#define TAG_CONFIG 1u
#define TAG_STATE 2u

/* Configuration object. */
#define CF_PERSONALIZED 0u	/* 1 once the last STORE DATA is accepted */
#define CF_HAVE 1u		/* bit set of what personalization stored */
#define CF_KLOAD 2u
#define CF_PRIV (CF_KLOAD + PURSE_KEY_LEN)
#define CF_PUB (CF_PRIV + CRYPTO_EC_PRIV_LEN)
#define CF_CERT (CF_PUB + CRYPTO_EC_PUB_LEN)
#define CF_CA (CF_CERT + PURSE_CERT_LEN)
#define CF_CURRENCY (CF_CA + CRYPTO_EC_PUB_LEN)
#define CF_MAX (CF_CURRENCY + 2)
#define CF_SIZE (CF_MAX + 4)

#define HAVE_KEYPAIR 0x01u
#define HAVE_KLOAD 0x02u
#define HAVE_CA 0x04u
#define HAVE_LIMITS 0x08u
#define HAVE_CERT 0x10u
#define HAVE_ALL 0x1Fu

/* State object. */
#define ST_BALANCE 0u
#define ST_COUNTER 4u
#define ST_PENDING 8u		/* 1 while a load awaits its CREDIT */
#define ST_PEND_AMOUNT 9u
#define ST_PEND_CHALLENGE 13u
#define ST_PEND_COUNTER (ST_PEND_CHALLENGE + PURSE_CHALLENGE_LEN)
#define ST_DEBIT_VALID (ST_PEND_COUNTER + 4)
#define ST_DEBIT (ST_DEBIT_VALID + 1)	/* record || signature */
#define ST_LOAD_VALID (ST_DEBIT + PURSE_DEBIT_RECORD_LEN + CRYPTO_EC_SIG_LEN)
#define ST_LOAD (ST_LOAD_VALID + 1)	/* counter || balance || S3 */
#define ST_LOG_HEAD (ST_LOAD + WALLET_CREDIT_RESPONSE_LEN)	/* next slot to write */
#define ST_LOG_COUNT (ST_LOG_HEAD + 1)
#define ST_LOG (ST_LOG_COUNT + 1)
#define ST_SIZE (ST_LOG + WALLET_LOG_ENTRIES * WALLET_LOG_ENTRY_LEN)



struct wallet {
	struct vc_applet_ctx *ctx;
	struct vc_obj config;
	struct vc_obj state;
};

/* ---- small helpers over the two objects ---- */

static bool open_wallet(struct vc_applet_ctx *ctx, struct wallet *w)
{
	w->ctx = ctx;
	return vc_obj_find(ctx, TAG_CONFIG, &w->config) == VC_OK &&
	       vc_obj_find(ctx, TAG_STATE, &w->state) == VC_OK;
}

static uint8_t cfg_byte(struct wallet *w, uint32_t off)
{
	uint8_t b = 0;
	vc_obj_read(w->ctx, &w->config, off, &b, 1);
	return b;
}

static uint32_t st_u32(struct wallet *w, uint32_t off)
{
	uint8_t b[4] = { 0 };
	vc_obj_read(w->ctx, &w->state, off, b, 4);
	return load_be32(b);
}

static uint8_t st_byte(struct wallet *w, uint32_t off)
{
	uint8_t b = 0;
	vc_obj_read(w->ctx, &w->state, off, &b, 1);
	return b;
}

static bool personalized(struct wallet *w)
{
	return cfg_byte(w, CF_PERSONALIZED) == 1;
}

static uint16_t currency_of(struct wallet *w)
{
	uint8_t b[2] = { 0 };
	vc_obj_read(w->ctx, &w->config, CF_CURRENCY, b, 2);
	return load_be16(b);
}

static uint32_t max_balance_of(struct wallet *w)
{
	uint8_t b[4] = { 0 };
	vc_obj_read(w->ctx, &w->config, CF_MAX, b, 4);
	return load_be32(b);
}

/*
 * A batch of writes to the state object committed as one transaction.
 * Writes are collected first, so the transaction holds no computation.
 */
struct change {
	struct wallet *w;
	enum vc_status st;
};

static void change_begin(struct change *c, struct wallet *w)
{
	c->w = w;
	c->st = vc_tx_begin(w->ctx);
}

static void change_bytes(struct change *c, const struct vc_obj *obj, uint32_t off,
			 const void *data, size_t len)
{
	if (c->st == VC_OK)
		c->st = vc_obj_write(c->w->ctx, obj, off, data, len);
}

static void change_u32(struct change *c, uint32_t off, uint32_t v)
{
	uint8_t b[4];
	store_be32(b, v);
	change_bytes(c, &c->w->state, off, b, 4);
}

static void change_byte(struct change *c, const struct vc_obj *obj, uint32_t off, uint8_t v)
{
	change_bytes(c, obj, off, &v, 1);
}

/* Commit; on any earlier failure abort. Returns SW_OK or a failure SW. */
static uint16_t change_commit(struct change *c)
{
	if (c->st == VC_OK)
		c->st = vc_tx_commit(c->w->ctx);
	else if (c->st != VC_ERR_POWER_LOST)
		vc_tx_abort(c->w->ctx);
	return c->st == VC_OK ? SW_OK : SW_MEMORY_FAILURE;
}

static void change_log(struct change *c, uint8_t type, uint32_t counter, uint32_t amount,
		       uint32_t balance, const uint8_t merchant[PURSE_ID_LEN])
{
	struct wallet *w = c->w;
	uint8_t head = st_byte(w, ST_LOG_HEAD) % WALLET_LOG_ENTRIES;
	uint8_t count = st_byte(w, ST_LOG_COUNT);
	uint8_t e[WALLET_LOG_ENTRY_LEN] = { type };
	store_be32(e + 1, counter);
	store_be32(e + 5, amount);
	store_be32(e + 9, balance);
	if (merchant)
		memcpy(e + 13, merchant, PURSE_ID_LEN);
	change_bytes(c, &w->state, ST_LOG + head * WALLET_LOG_ENTRY_LEN, e, sizeof(e));
	change_byte(c, &w->state, ST_LOG_HEAD, (uint8_t)((head + 1) % WALLET_LOG_ENTRIES));
	if (count < WALLET_LOG_ENTRIES)
		change_byte(c, &w->state, ST_LOG_COUNT, (uint8_t)(count + 1));
}

static void read_serial(struct wallet *w, uint8_t serial[PURSE_SERIAL_LEN])
{
	vc_card_serial_of(w->ctx, serial);
}

/* ---- install and personalization ---- */

static uint16_t install(struct vc_applet_ctx *ctx, const uint8_t *params, size_t len)
{
	struct vc_obj o;
	(void)params;
	(void)len;
	if (vc_obj_alloc(ctx, TAG_CONFIG, CF_SIZE, &o) != VC_OK ||
	    vc_obj_alloc(ctx, TAG_STATE, ST_SIZE, &o) != VC_OK)
		return SW_NOT_ENOUGH_MEMORY;
	return SW_OK;
}

/* What each personalization TLV holds, and where it goes. */
struct perso_item {
	uint8_t tag;
	uint8_t len;
	uint32_t off;
	uint8_t bit;
};

static const struct perso_item perso_items[] = {
	{ WALLET_TAG_GENERATE, 0, CF_PRIV, HAVE_KEYPAIR },	/* generate: no value, the card makes it */
	{ WALLET_TAG_KLOAD, PURSE_KEY_LEN, CF_KLOAD, HAVE_KLOAD },
	{ WALLET_TAG_CA_PUB, CRYPTO_EC_PUB_LEN, CF_CA, HAVE_CA },
	{ WALLET_TAG_LIMITS, WALLET_LIMITS_LEN, CF_CURRENCY, HAVE_LIMITS },
	{ WALLET_TAG_CERT, PURSE_CERT_LEN, CF_CERT, HAVE_CERT },
};

static const struct perso_item *perso_item_of(uint32_t tag)
{
	for (size_t i = 0; i < sizeof(perso_items) / sizeof(perso_items[0]); i++)
		if (perso_items[i].tag == tag)
			return &perso_items[i];
	return NULL;
}

/*
 * The seal of a personalization that just ended (purse.h): the issuer,
 * who knows K_load, checks with it that the card holds its K_load and
 * exactly the CA key, limits and certificate it sent. Personalized is
 * personalized: if the seal cannot be made, the answer says so but the
 * card stays as it is.
 */
static uint16_t append_seal(struct wallet *w, const uint8_t serial[PURSE_SERIAL_LEN],
			    struct vc_response *rsp)
{
	uint8_t kload[PURSE_KEY_LEN], ca[CRYPTO_EC_PUB_LEN], cert[PURSE_CERT_LEN];
	uint8_t seal[PURSE_MAC_LEN];
	vc_obj_read(w->ctx, &w->config, CF_KLOAD, kload, sizeof(kload));
	vc_obj_read(w->ctx, &w->config, CF_CA, ca, sizeof(ca));
	vc_obj_read(w->ctx, &w->config, CF_CERT, cert, sizeof(cert));
	int rc = purse_perso_seal(kload, serial, ca, currency_of(w), max_balance_of(w), cert, seal);
	crypto_wipe(kload, sizeof(kload));
	if (rc != 0 || !vc_rsp_append(rsp, seal, sizeof(seal)))
		return SW_UNKNOWN;
	return SW_OK;
}

/*
 * STORE DATA, forwarded by the card manager (which has decrypted
 * DEK-protected blocks and cleared P1's encryption bits). P2 is
 * GlobalPlatform's block number: the secure channel keeps the blocks in
 * order, so it is not checked.
 *
 * The block is checked in full and a requested key pair generated before
 * the transaction starts; the TLVs are then applied in their order, so a
 * C4 after a C0 in the same block is checked against the new key (and
 * cannot match it: the issuer certifies the key the C0 answer returned).
 */
static uint16_t store_data(struct wallet *w, const struct vc_apdu *cmd,
			   struct vc_response *rsp)
{
	struct cursor c, v;
	uint32_t tag;
	uint8_t have = cfg_byte(w, CF_HAVE);
	uint8_t priv[CRYPTO_EC_PRIV_LEN], pub[CRYPTO_EC_PUB_LEN], serial[PURSE_SERIAL_LEN];
	bool generate = false;

	/* Only the issuer's secure channel personalizes: a STORE DATA sent
	 * straight to the wallet, on any channel, could replace K_load
	 * between the issuer's blocks. */
	if (!w->ctx->from_security_domain)
		return SW_SECURITY_STATUS;
	if (personalized(w))
		return SW_CONDITIONS;
	if ((cmd->p1 & ~WALLET_STORE_DATA_LAST) != 0)
		return SW_INCORRECT_P1P2;

	cursor_init(&c, cmd->data, cmd->nc);
	while (cursor_remaining(&c) > 0) {
		const struct perso_item *it;
		if (!cursor_tlv(&c, &tag, &v) || (it = perso_item_of(tag)) == NULL ||
		    cursor_remaining(&v) != it->len)
			return SW_WRONG_DATA;
		if (tag == WALLET_TAG_GENERATE) {
			if (generate)
				return SW_WRONG_DATA;	/* one key pair per block, one answer */
			generate = true;
		}
	}
	if (generate && crypto_ec_generate(priv, pub) != 0)
		return SW_UNKNOWN;
	read_serial(w, serial);

	struct change ch;
	change_begin(&ch, w);
	cursor_init(&c, cmd->data, cmd->nc);
	while (ch.st == VC_OK && cursor_remaining(&c) > 0) {
		cursor_tlv(&c, &tag, &v);
		const struct perso_item *it = perso_item_of(tag);
		if (tag == WALLET_TAG_GENERATE) {
			change_bytes(&ch, &w->config, CF_PRIV, priv, sizeof(priv));
			change_bytes(&ch, &w->config, CF_PUB, pub, sizeof(pub));
			/* A new key voids any certificate stored for the old one. */
			have = (uint8_t)((have | HAVE_KEYPAIR) & ~HAVE_CERT);
			continue;
		}
		if (tag == WALLET_TAG_CERT) {
			/* The certificate must be for this card and its key. */
			uint8_t key[CRYPTO_EC_PUB_LEN];
			if (generate)
				memcpy(key, pub, sizeof(key));
			else
				vc_obj_read(w->ctx, &w->config, CF_PUB, key, sizeof(key));
			if (!(have & HAVE_KEYPAIR) || v.data[0] != PURSE_CERT_CARD ||
			    memcmp(v.data + PURSE_CERT_ID_OFF, serial, PURSE_SERIAL_LEN) != 0 ||
			    memcmp(v.data + PURSE_CERT_PUB_OFF, key, CRYPTO_EC_PUB_LEN) != 0) {
				vc_tx_abort(w->ctx);
				crypto_wipe(priv, sizeof(priv));
				return SW_WRONG_DATA;
			}
		}
		change_bytes(&ch, &w->config, it->off, v.data, it->len);
		have |= it->bit;
	}
	crypto_wipe(priv, sizeof(priv));
	change_byte(&ch, &w->config, CF_HAVE, have);

	if (cmd->p1 & WALLET_STORE_DATA_LAST) {
		/* Last block: complete, and the certificate from this CA. */
		uint8_t ca[CRYPTO_EC_PUB_LEN], cert[PURSE_CERT_LEN];
		vc_obj_read(w->ctx, &w->config, CF_CA, ca, sizeof(ca));
		vc_obj_read(w->ctx, &w->config, CF_CERT, cert, sizeof(cert));
		if (ch.st == VC_OK &&
		    (have != HAVE_ALL || purse_cert_check(ca, PURSE_CERT_CARD, cert, NULL, NULL) != 1)) {
			vc_tx_abort(w->ctx);
			return have != HAVE_ALL ? SW_CONDITIONS : SW_WRONG_DATA;
		}
		change_byte(&ch, &w->config, CF_PERSONALIZED, 1);
	}
	uint16_t sw = change_commit(&ch);
	if (sw == SW_OK && generate) {
		vc_rsp_append(rsp, serial, sizeof(serial));
		vc_rsp_append(rsp, pub, sizeof(pub));
	}
	if (sw == SW_OK && (cmd->p1 & WALLET_STORE_DATA_LAST))
		sw = append_seal(w, serial, rsp);
	return sw;
}

/* ---- purse commands ---- */

static uint16_t get_purse_data(struct wallet *w, struct vc_response *rsp)
{
	uint8_t out[WALLET_PURSE_DATA_LEN];
	out[0] = WALLET_PURSE_DATA_VERSION;
	read_serial(w, out + 1);
	store_be16(out + 9, currency_of(w));
	store_be32(out + 11, st_u32(w, ST_BALANCE));
	store_be32(out + 15, max_balance_of(w));
	store_be32(out + 19, st_u32(w, ST_COUNTER));
	vc_rsp_append(rsp, out, sizeof(out));
	return SW_OK;
}

static uint16_t initialize_load(struct wallet *w, const struct vc_apdu *cmd,
				struct vc_response *rsp)
{
	struct purse_load l;
	uint8_t kload[PURSE_KEY_LEN], s1[PURSE_MAC_LEN];

	if (cmd->nc != 4)
		return SW_WRONG_LENGTH;
	l.amount = load_be32(cmd->data);
	l.balance = st_u32(w, ST_BALANCE);
	l.counter = st_u32(w, ST_COUNTER);
	if (l.amount == 0)
		return SW_WRONG_DATA;
	if (l.amount > max_balance_of(w) || l.balance > max_balance_of(w) - l.amount)
		return SW_CONDITIONS;	/* the maximum balance would be exceeded */
	if (l.counter == UINT32_MAX)
		return SW_CONDITIONS;
	read_serial(w, l.serial);
	if (crypto_random(l.challenge, sizeof(l.challenge)) != 0)
		return SW_UNKNOWN;
	vc_obj_read(w->ctx, &w->config, CF_KLOAD, kload, sizeof(kload));
	int rc = purse_s1(kload, &l, s1);
	crypto_wipe(kload, sizeof(kload));
	if (rc != 0)
		return SW_UNKNOWN;

	/* The pending load replaces any earlier one. */
	struct change c;
	change_begin(&c, w);
	uint8_t pending[1 + 4 + PURSE_CHALLENGE_LEN + 4];
	pending[0] = 1;
	store_be32(pending + 1, l.amount);
	memcpy(pending + 5, l.challenge, PURSE_CHALLENGE_LEN);
	store_be32(pending + 5 + PURSE_CHALLENGE_LEN, l.counter);
	change_bytes(&c, &w->state, ST_PENDING, pending, sizeof(pending));
	uint16_t sw = change_commit(&c);
	if (sw != SW_OK)
		return sw;

	uint8_t out[PURSE_CHALLENGE_LEN + PURSE_SERIAL_LEN + 8 + PURSE_MAC_LEN];
	memcpy(out, l.challenge, PURSE_CHALLENGE_LEN);
	memcpy(out + 16, l.serial, PURSE_SERIAL_LEN);
	store_be32(out + 24, l.counter);
	store_be32(out + 28, l.balance);
	memcpy(out + 32, s1, PURSE_MAC_LEN);
	vc_rsp_append(rsp, out, sizeof(out));
	return SW_OK;
}

static uint16_t credit(struct wallet *w, const struct vc_apdu *cmd, struct vc_response *rsp)
{
	struct purse_load l;
	uint8_t kload[PURSE_KEY_LEN], s2[PURSE_MAC_LEN], s3[PURSE_MAC_LEN];

	if (cmd->nc != PURSE_MAC_LEN)
		return SW_WRONG_LENGTH;
	if (st_byte(w, ST_PENDING) != 1)
		return SW_CONDITIONS;	/* no load pending: a used S2 ends here */
	l.amount = st_u32(w, ST_PEND_AMOUNT);
	l.counter = st_u32(w, ST_PEND_COUNTER);
	l.balance = st_u32(w, ST_BALANCE);
	vc_obj_read(w->ctx, &w->state, ST_PEND_CHALLENGE, l.challenge, PURSE_CHALLENGE_LEN);
	read_serial(w, l.serial);
	vc_obj_read(w->ctx, &w->config, CF_KLOAD, kload, sizeof(kload));

	bool ok = l.counter == st_u32(w, ST_COUNTER) && purse_s2(kload, &l, s2) == 0 &&
		  crypto_equal(s2, cmd->data, PURSE_MAC_LEN);
	uint32_t new_balance = l.balance + l.amount;
	uint32_t new_counter = l.counter + 1;
	bool fits = l.amount <= max_balance_of(w) && l.balance <= max_balance_of(w) - l.amount;
	if (ok && fits)
		ok = purse_s3(kload, l.serial, new_counter, l.amount, new_balance, s3) == 0;
	crypto_wipe(kload, sizeof(kload));

	struct change c;
	change_begin(&c, w);
	/* Success or failure, this pending load is over. */
	change_byte(&c, &w->state, ST_PENDING, 0);
	if (!ok || !fits) {
		uint16_t sw = change_commit(&c);
		return sw != SW_OK ? sw : (!ok ? SW_SECURITY_STATUS : SW_CONDITIONS);
	}
	change_u32(&c, ST_BALANCE, new_balance);
	change_u32(&c, ST_COUNTER, new_counter);
	uint8_t result[WALLET_CREDIT_RESPONSE_LEN];
	store_be32(result, new_counter);
	store_be32(result + 4, new_balance);
	memcpy(result + 8, s3, PURSE_MAC_LEN);
	change_byte(&c, &w->state, ST_LOAD_VALID, 1);
	change_bytes(&c, &w->state, ST_LOAD, result, sizeof(result));
	change_log(&c, WALLET_LOG_LOAD, new_counter, l.amount, new_balance, NULL);
	uint16_t sw = change_commit(&c);
	if (sw != SW_OK)
		return sw;
	vc_rsp_append(rsp, result, sizeof(result));
	return SW_OK;
}

static uint16_t debit(struct wallet *w, const struct vc_apdu *cmd, struct vc_response *rsp)
{
	struct purse_debit_request req;
	struct purse_debit_record rec;
	uint8_t ca[CRYPTO_EC_PUB_LEN], priv[CRYPTO_EC_PRIV_LEN];
	uint8_t out[PURSE_DEBIT_RECORD_LEN + CRYPTO_EC_SIG_LEN];

	if (!purse_debit_request_parse(cmd->data, cmd->nc, &req))
		return SW_WRONG_LENGTH;
	if (req.amount == 0 || req.currency != currency_of(w))
		return SW_WRONG_DATA;
	/* One VERIFY, one debit: the fresh verification is spent here. */
	if (!vc_pin_take_fresh(w->ctx))
		return SW_SECURITY_STATUS;
	vc_obj_read(w->ctx, &w->config, CF_CA, ca, sizeof(ca));
	if (purse_debit_request_check(ca, &req) != 1)
		return SW_SECURITY_STATUS;
	uint32_t balance = st_u32(w, ST_BALANCE);
	uint32_t counter = st_u32(w, ST_COUNTER);
	if (req.amount > balance)
		return SW_INSUFFICIENT_FUNDS;
	if (counter == UINT32_MAX)
		return SW_CONDITIONS;

	read_serial(w, rec.serial);
	rec.counter = counter + 1;
	rec.amount = req.amount;
	rec.currency = req.currency;
	memcpy(rec.merchant_id, req.merchant_id, PURSE_ID_LEN);
	memcpy(rec.challenge, req.challenge, PURSE_CHALLENGE_LEN);
	rec.balance = balance - req.amount;
	purse_debit_record_encode(&rec, out);
	vc_obj_read(w->ctx, &w->config, CF_PRIV, priv, sizeof(priv));
	int rc = purse_debit_record_sign(priv, out, out + PURSE_DEBIT_RECORD_LEN);
	crypto_wipe(priv, sizeof(priv));
	if (rc != 0)
		return SW_UNKNOWN;

	struct change c;
	change_begin(&c, w);
	change_u32(&c, ST_BALANCE, rec.balance);
	change_u32(&c, ST_COUNTER, rec.counter);
	/* The counter moved: a pending load can no longer be credited. */
	change_byte(&c, &w->state, ST_PENDING, 0);
	change_byte(&c, &w->state, ST_DEBIT_VALID, 1);
	change_bytes(&c, &w->state, ST_DEBIT, out, sizeof(out));
	change_log(&c, WALLET_LOG_DEBIT, rec.counter, rec.amount, rec.balance, rec.merchant_id);
	uint16_t sw = change_commit(&c);
	if (sw != SW_OK)
		return sw;
	vc_rsp_append(rsp, out, sizeof(out));
	return SW_OK;
}

static uint16_t get_last_transaction(struct wallet *w, const struct vc_apdu *cmd,
				     struct vc_response *rsp)
{
	uint8_t buf[PURSE_DEBIT_RECORD_LEN + CRYPTO_EC_SIG_LEN];
	uint32_t valid_off, off;
	size_t len;
	if (cmd->p1 == WALLET_LAST_DEBIT) {
		valid_off = ST_DEBIT_VALID;
		off = ST_DEBIT;
		len = PURSE_DEBIT_RECORD_LEN + CRYPTO_EC_SIG_LEN;
	} else if (cmd->p1 == WALLET_LAST_LOAD) {
		valid_off = ST_LOAD_VALID;
		off = ST_LOAD;
		len = WALLET_CREDIT_RESPONSE_LEN;
	} else {
		return SW_INCORRECT_P1P2;
	}
	if (st_byte(w, valid_off) != 1)
		return SW_RECORD_NOT_FOUND;
	vc_obj_read(w->ctx, &w->state, off, buf, len);
	vc_rsp_append(rsp, buf, len);
	return SW_OK;
}

static uint16_t read_log(struct wallet *w, const struct vc_apdu *cmd, struct vc_response *rsp)
{
	uint8_t e[WALLET_LOG_ENTRY_LEN];
	uint8_t count = st_byte(w, ST_LOG_COUNT);
	if (cmd->p1 >= count)
		return SW_RECORD_NOT_FOUND;
	unsigned head = st_byte(w, ST_LOG_HEAD) % WALLET_LOG_ENTRIES;
	unsigned slot = (head + WALLET_LOG_ENTRIES - 1u - cmd->p1) % WALLET_LOG_ENTRIES;
	vc_obj_read(w->ctx, &w->state, ST_LOG + slot * WALLET_LOG_ENTRY_LEN, e, sizeof(e));
	vc_rsp_append(rsp, e, sizeof(e));
	return SW_OK;
}

static uint16_t get_certificate(struct wallet *w, struct vc_response *rsp)
{
	uint8_t cert[PURSE_CERT_LEN];
	vc_obj_read(w->ctx, &w->config, CF_CERT, cert, sizeof(cert));
	vc_rsp_append(rsp, cert, sizeof(cert));
	return SW_OK;
}

static uint16_t process(struct vc_applet_ctx *ctx, const struct vc_apdu *cmd,
			struct vc_response *rsp)
{
	struct wallet w;
	if (!open_wallet(ctx, &w))
		return SW_CONDITIONS;
	if (cmd->cla != iso_cla(WALLET_CLA, cmd->channel & 3))
		return SW_CLA_NOT_SUPPORTED;

	switch (cmd->ins) {
	case WALLET_INS_STORE_DATA:
		return store_data(&w, cmd, rsp);
	case WALLET_INS_GET_PURSE_DATA: case WALLET_INS_INITIALIZE_LOAD: case WALLET_INS_CREDIT:
	case WALLET_INS_DEBIT: case WALLET_INS_GET_LAST_TRANSACTION: case WALLET_INS_READ_LOG:
	case WALLET_INS_GET_CARD_CERTIFICATE:
		break;
	default:
		return SW_INS_NOT_SUPPORTED;
	}
	if (!personalized(&w))
		return SW_CONDITIONS;
	if (cmd->ins != WALLET_INS_GET_LAST_TRANSACTION && cmd->ins != WALLET_INS_READ_LOG &&
	    (cmd->p1 != 0 || cmd->p2 != 0))
		return SW_INCORRECT_P1P2;
	switch (cmd->ins) {
	case WALLET_INS_GET_PURSE_DATA:
		return get_purse_data(&w, rsp);
	case WALLET_INS_INITIALIZE_LOAD:
		return initialize_load(&w, cmd, rsp);
	case WALLET_INS_CREDIT:
		return credit(&w, cmd, rsp);
	case WALLET_INS_DEBIT:
		return debit(&w, cmd, rsp);
	case WALLET_INS_GET_LAST_TRANSACTION:
		if (cmd->p2 != 0)
			return SW_INCORRECT_P1P2;
		return get_last_transaction(&w, cmd, rsp);
	case WALLET_INS_READ_LOG:
		if (cmd->p2 != 0)
			return SW_INCORRECT_P1P2;
		return read_log(&w, cmd, rsp);
	default:
		return get_certificate(&w, rsp);
	}
}

const struct vc_applet applet_wallet = {
	.name = "wallet",
	.aid = { WALLET_AID },
	.aid_len = WALLET_AID_LEN,
	.install = install,
	.process = process,
};
