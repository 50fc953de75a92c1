/*
 * test_cap.c - CAP files (host/cap.c) and the synthetic ones of
 * tests/capgen.c.
 *
 * A real CAP file made by Oracle's converter (tests/data) pins the parser to what the tools produce: its
 * package and applet AIDs, its component sizes, and the SHA-256 of its load
 * file data block that GlobalPlatformPro reports for it. capgen's files
 * then take the parser through every size class of the LOAD data (C4 with
 * one, 81, 82 and 83 length forms) up to the largest Method component,
 * with the load file checked against a concatenation this file makes in
 * its own code, in the order DESIGN §3 gives.
 *
 * The rest is about archives that are wrong: not a ZIP, empty, truncated
 * at every length, a component missing, twice, cut short, padded, of the
 * wrong tag, a Directory or Header that lies, names that climb out of the
 * archive, entries too big to read. Each must give EC_ERR_FORMAT (or
 * EC_ERR_FILE) with a sentence, leave the struct empty, and never crash:
 * the sanitizer build runs these too.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cap.h"
#include "crypto.h"
#include "cursor.h"

#include "capgen.h"
#include "test_support.h"


/* The load file data block in DESIGN §3's order, written out here rather
 * than taken from ec_cap_load_order, so the two are checked against each
 * other. */
static const enum ec_cap_component design_order[] = {
	EC_CAP_HEADER, EC_CAP_DIRECTORY, EC_CAP_IMPORT, EC_CAP_APPLET, EC_CAP_CLASS,
	EC_CAP_METHOD, EC_CAP_STATIC_FIELD, EC_CAP_EXPORT, EC_CAP_CONSTANT_POOL,
	EC_CAP_REF_LOCATION,
};
#define N_DESIGN_ORDER (sizeof(design_order) / sizeof(design_order[0]))

static const uint8_t pkg_aid[] = { 0xF0, 0x45, 0x43, 0x41, 0x52, 0x44, 0x54 };
static const uint8_t app_aid1[] = { 0xF0, 0x45, 0x43, 0x41, 0x52, 0x44, 0x54, 0x01 };
static const uint8_t app_aid2[] = {
	0xF0, 0x45, 0x43, 0x41, 0x52, 0x44, 0x54, 0x02, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
};

/* ---- a temporary directory per test ---- */

TestSuite(cap, .init = ts_tmpdir_init, .fini = ts_tmpdir_fini);
TestSuite(capgen, .init = ts_tmpdir_init, .fini = ts_tmpdir_fini);
TestSuite(cap_bad, .init = ts_tmpdir_init, .fini = ts_tmpdir_fini);

/* A path in this test's directory; static storage, one at a time. */
static const char *tmp_path(const char *name)
{
	static char path[256];
	return ts_tmp_path(path, sizeof(path), name);
}

static const char *fixture_path(void)
{
	return TEST_CAP_FIXTURE;
}

static uint8_t *read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	long size = ftell(f);
	cr_assert_geq(size, 0);
	rewind(f);
	uint8_t *buf = malloc(size ? (size_t)size : 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	*len = (size_t)size;
	return buf;
}

