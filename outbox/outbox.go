// Package outbox delivers the effects that warroom's changes wrote to the
// outbox table: Slack posts, Jira issues, PagerDuty pages, Statuspage
// updates. Each lane (one system, one incident) is delivered in order, one
// effect at a time; lanes proceed in parallel. A failed delivery is retried
// with exponential backoff and jitter, or after the Retry-After a vendor
// asked for, until it succeeds, the vendor refuses it for good, or the
// effect expires. Because the rows live in SQLite, a restart resumes where
// the last process stopped.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/warroom/warroom/incident"
)

// Queue is the outbox table. The store package provides it.
type Queue interface {
	DueEffects(ctx context.Context, now time.Time, limit int) ([]incident.Effect, error)
	NextDue(ctx context.Context) (time.Time, error)
	Behind(ctx context.Context, e incident.Effect, limit int) ([]incident.Effect, error)
	EffectsDone(ctx context.Context, ids []int64, at time.Time) error
	EffectRetry(ctx context.Context, id int64, attempts int, next time.Time, reason string) error
	EffectGiveUp(ctx context.Context, id int64, state string, attempts int, reason string, at time.Time) error
}

// Leaser shares the lanes among replicas: a queue that several copies of
// warroom deliver from (PostgreSQL) grants each lane to one replica at a
// time. The store provides it; on SQLite every lane is always granted.
type Leaser interface {
	// ClaimLanes takes or renews owner's leases on lanes until until and
	// returns the lanes owner holds now.
	ClaimLanes(ctx context.Context, owner string, lanes []string, now, until time.Time) ([]string, error)
	// ReleaseLanes gives up all of owner's leases.
	ReleaseLanes(ctx context.Context, owner string) error
}

// Handler delivers effects of one kind.
type Handler struct {
	// Deliver does the work. It returns nil when done, an error wrapped by
	// Permanent when retrying cannot help, or any other error to retry (one
	// with a RetryAfter method is retried after that long).
	Deliver func(ctx context.Context, e incident.Effect) error
	// Coalesce says that delivering one effect covers the same-kind effects
	// queued right behind it in the lane: it reads the current state (a
	// ticket sync, a summary refresh), so they are marked done together.
	Coalesce bool
	// Batch, if set, is used instead of Deliver when same-kind effects are
	// queued right behind the one due (a backlog): it delivers that one and
	// as many of behind as fit in one call, in order, and returns how many
	// of behind it carried; they are marked done with it. Under load one
	// Slack message then carries many posts, where one message each would
	// run into Slack's limit of a message a second per channel.
	Batch func(ctx context.Context, e incident.Effect, behind []incident.Effect) (int, error)
	// GiveUp, if set, runs when the effect fails for good or expires: the
	// fallback (the declarer stays commander) and telling people.
	GiveUp func(ctx context.Context, e incident.Effect, err error)
}

// Trouble hears when a system starts failing for an incident (first=true,
// once per outage) and when it answers again (first=false).
type Trouble func(ctx context.Context, e incident.Effect, err error, first bool)

// Worker delivers the outbox.
type Worker struct {
	q        Queue
	log      *slog.Logger
	now      func() time.Time
	handlers map[string]Handler

	// Poll is the longest the worker sleeps when woken by nobody (default 1s).
	Poll time.Duration
	// Parallel is how many lanes are delivered at once (default 8).
	Parallel int
	// Timeout bounds one delivery attempt (default 30s).
	Timeout time.Duration
	// Backoff is the first retry delay, doubled each attempt up to MaxBackoff,
	// with jitter (defaults 1s and 5m).
	Backoff, MaxBackoff time.Duration
	// OnTrouble hears of outages and recoveries, to tell the war room.
	OnTrouble Trouble
	// Owner names this replica in lane leases; LeaseTTL is how long a
	// lease lasts unrenewed (default 10s): how soon a dead replica's lanes
	// pass to another. Leases are renewed every LeaseTTL/3 while a
	// delivery is in flight, however long it takes.
	Owner    string
	LeaseTTL time.Duration
	// Pace is the least time between two deliveries in one lane (default
	// 50ms). A lane that is quiet delivers at once; a busy one (a war room
	// taking many notes a second) waits Pace after each delivery, so the
	// effects queued meanwhile go out together (posts in one message,
	// refreshes coalesced) instead of one delivery, with its reads and
	// writes, per command: the outbox then costs a few deliveries a second
	// however fast commands come, and stays off the CPU the commands need.
	Pace time.Duration

	wake chan struct{}
	done chan completion // deliveries to mark done, batched by the flusher

	mu   sync.Mutex
	busy map[string]bool // lanes with a delivery in flight
	// paced holds, for each lane delivered to in the last Pace, when it
	// may deliver again.
	paced  map[string]time.Time
	leased map[string]bool      // of those, the ones leased to this replica (a shared queue)
	ours   map[string]time.Time // lanes leased to this replica, and until when
	// readFailedAt is when a failed read of the queue was last logged.
	readFailedAt time.Time
	flushing     bool            // Run's flusher is taking completions
	troubled     map[string]bool // lanes told about an outage
	stats        Stats
}

