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

/*
 * Wallet (electronic purse), AID F0 45 43 41 52 44 57 01. Purse commands as
 * in DESIGN §2.1 (formats in common/purse.h):
 *   80 5C 00 00 00        GET PURSE DATA: 01 || serial(8) || currency(2) ||
 *                         balance(4) || max balance(4) || counter(4)
 *   80 40 00 00 04 amt 00 INITIALIZE LOAD: challenge(16) || serial(8) ||
 *                         counter(4) || balance(4) || S1(16)
 *   80 42 00 00 10 S2 00  CREDIT: counter(4) || balance(4) || S3(16)
 *   80 44 00 00 E7 req 00 DEBIT (request of 231 bytes): record(46) || sig(64)
 *   80 46 P1 00 00        GET LAST TRANSACTION, P1 00 debit, 01 load
 *   80 48 P1 00 00        READ LOG, P1 = index (0 = newest): type(1: 01 load,
 *                         02 debit) || counter(4) || amount(4) ||
 *                         balance after(4) || merchant id(8, zero for loads)
 *   80 4A 00 00 00        GET CARD CERTIFICATE (137 bytes)
 * Personalization, accepted only until the wallet is personalized (then
 * 6985); in the factory in clear, later under GlobalPlatform:
 *   80 E4 00 00 00        GENERATE KEY PAIR: serial(8) || public key(65)
 *   80 E2 P1 00 Lc TLVs   STORE DATA, TLVs:
 *                           C1 (16)  K_load
 *                           C2 (65)  merchant CA public key
 *                           C3 (6)   currency(2) || maximum balance(4)
 *                           C4 (137) card certificate (must hold the card's
 *                                    public key and serial)
 *                         P1 bit 8 set = last block: everything must be
 *                         present, then the wallet is personalized.
 * Before personalization every purse command answers 6985.
 */
extern const struct vc_applet applet_wallet;

#define WALLET_LOG_ENTRIES 16
#define WALLET_LOG_ENTRY_LEN 21

/*
 * Profile, AID F0 45 43 41 52 44 50 01 (DESIGN §2.2): 11 fields of up to
 * 64 bytes, general and private classes, release policy 00 never ask,
 * 01 once per session, 02 every time (defaults: general 00, private 02).
 *   00 CA 01 id 00        GET FIELD (empty field: 9000 with no data)
 *   00 DA 01 id Lc value  PUT FIELD (Lc 0 clears), needs a fresh VERIFY
 *   80 30 00 00 00        GET POLICY: general(1) || private(1)
 *   80 32 00 00 02 g p    SET POLICY, needs a fresh VERIFY
 */
extern const struct vc_applet applet_profile;

#define PROFILE_FIELDS 11
#define PROFILE_VALUE_MAX 64

/* Every applet type, for registration and installation. */
extern const struct vc_applet *const ecard_applets[];
extern const size_t ecard_applet_count;

#endif
