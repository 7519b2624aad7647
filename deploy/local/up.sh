#!/usr/bin/env bash
# Starts, idempotently, the local stack billrun runs on: PostgreSQL, the
# Temporal dev server (Web UI on :8233) and an S3 server (Versity gateway,
# posix backend). Only what is not already running is started; what this
# script starts is recorded under .local/ so that down.sh stops just that.
# Connection settings go to .local/env.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
L=$root/.local
mkdir -p "$L/bin" "$L/log" "$L/run"
. "$(dirname "$0")/versions.sh"

TEMPORAL_PORT=${BILLRUN_TEMPORAL_PORT:-7233}
TEMPORAL_UI_PORT=${BILLRUN_TEMPORAL_UI_PORT:-8233}
S3_PORT=${BILLRUN_S3_PORT:-7070}
PG_PORT=${BILLRUN_PG_PORT:-55432}
S3_KEY=billrun
S3_SECRET=billrun-local-secret

say() { printf 'up: %s\n' "$*"; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() { # name port seconds log
	for _ in $(seq 1 $(($3 * 5))); do listening "$2" && return 0; sleep 0.2; done
	say "$1 did not come up on port $2; last lines of $4:"; tail -n 20 "$4" >&2; exit 1
}

# --- tools: build what is missing, both at once ---
build() { # module version binary
	if [ -x "$L/bin/$3" ] && [ "$(cat "$L/bin/$3.version" 2>/dev/null)" = "$2" ]; then return 0; fi
	say "building $3 $2 (first time only, a few minutes)"
	GOBIN=$L/bin GOFLAGS=-buildvcs=false go install "$1@$2" >"$L/log/build-$3.log" 2>&1 || {
		tail -n 30 "$L/log/build-$3.log" >&2; return 1; }
	echo "$2" >"$L/bin/$3.version"
}
pids=()
if ! listening "$TEMPORAL_PORT"; then build "$TEMPORAL_CLI_MODULE" "$TEMPORAL_CLI_VERSION" temporal & pids+=($!); fi
if ! listening "$S3_PORT"; then build "$VERSITYGW_MODULE" "$VERSITYGW_VERSION" versitygw & pids+=($!); fi
for p in "${pids[@]}"; do wait "$p"; done

# --- PostgreSQL: DATABASE_URL if it answers, else a private cluster ---
db_url=""
if [ -n "${DATABASE_URL:-}" ] && psql "$DATABASE_URL" -Atqc 'select 1' >/dev/null 2>&1; then
	db_url=$DATABASE_URL
	say "PostgreSQL: using DATABASE_URL"
else
	bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	if [ -z "$bindir" ]; then
		say "PostgreSQL server binaries missing: installing Debian's postgresql package"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
		bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	fi
	# The cluster, its socket and log live under .local/, unless the server
	# (run as the postgres user when we are root: initdb refuses root) cannot
	# enter the checkout, a 0700 home say: then in a folder of its own, one
	# per checkout, recorded for down.sh.
	pghome=$L
	as_pg=()
	if [ "$(id -u)" = 0 ]; then
		as_pg=(runuser -u postgres --)
		if ! runuser -u postgres -- test -x "$L"; then
			pghome=${TMPDIR:-/tmp}/billrun-pg-$(printf %s "$root" | sha1sum | cut -c1-12)
			mkdir -p "$pghome/run" "$pghome/log" && chmod 700 "$pghome" && chown postgres "$pghome"
		fi
	fi
	echo "$pghome" >"$L/run/pghome"
	pgdata=$pghome/pg
	if [ ! -f "$pgdata/PG_VERSION" ]; then
		say "PostgreSQL: creating a private cluster in $pgdata"
		mkdir -p "$pgdata"
		[ "$(id -u)" = 0 ] && chown postgres "$pgdata" "$pghome/run" "$pghome/log"
		"${as_pg[@]}" "$bindir/initdb" -D "$pgdata" -U billrun --auth=trust -E UTF8 --no-locale >"$L/log/initdb.log"
	fi
	if ! listening "$PG_PORT"; then
		[ "$(id -u)" = 0 ] && chown postgres "$pghome/run" "$pghome/log"
		"${as_pg[@]}" "$bindir/pg_ctl" -D "$pgdata" -l "$pghome/log/postgres.log" -w -t 60 \
			-o "-p $PG_PORT -k $pghome/run -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=1GB -c max_wal_size=4GB" start >/dev/null
		touch "$L/run/postgres.started"
		say "PostgreSQL: started on 127.0.0.1:$PG_PORT"
	fi
	db_url="postgres://billrun@127.0.0.1:$PG_PORT/billrun?sslmode=disable"
	psql "postgres://billrun@127.0.0.1:$PG_PORT/postgres?sslmode=disable" -Atqc \
		"select 1 from pg_database where datname = 'billrun'" | grep -q 1 ||
		psql "postgres://billrun@127.0.0.1:$PG_PORT/postgres?sslmode=disable" -qc 'create database billrun' >/dev/null
fi

# --- Database roles (deploy/postgres/roles.sql): the worker and billctl run
# on roles with only their rights; migrations (`billctl migrate`, tests) run
# as the administrator. Where a role cannot log in (a server that wants
# passwords), both run as the administrator, as before.
psql "$db_url" -q -v ON_ERROR_STOP=1 -f "$root/deploy/postgres/roles.sql" >"$L/log/roles.log" 2>&1 ||
	say "database roles not created (see $L/log/roles.log): the worker and billctl use DATABASE_URL"
role_url() { # role → DATABASE_URL with that user, if it can log in
	local u
	u=$(printf %s "$db_url" | sed -E "s#^(postgres(ql)?://)[^@/]*@#\1$1@#")
	if [ "$u" != "$db_url" ] && psql "$u" -Atqc 'select 1' >/dev/null 2>&1; then echo "$u"; else echo "$db_url"; fi
}
worker_url=$(role_url billrun_worker)
billctl_url=$(role_url billrun_billctl)

# --- Temporal dev server ---
if ! listening "$TEMPORAL_PORT"; then
	nohup "$L/bin/temporal" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" \
		--db-filename "$L/temporal.db" --log-level warn >"$L/log/temporal.log" 2>&1 &
	echo $! >"$L/run/temporal.pid"
	wait_for Temporal "$TEMPORAL_PORT" 90 "$L/log/temporal.log"
	say "Temporal: started on 127.0.0.1:$TEMPORAL_PORT, Web UI http://127.0.0.1:$TEMPORAL_UI_PORT"
fi

# --- S3 ---
if ! listening "$S3_PORT"; then
	mkdir -p "$L/s3"
	# --keep-alive: otherwise every request is a new connection, as no real S3 does.
	ROOT_ACCESS_KEY=$S3_KEY ROOT_SECRET_KEY=$S3_SECRET nohup "$L/bin/versitygw" --port "127.0.0.1:$S3_PORT" --quiet --keep-alive \
		posix "$L/s3" >"$L/log/s3.log" 2>&1 &
	echo $! >"$L/run/s3.pid"
	wait_for S3 "$S3_PORT" 30 "$L/log/s3.log"
	say "S3: started on http://127.0.0.1:$S3_PORT"
fi

cat >"$L/env.sh" <<ENV
# Written by deploy/local/up.sh: the local stack's connection settings.
export DATABASE_URL='$db_url'
# The least-privilege roles of the worker and billctl (deploy/postgres/roles.sql).
export BILLRUN_WORKER_DATABASE_URL='$worker_url'
export BILLRUN_BILLCTL_DATABASE_URL='$billctl_url'
export TEMPORAL_ADDRESS=127.0.0.1:$TEMPORAL_PORT
export TEMPORAL_NAMESPACE=default
export TEMPORAL_TASK_QUEUE=billrun
export S3_ENDPOINT=http://127.0.0.1:$S3_PORT
export S3_BUCKET=billrun
export AWS_ACCESS_KEY_ID=$S3_KEY
export AWS_SECRET_ACCESS_KEY=$S3_SECRET
export AWS_REGION=us-east-1
ENV
say "settings in .local/env.sh"
