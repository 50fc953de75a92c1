/*
 * hex.c - hexadecimal text <-> bytes.
 */
#include "hex.h"

int hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long hex_decode(const char *text, uint8_t *out, size_t outcap)
{
	size_t n = 0;
	int high = -1;

	for (const char *p = text; *p; p++) {
		if (*p == ' ' || *p == ':' || *p == '\t') {
			if (high >= 0)
				return -1;	/* separator inside a byte */
			continue;
		}
		int v = hex_digit_value(*p);
		if (v < 0)
			return -1;
		if (high < 0) {
			high = v;
			continue;
		}
		if (n >= outcap)
			return -1;
		out[n++] = (uint8_t)((high << 4) | v);
		high = -1;
	}
	if (high >= 0)
		return -1;
	return (long)n;
}

void hex_encode(const uint8_t *data, size_t len, char *out)
{
	static const char digits[] = "0123456789ABCDEF";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 15];
	}
	out[2 * len] = '\0';
}
