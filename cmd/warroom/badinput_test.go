package main

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/slacksim"
)

// TestBadInput types every kind of mistake a tired person makes, in a war
// room and outside one, and checks each gets a private reply naming the
// problem and the syntax, lands in the timeline or audit log, and changes
// nothing else.
func TestBadInput(t *testing.T) {
	w := start(t, "http")
	w.cmd("alice", w.general, "declare sev2 Checkout returns 500s")
	room := w.room("INC-1")

	cases := []struct {
		where, text string
		want        []string // all must be in the reply
	}{
		{"room", "frobnicate", []string{"`frobnicate` is not a command", "/incident help"}},
		{"room", "stauts identified", []string{"Did you mean `status`?"}},
		{"room", "severity", []string{"Say which severity", "Usage: `/incident severity <sev1|sev2|sev3|sev4>`"}},
		{"room", "severity sev7", []string{"not a severity", "sev1 (worst) to sev4"}},
		{"room", "severity critical", []string{"not a severity"}},
		{"room", "commander", []string{"Name a person", "Usage: `/incident commander @user`"}},
		{"room", "commander <bob>", []string{"`<bob>` is not a Slack user", "Type @"}},
		{"room", "communicator @nobody", []string{`I can't find anyone in Slack called "nobody"`, "Type @"}},
		{"room", "role scribe", []string{"Name the role and the person"}},
		{"room", "role Ops!Lead " + w.at("bob"), []string{"is not a role name"}},
		{"room", "status fixed", []string{"\"fixed\" is not a status", "investigating, identified, monitoring or resolved"}},
		{"room", "status fixed", []string{"not a status"}},
		{"room", "note", []string{"The note is empty"}},
		{"room", "note " + strings.Repeat("x", 3001), []string{"3001 characters; the limit is 3000"}},
		{"room", "note evil\u202Egnp.exe", []string{"text-direction override"}},
		// PostgreSQL stores neither NUL nor invalid UTF-8 in text: refused
		// as on SQLite, and the attempt still kept in the timeline.
		{"room", "note a\x00b", []string{"control character (U+0000)", "Retype it"}},
		{"room", "note bad \xff byte", []string{"not valid text (bad UTF-8)", "Retype it"}},
		{"room", "reopen", []string{"not resolved, so there is nothing to reopen"}},
		{"room", "close", []string{"still open", "/incident resolve"}},
		{"room", "severity sev2", []string{"already SEV2. Nothing changed."}},
		{"room", "timeline please", []string{"`timeline` takes nothing, or `before <entry>`", "/incident timeline before 120"}},
		{"room", "INC-99 note hello", []string{"INC-99 does not exist", "/incident list"}},
		{"room", "declare", nil}, // opens the form: no error
		{"general", "note hello", []string{"not a war room", "/incident INC-7 note"}},
		{"general", "declare sev2 " + strings.Repeat("a", 251), []string{"251 characters; the limit is 250", "Shorten"}},
		{"general", "declare sev1 🔥🔥🔥", []string{"no words, only symbols or emoji"}},
		{"general", `declare sev1 "'"'"`, []string{"no words"}},
		{"general", "declare sev9 Payments down", []string{"not a severity"}},
		{"general", "INC-1 declare sev1 x", []string{"takes no reference"}},
		{"general", "INC-", []string{"is not a command"}},
		{"general", strings.Repeat("🙂", 4000), []string{"is not a command"}},
	}
	before := len(w.show("INC-1").Timeline)
	for _, tc := range cases {
		ch := room.ID
		if tc.where == "general" {
			ch = w.general
		}
		reply := w.cmd("alice", ch, tc.text)
		for _, want := range tc.want {
			if !strings.Contains(reply, want) {
				t.Errorf("/incident %.60s\n  reply %q\n  lacks %q", tc.text, reply, want)
			}
		}
		if len(reply) > 1200 {
			t.Errorf("/incident %.60s: a %d-character reply is too long to read under stress", tc.text, len(reply))
		}
	}
	inc := w.show("INC-1")
	// Of the 23 commands typed in the room, "declare" (a new incident) and
	// "INC-99 ..." (no such incident) belong to the audit log; the one typed
	// in #general that names INC-1 belongs to INC-1.
	if got := len(inc.Timeline) - before; got != 22 {
		for _, e := range inc.Timeline[before:] {
			t.Logf("%s %q %s", e.Kind, e.Raw, e.Outcome)
		}
		t.Errorf("INC-1's timeline gained %d entries; want 22", got)
	}
	for _, e := range inc.Timeline[before:] {
		if e.Kind == "declare" {
			continue // opening the form is not a failure
		}
		if e.Outcome == "ok" {
			t.Errorf("rejected command %q recorded as ok", e.Raw)
		}
	}
	if inc.Severity != "SEV2" || inc.Status != "investigating" || inc.Commander != w.users["alice"] || len(inc.Roles) != 0 {
		t.Errorf("rejected commands changed the incident: %+v", inc)
	}
	if n := len(w.listJSON(true)); n != 1 {
		t.Errorf("bad declarations created incidents: %d in all", n)
	}
}

