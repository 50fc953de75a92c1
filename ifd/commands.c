/*
 * commands.c - CCID command/answer pairs over a transport (see commands.h).
 */
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"

/* A reader never needs more than this many time extensions in a row for
 * one command; more means it is stuck. */
#define MAX_TIME_EXTENSIONS 1000
/* Answers with a stale bSeq read before giving up on the right one. */
#define MAX_STALE 16

int ifd_ccid_init(struct ifd_ccid *c, struct ifd_transport *tr, const struct logger *log)
{
	memset(c, 0, sizeof(*c));
	c->tr = tr;
	c->log = log;
	c->timeout_ms = 5000;
	c->tx = malloc(CCID_MAX_MSG);
	c->rx = malloc(CCID_MAX_MSG);
	if (!c->tx || !c->rx || pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c->tx);
		free(c->rx);
		c->tx = c->rx = NULL;
		return IFD_CCID_INVALID;
	}
	return IFD_CCID_OK;
}

void ifd_ccid_free(struct ifd_ccid *c)
{
	if (!c->tx)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->tx);
	free(c->rx);
	c->tx = c->rx = NULL;
}

const char *ifd_ccid_strerror(int result)
{
	switch (result) {
	case IFD_CCID_OK:
		return "success";
	case IFD_CCID_FAILED:
		return "the reader reported an error";
	case IFD_CCID_NO_CARD:
		return "no card in the slot";
	case IFD_CCID_MUTE:
		return "the card does not answer";
	case IFD_CCID_TIMEOUT:
		return "the reader does not answer";
	case IFD_CCID_GONE:
		return "the reader was unplugged";
	case IFD_CCID_PROTOCOL:
		return "the reader sent a malformed or unexpected answer";
	case IFD_CCID_TOO_BIG:
		return "the answer is larger than the buffer";
	case IFD_CCID_INVALID:
		return "the request is too long for the reader";
	default:
		return "unknown error";
	}
}

size_t ifd_ccid_max_data(const struct ifd_ccid *c)
{
	uint32_t max = c->tr->info.desc.max_message_length;
	if (max <= CCID_HEADER_LEN || max > CCID_MAX_MSG)
		max = CCID_MAX_MSG;
	return max - CCID_HEADER_LEN;
}

static int from_transport(struct ifd_ccid *c, int rc)
{
	switch (rc) {
	case IFD_TR_TIMEOUT:
		return IFD_CCID_TIMEOUT;
	case IFD_TR_GONE:
		c->gone = true;
		return IFD_CCID_GONE;
	case IFD_TR_TOO_BIG:
		c->malformed++;
		return IFD_CCID_PROTOCOL;
	default:
		return IFD_CCID_PROTOCOL;
	}
}

/* Say why an answer of n bytes in c->rx was refused, enough to diagnose
 * a reader without a USB capture: its type, dwLength, slot and sequence,
 * and at debug level its first bytes. */
static void log_refused(struct ifd_ccid *c, size_t n)
{
	if (n < CCID_HEADER_LEN) {
		LOG_W(c->log, "answer to %s refused: %zu bytes, shorter than a CCID header",
		      ccid_msg_name(c->tx[0]), n);
	} else {
		const uint8_t *h = c->rx;
		uint32_t len = load_le32(h + 1);
		LOG_W(c->log,
		      "answer to %s refused: type %02X (%s), dwLength %u, %zu bytes in all "
		      "(header 10), slot %u, seq %u",
		      ccid_msg_name(c->tx[0]), h[0], ccid_msg_name(h[0]), (unsigned)len, n, h[5],
		      h[6]);
	}
	char hex[3 * 32 + 1];
	size_t shown = n < 32 ? n : 32;
	for (size_t i = 0; i < shown; i++)
		snprintf(hex + 3 * i, 4, "%02X ", c->rx[i]);
	hex[shown ? 3 * shown - 1 : 0] = '\0';
	LOG_D(c->log, "refused answer begins: %s%s", hex, n > shown ? " ..." : "");
}

/*
 * Send the message built in c->tx (len bytes, its bSeq already set) and
 * read the answer of type want into *ans (pointing into c->rx). Time
 * extensions extend the wait; answers to earlier commands are skipped.
 * Called with the lock held.
 */
