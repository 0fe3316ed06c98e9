package bot

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// effects runs Slack work in the background, one queue per incident, so an
// incident's war room exists before its summary is edited and its messages
// arrive in the order the commands were typed. Different incidents proceed
// in parallel. (The durable outbox that survives a restart comes with the
// integrations work; until then, work queued at a crash is lost, and the
// timeline says what was decided.)
type effects struct {
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	queues map[int64][]func(context.Context)
	wg     sync.WaitGroup
	closed bool
}

func newEffects(log *slog.Logger) *effects {
	ctx, cancel := context.WithCancel(context.Background())
	return &effects{log: log, ctx: ctx, cancel: cancel, queues: map[int64][]func(context.Context){}}
}

// do queues fn behind the incident's earlier work.
func (e *effects) do(n int64, fn func(context.Context)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		e.log.Warn("slack work dropped during shutdown", "incident", n)
		return
	}
	q, running := e.queues[n]
	e.queues[n] = append(q, fn)
	if !running {
		e.wg.Add(1)
		go e.run(n)
	}
}

func (e *effects) run(n int64) {
	defer e.wg.Done()
	for {
		e.mu.Lock()
		q := e.queues[n]
		if len(q) == 0 {
			delete(e.queues, n)
			e.mu.Unlock()
			return
		}
		fn := q[0]
		e.queues[n] = q[1:]
		e.mu.Unlock()
		e.safely(n, fn)
	}
}

func (e *effects) safely(n int64, fn func(context.Context)) {
	defer func() {
		if r := recover(); r != nil {
			e.log.Error("slack work panicked", "incident", n, "panic", r)
		}
	}()
	ctx, cancel := context.WithTimeout(e.ctx, 2*time.Minute)
	defer cancel()
	fn(ctx)
}

// drain stops taking work and waits for queued work until ctx ends, then
// cancels what is still running.
func (e *effects) drain(ctx context.Context) error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
		e.cancel()
		return nil
	case <-ctx.Done():
		e.cancel()
		<-done
		return ctx.Err()
	}
}
