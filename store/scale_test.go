package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/store"
)

// BenchmarkScale reads what people read most — the newest incidents (the
// list, the status page's 200), a page further back, a war room's incident
// by channel, one incident's timeline — with 1,000 and then 100,000
// incidents in the file. Every read is indexed and bounded, so the times
// should not grow with the history.
func BenchmarkScale(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		ctx := context.Background()
		now := time.Now().UTC()
		db := seedDB(b, n, func(i int) *incident.Incident {
			at := now.Add(-time.Duration(n-i) * time.Minute)
			inc := &incident.Incident{Title: fmt.Sprintf("incident %d", i), Severity: incident.SEV2, Stage: incident.StageDocument, Status: incident.StatusResolved,
				DeclaredBy: "U1", Commander: "U1", Roles: map[string]string{"scribe": "U2"}, DeclaredAt: at, UpdatedAt: at, ResolvedAt: at.Add(time.Hour),
				ChannelID: fmt.Sprintf("C%08d", i), ChannelName: fmt.Sprintf("inc-%d", i+1)}
			if i%10 == 0 {
				inc.Stage, inc.Status, inc.ResolvedAt = incident.StageRespond, incident.StatusIdentified, time.Time{}
			}
			return inc
		}, func(tx incident.Tx, inc *incident.Incident) error {
			for j := range 3 {
				e := &incident.Entry{Incident: inc.Number, At: inc.DeclaredAt.Add(time.Duration(j) * time.Second), Actor: "U1", Kind: "note", Raw: "note x", Outcome: incident.OutcomeOK, Detail: map[string]string{"text": "x"}}
				if err := tx.Append(ctx, e); err != nil {
					return err
				}
			}
			return nil
		})
		last := int64(n)
		for _, op := range []struct {
			name string
			run  func() error
		}{
			{"list-open-50", func() error { _, err := db.Incidents(ctx, incident.Filter{OpenOnly: true, Limit: 50}); return err }},
			{"status-page-200", func() error {
				list, err := db.Incidents(ctx, incident.Filter{Limit: 200, PublicOnly: true})
				if err != nil {
					return err
				}
				ns := make([]int64, len(list))
				for i, inc := range list {
					ns[i] = inc.Number
				}
				_, err = db.PublicUpdatesOf(ctx, ns)
				return err
			}},
			{"list-page-back", func() error { _, err := db.Incidents(ctx, incident.Filter{Before: last / 2, Limit: 50}); return err }},
			{"by-channel", func() error { _, err := db.IncidentByChannel(ctx, fmt.Sprintf("C%08d", n/2)); return err }},
			{"timeline", func() error { _, err := db.Timeline(ctx, last/2, incident.Page{}); return err }},
		} {
			b.Run(fmt.Sprintf("incidents=%d/%s", n, op.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := op.run(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkTimelinePage reads what /incident timeline shows of an incident
// with 3,000 entries: the newest 31, against reading them all (what it did).
func BenchmarkTimelinePage(b *testing.B) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "t.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	svc := incident.NewService(db, nil)
	c := incident.Command{Actor: "U1", Kind: "note"}
	inc, _ := svc.Declare(ctx, incident.Command{Actor: "U1", Kind: "declare"}, incident.Declaration{Title: "busy", Severity: incident.SEV2})
	for i := 0; i < 3000; i++ {
		svc.Note(ctx, inc.Number, c, strings.Repeat("a note of some length ", 20))
	}
	b.Run("latest-31", func(b *testing.B) {
		for b.Loop() {
			if es, err := db.Timeline(ctx, inc.Number, incident.Page{Latest: true, Limit: 31}); err != nil || len(es) != 31 {
				b.Fatal(err, len(es))
			}
		}
	})
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.Timeline(ctx, inc.Number, incident.Page{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
