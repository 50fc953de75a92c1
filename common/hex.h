/*
 * hex.h - hexadecimal text <-> bytes, for command lines and test vectors.
 */
#ifndef ECARD_HEX_H
#define ECARD_HEX_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decode hex digits into out. Spaces, colons and tabs between byte pairs are
 * ignored. Returns the number of bytes, or -1 on a non-hex character, an odd
 * number of digits, or more than outcap bytes.
 */
long hex_decode(const char *text, uint8_t *out, size_t outcap);

/* The value of one hex digit (either case), or -1. */
int hex_digit_value(char c);

/* Encode len bytes as upper-case hex; out must hold 2*len+1 bytes. */
void hex_encode(const uint8_t *data, size_t len, char *out);

#endif
