/*
 * cap.c - reading Java Card CAP files for loading (see cap.h).
 *
 * This is the only file of libecard that knows libzip. The archive is
 * hostile until proven otherwise, so the work goes in this order:
 *
 *   1. every entry's name and size is checked (no absolute or ".." paths,
 *      no control characters, nothing over EC_CAP_ENTRY_MAX) before any
 *      byte is decompressed, and the package is found by its Header.cap;
 *   2. each component entry of that package is read whole, at most
 *      EC_CAP_COMPONENT_MAX_BYTES, and its tag and u2 size are checked
 *      against the entry;
 *   3. Header, Directory, Applet and Import are decoded with struct cursor
 *      and checked against each other (the Directory's sizes, its counts,
 *      the Header's flags);
 *   4. the load file data block, its SHA-256 and the C4 TLV around it are
 *      built in one allocation.
 *
 * Components the loader does not need to understand (Class, Method, ...)
 * are only framed, not decoded: the card verifies them, not us.
 */
#include "cap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zip.h>

#include "cursor.h"

const enum ec_cap_component ec_cap_load_order[EC_CAP_LOAD_COMPONENTS] = {
	EC_CAP_HEADER, EC_CAP_DIRECTORY, EC_CAP_IMPORT, EC_CAP_APPLET,
	EC_CAP_CLASS, EC_CAP_METHOD, EC_CAP_STATIC_FIELD, EC_CAP_EXPORT,
	EC_CAP_CONSTANT_POOL, EC_CAP_REF_LOCATION,
};

/* Entry file names (JCVM table 6-2), indexed by tag. */
static const char *const component_names[EC_CAP_TAG_LAST + 1] = {
	[EC_CAP_HEADER] = "Header",
	[EC_CAP_DIRECTORY] = "Directory",
	[EC_CAP_APPLET] = "Applet",
	[EC_CAP_IMPORT] = "Import",
	[EC_CAP_CONSTANT_POOL] = "ConstantPool",
	[EC_CAP_CLASS] = "Class",
	[EC_CAP_METHOD] = "Method",
	[EC_CAP_STATIC_FIELD] = "StaticField",
	[EC_CAP_REF_LOCATION] = "RefLocation",
	[EC_CAP_EXPORT] = "Export",
	[EC_CAP_DESCRIPTOR] = "Descriptor",
	[EC_CAP_DEBUG] = "Debug",
};

/*
 * What a CAP file must hold: the specification makes every component
 * mandatory but Applet, Export and Debug. Descriptor is not demanded here
 * because it never goes to the card and tools that shrink CAP files for
 * loading drop it.
 */
static bool component_required(enum ec_cap_component tag)
{
	return tag != EC_CAP_APPLET && tag != EC_CAP_EXPORT && tag != EC_CAP_DESCRIPTOR &&
	       tag != EC_CAP_DEBUG;
}

/* Header flags (JCVM table 6-3). */
#define ACC_EXPORT 0x02
#define ACC_APPLET 0x04

#define CAP_MAGIC 0xDECAFFEDu
#define JAVACARD_DIR "/javacard/"

const char *ec_cap_component_name(enum ec_cap_component tag)
{
	if ((int)tag < EC_CAP_HEADER || tag > EC_CAP_TAG_LAST)
		return NULL;
	return component_names[tag];
}

/* State while one archive is read. */
struct reader {
	zip_t *zip;
	const char *name;	/* what messages call the file */
	struct ec_error *err;
	struct ec_cap *cap;
	/* "<package path>/javacard/", the directory of the Header. */
	char dir[EC_CAP_NAME_MAX];
	size_t dir_len;
	zip_uint64_t index[EC_CAP_TAG_LAST + 1];
	/* The bytes of each component found, owned until the end of the read. */
	uint8_t *data[EC_CAP_TAG_LAST + 1];
	size_t len[EC_CAP_TAG_LAST + 1];
};

