package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/report"
	"github.com/warroom/warroom/store"
)

// seeded is a database spanning five months, written through the service
// with a clock moved to each moment, as it would have happened.
type seeded struct {
	db    *store.DB
	path  string
	svc   *incident.Service
	clock *time.Time
}

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func seed(t *testing.T) *seeded {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "warroom.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := day("2026-06-01 10:00")
	s := &seeded{db: db, path: path, clock: &now}
	s.svc = incident.NewService(db, func() time.Time { return *s.clock })
	declare := func(at, title string, sev incident.Severity, service string) int64 {
		now = day(at)
		inc, err := s.svc.Declare(ctx, incident.Command{Actor: "U1", Kind: "declare"}, incident.Declaration{Title: title, Severity: sev, Service: service})
		if err != nil {
			t.Fatal(err)
		}
		return inc.Number
	}
	add := func(at string, n int64, text, owner string, p incident.Priority) int64 {
		now = day(at)
		a, err := s.svc.AddAction(ctx, n, incident.Command{Actor: "U1"}, incident.NewAction{Text: text, Owner: owner, Priority: p})
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	done := func(at string, id int64) {
		now = day(at)
		if _, err := s.svc.CompleteAction(ctx, 0, incident.Command{Actor: "U2"}, id); err != nil {
			t.Fatal(err)
		}
	}
	resolve := func(at string, n int64) {
		now = day(at)
		if _, err := s.svc.Resolve(ctx, n, incident.Command{Actor: "U1", Kind: "resolve"}, ""); err != nil {
			t.Fatal(err)
		}
	}
	old := declare("2026-06-01 10:00", "queue stuck", incident.SEV3, "")          // Q2: in neither quarter
	add("2026-06-01 11:00", old, "drain tool", "", incident.P2)                   // AI-1: open, overdue
	q3 := declare("2026-08-03 10:00", "payments 500s", incident.SEV2, "payments") // Q3
	resolve("2026-08-03 12:00", q3)
	a2 := add("2026-08-03 13:00", q3, "pool alert", "U2", incident.P1) // AI-2
	a3 := add("2026-08-03 13:01", q3, "load test", "U3", incident.P2)  // AI-3
	add("2026-08-03 13:02", q3, "runbook", "U3", incident.P3)          // AI-4: open, late
	done("2026-08-10 09:00", a2)                                       // in time
	done("2026-09-20 09:00", a3)                                       // late
	q4 := declare("2026-10-05 10:00", "card auth down", incident.SEV1, "payments")
	resolve("2026-10-05 12:00", q4)
	a5 := add("2026-10-05 13:00", q4, "failover drill", "U2", incident.P1) // AI-5
	add("2026-10-05 13:01", q4, "retry budget", "U2", incident.P1)         // AI-6: open, overdue since 10-12
	done("2026-10-20 09:00", a5)
	wk := declare("2026-11-17 10:00", "search slow", incident.SEV3, "search")
	now = day("2026-11-17 10:05")
	if _, err := s.svc.SetComponents(ctx, wk, incident.Command{Actor: "U1", Kind: "components"}, map[string]incident.ComponentStatus{"checkout": incident.PartialOutage}); err != nil {
		t.Fatal(err)
	}
	resolve("2026-11-17 10:45", wk)
	add("2026-11-18 09:00", wk, "index | shard plan", "U3", incident.P1) // AI-7: due 11-25, pending
	a8 := add("2026-11-18 09:01", wk, "cache warmup", "U2", incident.P3) // AI-8
	done("2026-11-20 09:00", a8)
	now = day("2026-11-23 09:00")
	return s
}

func TestWeeklyReport(t *testing.T) {
	ctx := context.Background()
	s := seed(t)
	in, err := report.Gather(ctx, s.svc, *s.clock, time.Time{}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	r := report.Build(in)
	refs := func(items []report.Item) string {
		var out []string
		for _, it := range items {
			out = append(out, it.Ref)
		}
		return strings.Join(out, " ")
	}
	if got := refs(r.Open); got != "AI-6 AI-7 AI-1 AI-4" { // P1 by due day, then P2, P3
		t.Errorf("open: %s", got)
	}
	if got := refs(r.Overdue); got != "AI-1 AI-6 AI-4" || r.Overdue[0].OverdueDays != 145 {
		t.Errorf("overdue: %s %+v", got, r.Overdue)
	}
	if got := refs(r.ClosedThisWeek); got != "AI-8" {
		t.Errorf("closed this week: %s", got)
	}
	tq, lq := r.Closure.ThisQuarter, r.Closure.LastQuarter
	if tq.Quarter != "2026 Q4" || tq.InTime != 2 || tq.Late != 1 || tq.Pending != 1 || int(tq.Percent) != 66 {
		t.Errorf("this quarter: %+v", tq)
	}
	if lq.Quarter != "2026 Q3" || lq.InTime != 1 || lq.Late != 2 || lq.Pending != 0 || int(lq.Percent) != 33 {
		t.Errorf("last quarter: %+v", lq)
	}
	if len(r.Incidents) != 1 || r.Incidents[0].Ref != "INC-4" || r.Incidents[0].ToResolve != 45*time.Minute || r.Incidents[0].Open != 1 {
		t.Errorf("this week's incidents: %+v", r.Incidents)
	}
	var top []string
	for _, c := range r.TopServices {
		top = append(top, c.Kind+":"+c.Name)
	}
	if got := strings.Join(top, " "); got != "service:payments component:checkout service:search" || r.TopServices[0].Severe != 1 {
		t.Errorf("top services: %s %+v", got, r.TopServices)
	}
	if len(r.ByOwner) != 3 || r.ByOwner[0].Owner != "U3" || r.ByOwner[0].Open != 2 || r.ByOwner[0].P1 != 1 {
		t.Errorf("by owner: %+v", r.ByOwner)
	}

	md := report.Markdown(r, func(id string) string { return "@" + map[string]string{"U2": "bob", "U3": "carol"}[id] }, time.UTC)
	for _, must := range []string{
		"**4 open action items, 3 overdue; 1 closed this week. Closed within 30 days: 2026 Q4 67% (2 of 3, 1 still inside their 30 days), 2026 Q3 33% (1 of 3).**",
		"| AI-1 | INC-1 | P2 | nobody yet | 2026-07-01 | 145d | drain tool |",
		"| AI-7 | INC-4 | P1 | @carol | 2026-11-25 | index \\| shard plan |",
		"| INC-4 | SEV3 | search | 2026-11-17 10:00 | 0h45m | 1 | search slow |",
		"| payments | service | 1 | 1 |",
	} {
		if !strings.Contains(md, must) {
			t.Errorf("markdown lacks %q:\n%s", must, md)
		}
	}
	slack := report.Slack(r, time.UTC)
	if !strings.Contains(slack, "• *AI-6* (INC-3) P1 retry budget — <@U2>, 42 days past 2026-10-12") {
		t.Errorf("slack:\n%s", slack)
	}
	var buf bytes.Buffer
	if err := report.JSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || back["open_count"].(float64) != 4 {
		t.Errorf("json: %v %v", back["open_count"], err)
	}
}

// The schedule runs once per slot: a first start posts nothing, the cron
// run posts, a missed Monday is posted once on the next start, and two
// copies starting together post it once between them.
func TestWeeklyScheduleAcrossRestartsAndMissedMonday(t *testing.T) {
	ctx := context.Background()
	s := seed(t)
	now := day("2026-11-11 15:00") // a Wednesday: first start
	weekly := func(db *store.DB) *report.Weekly {
		w, err := report.NewWeekly("", time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		w.Source, w.Runs, w.Channel, w.Now = incident.NewService(db, func() time.Time { return now }), db, "C-REPORTS", func() time.Time { return now }
		w.Log = slog.New(slog.DiscardHandler)
		return w
	}
	posts := func() int {
		fx, err := s.db.Effects(ctx, incident.EffectFilter{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range fx {
			if e.Kind == report.EffectKind {
				n++
				if e.Payload["channel"] != "C-REPORTS" || !strings.Contains(e.Payload["text"], "Weekly action-item report") {
					t.Errorf("post: %+v", e.Payload)
				}
			}
		}
		return n
	}
	w := weekly(s.db)
	if err := w.Start(ctx, cron.New()); err != nil {
		t.Fatal(err)
	}
	if n := posts(); n != 0 {
		t.Fatalf("a first start posted %d reports", n)
	}
	if got := w.Next(now); !got.Equal(day("2026-11-16 09:00")) {
		t.Errorf("next run %s", got)
	}

	now = day("2026-11-16 09:00") // the cron job fires
	if ok, err := w.Run(ctx, w.Slot(now)); !ok || err != nil {
		t.Fatalf("monday run: %v %v", ok, err)
	}
	now = now.Add(time.Second)
	if ok, _ := w.Run(ctx, w.Slot(now)); ok {
		t.Error("the same slot ran twice")
	}

	// Down over Monday 23rd; two copies start on Tuesday, on their own connections.
	now = day("2026-11-24 08:30")
	var wg sync.WaitGroup
	for range 2 {
		db, err := store.Open(ctx, s.path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := weekly(db).Start(ctx, cron.New()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := posts(); n != 2 {
		t.Errorf("%d reports posted, want 2 (16th, and the missed 23rd once)", n)
	}
	last, _ := s.db.LastRun(ctx, report.Job)
	if !last.Equal(day("2026-11-23 09:00")) {
		t.Errorf("last run %s", last)
	}
	audit, _ := s.db.Timeline(ctx, 0, incident.Page{})
	reports := 0
	for _, e := range audit {
		if e.Kind == "report" {
			reports++
		}
	}
	if reports != 2 {
		t.Errorf("%d report entries in the audit log", reports)
	}
}

func TestScheduleSpecErrors(t *testing.T) {
	if _, err := report.NewWeekly("every monday", time.UTC); err == nil || !strings.Contains(err.Error(), "not a cron expression") {
		t.Errorf("bad spec: %v", err)
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no tzdata")
	}
	w, err := report.NewWeekly("30 8 * * 1", paris)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Next(day("2026-11-24 00:00")); !got.Equal(day("2026-11-30 07:30")) {
		t.Errorf("08:30 Paris is 07:30 UTC in winter, got %s", got.UTC())
	}
}

// BenchmarkWeekly builds and renders (Markdown and Slack) the report over
// 50,000 items and 5,000 incidents, then twice that: the figures should
// double, not more.
func BenchmarkWeekly(b *testing.B) {
	for _, size := range []int{5000, 10000} {
		b.Run(fmt.Sprintf("incidents=%d,items=%d", size, size*10), func(b *testing.B) {
			in := synthetic(size)
			b.ReportAllocs()
			b.ResetTimer()
			var n int
			for b.Loop() {
				r := report.Build(in)
				n = len(report.Markdown(r, func(id string) string { return "@" + id }, time.UTC)) + len(report.Slack(r, time.UTC))
			}
			b.ReportMetric(float64(n)/1024, "KB")
		})
	}
}

// synthetic is a year of incidents, ten action items each, about a third
// still open, owned by 50 people across 20 services.
func synthetic(incidents int) report.Input {
	now := day("2026-11-23 09:00")
	in := report.Input{Now: now}
	step := 365 * 24 * time.Hour / time.Duration(incidents)
	for i := range incidents {
		declared := now.Add(-time.Duration(incidents-i) * step)
		inc := &incident.Incident{Number: int64(i + 1), Title: fmt.Sprintf("incident %d", i), Severity: incident.Severity(1 + i%4),
			Service: fmt.Sprintf("service-%d", i%20), Status: incident.StatusResolved, DeclaredAt: declared, ResolvedAt: declared.Add(time.Duration(i%300) * time.Minute),
			Components: map[string]incident.ComponentStatus{fmt.Sprintf("component-%d", i%7): incident.PartialOutage}}
		in.Incidents = append(in.Incidents, inc)
		for j := range 10 {
			id := int64(i*10 + j + 1)
			a := incident.ActionItem{ID: id, Incident: inc.Number, Text: fmt.Sprintf("follow-up %d of incident %d", j, i), Owner: fmt.Sprintf("U%d", id%50),
				Priority: incident.Priority(1 + j%3), Due: declared.Add(time.Duration(7+j*5) * 24 * time.Hour).Truncate(24 * time.Hour), Status: incident.ActionOpen, Created: declared}
			if id%3 != 0 {
				a.Status, a.Closed = incident.ActionDone, declared.Add(time.Duration(j*4)*24*time.Hour)
			}
			in.Actions = append(in.Actions, a)
		}
	}
	return in
}

// BenchmarkWeeklyFromSQLite reads the report's input from a real SQLite
// file (two queries) and builds it, over 5,000 incidents with 50,000 items
// and then twice that.
func BenchmarkWeeklyFromSQLite(b *testing.B) {
	for _, size := range []int{5000, 10000} {
		b.Run(fmt.Sprintf("incidents=%d,items=%d", size, size*10), func(b *testing.B) {
			ctx := context.Background()
			db, err := store.Open(ctx, filepath.Join(b.TempDir(), "warroom.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			in := synthetic(size)
			err = db.Update(ctx, func(tx incident.Tx) error {
				for _, inc := range in.Incidents {
					inc.Stage, inc.DeclaredBy, inc.Commander, inc.Roles, inc.UpdatedAt = incident.StageDocument, "U1", "U1", map[string]string{}, inc.DeclaredAt
					if err := tx.CreateIncident(ctx, inc); err != nil {
						return err
					}
				}
				for i := range in.Actions {
					a := &in.Actions[i]
					a.Updated = a.Created
					if err := tx.AddAction(ctx, a); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			svc := incident.NewService(db, nil)
			b.ReportAllocs()
			b.ResetTimer()
			var read int
			for b.Loop() {
				got, err := report.Gather(ctx, svc, in.Now, time.Time{}, time.UTC)
				if err != nil {
					b.Fatal(err)
				}
				read = len(got.Actions)
				report.Build(got)
			}
			b.ReportMetric(float64(read), "items-read")
		})
	}
}
