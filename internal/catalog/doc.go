// Package catalog reads the master-data import files of interfaces.md (code
// decks, rate tables, rates, clients, accounts, taxes, packages and
// subscriptions) into validated records.
//
// A file is read whole before anything is applied: the first bad line stops
// the read with an *Error naming the file, the line and the field, so that an
// import is all or nothing. Checks that need the database (does the client
// exist?) are the importer's; each record keeps its Line for those errors.
package catalog
