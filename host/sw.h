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

/*
 * The same, for the answer to the command cmd (len bytes): what a status
 * word means depends on the command that got it. 63Cx is a wrong PIN
 * after VERIFY, a wrong PUK after RESET RETRY COUNTER, a wrong current PIN
 * after CHANGE REFERENCE DATA, and after a VERIFY without data (which asks
 * whether the PIN is verified) it says that it is not, with the tries
 * left; 9000 to that question says that it is. Other commands and status
 * words read as ec_sw_describe() has them.
 */
const char *ec_sw_describe_command(const uint8_t *cmd, size_t len, uint16_t sw, char *buf,
				   size_t buflen);

/* Whether cmd is a VERIFY without data: a question, not a verification. */
int ec_sw_is_pin_query(const uint8_t *cmd, size_t len);

#endif