// Stats counts what the worker did since it started.
type Stats struct {
	Delivered, Coalesced, Retried, Failed, Expired int
}

// New returns a worker over q; now may be nil for time.Now.
func New(q Queue, log *slog.Logger, now func() time.Time) *Worker {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Worker{q: q, log: log, now: now, handlers: map[string]Handler{},
		Poll: time.Second, Parallel: 8, Timeout: 30 * time.Second, Backoff: time.Second, MaxBackoff: 5 * time.Minute,
		Owner: defaultOwner(), LeaseTTL: 10 * time.Second, Pace: 50 * time.Millisecond,
		wake: make(chan struct{}, 1), done: make(chan completion, 1024), busy: map[string]bool{}, paced: map[string]time.Time{}, ours: map[string]time.Time{}, leased: map[string]bool{}, troubled: map[string]bool{}}
}

// Handle registers the handler for effects of kind.
func (w *Worker) Handle(kind string, h Handler) { w.handlers[kind] = h }

// Kinds lists the kinds the worker can deliver, for Service.Enable.
func (w *Worker) Kinds() []string {
	out := make([]string, 0, len(w.handlers))
	for k := range w.handlers {
		out = append(out, k)
	}
	return out
}

// Wake tells the worker that new effects are queued.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Stats returns the counts so far.
func (w *Worker) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// completion is a delivery waiting to be marked done; its lane stays busy
// until it is, so the row is never read as pending again meanwhile.
type completion struct {
	lane string
	ids  []int64
	sent chan struct{} // closed once recorded
}

// flush marks delivered effects done, as many per write transaction as have
// finished since the last one: with synchronous=FULL each transaction is a
// disk sync, which the commands' own writes wait for.
func (w *Worker) flush(ctx context.Context, stop <-chan struct{}) {
	for {
		var batch []completion
		select {
		case c := <-w.done:
			batch = append(batch, c)
		case <-stop:
			return
		}
	more:
		for len(batch) < 256 {
			select {
			case c := <-w.done:
				batch = append(batch, c)
			default:
				break more
			}
		}
		var ids []int64
		for _, c := range batch {
			ids = append(ids, c.ids...)
		}
		if err := w.q.EffectsDone(ctx, ids, w.now()); err != nil {
			w.log.Error("outbox: marking delivered", "ids", len(ids), "err", err)
		}
		for _, c := range batch {
			close(c.sent)
		}
	}
}

// Run delivers until ctx ends, then waits for deliveries in flight.
func (w *Worker) Run(ctx context.Context) {
	var wg sync.WaitGroup
	stop := make(chan struct{})
	flushed := make(chan struct{})
	w.mu.Lock()
	w.flushing = true
	w.mu.Unlock()
	go func() { w.flush(context.WithoutCancel(ctx), stop); close(flushed) }()
	renewed := make(chan struct{})
	go func() { w.renew(stop); close(renewed) }()
	defer func() {
		wg.Wait()
		close(stop)
		<-flushed
		<-renewed
		w.releaseLeases(context.WithoutCancel(ctx))
		w.mu.Lock()
		w.flushing = false
		w.mu.Unlock()
	}()
	sem := make(chan struct{}, max(1, w.Parallel))
	for {
		started, held := w.dispatch(ctx, &wg, sem)
		if ctx.Err() != nil {
			return
		}
		wait := w.Poll
		if !held.IsZero() {
			wait = min(wait, max(held.Sub(w.now()), time.Millisecond))
		}
		if started == 0 && held.IsZero() {
			if next, err := w.q.NextDue(ctx); err == nil && !next.IsZero() {
				wait = min(wait, max(next.Sub(w.now()), 10*time.Millisecond))
			}
		}
		// While a lane is held back, a wake (a command queued more) waits
		// for it: reading the queue at every command would cost what the
		// pace saves. Effects for a quiet lane wait at most Pace.
		wake := w.wake
		if !held.IsZero() {
			wake = nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-wake:
		case <-t.C:
			select {
			case <-w.wake: // the read about to happen covers it
			default:
			}
		}
		t.Stop()
	}
}