static void write_whole(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static void assert_aid(const struct ec_cap_aid *aid, const uint8_t *want, size_t len)
{
	cr_assert_eq(aid->len, len, "AID length %u, want %zu", aid->len, len);
	cr_assert_arr_eq(aid->bytes, want, len);
}

/* A failure leaves a sentence and an empty struct. */
static void assert_failed(enum ec_status st, enum ec_status want, const struct ec_error *err,
			  const struct ec_cap *cap, const char *needle)
{
	size_t n = strlen(err->text);

	cr_assert_eq(st, want, "status %d, want %d: %s", st, want, err->text);
	cr_assert_eq(err->status, st);
	cr_assert_gt(n, 0, "no message");
	cr_assert_eq(err->text[n - 1], '.', "not a sentence: %s", err->text);
	cr_assert_null(strchr(err->text, '\n'), "one line: %s", err->text);
	if (needle)
		cr_assert_not_null(strstr(err->text, needle), "\"%s\" does not say \"%s\"", err->text,
				   needle);
	cr_assert_null(cap->buffer);
	cr_assert_null(cap->load_file);
	cr_assert_eq(cap->load_file_len, 0);
	cr_assert_eq(cap->applet_count, 0);
}

/* The file at path is refused with EC_ERR_FORMAT, read from disk and from
 * memory alike, with a message that contains needle (when given). */
static void expect_bad(const char *path, const char *needle)
{
	struct ec_cap *cap = malloc(sizeof(*cap));
	struct ec_error err = { 0 };
	size_t len;

	cr_assert_not_null(cap);
	memset(cap, 0xA5, sizeof(*cap));
	enum ec_status st = ec_cap_open(path, cap, &err);
	assert_failed(st, EC_ERR_FORMAT, &err, cap, needle);

	uint8_t *bytes = read_whole(path, &len);
	memset(cap, 0xA5, sizeof(*cap));
	memset(&err, 0, sizeof(err));
	st = ec_cap_open_buffer(bytes, len, "bad.cap", cap, &err);
	assert_failed(st, EC_ERR_FORMAT, &err, cap, needle);
	cr_assert_not_null(strstr(err.text, "bad.cap"), "the message names the file: %s", err.text);
	free(bytes);
	free(cap);
}

/* Open a file that must be good; the caller frees with ec_cap_free(). */
static void open_ok(const char *path, struct ec_cap *cap)
{
	struct ec_error err = { 0 };
	enum ec_status st = ec_cap_open(path, cap, &err);
	cr_assert_eq(st, EC_OK, "%s: %s", path, err.text);
}

/* ---- the converter's CAP file ---- */

static const uint8_t fixture_sha256[CRYPTO_SHA256_LEN] = {
	0x8d, 0x5a, 0xc9, 0xe2, 0x26, 0xe3, 0xf0, 0xa8, 0x94, 0x57, 0xfb, 0x07, 0x84, 0x70, 0xa9, 0x37,
	0x8d, 0xae, 0xd8, 0xb9, 0x6b, 0xa6, 0xcb, 0xe8, 0x39, 0x51, 0x3c, 0xdf, 0x08, 0xd2, 0x7a, 0x38,
};

Test(cap, fixture_identity)
{
	static const uint8_t package[] = { 0x01, 0x02, 0x03, 0x04, 0x05 };
	static const uint8_t applet[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };
	static const uint8_t framework[] = { 0xA0, 0x00, 0x00, 0x00, 0x62, 0x01, 0x01 };
	static const uint8_t security[] = { 0xA0, 0x00, 0x00, 0x00, 0x62, 0x01, 0x02 };
	static const uint8_t lang[] = { 0xA0, 0x00, 0x00, 0x00, 0x62, 0x00, 0x01 };
	struct ec_cap cap;

	open_ok(fixture_path(), &cap);
	assert_aid(&cap.package.aid, package, sizeof(package));
	cr_assert_eq(cap.package.major, 0);
	cr_assert_eq(cap.package.minor, 0);
	cr_assert_str_eq(cap.package_name, "testapplets.empty");
	cr_assert_eq(cap.format_major, 2);
	cr_assert_eq(cap.format_minor, 1);
	cr_assert_eq(cap.flags, 0x04, "ACC_APPLET only");
	cr_assert_eq(cap.applet_count, 1);
	assert_aid(&cap.applets[0].aid, applet, sizeof(applet));
	cr_assert_eq(cap.applets[0].install_method_offset, 0x13);
	cr_assert_eq(cap.import_count, 3);
	assert_aid(&cap.imports[0].aid, framework, sizeof(framework));
	cr_assert_eq(cap.imports[0].major, 1);
	cr_assert_eq(cap.imports[0].minor, 2);
	assert_aid(&cap.imports[1].aid, security, sizeof(security));
	assert_aid(&cap.imports[2].aid, lang, sizeof(lang));
	cr_assert_str_eq(cap.javacard_version, "2.2.1", "javacard.framework 1.2 is Java Card 2.2.1");
	ec_cap_free(&cap);
	cr_assert_null(cap.buffer);
	ec_cap_free(&cap);	/* twice is harmless */
	ec_cap_free(NULL);
}

Test(cap, fixture_components)
{
	/* Whole components, tag and size included, as the archive holds them. */
	static const size_t sizes[EC_CAP_TAG_LAST + 1] = {
		[EC_CAP_HEADER] = 18, [EC_CAP_DIRECTORY] = 34, [EC_CAP_APPLET] = 15,
		[EC_CAP_IMPORT] = 34, [EC_CAP_CONSTANT_POOL] = 25, [EC_CAP_CLASS] = 15,
		[EC_CAP_METHOD] = 45, [EC_CAP_STATIC_FIELD] = 13, [EC_CAP_REF_LOCATION] = 12,
		[EC_CAP_DESCRIPTOR] = 72,
	};
	struct ec_cap cap;

	open_ok(fixture_path(), &cap);
	for (int tag = EC_CAP_HEADER; tag <= EC_CAP_TAG_LAST; tag++) {
		cr_assert_eq(cap.components[tag].present, sizes[tag] != 0, "%s",
			     ec_cap_component_name(tag));
		cr_assert_eq(cap.components[tag].size, sizes[tag], "%s: %zu bytes",
			     ec_cap_component_name(tag), cap.components[tag].size);
	}
	cr_assert_not(cap.components[EC_CAP_EXPORT].present);
	cr_assert_not(cap.components[EC_CAP_DEBUG].present);
	ec_cap_free(&cap);
}

Test(cap, fixture_load_file)
{
	struct ec_cap cap;
	uint8_t hash[CRYPTO_SHA256_LEN];

	open_ok(fixture_path(), &cap);
	/* Everything but the 72-byte Descriptor. */
	cr_assert_eq(cap.load_file_len, 211);
	cr_assert_arr_eq(cap.load_file_sha256, fixture_sha256, CRYPTO_SHA256_LEN);
	cr_assert_eq(crypto_sha256(cap.load_file, cap.load_file_len, hash), 0);
	cr_assert_arr_eq(hash, fixture_sha256, CRYPTO_SHA256_LEN);
	/* It starts with the Header, then the Directory. */
	static const uint8_t start[] = { 0x01, 0x00, 0x0F, 0xDE, 0xCA, 0xFF, 0xED };
	cr_assert_arr_eq(cap.load_file, start, sizeof(start));
	cr_assert_eq(cap.load_file[18], EC_CAP_DIRECTORY);
	/* The last is the RefLocation: tag 9, 9 bytes. */
	cr_assert_eq(cap.load_file[211 - 12], EC_CAP_REF_LOCATION);

	/* 211 bytes take the 81 form. */
	static const uint8_t c4[] = { 0xC4, 0x81, 0xD3 };
	cr_assert_eq(cap.load_data_len, 214);
	cr_assert_arr_eq(cap.load_data, c4, sizeof(c4));
	cr_assert_arr_eq(cap.load_data + 3, cap.load_file, 211);
	ec_cap_free(&cap);
}

Test(cap, fixture_from_memory)
{
	struct ec_cap cap;
	struct ec_error err = { 0 };
	size_t len;
	uint8_t *bytes = read_whole(fixture_path(), &len);

	cr_assert_eq(ec_cap_open_buffer(bytes, len, NULL, &cap, &err), EC_OK, "%s", err.text);
	/* The archive's bytes are not needed once it is read. */
	memset(bytes, 0, len);
	free(bytes);
	cr_assert_arr_eq(cap.load_file_sha256, fixture_sha256, CRYPTO_SHA256_LEN);
	cr_assert_str_eq(cap.package_name, "testapplets.empty");
	ec_cap_free(&cap);
}

Test(cap, load_order_is_designs)
{
	cr_assert_eq(EC_CAP_LOAD_COMPONENTS, N_DESIGN_ORDER);
	for (size_t i = 0; i < N_DESIGN_ORDER; i++)
		cr_assert_eq(ec_cap_load_order[i], design_order[i], "position %zu", i);
	cr_assert_str_eq(ec_cap_component_name(EC_CAP_REF_LOCATION), "RefLocation");
	cr_assert_str_eq(ec_cap_component_name(EC_CAP_CONSTANT_POOL), "ConstantPool");
	cr_assert_null(ec_cap_component_name(0));
	cr_assert_null(ec_cap_component_name(13));
}

/* ---- the C4 TLV ---- */

Test(cap, c4_header_forms)
{
	static const struct {
		size_t len;
		size_t n;
		uint8_t bytes[EC_CAP_C4_HEADER_MAX];
	} cases[] = {
		{ 0, 2, { 0xC4, 0x00 } },
		{ 1, 2, { 0xC4, 0x01 } },
		{ 127, 2, { 0xC4, 0x7F } },
		{ 128, 3, { 0xC4, 0x81, 0x80 } },
		{ 211, 3, { 0xC4, 0x81, 0xD3 } },
		{ 255, 3, { 0xC4, 0x81, 0xFF } },
		{ 256, 4, { 0xC4, 0x82, 0x01, 0x00 } },
		{ 4660, 4, { 0xC4, 0x82, 0x12, 0x34 } },
		{ 65535, 4, { 0xC4, 0x82, 0xFF, 0xFF } },
		{ 65536, 5, { 0xC4, 0x83, 0x01, 0x00, 0x00 } },
		{ 0xFFFFFF, 5, { 0xC4, 0x83, 0xFF, 0xFF, 0xFF } },
	};
	uint8_t out[EC_CAP_C4_HEADER_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, 0xEE, sizeof(out));
		size_t n = ec_cap_c4_header(cases[i].len, out);
		cr_assert_eq(n, cases[i].n, "length %zu: %zu header bytes", cases[i].len, n);
		cr_assert_arr_eq(out, cases[i].bytes, n, "length %zu", cases[i].len);
	}
	cr_assert_eq(ec_cap_c4_header(0x1000000, out), 0, "four length bytes are not BER here");

	/* What cursor_tlv reads back is the length written. */
	for (size_t len = 0; len < 70000; len += 997) {
		uint8_t *buf = calloc(1, EC_CAP_C4_HEADER_MAX + len);
		cr_assert_not_null(buf);
		size_t n = ec_cap_c4_header(len, buf);
		struct cursor c, value;
		uint32_t tag;
		cursor_init(&c, buf, n + len);
		cr_assert(cursor_tlv(&c, &tag, &value));
		cr_assert_eq(tag, 0xC4);
		cr_assert_eq(cursor_remaining(&value), len);
		cr_assert(cursor_done(&c));
		free(buf);
	}
}

