package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/outbox"
	"github.com/warroom/warroom/store"
)

// open returns a database with n incidents declared, and the service over it.
func open(t *testing.T, path string, kinds ...string) (*store.DB, *incident.Service) {
	t.Helper()
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := incident.NewService(db, nil)
	svc.Enable(kinds...)
	return db, svc
}

// queue declares an incident whose declaration queues one effect per kind.
func queue(t *testing.T, svc *incident.Service, kinds ...string) *incident.Incident {
	t.Helper()
	cmd := incident.Command{Actor: "U1", Kind: "declare", Raw: "declare", Effects: func(_, after *incident.Incident, _ incident.Entry) []incident.Effect {
		var fx []incident.Effect
		for i, k := range kinds {
			fx = append(fx, incident.Effect{Kind: k, Payload: map[string]string{"i": fmt.Sprint(i)}})
		}
		return fx
	}}
	inc, err := svc.Declare(context.Background(), cmd, incident.Declaration{Title: "Checkout down", Severity: incident.SEV2, NamedCommander: true})
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

type recorder struct {
	mu   sync.Mutex
	got  []string
	fail map[string]int // kind -> failures left
	err  error
}

func (r *recorder) deliver(ctx context.Context, e incident.Effect) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail[e.Kind] > 0 {
		r.fail[e.Kind]--
		return r.err
	}
	r.got = append(r.got, fmt.Sprintf("%s#%s/%s", e.Kind, e.Payload["i"], incident.Ref(e.Incident)))
	return nil
}

func (r *recorder) delivered() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func run(t *testing.T, w *outbox.Worker) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func fast(w *outbox.Worker) {
	w.Backoff, w.MaxBackoff, w.Poll = 5*time.Millisecond, 40*time.Millisecond, 20*time.Millisecond
}

func TestLanesKeepOrderThroughRetriesAndAnOutageIsToldOnce(t *testing.T) {
	db, svc := open(t, filepath.Join(t.TempDir(), "w.db"), "slack.post", "vendor.call")
	rec := &recorder{fail: map[string]int{"vendor.call": 4}, err: errors.New("jira: 503 Service Unavailable")}
	w := outbox.New(db, nil, nil)
	fast(w)
	w.Handle("slack.post", outbox.Handler{Deliver: rec.deliver})
	w.Handle("vendor.call", outbox.Handler{Deliver: rec.deliver})
	var mu sync.Mutex
	var told []string
	w.OnTrouble = func(ctx context.Context, e incident.Effect, err error, first bool) {
		mu.Lock()
		defer mu.Unlock()
		told = append(told, fmt.Sprintf("%s %v", e.System(), first))
	}
	svc.OnEnqueue(w.Wake)
	stop := run(t, w)
	defer stop()

	a := queue(t, svc, "slack.post", "vendor.call", "slack.post", "slack.post")
	b := queue(t, svc, "slack.post")
	waitFor(t, "all delivered", func() bool { return len(rec.delivered()) == 5 })
	got := rec.delivered()
	var slackA []string
	for _, g := range got {
		if g[:5] == "slack" && g[len(g)-len(a.Ref()):] == a.Ref() {
			slackA = append(slackA, g)
		}
	}
	if want := []string{"slack.post#0/INC-1", "slack.post#2/INC-1", "slack.post#3/INC-1"}; !slices.Equal(slackA, want) {
		t.Fatalf("INC-1's posts arrived as %v, want %v", slackA, want)
	}
	if !slices.Contains(got, "slack.post#0/"+b.Ref()) || !slices.Contains(got, "vendor.call#1/INC-1") {
		t.Fatalf("delivered %v", got)
	}
	toldNow := func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(told) }
	waitFor(t, "the recovery to be told", func() bool { return len(toldNow()) >= 2 })
	if got := toldNow(); !slices.Equal(got, []string{"vendor true", "vendor false"}) {
		t.Fatalf("told %v, want one outage and one recovery", got)
	}
	waitFor(t, "the stats", func() bool { return w.Stats().Delivered == 5 })
	fx, _ := svc.Effects(context.Background(), incident.EffectFilter{Incident: a.Number})
	for _, e := range fx {
		if e.State != incident.EffectDone {
			t.Errorf("%s is %s", e.Kind, e.State)
		}
		if e.Kind == "vendor.call" && (e.Attempts != 5 || e.LastError != "") {
			t.Errorf("vendor.call attempts %d, last error %q", e.Attempts, e.LastError)
		}
	}
	if s := w.Stats(); s.Delivered != 5 || s.Retried != 4 {
		t.Fatalf("stats %+v", s)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	db, svc := open(t, filepath.Join(t.TempDir(), "w.db"), "page.send")
	var mu sync.Mutex
	var at []time.Time
	w := outbox.New(db, nil, nil)
	fast(w)
	w.Handle("page.send", outbox.Handler{Deliver: func(ctx context.Context, e incident.Effect) error {
		mu.Lock()
		defer mu.Unlock()
		at = append(at, time.Now())
		if len(at) == 1 {
			return outbox.RetryAfter(errors.New("429 Too Many Requests"), 300*time.Millisecond)
		}
		return nil
	}})
	svc.OnEnqueue(w.Wake)
	stop := run(t, w)
	defer stop()
	queue(t, svc, "page.send")
	waitFor(t, "the retry", func() bool { mu.Lock(); defer mu.Unlock(); return len(at) == 2 })
	if gap := at[1].Sub(at[0]); gap < 300*time.Millisecond {
		t.Fatalf("retried after %v; the vendor asked for 300ms", gap)
	}
}

