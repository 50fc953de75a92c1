/*
 * commands.h - the CCID command layer of the driver: one PC_to_RDR
 * message out, its RDR_to_PC answer back, checked.
 *
 * Every exchange numbers its message (bSeq), waits through the reader's
 * time extensions, discards answers left over from a command that timed
 * out (their bSeq is stale) and turns the answer's bStatus/bError into
 * one result. A lock per reader keeps the message pairs of several slots
 * (and of pcscd's threads) from interleaving on the bulk pipes.
 */
#ifndef ECARD_IFD_COMMANDS_H
#define ECARD_IFD_COMMANDS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ccid.h"
#include "transport.h"

enum ifd_ccid_result {
	IFD_CCID_OK = 0,
	IFD_CCID_FAILED = -1,	/* the reader reported bError (in last_error) */
	IFD_CCID_NO_CARD = -2,	/* ICC absent */
	IFD_CCID_MUTE = -3,	/* the card did not answer (ICC_MUTE) */
	IFD_CCID_TIMEOUT = -4,	/* the reader did not answer */
	IFD_CCID_GONE = -5,	/* the reader was unplugged */
	IFD_CCID_PROTOCOL = -6,	/* malformed or unexpected answer */
	IFD_CCID_TOO_BIG = -7,	/* the answer does not fit the caller's buffer */
	IFD_CCID_INVALID = -8,	/* the request cannot be sent (too long) */
};

struct ifd_ccid {
	struct ifd_transport *tr;
	const struct logger *log;
	pthread_mutex_t lock;
	uint8_t seq;
	uint8_t *tx;		/* CCID_MAX_MSG bytes each */
	uint8_t *rx;
	unsigned timeout_ms;	/* wait for an answer, before time extensions */
	bool gone;		/* the transport reported the reader unplugged */
	bool trailing_logged;	/* answers with bytes after abData were reported */

	/* Filled by each exchange for the caller and for tests. */
	uint8_t last_error;	/* bError of a failed command */
	uint8_t last_status;	/* bStatus */
	uint8_t last_chain;	/* bChainParameter of the last DataBlock */

	unsigned long time_extensions;
	unsigned long stale_discarded;
	unsigned long malformed;
};

int ifd_ccid_init(struct ifd_ccid *c, struct ifd_transport *tr, const struct logger *log);
void ifd_ccid_free(struct ifd_ccid *c);
const char *ifd_ccid_strerror(int result);

/* PC_to_RDR_IccPowerOn; the ATR goes to atr (cap bytes). */
int ifd_ccid_power_on(struct ifd_ccid *c, uint8_t slot, uint8_t power_select, uint8_t *atr,
		      size_t cap, size_t *atr_len);
int ifd_ccid_power_off(struct ifd_ccid *c, uint8_t slot);
/* GetSlotStatus: *icc is CCID_ICC_ACTIVE, _INACTIVE or _ABSENT. */
int ifd_ccid_slot_status(struct ifd_ccid *c, uint8_t slot, uint8_t *icc);
/* XfrBlock and its DataBlock; *chain receives bChainParameter. */
int ifd_ccid_xfr(struct ifd_ccid *c, uint8_t slot, uint8_t bwi, uint16_t level,
		 const uint8_t *data, size_t len, uint8_t *rsp, size_t cap, size_t *rsp_len,
		 uint8_t *chain);
int ifd_ccid_get_parameters(struct ifd_ccid *c, uint8_t slot, struct ccid_params *p);
int ifd_ccid_set_parameters(struct ifd_ccid *c, uint8_t slot, const struct ccid_params *p);
int ifd_ccid_escape(struct ifd_ccid *c, uint8_t slot, const uint8_t *data, size_t len,
		    uint8_t *rsp, size_t cap, size_t *rsp_len);
/* The abort sequence of CCID §5.3.1: control ABORT, then PC_to_RDR_Abort. */
int ifd_ccid_abort(struct ifd_ccid *c, uint8_t slot);

/* Largest abData the reader takes in one message. */
size_t ifd_ccid_max_data(const struct ifd_ccid *c);

#endif
