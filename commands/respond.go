package commands

// The respond stage: paging people, notes, the timeline, and alerts from
// monitoring.

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/warroom/warroom/incident"
)

func pageSpec() *spec {
	return &spec{
		Usage: Usage{"page", "/incident page <service|@user> [message]", "Page a service's on-call or a person through PagerDuty.", "/incident page payments card auth failing"},
		parse: func(c *Command, rest, _ string) error {
			w, r := next(rest)
			if w == "" {
				return errUser("Say whom to page: a service or a person, e.g. `/incident page payments card auth failing` or `/incident page @alice`.")
			}
			if m := mention.FindStringSubmatch(w); m != nil {
				w = "@" + m[1]
			} else if strings.HasPrefix(w, "@") || strings.HasPrefix(w, "<") {
				return errUser("Pick the person from Slack's list after @, so it becomes a mention, e.g. `/incident page @alice`.")
			}
			c.Target, c.Text = w, r
			return nil
		},
		run: (*Dispatcher).runPage,
	}
}

func (d *Dispatcher) runPage(ctx context.Context, r request) Result {
	target, err := d.pageTarget(ctx, r.Target)
	if err != nil {
		if rerr := d.Service.Record(ctx, r.n, r.cmd, incident.ErrorMessage(err)); rerr != nil {
			return d.internal(ctx, rerr)
		}
		return Result{Reply: incident.ErrorMessage(err), Failed: true}
	}
	return d.apply(ctx, r.cmd, func(cmd incident.Command) (*incident.Incident, error) {
		return d.Service.Page(ctx, r.n, cmd, target, r.Text)
	}, func(_, inc *incident.Incident) texts {
		who := user(target)
		if strings.HasPrefix(target, "@") {
			who = "<" + target + ">"
		}
		msg := ""
		if r.Text != "" {
			msg = ": " + user(r.Text)
		}
		return texts{
			post:  fmt.Sprintf(":pager: <@%s> paged %s through PagerDuty for %s%s", r.cmd.Actor, who, inc.Ref(), msg),
			reply: fmt.Sprintf("Paging %s through PagerDuty. The acknowledgement will show here and in the timeline (`/incident timeline`).", who),
		}
	})
}

// pageTarget checks whom a page is for: a person, or a configured service.
// A word that is no service may be a person's name typed without an @.
func (d *Dispatcher) pageTarget(ctx context.Context, target string) (string, error) {
	if strings.HasPrefix(target, "@") {
		return target, nil
	}
	if name := d.knownService(target); name != "" {
		return name, nil
	}
	if d.FindUser != nil && personName.MatchString(target) {
		if id, err := d.FindUser(ctx, target); err == nil {
			return "@" + id, nil
		}
	}
	if len(d.Services) == 0 {
		return "", incident.Errorf(incident.EInvalid, "No services are configured for paging, so page a person: `/incident page @alice`. (Services are set in the config file's pagerduty.services.)")
	}
	return "", incident.Errorf(incident.EInvalid, "%q is not a service I can page, nor anyone in Slack. Services: %s. Or page a person: `/incident page @alice`.", target, strings.Join(d.Services, ", "))
}

func noteSpec() *spec {
	return &spec{
		Usage: Usage{"note", "/incident note <text>", "Add an internal note to the timeline (never public).", "/incident note Rolled back checkout to v41"},
		parse: func(c *Command, rest, _ string) error {
			if rest == "" {
				return errUser("The note is empty. Type it after the command.")
			}
			c.Text = rest
			return nil
		},
		run: func(d *Dispatcher, ctx context.Context, r request) Result {
			return d.apply(ctx, r.cmd, func(cmd incident.Command) (*incident.Incident, error) {
				return d.Service.Note(ctx, r.n, cmd, r.Text)
			}, func(_, inc *incident.Incident) texts {
				return texts{post: fmt.Sprintf(":memo: Note from <@%s>: %s", r.cmd.Actor, user(r.Text)), reply: "Noted in the " + inc.Ref() + " timeline." + nextHint(inc)}
			})
		},
	}
}

// TimelineShown is how many of the latest entries /incident timeline shows.
const TimelineShown = 30