func TestPermanentFailuresExpiryAndCoalescing(t *testing.T) {
	db, svc := open(t, filepath.Join(t.TempDir(), "w.db"), "slack.post", "slack.refresh", "oncall.lookup")
	w := outbox.New(db, nil, nil)
	fast(w)
	var mu sync.Mutex
	var gaveUp []string
	refreshes := 0
	w.Handle("slack.post", outbox.Handler{Deliver: func(ctx context.Context, e incident.Effect) error {
		return outbox.Permanent(errors.New("channel_not_found"))
	}, GiveUp: func(ctx context.Context, e incident.Effect, err error) {
		mu.Lock()
		defer mu.Unlock()
		gaveUp = append(gaveUp, e.Kind+": "+err.Error())
	}})
	w.Handle("slack.refresh", outbox.Handler{Coalesce: true, Deliver: func(ctx context.Context, e incident.Effect) error {
		mu.Lock()
		defer mu.Unlock()
		refreshes++
		return nil
	}})
	w.Handle("oncall.lookup", outbox.Handler{Deliver: func(ctx context.Context, e incident.Effect) error {
		return errors.New("dial tcp: connection refused")
	}, GiveUp: func(ctx context.Context, e incident.Effect, err error) {
		mu.Lock()
		defer mu.Unlock()
		gaveUp = append(gaveUp, e.Kind+": "+err.Error())
	}})
	// The refreshes are queued before the worker starts, so they coalesce.
	inc := queue(t, svc, "slack.refresh", "slack.refresh", "slack.refresh", "slack.post")
	ctx := context.Background()
	cmd := incident.Command{Actor: "U1", Kind: "note", Raw: "note", Effects: func(_, _ *incident.Incident, e incident.Entry) []incident.Effect {
		return []incident.Effect{{Kind: "oncall.lookup", NotAfter: e.At.Add(150 * time.Millisecond)}}
	}}
	if _, err := svc.Note(ctx, inc.Number, cmd, "x"); err != nil {
		t.Fatal(err)
	}
	svc.OnEnqueue(w.Wake)
	stop := run(t, w)
	defer stop()
	waitFor(t, "both given up", func() bool { mu.Lock(); defer mu.Unlock(); return len(gaveUp) == 2 })
	mu.Lock()
	slices.Sort(gaveUp)
	got, n := slices.Clone(gaveUp), refreshes
	mu.Unlock()
	if n != 1 || got[0] != "oncall.lookup: dial tcp: connection refused" || got[1] != "slack.post: channel_not_found" {
		t.Fatalf("refreshes %d, gave up %v", n, got)
	}
	// The refreshes' delivery is marked by the flusher, which may still be
	// at it when the give-ups are heard.
	states := map[string]string{}
	waitFor(t, "the refreshes marked done", func() bool {
		clear(states)
		fx, _ := svc.Effects(ctx, incident.EffectFilter{Incident: inc.Number})
		for _, e := range fx {
			states[e.Kind] += e.State + " "
		}
		return states["slack.refresh"] == "done done done "
	})
	if states["slack.refresh"] != "done done done " || states["slack.post"] != "failed " || states["oncall.lookup"] != "expired " {
		t.Fatalf("states %v", states)
	}
}