/* ---- LOAD blocks ---- */

Test(cap, block_count)
{
	static const struct {
		size_t len, block, count;
	} cases[] = {
		{ 1, 1, 1 }, { 1, 255, 1 }, { 255, 255, 1 }, { 256, 255, 2 }, { 510, 255, 2 },
		{ 511, 255, 3 }, { 214, 239, 1 }, { 65540, 247, 266 }, { 65540, 65535, 2 },
		{ 1000, 1, 1000 },
	};
	struct ec_error err = { 0 };
	size_t count;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(ec_cap_block_count(cases[i].len, cases[i].block, &count, &err), EC_OK,
			     "%s", err.text);
		cr_assert_eq(count, cases[i].count, "%zu bytes in blocks of %zu: %zu blocks",
			     cases[i].len, cases[i].block, count);
	}
	count = 99;
	cr_assert_eq(ec_cap_block_count(100, 0, &count, &err), EC_ERR_ARG);
	cr_assert_eq(count, 0);
	cr_assert_gt(strlen(err.text), 0);
	cr_assert_eq(ec_cap_block_count(100, 65536, &count, &err), EC_ERR_ARG);
	cr_assert_eq(ec_cap_block_count(0, 255, &count, &err), EC_ERR_ARG);
	cr_assert_eq(ec_cap_block_count(100, 255, NULL, NULL), EC_ERR_ARG);
}

/* Cut data into blocks and check every property a LOAD sequence needs. */
static void check_blocks(const uint8_t *data, size_t len, size_t block_size)
{
	struct ec_error err = { 0 };
	struct ec_cap_block b;
	size_t count, sum = 0;

	cr_assert_eq(ec_cap_block_count(len, block_size, &count, &err), EC_OK, "%s", err.text);
	cr_assert_eq(count, (len + block_size - 1) / block_size);
	for (size_t i = 0; i < count; i++) {
		cr_assert_eq(ec_cap_block(data, len, block_size, i, &b, &err), EC_OK, "%s", err.text);
		cr_assert_eq(b.index, i);
		cr_assert_eq(b.number, (uint8_t)(i % 256), "block %zu has number %u", i, b.number);
		cr_assert_eq(b.last, i == count - 1, "block %zu of %zu", i, count);
		cr_assert_eq(b.data, data + sum, "block %zu starts where the one before ended", i);
		if (!b.last)
			cr_assert_eq(b.len, block_size, "every block but the last is full");
		cr_assert_gt(b.len, 0);
		cr_assert_leq(b.len, block_size);
		sum += b.len;
	}
	cr_assert_eq(sum, len, "the blocks add up to the data");
	cr_assert_eq(ec_cap_block(data, len, block_size, count, &b, &err), EC_ERR_ARG,
		     "there is no block after the last");
}

Test(cap, blocks_of_fixture)
{
	struct ec_cap cap;
	struct ec_error err = { 0 };
	struct ec_cap_block b;

	open_ok(fixture_path(), &cap);
	/* 214 bytes: one block of 239 (255 less an SCP03 MAC), two of 200... */
	check_blocks(cap.load_data, cap.load_data_len, 239);
	check_blocks(cap.load_data, cap.load_data_len, 200);
	check_blocks(cap.load_data, cap.load_data_len, 107);
	check_blocks(cap.load_data, cap.load_data_len, 16);
	check_blocks(cap.load_data, cap.load_data_len, 1);

	cr_assert_eq(ec_cap_block(cap.load_data, cap.load_data_len, 200, 1, &b, &err), EC_OK);
	cr_assert_eq(b.len, 14);
	cr_assert(b.last);
	cr_assert_eq(b.number, 1);
	cr_assert_eq(ec_cap_block(NULL, 10, 5, 0, &b, &err), EC_ERR_ARG);
	ec_cap_free(&cap);
}

/* ---- capgen round trips ---- */

/* The load file as this test makes it from capgen's components. */
static uint8_t *concatenate(const struct capgen_cap *gen, size_t *len)
{
	size_t total = 0, at = 0;

	for (size_t i = 0; i < N_DESIGN_ORDER; i++)
		total += gen->len[design_order[i]];
	uint8_t *buf = malloc(total ? total : 1);
	cr_assert_not_null(buf);
	for (size_t i = 0; i < N_DESIGN_ORDER; i++) {
		enum ec_cap_component tag = design_order[i];
		if (gen->component[tag]) {
			memcpy(buf + at, gen->component[tag], gen->len[tag]);
			at += gen->len[tag];
		}
	}
	*len = total;
	return buf;
}

/* Make, write, read back, and compare everything. Returns the size of the
 * load file read back. */
