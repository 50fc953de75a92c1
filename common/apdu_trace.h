/*
 * apdu_trace.h - one line of trace for a command and its answer, with the
 * secrets left out: the card's -v log (vcard/card.c) and ecard's -v
 * (host/pcsc.c) both write it, so a trace never shows on one side what
 * the other hides.
 *
 * What may carry a secret is told by the INS byte alone, whatever class
 * or application: a malformed command carries the secret just the same,
 * and hiding a harmless command's data only costs some tracing. Hidden
 * are the data of
 *   - VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER: the PIN, the PUK;
 *   - PUT FIELD: personal data, a password among them;
 *   - STORE DATA: personalization, K_load or the profile's fields;
 *   - PUT KEY: the card manager's keys;
 * and of the answers to
 *   - GET FIELD: personal data;
 *   - GET RESPONSE: the rest of an earlier answer, maybe a GET FIELD's.
 * A command keeps its header (CLA INS P1 P2), an answer its status word.
 * The other commands of a secure channel are shown: what they carry is
 * either not secret or encrypted.
 */
#ifndef ECARD_APDU_TRACE_H
#define ECARD_APDU_TRACE_H

#include <stddef.h>
#include <stdint.h>

/* Large enough for any line apdu_trace_line() writes (long data is cut
 * with "..." by log_hex). */
#define APDU_TRACE_LINE_MAX 240

/* "C: <hex>[ marker]  R: [marker ]<hex>" into out (cap bytes); rsp may
 * be NULL or empty (no answer). Returns out. */
const char *apdu_trace_line(const uint8_t *cmd, size_t cmd_len, const uint8_t *rsp,
			    size_t rsp_len, char *out, size_t cap);

#endif
