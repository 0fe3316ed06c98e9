package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
)

// BenchmarkStats is the database's share of one /metrics scrape over
// 5,000 and 10,000 incidents with ten action items each.
func BenchmarkStats(b *testing.B) {
	for _, n := range []int{5000, 10000} {
		b.Run(fmt.Sprintf("incidents=%d", n), func(b *testing.B) {
			ctx := context.Background()
			now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
			db := seedDB(b, n, func(i int) *incident.Incident {
				at := now.Add(-time.Duration(n-i) * time.Hour)
				return &incident.Incident{Title: "x", Severity: incident.Severity(1 + i%4), Stage: incident.StageDocument, Status: incident.StatusResolved,
					DeclaredBy: "U1", Commander: "U1", Roles: map[string]string{}, DeclaredAt: at, UpdatedAt: at,
					AcknowledgedAt: at.Add(time.Minute), MitigatedAt: at.Add(20 * time.Minute), ResolvedAt: at.Add(time.Hour)}
			}, func(tx incident.Tx, inc *incident.Incident) error {
				at := inc.DeclaredAt
				for j := range 10 {
					a := &incident.ActionItem{Incident: inc.Number, Text: "y", Priority: incident.Priority(1 + j%3), Due: at.AddDate(0, 0, 30).Truncate(24 * time.Hour),
						Status: incident.ActionOpen, Created: at, Updated: at}
					if j%3 != 0 {
						a.Status, a.Closed = incident.ActionDone, at.AddDate(0, 0, j)
					}
					if err := tx.AddAction(ctx, a); err != nil {
						return err
					}
				}
				return nil
			})
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := db.Stats(ctx, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
