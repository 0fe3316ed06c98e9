package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/internal/pgtest"
	"github.com/warroom/warroom/store"
)

// TestMain stops the PostgreSQL server the tests shared.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// eachStore runs test twice, with the same assertions: on a fresh SQLite
// file and on a fresh PostgreSQL database (skipped, saying why, where the
// PostgreSQL server binaries are missing; failed under CI=true). dsn opens
// the same database again.
func eachStore(t *testing.T, test func(t *testing.T, db *store.DB, dsn string)) {
	t.Run("sqlite", func(t *testing.T) {
		db, path := open(t)
		test(t, db, path)
	})
	t.Run("postgres", func(t *testing.T) {
		db, dsn := openPostgres(t)
		test(t, db, dsn)
	})
}

func openPostgres(t *testing.T) (*store.DB, string) {
	t.Helper()
	dsn := pgtest.Shared(t).NewDB(t)
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, dsn
}

func open(t *testing.T) (*store.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "warroom.db")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func TestMigrationsApplyOnceAndReopen(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB, dsn string) {
		ctx := context.Background()
		again, err := db.Migrate(ctx)
		if err != nil || len(again) != 0 {
			t.Fatalf("second migrate applied %v, err %v", again, err)
		}
		svc := incident.NewService(db, nil)
		inc, err := svc.Declare(ctx, incident.Command{Actor: "U1", Kind: "declare"}, incident.Declaration{Title: "x", Severity: incident.SEV2})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		db2, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db2.Close()
		got, err := db2.Incident(ctx, inc.Number)
		if err != nil || got.Title != "x" {
			t.Fatalf("after reopen: %+v %v", got, err)
		}
	})
}

func TestTimelineIsAppendOnly(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		svc := incident.NewService(db, nil)
		if _, err := svc.Declare(ctx, incident.Command{Actor: "U1", Kind: "declare"}, incident.Declaration{Title: "x", Severity: incident.SEV2}); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{`UPDATE timeline SET outcome = 'changed'`, `DELETE FROM timeline`} {
			err := db.ExecForTest(ctx, q)
			if err == nil || !strings.Contains(err.Error(), "never") {
				t.Errorf("%s: want the trigger to refuse, got %v", q, err)
			}
		}
	})
}

func TestNumbersNeverRepeat(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		svc := incident.NewService(db, func() time.Time { return time.Unix(1e9, 0) })
		seen := map[int64]bool{}
		for i := 0; i < 20; i++ {
			inc, err := svc.Declare(ctx, incident.Command{Actor: "U1", Kind: "declare"}, incident.Declaration{Title: "t", Severity: incident.SEV4})
			if err != nil {
				t.Fatal(err)
			}
			if seen[inc.Number] {
				t.Fatalf("number %d handed out twice", inc.Number)
			}
			seen[inc.Number] = true
		}
	})
}

func TestRolesAndTimesRoundTrip(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		now := time.Date(2026, 11, 25, 10, 0, 0, 123456000, time.UTC)
		svc := incident.NewService(db, func() time.Time { return now })
		inc, _ := svc.Declare(ctx, incident.Command{Actor: "U1", Kind: "declare"}, incident.Declaration{Title: "t", Severity: incident.SEV1})
		if _, err := svc.Assign(ctx, inc.Number, incident.Command{Actor: "U2", Kind: "role"}, "scribe", "U3"); err != nil {
			t.Fatal(err)
		}
		got, err := db.Incident(ctx, inc.Number)
		if err != nil {
			t.Fatal(err)
		}
		if got.Roles["scribe"] != "U3" || !got.DeclaredAt.Equal(now) || !got.AcknowledgedAt.Equal(now) {
			t.Fatalf("round trip lost data: %+v", got)
		}
		list, err := db.Incidents(ctx, incident.Filter{OpenOnly: true})
		if err != nil || len(list) != 1 || list[0].Roles["scribe"] != "U3" {
			t.Fatalf("list: %v %v", list, err)
		}
	})
}

