package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/store"
)

// TestChecklistIsStoredWithTheIncident: the steps round-trip on both
// stores; a change that leaves them alone does not rewrite them, and one
// that changes them back within a transaction leaves them as they ended.
func TestChecklistIsStoredWithTheIncident(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB, dsn string) {
		ctx := context.Background()
		at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
		inc := &incident.Incident{Title: "x", Severity: incident.SEV1, Stage: incident.StageAssess, Status: incident.StatusInvestigating,
			DeclaredBy: "U1", DeclaredAt: at, UpdatedAt: at, Roles: map[string]string{}, ChecklistTS: "1.2",
			Checklist: []incident.Step{
				{ChecklistItem: incident.ChecklistItem{Stage: incident.StageAssess, Text: "Confirm the impact ✓", Link: "https://wiki.example.com/a", Owner: "commander", DoneWhen: incident.TriggerPageSent, Optional: true}},
				{ChecklistItem: incident.ChecklistItem{Stage: incident.StageRespond, Text: "Fail over"}, DoneAt: at, DoneBy: "U2", AddedBy: "U3"},
			}}
		if err := db.Update(ctx, func(tx incident.Tx) error { return tx.CreateIncident(ctx, inc) }); err != nil {
			t.Fatal(err)
		}
		got, err := db.Incident(ctx, inc.Number)
		if err != nil || len(got.Checklist) != 2 || got.Checklist[0] != inc.Checklist[0] || !got.Checklist[1].DoneAt.Equal(at) ||
			got.Checklist[1].DoneBy != "U2" || got.Checklist[1].AddedBy != "U3" || got.ChecklistTS != "1.2" {
			t.Fatalf("read back: %v %+v", err, got)
		}
		// Ticked, then opened again, in one transaction: the row ends open.
		err = db.Update(ctx, func(tx incident.Tx) error {
			cur, err := tx.Incident(ctx, inc.Number)
			if err != nil {
				return err
			}
			cur.Checklist[0].DoneAt, cur.Checklist[0].DoneBy = at, "U9"
			if err := tx.SaveIncident(ctx, cur); err != nil {
				return err
			}
			cur.Checklist[0].DoneAt, cur.Checklist[0].DoneBy = time.Time{}, ""
			return tx.SaveIncident(ctx, cur)
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := db.Incident(ctx, inc.Number); got.Checklist[0].Done() {
			t.Errorf("ticked and opened again in one transaction, the row says done: %+v", got.Checklist[0])
		}
		// A change to something else keeps the steps.
		err = db.Update(ctx, func(tx incident.Tx) error {
			cur, err := tx.Incident(ctx, inc.Number)
			if err != nil {
				return err
			}
			cur.Title = "y"
			return tx.SaveIncident(ctx, cur)
		})
		if got, _ := db.Incident(ctx, inc.Number); err != nil || got.Title != "y" || len(got.Checklist) != 2 || !got.Checklist[1].Done() {
			t.Errorf("after a title change: %v %+v", err, got)
		}
	})
}
