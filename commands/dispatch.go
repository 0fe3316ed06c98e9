package commands

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/internal/mrkdwn"
	"github.com/warroom/warroom/templates"
)

// Invocation is one "/incident ..." typed by a user somewhere.
type Invocation struct {
	User    string // Slack user ID
	Channel string // where it was typed
	Text    string // everything after "/incident"
}

// Result is what the bot must do after a command ran. Reply always goes
// back to the user, only to them; the rest are effects on Slack.
type Result struct {
	Reply    string             // ephemeral reply to the user
	Incident *incident.Incident // the incident acted on, as it now is
	Changed  bool               // state changed: refresh the summary and topic
	Declared bool               // a new incident: open its war room
	Post     string             // message for everyone in the war room
	Announce string             // message for the announcements channel
	Invite   []string           // people to bring into the war room
	Modal    *DeclareForm       // open the declare form instead
	Preview  *UpdatePreview     // open the public update preview instead
	// Published is the public update just published, for the status pages.
	Published *incident.PublicUpdate
	// Split, when set ("source:id"), adds a button to Post that splits that
	// grouped alert into its own incident.
	Split  string
	Failed bool // the command was rejected or could not run
}

// DeclareForm is the declare modal's starting values.
type DeclareForm struct {
	Severity incident.Severity
	Channel  string // where /incident declare was typed
}

// UpdatePreview is a public update drafted from the template, for the
// communicator to edit and publish.
type UpdatePreview struct {
	Incident *incident.Incident
	Status   incident.Status
	Body     string
	Warnings []incident.LintWarning
}

// Dispatcher runs commands against the incident service.
type Dispatcher struct {
	Service *incident.Service
	Log     *slog.Logger
	// Templates draft public updates; nil means the built-in ones.
	Templates *templates.Set
	// Lint checks public updates before they are published.
	Lint incident.Lint
	// Location is the time zone public updates show times in; nil means UTC.
	Location *time.Location

	once sync.Once
}

