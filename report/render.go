package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/warroom/warroom/internal/mrkdwn"
	"github.com/warroom/warroom/templates"
)

// Who names a Slack user ID in a document: "@alice", or "<@U1>" in Slack.
type Who func(id string) string

// JSON writes the report as indented JSON.
func JSON(w io.Writer, r Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Markdown renders the whole report, every item, for archiving or mail.
func Markdown(r Report, who Who, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	var b strings.Builder
	b.Grow(256 + 160*(len(r.Open)+len(r.ClosedThisWeek)+len(r.Incidents)))
	fmt.Fprintf(&b, "# Weekly action-item report, %s\n\n", r.To.In(loc).Format("Mon 2 Jan 2006"))
	fmt.Fprintf(&b, "Week %s to %s (%s). Written by warroom.\n\n", r.From.In(loc).Format("2006-01-02 15:04"), r.To.In(loc).Format("2006-01-02 15:04"), loc)
	fmt.Fprintf(&b, "**%s.**\n\n", headline(r))

	table := func(title string, n int, empty, header string, row func(i int) string) {
		if title != "" {
			fmt.Fprintf(&b, "%s (%d)\n\n", title, n)
		}
		if n == 0 {
			b.WriteString(empty + "\n\n")
			return
		}
		cols := strings.Count(header, "|") - 1
		b.WriteString(header + "\n|" + strings.Repeat("---|", cols) + "\n")
		for i := range n {
			b.WriteString("| " + row(i) + " |\n")
		}
		b.WriteByte('\n')
	}
	table("## Overdue", len(r.Overdue), "Nothing is overdue.", "| item | incident | priority | owner | due | overdue by | action |", func(i int) string {
		it := r.Overdue[i]
		return fmt.Sprintf("%s | %s | %s | %s | %s | %dd | %s", ref(it), it.Incident, it.Priority, owner(who, it.Owner), it.Due, it.OverdueDays, cell(it.Text))
	})
	table("## Open, by priority", len(r.Open), "No open action items.", "| item | incident | priority | owner | due | action |", func(i int) string {
		it := r.Open[i]
		due := orDash(it.Due)
		if it.OverdueDays > 0 {
			due += " **overdue**"
		}
		return fmt.Sprintf("%s | %s | %s | %s | %s | %s", ref(it), it.Incident, it.Priority, owner(who, it.Owner), due, cell(it.Text))
	})
	if r.Private.Open > 0 {
		fmt.Fprintf(&b, "%s.\n\n", privateItems(r.Private))
	}
	if len(r.ByOwner) > 0 {
		table("### Open, by owner", len(r.ByOwner), "", "| owner | open | P1 | overdue |", func(i int) string {
			o := r.ByOwner[i]
			return fmt.Sprintf("%s | %d | %d | %d", owner(who, o.Owner), o.Open, o.P1, o.Overdue)
		})
	}
	table("## Closed this week", len(r.ClosedThisWeek), "Nothing was closed this week.", "| item | incident | priority | owner | closed | action |", func(i int) string {
		it := r.ClosedThisWeek[i]
		return fmt.Sprintf("%s | %s | %s | %s | %s | %s", ref(it), it.Incident, it.Priority, owner(who, it.Owner), it.Closed.In(loc).Format(time.DateOnly), cell(it.Text))
	})
	b.WriteString("## Closed within 30 days of their incident\n\n")
	rates := []Rate{r.Closure.ThisQuarter, r.Closure.LastQuarter}
	table("", len(rates), "", "| quarter | closed in time | late | still inside 30 days | share in time |", func(i int) string {
		q := rates[i]
		return fmt.Sprintf("%s | %d | %d | %d | %s", q.Quarter, q.InTime, q.Late, q.Pending, percent(q))
	})
	b.WriteString("An item counts for the quarter its incident was declared in.\n\n")
	table("## Incidents this week", len(r.Incidents), "No incidents were declared this week.", "| incident | severity | service | declared | time to resolve | open action items | title |", func(i int) string {
		in := r.Incidents[i]
		return fmt.Sprintf("%s | %s | %s | %s | %s | %d | %s", in.Ref, in.Severity, orDash(in.Service), in.Declared.In(loc).Format("2006-01-02 15:04"), ttr(in), in.Open, cell(in.Title))
	})
	if r.Private.Incidents > 0 {
		fmt.Fprintf(&b, "%s.\n\n", privateIncidents(r.Private))
	}
	table("## Overnight responders: a day to recover", len(r.Overnight), "Nobody worked on an incident between 00:00 and 06:00 this week.", "| person | incidents worked on in the night |", func(i int) string {
		o := r.Overnight[i]
		return fmt.Sprintf("%s | %s", owner(who, o.Person), strings.Join(o.Incidents, ", "))
	})
	b.WriteString("## Recurring: most affected services and components, last 90 days\n\n")
	table("", len(r.TopServices), "No incident named a service or component.", "| name | kind | incidents | SEV1 or SEV2 |", func(i int) string {
		s := r.TopServices[i]
		return fmt.Sprintf("%s | %s | %d | %d", cell(s.Name), s.Kind, s.Incidents, s.Severe)
	})
	return b.String()
}

// SlackShown is how many lines each list of the Slack post shows.
const SlackShown = 10

// Slack renders the report as one Slack message: the headline, then each
// list cut to SlackShown lines, with the command that prints all of it.
func Slack(r Report, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	who := func(id string) string {
		if id == "" {
			return "_nobody_"
		}
		return "<@" + id + ">"
	}
	text := func(s string) string { return mrkdwn.EscapeUser(clip(oneLine(s), 120)) }
	var b strings.Builder
	fmt.Fprintf(&b, ":clipboard: *Weekly action-item report* — week to %s\n%s.\n", r.To.In(loc).Format("Mon 2 Jan 15:04 MST"), headline(r))
	section := func(title string, n int, lines func(int) string, empty string) {
		fmt.Fprintf(&b, "\n*%s (%d)*\n", title, n)
		if n == 0 {
			b.WriteString(empty + "\n")
			return
		}
		for i := 0; i < min(n, SlackShown); i++ {
			b.WriteString(lines(i) + "\n")
		}
		if n > SlackShown {
			fmt.Fprintf(&b, "_…and %d more: `warroom report weekly`_\n", n-SlackShown)
		}
	}
	section(":warning: Overdue", len(r.Overdue), func(i int) string {
		it := r.Overdue[i]
		return fmt.Sprintf("• *%s* (%s) %s %s — %s, %s past %s", it.Ref, it.Incident, it.Priority, text(it.Text), who(it.Owner), templates.Count(it.OverdueDays, "day"), it.Due)
	}, "Nothing is overdue.")
	section("Open by priority", len(r.Open), func(i int) string {
		it := r.Open[i]
		return fmt.Sprintf("• *%s* (%s) %s %s — %s, due %s", it.Ref, it.Incident, it.Priority, text(it.Text), who(it.Owner), orDash(it.Due))
	}, "No open action items.")
	if r.Private.Open > 0 {
		fmt.Fprintf(&b, "_%s._\n", privateItems(r.Private))
	}
	section("Open by owner", len(r.ByOwner), func(i int) string {
		o := r.ByOwner[i]
		return fmt.Sprintf("• %s: %d open (%d P1, %d overdue)", who(o.Owner), o.Open, o.P1, o.Overdue)
	}, "Nobody owes anything.")
	section(":white_check_mark: Closed this week", len(r.ClosedThisWeek), func(i int) string {
		it := r.ClosedThisWeek[i]
		return fmt.Sprintf("• *%s* (%s) %s — %s", it.Ref, it.Incident, text(it.Text), who(it.Owner))
	}, "Nothing was closed this week.")
	section("Incidents this week", len(r.Incidents), func(i int) string {
		in := r.Incidents[i]
		svc := ""
		if in.Service != "" {
			svc = " [" + text(in.Service) + "]"
		}
		return fmt.Sprintf("• *%s* %s%s %s — resolved in %s, %s", in.Ref, in.Severity, svc, text(in.Title), ttr(in), templates.Count(in.Open, "open action item"))
	}, "No incidents this week.")
	if r.Private.Incidents > 0 {
		fmt.Fprintf(&b, "_%s._\n", privateIncidents(r.Private))
	}
	section(":crescent_moon: Overnight responders: a day to recover", len(r.Overnight), func(i int) string {
		o := r.Overnight[i]
		return fmt.Sprintf("• %s: %s", who(o.Person), strings.Join(o.Incidents, ", "))
	}, "Nobody worked on an incident between 00:00 and 06:00 this week.")
	section("Recurring (90 days)", len(r.TopServices), func(i int) string {
		s := r.TopServices[i]
		return fmt.Sprintf("• %s %s: %s, %d SEV1/SEV2", s.Kind, text(s.Name), templates.Count(s.Incidents, "incident"), s.Severe)
	}, "No incident named a service or component.")
	b.WriteString("\nYour own items: `/incident action list mine` · close one: `/incident action done <id>`")
	return b.String()
}

// privateItems and privateIncidents say what the lists leave out, and
// where its members find it.
func privateItems(p PrivateCounts) string {
	return fmt.Sprintf("Also %s of private incidents (%d overdue), not listed here: their members see them with `/incident action list`",
		templates.Count(p.Open, "open item"), p.Overdue)
}

func privateIncidents(p PrivateCounts) string {
	return fmt.Sprintf("Also %s, not listed here", templates.Count(p.Incidents, "private incident"))
}

func headline(r Report) string {
	t, l := r.Closure.ThisQuarter, r.Closure.LastQuarter
	return fmt.Sprintf("%s, %d overdue; %d closed this week. Closed within 30 days: %s %s (%d of %d, %d still inside their 30 days), %s %s (%d of %d)",
		templates.Count(r.OpenCount, "open action item"), r.OverdueCount, len(r.ClosedThisWeek)+r.Private.Closed, t.Quarter, percent(t), t.InTime, t.InTime+t.Late, t.Pending, l.Quarter, percent(l), l.InTime, l.InTime+l.Late)
}

func percent(q Rate) string {
	if q.InTime+q.Late == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f%%", q.Percent)
}

func ttr(i IncidentRow) string {
	if i.ToResolve == 0 {
		return "still " + i.Status
	}
	d := i.ToResolve.Round(time.Minute)
	if d >= 24*time.Hour {
		return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

func ref(it Item) string {
	if it.TicketURL != "" {
		return "[" + it.Ref + "](" + it.TicketURL + ")"
	}
	return it.Ref
}

func owner(who Who, id string) string {
	if id == "" {
		return "nobody yet"
	}
	return cell(who(id))
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// cell makes text safe inside a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(oneLine(s), "|", "\\|")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
