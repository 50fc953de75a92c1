/*
 * pin.c - the card-wide PIN state machine.
 *
 * Every check follows the same order, so that power loss at any write is
 * safe: (1) the try counter is decremented at its home; (2) the secret is
 * compared in constant time; (3) on a match the counter is restored and the
 * change, if any, is committed in a transaction. A tear before (1) lands
 * means no comparison happened; a tear after it leaves the try spent.
 */
#include "pin.h"

#include <string.h>

#include "crypto.h"

bool vc_pin_block_valid(const uint8_t block[ISO_PIN_BLOCK_LEN])
{
	size_t digits = 0;
	while (digits < ISO_PIN_BLOCK_LEN && block[digits] >= '0' && block[digits] <= '9')
		digits++;
	if (digits < 4)
		return false;
	for (size_t i = digits; i < ISO_PIN_BLOCK_LEN; i++)
		if (block[i] != 0xFF)
			return false;
	return true;
}

bool vc_pin_block_from_digits(const char *digits, uint8_t block[ISO_PIN_BLOCK_LEN])
{
	size_t n = strlen(digits);
	if (n < 4 || n > ISO_PIN_BLOCK_LEN)
		return false;
	memset(block, 0xFF, ISO_PIN_BLOCK_LEN);
	for (size_t i = 0; i < n; i++) {
		if (digits[i] < '0' || digits[i] > '9')
			return false;
		block[i] = (uint8_t)digits[i];
	}
	return true;
}

bool vc_puk_from_digits(const char *digits, uint8_t puk[ISO_PIN_BLOCK_LEN])
{
	if (strlen(digits) != ISO_PIN_BLOCK_LEN)
		return false;
	return vc_pin_block_from_digits(digits, puk);
}

static bool puk_valid(const uint8_t puk[ISO_PIN_BLOCK_LEN])
{
	for (size_t i = 0; i < ISO_PIN_BLOCK_LEN; i++)
		if (puk[i] < '0' || puk[i] > '9')
			return false;
	return true;
}

enum vc_status vc_pin_write_record(struct vc_nvm *nvm, uint32_t rec_off,
				   const uint8_t pin[ISO_PIN_BLOCK_LEN],
				   const uint8_t puk[ISO_PIN_BLOCK_LEN])
{
	uint8_t rec[VC_PIN_RECORD_SIZE];
	rec[VC_PIN_OFF_TRIES] = VC_PIN_TRY_LIMIT;
	rec[VC_PIN_OFF_PUK_TRIES] = VC_PUK_TRY_LIMIT;
	memcpy(rec + VC_PIN_OFF_BLOCK, pin, ISO_PIN_BLOCK_LEN);
	memcpy(rec + VC_PIN_OFF_PUK, puk, ISO_PIN_BLOCK_LEN);
	rec[VC_PIN_OFF_LIMIT] = VC_PIN_TRY_LIMIT;
	rec[VC_PIN_OFF_PUK_LIMIT] = VC_PUK_TRY_LIMIT;
	enum vc_status st = vc_nvm_write(nvm, rec_off, rec, sizeof(rec));
	crypto_wipe(rec, sizeof(rec));
	return st;
}

static uint8_t byte_at(const struct vc_nvm *nvm, uint32_t off)
{
	const uint8_t *p = vc_nvm_peek(nvm, off, 1);
	return p ? *p : 0;
}

uint8_t vc_pin_tries(const struct vc_nvm *nvm, uint32_t rec_off)
{
	return byte_at(nvm, rec_off + VC_PIN_OFF_TRIES);
}

uint8_t vc_puk_tries(const struct vc_nvm *nvm, uint32_t rec_off)
{
	return byte_at(nvm, rec_off + VC_PIN_OFF_PUK_TRIES);
}

bool vc_pin_is_command(const struct vc_apdu *cmd)
{
	if (cmd->proprietary)
		return false;
	return cmd->ins == ISO_INS_VERIFY || cmd->ins == ISO_INS_CHANGE_REFERENCE_DATA ||
	       cmd->ins == ISO_INS_RESET_RETRY_COUNTER;
}

