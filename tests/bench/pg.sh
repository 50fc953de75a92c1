# pg.sh - sourced by the benchmark scripts: start_pg starts a PostgreSQL of
# its own (initdb into $work/pg, as nobody when run as root, on a free
# loopback port, with fsync on as installed) and sets $pg to its URL; it
# returns 1 when PostgreSQL is not installed. The caller's cleanup kills
# $pids. Needs $work; passes ECARD_BENCH_PG_OPTS to postgres.
start_pg() {
	bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -1)
	if [ -z "$bin" ]; then
		echo "PostgreSQL is not installed (Debian package postgresql): its figures are skipped"
		return 1
	fi
	as=
	chmod 755 "$work"
	mkdir "$work/pg"
	if [ "$(id -u)" = 0 ]; then
		chown nobody "$work/pg"
		as="setpriv --reuid=nobody --regid=nogroup --clear-groups --"
	fi
	port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	$as "$bin/initdb" -D "$work/pg/data" -U ecard --auth=trust -E UTF8 --no-sync >"$work/initdb.log" 2>&1 || {
		cat "$work/initdb.log"
		return 1
	}
	# shellcheck disable=SC2086
	$as "$bin/postgres" -D "$work/pg/data" -k "$work/pg" -p "$port" -c listen_addresses=127.0.0.1 \
		-c max_connections=200 ${ECARD_BENCH_PG_OPTS:-} >"$work/postgres.log" 2>&1 &
	pids="$pids $!"
	pg="postgresql://ecard@127.0.0.1:$port/postgres"
	for _ in $(seq 100); do
		$as "$bin/pg_isready" -h 127.0.0.1 -p "$port" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "PostgreSQL did not start:"
	cat "$work/postgres.log"
	return 1
}
