#!/usr/bin/env bash
# The demo: a realistic month billed from upload to issued invoices on the
# local stack. A month of about 1,000,000 calls (package internal/demo: real
# destinations, a dozen clients, three CDR formats, every kind of mismatch, a
# file delivered twice and a corrupt one) goes up to S3; two worker processes
# ingest it; October's bill run stops on its findings; finance fixes master
# data, rerates and accepts the rest; invoices are issued; a rate corrected
# after issue becomes credit and debit notes. Everything runs in a database,
# Temporal namespace, task queue and bucket of its own, made anew each time.
# Expects .local/env.sh sourced and bin/ built (make demo does both).
set -euo pipefail
cd "$(dirname "$0")/../.."
T0=$(date +%s.%N)
SEED=${BILLRUN_DEMO_SEED:-2026}
CALLS=${BILLRUN_DEMO_CALLS:-1000000}
MONTH=2026-10
OUT=.local/demo
RUN=bill-run-$MONTH
UI=http://127.0.0.1:${BILLRUN_TEMPORAL_UI_PORT:-8233}

since() { echo "${2:-$(date +%s.%N)} $1" | awk '{printf "%.1f", $1 - $2}'; }
step() { printf '\n\033[1m== [%6s s] %s\033[0m\n' "$(since "$T0")" "$*"; }

# Its own database, namespace, task queue and bucket.
with_db() { printf %s "$1" | sed -E "s#^(postgres(ql)?://[^/]+)/[^?]*#\1/$2#"; }
admin=$DATABASE_URL
export DATABASE_URL; DATABASE_URL=$(with_db "$admin" billrun_demo)
worker_url=$(with_db "${BILLRUN_WORKER_DATABASE_URL:-$admin}" billrun_demo)
billctl_url=$(with_db "${BILLRUN_BILLCTL_DATABASE_URL:-$admin}" billrun_demo)
export TEMPORAL_NAMESPACE=billrun-demo TEMPORAL_TASK_QUEUE=billrun-demo S3_BUCKET=billrun-demo
B="env DATABASE_URL=$billctl_url bin/billctl --actor finance@demo.example"
temporal=$(command -v .local/bin/temporal || command -v temporal || true)
[ -n "$temporal" ] || { echo "demo: the Temporal CLI is missing (make up builds it)" >&2; exit 1; }

step "starting over: database billrun_demo, Temporal namespace billrun-demo, bucket billrun-demo"
# Workers a demo cut short left behind.
for f in .local/run/demo-workers.pid .local/run/demo-console.pid; do
	if [ -f $f ]; then kill $(cat $f) 2>/dev/null || true; rm -f $f; fi
done
psql "$(with_db "$admin" postgres)" -q -v ON_ERROR_STOP=1 \
	-c "DROP DATABASE IF EXISTS billrun_demo WITH (FORCE)" -c "CREATE DATABASE billrun_demo"
"$temporal" operator namespace delete --address "$TEMPORAL_ADDRESS" -n billrun-demo --yes >/dev/null 2>&1 || true
"$temporal" operator namespace create --address "$TEMPORAL_ADDRESS" -n billrun-demo --retention 72h >/dev/null
bin/demomonth -empty-bucket
# A namespace just registered reaches the server's caches within seconds.
for i in $(seq 1 60); do
	"$temporal" operator search-attribute list --address "$TEMPORAL_ADDRESS" -n billrun-demo >/dev/null 2>&1 && break
	[ "$i" = 60 ] && { echo "demo: namespace billrun-demo did not appear" >&2; exit 1; }
	sleep 0.5
done
bin/billctl migrate

step "writing the month: seed $SEED, $CALLS calls (internal/demo; the same seed, the same files)"
bin/demomonth -out "$OUT" -seed "$SEED" -calls "$CALLS"
# shellcheck source=/dev/null
. "$OUT/story.env"