// Run parses and runs one command. It never returns an error: every
// failure becomes a reply, and every command is in the timeline or audit
// log before Run returns.
func (d *Dispatcher) Run(ctx context.Context, inv Invocation) Result {
	c, perr := Parse(inv.Text, inv.User)
	// The timeline keeps what the person typed, not Slack's escaping of it.
	cmd := incident.Command{Actor: inv.User, Channel: inv.Channel, Raw: mrkdwn.Unescape(inv.Text), Kind: c.Name}
	if perr != nil {
		cmd.Kind = incident.KindParseError
		if c.Name != "" {
			cmd.Kind = c.Name
		}
		msg := perr.Error() + usageLine(c.Name)
		n := c.Ref
		if n == 0 {
			n = d.warRoom(ctx, inv.Channel)
		}
		if n != 0 {
			if _, err := d.Service.Get(ctx, n); err != nil {
				n = 0 // a reference to no incident: the audit log keeps it
			}
		}
		if err := d.Service.Record(ctx, n, cmd, msg); err != nil {
			return d.internal(ctx, err)
		}
		return Result{Reply: msg, Failed: true}
	}

	switch c.Name {
	case "declare":
		if c.Modal {
			// Opening the form is recorded; the submission is recorded again as a declare.
			if err := d.Service.Record(ctx, 0, cmd, incident.OutcomeOK); err != nil {
				return d.internal(ctx, err)
			}
			return Result{Modal: &DeclareForm{Severity: c.Severity, Channel: inv.Channel}}
		}
		return d.Declare(ctx, cmd, incident.Declaration{Title: c.Text, Severity: c.Severity})
	case "help":
		return d.record(ctx, d.warRoom(ctx, inv.Channel), cmd, Result{Reply: HelpText(c.Text)})
	case "list":
		return d.list(ctx, cmd, c.Text == "all")
	}

	n := c.Ref
	if n == 0 {
		n = d.warRoom(ctx, inv.Channel)
	}
	if n == 0 {
		msg := fmt.Sprintf("This channel is not a war room, so say which incident: `/incident INC-7 %s`. Open incidents: `/incident list`.", c.Name)
		if err := d.Service.Record(ctx, 0, cmd, msg); err != nil {
			return d.internal(ctx, err)
		}
		return Result{Reply: msg, Failed: true}
	}

	var inc *incident.Incident
	var err error
	var post, announce, reply string
	var invite []string
	switch c.Name {
	case "timeline":
		return d.timeline(ctx, n, cmd)
	case "severity":
		var before *incident.Incident
		before, _ = d.Service.Get(ctx, n)
		inc, err = d.Service.SetSeverity(ctx, n, cmd, c.Severity)
		if err == nil {
			post = fmt.Sprintf(":rotating_light: <@%s> changed the severity of %s from %s to *%s*.", inv.User, inc.Ref(), before.Severity, inc.Severity)
			if inc.Severity < before.Severity {
				announce = fmt.Sprintf(":rotating_light: %s escalated to *%s*: %s — war room %s", inc.Ref(), inc.Severity, user(inc.Title), roomLink(inc))
			}
			reply = fmt.Sprintf("%s is now %s.", inc.Ref(), inc.Severity)
		}
	case "commander", "communicator", "role":
		inc, err = d.Service.Assign(ctx, n, cmd, c.Role, c.User)
		if err == nil {
			post = fmt.Sprintf(":bust_in_silhouette: <@%s> is now the *%s* of %s (set by <@%s>).", c.User, c.Role, inc.Ref(), inv.User)
			reply = fmt.Sprintf("<@%s> is now %s of %s.", c.User, c.Role, inc.Ref()) + nextHint(inc)
			invite = []string{c.User}
		}
	case "status":
		inc, err = d.Service.SetStatus(ctx, n, cmd, c.Status, c.Text)
		if err == nil && c.Status == incident.StatusResolved {
			post, announce, reply = resolvedTexts(inc, inv.User, c.Text)
		} else if err == nil {
			post = fmt.Sprintf(":large_blue_circle: *%s* status: *%s*", inc.Ref(), TitleCase(string(inc.Status)))
			if c.Text != "" {
				post += " — " + user(c.Text)
			}
			post += fmt.Sprintf(" (by <@%s>)", inv.User)
			reply = fmt.Sprintf("%s status is %s.", inc.Ref(), inc.Status) + nextHint(inc)
		}
	case "note":
		inc, err = d.Service.Note(ctx, n, cmd, c.Text)
		if err == nil {
			post = fmt.Sprintf(":memo: Note from <@%s>: %s", inv.User, user(c.Text))
			reply = "Noted in the " + inc.Ref() + " timeline."
		}
	case "resolve":
		inc, err = d.Service.Resolve(ctx, n, cmd, c.Text)
		if err == nil {
			post, announce, reply = resolvedTexts(inc, inv.User, c.Text)
		}
	case "reopen":
		inc, err = d.Service.Reopen(ctx, n, cmd)
		if err == nil {
			post = fmt.Sprintf(":warning: <@%s> reopened %s. Status is back to *investigating*.", inv.User, inc.Ref())
			announce = fmt.Sprintf(":warning: %s was reopened: %s — war room %s", inc.Ref(), user(inc.Title), roomLink(inc))
			reply = inc.Ref() + " is open again." + nextHint(inc)
		}
	case "impact":
		inc, err = d.Service.SetImpact(ctx, n, cmd, c.Text)
		if err == nil {
			post = fmt.Sprintf(":busts_in_silhouette: <@%s> described the impact of %s: %s", inv.User, inc.Ref(), user(inc.Impact))
			reply = "Impact set. It goes into the next public update: `/incident update`."
		}
	case "components":
		inc, err = d.Service.SetComponents(ctx, n, cmd, c.Components)
		if err == nil {
			var parts []string
			for _, name := range inc.ComponentNames() {
				parts = append(parts, fmt.Sprintf("%s: %s", user(name), strings.ReplaceAll(string(inc.Components[name]), "_", " ")))
			}
			post = fmt.Sprintf(":large_orange_circle: <@%s> set the components of %s — %s", inv.User, inc.Ref(), strings.Join(parts, ", "))
			reply = "Components set. They go into the next public update: `/incident update`."
		}
	case "update":
		var p *UpdatePreview
		p, err = d.preview(ctx, n, inv.User, c.Status, c.Text)
		at := n
		if incident.ErrorCode(err) == incident.ENotFound {
			at = 0 // no such incident: the audit log keeps it
		}
		if rerr := d.Service.Record(ctx, at, cmd, outcome(err)); rerr != nil {
			return d.internal(ctx, rerr)
		}
		if err == nil {
			return Result{Preview: p, Incident: p.Incident}
		}
	case "close":
		inc, err = d.Service.Close(ctx, n, cmd)
		if err == nil {
			post = fmt.Sprintf(":white_check_mark: <@%s> closed %s. This channel will be archived; the timeline stays in warroom.", inv.User, inc.Ref())
			reply = inc.Ref() + " is closed."
		}
	default:
		err = incident.Errorf(incident.EInternal, "unhandled command %q", c.Name)
	}
	if err != nil {
		if incident.ErrorCode(err) == incident.EInternal {
			return d.internal(ctx, err)
		}
		return Result{Reply: incident.ErrorMessage(err) + usageIfInvalid(err, c.Name), Failed: true}
	}
	return Result{Reply: reply, Incident: inc, Changed: true, Post: post, Announce: announce, Invite: invite}
}

