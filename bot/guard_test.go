package bot

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// memGuard is the database's replay guard, which can be down.
type memGuard struct {
	mu   sync.Mutex
	down bool
	seen map[string]bool
}

func (g *memGuard) FirstRequest(_ context.Context, key string, _ time.Time, _ time.Duration) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.down {
		return false, errors.New("connection refused")
	}
	first := !g.seen[key]
	g.seen[key] = true
	return first, nil
}

// TestReplayAfterAnOutageIsRefused: a request that arrived while the
// database was down (and was refused as not recorded) is recorded once the
// database is back, so replaying it to another replica then is refused.
func TestReplayAfterAnOutageIsRefused(t *testing.T) {
	g := &memGuard{down: true, seen: map[string]bool{}}
	b := &Bot{guard: g, log: slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	if err := b.firstShared(ctx, "sig:during-outage", replayTTL); !errors.Is(err, errUnavailable) {
		t.Fatalf("with the database down: %v", err)
	}
	g.mu.Lock()
	g.down = false
	g.mu.Unlock()
	if err := b.firstShared(ctx, "sig:next", replayTTL); err != nil {
		t.Fatalf("the next request: %v", err)
	}
	// Another replica (another Bot, same database) gets the replay.
	other := &Bot{guard: g, log: slog.New(slog.DiscardHandler)}
	if err := other.firstShared(ctx, "sig:during-outage", replayTTL); !errors.Is(err, errReplay) {
		t.Fatalf("the request from the outage, replayed to another replica: %v; want refused as a replay", err)
	}
}
