#!/usr/bin/env bash
# Stops what up.sh started, and nothing else. Data under .local/ is kept.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
L=$root/.local
# The demo's console and its worker, when a demo left them up.
if [ -f "$L/run/demo-console.pid" ]; then
	kill $(cat "$L/run/demo-console.pid") 2>/dev/null && echo "down: stopped the demo's console"
	rm -f "$L/run/demo-console.pid"
fi
for name in temporal s3; do
	f=$L/run/$name.pid
	[ -f "$f" ] || continue
	pid=$(cat "$f")
	if kill "$pid" 2>/dev/null; then
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		echo "down: stopped $name"
	fi
	rm -f "$f"
done
if [ -f "$L/run/postgres.started" ]; then
	bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	as_pg=()
	[ "$(id -u)" = 0 ] && as_pg=(runuser -u postgres --)
	pghome=$(cat "$L/run/pghome" 2>/dev/null || echo "$L")
	"${as_pg[@]}" "$bindir/pg_ctl" -D "$pghome/pg" -m fast -w stop >/dev/null && echo "down: stopped PostgreSQL"
	rm -f "$L/run/postgres.started"
fi
