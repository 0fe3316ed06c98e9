package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/vendorsim"
)

const (
	pdToken    = "pd-token-0123456789"
	routingKey = "R0UTINGKEY0123456789abcdefABCDEF" // 32 characters, as PagerDuty's are
	jiraUser   = "warroom@example.com"
	jiraToken  = "jira-api-token"
)

// vendors starts fake PagerDuty and Jira sites and writes a config file
// for them; alice, bob, carol and dave are PagerDuty users, carol on call.
func vendors(t *testing.T) (*vendorsim.PagerDuty, *vendorsim.Jira, string) {
	t.Helper()
	pd := vendorsim.NewPagerDuty(pdToken)
	jr := vendorsim.NewJira(jiraUser, jiraToken, "OPS")
	t.Cleanup(pd.Close)
	t.Cleanup(jr.Close)
	for _, n := range []string{"alice", "bob", "carol", "dave"} {
		pd.AddUser("P"+strings.ToUpper(n), strings.ToUpper(n[:1])+n[1:], n+"@example.com")
	}
	pd.SetOnCall("PPOLICY", "PCAROL")
	pd.SetOnCall("PPAYPOL", "PDAVE")
	cfg := fmt.Sprintf(`# what an operator writes; secrets could come from the environment instead
pagerduty:
  token: %s
  escalation_policy: PPOLICY
  from: warroom@example.com
  default_service: PDEFAULT
  api_url: %s
  events_url: %s
  services:
    - name: payments
      id: PPAY
      severity: sev1
      group: checkout
      routing_key: %s
      runbook: https://wiki.example.com/runbooks/payments
      dashboards:
        - {name: Payments overview, url: "https://grafana.example.com/d/payments"}
      owners: ["@payments-oncall"]
      contacts:
        - {name: Card processor support, phone: "+44 20 7946 0000", url: "https://status.processor.example"}
    - name: search
      id: PSEARCH
      severity: sev3
      escalation_policy: PPAYPOL
jira:
  url: %s
  user: %s
  token: %s
  project: OPS
  issue_type: Incident
warroom:
  retry_first: 100ms
  retry_max: 1s
`, pdToken, pd.URL(), pd.URL(), routingKey, jr.URL(), jiraUser, jiraToken)
	path := filepath.Join(t.TempDir(), "warroom.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return pd, jr, path
}

// TestRespondWithPagerDutyAndJiraThroughOutages drives the respond stage
// as a team would, with the vendors failing in the middle: the on-call
// person becomes commander, Jira gets one issue that follows the incident,
// pages go out once, and outages delay work without losing or repeating it.
func TestRespondWithPagerDutyAndJiraThroughOutages(t *testing.T) {
	pd, jr, cfg := vendors(t)
	w := start(t, "http", "WARROOM_CONFIG="+cfg, "PAGERDUTY_WEBHOOK_SECRET="+pdSecret)

	reply := w.cmd("alice", w.general, "declare sev1 payments: card auth failing")
	if !strings.Contains(reply, "Declared *INC-1*") || !strings.Contains(reply, "until I find who is on call") {
		t.Fatalf("declare reply: %q", reply)
	}
	room := w.room("INC-1")
	w.eventually("carol, on call, becomes commander", func() bool { return w.show("INC-1").Commander == w.users["carol"] })
	w.eventually("the room is told", func() bool {
		return w.posted(room.ID, "<@"+w.users["carol"]+"> is on call (PagerDuty: Carol) and is now the *commander*")
	})
	w.eventually("carol is invited", func() bool { ch, _ := w.sim.Channel(room.ID); return slices.Contains(ch.Members, w.users["carol"]) })
	if inc := w.show("INC-1"); inc.Service != "payments" || inc.Title != "card auth failing" {
		t.Errorf("service and title: %+v", inc)
	}
	w.eventually("Jira has the issue and the summary shows it", func() bool {
		is := jr.Issues()
		return len(is) == 1 && strings.Contains(w.pinned(room.ID).Text+string(w.pinned(room.ID).Blocks), "OPS-1")
	})
	w.eventually("the issue names the commander as people read names", func() bool {
		return strings.Contains(jr.Issues()[0].Description, "Commander: @carol")
	})
	issue := jr.Issues()[0]
	if issue.Summary != "INC-1 [SEV1] card auth failing" || issue.Type != "Incident" || !slices.Contains(issue.Labels, "warroom-inc-1") ||
		!strings.Contains(issue.Description, "Service: payments") || !strings.Contains(issue.Description, "/archives/"+room.ID) {
		t.Errorf("issue: %+v", issue)
	}

	// Jira goes down. The incident goes on; the room hears once.
	jr.Fail(-1, http.StatusServiceUnavailable)
	started := time.Now()
	for _, c := range []string{"severity sev2", "note rolled back the card service", "status identified bad config push", "communicator me"} {
		if r := w.cmd("bob", room.ID, c); strings.Contains(r, "wrong") {
			t.Fatalf("%s: %q", c, r)
		}
	}
	if d := time.Since(started); d > 3*time.Second {
		t.Errorf("four commands took %v with Jira down; the lifecycle must not wait for vendors", d)
	}
	w.eventually("the room is told Jira is down", func() bool { return w.posted(room.ID, "Jira is not answering") })
	status := w.cmd("bob", room.ID, "status")
	if !strings.Contains(status, "Jira: update the issue — pending") || !strings.Contains(status, "503") {
		t.Errorf("/incident status during the outage: %q", status)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"outbox", "list"}, nil, &out, &errb, w.getenv); code != 0 || !strings.Contains(out.String(), "ticket.sync") {
		t.Errorf("outbox list: %d %s %s", code, out.String(), errb.String())
	}

	// The service's card: in its war room, alone, the incident's service.
	card := w.cmd("bob", room.ID, "service")
	for _, want := range []string{"*payments*", "Runbook: <https://wiki.example.com/runbooks/payments|", "<https://grafana.example.com/d/payments|Payments overview>",
		"Owners: @payments-oncall", "*Card processor support* · +44 20 7946 0000 · <https://status.processor.example|", "Last incidents: INC-1 SEV", "open)", "`/incident page payments`"} {
		if !strings.Contains(card, want) {
			t.Errorf("/incident service lacks %q:\n%s", want, card)
		}
	}
	if r := w.cmd("bob", w.general, "service search"); !strings.Contains(r, "*search*") || !strings.Contains(r, "Runbook: _none set") || !strings.Contains(r, "Last incidents: none") {
		t.Errorf("/incident service search: %q", r)
	}
	if r := w.cmd("bob", w.general, "service"); !strings.Contains(r, "Say which service: `/incident service payments`. Services: payments, search.") {
		t.Errorf("/incident service outside a war room: %q", r)
	}
	if r := w.cmd("bob", w.general, "service billing"); !strings.Contains(r, `"billing" is not a service warroom knows. Services: payments, search.`) {
		t.Errorf("/incident service billing: %q", r)
	}

	// PagerDuty throttles while a service and a person are paged.
	pd.Fail(2, http.StatusTooManyRequests)
	if r := w.cmd("bob", room.ID, "page payments db connections exhausted"); !strings.Contains(r, "Paging payments") {
		t.Fatalf("page reply: %q", r)
	}
	if r := w.cmd("bob", room.ID, "page "+w.at("dave")); !strings.Contains(r, "Paging <@"+w.users["dave"]+">") {
		t.Fatalf("page reply: %q", r)
	}
	if r := w.cmd("bob", room.ID, "page dave"); !strings.Contains(r, "Paging <@"+w.users["dave"]+">") { // a name typed without @
		t.Fatalf("page by name: %q", r)
	}
	w.cmd("bob", room.ID, "page payments again") // the same page: one PagerDuty incident
	w.eventually("both pages reach PagerDuty", func() bool { return len(pd.Events()) >= 1 && len(pd.Incidents()) == 1 })
	ev := pd.Events()[0]
	if ev.DedupKey != "warroom-INC-1-payments" || ev.RoutingKey != routingKey || !strings.Contains(ev.Summary, "INC-1 [SEV2] card auth failing: db connections exhausted") ||
		len(ev.Links) != 3 || !strings.Contains(ev.Links[0]["href"], "/archives/"+room.ID) {
		t.Errorf("event: %+v", ev)
	}
	// The page carries what the person woken up needs: the runbook and the
	// dashboards as links, the incident's state in the details.
	if len(ev.Links) == 3 && (ev.Links[1]["href"] != "https://wiki.example.com/runbooks/payments" || ev.Links[1]["text"] != "Runbook" ||
		ev.Links[2]["href"] != "https://grafana.example.com/d/payments" || ev.Links[2]["text"] != "Payments overview") {
		t.Errorf("the page's links: %v", ev.Links)
	}
	// (The status is the incident's when the page went out: the faults
	// above may hold it back past the status change.)
	if commander, _ := ev.Details["commander"].(string); ev.Details["status"] == "" || !strings.HasSuffix(commander, "@example.com") {
		t.Errorf("the page's custom_details lack the status or the commander's email: %v", ev.Details)
	}
	for k, want := range map[string]string{"incident": "INC-1", "severity": "SEV2", "service": "payments",
		"runbook": "https://wiki.example.com/runbooks/payments", "details": "db connections exhausted"} {
		if got, _ := ev.Details[k].(string); got != want {
			t.Errorf("the page's custom_details[%s] = %q, want %q (all: %v)", k, got, want, ev.Details)
		}
	}
	if got, _ := ev.Details["war_room"].(string); !strings.Contains(got, "/archives/"+room.ID) {
		t.Errorf("the page's custom_details lack the war room: %v", ev.Details)
	}
	if inc := pd.Incidents()[0]; inc.Assignee != "PDAVE" || inc.Service != "PPAY" || inc.Key != "warroom-INC-1-"+strings.ToLower(w.users["dave"]) || inc.Urgency != "high" {
		t.Errorf("page to dave: %+v", inc)
	}

	// Jira comes back: the issue catches up, once.
	jr.Heal()
	w.eventually("the issue follows the incident", func() bool {
		is := jr.Issues()
		return len(is) == 1 && is[0].Summary == "INC-1 [SEV2] card auth failing" && strings.Contains(is[0].Description, "Status: identified")
	})
	w.eventually("the room hears Jira is back", func() bool { return w.posted(room.ID, "Jira is answering again") })

	// PagerDuty reports the page acknowledged.
	if code := w.pdPageWebhook("ack1", "incident.acknowledged", "Q77", "warroom-INC-1-payments", "Dave"); code != 204 {
		t.Fatalf("ack webhook: %d", code)
	}
	w.eventually("the acknowledgement is in the room", func() bool { return w.posted(room.ID, "Dave acknowledged the page") })
	// A page's own trigger webhook does not declare an incident.
	w.pdPageWebhook("trig1", "incident.triggered", "Q77", "warroom-INC-1-payments", "")
	if list := w.cmd("alice", w.general, "list"); strings.Contains(list, "INC-2") {
		t.Errorf("warroom's own page declared an incident: %q", list)
	}

	// Resolving resolves the pages and the issue.
	w.cmd("carol", room.ID, "resolve rolled back")
	defer func() {
		if t.Failed() {
			t.Logf("jira %+v\npd events %+v\npd incidents %+v", jr.Issues(), pd.Events(), pd.Incidents())
			var out bytes.Buffer
			run(context.Background(), []string{"outbox", "list", "--all"}, nil, &out, &out, w.getenv)
			t.Log(out.String())
		}
	}()
	w.eventually("Jira issue done, pages resolved", func() bool {
		is, evs, incs := jr.Issues(), pd.Events(), pd.Incidents()
		return is[0].Status == "Done" && len(evs) == 3 && evs[2].Action == "resolve" && evs[2].DedupKey == "warroom-INC-1-payments" && incs[0].Status == "resolved"
	})
	if n := len(jr.Issues()); n != 1 {
		t.Errorf("%d Jira issues for one incident", n)
	}
	// Paging payments twice sent two triggers with one dedup key, which
	// PagerDuty folds into one incident; the 429s sent nothing twice.
	for _, ev := range pd.Events() {
		if ev.DedupKey != "warroom-INC-1-payments" {
			t.Errorf("event with dedup key %q", ev.DedupKey)
		}
	}
	w.eventually("nothing left in the outbox", func() bool {
		return strings.Contains(w.cmd("bob", room.ID, "status"), "is delivered")
	})
	tl := w.show("INC-1").Timeline
	kinds := map[string]int{}
	for _, e := range tl {
		kinds[e.Kind]++
	}
	if kinds["oncall"] != 1 || kinds["page"] != 4 || kinds["page_acknowledged"] != 1 || kinds["link"] != 1 || kinds["notice"] != 4 {
		t.Errorf("timeline kinds: %v", kinds)
	}
	if told := w.countPosts(room.ID, "Jira is not answering"); told != 1 {
		t.Errorf("the room was told %d times that Jira is down; once is enough", told)
	}
	t.Logf("faults injected: Jira %d, PagerDuty %d; requests answered: Jira %d, PagerDuty %d; outbox: %s", jr.Injected(), pd.Injected(), jr.Requests(), pd.Requests()+len(pd.Events()), w.outboxSummary())

	// Anyone may ask for a service's card, so a private incident of the
	// service is not on it.
	w.cmd("carol", w.general, "declare private sev2 payments: payroll card leak")
	if card := w.cmd("dave", w.general, "service payments"); !strings.Contains(card, "INC-1") || strings.Contains(card, "payroll") || regexp.MustCompile(`INC-[2-9]`).MatchString(card) {
		t.Errorf("the card shows a private incident, or lost the public one:\n%s", card)
	}
}

