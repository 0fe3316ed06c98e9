package statuspage_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/outbox"
	"github.com/warroom/warroom/statuspage"
)

type memRefs struct {
	mu sync.Mutex
	m  map[int64]string
}

func (r *memRefs) ExternalRef(_ context.Context, n int64, _ string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[n], nil
}

func (r *memRefs) SetExternalRef(_ context.Context, n int64, _, ref string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[n] = ref
	return nil
}

type call struct {
	at     time.Time
	method string
	path   string
	auth   string
	ctype  string
	body   map[string]any
}

// fakeStatuspage answers like Statuspage's API v1 and records every
// request; the first PATCH is throttled with 429 and Retry-After.
func fakeStatuspage(t *testing.T) (*httptest.Server, func() []call) {
	var mu sync.Mutex
	var calls []call
	throttled := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c := call{at: time.Now(), method: r.Method, path: r.URL.Path, auth: r.Header.Get("Authorization"), ctype: r.Header.Get("Content-Type")}
		json.Unmarshal(b, &c.body)
		mu.Lock()
		calls = append(calls, c)
		first429 := !throttled && r.Method == http.MethodPatch
		if first429 {
			throttled = true
		}
		mu.Unlock()
		switch {
		case r.Header.Get("Authorization") != "OAuth k3y":
			w.WriteHeader(401)
		case first429:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
		case r.Method == http.MethodGet && r.URL.Path == "/v1/pages/pg1/components":
			io.WriteString(w, `[{"id":"cmpCheckout","name":"Checkout","status":"operational"},{"id":"cmpLogin","name":"Login","status":"operational"}]`)
		case r.Method == http.MethodPost && r.URL.Path == "/v1/pages/pg1/incidents":
			io.WriteString(w, `{"id":"spInc42","name":"x"}`)
		case r.Method == http.MethodPatch && r.URL.Path == "/v1/pages/pg1/incidents/spInc42":
			io.WriteString(w, `{"id":"spInc42"}`)
		default:
			w.WriteHeader(404)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []call {
		mu.Lock()
		defer mu.Unlock()
		return append([]call(nil), calls...)
	}
}

func TestAtlassianPublisher(t *testing.T) {
	srv, calls := fakeStatuspage(t)
	refs := &memRefs{m: map[int64]string{}}
	pub := statuspage.NewAtlassian(statuspage.AtlassianConfig{BaseURL: srv.URL, PageID: "pg1", APIKey: "k3y",
		Components: map[string]string{"payments": "cmpPayments"}, Interval: 100 * time.Millisecond}, refs)
	ctx := context.Background()
	comps := map[string]incident.ComponentStatus{"checkout": incident.PartialOutage, "payments": incident.MajorOutage}
	deliver(t, pub, statuspage.Publication{Number: 7, Name: "Checkout returns 500s", Impact: "critical", Components: comps,
		Update: incident.PublicUpdate{Status: incident.StatusInvestigating, Body: "We are investigating."}})
	deliver(t, pub, statuspage.Publication{Number: 7, Name: "Checkout returns 500s", Impact: "critical", Components: comps,
		Update: incident.PublicUpdate{Status: incident.StatusResolved, Body: "Resolved."}})
	_ = ctx
	got := calls()
	want := []struct{ method, path string }{
		{"GET", "/v1/pages/pg1/components"},
		{"POST", "/v1/pages/pg1/incidents"},
		{"PATCH", "/v1/pages/pg1/incidents/spInc42"}, // throttled
		{"PATCH", "/v1/pages/pg1/incidents/spInc42"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d requests: %+v", len(got), got)
	}
	for i, w := range want {
		c := got[i]
		if c.method != w.method || c.path != w.path || c.auth != "OAuth k3y" {
			t.Errorf("request %d: %s %s auth %q, want %s %s", i, c.method, c.path, c.auth, w.method, w.path)
		}
		if i > 0 && c.at.Sub(got[i-1].at) < 90*time.Millisecond {
			t.Errorf("request %d came %v after the previous; the limit is one per interval", i, c.at.Sub(got[i-1].at))
		}
	}
	if gap := got[3].at.Sub(got[2].at); gap < 900*time.Millisecond {
		t.Errorf("retried %v after a 429 with Retry-After: 1", gap)
	}
	create := got[1].body["incident"].(map[string]any)
	if create["name"] != "Checkout returns 500s" || create["status"] != "investigating" || create["body"] != "We are investigating." ||
		create["impact_override"] != "critical" || create["deliver_notifications"] != true || got[1].ctype != "application/json" {
		t.Errorf("create body: %v", create)
	}
	cs := create["components"].(map[string]any)
	if cs["cmpCheckout"] != "partial_outage" || cs["cmpPayments"] != "major_outage" || len(create["component_ids"].([]any)) != 2 {
		t.Errorf("create components: %v %v", cs, create["component_ids"])
	}
	update := got[3].body["incident"].(map[string]any)
	// Each update carries the name and impact it was published with.
	if update["name"] != "Checkout returns 500s" || update["impact_override"] != "critical" || update["status"] != "resolved" || update["body"] != "Resolved." {
		t.Errorf("update body: %v", update)
	}
	if us := update["components"].(map[string]any); us["cmpCheckout"] != "operational" {
		t.Errorf("resolving sets components operational: %v", us)
	}
	if refs.m[7] != "spInc42" {
		t.Errorf("the Statuspage incident id was not kept: %v", refs.m)
	}
}

func TestAtlassianRetriesOutages(t *testing.T) {
	var mu sync.Mutex
	fails := 2
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		n++
		if fails > 0 {
			fails--
			w.WriteHeader(503)
			return
		}
		io.WriteString(w, `{"id":"sp1"}`)
	}))
	defer srv.Close()
	refs := &memRefs{m: map[int64]string{}}
	pub := statuspage.NewAtlassian(statuspage.AtlassianConfig{BaseURL: srv.URL, PageID: "p", APIKey: "k", Interval: 10 * time.Millisecond}, refs)
	deliver(t, pub, statuspage.Publication{Number: 1, Name: "x", Update: incident.PublicUpdate{Status: incident.StatusInvestigating, Body: "b"}})
	mu.Lock()
	defer mu.Unlock()
	if n != 3 {
		t.Errorf("%d requests; want 2 failures then success", n)
	}
}

// deliver calls Deliver as the outbox would: again after a retryable
// error, after the Retry-After when one was given.
func deliver(t *testing.T, pub *statuspage.Atlassian, p statuspage.Publication) {
	t.Helper()
	for attempt := 0; attempt < 10; attempt++ {
		err := pub.Deliver(context.Background(), p)
		if err == nil {
			return
		}
		if outbox.IsPermanent(err) {
			t.Fatalf("refused: %v", err)
		}
		var ra interface{ RetryAfter() time.Duration }
		if errors.As(err, &ra) {
			time.Sleep(ra.RetryAfter())
		}
	}
	t.Fatal("not delivered after 10 attempts")
}
