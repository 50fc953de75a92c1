/*
 * diag_proto.h - the diagnostic applet's APDUs, spelled once for the
 * applet (applet/diag.c) and the tests and benchmarks that drive it: a
 * tool for the people who test card software, and for ecard's own tests.
 *
 * AID F0 45 43 41 52 44 44 01 ("ECARDD"):
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
#ifndef ECARD_DIAG_PROTO_H
#define ECARD_DIAG_PROTO_H

#define DIAG_AID 0xF0, 0x45, 0x43, 0x41, 0x52, 0x44, 0x44, 0x01
#define DIAG_AID_LEN 8

#define DIAG_CLA 0x80
#define DIAG_INS_NOP 0x00
#define DIAG_INS_ECHO 0x10
#define DIAG_INS_GENERATE 0x12
#define DIAG_INS_INCREMENT 0x20
#define DIAG_INS_READ 0x22
#define DIAG_INS_WRITE 0x24
#define DIAG_INS_RANDOM 0x84

#define DIAG_RECORD_LEN 256u

#endif
