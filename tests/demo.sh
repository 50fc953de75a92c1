#!/bin/sh
# demo.sh - the virtual card, end to end, in a few steps a person can follow:
# a private pcscd with vpcd, an issuer and a card personalized for it, the
# card seen by PC/SC tools, a top-up and a purchase with the holder's PIN,
# a power loss in the middle of a transaction, the card coming back with
# its state intact, and an update over the air: the issuer's server loads
# and installs an applet through an agent whose link breaks on the way,
# the load goes on from where it stopped, and tops the purse up online; then
# a holder signs up at the issuer centre and tops the card up from the
# bank, online; and the shop: a checkout in a headless browser, the
# address filled from the card and the order paid with its PIN through the
# holder's agent. Runs inside in-namespace.sh (a private /run/pcscd); stops
# everything it started.
#
# usage: demo.sh BUILD_DIR
set -eu
build=$(cd "${1:?usage: demo.sh BUILD_DIR}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
pcscd=${PCSCD:-/usr/sbin/pcscd}
vpcd_driver=${VPCD_DRIVER:-/usr/lib/pcsc/drivers/serial/libifdvpcd.so}
work=$(mktemp -d /tmp/ecard-demo.XXXXXX)
port=$((30000 + $$ % 10000 * 2))
reader="ecard demo 00 00"
pids=

cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

step() { printf '\n--- %s\n' "$*"; }
run() { # show the command as one could type it, then run it
	printf '$'
	for a in "$@"; do
		case $a in *" "*) printf " '%s'" "$a" ;; *) printf ' %s' "$a" ;; esac
	done
	echo
	"$@"
}

mkdir "$work/conf"
cat >"$work/conf/vpcd" <<EOF
FRIENDLYNAME "ecard demo"
DEVICENAME /dev/null:0x$(printf %X $port)
LIBPATH $vpcd_driver
CHANNELID 0x$(printf %X $port)
EOF

step "a private pcscd with a vpcd reader on port $port"
"$pcscd" --foreground --config "$work/conf" >"$work/pcscd.log" 2>&1 &
pids="$pids $!"
for _ in $(seq 50); do [ -S /run/pcscd/pcscd.comm ] && break; sleep 0.1; done

step "an issuer, and a new card image personalized for it"
run "$build/ecard" issuer init "$work/issuer"
run "$build/ecard-vcard" --new --image "$work/card.img" --serial 00E0CA4D00000001 \
	--personalize "$work/issuer"
"$build/ecard-vcard" --image "$work/card.img" --vpcd 127.0.0.1:$port \
	--control "$work/ctl" 2>"$work/vcard.log" &
pids="$pids $!"
sleep 1.5

step "the card in the reader, as PC/SC tools see it"
run "$build/ecard" readers
command -v opensc-tool >/dev/null && run opensc-tool --reader 0 --atr

step "the purse: a top-up authorised by the issuer, a purchase signed by the card"
run "$build/ecard" --reader "$reader" load --issuer "$work/issuer" --amount 20.00
run "$build/ecard" merchant init --issuer "$work/issuer" --id 4D45524348000001 "$work/shop.key"
echo '$ echo 1234 | ecard pay --merchant shop.key --amount 7.50 --pin-fd 0'
echo 1234 | "$build/ecard" --reader "$reader" pay --merchant "$work/shop.key" --amount 7.50 --pin-fd 0
run "$build/ecard" --reader "$reader" balance
run "$build/ecard" --reader "$reader" log

step "select the diagnostic applet, echo, verify the PIN (1234), count up twice"
run "$build/ecard" apdu --reader "$reader" 00A4040008F045434152444401 \
	801000000548656C6C6F 002000810831323334FFFFFFFF 80200000 80200000

step "power loss: tear the 3rd persistent write of the next command"
run "$build/ecard-vcard" ctl "$work/ctl" tear 3
"$build/ecard" apdu --reader "$reader" 00A4040008F045434152444401 80200000 || true
echo "(the card left the reader in the middle of the command)"
sleep 3
run "$build/ecard-vcard" ctl "$work/ctl" status

step "back in the reader: the interrupted transaction was rolled forward"
run "$build/ecard" apdu --reader "$reader" 00A4040008F045434152444401 80200000
echo "(the counter answers 4: two increments, the torn one completed by recovery, and this one)"

step "over the air: the issuer's server, a job for this card, and a link that breaks"
"$build/ecard-server" serve --db "sqlite:$work/ota.db" --issuer "$work/issuer" --insecure-http \
	--listen 127.0.0.1:0 --port-file "$work/server.port" >"$work/server.log" 2>&1 &
