// Package postmortem writes an incident's postmortem draft from its record:
// the timeline, the public updates as sent, the roles and the links. The
// draft is blameless and follows the seed's structure: facts, analysis,
// conclusions, recommendations, appendices. It renders templates' postmortem
// template, so a team with its own format changes one file.
//
// It reads the domain's types and nothing else of warroom's.
package postmortem

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/internal/mrkdwn"
	"github.com/warroom/warroom/templates"
)

// Input is everything a draft is written from.
type Input struct {
	Incident *incident.Incident
	Entries  []incident.Entry
	Updates  []incident.PublicUpdate
	Links    []incident.Link
	// Actions are the incident's action items: the recommendations.
	Actions []incident.ActionItem
	// Names maps Slack user IDs to display names; IDs not in it show as @ID.
	Names map[string]string
	// Generated is when the draft is written; Version its number.
	Generated time.Time
	Version   int
}

// Report is what the template sees.
type Report struct {
	Ref, Title, Severity, Status, Service string
	Description, Impact                   string
	Commander, Communicator, DeclaredBy   string
	Roles                                 []Role
	Components                            []Role
	Links                                 []incident.Link

	Declared, Acknowledged, Mitigated, Resolved, Closed time.Time
	ToAcknowledge, ToMitigate, ToResolve                time.Duration
	Stages                                              []Stage

	Timeline []Line
	Updates  []Update
	Alerts   []Line // alerts grouped into the incident and pages sent
	Counts   Counts
	// Recommendations are the action items, open first by priority.
	Recommendations []Recommendation
	// Checklist is what the responders' checklist says was done, when
	// and by whom, and what was never done.
	Checklist []Step

	Generated time.Time
	Version   int
	// MultiDay is true when the incident spans more than one day (UTC):
	// its times then carry their dates.
	MultiDay bool
}

// Role is a named role (or component) and who (or what state) fills it.
type Role struct{ Name, Value string }

// Stage is time spent in one stage.
type Stage struct {
	Name     string
	Start    time.Time
	Duration time.Duration
}

// Line is one line of the timeline.
type Line struct {
	At    time.Time
	Who   string
	Mark  string // what kind of moment: NOTE, STATUS, ROLE, PAGE, ALERT, SEVERITY, UPDATE, ...
	Text  string
	Count int // folded: how many entries this line stands for (0 or 1: one)
}

// Recommendation is one action item as the postmortem lists it.
type Recommendation struct {
	Ref, Text, Owner, Priority, Due, Status string
	Ticket, TicketURL                       string
}

// Step is one checklist step as the draft lists it.
type Step struct {
	Number          int
	Stage, Text     string
	Link            string
	Done            bool
	At              time.Time
	Who             string
	Optional, Added bool // optional; added to this incident alone
}

// Update is a public update as it was sent.
type Update struct {
	At     time.Time
	Status string
	Author string
	Body   string
}

// Counts summarise the timeline.
type Counts struct{ Entries, Notes, Updates, Rejected, Pages, Alerts int }

// marks name the kinds of timeline entries, so role changes, pages, alerts
// and severity changes stand out from notes.
var marks = map[string]string{
	"declare": "DECLARED", "note": "note", "status": "STATUS", "publish": "PUBLIC UPDATE", "severity": "SEVERITY",
	"commander": "ROLE", "communicator": "ROLE", "role": "ROLE", incident.KindOnCallAssigned: "ROLE",
	"page": "PAGE", "page_acknowledged": "PAGE", "page_resolved": "PAGE", "alert_grouped": "ALERT", "alert_acknowledged": "ALERT",
	"alert_resolved": "ALERT", "alert_split": "ALERT", "resolve": "RESOLVED", "reopen": "REOPENED", "close": "CLOSED",
	"impact": "IMPACT", "components": "COMPONENTS", "war_room": "SLACK", "link": "LINK", incident.KindNotice: "warroom",
	incident.KindReminder: "reminder", "snooze": "reminder", incident.KindSlackError: "warroom",
	incident.KindAction: "ACTION ITEM", incident.KindPostmortem: "POSTMORTEM", incident.KindChecklist: "CHECKLIST",
	incident.KindConversation: "conversation", incident.KindCapture: "conversation",
}

