package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

// TestPrivateIncident: a private incident gets a private war room, is never
// announced, never reaches the status page or the main listener's
// documents, hides from /incident list, and refuses people outside it —
// while those in it, and those given a role, work as usual.
func TestPrivateIncident(t *testing.T) {
	w := start(t, "http", "WARROOM_POSTMORTEM_ON_RESOLVE=true", "WARROOM_REPORT_CHANNEL=#announcements")
	r := w.cmd("alice", w.general, "declare private sev1 Payroll export sent to the wrong bucket")
	if !strings.Contains(r, "Declared *INC-1*") || !strings.Contains(r, "Private:") {
		t.Fatalf("declare: %q", r)
	}
	room := w.room("INC-1")
	if !room.Private {
		t.Fatal("the war room is not private")
	}
	w.cmd("alice", w.general, "declare sev3 Search is slow") // a public one, to compare
	w.room("INC-2")
	w.eventually("the public incident is announced", func() bool { return w.posted(w.announce, "INC-2") })
	if w.posted(w.announce, "INC-1") || w.posted(w.announce, "Payroll") {
		t.Error("the private incident was announced")
	}

	// An outsider is answered exactly as for an incident that does not
	// exist: nothing tells them a private one is there.
	const refused = "refused: private"
	for _, text := range []string{"INC-1 timeline", "INC-1 note peeking", "INC-1 status", "INC-1 commander me", "INC-1 action add x"} {
		r := w.cmd("dave", w.general, text)
		missing := strings.ReplaceAll(w.cmd("dave", w.general, strings.Replace(text, "INC-1", "INC-99", 1)), "INC-99", "INC-1")
		if r != missing || strings.Contains(r, "Payroll") || strings.Contains(r, "private") {
			t.Errorf("%s by an outsider: %q; for a missing incident: %q", text, r, missing)
		}
	}
	if r := w.cmd("dave", w.general, "list"); strings.Contains(r, "INC-1") || !strings.Contains(r, "INC-2") {
		t.Errorf("list for an outsider: %q", r)
	}
	if r := w.cmd("alice", w.general, "list"); !strings.Contains(r, "INC-1") {
		t.Errorf("list for the declarer: %q", r)
	}

	// In the room, and once given a role, people act as usual.
	w.cmd("alice", room.ID, "commander "+w.at("bob"))
	if r := w.cmd("bob", w.general, "INC-1 note from elsewhere"); strings.Contains(r, refused) {
		t.Errorf("the commander was refused outside the room: %q", r)
	}
	if r := w.cmd("alice", room.ID, "update investigating"); !strings.Contains(r, "private, so it has no public updates") {
		t.Errorf("update: %q", r)
	}
	w.cmd("bob", room.ID, "action add Encrypt payroll exports "+w.at("carol")+" p1")
	if r := w.cmd("carol", w.general, "action list mine"); !strings.Contains(r, "Encrypt payroll exports") {
		t.Errorf("the item's owner cannot see it: %q", r)
	}
	for _, text := range []string{"action done 1", "INC-2 action done 1", "INC-1 action done 1"} {
		r := w.cmd("dave", w.general, text)
		missing := strings.ReplaceAll(w.cmd("dave", w.general, strings.Replace(text, "done 1", "done 99", 1)), "AI-99", "AI-1")
		if r != missing || strings.Contains(r, "belongs to") {
			t.Errorf("%s by an outsider: %q; for a missing item: %q", text, r, missing)
		}
	}
	if r := w.cmd("dave", w.general, "action list"); strings.Contains(r, "Encrypt") {
		t.Errorf("an outsider sees the item: %q", r)
	}
	w.cmd("bob", room.ID, "resolve bucket locked down")
	w.draft(room.ID, "INC-1-postmortem-v1.md")

	if body := fetch(t, "http://"+w.env["WARROOM_STATUS_ADDR"]+"/"); strings.Contains(body, "Payroll") || strings.Contains(body, "INC-1") {
		t.Error("the private incident is on the status page")
	}
	// The internal listener answers a private draft as a missing one.
	priv, missing := fetchStatus(t, "http://"+w.admin+"/incidents/INC-1/postmortem.md"), fetchStatus(t, "http://"+w.admin+"/incidents/INC-9/postmortem.md")
	if priv.code != 404 || priv.body != strings.ReplaceAll(missing.body, "INC-9", "INC-1") {
		t.Errorf("the private draft: %d %q; a missing one: %d %q", priv.code, priv.body, missing.code, missing.body)
	}
	var out, errb bytes.Buffer
	run(context.Background(), []string{"report", "weekly"}, nil, &out, &errb, w.getenv)
	// The report, posted where outsiders read it, counts the private
	// incident and its item but shows neither, not even its reference.
	if rep := out.String(); strings.Contains(rep, "Payroll") || strings.Contains(rep, "Encrypt") || regexp.MustCompile(`INC-1\b|AI-1\b`).MatchString(rep) ||
		!strings.Contains(rep, "Also 1 private incident, not listed here") || !strings.Contains(rep, "Also 1 open item of private incidents") {
		t.Errorf("the weekly report shows the private incident:\n%s", rep)
	}
	// The refusals are on the incident's own timeline, for its members to see.
	refusals := 0
	for _, e := range w.show("INC-1").Timeline {
		if strings.HasPrefix(e.Outcome, refused) {
			refusals++
			if strings.Contains(e.Raw, "peeking") || !strings.Contains(e.Raw, "[text withheld") {
				t.Errorf("an outsider's text on the private timeline: %q", e.Raw)
			}
		}
	}
	if refusals != 9 { // five commands and four action items, one of them by its number alone
		t.Errorf("%d refusals on the timeline, want 9", refusals)
	}
}

