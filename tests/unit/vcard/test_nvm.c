/*
 * test_nvm.c - persistent memory: transactions (commit, abort, nested
 * refusal, journal overflow), objects, image validation, recovery, and the
 * file backend surviving kill -9 of the process that writes it.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto.h"
#include "nvm.h"

#define IMG (64u * 1024u)
#define JOURNAL 1024u

static struct vc_storage *st;
static struct vc_nvm nvm;

static void setup(void)
{
	cr_assert_eq(vc_storage_mem_create(IMG, &st), VC_OK);
	cr_assert_eq(vc_nvm_format(st, JOURNAL), VC_OK);
	memset(&nvm, 0, sizeof(nvm));
	cr_assert_eq(vc_nvm_open(&nvm, st), VC_OK);
}

static void teardown(void)
{
	vc_nvm_close(&nvm);
	vc_storage_destroy(st);
}

static void reopen(void)
{
	vc_nvm_close(&nvm);
	cr_assert_eq(vc_nvm_open(&nvm, st), VC_OK);
}

static void store_be32_test(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static struct vc_nvm_object make_object(uint16_t tag, uint32_t size)
{
	struct vc_nvm_object o;
	cr_assert_eq(vc_nvm_alloc(&nvm, 7, tag, size, &o), VC_OK);
	return o;
}

TestSuite(nvm, .init = setup, .fini = teardown);

Test(nvm, fresh_image_has_whole_heap_free)
{
	cr_assert_eq(vc_nvm_free_space(&nvm), nvm.heap_size);
	cr_assert_eq(nvm.heap_size, IMG - nvm.heap_off);
	cr_assert(!nvm.recovered);
}

Test(nvm, commit_persists_across_power_cycle)
{
	struct vc_nvm_object o = make_object(1, 64);
	uint8_t data[64];
	for (int i = 0; i < 64; i++)
		data[i] = (uint8_t)(i * 3);
	cr_assert_eq(vc_nvm_begin(&nvm), VC_OK);
	cr_assert_eq(vc_nvm_write(&nvm, o.off, data, sizeof(data)), VC_OK);
	cr_assert_eq(vc_nvm_commit(&nvm), VC_OK);
	reopen();
	uint8_t back[64];
	cr_assert_eq(vc_nvm_read(&nvm, o.off, back, sizeof(back)), VC_OK);
	cr_assert_arr_eq(back, data, sizeof(data));
	/* The commit record is cleared: nothing to recover. */
	cr_assert(!nvm.recovered);
}

Test(nvm, commit_costs_body_record_homes_and_clear)
{
	struct vc_nvm_object o = make_object(1, 300);
	unsigned long before = nvm.writes;
	cr_assert_eq(vc_nvm_begin(&nvm), VC_OK);
	cr_assert_eq(vc_nvm_write(&nvm, o.off, "a", 1), VC_OK);
	cr_assert_eq(vc_nvm_write(&nvm, o.off + 200, "b", 1), VC_OK);
	cr_assert_eq(vc_nvm_commit(&nvm), VC_OK);
	cr_assert_eq(nvm.writes - before, 2 + 2 + 1);
}

Test(nvm, abort_restores_previous_bytes)
{
	struct vc_nvm_object o = make_object(1, 16);
	cr_assert_eq(vc_nvm_begin(&nvm), VC_OK);
	cr_assert_eq(vc_nvm_write(&nvm, o.off, "committed-value!", 16), VC_OK);
	cr_assert_eq(vc_nvm_commit(&nvm), VC_OK);

	unsigned long writes = nvm.writes;
	cr_assert_eq(vc_nvm_begin(&nvm), VC_OK);
	cr_assert_eq(vc_nvm_write(&nvm, o.off + 4, "XXXX", 4), VC_OK);
	uint8_t mid[16];
	vc_nvm_read(&nvm, o.off, mid, 16);
	cr_assert_arr_eq(mid, "commXXXXd-value!", 16, "reads see the open transaction");
	cr_assert_eq(vc_nvm_abort(&nvm), VC_OK);
	vc_nvm_read(&nvm, o.off, mid, 16);
	cr_assert_arr_eq(mid, "committed-value!", 16);
	cr_assert_eq(nvm.writes, writes, "an aborted transaction writes nothing");
	reopen();
	vc_nvm_read(&nvm, o.off, mid, 16);
	cr_assert_arr_eq(mid, "committed-value!", 16);
}