static size_t round_trip(const struct capgen_spec *spec)
{
	struct capgen_cap gen;
	struct ec_cap *cap = malloc(sizeof(*cap));
	const char *path = tmp_path("gen.cap");
	uint8_t hash[CRYPTO_SHA256_LEN], c4[EC_CAP_C4_HEADER_MAX];
	size_t want_len;

	cr_assert_not_null(cap);
	cr_assert_eq(capgen_make(spec, &gen), 0);
	cr_assert_eq(capgen_write(&gen, path), 0);
	open_ok(path, cap);

	assert_aid(&cap->package.aid, spec->package_aid, spec->package_aid_len);
	cr_assert_eq(cap->package.major, spec->version_major);
	cr_assert_eq(cap->package.minor, spec->version_minor);
	cr_assert_eq(cap->format_minor, spec->format_minor ? spec->format_minor : 1);
	cr_assert_eq(cap->applet_count, spec->applet_count);
	for (size_t i = 0; i < spec->applet_count; i++)
		assert_aid(&cap->applets[i].aid, spec->applets[i].aid, spec->applets[i].aid_len);
	cr_assert_str_eq(cap->javacard_version, "2.2.1");
	for (int tag = EC_CAP_HEADER; tag <= EC_CAP_TAG_LAST; tag++) {
		cr_assert_eq(cap->components[tag].present, gen.component[tag] != NULL, "%s",
			     ec_cap_component_name(tag));
		cr_assert_eq(cap->components[tag].size, gen.len[tag], "%s",
			     ec_cap_component_name(tag));
	}

	uint8_t *want = concatenate(&gen, &want_len);
	if (spec->target_size >= 200)
		cr_assert_eq(want_len, spec->target_size, "capgen hits the size asked for");
	cr_assert_eq(cap->load_file_len, want_len);
	cr_assert_arr_eq(cap->load_file, want, want_len, "the load file is the concatenation");
	cr_assert_eq(crypto_sha256(want, want_len, hash), 0);
	cr_assert_arr_eq(cap->load_file_sha256, hash, CRYPTO_SHA256_LEN);

	size_t n = ec_cap_c4_header(want_len, c4);
	cr_assert_eq(cap->load_data_len, n + want_len);
	cr_assert_arr_eq(cap->load_data, c4, n);
	cr_assert_arr_eq(cap->load_data + n, want, want_len);
	check_blocks(cap->load_data, cap->load_data_len, 247);

	free(want);
	ec_cap_free(cap);
	free(cap);
	capgen_free(&gen);
	return want_len;
}

Test(capgen, round_trip_sizes)
{
	static const size_t targets[] = { 0, 200, 255, 256, 1000, 4096, 20000, 40000, 65536 };
	const struct capgen_applet applets[] = {
		{ app_aid1, sizeof(app_aid1) },
		{ app_aid2, sizeof(app_aid2) },
	};

	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		for (uint8_t minor = 1; minor <= 2; minor++) {
			struct capgen_spec spec = {
				.package_aid = pkg_aid,
				.package_aid_len = sizeof(pkg_aid),
				.version_major = 1,
				.version_minor = (uint8_t)i,
				.package_path = "com/example/load",
				.applets = applets,
				.applet_count = 1 + i % 2,
				.target_size = targets[i],
				.format_minor = minor,
				.descriptor = minor == 2,
			};
			round_trip(&spec);
		}
	}
}

Test(capgen, length_forms)
{
	const struct capgen_applet applet = { app_aid1, sizeof(app_aid1) };
	struct capgen_spec spec = {
		.package_aid = pkg_aid,
		.package_aid_len = sizeof(pkg_aid),
		.version_major = 1,
	};
	struct ec_cap cap;

	/* A library package with no applet is under 128 bytes: C4 len. */
	size_t len = round_trip(&spec);
	cr_assert_lt(len, 128);
	cr_assert_eq(capgen_write_spec(&spec, tmp_path("lib.cap")), 0);
	open_ok(tmp_path("lib.cap"), &cap);
	cr_assert_eq(cap.load_data[0], 0xC4);
	cr_assert_eq(cap.load_data[1], len);
	cr_assert_not(cap.components[EC_CAP_APPLET].present);
	cr_assert_eq(cap.applet_count, 0);
	ec_cap_free(&cap);

	/* 81 and 82 forms at their edges. */
	spec.applets = &applet;
	spec.applet_count = 1;
	for (size_t target = 250; target <= 260; target++) {
		spec.target_size = target;
		cr_assert_eq(round_trip(&spec), target);
	}

	/* The largest Method component a u2 size allows: C4 83. */
	spec.target_size = 70000;
	struct capgen_cap gen;
	cr_assert_eq(capgen_make(&spec, &gen), -1, "no Method component holds that much");
	spec.target_size = 0;
	cr_assert_eq(capgen_make(&spec, &gen), 0);
	size_t fixed = 0;
	for (int tag = EC_CAP_HEADER; tag <= EC_CAP_TAG_LAST; tag++)
		fixed += tag == EC_CAP_METHOD ? 0 : gen.len[tag];
	capgen_free(&gen);
	spec.target_size = fixed + EC_CAP_COMPONENT_MAX_BYTES;
	len = round_trip(&spec);
	cr_assert_gt(len, 65535);
	cr_assert_eq(capgen_write_spec(&spec, tmp_path("max.cap")), 0);
	open_ok(tmp_path("max.cap"), &cap);
	cr_assert_eq(cap.components[EC_CAP_METHOD].size, EC_CAP_COMPONENT_MAX_BYTES);
	cr_assert_eq(cap.load_data[1], 0x83);
	ec_cap_free(&cap);
}

Test(capgen, many_applets)
{
	uint8_t aids[40][9];
	struct capgen_applet applets[40];

	for (size_t i = 0; i < 40; i++) {
		memcpy(aids[i], app_aid1, sizeof(app_aid1));
		aids[i][8] = (uint8_t)i;
		applets[i] = (struct capgen_applet){ aids[i], 9 };
	}
	struct capgen_spec spec = {
		.package_aid = pkg_aid,
		.package_aid_len = sizeof(pkg_aid),
		.applets = applets,
		.applet_count = 40,
		.target_size = 3000,
		.format_minor = 2,
	};
	cr_assert_eq(round_trip(&spec), 3000);
}

