package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/store"
)

// Writes that arrive together share a commit, and each is still all or
// nothing: one that fails or panics is undone alone, the others land.
func TestGroupCommitKeepsEachWriteAtomic(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		const writers = 200
		start := make(chan struct{})
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = db.Update(ctx, func(tx incident.Tx) error {
					// Two rows per write: a failure after the first must undo it.
					for part := range 2 {
						e := &incident.Entry{At: time.Now(), Actor: "U1", Raw: fmt.Sprintf("w%d.%d", i, part), Kind: "note", Outcome: incident.OutcomeOK}
						if err := tx.Append(ctx, e); err != nil {
							return err
						}
						switch {
						case part == 0 && i%7 == 3:
							return errors.New("refused")
						case part == 0 && i%13 == 5:
							panic("boom")
						}
					}
					return nil
				})
			}()
		}
		close(start)
		wg.Wait()

		gone, cctx := context.WithCancel(ctx)
		cctx()
		if err := db.Update(gone, func(tx incident.Tx) error { t.Error("a write whose caller had gone ran"); return nil }); !errors.Is(err, context.Canceled) {
			t.Errorf("canceled write: %v", err)
		}

		rows, err := db.Timeline(ctx, 0, incident.Page{})
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, e := range rows {
			have[e.Raw] = true
		}
		for i := range writers {
			failed := i%7 == 3 || i%13 == 5
			if failed != (errs[i] != nil) {
				t.Errorf("write %d: err %v", i, errs[i])
			}
			for part := range 2 {
				if got := have[fmt.Sprintf("w%d.%d", i, part)]; got == failed {
					t.Errorf("write %d (failed=%v): row %d present=%v", i, failed, part, got)
				}
			}
		}
		st := db.WriteStats()
		t.Logf("%d writes in %d commits", st.Writes, st.Commits)
		if st.Commits >= st.Writes {
			t.Errorf("%d concurrent writes took %d commits: none shared", st.Writes, st.Commits)
		}
	})
}

// After Close, a write fails at once instead of waiting forever.
func TestWriteAfterCloseFails(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB, _ string) {

		db.Close()
		done := make(chan error, 1)
		go func() { done <- db.Update(context.Background(), func(incident.Tx) error { return nil }) }()
		select {
		case err := <-done:
			if err == nil {
				t.Error("write after close succeeded")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("write after close hung")
		}
	})
}

// The outbox's "delivered" marks commit without a disk sync of their own;
// every other write still syncs before its caller hears back.
func TestOnlyBookkeepingSkipsTheSync(t *testing.T) {
	ctx := context.Background()
	db, _ := open(t)
	mode := func() int {
		m, err := db.SyncMode(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := mode(); m != 2 {
		t.Fatalf("a new database's writer: synchronous=%d, want FULL (2)", m)
	}
	if err := db.EffectsDone(ctx, []int64{1, 2}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if m := mode(); m != 1 {
		t.Errorf("after marking effects delivered: synchronous=%d, want NORMAL (1)", m)
	}
	if err := db.Update(ctx, func(tx incident.Tx) error {
		return tx.Append(ctx, &incident.Entry{At: time.Now(), Actor: "U1", Raw: "x", Kind: "note", Outcome: incident.OutcomeOK})
	}); err != nil {
		t.Fatal(err)
	}
	if m := mode(); m != 2 {
		t.Errorf("after a command's write: synchronous=%d, want FULL (2)", m)
	}
}