// Declare declares an incident, from the slash command or the form.
func (d *Dispatcher) Declare(ctx context.Context, cmd incident.Command, decl incident.Declaration) Result {
	cmd.Kind = "declare"
	inc, err := d.Service.Declare(ctx, cmd, decl)
	if err != nil {
		if incident.ErrorCode(err) == incident.EInternal {
			return d.internal(ctx, err)
		}
		return Result{Reply: incident.ErrorMessage(err) + usageIfInvalid(err, "declare"), Failed: true}
	}
	return Result{
		Reply:    fmt.Sprintf(":rotating_light: Declared *%s* (%s): %s\nOpening the war room now; you'll be invited. Type `/incident help` there for what's next.", inc.Ref(), inc.Severity, user(inc.Title)),
		Incident: inc,
		Declared: true,
		Changed:  true,
	}
}

// preview drafts a public update from the template for status (default:
// the current status) with the communicator's message, and lints it.
func (d *Dispatcher) preview(ctx context.Context, n int64, actor string, st incident.Status, message string) (*UpdatePreview, error) {
	inc, err := d.Service.Get(ctx, n)
	if err != nil {
		return nil, err
	}
	if actor != inc.Communicator && actor != inc.Commander {
		return nil, incident.Errorf(incident.EForbidden, "Only the communicator (%s) or the commander (%s) can publish updates. To take the role: `/incident communicator me`.", Mention(inc.Communicator), Mention(inc.Commander))
	}
	if !inc.Open() {
		return nil, incident.Errorf(incident.EConflict, "%s is resolved; its last update is published. If it came back: `/incident reopen`.", inc.Ref())
	}
	if st == "" {
		st = inc.Status
	}
	body, err := d.Draft(inc, st, message)
	if err != nil {
		return nil, err
	}
	return &UpdatePreview{Incident: inc, Status: st, Body: body, Warnings: d.Lint.Check(body, st != incident.StatusResolved && !d.Service.NextUpdate(inc).IsZero())}, nil
}

