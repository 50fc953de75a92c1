#!/bin/sh
# ota.sh - the over-the-air benchmarks of `make bench` (tests/bench/bench_ota):
#  - latency: a 64 KiB CAP through ecard-netfault with 50 ms each way,
#    batched against one APDU per exchange;
#  - capacity: ecard-server on SQLite, then on a PostgreSQL this script
#    starts (initdb into a temporary directory, as nobody when run as
#    root), each driven by N in-process cards and agents at once: 100,
#    1,000 and 10,000 as fast as they go, and 1,000 paced at one exchange
#    a second each.
#  - online top-ups through the same servers, on cards the issuer
#    personalized: 1,000 at once, and paced: 2,000 on SQLite (about 600 a
#    second), 1,200 on PostgreSQL (about 360 a second);
#  - settlement of 1,000,000 signed debit records (tests/bench/bench_settle)
#    on SQLite, beside the rate of ECDSA verification alone.
# Environment: top_builddir. ECARD_BENCH_OTA_SESSIONS and
# ECARD_BENCH_TOPUP_SESSIONS override the lists.
set -u
: "${top_builddir:?is not set; run this through make bench}"
bench=$top_builddir/tests/bench/bench_ota
server=$top_builddir/ecard-server
sessions=${ECARD_BENCH_OTA_SESSIONS:-100 1000 1000/paced 10000}
work=$(mktemp -d /tmp/ecard-bench-ota-XXXXXX)
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
failed=0

"$bench" latency || failed=1

# An issuer, for the top-ups: its keys personalize the cards in memory.
"$top_builddir/ecard" issuer init "$work/issuer" >/dev/null || exit 1
# Paced: each agent one exchange a second, about 0.3 top-ups a second each.
topup_sessions=${ECARD_BENCH_TOPUP_SESSIONS:-1000 2000/paced}
topup_sessions_pg=${ECARD_BENCH_TOPUP_SESSIONS:-1000 1200/paced}

# serve DB-URL THREADS: start ecard-server on it; its URL in $url. SQLite
# takes one writer at a time: two threads keep it busy. PostgreSQL waits on
# its log's fsync at each commit: more threads wait together (group commit).
serve() {
	rm -f "$work/port"
	"$server" serve --db "$1" --test-keys --issuer "$work/issuer" --insecure-http --listen 127.0.0.1:0 \
		--port-file "$work/port" --threads "$2" --quiet >>"$work/server.log" 2>&1 &
	pids="$pids $!"
	for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
	url="http://127.0.0.1:$(cat "$work/port")"
}

echo
echo "ecard-server capacity, SQLite:"
serve "sqlite:$work/ota.db" 2
# shellcheck disable=SC2086
"$bench" capacity "$url" "sqlite:$work/ota.db" $sessions || failed=1
echo "online top-ups (INITIALIZE LOAD, S2, CREDIT, S3, the books), SQLite:"
# shellcheck disable=SC2086
"$bench" topups "$url" "sqlite:$work/ota.db" "$work/issuer" $topup_sessions || failed=1

echo
"$top_builddir/tests/bench/bench_settle" "sqlite:$work/settle.db" || failed=1

# The SQLite runs leave the kernel writing their files back: let it finish,
# so that PostgreSQL's log flushes do not queue behind it.
sync
# shellcheck source=tests/bench/pg.sh
. "$(dirname "$0")/pg.sh"
start_pg || exit $failed
for _ in $(seq 100); do "$server" migrate --db "$pg" >/dev/null 2>&1 && break; sleep 0.1; done
echo
echo "ecard-server capacity, PostgreSQL (fsync on, as installed):"
serve "$pg" 4
# shellcheck disable=SC2086
"$bench" capacity "$url" "$pg" $sessions || failed=1
echo "online top-ups, PostgreSQL:"
# shellcheck disable=SC2086
"$bench" topups "$url" "$pg" "$work/issuer" $topup_sessions_pg || failed=1
exit $failed
