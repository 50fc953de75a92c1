/*
 * sw.h - what an ISO 7816-4 status word means, in words a card holder can
 * act on.
 *
 * The ecard command line prints these after every status word ("SW 6982
 * (...)") and in its error messages, so each text is a lower-case phrase
 * without a final full stop that reads well in either place.
 */
#ifndef ECARD_SW_H
#define ECARD_SW_H

#include <stddef.h>
#include <stdint.h>

/* A buffer this large always holds the longest text with a number in it. */
#define EC_SW_TEXT_MAX 96

/*
 * Describe a status word. Texts that carry a number (61xx bytes available,
 * 63Cx tries left, 6Cxx the right Le, an unknown status word itself) are
 * written to buf; the others are returned as constant strings. With no
 * buffer, or one too small, the numbered families fall back to a text
 * without the number. Never returns NULL.
 */
const char *ec_sw_describe(uint16_t sw, char *buf, size_t buflen);

#endif
