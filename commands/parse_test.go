package commands

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in   string
		want Command
		err  string // substring of the error; "" for success
	}{
		{"declare sev2 Checkout returns 500s", Command{Name: "declare", Severity: 2, Text: "Checkout returns 500s"}, ""},
		{"DECLARE SEV1 db down", Command{Name: "declare", Severity: 1, Text: "db down"}, ""},
		{"declare Checkout slow", Command{Name: "declare", Severity: incident.DefaultSeverity, Text: "Checkout slow"}, ""},
		{"declare", Command{Name: "declare", Severity: incident.DefaultSeverity, Modal: true}, ""},
		{"declare sev1", Command{Name: "declare", Severity: 1, Modal: true}, ""},
		{"declare sev9 db down", Command{}, "not a severity"},
		{"declare private sev1 payroll data exposed", Command{Name: "declare", Severity: 1, Private: true, Text: "payroll data exposed"}, ""},
		{"declare SEV2 Private leak", Command{Name: "declare", Severity: 2, Private: true, Text: "leak"}, ""},
		{"declare private", Command{}, "takes its title on the line"},
		{"INC-7 declare sev1 x", Command{}, "takes no reference"},
		{"severity sev1", Command{Name: "severity", Severity: 1}, ""},
		{"sev 3", Command{Name: "severity", Severity: 3}, ""},
		{"severity", Command{}, "Say which severity"},
		{"severity critical", Command{}, "not a severity"},
		{"commander <@U123|alice>", Command{Name: "commander", Role: "commander", User: "U123"}, ""},
		{"commander me", Command{Name: "commander", Role: "commander", User: "UME"}, ""},
		{"commander alice", Command{Name: "commander", Role: "commander", UserName: "alice"}, ""},
		{"commander @alice", Command{Name: "commander", Role: "commander", UserName: "alice"}, ""},
		{"commander <alice>", Command{}, "is not a Slack user"},
		{"commander <@U1> <@U2>", Command{}, "one person"},
		{"communicator", Command{}, "Name a person"},
		{"role scribe <@W9>", Command{Name: "role", Role: "scribe", User: "W9"}, ""},
		{"role scribe", Command{}, "Name the role and the person"},
		{"status identified bad deploy", Command{Name: "status", Status: "identified", Text: "bad deploy"}, ""},
		{"status fixed", Command{}, "not a status"},
		{"status", Command{Name: "status"}, ""},
		{"page payments card auth failing", Command{Name: "page", Target: "payments", Text: "card auth failing"}, ""},
		{"page <@U2ALICE|alice> db down", Command{Name: "page", Target: "@U2ALICE", Text: "db down"}, ""},
		{"page", Command{}, "Say whom to page"},
		{"page @alice", Command{}, "Pick the person"},
		{"action add Alert on replica lag <@U2|bob> p1 due:2026-12-15", Command{Name: "action", Action: "add", Text: "Alert on replica lag", User: "U2", Priority: 1, Due: time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC)}, ""},
		{"action add due:2026-12-15 stays in the text P3", Command{Name: "action", Action: "add", Text: "due:2026-12-15 stays in the text", Priority: 3}, ""},
		{"action add Ask <@U2> about p1 paging", Command{Name: "action", Action: "add", Text: "Ask <@U2> about p1 paging"}, ""},
		{"INC-3 action add p1", Command{Name: "action", Ref: 3, Action: "add", Text: "p1"}, ""},
		{"action add", Command{}, "Say what will change"},
		{"action add x due:tomorrow", Command{}, "not a due date"},
		{"action", Command{Name: "action", Action: "list"}, ""},
		{"actions mine", Command{Name: "action", Action: "list", Text: "mine"}, ""},
		{"action list everything", Command{}, "takes nothing"},
		{"action done AI-12", Command{Name: "action", Action: "done", ActionID: 12}, ""},
		{"action close #12", Command{Name: "action", Action: "done", ActionID: 12}, ""},
		{"action done", Command{}, "by its number"},
		{"action done 12 13", Command{}, "one item number"},
		{"action assign 4 me", Command{Name: "action", Action: "assign", ActionID: 4, User: "UME"}, ""},
		{"action assign 4", Command{}, "Name a person"},
		{"action frobnicate 4", Command{}, "not an action subcommand"},
		{"INC-7 note hello there", Command{Name: "note", Ref: 7, Text: "hello there"}, ""},
		{"inc-7 NOTE x", Command{Name: "note", Ref: 7, Text: "x"}, ""},
		{"note", Command{}, "note is empty"},
		{"resolve", Command{Name: "resolve"}, ""},
		{"timeline now", Command{}, "takes nothing, or `before <entry>`"},
		{"timeline before 120", Command{Name: "timeline", Before: 120}, ""},
		{"", Command{Name: "help"}, ""},
		{"help status", Command{Name: "help", Text: "status"}, ""},
		{"list all", Command{Name: "list", Text: "all"}, ""},
		{"stauts identified", Command{}, "Did you mean `status`"},
		{"frobnicate", Command{}, "is not a command"},
		{"INC-7", Command{}, "Say what to do with INC-7"},
		{strings.Repeat("x", 5000), Command{}, "is not a command"},
		{"components checkout=partial_outage api=operational", Command{Name: "components", Components: map[string]incident.ComponentStatus{"checkout": "partial_outage", "api": "operational"}}, ""},
		{"components", Command{}, "Name each component"},
		{"impact failed logins for EU customers", Command{Name: "impact", Text: "failed logins for EU customers"}, ""},
		{"impact", Command{}, "Say who is affected"},
		{"components checkout", Command{}, "is not name=status"},
		{"components checkout=down", Command{}, "not a component status"},
		{"update", Command{Name: "update"}, ""},
		{"update identified Failing over", Command{Name: "update", Status: "identified", Text: "Failing over"}, ""},
		{"update We are looking into it", Command{Name: "update", Text: "We are looking into it"}, ""},
		{"update identifed cause known", Command{}, "not a status"},
	}
	for _, tc := range cases {
		got, err := Parse(tc.in, "UME")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%.40q): err %v, want %q", tc.in, err, tc.err)
			}
			if err != nil && len(err.Error()) > 300 {
				t.Errorf("Parse(%.40q): error too long to read: %d chars", tc.in, len(err.Error()))
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestHelpCoversEveryCommand(t *testing.T) {
	all := HelpText("")
	for _, h := range Help() {
		if !strings.Contains(all, h.Syntax) {
			t.Errorf("help misses %s", h.Name)
		}
		// Slack escapes the @name a user picks into <@U...|name>.
		ex := regexp.MustCompile(`@(\w+)`).ReplaceAllString(strings.TrimPrefix(h.Example, "/incident "), "<@U1|$1>")
		if _, err := Parse(ex, "U1"); err != nil {
			t.Errorf("the example for %s does not parse: %v", h.Name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"declare sev1 x", "INC-3 status identified y", "role a <@U1>", "\u202e", "🔥"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s, "U1")
		if err == nil && c.Name == "" {
			t.Fatalf("Parse(%q) succeeded with no command", s)
		}
	})
}
