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
	if _, _, err := svc.Publish(ctx, n, cmd("mallory", "update"), incident.StatusInvestigating, "x"); incident.ErrorCode(err) != incident.EForbidden ||
		!strings.Contains(incident.ErrorMessage(err), "/incident communicator me") {
		t.Fatalf("a bystander publishing: %v", err)
	}
	svc.Assign(ctx, n, cmd("alice", "communicator"), "communicator", "carol")
	inc, pub, err := svc.Publish(ctx, n, cmd("carol", "update"), incident.StatusInvestigating, "We are investigating.\n\nNext update by 11:00 UTC.")
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
	inc, _, _ = svc.Publish(ctx, n, cmd("alice", "update"), incident.StatusIdentified, "Cause identified.\n\nNext update by 12:30 UTC.")
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
	// Resolving owes nothing more.
	inc, _, err = svc.Publish(ctx, n, cmd("carol", "update"), incident.StatusResolved, "We're sorry. Resolved.")
	if err != nil || !inc.NextUpdateDue.IsZero() || inc.Stage != incident.StageDocument {
		t.Fatalf("resolving publish: %+v %v", inc, err)
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
		if e.Kind == "update" || e.Kind == "reminder" || e.Kind == "snooze" {
			seen = append(seen, e.Kind)
		}
	}
	if got := strings.Join(seen, " "); got != "update update reminder reminder reminder update snooze update snooze" { // the last snooze was rejected, and recorded
		t.Errorf("timeline: %s", got)
	}
}

func TestSweepAfterDowntimeSendsOnlyTheLatest(t *testing.T) {
	ctx := context.Background()
	svc, _, c, inc := setup(t)
	svc.UseHelpAfter(0) // only the update reminders here
	svc.Publish(ctx, inc.Number, cmd("alice", "update"), incident.StatusInvestigating, "Investigating.\nNext update by 11:00 UTC.")
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
	inc, _, err := svc.Publish(ctx, inc.Number, cmd("alice", "update"), incident.StatusInvestigating, "Investigating.")
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
