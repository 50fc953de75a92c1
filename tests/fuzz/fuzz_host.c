/*
 * fuzz_host.c - a standalone mutation fuzzer of the parsers of what a card
 * or a CAP file hands the host, and of the card's parser of load files,
 * on the engine of fuzz_engine.c:
 *
 *   jc_parse_load_file        the card manager's reading of a load file
 *                             data block (common/javacard.c)
 *   cap_components            ec_cap_open_buffer() on a CAP file zipped
 *                             again from mutated components, so that the
 *                             mutations survive the ZIP CRCs
 *   cap_zip                   ec_cap_open_buffer() on mutated ZIP bytes
 *   gp_cplc, gp_card_data,    ec_gp_parse_cplc, _card_data, _key_info,
 *   gp_key_info, gp_status,   _status (both formats, every scope: the
 *   gp_load_progress          input's first byte chooses) and
 *                             _load_progress (host/gp.c)
 *   scp03_init_update,        the answers to INITIALIZE UPDATE of SCP03
 *   scp02_init_update         (host/scp03_host.c) and SCP02 (host/scp02.c)
 *
 * The load files and CAP files come from capgen (several shapes) and the
 * real CAP file in tests/data; the GlobalPlatform answers from an
 * in-process card that ecard's host clients issue and manage
 * (fuzz_scenario.c), and the SCP02 answer from the published vectors.
 *
 * Invariants, besides the sanitizers': a CAP file the host accepts has a
 * load file that is its load-order components back to back, the very
 * bytes the archive held, behind the C4 header LOAD sends, with the right
 * SHA-256, and the card's parser reads the same package, version and
 * applets from it; a load file the card accepts starts with its Header
 * and its components tile it; every accepted GlobalPlatform answer
 * decodes within its bounds and, encoded again, decodes to the same
 * result; INITIALIZE UPDATE answers decode to their fields' bytes.
 *
 *   fuzz_host [--seconds N | --iterations N] [--seed N]
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cap.h"
#include "capgen.h"
#include "crypto.h"
#include "cursor.h"
#include "fuzz_engine.h"
#include "fuzz_scenario.h"
#include "gp.h"
#include "javacard.h"
#include "scp02.h"
#include "scp03_host.h"
#include "test_support.h"

/* Room for a CAP file of a few components and insertions past it. */
#define MAX_INPUT (64u * 1024u)
/* An archive of that: the input, and 64 entries' headers and names. */
#define ZIP_MAX (MAX_INPUT + 64u * (30u + 46u + 2u * 80u) + 22u)
#define CORPUS_KEEP_MAX_LEN 8192
/* The directory the components are zipped into. */
#define PACKAGE_DIR "fuzz/pkg"

/* ---- seeds: CAP files and load files ---- */

/* Where each component of the input lay, for the load file check. */
struct layout {
	const uint8_t *at[EC_CAP_TAG_LAST + 1];
	size_t len[EC_CAP_TAG_LAST + 1];
};

static const uint8_t pkg_aid[] = { 0xA0, 0x00, 0x00, 0x07, 0x77, 0x02 };
static const uint8_t app_aids[9][7] = {
	{ 0xA0, 0x00, 0x00, 0x07, 0x77, 0x02, 0x01 }, { 0xA0, 0x00, 0x00, 0x07, 0x77, 0x02, 0x02 },
	{ 0xA0, 0x00, 0x00, 0x07, 0x77, 0x02, 0x03 }, { 0xA0, 0x00, 0x00, 0x07, 0x77, 0x02, 0x04 },
	{ 0xA0, 0x00, 0x00, 0x07, 0x77, 0x02, 0x05 }, { 0xA0, 0x00, 0x00, 0x07, 0x77, 0x02, 0x06 },
	{ 0xA0, 0x00, 0x00, 0x07, 0x77, 0x02, 0x07 }, { 0xA0, 0x00, 0x00, 0x07, 0x77, 0x02, 0x08 },
	{ 0xA0, 0x00, 0x00, 0x07, 0x77, 0x02, 0x09 },
};

/* The shapes capgen makes: applets (9 is more than the card takes), CAP
 * format 2.1 or 2.2, a Descriptor, and sizes. */
static const struct shape {
	size_t applets;
	uint8_t format_minor;
	bool descriptor;
	size_t size;
} shapes[] = {
	{ 1, 2, true, 400 }, { 0, 1, false, 0 }, { 3, 2, false, 2000 }, { 8, 1, true, 0 },
	{ 9, 2, false, 0 },
};
#define N_SHAPES (sizeof(shapes) / sizeof(shapes[0]))

static bool make_shape(const struct shape *s, struct capgen_cap *out)
{
	struct capgen_applet applets[9];
	struct capgen_spec spec = {
		.package_aid = pkg_aid, .package_aid_len = sizeof(pkg_aid),
		.version_major = 1, .version_minor = 2, .package_path = PACKAGE_DIR,
		.applets = applets, .applet_count = s->applets, .target_size = s->size,
		.format_minor = s->format_minor, .descriptor = s->descriptor,
	};

	for (size_t i = 0; i < s->applets; i++)
		applets[i] = (struct capgen_applet){ app_aids[i], sizeof(app_aids[i]) };
	return capgen_make(&spec, out) == 0;
}

/* The components of a capgen CAP back to back: the load file order, then
 * what is left out of the load file (Descriptor). */
