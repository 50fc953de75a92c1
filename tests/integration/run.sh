#!/bin/sh
# run.sh - run one integration test program (tests/integration/test_NAME)
# in a private mount namespace, one test at a time (they share the
# namespace's pcscd socket path). Missing pcscd or vpcd skips (77), unless
# ECARD_REQUIRE_INTEGRATION=1 (CI), where it fails; ECARD_INTEGRATION=skip
# skips on purpose (make distcheck, after make check ran them).
#
# usage: run.sh NAME [criterion options]
name=$1
shift
if [ "${ECARD_INTEGRATION:-}" = skip ]; then
	echo "integration test $name: SKIPPED: ECARD_INTEGRATION=skip"
	exit 77
fi
missing() {
	echo "integration test $name: $1"
	if [ "${ECARD_REQUIRE_INTEGRATION:-0}" = 1 ]; then exit 1; fi
	exit 77
}
[ -n "$PCSCD" ] && [ -x "$PCSCD" ] || missing "pcscd not found: install the Debian package pcscd."
[ -n "$VPCD_DRIVER" ] && [ -f "$VPCD_DRIVER" ] || missing "vpcd not found: install the Debian package vsmartcard-vpcd."
exec "$top_srcdir/tests/integration/in-namespace.sh" \
	"$top_builddir/tests/integration/test_$name" --jobs=1 "$@"