// quiet kinds are bookkeeping that a reader of the postmortem does not need.
var quiet = map[string]bool{"timeline": true, "help": true, "list": true, "update": true}

// Build turns the record into the report.
func Build(in Input) Report {
	inc := in.Incident
	name := func(u string) string {
		switch {
		case u == "":
			return "nobody"
		case u == incident.SystemActor:
			return "warroom"
		case u == incident.AlertActor:
			return "PagerDuty"
		case in.Names[u] != "":
			return "@" + in.Names[u]
		}
		return "@" + u
	}
	// Slack's <@U1> tokens in what people typed read as names.
	readable := func(s string) string { return mrkdwn.Readable(s, func(id string) string { return in.Names[id] }) }
	d := inc.Durations()
	r := Report{Ref: inc.Ref(), Title: inc.Title, Severity: inc.Severity.String(), Status: string(inc.Status), Service: inc.Service,
		Description: inc.Description, Impact: inc.Impact, Commander: name(inc.Commander), Communicator: name(inc.Communicator),
		DeclaredBy: name(inc.DeclaredBy), Links: in.Links,
		Declared: inc.DeclaredAt, Acknowledged: inc.AcknowledgedAt, Mitigated: inc.MitigatedAt, Resolved: inc.ResolvedAt, Closed: inc.ClosedAt,
		ToAcknowledge: d.ToAcknowledge, ToMitigate: d.ToMitigate, ToResolve: d.ToResolve, Generated: in.Generated, Version: in.Version}
	for _, role := range inc.RoleNames() {
		r.Roles = append(r.Roles, Role{role, name(inc.Roles[role])})
	}
	for _, c := range inc.ComponentNames() {
		r.Components = append(r.Components, Role{c, strings.ReplaceAll(string(inc.Components[c]), "_", " ")})
	}
	for _, u := range in.Updates {
		r.Updates = append(r.Updates, Update{At: u.At, Status: string(u.Status), Author: name(u.Author), Body: u.Body})
	}
	r.Stages = stages(inc, in.Entries, in.Generated)
	end := inc.ResolvedAt
	if end.IsZero() {
		end = in.Generated
	}
	r.MultiDay = inc.DeclaredAt.UTC().Format(time.DateOnly) != end.UTC().Format(time.DateOnly)
	for i, st := range inc.Checklist {
		if !st.Done() && st.DoneWhen == incident.TriggerPostmortemWritten {
			// This draft is the step done: warroom ticks it as the draft is saved.
			st.DoneAt, st.DoneBy = in.Generated, incident.SystemActor
		}
		r.Checklist = append(r.Checklist, Step{Number: i + 1, Stage: string(st.Stage), Text: readable(st.Text), Link: st.Link,
			Done: st.Done(), At: st.DoneAt, Who: name(st.DoneBy), Optional: st.Optional, Added: st.AddedBy != ""})
	}
	r.Recommendations = recommendations(in.Actions, name, in.Generated)
	for i := range r.Recommendations {
		r.Recommendations[i].Text = readable(r.Recommendations[i].Text)
	}
	for _, e := range in.Entries {
		if (quiet[e.Kind] || (e.Kind == incident.KindChecklist && e.Detail["action"] == "") ||
			(e.Kind == incident.KindCapture && e.Detail["action"] == "add")) && e.OK() {
			continue // reads (/incident checklist alone), and asking for a message: the message itself follows
		}
		if e.Kind == incident.KindCapture && !e.OK() {
			continue // a message asked for twice: a reaction, not a command
		}
		r.Counts.Entries++
		line := Line{At: e.At, Who: name(e.Actor), Mark: marks[e.Kind], Text: readable(describe(e, name))}
		if t := e.Detail["checklist_ticked"]; t != "" {
			line.Text += " (checklist: " + readable(strings.ReplaceAll(t, "\n", "; ")) + " done)"
		}
		if line.Mark == "" {
			line.Mark = e.Kind
		}
		switch {
		case !e.OK() && e.Actor == incident.SystemActor:
			// warroom's own failure (a Slack call): not a command anyone typed.
			line.Text = readable(oneLine(e.Raw, 120)) + " failed: " + readable(oneLine(e.Outcome, 160))
		case !e.OK():
			r.Counts.Rejected++
			line.Mark, line.Text = "rejected", fmt.Sprintf("`/incident %s` — %s", readable(oneLine(e.Raw, 120)), readable(oneLine(e.Outcome, 160)))
			// Consecutive rejected commands fold into one line.
			if n := len(r.Timeline); n > 0 && r.Timeline[n-1].Mark == "rejected" {
				last := &r.Timeline[n-1]
				last.Count = max(last.Count, 1) + 1
				last.Text = fmt.Sprintf("%d commands were rejected (the last: %s)", last.Count, line.Text)
				continue
			}
		case e.Kind == "note":
			r.Counts.Notes++
		case e.Kind == "publish":
			r.Counts.Updates++
		case line.Mark == "PAGE" && e.Kind == "page":
			r.Counts.Pages++
			r.Alerts = append(r.Alerts, line)
		case line.Mark == "ALERT" || (e.Kind == "declare" && e.Actor == incident.AlertActor):
			r.Counts.Alerts++
			r.Alerts = append(r.Alerts, line)
		}
		r.Timeline = append(r.Timeline, line)
	}
	r.Timeline = fold(r.Timeline, MaxTimeline, r.Ref)
	r.Alerts = fold(r.Alerts, MaxTimeline/4, r.Ref)
	if len(r.Updates) > MaxUpdates {
		// The first and the latest updates tell the public story; the rest
		// are in the record.
		keep := append(append([]Update(nil), r.Updates[:MaxUpdates/2]...), Update{Status: "…",
			Body: fmt.Sprintf("%d updates in between are not shown here; all of them: `warroom incidents show %s`", len(r.Updates)-MaxUpdates, r.Ref)})
		r.Updates = append(keep, r.Updates[len(r.Updates)-MaxUpdates/2:]...)
	}
	return r
}