func TestARestartResumesDelivery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.db")
	db, svc := open(t, path, "vendor.call")
	rec := &recorder{fail: map[string]int{"vendor.call": 1 << 30}, err: errors.New("timeout")}
	w := outbox.New(db, nil, nil)
	fast(w)
	w.Handle("vendor.call", outbox.Handler{Deliver: rec.deliver})
	stop := run(t, w)
	queue(t, svc, "vendor.call")
	queue(t, svc, "vendor.call")
	w.Wake()
	waitFor(t, "a failed attempt", func() bool { return w.Stats().Retried >= 2 })
	stop()
	db.Close()

	// The next process finds the rows and delivers them once.
	db2, _ := open(t, path)
	rec2 := &recorder{}
	w2 := outbox.New(db2, nil, nil)
	fast(w2)
	w2.Handle("vendor.call", outbox.Handler{Deliver: rec2.deliver})
	stop2 := run(t, w2)
	defer stop2()
	waitFor(t, "delivery after the restart", func() bool { return len(rec2.delivered()) == 2 })
	time.Sleep(100 * time.Millisecond)
	if got := rec2.delivered(); !slices.Equal(got, []string{"vendor.call#0/INC-1", "vendor.call#0/INC-2"}) && !slices.Equal(got, []string{"vendor.call#0/INC-2", "vendor.call#0/INC-1"}) {
		t.Fatalf("after restart delivered %v", got)
	}
}

// BenchmarkDeliver measures how fast the worker drains the outbox with a
// handler that does nothing: the cost of the bookkeeping (read the lane
// heads, mark each row done, one SQLite write per effect) against a real
// file. b.N effects are spread over 50 incidents' lanes.
func BenchmarkDeliver(b *testing.B) {
	db, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "b.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	svc := incident.NewService(db, nil)
	svc.Enable("slack.post")
	var incs []*incident.Incident
	for i := 0; i < 50; i++ {
		inc, _ := svc.Declare(context.Background(), incident.Command{Actor: "U1", Kind: "declare"}, incident.Declaration{Title: "x", Severity: incident.SEV3, NamedCommander: true})
		incs = append(incs, inc)
	}
	post := incident.Command{Actor: "U1", Kind: "note", Effects: func(_, _ *incident.Incident, _ incident.Entry) []incident.Effect {
		return []incident.Effect{{Kind: "slack.post"}}
	}}
	for i := 0; i < b.N; i++ {
		if _, err := svc.Note(context.Background(), incs[i%len(incs)].Number, post, "n"); err != nil {
			b.Fatal(err)
		}
	}
	var mu sync.Mutex
	done := 0
	w := outbox.New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	w.Handle("slack.post", outbox.Handler{Deliver: func(context.Context, incident.Effect) error { mu.Lock(); done++; mu.Unlock(); return nil }})
	b.ResetTimer()
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	go func() { w.Run(ctx); close(finished) }()
	for {
		mu.Lock()
		n := done
		mu.Unlock()
		if n >= b.N {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	cancel()
	<-finished
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "effects/s")
}