Test(capgen, refuses_bad_specs)
{
	static const uint8_t short_aid[] = { 1, 2, 3, 4 };
	struct capgen_cap gen;
	struct capgen_spec spec = { .package_aid = short_aid, .package_aid_len = sizeof(short_aid) };

	cr_assert_eq(capgen_make(&spec, &gen), -1, "an AID of 4 bytes");
	spec.package_aid = pkg_aid;
	spec.package_aid_len = sizeof(pkg_aid);
	spec.format_minor = 3;
	cr_assert_eq(capgen_make(&spec, &gen), -1, "a format capgen does not know");
	spec.format_minor = 0;
	spec.applet_count = 1;
	cr_assert_eq(capgen_make(&spec, &gen), -1, "an applet count without applets");
	cr_assert_eq(capgen_make(NULL, &gen), -1);
}

Test(capgen, same_spec_same_bytes)
{
	struct capgen_spec spec = {
		.package_aid = pkg_aid,
		.package_aid_len = sizeof(pkg_aid),
		.target_size = 5000,
	};
	size_t a_len, b_len;

	cr_assert_eq(capgen_write_spec(&spec, tmp_path("a.cap")), 0);
	cr_assert_eq(capgen_write_spec(&spec, tmp_path("b.cap")), 0);
	uint8_t *a = read_whole(tmp_path("a.cap"), &a_len);
	uint8_t *b = read_whole(tmp_path("b.cap"), &b_len);
	cr_assert_eq(a_len, b_len);
	cr_assert_arr_eq(a, b, a_len, "benchmarks can rely on the file being the same");
	free(a);
	free(b);
}

/* ---- bad archives ---- */

/* A good set of components to damage, and a way to write them with
 * changes: replace (or drop, with len 0 and data NULL) one component,
 * and add extra entries. */
struct damage {
	struct capgen_cap gen;
	struct capgen_entry entries[EC_CAP_TAG_LAST + 8];
	char names[EC_CAP_TAG_LAST + 1][EC_CAP_NAME_MAX + 32];
	size_t n;
};

static void damage_start(struct damage *d, uint8_t format_minor)
{
	const struct capgen_applet applet = { app_aid1, sizeof(app_aid1) };
	struct capgen_spec spec = {
		.package_aid = pkg_aid,
		.package_aid_len = sizeof(pkg_aid),
		.applets = &applet,
		.applet_count = 1,
		.target_size = 600,
		.format_minor = format_minor,
		.descriptor = true,
	};

	memset(d, 0, sizeof(*d));
	cr_assert_eq(capgen_make(&spec, &d->gen), 0);
	for (int tag = EC_CAP_HEADER; tag <= EC_CAP_TAG_LAST; tag++) {
		if (!d->gen.component[tag])
			continue;
		snprintf(d->names[tag], sizeof(d->names[tag]), "%s/javacard/%s.cap",
			 d->gen.package_path, ec_cap_component_name(tag));
		d->entries[d->n++] = (struct capgen_entry){ d->names[tag], d->gen.component[tag],
							    d->gen.len[tag] };
	}
}

static struct capgen_entry *damage_entry(struct damage *d, enum ec_cap_component tag)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->entries[i].data == d->gen.component[tag])
			return &d->entries[i];
	cr_assert_fail("no entry for %s", ec_cap_component_name(tag));
	return NULL;
}

static void damage_drop(struct damage *d, enum ec_cap_component tag)
{
	struct capgen_entry *e = damage_entry(d, tag);
	*e = d->entries[--d->n];
}

static void damage_add(struct damage *d, const char *name, const void *data, size_t len)
{
	cr_assert_lt(d->n, sizeof(d->entries) / sizeof(d->entries[0]));
	d->entries[d->n++] = (struct capgen_entry){ name, data, len };
}

/* Write the damaged archive and expect it refused. */
static void damage_expect(struct damage *d, const char *needle)
{
	const char *path = tmp_path("bad.cap");
	cr_assert_eq(capgen_write_entries(d->entries, d->n, path), 0);
	expect_bad(path, needle);
	capgen_free(&d->gen);
}

Test(cap_bad, undamaged_control)
{
	/* The baseline the other tests damage is itself fine. */
	struct damage d;
	struct ec_cap cap;

	damage_start(&d, 1);
	cr_assert_eq(capgen_write_entries(d.entries, d.n, tmp_path("good.cap")), 0);
	open_ok(tmp_path("good.cap"), &cap);
	cr_assert(cap.components[EC_CAP_DESCRIPTOR].present);
	ec_cap_free(&cap);
	capgen_free(&d.gen);
}

Test(cap_bad, not_a_zip)
{
	static const char text[] = "this is not a CAP file, only some text\n";
	write_whole(tmp_path("text.cap"), text, sizeof(text) - 1);
	expect_bad(tmp_path("text.cap"), "not a ZIP archive");
}

Test(cap_bad, empty_file)
{
	write_whole(tmp_path("empty.cap"), "", 0);
	expect_bad(tmp_path("empty.cap"), NULL);
}

Test(cap_bad, empty_zip)
{
	cr_assert_eq(capgen_write_entries(NULL, 0, tmp_path("empty.zip")), 0);
	expect_bad(tmp_path("empty.zip"), "no Java Card package");
}

Test(cap_bad, zip_of_something_else)
{
	static const char readme[] = "hello\n";
	const struct capgen_entry e[] = {
		{ "README", readme, sizeof(readme) - 1 },
		{ "javacard/Header.cap", readme, sizeof(readme) - 1 },	/* no package directory */
		{ "x/Header.cap", readme, sizeof(readme) - 1 },		/* not under javacard/ */
	};
	cr_assert_eq(capgen_write_entries(e, 3, tmp_path("other.zip")), 0);
	expect_bad(tmp_path("other.zip"), "no Java Card package");
}

Test(cap_bad, missing_header)
{
	struct damage d;
	damage_start(&d, 1);
	damage_drop(&d, EC_CAP_HEADER);
	damage_expect(&d, "no Java Card package");
}

Test(cap_bad, missing_mandatory_components)
{
	static const enum ec_cap_component mandatory[] = {
		EC_CAP_DIRECTORY, EC_CAP_IMPORT, EC_CAP_CONSTANT_POOL, EC_CAP_CLASS,
		EC_CAP_METHOD, EC_CAP_STATIC_FIELD, EC_CAP_REF_LOCATION,
	};
	char needle[64];

	for (size_t i = 0; i < sizeof(mandatory) / sizeof(mandatory[0]); i++) {
		struct damage d;
		damage_start(&d, 1);
		damage_drop(&d, mandatory[i]);
		snprintf(needle, sizeof(needle), "no %s component", ec_cap_component_name(mandatory[i]));
		damage_expect(&d, needle);
	}
}

