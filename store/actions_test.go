package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/store"
)

// The action item rules, against the real store: defaults, every change on
// the timeline with its Jira effect, refusals that change nothing, and the
// periodic Jira sync that must not undo a change still on its way there.
func TestActionItems(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
		svc := incident.NewService(db, func() time.Time { return now })
		svc.Enable(incident.KindActionSync)
		cmd := func(raw string) incident.Command { return incident.Command{Actor: "U1", Raw: raw} }
		inc, err := svc.Declare(ctx, incident.Command{Actor: "U1", Kind: "declare"}, incident.Declaration{Title: "db down", Severity: incident.SEV2})
		if err != nil {
			t.Fatal(err)
		}
		other, _ := svc.Declare(ctx, incident.Command{Actor: "U1", Kind: "declare"}, incident.Declaration{Title: "other", Severity: incident.SEV3})

		a, err := svc.AddAction(ctx, inc.Number, cmd("action add alert on replica lag"), incident.NewAction{Text: " alert on replica lag "})
		if err != nil {
			t.Fatal(err)
		}
		if a.Ref() != "AI-1" || a.Priority != incident.P2 || a.Due.Format(time.DateOnly) != "2026-12-02" || a.Status != incident.ActionOpen || a.Text != "alert on replica lag" {
			t.Fatalf("defaults: %+v", a)
		}
		due := time.Date(2026, 11, 9, 0, 0, 0, 0, time.UTC)
		b, err := svc.AddAction(ctx, inc.Number, cmd("action add runbook p1"), incident.NewAction{Text: "runbook", Owner: "U2", Priority: incident.P1, Due: due})
		if err != nil || b.Due != due || b.Owner != "U2" {
			t.Fatalf("explicit: %+v %v", b, err)
		}

		// Refusals: recorded, nothing written.
		for _, tc := range []struct {
			in   incident.NewAction
			want string
		}{
			{incident.NewAction{Text: "x", Due: now.AddDate(0, 0, -1)}, "in the past"},
			{incident.NewAction{Text: "   "}, "empty"},
			{incident.NewAction{Text: strings.Repeat("a", incident.MaxActionText+1)}, "limit is 500"},
			{incident.NewAction{Text: "bad \u202e text"}, "override"},
		} {
			if _, err := svc.AddAction(ctx, inc.Number, cmd("action add"), tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%+v: got %v, want %q", tc.in, err, tc.want)
			}
		}
		if _, err := svc.CompleteAction(ctx, other.Number, cmd("INC-2 action done 1"), a.ID); err == nil || !strings.Contains(err.Error(), "`/incident INC-1 action done 1`") {
			t.Errorf("wrong incident: %v", err)
		}
		if _, err := svc.CompleteAction(ctx, 0, cmd("action done 99"), 99); incident.ErrorCode(err) != incident.ENotFound {
			t.Errorf("unknown item: %v", err)
		}

		now = now.Add(time.Hour)
		if _, err := svc.CompleteAction(ctx, inc.Number, cmd("action done 1"), a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CompleteAction(ctx, 0, cmd("action done 1"), a.ID); incident.ErrorCode(err) != incident.EConflict {
			t.Errorf("done twice: %v", err)
		}
		if _, err := svc.AssignAction(ctx, 0, cmd("action assign 2 @U3"), b.ID, "U3"); err != nil {
			t.Fatal(err)
		}

		// Closed incidents still take follow-ups.
		if _, err := svc.Resolve(ctx, inc.Number, incident.Command{Actor: "U1", Kind: "resolve"}, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Close(ctx, inc.Number, incident.Command{Actor: "U1", Kind: "close"}, true); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.AddAction(ctx, inc.Number, cmd("action add after close"), incident.NewAction{Text: "after close", Priority: incident.P3}); err != nil {
			t.Fatalf("after close: %v", err)
		}

		items, err := svc.ActionItems(ctx, incident.ActionFilter{Incident: inc.Number})
		if err != nil || len(items) != 3 {
			t.Fatalf("items: %d %v", len(items), err)
		}
		if items[0].Status != incident.ActionDone || !items[0].Closed.Equal(now) || items[0].ClosedBy != "U1" || items[1].Owner != "U3" {
			t.Errorf("stored: %+v", items[:2])
		}
		open, _ := svc.ActionItems(ctx, incident.ActionFilter{OpenOnly: true})
		if len(open) != 2 {
			t.Errorf("open: %d", len(open))
		}

		entries, _ := db.Timeline(ctx, inc.Number, incident.Page{})
		var verbs []string
		for _, e := range entries {
			if e.Kind == incident.KindAction {
				verbs = append(verbs, e.Detail["action"]+":"+e.Outcome[:min(2, len(e.Outcome))])
			}
		}
		// add, add, 4 refusals, done, done-again refused, assign, add after close
		if got := strings.Join(verbs, " "); got != "add:ok add:ok :Th :Th :Th :Th done:ok :AI assign:ok add:ok" {
			t.Errorf("timeline: %s", got)
		}
		fx, _ := db.Effects(ctx, incident.EffectFilter{Incident: inc.Number})
		syncs := 0
		for _, e := range fx {
			if e.Kind == incident.KindActionSync {
				syncs++
				if e.Lane() != "ticket/INC-1" {
					t.Errorf("lane %s", e.Lane())
				}
			}
		}
		if syncs != 5 { // add, add, done, assign, add
			t.Errorf("%d action syncs, want 5", syncs)
		}

		// Jira says AI-2 is done, but the change here is newer: nothing happens.
		changed, err := svc.SyncActionStatus(ctx, b.ID, true, "Done", now.Add(-time.Minute))
		if err != nil || changed {
			t.Errorf("stale Jira status applied: %v %v", changed, err)
		}
		now = now.Add(time.Hour)
		changed, err = svc.SyncActionStatus(ctx, b.ID, true, "Done", now.Add(-time.Minute))
		if err != nil || !changed {
			t.Fatalf("newer Jira status not applied: %v %v", changed, err)
		}
		got, _ := svc.Action(ctx, b.ID)
		if got.Status != incident.ActionDone || got.ClosedBy != "jira" {
			t.Errorf("after sync: %+v", got)
		}
		fx2, _ := db.Effects(ctx, incident.EffectFilter{Incident: inc.Number})
		if len(fx2) != len(fx) {
			t.Errorf("the sync from Jira queued %d effects back to Jira", len(fx2)-len(fx))
		}
	})
}