Test(nvm, nested_transaction_refused)
{
	cr_assert_eq(vc_nvm_begin(&nvm), VC_OK);
	cr_assert_eq(vc_nvm_begin(&nvm), VC_ERR_STATE);
	cr_assert(nvm.in_tx, "the outer transaction stays open");
	cr_assert_eq(vc_nvm_commit(&nvm), VC_OK);
	cr_assert_eq(vc_nvm_commit(&nvm), VC_ERR_STATE);
	cr_assert_eq(vc_nvm_abort(&nvm), VC_ERR_STATE);
}

Test(nvm, write_outside_transaction_refused)
{
	struct vc_nvm_object o = make_object(1, 16);
	cr_assert_eq(vc_nvm_write(&nvm, o.off, "x", 1), VC_ERR_STATE);
}

Test(nvm, superblock_and_journal_not_writable)
{
	cr_assert_eq(vc_nvm_begin(&nvm), VC_OK);
	cr_assert_eq(vc_nvm_write(&nvm, 0, "x", 1), VC_ERR_ARG);
	cr_assert_eq(vc_nvm_write(&nvm, nvm.journal_off + 40, "x", 1), VC_ERR_ARG);
	cr_assert_eq(vc_nvm_write(&nvm, IMG - 1, "xy", 2), VC_ERR_ARG);
	cr_assert_eq(vc_nvm_write(&nvm, UINT32_MAX, "x", 1), VC_ERR_ARG);
	vc_nvm_abort(&nvm);
}

Test(nvm, journal_overflow_aborts_whole_transaction)
{
	struct vc_nvm_object o = make_object(1, 4096);
	uint8_t big[4096];
	memset(big, 0x5A, sizeof(big));
	uint8_t before[4096];
	vc_nvm_read(&nvm, o.off, before, sizeof(before));

	cr_assert_eq(vc_nvm_begin(&nvm), VC_OK);
	cr_assert_eq(vc_nvm_write(&nvm, o.off, big, 100), VC_OK);
	cr_assert_eq(vc_nvm_write(&nvm, o.off + 1000, big, JOURNAL), VC_ERR_JOURNAL_FULL);
	cr_assert(!nvm.in_tx, "overflow ends the transaction");
	uint8_t after[4096];
	vc_nvm_read(&nvm, o.off, after, sizeof(after));
	cr_assert_arr_eq(after, before, sizeof(before), "earlier writes of the transaction are undone");
	cr_assert_eq(vc_nvm_commit(&nvm), VC_ERR_STATE);
}

Test(nvm, largest_transaction_that_fits)
{
	struct vc_nvm_object o = make_object(1, 4096);
	uint8_t big[4096];
	memset(big, 0xA5, sizeof(big));
	/* One entry: 8 bytes of head, the rest data; the record takes 32. */
	size_t max = JOURNAL - 32 - 8;
	cr_assert_eq(vc_nvm_begin(&nvm), VC_OK);
	cr_assert_eq(vc_nvm_write(&nvm, o.off, big, max), VC_OK);
	cr_assert_eq(vc_nvm_commit(&nvm), VC_OK);
	cr_assert_eq(vc_nvm_begin(&nvm), VC_OK);
	cr_assert_eq(vc_nvm_write(&nvm, o.off, big, max + 1), VC_ERR_JOURNAL_FULL);
}

Test(nvm, overlapping_writes_merge_in_the_journal)
{
	struct vc_nvm_object o = make_object(1, 512);
	uint8_t v[64] = { 0 };
	cr_assert_eq(vc_nvm_begin(&nvm), VC_OK);
	/* 1000 writes over the same 512 bytes fit a 1 KiB journal. */
	for (int i = 0; i < 1000; i++) {
		v[0] = (uint8_t)i;
		cr_assert_eq(vc_nvm_write(&nvm, o.off + (uint32_t)((i * 37) % 448), v, 64), VC_OK);
	}
	cr_assert_eq(nvm.n_ranges, 1);
	cr_assert_eq(vc_nvm_commit(&nvm), VC_OK);
}

