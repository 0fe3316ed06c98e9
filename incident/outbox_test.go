package incident_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
)

func effectKinds(fx []incident.Effect) []string {
	var out []string
	for i := len(fx) - 1; i >= 0; i-- { // Effects lists newest first
		out = append(out, fx[i].Kind)
	}
	return out
}

func TestEffectsAreQueuedWithTheirEntryOnlyWhenEnabled(t *testing.T) {
	ctx := context.Background()
	st := newMem()
	c := &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	svc := incident.NewService(st, c.now)
	woken := 0
	svc.OnEnqueue(func() { woken++ })
	svc.Enable(incident.KindTicketSync, incident.KindOnCall, incident.KindPageResolve, incident.KindPage, "slack.post")
	svc.Plan(func(before, after *incident.Incident, e incident.Entry) []incident.Effect {
		return []incident.Effect{{Kind: "slack.post", Payload: map[string]string{"entry": e.Kind}}, {Kind: "slack.disabled"}}
	})

	inc, err := svc.Declare(ctx, cmd("alice", "declare"), incident.Declaration{Title: "Checkout down", Severity: incident.SEV1, Service: "payments"})
	if err != nil {
		t.Fatal(err)
	}
	fx, _ := svc.Effects(ctx, incident.EffectFilter{Incident: inc.Number})
	if got := effectKinds(fx); !slices.Equal(got, []string{incident.KindOnCall, incident.KindTicketSync, "slack.post"}) {
		t.Fatalf("declare queued %v", got)
	}
	if oc := fx[len(fx)-1]; oc.Payload["provisional"] != "alice" || oc.Payload["service"] != "payments" || oc.NotAfter.IsZero() || oc.Entry == 0 || oc.State != incident.EffectPending {
		t.Fatalf("on-call lookup: %+v", oc)
	}
	if woken != 1 {
		t.Fatalf("worker woken %d times", woken)
	}

	// A note changes nothing the ticket shows: only the planner's post.
	before := len(st.effects)
	if _, err := svc.Note(ctx, inc.Number, cmd("bob", "note"), "db failover started"); err != nil {
		t.Fatal(err)
	}
	if got := st.effects[before:]; len(got) != 1 || got[0].Kind != "slack.post" {
		t.Fatalf("note queued %v", got)
	}
	// A rejected command queues nothing.
	before = len(st.effects)
	if _, err := svc.Note(ctx, inc.Number, cmd("bob", "note"), ""); err == nil {
		t.Fatal("empty note accepted")
	}
	if len(st.effects) != before {
		t.Fatalf("a rejected command queued %v", st.effects[before:])
	}
	// Paging carries the dedup key; resolving unpages and syncs the ticket.
	if _, err := svc.Page(ctx, inc.Number, cmd("bob", "page"), "payments", "card auth failing"); err != nil {
		t.Fatal(err)
	}
	page := st.effects[len(st.effects)-2]
	if page.Kind != incident.KindPage || page.Payload["dedup"] != "warroom-INC-1-payments" || page.Payload["message"] != "card auth failing" {
		t.Fatalf("page: %+v", page)
	}
	before = len(st.effects)
	if _, err := svc.Resolve(ctx, inc.Number, cmd("alice", "resolve"), "fixed"); err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, e := range st.effects[before:] {
		got = append(got, e.Kind)
	}
	if !slices.Equal(got, []string{incident.KindTicketSync, incident.KindPageResolve, "slack.post"}) {
		t.Fatalf("resolve queued %v", got)
	}
}

func TestPagingOffAndOnCallOnlyReplacesTheProvisionalCommander(t *testing.T) {
	ctx := context.Background()
	svc, _, _, inc := setup(t)
	if _, err := svc.Page(ctx, inc.Number, cmd("alice", "page"), "payments", ""); incident.ErrorCode(err) != incident.EConflict {
		t.Fatalf("page with paging off: %v", err)
	}
	if _, err := svc.Assign(ctx, inc.Number, cmd("alice", "commander"), "commander", "carol"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AssignOnCall(ctx, inc.Number, "dave", "alice", "PagerDuty"); incident.ErrorCode(err) != incident.EConflict {
		t.Fatalf("on-call replaced a commander someone chose: %v", err)
	}
	inc2, _ := svc.Declare(ctx, cmd("erin", "declare"), incident.Declaration{Title: "Search slow", Severity: incident.SEV3})
	got, err := svc.AssignOnCall(ctx, inc2.Number, "dave", "erin", "PagerDuty")
	if err != nil || got.Commander != "dave" {
		t.Fatalf("on-call: %v %+v", err, got)
	}
}

func TestPageKeys(t *testing.T) {
	k := incident.PageKey(42, "@U123")
	if k != "warroom-INC-42-u123" {
		t.Fatal(k)
	}
	if n, ok := incident.PageIncident(k); !ok || n != 42 {
		t.Fatal(n, ok)
	}
	for _, bad := range []string{"", "warroom-", "warroom-INC-x-y", "other-INC-4-a", "warroom-INC--1-a"} {
		if _, ok := incident.PageIncident(bad); ok {
			t.Errorf("%q parsed as a page key", bad)
		}
	}
}
