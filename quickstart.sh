#!/bin/sh
# quickstart.sh - install what ecard needs on Debian 12, build it, and then
#   demo   run the virtual card behind a private pcscd and talk to it
#   test   run the whole test suite (warnings as errors, then the unit
#          tests again under AddressSanitizer + UndefinedBehaviorSanitizer,
#          then make distcheck)
#   bench  run the benchmarks (make bench)
#
# Debian packages are installed with apt-get only when missing (as root, or
# through sudo). The build goes to ./build; nothing is installed system-wide
# except those packages.
set -eu

cd "$(dirname "$0")"
top=$(pwd)
mode=${1:-}
case "$mode" in
demo | test | bench) ;;
-h | --help)
	sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
*)
	echo "usage: ./quickstart.sh demo|test|bench" >&2
	exit 2
	;;
esac

say() { printf '\n== %s\n' "$*"; }

# --- Debian packages --------------------------------------------------------
build_deps="build-essential autoconf automake libtool pkg-config \
libpcsclite-dev libssl-dev libcriterion-dev libusb-1.0-0-dev libzip-dev scdoc \
libjansson-dev libcurl4-openssl-dev libmicrohttpd-dev libsqlite3-dev libpq-dev libargon2-dev"
run_deps="pcscd vsmartcard-vpcd opensc util-linux curl"
bench_deps="vsmartcard-vpicc python3-virtualsmartcard python3-pycryptodome"
# The drivers on QEMU's USB CCID reader (tests/qemu): QEMU, busybox for the
# guest, libccid as the reference driver; systemd-analyze for the unit.
qemu_deps="qemu-system-x86 busybox-static libccid systemd"
# The Debian packages: built, checked and installed into a bare root.
package_deps="dpkg-dev debhelper lintian debootstrap"
# The over-the-air tests: a real PostgreSQL (started by the test itself),
# the SERAM schema checked by python3-jsonschema, certificates made with
# openssl.
ota_deps="postgresql python3-jsonschema openssl"
# the issuer centre and the shop in a real browser (tests/integration/test_centre.c,
# test_shop.c; the demo's checkout)
web_deps="chromium chromium-driver python3-selenium"

wanted="$build_deps $run_deps"
[ "$mode" = bench ] && wanted="$wanted $bench_deps"
# the demo's checkout runs in a headless browser, over HTTPS
[ "$mode" = demo ] && wanted="$wanted openssl $web_deps"
[ "$mode" = test ] && wanted="$wanted $qemu_deps $package_deps $ota_deps $web_deps"
missing=
for p in $wanted; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	say "installing Debian packages:$missing"
	if [ "$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi
	$sudo apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends $missing
fi
# Debian starts a system pcscd on install; ours run in private namespaces,
# so it does no harm, but it is not needed either.

# --- build --------------------------------------------------------------------
jobs=$(nproc 2>/dev/null || echo 2)
build() { # build DIR CONFIGURE-ARGS...
	dir=$1
	shift
	mkdir -p "$dir"
	(cd "$dir" && "$top/configure" -q "$@" && make -j"$jobs" -s)
}
say "building"
[ -x configure ] && [ configure -nt configure.ac ] && [ configure -nt Makefile.am ] || autoreconf -fi
build build --enable-werror

# --- modes ----------------------------------------------------------------------
case "$mode" in
demo)
	exec "$top/tests/integration/in-namespace.sh" "$top/tests/demo.sh" "$top/build"
	;;
bench)
	(cd build && make -s bench)
	;;