/*
 * Steps (1) and (2) for the counter at counter_off and the secret at
 * secret_off. Returns 1 on a match (counter not yet restored), 0 on a
 * mismatch, -1 when blocked, -2 on power loss.
 */
static int check_secret(struct vc_nvm *nvm, uint32_t rec_off, uint32_t counter_off,
			uint32_t secret_off, const uint8_t *given, uint8_t *left)
{
	uint8_t tries = byte_at(nvm, rec_off + counter_off);
	if (tries == 0) {
		*left = 0;
		return -1;
	}
	uint8_t dec = (uint8_t)(tries - 1);
	if (vc_nvm_write_now(nvm, rec_off + counter_off, &dec, 1) != VC_OK)
		return -2;
	*left = dec;
	const uint8_t *secret = vc_nvm_peek(nvm, rec_off + secret_off, ISO_PIN_BLOCK_LEN);
	return crypto_equal(secret, given, ISO_PIN_BLOCK_LEN) ? 1 : 0;
}

static enum vc_status restore_counter(struct vc_nvm *nvm, uint32_t rec_off,
				      uint32_t counter_off, uint32_t limit_off)
{
	uint8_t limit = byte_at(nvm, rec_off + limit_off);
	if (byte_at(nvm, rec_off + counter_off) == limit)
		return VC_OK;
	return vc_nvm_write_now(nvm, rec_off + counter_off, &limit, 1);
}

/* A wrong secret answers 63Cx, x = tries left (63C0 for the try that
 * blocks it; 6983 only from then on). */
static uint16_t tries_sw(uint8_t left)
{
	return (uint16_t)(SW_VERIFY_FAILED | (left & 0x0F));
}

/* Replace the PIN (and reset both counters) in one transaction. */
static enum vc_status set_pin(struct vc_nvm *nvm, uint32_t rec_off, const uint8_t *new_block,
			      bool reset_puk)
{
	enum vc_status st = vc_nvm_begin(nvm);
	if (st != VC_OK)
		return st;
	uint8_t limit = byte_at(nvm, rec_off + VC_PIN_OFF_LIMIT);
	st = vc_nvm_write(nvm, rec_off + VC_PIN_OFF_BLOCK, new_block, ISO_PIN_BLOCK_LEN);
	if (st == VC_OK)
		st = vc_nvm_write(nvm, rec_off + VC_PIN_OFF_TRIES, &limit, 1);
	if (st == VC_OK && reset_puk) {
		uint8_t puk_limit = byte_at(nvm, rec_off + VC_PIN_OFF_PUK_LIMIT);
		st = vc_nvm_write(nvm, rec_off + VC_PIN_OFF_PUK_TRIES, &puk_limit, 1);
	}
	if (st != VC_OK) {
		if (nvm->in_tx)
			vc_nvm_abort(nvm);
		return st;
	}
	return vc_nvm_commit(nvm);
}

/*
 * The one path of every check: the session loses its verified state, the
 * secret (the PIN, or the PUK when by_puk) is checked, and on a match either
 * the counter is restored or, with new_block, the new PIN is committed
 * together with fresh counters (the PUK's too when unblocking).
 */
static uint16_t authenticate(struct vc_nvm *nvm, uint32_t rec_off, struct vc_pin_session *s,
			     const struct vc_apdu *cmd, uint32_t owner, bool by_puk,
			     const uint8_t *given, const uint8_t *new_block, enum vc_status *st)
{
	uint8_t left;

	s->verified = false;
	s->fresh = false;
	int r = by_puk ? check_secret(nvm, rec_off, VC_PIN_OFF_PUK_TRIES, VC_PIN_OFF_PUK, given, &left)
		       : check_secret(nvm, rec_off, VC_PIN_OFF_TRIES, VC_PIN_OFF_BLOCK, given, &left);
	if (r == -2) {
		*st = VC_ERR_POWER_LOST;
		return SW_UNKNOWN;
	}
	if (r == -1)
		return SW_AUTH_BLOCKED;	/* for the PUK: blocked for good */
	if (r == 0)
		return tries_sw(left);
	if (new_block)
		*st = set_pin(nvm, rec_off, new_block, by_puk);
	else
		*st = restore_counter(nvm, rec_off, VC_PIN_OFF_TRIES, VC_PIN_OFF_LIMIT);
	if (*st != VC_OK)
		return SW_MEMORY_FAILURE;
	if (!by_puk) {
		s->verified = true;
		s->fresh = true;
		s->channel = cmd->channel;
		s->owner = owner;
	}
	return SW_OK;
}