pids="$pids $!"
for _ in $(seq 50); do [ -s "$work/server.port" ] && break; sleep 0.1; done
echo "(ecard-server on port $(cat "$work/server.port"), opening cards with the issuer's keys;"
echo " the card's identity is its CPLC IC serial number, 00000001)"
run "$build/ecard" server job add --db "sqlite:$work/ota.db" --card 00000001 \
	load-cap "$src/tests/data/Empty_0102030405_8d5ac9e2_2.2.1.cap" --install 0102030405060708
run "$build/ecard" server job add --db "sqlite:$work/ota.db" --card 00000001 top-up 10.00
"$build/ecard-netfault" --listen 127.0.0.1:0 --connect "127.0.0.1:$(cat "$work/server.port")" \
	--port-file "$work/nf.port" --control "$work/nf.ctl" --cut '3 answer' >"$work/nf.log" 2>&1 &
pids="$pids $!"
for _ in $(seq 50); do [ -s "$work/nf.port" ] && break; sleep 0.1; done
echo "(ecard-netfault on port $(cat "$work/nf.port") passes the agent's link on, and cuts it"
echo " as the server answers the 3rd request: the order with the LOAD is lost on the way)"
run "$build/ecard" --reader "$reader" agent --server "http://127.0.0.1:$(cat "$work/nf.port")"
echo "(the proxy counted 7 requests and 1 cut where the agent made 6 exchanges: the report whose"
echo " answer was cut went again on a new connection, with its Idempotency-Key; the server had"
echo " recorded it and answered with the same order: nothing done twice, one session)"
run "$build/ecard-netfault" ctl "$work/nf.ctl" status
run "$build/ecard" server job list --db "sqlite:$work/ota.db"
run "$build/ecard" --reader "$reader" apdu 00A40400080102030405060708
echo "(the new applet answers SELECT)"
run "$build/ecard" --reader "$reader" balance
echo "(12.50 before, and the online top-up of 10.00: the server checked the card's S1, sent"
echo " CREDIT with its S2, and checked the card's receipt S3)"

step "the issuer centre: a holder signs up, gets this card, and tops it up online from the bank"
centre="http://127.0.0.1:$(cat "$work/server.port")/centre"
# What a browser does, with curl: a page gives the session cookie and the
# form's CSRF token; a form sends them back.
page() { # PATH: GET, keeping the session cookie and the CSRF token
	curl -s -D "$work/headers" -H "Cookie: __Host-ecard=${cookie:-}" "$centre$1" >"$work/page.html"
	new=$(sed -n 's/^Set-Cookie: __Host-ecard=\([^;]*\);.*/\1/p' "$work/headers" | tr -d '\r')
	[ -n "$new" ] && cookie=$new
	csrf=$(sed -n 's/.*name="csrf" value="\([0-9A-F]*\)".*/\1/p' "$work/page.html" | head -n 1)
}
form() { # PATH FIELDS...: POST a form, print where it leads
	path=$1
	shift
	printf '$ POST %s %s\n' "$path" "$*"
	set -- --data-urlencode "csrf=$csrf" "$@"
	curl -s -D "$work/headers" -o /dev/null -H "Cookie: __Host-ecard=$cookie" "$@" "$centre$path"
	new=$(sed -n 's/^Set-Cookie: __Host-ecard=\([^;]*\);.*/\1/p' "$work/headers" | tr -d '\r')
	[ -n "$new" ] && cookie=$new
	sed -n 's/^\(HTTP\/[0-9.]* [0-9]*\).*/  \1/p; s/^Location: \(.*\)/  -> \1/p' "$work/headers" | tr -d '\r'
}
page /signup
form /signup --data-urlencode email=ada@example.org --data-urlencode "name=Ada Lovelace" \
	--data-urlencode "password=correct horse battery"
serial=$("$build/ecard" --reader "$reader" balance --json | sed -n 's/.*"serial": "\([0-9A-F]*\)".*/\1/p')
run "$build/ecard" server card add --db "sqlite:$work/ota.db" "$serial" --se-id 00000001 \
	--holder ada@example.org
