/*
 * fake_card.h - a scripted card behind struct ec_pcsc's raw transmit, for
 * the unit tests of libecard's transport and exchanges: no pcscd needed.
 * It records every command it receives (the tests check the exact bytes)
 * and answers from a script. Like SCardTransmit it refuses, with
 * SCARD_E_INSUFFICIENT_BUFFER, an answer larger than the capacity it is
 * given, and never writes past it. Failures fail the test.
 */
#ifndef ECARD_TEST_FAKE_CARD_H
#define ECARD_TEST_FAKE_CARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pcsc.h"

#define FAKE_MAX_EXCHANGES 300
#define FAKE_MAX_CMD 600
#define FAKE_MAX_RESP 1100
#define FAKE_MAX_SCRIPT 16

struct fake_answer {
	long rv;
	uint8_t bytes[FAKE_MAX_RESP];
	size_t len;
};

struct fake_card {
	uint8_t sent[FAKE_MAX_EXCHANGES][FAKE_MAX_CMD];
	size_t sent_len[FAKE_MAX_EXCHANGES];
	size_t n_sent;
	struct fake_answer script[FAKE_MAX_SCRIPT];
	size_t n_script;
	size_t next;
	bool repeat_last;	/* answer the last entry forever */
	size_t last_capacity;	/* capacity offered by the last call */
};

/* The card of the test running now (each test has a process of its own). */
extern struct fake_card fake;
extern struct ec_pcsc pc;

/* A fresh script, and pc set up to talk to the fake (a suite's .init). */
void fake_card_setup(void);

/* Hex into out (bad hex fails the test); the byte count. */
size_t fake_unhex(const char *text, uint8_t *out, size_t cap);

/* Script an answer given in hex. */
void fake_answer(const char *hex);
/* Script an answer of len bytes counting up from first, then a status word. */
void fake_answer_data(size_t len, uint8_t first, uint16_t sw);
/* Script a PC/SC failure. */
void fake_answer_error(long rv);

/* Command index (from 0) was exactly these bytes. */
void fake_assert_sent(size_t index, const char *hex);

#endif
