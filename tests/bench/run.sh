#!/bin/sh
# run.sh - the round-trip benchmark behind `make bench`.
#
# Puts three virtual cards behind a private pcscd + vpcd and times the same
# APDU against each with tests/bench/rtt:
#   echo   tests/bench/echo_card, a card that does nothing: the floor, i.e.
#          the cost of pcscd + vpcd alone;
#   ecard  ecard-vcard with a fresh card image;
#   vicc   vsmartcard's Python card, the reference we mean to beat.
# Targets: ecard-vcard within 1.25x of the echo card, and at least 100x
# faster than vicc. A missed target is reported, not an error; the script
# fails only when the benchmark itself cannot run.
#
# Environment (set by `make bench`): top_builddir, top_srcdir, PCSCD,
# VPCD_DRIVER. Optional: ECARD_BENCH_N (APDUs for echo and ecard, 2000),
# ECARD_BENCH_VICC_N (APDUs for vicc, 100), ECARD_BENCH_APDU (hex,
# 80CA000000).
set -u

: "${top_builddir:?is not set; run this through make bench}"
: "${top_srcdir:?is not set; run this through make bench}"
: "${PCSCD:?is not set; configure did not find pcscd (install the Debian package pcscd)}"
: "${VPCD_DRIVER:?is not set; configure did not find libifdvpcd.so (install vsmartcard-vpcd)}"

# pcscd's socket path is fixed, so run in a mount namespace with a private
# /run/pcscd: the benchmark never meets a system pcscd or a parallel test.
if [ "${ECARD_IN_NAMESPACE:-}" != 1 ]; then
	exec "$top_srcdir/tests/integration/in-namespace.sh" sh "$0" "$@"
fi

n_apdus=${ECARD_BENCH_N:-2000}
n_vicc=${ECARD_BENCH_VICC_N:-100}
bench_apdu=${ECARD_BENCH_APDU:-80CA000000}
bench_dir=$top_builddir/tests/bench
vcard=$top_builddir/ecard-vcard
vicc=/usr/bin/vicc
vicc_python=/usr/bin/python3

die() {
	echo "run.sh: $*" >&2
	exit 1
}

for tool in "$bench_dir/echo_card" "$bench_dir/rtt"; do
	[ -x "$tool" ] || die "$tool is missing; build it with make bench."
done
[ -x "$PCSCD" ] || die "pcscd ($PCSCD) is not executable."
[ -f "$VPCD_DRIVER" ] || die "vpcd driver $VPCD_DRIVER is missing; install vsmartcard-vpcd."

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ecard-bench.XXXXXX") || die "cannot make a temporary directory."
started_pids=

