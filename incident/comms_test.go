package incident_test

import (
	"strings"
	"testing"

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
