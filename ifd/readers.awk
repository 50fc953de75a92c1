# readers.awk - read and check ifd/supported_readers.txt for the two
# generators (gen-info-plist.sh, udev/gen-udev-rules.sh), so that both
# accept exactly the same files and report the same mistakes.
#
# Usage: awk -v src=READERS_TXT -f readers.awk READERS_TXT
#
# Output, one record per line, tab-separated: "reader VVVV PPPP NAME"
# (IDs as 4 lower-case hex digits, the form sysfs uses) for each reader,
# then "class-driver" if the list ends with that marker. A bad line is
# reported on standard error with its line number; after the whole file
# is read, any error means exit status 1 and no output at all.
function fail(msg) {
	printf "%s:%d: %s\n", src, NR, msg | "cat 1>&2"
	errors++
}

function trim(s) {
	sub(/^[ \t]+/, "", s)
	sub(/[ \t]+$/, "", s)
	return s
}

function is_hex16(s) {
	return s ~ /^0[xX][0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f]$/
}

BEGIN {
	count = 0
	errors = 0
	class_line = 0
}

{
	line = $0
	if (line ~ /\r/) {
		fail("the line ends in a carriage return; save the file with Unix line endings")
		next
	}
	body = trim(line)
	if (body == "" || substr(body, 1, 1) == "#")
		next

	if (body == "class-driver") {
		if (class_line)
			fail("class-driver appears twice (first on line " class_line ")")
		else
			class_line = NR
		next
	}
	if (class_line) {
		fail("a reader follows the class-driver line of line " class_line "; class-driver must be the last entry")
		next
	}

	if (NF < 3) {
		fail("expected \"0xVVVV 0xPPPP Friendly Name\", found \"" body "\"")
		next
	}
	vid = $1
	pid = $2
	if (!is_hex16(vid)) {
		fail("the vendor ID \"" vid "\" is not 0x followed by exactly 4 hex digits")
		next
	}
	if (!is_hex16(pid)) {
		fail("the product ID \"" pid "\" is not 0x followed by exactly 4 hex digits")
		next
	}
	name = body
	sub(/^[^ \t]+[ \t]+[^ \t]+[ \t]+/, "", name)
	if (name ~ /[^ -~]/) {
		fail("the name contains a tab, a control character or a non-ASCII byte; use printable ASCII only")
		next
	}
	if (name ~ /[<>]/) {
		fail("the name contains < or >, which pcscd cannot read back from Info.plist")
		next
	}
	if (length(name) > 64) {
		fail("the name is " length(name) " characters long; at most 64 are allowed")
		next
	}
	key = tolower(substr(vid, 3)) ":" tolower(substr(pid, 3))
	if (key in seen) {
		fail("reader " key " is already listed on line " seen[key])
		next
	}
	seen[key] = NR
	count++
	out[count] = sprintf("reader\t%s\t%s\t%s", tolower(substr(vid, 3)), tolower(substr(pid, 3)), name)
}

END {
	if (count == 0 && errors == 0) {
		printf "%s: no reader is listed; add at least one \"0xVVVV 0xPPPP Friendly Name\" line\n", src | "cat 1>&2"
		errors++
	}
	if (errors) {
		close("cat 1>&2")
		exit 1
	}
	for (i = 1; i <= count; i++)
		print out[i]
	if (class_line)
		print "class-driver"
}