// TestAwkwardTitles declares incidents whose titles are legal but awkward:
// right-to-left text, SQL, accents, emoji with words. Each is stored
// exactly as typed and gets a valid channel name.
func TestAwkwardTitles(t *testing.T) {
	w := start(t, "http")
	titles := map[string]string{
		"הקופה מחזירה שגיאות":                "inc-1",
		"'; DROP TABLE incidents; --":        "inc-2-drop-table-incidents",
		"Café Zürich — paiements échoués":    "inc-3-cafe-zurich-paiements-echoues",
		"🔥 Payments down 🔥":                  "inc-4-payments-down",
		"<!channel> <@U00000002> *bold* `x`": "inc-5-channel-u00000002-bold-x",
	}
	n := 0
	for _, title := range []string{"הקופה מחזירה שגיאות", "'; DROP TABLE incidents; --", "Café Zürich — paiements échoués", "🔥 Payments down 🔥", "<!channel> <@U00000002> *bold* `x`"} {
		n++
		ref := "INC-" + string(rune('0'+n))
		if r := w.cmd("alice", w.general, "declare sev3 "+title); !strings.Contains(r, "Declared *"+ref+"*") {
			t.Fatalf("declare %q: %q", title, r)
		}
		room := w.room(ref)
		if room.Name != titles[title] {
			t.Errorf("%q: war room #%s, want #%s", title, room.Name, titles[title])
		}
		if got := w.show(ref).Title; got != title {
			t.Errorf("title stored as %q, want %q", got, title)
		}
	}
	// Nothing the bot sends may turn a title into a real @channel ping: not
	// the summary's blocks, nor its plain-text fallback, nor any post.
	room := w.room("INC-5")
	if s := string(w.pinned(room.ID).Blocks); strings.Contains(s, "*<!channel>") {
		t.Errorf("the summary lets a title ping the channel: %s", s)
	}
	for _, c := range w.sim.Calls() {
		for k, v := range c.Params {
			if (k == "text" || k == "blocks") && strings.Contains(v, "<!channel>") {
				t.Errorf("%s sent %s with a live <!channel>: %.200s", c.Method, k, v)
			}
		}
	}
	if len(w.listJSON(true)) != 5 {
		t.Error("the SQL title damaged the incidents table")
	}
}

