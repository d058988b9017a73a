#!/bin/sh
# Runs three Relay instances on loopback (127.0.0.1:8081, :8082, :8083)
# against the local PostgreSQL and Redis, each log line prefixed with its
# instance's port, until Ctrl-C (or SIGTERM), which stops all three
# gracefully. `make cluster` builds the binary and runs this.
#
# Environment: BIN (bin/relay), DATABASE_URL, REDIS_URL, AUTH_SECRET (the
# same for all three, so a token works on any), CLUSTER_PORTS ("8081 8082
# 8083"); anything else Relay reads (REDIS_PREFIX, LOG_LEVEL, …) is passed
# on. LOG_FORMAT defaults to text here.
set -eu

BIN=${BIN:-bin/relay}
DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/relay?sslmode=disable}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
AUTH_SECRET=${AUTH_SECRET:-relay-local-development-secret-0123456789}
LOG_FORMAT=${LOG_FORMAT:-text}
NOTIFIER=redis
CLUSTER_PORTS=${CLUSTER_PORTS:-8081 8082 8083}
export DATABASE_URL REDIS_URL AUTH_SECRET LOG_FORMAT NOTIFIER

[ -x "$BIN" ] || { echo "cluster: $BIN not found: run make build" >&2; exit 1; }
"$BIN" createdb

fifos=$(mktemp -d "${TMPDIR:-/tmp}/relay-cluster.XXXXXX")
pids=
stopping=

stop() {
	[ -n "$stopping" ] && return
	stopping=1
	echo "cluster: stopping $pids" >&2
	# shellcheck disable=SC2086 # one word per pid
	kill -TERM $pids 2>/dev/null || true
}
trap stop INT TERM
trap 'rm -rf "$fifos"' EXIT

for port in $CLUSTER_PORTS; do
	# A FIFO, not a pipe, so that $! is the instance's pid. The prefixer
	# is an asynchronous list: it ignores the terminal's SIGINT and ends
	# when the instance closes its output.
	mkfifo "$fifos/$port"
	while IFS= read -r line; do printf '[%s] %s\n' "$port" "$line"; done <"$fifos/$port" &
	ADDR=127.0.0.1:$port "$BIN" serve >"$fifos/$port" 2>&1 &
	pids="$pids $!"
done
echo "cluster: instances on$(printf ' 127.0.0.1:%s' $CLUSTER_PORTS) (pids$pids); Ctrl-C stops them" >&2

# Until a signal, or until any instance exits (a port in use, a bad
# setting): then stop the others too.
while [ -z "$stopping" ]; do
	for pid in $pids; do
		kill -0 "$pid" 2>/dev/null || { echo "cluster: instance $pid has exited" >&2; stop; break; }
	done
	sleep 1 &
	wait $! || true # returns at once when a trapped signal arrives
done

status=0
for pid in $pids; do
	wait "$pid" || status=$?
done
wait # the prefixers, which end with their instance's output
echo "cluster: stopped" >&2
exit "$status"
