package postmortem_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/postmortem"
	"github.com/warroom/warroom/templates"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// scripted is an incident with every kind of timeline entry.
func scripted() postmortem.Input {
	t0 := time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	ok := incident.OutcomeOK
	inc := &incident.Incident{Number: 12, Title: "Checkout returns 500s | card auth", Severity: incident.SEV2, Status: incident.StatusResolved,
		Stage: incident.StageDocument, DeclaredBy: "U1", Commander: "U3", Communicator: "U2", Service: "payments",
		Description: "Card payments fail with 500s.\nStarted after the 13:55 deploy.",
		Roles:       map[string]string{"scribe": "U4"}, Components: map[string]incident.ComponentStatus{"checkout": incident.PartialOutage},
		Impact: "Some customers could not pay by card.", DeclaredAt: t0, AcknowledgedAt: at(2), MitigatedAt: at(31), ResolvedAt: at(48),
		Checklist: []incident.Step{
			{ChecklistItem: incident.ChecklistItem{Stage: incident.StageAssess, Text: "Confirm the impact | from a second source"}, DoneAt: at(3), DoneBy: "U2"},
			{ChecklistItem: incident.ChecklistItem{Stage: incident.StageCommunicate, Text: "Publish the first public update", DoneWhen: incident.TriggerFirstPublicUpdate}, DoneAt: at(12), DoneBy: incident.SystemActor},
			{ChecklistItem: incident.ChecklistItem{Stage: incident.StageRespond, Text: "Check <replica> lag before failing over", Link: "https://wiki.example.com/failover"}, AddedBy: "U3"},
			{ChecklistItem: incident.ChecklistItem{Stage: incident.StageDocument, Text: "Write the postmortem draft", DoneWhen: incident.TriggerPostmortemWritten}},
			{ChecklistItem: incident.ChecklistItem{Stage: incident.StageDocument, Text: "Thank the responders", Optional: true}},
		}}
	return postmortem.Input{Incident: inc, Generated: at(120), Version: 2,
		Names: map[string]string{"U1": "alice", "U2": "bob", "U3": "carol", "U4": "dave"},
		Links: []incident.Link{{System: "jira", Ref: "OPS-41", URL: "https://example.atlassian.net/browse/OPS-41"}},
		Updates: []incident.PublicUpdate{
			{At: at(6), Author: "U2", Status: incident.StatusInvestigating, Body: "We are investigating failed card payments.\nNext update by 14:36 UTC."},
			{At: at(48), Author: "U2", Status: incident.StatusResolved, Body: "Card payments work again."},
		},
		Entries: []incident.Entry{
			{At: at(0), Actor: "U1", Kind: "declare", Outcome: ok, Detail: map[string]string{"title": inc.Title, "severity": "SEV3"}},
			{At: at(0), Actor: incident.SystemActor, Kind: "war_room", Raw: "created #inc-12-checkout", Outcome: ok},
			{At: at(1), Actor: incident.SystemActor, Kind: incident.KindOnCallAssigned, Outcome: ok, Detail: map[string]string{"role": "commander", "from": "U1", "to": "U3", "source": "PagerDuty: carol"}},
			{At: at(2), Actor: "U3", Kind: "severity", Outcome: ok, Detail: map[string]string{"from": "SEV3", "to": "SEV2"}},
			{At: at(3), Actor: "U3", Kind: "communicator", Outcome: ok, Detail: map[string]string{"role": "communicator", "from": "", "to": "U2", "stage": "communicate"}},
			{At: at(4), Actor: "U2", Kind: "timeline", Outcome: ok},
			{At: at(5), Actor: "U2", Raw: "stauts identified", Kind: incident.KindParseError, Outcome: "No command `stauts`. Did you mean `status`?"},
			{At: at(5), Actor: "U2", Raw: "status fixed", Kind: "status", Outcome: "fixed is not a status."},
			{At: at(5), Actor: "U2", Raw: "status", Kind: "status", Outcome: "fixed is not a status."},
			{At: at(6), Actor: "U2", Kind: "publish", Outcome: ok, Detail: map[string]string{"from": "investigating", "to": "investigating", "text": "We are investigating failed card payments."}},
			{At: at(9), Actor: "U3", Kind: "page", Outcome: ok, Detail: map[string]string{"target": "payments", "message": "db connections exhausted", "dedup": "warroom-INC-12-payments"}},
			{At: at(11), Actor: incident.AlertActor, Kind: "page_acknowledged", Raw: "Dave acknowledged the page warroom-INC-12-payments", Outcome: ok},
			{At: at(14), Actor: incident.AlertActor, Kind: incident.KindAlertGrouped, Raw: "pagerduty triggered: Card declines (cards)", Outcome: ok},
			{At: at(17), Actor: "U4", Kind: "note", Outcome: ok, Detail: map[string]string{"text": "Deploy 13:55 changed the card client's pool size | 5 → 1"}},
			{At: at(20), Actor: "U3", Kind: "status", Outcome: ok, Detail: map[string]string{"from": "investigating", "to": "identified", "message": "bad pool size", "stage": "respond"}},
			{At: at(25), Actor: incident.SystemActor, Kind: incident.KindReminder, Raw: "remind for the update due 14:36 UTC", Outcome: ok},
			{At: at(31), Actor: "U3", Kind: "status", Outcome: ok, Detail: map[string]string{"from": "identified", "to": "monitoring"}},
			{At: at(33), Actor: incident.SystemActor, Kind: incident.KindNotice, Raw: ":warning: Jira is not answering (503); retrying.", Outcome: ok},
			{At: at(48), Actor: "U3", Kind: "resolve", Outcome: ok, Detail: map[string]string{"summary": "Rolled back the deploy.", "stage": "document"}},
			{At: at(50), Actor: incident.SystemActor, Kind: incident.KindPostmortem, Raw: "postmortem at resolve", Outcome: ok, Detail: map[string]string{"version": "1"}},
			{At: at(55), Actor: "U3", Kind: incident.KindAction, Raw: "action add Alert when the card pool is saturated <@U4> p1", Outcome: ok,
				Detail: map[string]string{"action": "add", "id": "3", "text": "Alert when the card pool is saturated", "owner": "U4", "priority": "P1", "due": "2026-12-01"}},
			{At: at(56), Actor: "U3", Kind: incident.KindAction, Raw: "action add Lint pool sizes in deploy review", Outcome: ok,
				Detail: map[string]string{"action": "add", "id": "4", "text": "Lint pool sizes in deploy review", "priority": "P2", "due": "2026-12-24"}},
			{At: at(58), Actor: "U4", Kind: incident.KindAction, Raw: "action done 3", Outcome: ok, Detail: map[string]string{"action": "done", "id": "3", "text": "Alert when the card pool is saturated"}},
		},
		Actions: []incident.ActionItem{
			{ID: 3, Incident: 12, Text: "Alert when the card pool is saturated", Owner: "U4", Priority: incident.P1, Due: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
				Status: incident.ActionDone, Closed: at(58), Ticket: "OPS-42", TicketURL: "https://example.atlassian.net/browse/OPS-42"},
			{ID: 4, Incident: 12, Text: "Lint pool sizes | in deploy review", Priority: incident.P2, Due: time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC), Status: incident.ActionOpen},
			{ID: 5, Incident: 12, Text: "Runbook for card auth failover", Owner: "U3", Priority: incident.P1, Due: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), Status: incident.ActionOpen},
		}}
}

