package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/store"
)

// seedDB opens a fresh database and writes n incidents in one transaction,
// for benchmarks: build makes the i-th, and more (if set) adds what belongs
// to it (timeline entries, action items).
func seedDB(b *testing.B, n int, build func(i int) *incident.Incident, more func(tx incident.Tx, inc *incident.Incident) error) *store.DB {
	b.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "seed.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	err = db.Update(ctx, func(tx incident.Tx) error {
		for i := range n {
			inc := build(i)
			if err := tx.CreateIncident(ctx, inc); err != nil {
				return err
			}
			if more != nil {
				if err := more(tx, inc); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return db
}