static uint16_t verify(struct vc_nvm *nvm, uint32_t rec_off, struct vc_pin_session *s,
		       const struct vc_apdu *cmd, uint32_t owner, enum vc_status *st)
{
	if (cmd->nc == 0) {
		/* Status query: no try is spent. */
		if (s->verified)
			return SW_OK;
		uint8_t left = vc_pin_tries(nvm, rec_off);
		return left == 0 ? SW_AUTH_BLOCKED : tries_sw(left);
	}
	if (cmd->nc != ISO_PIN_BLOCK_LEN)
		return SW_WRONG_LENGTH;
	if (!vc_pin_block_valid(cmd->data))
		return SW_WRONG_DATA;
	return authenticate(nvm, rec_off, s, cmd, owner, false, cmd->data, NULL, st);
}

static uint16_t change(struct vc_nvm *nvm, uint32_t rec_off, struct vc_pin_session *s,
		       const struct vc_apdu *cmd, uint32_t owner, enum vc_status *st)
{
	if (cmd->nc != 2 * ISO_PIN_BLOCK_LEN)
		return SW_WRONG_LENGTH;
	const uint8_t *old_block = cmd->data;
	const uint8_t *new_block = cmd->data + ISO_PIN_BLOCK_LEN;
	if (!vc_pin_block_valid(old_block) || !vc_pin_block_valid(new_block))
		return SW_WRONG_DATA;
	return authenticate(nvm, rec_off, s, cmd, owner, false, old_block, new_block, st);
}

static uint16_t unblock(struct vc_nvm *nvm, uint32_t rec_off, struct vc_pin_session *s,
			const struct vc_apdu *cmd, uint32_t owner, enum vc_status *st)
{
	if (cmd->nc != 2 * ISO_PIN_BLOCK_LEN)
		return SW_WRONG_LENGTH;
	const uint8_t *puk = cmd->data;
	const uint8_t *new_block = cmd->data + ISO_PIN_BLOCK_LEN;
	if (!puk_valid(puk) || !vc_pin_block_valid(new_block))
		return SW_WRONG_DATA;
	return authenticate(nvm, rec_off, s, cmd, owner, true, puk, new_block, st);
}

uint16_t vc_pin_process(struct vc_nvm *nvm, uint32_t rec_off, struct vc_pin_session *session,
			const struct vc_apdu *cmd, uint32_t owner, enum vc_status *st)
{
	*st = VC_OK;
	if (cmd->p1 != 0x00)
		return SW_INCORRECT_P1P2;
	if (cmd->p2 != ISO_PIN_REFERENCE)
		return SW_REF_DATA_NOT_FOUND;
	uint16_t sw;
	switch (cmd->ins) {
	case ISO_INS_VERIFY:
		sw = verify(nvm, rec_off, session, cmd, owner, st);
		break;
	case ISO_INS_CHANGE_REFERENCE_DATA:
		sw = change(nvm, rec_off, session, cmd, owner, st);
		break;
	case ISO_INS_RESET_RETRY_COUNTER:
		sw = unblock(nvm, rec_off, session, cmd, owner, st);
		break;
	default:
		sw = SW_INS_NOT_SUPPORTED;
		break;
	}
	if (*st != VC_OK && *st != VC_ERR_POWER_LOST && nvm->dead)
		*st = VC_ERR_POWER_LOST;
	return sw;
}

bool vc_pin_take_fresh_for(struct vc_pin_session *s, uint8_t channel, uint32_t owner)
{
	bool fresh = s->verified && s->fresh && s->channel == channel && s->owner == owner;
	s->fresh = false;
	return fresh;
}

void vc_pin_forget_fresh(struct vc_pin_session *s, uint8_t channel)
{
	if (s->channel == channel)
		s->fresh = false;
}