static size_t concat_components(const struct capgen_cap *cap, uint8_t *out, size_t cap_len,
				bool load_file_only)
{
	size_t n = 0;

	for (size_t i = 0; i <= EC_CAP_LOAD_COMPONENTS; i++) {
		enum ec_cap_component tag = i < EC_CAP_LOAD_COMPONENTS ? ec_cap_load_order[i]
								       : EC_CAP_DESCRIPTOR;
		if (!cap->component[tag] || (load_file_only && i == EC_CAP_LOAD_COMPONENTS))
			continue;
		if (cap->len[tag] > cap_len - n)
			return 0;
		memcpy(out + n, cap->component[tag], cap->len[tag]);
		n += cap->len[tag];
	}
	return n;
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = fuzz_xmalloc((size_t)n);
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

static void seed_load_files(struct fuzz_corpus *c, bool with_descriptor, bool all_shapes)
{
	static uint8_t buf[MAX_INPUT];
	struct ec_cap cap;
	struct ec_error err = { 0 };

	for (size_t i = 0; i < N_SHAPES; i++) {
		struct capgen_cap gen;

		/* The card takes at most JC_MAX_APPLETS. */
		if (!all_shapes && shapes[i].applets > JC_MAX_APPLETS)
			continue;
		if (!make_shape(&shapes[i], &gen))
			fuzz_setup_failed("capgen cannot make shape %zu", i);
		fuzz_add_built(c, buf, concat_components(&gen, buf, sizeof(buf), !with_descriptor));
		capgen_free(&gen);
	}
	if (ec_cap_open(TEST_CAP_FIXTURE, &cap, &err) != EC_OK)
		fuzz_setup_failed("the CAP fixture: %s", err.text);
	fuzz_add_built(c, cap.load_file, cap.load_file_len);
	ec_cap_free(&cap);
}

static void seed_jc(struct fuzz_corpus *c)
{
	seed_load_files(c, false, false);
}

static void seed_components(struct fuzz_corpus *c)
{
	seed_load_files(c, true, true);
}

static size_t zip_components(const uint8_t *buf, size_t len, struct layout *lay, uint8_t *out,
			     size_t cap);

static void seed_zip(struct fuzz_corpus *c)
{
	char path[256];
	size_t len;
	uint8_t *bytes;

	snprintf(path, sizeof(path), "%s/seed.cap", fuzz_tmpdir());
	for (size_t i = 0; i < N_SHAPES; i++) {
		struct capgen_cap gen;

		if (!make_shape(&shapes[i], &gen) || capgen_write(&gen, path) != 0 ||
		    !(bytes = read_file(path, &len)))
			fuzz_setup_failed("capgen cannot write shape %zu", i);
		fuzz_corpus_add(c, bytes, len);
		free(bytes);
		capgen_free(&gen);
	}
	/* The same in stored entries, which fixup_zip() can mend. */
	for (size_t i = 0; i < N_SHAPES; i++) {
		static uint8_t comps[MAX_INPUT], zip[ZIP_MAX];
		struct capgen_cap gen;
		struct layout lay;

		if (!make_shape(&shapes[i], &gen))
			fuzz_setup_failed("capgen cannot make shape %zu", i);
		size_t n = concat_components(&gen, comps, sizeof(comps), false);
		fuzz_add_built(c, zip, n ? zip_components(comps, n, &lay, zip, sizeof(zip)) : 0);
		capgen_free(&gen);
	}
	if (!(bytes = read_file(TEST_CAP_FIXTURE, &len)))
		fuzz_setup_failed("cannot read the CAP fixture");
	fuzz_corpus_add(c, bytes, len);
	free(bytes);
	remove(path);
}

/* ---- the card's load file parser ---- */

static bool same_aid(const struct jc_aid *a, const uint8_t *bytes, size_t len)
{
	return a->len == len && memcmp(a->bytes, bytes, len) == 0;
}

static bool run_jc(const uint8_t *buf, size_t len, const struct fuzz_run *r)
{
	struct jc_package pkg, header;
	struct cursor c;

	if (!jc_parse_load_file(buf, len, &pkg))
		return false;
	CHECK(pkg.aid.len >= 5 && pkg.aid.len <= JC_AID_MAX, "package AID of %u bytes", pkg.aid.len);
	CHECK(pkg.n_applets <= JC_MAX_APPLETS, "%zu applets", pkg.n_applets);
	for (size_t i = 0; i < pkg.n_applets; i++)
		CHECK(pkg.applets[i].len >= 5 && pkg.applets[i].len <= JC_AID_MAX,
		      "applet %zu's AID of %u bytes", i, pkg.applets[i].len);
	/* Its components tile it, the Header first, whose info says the same
	 * read alone. */
	CHECK(len >= 3 && buf[0] == JC_HEADER, "the first component has tag %u",
	      len ? buf[0] : 0);
	CHECK(jc_parse_header(buf + 3, load_be16(buf + 1), &header) &&
	      same_aid(&header.aid, pkg.aid.bytes, pkg.aid.len) && header.major == pkg.major &&
	      header.minor == pkg.minor, "the Header read alone says otherwise");
	cursor_init(&c, buf, len);
	while (cursor_remaining(&c) > 0) {
		uint8_t tag;
		uint16_t size;

		CHECK(cursor_u8(&c, &tag) && cursor_u16(&c, &size) && cursor_skip(&c, size) &&
		      tag >= JC_HEADER && tag <= JC_DEBUG, "a component outside the block");
	}
	return true;
}

/* ---- the host's CAP reader ---- */

/*
 * What every CAP file the host accepts must satisfy. With the layout of
 * the components it was zipped from, its load file must be exactly
 * theirs.
 */
static void check_cap(const struct ec_cap *cap, const struct layout *lay, const uint8_t *buf,
		      size_t len, const struct fuzz_run *r)
{
	uint8_t hdr[EC_CAP_C4_HEADER_MAX], sha[CRYPTO_SHA256_LEN];
	struct jc_package pkg;

	CHECK(cap->package.aid.len >= EC_CAP_AID_MIN && cap->package.aid.len <= EC_CAP_AID_MAX,
	      "package AID of %u bytes", cap->package.aid.len);
	CHECK(cap->applet_count <= EC_CAP_MAX_APPLETS && cap->import_count <= EC_CAP_MAX_IMPORTS,
	      "%zu applets, %zu imports", cap->applet_count, cap->import_count);
	for (size_t i = 0; i < cap->applet_count; i++)
		CHECK(cap->applets[i].aid.len >= EC_CAP_AID_MIN &&
		      cap->applets[i].aid.len <= EC_CAP_AID_MAX, "applet %zu's AID of %u bytes", i,
		      cap->applets[i].aid.len);
	CHECK(memchr(cap->package_name, 0, sizeof(cap->package_name)) != NULL,
	      "the package name is not terminated");

	/* The load file: the load-order components back to back... */
	size_t h = ec_cap_c4_header(cap->load_file_len, hdr);
	CHECK(cap->load_file_len > 0 && h && cap->load_data_len == h + cap->load_file_len &&
	      memcmp(cap->load_data, hdr, h) == 0 && cap->load_data + h == cap->load_file,
	      "LOAD data is not C4, the length of the load file, then the load file");
	CHECK(crypto_sha256(cap->load_file, cap->load_file_len, sha) == 0 &&
	      memcmp(sha, cap->load_file_sha256, sizeof(sha)) == 0, "wrong SHA-256");
	size_t off = 0;
	for (size_t i = 0; i < EC_CAP_LOAD_COMPONENTS; i++) {
		enum ec_cap_component tag = ec_cap_load_order[i];
		const struct ec_cap_component_info *ci = &cap->components[tag];

		if (!ci->present)
			continue;
		CHECK(ci->size >= 3 && ci->size <= cap->load_file_len - off &&
		      cap->load_file[off] == tag && load_be16(cap->load_file + off + 1) == ci->size - 3,
		      "the %s component is not where the load file order puts it",
		      ec_cap_component_name(tag));
		/* ...the very bytes the archive held. */
		if (lay)
			CHECK(lay->at[tag] && lay->len[tag] == ci->size &&
			      memcmp(lay->at[tag], cap->load_file + off, ci->size) == 0,
			      "the load file's %s component is not the input's",
			      ec_cap_component_name(tag));
		off += ci->size;
	}
	CHECK(off == cap->load_file_len, "the load file has %zu bytes beyond its components",
	      cap->load_file_len - off);

	/* The card reads the same package from it (when it takes that many applets). */
	if (cap->applet_count > JC_MAX_APPLETS)
		return;
	CHECK(jc_parse_load_file(cap->load_file, cap->load_file_len, &pkg),
	      "the card would refuse the load file the host accepted");
	CHECK(same_aid(&pkg.aid, cap->package.aid.bytes, cap->package.aid.len) &&
	      pkg.major == cap->package.major && pkg.minor == cap->package.minor &&
	      pkg.cap_major == cap->format_major && pkg.cap_minor == cap->format_minor,
	      "the card reads another package or version than the host");
	CHECK(pkg.n_applets == cap->applet_count, "the card reads %zu applets, the host %zu",
	      pkg.n_applets, cap->applet_count);
	for (size_t i = 0; i < pkg.n_applets; i++)
		CHECK(same_aid(&pkg.applets[i], cap->applets[i].aid.bytes, cap->applets[i].aid.len),
		      "the card reads another AID for applet %zu", i);
}

static bool open_and_check(const uint8_t *zip, size_t zip_len, const struct layout *lay,
			   const uint8_t *buf, size_t len, const struct fuzz_run *r)
{
	static struct ec_cap cap_storage;	/* 8 KiB */
	struct ec_cap *cap = &cap_storage;
	struct ec_error err = { 0 };

	if (ec_cap_open_buffer(zip, zip_len, NULL, cap, &err) != EC_OK) {
		CHECK(err.text[0] != '\0', "refused without a reason");
		return false;
	}
	check_cap(cap, lay, buf, len, r);
	ec_cap_free(cap);
	return true;
}

/* ---- a ZIP writer for mutated components ---- */

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
	static uint32_t table[256];
	uint32_t c = 0xFFFFFFFFu;

	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t t = i;

			for (int k = 0; k < 8; k++)
				t = (t & 1) ? 0xEDB88320u ^ (t >> 1) : t >> 1;
			table[i] = t;
		}
	while (n--)
		c = table[(c ^ *p++) & 0xFF] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

