/*
 * t0_card.h - the card's side of T=0 at TPDU level (ISO/IEC 7816-3 §10,
 * ISO/IEC 7816-4 Annex A): the small adapter between the TPDUs a reader
 * at TPDU level moves and a card that takes whole command APDUs. The CCID
 * reader simulator puts it under its T=0 cards, and ecard-vcard under
 * the card it puts into QEMU's USB reader.
 *
 * The reader hands the card CLA INS P1 P2 P3 for cases 1 and 2 (P3 = Le,
 * 00 meaning 256, or nothing for case 1), and CLA INS P1 P2 P3 with P3
 * data bytes for cases 3 and 4. The card answers as a T=0 card does: a
 * wrong Le gets 6Cxx with the length it has (the answer is kept, so the
 * repeated command does not run twice), and a case 4 command gets 61xx,
 * its data waiting for GET RESPONSE.
 */
#ifndef VCARD_T0_CARD_H
#define VCARD_T0_CARD_H

#include <stddef.h>
#include <stdint.h>

/* The largest answer a TPDU gets: 256 data bytes and the status word. */
#define VC_T0_RSP_MAX (256 + 2)

/* vc_t0_card_tpdu(): the card could not read the TPDU (a header cut short,
 * more or fewer bytes than P3 announced) and stays silent. */
#define VC_T0_MUTE (-1)

/*
 * Run one command APDU. On success point *rsp at the answer (data and
 * status word, at least 2 bytes, in the caller's own buffer, valid until
 * the next call) and return 0. Any other value (a power loss, a platform
 * failure: positive, so never VC_T0_MUTE) is handed back unchanged by
 * vc_t0_card_tpdu().
 */
typedef int (*vc_t0_process_fn)(void *arg, const uint8_t *apdu, size_t len,
				const uint8_t **rsp, size_t *rsp_len);

/* An answer the card holds back for a repeated command (after 6Cxx) or
 * for GET RESPONSE (after 61xx). */
enum vc_t0_state {
	VC_T0_IDLE,
	VC_T0_WRONG_LE,
	VC_T0_GET_RESPONSE,
};

struct vc_t0_card {
	vc_t0_process_fn process;
	void *arg;

	enum vc_t0_state state;
	uint8_t header[4];	/* the command a 6Cxx answered */
	uint8_t data[256];
	size_t len;
	size_t off;
	uint16_t sw;
};

void vc_t0_card_init(struct vc_t0_card *c, vc_t0_process_fn process, void *arg);
/* Forget an answer held back (a reset, a new exchange level). */
void vc_t0_card_reset(struct vc_t0_card *c);

/*
 * One TPDU from the reader in, the card's answer out (rsp holds at least
 * VC_T0_RSP_MAX bytes). Returns 0 with the answer in rsp, VC_T0_MUTE, or
 * what process() returned when it failed.
 */
int vc_t0_card_tpdu(struct vc_t0_card *c, const uint8_t *tpdu, size_t len, uint8_t *rsp,
		    size_t *rsp_len);

#endif