func TestTimelinePages(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		svc := incident.NewService(db, nil)
		inc, _ := svc.Declare(ctx, incident.Command{Actor: "U1", Kind: "declare"}, incident.Declaration{Title: "t", Severity: incident.SEV3})
		for i := 0; i < 9; i++ {
			if _, err := svc.Note(ctx, inc.Number, incident.Command{Actor: "U2", Kind: "note"}, "n"); err != nil {
				t.Fatal(err)
			}
		}
		var all []incident.Entry
		var after int64
		for {
			page, err := db.Timeline(ctx, inc.Number, incident.Page{AfterID: after, Limit: 4})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			all = append(all, page...)
			after = page[len(page)-1].ID
		}
		if len(all) != 10 || all[0].Kind != "declare" {
			t.Fatalf("paged %d entries, first %q", len(all), all[0].Kind)
		}
	})
}

// TestRemindersSurviveARestart: a reminder fired before a restart does not
// fire again after it, and the next one still fires once.
func TestRemindersSurviveARestart(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB, dsn string) {
		ctx := context.Background()
		now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		svc := incident.NewService(db, clock)
		svc.UseHelpAfter(0) // only the update reminders here
		inc, _ := svc.Declare(ctx, incident.Command{Actor: "U1", Kind: "declare"}, incident.Declaration{Title: "t", Severity: incident.SEV1})
		if _, err := svc.SetComponents(ctx, inc.Number, incident.Command{Actor: "U1", Kind: "components"}, map[string]incident.ComponentStatus{"Checkout": incident.MajorOutage}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.Publish(ctx, inc.Number, incident.Command{Actor: "U1", Kind: "update"}, incident.Publication{Status: incident.StatusInvestigating, Body: "Investigating.\nNext update by 10:30 UTC."}); err != nil {
			t.Fatal(err)
		}
		now = now.Add(26 * time.Minute)
		if got, _ := svc.Sweep(ctx); len(got) != 1 || got[0].Kind != incident.ReminderRemind {
			t.Fatalf("before the restart: %+v", got)
		}
		db.Close()

		db2, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db2.Close()
		svc2 := incident.NewService(db2, clock)
		svc2.UseHelpAfter(0)
		if got, _ := svc2.Sweep(ctx); len(got) != 0 {
			t.Fatalf("the reminder fired again after the restart: %+v", got)
		}
		now = now.Add(5 * time.Minute)
		if got, _ := svc2.Sweep(ctx); len(got) != 1 || got[0].Kind != incident.ReminderPing || got[0].Incident.Components["Checkout"] != incident.MajorOutage {
			t.Fatalf("the due-time ping: %+v", got)
		}
		ups, err := db2.PublicUpdates(ctx, inc.Number)
		if err != nil || len(ups) != 1 || ups[0].Body != "Investigating.\nNext update by 10:30 UTC." || !ups[0].NextUpdateDue.Equal(time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)) {
			t.Fatalf("public updates: %+v %v", ups, err)
		}
	})
}

