package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/slacksim"
)

// summaryJSON fetches the status page's summary.json.
func (w *world) summaryJSON() (s struct {
	Status    struct{ Indicator, Description string }
	Incidents []struct {
		Name, Status, Impact string
		ResolvedAt           *string `json:"resolved_at"`
		Components           []struct{ Name, Status string }
	}
}) {
	w.t.Helper()
	if err := json.Unmarshal([]byte(fetch(w.t, "http://"+w.env["WARROOM_STATUS_ADDR"]+"/api/v2/summary.json")), &s); err != nil {
		w.t.Fatal(err)
	}
	return s
}

// message returns the first visible message in channel with all parts.
func (w *world) message(channel string, parts ...string) (slacksim.Message, bool) {
	for _, m := range w.sim.Messages(channel) {
		ok := !m.Ephemeral
		for _, p := range parts {
			ok = ok && strings.Contains(m.Text+string(m.Blocks), p)
		}
		if ok {
			return m, true
		}
	}
	return slacksim.Message{}, false
}

// TestResolveAsksForTheFinalUpdate: the commander resolves with the
// command the bot's own hint recommends, while the page says
// "Investigating". The page keeps saying what was published until the
// communicator publishes the resolved update from the button in the war
// room; the draft is written at resolve; both ways of resolving end the same.
func TestResolveAsksForTheFinalUpdate(t *testing.T) {
	w := start(t, "http", "WARROOM_POSTMORTEM_ON_RESOLVE=true", "WARROOM_CLOSE_AFTER=0")
	carol := w.users["carol"]
	w.cmd("alice", w.general, "declare sev2 Checkout returns 500s")
	room := w.room("INC-1").ID
	w.cmd("alice", room, "communicator "+w.at("carol"))
	w.cmd("carol", room, "components checkout=partial_outage")
	w.publish("carol", room, "investigating", "We are investigating failed payments.\n\n"+nextBy(60*time.Minute)+".")

	r := w.cmd("alice", room, "resolve Rolled back the deploy")
	for _, want := range []string{"INC-1 is resolved. The status page still says Investigating: publish the final update by", "/incident update resolved", "A postmortem draft is being uploaded"} {
		if !strings.Contains(r, want) {
			t.Errorf("resolve reply lacks %q: %q", want, r)
		}
	}
	var prompt slacksim.Message
	w.eventually("the communicator is asked for the final update, with a button", func() bool {
		var ok bool
		prompt, ok = w.message(room, "<@"+carol+">", "status page still says *Investigating*", "Write the resolved update")
		return ok
	})
	w.eventually("the draft is written at resolve", func() bool { return len(w.sim.Files()) == 1 })
	w.eventually("the pinned summary shows the final update as due", func() bool {
		return strings.Contains(string(w.pinned(room).Blocks), "*Final public update*")
	})
	if r := w.cmd("carol", room, "status"); !strings.Contains(r, "The status page still says Investigating: the final public update is due by") {
		t.Errorf("/incident status after resolve: %q", r)
	}
	if s := w.summaryJSON(); len(s.Incidents) != 1 || s.Incidents[0].Status != "investigating" || s.Incidents[0].ResolvedAt != nil {
		t.Fatalf("before the final update the page says what was published: %+v", s)
	}
	inc := w.show("INC-1")
	if inc.NextUpdateDue == nil || inc.PublicStatus != "investigating" {
		t.Fatalf("the final update is not due: %+v", inc)
	}
	if r := w.cmd("alice", room, "close"); !strings.Contains(r, "The status page still says Investigating") {
		t.Errorf("close before the final update: %q", r)
	}

	n := len(w.sim.Views())
	if _, err := w.sim.ClickButton(t.Context(), carol, room, prompt.TS, "alert", "warroom_open_update", "1"); err != nil {
		t.Fatal(err)
	}
	w.eventually("the button opens the resolved update's preview", func() bool { return len(w.sim.Views()) == n+1 })
	view := w.sim.Views()[n]
	resolvedAt := w.show("INC-1").ResolvedAt.UTC().Format("15:04 UTC")
	for _, want := range []string{`"value":"resolved"`, "We're sorry for the disruption", "and " + resolvedAt + " we had", "checkout: operational", "Public title"} {
		if !strings.Contains(string(view.Body), want) {
			t.Errorf("the resolved preview lacks %q:\n%s", want, view.Body)
		}
	}
	if r := w.submitUpdate(view.ID, "resolved", "", "We're sorry: payments failed between 10:00 and 10:20 UTC. They work normally again."); r != "" {
		t.Fatalf("publishing the resolved update: %s", r)
	}
	w.eventually("the page says resolved", func() bool { return len(w.summaryJSON().Incidents) == 0 })
	page := fetch(t, "http://"+w.env["WARROOM_STATUS_ADDR"]+"/api/v2/incidents.json")
	if !strings.Contains(page, `"status": "resolved"`) || strings.Contains(page, `"resolved_at": null`) {
		t.Errorf("incidents.json after the final update: %.600s", page)
	}
	if inc := w.show("INC-1"); inc.NextUpdateDue != nil || inc.PublicStatus != "resolved" {
		t.Errorf("still due after the final update: %+v", inc)
	}
	// The old button must not publish it again.
	n = len(w.sim.Views())
	if _, err := w.sim.ClickButton(t.Context(), carol, room, prompt.TS, "alert", "warroom_open_update", "1"); err != nil {
		t.Fatal(err)
	}
	w.eventually("the old button says there is nothing more to publish", func() bool {
		return w.ephemeral("carol", "its resolved update went out at", "nothing more to publish")
	})
	if len(w.sim.Views()) != n {
		t.Error("the old button opened another resolved preview")
	}
	if r := w.cmd("alice", room, "close"); !strings.Contains(r, "INC-1 is closed") {
		t.Errorf("close after the final update: %q", r)
	}

	// The other way: the commander publishes the resolved update. It
	// resolves, and writes the draft the same way.
	w.cmd("bob", w.general, "declare sev2 Search is slow")
	room2 := w.room("INC-2").ID
	w.publish("bob", room2, "investigating", "We are investigating slow search.\n\n"+nextBy(60*time.Minute)+".")
	w.publish("bob", room2, "resolved", "We're sorry: search was slow. It works normally again.")
	w.eventually("the commander's resolved update resolves and writes the draft", func() bool {
		return w.show("INC-2").Stage == "document" && len(w.sim.Files()) == 2
	})
	var out, errb strings.Builder
	if code := run(t.Context(), []string{"postmortem", "INC-2"}, nil, &out, &errb, w.getenv); code != 0 || !strings.Contains(out.String(), "Search is slow") {
		t.Errorf("warroom postmortem INC-2: %d %s %s", code, errb.String(), out.String())
	}

	// /incident update resolved works after a resolve, typed.
	w.cmd("alice", w.general, "declare sev3 Login slow")
	room3 := w.room("INC-3").ID
	w.publish("alice", room3, "investigating", "We are investigating slow logins.\n\n"+nextBy(90*time.Minute)+".")
	w.cmd("alice", room3, "resolve")
	if r := w.publish("alice", room3, "resolved", "We're sorry: logins were slow. They work normally again."); r != "" {
		t.Errorf("/incident update resolved after resolve: %s", r)
	}
	if inc := w.show("INC-3"); inc.PublicStatus != "resolved" || inc.NextUpdateDue != nil {
		t.Errorf("INC-3: %+v", inc)
	}
}

