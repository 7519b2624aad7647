// Package rating turns a call detail record into a rated call: it matches the
// call to a client's account, resolves the rate table (with parent tables),
// finds the longest destination code in force at connect time and computes the
// billed seconds and cost, exactly as billing-rules §2 says.
//
// The package is pure: it knows nothing of SQL, S3 or Temporal. An Engine is
// built once from a Catalog (a snapshot of master data) and is then safe for
// concurrent use. Inside the hot path money is exact fixed-point integers;
// what leaves the engine is Money, convertible to decimal.Decimal without loss.
package rating
