/*
 * pin_client.h - the holder's side of the card-wide PIN (DESIGN §1.3):
 * VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER, which the card
 * answers whatever application is selected (vcard/pin.c is the card's
 * side; the formats are in common/iso7816.h).
 *
 * PINs are passed as text (4 to 8 ASCII digits; a PUK is exactly 8) and
 * turned into 8-byte blocks here, checked before anything is sent, so a
 * typo never costs a try. Callers wipe their copies of the text.
 */
#ifndef ECARD_PIN_CLIENT_H
#define ECARD_PIN_CLIENT_H

#include "iso7816.h"
#include "pcsc.h"

#define EC_PIN_BLOCK_LEN ISO_PIN_BLOCK_LEN
#define EC_PIN_MIN_DIGITS 4
#define EC_PIN_MAX_DIGITS 8
#define EC_PUK_DIGITS 8
/* Room for the longest PIN or PUK text and its terminator. */
#define EC_PIN_TEXT_MAX 16

/* 4..8 ASCII digits padded with FF; EC_ERR_ARG otherwise. */
enum ec_status ec_pin_block(const char *pin, uint8_t block[EC_PIN_BLOCK_LEN],
			    struct ec_error *err);
/* Exactly 8 ASCII digits. */
enum ec_status ec_puk_block(const char *puk, uint8_t block[EC_PIN_BLOCK_LEN],
			    struct ec_error *err);

/*
 * Where the clients get a PIN from when an operation needs one: fill pin
 * (EC_PIN_TEXT_MAX bytes) with the digits and return 0, or return -1 to
 * cancel (the callback may explain why in err). The caller wipes pin.
 */
typedef int (*ec_pin_fn)(void *arg, char pin[EC_PIN_TEXT_MAX], struct ec_error *err);

/* VERIFY (00 20 00 81). On a wrong PIN *tries_left (may be NULL) is set. */
enum ec_status ec_pin_verify(struct ec_pcsc *pc, const char *pin, int *tries_left,
			     struct ec_error *err);
/* VERIFY without data: EC_OK when verified in this session; otherwise
 * EC_ERR_CARD with *tries_left from 63Cx. */
enum ec_status ec_pin_status(struct ec_pcsc *pc, int *tries_left, struct ec_error *err);
/* CHANGE REFERENCE DATA (00 24 00 81). */
enum ec_status ec_pin_change(struct ec_pcsc *pc, const char *old_pin, const char *new_pin,
			     int *tries_left, struct ec_error *err);
/* RESET RETRY COUNTER (00 2C 00 81) with the PUK, setting a new PIN. */
enum ec_status ec_pin_unblock(struct ec_pcsc *pc, const char *puk, const char *new_pin,
			      int *tries_left, struct ec_error *err);

#endif