// TestCommunicatorsResolvedUpdateDoesNotResolve: the communicator's
// resolved update is a public statement; the incident stays open for the
// commander, and the room says so.
func TestCommunicatorsResolvedUpdateDoesNotResolve(t *testing.T) {
	w := start(t, "http")
	w.cmd("alice", w.general, "declare sev2 Checkout returns 500s")
	room := w.room("INC-1").ID
	w.cmd("alice", room, "communicator "+w.at("carol"))
	w.publish("carol", room, "resolved", "We're sorry: checkout failed. It works normally again.")
	w.eventually("the room hears the incident stays open", func() bool {
		return w.posted(room, "stays open until the commander", "/incident resolve")
	})
	if inc := w.show("INC-1"); inc.Status == "resolved" || inc.PublicStatus != "resolved" {
		t.Errorf("after the communicator's resolved update: status %s, public %s", inc.Status, inc.PublicStatus)
	}
}

// TestPreviewShowsWhatGoesPublic: the internal title never goes out on its
// own; the preview's public title is prefilled from it on the first update
// and from the last published one after; components and severity changed
// after a publish wait for the next.
func TestPreviewShowsWhatGoesPublic(t *testing.T) {
	w := start(t, "http")
	w.cmd("alice", w.general, "declare sev2 Payments down: bob ran DROP TABLE on prod-db-7 (10.0.3.7)")
	room := w.room("INC-1").ID
	w.cmd("alice", room, "components payments=partial_outage")
	n := len(w.sim.Views())
	w.cmd("alice", room, "update investigating")
	view := w.sim.Views()[n]
	if got := draftedTitle(string(view.Body)); got != "Payments down: bob ran DROP TABLE on prod-db-7 (10.0.3.7)" {
		t.Errorf("first preview's public title: %q", got)
	}
	body := string(view.Body)
	for _, want := range []string{"*internal*", "10.0.3.7", "payments: partial outage", "impact: major"} {
		if !strings.Contains(body, want) {
			t.Errorf("the first preview lacks %q", want)
		}
	}
	w.submitUpdate(view.ID, "investigating", "Card payments failing", "We are investigating failed card payments.\n\n"+nextBy(60*time.Minute)+".")
	if r := w.cmd("alice", room, "components payments=major_outage api=degraded_performance"); !strings.Contains(r, "They go into the next public update") {
		t.Errorf("components reply: %q", r)
	}
	w.cmd("alice", room, "severity sev1")
	base := "http://" + w.env["WARROOM_STATUS_ADDR"]
	for _, p := range []string{"/", "/api/v2/summary.json", "/api/v2/incidents.json", "/history.atom"} {
		got := fetch(t, base+p)
		for _, leak := range []string{"DROP TABLE", "10.0.3.7", "degraded_performance", "critical"} {
			if p == "/" && (leak == "critical" || leak == "degraded_performance") {
				continue // the page's stylesheet names every status
			}
			if strings.Contains(got, leak) {
				t.Errorf("%s shows %q, which was never published", p, leak)
			}
		}
	}
	if s := w.summaryJSON(); s.Incidents[0].Name != "Card payments failing" || s.Incidents[0].Impact != "major" || len(s.Incidents[0].Components) != 1 {
		t.Errorf("summary before the second publish: %+v", s.Incidents)
	}
	n = len(w.sim.Views())
	w.cmd("alice", room, "update identified")
	second := string(w.sim.Views()[n].Body)
	if draftedTitle(second) != "Card payments failing" || !strings.Contains(second, "Card payments failing: identified") ||
		!strings.Contains(second, "api: degraded performance · payments: major outage") || !strings.Contains(second, "impact: critical") {
		t.Errorf("the second preview: %s", second)
	}
	w.submitUpdate(w.sim.Views()[n].ID, "identified", "", "We have identified the cause of failed card payments.\n\n"+nextBy(60*time.Minute)+".")
	var out, errb strings.Builder
	if code := run(t.Context(), []string{"incidents", "show", "1"}, nil, &out, &errb, w.getenv); code != 0 ||
		!strings.Contains(out.String(), "Public updates, as published") || !strings.Contains(out.String(), "Card payments failing") {
		t.Errorf("incidents show lacks the public updates: %d\n%s", code, out.String())
	}
	w.eventually("the second publish takes them public", func() bool {
		s := w.summaryJSON()
		return len(s.Incidents) == 1 && s.Incidents[0].Impact == "critical" && len(s.Incidents[0].Components) == 2 && s.Status.Indicator == "critical"
	})
}

