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

/*
 * A fresh verification is bound to what the PIN was entered for: the
 * channel VERIFY came on and the instance selected there. Only that
 * instance, on that channel, can consume it, and a selection change there
 * voids it: a PIN typed for one application never pays for another.
 */
struct vc_pin_session {
	bool verified;	/* for this power-up session */
	bool fresh;	/* a VERIFY no applet has consumed yet */
	uint8_t channel;	/* where the fresh verification was entered */
	uint32_t owner;		/* the instance selected there (0: none) */
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
 * Answer a PIN command. owner is the instance selected on cmd's channel
 * (0: none): a fresh verification is bound to it and to that channel.
 * Returns the status word; *st is VC_ERR_POWER_LOST when the card died
 * during the command (the status word is then void).
 */
uint16_t vc_pin_process(struct vc_nvm *nvm, uint32_t rec_off, struct vc_pin_session *session,
			const struct vc_apdu *cmd, uint32_t owner, enum vc_status *st);

/* Consume the fresh verification: true when there was one, bound to this
 * channel and instance. It is spent either way: the first protected
 * command takes it, whoever sends it. */
bool vc_pin_take_fresh_for(struct vc_pin_session *s, uint8_t channel, uint32_t owner);
/* The selection on channel changes: a fresh verification entered there is void. */
void vc_pin_forget_fresh(struct vc_pin_session *s, uint8_t channel);

#endif