// TestDeclareForm opens the declare modal, submits it wrong, then right.
func TestDeclareForm(t *testing.T) {
	for _, mode := range []string{"http", "socket"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			w := start(t, mode)
			if r := w.cmd("alice", w.general, "declare sev1"); r != "" {
				t.Fatalf("opening the form should not reply, got %q", r)
			}
			views := w.sim.Views()
			if len(views) != 1 || !strings.Contains(string(views[0].Body), `"callback_id":"warroom_declare"`) {
				t.Fatalf("views: %+v", views)
			}
			if !strings.Contains(string(views[0].Body), `"value":"sev1"},"options"`) {
				t.Errorf("the form does not preselect the typed severity: %s", views[0].Body)
			}
			r, err := w.sim.SubmitView(context.Background(), views[0].ID, map[string]map[string]string{
				"title": {"title": "🔥🔥"}, "severity": {"severity": "sev1"},
			})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(r.Payload), `"response_action":"errors"`) || !strings.Contains(string(r.Payload), "no words") {
				t.Fatalf("a bad title should keep the form open with an error: %s", r.Payload)
			}
			r, err = w.sim.SubmitView(context.Background(), views[0].ID, map[string]map[string]string{
				"title": {"title": "Payments API timing out"}, "severity": {"severity": "sev1"},
				"description": {"description": "p99 latency 30s since 14:02"},
			})
			if err != nil || len(bytes.TrimSpace(r.Payload)) != 0 {
				t.Fatalf("a good submission should close the form: %s %v", r.Payload, err)
			}
			room := w.room("INC-1")
			if room.Name != "inc-1-payments-api-timing-out" {
				t.Errorf("room #%s", room.Name)
			}
			inc := w.show("INC-1")
			if inc.Severity != "SEV1" || inc.Description != "p99 latency 30s since 14:02" {
				t.Errorf("declared from the form: %+v", inc)
			}
			w.eventually("the declarer is told where the room is", func() bool {
				return w.ephemeral("alice", "War room for INC-1 is ready")
			})
			audit := w.auditKinds()
			if strings.Count(audit, "declare") != 2 { // the form opened, and the rejected submission
				t.Errorf("audit log: %s", audit)
			}
		})
	}
}

// TestRequestsAreVerified sends forged, stale, replayed and unsigned
// requests straight to the bot's HTTP endpoints. None may have an effect.
func TestRequestsAreVerified(t *testing.T) {
	w := start(t, "http")
	ctx := context.Background()
	form := url.Values{"user_id": {w.users["alice"]}, "channel_id": {w.general}, "command": {"/incident"},
		"text": {"declare sev1 forged"}, "team_id": {slacksim.TeamID}}
	body := []byte(form.Encode())
	base := "http://" + w.addr
	now := time.Now().Unix()
	for _, tc := range []struct {
		name, path, secret string
		ts                 int64
	}{
		{"wrong secret", "/slack/commands", "not-the-secret", now},
		{"stale timestamp", "/slack/commands", testSecret, now - 6*60},
		{"future timestamp", "/slack/commands", testSecret, now + 6*60},
		{"forged interaction", "/slack/interactions", "x", now},
		{"forged event", "/slack/events", "x", now},
	} {
		status, _, err := w.sim.PostSigned(ctx, base+tc.path, tc.secret, tc.ts, body)
		if err != nil || status != 401 {
			t.Errorf("%s: status %d, err %v; want 401", tc.name, status, err)
		}
	}
	status, _, _ := w.sim.PostSigned(ctx, base+"/slack/commands", testSecret, now, body)
	if status != 200 {
		t.Fatalf("a correctly signed command: status %d", status)
	}
	status, _, _ = w.sim.PostSigned(ctx, base+"/slack/commands", testSecret, now, body)
	if status != 401 {
		t.Errorf("a replayed command: status %d, want 401", status)
	}
	// The guard is kept in the database: a replay after a restart (or to
	// another replica) is refused too.
	w.restart()
	status, _, _ = w.sim.PostSigned(ctx, base+"/slack/commands", testSecret, now, body)
	if status != 401 {
		t.Errorf("a command replayed after a restart: status %d, want 401", status)
	}
	resp, err := httpPost(base+"/slack/commands", body, nil)
	if err != nil || resp != 401 {
		t.Errorf("an unsigned command: status %d, err %v", resp, err)
	}
	if n := len(w.listJSON(true)); n != 1 {
		t.Errorf("%d incidents exist; only the one genuine request may declare", n)
	}
	if a := w.auditKinds(); a != "" {
		t.Errorf("refused requests reached the audit log: %s", a)
	}
}