// dispatch starts a delivery for each due lane head not already in flight
// and not held back by its lane's pace. It returns how many it started and
// the earliest time a lane held back may deliver (zero if none was).
func (w *Worker) dispatch(ctx context.Context, wg *sync.WaitGroup, sem chan struct{}) (started int, held time.Time) {
	// The read and the claiming happen under the lock: a delivery marks its
	// row done before it releases its lane, so a row read here as pending
	// is either still pending or in a lane that is busy.
	w.mu.Lock()
	due, err := w.q.DueEffects(ctx, w.now(), 4*cap(sem))
	if err != nil {
		// The database is down: say so when it starts and every 30 s,
		// not at every poll.
		quiet := time.Since(w.readFailedAt) < 30*time.Second
		if !quiet {
			w.readFailedAt = time.Now()
		}
		w.mu.Unlock()
		if ctx.Err() == nil && !quiet {
			w.log.Error("outbox: reading due effects (said again every 30 s while it lasts)", "err", err)
		}
		return 0, time.Time{}
	}
	if !w.readFailedAt.IsZero() {
		w.readFailedAt = time.Time{}
		w.log.Info("outbox: reading due effects again")
	}
	now := w.now()
	for lane, at := range w.paced {
		if !now.Before(at) {
			delete(w.paced, lane)
		}
	}
	var claimed []incident.Effect
	for _, e := range due {
		lane := e.Lane()
		if w.busy[lane] {
			continue
		}
		if at, ok := w.paced[lane]; ok {
			if held.IsZero() || at.Before(held) {
				held = at
			}
			continue
		}
		w.busy[lane] = true
		claimed = append(claimed, e)
	}
	w.mu.Unlock()
	claimed = w.lease(ctx, claimed)
	for i, e := range claimed {
		lane := e.Lane()
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			for _, e := range claimed[i:] {
				w.release(e.Lane())
			}
			return started, held
		}
		started++
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			defer w.release(lane)
			w.deliver(context.WithoutCancel(ctx), e)
			w.pace(lane)
			w.Wake() // the lane's next effect may be due now
		}()
	}
	return started, held
}

func (w *Worker) release(lane string) {
	w.mu.Lock()
	delete(w.busy, lane)
	delete(w.leased, lane)
	w.mu.Unlock()
}

// pace holds lane back for Pace after a delivery.
func (w *Worker) pace(lane string) {
	if w.Pace <= 0 {
		return
	}
	w.mu.Lock()
	w.paced[lane] = w.now().Add(w.Pace)
	w.mu.Unlock()
}

