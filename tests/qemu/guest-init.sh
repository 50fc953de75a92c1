#!/bin/busybox sh
# guest-init.sh - /init of the test guest that usb-ccid.test boots under
# QEMU: a Debian kernel, busybox, pcscd with one reader driver (ifd-ecard
# or libccid, from the kernel command line), and ecard. It runs the checks
# on QEMU's USB CCID reader and prints one line per result on the console
# (ttyS0), which the host reads:
#
#   @@ CHECK name PASS|FAIL detail     a result
#   @@ TIME name MS                    a measurement
#   @@ ASK request                     the host acts (card out, tear...)
#                                      and answers "done ..." on ttyS1
#   @@ END                             all done; the guest powers off
#
# The card in the reader is ecard-vcard --vscard on the host.

PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH LD_LIBRARY_PATH=/usr/local/lib HOME=/root

/bin/busybox mkdir -p /proc /sys /dev /run /tmp /root /var/run
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox mount -t tmpfs tmpfs /run
/bin/busybox mount -t tmpfs tmpfs /tmp
/bin/busybox --install -s /bin

say() { echo "@@ $*"; }
failed=0
check() { # name, status (0 = pass), detail
	if [ "$2" = 0 ]; then say "CHECK $1 PASS $3"; else say "CHECK $1 FAIL $3"; failed=1; fi
}
finish() {
	say END
	sync
	poweroff -f
}
# Milliseconds since boot, from /proc/uptime (10 ms resolution).
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# Ask the host for something and wait for its answer (60 s at most).
ask() {
	say "ASK $*"
	reply=
	read -r -t 60 reply <&3
	[ "${reply%% *}" = done ]
}

driver=$(sed -n 's/.*ecard\.driver=\([a-z-]*\).*/\1/p' /proc/cmdline)
exec 3</dev/ttyS1
stty -F /dev/ttyS1 -echo 2>/dev/null

for m in usb-common usbcore xhci-hcd xhci-pci; do
	insmod "/lib/modules/$m.ko" || say "CHECK modules FAIL insmod $m"
done

# Only the driver under test in pcscd's drop directory.
case "$driver" in
ifd-ecard) rm -rf /usr/lib/pcsc/drivers/ifd-ccid.bundle ;;
libccid) rm -rf /usr/lib/pcsc/drivers/ifd-ecard.bundle ;;
*) say "CHECK driver FAIL unknown driver '$driver'"; finish ;;
esac

# The reader enumerates on the emulated USB bus.
t0=$(now_ms)
i=0
until grep -qi 08e6 /sys/bus/usb/devices/*/idVendor 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 100 ] && { check usb 1 "no 08E6 device on the USB bus"; finish; }
	sleep 0.1
done
mkdir -p /run/pcscd /etc/reader.conf.d
# The drivers log at pcscd's level; with ecard.debug, everything (a log
# line per CCID message slows the exchanges that are timed).
debug=
if grep -q ecard.debug /proc/cmdline; then
	debug=-d
	ECARD_IFD_LOG=debug
	export ECARD_IFD_LOG
fi
pcscd -f -a $debug >/tmp/pcscd.log 2>&1 &
pcscd_pid=$!

# card_state: "present", "empty" or "none" (no reader) for the one reader.
card_state() {
	out=$(ecard readers --json 2>/dev/null) || { echo none; return; }
	case "$out" in
	*'"card_present": true'* | *'"card_present":true'*) echo present ;;
	*'"name"'*) echo empty ;;
	*) echo none ;;
	esac
}
# wait_state STATE SECONDS
wait_state() {
	n=0
	while [ "$(card_state)" != "$1" ]; do
		n=$((n + 1))
		[ $n -gt $(($2 * 5)) ] && return 1
		sleep 0.2
	done
	return 0
}

wait_state present 30
check list $? "$(ecard readers 2>&1 | head -1)"
say "TIME ready $(($(now_ms) - t0))"

atr=$(ecard readers -v 2>&1 | sed -n 's/.*ATR[: ]*\([0-9A-Fa-f ]*\).*/\1/p' | head -1)
case "$(echo "$atr" | tr -d ' ' | tr a-f A-F)" in
3B0B8073800*) check atr 0 "$atr" ;;
*) check atr 1 "ATR '$atr': $(ecard readers -v 2>&1 | tr '\n' ' ')" ;;
esac