Test(cap_bad, optional_components_may_go)
{
	/* Without the Descriptor the load file is the same. */
	struct damage d;
	struct ec_cap with, without;

	damage_start(&d, 2);
	cr_assert_eq(capgen_write_entries(d.entries, d.n, tmp_path("with.cap")), 0);
	damage_drop(&d, EC_CAP_DESCRIPTOR);
	cr_assert_eq(capgen_write_entries(d.entries, d.n, tmp_path("without.cap")), 0);
	open_ok(tmp_path("with.cap"), &with);
	open_ok(tmp_path("without.cap"), &without);
	cr_assert_eq(with.load_file_len, without.load_file_len);
	cr_assert_arr_eq(with.load_file_sha256, without.load_file_sha256, CRYPTO_SHA256_LEN);
	ec_cap_free(&with);
	ec_cap_free(&without);
	capgen_free(&d.gen);

	/* Without the Applet the Header's ACC_APPLET lies. */
	damage_start(&d, 1);
	damage_drop(&d, EC_CAP_APPLET);
	damage_expect(&d, "Applet component");
}

Test(cap_bad, truncated_component)
{
	/* The Method entry loses its last 10 bytes; its u2 size still says all. */
	struct damage d;
	damage_start(&d, 1);
	damage_entry(&d, EC_CAP_METHOD)->len -= 10;
	damage_expect(&d, "declares");

	/* Too short even for a tag and a size. */
	damage_start(&d, 1);
	damage_entry(&d, EC_CAP_CLASS)->len = 2;
	damage_expect(&d, "truncated");

	/* An empty entry. */
	damage_start(&d, 1);
	damage_entry(&d, EC_CAP_STATIC_FIELD)->len = 0;
	damage_expect(&d, "truncated");
}

Test(cap_bad, size_mismatch)
{
	/* Padding after what the u2 size covers. */
	struct damage d;
	uint8_t padded[64];

	damage_start(&d, 1);
	struct capgen_entry *e = damage_entry(&d, EC_CAP_CLASS);
	cr_assert_lt(e->len + 5, sizeof(padded));
	memcpy(padded, e->data, e->len);
	memset(padded + e->len, 0, 5);
	e->data = padded;
	e->len += 5;
	damage_expect(&d, "declares");

	/* A Header whose u2 size says 65535 over a few bytes. */
	damage_start(&d, 1);
	d.gen.component[EC_CAP_HEADER][1] = 0xFF;
	d.gen.component[EC_CAP_HEADER][2] = 0xFF;
	damage_expect(&d, "declares 65535 bytes");
}

Test(cap_bad, wrong_tag)
{
	struct damage d;
	damage_start(&d, 1);
	d.gen.component[EC_CAP_CLASS][0] = EC_CAP_METHOD;
	damage_expect(&d, "tag");
}

Test(cap_bad, bad_header)
{
	struct damage d;

	damage_start(&d, 1);
	d.gen.component[EC_CAP_HEADER][3] = 0xCA;	/* CAFFED... */
	damage_expect(&d, "DECAFFED");

	/* CAP format 3.1 */
	damage_start(&d, 1);
	d.gen.component[EC_CAP_HEADER][8] = 3;
	damage_expect(&d, "CAP format 3.1");

	/* A package AID of 17 bytes, and of 4. */
	damage_start(&d, 1);
	d.gen.component[EC_CAP_HEADER][12] = 17;
	damage_expect(&d, "AID");
	damage_start(&d, 1);
	d.gen.component[EC_CAP_HEADER][12] = 4;
	damage_expect(&d, "AID");

	/* A Header cut after the magic, with a size that agrees. */
	static const uint8_t short_header[] = { 0x01, 0x00, 0x05, 0xDE, 0xCA, 0xFF, 0xED, 0x01 };
	damage_start(&d, 1);
	struct capgen_entry *e = damage_entry(&d, EC_CAP_HEADER);
	e->data = short_header;
	e->len = sizeof(short_header);
	damage_expect(&d, "truncated");

	/* Bytes after the package in format 2.1. */
	uint8_t longer[64];
	damage_start(&d, 1);
	e = damage_entry(&d, EC_CAP_HEADER);
	memcpy(longer, e->data, e->len);
	longer[e->len] = 0x00;
	longer[e->len + 1] = 0x00;
	store_be16(longer + 1, (uint16_t)(e->len + 2 - 3));
	e->data = longer;
	e->len += 2;
	damage_expect(&d, "after the package");
}

Test(cap_bad, directory_disagrees)
{
	struct damage d;
	uint8_t *dir;

	/* The Method's size in the Directory (entry 7, at 3 + 2 * 6). */
	damage_start(&d, 1);
	dir = d.gen.component[EC_CAP_DIRECTORY];
	dir[3 + 2 * 6 + 1] ^= 0x01;
	damage_expect(&d, "Directory");

	/* An Export the Directory promises. */
	damage_start(&d, 2);
	dir = d.gen.component[EC_CAP_DIRECTORY];
	dir[3 + 2 * 9 + 1] = 0x10;
	damage_expect(&d, "missing");

	/* The import count (after 11 sizes and static_field_size_info). */
	damage_start(&d, 1);
	dir = d.gen.component[EC_CAP_DIRECTORY];
	dir[3 + 22 + 6] = 2;
	damage_expect(&d, "imports");

	/* A custom component announced but not there. */
	damage_start(&d, 1);
	dir = d.gen.component[EC_CAP_DIRECTORY];
	dir[3 + 22 + 6 + 2] = 1;
	damage_expect(&d, "Directory");
}

Test(cap_bad, bad_applet_and_import)
{
	struct damage d;
	uint8_t *applet, *import;

	/* No applet at all. */
	damage_start(&d, 1);
	applet = d.gen.component[EC_CAP_APPLET];
	applet[3] = 0;
	damage_expect(&d, "no applet");

	/* Two applets claimed, one there. */
	damage_start(&d, 1);
	applet = d.gen.component[EC_CAP_APPLET];
	applet[3] = 2;
	damage_expect(&d, "applet 2");

	/* An install method past the end of the Method component. */
	damage_start(&d, 1);
	applet = d.gen.component[EC_CAP_APPLET];
	applet[3 + 1 + 1 + sizeof(app_aid1)] = 0xFF;
	damage_expect(&d, "install method");

	/* 200 imports. */
	damage_start(&d, 1);
	import = d.gen.component[EC_CAP_IMPORT];
	import[3] = 200;
	damage_expect(&d, "more than the 128");

	/* An import cut short. */
	damage_start(&d, 1);
	import = d.gen.component[EC_CAP_IMPORT];
	import[3] = 2;
	damage_expect(&d, "imported package 2");
}

