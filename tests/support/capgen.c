/*
 * capgen.c - synthetic CAP files for tests and benchmarks (see capgen.h).
 *
 * The layouts follow the JCVM specification, chapter 6, as host/cap.c
 * reads them; where a body does not matter to a loader it is the smallest
 * valid one (an empty constant pool, no static fields, no relocations).
 * Everything is written with struct writer, so a mistake here shows up as
 * a failed build of the component, not as a silently short one.
 */
#include "capgen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zip.h>

#include "cursor.h"

#define DEFAULT_PATH "capgen/test"
/* The smallest Method info: handler_count, then room for the install
 * method offset (1) that every generated applet points at. */
#define METHOD_INFO_MIN 8
/* A fixed time for every entry, so the same spec gives the same file. */
#define ENTRY_MTIME ((time_t)1609459200)	/* 2021-01-01 */

/* javacard.framework 1.2, which makes the package a Java Card 2.2.1 one. */
static const uint8_t import_info[] = {
	0x01,						/* count */
	0x02, 0x01, 0x07, 0xA0, 0x00, 0x00, 0x00, 0x62, 0x01, 0x01,
};
/* One class with no fields or interfaces, in the shape the converter
 * writes for a minimal applet; its contents are never interpreted. */
static const uint8_t class_info[] = {
	0x00, 0x00, 0x80, 0x03, 0x00, 0xFF, 0x00, 0x07, 0x01, 0x00, 0x00, 0x00,
};
/* image_size, reference_count, array_init_count, default_value_count,
 * non_default_value_count: all zero. */
static const uint8_t static_field_info[10];
static const uint8_t constant_pool_info[2];	/* count 0 */
static const uint8_t ref_location_info[4];	/* no byte or byte2 indices */
/* class_count 0, then types: constant_pool_count 0. */
static const uint8_t descriptor_info[3];

/* Frame info as a component: tag, u2 size, info. */
static int add_component(struct capgen_cap *cap, enum ec_cap_component tag, const uint8_t *info,
			 size_t len)
{
	struct writer w;

	if (len > 0xFFFF)
		return -1;
	uint8_t *buf = malloc(3 + len);
	if (!buf)
		return -1;
	writer_init(&w, buf, 3 + len);
	writer_u8(&w, (uint8_t)tag);
	writer_u16(&w, (uint16_t)len);
	writer_bytes(&w, info, len);
	if (!writer_ok(&w)) {
		free(buf);
		return -1;
	}
	cap->component[tag] = buf;
	cap->len[tag] = 3 + len;
	return 0;
}

static int add_header(struct capgen_cap *cap, const struct capgen_spec *spec, uint8_t minor)
{
	uint8_t info[16 + EC_CAP_AID_MAX + EC_CAP_NAME_MAX];
	struct writer w;
	size_t path_len = strlen(cap->package_path);

	writer_init(&w, info, sizeof(info));
	writer_u32(&w, 0xDECAFFED);
	writer_u8(&w, minor);
	writer_u8(&w, 2);
	writer_u8(&w, spec->applet_count ? 0x04 : 0x00);	/* ACC_APPLET */
	writer_u8(&w, spec->version_minor);
	writer_u8(&w, spec->version_major);
	writer_u8(&w, (uint8_t)spec->package_aid_len);
	writer_bytes(&w, spec->package_aid, spec->package_aid_len);
	/* Format 2.2 names the package, in internal form (slashes). */
	if (minor == 2) {
		writer_u8(&w, (uint8_t)path_len);
		writer_bytes(&w, cap->package_path, path_len);
	}
	if (!writer_ok(&w))
		return -1;
	return add_component(cap, EC_CAP_HEADER, info, w.len);
}

