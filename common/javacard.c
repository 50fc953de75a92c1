/*
 * javacard.c - CAP components (Java Card VM specification 3.0.5, §6),
 * read through the cursor only.
 */
#include "javacard.h"

#include <string.h>

#include "cursor.h"

#define HEADER_MAGIC 0xDECAFFEDu

static bool read_aid(struct cursor *c, struct jc_aid *aid)
{
	uint8_t len;
	if (!cursor_u8(c, &len) || len < 5 || len > JC_AID_MAX)
		return false;
	aid->len = len;
	return cursor_copy(c, aid->bytes, len);
}

bool jc_parse_header(const uint8_t *info, size_t len, struct jc_package *pkg)
{
	struct cursor c;
	uint32_t magic;
	uint8_t flags;
	cursor_init(&c, info, len);
	if (!cursor_u32(&c, &magic) || magic != HEADER_MAGIC)
		return false;
	cursor_u8(&c, &pkg->cap_minor);
	cursor_u8(&c, &pkg->cap_major);
	cursor_u8(&c, &flags);
	/* package_info: minor, major, AID (a package name may follow). */
	cursor_u8(&c, &pkg->minor);
	cursor_u8(&c, &pkg->major);
	return cursor_ok(&c) && read_aid(&c, &pkg->aid);
}

bool jc_parse_applets(const uint8_t *info, size_t len, struct jc_package *pkg)
{
	struct cursor c;
	uint8_t count;
	uint16_t install_offset;
	cursor_init(&c, info, len);
	if (!cursor_u8(&c, &count) || count == 0 || count > JC_MAX_APPLETS)
		return false;
	for (uint8_t i = 0; i < count; i++)
		if (!read_aid(&c, &pkg->applets[i]) || !cursor_u16(&c, &install_offset))
			return false;
	pkg->n_applets = count;
	return cursor_done(&c);
}

bool jc_parse_load_file(const uint8_t *data, size_t len, struct jc_package *pkg)
{
	struct cursor c;
	bool have_header = false;
	memset(pkg, 0, sizeof(*pkg));
	cursor_init(&c, data, len);
	while (cursor_remaining(&c) > 0) {
		uint8_t tag;
		uint16_t size;
		const uint8_t *info;
		if (!cursor_u8(&c, &tag) || !cursor_u16(&c, &size) || !cursor_bytes(&c, size, &info))
			return false;
		if (tag < JC_HEADER || tag > JC_DEBUG)
			return false;
		if (!have_header && tag != JC_HEADER)
			return false;	/* the Header comes first */
		if (tag == JC_HEADER) {
			if (have_header || !jc_parse_header(info, size, pkg))
				return false;
			have_header = true;
		} else if (tag == JC_APPLET && !jc_parse_applets(info, size, pkg)) {
			return false;
		}
	}
	return have_header;
}
