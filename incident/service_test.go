package incident_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time       { return c.t }
func (c *clock) step(d time.Duration) { c.t = c.t.Add(d) }
func cmd(actor, kind string) incident.Command {
	return incident.Command{Actor: actor, Kind: kind, Raw: kind}
}

func setup(t *testing.T) (*incident.Service, *memStore, *clock, *incident.Incident) {
	t.Helper()
	st := newMem()
	c := &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	svc := incident.NewService(st, c.now)
	inc, err := svc.Declare(context.Background(), cmd("alice", "declare"), incident.Declaration{Title: "Checkout returns 500s", Severity: incident.SEV2})
	if err != nil {
		t.Fatal(err)
	}
	return svc, st, c, inc
}

func TestLifecycleStagesAndTimes(t *testing.T) {
	ctx := context.Background()
	svc, st, c, inc := setup(t)
	n := inc.Number
	if inc.Stage != incident.StageAssess || inc.Commander != "alice" || !inc.AcknowledgedAt.IsZero() {
		t.Fatalf("declared: %+v", inc)
	}
	c.step(2 * time.Minute)
	inc, err := svc.Assign(ctx, n, cmd("bob", "communicator"), "communicator", "bob")
	if err != nil || inc.Stage != incident.StageCommunicate {
		t.Fatalf("communicator: %v %v", inc.Stage, err)
	}
	if got := inc.Durations().ToAcknowledge; got != 2*time.Minute {
		t.Fatalf("acknowledged after %v, want 2m (first command by someone else)", got)
	}
	c.step(time.Minute)
	inc, _ = svc.SetStatus(ctx, n, cmd("bob", "status"), incident.StatusIdentified, "bad deploy")
	if inc.Stage != incident.StageRespond {
		t.Fatalf("identified with a commander should be respond, got %s", inc.Stage)
	}
	c.step(time.Minute)
	inc, _ = svc.SetStatus(ctx, n, cmd("bob", "status"), incident.StatusMonitoring, "rolled back")
	if inc.Durations().ToMitigate != 4*time.Minute {
		t.Fatalf("mitigated after %v", inc.Durations().ToMitigate)
	}
	c.step(time.Minute)
	inc, err = svc.Resolve(ctx, n, cmd("alice", "resolve"), "rolled back")
	if err != nil || inc.Stage != incident.StageDocument || inc.Durations().ToResolve != 5*time.Minute {
		t.Fatalf("resolve: %+v %v", inc, err)
	}
	_, err = svc.Resolve(ctx, n, cmd("alice", "resolve"), "")
	if incident.ErrorCode(err) != incident.EConflict || !strings.Contains(incident.ErrorMessage(err), "reopen") {
		t.Fatalf("resolving twice: %v", err)
	}
	inc, err = svc.Reopen(ctx, n, cmd("alice", "reopen"))
	if err != nil || inc.Status != incident.StatusInvestigating || !inc.ResolvedAt.IsZero() || inc.Stage != incident.StageCommunicate {
		t.Fatalf("reopen: %+v %v", inc, err)
	}
	c.step(time.Minute)
	inc, _ = svc.Resolve(ctx, n, cmd("alice", "resolve"), "")
	inc, err = svc.Close(ctx, n, cmd("alice", "close"), true)
	if err != nil || inc.Stage != incident.StageClosed || inc.ClosedAt.IsZero() {
		t.Fatalf("close: %+v %v", inc, err)
	}
	if _, err := svc.Note(ctx, n, cmd("alice", "note"), "late note"); err != nil {
		t.Fatalf("notes stay allowed after close: %v", err)
	}
	if _, err := svc.SetSeverity(ctx, n, cmd("alice", "severity"), incident.SEV1); incident.ErrorCode(err) != incident.EConflict {
		t.Fatalf("closed incidents don't change: %v", err)
	}
	tl, _ := st.Timeline(ctx, n, incident.Page{})
	if len(tl) != 11 {
		t.Fatalf("want 11 timeline entries (every command, rejected ones too), got %d", len(tl))
	}
}

func TestRejectedCommandsChangeNothingButAreRecorded(t *testing.T) {
	ctx := context.Background()
	svc, st, _, inc := setup(t)
	before, _ := st.Incident(ctx, inc.Number)
	cases := []struct {
		name string
		run  func() error
		code string
	}{
		{"same severity", func() error {
			_, e := svc.SetSeverity(ctx, inc.Number, cmd("bob", "severity"), incident.SEV2)
			return e
		}, incident.EConflict},
		{"bad severity", func() error { _, e := svc.SetSeverity(ctx, inc.Number, cmd("bob", "severity"), 9); return e }, incident.EInvalid},
		{"bad status", func() error {
			_, e := svc.SetStatus(ctx, inc.Number, cmd("bob", "status"), "fixed-ish", "")
			return e
		}, incident.EInvalid},
		{"reopen open", func() error { _, e := svc.Reopen(ctx, inc.Number, cmd("bob", "reopen")); return e }, incident.EConflict},
		{"close open", func() error { _, e := svc.Close(ctx, inc.Number, cmd("bob", "close"), false); return e }, incident.EConflict},
		{"bad role", func() error { _, e := svc.Assign(ctx, inc.Number, cmd("bob", "role"), "Ops Lead!", "carol"); return e }, incident.EInvalid},
		{"same commander", func() error {
			_, e := svc.Assign(ctx, inc.Number, cmd("bob", "commander"), "commander", "alice")
			return e
		}, incident.EConflict},
		{"empty note", func() error { _, e := svc.Note(ctx, inc.Number, cmd("bob", "note"), "  "); return e }, incident.EInvalid},
		{"huge note", func() error {
			_, e := svc.Note(ctx, inc.Number, cmd("bob", "note"), strings.Repeat("x", incident.MaxText+1))
			return e
		}, incident.EInvalid},
		{"missing incident", func() error { _, e := svc.Note(ctx, 999, cmd("bob", "note"), "x"); return e }, incident.ENotFound},
	}
	for _, tc := range cases {
		if err := tc.run(); incident.ErrorCode(err) != tc.code {
			t.Errorf("%s: got %v, want code %s", tc.name, err, tc.code)
		}
	}
	after, _ := st.Incident(ctx, inc.Number)
	if after.Severity != before.Severity || after.Status != before.Status || after.Stage != before.Stage || !after.AcknowledgedAt.IsZero() {
		t.Fatalf("rejected commands changed the incident: %+v", after)
	}
	tl, _ := st.Timeline(ctx, inc.Number, incident.Page{})
	audit, _ := st.Timeline(ctx, 0, incident.Page{})
	if len(tl) != 1+len(cases)-1 || len(audit) != 1 {
		t.Fatalf("want %d entries on the incident and 1 in the audit log, got %d and %d", len(cases), len(tl), len(audit))
	}
	for _, e := range tl[1:] {
		if e.OK() {
			t.Errorf("entry %q recorded as ok", e.Kind)
		}
	}
}

