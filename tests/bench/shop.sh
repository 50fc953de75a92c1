#!/bin/sh
# shop.sh - the shop's benchmarks of `make bench` (tests/bench/bench_shop),
# with 10,000 products, on SQLite and on a PostgreSQL this script starts:
# the latency of catalogue pages, product pages and searches beside the
# stylesheet (no database), and checkouts per second end to end with
# in-process cards (2,000 orders, 64 cards, 8 threads).
# Environment: top_builddir. ECARD_BENCH_SHOP_ARGS overrides
# "PRODUCTS CHECKOUTS CARDS THREADS".
set -u
: "${top_builddir:?is not set; run this through make bench}"
bench=$top_builddir/tests/bench/bench_shop
args=${ECARD_BENCH_SHOP_ARGS:-10000 2000 64 8}
work=$(mktemp -d /tmp/ecard-bench-shop-XXXXXX)
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
failed=0

# shellcheck disable=SC2086
"$bench" "sqlite:$work/shop.db" $args || failed=1
sync
# shellcheck source=tests/bench/pg.sh
. "$(dirname "$0")/pg.sh"
start_pg || exit $failed
echo
# shellcheck disable=SC2086
"$bench" "$pg" $args || failed=1
exit $failed