Test(nvm, write_now_refused_on_transaction_ranges)
{
	struct vc_nvm_object o = make_object(1, 16);
	cr_assert_eq(vc_nvm_begin(&nvm), VC_OK);
	cr_assert_eq(vc_nvm_write(&nvm, o.off, "abcd", 4), VC_OK);
	cr_assert_eq(vc_nvm_write_now(&nvm, o.off + 2, "z", 1), VC_ERR_STATE);
	cr_assert_eq(vc_nvm_write_now(&nvm, o.off + 8, "z", 1), VC_OK);
	cr_assert_eq(vc_nvm_abort(&nvm), VC_OK);
	uint8_t b;
	vc_nvm_read(&nvm, o.off + 8, &b, 1);
	cr_assert_eq(b, 'z', "an immediate write is not undone by abort");
}

Test(nvm, objects_alloc_find_free)
{
	struct vc_nvm_object a = make_object(1, 100), b = make_object(2, 200), f;
	cr_assert_neq(a.off, b.off);
	cr_assert_eq(vc_nvm_find(&nvm, 7, 2, &f), VC_OK);
	cr_assert_eq(f.off, b.off);
	cr_assert_eq(f.size, 200);
	cr_assert_eq(vc_nvm_find(&nvm, 8, 2, &f), VC_ERR_NOT_FOUND);
	cr_assert_eq(vc_nvm_alloc(&nvm, 7, 1, 10, &f), VC_ERR_EXISTS);
	cr_assert_eq(vc_nvm_free_space(&nvm), nvm.heap_size - 300);

	cr_assert_eq(vc_nvm_free(&nvm, 7, 1), VC_OK);
	cr_assert_eq(vc_nvm_find(&nvm, 7, 1, &f), VC_ERR_NOT_FOUND);
	cr_assert_eq(vc_nvm_free(&nvm, 7, 1), VC_ERR_NOT_FOUND);
	reopen();
	cr_assert_eq(vc_nvm_find(&nvm, 7, 2, &f), VC_OK);
	cr_assert_eq(vc_nvm_find(&nvm, 7, 1, &f), VC_ERR_NOT_FOUND);
}

Test(nvm, reused_space_is_zeroed)
{
	struct vc_nvm_object a = make_object(1, 64);
	cr_assert_eq(vc_nvm_begin(&nvm), VC_OK);
	cr_assert_eq(vc_nvm_write(&nvm, a.off, "secret-secret-secret", 20), VC_OK);
	cr_assert_eq(vc_nvm_commit(&nvm), VC_OK);
	cr_assert_eq(vc_nvm_free(&nvm, 7, 1), VC_OK);
	struct vc_nvm_object b = make_object(3, 64);
	cr_assert_eq(b.off, a.off, "first fit reuses the freed area");
	uint8_t back[64], zero[64] = { 0 };
	vc_nvm_read(&nvm, b.off, back, sizeof(back));
	cr_assert_arr_eq(back, zero, sizeof(zero));
	reopen();
	vc_nvm_read(&nvm, b.off, back, sizeof(back));
	cr_assert_arr_eq(back, zero, sizeof(zero));
}

Test(nvm, space_freed_in_open_transaction_is_not_reused)
{
	struct vc_nvm_object a = make_object(1, 64);
	cr_assert_eq(vc_nvm_begin(&nvm), VC_OK);
	cr_assert_eq(vc_nvm_write(&nvm, a.off, "keep", 4), VC_OK);
	cr_assert_eq(vc_nvm_commit(&nvm), VC_OK);

	cr_assert_eq(vc_nvm_begin(&nvm), VC_OK);
	cr_assert_eq(vc_nvm_free(&nvm, 7, 1), VC_OK);
	struct vc_nvm_object b;
	cr_assert_eq(vc_nvm_alloc(&nvm, 7, 2, 64, &b), VC_OK);
	cr_assert_neq(b.off, a.off);
	cr_assert_eq(vc_nvm_abort(&nvm), VC_OK);

	struct vc_nvm_object f;
	cr_assert_eq(vc_nvm_find(&nvm, 7, 1, &f), VC_OK, "abort brings the freed object back");
	uint8_t back[4];
	vc_nvm_read(&nvm, f.off, back, 4);
	cr_assert_arr_eq(back, "keep", 4, "with its bytes intact");
	cr_assert_eq(vc_nvm_find(&nvm, 7, 2, &f), VC_ERR_NOT_FOUND);
}