// pdPageWebhook sends a signed webhook about a PagerDuty incident that
// carries incident_key, as PagerDuty does for incidents warroom's pages opened.
func (w *world) pdPageWebhook(eventID, eventType, pdIncident, key, agent string) int {
	w.t.Helper()
	agentJSON := "null"
	if agent != "" {
		agentJSON = fmt.Sprintf(`{"id":"PAGENT","type":"user_reference","summary":%q}`, agent)
	}
	body := fmt.Sprintf(`{"event":{"id":%q,"event_type":%q,"resource_type":"incident","occurred_at":%q,"agent":%s,
		"data":{"id":%q,"type":"incident","title":"page","incident_key":%q,"html_url":"https://acme.pagerduty.com/incidents/%s",
		"service":{"id":"PPAY","summary":"payments","type":"service_reference"}}}}`,
		eventID, eventType, time.Now().UTC().Format(time.RFC3339), agentJSON, pdIncident, key, pdIncident)
	return w.postPD(pdSecret, body)
}

// TestOnCallFallbackAlertCommanderAndRestartResume: with PagerDuty down the
// declarer stays commander and the room is told why; an alert's incident
// gets its service's on-call commander; a restart in the middle of a Jira
// outage (slow answers past the call timeout, then 500s) loses nothing and
// repeats nothing.
func TestOnCallFallbackAlertCommanderAndRestartResume(t *testing.T) {
	pd, jr, cfg := vendors(t)
	w := start(t, "http", "WARROOM_CONFIG="+cfg, "PAGERDUTY_WEBHOOK_SECRET="+pdSecret, "PAGERDUTY_ONCALL_WAIT=1s", "WARROOM_CALL_TIMEOUT=300ms")

	pd.Fail(-1, http.StatusInternalServerError)
	w.cmd("alice", w.general, "declare sev2 search is slow")
	room := w.room("INC-1")
	w.eventually("the room hears alice stays commander", func() bool {
		return w.posted(room.ID, "couldn't find who is on call in PagerDuty", "<@"+w.users["alice"]+"> stays commander")
	})
	if inc := w.show("INC-1"); inc.Commander != w.users["alice"] {
		t.Errorf("commander %s", inc.Commander)
	}
	pd.Heal()

	// An alert for search declares an incident; its policy's on-call (dave) leads it.
	if code := w.pdWebhook(pdSecret, "ev1", "incident.triggered", "Q9", "PSEARCH", "p99 above 2s"); code != 204 {
		t.Fatalf("alert: %d", code)
	}
	w.eventually("dave commands the alert's incident", func() bool { return w.show("INC-2").Commander == w.users["dave"] })
	if inc := w.show("INC-2"); inc.Service != "search" || inc.Severity != "SEV3" {
		t.Errorf("alert incident: %+v", inc)
	}
	w.eventually("both issues exist", func() bool { return len(jr.Issues()) == 2 })

	// Jira hangs, then the process restarts while changes wait.
	jr.Slow(2 * time.Second)
	w.cmd("alice", room.ID, "severity sev1")
	w.cmd("alice", room.ID, "resolve index rebuilt")
	w.eventually("a Jira call timed out", func() bool {
		var out bytes.Buffer
		run(context.Background(), []string{"outbox", "list"}, nil, &out, &out, w.getenv)
		return strings.Contains(out.String(), "ticket.sync") && strings.Contains(out.String(), "deadline exceeded")
	})
	w.restart()
	jr.Heal()
	jr.Fail(2, http.StatusInternalServerError)
	w.eventually("after the restart the issue catches up", func() bool {
		for _, is := range jr.Issues() {
			if slices.Contains(is.Labels, "warroom-inc-1") {
				return is.Summary == "INC-1 [SEV1] search is slow" && is.Status == "Done"
			}
		}
		return false
	})
	if n := len(jr.Issues()); n != 2 {
		t.Errorf("%d Jira issues for two incidents", n)
	}
	t.Logf("faults injected: Jira %d, PagerDuty %d; outbox: %s", jr.Injected(), pd.Injected(), w.outboxSummary())
}