page "/cards/$serial"
form "/cards/$serial/top-up" --data-urlencode amount=15.00
run "$build/ecard" --reader "$reader" agent --server "http://127.0.0.1:$(cat "$work/server.port")"
page "/cards/$serial"
echo "the card's page says:"
sed -n 's/.*id="balance">\([^<]*\)<.*/  balance \1, as the card proved it at this contact/p' "$work/page.html"
page /cards
sed -n 's/.*id="bank">\([^<]*\)<.*/  bank account \1 (100.00 at sign-up, less the top-up)/p' "$work/page.html"
run "$build/ecard" server ledger list --db "sqlite:$work/ota.db"
echo '$ ecard server fraud --db sqlite:ota.db'
"$build/ecard" server fraud --db "sqlite:$work/ota.db" || true
echo "(the card holds more than its books: the first top-up was made offline with the issuer's"
echo " keys at hand, and the purchase was never settled, so the books cannot know them; the"
echo " issuer centre reports it at the card's next contact)"
echo "the server's log:"
cat "$work/server.log"

step "the shop: a checkout in a headless browser, paid by the card with its PIN"
"$build/ecard-server" merchant add --db "sqlite:$work/ota.db" --issuer "$work/issuer" --name SmartMarket \
	--new "$work/shop.merchant" --id 534D415254000001 --json |
	sed -n 's/.*"token": *"\([^"]*\)".*/\1/p' >"$work/shop.token"
echo "(the issuer onboarded the shop as a merchant: its key file, and the token it settles with)"
for field in "forename Ada" "surname Lovelace" "street 12 St James's Square" "town London" \
	"postcode SW1Y 4LE" "email ada@example.org"; do
	# shellcheck disable=SC2086
	echo 1234 | "$build/ecard" --reader "$reader" profile set ${field%% *} "${field#* }" --pin-fd 0 >/dev/null
done
echo "(the holder's address is on the card's profile)"
"$build/ecard" server job add --db "sqlite:$work/ota.db" --card 00000001 top-up 100.00 >/dev/null
"$build/ecard" --reader "$reader" agent --server "http://127.0.0.1:$(cat "$work/server.port")" 2>/dev/null
echo "(and 100.00 more on the card, topped up online)"
mkdir "$work/certs"
sh "$src/tests/ota/mkcerts.sh" "$work/certs" >/dev/null 2>&1
run "$build/ecard-shop" seed --db "sqlite:$work/shop.db" --products 2000
agent_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$build/ecard-shop" serve --db "sqlite:$work/shop.db" --cert "$work/certs/server.pem" \
	--key "$work/certs/server.key" --merchant "$work/shop.merchant" --listen 127.0.0.1:0 \
	--port-file "$work/shop.port" --agent "http://127.0.0.1:$agent_port" >"$work/shop.log" 2>&1 &
pids="$pids $!"
for _ in $(seq 50); do [ -s "$work/shop.port" ] && break; sleep 0.1; done
shop="https://127.0.0.1:$(cat "$work/shop.port")"
echo "(ecard-shop at $shop, with 2,000 made-up products)"
# The holder's agent for that shop's pages; a scripted pinentry stands in
# for the holder's dialogs: yes to the address, yes to the site, the PIN.
make -C "$build" -s tests/support/fake-pinentry >/dev/null
printf 'yes\nyes\npin 1234\n' >"$work/pinentry.answers"
ECARD_TEST_PINENTRY_ANSWERS=$work/pinentry.answers ECARD_TEST_PINENTRY_LOG=$work/pinentry.log \
	"$build/ecard" --reader "$reader" agent --listen "127.0.0.1:$agent_port" --allow-origin "$shop" \
	--pinentry "$build/tests/support/fake-pinentry" --ca "$work/certs/ca.pem" >"$work/agent.log" 2>&1 &
pids="$pids $!"
echo "$ ecard agent --listen 127.0.0.1:$agent_port --allow-origin $shop --pinentry ..."
sleep 0.5
shots=$build/demo-screenshots
rm -rf "$shots"
timeout 120 /usr/bin/python3 "$src/tests/shop/demo_checkout.py" --url "$shop" --shots "$shots"
echo "what the holder was shown (pinentry):"
grep '^SETDESC' "$work/pinentry.log" | sed 's/^SETDESC /  /'
run "$build/ecard" --reader "$reader" balance
run "$build/ecard-shop" order list --db "sqlite:$work/shop.db"
run "$build/ecard-shop" settle --db "sqlite:$work/shop.db" --to "http://127.0.0.1:$(cat "$work/server.port")" \
	--token-file "$work/shop.token"
run "$build/ecard" server merchant list --db "sqlite:$work/ota.db"
echo "the screenshots of the checkout are in $shots"

step "what the card daemon logged"
cat "$work/vcard.log"
printf '\ndemo finished: everything it started is stopped.\n'