static int exchange_locked(struct ifd_ccid *c, size_t len, uint8_t want, struct ccid_msg *ans)
{
	if (c->gone)
		return IFD_CCID_GONE;
	if (len == 0)
		return IFD_CCID_INVALID;
	uint8_t slot = c->tx[5], seq = c->tx[6];
	int rc = c->tr->ops->send(c->tr, c->tx, len);
	if (rc < 0)
		return from_transport(c, rc);

	unsigned timeout = c->timeout_ms, extensions = 0, stale = 0;
	for (;;) {
		int n = c->tr->ops->receive(c->tr, c->rx, CCID_MAX_MSG, timeout);
		if (n < 0) {
			if (n == IFD_TR_TIMEOUT)
				LOG_W(c->log, "no answer from the reader to %s (seq %u) within %u ms",
				      ccid_msg_name(c->tx[0]), seq, timeout);
			return from_transport(c, n);
		}
		size_t trailing = 0;
		if (ccid_answer_decode(c->rx, (size_t)n, ans, &trailing) != 0 ||
		    !ccid_is_rdr_to_pc(ans->type)) {
			c->malformed++;
			log_refused(c, (size_t)n);
			return IFD_CCID_PROTOCOL;
		}
		if (trailing && !c->trailing_logged) {
			c->trailing_logged = true;
			LOG_I(c->log, "the reader sends %s with dwLength %u and %zu more bytes; "
				      "ignoring them (logged once)",
			      ccid_msg_name(ans->type), (unsigned)ans->len, trailing);
		}
		if (ans->seq != seq || ans->slot != slot) {
			/* The answer to a command we stopped waiting for. */
			c->stale_discarded++;
			LOG_I(c->log, "discarding an answer with seq %u slot %u (waiting for seq %u slot %u)",
			      ans->seq, ans->slot, seq, slot);
			if (++stale > MAX_STALE)
				return IFD_CCID_PROTOCOL;
			continue;
		}
		uint8_t status = ccid_msg_status(ans);
		if (CCID_CMD_STATUS(status) == CCID_CMD_TIME_EXTENSION) {
			c->time_extensions++;
			if (++extensions > MAX_TIME_EXTENSIONS)
				return IFD_CCID_TIMEOUT;
			uint8_t mult = ccid_msg_error(ans);
			timeout = c->timeout_ms * (mult ? mult : 1u);
			LOG_D(c->log, "time extension x%u from the reader", mult);
			continue;
		}
		c->last_status = status;
		c->last_error = ccid_msg_error(ans);
		if (ans->type != want) {
			c->malformed++;
			LOG_W(c->log, "the reader answered %s with %s", ccid_msg_name(c->tx[0]),
			      ccid_msg_name(ans->type));
			return IFD_CCID_PROTOCOL;
		}
		if (CCID_CMD_STATUS(status) == CCID_CMD_FAILED) {
			if (CCID_ICC_STATUS(status) == CCID_ICC_ABSENT)
				return IFD_CCID_NO_CARD;
			if (c->last_error == CCID_ERR_ICC_MUTE)
				return IFD_CCID_MUTE;
			LOG_I(c->log, "%s failed: %s (%02X)", ccid_msg_name(c->tx[0]),
			      ccid_error_name(c->last_error), c->last_error);
			return IFD_CCID_FAILED;
		}
		if (CCID_CMD_STATUS(status) != CCID_CMD_OK) {
			c->malformed++;
			return IFD_CCID_PROTOCOL;
		}
		return IFD_CCID_OK;
	}
}

/* After a timeout the reader may still be busy with the command: abort it
 * so that the next one finds the slot free. */
static void abort_locked(struct ifd_ccid *c, uint8_t slot)
{
	if (c->gone)
		return;
	uint8_t seq = c->seq++;
	if (c->tr->ops->abort(c->tr, slot, seq) < 0)
		return;
	size_t len = ccid_build_abort(slot, seq, c->tx, CCID_MAX_MSG);
	struct ccid_msg ans;
	unsigned saved = c->timeout_ms;
	c->timeout_ms = saved < 1000 ? saved : 1000;
	int rc = exchange_locked(c, len, RDR_TO_PC_SLOT_STATUS, &ans);
	c->timeout_ms = saved;
	LOG_I(c->log, "abort of slot %u: %s", slot, ifd_ccid_strerror(rc));
}

static int exchange(struct ifd_ccid *c, size_t len, uint8_t want, struct ccid_msg *ans)
{
	int rc = exchange_locked(c, len, want, ans);
	if (rc == IFD_CCID_TIMEOUT)
		abort_locked(c, c->tx[5]);
	return rc;
}

/* Copy abData of the answer out. */
static int copy_data(const struct ccid_msg *ans, uint8_t *out, size_t cap, size_t *out_len)
{
	if (ans->len > cap)
		return IFD_CCID_TOO_BIG;
	if (ans->len)
		memcpy(out, ans->data, ans->len);
	*out_len = ans->len;
	return IFD_CCID_OK;
}