func TestGoldenDraft(t *testing.T) {
	set, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	w, err := postmortem.NewWriter(set)
	if err != nil {
		t.Fatal(err)
	}
	got, err := w.Write(scripted())
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "INC-12.md")
	if *update {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(golden, []byte(got), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("draft differs from %s (run with -update after checking):\n%s", golden, got)
	}
	for _, must := range []string{
		"| Service | payments |", "[OPS-41](https://example.atlassian.net/browse/OPS-41)",
		"| Acknowledged | 2026-11-24 14:02:00 UTC | 2m00s |", "| Resolved | 2026-11-24 14:48:00 UTC | 48m00s |",
		"assess 3m00s · communicate 17m00s · respond 28m00s · document 1h12m",
		"> We are investigating failed card payments.\n> Next update by 14:36 UTC.",
		"**ROLE** | commander: @alice → @carol (PagerDuty: carol)", "**SEVERITY** | Severity SEV3 → SEV2", "**PAGE** | Paged payments: db connections exhausted",
		"**ALERT**", "**rejected** | 3 commands were rejected", "Checkout returns 500s \\| card auth",
		"| 14:17:00 | @dave | **note** | Deploy 13:55 changed the card client's pool size \\| 5 → 1 |",
		"| AI-5 | Runbook for card auth failover | @carol | P1 | 2026-11-20 | **overdue** |",
		"| AI-4 | Lint pool sizes \\| in deploy review | nobody yet | P2 | 2026-12-24 | open |",
		"| [AI-3](https://example.atlassian.net/browse/OPS-42) | Alert when the card pool is saturated | @dave | P1 | 2026-12-01 | done 2026-11-24 |",
		"**ACTION ITEM** | AI-3 add: Alert when the card pool is saturated (@dave, P1, due 2026-12-01)",
		"## Analysis", "## Conclusions", "## Recommendations", "## Appendices", "where did we get lucky",
	} {
		if !strings.Contains(strings.ToLower(got), strings.ToLower(must)) {
			t.Errorf("draft lacks %q", must)
		}
	}
	if strings.Contains(got, "**timeline**") {
		t.Error("reads of the timeline are bookkeeping and should not be in the draft")
	}
}

