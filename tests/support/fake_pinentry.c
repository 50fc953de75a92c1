/*
 * fake_pinentry.c - a scripted pinentry for the tests: it speaks the
 * Assuan protocol as pinentry does, answers GETPIN and CONFIRM from a
 * script, and writes down everything it was shown.
 *
 *   ECARD_TEST_PINENTRY_ANSWERS  a file, one answer a line, used in turn
 *                                across runs: "pin DIGITS", "cancel",
 *                                "yes", "no" (none left: cancel)
 *   ECARD_TEST_PINENTRY_LOG      a file each command is appended to, its
 *                                text %-decoded: "SETDESC ...", "GETPIN"...
 *
 * The answer used is the one after as many as the log holds GETPIN and
 * CONFIRM lines, so a test reads what each question showed and how many
 * were asked. An answer may end with " & COMMAND": /bin/sh runs the
 * command before the answer is given (a test that pulls the card out of
 * the reader as the holder types the PIN; what the command puts in the
 * background goes on after).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *log_path, *answers_path;

static int asked_before(void)
{
	char line[2048];
	int n = 0;
	FILE *f = log_path ? fopen(log_path, "r") : NULL;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "GETPIN", 6) == 0 || strncmp(line, "CONFIRM", 7) == 0)
			n++;
	fclose(f);
	return n;
}

static void next_answer(char *out, size_t cap)
{
	char line[256];
	int skip = asked_before();
	FILE *f = answers_path ? fopen(answers_path, "r") : NULL;
	snprintf(out, cap, "cancel");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (skip-- > 0)
			continue;
		line[strcspn(line, "\r\n")] = '\0';
		snprintf(out, cap, "%s", line);
		break;
	}
	fclose(f);
}

static void decode(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		unsigned v;
		if (*r == '%' && sscanf(r + 1, "%2x", &v) == 1 && r[1] && r[2]) {
			*w++ = (char)v;
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

static void note(const char *line)
{
	FILE *f = log_path ? fopen(log_path, "a") : NULL;
	if (!f)
		return;
	fprintf(f, "%s\n", line);
	fclose(f);
}

int main(void)
{
	char line[2048], answer[256];

	log_path = getenv("ECARD_TEST_PINENTRY_LOG");
	answers_path = getenv("ECARD_TEST_PINENTRY_ANSWERS");
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("OK Pleased to meet you\n");
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strcmp(line, "GETPIN") == 0) {
			next_answer(answer, sizeof(answer));
			char *amp = strstr(answer, " & ");
			if (amp) {
				*amp = '\0';
				if (system(amp + 3) != 0)
					note("the answer's command failed");
			}
			note("GETPIN");
			if (strncmp(answer, "pin ", 4) == 0)
				printf("D %s\nOK\n", answer + 4);
			else
				printf("ERR 83886179 Operation cancelled <Pinentry>\n");

		} else if (strcmp(line, "CONFIRM") == 0) {
			next_answer(answer, sizeof(answer));
			note("CONFIRM");
			if (strcmp(answer, "yes") == 0)
				printf("OK\n");
			else
				printf("ERR 83886194 Not confirmed <Pinentry>\n");
		} else if (strcmp(line, "BYE") == 0) {
			printf("OK closing connection\n");
			return 0;
		} else {
			decode(line);
			note(line);
			printf("OK\n");
		}
	}
	return 0;
}