// TestCheckTriesPagerDutyAndJira: warroom check says which vendor
// connection works and what is wrong with the one that does not.
func TestCheckTriesPagerDutyAndJira(t *testing.T) {
	pd, jr, cfg := vendors(t)
	_ = pd
	env := map[string]string{"WARROOM_CONFIG": cfg, "WARROOM_DB": filepath.Join(t.TempDir(), "c.db")}
	getenv := func(k string) string { return env[k] }
	var out, errb bytes.Buffer
	run(context.Background(), []string{"check"}, nil, &out, &errb, getenv)
	for _, want := range []string{"ok    PagerDuty REST API at " + pd.URL(), "ok    PagerDuty on-call lookup (PPOLICY)", "ok    Jira project OPS at " + jr.URL()} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}
	env["JIRA_TOKEN"], env["PAGERDUTY_TOKEN"] = "wrong", "wrong"
	out.Reset()
	if code := run(context.Background(), []string{"check"}, nil, &out, &errb, getenv); code == 0 {
		t.Error("check passed with wrong tokens")
	}
	for _, want := range []string{"FAIL  PagerDuty REST API", "check PAGERDUTY_TOKEN", "FAIL  Jira project OPS", "401"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "wrong") || strings.Contains(out.String(), pdToken) {
		t.Errorf("check printed a token:\n%s", out.String())
	}
}

