package pagerduty_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	pd "github.com/PagerDuty/go-pagerduty"

	"github.com/warroom/warroom/internal/contract"
	"github.com/warroom/warroom/pagerduty"
)

// TestContractAgainstPagerDutysSpecs sends every request the adapter makes
// to mock servers generated from PagerDuty's own OpenAPI specs (REST and
// Events API v2). A request the spec does not allow fails the test.
func TestContractAgainstPagerDutysSpecs(t *testing.T) {
	rest := contract.Start(t, contract.Spec(t, "pagerduty-rest.openapi3.json"))
	events := contract.Start(t, contract.Spec(t, "pagerduty-events-v2.openapi3.json"))
	// PagerDuty versions its API with Accept: application/vnd.pagerduty+json;version=2
	// (a required header the spec checks is present); the spec's responses
	// are declared as application/json, so the mock would refuse to
	// negotiate. The header is checked here and then relaxed for the mock.
	accepts := map[string]bool{}
	restClient := rest.Client(func(r *http.Request) {
		accepts[r.Header.Get("Accept")] = true
		r.Header.Set("Accept", "application/json")
	})
	c := pagerduty.New(pagerduty.Config{Token: "u+abcdefg", APIURL: rest.URL, EventsURL: events.URL, From: "warroom@example.com",
		Policy: "PPOLICY", DefaultService: "PSERVICE", HTTP: restClient})
	// The Events API's server is https://events.pagerduty.com/v2 with the
	// path /enqueue; go-pagerduty sends /v2/enqueue to the host. The mock
	// serves the spec's paths without the server's base path.
	ev := pagerduty.New(pagerduty.Config{Token: "u+abcdefg", APIURL: rest.URL, EventsURL: events.URL, HTTP: events.Client(func(r *http.Request) {
		r.URL.Path = strings.TrimPrefix(r.URL.Path, "/v2")
		r.Header.Set("Accept", "application/json") // go-pagerduty sends the REST API's version header here too
	})})
	ctx := context.Background()
	page := pagerduty.Page{DedupKey: "warroom-INC-7-payments", Summary: "INC-7 [SEV1] Checkout returns 500s", Details: "db connections exhausted",
		Link: "https://acme.slack.com/archives/C123", Severity: "critical", Runbook: "https://wiki.example.com/runbooks/payments",
		Dashboards: []pagerduty.Dashboard{{Name: "Payments overview", URL: "https://grafana.example.com/d/payments"}},
		Context:    map[string]string{"incident": "INC-7", "severity": "SEV1", "status": "investigating", "commander": "carol@example.com"}}

	// Adapter-level answers do not matter here (the mock answers with the
	// spec's examples); what the vendor would accept does.
	c.Check(ctx)
	c.OnCall(ctx, "")
	c.OnCall(ctx, "PPAYPOL")
	c.User(ctx, "PXPGF42")
	c.UserByEmail(ctx, "carol@example.com")
	c.PagePerson(ctx, "", "PXPGF42", page)
	c.PagePerson(ctx, "PPAY", "", page)
	c.OpenIncidents(ctx, page.DedupKey)
	c.ResolveIncident(ctx, "PT4KHLK")
	if err := ev.Trigger(ctx, strings.Repeat("a", 32), page); err != nil {
		t.Errorf("trigger: %v", err)
	}
	if err := ev.ResolveEvent(ctx, strings.Repeat("a", 32), page.DedupKey); err != nil {
		t.Errorf("resolve event: %v", err)
	}
	for _, m := range []*contract.Mock{rest, events} {
		for _, v := range m.Violations() {
			t.Errorf("against the spec: %s", v)
		}
	}
	if len(accepts) != 1 || !accepts["application/vnd.pagerduty+json;version=2"] {
		t.Errorf("Accept headers sent: %v", accepts)
	}
	if n := len(rest.Calls()); n < 9 {
		t.Errorf("only %d REST calls reached the mock: %v", n, rest.Calls())
	}
	// The mock does catch bad requests: go-pagerduty's own CreateIncident
	// sends "priority": null, which is why PagePerson builds its request.
	raw := pd.NewClient("u+abcdefg", pd.WithAPIEndpoint(rest.URL))
	raw.HTTPClient = restClient
	raw.CreateIncidentWithContext(ctx, "warroom@example.com", &pd.CreateIncidentOptions{Title: "x", Service: &pd.APIReference{ID: "PSERVICE", Type: "service_reference"}})
	if v := rest.Violations(); len(v) != 1 || !strings.Contains(v[0], "priority") {
		t.Errorf("the mock did not catch go-pagerduty's null priority: %v", v)
	}
	t.Logf("REST calls checked: %v; events: %v", rest.Calls(), events.Calls())
}