// Limits on a draft, so that an incident with thousands of notes still
// makes a document people can open (and a server can serve): the timeline
// keeps its first and last lines, the text of a line is clipped, and the
// rest is named, with where to read it.
const (
	MaxTimeline = 1000 // lines of the timeline
	MaxUpdates  = 60   // public updates quoted in full
	MaxLineText = 500  // characters of one timeline line
)

// fold keeps the first and last of lines when there are more than max,
// with a line between that says how many are left out and where they are.
func fold(lines []Line, max int, ref string) []Line {
	for i := range lines {
		lines[i].Text = oneLine(lines[i].Text, MaxLineText)
	}
	if len(lines) <= max {
		return lines
	}
	head, tail := lines[:max/4], lines[len(lines)-(max-max/4):]
	gap := Line{At: head[len(head)-1].At, Who: "warroom", Mark: "…",
		Text: fmt.Sprintf("%d entries from %s to %s are not shown here; the full timeline: `warroom incidents show %s`",
			len(lines)-len(head)-len(tail), lines[len(head)].At.UTC().Format("15:04:05"), lines[len(lines)-len(tail)-1].At.UTC().Format("15:04:05"), ref)}
	return append(append(append([]Line(nil), head...), gap), tail...)
}

// describe says what an entry did, from its recorded detail.
func describe(e incident.Entry, name func(string) string) string {
	d := e.Detail
	switch e.Kind {
	case "declare":
		return fmt.Sprintf("Declared %s: %s", d["severity"], d["title"])
	case "severity":
		return fmt.Sprintf("Severity %s → %s", d["from"], d["to"])
	case "commander", "communicator", "role", incident.KindOnCallAssigned:
		s := fmt.Sprintf("%s: %s → %s", d["role"], name(d["from"]), name(d["to"]))
		if d["source"] != "" {
			s += " (" + d["source"] + ")"
		}
		return s
	case "status":
		s := fmt.Sprintf("Status %s → %s", d["from"], d["to"])
		if d["message"] != "" {
			s += ": " + d["message"]
		}
		return s
	case "publish":
		return fmt.Sprintf("Public update (%s) published; text under Facts", d["to"])
	case "resolve":
		return strings.TrimSpace("Resolved. " + d["summary"])
	case "note":
		return d["text"]
	case incident.KindConversation:
		whose := "A captured message"
		if d["author"] != "" {
			whose = name(d["author"]) + "'s captured message"
		}
		if d["was"] != "" {
			whose += fmt.Sprintf(" (“%s”)", oneLine(d["was"], 80))
		}
		switch d["change"] {
		case "edit":
			return whose + " was edited in Slack: " + d["text"]
		case "delete":
			return whose + " was deleted in Slack (kept here)"
		}
		s := name(d["author"]) + ": " + d["text"]
		for _, f := range strings.Split(d["files"], "\n") {
			if n, u, ok := strings.Cut(f, "\t"); ok && webLink(u) {
				s += fmt.Sprintf(" · [%s](%s)", strings.NewReplacer("[", "", "]", "").Replace(n), u)
			}
		}
		if webLink(d["permalink"]) {
			s += " · [message](" + d["permalink"] + ")"
		}
		if d["comment"] != "" {
			s += " — " + name(e.Actor) + ": " + d["comment"]
		}
		return s
	case incident.KindCapture:
		return "Took a message out of the timeline"
	case incident.KindChecklist:
		if d["action"] == "add" {
			return fmt.Sprintf("Checklist step %s added (%s): %s", d["step"], d["step_stage"], d["text"])
		}
		return fmt.Sprintf("Checklist step %s %s: %s", d["step"], d["action"], d["text"])
	case "impact":
		return "Impact: " + d["to"]
	case incident.KindAction:
		s := fmt.Sprintf("AI-%s %s: %s", d["id"], d["action"], d["text"])
		if d["action"] == "assign" || d["action"] == "add" {
			s += fmt.Sprintf(" (%s, %s, due %s)", name(d["owner"]), d["priority"], d["due"])
		}
		return s
	case "page":
		s := "Paged " + d["target"]
		if d["message"] != "" {
			s += ": " + d["message"]
		}
		return s
	}
	return oneLine(e.Raw, 300)
}