static int add_applets(struct capgen_cap *cap, const struct capgen_spec *spec)
{
	if (spec->applet_count == 0)
		return 0;
	size_t cap_bytes = 1 + spec->applet_count * (1 + EC_CAP_AID_MAX + 2);
	uint8_t *info = malloc(cap_bytes);
	struct writer w;
	if (!info)
		return -1;
	writer_init(&w, info, cap_bytes);
	writer_u8(&w, (uint8_t)spec->applet_count);
	for (size_t i = 0; i < spec->applet_count; i++) {
		writer_u8(&w, (uint8_t)spec->applets[i].aid_len);
		writer_bytes(&w, spec->applets[i].aid, spec->applets[i].aid_len);
		writer_u16(&w, 1);	/* install method right after handler_count */
	}
	int r = writer_ok(&w) ? add_component(cap, EC_CAP_APPLET, info, w.len) : -1;
	free(info);
	return r;
}

/* The Method component: handler_count 0, then a pattern that differs from
 * byte to byte, so a block in the wrong place changes the hash. */
static int add_method(struct capgen_cap *cap, size_t info_len)
{
	uint8_t *info = malloc(info_len);
	if (!info)
		return -1;
	info[0] = 0x00;
	for (size_t i = 1; i < info_len; i++)
		info[i] = (uint8_t)(i * 31u + (i >> 8) * 7u + 0x5A);
	int r = add_component(cap, EC_CAP_METHOD, info, info_len);
	free(info);
	return r;
}

/* The Directory: every component's size, static field sizes, counts. */
static int add_directory(struct capgen_cap *cap, const struct capgen_spec *spec, uint8_t minor,
			 size_t dir_info_len)
{
	uint8_t info[2 * EC_CAP_TAG_LAST + 9];
	struct writer w;
	int entries = minor == 1 ? 11 : 12;

	writer_init(&w, info, sizeof(info));
	for (int tag = 1; tag <= entries; tag++) {
		size_t size = tag == EC_CAP_DIRECTORY ? dir_info_len
			    : cap->component[tag] ? cap->len[tag] - 3 : 0;
		writer_u16(&w, (uint16_t)size);
	}
	writer_u16(&w, 0);	/* static_field_size: image_size */
	writer_u16(&w, 0);	/* array_init_count */
	writer_u16(&w, 0);	/* array_init_size */
	writer_u8(&w, import_info[0]);
	writer_u8(&w, (uint8_t)spec->applet_count);
	writer_u8(&w, 0);	/* custom_count */
	if (!writer_ok(&w) || w.len != dir_info_len)
		return -1;
	return add_component(cap, EC_CAP_DIRECTORY, info, w.len);
}

static bool aid_ok(const uint8_t *aid, size_t len)
{
	return aid && len >= EC_CAP_AID_MIN && len <= EC_CAP_AID_MAX;
}

int capgen_make(const struct capgen_spec *spec, struct capgen_cap *out)
{
	memset(out, 0, sizeof(*out));
	if (!spec || !aid_ok(spec->package_aid, spec->package_aid_len) || spec->applet_count > 255 ||
	    (spec->applet_count && !spec->applets))
		return -1;
	for (size_t i = 0; i < spec->applet_count; i++)
		if (!aid_ok(spec->applets[i].aid, spec->applets[i].aid_len))
			return -1;
	uint8_t minor = spec->format_minor ? spec->format_minor : 1;
	if (minor != 1 && minor != 2)
		return -1;
	const char *path = spec->package_path ? spec->package_path : DEFAULT_PATH;
	/* Room for "/javacard/ConstantPool.cap" behind it in an entry name. */
	if (strlen(path) == 0 || strlen(path) + 32 >= EC_CAP_NAME_MAX)
		return -1;
	strcpy(out->package_path, path);

	int entries = minor == 1 ? 11 : 12;
	size_t dir_info_len = 2 * (size_t)entries + 9;

	if (add_header(out, spec, minor) != 0 || add_applets(out, spec) != 0 ||
	    add_component(out, EC_CAP_IMPORT, import_info, sizeof(import_info)) != 0 ||
	    add_component(out, EC_CAP_CLASS, class_info, sizeof(class_info)) != 0 ||
	    add_component(out, EC_CAP_STATIC_FIELD, static_field_info, sizeof(static_field_info)) != 0 ||
	    add_component(out, EC_CAP_CONSTANT_POOL, constant_pool_info, sizeof(constant_pool_info)) != 0 ||
	    add_component(out, EC_CAP_REF_LOCATION, ref_location_info, sizeof(ref_location_info)) != 0 ||
	    (spec->descriptor &&
	     add_component(out, EC_CAP_DESCRIPTOR, descriptor_info, sizeof(descriptor_info)) != 0))
		goto fail;

	/* Everything of the load file but the Method component, whose size
	 * makes up the rest of target_size. */
	size_t fixed = 3 + dir_info_len;
	for (size_t i = 0; i < EC_CAP_LOAD_COMPONENTS; i++)
		fixed += out->len[ec_cap_load_order[i]];
	size_t method_info = METHOD_INFO_MIN;
	if (spec->target_size > fixed + 3 + METHOD_INFO_MIN)
		method_info = spec->target_size - fixed - 3;
	if (method_info > 0xFFFF || add_method(out, method_info) != 0 ||
	    add_directory(out, spec, minor, dir_info_len) != 0)
		goto fail;
	return 0;
fail:
	capgen_free(out);
	return -1;
}