func timelineSpec() *spec {
	return &spec{
		Usage: Usage{"timeline", "/incident timeline [before <entry>]", "Show the latest timeline entries (only to you); `before` pages back. To add a message of the conversation: react to it with :pushpin:, or use the shortcut *Add to incident timeline*.", "/incident timeline"},
		parse: func(c *Command, rest, _ string) error {
			if rest == "" {
				return nil
			}
			w, r := next(rest)
			id, err := strconv.ParseInt(strings.TrimPrefix(r, "#"), 10, 64)
			if !strings.EqualFold(w, "before") || err != nil || id < 1 {
				return errUser("`timeline` takes nothing, or `before <entry>` to page back, e.g. `/incident timeline before 120`.")
			}
			c.Before = id
			return nil
		},
		run: (*Dispatcher).runTimeline,
	}
}

// runTimeline shows the newest TimelineShown entries (before an entry, to
// page back), reading only those.
func (d *Dispatcher) runTimeline(ctx context.Context, r request) Result {
	if err := d.Service.Record(ctx, r.n, r.cmd, incident.OutcomeOK); err != nil {
		return d.internal(ctx, err)
	}
	inc, err := d.Service.Get(ctx, r.n)
	if err != nil {
		return d.internal(ctx, err)
	}
	// One more than shown says whether there are earlier ones.
	entries, err := d.Service.Timeline(ctx, r.n, incident.Page{Latest: true, BeforeID: r.Before, Limit: TimelineShown + 1})
	if err != nil {
		return d.internal(ctx, err)
	}
	earlier := len(entries) > TimelineShown
	if earlier {
		entries = entries[1:]
	}
	var b strings.Builder
	zone := "UTC"
	if l := d.location(); l.String() != "UTC" {
		zone = l.String() + ", UTC beside"
	}
	if r.Before != 0 {
		fmt.Fprintf(&b, "*%s timeline*, before entry %d (times %s)\n", inc.Ref(), r.Before, zone)
	} else {
		fmt.Fprintf(&b, "*%s timeline*, the latest (times %s)\n", inc.Ref(), zone)
	}
	// The date only when the incident spans more than a day; times in
	// the team's time zone, with UTC beside them when that is another.
	loc := d.location()
	multiDay := inc.DeclaredAt.In(loc).Format(time.DateOnly) != d.Service.Now().In(loc).Format(time.DateOnly)
	for _, e := range entries {
		if e.Kind == incident.KindCapture && e.OK() && e.Detail["action"] == "add" {
			continue // asking for a message: the message itself follows
		}
		b.WriteString(formatEntry(e, loc, multiDay))
		b.WriteByte('\n')
	}
	if earlier && len(entries) > 0 {
		fmt.Fprintf(&b, "_Earlier: `/incident %s timeline before %d` · all of it: `warroom incidents show %s`_", inc.Ref(), entries[0].ID, inc.Ref())
	}
	return Result{Reply: strings.TrimRight(b.String(), "\n"), Incident: inc}
}

// FormatEntry renders one timeline entry as a line of Slack mrkdwn, in UTC
// with its date.
func FormatEntry(e incident.Entry) string { return formatEntry(e, time.UTC, true) }

// entryTime is when an entry happened, for people: in loc, with UTC
// beside it when loc is another zone, and the date when withDate.
func entryTime(at time.Time, loc *time.Location, withDate bool) string {
	layout := "15:04"
	if withDate {
		layout = "Mon 2 Jan 15:04"
	}
	if loc == nil || loc == time.UTC || loc.String() == "UTC" {
		return "`" + at.UTC().Format(layout) + " UTC`"
	}
	return "`" + at.In(loc).Format(layout+" MST") + "` (" + at.UTC().Format("15:04") + " UTC)"
}

func formatEntry(e incident.Entry, loc *time.Location, withDate bool) string {
	who := "warroom"
	if e.Actor != incident.SystemActor && e.Actor != "" {
		who = "<@" + e.Actor + ">"
	}
	when := entryTime(e.At, loc, withDate)
	if e.OK() {
		switch e.Kind {
		case incident.KindConversation:
			return when + " " + conversationLine(e, who)
		case incident.KindCapture:
			if e.Detail["action"] == "remove" {
				return fmt.Sprintf("%s %s took a message out of the timeline (its entries stay)", when, who)
			}
			return fmt.Sprintf("%s %s asked for a message to go into the timeline (%s)", when, who, user(e.Detail["via"]))
		}
	}
	line := fmt.Sprintf("%s %s *%s* %s", when, who, e.Kind, user(clip(oneLine(e.Raw), 200)))
	if !e.OK() {
		line += " — _rejected: " + user(clip(oneLine(e.Outcome), 120)) + "_"
	}
	return line
}

