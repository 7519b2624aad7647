// Package testenv tells integration tests which real services they have.
// Without a service's setting a test skips, unless CI=true, where it fails:
// CI must never pass by skipping.
package testenv

import (
	"os"
	"testing"
)

// Require returns the environment variable env, or skips or fails t.
func Require(t testing.TB, env string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: run the tests with `make test`, which starts the local stack", env)
		}
		t.Skipf("%s is not set; `make test` starts the local stack", env)
	}
	return v
}