struct zip_entry {
	char name[80];
	const uint8_t *data;
	size_t len;
	uint32_t offset;	/* of its local header */
};

/* The part of a local and a central header they have in common, from
 * "version needed" to the name's length. */
static void zip_common(struct writer *w, const struct zip_entry *e)
{
	writer_u16le(w, 20);			/* version needed: 2.0 */
	writer_u16le(w, 0);			/* flags */
	writer_u16le(w, 0);			/* stored */
	writer_u16le(w, 0);			/* time */
	writer_u16le(w, 0x5221);		/* date: 2021-01-01 */
	writer_u32le(w, crc32_of(e->data, e->len));
	writer_u32le(w, (uint32_t)e->len);	/* compressed */
	writer_u32le(w, (uint32_t)e->len);
	writer_u16le(w, (uint16_t)strlen(e->name));
	writer_u16le(w, 0);			/* extra field */
}

/*
 * A ZIP archive of stored entries, written here rather than by libzip
 * (capgen_write_entries) because libzip deflates every entry and resets
 * zlib's window for each: writing would cost a hundred times the reading
 * that is being fuzzed. Returns its length, 0 when out is too small.
 */
static size_t zip_stored(struct zip_entry *entries, size_t n, uint8_t *out, size_t cap)
{
	struct writer w;

	writer_init(&w, out, cap);
	for (size_t i = 0; i < n; i++) {
		entries[i].offset = (uint32_t)w.len;
		writer_u32le(&w, 0x04034B50);
		zip_common(&w, &entries[i]);
		writer_bytes(&w, entries[i].name, strlen(entries[i].name));
		writer_bytes(&w, entries[i].data, entries[i].len);
	}
	size_t directory = w.len;
	for (size_t i = 0; i < n; i++) {
		writer_u32le(&w, 0x02014B50);
		writer_u16le(&w, 20);		/* made by: 2.0 */
		zip_common(&w, &entries[i]);
		writer_u16le(&w, 0);		/* comment */
		writer_u16le(&w, 0);		/* disk */
		writer_u16le(&w, 0);		/* internal attributes */
		writer_u32le(&w, 0);		/* external attributes */
		writer_u32le(&w, entries[i].offset);
		writer_bytes(&w, entries[i].name, strlen(entries[i].name));
	}
	size_t end = w.len;
	writer_u32le(&w, 0x06054B50);
	writer_u16le(&w, 0);
	writer_u16le(&w, 0);
	writer_u16le(&w, (uint16_t)n);
	writer_u16le(&w, (uint16_t)n);
	writer_u32le(&w, (uint32_t)(end - directory));
	writer_u32le(&w, (uint32_t)directory);
	writer_u16le(&w, 0);
	return writer_ok(&w) ? w.len : 0;
}

