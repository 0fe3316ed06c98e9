package incident_test

import (
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
)

func TestLint(t *testing.T) {
	l := incident.Lint{People: []string{"Alice", "bob"}}
	ok := "We are investigating failed payments.\n\nNext update by 15:02 UTC."
	cases := []struct {
		text  string
		rules string
	}{
		{ok, ""},
		{"ETA for a fix is 30 minutes.\nNext update by 15:02 UTC.", "eta"},
		{"This should be fixed by 3pm.\nNext update by 15:02 UTC.", "eta"},
		{"Back in 20 minutes.\nNext update by 15:02 UTC.", "eta"},
		{"Service will be restored shortly.\nNext update by 15:02 UTC.", "eta"},
		{"We think the database is the problem.\nNext update by 15:02 UTC.", "speculation"},
		{"It seems to be a network issue, probably DNS.\nNext update by 15:02 UTC.", "speculation"},
		{"Hopefully resolved.\nNext update by 15:02 UTC.", "speculation"},
		{"Alice's deploy broke checkout.\nNext update by 15:02 UTC.", "blame"},
		{"Rolled back by <@U123|bob>.\nNext update by 15:02 UTC.", "blame"},
		{"Ask @carol.\nNext update by 15:02 UTC.", "blame"},
		{"We are investigating failed payments.", "next_update"},
		{"We think it will be fixed in an hour.", "eta speculation next_update"},
		{"Mail ops@example.com.\nNext update by 15:02 UTC.", "internal"},
		{"db at 10.0.3.7 and fe80::1ff:fe23:4567:890a down.\nNext update by 15:02 UTC.", "internal"},
		{"Back at 15:04:05, version 1.2.3.\nNext update by 15:02 UTC.", ""},
		{"(cc @bob) see <!here>.\nNext update by 15:02 UTC.", "blame"},
	}
	for _, c := range cases {
		var got []string
		for _, w := range l.Check(c.text, true) {
			got = append(got, w.Rule)
			if w.Reason == "" {
				t.Errorf("%q: warning %s has no reason", c.text, w.Rule)
			}
		}
		if strings.Join(got, " ") != c.rules {
			t.Errorf("Check(%q) = %v, want %q", c.text, got, c.rules)
		}
	}
	if w := l.Check("We are investigating.", false); len(w) != 0 {
		t.Errorf("no cadence, no next-update warning: %v", w)
	}
	off := incident.Lint{Disabled: map[string]bool{incident.LintETA: true}}
	if w := off.Check("ETA 5 minutes.\nNext update by 15:02 UTC.", true); len(w) != 0 {
		t.Errorf("disabled rule still warns: %v", w)
	}
}

// TestLintQuotesEveryMatch: every word of a rule is found wherever it
// stands, not only the first.
func TestLintQuotesEveryMatch(t *testing.T) {
	l := incident.Lint{People: []string{"bob"}}
	ws := l.Check("We think it should be fixed in 20 minutes; @bob is on it. It was probably DNS, we think. Write to ops@example.com or 10.0.3.7.", false)
	got := map[string]string{}
	for _, w := range ws {
		got[w.Rule] = w.Quoted()
	}
	want := map[string]string{
		"eta":         "“in 20 minutes”, “should be fixed”",
		"speculation": "“We think”, “probably”",
		"blame":       "“@bob”",
		"internal":    "“ops@example.com”, “10.0.3.7”",
	}
	for rule, q := range want {
		if got[rule] != q {
			t.Errorf("%s: %s, want %s", rule, got[rule], q)
		}
	}
}

func TestPromisedNext(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	cases := []struct {
		text  string
		loc   *time.Location
		want  string // RFC 3339, "" for none
		stale bool
	}{
		{"We are restarting checkout. Next update by 10:30 UTC.", nil, "2026-11-25T10:30:00Z", false},
		{"Next update by 3pm", nil, "2026-11-25T15:00:00Z", false},
		{"next update by 12:15 CET", berlin, "2026-11-25T11:15:00Z", false},
		{"Next update by 09:40 UTC.", nil, "2026-11-25T09:40:00Z", true}, // the preview sat open
		{"Next update by 23:59 UTC.", nil, "2026-11-25T23:59:00Z", false},
		{"No promise here.", nil, "", false},
		{"Next update by 25:99", nil, "", false},
	}
	for _, c := range cases {
		due, stale := incident.PromisedNext(c.text, now, c.loc)
		got := ""
		if !due.IsZero() {
			got = due.Format(time.RFC3339)
		}
		if got != c.want || stale != c.stale {
			t.Errorf("PromisedNext(%q) = %s %v, want %s %v", c.text, got, stale, c.want, c.stale)
		}
	}
	// Across midnight: at 23:50, 00:20 is tomorrow's.
	if due, stale := incident.PromisedNext("Next update by 00:20 UTC", time.Date(2026, 11, 25, 23, 50, 0, 0, time.UTC), nil); stale || !due.Equal(time.Date(2026, 11, 26, 0, 20, 0, 0, time.UTC)) {
		t.Errorf("across midnight: %v %v", due, stale)
	}
	// The promise is not an ETA, wherever it stands.
	if w := (incident.Lint{}).Check("We are restarting checkout. Next update by 10:00 UTC.", true); len(w) != 0 {
		t.Errorf("the recommended phrase warns: %+v", w)
	}
}