// TestDeclareFormOffersServices: with services configured the declare form
// has a service menu; choosing one records it, and its on-call person leads.
func TestDeclareFormOffersServices(t *testing.T) {
	_, _, cfg := vendors(t)
	w := start(t, "http", "WARROOM_CONFIG="+cfg)
	w.cmd("alice", w.general, "declare")
	views := w.sim.Views()
	if len(views) != 1 || !strings.Contains(string(views[0].Body), `"block_id":"service"`) || !strings.Contains(string(views[0].Body), `"value":"search"`) {
		t.Fatalf("declare form: %s", views[0].Body)
	}
	if _, err := w.sim.SubmitView(context.Background(), views[0].ID, map[string]map[string]string{
		"title": {"title": "Results missing"}, "severity": {"severity": "sev2"}, "service": {"service": "search"},
	}); err != nil {
		t.Fatal(err)
	}
	w.eventually("dave, on call for search, leads", func() bool {
		inc := w.show("INC-1")
		return inc.Service == "search" && inc.Commander == w.users["dave"]
	})
}

// outboxSummary counts the outbox's items by state and their attempts, from
// warroom outbox list --all --json.
func (w *world) outboxSummary() string {
	var out, errb bytes.Buffer
	run(context.Background(), []string{"outbox", "list", "--all", "--json"}, nil, &out, &errb, w.getenv)
	var rows []struct {
		Kind, State string
		Attempts    int
	}
	json.Unmarshal(out.Bytes(), &rows)
	states, attempts := map[string]int{}, 0
	for _, r := range rows {
		states[r.State]++
		attempts += r.Attempts
	}
	return fmt.Sprintf("%d items %v, %d attempts", len(rows), states, attempts)
}