// Alert records an alert from monitoring: a new incident, an alert grouped
// into an open one, or an acknowledgement or resolution.
func (d *Dispatcher) Alert(ctx context.Context, a incident.Alert, c incident.Correlation) (Result, error) {
	out, err := d.Service.Alert(ctx, a, c)
	if err != nil {
		return Result{}, err
	}
	link := ""
	if a.URL != "" {
		link = " <" + a.URL + "|open in PagerDuty>"
	}
	switch {
	case out.Declared != nil:
		return Result{Incident: out.Declared, Declared: true, Changed: true}, nil
	case out.Grouped != nil:
		return Result{Incident: out.Grouped, Changed: true, Split: a.Source + ":" + a.ExternalID,
			Post: fmt.Sprintf(":bell: Another alert was grouped into %s: %s (%s).%s Same service or group within the correlation window.", out.Grouped.Ref(), user(a.Title), user(firstOf(a.ServiceName, a.Service)), link)}, nil
	case out.Updated != nil:
		return Result{Incident: out.Updated, Post: fmt.Sprintf(":bell: PagerDuty: alert %s was %s.%s", user(a.ExternalID), a.Event, link)}, nil
	}
	return Result{}, nil
}

// SplitAlert makes a grouped alert its own incident, from the button. The
// Result declares the new incident; note goes to the old incident's room.
func (d *Dispatcher) SplitAlert(ctx context.Context, cmd incident.Command, split string) (res Result, from *incident.Incident, note string) {
	source, id, _ := strings.Cut(split, ":")
	from, to, err := d.Service.SplitAlert(ctx, cmd, source, id)
	if err != nil {
		if incident.ErrorCode(err) == incident.EInternal {
			return d.internal(ctx, err), nil, ""
		}
		return Result{Reply: incident.ErrorMessage(err), Failed: true}, nil, ""
	}
	note = fmt.Sprintf(":scissors: <@%s> split the alert %q out into its own incident, %s.", cmd.Actor, to.Title, to.Ref())
	return Result{Incident: to, Declared: true, Changed: true}, from, note
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// PreviewFor drafts the next public update of incident n in its current
// status, for the "Write the update" button.
func (d *Dispatcher) PreviewFor(ctx context.Context, n int64, actor string) (*UpdatePreview, error) {
	return d.preview(ctx, n, actor, "", "")
}

// Snooze pushes incident n's next update back by dur, from the reminder's button.
func (d *Dispatcher) Snooze(ctx context.Context, cmd incident.Command, n int64, dur time.Duration) Result {
	cmd.Kind = "snooze"
	inc, err := d.Service.Snooze(ctx, n, cmd, dur)
	if err != nil {
		if incident.ErrorCode(err) == incident.EInternal {
			return d.internal(ctx, err)
		}
		return Result{Reply: incident.ErrorMessage(err), Failed: true}
	}
	return Result{Incident: inc, Changed: true,
		Post: fmt.Sprintf(":zzz: <@%s> snoozed the public update of %s: now due by %s.", cmd.Actor, inc.Ref(), inc.NextUpdateDue.UTC().Format("15:04 UTC"))}
}

// Draft renders the template for status with the incident's fields.
func (d *Dispatcher) Draft(inc *incident.Incident, st incident.Status, message string) (string, error) {
	set, err := d.templates()
	if err != nil {
		return "", err
	}
	u := templates.Update{Ref: inc.Ref(), Title: inc.Title, Severity: inc.Severity.String(), Impact: inc.Impact,
		Message: strings.TrimSpace(message), Started: inc.DeclaredAt, Location: d.Location}
	for _, name := range inc.ComponentNames() {
		u.Components = append(u.Components, templates.Component{Name: name, Status: string(inc.Components[name])})
	}
	if st == incident.StatusResolved {
		u.Resolved = d.Service.Now()
	} else {
		u.NextUpdate = d.Service.NextUpdate(inc)
	}
	return set.Render(string(st), u)
}

func (d *Dispatcher) templates() (*templates.Set, error) {
	d.once.Do(func() {
		if d.Templates == nil {
			d.Templates, _ = templates.Load("")
		}
	})
	if d.Templates == nil {
		return nil, incident.Errorf(incident.EInternal, "no templates")
	}
	return d.Templates, nil
}

// PublishUpdate publishes a public update with the text the communicator
// approved, from the preview.
func (d *Dispatcher) PublishUpdate(ctx context.Context, cmd incident.Command, n int64, st incident.Status, body string) Result {
	cmd.Kind = "publish"
	inc, pub, err := d.Service.Publish(ctx, n, cmd, st, body)
	if err != nil {
		if incident.ErrorCode(err) == incident.EInternal {
			return d.internal(ctx, err)
		}
		return Result{Reply: incident.ErrorMessage(err), Failed: true}
	}
	quoted := "> " + strings.ReplaceAll(user(pub.Body), "\n", "\n> ")
	res := Result{
		Incident: inc, Changed: true, Published: pub,
		Post:     fmt.Sprintf(":mega: <@%s> published a public update for %s (*%s*):\n%s", cmd.Actor, inc.Ref(), TitleCase(string(st)), quoted),
		Announce: fmt.Sprintf(":mega: %s public update (*%s*): %s — war room %s", inc.Ref(), TitleCase(string(st)), user(inc.Title), roomLink(inc)),
		Reply:    "Published. " + nextDueText(inc),
	}
	return res
}

func nextDueText(inc *incident.Incident) string {
	if inc.NextUpdateDue.IsZero() {
		return "No further update is scheduled."
	}
	return "The next update is due by " + inc.NextUpdateDue.UTC().Format("15:04 UTC") + "; I'll remind you 5 minutes before."
}

func outcome(err error) string {
	if err == nil {
		return incident.OutcomeOK
	}
	return incident.ErrorMessage(err)
}

// warRoom returns the incident whose war room channel is, or 0.
func (d *Dispatcher) warRoom(ctx context.Context, channel string) int64 {
	inc, err := d.Service.ByChannel(ctx, channel)
	if err != nil {
		return 0
	}
	return inc.Number
}

func (d *Dispatcher) record(ctx context.Context, n int64, cmd incident.Command, r Result) Result {
	if err := d.Service.Record(ctx, n, cmd, incident.OutcomeOK); err != nil {
		return d.internal(ctx, err)
	}
	return r
}

// TimelineShown is how many of the latest entries /incident timeline shows.
const TimelineShown = 30

func (d *Dispatcher) timeline(ctx context.Context, n int64, cmd incident.Command) Result {
	if err := d.Service.Record(ctx, n, cmd, incident.OutcomeOK); err != nil {
		return d.internal(ctx, err)
	}
	inc, err := d.Service.Get(ctx, n)
	if err != nil {
		return d.internal(ctx, err)
	}
	entries, err := d.Service.Timeline(ctx, n, incident.Page{})
	if err != nil {
		return d.internal(ctx, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%s timeline* (%d entries, times UTC)\n", inc.Ref(), len(entries))
	if len(entries) > TimelineShown {
		fmt.Fprintf(&b, "_%d earlier entries not shown; all of them: `warroom incidents show %s`_\n", len(entries)-TimelineShown, inc.Ref())
		entries = entries[len(entries)-TimelineShown:]
	}
	for _, e := range entries {
		b.WriteString(FormatEntry(e))
		b.WriteByte('\n')
	}
	return Result{Reply: strings.TrimRight(b.String(), "\n"), Incident: inc}
}

// FormatEntry renders one timeline entry as a line of Slack mrkdwn.
func FormatEntry(e incident.Entry) string {
	who := "warroom"
	if e.Actor != incident.SystemActor && e.Actor != "" {
		who = "<@" + e.Actor + ">"
	}
	line := fmt.Sprintf("`%s` %s *%s* %s", e.At.UTC().Format("01-02 15:04"), who, e.Kind, user(clip(oneLine(e.Raw), 200)))
	if !e.OK() {
		line += " — _rejected: " + user(clip(oneLine(e.Outcome), 120)) + "_"
	}
	return line
}

// listShown is how many incidents /incident list shows.
const listShown = 20

func (d *Dispatcher) list(ctx context.Context, cmd incident.Command, all bool) Result {
	if err := d.Service.Record(ctx, 0, cmd, incident.OutcomeOK); err != nil {
		return d.internal(ctx, err)
	}
	list, err := d.Service.List(ctx, incident.Filter{OpenOnly: !all, Limit: listShown + 1})
	if err != nil {
		return d.internal(ctx, err)
	}
	if len(list) == 0 {
		if all {
			return Result{Reply: "No incidents yet. To declare one: `/incident declare sev2 <title>`."}
		}
		return Result{Reply: "No open incidents. To declare one: `/incident declare sev2 <title>`."}
	}
	var b strings.Builder
	if all {
		b.WriteString("*Incidents* (newest first)\n")
	} else {
		b.WriteString("*Open incidents* (newest first)\n")
	}
	more := len(list) > listShown
	if more {
		list = list[:listShown]
	}
	for _, inc := range list {
		fmt.Fprintf(&b, "• *%s* %s %s — %s, commander %s, %s\n", inc.Ref(), inc.Severity, user(inc.Title), inc.Status, Mention(inc.Commander), roomLink(inc))
	}
	if more {
		fmt.Fprintf(&b, "_Only the newest %d are shown; all of them: `warroom incidents list`_\n", listShown)
	}
	b.WriteString("Act on one from anywhere: `/incident INC-7 note <text>`")
	return Result{Reply: b.String()}
}

// internal logs an unexpected error with an id and shows the user only the id.
func (d *Dispatcher) internal(ctx context.Context, err error) Result {
	id := fmt.Sprintf("E%d", time.Now().UnixNano()%1_000_000_000)
	if d.Log != nil {
		d.Log.ErrorContext(ctx, "command failed", "error_id", id, "err", err)
	}
	return Result{Reply: fmt.Sprintf("Something went wrong on our side (error %s). Nothing was lost that was already saved; try again, and if it keeps failing tell your warroom admin the error id.", id), Failed: true}
}

func resolvedTexts(inc *incident.Incident, actor, summary string) (post, announce, reply string) {
	post = fmt.Sprintf(":white_check_mark: <@%s> resolved %s after %s.", actor, inc.Ref(), FormatDuration(inc.Durations().ToResolve))
	if summary != "" {
		post += " " + user(summary)
	}
	announce = fmt.Sprintf(":white_check_mark: %s resolved: %s (open %s) — war room %s", inc.Ref(), user(inc.Title), FormatDuration(inc.Durations().ToResolve), roomLink(inc))
	reply = inc.Ref() + " is resolved." + nextHint(inc)
	return
}

func nextHint(inc *incident.Incident) string { return "\nNext: " + inc.NextStep() }

func usageIfInvalid(err error, name string) string {
	if incident.ErrorCode(err) == incident.EInvalid {
		return usageLine(name)
	}
	return ""
}

func roomLink(inc *incident.Incident) string {
	if inc.ChannelID == "" {
		return "(war room being created)"
	}
	return "<#" + inc.ChannelID + ">"
}

// Mention formats a user ID as a Slack mention, or "nobody yet".
func Mention(u string) string {
	if u == "" {
		return "nobody yet"
	}
	return "<@" + u + ">"
}

// TitleCase capitalises the first letter of a status or stage name.
func TitleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// user quotes text a person typed into a message of warroom's: it keeps
// mentions of people and channels, and cannot ping @channel or @here.
func user(s string) string { return mrkdwn.EscapeUser(strings.TrimSpace(s)) }

// FormatDuration renders a duration for people: 45s, 12m, 3h05m, 2d4h.
func FormatDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}
