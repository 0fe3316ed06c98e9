package statuspage_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/statuspage"
	"github.com/warroom/warroom/store"
)

type fixture struct {
	svc  *incident.Service
	page *statuspage.Page
	now  *time.Time
}

// setup makes three incidents: one active and published, one resolved and
// published, one never published (internal only).
func setup(t testing.TB) fixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	svc := incident.NewService(db, clock)
	c := func(kind string) incident.Command { return incident.Command{Actor: "U1", Kind: kind} }

	old, _ := svc.Declare(ctx, c("declare"), incident.Declaration{Title: "Login failures", Severity: incident.SEV2})
	svc.SetComponents(ctx, old.Number, c("components"), map[string]incident.ComponentStatus{"Login": incident.MajorOutage})
	svc.Publish(ctx, old.Number, c("update"), incident.Publication{Status: incident.StatusInvestigating, Body: "We are investigating failed logins.\n\nNext update by 11:00 UTC."})
	now = now.Add(40 * time.Minute)
	svc.Publish(ctx, old.Number, c("update"), incident.Publication{Status: incident.StatusResolved, Body: "We're sorry. Logins work again."})

	now = now.Add(2 * time.Hour)
	active, _ := svc.Declare(ctx, c("declare"), incident.Declaration{Title: "Checkout returns 500s", Severity: incident.SEV1})
	svc.SetComponents(ctx, active.Number, c("components"), map[string]incident.ComponentStatus{"checkout": incident.PartialOutage})
	svc.Note(ctx, active.Number, c("note"), "SECRET internal: db password rotated")
	svc.Publish(ctx, active.Number, c("update"), incident.Publication{Status: incident.StatusIdentified, Body: "We have identified the cause of failed payments.\n\nNext update by 13:10 UTC."})

	internal, _ := svc.Declare(ctx, c("declare"), incident.Declaration{Title: "PRIVATE-ONLY drill", Severity: incident.SEV3})
	svc.Note(ctx, internal.Number, c("note"), "nobody outside should see this")
	now = now.Add(5 * time.Minute)
	page := statuspage.New(svc, statuspage.Config{Title: "Acme status", URL: "https://status.example.com", Contact: "Write to support@example.com.",
		Components: []string{"Checkout", "Login", "API"}, Now: clock})
	return fixture{svc: svc, page: page, now: &now}
}

func get(t *testing.T, h http.Handler, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Result(), rec.Body.String()
}

func TestPageShowsOnlyWhatWasPublished(t *testing.T) {
	f := setup(t)
	resp, html := get(t, f.page, "/")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{`<html lang="en">`, "Major System Outage", "Active incidents", "Checkout returns 500s",
		"We have identified the cause of failed payments.", "Login failures", "We&#39;re sorry. Logins work again.",
		"Partial outage", "Write to support@example.com.", "5 minutes ago", "Past incidents (90 days)"} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, leak := range []string{"SECRET", "PRIVATE-ONLY", "nobody outside", "U1"} {
		for _, path := range []string{"/", "/api/v2/summary.json", "/api/v2/incidents.json", "/history.atom"} {
			if _, body := get(t, f.page, path); strings.Contains(body, leak) {
				t.Errorf("%s leaks %q", path, leak)
			}
		}
	}
	if strings.Contains(html, "<script") || strings.Contains(html, "http://") || strings.Contains(html, "https://fonts") {
		t.Error("the page loads scripts or external assets")
	}
	if len(html) > 50*1024 {
		t.Errorf("page weighs %d bytes; the budget is 50 KB", len(html))
	}
	if resp, _ := get(t, f.page, "/admin"); resp.StatusCode != 404 {
		t.Errorf("/admin: %d", resp.StatusCode)
	}
}

