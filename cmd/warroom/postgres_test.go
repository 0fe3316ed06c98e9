package main

import (
	"os"
	"strings"
	"testing"
)

// onPostgres reports whether t's world runs on PostgreSQL: every test under
// WARROOM_TEST_STORE=postgres, and the ones TestOnPostgres runs.
func onPostgres(t *testing.T) bool {
	if os.Getenv("WARROOM_TEST_STORE") == "postgres" {
		return true
	}
	return strings.HasPrefix(t.Name(), "TestOnPostgres/")
}

// TestOnPostgres runs end-to-end tests that cover the commands, the
// public record and the documents again with warroom on PostgreSQL (the
// whole suite runs so with WARROOM_TEST_STORE=postgres).
func TestOnPostgres(t *testing.T) {
	for name, test := range map[string]func(*testing.T){
		"IncidentLifecycle":         TestIncidentLifecycle,
		"DocumentStage":             TestDocumentStageEndToEnd,
		"PrivateIncident":           TestPrivateIncident,
		"StatusPage":                TestStatusPageShowsPublishedUpdates,
		"RespondThroughOutages":     TestRespondWithPagerDutyAndJiraThroughOutages,
		"AlertsOpenAndJoin":         TestPagerDutyAlertsOpenAndJoinIncidents,
		"ResolveAsksForFinalUpdate": TestResolveAsksForTheFinalUpdate,
		"BadInput":                  TestBadInput,
		"RequestsAreVerified":       TestRequestsAreVerified,
	} {
		t.Run(name, test)
	}
}