// TestSummaryCatchesUpWithALateLink: the Jira issue's link arrives while
// the pinned summary is still being posted (Slack answers slowly), so the
// refresh it plans finds no summary to edit. The summary shows the link
// anyway, without waiting for the incident's next change.
func TestSummaryCatchesUpWithALateLink(t *testing.T) {
	jr := vendorsim.NewJira(jiraUser, jiraToken, "OPS")
	defer jr.Close()
	// Jira answers in 0.7 s, while Slack takes 1.5 s to answer the summary
	// post: the link lands between the summary's render and its answer.
	target, _ := url.Parse(jr.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	slowJira := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		time.Sleep(700 * time.Millisecond)
		proxy.ServeHTTP(rw, r)
	}))
	defer slowJira.Close()
	w := start(t, "http", "JIRA_URL="+slowJira.URL, "JIRA_USER="+jiraUser, "JIRA_TOKEN="+jiraToken, "JIRA_PROJECT=OPS")
	w.sim.Slow("chat.postMessage", 1500*time.Millisecond, 2) // the summary, and the announcement beside it
	w.cmd("alice", w.general, "declare sev2 Checkout returns 500s")
	room := w.room("INC-1")
	w.eventually("the issue is filed", func() bool { return len(jr.Issues()) == 1 })
	w.eventually("the pinned summary links OPS-1", func() bool {
		return strings.Contains(string(w.pinned(room.ID).Blocks), "OPS-1")
	})
}