int ifd_ccid_power_on(struct ifd_ccid *c, uint8_t slot, uint8_t power_select, uint8_t *atr,
		      size_t cap, size_t *atr_len)
{
	struct ccid_msg ans;
	pthread_mutex_lock(&c->lock);
	size_t len = ccid_build_power_on(slot, c->seq++, power_select, c->tx, CCID_MAX_MSG);
	int rc = exchange(c, len, RDR_TO_PC_DATA_BLOCK, &ans);
	if (rc == IFD_CCID_OK)
		rc = copy_data(&ans, atr, cap, atr_len);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int ifd_ccid_power_off(struct ifd_ccid *c, uint8_t slot)
{
	struct ccid_msg ans;
	pthread_mutex_lock(&c->lock);
	size_t len = ccid_build_power_off(slot, c->seq++, c->tx, CCID_MAX_MSG);
	int rc = exchange(c, len, RDR_TO_PC_SLOT_STATUS, &ans);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int ifd_ccid_slot_status(struct ifd_ccid *c, uint8_t slot, uint8_t *icc)
{
	struct ccid_msg ans;
	pthread_mutex_lock(&c->lock);
	size_t len = ccid_build_get_slot_status(slot, c->seq++, c->tx, CCID_MAX_MSG);
	int rc = exchange(c, len, RDR_TO_PC_SLOT_STATUS, &ans);
	if (rc == IFD_CCID_OK || rc == IFD_CCID_NO_CARD || rc == IFD_CCID_FAILED ||
	    rc == IFD_CCID_MUTE) {
		*icc = CCID_ICC_STATUS(c->last_status);
		rc = IFD_CCID_OK;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int ifd_ccid_xfr(struct ifd_ccid *c, uint8_t slot, uint8_t bwi, uint16_t level,
		 const uint8_t *data, size_t len, uint8_t *rsp, size_t cap, size_t *rsp_len,
		 uint8_t *chain)
{
	struct ccid_msg ans;
	*rsp_len = 0;
	if (len > ifd_ccid_max_data(c))
		return IFD_CCID_INVALID;
	pthread_mutex_lock(&c->lock);
	size_t n = ccid_build_xfr_block(slot, c->seq++, bwi, level, data, len, c->tx, CCID_MAX_MSG);
	int rc = exchange(c, n, RDR_TO_PC_DATA_BLOCK, &ans);
	if (rc == IFD_CCID_OK) {
		rc = copy_data(&ans, rsp, cap, rsp_len);
		if (chain)
			*chain = ccid_msg_specific(&ans);
		c->last_chain = ccid_msg_specific(&ans);
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int ifd_ccid_get_parameters(struct ifd_ccid *c, uint8_t slot, struct ccid_params *p)
{
	struct ccid_msg ans;
	pthread_mutex_lock(&c->lock);
	size_t len = ccid_build_get_parameters(slot, c->seq++, c->tx, CCID_MAX_MSG);
	int rc = exchange(c, len, RDR_TO_PC_PARAMETERS, &ans);
	if (rc == IFD_CCID_OK &&
	    ccid_params_decode(ccid_msg_specific(&ans), ans.data, ans.len, p) != 0)
		rc = IFD_CCID_PROTOCOL;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int ifd_ccid_set_parameters(struct ifd_ccid *c, uint8_t slot, const struct ccid_params *p)
{
	struct ccid_msg ans;
	pthread_mutex_lock(&c->lock);
	size_t len = ccid_build_set_parameters(slot, c->seq++, p, c->tx, CCID_MAX_MSG);
	int rc = exchange(c, len, RDR_TO_PC_PARAMETERS, &ans);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int ifd_ccid_escape(struct ifd_ccid *c, uint8_t slot, const uint8_t *data, size_t len,
		    uint8_t *rsp, size_t cap, size_t *rsp_len)
{
	struct ccid_msg ans;
	*rsp_len = 0;
	if (len > ifd_ccid_max_data(c))
		return IFD_CCID_INVALID;
	pthread_mutex_lock(&c->lock);
	size_t n = ccid_build_escape(slot, c->seq++, data, len, c->tx, CCID_MAX_MSG);
	int rc = exchange(c, n, RDR_TO_PC_ESCAPE, &ans);
	if (rc == IFD_CCID_OK)
		rc = copy_data(&ans, rsp, cap, rsp_len);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int ifd_ccid_abort(struct ifd_ccid *c, uint8_t slot)
{
	pthread_mutex_lock(&c->lock);
	abort_locked(c, slot);
	pthread_mutex_unlock(&c->lock);
	return c->gone ? IFD_CCID_GONE : IFD_CCID_OK;
}
