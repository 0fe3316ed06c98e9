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
		errs := make([]error, writers)
		together(writers, func(i int) {
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
		})

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

// On PostgreSQL a write's UPDATEs and outbox INSERTs are held back and
// sent with its next statement or the COMMIT (pgpipe.go). One of them
// failing must fail its own write and no other, alone or in a shared
// commit, exactly as on SQLite, where each runs at once; and an effect's
// ID is known once its write has returned.
func TestHeldStatementsFailTheirOwnWrite(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		inc := &incident.Incident{Title: "held", Severity: incident.SEV2, Stage: incident.StageAssess,
			Status: incident.StatusInvestigating, DeclaredBy: "U1", DeclaredAt: time.Now(), UpdatedAt: time.Now()}
		if err := db.Update(ctx, func(tx incident.Tx) error { return tx.CreateIncident(ctx, inc) }); err != nil {
			t.Fatal(err)
		}
		// write i notes "h<i>", saves the incident, queues an effect; a
		// bad severity (a CHECK) fails the held UPDATE, an unknown
		// incident (a foreign key) fails the held INSERT.
		write := func(i int, badSeverity, badIncident bool) (*incident.Effect, error) {
			e := &incident.Effect{Incident: inc.Number, Kind: "slack.post", Created: time.Now(), NextAt: time.Now()}
			if badIncident {
				e.Incident = 424242
			}
			return e, db.Update(ctx, func(tx incident.Tx) error {
				cur, err := tx.Incident(ctx, inc.Number)
				if err != nil {
					return err
				}
				if badSeverity {
					cur.Severity = 9
				}
				cur.UpdatedAt = time.Now()
				if err := tx.SaveIncident(ctx, cur); err != nil {
					return err
				}
				if err := tx.Append(ctx, &incident.Entry{Incident: inc.Number, At: time.Now(), Actor: "U1", Raw: fmt.Sprintf("h%d", i), Kind: "note", Outcome: incident.OutcomeOK}); err != nil {
					return err
				}
				return tx.Enqueue(ctx, e)
			})
		}
		// Alone first: the failure comes with the COMMIT.
		if _, err := write(-1, true, false); err == nil {
			t.Error("a write whose UPDATE breaks a CHECK succeeded")
		}
		if _, err := write(-2, false, true); err == nil {
			t.Error("a write whose outbox INSERT breaks a foreign key succeeded")
		}
		if e, err := write(-3, false, false); err != nil || e.ID == 0 {
			t.Fatalf("a good write after two failed ones: %v (effect id %d)", err, e.ID)
		}

		const writers = 120
		errs := make([]error, writers)
		fx := make([]*incident.Effect, writers)
		together(writers, func(i int) { fx[i], errs[i] = write(i, i%5 == 2, i%5 == 4) })
		rows, err := db.Timeline(ctx, inc.Number, incident.Page{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, e := range rows {
			have[e.Raw] = true
		}
		ids := map[int64]bool{}
		for i := range writers {
			failed := i%5 == 2 || i%5 == 4
			if failed != (errs[i] != nil) {
				t.Errorf("write %d: err %v", i, errs[i])
			}
			if have[fmt.Sprintf("h%d", i)] == failed {
				t.Errorf("write %d (failed=%v): its note present=%v", i, failed, !failed)
			}
			if !failed {
				if fx[i].ID == 0 || ids[fx[i].ID] {
					t.Errorf("write %d: effect id %d (zero or repeated)", i, fx[i].ID)
				}
				ids[fx[i].ID] = true
			}
		}
		if got, err := db.Incident(ctx, inc.Number); err != nil || got.Severity != incident.SEV2 {
			t.Errorf("incident after the batch: %v, %v", got, err)
		}
		st := db.WriteStats()
		t.Logf("%d writes in %d commits", st.Writes, st.Commits)
	})
}

// together runs fn(0..n-1) in n goroutines released at once, so their
// writes arrive together and share commits, and waits for them all.
func together(n int, fn func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}