void capgen_free(struct capgen_cap *cap)
{
	if (!cap)
		return;
	for (int tag = 0; tag <= EC_CAP_TAG_LAST; tag++)
		free(cap->component[tag]);
	memset(cap, 0, sizeof(*cap));
}

static const char manifest[] =
	"Manifest-Version: 1.0\r\n"
	"Created-By: ecard capgen\r\n"
	"\r\n";

int capgen_write(const struct capgen_cap *cap, const char *path)
{
	struct capgen_entry entries[EC_CAP_TAG_LAST + 1];
	/* package_path leaves room for the rest (see capgen_make()); the
	 * margin only keeps the compiler's truncation check quiet. */
	char names[EC_CAP_TAG_LAST + 1][EC_CAP_NAME_MAX + 32];
	size_t n = 0;

	entries[n++] = (struct capgen_entry){ "META-INF/MANIFEST.MF", manifest, sizeof(manifest) - 1 };
	for (int tag = EC_CAP_HEADER; tag <= EC_CAP_TAG_LAST; tag++) {
		if (!cap->component[tag])
			continue;
		int len = snprintf(names[tag], sizeof(names[tag]), "%s/javacard/%s.cap",
				   cap->package_path, ec_cap_component_name(tag));
		if (len < 0 || (size_t)len >= EC_CAP_NAME_MAX)
			return -1;
		entries[n++] = (struct capgen_entry){ names[tag], cap->component[tag], cap->len[tag] };
	}
	return capgen_write_entries(entries, n, path);
}

int capgen_write_spec(const struct capgen_spec *spec, const char *path)
{
	struct capgen_cap cap;

	if (capgen_make(spec, &cap) != 0)
		return -1;
	int r = capgen_write(&cap, path);
	capgen_free(&cap);
	return r;
}

/* libzip removes an archive left with no entries, so the empty archive is
 * written by hand: only the end of central directory record. */
static int write_empty_zip(const char *path)
{
	static const uint8_t eocd[22] = { 'P', 'K', 0x05, 0x06 };
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	int r = fwrite(eocd, 1, sizeof(eocd), f) == sizeof(eocd) ? 0 : -1;
	if (fclose(f) != 0)
		r = -1;
	return r;
}

int capgen_write_entries(const struct capgen_entry *entries, size_t n, const char *path)
{
	int code = 0;

	if (n == 0)
		return write_empty_zip(path);
	zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &code);
	if (!za)
		return -1;
	for (size_t i = 0; i < n; i++) {
		zip_source_t *src = zip_source_buffer(za, entries[i].len ? entries[i].data : "",
						      entries[i].len, 0);
		if (!src)
			goto fail;
		/* The name's encoding is left to libzip's guess: tests need names
		 * with control characters, which it refuses as UTF-8. */
		zip_int64_t index = zip_file_add(za, entries[i].name, src, 0);
		if (index < 0) {
			zip_source_free(src);
			goto fail;
		}
		if (zip_file_set_mtime(za, (zip_uint64_t)index, ENTRY_MTIME, 0) != 0)
			goto fail;
	}
	if (zip_close(za) != 0)
		goto fail;
	return 0;
fail:
	zip_discard(za);
	return -1;
}