Test(cap_bad, duplicates)
{
	struct damage d;
	char name[EC_CAP_NAME_MAX + 32];

	/* The same component under a name that differs in case only (the
	 * specification says the names are not case sensitive). */
	damage_start(&d, 1);
	snprintf(name, sizeof(name), "%s/javacard/method.CAP", d.gen.package_path);
	damage_add(&d, name, d.gen.component[EC_CAP_METHOD], d.gen.len[EC_CAP_METHOD]);
	damage_expect(&d, "Method component twice");

	damage_start(&d, 1);
	snprintf(name, sizeof(name), "%s/javacard/HEADER.cap", d.gen.package_path);
	damage_add(&d, name, d.gen.component[EC_CAP_HEADER], d.gen.len[EC_CAP_HEADER]);
	damage_expect(&d, "Header component twice");

	/* A second package. */
	damage_start(&d, 1);
	damage_add(&d, "other/pkg/javacard/Header.cap", d.gen.component[EC_CAP_HEADER],
		   d.gen.len[EC_CAP_HEADER]);
	damage_expect(&d, "more than one Java Card package");
}

Test(cap_bad, unsafe_names)
{
	static const char *const names[] = {
		"../evil.txt",
		"capgen/../../evil",
		"capgen/test/javacard/../../../x",
		"/etc/passwd",
		"C:/windows/evil",
		"META-INF\\..\\evil",
		"META-INF/a\001b",
		"META-INF/tab\there",
		"..",
	};
	static const char data[] = "x";

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct damage d;
		damage_start(&d, 1);
		damage_add(&d, names[i], data, 1);
		damage_expect(&d, "no Java Card converter writes");
	}

	/* A name of 300 bytes. */
	char long_name[301];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	struct damage d;
	damage_start(&d, 1);
	damage_add(&d, long_name, data, 1);
	damage_expect(&d, "no Java Card converter writes");

	/* Names that only look odd are fine. */
	damage_start(&d, 1);
	damage_add(&d, "META-INF/..hidden", data, 1);
	damage_add(&d, "META-INF/a..b/", "", 0);
	cr_assert_eq(capgen_write_entries(d.entries, d.n, tmp_path("odd.cap")), 0);
	struct ec_cap cap;
	open_ok(tmp_path("odd.cap"), &cap);
	ec_cap_free(&cap);
	capgen_free(&d.gen);
}

Test(cap_bad, entries_too_big)
{
	/* An entry over 8 MiB, even one that is not a component: nothing of
	 * it is read. */
	size_t big = EC_CAP_ENTRY_MAX + 1;
	uint8_t *zeros = calloc(1, big);
	struct damage d;

	cr_assert_not_null(zeros);
	damage_start(&d, 1);
	damage_add(&d, "APPLET-INF/classes/Huge.class", zeros, big);
	damage_expect(&d, "more than the 8388608 bytes");
	free(zeros);

	/* A component over 3 + 65535 bytes. */
	size_t too_long = EC_CAP_COMPONENT_MAX_BYTES + 1;
	uint8_t *method = calloc(1, too_long);
	cr_assert_not_null(method);
	method[0] = EC_CAP_METHOD;
	method[1] = 0xFF;
	method[2] = 0xFF;
	damage_start(&d, 1);
	struct capgen_entry *e = damage_entry(&d, EC_CAP_METHOD);
	e->data = method;
	e->len = too_long;
	damage_expect(&d, "more than a component can be");
	free(method);
}

/* Find the central directory record of the entry whose name ends in
 * suffix, in a ZIP archive in memory. */
static size_t central_record(const uint8_t *zip, size_t len, const char *suffix)
{
	size_t slen = strlen(suffix);
	for (size_t i = 0; i + 46 <= len; i++) {
		if (memcmp(zip + i, "PK\x01\x02", 4) != 0)
			continue;
		size_t name_len = (size_t)zip[i + 28] | (size_t)zip[i + 29] << 8;
		if (i + 46 + name_len <= len && name_len >= slen &&
		    memcmp(zip + i + 46 + name_len - slen, suffix, slen) == 0)
			return i;
	}
	cr_assert_fail("no central directory record for %s", suffix);
	return 0;
}

Test(cap_bad, lying_zip_directory)
{
	/* The ZIP's own directory claims the Method entry unpacks to 4 GiB,
	 * or to less than it does: read no further than the claim, and not
	 * into a buffer sized by it. */
	static const uint32_t claims[] = { 0xFFFFFFF0u, 0x00900000u, 100u, 0u };
	struct damage d;
	size_t len;

	damage_start(&d, 1);
	cr_assert_eq(capgen_write_entries(d.entries, d.n, tmp_path("base.cap")), 0);
	capgen_free(&d.gen);
	uint8_t *zip = read_whole(tmp_path("base.cap"), &len);
	size_t rec = central_record(zip, len, "Method.cap");

	size_t local = (size_t)zip[rec + 42] | (size_t)zip[rec + 43] << 8 |
		       (size_t)zip[rec + 44] << 16 | (size_t)zip[rec + 45] << 24;
	cr_assert_lt(local + 30, len);
	cr_assert_arr_eq(zip + local, "PK\x03\x04", 4);

	for (size_t i = 0; i < sizeof(claims) / sizeof(claims[0]); i++) {
		uint8_t *copy = malloc(len);
		cr_assert_not_null(copy);
		memcpy(copy, zip, len);
		/* The uncompressed size, little-endian, in the central directory
		 * (offset 24): libzip's consistency check finds it differs from
		 * the local header. */
		for (int b = 0; b < 4; b++)
			copy[rec + 24 + b] = (uint8_t)(claims[i] >> (8 * b));
		write_whole(tmp_path("lying.cap"), copy, len);
		expect_bad(tmp_path("lying.cap"), NULL);
		/* The same lie in the local header too (offset 22): now only
		 * our own checks stand in the way. */
		for (int b = 0; b < 4; b++)
			copy[local + 22 + b] = (uint8_t)(claims[i] >> (8 * b));
		write_whole(tmp_path("lying.cap"), copy, len);
		expect_bad(tmp_path("lying.cap"), claims[i] > EC_CAP_ENTRY_MAX ? "more than the 8388608 bytes"
					     : "Method");
		free(copy);
	}

	/* A flipped byte in the compressed Method data: the CRC catches it. */
	uint8_t *copy = malloc(len);
	cr_assert_not_null(copy);
	memcpy(copy, zip, len);
	size_t name_len = (size_t)copy[local + 26] | (size_t)copy[local + 27] << 8;
	size_t extra_len = (size_t)copy[local + 28] | (size_t)copy[local + 29] << 8;
	size_t data_at = local + 30 + name_len + extra_len;
	cr_assert_lt(data_at + 20, len);
	copy[data_at + 20] ^= 0x40;
	write_whole(tmp_path("flipped.cap"), copy, len);
	expect_bad(tmp_path("flipped.cap"), NULL);
	free(copy);
	free(zip);
}