// recommendations lists the action items, open ones first, then by
// priority and id.
func recommendations(items []incident.ActionItem, name func(string) string, now time.Time) []Recommendation {
	sorted := slices.Clone(items)
	slices.SortStableFunc(sorted, func(a, b incident.ActionItem) int {
		if a.Status != b.Status {
			return strings.Compare(string(b.Status), string(a.Status)) // open before done
		}
		if a.Priority != b.Priority {
			return int(a.Priority - b.Priority)
		}
		return int(a.ID - b.ID)
	})
	out := make([]Recommendation, 0, len(sorted))
	for _, a := range sorted {
		owner := "nobody yet"
		if a.Owner != "" {
			owner = name(a.Owner)
		}
		status := string(a.Status)
		switch {
		case a.Status == incident.ActionDone:
			status = "done " + a.Closed.UTC().Format(time.DateOnly)
		case !now.IsZero() && a.Overdue(now):
			status = "**overdue**"
		}
		r := Recommendation{Ref: a.Ref(), Text: a.Text, Owner: owner, Priority: a.Priority.String(), Status: status, Ticket: a.Ticket, TicketURL: a.TicketURL}
		if !a.Due.IsZero() {
			r.Due = a.Due.Format(time.DateOnly)
		}
		out = append(out, r)
	}
	return out
}

