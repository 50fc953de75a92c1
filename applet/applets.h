/*
 * applets.h - the applets compiled into ecard's card platform.
 *
 * Front-ends register these types before the first power-up, and the
 * factory (ecard-vcard --new) installs one instance of each.
 */
#ifndef APPLET_APPLETS_H
#define APPLET_APPLETS_H

#include "applet.h"

/*
 * Diagnostic applet, AID F0 45 43 41 52 44 44 01 ("ECARDD"): a tool for
 * the people who test card software and for ecard's own tests.
 *   80 10 00 00 Lc data [Le]   ECHO: returns the data
 *   80 12 P1 P2 Le             GENERATE: returns P1P2 bytes (i & FF), to
 *                              exercise 61xx / GET RESPONSE and long answers
 *   80 20 00 00 [Le]           INCREMENT: counter + 1 in a transaction,
 *                              returns the new counter (4 bytes)
 *   80 22 00 00 Le             READ: counter(4) || record(256)
 *   80 24 P1 P2 Lc data        WRITE: data at offset P1P2 of the record and
 *                              counter + 1, in one transaction
 *   80 84 00 00 Le             RANDOM: Le bytes from the CSPRNG
 *   80 00 00 00                NOP: 9000, nothing else (benchmarks)
 */
extern const struct vc_applet applet_diag;

#define APPLET_DIAG_RECORD 256u

/* Every applet type, for registration and installation. */
extern const struct vc_applet *const ecard_applets[];
extern const size_t ecard_applet_count;

#endif
