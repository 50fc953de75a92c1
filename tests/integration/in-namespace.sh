#!/bin/sh
# in-namespace.sh - run a command with a private /run/pcscd.
#
# pcscd's socket path is fixed at /run/pcscd/pcscd.comm. Tests and benchmarks
# start their own pcscd, so each of them runs in a mount namespace of its own
# with a tmpfs on /run/pcscd: it never touches a system pcscd, and several
# can run side by side. As root `unshare -m` is enough; otherwise a user
# namespace maps us to root inside it.
#
# usage: in-namespace.sh COMMAND [ARGS...]
set -eu
if [ "${ECARD_IN_NAMESPACE:-}" != 1 ]; then
	ECARD_IN_NAMESPACE=1
	export ECARD_IN_NAMESPACE
	if [ "$(id -u)" = 0 ]; then
		exec unshare -m --propagation private "$0" "$@"
	fi
	exec unshare -r -m --propagation private "$0" "$@"
fi
mkdir -p /run/pcscd 2>/dev/null || true
if ! mount -t tmpfs -o mode=0755 tmpfs /run/pcscd 2>/dev/null; then
	echo "in-namespace.sh: cannot mount a private /run/pcscd (need root or user namespaces)." >&2
	exit 77
fi
exec "$@"
