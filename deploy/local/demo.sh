#!/usr/bin/env bash
# The demo: import the sample catalogue of testdata/demo, rate a month of
# sample calls against it, then ingest the same file the production way
# (S3 inbox → Temporal workflow → PostgreSQL). Expects .local/env.sh sourced
# and bin/ built.
set -euo pipefail
cd "$(dirname "$0")/../.."
# billctl and the worker on their least-privilege roles (up.sh, deploy/postgres/roles.sql).
B="env DATABASE_URL=${BILLRUN_BILLCTL_DATABASE_URL:-$DATABASE_URL} bin/billctl"
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
# Two worker processes on one task queue, as production runs several: they share the work.
workers=()
for n in 1 2; do
	DATABASE_URL=${BILLRUN_WORKER_DATABASE_URL:-$DATABASE_URL} bin/billrun-worker >.local/log/demo-worker-$n.log 2>&1 &
	workers+=($!)
done
trap 'kill "${workers[@]}" 2>/dev/null; wait "${workers[@]}" 2>/dev/null' EXIT
$B cdr upload $D/cdrs-2026-10.csv
$B cdr ingest --wait
echo
echo "== the switch delivers the same calls again under another name: none is stored twice (billing-rules §7)"
cp $D/cdrs-2026-10.csv .local/cdrs-2026-10-again.csv
$B cdr upload .local/cdrs-2026-10-again.csv
$B cdr ingest --wait
$B cdr files
$B cdr duplicates --file inbox/canonical/cdrs-2026-10-again.csv
echo
echo "== rated calls stored for 2026-10, by client"
psql "$DATABASE_URL" -P footer=off -c "SELECT coalesce(client, '(unknown)') AS client, status, count(*) AS calls,
	sum(billed_seconds) AS billed_seconds, sum(cost) AS cost, currency
	FROM cdrs WHERE connect_time >= '2026-10-01' AND connect_time < '2026-11-01'
	GROUP BY 1, 2, currency ORDER BY 1, 2, currency"

echo
echo "== statistics for October"
$B report summary --from 2026-10-01 --to 2026-11-01 --group-by client,dst_name
$B report mismatches --from 2026-10-01 --to 2026-11-01
echo
echo "== readiness for 2026-10 (the demo catalogue holds one error on purpose: globex's tech-prefix account rates in EUR)"
$B check readiness --period 2026-10 || true
echo
echo "== acme's October invoice (a draft: run the demo again and it is replaced)"
issued=$($B invoice list --client acme --period 2026-10 --format csv | awk -F, 'NR > 1 && $3 == "issued" {print $1; exit}')
if [ -n "$issued" ]; then
	echo "(acme's October invoice was issued since: showing it)"
	$B invoice show "$issued"
	id=$issued
else
	$B invoice create --client acme --period 2026-10 --wait
	id=$($B invoice list --client acme --period 2026-10 --format csv | awk -F, 'NR > 1 && $3 == "draft" {print $1; exit}')
fi
$B invoice download "$id" --out .local/demo-invoices
echo "open .local/demo-invoices/*.pdf to see it"
echo
echo "== October's bill run: ingest, readiness and mismatches over every client's period, then invoices"
echo "(it waits on the catalogue's error and the month's mismatches above; finance would fix master data and"
echo " resolve it with --rerate; the demo accepts them: mismatched calls are not billed)"
if ! $B run bill --period 2026-10 --wait; then
	$B run resolve bill-run-2026-10 --accept --wait
fi
$B invoice list --period 2026-10

echo
echo "== November: acme's October invoice is issued; its documents are written once and never change"
$B invoice create --client acme --period 2026-10 --state issued --wait
echo
echo "== then a rate fix arrives: acme-special's Germany Mobile was 0.0800 a minute, it should have been 0.0500"
$B import rates --table acme-special $D/rates-acme-special-fix.csv
$B rerate --from 2026-10-01 --to 2026-11-01 --wait
echo
echo "== the correction is a credit note that names the invoice (billing-rules §7); nothing when nothing differs"
$B invoice adjust --client acme --period 2026-10 --state issued --wait
$B invoice list --period 2026-10
note=$($B invoice list --client acme --period 2026-10 --kind credit_note --format csv | awk -F, 'NR > 1 && $3 == "issued" {print $1; exit}')
if [ -n "$note" ]; then
	$B invoice show "$note"
fi
echo
echo "== the issued documents are as they were written"
$B invoice verify --period 2026-10
echo
echo "== every call of October accounted for, by client and reason (billing-rules §7)"
$B report reconcile --period 2026-10