SELECT_DIAG=00A4040008F0454341524444
# apdu_ok NAME HEX...: every answer 9000.
apdu_ok() {
	name=$1
	shift
	out=$(ecard apdu "$@" 2>&1)
	check "$name" $? "$(echo "$out" | grep -c '^SW 9000') of $# answered 9000"
}
apdu_ok select "${SELECT_DIAG}01"
# ECHO 1 byte and 200 bytes (cases 3/4: 61xx then GET RESPONSE on T=0).
hexbytes() { awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "%02X", i % 256 }'; }
apdu_ok short "${SELECT_DIAG}01" "8010000001AB00" "80100000C8$(hexbytes 200)00"
# 255 and 256 bytes out of the card (GENERATE), 255 through it (ECHO).
out=$(ecard apdu "${SELECT_DIAG}01" 801200FF00 8012010000 "80100000FF$(hexbytes 255)00" 2>&1)
rc=$?
lens=$(echo "$out" | sed -n 's/^< //p' | tail -n 3 | awk '{ gsub(/[ :]/, ""); print length($0) / 2 }' | tr '\n' ' ')
[ "$rc" = 0 ] && [ "$lens" = "255 256 255 " ] || rc=1
check long $rc "response lengths: $lens"

# 100 APDUs in one connection, timed: GENERATE 16 bytes, case 2, one
# XfrBlock each with either driver.
args=
i=0
while [ $i -lt 100 ]; do args="$args 8012001010"; i=$((i + 1)); done
# Three rounds; the fastest is the figure (the others show the noise).
rc=0 best= rounds=
for round in 1 2 3; do
	t=$(now_ms)
	# shellcheck disable=SC2086
	out=$(ecard apdu "${SELECT_DIAG}01" $args 2>&1) || rc=1
	ms=$(($(now_ms) - t))
	n=$(echo "$out" | grep -c '^SW 9000')
	[ "$n" = 101 ] || rc=1
	rounds="$rounds $ms"
	[ -z "$best" ] || [ "$ms" -lt "$best" ] && best=$ms
done
check apdu100 $rc "3 rounds of 101 APDUs, each all 9000: ms$rounds"
say "TIME apdu100 $best"

# The card out and back in (the host takes it out of QEMU's reader).
if ask card-remove && wait_state empty 15; then rc=0; else rc=1; fi
check removal $rc "$(card_state)"
if ask card-insert && wait_state present 15; then
	ecard apdu "${SELECT_DIAG}01" >/dev/null 2>&1
	rc=$?
else
	rc=1
fi
check insertion $rc "$(card_state)"

if [ "$driver" = ifd-ecard ] && [ -d /data/issuer ]; then
	# The purse: a top-up, a payment with the PIN, then tears.
	balance() { # prints "balance_minor counter"
		ecard balance --json 2>/dev/null |
			sed -n 's/.*"balance_minor": *\([0-9]*\).*"counter": *\([0-9]*\).*/\1 \2/p'
	}
	ecard load --issuer /data/issuer --amount 20.00 >/tmp/load.log 2>&1
	check load $? "$(tail -1 /tmp/load.log)"
	ecard pay --merchant /data/shop.key --amount 7.50 --pin-fd 4 4</data/pin >/tmp/pay.log 2>&1
	rc=$?
	set -- $(balance)
	[ "$rc" = 0 ] && [ "${1:-}" = 1250 ] || rc=1
	check pay $rc "balance ${1:-?} counter ${2:-?}: $(tail -1 /tmp/pay.log | tr -d '\n')"

	# A tear at write N of a payment of 0.50: paid once or not at all.
	paid=0 refused=0 bad=0
	for n in 1 2 3 4 5 6 7 8; do
		set -- $(balance)
		before=${1:-0} count=${2:-0}
		ask "tear $n" || { bad=$((bad + 1)); continue; }
		ecard pay --merchant /data/shop.key --amount 0.50 --pin-fd 4 4</data/pin >/tmp/tear.log 2>&1
		wait_state present 20
		set -- $(balance)
		after=${1:-x} count_after=${2:-x}
		if [ "$after" = $((before - 50)) ] && [ "$count_after" = $((count + 1)) ]; then
			paid=$((paid + 1))
		elif [ "$after" = "$before" ] && [ "$count_after" = "$count" ]; then
			refused=$((refused + 1))
		else
			bad=$((bad + 1))
			say "tear $n: balance $before -> $after, counter $count -> $count_after: $(tr '\n' ' ' </tmp/tear.log)"
		fi
	done
	ask "tears" || true
	tears=${reply#done }
	[ "$bad" = 0 ] && [ "$paid" -gt 0 ] && [ "$refused" -gt 0 ] && [ "${tears:-0}" -gt 0 ]
	check tear $? "8 payments torn ($tears tears): $paid paid once, $refused not debited, $bad inconsistent"
fi

# The reader unplugged: pcscd lives on, the reader is gone or dead.
if ask reader-unplug; then
	sleep 2
	i=0
	while [ "$(card_state)" = present ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
	if kill -0 "$pcscd_pid" 2>/dev/null && [ "$(card_state)" != present ]; then rc=0; else rc=1; fi
	alive=no
	kill -0 "$pcscd_pid" 2>/dev/null && alive=yes
	check unplug $rc "pcscd alive: $alive, card: $(card_state)"
fi

echo "---- pcscd log ----"
if [ "$failed" = 1 ]; then cat /tmp/pcscd.log; else tail -n 10 /tmp/pcscd.log; fi
finish
