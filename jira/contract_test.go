package jira_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/warroom/warroom/internal/contract"
	"github.com/warroom/warroom/jira"
)

// TestContractAgainstJirasSpec sends the adapter's requests to a mock
// server generated from Atlassian's Jira Cloud platform spec. go-jira v1
// calls the REST API v2 paths, whose shapes v3 shares (the spec folder's
// README), so paths are mapped onto v3 for the mock.
func TestContractAgainstJirasSpec(t *testing.T) {
	m := contract.Start(t, contract.Spec(t, "jira-platform-v3.openapi3.json"))
	var auth []string
	c, err := jira.New(jira.Config{URL: m.URL, User: "warroom@example.com", Token: "t0ken", Project: "OPS", IssueType: "Incident",
		ReopenTransition: "Reopen", HTTP: m.Client(func(r *http.Request) {
			auth = append(auth, r.Header.Get("Authorization"))
			r.URL.Path = strings.Replace(r.URL.Path, "/rest/api/2/", "/rest/api/3/", 1)
		})})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tk := jira.Ticket{Ref: "INC-7", Title: "Checkout returns 500s", Severity: "SEV1", Status: "investigating", Stage: "assess",
		Commander: "U1", Service: "payments", WarRoom: "https://acme.slack.com/archives/C1"}
	c.Check(ctx)
	c.Sync(ctx, "", tk) // search by label, then create (the mock's search may find an example issue)
	c.Create(ctx, tk)
	c.Sync(ctx, "OPS-12", tk) // update, then the reopen transition
	tk.Resolved = true
	c.Sync(ctx, "OPS-12", tk) // update, then done
	act := jira.Action{Ref: "AI-3", Incident: "INC-7", IncidentKey: "OPS-12", Text: "Alert on replica lag", Owner: "U2", Priority: "P1", Due: "2026-12-15"}
	c.SyncAction(ctx, "", act) // search by label (the mock's search answer breaks its own spec, so:)
	c.CreateAction(ctx, act)
	if err := c.Link(ctx, "OPS-12", "OPS-13"); err != nil {
		t.Errorf("linking an action item's issue: %v", err)
	}
	act.Move = "done"
	c.SyncAction(ctx, "OPS-13", act) // update, then done
	c.Statuses(ctx, []string{"OPS-13", "OPS-14"})
	for _, v := range m.Violations() {
		t.Errorf("against the spec: %s", v)
	}
	calls := strings.Join(m.Calls(), "\n") + "\n"
	for _, want := range []string{"GET /rest/api/3/project/OPS", "GET /rest/api/3/search", "POST /rest/api/3/issue\n", "PUT /rest/api/3/issue/OPS-12", "GET /rest/api/3/issue/OPS-12/transitions", "POST /rest/api/3/issueLink", "PUT /rest/api/3/issue/OPS-13"} {
		if !strings.Contains(calls, want) {
			t.Errorf("no %s in:\n%s", want, calls)
		}
	}
	for _, a := range auth {
		if !strings.HasPrefix(a, "Basic ") {
			t.Errorf("request without basic auth: %q", a)
		}
	}
	// The mock does catch bad requests: an issue without fields.
	req, _ := http.NewRequest(http.MethodPost, m.URL+"/rest/api/2/issue", strings.NewReader(`{"fields": 5}`))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := m.Client(func(r *http.Request) { r.URL.Path = "/rest/api/3/issue" }).Do(req); err == nil {
		resp.Body.Close()
	}
	if v := m.Violations(); len(v) != 1 {
		t.Errorf("the mock did not catch a malformed issue: %v", v)
	}
	t.Logf("calls checked:\n%s", calls)
}
