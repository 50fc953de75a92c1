/*
 * test_scp.c - GlobalPlatform secure channels: SCP03 (what both roles
 * share in common/scp03.c, the host side in host/scp03_host.c, the card
 * side in vcard/scp03_card.c), SCP02 (host/scp02.c), key diversification
 * (host/gp_keys.c) and the secure channel session over PC/SC
 * (host/gp_session.c).
 *
 * The main vectors are tests/data/gp-scp.txt, read at
 * run time and reproduced line by line: every line of the file must be
 * understood, or the test fails. For each block the host opens a session
 * through ec_gp_open against a fake card behind struct ec_pcsc's raw
 * transmit, which checks every command byte for byte; for the SCP03 blocks
 * that fake card is ecard's own card side (scp03_card_*), whose answers are
 * checked against the file too, and the card side also runs alone on the
 * file's commands. The same published source (osmocom pySim,
 * tests/unittests/test_globalplatform.py) has AES-192 and AES-256 blocks,
 * which are embedded below in the same format and go through the same code.
 *
 * Key diversification and session key derivation are checked against the
 * key check values published in GlobalPlatformPro's TestPlaintextKeys, and
 * against the documented formulas computed here by hand.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "cursor.h"
#include "gp_keys.h"
#include "gp_session.h"
#include "hex.h"
#include "pcsc.h"
#include "scp02.h"
#include "scp03.h"
#include "scp03_card.h"
#include "scp03_host.h"
#include "test_support.h"

/* ---- hex helpers ---- */

static size_t unhex(const char *text, uint8_t *out, size_t cap)
{
	long n = hex_decode(text, out, cap);

	cr_assert(n >= 0, "bad hex in a vector, or too long: %s", text);
	return (size_t)n;
}

/* Hex of a buffer in one of a few rotating static strings, for messages. */
static const char *hexs(const uint8_t *p, size_t n)
{
	static char bufs[4][2 * 600 + 1];
	static int next;
	char *b = bufs[next++ % 4];

	if (n > 600)
		n = 600;
	hex_encode(p, n, b);
	return b;
}

static void check_mem(const uint8_t *got, size_t got_len, const uint8_t *want,
		      size_t want_len, const char *what)
{
	cr_assert(got_len == want_len && (want_len == 0 || memcmp(got, want, want_len) == 0),
		  "%s:\n  got  %s\n  want %s", what, hexs(got, got_len),
		  hexs(want, want_len));
}

static void check_hex(const uint8_t *got, size_t got_len, const char *want_hex,
		      const char *what)
{
	uint8_t want[600];
	size_t n = unhex(want_hex, want, sizeof(want));

	check_mem(got, got_len, want, n, what);
}

/* ---- the vector file ---- */

#define VEC_MAX_BYTES 300
#define VEC_MAX_BLOCKS 16
#define N_CASES 4

struct bytes {
	uint8_t b[VEC_MAX_BYTES];
	size_t len;
	bool present;
};

struct vec_block {
	char name[160];
	int line;
	int scp;		/* 2 or 3, from the block's title */
	struct bytes key_enc, key_mac, key_dek;
	struct bytes init_update_cmd, init_update_rsp, ext_auth_cmd;
	struct bytes get_eid_cmd, get_eid_rsp;
	struct bytes cases[N_CASES];
};

struct vec_file {
	char source[600];
	struct bytes plain_cases[N_CASES];
	struct bytes get_eid_cmd_plain, get_eid_rsp_plain;
	uint16_t get_eid_sw;
	struct bytes aid;
	struct vec_block blocks[VEC_MAX_BLOCKS];
	size_t n_blocks;
};

static void set_bytes(struct bytes *dst, const char *value, const char *source, int line)
{
	char token[2 * VEC_MAX_BYTES + 1];
	size_t n = 0;
	long len;

	while (*value == ' ' || *value == '\t')
		value++;
	while (value[n] != '\0' && value[n] != ' ' && value[n] != '\t' &&
	       value[n] != '\n' && value[n] != '\r') {
		cr_assert_lt(n, sizeof(token) - 1, "%s:%d: value too long", source, line);
		token[n] = value[n];
		n++;
	}
	token[n] = '\0';
	len = hex_decode(token, dst->b, sizeof(dst->b));
	cr_assert(len > 0, "%s:%d: not a hex value: '%s'", source, line, token);
	dst->len = (size_t)len;
	dst->present = true;
}

static struct bytes *block_field(struct vec_block *b, const char *name)
{
	static const char *const case_names[N_CASES] = { "case1", "case2", "case3", "case4" };

	if (strcmp(name, "key_enc") == 0)
		return &b->key_enc;
	if (strcmp(name, "key_mac") == 0)
		return &b->key_mac;
	if (strcmp(name, "key_dek") == 0)
		return &b->key_dek;
	if (strcmp(name, "init_update_cmd") == 0)
		return &b->init_update_cmd;
	if (strcmp(name, "init_update_rsp") == 0)
		return &b->init_update_rsp;
	if (strcmp(name, "ext_auth_cmd") == 0)
		return &b->ext_auth_cmd;
	if (strcmp(name, "get_eid_cmd") == 0)
		return &b->get_eid_cmd;
	if (strcmp(name, "get_eid_rsp") == 0)
		return &b->get_eid_rsp;
	for (int i = 0; i < N_CASES; i++)
		if (strcmp(name, case_names[i]) == 0)
			return &b->cases[i];
	return NULL;
}

static struct bytes *plain_field(struct vec_file *vf, const char *name)
{
	static const char *const case_names[N_CASES] = { "case1", "case2", "case3", "case4" };

	if (strcmp(name, "get_eid_cmd_plain") == 0)
		return &vf->get_eid_cmd_plain;
	if (strcmp(name, "get_eid_rsp_plain") == 0)
		return &vf->get_eid_rsp_plain;
	for (int i = 0; i < N_CASES; i++)
		if (strcmp(name, case_names[i]) == 0)
			return &vf->plain_cases[i];
	return NULL;
}