func TestABrokenOverrideStopsAtStart(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, templates.PostmortemFile), []byte("# {{.Nope}}\n"), 0o644)
	set, err := templates.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := postmortem.NewWriter(set); err == nil || !strings.Contains(err.Error(), "postmortem.md.tmpl does not render") {
		t.Fatalf("a broken override: %v", err)
	}
	os.WriteFile(filepath.Join(dir, templates.PostmortemFile), []byte("# Our own format: {{.Ref}} {{.Title}}\n"), 0o644)
	set, _ = templates.Load(dir)
	w, err := postmortem.NewWriter(set)
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := w.Write(scripted()); out != "# Our own format: INC-12 Checkout returns 500s | card auth\n" {
		t.Errorf("override: %q", out)
	}
}

// BenchmarkRender renders the draft of an incident with 5,000 and 10,000
// timeline entries: time and memory should double, not more.
func BenchmarkRender(b *testing.B) {
	for _, n := range []int{5000, 10000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			in := scripted()
			base := in.Entries
			for len(in.Entries) < n {
				for _, e := range base {
					e.At = e.At.Add(time.Duration(len(in.Entries)) * time.Second)
					in.Entries = append(in.Entries, e)
				}
			}
			in.Entries = in.Entries[:n]
			set, _ := templates.Load("")
			w, _ := postmortem.NewWriter(set)
			b.ReportAllocs()
			var size int
			for b.Loop() {
				out, err := w.Write(in)
				if err != nil {
					b.Fatal(err)
				}
				size = len(out)
			}
			b.ReportMetric(float64(size)/1024, "KB")
		})
	}
}