/*
 * Zip the components of buf, each an entry of PACKAGE_DIR/javacard/
 * named by its tag (a component whose size runs past the input takes the
 * rest; a second one of a tag goes to another directory; bytes too few
 * for a frame go with the last). Returns the archive's length in out.
 */
static size_t zip_components(const uint8_t *buf, size_t len, struct layout *lay, uint8_t *out,
			     size_t cap)
{
	static struct zip_entry entries[64];
	size_t n = 0, off = 0;

	memset(lay, 0, sizeof(*lay));
	while (off < len && n < 64) {
		size_t k = len - off;
		uint8_t tag = buf[off];

		if (k >= 3 && (size_t)load_be16(buf + off + 1) + 3 < k)
			k = (size_t)load_be16(buf + off + 1) + 3;
		if (len - off - k < 3)
			k = len - off;	/* too few left for a frame of their own */
		const char *cname = ec_cap_component_name(tag);
		bool first = cname && !lay->at[tag];
		if (cname)
			snprintf(entries[n].name, sizeof(entries[n].name), "%s%s/javacard/%s.cap",
				 PACKAGE_DIR, first ? "" : "/again", cname);
		else
			snprintf(entries[n].name, sizeof(entries[n].name), "%s/javacard/Tag%u.cap",
				 PACKAGE_DIR, tag);
		if (first) {
			lay->at[tag] = buf + off;
			lay->len[tag] = k;
		}
		entries[n].data = buf + off;
		entries[n].len = k;
		n++;
		off += k;
	}
	return zip_stored(entries, n, out, cap);
}

/* The CRCs of the stored entries made to match their bytes again, so
 * that mutations of a raw archive reach the components inside. */
static void fixup_zip(uint8_t *buf, size_t len)
{
	for (size_t cd = 0; cd + 46 <= len; cd++) {
		if (load_le32(buf + cd) != 0x02014B50 || load_le16(buf + cd + 10) != 0)
			continue;
		size_t local = load_le32(buf + cd + 42), size = load_le32(buf + cd + 20);
		if (local > len || len - local < 30 || load_le32(buf + local) != 0x04034B50)
			continue;
		size_t data = local + 30 + load_le16(buf + local + 26) + load_le16(buf + local + 28);
		if (data > len || size > len - data)
			continue;
		uint32_t crc = crc32_of(buf + data, size);
		store_le32(buf + cd + 16, crc);
		store_le32(buf + local + 14, crc);
	}
}

static bool run_components(const uint8_t *buf, size_t len, const struct fuzz_run *r)
{
	struct layout lay;
	size_t n = zip_components(buf, len, &lay, r->scratch, ZIP_MAX);

	return n && open_and_check(r->scratch, n, &lay, buf, len, r);
}

static bool run_zip(const uint8_t *buf, size_t len, const struct fuzz_run *r)
{
	return open_and_check(buf, len, NULL, buf, len, r);
}

/* A mutation of the component frames: a tag, a size, a component
 * dropped or doubled. */
