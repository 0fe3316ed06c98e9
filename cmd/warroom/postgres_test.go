package main

import (
	"os"
	"sync"
	"testing"
)

// postgresTests are the tests a subtest of TestOnPostgres runs on
// PostgreSQL as well, in the default suite.
var (
	pgMu    sync.Mutex
	pgTests = map[*testing.T]bool{}
)

// onPostgres reports whether t's world runs on PostgreSQL: every test under
// WARROOM_TEST_STORE=postgres, and the ones TestOnPostgres runs.
func onPostgres(t *testing.T) bool {
	if os.Getenv("WARROOM_TEST_STORE") == "postgres" {
		return true
	}
	pgMu.Lock()
	defer pgMu.Unlock()
	return pgTests[t]
}

// TestOnPostgres runs end-to-end tests that cover the commands, the
// public record and the documents again with warroom on PostgreSQL (the
// whole suite runs so with WARROOM_TEST_STORE=postgres).
func TestOnPostgres(t *testing.T) {
	for name, test := range map[string]func(*testing.T){
		"IncidentLifecycle": TestIncidentLifecycle,
	} {
		t.Run(name, func(t *testing.T) {
			pgMu.Lock()
			pgTests[t] = true
			pgMu.Unlock()
			test(t)
		})
	}
}