/* Split "name = value" in place; false when the line has no such shape. */
static bool split_assignment(char *line, char **name, char **value)
{
	char *eq = strchr(line, '=');
	char *end;

	if (eq == NULL)
		return false;
	*eq = '\0';
	*value = eq + 1;
	while (*line == ' ' || *line == '\t')
		line++;
	end = line + strlen(line);
	while (end > line && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if (*line == '\0' || strpbrk(line, " \t") != NULL)
		return false;
	*name = line;
	return true;
}

/* A comment naming the security domain AID: take its long hex word. */
static void comment_aid(struct vec_file *vf, const char *text)
{
	char copy[512];
	char *save = NULL;

	snprintf(copy, sizeof(copy), "%s", text);
	for (char *w = strtok_r(copy, " \t\r\n.,", &save); w != NULL;
	     w = strtok_r(NULL, " \t\r\n.,", &save)) {
		uint8_t tmp[SCP03_AID_MAX + 1];
		size_t len = strlen(w);
		long n;

		if (len < 2 * SCP03_AID_MIN || len % 2 != 0)
			continue;
		n = hex_decode(w, tmp, sizeof(tmp));
		if (n < SCP03_AID_MIN || n > SCP03_AID_MAX)
			continue;
		memcpy(vf->aid.b, tmp, (size_t)n);
		vf->aid.len = (size_t)n;
		vf->aid.present = true;
		return;
	}
}

static void parse_comment(struct vec_file *vf, char *text, int line)
{
	char copy[512];
	char *name, *value, *status;

	if (strstr(text, "AID") != NULL) {
		comment_aid(vf, text);
		return;
	}
	/* "#   case1 = 80F22002": the plain APDUs, before the first block. */
	snprintf(copy, sizeof(copy), "%s", text);
	if (vf->n_blocks > 0 || !split_assignment(copy, &name, &value))
		return;
	struct bytes *field = plain_field(vf, name);
	if (field == NULL)
		return;
	set_bytes(field, value, vf->source, line);
	status = strstr(value, "status");
	if (field == &vf->get_eid_rsp_plain && status != NULL) {
		unsigned sw;

		cr_assert_eq(sscanf(status, "status %4x", &sw), 1,
			     "%s:%d: bad status word", vf->source, line);
		vf->get_eid_sw = (uint16_t)sw;
	}
}

static void parse_vectors(FILE *f, const char *source, struct vec_file *vf)
{
	char buf[1024];
	int line = 0;

	memset(vf, 0, sizeof(*vf));
	snprintf(vf->source, sizeof(vf->source), "%s", source);
	vf->get_eid_sw = 0x9000;
	while (fgets(buf, sizeof(buf), f) != NULL) {
		char *p = buf, *name, *value;
		struct vec_block *b;

		line++;
		cr_assert(strchr(buf, '\n') != NULL || feof(f), "%s:%d: line too long",
			  source, line);
		while (*p == ' ' || *p == '\t')
			p++;
		p[strcspn(p, "\r\n")] = '\0';
		if (*p == '\0')
			continue;
		if (*p == '#') {
			parse_comment(vf, p + 1, line);
			continue;
		}
		if (*p == '[') {
			char *close = strchr(p, ']');

			cr_assert(close != NULL, "%s:%d: unterminated block title", source, line);
			cr_assert_lt(vf->n_blocks, VEC_MAX_BLOCKS, "%s: too many blocks", source);
			b = &vf->blocks[vf->n_blocks++];
			*close = '\0';
			snprintf(b->name, sizeof(b->name), "%s", p + 1);
			b->line = line;
			if (strstr(b->name, "SCP02") != NULL)
				b->scp = 2;
			else if (strstr(b->name, "SCP03") != NULL)
				b->scp = 3;
			else
				cr_assert_fail("%s:%d: block '%s' names no SCP02 or SCP03",
					       source, line, b->name);
			continue;
		}
		cr_assert(split_assignment(p, &name, &value),
			  "%s:%d: not 'name = hex': %s", source, line, p);
		cr_assert_gt(vf->n_blocks, 0, "%s:%d: a value before the first block",
			     source, line);
		b = &vf->blocks[vf->n_blocks - 1];
		struct bytes *field = block_field(b, name);
		cr_assert(field != NULL, "%s:%d: unknown line '%s': the test must learn it",
			  source, line, name);
		cr_assert(!field->present, "%s:%d: %s given twice", source, line, name);
		set_bytes(field, value, source, line);
	}

	/* What every block needs; a block without keys uses the previous one's. */
	cr_assert_gt(vf->n_blocks, 0, "%s: no blocks", source);
	for (int i = 0; i < N_CASES; i++)
		cr_assert(vf->plain_cases[i].present, "%s: plain case%d missing", source, i + 1);
	for (size_t i = 0; i < vf->n_blocks; i++) {
		struct vec_block *b = &vf->blocks[i];

		if (!b->key_enc.present) {
			cr_assert(i > 0 && !b->key_mac.present && !b->key_dek.present,
				  "%s:%d: block '%s' has no (or only some) keys", source,
				  b->line, b->name);
			b->key_enc = vf->blocks[i - 1].key_enc;
			b->key_mac = vf->blocks[i - 1].key_mac;
			b->key_dek = vf->blocks[i - 1].key_dek;
		}
		cr_assert(b->key_mac.present && b->key_dek.present &&
			  b->init_update_cmd.present && b->init_update_rsp.present &&
			  b->ext_auth_cmd.present,
			  "%s:%d: block '%s' is incomplete", source, b->line, b->name);
		for (int c = 0; c < N_CASES; c++)
			cr_assert(b->cases[c].present, "%s:%d: block '%s' lacks case%d",
				  source, b->line, b->name, c + 1);
		cr_assert(b->get_eid_cmd.present == b->get_eid_rsp.present,
			  "%s:%d: block '%s' has half of get_eid", source, b->line, b->name);
		if (b->get_eid_cmd.present)
			cr_assert(vf->get_eid_cmd_plain.present && vf->get_eid_rsp_plain.present,
				  "%s: the plain GET EID is missing", source);
		if (b->scp == 3)
			cr_assert(vf->aid.present && b->get_eid_cmd.present,
				  "%s:%d: SCP03 block '%s' needs the AID and GET EID",
				  source, b->line, b->name);
	}
}

static struct vec_file vectors;

static void load_vector_file(void)
{
	const char *path = TEST_DATA("gp-scp.txt");
	FILE *f = fopen(path, "r");

	cr_assert(f != NULL, "cannot open the test vectors %s: %s", path, strerror(errno));
	parse_vectors(f, path, &vectors);
	fclose(f);
}

/*
 * AES-192 and AES-256 blocks published with the AES-128 ones in osmocom
 * pySim's tests/unittests/test_globalplatform.py (same plain APDUs, same
 * security domain AID), in the format of gp-scp.txt.
 */
static const char pysim_aes192_256[] =
	"#   case1 = 80F22002\n"
	"#   case2 = 80CA006600\n"
	"#   case3 = 80F220020A4F0212345C054F9F70C5\n"
	"#   case4 = 80F28002024F0000\n"
	"#   get_eid_cmd_plain = 80E2910006BF3E035C015A00\n"
	"#   get_eid_rsp_plain = BF3E125A1089882119900000000000000000000005 (status 9000)\n"
	"# security domain AID A0000005591010FFFFFFFF8900000100\n"
	"[SCP03 AES-192, KVN 0x31, security level 0x11]\n"
	"key_enc = 000102030405060708090a0b0c0d0e0f0001020304050607\n"
	"key_mac = 101112131415161718191a1b1c1d1e1f1011121314151617\n"
	"key_dek = 202122232425262728292a2b2c2d2e2f2021222324252627\n"
	"init_update_cmd = 80503100087396430b768b085b00\n"
	"init_update_rsp = 000000000000000000003103708cfc23522ffdbf1e5df5542cac8fd866000003\n"
	"ext_auth_cmd = 84821100102145ed30b146f5db252fb7e624cec244\n"
	"get_eid_cmd = 84e291000ebf3e035c015aff42cf801d14394400\n"
	"get_eid_rsp = bf3e125a1089882119900000000000000000000005162fbd33e04940a9\n"
	"case1 = 84f22002084584e4f6784811ee\n"
	"case2 = 84ca006608937776ebe190fa3000\n"
	"case3 = 84f22002124f0212345c054f9f70c59a52bddf3040368c\n"
	"case4 = 84f280020a4f009804b11411f7393d00\n"
	"[SCP03 AES-192, KVN 0x31, security level 0x03]\n"
	"init_update_cmd = 805031000869c65da8202bf19f00\n"
	"init_update_rsp = 00000000000000000000310370b570a67be38446717729d6dd3d2ec5b1000001\n"
	"ext_auth_cmd = 848203001065df4f1a356a887905466516d9e5b7c1\n"
	"get_eid_cmd = 84e2910018d2c6fb477c5d4afe4fd4d21f17eff10d3578ec1774a12a2d00\n"
	"get_eid_rsp = bf3e125a1089882119900000000000000000000005\n"
	"case1 = 84f2200208964e188f0b1bb697\n"
	"case2 = 84ca006608f0820035a41d3e1800\n"
	"case3 = 84f220021806b076ed452cd1fa84f77f5c08a146aa77a9286757dea791\n"
	"case4 = 84f2800218d06527e39222dce091fabdb8e9b898417a67a6852d3577db00\n"
	"[SCP03 AES-192, KVN 0x31, security level 0x33]\n"
	"init_update_cmd = 80503100089b3f2eef0e8c937400\n"
	"init_update_rsp = 00000000000000000000310370f6bb305a15bae1a68f79fb08212fbed7000002\n"
	"ext_auth_cmd = 84823300109100bc22d58b45b86a26365ce39ff3cf\n"
	"get_eid_cmd = 84e29100188f7f946c84f70d17994bc6e8791251bb1bb1bf02cf8de58900\n"
	"get_eid_rsp = c05176c1b6f72aae50c32cbee63b0e95998928fd4dfb2be9f27ffde8c8476f5909b4805cc4039599\n"
	"case1 = 84f2200208d5d97754b6b3d2ba\n"
	"case2 = 84ca006608516c82b8e30adbeb00\n"
	"case3 = 84f2200218cc247f4761e6944277a4e0d6e32e44025b1e31537e2fc668\n"
	"case4 = 84f2800218ba22b63d509bef5d093b43e5eaed03ed23144ab2d9cb51de00\n"
	"[SCP03 AES-256, KVN 0x32, security level 0x11]\n"
	"key_enc = 000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f\n"
	"key_mac = 101112131415161718191a1b1c1d1e1f101112131415161718191a1b1c1d1e1f\n"
	"key_dek = 202122232425262728292a2b2c2d2e2f202122232425262728292a2b2c2d2e2f\n"
	"init_update_cmd = 805032000811666d57866c6f5400\n"
	"init_update_rsp = 0000000000000000000032037053ea8847efa7674e41498a4d66cf0dee000003\n"
	"ext_auth_cmd = 84821100102f2ad190eff2fafc4908996d1cebd310\n"
	"get_eid_cmd = 84e291000ebf3e035c015af4b680372542b59d00\n"
	"get_eid_rsp = bf3e125a10898821199000000000000000000000058012dd7f01f1c4c1\n"
	"case1 = 84f2200208d618b7da68d5fe52\n"
	"case2 = 84ca0066088f3e055db23ad5e500\n"
	"case3 = 84f22002124f0212345c054f9f70c5b6e15cc42404915e\n"
	"case4 = 84f280020a4f00aa124aa74afe7f7500\n"
	"[SCP03 AES-256, KVN 0x32, security level 0x03]\n"
	"init_update_cmd = 8050320008c6066990fc426e1d00\n"
	"init_update_rsp = 000000000000000000003203708682cd81bbd8919f2de3f2664581f118000001\n"
	"ext_auth_cmd = 848203001077c493b632edadaf865a1e64acc07ce9\n"
	"get_eid_cmd = 84e29100183ddaa60594963befaada3525b492ede23c2ab2c1ce3afe4400\n"
	"get_eid_rsp = bf3e125a1089882119900000000000000000000005\n"
	"case1 = 84f2200208480ddc8e419da38d\n"
	"case2 = 84ca0066083e9d6a6c0b2d732000\n"
	"case3 = 84f22002183ebfef2da8b04af2a85f491f299b76973df76ff08a4031be\n"
	"case4 = 84f2800218783fff80990f5585b1055010ea95094a26e4a8f1ef4b18e100\n"
	"[SCP03 AES-256, KVN 0x32, security level 0x33]\n"
	"init_update_cmd = 805032000897b2055fe58599fd00\n"
	"init_update_rsp = 00000000000000000000320370a8439a22cedf045fa9f1903b2834f26e000002\n"
	"ext_auth_cmd = 8482330010508a0fd959d2e547c6b33154a6be2057\n"
	"get_eid_cmd = 84e29100187a5ef717eaf1e135ae92fe54429d0e465decda65f5fe5aea00\n"
	"get_eid_rsp = ea90dbfa648a67c5eb6abc57f8530b97d0cd5647c5e8732016b55203b078dd2ace7f8bc5d1c1cd99\n"
	"case1 = 84f2200208bcc5c17275545d93\n"
	"case2 = 84ca00660804806aba9d543bb600\n"
	"case3 = 84f2200218717222491556ec81a45f49ce48be33320024801a1c4cb0e0\n"
	"case4 = 84f2800218561f105bccd3a1642904b251ccc1228beb80a82370a8637000\n";

static struct vec_file embedded;

static void load_embedded(void)
{
	FILE *f = fmemopen((void *)pysim_aes192_256, sizeof(pysim_aes192_256) - 1, "r");

	cr_assert(f != NULL, "fmemopen failed");
	parse_vectors(f, "pySim AES-192/256", &embedded);
	fclose(f);
}

/* ---- keys and parameters of a block ---- */

static void block_gp_keys(const struct vec_block *b, struct ec_gp_keys *k)
{
	memset(k, 0, sizeof(*k));
	cr_assert(b->key_enc.len == b->key_mac.len && b->key_mac.len == b->key_dek.len,
		  "%s: keys of different lengths", b->name);
	memcpy(k->enc, b->key_enc.b, b->key_enc.len);
	memcpy(k->mac, b->key_mac.b, b->key_mac.len);
	memcpy(k->dek, b->key_dek.b, b->key_dek.len);
	k->len = b->key_enc.len;
	k->kvn = b->init_update_cmd.b[2];
}

static void block_scp03_keys(const struct vec_block *b, struct scp03_keys *k)
{
	struct ec_gp_keys g;

	block_gp_keys(b, &g);
	memset(k, 0, sizeof(*k));
	memcpy(k->enc, g.enc, sizeof(k->enc));
	memcpy(k->mac, g.mac, sizeof(k->mac));
	memcpy(k->dek, g.dek, sizeof(k->dek));
	k->len = g.len;
	/* The card's own key version is the one its answer names. */
	k->kvn = b->init_update_rsp.b[SCP03_KDD_LEN];
}

/* What the card was configured with, read back from its answer. */
static void block_card_params(const struct vec_file *vf, const struct vec_block *b,
			      struct scp03_card_params *p)
{
	const uint8_t *r = b->init_update_rsp.b;

	cr_assert_eq(b->init_update_rsp.len, (size_t)SCP03_INIT_UPDATE_RESP_SEQ_LEN,
		     "%s: init_update_rsp is not a pseudo-random (i=70) answer", b->name);
	memset(p, 0, sizeof(*p));
	p->kdd = r;
	p->i_param = r[SCP03_KDD_LEN + 2];
	p->seq = ((uint32_t)r[29] << 16) | ((uint32_t)r[30] << 8) | r[31];
	p->aid = vf->aid.b;
	p->aid_len = vf->aid.len;
}

/* ---- the fake card behind struct ec_pcsc ---- */

#define MAX_STEPS 8

struct fake_card {
	const struct vec_file *vf;
	const struct vec_block *blk;
	bool emulate;		/* SCP03: answer with the real card side */
	struct scp03_session card;
	struct scp03_keys keys;
	struct scp03_card_params params;
	const struct bytes *expected[MAX_STEPS];	/* what the host must send */
	const struct bytes *plain[MAX_STEPS];		/* its plain form */
	const char *step_name[MAX_STEPS];
	size_t n_steps;
	size_t step;
	int tamper_step;	/* flip a byte of this step's answer, -1 none */
	size_t tamper_back;	/* which byte: counted back from before the SW */
};

static struct fake_card fake;

static void fake_setup(struct fake_card *fc, const struct vec_file *vf,
		       const struct vec_block *b)
{
	static const char *const case_names[N_CASES] = { "case1", "case2", "case3", "case4" };

	memset(fc, 0, sizeof(*fc));
	fc->vf = vf;
	fc->blk = b;
	fc->tamper_step = -1;
	fc->emulate = b->scp == 3;
	if (fc->emulate) {
		block_scp03_keys(b, &fc->keys);
		block_card_params(vf, b, &fc->params);
	}
	fc->step_name[fc->n_steps] = "init_update_cmd";
	fc->expected[fc->n_steps++] = &b->init_update_cmd;
	fc->step_name[fc->n_steps] = "ext_auth_cmd";
	fc->expected[fc->n_steps++] = &b->ext_auth_cmd;
	if (b->get_eid_cmd.present) {
		fc->step_name[fc->n_steps] = "get_eid_cmd";
		fc->plain[fc->n_steps] = &vf->get_eid_cmd_plain;
		fc->expected[fc->n_steps++] = &b->get_eid_cmd;
	}
	for (int i = 0; i < N_CASES; i++) {
		fc->step_name[fc->n_steps] = case_names[i];
		fc->plain[fc->n_steps] = &vf->plain_cases[i];
		fc->expected[fc->n_steps++] = &b->cases[i];
	}
}

static size_t put_sw(uint8_t *resp, size_t len, uint16_t sw)
{
	resp[len] = (uint8_t)(sw >> 8);
	resp[len + 1] = (uint8_t)sw;
	return len + 2;
}

/* The emulated card's answer to the command of this step. */
static size_t emulated_answer(struct fake_card *fc, size_t step, const uint8_t *cmd,
			      size_t cmd_len, uint8_t *resp, size_t cap)
{
	const struct vec_block *b = fc->blk;
	char what[256];
	uint8_t plain[SCP03_APDU_MAX];
	size_t n = 0;
	enum scp03_status st;

	snprintf(what, sizeof(what), "[%s] card side, %s", b->name, fc->step_name[step]);
	if (step == 0) {
		st = scp03_card_initialize_update(&fc->card, &fc->keys, &fc->params, cmd,
						  cmd_len, resp, cap, &n);
		cr_assert_eq(st, SCP03_OK, "%s: %s", what, scp03_strerror(st));
		check_mem(resp, n, b->init_update_rsp.b, b->init_update_rsp.len, what);
		return put_sw(resp, n, 0x9000);
	}
	if (step == 1) {
		st = scp03_card_external_authenticate(&fc->card, cmd, cmd_len);
		cr_assert_eq(st, SCP03_OK, "%s: %s", what, scp03_strerror(st));
		return put_sw(resp, 0, 0x9000);
	}
	st = scp03_card_unwrap_command(&fc->card, cmd, cmd_len, plain, sizeof(plain), &n);
	cr_assert_eq(st, SCP03_OK, "%s: unwrap: %s", what, scp03_strerror(st));
	check_mem(plain, n, fc->plain[step]->b, fc->plain[step]->len, what);
	if (fc->expected[step] == &b->get_eid_cmd) {
		st = scp03_card_wrap_response(&fc->card, fc->vf->get_eid_rsp_plain.b,
					      fc->vf->get_eid_rsp_plain.len,
					      fc->vf->get_eid_sw, resp, cap, &n);
		cr_assert_eq(st, SCP03_OK, "%s: wrap: %s", what, scp03_strerror(st));
		cr_assert_eq(load_be16(resp + n - 2), fc->vf->get_eid_sw);
		check_mem(resp, n - 2, b->get_eid_rsp.b, b->get_eid_rsp.len,
			  "card side, get_eid_rsp");
		return n;
	}
	st = scp03_card_wrap_response(&fc->card, NULL, 0, 0x9000, resp, cap, &n);
	cr_assert_eq(st, SCP03_OK, "%s: wrap: %s", what, scp03_strerror(st));
	return n;
}

/* The scripted answer (SCP02, and negative tests): straight from the file. */
static size_t scripted_answer(const struct fake_card *fc, size_t step, uint8_t *resp)
{
	const struct vec_block *b = fc->blk;

	if (step == 0) {
		memcpy(resp, b->init_update_rsp.b, b->init_update_rsp.len);
		return put_sw(resp, b->init_update_rsp.len, 0x9000);
	}
	if (fc->expected[step] == &b->get_eid_cmd) {
		memcpy(resp, b->get_eid_rsp.b, b->get_eid_rsp.len);
		return put_sw(resp, b->get_eid_rsp.len, fc->vf->get_eid_sw);
	}
	return put_sw(resp, 0, 0x9000);
}

static long fake_transmit(struct ec_pcsc *pc, const uint8_t *cmd, size_t cmd_len,
			  uint8_t *resp, size_t *resp_len)
{
	struct fake_card *fc = pc->raw_arg;
	uint8_t answer[600];
	char what[256];
	size_t step = fc->step, n;

	cr_assert_lt(step, fc->n_steps, "[%s] the host sent more commands than the "
		     "vectors have: %s", fc->blk->name, hexs(cmd, cmd_len));
	snprintf(what, sizeof(what), "[%s] host side, %s", fc->blk->name,
		 fc->step_name[step]);
	check_mem(cmd, cmd_len, fc->expected[step]->b, fc->expected[step]->len, what);
	if (fc->emulate)
		n = emulated_answer(fc, step, cmd, cmd_len, answer, sizeof(answer));
	else
		n = scripted_answer(fc, step, answer);
	if ((int)step == fc->tamper_step) {
		cr_assert_gt(n, 2 + fc->tamper_back);
		answer[n - 3 - fc->tamper_back] ^= 0x01;
	}
	fc->step++;
	cr_assert_leq(n, *resp_len);
	memcpy(resp, answer, n);
	*resp_len = n;
	return SCARD_S_SUCCESS;
}

static void fake_pcsc(struct ec_pcsc *pc, struct fake_card *fc)
{
	ec_pcsc_init(pc, NULL);
	pc->raw_transmit = fake_transmit;
	pc->raw_arg = fc;
}

/* Options that reproduce a block: its host challenge, key version, level. */
static void block_options(const struct vec_block *b, struct ec_gp_options *opt)
{
	ec_gp_options_init(opt);
	opt->host_challenge = b->init_update_cmd.b + 5;
	opt->level = b->ext_auth_cmd.b[2];
}

/* ---- the vectors, host side ---- */

static void run_host_side(const struct vec_file *vf, const struct vec_block *b,
			  enum ec_gp_scp scp, uint8_t scp02_i)
{
	struct ec_gp_session s;
	struct ec_gp_options opt;
	struct ec_gp_keys keys;
	struct ec_pcsc pc;
	struct ec_error err = { 0 };
	uint8_t resp[600];
	size_t resp_len;
	enum ec_status st;

	memset(&s, 0, sizeof(s));
	fake_setup(&fake, vf, b);
	fake_pcsc(&pc, &fake);
	block_gp_keys(b, &keys);
	block_options(b, &opt);
	opt.scp = scp;
	opt.scp02_i = scp02_i;

	st = ec_gp_open(&s, &pc, &keys, &opt, &err);
	cr_assert_eq(st, EC_OK, "[%s] open: %s", b->name, err.text);
	cr_assert(ec_gp_is_open(&s));
	cr_assert_eq((int)s.scp, b->scp, "[%s] the session picked SCP%02d", b->name, (int)s.scp);
	cr_assert_eq(s.level, b->ext_auth_cmd.b[2]);

	if (b->get_eid_cmd.present) {
		st = ec_gp_transmit(&s, vf->get_eid_cmd_plain.b, vf->get_eid_cmd_plain.len,
				    resp, sizeof(resp), &resp_len, &err);
		cr_assert_eq(st, EC_OK, "[%s] GET EID: %s", b->name, err.text);
		cr_assert_eq(ec_response_sw(resp, resp_len), vf->get_eid_sw);
		check_mem(resp, resp_len - 2, vf->get_eid_rsp_plain.b,
			  vf->get_eid_rsp_plain.len, "host side, get_eid_rsp unwrapped");
	}
	for (int i = 0; i < N_CASES; i++) {
		st = ec_gp_transmit(&s, vf->plain_cases[i].b, vf->plain_cases[i].len,
				    resp, sizeof(resp), &resp_len, &err);
		cr_assert_eq(st, EC_OK, "[%s] case%d: %s", b->name, i + 1, err.text);
		check_hex(resp, resp_len, "9000", "answer to a case");
	}
	cr_assert_eq(fake.step, fake.n_steps, "[%s] the host sent %zu of %zu commands",
		     b->name, fake.step, fake.n_steps);
	ec_gp_close(&s);
	cr_assert(!ec_gp_is_open(&s));
}

Test(vectors, host_side_every_block)
{
	load_vector_file();
	for (size_t i = 0; i < vectors.n_blocks; i++)
		run_host_side(&vectors, &vectors.blocks[i], EC_GP_SCP_ANY, 0x55);
}

Test(vectors, host_side_with_the_protocol_forced)
{
	load_vector_file();
	for (size_t i = 0; i < vectors.n_blocks; i++) {
		const struct vec_block *b = &vectors.blocks[i];

		run_host_side(&vectors, b, b->scp == 2 ? EC_GP_SCP02 : EC_GP_SCP03, 0x15);
	}
}

Test(vectors, host_side_aes192_aes256)
{
	load_embedded();
	cr_assert_eq(embedded.n_blocks, 6);
	for (size_t i = 0; i < embedded.n_blocks; i++)
		run_host_side(&embedded, &embedded.blocks[i], EC_GP_SCP03, 0x55);
}

/* ---- the vectors, card side alone ---- */

static void open_card(const struct vec_file *vf, const struct vec_block *b,
		      struct scp03_session *card)
{
	struct scp03_keys keys;
	struct scp03_card_params params;
	uint8_t out[64];
	size_t n = 0;
	enum scp03_status st;

	block_scp03_keys(b, &keys);
	block_card_params(vf, b, &params);
	st = scp03_card_initialize_update(card, &keys, &params, b->init_update_cmd.b,
					  b->init_update_cmd.len, out, sizeof(out), &n);
	cr_assert_eq(st, SCP03_OK, "[%s] INITIALIZE UPDATE: %s", b->name, scp03_strerror(st));
	check_mem(out, n, b->init_update_rsp.b, b->init_update_rsp.len, "card init_update_rsp");
	st = scp03_card_external_authenticate(card, b->ext_auth_cmd.b, b->ext_auth_cmd.len);
	cr_assert_eq(st, SCP03_OK, "[%s] EXTERNAL AUTHENTICATE: %s", b->name,
		     scp03_strerror(st));
	cr_assert(scp03_is_open(card));
	cr_assert_eq(card->level, b->ext_auth_cmd.b[2]);
}

static void run_card_side(const struct vec_file *vf, const struct vec_block *b)
{
	struct scp03_session card;
	uint8_t out[600];
	size_t n = 0;
	enum scp03_status st;

	memset(&card, 0, sizeof(card));
	open_card(vf, b, &card);

	st = scp03_card_unwrap_command(&card, b->get_eid_cmd.b, b->get_eid_cmd.len, out,
				       sizeof(out), &n);
	cr_assert_eq(st, SCP03_OK, "[%s] get_eid_cmd: %s", b->name, scp03_strerror(st));
	check_mem(out, n, vf->get_eid_cmd_plain.b, vf->get_eid_cmd_plain.len,
		  "card unwraps get_eid_cmd");
	st = scp03_card_wrap_response(&card, vf->get_eid_rsp_plain.b,
				      vf->get_eid_rsp_plain.len, vf->get_eid_sw, out,
				      sizeof(out), &n);
	cr_assert_eq(st, SCP03_OK);
	cr_assert_eq(load_be16(out + n - 2), vf->get_eid_sw);
	check_mem(out, n - 2, b->get_eid_rsp.b, b->get_eid_rsp.len, "card wraps get_eid_rsp");

	for (int i = 0; i < N_CASES; i++) {
		st = scp03_card_unwrap_command(&card, b->cases[i].b, b->cases[i].len, out,
					       sizeof(out), &n);
		cr_assert_eq(st, SCP03_OK, "[%s] case%d: %s", b->name, i + 1,
			     scp03_strerror(st));
		check_mem(out, n, vf->plain_cases[i].b, vf->plain_cases[i].len,
			  "card unwraps a case");
		st = scp03_card_wrap_response(&card, NULL, 0, 0x9000, out, sizeof(out), &n);
		cr_assert_eq(st, SCP03_OK);
	}
	scp03_close(&card);
	cr_assert_eq(card.state, SCP03_CLOSED);
}

Test(vectors, card_side_every_scp03_block)
{
	size_t done = 0;

	load_vector_file();
	for (size_t i = 0; i < vectors.n_blocks; i++) {
		if (vectors.blocks[i].scp != 3)
			continue;
		run_card_side(&vectors, &vectors.blocks[i]);
		done++;
	}
	cr_assert_gt(done, 0, "no SCP03 block in the vector file");
}

Test(vectors, card_side_aes192_aes256)
{
	load_embedded();
	for (size_t i = 0; i < embedded.n_blocks; i++)
		run_card_side(&embedded, &embedded.blocks[i]);
}

/* The pseudo-random challenge by itself, and the sequence counter in it. */
Test(vectors, pseudo_random_card_challenge)
{
	load_vector_file();
	for (size_t i = 0; i < vectors.n_blocks; i++) {
		const struct vec_block *b = &vectors.blocks[i];
		struct scp03_card_params p;
		struct scp03_keys keys;
		uint8_t challenge[SCP03_CHALLENGE_LEN];

		if (b->scp != 3)
			continue;
		block_scp03_keys(b, &keys);
		block_card_params(&vectors, b, &p);
		cr_assert_eq(scp03_pseudo_random_challenge(&keys, p.seq, p.aid, p.aid_len,
							   challenge), SCP03_OK);
		check_mem(challenge, sizeof(challenge), b->init_update_rsp.b + 13, 8,
			  "pseudo-random card challenge");
		cr_assert_eq(scp03_pseudo_random_challenge(&keys, p.seq + 1, p.aid,
							   p.aid_len, challenge), SCP03_OK);
		cr_assert(memcmp(challenge, b->init_update_rsp.b + 13, 8) != 0,
			  "the next counter value gives the same challenge");
	}
}

/* ---- negative tests ---- */

static const struct vec_block *find_block(int scp, uint8_t level)
{
	load_vector_file();
	for (size_t i = 0; i < vectors.n_blocks; i++) {
		const struct vec_block *b = &vectors.blocks[i];

		if (b->scp == scp && b->ext_auth_cmd.b[2] == level)
			return b;
	}
	cr_assert_fail("no SCP%02d block with level %02X in the vectors", scp, level);
	return NULL;
}

static void wrong_keys(int scp, uint8_t level)
{
	const struct vec_block *b = find_block(scp, level);
	struct ec_gp_session s;
	struct ec_gp_options opt;
	struct ec_gp_keys keys;
	struct ec_pcsc pc;
	struct ec_error err = { 0 };

	memset(&s, 0, sizeof(s));
	fake_setup(&fake, &vectors, b);
	fake.emulate = false;		/* the card answers from the file */
	fake_pcsc(&pc, &fake);
	block_gp_keys(b, &keys);
	/* SCP02 makes the card cryptogram with S-ENC, SCP03 with S-MAC. */
	keys.enc[5] ^= 0x10;
	keys.mac[5] ^= 0x10;
	keys.dek[5] ^= 0x10;
	block_options(b, &opt);
	cr_assert_eq(ec_gp_open(&s, &pc, &keys, &opt, &err), EC_ERR_CHECK);
	cr_assert_eq(err.status, EC_ERR_CHECK);
	cr_assert(strstr(err.text, "the card's cryptogram does not match: wrong keys?") != NULL,
		  "message: %s", err.text);
	cr_assert(!ec_gp_is_open(&s));
	cr_assert_eq(fake.step, 1, "EXTERNAL AUTHENTICATE was sent after a bad cryptogram");
	cr_assert_eq(ec_gp_transmit(&s, vectors.plain_cases[0].b, vectors.plain_cases[0].len,
				    (uint8_t[8]){ 0 }, 8, &(size_t){ 0 }, &err), EC_ERR_ARG);
}

Test(negative, wrong_keys_scp03_card_cryptogram_mismatch)
{
	wrong_keys(3, 0x11);
}

Test(negative, wrong_keys_scp02_card_cryptogram_mismatch)
{
	wrong_keys(2, 0x01);
}

/* The card checks the host cryptogram and the C-MAC of EXTERNAL AUTHENTICATE. */
Test(negative, card_rejects_a_bad_external_authenticate)
{
	const struct vec_block *b = find_block(3, 0x03);
	struct scp03_session card;
	struct scp03_keys keys;
	struct scp03_card_params params;
	uint8_t out[64], ea[32];
	size_t n;

	block_scp03_keys(b, &keys);
	block_card_params(&vectors, b, &params);
	for (int which = 0; which < 2; which++) {
		memset(&card, 0, sizeof(card));
		cr_assert_eq(scp03_card_initialize_update(&card, &keys, &params,
							  b->init_update_cmd.b,
							  b->init_update_cmd.len, out,
							  sizeof(out), &n), SCP03_OK);
		memcpy(ea, b->ext_auth_cmd.b, b->ext_auth_cmd.len);
		ea[which == 0 ? 6 : 5 + 8 + 3] ^= 0x80;	/* cryptogram, then MAC */
		cr_assert_eq(scp03_card_external_authenticate(&card, ea, b->ext_auth_cmd.len),
			     which == 0 ? SCP03_ERR_CRYPTOGRAM : SCP03_ERR_MAC);
		cr_assert_eq(card.state, SCP03_ABORTED);
		/* An aborted session accepts nothing, not even the right command. */
		cr_assert_eq(scp03_card_external_authenticate(&card, b->ext_auth_cmd.b,
							      b->ext_auth_cmd.len),
			     SCP03_ERR_STATE);
		cr_assert_eq(scp03_card_unwrap_command(&card, b->get_eid_cmd.b,
						       b->get_eid_cmd.len, out, sizeof(out),
						       &n), SCP03_ERR_STATE);
	}
}

static void flipped_command_mac(uint8_t level, size_t back)
{
	const struct vec_block *b = find_block(3, level);
	struct scp03_session card;
	uint8_t cmd[SCP03_APDU_MAX], out[SCP03_APDU_MAX];
	size_t n, len = b->get_eid_cmd.len;

	memset(&card, 0, sizeof(card));
	open_card(&vectors, b, &card);
	memcpy(cmd, b->get_eid_cmd.b, len);
	/* get_eid_cmd ends with Le: the MAC's last byte is just before it. */
	cmd[len - 2 - back] ^= 0x01;
	cr_assert_eq(scp03_card_unwrap_command(&card, cmd, len, out, sizeof(out), &n),
		     SCP03_ERR_MAC, "[%s] a flipped byte %zu from the end went through",
		     b->name, back + 2);
	cr_assert_eq(card.state, SCP03_ABORTED, "the card side must report the failure");
	/* The genuine command cannot follow: the session is over. */
	cr_assert_eq(scp03_card_unwrap_command(&card, b->get_eid_cmd.b, len, out,
					       sizeof(out), &n), SCP03_ERR_STATE);
	cr_assert_eq(scp03_card_wrap_response(&card, NULL, 0, 0x9000, out, sizeof(out), &n),
		     SCP03_ERR_STATE);
	/* A new INITIALIZE UPDATE starts afresh. */
	open_card(&vectors, b, &card);
	cr_assert_eq(scp03_card_unwrap_command(&card, b->get_eid_cmd.b, len, out,
					       sizeof(out), &n), SCP03_OK);
}

Test(negative, flipped_c_mac_byte_is_refused_by_the_card)
{
	flipped_command_mac(0x11, 0);
	flipped_command_mac(0x11, 7);
	flipped_command_mac(0x03, 0);
	flipped_command_mac(0x33, 3);
}

Test(negative, flipped_ciphertext_byte_is_refused_by_the_card)
{
	flipped_command_mac(0x03, 8);	/* last byte of the encrypted data */
	flipped_command_mac(0x33, 20);
}

Test(negative, replayed_command_fails_the_mac_chain)
{
	const struct vec_block *b = find_block(3, 0x11);
	struct scp03_session card;
	uint8_t out[SCP03_APDU_MAX];
	size_t n;

	memset(&card, 0, sizeof(card));
	open_card(&vectors, b, &card);
	cr_assert_eq(scp03_card_unwrap_command(&card, b->get_eid_cmd.b, b->get_eid_cmd.len,
					       out, sizeof(out), &n), SCP03_OK);
	cr_assert_eq(scp03_card_wrap_response(&card, NULL, 0, 0x9000, out, sizeof(out), &n),
		     SCP03_OK);
	cr_assert_eq(scp03_card_unwrap_command(&card, b->cases[0].b, b->cases[0].len, out,
					       sizeof(out), &n), SCP03_OK);
	/* The same command again: its C-MAC chained from the previous one. */
	cr_assert_eq(scp03_card_unwrap_command(&card, b->cases[0].b, b->cases[0].len, out,
					       sizeof(out), &n), SCP03_ERR_MAC);
	cr_assert_eq(card.state, SCP03_ABORTED);

	/* Skipping a command breaks the chain just as well. */
	memset(&card, 0, sizeof(card));
	open_card(&vectors, b, &card);
	cr_assert_eq(scp03_card_unwrap_command(&card, b->cases[0].b, b->cases[0].len, out,
					       sizeof(out), &n), SCP03_ERR_MAC);

	/* And a whole session replayed gets a new card challenge, so its
	 * EXTERNAL AUTHENTICATE no longer fits. */
	struct scp03_keys keys;
	struct scp03_card_params params;

	memset(&card, 0, sizeof(card));
	block_scp03_keys(b, &keys);
	block_card_params(&vectors, b, &params);
	params.seq++;
	cr_assert_eq(scp03_card_initialize_update(&card, &keys, &params, b->init_update_cmd.b,
						  b->init_update_cmd.len, out, sizeof(out), &n),
		     SCP03_OK);
	cr_assert_eq(scp03_card_external_authenticate(&card, b->ext_auth_cmd.b,
						      b->ext_auth_cmd.len),
		     SCP03_ERR_CRYPTOGRAM);
}

/* A tampered answer fails the host's R-MAC check and closes the session. */
static void tampered_answer(uint8_t level, size_t back)
{
	const struct vec_block *b = find_block(3, level);
	struct ec_gp_session s;
	struct ec_gp_options opt;
	struct ec_gp_keys keys;
	struct ec_pcsc pc;
	struct ec_error err = { 0 };
	uint8_t resp[600];
	size_t resp_len;

	memset(&s, 0, sizeof(s));
	fake_setup(&fake, &vectors, b);
	fake.tamper_step = 2;		/* the answer to GET EID */
	fake.tamper_back = back;
	fake_pcsc(&pc, &fake);
	block_gp_keys(b, &keys);
	block_options(b, &opt);
	cr_assert_eq(ec_gp_open(&s, &pc, &keys, &opt, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_gp_transmit(&s, vectors.get_eid_cmd_plain.b,
				    vectors.get_eid_cmd_plain.len, resp, sizeof(resp),
				    &resp_len, &err), EC_ERR_CHECK);
	cr_assert(strstr(err.text, "R-MAC") != NULL, "message: %s", err.text);
	cr_assert(!ec_gp_is_open(&s));
	cr_assert_eq(ec_gp_transmit(&s, vectors.plain_cases[0].b, vectors.plain_cases[0].len,
				    resp, sizeof(resp), &resp_len, &err), EC_ERR_ARG);
	cr_assert(strstr(err.text, "not open") != NULL, "message: %s", err.text);
}

Test(negative, flipped_r_mac_byte_is_refused_by_the_host)
{
	tampered_answer(0x11, 0);
	tampered_answer(0x33, 5);
}

Test(negative, flipped_response_data_is_refused_by_the_host)
{
	tampered_answer(0x11, 8);
	tampered_answer(0x33, 30);
}

Test(negative, forced_protocol_refuses_the_other_one)
{
	const struct vec_block *b = find_block(3, 0x11);
	struct ec_gp_session s;
	struct ec_gp_options opt;
	struct ec_gp_keys keys;
	struct ec_pcsc pc;
	struct ec_error err = { 0 };

	memset(&s, 0, sizeof(s));
	fake_setup(&fake, &vectors, b);
	fake.emulate = false;
	fake_pcsc(&pc, &fake);
	block_gp_keys(b, &keys);
	block_options(b, &opt);
	opt.scp = EC_GP_SCP02;
	cr_assert_eq(ec_gp_open(&s, &pc, &keys, &opt, &err), EC_ERR_CHECK);
	cr_assert(strstr(err.text, "SCP03") != NULL, "message: %s", err.text);
	cr_assert(!ec_gp_is_open(&s));
}

Test(negative, card_refuses_other_key_version_and_unsupported_levels)
{
	const struct vec_block *b = find_block(3, 0x11);
	struct scp03_session card, host;
	struct scp03_keys keys;
	struct scp03_card_params params;
	struct scp03_init_response rsp;
	uint8_t cmd[SCP03_APDU_MAX], out[64], challenge[8], msg[16 + 5 + 8], mac[16];
	size_t n;

	memset(&card, 0, sizeof(card));
	memset(&host, 0, sizeof(host));
	memcpy(challenge, b->init_update_cmd.b + 5, sizeof(challenge));
	block_scp03_keys(b, &keys);
	block_card_params(&vectors, b, &params);
	memcpy(cmd, b->init_update_cmd.b, b->init_update_cmd.len);
	cmd[2] = 0x31;
	cr_assert_eq(scp03_card_initialize_update(&card, &keys, &params, cmd,
						  b->init_update_cmd.len, out, sizeof(out), &n),
		     SCP03_ERR_NO_KEY);
	cmd[2] = 0x00;		/* "the first available key set" */
	cr_assert_eq(scp03_card_initialize_update(&card, &keys, &params, cmd,
						  b->init_update_cmd.len, out, sizeof(out), &n),
		     SCP03_OK);

	/* A card with i = 10 (no R-MAC): the host may not ask for 11 or 33. */
	params.i_param = 0x10;
	cr_assert_eq(scp03_host_initialize_update(&host, 0x80, 0x30, challenge, cmd,
						  sizeof(cmd), &n), SCP03_OK);
	cr_assert_eq(scp03_card_initialize_update(&card, &keys, &params, cmd, n, out,
						  sizeof(out), &n), SCP03_OK);
	cr_assert_eq(scp03_parse_initialize_update_response(out, n, &rsp), SCP03_OK);
	cr_assert_eq(rsp.i_param, 0x10);
	cr_assert_eq(scp03_host_check_card(&host, &keys, &rsp), SCP03_OK);
	cr_assert_eq(scp03_host_external_authenticate(&host, 0x11, cmd, sizeof(cmd), &n),
		     SCP03_ERR_LEVEL);
	cr_assert_eq(scp03_host_external_authenticate(&host, 0x02, cmd, sizeof(cmd), &n),
		     SCP03_ERR_LEVEL);
	cr_assert_eq(scp03_host_external_authenticate(&host, 0x03, cmd, sizeof(cmd), &n),
		     SCP03_OK);
	/* A host that asks anyway, with a valid C-MAC made here by hand over
	 * 16 x 00 || 84 82 11 00 10 || host cryptogram, is refused by the card. */
	cmd[2] = 0x11;
	memset(msg, 0, 16);
	memcpy(msg + 16, cmd, 5 + 8);
	cr_assert_eq(crypto_aes_cmac(host.s_mac, host.key_len, msg, sizeof(msg), mac), 0);
	memcpy(cmd + 13, mac, 8);
	cr_assert_eq(scp03_card_external_authenticate(&card, cmd, n), SCP03_ERR_LEVEL);
	cr_assert_eq(card.state, SCP03_ABORTED);
}

/* ---- host and card together, beyond the vectors ---- */

static void random_bytes(uint8_t *p, size_t n)
{
	cr_assert_eq(crypto_random(p, n), 0);
}

/* Open a host and a card session on random keys of keylen bytes. */
static void pair_open(struct scp03_session *host, struct scp03_session *card,
		      size_t keylen, uint8_t i_param, uint8_t level)
{
	static const uint8_t aid[8] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };
	uint8_t kdd[SCP03_KDD_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	struct scp03_card_params params = {
		.kdd = kdd, .i_param = i_param, .seq = 41, .aid = aid, .aid_len = sizeof(aid),
	};
	struct scp03_keys keys = { .len = keylen, .kvn = 0x30 };
	struct scp03_init_response rsp;
	uint8_t challenge[8], cmd[SCP03_APDU_MAX], out[64];
	size_t n, m;

	random_bytes(keys.enc, keylen);
	random_bytes(keys.mac, keylen);
	random_bytes(keys.dek, keylen);
	random_bytes(challenge, sizeof(challenge));
	memset(host, 0, sizeof(*host));
	memset(card, 0, sizeof(*card));
	cr_assert_eq(scp03_host_initialize_update(host, 0x80, 0x30, challenge, cmd,
						  sizeof(cmd), &n), SCP03_OK);
	cr_assert_eq(scp03_card_initialize_update(card, &keys, &params, cmd, n, out,
						  sizeof(out), &m), SCP03_OK);
	cr_assert_eq(scp03_parse_initialize_update_response(out, m, &rsp), SCP03_OK);
	cr_assert_eq(rsp.has_seq, (i_param & SCP03_I_PSEUDO_RANDOM) != 0);
	cr_assert_eq(scp03_host_check_card(host, &keys, &rsp), SCP03_OK);
	cr_assert_eq(scp03_host_external_authenticate(host, level, cmd, sizeof(cmd), &n),
		     SCP03_OK);
	cr_assert_eq(scp03_card_external_authenticate(card, cmd, n), SCP03_OK);
	crypto_wipe(&keys, sizeof(keys));
}

/* One command and its answer through both ends, checked on the way. */
static void pair_exchange(struct scp03_session *host, struct scp03_session *card,
			  const uint8_t *cmd, size_t cmd_len, const uint8_t *data,
			  size_t data_len, uint16_t sw)
{
	uint8_t wire[SCP03_APDU_MAX], plain[SCP03_APDU_MAX];
	uint8_t rwire[300], rplain[300];
	size_t n, m, r, q;

	cr_assert_eq(scp03_host_wrap_command(host, cmd, cmd_len, wire, sizeof(wire), &n),
		     SCP03_OK, "level %02X, Lc %zu", host->level, cmd_len);
	cr_assert_eq(scp03_card_unwrap_command(card, wire, n, plain, sizeof(plain), &m),
		     SCP03_OK, "level %02X, Lc %zu", host->level, cmd_len);
	/* Le comes back as 00 when the command had one. */
	if (cmd_len == 5 || (cmd_len > 5 && cmd_len == 6u + cmd[4])) {
		cr_assert_eq(m, cmd_len);
		cr_assert_eq(plain[m - 1], 0x00);
		cr_assert(memcmp(plain, cmd, cmd_len - 1) == 0);
	} else {
		check_mem(plain, m, cmd, cmd_len, "round trip of a command");
	}
	cr_assert_eq(scp03_card_wrap_response(card, data, data_len, sw, rwire, sizeof(rwire),
					      &r), SCP03_OK);
	cr_assert_eq(scp03_host_unwrap_response(host, rwire, r, rplain, sizeof(rplain), &q),
		     SCP03_OK, "level %02X, answer of %zu bytes", host->level, data_len);
	cr_assert_eq(load_be16(rplain + q - 2), sw);
	if ((host->level & SCP03_LEVEL_R_MAC) && sw != 0x9000 && (sw >> 8) != 0x62 &&
	    (sw >> 8) != 0x63)
		cr_assert_eq(q, 2, "an error answer under R-MAC carries no data");
	else
		check_mem(rplain, q - 2, data, data_len, "round trip of an answer");
}

Test(roundtrip, every_level_every_key_length)
{
	static const uint8_t levels[] = { 0x00, 0x01, 0x03, 0x11, 0x13, 0x33 };
	static const size_t lengths[] = { 0, 1, 15, 16, 17, 200, 239 };
	static const size_t keylens[] = { 16, 24, 32 };

	for (size_t k = 0; k < 3; k++) {
		for (size_t l = 0; l < sizeof(levels); l++) {
			struct scp03_session host, card;
			uint8_t i_param = (l % 2 == 0) ? 0x70 : 0x60;

			pair_open(&host, &card, keylens[k], i_param, levels[l]);
			for (size_t j = 0; j < sizeof(lengths) / sizeof(lengths[0]); j++) {
				uint8_t cmd[SCP03_APDU_MAX], data[240];
				size_t lc = lengths[j], len = 4;

				cmd[0] = 0x80;
				cmd[1] = 0xE2;
				cmd[2] = 0x00;
				cmd[3] = (uint8_t)j;
				if (lc > 0) {
					cmd[len++] = (uint8_t)lc;
					random_bytes(cmd + len, lc);
					len += lc;
				}
				if (j % 2 == 0)
					cmd[len++] = 0x00;
				random_bytes(data, lengths[j]);
				pair_exchange(&host, &card, cmd, len, data, lengths[j],
					      j == 3 ? 0x6310 : 0x9000);
				pair_exchange(&host, &card, cmd, len, NULL, 0, 0x6A82);
			}
			cr_assert_eq(host.enc_counter, card.enc_counter);
			scp03_close(&host);
			scp03_close(&card);
		}
	}
}

Test(roundtrip, logical_channels_keep_their_class)
{
	struct scp03_session host, card;
	uint8_t wire[SCP03_APDU_MAX], plain[SCP03_APDU_MAX];
	size_t n, m;
	/* channel 1 (81 -> 85) and channel 5 (C1 -> E1), interindustry 02 -> 06 */
	static const uint8_t classes[][2] = { { 0x81, 0x85 }, { 0xC1, 0xE1 }, { 0x02, 0x06 } };

	pair_open(&host, &card, 16, 0x70, 0x33);
	for (size_t i = 0; i < 3; i++) {
		uint8_t cmd[] = { classes[i][0], 0xCA, 0x00, 0x66, 0x00 };

		cr_assert_eq(scp03_host_wrap_command(&host, cmd, sizeof(cmd), wire, sizeof(wire),
						     &n), SCP03_OK);
		cr_assert_eq(wire[0], classes[i][1]);
		cr_assert_eq(scp03_card_unwrap_command(&card, wire, n, plain, sizeof(plain), &m),
			     SCP03_OK);
		check_mem(plain, m, cmd, sizeof(cmd), "plain command on a channel");
	}
	/* A command already marked as secured is the caller's mistake. */
	uint8_t secured[] = { 0x84, 0xCA, 0x00, 0x66, 0x00 };
	cr_assert_eq(scp03_host_wrap_command(&host, secured, sizeof(secured), wire,
					     sizeof(wire), &n), SCP03_ERR_FORMAT);
	cr_assert(scp03_is_open(&host));
}

Test(roundtrip, commands_that_cannot_be_secured_change_nothing)
{
	struct scp03_session host, card;
	uint8_t cmd[SCP03_APDU_MAX] = { 0x80, 0xE2, 0x00, 0x00, 240 };
	uint8_t wire[SCP03_APDU_MAX], plain[SCP03_APDU_MAX], chain[16];
	size_t n, m;

	pair_open(&host, &card, 16, 0x70, 0x33);
	memcpy(chain, host.mac_chain, sizeof(chain));
	/* 240 bytes pad to 256, more than a short Lc holds with the MAC. */
	cr_assert_eq(scp03_host_wrap_command(&host, cmd, 5 + 240, wire, sizeof(wire), &n),
		     SCP03_ERR_LENGTH);
	cr_assert_eq(scp03_host_wrap_command(&host, cmd, 4, wire, 10, &n), SCP03_ERR_LENGTH);
	cr_assert(memcmp(chain, host.mac_chain, sizeof(chain)) == 0);
	cr_assert_eq(host.enc_counter, 0u);
	/* Extended length is not for SCP03 here. */
	uint8_t ext[] = { 0x80, 0xE2, 0x00, 0x00, 0x00, 0x00, 0x01, 0xAA };
	cr_assert_eq(scp03_host_wrap_command(&host, ext, sizeof(ext), wire, sizeof(wire), &n),
		     SCP03_ERR_FORMAT);
	/* The session goes on. */
	cmd[4] = 239;
	cr_assert_eq(scp03_host_wrap_command(&host, cmd, 5 + 239, wire, sizeof(wire), &n),
		     SCP03_OK);
	cr_assert_eq(wire[4], 240 + 8);
	cr_assert_eq(scp03_card_unwrap_command(&card, wire, n, plain, sizeof(plain), &m),
		     SCP03_OK);
	check_mem(plain, m, cmd, 5 + 239, "the longest encrypted command");
}

/* ---- SCP02 beyond the vectors ---- */

/* The retail MAC by hand: DES-CBC under K1, last block under 3DES. */
static void retail_mac_by_hand(const uint8_t key[16], const uint8_t icv[8],
			       const uint8_t *msg, size_t len, uint8_t mac[8])
{
	uint8_t buf[300], k1k1[16], chain[8];
	size_t padded = (len / 8 + 1) * 8;

	memcpy(buf, msg, len);
	buf[len] = 0x80;
	memset(buf + len + 1, 0, padded - len - 1);
	memcpy(k1k1, key, 8);
	memcpy(k1k1 + 8, key, 8);
	memcpy(chain, icv, 8);
	for (size_t i = 0; i + 8 < padded; i += 8) {
		for (int j = 0; j < 8; j++)
			chain[j] ^= buf[i + j];
		cr_assert_eq(crypto_des3_ecb_encrypt(k1k1, 16, chain, 8, chain), 0);
	}
	for (int j = 0; j < 8; j++)
		chain[j] ^= buf[padded - 8 + j];
	cr_assert_eq(crypto_des3_ecb_encrypt(key, 16, chain, 8, mac), 0);
}

Test(scp02, level_03_encrypts_after_macing_the_plain_data)
{
	const struct vec_block *b = find_block(2, 0x01);
	struct ec_scp02 s;
	struct ec_scp02_keys keys;
	struct ec_scp02_init_response rsp;
	uint8_t cmd[SCP03_APDU_MAX], wire[SCP03_APDU_MAX], buf[300];
	uint8_t icv[8], mac[8], k1k1[16], zero[8] = { 0 };
	size_t n;
	static const uint8_t plain[] = { 0x80, 0xF2, 0x20, 0x02, 0x0A, 0x4F, 0x02, 0x12,
					 0x34, 0x5C, 0x05, 0x4F, 0x9F, 0x70, 0xC5 };

	memset(&s, 0, sizeof(s));
	memcpy(keys.enc, b->key_enc.b, 16);
	memcpy(keys.mac, b->key_mac.b, 16);
	memcpy(keys.dek, b->key_dek.b, 16);
	keys.kvn = 0x20;
	cr_assert_eq(ec_scp02_initialize_update(&s, 0x55, 0x80, 0x20, b->init_update_cmd.b + 5,
						cmd, sizeof(cmd), &n), EC_OK);
	check_mem(cmd, n, b->init_update_cmd.b, b->init_update_cmd.len, "SCP02 IU");
	cr_assert_eq(ec_scp02_parse_initialize_update_response(b->init_update_rsp.b,
							       b->init_update_rsp.len, &rsp),
		     EC_OK);
	cr_assert_eq(rsp.seq, 0x0001);
	cr_assert_eq(ec_scp02_check_card(&s, &keys, &rsp), EC_OK);
	cr_assert_eq(ec_scp02_external_authenticate(&s, 0x03, wire, sizeof(wire), &n), EC_OK);
	cr_assert_eq(wire[2], 0x03);
	memcpy(icv, s.icv, 8);

	cr_assert_eq(ec_scp02_wrap(&s, plain, sizeof(plain), wire, sizeof(wire), &n), EC_OK);
	/* 10 data bytes pad to 16, then the 8-byte MAC. */
	cr_assert_eq(n, 5u + 16 + 8);
	cr_assert_eq(wire[0], 0x84);
	cr_assert_eq(wire[4], 24);
	cr_assert_eq(crypto_des3_cbc_decrypt(s.s_enc, 16, zero, wire + 5, 16, buf), 0);
	check_hex(buf, 16, "4F0212345C054F9F70C5 800000000000", "decrypted data");
	/* The C-MAC is over 84 F2 20 02 (10 + 8) and the plain data, chained
	 * from the encrypted previous MAC (i = 55). */
	memcpy(k1k1, s.s_mac, 8);
	memcpy(k1k1 + 8, s.s_mac, 8);
	cr_assert_eq(crypto_des3_ecb_encrypt(k1k1, 16, icv, 8, icv), 0);
	memcpy(buf, plain, sizeof(plain));
	buf[0] = 0x84;
	buf[4] = 0x0A + 8;
	retail_mac_by_hand(s.s_mac, icv, buf, sizeof(plain), mac);
	check_mem(wire + 5 + 16, 8, mac, 8, "C-MAC of the plain data");
	ec_scp02_close(&s);
	cr_assert_eq(s.state, EC_SCP02_CLOSED);
}

/* The session keys against GlobalPlatformPro's published KCVs. */
Test(scp02, session_keys_match_published_kcvs)
{
	struct ec_scp02 s;
	struct ec_scp02_keys keys;
	struct ec_scp02_init_response rsp;
	uint8_t zero[8] = { 0 }, data[16] = { 0x01, 0x82 }, s_enc[16], kcv[3];
	uint8_t cmd[32], cryptogram_in[24] = { 0 };
	size_t n;

	memset(&s, 0, sizeof(s));
	memset(&rsp, 0, sizeof(rsp));
	for (int i = 0; i < 16; i++)
		keys.enc[i] = keys.mac[i] = keys.dek[i] = (uint8_t)(0x40 + i);
	keys.kvn = 0x20;
	/* S-ENC for counter 0000 by hand, to make the card's cryptogram. */
	cr_assert_eq(crypto_des3_cbc_encrypt(keys.enc, 16, zero, data, 16, s_enc), 0);
	cr_assert_eq(ec_gp_kcv_des3(s_enc, kcv), EC_OK);
	check_hex(kcv, 3, "F2DCDD", "S-ENC KCV by hand");
	/* host challenge 00.., counter 0000, card challenge 00..: all zero + 80 */
	cryptogram_in[16] = 0x80;
	cr_assert_eq(crypto_des3_cbc_encrypt(s_enc, 16, zero, cryptogram_in, 24,
					     cryptogram_in), 0);
	rsp.scp_id = 0x02;
	rsp.kvn = 0x20;
	memcpy(rsp.card_cryptogram, cryptogram_in + 16, 8);

	cr_assert_eq(ec_scp02_initialize_update(&s, 0x15, 0x80, 0x20, zero, cmd, sizeof(cmd),
						&n), EC_OK);
	cr_assert_eq(ec_scp02_check_card(&s, &keys, &rsp), EC_OK);
	cr_assert_eq(ec_gp_kcv_des3(s.s_enc, kcv), EC_OK);
	check_hex(kcv, 3, "F2DCDD", "S-ENC KCV");
	cr_assert_eq(ec_gp_kcv_des3(s.s_mac, kcv), EC_OK);
	check_hex(kcv, 3, "5FCC69", "S-MAC KCV");
	cr_assert_eq(ec_gp_kcv_des3(s.s_dek, kcv), EC_OK);
	check_hex(kcv, 3, "85272E", "S-DEK KCV");
}

Test(scp02, unsupported_options_are_refused)
{
	struct ec_scp02 s;
	uint8_t hc[8] = { 0 }, out[32];
	size_t n;

	memset(&s, 0, sizeof(s));
	cr_assert_eq(ec_scp02_initialize_update(&s, 0x1A, 0x80, 0, hc, out, sizeof(out), &n),
		     EC_ERR_ARG, "implicit initiation");
	cr_assert_eq(ec_scp02_initialize_update(&s, 0x17, 0x80, 0, hc, out, sizeof(out), &n),
		     EC_ERR_ARG, "C-MAC on the unmodified APDU");
	cr_assert_eq(ec_scp02_initialize_update(&s, 0x15, 0x80, 0, hc, out, sizeof(out), &n),
		     EC_OK);
	cr_assert_eq(ec_scp02_external_authenticate(&s, 0x01, out, sizeof(out), &n),
		     EC_ERR_ARG, "EXTERNAL AUTHENTICATE before the card was checked");
}

/* ---- SCP03 KDF and keys against published KCVs ---- */

/*
 * GlobalPlatformPro TestPlaintextKeys.testSessionKeys_SCP03: the KDF over
 * the static key 404142..4F with the context 00 01 .. 09 gives S-ENC, S-MAC
 * and S-RMAC with these KCVs; the static key's own KCV is 504A77.
 */
Test(scp03, kdf_matches_published_kcvs)
{
	uint8_t key[16], ctx[10], out[16], kcv[3];
	static const struct {
		uint8_t constant;
		const char *kcv;
	} expect[] = { { SCP03_DC_S_ENC, "C25559" }, { SCP03_DC_S_MAC, "0E12CC" },
		       { SCP03_DC_S_RMAC, "9ACB9C" } };

	unhex("404142434445464748494A4B4C4D4E4F", key, 16);
	unhex("00010203040506070809", ctx, 10);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(scp03_kdf(key, 16, expect[i].constant, ctx, 10, out, 16), SCP03_OK);
		cr_assert_eq(scp03_kcv(out, 16, kcv), SCP03_OK);
		check_hex(kcv, 3, expect[i].kcv, "session key KCV");
	}
	cr_assert_eq(scp03_kcv(key, 16, kcv), SCP03_OK);
	check_hex(kcv, 3, "504A77", "static key KCV");
}

/* The KDF's fixed input built by hand: 11 x 00, constant, 00, L, i, context. */
Test(scp03, kdf_layout_by_hand)
{
	uint8_t key[32], ctx[16], got[32], input[32], want[32];

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(0xA0 + i);
	for (int i = 0; i < 16; i++)
		ctx[i] = (uint8_t)i;
	for (size_t keylen = 16; keylen <= 32; keylen += 8) {
		cr_assert_eq(scp03_kdf(key, keylen, 0x06, ctx, 16, got, keylen), SCP03_OK);
		for (uint8_t i = 1; (size_t)(i - 1) * 16 < keylen; i++) {
			memset(input, 0, 11);
			input[11] = 0x06;
			input[12] = 0x00;
			input[13] = (uint8_t)((keylen * 8) >> 8);
			input[14] = (uint8_t)(keylen * 8);
			input[15] = i;
			memcpy(input + 16, ctx, 16);
			cr_assert_eq(crypto_aes_cmac(key, keylen, input, 32, want + (i - 1) * 16), 0);
		}
		check_mem(got, keylen, want, keylen, "SCP03 KDF");
	}
	cr_assert_eq(scp03_kdf(key, 15, 0x06, ctx, 16, got, 16), SCP03_ERR_ARG);
	cr_assert_eq(scp03_kdf(key, 16, 0x06, ctx, 16, got, 33), SCP03_ERR_ARG);
}

Test(scp03, dek_encryption_round_trip)
{
	struct scp03_keys keys = { .len = 16, .kvn = 0x30 };
	uint8_t in[32], enc[32], dec[32], zero[16] = { 0 }, by_hand[32];

	random_bytes(keys.dek, 16);
	random_bytes(in, sizeof(in));
	cr_assert_eq(scp03_dek_encrypt(&keys, in, 32, enc), SCP03_OK);
	cr_assert_eq(crypto_aes_cbc_encrypt(keys.dek, 16, zero, in, 32, by_hand), 0);
	check_mem(enc, 32, by_hand, 32, "DEK encryption is AES-CBC with a zero ICV");
	cr_assert_eq(scp03_dek_decrypt(&keys, enc, 32, dec), SCP03_OK);
	check_mem(dec, 32, in, 32, "DEK decryption");
	cr_assert_eq(scp03_dek_encrypt(&keys, in, 24, enc), SCP03_ERR_ARG);
}

/* A session as both roles leave it after EXTERNAL AUTHENTICATE, by hand. */
static void session_at(struct scp03_session *s, uint8_t level, uint32_t counter)
{
	memset(s, 0, sizeof(*s));
	s->state = SCP03_OPEN;
	s->level = level;
	s->key_len = 16;
	s->enc_counter = counter;
	for (int i = 0; i < 16; i++)
		s->s_enc[i] = (uint8_t)(0x40 + i);
}

/*
 * The shared data step both roles use: C-DECRYPTION and R-ENCRYPTION by
 * hand (padding 80 00.., AES-CBC under S-ENC with the encrypted counter as
 * ICV, its first byte 80 for answers), the copy when the level does not
 * encrypt that direction, and the checks on the way back.
 */
Test(scp03, data_is_secured_by_direction_and_level)
{
	struct scp03_session s;
	uint8_t in[5] = { 1, 2, 3, 4, 5 }, out[32], back[32], block[16], icv[16], want[16];
	size_t n;

	for (int response = 0; response <= 1; response++) {
		session_at(&s, response ? 0x33 : 0x03, 7);
		cr_assert_eq(scp03_secured_len(&s, response, 0), 0);
		cr_assert_eq(scp03_secured_len(&s, response, 5), 16);
		cr_assert_eq(scp03_secured_len(&s, response, 16), 32);
		cr_assert_eq(scp03_secure_data(&s, response, in, 5, out, sizeof(out)), SCP03_OK);

		memset(block, 0, sizeof(block));
		block[0] = response ? 0x80 : 0x00;
		block[15] = 7;
		cr_assert_eq(crypto_aes_ecb_encrypt(s.s_enc, 16, block, 16, icv), 0);
		memset(block, 0, sizeof(block));
		memcpy(block, in, 5);
		block[5] = 0x80;
		cr_assert_eq(crypto_aes_cbc_encrypt(s.s_enc, 16, icv, block, 16, want), 0);
		check_mem(out, 16, want, 16, response ? "R-ENCRYPTION" : "C-DECRYPTION");

		cr_assert_eq(scp03_plain_data(&s, response, out, 16, back, &n), SCP03_OK);
		check_mem(back, n, in, 5, "decrypted and unpadded");
		cr_assert_eq(scp03_plain_data(&s, response, out, 15, back, &n), SCP03_ERR_FORMAT);

		/* A whole block without its 80: refused, and nothing of it is left. */
		memset(block, 0x11, sizeof(block));
		cr_assert_eq(crypto_aes_cbc_encrypt(s.s_enc, 16, icv, block, 16, want), 0);
		memset(back, 0xEE, sizeof(back));
		cr_assert_eq(scp03_plain_data(&s, response, want, 16, back, &n), SCP03_ERR_PADDING);
		memset(block, 0, sizeof(block));
		check_mem(back, 16, block, 16, "wiped after a padding error");

		/* Too small for the padded block: refused before anything is written. */
		memset(out, 0xEE, sizeof(out));
		cr_assert_eq(scp03_secure_data(&s, response, in, 5, out, 15), SCP03_ERR_LENGTH);
		cr_assert_eq(out[0], 0xEE);
	}

	/* C-MAC and R-MAC alone: the data goes as it is, both ways. */
	session_at(&s, 0x11, 7);
	for (int response = 0; response <= 1; response++) {
		cr_assert_eq(scp03_secured_len(&s, response, 5), 5);
		cr_assert_eq(scp03_secure_data(&s, response, in, 5, out, 5), SCP03_OK);
		check_mem(out, 5, in, 5, "not encrypted");
		cr_assert_eq(scp03_plain_data(&s, response, out, 5, back, &n), SCP03_OK);
		check_mem(back, n, in, 5, "not decrypted");
		cr_assert_eq(scp03_secure_data(&s, response, in, 5, out, 4), SCP03_ERR_LENGTH);
	}
}

/* Opening, passing a command at level 00, and aborting, as both roles do. */
Test(scp03, session_steps_shared_by_both_roles)
{
	struct scp03_session s;
	uint8_t mac[16], cmd[] = { 0x80, 0xCA, 0x00, 0x66, 0x00 }, out[8];
	size_t n = 0;

	session_at(&s, 0x00, 9);
	s.state = SCP03_INITIALIZED;
	s.response_due = true;
	for (int i = 0; i < 16; i++)
		mac[i] = (uint8_t)(0xC0 + i);
	scp03_open(&s, 0x00, mac);
	cr_assert_eq(s.state, SCP03_OPEN);
	cr_assert_eq(s.level, 0x00);
	cr_assert_eq(s.enc_counter, 0, "the first command after it uses 1");
	cr_assert_not(s.response_due);
	check_mem(s.mac_chain, 16, mac, 16, "the C-MAC is the chaining value");

	cr_assert_eq(scp03_pass_command(&s, cmd, sizeof(cmd), out, 4, &n), SCP03_ERR_LENGTH);
	cr_assert_not(s.response_due, "a command that does not fit changes nothing");
	cr_assert_eq(scp03_pass_command(&s, cmd, sizeof(cmd), out, sizeof(out), &n), SCP03_OK);
	check_mem(out, n, cmd, sizeof(cmd), "level 00: the command as it is");
	cr_assert(s.response_due);

	cr_assert_eq(scp03_abort(&s, SCP03_ERR_MAC), SCP03_ERR_MAC);
	cr_assert_eq(s.state, SCP03_ABORTED);
	cr_assert_not(s.response_due);
	memset(mac, 0, sizeof(mac));
	check_mem(s.mac_chain, 16, mac, 16, "chaining value wiped");
	check_mem(s.s_enc, 16, mac, 16, "S-ENC wiped");
}

/* ---- key diversification ---- */

/*
 * GlobalPlatformPro TestPlaintextKeys: master key 404142..4F (and its
 * 24/32-byte extensions), KDD 00 01 .. 09; the KCVs of the diversified
 * ENC, MAC and DEK keys.
 */
static const char kdd_0to9[] = "00010203040506070809";

static void check_div_kcvs(enum ec_gp_kdf kdf, const char *master_hex, const char *enc,
			   const char *mac, const char *dek)
{
	struct ec_gp_keys master, card;
	uint8_t key[32], kdd[10], kcv[3];
	size_t len = unhex(master_hex, key, sizeof(key));
	const char *want[3] = { enc, mac, dek };
	const uint8_t *keys[3] = { card.enc, card.mac, card.dek };

	unhex(kdd_0to9, kdd, sizeof(kdd));
	cr_assert_eq(ec_gp_keys_from_master(&master, key, len, 0x30), EC_OK);
	cr_assert_eq(ec_gp_diversify(kdf, &master, kdd, &card), EC_OK);
	cr_assert_eq(card.len, len);
	cr_assert_eq(card.kvn, 0x30);
	for (int i = 0; i < 3; i++) {
		if (kdf == EC_GP_KDF_KDF3)
			cr_assert_eq(ec_gp_kcv_aes(keys[i], len, kcv), EC_OK);
		else
			cr_assert_eq(ec_gp_kcv_des3(keys[i], kcv), EC_OK);
		check_hex(kcv, 3, want[i], ec_gp_kdf_name(kdf));
	}
}

Test(diversification, emv_published_kcvs)
{
	check_div_kcvs(EC_GP_KDF_EMV, "404142434445464748494A4B4C4D4E4F", "C33013", "6F4CA6",
		       "BB8179");
}

Test(diversification, visa2_published_kcvs)
{
	check_div_kcvs(EC_GP_KDF_VISA2, "404142434445464748494A4B4C4D4E4F", "2BE598",
		       "58DA38", "3C328E");
}

Test(diversification, kdf3_published_kcvs)
{
	check_div_kcvs(EC_GP_KDF_KDF3, "404142434445464748494A4B4C4D4E4F", "E79C05", "D1BD77",
		       "3FDE8C");
	check_div_kcvs(EC_GP_KDF_KDF3, "404142434445464748494A4B4C4D4E4F5051525354555657",
		       "1DE8EA", "47C00C", "C04D76");
	check_div_kcvs(EC_GP_KDF_KDF3,
		       "404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F",
		       "2972D2", "036F94", "5D57B8");
}

/* GlobalPlatformPro testDiversification_KDF3_ExternalVector: a whole key. */
Test(diversification, kdf3_external_vector)
{
	uint8_t master[32], kdd[10], out[32];

	unhex("8C72C72CF908411653018807950D82FBAD947562F0828A0B10B8B9606ABF3BCD", master, 32);
	unhex("D9B1DE5D0362DEDCE4FB", kdd, 10);
	cr_assert_eq(ec_gp_diversify_key(EC_GP_KDF_KDF3, master, 32, EC_GP_KEY_ID_ENC, kdd,
					 out), EC_OK);
	check_hex(out, 32, "9AAC5D0B3601F89438A0D9D0B6B256CFB47E6462DFA5228D3420C4AC7C224781",
		  "KDF3 ENC key");
}

/* The documented input bytes, built by hand from another KDD. */
Test(diversification, formulas_by_hand)
{
	uint8_t master[16], kdd[10], got[32], data[16], want[32], input[16];

	unhex("0123456789ABCDEFFEDCBA9876543210", master, 16);
	unhex("A1A2A3A4A5A6A7A8A9AA", kdd, 10);
	for (uint8_t id = 1; id <= 3; id++) {
		/* EMV: kdd[4..9] F0 id kdd[4..9] 0F id */
		unhex("A5A6A7A8A9AA", data, 6);
		data[6] = 0xF0;
		data[7] = id;
		memcpy(data + 8, data, 6);
		data[14] = 0x0F;
		data[15] = id;
		cr_assert_eq(crypto_des3_ecb_encrypt(master, 16, data, 16, want), 0);
		cr_assert_eq(ec_gp_diversify_key(EC_GP_KDF_EMV, master, 16, id, kdd, got), EC_OK);
		check_mem(got, 16, want, 16, "EMV by hand");
		/* VISA2: kdd[0..1] kdd[4..7] F0 id, then again with 0F id */
		unhex("A1A2A5A6A7A8", data, 6);
		memcpy(data + 8, data, 6);
		cr_assert_eq(crypto_des3_ecb_encrypt(master, 16, data, 16, want), 0);
		cr_assert_eq(ec_gp_diversify_key(EC_GP_KDF_VISA2, master, 16, id, kdd, got),
			     EC_OK);
		check_mem(got, 16, want, 16, "VISA2 by hand");
		/* KDF3: 01 00 00 00 id 00 kdd */
		input[0] = 0x01;
		memset(input + 1, 0, 3);
		input[4] = id;
		input[5] = 0x00;
		memcpy(input + 6, kdd, 10);
		cr_assert_eq(crypto_aes_cmac(master, 16, input, 16, want), 0);
		cr_assert_eq(ec_gp_diversify_key(EC_GP_KDF_KDF3, master, 16, id, kdd, got), EC_OK);
		check_mem(got, 16, want, 16, "KDF3 by hand");
	}
	/* Wrong key lengths for the method. */
	cr_assert_eq(ec_gp_diversify_key(EC_GP_KDF_EMV, master, 24, 1, kdd, got), EC_ERR_ARG);
	cr_assert_eq(ec_gp_diversify_key(EC_GP_KDF_NONE, master, 16, 1, kdd, got), EC_ERR_ARG);
}

Test(diversification, names)
{
	enum ec_gp_kdf k;

	cr_assert_eq(ec_gp_kdf_parse("visa2", &k), 0);
	cr_assert_eq(k, EC_GP_KDF_VISA2);
	cr_assert_eq(ec_gp_kdf_parse("kdf3", &k), 0);
	cr_assert_eq(k, EC_GP_KDF_KDF3);
	cr_assert_eq(ec_gp_kdf_parse("emv", &k), 0);
	cr_assert_eq(k, EC_GP_KDF_EMV);
	cr_assert_eq(ec_gp_kdf_parse("visa", &k), -1);
	cr_assert_str_eq(ec_gp_kdf_name(EC_GP_KDF_NONE), "none");
}

/*
 * A session with diversified keys end to end: the emulated card holds keys
 * diversified with KDF3 from its KDD, the host holds the master key.
 */
struct div_card {
	struct scp03_session card;
	struct scp03_keys keys;
	struct scp03_card_params params;
	uint8_t kdd[10];
	int step;
};

static long div_card_transmit(struct ec_pcsc *pc, const uint8_t *cmd, size_t cmd_len,
			      uint8_t *resp, size_t *resp_len)
{
	struct div_card *dc = pc->raw_arg;
	uint8_t plain[SCP03_APDU_MAX];
	size_t n = 0;

	switch (dc->step++) {
	case 0:
		cr_assert_eq(scp03_card_initialize_update(&dc->card, &dc->keys, &dc->params,
							  cmd, cmd_len, resp, *resp_len, &n),
			     SCP03_OK);
		break;
	case 1:
		cr_assert_eq(scp03_card_external_authenticate(&dc->card, cmd, cmd_len),
			     SCP03_OK);
		break;
	default:
		cr_assert_eq(scp03_card_unwrap_command(&dc->card, cmd, cmd_len, plain,
						       sizeof(plain), &n), SCP03_OK);
		check_hex(plain, n, "80CA006600", "plain GET DATA");
		cr_assert_eq(scp03_card_wrap_response(&dc->card, (const uint8_t *)"\x66\x01\x02",
						      3, 0x9000, resp, *resp_len, &n),
			     SCP03_OK);
		*resp_len = n;
		return SCARD_S_SUCCESS;
	}
	*resp_len = put_sw(resp, n, 0x9000);
	return SCARD_S_SUCCESS;
}

Test(diversification, session_with_kdf3_keys)
{
	static const uint8_t aid[8] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };
	struct div_card dc;
	struct ec_gp_keys master, card_keys;
	struct ec_gp_session s;
	struct ec_gp_options opt;
	struct ec_pcsc pc;
	struct ec_error err = { 0 };
	uint8_t get_data[] = { 0x80, 0xCA, 0x00, 0x66, 0x00 }, resp[64];
	size_t n;

	memset(&dc, 0, sizeof(dc));
	memset(&s, 0, sizeof(s));
	unhex("11223344556677889900", dc.kdd, 10);
	ec_gp_default_keys(&master, 0x30);
	cr_assert_eq(ec_gp_diversify(EC_GP_KDF_KDF3, &master, dc.kdd, &card_keys), EC_OK);
	memcpy(dc.keys.enc, card_keys.enc, 16);
	memcpy(dc.keys.mac, card_keys.mac, 16);
	memcpy(dc.keys.dek, card_keys.dek, 16);
	dc.keys.len = 16;
	dc.keys.kvn = 0x30;
	dc.params = (struct scp03_card_params){ .kdd = dc.kdd, .i_param = 0x70, .seq = 7,
						.aid = aid, .aid_len = sizeof(aid) };
	ec_pcsc_init(&pc, NULL);
	pc.raw_transmit = div_card_transmit;
	pc.raw_arg = &dc;
	ec_gp_options_init(&opt);
	opt.level = 0x33;

	/* Without diversification the master key is the wrong key. */
	cr_assert_eq(ec_gp_open(&s, &pc, &master, &opt, &err), EC_ERR_CHECK);
	cr_assert(strstr(err.text, "wrong keys?") != NULL, "%s", err.text);

	dc.step = 0;
	opt.kdf = EC_GP_KDF_KDF3;
	cr_assert_eq(ec_gp_open(&s, &pc, &master, &opt, &err), EC_OK, "%s", err.text);
	cr_assert(memcmp(s.kdd, dc.kdd, 10) == 0);
	cr_assert(s.has_seq);
	cr_assert_eq(s.seq, 7u);
	cr_assert_eq(ec_gp_transmit(&s, get_data, sizeof(get_data), resp, sizeof(resp), &n,
				    &err), EC_OK, "%s", err.text);
	check_hex(resp, n, "6601029000", "plain answer");
	ec_gp_close(&s);
}