// FuzzDraft writes drafts whose title, note and action item hold hostile
// text: the timeline and recommendations tables keep one row per entry and
// item, whatever pipes or line breaks the text has.
func FuzzDraft(f *testing.F) {
	f.Add("Checkout | down", "line one\nline two | three", "fix it\r\n| x |")
	f.Add(`<script>alert(1)</script>`, "[x](javascript:alert(1))", "\u202e\x00")
	set, _ := templates.Load("")
	w, err := postmortem.NewWriter(set)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, title, note, action string) {
		in := scripted()
		in.Incident.Title = title
		in.Entries[13].Detail = map[string]string{"text": note}
		in.Actions[1].Text = action
		md, err := w.Write(in)
		if err != nil {
			t.Fatal(err)
		}
		section := func(from, to string) string {
			_, after, _ := strings.Cut(md, from)
			body, _, _ := strings.Cut(after, to)
			return body
		}
		rows := func(s string) int { return strings.Count(s, "\n| ") }
		if got, want := rows(section("## Timeline", "\n## ")), len(postmortem.Build(in).Timeline)+1; got != want {
			t.Fatalf("timeline table has %d rows, want %d:\n%s", got, want, md)
		}
		if got := rows(section("## Recommendations", "## Appendices")); got != len(in.Actions)+1 {
			t.Fatalf("recommendations table has %d rows, want %d:\n%s", got, len(in.Actions)+1, md)
		}
	})
}

// TestNamesNotIDs: Slack's <@U…> tokens in what people typed and in the
// replies they got read as names in the draft.
func TestNamesNotIDs(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	inc := &incident.Incident{Number: 1, Title: "x", Severity: incident.SEV2, DeclaredBy: "U1", Commander: "U2", DeclaredAt: at}
	r := postmortem.Build(postmortem.Input{Incident: inc, Names: map[string]string{"U1": "alice", "U2": "bob"}, Entries: []incident.Entry{
		{At: at, Actor: "U1", Kind: "resolve", Raw: "resolve", Outcome: "Only the commander (<@U2>) can resolve INC-1."},
		{At: at, Actor: "U1", Kind: "note", Outcome: incident.OutcomeOK, Detail: map[string]string{"text": "asked <@U2|bob> to roll back"}},
	}})
	var all []string
	for _, l := range r.Timeline {
		all = append(all, l.Who+" "+l.Text)
	}
	got := strings.Join(all, "\n")
	if strings.Contains(got, "U2") || !strings.Contains(got, "Only the commander (@bob)") || !strings.Contains(got, "asked @bob to roll back") {
		t.Errorf("timeline:\n%s", got)
	}
}

// TestADraftIsBounded: 20,000 notes of 3,000 characters each (a 60 MB
// timeline) make a draft people can open, whose folded middle says where
// the rest is.
func TestADraftIsBounded(t *testing.T) {
	in := scripted()
	note := strings.Repeat("word ", 600)
	at := in.Entries[len(in.Entries)-1].At
	for i := 0; i < 20000; i++ {
		in.Entries = append(in.Entries, incident.Entry{At: at.Add(time.Duration(i) * time.Second), Actor: "U2", Kind: "note", Outcome: incident.OutcomeOK, Detail: map[string]string{"text": note}})
	}
	set, _ := templates.Load("")
	w, _ := postmortem.NewWriter(set)
	md, err := w.Write(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(md) > 1<<20 {
		t.Errorf("the draft is %d KB", len(md)>>10)
	}
	if !strings.Contains(md, "are not shown here; the full timeline: `warroom incidents show INC-12`") {
		t.Error("the folded timeline does not say where the rest is")
	}
	t.Logf("draft: %d KB for %d entries", len(md)>>10, len(in.Entries))
}

// A multi-day incident's draft dates its times; a one-day one does not.
func TestMultiDayDraftHasDates(t *testing.T) {
	set, _ := templates.Load("")
	w, err := postmortem.NewWriter(set)
	if err != nil {
		t.Fatal(err)
	}
	in := scripted()
	md, _ := w.Write(in)
	if strings.Contains(md, "Tue 24 Nov 14:") {
		t.Errorf("a one-day incident's timeline carries dates")
	}
	in.Incident.ResolvedAt = in.Incident.DeclaredAt.Add(26 * time.Hour)
	md, _ = w.Write(in)
	if !strings.Contains(md, "| Tue 24 Nov 14:00:00 |") {
		t.Errorf("a two-day incident's timeline has no dates:\n%s", md)
	}
}