static void mutate_components(struct fuzz_rng *g, uint8_t *buf, size_t *len, size_t cap)
{
	size_t starts[64], n = 0, off = 0;

	while (off + 3 <= *len && n < 64) {
		starts[n++] = off;
		off += 3 + (size_t)load_be16(buf + off + 1);
	}
	if (!n)
		return;
	size_t i = fuzz_rng_below(g, n), at = starts[i];
	size_t end = i + 1 < n ? starts[i + 1] : *len;
	if (end > *len)
		end = *len;
	switch (fuzz_rng_below(g, 4)) {
	case 0:
		buf[at] = (uint8_t)(1 + fuzz_rng_below(g, EC_CAP_TAG_LAST + 1));
		break;
	case 1:
		store_be16(buf + at + 1, (uint16_t)(load_be16(buf + at + 1) +
						    fuzz_rng_below(g, 5) - 2));
		break;
	case 2:	/* dropped */
		memmove(buf + at, buf + end, *len - end);
		*len -= end - at;
		break;
	default:	/* doubled */
		if (end - at <= cap - *len) {
			memmove(buf + end + (end - at), buf + end, *len - end);
			memmove(buf + end, buf + at, end - at);
			*len += end - at;
		}
		break;
	}
}

/* The last component's size makes the frames end with the input. */
static void fixup_components(uint8_t *buf, size_t len)
{
	size_t off = 0, last = 0;

	while (off + 3 <= len) {
		last = off;
		off += 3 + (size_t)load_be16(buf + off + 1);
	}
	if (len >= 3 && len - last - 3 <= 0xFFFF)
		store_be16(buf + last + 1, (uint16_t)(len - last - 3));
}

static const struct fuzz_length_field component_lengths[] = { { 1, 2, false } };

/* ---- seeds: the card's answers ---- */

enum answer { CPLC, CARD_DATA, KEY_INFO, STATUS, LOAD_PROGRESS, INIT_UPDATE, N_ANSWERS };

static struct fuzz_corpus answers[N_ANSWERS];

/* Keep the answers the host parses, as the scenario's card gave them. */
static void collect(void *arg, const uint8_t *cmd, size_t len, const uint8_t *rsp,
		    size_t rsp_len)
{
	static uint8_t in[1 + VC_RSP_MAX];

	(void)arg;
	if (len < 4 || rsp_len < 2)
		return;
	size_t n = rsp_len - 2;
	uint16_t sw = load_be16(rsp + n);
	/* GET STATUS answers in parts (6310) when its entries do not fit one. */
	if (sw != 0x9000 && !(sw == SW_MORE_DATA && cmd[1] == GP_INS_GET_STATUS))
		return;
	uint16_t p1p2 = load_be16(cmd + 2);
	if (cmd[1] == GP_INS_GET_DATA && p1p2 == GP_TAG_CPLC)
		fuzz_corpus_add(&answers[CPLC], rsp, n);
	else if (cmd[1] == GP_INS_GET_DATA && p1p2 == GP_TAG_CARD_DATA)
		fuzz_corpus_add(&answers[CARD_DATA], rsp, n);
	else if (cmd[1] == GP_INS_GET_DATA && p1p2 == GP_TAG_KEY_INFO)
		fuzz_corpus_add(&answers[KEY_INFO], rsp, n);
	else if (cmd[1] == GP_INS_GET_DATA && p1p2 == GP_TAG_LOAD_PROGRESS)
		fuzz_corpus_add(&answers[LOAD_PROGRESS], rsp, n);
	else if (cmd[1] == GP_INS_INITIALIZE_UPDATE)
		fuzz_corpus_add(&answers[INIT_UPDATE], rsp, n);
	else if (cmd[1] == GP_INS_GET_STATUS && n < VC_RSP_MAX) {
		/* The first byte says how to parse: bit 0 the TLV format,
		 * bits 1-2 the scope. */
		for (uint8_t s = 0; s < FZ_STATUS_SCOPES; s++) {
			if (cmd[2] != (uint8_t)fz_status_scopes[s])
				continue;
			in[0] = (uint8_t)(s << 1 | ((cmd[3] & GP_STATUS_P2_TLV) != 0));
			memcpy(in + 1, rsp, n);
			fuzz_corpus_add(&answers[STATUS], in, 1 + n);
		}
	}
}

static void setup(void)
{
	struct fz_world w;
	struct fz_card c;

	fz_world_init(&w);
	fz_card_open(&c, 0);
	c.on_exchange = collect;
	fz_scenario_issue(&c, &w);
	fz_scenario_manage(&c, &w, true);
	fz_card_close(&c);
	fz_card_open(&c, 0x10);
	c.on_exchange = collect;
	fz_scenario_manage(&c, &w, false);
	fz_card_close(&c);
	fz_world_wipe(&w);
}

static void teardown(void)
{
	for (int i = 0; i < N_ANSWERS; i++)
		fuzz_corpus_free(&answers[i]);
}

/*
 * The answers the scenario collected that the parser takes: those of
 * sessions with R-MAC or R-ENC carry a MAC or are encrypted, and some
 * parsers refuse the extra bytes. At least one must be left.
 */
static void seed_answers(struct fuzz_corpus *c, enum answer a,
			 bool (*run)(const uint8_t *, size_t, const struct fuzz_run *))
{
	struct fuzz_rng g;
	struct fuzz_run ctx = { .target = "seeding", .iteration = FUZZ_BEFORE_LOOP, .rng = &g };
	static uint8_t scratch[MAX_INPUT];

	ctx.scratch = scratch;
	fuzz_rng_seed(&g, 0);
	for (size_t i = 0; i < answers[a].n; i++)
		if (run(answers[a].items[i].data, answers[a].items[i].len, &ctx))
			fuzz_corpus_add(c, answers[a].items[i].data, answers[a].items[i].len);
	if (!c->n)
		fuzz_setup_failed("the scenario gave no answer of kind %d that parses", (int)a);
}

/* ---- GET DATA: CPLC, card recognition data, key information ---- */