// stages is the time spent in each stage, from the entries that moved it.
func stages(inc *incident.Incident, entries []incident.Entry, now time.Time) []Stage {
	type mark struct {
		stage string
		at    time.Time
	}
	marks := []mark{{string(incident.StageAssess), inc.DeclaredAt}}
	for _, e := range entries {
		if st := e.Detail["stage"]; st != "" && e.OK() {
			marks = append(marks, mark{st, e.At})
		}
	}
	end := now
	if !inc.ClosedAt.IsZero() {
		end = inc.ClosedAt
	}
	total := map[string]time.Duration{}
	first := map[string]time.Time{}
	for i, m := range marks {
		until := end
		if i+1 < len(marks) {
			until = marks[i+1].at
		}
		if m.stage == string(incident.StageClosed) {
			continue
		}
		total[m.stage] += until.Sub(m.at)
		if _, ok := first[m.stage]; !ok {
			first[m.stage] = m.at
		}
	}
	var out []Stage
	for _, st := range []incident.Stage{incident.StageAssess, incident.StageCommunicate, incident.StageRespond, incident.StageDocument} {
		if t, ok := first[string(st)]; ok {
			out = append(out, Stage{Name: string(st), Start: t, Duration: total[string(st)]})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// Writer renders drafts with a template set's postmortem template.
type Writer struct {
	t      *template.Template
	source string
}

// NewWriter checks the set's postmortem template by rendering a sample, so
// a broken override stops warroom at start, naming the file.
func NewWriter(set *templates.Set) (*Writer, error) {
	t, src := set.Postmortem()
	w := &Writer{t: t, source: src}
	out, err := w.Render(Sample())
	if err != nil {
		return nil, fmt.Errorf("templates: %s does not render: %w", src, err)
	}
	if strings.TrimSpace(out) == "" {
		return nil, fmt.Errorf("templates: %s renders nothing", src)
	}
	return w, nil
}

// Render writes the draft.
func (w *Writer) Render(r Report) (string, error) {
	var b strings.Builder
	if err := w.t.Execute(&b, r); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Write builds and renders the draft in one step.
func (w *Writer) Write(in Input) (string, error) { return w.Render(Build(in)) }

// Sample is a report with every field set, for checking templates.
func Sample() Report {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	inc := &incident.Incident{Number: 7, Title: "Checkout returns 500s", Severity: incident.SEV1, Status: incident.StatusResolved,
		Stage: incident.StageDocument, DeclaredBy: "U1", Commander: "U2", Communicator: "U3", Service: "payments",
		Roles: map[string]string{"scribe": "U4"}, Components: map[string]incident.ComponentStatus{"checkout": incident.MajorOutage},
		Impact: "Card payments failed for some customers.", DeclaredAt: t0, AcknowledgedAt: t0.Add(2 * time.Minute),
		MitigatedAt: t0.Add(20 * time.Minute), ResolvedAt: t0.Add(35 * time.Minute)}
	return Build(Input{Incident: inc, Generated: t0.Add(time.Hour), Version: 1,
		Names:   map[string]string{"U1": "alice", "U2": "bob", "U3": "carol", "U4": "dave"},
		Links:   []incident.Link{{System: "jira", Ref: "OPS-1", URL: "https://example.atlassian.net/browse/OPS-1"}},
		Updates: []incident.PublicUpdate{{At: t0.Add(5 * time.Minute), Author: "U3", Status: incident.StatusInvestigating, Body: "We are investigating."}},
		Entries: []incident.Entry{
			{At: t0, Actor: "U1", Kind: "declare", Outcome: incident.OutcomeOK, Detail: map[string]string{"title": inc.Title, "severity": "SEV1"}},
			{At: t0.Add(time.Minute), Actor: "U2", Kind: "note", Outcome: incident.OutcomeOK, Detail: map[string]string{"text": "rolled back"}},
		}})
}

// webLink reports whether u may be a Markdown link target: http(s), and
// nothing that ends one.
func webLink(u string) bool {
	return (strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) && !strings.ContainsAny(u, "()<> \t\n")
}