Test(nvm, heap_and_table_exhaustion)
{
	struct vc_nvm_object o;
	cr_assert_eq(vc_nvm_alloc(&nvm, 7, 1, nvm.heap_size + 1, &o), VC_ERR_NO_SPACE);
	cr_assert_eq(vc_nvm_alloc(&nvm, 7, 1, nvm.heap_size, &o), VC_OK);
	cr_assert_eq(vc_nvm_alloc(&nvm, 7, 2, 1, &o), VC_ERR_NO_SPACE);
	cr_assert_eq(vc_nvm_free_owner(&nvm, 7), VC_OK);
	for (uint16_t i = 0; i < VC_NVM_MAX_OBJECTS; i++)
		cr_assert_eq(vc_nvm_alloc(&nvm, 9, i, 8, &o), VC_OK);
	cr_assert_eq(vc_nvm_alloc(&nvm, 9, 999, 8, &o), VC_ERR_NO_SPACE);
	/* The whole table does not fit this fixture's 1 KiB journal at once. */
	cr_assert_eq(vc_nvm_free_owner(&nvm, 9), VC_ERR_JOURNAL_FULL);
	cr_assert_eq(vc_nvm_find(&nvm, 9, 0, &o), VC_OK, "nothing was freed");
	for (uint16_t i = 0; i < VC_NVM_MAX_OBJECTS; i++)
		cr_assert_eq(vc_nvm_free(&nvm, 9, i), VC_OK);
	cr_assert_eq(vc_nvm_free_space(&nvm), nvm.heap_size);
}

Test(nvm, damaged_superblock_is_refused)
{
	uint8_t *bytes = vc_storage_mem_bytes(st);
	vc_nvm_close(&nvm);
	bytes[12] ^= 1;
	cr_assert_eq(vc_nvm_open(&nvm, st), VC_ERR_FORMAT);
	bytes[12] ^= 1;
	cr_assert_eq(vc_nvm_open(&nvm, st), VC_OK);
	vc_nvm_close(&nvm);
	bytes[0] = 'X';
	cr_assert_eq(vc_nvm_open(&nvm, st), VC_ERR_FORMAT);
	bytes[0] = 'E';
	cr_assert_eq(vc_nvm_open(&nvm, st), VC_OK);
}

/* A superblock whose sums wrap in 32 bits must be refused, not trusted:
 * journal size near 4 GiB, offsets that "add up" modulo 2^32. */
Test(nvm, wrapping_layout_is_refused)
{
	uint8_t *bytes = vc_storage_mem_bytes(st);
	vc_nvm_close(&nvm);
	uint32_t journal = 0xFFFFFE40u, table = 512u + journal, heap = table + 2048u;
	store_be32_test(bytes + 16, journal);
	store_be32_test(bytes + 20, table);
	store_be32_test(bytes + 24, heap);
	store_be32_test(bytes + 28, IMG - heap);
	store_be32_test(bytes + 32, crypto_crc32(0, bytes, 32));
	cr_assert_eq(vc_nvm_open(&nvm, st), VC_ERR_FORMAT);
	cr_assert_eq(vc_nvm_format(st, 0xFFFFFE40u), VC_ERR_ARG);
	cr_assert_eq(vc_nvm_format(st, JOURNAL), VC_OK);
	cr_assert_eq(vc_nvm_open(&nvm, st), VC_OK);
}

/* A medium that fails (EIO) at a chosen write: after a failed commit the
 * card refuses everything until power-up, which recovers. */
struct failing {
	struct vc_storage base;
	struct vc_storage *inner;
	unsigned long writes, fail_at;
};

static enum vc_status failing_read(struct vc_storage *s, size_t off, void *buf, size_t len)
{
	return vc_storage_read(((struct failing *)s)->inner, off, buf, len);
}

static enum vc_status failing_write(struct vc_storage *s, size_t off, const void *buf, size_t len)
{
	struct failing *f = (struct failing *)s;
	if (++f->writes == f->fail_at)
		return VC_ERR_IO;
	return vc_storage_write(f->inner, off, buf, len);
}

static enum vc_status failing_sync(struct vc_storage *s)
{
	(void)s;
	return VC_OK;
}

static void failing_destroy(struct vc_storage *s)
{
	(void)s;
}

static const struct vc_storage_ops failing_ops = {
	failing_read, failing_write, failing_sync, failing_destroy,
};

