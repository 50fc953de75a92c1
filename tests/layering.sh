#!/bin/sh
# layering.sh - check the folder layering of DESIGN's table on the sources:
# every #include "..." of a folder names a header of that folder or of a
# folder it may use, by its bare name (no directory, no ".."), and no two
# headers share a name (includes are flat, so one would hide the other).
# The build enforces the same with per-target include paths; this says
# which line breaks the rule, and runs without compiling anything.
#
# usage: layering.sh [SRCDIR]     exit 0 when the layering holds
set -eu
top=${1:-${top_srcdir:-.}}
cd "$top"

# folder: the folders it may use (itself first).
rules='common:common
vcard:vcard common
applet:applet vcard common
ifd/codec:ifd/codec common
ifd:ifd ifd/codec common
host:host common
vcard-daemon:vcard-daemon vcard applet host common
ccid-sim:ccid-sim vcard applet ifd/codec common
server:server host common
shop:shop server host common
netfault:netfault common'

status=0
say() {
	echo "layering: $*" >&2
	status=1
}

dupes=$(for d in $(echo "$rules" | cut -d: -f1); do ls "$d"/*.h 2>/dev/null; done |
	sed 's|.*/||' | sort | uniq -d)
[ -z "$dupes" ] || say "header names used in two folders: $dupes"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "$rules" | while IFS=: read -r folder allowed; do
	for f in "$folder"/*.c "$folder"/*.h; do
		[ -f "$f" ] || continue
		sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
			while read -r inc; do
				[ "$inc" = config.h ] && continue
				case "$inc" in
				*/*)
					echo "$f includes \"$inc\": include headers by their bare name"
					continue
					;;
				esac
				found=
				for a in $allowed; do
					[ -f "$a/$inc" ] && found=$a && break
				done
				[ -n "$found" ] && continue
				owner=
				for d in $(echo "$rules" | cut -d: -f1); do
					[ -f "$d/$inc" ] && owner=$d
				done
				if [ -n "$owner" ]; then
					echo "$f includes $owner/$inc: $folder/ may use only $allowed"
				else
					echo "$f includes \"$inc\", which no source folder has"
				fi
			done
	done
done >"$out"
if [ -s "$out" ]; then
	sed 's/^/layering: /' "$out" >&2
	status=1
fi
checked=$(echo "$rules" | while IFS=: read -r folder _; do ls "$folder"/*.c "$folder"/*.h 2>/dev/null; done | wc -l)
[ $status = 0 ] && echo "layering: $checked files in $(echo "$rules" | wc -l) folders follow DESIGN's table"
exit $status