// TestSlackFailuresDuringDeclare makes Slack refuse or throttle the calls
// declare needs, and checks the war room still appears or the user is told.
func TestSlackFailuresDuringDeclare(t *testing.T) {
	w := start(t, "http")
	w.sim.AddChannel("inc-1-checkout-returns-500s", false) // someone took the name
	w.sim.RateLimit("conversations.create", 2, time.Second)
	w.sim.RateLimit("chat.postMessage", 1, time.Second)
	w.cmd("alice", w.general, "declare sev2 Checkout returns 500s")
	room := w.room("INC-1")
	if room.Name != "inc-1-checkout-returns-500s-2" {
		t.Errorf("with the name taken, the room is #%s", room.Name)
	}
	w.eventually("the announcement still goes out", func() bool { return w.posted(w.announce, "INC-1") })

	// Slack refuses to create the room at all: the incident stays declared
	// and the declarer is told how to carry on.
	w.sim.Fail("conversations.create", "restricted_action", 1)
	w.cmd("bob", w.general, "declare sev1 Payments down")
	w.eventually("bob hears the room could not be made", func() bool {
		return w.ephemeral("bob", "INC-2 is declared and saved, but Slack would not create its war room (restricted_action)", "/incident INC-2")
	})
	inc := w.show("INC-2")
	if inc.ChannelID != "" {
		t.Errorf("INC-2 has a channel %q", inc.ChannelID)
	}
	last := inc.Timeline[len(inc.Timeline)-1]
	if last.Kind != "slack_error" || !strings.Contains(last.Outcome, "restricted_action") {
		t.Errorf("the failure is not on the timeline: %+v", last)
	}
	// Work continues by reference from anywhere.
	if r := w.cmd("bob", w.general, "INC-2 status investigating Card payments failing"); !strings.Contains(r, "INC-2 status is investigating") {
		t.Errorf("by reference: %q", r)
	}
}

// TestEvents checks the Events API endpoint: Slack's URL verification, and
// an app mention that Slack retries is answered once.
func TestEvents(t *testing.T) {
	w := start(t, "http")
	ctx := context.Background()
	base := "http://" + w.addr + "/slack/events"
	status, body, err := w.sim.PostSigned(ctx, base, testSecret, time.Now().Unix(), []byte(`{"type":"url_verification","token":"x","challenge":"c4llenge"}`))
	if err != nil || status != 200 || string(body) != "c4llenge" {
		t.Fatalf("url_verification: %d %q %v", status, body, err)
	}
	mention := `{"type":"event_callback","team_id":"` + slacksim.TeamID + `","api_app_id":"` + slacksim.AppID + `","event_id":"Ev0001","event_time":1,
		"event":{"type":"app_mention","user":"` + w.users["alice"] + `","text":"<@` + slacksim.BotUserID + `> help","ts":"1.000001","channel":"` + w.general + `","event_ts":"1.000001"}}`
	for i := 0; i < 2; i++ { // Slack retries with a new signature and the same event_id
		status, _, err := w.sim.PostSigned(ctx, base, testSecret, time.Now().Unix()+int64(i), []byte(mention))
		if err != nil || status != 200 {
			t.Fatalf("app_mention %d: %d %v", i, status, err)
		}
	}
	w.eventually("the mention is answered", func() bool { return w.posted(w.general, "/incident declare sev2") })
	time.Sleep(200 * time.Millisecond)
	n := 0
	for _, m := range w.sim.Messages(w.general) {
		if strings.Contains(m.Text, "I run incidents through") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("a retried event was answered %d times", n)
	}
}

// TestDeclareFormUnavailable: when Slack will not open the form, the user
// is told and given the one-line way to declare.
func TestDeclareFormUnavailable(t *testing.T) {
	w := start(t, "http")
	w.sim.Fail("views.open", "expired_trigger_id", 1)
	r := w.cmd("alice", w.general, "declare")
	if !strings.Contains(r, "couldn't open the declare form (Slack said: expired_trigger_id)") || !strings.Contains(r, "/incident declare sev2 <title>") {
		t.Fatalf("reply: %q", r)
	}
}