static bool run_cplc(const uint8_t *buf, size_t len, const struct fuzz_run *r)
{
	struct ec_gp_cplc out, again;

	if (ec_gp_parse_cplc(buf, len, &out) != EC_OK)
		return false;
	/* Its 42 bytes, as they lie in the input, and each field from them. */
	CHECK(len == EC_GP_CPLC_LEN ? memcmp(out.raw, buf, len) == 0
				    : len > EC_GP_CPLC_LEN &&
				      memmem(buf, len, out.raw, EC_GP_CPLC_LEN) != NULL,
	      "the CPLC bytes are not the input's");
	CHECK(out.ic_fabricator == load_be16(out.raw) && out.ic_serial == load_be32(out.raw + 12) &&
	      out.prepersonalization_equipment == load_be32(out.raw + 30) &&
	      out.personalization_equipment == load_be32(out.raw + 38),
	      "a field is not its bytes");
	CHECK(ec_gp_parse_cplc(out.raw, EC_GP_CPLC_LEN, &again) == EC_OK &&
	      memcmp(&again, &out, sizeof(out)) == 0, "the 42 bytes alone parse otherwise");
	return true;
}

static void seed_cplc(struct fuzz_corpus *c)
{
	seed_answers(c, CPLC, run_cplc);
}

static bool run_card_data(const uint8_t *buf, size_t len, const struct fuzz_run *r)
{
	struct ec_gp_card_data out;

	if (ec_gp_parse_card_data(buf, len, &out) != EC_OK)
		return false;
	CHECK(out.raw_len <= sizeof(out.raw) && out.raw_len < len, "raw of %zu bytes",
	      out.raw_len);
	CHECK(out.gp_version_len <= sizeof(out.gp_version) && out.scp_count <= EC_GP_SCP_MAX,
	      "version of %zu bytes, %zu protocols", out.gp_version_len, out.scp_count);
	CHECK(memmem(buf, len, out.raw, out.raw_len) != NULL || out.raw_len == 0,
	      "raw is not the input's");
	return true;
}

static void seed_card_data(struct fuzz_corpus *c)
{
	seed_answers(c, CARD_DATA, run_card_data);
}

/* A tag (one or two bytes) and a BER length, as the parsers read them. */
static void put_tl(struct writer *w, uint16_t tag, size_t len)
{
	if (tag > 0xFF)
		writer_u8(w, (uint8_t)(tag >> 8));
	writer_u8(w, (uint8_t)tag);
	if (len < 0x80) {
		writer_u8(w, (uint8_t)len);
	} else if (len <= 0xFF) {
		writer_u8(w, 0x81);
		writer_u8(w, (uint8_t)len);
	} else {
		writer_u8(w, 0x82);
		writer_u16(w, (uint16_t)len);
	}
}

static bool run_key_info(const uint8_t *buf, size_t len, const struct fuzz_run *r)
{
	struct ec_gp_key_info out, again;
	struct writer w;

	enum ec_status st = ec_gp_parse_key_info(buf, len, &out);
	CHECK(st == EC_OK || st == EC_ERR_FORMAT || st == EC_ERR_BUFFER, "status %d", (int)st);
	CHECK(out.count <= EC_GP_KEY_INFO_MAX, "%zu keys", out.count);
	if (st != EC_OK)
		return false;
	/* Encoded again, one C0 of four bytes per key, it reads the same. */
	writer_init(&w, r->scratch, MAX_INPUT);
	put_tl(&w, GP_TAG_KEY_INFO, out.count * 6);
	for (size_t i = 0; i < out.count; i++) {
		put_tl(&w, 0xC0, 4);
		writer_u8(&w, out.keys[i].id);
		writer_u8(&w, out.keys[i].version);
		writer_u8(&w, out.keys[i].type);
		writer_u8(&w, out.keys[i].length);
	}
	CHECK(writer_ok(&w) && ec_gp_parse_key_info(r->scratch, w.len, &again) == EC_OK &&
	      again.count == out.count &&
	      memcmp(again.keys, out.keys, out.count * sizeof(out.keys[0])) == 0,
	      "encoded again, it reads otherwise");
	return true;
}

static void seed_key_info(struct fuzz_corpus *c)
{
	seed_answers(c, KEY_INFO, run_key_info);
}

/* ---- GET STATUS ---- */

static void put_aid(struct writer *w, uint16_t tag, const struct ec_gp_aid *aid)
{
	put_tl(w, tag, aid->len);
	writer_bytes(w, aid->bytes, aid->len);
}

/* One entry in the format it came in: E3 TLVs, or the old fixed layout. */
static void put_entry(struct writer *w, const struct ec_gp_registry_entry *e, bool tlv,
		      enum ec_gp_status_scope scope)
{
	if (!tlv) {
		writer_u8(w, e->aid.len);
		writer_bytes(w, e->aid.bytes, e->aid.len);
		writer_u8(w, e->life_cycle);
		writer_u8(w, e->privileges[0]);
		if (scope != EC_GP_SCOPE_LOAD_FILES_MODULES)
			return;
		writer_u8(w, (uint8_t)e->module_count);
		for (size_t m = 0; m < e->module_count; m++) {
			writer_u8(w, e->modules[m].len);
			writer_bytes(w, e->modules[m].bytes, e->modules[m].len);
		}
		return;
	}
	uint8_t body[1024];
	struct writer b;
	writer_init(&b, body, sizeof(body));
	put_aid(&b, GP_TAG_AID, &e->aid);
	put_tl(&b, GP_TAG_LIFE_CYCLE, 1);
	writer_u8(&b, e->life_cycle);
	if (e->privileges_len) {
		put_tl(&b, GP_TAG_PRIVILEGES, e->privileges_len);
		writer_bytes(&b, e->privileges, e->privileges_len);
	}
	if (e->load_file.len)
		put_aid(&b, GP_TAG_LOAD_FILE, &e->load_file);
	if (e->domain.len)
		put_aid(&b, GP_TAG_DOMAIN, &e->domain);
	if (e->has_version) {
		put_tl(&b, GP_TAG_VERSION, 2);
		writer_bytes(&b, e->version, 2);
	}
	for (size_t m = 0; m < e->module_count; m++)
		put_aid(&b, GP_TAG_MODULE, &e->modules[m]);
	put_tl(w, GP_TAG_REGISTRY_ENTRY, b.len);
	writer_bytes(w, body, b.len);
	if (!writer_ok(&b))
		w->overflow = true;
}