// TestDeclarersAllowList: with WARROOM_DECLARERS set, only those people
// may declare, by command or form; the refusal says who may.
func TestDeclarersAllowList(t *testing.T) {
	w := start(t, "http", "WARROOM_DECLARERS=U_NOBODY")
	w.env["WARROOM_DECLARERS"] = w.users["alice"] + ", " + w.users["bob"]
	w.restart()
	if r := w.cmd("carol", w.general, "declare sev2 db down"); !strings.Contains(r, "Only some people may declare incidents here (<@"+w.users["alice"]+">, <@"+w.users["bob"]+">)") {
		t.Errorf("carol: %q", r)
	}
	if r := w.cmd("carol", w.general, "declare"); !strings.Contains(r, "Only some people may declare") {
		t.Errorf("carol's form: %q", r)
	}
	if r := w.cmd("bob", w.general, "declare sev2 db down"); !strings.Contains(r, "Declared *INC-1*") {
		t.Errorf("bob: %q", r)
	}
}

type fetched struct {
	code int
	body string
}

// fetchStatus GETs url and returns its status and body, whatever they are.
func fetchStatus(t *testing.T, url string) fetched {
	t.Helper()
	resp, body := get(t, url, "", "")
	return fetched{resp.StatusCode, body}
}

// TestPrivateIncidentFormerMembers: access to a private incident lasts as
// long as a stake in it. A role handed on, or an action item reassigned,
// takes it away (the review's bob and dave kept reading the timeline and
// bob took command from #general); the declarer, anyone still holding a
// role or owning an item, and the war room's members keep it.
func TestPrivateIncidentFormerMembers(t *testing.T) {
	w := start(t, "http")
	w.cmd("alice", w.general, "declare private sev2 Payroll leak")
	room := w.room("INC-1").ID
	w.cmd("alice", room, "role scribe "+w.at("bob"))
	w.cmd("alice", room, "role scribe "+w.at("carol"))
	w.cmd("alice", room, "action add Rotate keys "+w.at("dave"))
	w.cmd("alice", room, "action assign 1 "+w.at("carol"))
	missing := func(user, text string) string {
		return strings.ReplaceAll(w.cmd(user, w.general, strings.Replace(text, "INC-1", "INC-99", 1)), "INC-99", "INC-1")
	}
	for _, tc := range []struct{ user, text string }{
		{"bob", "INC-1 timeline"}, {"bob", "INC-1 commander me"}, {"dave", "INC-1 status"}, {"dave", "INC-1 note still here?"},
	} {
		if r := w.cmd(tc.user, w.general, tc.text); r != missing(tc.user, tc.text) {
			t.Errorf("%s, no longer a member, typed %q: %q", tc.user, tc.text, r)
		}
	}
	if r := w.cmd("dave", w.general, "list all"); strings.Contains(r, "Payroll") {
		t.Errorf("dave's list: %q", r)
	}
	if inc := w.show("INC-1"); inc.Commander != w.users["alice"] {
		t.Errorf("the commander changed to %s", inc.Commander)
	}
	// Those with a stake keep it: carol (scribe and owner), alice (declarer).
	for _, who := range []string{"carol", "alice"} {
		if r := w.cmd(who, w.general, "INC-1 timeline"); !strings.Contains(r, "INC-1 timeline") {
			t.Errorf("%s lost access: %q", who, r)
		}
	}
	// Handing command on keeps the declarer in, and one role of two kept
	// keeps its holder in.
	w.cmd("alice", room, "role ops "+w.at("carol"))
	w.cmd("alice", room, "role scribe "+w.at("bob"))
	if r := w.cmd("carol", w.general, "INC-1 timeline"); !strings.Contains(r, "INC-1 timeline") {
		t.Errorf("carol, still ops and owner, lost access: %q", r)
	}
}
