package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

const pdSecret = "pd-webhook-secret"

// pdWebhook sends a PagerDuty v3 webhook, signed with secret, and returns the status.
func (w *world) pdWebhook(secret, eventID, eventType, pdIncident, service, title string) int {
	w.t.Helper()
	body := fmt.Sprintf(`{"event":{"id":%q,"event_type":%q,"resource_type":"incident","occurred_at":%q,"agent":null,"client":null,
		"data":{"id":%q,"type":"incident","number":1,"status":"triggered","title":%q,"html_url":"https://acme.pagerduty.com/incidents/%s",
		"service":{"id":%q,"summary":%q,"type":"service_reference"}}}}`,
		eventID, eventType, time.Now().UTC().Format(time.RFC3339), pdIncident, title, pdIncident, service, service+" API")
	return w.postPD(secret, body)
}

// postPD posts a PagerDuty webhook body signed with secret and returns the status.
func (w *world) postPD(secret, body string) int {
	w.t.Helper()
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	req, _ := http.NewRequest(http.MethodPost, "http://"+w.addr+"/webhooks/pagerduty", bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-PagerDuty-Signature", "v1="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestPagerDutyAlertsOpenAndJoinIncidents: an alert declares an incident and
// opens its war room; a second alert for the same group within the window
// joins it; a redelivery is handled once; a forged webhook is refused; an
// alert after the window opens a new incident; an acknowledgement is recorded.
func TestPagerDutyAlertsOpenAndJoinIncidents(t *testing.T) {
	w := start(t, "http", "PAGERDUTY_WEBHOOK_SECRET="+pdSecret, "PAGERDUTY_SERVICES=PPAY=sev1:payments,PCARD=sev2:payments",
		"PAGERDUTY_CORRELATION_WINDOW=2s")
	if code := w.pdWebhook(pdSecret, "ev1", "incident.triggered", "Q1", "PPAY", "Error rate above 5%"); code != 204 {
		t.Fatalf("first alert: %d", code)
	}
	room := w.room("INC-1")
	if room.Name != "inc-1-ppay-api-error-rate-above-5" {
		t.Errorf("war room #%s", room.Name)
	}
	inc := w.show("INC-1")
	if inc.Severity != "SEV1" || inc.DeclaredBy != "pagerduty" || inc.Commander != "" {
		t.Errorf("declared from the alert: %+v", inc)
	}
	w.eventually("the announcement says it came from an alert", func() bool {
		return w.posted(w.announce, "INC-1* declared from a PagerDuty alert", "Commander: nobody yet")
	})
	if code := w.pdWebhook(pdSecret, "ev2", "incident.triggered", "Q2", "PCARD", "Card declines"); code != 204 {
		t.Fatalf("second alert: %d", code)
	}
	w.eventually("the second alert is grouped into INC-1", func() bool {
		return w.posted(room.ID, "Another alert was grouped into INC-1: Card declines")
	})
	if code := w.pdWebhook(pdSecret, "ev2", "incident.triggered", "Q2", "PCARD", "Card declines"); code != 204 {
		t.Fatalf("redelivery: %d", code)
	}
	if code := w.pdWebhook("not-the-secret", "ev9", "incident.triggered", "Q9", "PPAY", "forged"); code != 401 {
		t.Errorf("a forged webhook: %d", code)
	}
	if code := w.pdWebhook(pdSecret, "ev3", "incident.acknowledged", "Q1", "PPAY", "Error rate above 5%"); code != 204 {
		t.Fatalf("ack: %d", code)
	}
	time.Sleep(2100 * time.Millisecond) // past the correlation window
	w.pdWebhook(pdSecret, "ev4", "incident.triggered", "Q4", "PPAY", "Error rate above 5% again")
	w.room("INC-2")
	if n := len(w.listJSON(true)); n != 2 {
		t.Errorf("%d incidents; want 2 (the forged and redelivered webhooks declared nothing)", n)
	}
	if grouped := w.countPosts(room.ID, "grouped into INC-1"); grouped != 1 {
		t.Errorf("the grouping was posted %d times", grouped)
	}
	var kinds []string
	for _, e := range w.show("INC-1").Timeline {
		kinds = append(kinds, e.Kind)
	}
	if got := strings.Join(kinds, " "); got != "declare war_room alert_grouped alert_acknowledged" {
		t.Errorf("timeline: %s", got)
	}
}

// TestSplitAGroupedAlert: the button on a grouped alert declares a new
// incident for it, with its own war room, and both timelines say so.
func TestSplitAGroupedAlert(t *testing.T) {
	w := start(t, "http", "PAGERDUTY_WEBHOOK_SECRET="+pdSecret, "PAGERDUTY_SERVICES=PPAY=sev1:payments,PCARD=sev2:payments")
	w.pdWebhook(pdSecret, "ev1", "incident.triggered", "Q1", "PPAY", "Error rate above 5%")
	room := w.room("INC-1")
	w.pdWebhook(pdSecret, "ev2", "incident.triggered", "Q2", "PCARD", "Card declines")
	var grouped string
	w.eventually("the grouped alert has a split button", func() bool {
		for _, m := range w.sim.Messages(room.ID) {
			if strings.Contains(string(m.Blocks), "warroom_split_alert") {
				grouped = m.TS
				return true
			}
		}
		return false
	})
	if _, err := w.sim.ClickButton(t.Context(), w.users["bob"], room.ID, grouped, "alert", "warroom_split_alert", "pagerduty:Q2"); err != nil {
		t.Fatal(err)
	}
	newRoom := w.room("INC-2")
	if newRoom.Name != "inc-2-pcard-api-card-declines" {
		t.Errorf("the split incident's room is #%s", newRoom.Name)
	}
	w.eventually("the old room hears of the split", func() bool { return w.posted(room.ID, "out into its own incident, INC-2") })
	if inc := w.show("INC-2"); inc.Commander != w.users["bob"] || inc.Severity != "SEV1" {
		t.Errorf("split incident: commander %q severity %s", inc.Commander, inc.Severity)
	}
	kinds := ""
	for _, e := range w.show("INC-1").Timeline {
		kinds += e.Kind + " "
	}
	if !strings.Contains(kinds, "alert_split") {
		t.Errorf("INC-1 timeline: %s", kinds)
	}
	// Later events of the split alert land on the new incident.
	w.pdWebhook(pdSecret, "ev3", "incident.resolved", "Q2", "PCARD", "Card declines")
	w.eventually("the resolution of the split alert lands on INC-2", func() bool {
		for _, e := range w.show("INC-2").Timeline {
			if e.Kind == "alert_resolved" {
				return true
			}
		}
		return false
	})
}

// TestAlertsJoinTheIncidentAPersonDeclared: an incident a person declared
// for a service takes that service's group's alerts within the window, as
// one an alert opened does, with the Split button; a private one does not
// (its room is closed to the on-call team), and neither does one declared
// before the window.
func TestAlertsJoinTheIncidentAPersonDeclared(t *testing.T) {
	w := start(t, "http", "PAGERDUTY_WEBHOOK_SECRET="+pdSecret, "PAGERDUTY_CORRELATION_WINDOW=3s",
		`PAGERDUTY_SERVICES=[{"name":"payments","id":"PPAY","severity":"sev1","group":"checkout"},{"name":"cards","id":"PCARD","severity":"sev2","group":"checkout"},{"name":"search","id":"PSEARCH","severity":"sev3"}]`)
	w.cmd("alice", w.general, "declare sev2 cards: declines rising")
	room := w.room("INC-1")
	if code := w.pdWebhook(pdSecret, "ev1", "incident.triggered", "Q1", "PPAY", "Error rate above 5%"); code != 204 {
		t.Fatalf("alert: %d", code)
	}
	w.eventually("the payments alert joins the cards incident (same group)", func() bool {
		return w.posted(room.ID, "Another alert was grouped into INC-1: Error rate above 5%", "Split into its own incident")
	})
	w.cmd("alice", w.general, "declare private sev2 search: index exposed")
	if code := w.pdWebhook(pdSecret, "ev2", "incident.triggered", "Q2", "PSEARCH", "Latency high"); code != 204 {
		t.Fatalf("alert: %d", code)
	}
	w.eventually("the search alert opens its own incident, not the private one", func() bool {
		inc := w.show("INC-3")
		return inc.DeclaredBy == "pagerduty" && inc.Service == "search"
	})
	for _, e := range w.show("INC-2").Timeline {
		if strings.HasPrefix(e.Kind, "alert") {
			t.Errorf("an alert joined the private incident: %+v", e)
		}
	}
	time.Sleep(3100 * time.Millisecond) // past the window
	w.pdWebhook(pdSecret, "ev3", "incident.triggered", "Q3", "PCARD", "Declines again")
	w.eventually("after the window a new incident opens", func() bool { return w.show("INC-4").DeclaredBy == "pagerduty" })
}
