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
 * 6985): in the factory in clear with the wallet selected, or through the
 * card manager (INSTALL [for personalization] of the wallet, then STORE
 * DATA in an SCP03 secure channel, DESIGN §3), which forwards each STORE
 * DATA to the wallet as a plain 80 E2 after decrypting a DEK-protected
 * block (P1 b7-b6 = 11). Both paths reach the same code and both stay
 * open, the factory's included, until the last block: only a wallet that
 * is not personalized yet takes STORE DATA at all.
 *   80 E4 00 00 00        GENERATE KEY PAIR: serial(8) || public key(65)
 *   80 E2 P1 P2 Lc TLVs   STORE DATA (P2 = block number, not checked), TLVs:
 *                           C0 (0)   generate the card key pair, as 80 E4
 *                                    does; the answer is then serial(8) ||
 *                                    public key(65); it voids a stored
 *                                    certificate. At most one per block.
 *                           C1 (16)  K_load (the issuer sends it through
 *                                    the card manager in a DEK-encrypted
 *                                    block, P1 60 or E0)
 *                           C2 (65)  merchant CA public key
 *                           C3 (6)   currency(2) || maximum balance(4)
 *                           C4 (137) card certificate (must hold the card's
 *                                    public key and serial)
 *                         applied in order, all or nothing per block (an
 *                         unknown tag or a wrong length: 6A80, nothing
 *                         stored). P1 bit 8 set = last block: everything
 *                         must be present (else 6985), the certificate
 *                         must verify under C2 (else 6A80), then the
 *                         wallet is personalized. P1's other bits: 0.
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
 * Personalization, only through the card manager (INSTALL [for
 * personalization] of the profile, then STORE DATA in an SCP03 secure
 * channel, DESIGN §3); no PIN is asked, the secure channel is the issuer's
 * authorization. Accepted until the last block, then 6985:
 *   80 E2 P1 P2 Lc TLVs   STORE DATA (P2 = block number, not checked), TLVs:
 *                           01..0B (0..64)  initial value of that field,
 *                                           UTF-8 (a private field may come
 *                                           in a DEK-encrypted block)
 *                           D0 (2)          initial policy general || private
 *                                           (each 00..02)
 *                         applied in order, all or nothing per block (6A80
 *                         for an unknown tag, a long value, bad UTF-8 or
 *                         policy). P1 bit 8 = last block: personalization
 *                         closes (fields never given stay empty, the policy
 *                         never given stays at the defaults). P1's other
 *                         bits: 0.
 * A STORE DATA sent to the profile while it is selected (not forwarded by
 * the card manager) answers 6982, before or after personalization: the
 * profile remembers in transient memory the channel it is selected on, and
 * the card manager forwards on its own channel. The other commands work
 * the same before and after personalization.
 */
extern const struct vc_applet applet_profile;

#define PROFILE_FIELDS 11
#define PROFILE_VALUE_MAX 64

/* Every applet type, for registration and installation. */
extern const struct vc_applet *const ecard_applets[];
extern const size_t ecard_applet_count;

#endif
