package incident_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
)

func kinds(rs []incident.Reminder) string {
	var k []string
	for _, r := range rs {
		k = append(k, r.Kind)
	}
	return strings.Join(k, " ")
}

func TestPublishScheduleAndReminders(t *testing.T) {
	ctx := context.Background()
	svc, st, c, inc := setup(t) // SEV2, declared by alice at 10:00
	n := inc.Number
	if _, _, err := svc.Publish(ctx, n, cmd("mallory", "update"), incident.Publication{Status: incident.StatusInvestigating, Body: "x"}); incident.ErrorCode(err) != incident.EForbidden ||
		!strings.Contains(incident.ErrorMessage(err), "/incident communicator me") {
		t.Fatalf("a bystander publishing: %v", err)
	}
	svc.Assign(ctx, n, cmd("alice", "communicator"), "communicator", "carol")
	inc, pub, err := svc.Publish(ctx, n, cmd("carol", "update"), incident.Publication{Status: incident.StatusInvestigating, Body: "We are investigating.\n\nNext update by 11:00 UTC."})
	if err != nil {
		t.Fatal(err)
	}
	if want := c.t.Add(time.Hour); !inc.NextUpdateDue.Equal(want) || !pub.NextUpdateDue.Equal(want) {
		t.Fatalf("SEV2 next update due %v, want %v", inc.NextUpdateDue, want)
	}
	ups, _ := st.PublicUpdates(ctx, n)
	if len(ups) != 1 || ups[0].Body != "We are investigating.\n\nNext update by 11:00 UTC." {
		t.Fatalf("public updates: %+v", ups)
	}

	steps := []struct {
		at   time.Duration // after the publish
		want string
	}{
		{54 * time.Minute, ""},
		{55 * time.Minute, "remind"},
		{56 * time.Minute, ""},
		{60 * time.Minute, "ping"},
		{69 * time.Minute, ""},
		{70 * time.Minute, "escalate"},
		{90 * time.Minute, ""},
	}
	start := c.t
	for _, s := range steps {
		c.t = start.Add(s.at)
		got, err := svc.Sweep(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if kinds(got) != s.want {
			t.Errorf("at +%v: reminders %q, want %q", s.at, kinds(got), s.want)
		}
	}
	// Publishing again schedules the next and clears the lateness.
	inc, _, _ = svc.Publish(ctx, n, cmd("alice", "update"), incident.Publication{Status: incident.StatusIdentified, Body: "Cause identified.\n\nNext update by 12:30 UTC."})
	if !inc.NextUpdateDue.Equal(c.t.Add(time.Hour)) || inc.Status != incident.StatusIdentified {
		t.Fatalf("commander publishing: %+v", inc)
	}
	// Escalating to SEV1 tightens the schedule to 30 minutes.
	inc, _ = svc.SetSeverity(ctx, n, cmd("alice", "severity"), incident.SEV1)
	if !inc.NextUpdateDue.Equal(c.t.Add(30 * time.Minute)) {
		t.Errorf("after SEV1: due %v", inc.NextUpdateDue)
	}
	// Snooze pushes it back and is on the timeline.
	inc, err = svc.Snooze(ctx, n, cmd("carol", "snooze"), 15*time.Minute)
	if err != nil || !inc.NextUpdateDue.Equal(c.t.Add(45*time.Minute)) {
		t.Fatalf("snooze: %v %v", inc.NextUpdateDue, err)
	}
	// The communicator's resolved update is a public statement: nothing
	// more is owed, but the incident stays open for the commander.
	inc, _, err = svc.Publish(ctx, n, cmd("carol", "update"), incident.Publication{Status: incident.StatusResolved, Body: "We're sorry. Resolved."})
	if err != nil || !inc.NextUpdateDue.IsZero() || !inc.Open() || inc.PublicStatus != incident.StatusResolved {
		t.Fatalf("the communicator's resolved update: %+v %v", inc, err)
	}
	// The commander resolves; the page already says so, so nothing is owed.
	inc, err = svc.Resolve(ctx, n, cmd("alice", "resolve"), "")
	if err != nil || !inc.NextUpdateDue.IsZero() || inc.Stage != incident.StageDocument || inc.OwesFinalUpdate() {
		t.Fatalf("resolve after the resolved update: %+v %v", inc, err)
	}
	c.t = c.t.Add(3 * time.Hour)
	if got, _ := svc.Sweep(ctx); len(got) != 0 {
		t.Errorf("a resolved incident is reminded: %v", kinds(got))
	}
	if _, err := svc.Snooze(ctx, n, cmd("carol", "snooze"), time.Minute); incident.ErrorCode(err) != incident.EConflict {
		t.Errorf("snoozing a resolved incident: %v", err)
	}
	tl, _ := st.Timeline(ctx, n, incident.Page{})
	var seen []string
	for _, e := range tl {
		if e.Kind == "update" || e.Kind == "reminder" || e.Kind == "snooze" || e.Kind == "resolve" {
			seen = append(seen, e.Kind)
		}
	}
	if got := strings.Join(seen, " "); got != "update update reminder reminder reminder update snooze update resolve snooze" { // the last snooze was rejected, and recorded
		t.Errorf("timeline: %s", got)
	}
}

func TestSweepAfterDowntimeSendsOnlyTheLatest(t *testing.T) {
	ctx := context.Background()
	svc, _, c, inc := setup(t)
	svc.UseHelpAfter(0) // only the update reminders here
	svc.Publish(ctx, inc.Number, cmd("alice", "update"), incident.Publication{Status: incident.StatusInvestigating, Body: "Investigating.\nNext update by 11:00 UTC."})
	c.step(3 * time.Hour) // the bot was down past the due time and the escalation
	got, _ := svc.Sweep(ctx)
	if kinds(got) != "escalate" {
		t.Fatalf("after downtime: %q, want just escalate", kinds(got))
	}
	if again, _ := svc.Sweep(ctx); len(again) != 0 {
		t.Fatalf("fired twice: %q", kinds(again))
	}
}

func TestNoCadenceForSEV4(t *testing.T) {
	ctx := context.Background()
	svc, _, _, inc := setup(t)
	svc.SetSeverity(ctx, inc.Number, cmd("alice", "severity"), incident.SEV4)
	inc, _, err := svc.Publish(ctx, inc.Number, cmd("alice", "update"), incident.Publication{Status: incident.StatusInvestigating, Body: "Investigating."})
	if err != nil || !inc.NextUpdateDue.IsZero() {
		t.Fatalf("SEV4: %v %v", inc.NextUpdateDue, err)
	}
}

func TestComponents(t *testing.T) {
	ctx := context.Background()
	svc, _, _, inc := setup(t)
	inc, err := svc.SetComponents(ctx, inc.Number, cmd("bob", "components"), map[string]incident.ComponentStatus{"Checkout": incident.PartialOutage, "API": incident.DegradedPerformance})
	if err != nil || inc.Components["Checkout"] != incident.PartialOutage || len(inc.ComponentNames()) != 2 {
		t.Fatalf("components: %+v %v", inc.Components, err)
	}
	inc, _ = svc.SetComponents(ctx, inc.Number, cmd("bob", "components"), map[string]incident.ComponentStatus{"API": incident.Operational})
	if inc.Components["Checkout"] != incident.PartialOutage || inc.Components["API"] != incident.Operational {
		t.Fatalf("a second set keeps the others: %+v", inc.Components)
	}
	if _, err := svc.SetComponents(ctx, inc.Number, cmd("bob", "components"), map[string]incident.ComponentStatus{"API": "broken"}); incident.ErrorCode(err) != incident.EInvalid {
		t.Errorf("bad status: %v", err)
	}
	if _, err := incident.ParseComponentStatus("major_outage"); err != nil {
		t.Error(err)
	}
}

func TestHelpWhenNobodyPicksUpASEV1(t *testing.T) {
	ctx := context.Background()
	svc, _, c, inc := setup(t) // SEV2 declared by alice, nobody else yet
	quiet, _ := svc.Declare(ctx, cmd("alice", "declare"), incident.Declaration{Title: "minor", Severity: incident.SEV3})
	picked, _ := svc.Declare(ctx, cmd("alice", "declare"), incident.Declaration{Title: "picked up", Severity: incident.SEV1})
	svc.Note(ctx, picked.Number, cmd("bob", "note"), "on it")
	c.step(9 * time.Minute)
	if got, _ := svc.Sweep(ctx); len(got) != 0 {
		t.Fatalf("before 10 minutes: %q", kinds(got))
	}
	c.step(time.Minute)
	got, _ := svc.Sweep(ctx)
	if kinds(got) != "help" || got[0].Incident.Number != inc.Number {
		t.Fatalf("at 10 minutes: %q (want help for %s only, not %s or %s)", kinds(got), inc.Ref(), quiet.Ref(), picked.Ref())
	}
	c.step(time.Minute)
	if again, _ := svc.Sweep(ctx); len(again) != 0 {
		t.Fatalf("called twice: %q", kinds(again))
	}
	svc.UseHelpAfter(0)
	late, _ := svc.Declare(ctx, cmd("alice", "declare"), incident.Declaration{Title: "off", Severity: incident.SEV1})
	c.step(time.Hour)
	if got, _ := svc.Sweep(ctx); len(got) != 0 {
		t.Fatalf("disabled, yet %q for %s", kinds(got), late.Ref())
	}
}

// TestTheFinalUpdateStaysDue: resolving an incident the public was told
// about leaves the resolved update owed, with reminders and escalation, and
// closing waits for it; an incident never published owes nothing.
func TestTheFinalUpdateStaysDue(t *testing.T) {
	ctx := context.Background()
	svc, _, c, inc := setup(t) // SEV2 declared by alice (commander) at 10:00
	n := inc.Number
	svc.UseHelpAfter(0)
	svc.Enable(incident.KindPostmortemDraft)
	svc.Assign(ctx, n, cmd("alice", "communicator"), "communicator", "carol")
	svc.SetComponents(ctx, n, cmd("bob", "components"), map[string]incident.ComponentStatus{"Checkout": incident.MajorOutage})
	svc.Publish(ctx, n, cmd("carol", "update"), incident.Publication{Status: incident.StatusIdentified, Body: "Identified.\nNext update by 11:00 UTC."})
	c.step(20 * time.Minute)
	inc, err := svc.Resolve(ctx, n, cmd("alice", "resolve"), "fixed")
	if err != nil {
		t.Fatal(err)
	}
	if !inc.OwesFinalUpdate() || !inc.NextUpdateDue.Equal(c.t.Add(incident.PromptUpdateWithin)) {
		t.Fatalf("after resolve: owes %v, due %v", inc.OwesFinalUpdate(), inc.NextUpdateDue)
	}
	if inc.Components["Checkout"] != incident.Operational {
		t.Errorf("resolved, yet Checkout is %s", inc.Components["Checkout"])
	}
	if !strings.Contains(inc.NextStep(), "/incident update resolved") {
		t.Errorf("next step after resolve: %s", inc.NextStep())
	}
	// Not published: reminded, then escalated, like any late update.
	c.step(5 * time.Minute)
	if got, _ := svc.Sweep(ctx); kinds(got) != "remind" {
		t.Errorf("5 minutes before the final update is due: %q", kinds(got))
	}
	c.step(15 * time.Minute)
	if got, _ := svc.Sweep(ctx); kinds(got) != "escalate" {
		t.Errorf("10 minutes late: %q", kinds(got))
	}
	if _, err := svc.Close(ctx, n, cmd("alice", "close"), false); incident.ErrorCode(err) != incident.EConflict || !strings.Contains(incident.ErrorMessage(err), "Identified") {
		t.Errorf("closing with the page still saying Identified: %v", err)
	}
	if _, _, err := svc.Publish(ctx, n, cmd("carol", "update"), incident.Publication{Status: incident.StatusMonitoring, Body: "Monitoring."}); incident.ErrorCode(err) != incident.EConflict {
		t.Errorf("a monitoring update after resolve: %v", err)
	}
	inc, pub, err := svc.Publish(ctx, n, cmd("carol", "update"), incident.Publication{Status: incident.StatusResolved, Body: "We're sorry. Resolved."})
	if err != nil || inc.OwesFinalUpdate() || !inc.NextUpdateDue.IsZero() || inc.Stage != incident.StageDocument {
		t.Fatalf("the final update: %+v %v", inc, err)
	}
	if pub.Components["Checkout"] != incident.Operational || pub.Title != "Checkout returns 500s" || pub.Impact != "major" {
		t.Errorf("the final update as stored: %+v", pub)
	}
	if _, _, err := svc.Publish(ctx, n, cmd("carol", "update"), incident.Publication{Status: incident.StatusResolved, Body: "Again."}); incident.ErrorCode(err) != incident.EConflict ||
		!strings.Contains(incident.ErrorMessage(err), "nothing more to publish") {
		t.Errorf("a second resolved update after resolve: %v", err)
	}
	if _, err := svc.Close(ctx, n, cmd("alice", "close"), false); err != nil {
		t.Errorf("close after the final update: %v", err)
	}

	// Never published: resolving owes nothing.
	quiet, _ := svc.Declare(ctx, cmd("alice", "declare"), incident.Declaration{Title: "internal only", Severity: incident.SEV2})
	quiet, _ = svc.Resolve(ctx, quiet.Number, cmd("alice", "resolve"), "")
	if quiet.OwesFinalUpdate() || !quiet.NextUpdateDue.IsZero() {
		t.Errorf("a never-published incident owes an update: due %v", quiet.NextUpdateDue)
	}
}

// TestPublishingResolved: from the commander it resolves the incident (and
// plans the postmortem draft, as resolve does); from the communicator it is
// a public statement and the incident stays open.
func TestPublishingResolved(t *testing.T) {
	ctx := context.Background()
	svc, st, _, inc := setup(t)
	svc.Enable(incident.KindPostmortemDraft)
	svc.Assign(ctx, inc.Number, cmd("alice", "communicator"), "communicator", "carol")
	got, _, err := svc.Publish(ctx, inc.Number, cmd("carol", "update"), incident.Publication{Status: incident.StatusResolved, Body: "Resolved."})
	if err != nil || !got.Open() || got.PublicStatus != incident.StatusResolved || !strings.Contains(got.NextStep(), "came back") {
		t.Fatalf("the communicator's resolved update: %+v %v", got, err)
	}
	other, _ := svc.Declare(ctx, cmd("alice", "declare"), incident.Declaration{Title: "second", Severity: incident.SEV2})
	got, _, err = svc.Publish(ctx, other.Number, cmd("alice", "update"), incident.Publication{Status: incident.StatusResolved, Title: "Search slow", Body: "Resolved."})
	if err != nil || got.Open() || got.PublicTitle != "Search slow" {
		t.Fatalf("the commander's resolved update: %+v %v", got, err)
	}
	drafts := 0
	for _, e := range st.effects {
		if e.Kind == incident.KindPostmortemDraft {
			drafts++
			if e.Incident != other.Number {
				t.Errorf("a draft for %s, which is still open", incident.Ref(e.Incident))
			}
		}
	}
	if drafts != 1 {
		t.Errorf("%d drafts planned; want one, for the resolved incident", drafts)
	}
	// Reopening after the public heard "resolved" owes an update soon.
	got, _ = svc.Reopen(ctx, other.Number, cmd("alice", "reopen"))
	if got.NextUpdateDue.IsZero() || !strings.Contains(got.NextStep(), "/incident update investigating") {
		t.Errorf("reopened after a resolved update: due %v, next %s", got.NextUpdateDue, got.NextStep())
	}
}