// TestAlertCorrelation: alerts for the same service or group within the
// window join one incident; outside it they open another; redeliveries and
// unconfigured services do nothing; acknowledgements are recorded.
func TestAlertCorrelation(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		svc := incident.NewService(db, func() time.Time { return now })
		c := incident.Correlation{Window: 30 * time.Minute, Rules: map[string]incident.AlertRule{
			"PAY": {Severity: incident.SEV1, Group: "payments"}, "CARD": {Severity: incident.SEV2, Group: "payments"}, "SEARCH": {Severity: incident.SEV3},
		}}
		alert := func(ev, id, service string) incident.AlertOutcome {
			t.Helper()
			out, err := svc.Alert(ctx, incident.Alert{Source: "pagerduty", EventID: ev, Event: "triggered", ExternalID: id, Service: service, ServiceName: service + " service", Title: "Error rate high"}, c)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		first := alert("e1", "P1", "PAY")
		if first.Declared == nil || first.Declared.Severity != incident.SEV1 || first.Declared.Commander != "" || first.Declared.Title != "PAY service: Error rate high" {
			t.Fatalf("first alert: %+v", first)
		}
		if again := alert("e1", "P1", "PAY"); !again.Duplicate {
			t.Fatalf("a redelivery: %+v", again)
		}
		now = now.Add(10 * time.Minute)
		if g := alert("e2", "P2", "CARD"); g.Grouped == nil || g.Grouped.Number != first.Declared.Number {
			t.Fatalf("same group within the window: %+v", g)
		}
		if s := alert("e3", "P3", "SEARCH"); s.Declared == nil {
			t.Fatalf("another service opens its own: %+v", s)
		}
		if u := alert("e4", "P4", "UNKNOWN"); u.Ignored == "" {
			t.Fatalf("unconfigured service: %+v", u)
		}
		now = now.Add(25 * time.Minute) // 35 minutes after the first declaration
		if late := alert("e5", "P5", "PAY"); late.Declared == nil {
			t.Fatalf("outside the window opens a new incident: %+v", late)
		}
		ack, err := svc.Alert(ctx, incident.Alert{Source: "pagerduty", EventID: "e6", Event: "acknowledged", ExternalID: "P2"}, c)
		if err != nil || ack.Updated == nil || ack.Updated.Number != first.Declared.Number {
			t.Fatalf("acknowledgement: %+v %v", ack, err)
		}
		tl, _ := db.Timeline(ctx, first.Declared.Number, incident.Page{})
		var kinds []string
		for _, e := range tl {
			kinds = append(kinds, e.Kind)
		}
		if strings.Join(kinds, " ") != "declare alert_grouped alert_acknowledged" {
			t.Errorf("timeline: %v", kinds)
		}
	})
}

// Every command in a war room looks its incident up by channel: that must
// be an index search, not a scan of every incident.
func TestIncidentByChannelUsesTheIndex(t *testing.T) {
	db, _ := open(t)
	plan, err := db.ByChannelPlan(context.Background())
	if err != nil || !strings.Contains(plan, "USING COVERING INDEX incidents_channel") {
		t.Fatalf("query plan: %q %v", plan, err)
	}
}

// The outbox worker's reads run after every delivery and every command
// reads its incident's roles: each must seek an index, never read the
// whole table or every pending effect, or a backlog slows its own drain.
func TestHotReadsSeekIndexes(t *testing.T) {
	db, _ := open(t)
	plans, err := db.HotPlans(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for name, plan := range plans {
		for _, step := range strings.Split(plan, "; ") {
			// A scan of a CTE or a limited subquery's own rows is not a table scan.
			if strings.HasPrefix(step, "SCAN ") && !strings.HasPrefix(step, "SCAN lanes") && !strings.HasPrefix(step, "SCAN (subquery") && step != "SCAN recent" &&
				!strings.Contains(step, "json_each") && !strings.Contains(step, "wanted") {
				t.Errorf("%s scans: %s", name, plan)
			}
		}
		t.Logf("%s: %s", name, plan)
	}
	if p := plans["due effects"]; !strings.Contains(p, "outbox_pending (lane>?)") {
		t.Errorf("due effects does not walk the lanes through the index: %s", p)
	}
	if p := plans["status page"]; strings.Count(p, "incidents_published") != 2 {
		t.Errorf("the status page's incidents are not found through incidents_published: %s", p)
	}
	if p := plans["next due"]; !strings.Contains(p, "outbox_due") {
		t.Errorf("next due does not use outbox_due: %s", p)
	}
}

// TestFilesAreOwnerOnly: the database and its WAL files hold notes and
// private incidents; whatever the umask, only the owner may read them.
func TestFilesAreOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "w.db")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := incident.NewService(db, nil)
	svc.Declare(context.Background(), incident.Command{Actor: "U1", Kind: "declare"}, incident.Declaration{Title: "x", Severity: incident.SEV3})
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is %v; want 0600", filepath.Base(f), st.Mode().Perm())
		}
	}
}