Test(nvm, io_error_in_commit_stops_the_card_until_power_up)
{
	struct vc_nvm_object o = make_object(1, 16);
	vc_nvm_close(&nvm);
	for (unsigned long k = 1; k <= 4; k++) {
		struct failing f = { { &failing_ops, IMG }, st, 0, k };
		cr_assert_eq(vc_nvm_open(&nvm, &f.base), VC_OK);
		uint8_t before[4];
		vc_nvm_read(&nvm, o.off, before, 4);
		cr_assert_eq(vc_nvm_begin(&nvm), VC_OK);
		cr_assert_eq(vc_nvm_write(&nvm, o.off, "EIO!", 4), VC_OK);
		cr_assert_eq(vc_nvm_commit(&nvm), VC_ERR_IO, "k=%lu", k);
		cr_assert(nvm.dead);
		cr_assert_eq(vc_nvm_begin(&nvm), VC_ERR_POWER_LOST);
		vc_nvm_close(&nvm);
		cr_assert_eq(vc_nvm_open(&nvm, st), VC_OK);
		uint8_t now[4];
		vc_nvm_read(&nvm, o.off, now, 4);
		/* Before the sealed record: before; from the homes on: after. */
		cr_assert_arr_eq(now, k <= 2 ? before : (const uint8_t *)"EIO!", 4, "k=%lu", k);
		vc_nvm_close(&nvm);
	}
	cr_assert_eq(vc_nvm_open(&nvm, st), VC_OK);
}

Test(nvm, bad_format_arguments)
{
	struct vc_storage *small;
	cr_assert_eq(vc_storage_mem_create(3584, &small), VC_OK);	/* no room for a heap */
	cr_assert_eq(vc_nvm_format(small, JOURNAL), VC_ERR_ARG);
	cr_assert_eq(vc_nvm_format(st, 17), VC_ERR_ARG);
	vc_storage_destroy(small);
}

Test(nvm, sealed_journal_is_rolled_forward)
{
	/* Commit on a tearing backend that dies at the first home write with
	 * nothing landed: record sealed, homes untouched. */
	struct vc_nvm_object o = make_object(1, 32);
	vc_nvm_close(&nvm);
	struct vc_storage *tear;
	cr_assert_eq(vc_storage_tear_create(st, &tear), VC_OK);
	cr_assert_eq(vc_nvm_open(&nvm, tear), VC_OK);
	struct vc_tear_plan plan = { .tear_at = 3, .partial = 0 };
	vc_tear_arm(tear, &plan);
	cr_assert_eq(vc_nvm_begin(&nvm), VC_OK);
	cr_assert_eq(vc_nvm_write(&nvm, o.off, "rolled-forward", 14), VC_OK);
	cr_assert_eq(vc_nvm_commit(&nvm), VC_ERR_POWER_LOST);
	cr_assert(nvm.dead);
	cr_assert_eq(vc_nvm_begin(&nvm), VC_ERR_POWER_LOST);
	vc_nvm_close(&nvm);

	uint8_t home[14];
	vc_storage_read(tear, o.off, home, sizeof(home));
	cr_assert_neq(memcmp(home, "rolled-forward", 14), 0, "the home was not written");
	vc_tear_power_up(tear);
	cr_assert_eq(vc_nvm_open(&nvm, tear), VC_OK);
	cr_assert(nvm.recovered);
	vc_nvm_read(&nvm, o.off, home, sizeof(home));
	cr_assert_arr_eq(home, "rolled-forward", 14);
	vc_nvm_close(&nvm);
	/* The wrapper owns st now; give it back to the fixture. */
	memset(&nvm, 0, sizeof(nvm));
	st = tear;
	cr_assert_eq(vc_nvm_open(&nvm, st), VC_OK);
	cr_assert(!nvm.recovered, "the record was cleared by recovery");
}

/* ---- file backend and kill -9 ---- */

static char image_path[64];

static void file_setup(void)
{
	strcpy(image_path, "/tmp/ecard-nvm-XXXXXX");
	int fd = mkstemp(image_path);
	cr_assert_geq(fd, 0);
	close(fd);
	unlink(image_path);
}

static void file_teardown(void)
{
	unlink(image_path);
}

TestSuite(nvm_file, .init = file_setup, .fini = file_teardown);

Test(nvm_file, create_refuses_existing_and_open_needs_file)
{
	struct vc_storage *f;
	cr_assert_eq(vc_storage_file_open(image_path, &f), VC_ERR_NOT_FOUND);
	cr_assert_eq(vc_storage_file_create(image_path, IMG, &f), VC_OK);
	vc_storage_destroy(f);
	cr_assert_eq(vc_storage_file_create(image_path, IMG, &f), VC_ERR_EXISTS);
	cr_assert_eq(vc_storage_file_open(image_path, &f), VC_OK);
	cr_assert_eq(f->size, IMG);
	vc_storage_destroy(f);
}

