#!/usr/bin/env bash
# The demo: import the sample catalogue of testdata/demo and rate a month of
# sample calls against it. Expects .local/env.sh sourced and bin/billctl built.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=bin/billctl
D=testdata/demo
echo "== importing the sample catalogue (testdata/demo)"
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
echo "== rating $D/cdrs-2026-10.csv"
$B cdr rate $D/cdrs-2026-10.csv