// conversationLine is a captured message (or its edit or deletion): its
// author, its text, its files and a link to it in Slack.
func conversationLine(e incident.Entry, by string) string {
	d := e.Detail
	link := ""
	if u := d["permalink"]; safeLink(u) {
		link = " <" + u + "|open in Slack>"
	}
	author := label(d["author"])
	if userID.MatchString(d["author"]) {
		author = "<@" + d["author"] + ">"
	}
	whose := "a captured message"
	if d["author"] != "" {
		whose = author + "'s captured message"
	}
	if was := d["was"]; was != "" {
		whose += " “" + user(clip(oneLine(was), 80)) + "”"
	}
	switch d["change"] {
	case "edit":
		return fmt.Sprintf(":pencil2: %s was edited in Slack: %s", whose, user(clip(oneLine(d["text"]), 300)))
	case "delete":
		return ":wastebasket: " + whose + " was deleted in Slack (the timeline keeps it)"
	}
	line := fmt.Sprintf(":speech_balloon: %s: %s", author, user(clip(oneLine(d["text"]), 300)))
	for _, f := range strings.Split(d["files"], "\n") {
		if name, url, ok := strings.Cut(f, "\t"); ok && safeLink(url) {
			line += " · <" + url + "|" + label(name) + ">"
		}
	}
	if d["thread_ts"] != "" {
		line += " _(in a thread)_"
	}
	line += link + " — captured by " + by
	if c := d["comment"]; c != "" {
		line += ": " + user(clip(oneLine(c), 200))
	}
	return line
}

// userID is a Slack user ID, which may go into a mention.
var userID = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)

// label is text inside a Slack link or as a name: every control
// character escaped, mentions too (a token would end the link).
func label(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "|", "¦").Replace(oneLine(s))
}

// safeLink reports whether u can go into a Slack link: http(s), and none
// of the characters that end or split one.
func safeLink(u string) bool {
	return (strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) && !strings.ContainsAny(u, "<>| \t\n")
}

// Alert records an alert from monitoring: a new incident, an alert grouped
// into an open one, or an acknowledgement or resolution. Its Slack effects
// are planned by Planner.
func (d *Dispatcher) Alert(ctx context.Context, a incident.Alert, c incident.Correlation) (incident.AlertOutcome, error) {
	return d.Service.Alert(ctx, a, c)
}

// SplitAlert makes a grouped alert its own incident, from the button. The
// button's value is "n:source:id": the incident it was posted in, and the
// alert. The new incident's war room opens through the outbox, and the old
// war room is told. Splitting declares, so the declarer list applies.
func (d *Dispatcher) SplitAlert(ctx context.Context, cmd incident.Command, split, responseURL string) Result {
	cmd.Kind = "alert_split"
	var postedIn int64
	if ref, rest, ok := strings.Cut(split, ":"); ok {
		if n, err := strconv.ParseInt(ref, 10, 64); err == nil {
			postedIn, split = n, rest
		}
	}
	source, id, _ := strings.Cut(split, ":")
	if postedIn != 0 {
		if res, refused := d.private(ctx, postedIn, cmd); refused {
			return res
		}
	}
	if msg := d.mayDeclare(cmd.Actor); msg != "" {
		if err := d.Service.Record(ctx, postedIn, cmd, msg); err != nil {
			return d.internal(ctx, err)
		}
		return Result{Reply: msg, Failed: true}
	}
	cmd.Effects = func(before, after *incident.Incident, e incident.Entry) []incident.Effect {
		if before == nil {
			return []incident.Effect{{Kind: SlackRoom, Payload: map[string]string{"user": cmd.Actor, "channel": cmd.Channel, "response_url": responseURL}}}
		}
		return []incident.Effect{Post(fmt.Sprintf(":scissors: <@%s> split the alert %q out into its own incident, %s.", cmd.Actor, e.Detail["title"], e.Detail["to"]))}
	}
	_, to, err := d.Service.SplitAlert(ctx, cmd, source, id, postedIn)
	if err != nil {
		return d.failed(ctx, err, "")
	}
	return Result{Incident: to, Reply: fmt.Sprintf("Split into %s; its war room is opening and you'll be invited.", to.Ref())}
}
