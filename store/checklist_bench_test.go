package store_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/store"
)

// BenchmarkChecklist50 is what a 50-step checklist (the most an incident
// holds) costs on SQLite: ticking and unticking a step (read, change and
// write the incident with its steps, and the timeline entry), against a
// note on an incident without a checklist in the same run (the baseline:
// the ratio holds on a noisy machine where the absolute time does not).
func BenchmarkChecklist50(b *testing.B) {
	ctx := context.Background()
	var steps []incident.ChecklistItem
	for i := range 50 {
		steps = append(steps, incident.ChecklistItem{Stage: []incident.Stage{incident.StageAssess, incident.StageCommunicate, incident.StageRespond, incident.StageDocument}[i%4],
			Text: fmt.Sprintf("Step %d: check the thing that step %d is about, and say what you saw in the room", i+1, i+1), Link: "https://wiki.example.com/runbooks/step-" + strconv.Itoa(i)})
	}
	open := func(b *testing.B, lists incident.Checklists) (*incident.Service, int64) {
		db, err := store.Open(ctx, b.TempDir()+"/c.db")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		svc := incident.NewService(db, nil)
		svc.UseChecklists(lists)
		inc, err := svc.Declare(ctx, incident.Command{Actor: "U1", Kind: "declare"}, incident.Declaration{Title: "x", Severity: incident.SEV2})
		if err != nil {
			b.Fatal(err)
		}
		return svc, inc.Number
	}
	notes := func(lists incident.Checklists) func(*testing.B) {
		return func(b *testing.B) {
			svc, n := open(b, lists)
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if _, err := svc.Note(ctx, n, incident.Command{Actor: "U2", Kind: "note"}, "n"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/op")
		}
	}
	b.Run("note-baseline", notes(incident.Checklists{}))
	b.Run("note-with-checklist", notes(incident.Checklists{Default: steps}))
	b.Run("tick", func(b *testing.B) {
		svc, n := open(b, incident.Checklists{Default: steps})
		b.ResetTimer()
		start := time.Now()
		for i := range b.N {
			if _, err := svc.TickStep(ctx, n, incident.Command{Actor: "U2", Kind: "checklist"}, strconv.Itoa(i%50+1), (i/50)%2 == 0); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/op")
	})
}
