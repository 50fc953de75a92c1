/*
 * pin.h - the card-wide PIN and its PUK (DESIGN §1.3).
 *
 * VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER on reference 81,
 * answered by the platform whatever application is selected. The try
 * counters are single bytes written to their home before the comparison
 * (one-byte writes cannot tear into a wrong value), so cutting the power
 * during a check can never give a try back.
 */
#ifndef VCARD_PIN_H
#define VCARD_PIN_H

#include <stdbool.h>
#include <stdint.h>

#include "apdu.h"
#include "nvm.h"

#define VC_PIN_TRY_LIMIT 3
#define VC_PUK_TRY_LIMIT 10
#define VC_PIN_RECORD_SIZE 20

/* Byte offsets inside the persistent PIN record. */
#define VC_PIN_OFF_TRIES 0
#define VC_PIN_OFF_PUK_TRIES 1
#define VC_PIN_OFF_BLOCK 2
#define VC_PIN_OFF_PUK 10
#define VC_PIN_OFF_LIMIT 18
#define VC_PIN_OFF_PUK_LIMIT 19

struct vc_pin_session {
	bool verified;	/* for this power-up session */
	bool fresh;	/* a VERIFY no applet has consumed yet */
};

/* Encode 4..8 ASCII digits as a PIN block; false when not such digits. */
bool vc_pin_block_from_digits(const char *digits, uint8_t block[ISO_PIN_BLOCK_LEN]);
/* A PUK is exactly 8 ASCII digits. */
bool vc_puk_from_digits(const char *digits, uint8_t puk[ISO_PIN_BLOCK_LEN]);
bool vc_pin_block_valid(const uint8_t block[ISO_PIN_BLOCK_LEN]);

/* Write a new PIN record (inside the caller's transaction). */
enum vc_status vc_pin_write_record(struct vc_nvm *nvm, uint32_t rec_off,
				   const uint8_t pin[ISO_PIN_BLOCK_LEN],
				   const uint8_t puk[ISO_PIN_BLOCK_LEN]);

/* Tries left. */
uint8_t vc_pin_tries(const struct vc_nvm *nvm, uint32_t rec_off);
uint8_t vc_puk_tries(const struct vc_nvm *nvm, uint32_t rec_off);

/* True when cmd is one of the PIN commands this module answers. */
bool vc_pin_is_command(const struct vc_apdu *cmd);
/*
 * Answer a PIN command. Returns the status word; *st is VC_ERR_POWER_LOST
 * when the card died during the command (the status word is then void).
 */
uint16_t vc_pin_process(struct vc_nvm *nvm, uint32_t rec_off, struct vc_pin_session *session,
			const struct vc_apdu *cmd, enum vc_status *st);

#endif