/* One image, one card: a second open fails while the first lives, from
 * this process as from another, whose number the diagnosis then gives;
 * the lock goes with the storage, and with a process killed by SIGKILL. */
Test(nvm_file, an_image_opens_once)
{
	struct vc_storage *f, *g;
	char why[600], want[600];
	cr_assert_eq(vc_storage_file_create(image_path, IMG, &f), VC_OK);
	cr_assert_eq(vc_nvm_format(f, 4096), VC_OK);
	cr_assert_eq(vc_storage_file_open(image_path, &g), VC_ERR_IN_USE, "opened twice");
	vc_storage_destroy(f);
	cr_assert_eq(vc_storage_file_open(image_path, &g), VC_OK);
	vc_storage_destroy(g);

	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(p[0]);
		if (vc_storage_file_open(image_path, &f) != VC_OK)
			_exit(3);
		(void)!write(p[1], "x", 1);
		pause();
		_exit(0);
	}
	close(p[1]);
	char c;
	cr_assert_eq(read(p[0], &c, 1), 1, "the child could not open the image");
	close(p[0]);
	cr_expect_eq(vc_storage_file_open(image_path, &g), VC_ERR_IN_USE);
	cr_expect_eq(vc_storage_file_holder(image_path), pid);
	snprintf(want, sizeof(want), "%s is in use by process %ld", image_path, (long)pid);
	cr_expect_str_eq(vc_nvm_diagnose_file(image_path, why, sizeof(why)), want);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	cr_assert_eq(vc_storage_file_open(image_path, &g), VC_OK, "the lock died with its process");
	vc_storage_destroy(g);
	cr_expect_str_eq(vc_nvm_diagnose_file(image_path, why, sizeof(why)), "");
}

/* What is wrong with an image file, each case said exactly. */
Test(nvm_file, every_unusable_image_is_explained)
{
	struct vc_storage *f;
	char why[600], dir[80], path[96];
	cr_assert_eq(vc_storage_file_create(image_path, IMG, &f), VC_OK);
	cr_assert_eq(vc_nvm_format(f, 4096), VC_OK);
	vc_storage_destroy(f);
	uint8_t *good = malloc(IMG);
	cr_assert_not_null(good);
	FILE *in = fopen(image_path, "rb");
	cr_assert_eq(fread(good, 1, IMG, in), IMG);
	fclose(in);

	static const struct {
		const char *name;
		size_t len;	/* of the good image; SIZE_MAX: random bytes */
		int damage;	/* 0 none, 1 the header's CRC, 2 the version */
		const char *want;
	} cases[] = {
		{ "empty", 0, 0, "is empty: not a card image" },
		{ "random", SIZE_MAX, 0, "is not a card image (it does not begin with \"ECARDNVM\")" },
		{ "truncated", 10000, 0, "is truncated: 10000 of its 65536 bytes are left" },
		{ "crc", IMG, 1, ": the card image's header is damaged (checksum)" },
		{ "version", IMG, 2, "has card image format 2; this ecard takes format 1" },
	};
	snprintf(dir, sizeof(dir), "%s.d", image_path);
	cr_assert_eq(mkdir(dir, 0700), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, cases[i].name);
		FILE *out = fopen(path, "wb");
		cr_assert_not_null(out);
		if (cases[i].len == SIZE_MAX) {
			for (int k = 0; k < 4096; k++)
				fputc((k * 131 + 7) & 0xFF, out);
		} else {
			uint8_t *img = malloc(IMG);
			memcpy(img, good, IMG);
			if (cases[i].damage == 1)
				img[20] ^= 0x01;
			if (cases[i].damage == 2) {
				/* Version 2, with a header checksum that holds. */
				img[11] = 2;
				uint32_t crc = crypto_crc32(0, img, 36);
				img[36] = (uint8_t)(crc >> 24);
				img[37] = (uint8_t)(crc >> 16);
				img[38] = (uint8_t)(crc >> 8);
				img[39] = (uint8_t)crc;
			}
			fwrite(img, 1, cases[i].len, out);
			free(img);
		}
		fclose(out);
		vc_nvm_diagnose_file(path, why, sizeof(why));
		cr_expect(strncmp(why, path, strlen(path)) == 0 && strstr(why, cases[i].want),
			  "%s: said \"%s\"", cases[i].name, why);
		unlink(path);
	}
	cr_expect(strstr(vc_nvm_diagnose_file(dir, why, sizeof(why)), "is a directory"), "%s", why);
	snprintf(path, sizeof(path), "%s/none", dir);
	cr_expect(strstr(vc_nvm_diagnose_file(path, why, sizeof(why)), "no such file"), "%s", why);
	rmdir(dir);
	free(good);
}

