/*
 * test_keyfile.c - key files (host/keyfile.c): secrets written 0600 whatever
 * the umask and refused when others can read them, public files 0644, no
 * overwriting unless asked, no temporary file left behind, malformed files
 * refused. Each test writes in a fresh temporary directory.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyfile.h"
#include "test_support.h"

/* ---- key files ---- */

TestSuite(keyfile, .init = ts_tmpdir_init, .fini = ts_tmpdir_fini);

static void write_sample(const char *path, unsigned flags, enum ec_status want)
{
	static const uint8_t key[4] = { 0xDE, 0xAD, 0xBE, 0xEF };
	struct ec_keyfile kf;
	struct ec_error err = { 0 };
	ec_keyfile_init(&kf);
	ec_keyfile_add_comment(&kf, "a test key");
	ec_keyfile_add_hex(&kf, "key", key, sizeof(key));
	ec_keyfile_add_u32(&kf, "number", 4294967295u);
	cr_assert_eq(ec_keyfile_write(&kf, path, flags, &err), want, "%s", err.text);
}

Test(keyfile, secret_written_0600_whatever_the_umask_and_read_back)
{
	char path[128];
	struct ec_keyfile kf;
	struct ec_error err = { 0 };
	uint8_t key[4];
	uint32_t n;

	umask(0);
	ts_tmp_path(path, sizeof(path), "secret.key");
	write_sample(path, EC_KEYFILE_SECRET, EC_OK);
	cr_assert_eq(ts_file_mode(path), 0600);
	cr_assert_eq(ec_keyfile_read(&kf, path, true, &err), EC_OK, "%s", err.text);
	cr_assert_eq(kf.count, 2);
	cr_assert_eq(ec_keyfile_get_hex(&kf, path, "key", key, 4, &err), EC_OK);
	cr_assert_arr_eq(key, "\xDE\xAD\xBE\xEF", 4);
	cr_assert_eq(ec_keyfile_get_u32(&kf, path, "number", &n, &err), EC_OK);
	cr_assert_eq(n, 4294967295u);
	cr_assert_eq(ec_keyfile_get_hex(&kf, path, "key", key, 3, &err), EC_ERR_FORMAT);
	cr_assert_eq(ec_keyfile_get_hex(&kf, path, "missing", key, 4, &err), EC_ERR_FORMAT);
	cr_assert_null(ec_keyfile_get(&kf, "missing"));
	ec_keyfile_wipe(&kf);
}

Test(keyfile, public_file_is_0644_even_under_a_strict_umask)
{
	char path[128];
	umask(077);
	write_sample(ts_tmp_path(path, sizeof(path), "public"), 0, EC_OK);
	cr_assert_eq(ts_file_mode(path), 0644);
}

Test(keyfile, refuses_to_read_a_secret_others_can_read)
{
	char path[128];
	struct ec_keyfile kf;
	struct ec_error err = { 0 };

	write_sample(ts_tmp_path(path, sizeof(path), "loose.key"), EC_KEYFILE_SECRET, EC_OK);
	cr_assert_eq(chmod(path, 0644), 0);
	cr_assert_eq(ec_keyfile_read(&kf, path, true, &err), EC_ERR_INSECURE);
	cr_assert_eq(err.status, EC_ERR_INSECURE);
	cr_assert_not_null(strstr(err.text, "0644"), "%s", err.text);
	cr_assert_not_null(strstr(err.text, "chmod 600"), "%s", err.text);
	cr_assert_eq(kf.count, 0, "nothing of a refused file is kept");

	cr_assert_eq(chmod(path, 0640), 0);
	cr_assert_eq(ec_keyfile_read(&kf, path, true, &err), EC_ERR_INSECURE);
	/* The same file read as a public one is fine. */
	cr_assert_eq(ec_keyfile_read(&kf, path, false, &err), EC_OK);
	cr_assert_eq(chmod(path, 0600), 0);
	cr_assert_eq(ec_keyfile_read(&kf, path, true, &err), EC_OK);
}

Test(keyfile, never_overwrites_unless_asked_and_leaves_no_temporary_file)
{
	char path[128];
	struct ec_keyfile kf;
	struct ec_error err = { 0 };

	ts_tmp_path(path, sizeof(path), "k");
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("old=01\n", f);
	fclose(f);
	chmod(path, 0600);
	write_sample(path, EC_KEYFILE_SECRET, EC_ERR_EXISTS);
	cr_assert_eq(ec_keyfile_read(&kf, path, true, &err), EC_OK);
	cr_assert_str_eq(ec_keyfile_get(&kf, "old"), "01", "the old file is untouched");

	write_sample(path, EC_KEYFILE_SECRET | EC_KEYFILE_OVERWRITE, EC_OK);
	cr_assert_eq(ec_keyfile_read(&kf, path, true, &err), EC_OK);
	cr_assert_null(ec_keyfile_get(&kf, "old"));
	cr_assert_str_eq(ec_keyfile_get(&kf, "key"), "DEADBEEF");

	/* Only the file itself is in the directory: no temporaries left over. */
	DIR *d = opendir(ts_tmpdir());
	cr_assert_not_null(d);
	int entries = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			entries++;
	closedir(d);
	cr_assert_eq(entries, 1);
}

static enum ec_status read_text(const char *content, struct ec_error *err)
{
	char path[128];
	struct ec_keyfile kf;
	ts_tmp_path(path, sizeof(path), "t");
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(content, f);
	fclose(f);
	enum ec_status st = ec_keyfile_read(&kf, path, false, err);
	unlink(path);
	return st;
}

Test(keyfile, malformed_files_are_refused)
{
	struct ec_error err = { 0 };
	cr_assert_eq(read_text("# comment\n\n  a=1  \r\nb=2", &err), EC_OK, "%s", err.text);
	cr_assert_eq(read_text("no equals sign\n", &err), EC_ERR_FORMAT);
	cr_assert_not_null(strstr(err.text, "line 1"), "%s", err.text);
	cr_assert_eq(read_text("a=1\na=2\n", &err), EC_ERR_FORMAT);
	cr_assert_eq(read_text("=1\n", &err), EC_ERR_FORMAT);
	cr_assert_eq(read_text("bad name=1\n", &err), EC_ERR_FORMAT);

	char many[600] = "";
	for (int i = 0; i < EC_KEYFILE_ENTRIES + 1; i++) {
		char line[16];
		snprintf(line, sizeof(line), "k%d=1\n", i);
		strcat(many, line);
	}
	cr_assert_eq(read_text(many, &err), EC_ERR_FORMAT);

	char path[128];
	struct ec_keyfile kf;
	cr_assert_eq(ec_keyfile_read(&kf, ts_tmp_path(path, sizeof(path), "absent"), false, &err),
		     EC_ERR_FILE);
	cr_assert_eq(ec_keyfile_read(&kf, ts_tmpdir(), false, &err), EC_ERR_FORMAT, "a directory");
}