static bool same_entry(const struct ec_gp_registry_entry *a, const struct ec_gp_registry_entry *b,
		       bool tlv)
{
	bool same = a->aid.len == b->aid.len && !memcmp(a->aid.bytes, b->aid.bytes, a->aid.len) &&
		    a->life_cycle == b->life_cycle && a->privileges_len == b->privileges_len &&
		    !memcmp(a->privileges, b->privileges, a->privileges_len) &&
		    a->module_count == b->module_count;
	for (size_t m = 0; same && m < a->module_count; m++)
		same = a->modules[m].len == b->modules[m].len &&
		       !memcmp(a->modules[m].bytes, b->modules[m].bytes, a->modules[m].len);
	if (!tlv)
		return same;
	return same && a->load_file.len == b->load_file.len &&
	       !memcmp(a->load_file.bytes, b->load_file.bytes, a->load_file.len) &&
	       a->domain.len == b->domain.len &&
	       !memcmp(a->domain.bytes, b->domain.bytes, a->domain.len) &&
	       a->has_version == b->has_version &&
	       (!a->has_version || !memcmp(a->version, b->version, 2));
}

static bool run_status(const uint8_t *buf, size_t len, const struct fuzz_run *r)
{
	static struct ec_gp_registry out, again;	/* 20 KiB each */
	struct writer w;

	if (len == 0)
		return false;
	bool tlv = buf[0] & 1;
	enum ec_gp_status_scope scope = fz_status_scopes[(buf[0] >> 1) & 3];
	out.count = 0;
	enum ec_status st = ec_gp_parse_status(buf + 1, len - 1, tlv, scope, &out);
	CHECK(st == EC_OK || st == EC_ERR_FORMAT || st == EC_ERR_BUFFER, "status %d", (int)st);
	CHECK(out.count <= EC_GP_STATUS_MAX, "%zu entries", out.count);
	CHECK(st != EC_ERR_BUFFER || out.count == EC_GP_STATUS_MAX, "full at %zu entries",
	      out.count);
	for (size_t i = 0; i < out.count; i++) {
		const struct ec_gp_registry_entry *e = &out.entries[i];

		CHECK(e->aid.len >= 1 && e->aid.len <= EC_GP_AID_MAX && e->privileges_len <= 3 &&
		      e->load_file.len <= EC_GP_AID_MAX && e->domain.len <= EC_GP_AID_MAX &&
		      e->module_count <= EC_GP_MODULES_MAX, "entry %zu out of its bounds", i);
		for (size_t m = 0; m < e->module_count; m++)
			CHECK(e->modules[m].len <= EC_GP_AID_MAX, "module %zu of entry %zu", m, i);
	}
	if (st != EC_OK)
		return false;
	/* Encoded again in the same format, it reads the same. */
	writer_init(&w, r->scratch, MAX_INPUT);
	for (size_t i = 0; i < out.count; i++)
		put_entry(&w, &out.entries[i], tlv, scope);
	again.count = 0;
	CHECK(writer_ok(&w) && ec_gp_parse_status(r->scratch, w.len, tlv, scope, &again) == EC_OK &&
	      again.count == out.count, "encoded again, it does not read");
	for (size_t i = 0; i < out.count; i++)
		CHECK(same_entry(&out.entries[i], &again.entries[i], tlv),
		      "encoded again, entry %zu reads otherwise", i);
	return true;
}

static void seed_status(struct fuzz_corpus *c)
{
	seed_answers(c, STATUS, run_status);
}

/* ---- DF70: where a load stands ---- */

static bool run_load_progress(const uint8_t *buf, size_t len, const struct fuzz_run *r)
{
	struct ec_gp_load_progress out, again;
	struct writer w;

	if (ec_gp_parse_load_progress(buf, len, &out) != EC_OK)
		return false;
	CHECK(out.supported && out.aid.len <= EC_GP_AID_MAX, "AID of %u bytes", out.aid.len);
	CHECK(!out.active || (out.aid.len > 0 && (!out.total || out.received <= out.total)),
	      "an active load without an AID, or with more received than announced");
	writer_init(&w, r->scratch, MAX_INPUT);
	put_tl(&w, GP_TAG_LOAD_PROGRESS, 11u + out.aid.len);
	writer_u8(&w, out.active);
	writer_u8(&w, out.next_block);
	writer_u32(&w, out.received);
	writer_u32(&w, out.total);
	writer_u8(&w, out.aid.len);
	writer_bytes(&w, out.aid.bytes, out.aid.len);
	CHECK(writer_ok(&w) && ec_gp_parse_load_progress(r->scratch, w.len, &again) == EC_OK &&
	      !memcmp(&again, &out, sizeof(out)), "encoded again, it reads otherwise");
	return true;
}