/*
 * A child commits transactions as fast as it can and reports each committed
 * counter through a pipe; the parent kills it with SIGKILL at varying
 * moments. The image must then open cleanly with a counter at least the
 * last one reported (reported = committed) and with both copies of the
 * counter equal (never half a transaction).
 */
static void committer(const char *path, int out_fd, bool sync)
{
	struct vc_storage *f;
	struct vc_nvm n = { .sync_on_commit = sync };
	struct vc_nvm_object o;
	if (vc_storage_file_open(path, &f) != VC_OK || vc_nvm_open(&n, f) != VC_OK ||
	    vc_nvm_find(&n, 1, 1, &o) != VC_OK)
		_exit(3);
	/* Continue from what the image holds: the counter only grows. */
	const uint8_t *cur = vc_nvm_peek(&n, o.off, 4);
	uint32_t start = (uint32_t)cur[0] << 24 | (uint32_t)cur[1] << 16 | (uint32_t)cur[2] << 8 | cur[3];
	for (uint32_t i = start + 1;; i++) {
		uint8_t v[4] = { (uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
		if (vc_nvm_begin(&n) != VC_OK || vc_nvm_write(&n, o.off, v, 4) != VC_OK ||
		    vc_nvm_write(&n, o.off + 2000, v, 4) != VC_OK || vc_nvm_commit(&n) != VC_OK)
			_exit(4);
		if (write(out_fd, &i, sizeof(i)) != sizeof(i))
			_exit(5);
	}
}

static void kill9_rounds(bool sync, int rounds)
{
	struct vc_storage *f;
	struct vc_nvm n = { 0 };
	struct vc_nvm_object o;
	cr_assert_eq(vc_storage_file_create(image_path, IMG, &f), VC_OK);
	cr_assert_eq(vc_nvm_format(f, 4096), VC_OK);
	cr_assert_eq(vc_nvm_open(&n, f), VC_OK);
	cr_assert_eq(vc_nvm_alloc(&n, 1, 1, 4096, &o), VC_OK);
	vc_nvm_close(&n);
	vc_storage_destroy(f);

	uint32_t floor = 0;
	for (int r = 0; r < rounds; r++) {
		int p[2];
		cr_assert_eq(pipe(p), 0);
		pid_t pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0) {
			close(p[0]);
			committer(image_path, p[1], sync);
		}
		close(p[1]);
		/* Let it commit for a varying time, then pull the plug. */
		usleep((useconds_t)(200 + (r * 997) % 3000));
		kill(pid, SIGKILL);
		uint32_t last = 0, v;
		while (read(p[0], &v, sizeof(v)) == sizeof(v))
			last = v;
		close(p[0]);
		int status;
		waitpid(pid, &status, 0);
		cr_assert(WIFSIGNALED(status), "the committer died only by SIGKILL (status %d)", status);

		cr_assert_eq(vc_storage_file_open(image_path, &f), VC_OK);
		cr_assert_eq(vc_nvm_open(&n, f), VC_OK);
		cr_assert_eq(vc_nvm_find(&n, 1, 1, &o), VC_OK);
		uint8_t a[4], b[4];
		vc_nvm_read(&n, o.off, a, 4);
		vc_nvm_read(&n, o.off + 2000, b, 4);
		cr_assert_arr_eq(a, b, 4, "both halves of a transaction, or neither");
		uint32_t value = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
		cr_assert_geq(value, last, "round %d: committed %u, image has %u", r, last, value);
		cr_assert_geq(value, floor);
		floor = value;
		vc_nvm_close(&n);
		vc_storage_destroy(f);
	}
}

Test(nvm_file, kill9_loses_no_committed_transaction)
{
	kill9_rounds(false, 25);
}

Test(nvm_file, kill9_with_sync)
{
	kill9_rounds(true, 5);
}