# Stops one of our processes: politely first, then for sure.
stop_pid() {
	kill "$1" 2>/dev/null || return 0
	tries=0
	while kill -0 "$1" 2>/dev/null && [ "$tries" -lt 30 ]; do
		sleep 0.1
		tries=$((tries + 1))
	done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

cleanup() {
	# Cards first, pcscd last, so that pcscd does not log them vanishing
	# while it is going down.
	for pid in $started_pids; do
		stop_pid "$pid"
	done
	started_pids=
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Remembers a background process for cleanup. The newest goes first, so
# pcscd, started before any card, is stopped after all of them.
started() {
	started_pids="$1 $started_pids"
}

# True if anything on this machine uses TCP port $1 in any state.
port_in_use() {
	hex=$(printf ':%04X' "$1")
	cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
		awk -v p="$hex" 'substr($2, length($2) - 4) == p { found = 1 } END { exit !found }'
}

# Each vpcd entry listens on PORT (slot 0) and PORT+1 (slot 1), so three
# entries need six ports. They are taken above the kernel's usual ephemeral
# range (32768-60999) so that no outgoing connection holds them by chance.
choose_ports() {
	attempt=0
	base=$((61000 + ($$ % 740) * 6))
	while [ "$attempt" -lt 50 ]; do
		busy=
		for p in 0 1 2 3 4 5; do
			port_in_use $((base + p)) && busy=1
		done
		if [ -z "$busy" ]; then
			port_echo=$base
			port_ecard=$((base + 2))
			port_vicc=$((base + 4))
			return 0
		fi
		base=$((base + 6))
		[ "$base" -gt 65520 ] && base=61000
		attempt=$((attempt + 1))
	done
	die "found no six free TCP ports between 61000 and 65535."
}

write_reader_conf() {
	mkdir "$tmp/reader.conf.d" || die "cannot write $tmp/reader.conf.d."
	for entry in "bench-echo $port_echo" "bench-ecard $port_ecard" "bench-vicc $port_vicc"; do
		set -- $entry
		hex=$(printf '0x%X' "$2")
		printf 'FRIENDLYNAME "%s"\nDEVICENAME /dev/null:%s\nLIBPATH %s\nCHANNELID %s\n\n' \
			"$1" "$hex" "$VPCD_DRIVER" "$hex"
	done >"$tmp/reader.conf.d/bench"
}

start_pcscd() {
	echo "starting pcscd..."
	"$PCSCD" -f -c "$tmp/reader.conf.d" >"$tmp/pcscd.log" 2>&1 &
	pcscd_pid=$!
	started "$pcscd_pid"
	tries=0
	while [ ! -S /run/pcscd/pcscd.comm ]; do
		if ! kill -0 "$pcscd_pid" 2>/dev/null || [ "$tries" -ge 100 ]; then
			tail -n 20 "$tmp/pcscd.log" >&2
			die "pcscd did not start (no /run/pcscd/pcscd.comm after 10 s)."
		fi
		sleep 0.1
		tries=$((tries + 1))
	done
}

# Runs rtt and keeps its line in $tmp/NAME.rtt; returns rtt's status.
measure() {
	name=$1 reader=$2 count=$3
	echo "measuring $name card ($count APDUs)..."
	"$bench_dir/rtt" "$reader" "$count" "$bench_apdu" >"$tmp/$name.rtt"
	status=$?
	[ "$status" -eq 0 ] && cat "$tmp/$name.rtt"
	return "$status"
}

# Prints field KEY (us_per_apdu, median_us, p99_us) of a measurement, or
# nothing if that card was not measured.
field() {
	[ -s "$tmp/$1.rtt" ] || return 0
	awk -v key="$2" '{
		for (i = 1; i <= NF; i++)
			if (index($i, key "=") == 1)
				print substr($i, length(key) + 2)
	}' "$tmp/$1.rtt"
}

failed=

choose_ports
write_reader_conf
start_pcscd

echo "starting echo card on port $port_echo..."
"$bench_dir/echo_card" 127.0.0.1 "$port_echo" 2>"$tmp/echo.log" &
started $!

have_ecard=
if [ -x "$vcard" ]; then
	echo "starting ecard-vcard on port $port_ecard..."
	if "$vcard" --new --image "$tmp/card.img" >"$tmp/ecard.log" 2>&1; then
		"$vcard" --image "$tmp/card.img" --vpcd "127.0.0.1:$port_ecard" >>"$tmp/ecard.log" 2>&1 &
		started $!
		have_ecard=1
	else
		cat "$tmp/ecard.log" >&2
		echo "ecard-vcard --new failed; skipping the ecard row." >&2
		failed=1
	fi
else
	echo "ecard-vcard: not built"
fi

have_vicc=
if [ -x "$vicc" ] && [ -x "$vicc_python" ]; then
	echo "starting vicc on port $port_vicc..."
	# Debian's vicc needs its own package on the path and the long-gone
	# "sha" module, which the shim provides from hashlib.
	mkdir "$tmp/shim" && echo 'from hashlib import sha1 as new' >"$tmp/shim/sha.py"
	PYTHONPATH=/usr/lib/python3/site-packages/virtualsmartcard:$tmp/shim \
		"$vicc_python" "$vicc" -t iso7816 --hostname 127.0.0.1 --port "$port_vicc" \
		>"$tmp/vicc.log" 2>&1 &
	started $!
	have_vicc=1
else
	echo "vicc: not installed (vsmartcard-vpicc); skipping the vicc row"
fi

measure echo "bench-echo" "$n_apdus" || die "the echo card could not be measured; see the message above."
if [ -n "$have_ecard" ]; then
	if ! measure ecard "bench-ecard" "$n_apdus"; then
		echo "ecard-vcard could not be measured; its log:" >&2
		cat "$tmp/ecard.log" >&2
		failed=1
	fi
fi
if [ -n "$have_vicc" ]; then
	if ! measure vicc "bench-vicc" "$n_vicc"; then
		echo "vicc could not be measured; its log:" >&2
		tail -n 20 "$tmp/vicc.log" >&2
		failed=1
	fi
fi

echo_mean=$(field echo us_per_apdu)
ecard_mean=$(field ecard us_per_apdu)
vicc_mean=$(field vicc us_per_apdu)

echo
echo "APDU $bench_apdu, round trip through pcscd + vpcd (microseconds per APDU)"
printf '%-8s %12s %12s %12s %10s\n' card mean median p99 "vs echo"
for name in echo ecard vicc; do
	mean=$(field "$name" us_per_apdu)
	if [ -z "$mean" ]; then
		printf '%-8s %12s\n' "$name" "not measured"
		continue
	fi
	ratio=$(awk -v a="$mean" -v b="$echo_mean" 'BEGIN { printf "%.2fx", a / b }')
	printf '%-8s %12s %12s %12s %10s\n' "$name" "$mean" \
		"$(field "$name" median_us)" "$(field "$name" p99_us)" "$ratio"
done
if [ -n "$ecard_mean" ] && [ -n "$vicc_mean" ]; then
	awk -v v="$vicc_mean" -v e="$ecard_mean" \
		'BEGIN { printf "vicc / ecard speed-up: %.0fx\n", v / e }'
fi

echo
# Prints PASS or MISS for "VALUE <= LIMIT", or SKIP if a value is missing.
verdict() {
	if [ -z "$1" ] || [ -z "$2" ]; then
		echo SKIP
	else
		awk -v a="$1" -v b="$2" 'BEGIN { print (a <= b ? "PASS" : "MISS") }'
	fi
}
limit_echo=$( [ -n "$echo_mean" ] && awk -v e="$echo_mean" 'BEGIN { print e * 1.25 }')
limit_vicc=$( [ -n "$vicc_mean" ] && awk -v v="$vicc_mean" 'BEGIN { print v / 100 }')
echo "$(verdict "$ecard_mean" "$limit_echo"): ecard-vcard within 1.25x of the echo card"
echo "$(verdict "$ecard_mean" "$limit_vicc"): ecard-vcard at least 100x faster than vicc"

if [ -x "$bench_dir/bench_inproc" ]; then
	echo
	echo "running bench_inproc..."
	"$bench_dir/bench_inproc" || failed=1
fi

[ -z "$failed" ]