// The field names of Statuspage's public API v2, from its documentation.
var statuspageFields = map[string][]string{
	"page":            {"id", "name", "url", "time_zone", "updated_at"},
	"status":          {"indicator", "description"},
	"component":       {"id", "name", "status", "created_at", "updated_at", "position", "description", "showcase", "start_date", "group_id", "page_id", "group", "only_show_if_degraded"},
	"incident":        {"id", "name", "status", "created_at", "updated_at", "monitoring_at", "resolved_at", "impact", "shortlink", "started_at", "page_id", "incident_updates", "components"},
	"incident_update": {"id", "status", "body", "incident_id", "created_at", "updated_at", "display_at", "affected_components", "deliver_notifications", "custom_tweet", "tweet_id"},
	"summary":         {"page", "components", "incidents", "scheduled_maintenances", "status"},
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sameFields(t *testing.T, what string, m map[string]any) {
	t.Helper()
	want := append([]string(nil), statuspageFields[what]...)
	sort.Strings(want)
	if got := keys(m); !reflect.DeepEqual(got, want) {
		t.Errorf("%s fields:\n got %v\nwant %v", what, got, want)
	}
}

func TestSummaryHasStatuspagesShape(t *testing.T) {
	f := setup(t)
	_, body := get(t, f.page, "/api/v2/summary.json")
	var s map[string]any
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	sameFields(t, "summary", s)
	sameFields(t, "page", s["page"].(map[string]any))
	sameFields(t, "status", s["status"].(map[string]any))
	comps := s["components"].([]any)
	if len(comps) != 3 {
		t.Fatalf("components: %v", comps)
	}
	for _, c := range comps {
		sameFields(t, "component", c.(map[string]any))
	}
	incs := s["incidents"].([]any)
	if len(incs) != 1 {
		t.Fatalf("summary lists unresolved incidents only: %d", len(incs))
	}
	inc := incs[0].(map[string]any)
	sameFields(t, "incident", inc)
	ups := inc["incident_updates"].([]any)
	sameFields(t, "incident_update", ups[0].(map[string]any))
	if inc["status"] != "identified" || inc["impact"] != "critical" || ups[0].(map[string]any)["body"] != "We have identified the cause of failed payments.\n\nNext update by 13:10 UTC." {
		t.Errorf("incident: %v", inc)
	}
	st := s["status"].(map[string]any)
	// One rule for the banner and the JSON: the SEV1's critical impact is
	// worse than its partially out component.
	if st["indicator"] != "critical" || st["description"] != "Major System Outage" {
		t.Errorf("status: %v", st)
	}
	byName := map[string]string{}
	for _, c := range comps {
		byName[c.(map[string]any)["name"].(string)] = c.(map[string]any)["status"].(string)
	}
	if byName["Checkout"] != "partial_outage" || byName["Login"] != "operational" || byName["API"] != "operational" {
		t.Errorf("component statuses: %v", byName)
	}
	_, body = get(t, f.page, "/api/v2/incidents.json")
	var all statuspage.Incidents
	json.Unmarshal([]byte(body), &all)
	if len(all.Incidents) != 2 {
		t.Errorf("incidents.json lists %d; want the active and the resolved one", len(all.Incidents))
	}
}

// newService opens a fresh SQLite store with a service over it (now may be nil).
func newService(t testing.TB, now func() time.Time) *incident.Service {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return incident.NewService(db, now)
}

// TestPageShowsThePublishedRecord: the internal title, components set
// after a publish and a severity change stay off every public surface until
// a communicator publishes them, and then go out as published.
func TestPageShowsThePublishedRecord(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	svc := newService(t, func() time.Time { return now })
	c := func(kind string) incident.Command { return incident.Command{Actor: "U1", Kind: kind} }
	page := statuspage.New(svc, statuspage.Config{Title: "Acme", Now: func() time.Time { return now }})
	surfaces := func() string {
		var all strings.Builder
		for _, p := range statuspage.Paths {
			_, body := get(t, page, "/"+p)
			if p == "index.html" { // the page's own stylesheet names every status
				body = body[strings.Index(body, "</style>"):]
			}
			all.WriteString(body)
		}
		return all.String()
	}
	inc, _ := svc.Declare(ctx, c("declare"), incident.Declaration{Title: "Payments down: bob ran DROP TABLE on prod-db-7 (10.0.3.7)", Severity: incident.SEV2})
	svc.SetComponents(ctx, inc.Number, c("components"), map[string]incident.ComponentStatus{"Payments": incident.PartialOutage})
	if _, _, err := svc.Publish(ctx, inc.Number, c("update"), incident.Publication{Status: incident.StatusInvestigating, Title: "Card payments failing",
		Body: "We are investigating failed card payments.\n\nNext update by 11:00 UTC."}); err != nil {
		t.Fatal(err)
	}
	// After the publish: worse components, a new one, a worse severity.
	svc.SetComponents(ctx, inc.Number, c("components"), map[string]incident.ComponentStatus{"Payments": incident.MajorOutage, "API": incident.DegradedPerformance})
	svc.SetSeverity(ctx, inc.Number, c("severity"), incident.SEV1)
	all := surfaces()
	for _, leak := range []string{"DROP TABLE", "10.0.3.7", "prod-db-7", "bob", "API", "major_outage", "critical"} {
		if strings.Contains(all, leak) {
			t.Errorf("a public surface shows %q before it was published", leak)
		}
	}
	s, _ := page.Snapshot(ctx)
	if len(s.Active) != 1 || s.Active[0].Name != "Card payments failing" || s.Active[0].Impact != "major" || s.Indicator != "major" ||
		s.Active[0].Components["Payments"] != incident.PartialOutage {
		t.Fatalf("before the second publish: %+v, indicator %s", s.Active, s.Indicator)
	}
	// Publishing takes them public, as of that publish.
	now = now.Add(20 * time.Minute)
	svc.Publish(ctx, inc.Number, c("update"), incident.Publication{Status: incident.StatusIdentified, Body: "We have identified the cause.\n\nNext update by 11:00 UTC."})
	s, _ = page.Snapshot(ctx)
	if s.Active[0].Name != "Card payments failing" || s.Active[0].Impact != "critical" || s.Indicator != "critical" ||
		s.Active[0].Components["API"] != incident.DegradedPerformance || s.Active[0].Components["Payments"] != incident.MajorOutage {
		t.Errorf("after the second publish: %+v, indicator %s", s.Active[0], s.Indicator)
	}
	_, body := get(t, page, "/api/v2/incidents.json")
	var out statuspage.Incidents
	json.Unmarshal([]byte(body), &out)
	ups := out.Incidents[0].IncidentUpdates
	if len(ups) != 2 || len(ups[1].AffectedComponents) != 1 || len(ups[0].AffectedComponents) != 2 {
		t.Fatalf("each update lists the components it carried: %+v", ups)
	}
	for _, a := range ups[0].AffectedComponents {
		if a.Name == "Payments" && (a.OldStatus != "partial_outage" || a.NewStatus != "major_outage") {
			t.Errorf("Payments went %s -> %s; want partial_outage -> major_outage", a.OldStatus, a.NewStatus)
		}
		if a.Name == "API" && (a.OldStatus != "operational" || a.NewStatus != "degraded_performance") {
			t.Errorf("API, new in the update, went %s -> %s; want operational -> degraded_performance", a.OldStatus, a.NewStatus)
		}
	}
	if first := ups[1].AffectedComponents[0]; first.OldStatus != "operational" {
		t.Errorf("the first update's Payments came from %s, not operational", first.OldStatus)
	}
}

// TestPublishedIncidentsAreNeverCrowdedOut: 250 newer incidents nobody
// published do not push an active published SEV1 off the page.
func TestPublishedIncidentsAreNeverCrowdedOut(t *testing.T) {
	ctx := context.Background()
	svc := newService(t, nil)
	c := func(kind string) incident.Command { return incident.Command{Actor: "U1", Kind: kind} }
	inc, _ := svc.Declare(ctx, c("declare"), incident.Declaration{Title: "Checkout down", Severity: incident.SEV1})
	svc.Publish(ctx, inc.Number, c("update"), incident.Publication{Status: incident.StatusInvestigating, Body: "We are investigating.\nNext update by 12:00 UTC."})
	for i := 0; i < 250; i++ {
		svc.Declare(ctx, incident.Command{Actor: "U9", Kind: "declare"}, incident.Declaration{Title: fmt.Sprintf("flood %d", i), Severity: incident.SEV4})
	}
	page := statuspage.New(svc, statuspage.Config{})
	_, html := get(t, page, "/")
	if !strings.Contains(html, "Checkout down") || strings.Contains(html, "All Systems Operational") || strings.Contains(html, "flood") {
		t.Errorf("the flood changed the page: %.400s", html)
	}
}

// TestOneRuleForTheBanner: a SEV1 with no components is a major outage on
// the page and critical in the JSON, not "minor" in one and "critical" in
// the other.
func TestOneRuleForTheBanner(t *testing.T) {
	ctx := context.Background()
	svc := newService(t, nil)
	c := func(kind string) incident.Command { return incident.Command{Actor: "U1", Kind: kind} }
	inc, _ := svc.Declare(ctx, c("declare"), incident.Declaration{Title: "Everything down", Severity: incident.SEV1})
	svc.Publish(ctx, inc.Number, c("update"), incident.Publication{Status: incident.StatusInvestigating, Body: "We are investigating.\nNext update by 12:00 UTC."})
	page := statuspage.New(svc, statuspage.Config{})
	_, html := get(t, page, "/")
	_, body := get(t, page, "/api/v2/summary.json")
	var s statuspage.Summary
	json.Unmarshal([]byte(body), &s)
	if !strings.Contains(html, "Major System Outage") || s.Status.Indicator != "critical" || s.Status.Description != "Major System Outage" || s.Incidents[0].Impact != "critical" {
		t.Errorf("banner %q, JSON %+v", html[strings.Index(html, "<body"):][:300], s.Status)
	}
}

func TestAtomFeedParses(t *testing.T) {
	f := setup(t)
	_, body := get(t, f.page, "/history.atom")
	feed, err := gofeed.NewParser().ParseString(body)
	if err != nil {
		t.Fatal(err)
	}
	if feed.FeedType != "atom" || len(feed.Items) != 3 {
		t.Fatalf("feed %s with %d items", feed.FeedType, len(feed.Items))
	}
	first := feed.Items[0]
	if first.Title != "Checkout returns 500s: identified" || !strings.Contains(first.Content, "We have identified the cause") {
		t.Errorf("newest item: %q %q", first.Title, first.Content)
	}
}

func TestExport(t *testing.T) {
	f := setup(t)
	dir := t.TempDir()
	if err := f.page.Export(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"index.html", "history.atom", "api/v2/summary.json", "api/v2/incidents.json"} {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestEmptyPage(t *testing.T) {
	db, _ := store.Open(context.Background(), filepath.Join(t.TempDir(), "e.db"))
	defer db.Close()
	page := statuspage.New(incident.NewService(db, nil), statuspage.Config{})
	_, html := get(t, page, "/")
	if !strings.Contains(html, "All Systems Operational") || !strings.Contains(html, "No incidents in the last 90 days.") {
		t.Errorf("empty page: %s", html)
	}
}

func BenchmarkRender(b *testing.B) {
	f := setup(b)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		f.page.ServeHTTP(rec, req)
	}
}

// many makes a page whose history holds n published, resolved incidents.
func many(b testing.TB, n int) *statuspage.Page {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "w.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	svc := incident.NewService(db, func() time.Time { return now })
	c := func(kind string) incident.Command { return incident.Command{Actor: "U1", Kind: kind} }
	for i := 0; i < n; i++ {
		inc, _ := svc.Declare(ctx, c("declare"), incident.Declaration{Title: "Incident number " + strings.Repeat("x", i%20), Severity: incident.SEV3})
		svc.Publish(ctx, inc.Number, c("update"), incident.Publication{Status: incident.StatusInvestigating, Body: "We are investigating.\nNext update by 12:00 UTC."})
		svc.Publish(ctx, inc.Number, c("update"), incident.Publication{Status: incident.StatusResolved, Body: "We're sorry. Resolved."})
	}
	return statuspage.New(svc, statuspage.Config{Now: func() time.Time { return now }})
}

// TestPageStaysSmall: 200 past incidents (the most one render reads) keep
// the HTML under the 50 KB budget; the JSON still lists them all.
func TestPageStaysSmall(t *testing.T) {
	page := many(t, 200)
	_, html := get(t, page, "/")
	if len(html) > 50*1024 {
		t.Errorf("the page weighs %d KB", len(html)/1024)
	}
	if !strings.Contains(html, "160 older incidents are in the") {
		t.Error("the page does not say where the older incidents are")
	}
	_, body := get(t, page, "/api/v2/incidents.json")
	var all statuspage.Incidents
	json.Unmarshal([]byte(body), &all)
	if len(all.Incidents) != 200 {
		t.Errorf("incidents.json lists %d of 200", len(all.Incidents))
	}
}

// BenchmarkRender200 renders a page whose history holds 200 published
// incidents: the most one render reads.
func BenchmarkRender200(b *testing.B) {
	page := many(b, 200)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	rec := httptest.NewRecorder()
	page.ServeHTTP(rec, req)
	size := rec.Body.Len()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		page.ServeHTTP(httptest.NewRecorder(), req)
	}
	b.ReportMetric(float64(size)/1024, "page-KB")
}

// downSource is a store that can stop answering.
type downSource struct {
	statuspage.Source
	down bool
}

func (d *downSource) PublishedIncidents(ctx context.Context, since time.Time, limit int) ([]int64, error) {
	if d.down {
		return nil, errors.New("connection refused")
	}
	return d.Source.PublishedIncidents(ctx, since, limit)
}

// TestPageOutlivesTheDatabase: while the database cannot be read, the page
// serves what it last rendered instead of an error; a path never rendered
// gets 503.
func TestPageOutlivesTheDatabase(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	svc := newService(t, func() time.Time { return now })
	inc, err := svc.Declare(ctx, incident.Command{Actor: "U1", Kind: "declare"}, incident.Declaration{Title: "Payments down", Severity: incident.SEV1})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Publish(ctx, inc.Number, incident.Command{Actor: "U1", Kind: "update"}, incident.Publication{Status: incident.StatusInvestigating, Title: "Card payments failing", Body: "We are investigating."}); err != nil {
		t.Fatal(err)
	}
	src := &downSource{Source: svc}
	page := statuspage.New(src, statuspage.Config{Title: "Acme", Now: func() time.Time { return now }})
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		page.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code, rec.Body.String()
	}
	code, before := get("/")
	if code != 200 || !strings.Contains(before, "Card payments failing") {
		t.Fatalf("up: %d %q", code, before)
	}
	src.down = true
	if code, during := get("/"); code != 200 || during != before {
		t.Errorf("database down: %d; want the page as last rendered", code)
	}
	if code, _ := get("/api/v2/summary.json"); code != http.StatusServiceUnavailable {
		t.Errorf("a path never rendered, database down: %d; want 503", code)
	}
}
