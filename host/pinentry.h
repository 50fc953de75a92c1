/*
 * pinentry.h - asking the holder through a pinentry program (GnuPG's
 * dialogs: pinentry-gnome3, pinentry-curses, pinentry-tty...), which
 * speaks the Assuan protocol on its standard input and output:
 *
 *   <- OK Pleased to meet you
 *   -> SETTITLE, SETDESC, SETPROMPT, SETOK, SETCANCEL (text %-escaped)
 *   -> GETPIN     <- D <the PIN, %-escaped>  <- OK     (or ERR ... cancelled)
 *   -> CONFIRM    <- OK                                (or ERR ...)
 *   -> BYE
 *
 * One program run per question; what the holder types goes to the caller
 * only, and is wiped from every buffer it passed through. A program that
 * says nothing for timeout seconds is ended and counts as a cancel.
 */
#ifndef ECARD_PINENTRY_H
#define ECARD_PINENTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define EC_PINENTRY_DEFAULT "pinentry"
#define EC_PINENTRY_TIMEOUT_S 120

struct ec_pinentry {
	const char *program;	/* NULL: EC_PINENTRY_DEFAULT, found on PATH */
	const char *title;	/* NULL: "ecard" */
	unsigned timeout_s;	/* 0: EC_PINENTRY_TIMEOUT_S */
};

/*
 * GETPIN with the description desc (what is asked and why; may hold
 * several lines) and prompt (e.g. "PIN:"): the answer in out (cap bytes,
 * NUL-terminated). EC_ERR_CANCELLED when the holder cancelled or the
 * program gave up; EC_ERR_ARG when the answer does not fit; EC_ERR_FILE
 * when the program cannot be run or broke the protocol.
 */
enum ec_status ec_pinentry_getpin(const struct ec_pinentry *pe, const char *desc,
				  const char *prompt, char *out, size_t cap, struct ec_error *err);

/* CONFIRM: *yes when the holder said yes (EC_OK either way). */
enum ec_status ec_pinentry_confirm(const struct ec_pinentry *pe, const char *desc, bool *yes,
				   struct ec_error *err);

#endif
