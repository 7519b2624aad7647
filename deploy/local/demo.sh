#!/usr/bin/env bash
# The demo: import the sample catalogue of testdata/demo, rate a month of
# sample calls against it, then ingest the same file the production way
# (S3 inbox → Temporal workflow → PostgreSQL). Expects .local/env.sh sourced
# and bin/ built.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=bin/billctl
D=testdata/demo
echo "== importing the sample catalogue ($D)"
$B import codedeck --deck world $D/codedeck.csv
$B import ratetables $D/ratetables.csv
for t in retail-eur acme-special wholesale-usd; do
	$B import rates --table "$t" "$D/rates-$t.csv"
done
$B import taxes $D/taxes.csv
$B import packages $D/packages.csv
$B import clients $D/clients.csv
$B import accounts $D/accounts.csv
$B import subscriptions $D/subscriptions.csv

echo
echo "== rating $D/cdrs-2026-10.csv against it (billctl cdr rate: nothing stored)"
$B cdr rate $D/cdrs-2026-10.csv

echo
echo "== ingesting it: S3 inbox → Temporal workflow (UI: http://127.0.0.1:8233) → PostgreSQL"
bin/billrun-worker >.local/log/demo-worker.log 2>&1 &
worker=$!
trap 'kill $worker 2>/dev/null; wait $worker 2>/dev/null' EXIT
$B cdr upload $D/cdrs-2026-10.csv
$B cdr ingest --wait
$B cdr files
echo
echo "== rated calls stored for 2026-10, by client"
psql "$DATABASE_URL" -P footer=off -c "SELECT coalesce(client, '(unknown)') AS client, status, count(*) AS calls,
	sum(billed_seconds) AS billed_seconds, sum(cost) AS cost, currency
	FROM cdrs WHERE connect_time >= '2026-10-01' AND connect_time < '2026-11-01'
	GROUP BY 1, 2, currency ORDER BY 1, 2, currency"