// Drain delivers what is due until nothing is, or ctx ends: the shutdown
// flush. Effects waiting for a retry stay for the next start.
func (w *Worker) Drain(ctx context.Context) {
	for ctx.Err() == nil {
		due, err := w.q.DueEffects(ctx, w.now(), 64)
		if err != nil || len(due) == 0 {
			return
		}
		progressed := false
		for _, e := range due {
			w.mu.Lock()
			busy := w.busy[e.Lane()]
			w.mu.Unlock()
			if !busy && len(w.leaseLanes(ctx, []string{e.Lane()})) == 1 {
				w.deliver(ctx, e)
				progressed = true
				break // re-read: this lane's next effect may be due
			}
		}
		if !progressed {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// deliver makes one attempt at e and records the result.
func (w *Worker) deliver(ctx context.Context, e incident.Effect) {
	h, ok := w.handlers[e.Kind]
	now := w.now()
	if !ok {
		w.giveUp(ctx, e, h, incident.EffectFailed, e.Attempts, fmt.Errorf("no handler for %s: its integration is not configured", e.Kind))
		return
	}
	var behind []incident.Effect
	if h.Coalesce || h.Batch != nil {
		behind, _ = w.q.Behind(ctx, e, maxBehind)
	}
	var follow []int64
	actx, cancel := context.WithTimeout(ctx, w.Timeout)
	var err error
	if h.Batch != nil && len(behind) > 0 {
		var n int
		n, err = safelyBatch(actx, h.Batch, e, behind)
		behind = behind[:min(max(n, 0), len(behind))]
	} else {
		err = safely(actx, h.Deliver, e)
	}
	cancel()
	if h.Coalesce || h.Batch != nil {
		for _, b := range behind {
			follow = append(follow, b.ID)
		}
	}
	attempts := e.Attempts + 1
	lane := e.Lane()
	if err == nil {
		w.markDone(ctx, lane, append([]int64{e.ID}, follow...))
		w.mu.Lock()
		w.stats.Delivered++
		w.stats.Coalesced += len(follow)
		told := w.troubled[lane]
		delete(w.troubled, lane)
		w.mu.Unlock()
		if told && w.OnTrouble != nil {
			w.OnTrouble(ctx, e, nil, false)
		}
		return
	}
	if IsPermanent(err) {
		w.giveUp(ctx, e, h, incident.EffectFailed, attempts, err)
		return
	}
	if !e.NotAfter.IsZero() && !now.Before(e.NotAfter) {
		w.giveUp(ctx, e, h, incident.EffectExpired, attempts, err)
		return
	}
	delay := w.backoff(attempts)
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) && ra.RetryAfter() > 0 {
		delay = ra.RetryAfter() + time.Duration(rand.Int64N(int64(250*time.Millisecond)))
	}
	if !e.NotAfter.IsZero() && now.Add(delay).After(e.NotAfter) {
		delay = max(e.NotAfter.Sub(now), 0)
	}
	w.log.Warn("outbox: delivery failed; will retry", "id", e.ID, "kind", e.Kind, "incident", incident.Ref(e.Incident), "attempt", attempts, "retry_in", delay.Round(time.Millisecond), "err", err)
	if rerr := w.q.EffectRetry(ctx, e.ID, attempts, w.now().Add(delay), err.Error()); rerr != nil {
		w.log.Error("outbox: recording a retry", "id", e.ID, "err", rerr)
	}
	w.mu.Lock()
	w.stats.Retried++
	first := !w.troubled[lane]
	w.troubled[lane] = true
	w.mu.Unlock()
	if first && w.OnTrouble != nil {
		w.OnTrouble(ctx, e, err, true)
	}
}

// markDone records a delivery through the flusher when Run's is running,
// else (Drain) directly, and returns once it is recorded.
func (w *Worker) markDone(ctx context.Context, lane string, ids []int64) {
	w.mu.Lock()
	flushing := w.flushing
	w.mu.Unlock()
	if flushing {
		c := completion{lane: lane, ids: ids, sent: make(chan struct{})}
		w.done <- c
		<-c.sent
		return
	}
	if err := w.q.EffectsDone(ctx, ids, w.now()); err != nil {
		w.log.Error("outbox: marking delivered", "ids", ids, "err", err)
	}
}

func (w *Worker) giveUp(ctx context.Context, e incident.Effect, h Handler, state string, attempts int, err error) {
	w.log.Error("outbox: giving up", "id", e.ID, "kind", e.Kind, "incident", incident.Ref(e.Incident), "state", state, "attempts", attempts, "err", err)
	if gerr := w.q.EffectGiveUp(ctx, e.ID, state, attempts, err.Error(), w.now()); gerr != nil {
		w.log.Error("outbox: recording a failure", "id", e.ID, "err", gerr)
	}
	w.mu.Lock()
	if state == incident.EffectExpired {
		w.stats.Expired++
	} else {
		w.stats.Failed++
	}
	w.mu.Unlock()
	if h.GiveUp != nil {
		h.GiveUp(ctx, e, err)
	}
}

// backoff is the delay before attempt n+1: Backoff doubled per attempt up
// to MaxBackoff, with "equal jitter" (half fixed, half random), so many
// lanes failing together do not retry in step.
func (w *Worker) backoff(attempts int) time.Duration {
	d := w.Backoff
	for i := 1; i < attempts && d < w.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.MaxBackoff)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// maxBehind is the most queued effects one delivery may cover.
const maxBehind = 100

func safelyBatch(ctx context.Context, fn func(context.Context, incident.Effect, []incident.Effect) (int, error), e incident.Effect, behind []incident.Effect) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = 0, Permanent(fmt.Errorf("panic: %v", r))
		}
	}()
	return fn(ctx, e, behind)
}

