// Package ledger is what a client owes: its issued invoices and debit notes
// add to its balance, its credit notes and payments take from it. It ages a
// balance into buckets of days past due, oldest debts paid first, and writes
// a statement of account with a running balance. Dates are calendar days; a
// balance "at" a day is the balance at its start, so that a statement of
// [from, to) closes at the balance at to.
package ledger
