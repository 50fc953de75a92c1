#!/bin/sh
# packages.sh - the Debian packages, built and used as a Debian user would:
# dpkg-buildpackage from the release tarball (BUILD/ecard-VERSION.tar.gz,
# made by make dist or distcheck), lintian without an error, then the
# packages installed into a bare Debian 12 root made by debootstrap, where
# pcscd, vpcd and the packaged ecard-vcard serve a new card and the
# packaged ecard lists it and talks to it.
#
# usage: packages.sh BUILD-DIR      (as root; needs the Debian archive)
set -eu
build=$(cd "$1" && pwd)
tarball=$(ls "$build"/ecard-*.tar.gz | head -1)
work=$(mktemp -d)
root=$work/root
cleanup() {
	rm -rf "$work"
}
trap cleanup EXIT
say() { echo "packages: $*"; }

tar -xzf "$tarball" -C "$work"
src=$(ls -d "$work"/ecard-*/)
say "building from $(basename "$tarball")"
(cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
	dpkg-buildpackage -b -us -uc >"$work/build.log" 2>&1) || {
	tail -30 "$work/build.log"
	say "dpkg-buildpackage failed"
	exit 1
}
debs=$(ls "$work"/*.deb | grep -v dbgsym)
say "built: $(for d in $debs; do basename "$d"; done | tr '\n' ' ')"

lintian --allow-root --fail-on error "$work"/*.changes >"$work/lintian.log" 2>&1 || {
	cat "$work/lintian.log"
	say "lintian found errors"
	exit 1
}
say "lintian: $(grep -c '^E:' "$work/lintian.log") errors, $(grep -c '^W:' "$work/lintian.log") warnings"

# A bare Debian 12, with what the packages depend on from the archive.
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
mirror=${mirror:-http://deb.debian.org/debian}
say "debootstrap bookworm from $mirror"
debootstrap --variant=minbase --include=pcscd,vsmartcard-vpcd,libssl3,libzip4,libusb-1.0-0,libjansson4,libcurl4,libmicrohttpd12,libsqlite3-0,libpq5,libargon2-1 \
	bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
	tail -20 "$work/debootstrap.log"
	say "debootstrap failed"
	exit 1
}
mkdir -p "$root/tmp/debs"
cp $debs "$root/tmp/debs/"
chroot "$root" sh -c 'dpkg -i /tmp/debs/*.deb' >"$work/dpkg.log" 2>&1 || {
	cat "$work/dpkg.log"
	say "the packages do not install"
	exit 1
}
cat >"$root/tmp/use.sh" <<'USE'
#!/bin/sh
mkdir -p /run/pcscd
pcscd -f -a >/tmp/pcscd.log 2>&1 &
pcscd=$!
ecard-vcard --new --image /tmp/card.img >/dev/null
ecard-vcard --image /tmp/card.img --log-level error &
vcard=$!
i=0
until ecard readers 2>/dev/null | grep -q "card present"; do
	i=$((i + 1))
	[ $i -gt 100 ] && break
	sleep 0.2
done
ecard readers
ecard apdu 00A4040008F045434152444401
rc=$?
[ -f /usr/lib/pcsc/drivers/ifd-ecard.bundle/Contents/Info.plist ] || rc=1
[ -f /usr/share/man/man1/ecard.1.gz ] || rc=1
kill $vcard $pcscd
wait
exit $rc
USE
chmod +x "$root/tmp/use.sh"
# In a mount namespace of its own: /proc and /dev for pcscd, gone with it.
if timeout 120 unshare -m sh -c "mount -t proc proc '$root/proc' && mount --bind /dev '$root/dev' &&
	chroot '$root' /tmp/use.sh" >"$work/use.log" 2>&1 &&
	grep -q "card present" "$work/use.log" && grep -q "^SW 9000" "$work/use.log"; then
	sed 's/^/packages: in the bare root: /' "$work/use.log"
	say "installed into a bare Debian 12 root: ecard talks to the packaged virtual card"
else
	cat "$work/use.log"
	say "the installed packages did not work in the bare root"
	exit 1
fi