// TestLintRunsOnWhatIsSubmitted: text edited in the preview is checked
// when Publish is pressed. The first press answers with the warnings and
// publishes nothing; the second, unchanged, publishes.
func TestLintRunsOnWhatIsSubmitted(t *testing.T) {
	w := start(t, "http")
	w.cmd("alice", w.general, "declare sev2 Checkout returns 500s")
	room := w.room("INC-1").ID
	w.cmd("alice", room, "communicator "+w.at("carol"))
	n := len(w.sim.Views())
	w.cmd("carol", room, "update investigating")
	view := w.sim.Views()[n]
	values := map[string]map[string]string{
		"update_status": {"update_status": "investigating"}, "update_title": {"update_title": "Checkout errors"},
		"update_body": {"update_body": "We think it should be fixed in 20 minutes; @bob is on it. Probably the database.\n" + nextBy(60*time.Minute) + "."},
	}
	r, err := w.sim.SubmitView(t.Context(), view.ID, values)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(r.Payload), `"response_action":"update"`) {
		t.Fatalf("the first press closed the preview: %s", r.Payload)
	}
	held := w.viewBody(view.ID)
	for _, want := range []string{"Check before publishing", "“in 20 minutes”", "“should be fixed”", "“We think”", "“Probably”", "“@bob”"} {
		if !strings.Contains(held, want) {
			t.Errorf("the warnings lack %s:\n%s", want, held)
		}
	}
	if inc := w.show("INC-1"); len(inc.PublicUpdates) != 0 {
		t.Fatalf("published on the first press: %+v", inc.PublicUpdates)
	}
	if r, err := w.sim.SubmitView(t.Context(), view.ID, values); err != nil || strings.TrimSpace(string(r.Payload)) != "" {
		t.Fatalf("the second press: %s %v", r.Payload, err)
	}
	inc := w.show("INC-1")
	if len(inc.PublicUpdates) != 1 || inc.PublicUpdates[0].Title != "Checkout errors" {
		t.Fatalf("after the second press: %+v", inc.PublicUpdates)
	}
	var held1 bool
	for _, e := range inc.Timeline {
		held1 = held1 || (e.Kind == "publish" && strings.Contains(e.Outcome, "Not published yet"))
	}
	if !held1 {
		t.Error("the held press is not on the timeline")
	}
	// A promise the clock has passed (the preview sat open) is held too.
	// (Five minutes after midnight UTC, five minutes ago reads as tonight.)
	if now := time.Now().UTC(); now.Hour() == 0 && now.Minute() < 6 {
		t.Log("just after midnight UTC: the stale promise is not checked")
		return
	}
	n = len(w.sim.Views())
	w.cmd("carol", room, "update identified")
	view = w.sim.Views()[n]
	stale := time.Now().Add(-5 * time.Minute).UTC().Format("15:04 UTC")
	r, _ = w.sim.SubmitView(t.Context(), view.ID, map[string]map[string]string{"update_status": {"update_status": "identified"},
		"update_title": {"update_title": "Checkout errors"}, "update_body": {"update_body": "We have identified checkout errors.\nNext update by " + stale + "."}})
	if !strings.Contains(string(r.Payload), `"response_action":"update"`) || !strings.Contains(w.viewBody(view.ID), "That time has passed") {
		t.Errorf("a stale promise was not held: %s", r.Payload)
	}
}
