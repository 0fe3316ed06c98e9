package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/internal/pgtest"
	"github.com/warroom/warroom/store"
)

// BenchmarkNote is a note's write, one after another, on each store:
// SQLite with synchronous=FULL, PostgreSQL with fsync on (a server of its
// own, durable), so the two compare in the same run.
func BenchmarkNote(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			svc, inc := noteBench(b, kind)
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if _, err := svc.Note(ctx, inc.Number, incident.Command{Actor: "U2", Kind: "note"}, "n"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/note")
		})
	}
}

// BenchmarkNoteParallel is many notes at once (64 writers): what group
// commit makes of each store's commits.
func BenchmarkNoteParallel(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			svc, inc := noteBench(b, kind)
			b.SetParallelism(32)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := svc.Note(ctx, inc.Number, incident.Command{Actor: "U2", Kind: "note"}, "n"); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "notes/s")
		})
	}
}

// noteBench opens a store of kind (PostgreSQL on a durable server of its
// own) with one incident declared.
func noteBench(b *testing.B, kind string) (*incident.Service, *incident.Incident) {
	b.Helper()
	ctx := context.Background()
	dsn := b.TempDir() + "/w.db"
	if kind == "postgres" {
		dsn = pgtest.Start(b, pgtest.Options{Durable: true}).NewDB(b)
	}
	db, err := store.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	svc := incident.NewService(db, nil)
	inc, err := svc.Declare(ctx, incident.Command{Actor: "U1", Kind: "declare"}, incident.Declaration{Title: "x", Severity: incident.SEV2})
	if err != nil {
		b.Fatal(err)
	}
	return svc, inc
}