test)
	status=0
	say "make check (warnings are errors)"
	(cd build && make -j"$jobs" check) || status=1
	say "unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
	build build-sanitizers --enable-werror --enable-sanitizers
	# The settlement soak and the fuzz runs shorter than in make check,
	# which ran them in full just before.
	(cd build-sanitizers && ASAN_OPTIONS=detect_leaks=1 ECARD_TEST_SOAK=2000 ECARD_FUZZ_SECONDS=8 \
		make -j"$jobs" check-unit) || status=1
	say "make distcheck"
	# The integration tests and the QEMU guests ran in make check above:
	# distcheck builds and unit-tests the tarball, without them (and with
	# short fuzz runs: the full ones ran twice above).
	(cd build && ECARD_INTEGRATION=skip ECARD_QEMU_TEST=skip ECARD_FUZZ_SECONDS=3 make -s distcheck DISTCHECK_CONFIGURE_FLAGS="--enable-werror" >distcheck.log 2>&1 &&
		grep -E "archives ready|ecard-.*tar" distcheck.log | head -3) ||
		{ tail -40 build/distcheck.log; status=1; }

	say "make install DESTDIR=... (driver bundle, udev rules, man pages, completion, unit, library)"
	dest=$(mktemp -d)
	drop=$(pkg-config --variable usbdropdir libpcsclite)
	usr=$dest/usr/local
	# A program built against the installed headers and library, found
	# through the installed pkg-config file.
	uses_library() {
		mkdir -p "$dest/pc" &&
			sed "s|^prefix=.*|prefix=$usr|" "$usr/lib/pkgconfig/ecard.pc" >"$dest/pc/ecard.pc" &&
			printf '#include "pcsc.h"\nint main(void) { struct ec_pcsc pc; ec_pcsc_init(&pc, 0); return 0; }\n' \
				>"$dest/use.c" &&
			cc -o "$dest/use" "$dest/use.c" \
				$(PKG_CONFIG_PATH=$dest/pc pkg-config --cflags --libs ecard) &&
			LD_LIBRARY_PATH=$usr/lib "$dest/use" && rm -rf "$dest/use" "$dest/use.c" "$dest/pc"
	}
	if (cd build && make -s install DESTDIR="$dest" >/dev/null) &&
		[ -f "$dest$drop/ifd-ecard.bundle/Contents/Info.plist" ] &&
		[ -f "$dest$drop/ifd-ecard.bundle/Contents/Linux/libifd-ecard.so" ] &&
		[ -f "$dest/lib/udev/rules.d/92-ecard.rules" ] &&
		[ -f "$usr/share/man/man1/ecard.1" ] && [ -f "$usr/share/man/man8/ifd-ecard.8" ] &&
		[ -f "$usr/share/bash-completion/completions/ecard" ] &&
		[ -f "$usr/lib/systemd/system/ecard-vcard@.service" ] &&
		uses_library &&
		(cd build && make -s uninstall DESTDIR="$dest" >/dev/null) &&
		[ -z "$(find "$dest" -type f)" ]; then
		echo "installed (driver into $drop/ifd-ecard.bundle, rules into /lib/udev/rules.d, man pages, completion, unit, a program built with pkg-config ecard) and uninstalled without a trace"
	else
		echo "make install / uninstall with DESTDIR did not give the expected files:"
		find "$dest" | sed 's/^/  /'
		status=1
	fi
	rm -rf "$dest"

	say "Debian packages (built from the tarball, lintian, installed into a bare Debian 12 root)"
	if [ "$(id -u)" = 0 ]; then
		if timeout 1200 sh tests/packages.sh build >build/packages.log 2>&1; then
			grep -a "^packages: " build/packages.log
		else
			tail -40 build/packages.log
			status=1
		fi
	else
		echo "packages: skipped: debootstrap and chroot need root"
	fi

	say "summary"
	# Criterion's own summary lines, one per test program, then the total.
	unit_logs() { find "$1/tests/unit" -name 'test_*.log' | sort; }
	for log in $(unit_logs build) build/tests/integration/*.log $(unit_logs build-sanitizers); do
		[ -f "$log" ] || continue
		case "$log" in *test-suite.log) continue ;; esac
		line=$(grep -a "Synthesis:" "$log" | tail -1)
		printf '%-50s %s\n' "$log" "${line:-no Criterion summary (see the log)}"
	done
	# What the fault-injection loops covered (tear points per operation).
	grep -ah "^tearing" $(unit_logs build) 2>/dev/null || true
	# The reader driver: faults on the CCID wire, card events.
	grep -ah "^ifd: " build/tests/integration/ifd.log 2>/dev/null || true
	grep -ah "^cli: " build/tests/integration/cli.log 2>/dev/null || true
	# Both drivers on QEMU's USB CCID reader, side by side.
	grep -ah "^qemu: " build/tests/qemu/usb-ccid.log 2>/dev/null || true
	# The fuzz runs: the driver's codecs, the card, the host's parsers.
	grep -ah "iterations in" build/tests/fuzz/*.log build-sanitizers/tests/fuzz/*.log 2>/dev/null || true
	for log in build/test-suite.log build-sanitizers/test-suite.log; do
		if [ -f "$log" ] && grep -q "^# FAIL: *[1-9]" "$log"; then
			echo "---- $log"
			cat "$log"
		fi
	done
	total=$(cat $(unit_logs build) build/tests/integration/*.log \
		$(unit_logs build-sanitizers) 2>/dev/null |
		grep -a "Synthesis:" | awk -F'|' '{
			for (i = 1; i <= NF; i++) {
				if ($i ~ /Passing:/) { split($i, a, ":"); p += a[2] }
				if ($i ~ /Failing:/) { split($i, a, ":"); f += a[2] }
				if ($i ~ /Crashing:/) { split($i, a, ":"); f += a[2] }
			}
		} END { printf "%d passed, %d failed", p, f }')
	echo
	echo "$total"
	exit $status
	;;
esac