step "importing the catalogue ($OUT/master)"
M=$OUT/master
$B import codedeck --deck world $M/codedeck.csv
$B import resellers $M/resellers.csv
$B import ratetables $M/ratetables.csv
for t in carrier-usd wholesale-usd retail-usd northwind-special retail-eur retail-gbp; do
	$B import rates --table $t $M/rates-$t.csv
done
$B import taxes $M/taxes.csv
$B import packages $M/packages.csv
$B import clients $M/clients.csv
$B import accounts $M/accounts.csv
$B import subscriptions $M/subscriptions.csv
$B ratetables list

step "starting two worker processes on task queue billrun-demo (logs in .local/log/demo-worker-*.log)"
workers=()
for n in 1 2; do
	env DATABASE_URL="$worker_url" bin/billrun-worker >.local/log/demo-worker-$n.log 2>&1 &
	workers+=($!)
done
echo "${workers[@]}" >.local/run/demo-workers.pid
trap 'kill "${workers[@]}" 2>/dev/null; wait "${workers[@]}" 2>/dev/null' EXIT

step "the switches deliver October: $(find $OUT/cdrs -type f | wc -l) files, $(du -sh $OUT/cdrs | cut -f1)"
T_UPLOAD=$(date +%s.%N)
for f in canonical asterisk freeswitch; do
	$B cdr upload --cdr-format $f $OUT/cdrs/$f/*
done

step "ingesting: S3 inbox → Temporal (UI: $UI/namespaces/billrun-demo/workflows) → PostgreSQL"
$B cdr ingest --wait
$B cdr files
echo "(fs1-cdr-$MONTH-2-resent.csv repeats fs1-cdr-$MONTH-2.csv.gz: its calls are duplicates, none is stored twice;"
echo " sbc-east-$MONTH-4-recovered.csv was left corrupt by a full disk: its bad lines are rejected, the rest is stored)"

step "finance withdraws $DELETED_TABLE's $DELETED_NAME promotion ($DELETED_CODE), loaded by mistake"
$B rates delete --table "$DELETED_TABLE" --code "$DELETED_CODE"

step "October's bill run: ingest → readiness and mismatches → (wait for finance) → invoices issued"
rc=0
$B run bill --period $MONTH --state issued --wait || rc=$?
[ "$rc" = 3 ] || { echo "demo: the bill run should wait for finance (exit 3), it exited $rc" >&2; exit 1; }
$B report mismatches --from 2026-10-01 --to 2026-11-16

step "finance fixes master data: the accounts file with Northwind's new trunk and Cyberdyne's rate table, and $MISSING_TABLE's missing $MISSING_NAME"
$B import accounts $OUT/fixes/accounts-corrected.csv
$B import rates --table "$MISSING_TABLE" $OUT/fixes/rates-$MISSING_TABLE-missing.csv

step "resolving with --rerate: the run rerates the mismatched and stale calls and checks again"
rc=0
$B run resolve $RUN --rerate --wait || rc=$?
if [ "$rc" = 3 ]; then
	echo "(what is left cannot be fixed by master data: SIP scanners, a retired trunk, feature codes and satellite numbers)"
	$B report mismatches --from 2026-10-01 --to 2026-11-16
	step "accepting the rest: mismatched calls are not billed"
	$B run resolve $RUN --accept --wait
elif [ "$rc" != 0 ]; then
	exit "$rc"
fi
T_ISSUED=$(date +%s.%N)
step "October's invoices, issued"
$B invoice list --period $MONTH --kind invoice

step "Albion's clients' calls by origin (its table's source deck names them)"
$B report summary --from 2026-10-01 --to 2026-11-16 --reseller albion --group-by client,src_name

step "after issue, two rates turn out wrong for October: $CORRECTION1_TABLE's $CORRECTION1_NAME and $CORRECTION2_TABLE's $CORRECTION2_NAME"
$B import rates --table "$CORRECTION1_TABLE" $OUT/fixes/rates-$CORRECTION1_TABLE-correction.csv
$B import rates --table "$CORRECTION2_TABLE" $OUT/fixes/rates-$CORRECTION2_TABLE-correction.csv
$B rerate --match stale --from 2026-09-30 --to 2026-11-17 --wait
step "the corrections are notes naming the invoices they correct (billing-rules §7)"
$B invoice adjust --all --period $MONTH --state issued --wait
$B invoice list --period $MONTH --kind credit_note
$B invoice list --period $MONTH --kind debit_note

step "every call of October accounted for, by client and reason"
$B report reconcile --period $MONTH
$B invoice verify --period $MONTH

step "the documents: in S3 (bucket billrun-demo) and copied to $OUT/documents"
rm -rf "$OUT/documents"
$B invoice list --period $MONTH --format csv | awk -F, 'NR > 1 && $3 == "issued" {print $1}' | while read -r id; do
	$B invoice download "$id" --out "$OUT/documents" >/dev/null
done
ls "$OUT"/documents/*.pdf | head -n 4
echo "… $(ls "$OUT"/documents/*.pdf | wc -l) PDFs, each beside its JSON and CSV, in $OUT/documents; in S3 under s3://billrun-demo/invoices/CLIENT/$MONTH/ (listed above)"

step "payments arrive: Acme pays its invoice in full, Northwind pays 5,000.00 on account, Stark pays its debit note"
today=$(date -u +%F)
{
	echo "client,date,amount,currency,reference"
	$B invoice list --period $MONTH --format csv | awk -F, -v d="$today" '
		NR > 1 && $3 == "issued" && $4 == "acme" && $9 == "invoice" {print "acme," d "," $6 ",EUR,SEPA-ACME-" $2}
		NR > 1 && $3 == "issued" && $4 == "stark" && $9 == "debit_note" {print "stark," d "," $6 ",GBP,BACS-STARK-" $2}'
	echo "northwind,$today,5000.00,USD,WIRE-NW-$(date -u +%Y%m%d)"
} >"$OUT/payments.csv"
$B import payments "$OUT/payments.csv"
step "what every client owes, aged by days past due"
$B client balance
$B client statement --client northwind --from 2026-11-01 --to "$(date -u -d tomorrow +%F)" --out "$OUT/documents"

step "the finance console: the same month in a browser (docs/console.md)"
# A worker and the console stay up after the demo, for finance to look
# around and act; the next demo or make down stops them.
CONSOLE=${BILLRUN_CONSOLE_ADDR:-127.0.0.1:8080}
printf 'billrun-demo\n' | $B console user finance finance >"$OUT/console-users.txt"
printf 'billrun-view\n' | $B console user viewer viewer >>"$OUT/console-users.txt"
setsid env DATABASE_URL="$worker_url" bin/billrun-worker >.local/log/demo-console-worker.log 2>&1 </dev/null &
console_worker=$!
setsid env DATABASE_URL="$billctl_url" BILLRUN_CONSOLE_USERS="$OUT/console-users.txt" bin/billctl console --listen "$CONSOLE" \
	>.local/log/demo-console.log 2>&1 </dev/null &
echo "$console_worker $!" >.local/run/demo-console.pid
for i in $(seq 1 50); do
	(exec 3<>"/dev/tcp/${CONSOLE%:*}/${CONSOLE##*:}") 2>/dev/null && break
	[ "$i" = 50 ] && { echo "demo: the console did not start (.local/log/demo-console.log)" >&2; cat .local/log/demo-console.log >&2; exit 1; }
	sleep 0.2
done

step "the runs in the Temporal UI"
echo "bill run:   $UI/namespaces/billrun-demo/workflows/$RUN"
echo "every run:  $UI/namespaces/billrun-demo/workflows"
printf '\n\033[1mOctober from upload to issued invoices: %s s, on two workers; the whole demo: %s s.\033[0m\n' \
	"$(since "$T_UPLOAD" "$T_ISSUED")" "$(since "$T0")"
printf '\033[1mThe finance console: http://%s (sign in as finance / billrun-demo, or viewer / billrun-view; make down stops it).\033[0m\n' "$CONSOLE"