static void seed_load_progress(struct fuzz_corpus *c)
{
	seed_answers(c, LOAD_PROGRESS, run_load_progress);
}

/* ---- INITIALIZE UPDATE ---- */

static bool run_scp03(const uint8_t *buf, size_t len, const struct fuzz_run *r)
{
	struct scp03_init_response out;

	if (scp03_parse_initialize_update_response(buf, len, &out) != SCP03_OK)
		return false;
	CHECK(len == SCP03_INIT_UPDATE_RESP_LEN + (out.has_seq ? SCP03_SEQ_LEN : 0),
	      "accepted %zu bytes", len);
	CHECK(out.has_seq == ((buf[12] & SCP03_I_PSEUDO_RANDOM) != 0), "a counter against i %02X",
	      buf[12]);
	CHECK(!memcmp(out.kdd, buf, SCP03_KDD_LEN) && out.kvn == buf[10] && out.scp_id == 0x03 &&
	      out.i_param == buf[12] && !memcmp(out.card_challenge, buf + 13, 8) &&
	      !memcmp(out.card_cryptogram, buf + 21, 8) &&
	      (!out.has_seq || out.seq == ((uint32_t)buf[29] << 16 | load_be16(buf + 30))),
	      "a field is not its bytes");
	return true;
}

static void seed_scp03(struct fuzz_corpus *c)
{
	seed_answers(c, INIT_UPDATE, run_scp03);
}

static bool run_scp02(const uint8_t *buf, size_t len, const struct fuzz_run *r)
{
	struct ec_scp02_init_response out;

	if (ec_scp02_parse_initialize_update_response(buf, len, &out) != EC_OK)
		return false;
	CHECK(len == EC_SCP02_INIT_UPDATE_RESP_LEN, "accepted %zu bytes", len);
	CHECK(!memcmp(out.kdd, buf, EC_SCP02_KDD_LEN) && out.kvn == buf[10] && out.scp_id == 0x02 &&
	      out.seq == load_be16(buf + 12) && !memcmp(out.card_challenge, buf + 14, 6) &&
	      !memcmp(out.card_cryptogram, buf + 20, 8), "a field is not its bytes");
	return true;
}

/* No ecard card speaks SCP02: the published vector (tests/data/gp-scp.txt)
 * and the same layout with other keys' versions and counters. */
static void seed_scp02(struct fuzz_corpus *c)
{
	static const char *const vectors[] = {
		"00000000000000000000700200016B4524ABEE7CF32EA3838BC148F3",
		"0102030405060708090A200200FF000102030405A1A2A3A4A5A6A7A8",
		"FFFFFFFFFFFFFFFFFFFF01020000FFFFFFFFFFFF0000000000000000",
	};

	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		size_t len;
		uint8_t *v = fuzz_hex(vectors[i], &len);

		if (!v)
			fuzz_setup_failed("SCP02 vector %zu is not hex", i);
		fuzz_corpus_add(c, v, len);
		free(v);
	}
}

/* ---- the program ---- */

static const struct fuzz_length_field tlv_lengths[] = { { 1, 1, false }, { 2, 1, false },
							{ 3, 1, false } };
static const struct fuzz_length_field status_lengths[] = { { 2, 1, false }, { 4, 1, false },
							   { 5, 1, false } };

/* The archives cost about a hundred times a GlobalPlatform answer. */
#define GP_TARGET(n, s, r, l, nl) \
	{ .name = n, .seed = s, .run = r, .lengths = l, .n_lengths = nl, .weight = 8 }

static const struct fuzz_target targets[] = {
	{ .name = "jc_parse_load_file", .seed = seed_jc, .run = run_jc,
	  .lengths = component_lengths, .n_lengths = 1, .fixup = fixup_components,
	  .mutate = mutate_components, .weight = 8 },
	{ .name = "cap_components", .seed = seed_components, .run = run_components,
	  .lengths = component_lengths, .n_lengths = 1, .fixup = fixup_components,
	  .mutate = mutate_components },
	{ .name = "cap_zip", .seed = seed_zip, .run = run_zip, .fixup = fixup_zip },
	GP_TARGET("gp_cplc", seed_cplc, run_cplc, tlv_lengths, 3),
	GP_TARGET("gp_card_data", seed_card_data, run_card_data, tlv_lengths, 3),
	GP_TARGET("gp_key_info", seed_key_info, run_key_info, tlv_lengths, 3),
	GP_TARGET("gp_status", seed_status, run_status, status_lengths, 3),
	GP_TARGET("gp_load_progress", seed_load_progress, run_load_progress, tlv_lengths, 3),
	GP_TARGET("scp03_init_update", seed_scp03, run_scp03, NULL, 0),
	GP_TARGET("scp02_init_update", seed_scp02, run_scp02, NULL, 0),
};
#define N_TARGETS (sizeof(targets) / sizeof(targets[0]))

static const struct fuzz_program host_program = {
	.name = "fuzz_host",
	.usage = "Mutate load files, CAP files and GlobalPlatform answers",
	.targets = targets,
	.n_targets = N_TARGETS,
	.max_input = ZIP_MAX,	/* for the scratch buffer, which takes an archive */
	.keep_max_len = CORPUS_KEEP_MAX_LEN,
	.length_limit = 0xFFFF,
	.setup = setup,
	.teardown = teardown,
};

int main(int argc, char **argv)
{
	return fuzz_main(&host_program, argc, argv);
}
