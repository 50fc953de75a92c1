/*
 * pin_entry.h - how the ecard command line gets PINs and PUKs: from the
 * terminal with echo off, or from a file descriptor (--pin-fd N), one line
 * per secret, for scripts; and the other secrets that come on a descriptor
 * (--value-fd, --password-fd), through the same reader. Never from the
 * command line or the environment, where other users (ps, /proc) or logs
 * could see them.
 *
 * On a terminal the echo is turned off for the prompt and restored on
 * every path: after the line, on end of input, and when SIGINT, SIGTERM,
 * SIGHUP or SIGQUIT arrive while the echo is off (the signal is then
 * delivered again with its previous disposition). A new PIN is asked twice
 * on a terminal; from a descriptor it is read once.
 */
#ifndef ECARD_PIN_ENTRY_H
#define ECARD_PIN_ENTRY_H

#include <stddef.h>

#include "error.h"
#include "pin_client.h"

struct pin_entry {
	int fd;			/* --pin-fd, or -1 for the terminal */
	const char *prompt;	/* used by pin_entry_callback() */
};

void pin_entry_init(struct pin_entry *pe, int fd);

/*
 * Read one secret into out (cap bytes, at least EC_PIN_TEXT_MAX), without
 * its line end. Returns 0, or -1 with err set: EC_ERR_CANCELLED when the
 * input ended, EC_ERR_ARG when the line is too long or there is no
 * terminal to ask on, EC_ERR_FILE when reading failed. out is wiped on
 * failure.
 */
int pin_entry_read(struct pin_entry *pe, const char *prompt, char *out, size_t cap,
		   struct ec_error *err);

/* A new secret: on a terminal asked twice (prompt, then again) and the two
 * must match; from a descriptor read once. */
int pin_entry_read_new(struct pin_entry *pe, const char *prompt, const char *again, char *out,
		       size_t cap, struct ec_error *err);

/*
 * The one reader of secrets given on a descriptor: --pin-fd (through
 * pin_entry_read()), --value-fd and --password-fd. One line from fd into
 * out (cap bytes) without its line end, read a byte at a time so that
 * nothing after the line is taken from a descriptor that carries more
 * secrets. option (e.g. "--password-fd") and what (e.g. "the password")
 * name it in the messages. Returns 0 with *len (if not NULL) the length,
 * or -1 with err set: EC_ERR_CANCELLED when the input ended before any
 * byte, EC_ERR_ARG when the line is longer than max bytes (or than out
 * holds), EC_ERR_FILE when reading failed. out is wiped on failure.
 */
int pin_entry_read_fd(int fd, const char *option, const char *what, char *out, size_t cap,
		      size_t max, size_t *len, struct ec_error *err);

/* An ec_pin_fn for libecard: arg is a struct pin_entry, asked with its prompt. */
int pin_entry_callback(void *arg, char pin[EC_PIN_TEXT_MAX], struct ec_error *err);

#endif