Test(cap_bad, not_a_file)
{
	struct ec_cap cap;
	struct ec_error err = { 0 };

	memset(&cap, 0xA5, sizeof(cap));
	assert_failed(ec_cap_open(ts_tmpdir(), &cap, &err), EC_ERR_FILE, &err, &cap, "not a regular file");
	memset(&cap, 0xA5, sizeof(cap));
	assert_failed(ec_cap_open(tmp_path("nothing-here.cap"), &cap, &err), EC_ERR_FILE, &err, &cap,
		      "No such file");
	cr_assert_eq(ec_cap_open(NULL, &cap, &err), EC_ERR_ARG);
	cr_assert_eq(ec_cap_open(tmp_path("x"), NULL, NULL), EC_ERR_ARG);
	cr_assert_eq(ec_cap_open_buffer(NULL, 10, NULL, &cap, &err), EC_ERR_ARG);
}

/* ---- no crash, whatever the bytes ---- */

Test(cap_bad, fixture_truncated_at_every_length)
{
	struct ec_cap cap;
	struct ec_error err;
	size_t len;
	uint8_t *whole = read_whole(fixture_path(), &len);

	for (size_t cut = 0; cut < len; cut++) {
		/* An exact copy, so the sanitizer sees any read past the end. */
		uint8_t *part = malloc(cut ? cut : 1);
		cr_assert_not_null(part);
		memcpy(part, whole, cut);
		memset(&err, 0, sizeof(err));
		enum ec_status st = ec_cap_open_buffer(part, cut, "cut.cap", &cap, &err);
		cr_assert_neq(st, EC_OK, "the first %zu of %zu bytes were accepted", cut, len);
		cr_assert_gt(strlen(err.text), 0);
		cr_assert_null(cap.buffer);
		free(part);
	}
	free(whole);
}

Test(cap_bad, fixture_with_every_byte_flipped)
{
	/*
	 * A damaged archive is refused, or read with the same load file:
	 * never read into something else. Damage in entries that are not
	 * read (the class file, applet.xml, the manifest) goes unnoticed,
	 * and that is fine; damage in a component must not.
	 */
	struct ec_cap cap;
	struct ec_error err;
	size_t len, accepted = 0, refused = 0;
	uint8_t *bytes = read_whole(fixture_path(), &len);

	for (size_t at = 0; at < len; at++) {
		bytes[at] ^= 0xFF;
		memset(&err, 0, sizeof(err));
		enum ec_status st = ec_cap_open_buffer(bytes, len, "flipped.cap", &cap, &err);
		if (st == EC_OK) {
			cr_assert_arr_eq(cap.load_file_sha256, fixture_sha256, CRYPTO_SHA256_LEN,
					 "byte %zu flipped gave another load file", at);
			ec_cap_free(&cap);
			accepted++;
		} else {
			cr_assert_eq(st, EC_ERR_FORMAT, "byte %zu: %s", at, err.text);
			refused++;
		}
		bytes[at] ^= 0xFF;
	}
	cr_assert_gt(accepted, 0);
	cr_assert_gt(refused, 0);
	free(bytes);
}

Test(cap_bad, components_with_every_byte_changed)
{
	/*
	 * Every byte of Header, Directory, Applet and Import, the components
	 * the parser decodes, set to a few values: the file is either refused
	 * with a message or read, and a read one still hashes what it holds.
	 */
	static const enum ec_cap_component decoded[] = {
		EC_CAP_HEADER, EC_CAP_DIRECTORY, EC_CAP_APPLET, EC_CAP_IMPORT,
	};
	static const uint8_t values[] = { 0x00, 0x01, 0x05, 0x10, 0x7F, 0x80, 0xFF };
	struct ec_cap *cap = malloc(sizeof(*cap));
	struct ec_error err;
	size_t refused = 0, accepted = 0;

	cr_assert_not_null(cap);
	for (size_t k = 0; k < sizeof(decoded) / sizeof(decoded[0]); k++) {
		struct damage d;
		damage_start(&d, 2);
		enum ec_cap_component tag = decoded[k];
		uint8_t *bytes = d.gen.component[tag];
		for (size_t at = 0; at < d.gen.len[tag]; at++) {
			uint8_t saved = bytes[at];
			for (size_t v = 0; v < sizeof(values); v++) {
				if (values[v] == saved)
					continue;
				bytes[at] = values[v];
				cr_assert_eq(capgen_write_entries(d.entries, d.n, tmp_path("fuzz.cap")), 0);
				memset(&err, 0, sizeof(err));
				enum ec_status st = ec_cap_open(tmp_path("fuzz.cap"), cap, &err);
				if (st == EC_OK) {
					uint8_t hash[CRYPTO_SHA256_LEN];
					crypto_sha256(cap->load_file, cap->load_file_len, hash);
					cr_assert_arr_eq(hash, cap->load_file_sha256, CRYPTO_SHA256_LEN);
					ec_cap_free(cap);
					accepted++;
				} else {
					cr_assert_eq(st, EC_ERR_FORMAT, "%s", err.text);
					cr_assert_gt(strlen(err.text), 0);
					refused++;
				}
			}
			bytes[at] = saved;
		}
		capgen_free(&d.gen);
	}
	cr_assert_gt(refused, 0);
	/* Package version bytes, AID contents and the like are free. */
	cr_assert_gt(accepted, 0);
	free(cap);
}
