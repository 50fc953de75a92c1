/*
 * utf8.h - whether bytes are well-formed UTF-8 (RFC 3629): no overlong
 * forms, no surrogates, nothing past U+10FFFF. The profile applet checks
 * the values it stores with it, and the host before it sends one, so
 * that a bad value is refused where it was typed.
 */
#ifndef ECARD_UTF8_H
#define ECARD_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool utf8_valid(const uint8_t *s, size_t n);

#endif
