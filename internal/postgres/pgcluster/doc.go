// Package pgcluster starts PostgreSQL clusters of a test's own in temporary
// folders, on free loopback ports: a primary, and a hot standby streaming
// from it. Tests that crash the server or need a replica use it; the
// shared cluster of DATABASE_URL is never copied or touched.
package pgcluster
