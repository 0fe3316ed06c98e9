package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDocumentStageEndToEnd drives the document stage as a team would:
// resolve → the postmortem draft is uploaded to the war room → action
// items are added, handed over and closed (one in Slack, one in Jira) →
// each has a Jira issue linked to the incident's → the next draft lists
// them → the weekly report is posted on its schedule and printed by the
// CLI → /metrics shows all of it.
func TestDocumentStageEndToEnd(t *testing.T) {
	_, jr, cfg := vendors(t)
	w := start(t, "http", "WARROOM_CONFIG="+cfg, "WARROOM_POSTMORTEM_ON_RESOLVE=true", "JIRA_SYNC_EVERY=1s",
		"WARROOM_REPORT_CHANNEL=#reports", "WARROOM_REPORT_SCHEDULE=@every 2s", "WARROOM_METRICS_TOKEN=s3cret")
	reports := w.sim.AddChannel("reports", false)
	w.cmd("alice", w.general, "declare sev2 payments: card auth failing")
	room := w.room("INC-1")
	w.cmd("bob", room.ID, "commander me")
	w.cmd("bob", room.ID, "resolve pool size rolled back")
	if md := w.draft(room.ID, "INC-1-postmortem-v1.md"); !strings.Contains(md, "_No action items yet.") {
		t.Errorf("v1 recommendations:\n%s", md)
	}

	due := time.Now().UTC().AddDate(0, 0, 7).Format(time.DateOnly)
	r := w.cmd("bob", room.ID, "action add Alert when the card pool saturates "+w.at("carol")+" p1 due:"+due)
	if !strings.Contains(r, "Added *AI-1* to INC-1: Alert when the card pool saturates — P1, due "+due+", owner <@"+w.users["carol"]+">.") ||
		!strings.Contains(r, "Jira issue will be filed") || !strings.Contains(r, "INC-1 has 1 open action item") {
		t.Errorf("add reply: %q", r)
	}
	if r := w.cmd("bob", room.ID, "action add Lint pool sizes in deploy review"); !strings.Contains(r, "Nobody owns it yet: `/incident action assign 2 @someone`") {
		t.Errorf("add without owner: %q", r)
	}
	if r := w.cmd("bob", room.ID, "action add oops due:2020-01-01"); !strings.Contains(r, "is in the past") {
		t.Errorf("past due: %q", r)
	}
	w.cmd("bob", room.ID, "action assign 2 "+w.at("dave"))
	// From anywhere, by the item's number alone.
	if r := w.cmd("dave", w.general, "action done AI-2"); !strings.Contains(r, "*AI-2* is done.") || !strings.Contains(r, "INC-1 has 1 open action item") {
		t.Errorf("done from #general: %q", r)
	}
	if r := w.cmd("dave", w.general, "action done 2"); !strings.Contains(r, "already done") {
		t.Errorf("done twice: %q", r)
	}
	if r := w.cmd("dave", w.general, "action add x"); !strings.Contains(r, "not a war room") {
		t.Errorf("add outside a war room: %q", r)
	}
	if r := w.cmd("carol", w.general, "action list mine"); !strings.Contains(r, "*Your open action items* — 1 open") || !strings.Contains(r, "AI-1") {
		t.Errorf("list mine: %q", r)
	}
	for _, want := range []string{"added action item *AI-1* (P1, due " + due, "gave action item *AI-2* to <@" + w.users["dave"], "closed action item *AI-2*"} {
		w.eventually("the war room is told "+want, func() bool { return w.posted(room.ID, want) })
	}

	// Jira: the incident's issue, one per item, linked, AI-2's closed.
	var ai1 string
	w.eventually("each action item has a Jira issue linked to the incident's", func() bool {
		issues := jr.Issues()
		if len(issues) != 3 {
			return false
		}
		linked := 0
		for _, is := range issues[1:] {
			if len(is.Links) == 1 && is.Links[0] == issues[0].Key && slices.Contains(is.Labels, "warroom-action") {
				linked++
			}
			if strings.HasPrefix(is.Summary, "AI-1 ") {
				ai1 = is.Key
			}
		}
		return linked == 2 && issues[2].Status == "Done" && issues[1].Status != "Done"
	})
	list := w.cmd("bob", room.ID, "action list")
	if !strings.Contains(list, "*Action items of INC-1* — 1 open, 0 overdue, 1 done") || !strings.Contains(list, ai1) {
		t.Errorf("list: %q", list)
	}

	// Someone closes AI-1 in Jira; the sync brings it back.
	jr.SetStatus(ai1, "Done")
	w.eventually("closing the issue in Jira closes AI-1", func() bool {
		return w.posted(room.ID, "Action item *AI-1* was closed in Jira")
	})
	if r := w.cmd("bob", room.ID, "action list"); !strings.Contains(r, "0 open, 0 overdue, 2 done") {
		t.Errorf("after the Jira sync: %q", r)
	}

	w.cmd("bob", room.ID, "postmortem")
	md := w.draft(room.ID, "INC-1-postmortem-v2.md")
	for _, want := range []string{"| Alert when the card pool saturates | @carol | P1 | " + due + " | done ", "| Lint pool sizes in deploy review | @",
		"**ACTION ITEM** | AI-1 add: Alert when the card pool saturates (@carol, P1, due " + due + ")", "](" + jr.URL() + "/browse/" + ai1 + ")"} {
		if !strings.Contains(md, want) {
			t.Errorf("v2 lacks %q:\n%s", want, md)
		}
	}

	w.eventually("a weekly report is posted to #reports with both items closed", func() bool {
		return w.posted(reports, "Weekly action-item report", "Closed this week (2)", "AI-1", "INC-1* SEV2 [payments] card auth failing")
	})
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"report", "weekly", "--format", "json"}, nil, &out, &errb, w.getenv); code != 0 {
		t.Fatalf("report weekly: %d %s", code, errb.String())
	}
	var rep struct {
		Closed []struct{ Ref, Owner string }   `json:"closed_this_week"`
		Incs   []struct{ Ref, Service string } `json:"incidents_this_week"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.Closed) != 2 || len(rep.Incs) != 1 || rep.Incs[0].Service != "payments" {
		t.Errorf("report json: %v %s", err, out.String())
	}
	// The Markdown names owners by the names warroom learned in Slack, even
	// where the command line has no Slack token to ask with.
	out.Reset()
	noSlack := func(k string) string {
		if k == "SLACK_BOT_TOKEN" {
			return ""
		}
		return w.getenv(k)
	}
	if code := run(context.Background(), []string{"report", "weekly"}, nil, &out, &errb, noSlack); code != 0 || !strings.Contains(out.String(), "@carol") || strings.Contains(out.String(), w.users["carol"]) {
		t.Errorf("report weekly in Markdown names people by ID: %d\n%s", code, out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"report", "weekly", "--since", "2026-13-01"}, nil, &out, &errb, w.getenv); code != 2 {
		t.Errorf("a bad --since exits %d", code)
	}

	// /metrics, with its token.
	get := func(token string) (int, string) { return w.getWithToken("http://"+w.admin+"/metrics", token) }
	if code, _ := get(""); code != 401 {
		t.Errorf("/metrics without the token: %d", code)
	}
	code, body := get("s3cret")
	for _, want := range []string{
		`warroom_incidents{severity="SEV2",state="resolved"} 1`, "warroom_time_to_resolve_seconds_count 1", "warroom_time_to_acknowledge_seconds_count 1",
		`warroom_action_items_open{priority="P1"} 0`, `warroom_action_items_overdue{priority="P2"} 0`,
		`warroom_command_duration_seconds_count{command="action",outcome="ok"}`, `warroom_command_duration_seconds_count{command="action",outcome="rejected"} 3`,
		`warroom_outbox_items{state="failed",system="slack"} 0`, "warroom_status_updates_late_total 0", "warroom_outbox_delivered_total", "warroom_metrics_database_up 1",
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics (%d) lacks %q", code, want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}

// draft waits for the postmortem file name to be shared in channel and
// returns its content.
func (w *world) draft(channel, name string) string {
	w.t.Helper()
	var md string
	w.eventually(name+" is uploaded to the war room", func() bool {
		for _, f := range w.sim.Files() {
			if f.Channel == channel && f.Name == name && len(f.Content) > 0 {
				md = string(f.Content)
				return true
			}
		}
		return false
	})
	return md
}

// getWithToken GETs url, with token as a bearer token if not empty, and
// returns the status and body.
func (w *world) getWithToken(url, token string) (int, string) {
	w.t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// zoneAt is a fixed-offset IANA zone (Etc/GMT±n) where the local hour is
// now about hour.
func zoneAt(hour int) string {
	off := (hour - time.Now().UTC().Hour() + 48) % 24 // hours east of UTC
	if off > 14 {
		off -= 24
	}
	switch {
	case off == 0:
		return "Etc/GMT"
	case off > 0:
		return fmt.Sprintf("Etc/GMT-%d", off) // POSIX sign: GMT-3 is UTC+3
	}
	return fmt.Sprintf("Etc/GMT+%d", -off)
}

// TestOvernightRespondersAreToldToRecover: resolving an incident people
// worked on between 00:00 and 06:00 (in WARROOM_TIMEZONE) names them in the
// war room and to the resolver, and says to take a day; by day it says
// nothing. Both ways of resolving: the command and the commander's
// resolved update.
func TestOvernightRespondersAreToldToRecover(t *testing.T) {
	w := start(t, "http", "WARROOM_TIMEZONE="+zoneAt(3))
	w.cmd("alice", w.general, "declare sev2 Night pager")
	room := w.room("INC-1").ID
	w.cmd("bob", room, "note checked the dashboards")
	r := w.cmd("alice", room, "resolve rolled back")
	if !strings.Contains(r, "<@"+w.users["alice"]+">, <@"+w.users["bob"]+"> worked on INC-1 between 00:00 and 06:00") || !strings.Contains(r, "Take a day to recover") {
		t.Fatalf("the resolve reply at 03:00: %q", r)
	}
	w.eventually("the war room hears it", func() bool { return w.posted(room, "worked on INC-1 between 00:00 and 06:00", "Take a day to recover") })

	// The commander resolving with the resolved public update.
	w.cmd("alice", w.general, "declare sev2 Night pager again")
	room2 := w.room("INC-2").ID
	if r := w.publish("alice", room2, "resolved", "We're sorry: searches were slow for a while. They are back to normal."); r != "" {
		t.Fatalf("publishing resolved: %s", r)
	}
	w.eventually("the second room hears it too", func() bool { return w.posted(room2, "worked on INC-2 between 00:00 and 06:00") })

	// The weekly report lists the week's overnight responders, leaving out
	// a private incident (the report is read in a shared channel).
	w.cmd("carol", w.general, "declare private sev2 Payroll night")
	w.cmd("carol", w.room("INC-3").ID, "note only carol worked on this one")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"report", "weekly", "--format", "json"}, nil, &out, &errb, w.getenv); code != 0 {
		t.Fatalf("report: %d %s", code, errb.String())
	}
	var rep struct {
		Overnight []struct {
			Person    string   `json:"person"`
			Incidents []string `json:"incidents"`
		} `json:"overnight_responders"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(rep.Overnight)
	if want := fmt.Sprintf("[{%s [INC-1 INC-2]} {%s [INC-1]}]", w.users["alice"], w.users["bob"]); got != want {
		t.Errorf("the report's overnight responders: %s, want %s", got, want)
	}
	out.Reset()
	run(context.Background(), []string{"report", "weekly"}, nil, &out, &errb, w.getenv)
	if !strings.Contains(out.String(), "## Overnight responders: a day to recover") || strings.Contains(out.String(), "INC-3") {
		t.Errorf("the report's Markdown:\n%s", out.String())
	}

	day := start(t, "http", "WARROOM_TIMEZONE="+zoneAt(14))
	day.cmd("alice", day.general, "declare sev2 Day pager")
	if r := day.cmd("alice", day.room("INC-1").ID, "resolve fixed"); strings.Contains(r, "recover") {
		t.Errorf("by day: %q", r)
	}
}