static enum ec_status format_error(struct reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "<file>: <what>", with EC_ERR_FORMAT: the file is not what it should be. */
static enum ec_status format_error(struct reader *r, const char *fmt, ...)
{
	char what[EC_ERROR_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return ec_error_set(r->err, EC_ERR_FORMAT, "%s is not a usable CAP file: %s", r->name,
			    what);
}

/*
 * A name from the archive, made safe to print in a message: control and
 * non-ASCII bytes become '?', and it is cut to fit a sentence.
 */
static const char *printable(const char *s, char *buf, size_t cap)
{
	size_t i = 0;
	for (; s[i] && i + 4 < cap; i++) {
		unsigned char ch = (unsigned char)s[i];
		buf[i] = (ch < 0x20 || ch >= 0x7F) ? '?' : (char)ch;
	}
	if (s[i]) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/*
 * Whether an entry name could only come from a crafted archive: empty or
 * too long, absolute, a drive letter, a ".." component, backslashes or
 * control characters. We never write entries to disk, but a CAP file that
 * holds such a name was not made by a converter, and refusing it outright
 * keeps every later message and lookup simple.
 */
static bool unsafe_name(const char *s)
{
	size_t n = strnlen(s, EC_CAP_NAME_MAX);

	if (n == 0 || n >= EC_CAP_NAME_MAX || s[0] == '/')
		return true;
	if (n >= 2 && s[1] == ':')
		return true;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch == 0x7F || ch == '\\')
			return true;
		/* ".." as a whole path segment. */
		if (ch == '.' && (i == 0 || s[i - 1] == '/') && s[i + 1] == '.' &&
		    (s[i + 2] == '/' || s[i + 2] == '\0'))
			return true;
	}
	return false;
}

static bool ascii_equal_nocase(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

/*
 * The component an entry name is, or 0: "<dir>/javacard/<Name>.cap" with a
 * non-empty package directory, the file name compared without case as
 * the specification says. *dir_len gets the length of "<dir>/javacard/".
 */
static enum ec_cap_component component_of(const char *name, size_t *dir_len)
{
	const char *slash = strrchr(name, '/');
	const size_t jc_len = strlen(JAVACARD_DIR);

	if (!slash)
		return 0;
	size_t prefix = (size_t)(slash - name) + 1;
	if (prefix <= jc_len || memcmp(slash + 1 - jc_len, JAVACARD_DIR, jc_len) != 0)
		return 0;
	const char *base = slash + 1;
	size_t base_len = strlen(base);
	for (int tag = EC_CAP_HEADER; tag <= EC_CAP_TAG_LAST; tag++) {
		size_t n = strlen(component_names[tag]);
		if (base_len == n + 4 && ascii_equal_nocase(base, component_names[tag], n) &&
		    ascii_equal_nocase(base + n, ".cap", 4)) {
			*dir_len = prefix;
			return (enum ec_cap_component)tag;
		}
	}
	return 0;
}

/* Pass 1: check every entry, and find the one package by its Header. */
static enum ec_status scan_entries(struct reader *r)
{
	char shown[64];
	zip_int64_t n = zip_get_num_entries(r->zip, 0);

	if (n < 0)
		return format_error(r, "its ZIP directory cannot be read.");
	if ((zip_uint64_t)n > EC_CAP_ENTRIES_MAX)
		return format_error(r, "it holds %lld entries, more than the %u a CAP file may have.",
				    (long long)n, EC_CAP_ENTRIES_MAX);

	bool have_header = false;
	for (zip_uint64_t i = 0; i < (zip_uint64_t)n; i++) {
		zip_stat_t zs;
		zip_stat_init(&zs);
		if (zip_stat_index(r->zip, i, ZIP_FL_ENC_RAW, &zs) != 0 ||
		    !(zs.valid & ZIP_STAT_NAME) || !zs.name)
			return format_error(r, "entry %llu of its ZIP directory cannot be read (%s).",
					    (unsigned long long)i, zip_strerror(r->zip));
		if (unsafe_name(zs.name))
			return format_error(r, "it holds an entry named \"%s\", which no Java Card converter writes (absolute, \"..\", control characters or too long).",
					    printable(zs.name, shown, sizeof(shown)));
		if (!(zs.valid & ZIP_STAT_SIZE) || zs.size > EC_CAP_ENTRY_MAX)
			return format_error(r, "its entry \"%s\" unpacks to %llu bytes, more than the %u bytes ecard reads from one entry.",
					    printable(zs.name, shown, sizeof(shown)),
					    (unsigned long long)zs.size, EC_CAP_ENTRY_MAX);

		size_t dir_len;
		if (component_of(zs.name, &dir_len) != EC_CAP_HEADER)
			continue;
		if (have_header) {
			if (dir_len == r->dir_len && memcmp(zs.name, r->dir, dir_len) == 0)
				return format_error(r, "it holds the Header component twice.");
			return format_error(r, "it holds more than one Java Card package (a Header.cap in %s and in \"%s\"); give a CAP file of one package.",
					    r->dir, printable(zs.name, shown, sizeof(shown)));
		}
		have_header = true;
		/* dir_len < strlen(name) < EC_CAP_NAME_MAX by unsafe_name(). */
		memcpy(r->dir, zs.name, dir_len);
		r->dir[dir_len] = '\0';
		r->dir_len = dir_len;
	}
	if (!have_header)
		return format_error(r, "it holds no Java Card package (no <package>/javacard/Header.cap entry).");
	return EC_OK;
}

/* Pass 2: the package's components, each at most once. */
static enum ec_status find_components(struct reader *r)
{
	zip_int64_t n = zip_get_num_entries(r->zip, 0);

	for (zip_uint64_t i = 0; i < (zip_uint64_t)n; i++) {
		const char *name = zip_get_name(r->zip, i, ZIP_FL_ENC_RAW);
		size_t dir_len;
		if (!name)
			return format_error(r, "entry %llu of its ZIP directory cannot be read (%s).",
					    (unsigned long long)i, zip_strerror(r->zip));
		enum ec_cap_component tag = component_of(name, &dir_len);
		if (!tag || dir_len != r->dir_len || memcmp(name, r->dir, dir_len) != 0)
			continue;
		if (r->cap->components[tag].present)
			return format_error(r, "it holds the %s component twice.", component_names[tag]);
		zip_stat_t zs;
		zip_stat_init(&zs);
		if (zip_stat_index(r->zip, i, 0, &zs) != 0 || !(zs.valid & ZIP_STAT_SIZE))
			return format_error(r, "the size of its %s component cannot be read (%s).",
					    component_names[tag], zip_strerror(r->zip));
		if (zs.size > EC_CAP_COMPONENT_MAX_BYTES)
			return format_error(r, "its %s component is %llu bytes, more than a component can be (%u).",
					    component_names[tag], (unsigned long long)zs.size,
					    EC_CAP_COMPONENT_MAX_BYTES);
		r->cap->components[tag].present = true;
		r->cap->components[tag].size = (size_t)zs.size;
		r->index[tag] = i;
	}
	for (int tag = EC_CAP_HEADER; tag <= EC_CAP_TAG_LAST; tag++)
		if (component_required(tag) && !r->cap->components[tag].present)
			return format_error(r, "it has no %s component (%s%s.cap), which every CAP file needs.",
					    component_names[tag], r->dir, component_names[tag]);
	return EC_OK;
}

/*
 * Read one component entry whole and check its frame: the tag it must
 * have and a u2 size equal to the bytes that follow.
 */
static enum ec_status read_component(struct reader *r, enum ec_cap_component tag)
{
	const char *cname = component_names[tag];
	size_t size = r->cap->components[tag].size;
	uint8_t *buf = malloc(size ? size : 1);

	if (!buf)
		return ec_error_set(r->err, EC_ERR_FILE,
				    "out of memory while reading %s: close other programs and try again.",
				    r->name);
	r->data[tag] = buf;

	zip_file_t *zf = zip_fopen_index(r->zip, r->index[tag], 0);
	if (!zf)
		return format_error(r, "its %s component cannot be unpacked (%s).", cname,
				    zip_strerror(r->zip));
	size_t got = 0;
	zip_int64_t k = 0;
	while (got < size) {
		k = zip_fread(zf, buf + got, size - got);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	/* One byte more must be the end: an entry may unpack to more than its
	 * directory said, and reaching the end is what makes libzip check the
	 * CRC. */
	uint8_t extra;
	if (k >= 0 && got == size)
		k = zip_fread(zf, &extra, 1);
	enum ec_status st = EC_OK;
	if (k < 0)
		st = format_error(r, "its %s component cannot be unpacked (%s).", cname,
				  zip_file_strerror(zf));
	else if (got != size || k != 0)
		st = format_error(r, "its %s entry does not unpack to the %zu bytes its ZIP directory gives.",
				  cname, size);
	int close_err = zip_fclose(zf);
	if (st != EC_OK)
		return st;
	if (close_err != 0)
		return format_error(r, "its %s component is damaged (ZIP error %d).", cname, close_err);
	r->len[tag] = size;

	struct cursor c;
	uint8_t found_tag;
	uint16_t declared;
	cursor_init(&c, buf, size);
	if (!cursor_u8(&c, &found_tag) || !cursor_u16(&c, &declared))
		return format_error(r, "its %s component is truncated: %zu bytes, fewer than the 3 of its tag and size.",
				    cname, size);
	if (found_tag != (uint8_t)tag)
		return format_error(r, "its %s component starts with tag %u, not %u.", cname, found_tag,
				    (unsigned)tag);
	if (declared != cursor_remaining(&c))
		return format_error(r, "its %s component declares %u bytes but holds %zu (truncated or padded).",
				    cname, (unsigned)declared, cursor_remaining(&c));
	return EC_OK;
}

/* The info bytes of a component already framed by read_component(). */
static void component_cursor(const struct reader *r, enum ec_cap_component tag, struct cursor *c)
{
	cursor_init(c, r->data[tag], r->len[tag]);
	cursor_skip(c, 3);
}

/* AID_length (5..16) then the AID; false when truncated or out of range. */
static bool read_aid(struct cursor *c, struct ec_cap_aid *aid)
{
	uint8_t len;
	if (!cursor_u8(c, &len))
		return false;
	if (len < EC_CAP_AID_MIN || len > EC_CAP_AID_MAX) {
		c->failed = true;
		return false;
	}
	aid->len = len;
	return cursor_copy(c, aid->bytes, len);
}

/* package_info: minor_version, major_version, AID. */
static bool read_package_info(struct cursor *c, struct ec_cap_package *pkg)
{
	return cursor_u8(c, &pkg->minor) && cursor_u8(c, &pkg->major) && read_aid(c, &pkg->aid);
}

static enum ec_status parse_header(struct reader *r)
{
	struct ec_cap *cap = r->cap;
	struct cursor c;
	uint32_t magic = 0;

	component_cursor(r, EC_CAP_HEADER, &c);
	cursor_u32(&c, &magic);
	if (cursor_ok(&c) && magic != CAP_MAGIC)
		return format_error(r, "its Header component starts with %08lX, not the Java Card magic DECAFFED.",
				    (unsigned long)magic);
	cursor_u8(&c, &cap->format_minor);
	cursor_u8(&c, &cap->format_major);
	cursor_u8(&c, &cap->flags);
	if (!cursor_ok(&c))
		return format_error(r, "its Header component is truncated.");
	/* Major versions other than 2 have a different layout (JCVM §6.3). */
	if (cap->format_major != 2)
		return format_error(r, "it is in CAP format %u.%u; ecard reads format 2.x (Java Card 2.1 to 3.1).",
				    cap->format_major, cap->format_minor);
	if (!read_package_info(&c, &cap->package))
		return format_error(r, "the package of its Header component is truncated or has an AID that is not 5 to 16 bytes.");
	/* Format 2.2 adds package_name_info; 2.1 ends here. */
	if (cursor_remaining(&c) > 0) {
		uint8_t name_len;
		if (!cursor_u8(&c, &name_len) || !cursor_skip(&c, name_len))
			return format_error(r, "the package name in its Header component is truncated.");
	}
	/* Later minor versions may append items we do not know. */
	if (cursor_remaining(&c) > 0 && cap->format_minor <= 2)
		return format_error(r, "its Header component has %zu bytes after the package.",
				    cursor_remaining(&c));
	return EC_OK;
}

static enum ec_status parse_applets(struct reader *r)
{
	struct ec_cap *cap = r->cap;
	struct cursor c;
	uint8_t count = 0;

	if (!cap->components[EC_CAP_APPLET].present)
		return EC_OK;
	/* The Method component's info, where install methods must point. */
	size_t method_info = cap->components[EC_CAP_METHOD].size - 3;

	component_cursor(r, EC_CAP_APPLET, &c);
	if (!cursor_u8(&c, &count) || count == 0)
		return format_error(r, "its Applet component lists no applet.");
	for (size_t i = 0; i < count; i++) {
		struct ec_cap_applet *a = &cap->applets[i];
		if (!read_aid(&c, &a->aid) || !cursor_u16(&c, &a->install_method_offset))
			return format_error(r, "applet %zu of its Applet component is truncated or has an AID that is not 5 to 16 bytes.",
					    i + 1);
		if (a->install_method_offset >= method_info)
			return format_error(r, "the install method of applet %zu is at offset %u, outside the %zu bytes of the Method component.",
					    i + 1, (unsigned)a->install_method_offset, method_info);
	}
	if (!cursor_done(&c))
		return format_error(r, "its Applet component has %zu bytes after the last applet.",
				    cursor_remaining(&c));
	cap->applet_count = count;
	return EC_OK;
}

static enum ec_status parse_imports(struct reader *r)
{
	struct ec_cap *cap = r->cap;
	struct cursor c;
	uint8_t count = 0;

	component_cursor(r, EC_CAP_IMPORT, &c);
	if (!cursor_u8(&c, &count))
		return format_error(r, "its Import component is empty.");
	if (count > EC_CAP_MAX_IMPORTS)
		return format_error(r, "its Import component lists %u packages, more than the %d allowed.",
				    count, EC_CAP_MAX_IMPORTS);
	for (size_t i = 0; i < count; i++)
		if (!read_package_info(&c, &cap->imports[i]))
			return format_error(r, "imported package %zu of its Import component is truncated or has an AID that is not 5 to 16 bytes.",
					    i + 1);
	if (!cursor_done(&c))
		return format_error(r, "its Import component has %zu bytes after the last package.",
				    cursor_remaining(&c));
	cap->import_count = count;
	return EC_OK;
}

/*
 * The Directory repeats every component's size and the number of imports
 * and applets. Formats 2.1 (11 sizes) and 2.2 (12, with Debug) are checked
 * in full; other minor versions lay it out differently and are left to
 * the card.
 */
static enum ec_status check_directory(struct reader *r)
{
	const struct ec_cap *cap = r->cap;
	struct cursor c;
	int entries;

	if (cap->format_minor == 1)
		entries = 11;
	else if (cap->format_minor == 2)
		entries = 12;
	else
		return EC_OK;

	component_cursor(r, EC_CAP_DIRECTORY, &c);
	for (int tag = 1; tag <= entries; tag++) {
		uint16_t listed;
		if (!cursor_u16(&c, &listed))
			return format_error(r, "its Directory component is truncated.");
		const struct ec_cap_component_info *ci = &cap->components[tag];
		/* Descriptor and Debug may have been stripped after conversion. */
		if (!ci->present && (tag == EC_CAP_DESCRIPTOR || tag == EC_CAP_DEBUG))
			continue;
		size_t actual = ci->present ? ci->size - 3 : 0;
		if (listed != actual)
			return format_error(r, "its Directory component gives the %s component %u bytes, but %s.",
					    component_names[tag], (unsigned)listed,
					    ci->present ? "it has a different size" : "it is missing");
	}
	uint8_t import_count = 0, applet_count = 0, custom_count = 0;
	cursor_skip(&c, 6);	/* static_field_size_info: three u2 */
	cursor_u8(&c, &import_count);
	cursor_u8(&c, &applet_count);
	cursor_u8(&c, &custom_count);
	for (unsigned i = 0; i < custom_count && cursor_ok(&c); i++) {
		struct ec_cap_aid aid;
		cursor_skip(&c, 3);	/* tag, size */
		read_aid(&c, &aid);
	}
	if (!cursor_done(&c))
		return format_error(r, "its Directory component is truncated or has bytes after its custom components.");
	if (import_count != cap->import_count || applet_count != cap->applet_count)
		return format_error(r, "its Directory component counts %u imports and %u applets, but the CAP file has %zu and %zu.",
				    import_count, applet_count, cap->import_count, cap->applet_count);
	return EC_OK;
}

/* The Header's flags promise an Applet and an Export component, or none. */
static enum ec_status check_flags(struct reader *r)
{
	const struct ec_cap *cap = r->cap;
	bool applet = cap->components[EC_CAP_APPLET].present;
	bool export = cap->components[EC_CAP_EXPORT].present;

	if (!!(cap->flags & ACC_APPLET) != applet)
		return format_error(r, "its Header %s applets but it %s an Applet component.",
				    applet ? "does not announce" : "announces",
				    applet ? "has" : "has no");
	if (!!(cap->flags & ACC_EXPORT) != export)
		return format_error(r, "its Header %s exports but it %s an Export component.",
				    export ? "does not announce" : "announces",
				    export ? "has" : "has no");
	return EC_OK;
}

static bool aid_is(const struct ec_cap_aid *aid, const char *bytes, size_t len)
{
	return aid->len == len && memcmp(aid->bytes, bytes, len) == 0;
}

/*
 * The Java Card version the package was converted for, from the minor
 * version of the API packages it imports: javacard.framework first, then
 * javacard.security or javacardx.crypto, whose versions moved together.
 */
static const char *guess_javacard_version(const struct ec_cap *cap)
{
	static const char *const by_framework[] = {
		"2.1.1", "2.1.2", "2.2.1", "2.2.2", "3.0.1", "3.0.4", "3.0.5", NULL, "3.1.0", "3.2.0",
	};
	static const char *const by_security[] = {
		NULL, "2.1.1", "2.2.1", "2.2.2", "3.0.1", "3.0.4", "3.0.5", "3.1.0", "3.2.0",
	};
	const size_t n_framework = sizeof(by_framework) / sizeof(by_framework[0]);
	const size_t n_security = sizeof(by_security) / sizeof(by_security[0]);

	for (size_t i = 0; i < cap->import_count; i++) {
		const struct ec_cap_package *p = &cap->imports[i];
		if (aid_is(&p->aid, "\xA0\x00\x00\x00\x62\x01\x01", 7))
			return p->major == 1 && p->minor < n_framework ? by_framework[p->minor] : NULL;
	}
	for (size_t i = 0; i < cap->import_count; i++) {
		const struct ec_cap_package *p = &cap->imports[i];
		if (aid_is(&p->aid, "\xA0\x00\x00\x00\x62\x01\x02", 7) ||
		    aid_is(&p->aid, "\xA0\x00\x00\x00\x62\x02\x01", 7))
			return p->major == 1 && p->minor < n_security ? by_security[p->minor] : NULL;
	}
	return NULL;
}

size_t ec_cap_c4_header(size_t len, uint8_t out[EC_CAP_C4_HEADER_MAX])
{
	struct writer w;

	writer_init(&w, out, EC_CAP_C4_HEADER_MAX);
	writer_u8(&w, 0xC4);
	if (len < 0x80) {
		writer_u8(&w, (uint8_t)len);
	} else if (len <= 0xFF) {
		writer_u8(&w, 0x81);
		writer_u8(&w, (uint8_t)len);
	} else if (len <= 0xFFFF) {
		writer_u8(&w, 0x82);
		writer_u16(&w, (uint16_t)len);
	} else if (len <= 0xFFFFFF) {
		writer_u8(&w, 0x83);
		writer_u8(&w, (uint8_t)(len >> 16));
		writer_u16(&w, (uint16_t)len);
	} else {
		return 0;
	}
	return writer_ok(&w) ? w.len : 0;
}

/*
 * The load file data block and, in front of it in the same buffer, the C4
 * tag and length: LOAD sends both, INSTALL [for load] and a DAP hash only
 * the block.
 */
static enum ec_status build_load_file(struct reader *r)
{
	struct ec_cap *cap = r->cap;
	uint8_t header[EC_CAP_C4_HEADER_MAX];
	size_t total = 0;

	for (size_t i = 0; i < EC_CAP_LOAD_COMPONENTS; i++)
		total += r->len[ec_cap_load_order[i]];
	size_t header_len = ec_cap_c4_header(total, header);
	/* Ten components of at most 65538 bytes each always fit C4 83. */
	if (header_len == 0)
		return format_error(r, "its load file is %zu bytes, too long for LOAD.", total);

	uint8_t *buf = malloc(EC_CAP_C4_HEADER_MAX + total);
	if (!buf)
		return ec_error_set(r->err, EC_ERR_FILE,
				    "out of memory while reading %s: close other programs and try again.",
				    r->name);
	struct writer w;
	writer_init(&w, buf, EC_CAP_C4_HEADER_MAX + total);
	writer_reserve(&w, EC_CAP_C4_HEADER_MAX - header_len);
	writer_bytes(&w, header, header_len);
	for (size_t i = 0; i < EC_CAP_LOAD_COMPONENTS; i++) {
		enum ec_cap_component tag = ec_cap_load_order[i];
		writer_bytes(&w, r->data[tag], r->len[tag]);
	}
	if (!writer_ok(&w) || w.len != EC_CAP_C4_HEADER_MAX + total) {
		free(buf);
		return format_error(r, "its load file could not be assembled.");
	}
	cap->buffer = buf;
	cap->load_file = buf + EC_CAP_C4_HEADER_MAX;
	cap->load_file_len = total;
	cap->load_data = buf + EC_CAP_C4_HEADER_MAX - header_len;
	cap->load_data_len = header_len + total;
	if (crypto_sha256(cap->load_file, total, cap->load_file_sha256) != 0)
		return ec_error_set(r->err, EC_ERR_CRYPTO,
				    "SHA-256 of the load file of %s failed: check the OpenSSL installation.",
				    r->name);
	return EC_OK;
}

static void package_name_from_dir(struct ec_cap *cap, const char *dir, size_t dir_len)
{
	size_t n = dir_len - strlen(JAVACARD_DIR);
	/* n < dir_len < EC_CAP_NAME_MAX */
	for (size_t i = 0; i < n; i++)
		cap->package_name[i] = dir[i] == '/' ? '.' : dir[i];
	cap->package_name[n] = '\0';
}

static enum ec_status read_cap(zip_t *zip, const char *name, struct ec_cap *cap,
			       struct ec_error *err)
{
	struct reader r;
	enum ec_status st;

	memset(&r, 0, sizeof(r));
	r.zip = zip;
	r.name = name;
	r.err = err;
	r.cap = cap;

	st = scan_entries(&r);
	if (st == EC_OK)
		st = find_components(&r);
	for (int tag = EC_CAP_HEADER; st == EC_OK && tag <= EC_CAP_TAG_LAST; tag++)
		if (cap->components[tag].present)
			st = read_component(&r, tag);
	if (st == EC_OK)
		st = parse_header(&r);
	if (st == EC_OK)
		st = parse_applets(&r);
	if (st == EC_OK)
		st = parse_imports(&r);
	if (st == EC_OK)
		st = check_directory(&r);
	if (st == EC_OK)
		st = check_flags(&r);
	if (st == EC_OK) {
		package_name_from_dir(cap, r.dir, r.dir_len);
		cap->javacard_version = guess_javacard_version(cap);
		st = build_load_file(&r);
	}
	for (int tag = 0; tag <= EC_CAP_TAG_LAST; tag++)
		free(r.data[tag]);
	if (st != EC_OK)
		ec_cap_free(cap);
	return st;
}

/* Turn libzip's reason for not opening an archive into our sentence. */
static enum ec_status open_error(const char *name, int code, struct ec_error *err)
{
	zip_error_t ze;
	enum ec_status st;

	zip_error_init_with_code(&ze, code);
	const char *why = zip_error_strerror(&ze);
	switch (code) {
	case ZIP_ER_NOZIP:
		st = ec_error_set(err, EC_ERR_FORMAT,
				  "%s is not a CAP file: it is not a ZIP archive; give the .cap file the Java Card converter wrote.",
				  name);
		break;
	case ZIP_ER_NOENT:
	case ZIP_ER_OPEN:
	case ZIP_ER_READ:
	case ZIP_ER_MEMORY:
		st = ec_error_set(err, EC_ERR_FILE, "cannot read %s: %s.", name, why);
		break;
	default:
		st = ec_error_set(err, EC_ERR_FORMAT,
				  "%s is not a usable CAP file: its ZIP archive is damaged (%s).", name,
				  why);
		break;
	}
	zip_error_fini(&ze);
	return st;
}

enum ec_status ec_cap_open(const char *path, struct ec_cap *cap, struct ec_error *err)
{
	struct stat sb;
	int code = 0;

	if (!path || !cap)
		return ec_error_set(err, EC_ERR_ARG, "no CAP file was given: give the path of a .cap file.");
	memset(cap, 0, sizeof(*cap));
	/* libzip would block on a FIFO and say little about a directory. */
	if (stat(path, &sb) != 0)
		return ec_error_set(err, EC_ERR_FILE, "cannot open %s: %s.", path, strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return ec_error_set(err, EC_ERR_FILE, "%s is not a regular file: give the path of a .cap file.",
				    path);
	zip_t *zip = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &code);
	if (!zip)
		return open_error(path, code, err);
	enum ec_status st = read_cap(zip, path, cap, err);
	zip_discard(zip);
	return st;
}

enum ec_status ec_cap_open_buffer(const void *data, size_t len, const char *name,
				  struct ec_cap *cap, struct ec_error *err)
{
	zip_error_t ze;

	if (!cap || (!data && len > 0))
		return ec_error_set(err, EC_ERR_ARG, "no CAP file was given: give the bytes of a .cap file.");
	memset(cap, 0, sizeof(*cap));
	if (!name)
		name = "the CAP file";
	zip_error_init(&ze);
	zip_source_t *src = zip_source_buffer_create(len ? data : "", len, 0, &ze);
	if (!src) {
		zip_error_fini(&ze);
		return ec_error_set(err, EC_ERR_FILE,
				    "out of memory while reading %s: close other programs and try again.",
				    name);
	}
	zip_t *zip = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
	if (!zip) {
		int code = zip_error_code_zip(&ze);
		zip_source_free(src);
		zip_error_fini(&ze);
		return open_error(name, code, err);
	}
	zip_error_fini(&ze);
	enum ec_status st = read_cap(zip, name, cap, err);
	zip_discard(zip);	/* also frees src */
	return st;
}

void ec_cap_free(struct ec_cap *cap)
{
	if (!cap)
		return;
	free(cap->buffer);
	memset(cap, 0, sizeof(*cap));
}

enum ec_status ec_cap_block_count(size_t len, size_t block_size, size_t *count,
				  struct ec_error *err)
{
	if (!count)
		return ec_error_set(err, EC_ERR_ARG, "no place for the block count was given.");
	*count = 0;
	if (block_size == 0 || block_size > 0xFFFF)
		return ec_error_set(err, EC_ERR_ARG,
				    "a LOAD block of %zu bytes is impossible: give 1 to 65535 (at most 255 for short APDUs).",
				    block_size);
	if (len == 0)
		return ec_error_set(err, EC_ERR_ARG, "there is no LOAD data to split into blocks.");
	*count = len / block_size + (len % block_size != 0);
	return EC_OK;
}

enum ec_status ec_cap_block(const uint8_t *data, size_t len, size_t block_size, size_t index,
			    struct ec_cap_block *block, struct ec_error *err)
{
	size_t n;

	if (!data || !block)
		return ec_error_set(err, EC_ERR_ARG, "no LOAD data or block was given.");
	enum ec_status st = ec_cap_block_count(len, block_size, &n, err);
	if (st != EC_OK)
		return st;
	if (index >= n)
		return ec_error_set(err, EC_ERR_ARG, "there is no LOAD block %zu: the data makes %zu.",
				    index, n);
	size_t offset = index * block_size;
	size_t rest = len - offset;
	block->data = data + offset;
	block->len = rest < block_size ? rest : block_size;
	block->index = index;
	block->number = (uint8_t)(index & 0xFF);
	block->last = index == n - 1;
	return EC_OK;
}
