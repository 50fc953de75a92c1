/*
 * pin_client.c - the holder's side of the card-wide PIN (see pin_client.h).
 * Every buffer that held a PIN or a PUK is wiped before return.
 */
#include "pin_client.h"

#include <string.h>

#include "crypto.h"
#include "exchange.h"
#include "iso7816.h"

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

enum ec_status ec_pin_block(const char *pin, uint8_t block[EC_PIN_BLOCK_LEN],
			    struct ec_error *err)
{
	size_t n = pin ? strnlen(pin, EC_PIN_TEXT_MAX) : 0;
	if (n < EC_PIN_MIN_DIGITS || n > EC_PIN_MAX_DIGITS || !all_digits(pin, n))
		return ec_error_set(err, EC_ERR_ARG,
				    "a PIN is %d to %d digits (0-9) and nothing else: type it again; nothing was sent to the card.",
				    EC_PIN_MIN_DIGITS, EC_PIN_MAX_DIGITS);
	memset(block, 0xFF, EC_PIN_BLOCK_LEN);
	memcpy(block, pin, n);
	return EC_OK;
}

enum ec_status ec_puk_block(const char *puk, uint8_t block[EC_PIN_BLOCK_LEN],
			    struct ec_error *err)
{
	size_t n = puk ? strnlen(puk, EC_PIN_TEXT_MAX) : 0;
	if (n != EC_PUK_DIGITS || !all_digits(puk, n))
		return ec_error_set(err, EC_ERR_ARG,
				    "a PUK is exactly %d digits (0-9): type it again; nothing was sent to the card.",
				    EC_PUK_DIGITS);
	memcpy(block, puk, EC_PUK_DIGITS);
	return EC_OK;
}

/* Send a PIN command; 63Cx fills *tries_left. */
static enum ec_status pin_command(struct ec_pcsc *pc, const char *name, const uint8_t *cmd,
				  size_t len, int *tries_left, struct ec_error *err)
{
	uint16_t sw;
	enum ec_status st = ec_exchange(pc, name, cmd, len, NULL, 0, NULL, &sw, err);
	if (st != EC_OK)
		return st;
	if ((sw & 0xFFF0) == SW_VERIFY_FAILED && tries_left)
		*tries_left = sw & 0x0F;
	if (sw != SW_OK)
		return ec_error_sw_command(err, name, cmd, len, sw);
	return EC_OK;
}

enum ec_status ec_pin_verify(struct ec_pcsc *pc, const char *pin, int *tries_left,
			     struct ec_error *err)
{
	uint8_t cmd[5 + EC_PIN_BLOCK_LEN] = { 0x00, ISO_INS_VERIFY, 0x00, ISO_PIN_REFERENCE,
					      EC_PIN_BLOCK_LEN };
	enum ec_status st = ec_pin_block(pin, cmd + 5, err);
	if (st == EC_OK)
		st = pin_command(pc, "VERIFY", cmd, sizeof(cmd), tries_left, err);
	crypto_wipe(cmd, sizeof(cmd));
	return st;
}

enum ec_status ec_pin_status(struct ec_pcsc *pc, int *tries_left, struct ec_error *err)
{
	static const uint8_t cmd[] = { 0x00, ISO_INS_VERIFY, 0x00, ISO_PIN_REFERENCE };
	return pin_command(pc, "VERIFY (PIN status)", cmd, sizeof(cmd), tries_left, err);
}

/*
 * CHANGE REFERENCE DATA and RESET RETRY COUNTER: the old PIN or the PUK
 * (first, already checked into its block), then the new PIN.
 */
static enum ec_status replace_pin(struct ec_pcsc *pc, uint8_t ins, const char *name,
				  enum ec_status first_st, const uint8_t *first,
				  const char *new_pin, int *tries_left, struct ec_error *err)
{
	uint8_t cmd[5 + 2 * EC_PIN_BLOCK_LEN] = { 0x00, ins, 0x00, ISO_PIN_REFERENCE,
						  2 * EC_PIN_BLOCK_LEN };
	enum ec_status st = first_st;
	if (st == EC_OK) {
		memcpy(cmd + 5, first, EC_PIN_BLOCK_LEN);
		st = ec_pin_block(new_pin, cmd + 5 + EC_PIN_BLOCK_LEN, err);
	}
	if (st == EC_OK)
		st = pin_command(pc, name, cmd, sizeof(cmd), tries_left, err);
	crypto_wipe(cmd, sizeof(cmd));
	return st;
}

enum ec_status ec_pin_change(struct ec_pcsc *pc, const char *old_pin, const char *new_pin,
			     int *tries_left, struct ec_error *err)
{
	uint8_t old[EC_PIN_BLOCK_LEN];
	enum ec_status st = replace_pin(pc, ISO_INS_CHANGE_REFERENCE_DATA, "CHANGE REFERENCE DATA",
					ec_pin_block(old_pin, old, err), old, new_pin, tries_left,
					err);
	crypto_wipe(old, sizeof(old));
	return st;
}

enum ec_status ec_pin_unblock(struct ec_pcsc *pc, const char *puk, const char *new_pin,
			      int *tries_left, struct ec_error *err)
{
	uint8_t block[EC_PIN_BLOCK_LEN];
	enum ec_status st = replace_pin(pc, ISO_INS_RESET_RETRY_COUNTER, "RESET RETRY COUNTER",
					ec_puk_block(puk, block, err), block, new_pin, tries_left,
					err);
	crypto_wipe(block, sizeof(block));
	return st;
}