func TestCleanTitle(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"Checkout returns 500s", "Checkout returns 500s", true},
		{"  spaced\n out\ttitle ", "spaced out title", true},
		{"'; DROP TABLE incidents; --", "'; DROP TABLE incidents; --", true},
		{"הקופה מחזירה שגיאות", "הקופה מחזירה שגיאות", true},
		{"🔥🔥🔥", "", false},
		{`"""`, "", false},
		{"", "", false},
		{"evil\u202Etxt.exe", "", false},
		{"nul\x00byte", "", false},
		{strings.Repeat("a", 250), strings.Repeat("a", 250), true},
		{strings.Repeat("a", 251), "", false},
		{strings.Repeat("é", 250), strings.Repeat("é", 250), true},
	}
	for _, tc := range cases {
		got, err := incident.CleanTitle(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("CleanTitle(%q) = %q, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	_, err := incident.CleanTitle(strings.Repeat("a", 312))
	if !strings.Contains(incident.ErrorMessage(err), "312 characters") {
		t.Errorf("an over-long title should say how long it is: %v", err)
	}
}

func TestParseSeverityAndRef(t *testing.T) {
	for in, want := range map[string]incident.Severity{"sev1": 1, "SEV4": 4, "2": 2, "Sev3": 3} {
		if got, err := incident.ParseSeverity(in); err != nil || got != want {
			t.Errorf("ParseSeverity(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"sev0", "sev5", "high", ""} {
		if _, err := incident.ParseSeverity(in); err == nil {
			t.Errorf("ParseSeverity(%q) should fail", in)
		}
	}
	for in, want := range map[string]int64{"INC-7": 7, "inc-12": 12, "#3": 3, "7": 7} {
		if got, ok := incident.ParseRef(in); !ok || got != want {
			t.Errorf("ParseRef(%q) = %d, %v", in, got, ok)
		}
	}
	for _, in := range []string{"INC-", "INC-0", "note", "7x", "-7", "INC-+7"} {
		if _, ok := incident.ParseRef(in); ok {
			t.Errorf("ParseRef(%q) should fail", in)
		}
	}
}

func TestRecordReadAcknowledges(t *testing.T) {
	ctx := context.Background()
	svc, st, _, inc := setup(t)
	if err := svc.Record(ctx, inc.Number, cmd("alice", "timeline"), incident.OutcomeOK); err != nil {
		t.Fatal(err)
	}
	got, _ := st.Incident(ctx, inc.Number)
	if !got.AcknowledgedAt.IsZero() {
		t.Fatal("the declarer's own read must not acknowledge")
	}
	svc.Record(ctx, inc.Number, cmd("bob", "timeline"), incident.OutcomeOK)
	got, _ = st.Incident(ctx, inc.Number)
	if got.AcknowledgedAt.IsZero() {
		t.Fatal("a teammate's read acknowledges")
	}
}

// TestDeclareLimitSaysWhenASlotFrees: the retry time is when the
// declaration that filled the limit leaves the minute, not a minute from now.
func TestDeclareLimitSaysWhenASlotFrees(t *testing.T) {
	ctx := context.Background()
	svc, _, c, _ := setup(t) // alice declared at 10:00:00
	svc.UseDeclareLimit(2)
	c.step(20 * time.Second)
	if _, err := svc.Declare(ctx, cmd("alice", "declare"), incident.Declaration{Title: "Second", Severity: incident.SEV3}); err != nil {
		t.Fatal(err)
	}
	c.step(25 * time.Second)
	_, err := svc.Declare(ctx, cmd("alice", "declare"), incident.Declaration{Title: "Third", Severity: incident.SEV3})
	if msg := incident.ErrorMessage(err); !strings.Contains(msg, "Try again at 10:01:00 UTC") {
		t.Errorf("at 10:00:45 with declarations at 10:00:00 and 10:00:20: %q", msg)
	}
	c.step(15 * time.Second) // 10:01:00: the first has left the minute
	if _, err := svc.Declare(ctx, cmd("alice", "declare"), incident.Declaration{Title: "Third", Severity: incident.SEV3}); err != nil {
		t.Errorf("at 10:01:00: %v", err)
	}
}