func safely(ctx context.Context, fn func(context.Context, incident.Effect) error, e incident.Effect) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = Permanent(fmt.Errorf("panic: %v", r))
		}
	}()
	return fn(ctx, e)
}

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as one that retrying cannot fix (a 400, a missing
// channel): the effect is failed and shown as such.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

type retryAfter struct {
	err   error
	after time.Duration
}

func (r retryAfter) Error() string             { return r.err.Error() }
func (r retryAfter) Unwrap() error             { return r.err }
func (r retryAfter) RetryAfter() time.Duration { return r.after }

// RetryAfter marks err as a rate limit to retry after d.
func RetryAfter(err error, d time.Duration) error { return retryAfter{err, d} }

// lease keeps the effects whose lanes this replica holds a lease on (all
// of them when the queue is not shared) and frees the others' lanes.
func (w *Worker) lease(ctx context.Context, claimed []incident.Effect) []incident.Effect {
	if _, ok := w.q.(Leaser); !ok || len(claimed) == 0 {
		return claimed
	}
	// A lease with most of its time left is used as it is: a busy lane
	// would otherwise renew it at every delivery.
	now := w.now()
	held := map[string]bool{}
	var lanes []string
	w.mu.Lock()
	for _, e := range claimed {
		if until, ok := w.ours[e.Lane()]; ok && until.Sub(now) > 2*w.leaseTTL()/3 {
			held[e.Lane()] = true
		} else {
			lanes = append(lanes, e.Lane())
		}
	}
	w.mu.Unlock()
	if len(lanes) > 0 {
		for _, l := range w.leaseLanes(ctx, lanes) {
			held[l] = true
		}
	}
	kept := claimed[:0]
	for _, e := range claimed {
		lane := e.Lane()
		if held[lane] {
			w.mu.Lock()
			w.leased[lane] = true
			w.mu.Unlock()
			kept = append(kept, e)
			continue
		}
		// Another replica's, for now: ask again in a while, not at every
		// command (it is taken over when its lease ends, LeaseTTL).
		w.release(lane)
		w.mu.Lock()
		w.paced[lane] = now.Add(min(w.leaseTTL()/10, time.Second))
		w.mu.Unlock()
	}
	return kept
}

// leaseLanes claims lanes for this replica and returns those it holds.
func (w *Worker) leaseLanes(ctx context.Context, lanes []string) []string {
	l, ok := w.q.(Leaser)
	if !ok {
		return lanes
	}
	now := w.now()
	until := now.Add(w.leaseTTL())
	held, err := l.ClaimLanes(ctx, w.Owner, lanes, now, until)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Error("outbox: claiming lanes", "lanes", len(lanes), "err", err)
		}
		return nil
	}
	w.mu.Lock()
	for _, lane := range lanes {
		delete(w.ours, lane)
	}
	for _, lane := range held {
		w.ours[lane] = until
	}
	for lane, u := range w.ours {
		if !now.Before(u) {
			delete(w.ours, lane)
		}
	}
	w.mu.Unlock()
	return held
}

// renew extends the leases of the lanes in flight every LeaseTTL/3 until
// stop closes: a slow delivery keeps its lane.
func (w *Worker) renew(stop <-chan struct{}) {
	if _, ok := w.q.(Leaser); !ok {
		return
	}
	t := time.NewTicker(w.leaseTTL() / 3)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		w.mu.Lock()
		lanes := make([]string, 0, len(w.leased))
		for l := range w.leased {
			lanes = append(lanes, l)
		}
		w.mu.Unlock()
		if len(lanes) == 0 {
			continue
		}
		if held := w.leaseLanes(context.Background(), lanes); len(held) < len(lanes) {
			w.log.Warn("outbox: lost the lease on lanes in flight; another replica may deliver them again", "lanes", len(lanes)-len(held))
		}
	}
}

// releaseLeases hands this replica's lanes back at shutdown, so another
// takes them at once.
func (w *Worker) releaseLeases(ctx context.Context) {
	if l, ok := w.q.(Leaser); ok {
		w.mu.Lock()
		clear(w.ours)
		w.mu.Unlock()
		if err := l.ReleaseLanes(ctx, w.Owner); err != nil {
			w.log.Warn("outbox: releasing lanes", "err", err)
		}
	}
}

func (w *Worker) leaseTTL() time.Duration {
	if w.LeaseTTL <= 0 {
		return 10 * time.Second
	}
	return w.LeaseTTL
}

// defaultOwner names this process: host, process id and a random part, so
// a restarted replica does not inherit a lease it cannot know it had.
func defaultOwner() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%04x", host, os.Getpid(), rand.Uint32()&0xffff)
}
