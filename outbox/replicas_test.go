package outbox_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/internal/pgtest"
	"github.com/warroom/warroom/outbox"
	"github.com/warroom/warroom/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestReplicasShareTheLanes: two replicas, each with its own connection
// pool and worker, deliver one PostgreSQL outbox. Every effect goes out
// once, each lane's effects in order, and both replicas do some of the
// work. Then a replica "dies" holding leases (they are simply never
// renewed): the other takes its lanes once they end, within the lease
// time and a poll.
func TestReplicasShareTheLanes(t *testing.T) {
	dsn := pgtest.Shared(t).NewDB(t)
	dbA, svc := open(t, dsn, "slack.post", "ticket.sync", "pager.page")
	dbB, _ := open(t, dsn)
	const incidents = 12
	for range incidents {
		inc := queue(t, svc, "slack.post", "slack.post", "slack.post", "ticket.sync", "ticket.sync", "pager.page")
		_ = inc
	}
	var mu sync.Mutex
	seen := map[int64]string{} // effect -> replica
	last := map[string]int64{} // lane -> last id delivered
	var problems []string
	handler := func(replica string) outbox.Handler {
		return outbox.Handler{Deliver: func(ctx context.Context, e incident.Effect) error {
			time.Sleep(time.Millisecond) // a vendor call
			mu.Lock()
			defer mu.Unlock()
			if by, dup := seen[e.ID]; dup {
				problems = append(problems, fmt.Sprintf("effect %d delivered by %s and %s", e.ID, by, replica))
			}
			seen[e.ID] = replica
			if e.ID < last[e.Lane()] {
				problems = append(problems, fmt.Sprintf("lane %s: %d after %d", e.Lane(), e.ID, last[e.Lane()]))
			}
			last[e.Lane()] = e.ID
			return nil
		}}
	}
	worker := func(db *store.DB, name string) *outbox.Worker {
		w := outbox.New(db, slog.New(slog.NewTextHandler(os.Stderr, nil)), nil)
		w.Owner, w.LeaseTTL, w.Poll = name, 2*time.Second, 50*time.Millisecond
		for _, k := range []string{"slack.post", "ticket.sync", "pager.page"} {
			w.Handle(k, handler(name))
		}
		return w
	}
	stopA, stopB := run(t, worker(dbA, "a")), run(t, worker(dbB, "b"))
	// Declarations queue effects of their own, and deliveries queue more:
	// wait until nothing is pending.
	deadline := time.Now().Add(30 * time.Second)
	var want int
	for {
		backlog, err := dbA.OutboxBacklog(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if backlog["pending"] == 0 && n == backlog["done"] {
			want = n
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still pending after 30s: %v, %d delivered", backlog, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopA()
	stopB()
	mu.Lock()
	by := map[string]int{}
	for _, r := range seen {
		by[r]++
	}
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	t.Logf("%d effects delivered once each, by replica: %v", want, by)
	mu.Unlock()

	// A dead replica's leases: held by "dead", never renewed.
	ctx := context.Background()
	queue(t, svc, "slack.post")
	pending, err := dbA.Effects(ctx, incident.EffectFilter{States: []string{incident.EffectPending}})
	if err != nil || len(pending) == 0 {
		t.Fatalf("pending: %v %v", pending, err)
	}
	var lanes []string
	for _, e := range pending {
		lanes = append(lanes, e.Lane())
	}
	now := time.Now()
	if held, err := dbA.ClaimLanes(ctx, "dead", lanes, now, now.Add(2*time.Second)); err != nil || len(held) != len(lanes) {
		t.Fatalf("dead replica's claim: %v %v", held, err)
	}
	if held, _ := dbB.ClaimLanes(ctx, "b", lanes, now, now.Add(2*time.Second)); len(held) != 0 {
		t.Fatal("a live lease was taken")
	}
	start := time.Now()
	stopB = run(t, worker(dbB, "b"))
	defer stopB()
	var first time.Duration
	for {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n > want && first == 0 {
			first = time.Since(start)
		}
		if n == want+len(pending) {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("the dead replica's lanes were not taken over: %d of %d delivered", n-want, len(pending))
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start)
	if first < 1500*time.Millisecond {
		t.Errorf("a lane was taken after %v, before its lease ended", first)
	}
	t.Logf("a dead replica's %d lanes were taken over after %v (lease 2s)", len(lanes), took.Round(10*time.Millisecond))
}
