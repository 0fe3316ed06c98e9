package commands

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/internal/mrkdwn"
	"github.com/warroom/warroom/postmortem"
	"github.com/warroom/warroom/templates"
)

// Invocation is one "/incident ..." typed by a user somewhere.
type Invocation struct {
	User    string // Slack user ID
	Channel string // where it was typed
	Text    string // everything after "/incident"
	// ResponseURL answers the command later (the war room is ready).
	ResponseURL string
}

// Result is what the person who ran a command sees. Everything else a
// command does on Slack was planned into the outbox with its timeline entry.
type Result struct {
	Reply    string             // ephemeral reply to the user
	Incident *incident.Incident // the incident acted on, as it now is
	Modal    *DeclareForm       // open the declare form instead
	Preview  *UpdatePreview     // open the public update preview instead
	Failed   bool               // the command was rejected or could not run
}

// DeclareForm is the declare modal's starting values.
type DeclareForm struct {
	Severity incident.Severity
	Channel  string   // where /incident declare was typed
	Services []string // the configured services to choose from, if any
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
	// Services are the service names people may declare for and page
	// (/incident declare sev1 payments: ..., /incident page payments).
	Services []string
	// Postmortems writes postmortem drafts; nil means the built-in template.
	Postmortems *postmortem.Writer
	// Names maps Slack user IDs to display names for documents; nil: IDs.
	Names func(ctx context.Context, ids []string) map[string]string
	// PostmortemOnResolve writes a draft when an incident resolves.
	PostmortemOnResolve bool
	// Declarers, if not empty, are the only people who may declare
	// (PagerDuty alerts still do).
	Declarers []string
	// Observe, if set, is told each command's name, whether it was
	// rejected, and how long it took (the metrics' command latency).
	Observe func(name string, failed bool, took time.Duration)

	once sync.Once
}

// Run parses and runs one command. It never returns an error: every
// failure becomes a reply, and every command is in the timeline or audit
// log before Run returns.
func (d *Dispatcher) Run(ctx context.Context, inv Invocation) Result {
	if d.Observe == nil {
		return d.run(ctx, inv)
	}
	start := time.Now()
	res := d.run(ctx, inv)
	name := incident.KindParseError
	if c, err := Parse(inv.Text, inv.User); err == nil || c.Name != "" {
		name = c.Name
	}
	d.Observe(name, res.Failed, time.Since(start))
	return res
}

func (d *Dispatcher) run(ctx context.Context, inv Invocation) Result {
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
		if msg := d.mayDeclare(inv.User); msg != "" {
			if err := d.Service.Record(ctx, 0, cmd, msg); err != nil {
				return d.internal(ctx, err)
			}
			return Result{Reply: msg, Failed: true}
		}
		if c.Modal {
			// Opening the form is recorded; the submission is recorded again as a declare.
			if err := d.Service.Record(ctx, 0, cmd, incident.OutcomeOK); err != nil {
				return d.internal(ctx, err)
			}
			return Result{Modal: &DeclareForm{Severity: c.Severity, Channel: inv.Channel, Services: d.Services}}
		}
		decl := incident.Declaration{Title: c.Text, Severity: c.Severity, Private: c.Private}
		if svc, rest, ok := strings.Cut(c.Text, ":"); ok && d.knownService(svc) != "" {
			decl.Service, decl.Title = d.knownService(svc), rest
		}
		return d.Declare(ctx, cmd, decl, inv.ResponseURL)
	case "help":
		return d.record(ctx, d.warRoom(ctx, inv.Channel), cmd, Result{Reply: HelpText(c.Text)})
	case "list":
		return d.list(ctx, cmd, c.Text == "all")
	}

	n := c.Ref
	if n == 0 {
		n = d.warRoom(ctx, inv.Channel)
	}
	if n != 0 {
		if res, refused := d.private(ctx, n, cmd); refused {
			return res
		}
	}
	if c.Name == "action" {
		return d.action(ctx, c, n, cmd)
	}
	if n == 0 {
		msg := fmt.Sprintf("This channel is not a war room, so say which incident: `/incident INC-7 %s`. Open incidents: `/incident list`.", c.Name)
		if err := d.Service.Record(ctx, 0, cmd, msg); err != nil {
			return d.internal(ctx, err)
		}
		return Result{Reply: msg, Failed: true}
	}

	from := origin{user: inv.User, channel: inv.Channel, responseURL: inv.ResponseURL}
	switch c.Name {
	case "timeline":
		return d.timeline(ctx, n, cmd)
	case "status":
		if c.Status == "" {
			return d.statusReport(ctx, n, cmd)
		}
		res := d.apply(ctx, cmd, from, func(cmd incident.Command) (*incident.Incident, error) {
			return d.Service.SetStatus(ctx, n, cmd, c.Status, c.Text)
		}, func(_, inc *incident.Incident) texts {
			if c.Status == incident.StatusResolved {
				return resolvedTexts(inc, inv.User, c.Text)
			}
			post := fmt.Sprintf(":large_blue_circle: *%s* status: *%s*", inc.Ref(), TitleCase(string(inc.Status)))
			if c.Text != "" {
				post += " — " + user(c.Text)
			}
			post += fmt.Sprintf(" (by <@%s>)", inv.User)
			return texts{post: post, reply: fmt.Sprintf("%s status is %s.", inc.Ref(), inc.Status) + nextHint(inc)}
		})
		if c.Status == incident.StatusResolved {
			return d.afterResolve(ctx, res)
		}
		return res
	case "severity":
		return d.apply(ctx, cmd, from, func(cmd incident.Command) (*incident.Incident, error) {
			return d.Service.SetSeverity(ctx, n, cmd, c.Severity)
		}, func(before, inc *incident.Incident) texts {
			t := texts{
				post:  fmt.Sprintf(":rotating_light: <@%s> changed the severity of %s from %s to *%s*.", inv.User, inc.Ref(), before.Severity, inc.Severity),
				reply: fmt.Sprintf("%s is now %s.", inc.Ref(), inc.Severity),
			}
			if inc.Severity < before.Severity {
				t.announce = fmt.Sprintf(":rotating_light: %s escalated to *%s*: %s — war room %s", inc.Ref(), inc.Severity, user(inc.Title), roomLink(inc))
			}
			return t
		})
	case "commander", "communicator", "role":
		return d.apply(ctx, cmd, from, func(cmd incident.Command) (*incident.Incident, error) {
			return d.Service.Assign(ctx, n, cmd, c.Role, c.User)
		}, func(_, inc *incident.Incident) texts {
			return texts{
				post:   fmt.Sprintf(":bust_in_silhouette: <@%s> is now the *%s* of %s (set by <@%s>).", c.User, c.Role, inc.Ref(), inv.User),
				reply:  fmt.Sprintf("<@%s> is now %s of %s.", c.User, c.Role, inc.Ref()) + nextHint(inc),
				invite: []string{c.User},
			}
		})
	case "note":
		return d.apply(ctx, cmd, from, func(cmd incident.Command) (*incident.Incident, error) {
			return d.Service.Note(ctx, n, cmd, c.Text)
		}, func(_, inc *incident.Incident) texts {
			return texts{post: fmt.Sprintf(":memo: Note from <@%s>: %s", inv.User, user(c.Text)), reply: "Noted in the " + inc.Ref() + " timeline."}
		})
	case "resolve":
		res := d.apply(ctx, cmd, from, func(cmd incident.Command) (*incident.Incident, error) {
			return d.Service.Resolve(ctx, n, cmd, c.Text)
		}, func(_, inc *incident.Incident) texts { return resolvedTexts(inc, inv.User, c.Text) })
		return d.afterResolve(ctx, res)
	case "postmortem":
		return d.WritePostmortem(ctx, n, cmd)
	case "reopen":
		return d.apply(ctx, cmd, from, func(cmd incident.Command) (*incident.Incident, error) {
			return d.Service.Reopen(ctx, n, cmd)
		}, func(_, inc *incident.Incident) texts {
			return texts{
				post:     fmt.Sprintf(":warning: <@%s> reopened %s. Status is back to *investigating*.", inv.User, inc.Ref()),
				announce: fmt.Sprintf(":warning: %s was reopened: %s — war room %s", inc.Ref(), user(inc.Title), roomLink(inc)),
				reply:    inc.Ref() + " is open again." + nextHint(inc),
			}
		})
	case "impact":
		return d.apply(ctx, cmd, from, func(cmd incident.Command) (*incident.Incident, error) {
			return d.Service.SetImpact(ctx, n, cmd, c.Text)
		}, func(_, inc *incident.Incident) texts {
			return texts{post: fmt.Sprintf(":busts_in_silhouette: <@%s> described the impact of %s: %s", inv.User, inc.Ref(), user(inc.Impact)),
				reply: "Impact set. It goes into the next public update: `/incident update`."}
		})
	case "components":
		return d.apply(ctx, cmd, from, func(cmd incident.Command) (*incident.Incident, error) {
			return d.Service.SetComponents(ctx, n, cmd, c.Components)
		}, func(_, inc *incident.Incident) texts {
			var parts []string
			for _, name := range inc.ComponentNames() {
				parts = append(parts, fmt.Sprintf("%s: %s", user(name), strings.ReplaceAll(string(inc.Components[name]), "_", " ")))
			}
			return texts{post: fmt.Sprintf(":large_orange_circle: <@%s> set the components of %s — %s", inv.User, inc.Ref(), strings.Join(parts, ", ")),
				reply: "Components set. They go into the next public update: `/incident update`."}
		})
	case "page":
		target, err := d.pageTarget(c.Target)
		if err != nil {
			if rerr := d.Service.Record(ctx, n, cmd, incident.ErrorMessage(err)); rerr != nil {
				return d.internal(ctx, rerr)
			}
			return Result{Reply: incident.ErrorMessage(err), Failed: true}
		}
		return d.apply(ctx, cmd, from, func(cmd incident.Command) (*incident.Incident, error) {
			return d.Service.Page(ctx, n, cmd, target, c.Text)
		}, func(_, inc *incident.Incident) texts {
			who := user(target)
			if strings.HasPrefix(target, "@") {
				who = "<" + target + ">"
			}
			msg := ""
			if c.Text != "" {
				msg = ": " + user(c.Text)
			}
			return texts{
				post:  fmt.Sprintf(":pager: <@%s> paged %s through PagerDuty for %s%s", inv.User, who, inc.Ref(), msg),
				reply: fmt.Sprintf("Paging %s through PagerDuty. The acknowledgement will show here and in the timeline (`/incident timeline`).", who),
			}
		})
	case "update":
		p, err := d.preview(ctx, n, inv.User, c.Status, c.Text)
		at := n
		if incident.ErrorCode(err) == incident.ENotFound {
			at = 0 // no such incident: the audit log keeps it
		}
		if rerr := d.Service.Record(ctx, at, cmd, outcome(err)); rerr != nil {
			return d.internal(ctx, rerr)
		}
		if err != nil {
			return d.failed(ctx, err, c.Name)
		}
		return Result{Preview: p, Incident: p.Incident}
	case "close":
		return d.apply(ctx, cmd, from, func(cmd incident.Command) (*incident.Incident, error) {
			return d.Service.Close(ctx, n, cmd)
		}, func(_, inc *incident.Incident) texts {
			return texts{post: fmt.Sprintf(":white_check_mark: <@%s> closed %s. This channel will be archived; the timeline stays in warroom.", inv.User, inc.Ref()),
				reply: inc.Ref() + " is closed."}
		})
	}
	return d.internal(ctx, incident.Errorf(incident.EInternal, "unhandled command %q", c.Name))
}

// private refuses a command about a private incident from someone outside
// it: not a member, and not typing in its war room. The refusal is on the
// incident's own timeline, and says nothing about the incident.
func (d *Dispatcher) private(ctx context.Context, n int64, cmd incident.Command) (Result, bool) {
	inc, err := d.Service.Get(ctx, n)
	if err != nil || inc.Visible(cmd.Actor, cmd.Channel) {
		return Result{}, false
	}
	msg := fmt.Sprintf("%s is private: only the people working on it can see it or act on it. Ask one of them to invite you to its war room.", inc.Ref())
	if err := d.Service.Record(ctx, n, cmd, msg); err != nil {
		return d.internal(ctx, err), true
	}
	return Result{Reply: msg, Failed: true}, true
}

// origin is where a command came from, for follow-ups sent later.
type origin struct{ user, channel, responseURL string }

// texts are what a successful command says: to the war room (post), to the
// announcements channel, to the person who typed it (reply), and whom it
// brings into the room.
type texts struct {
	post, announce, reply string
	invite                []string
}

// effects turns texts into Slack effects.
func (t texts) effects() []incident.Effect {
	var fx []incident.Effect
	fx = append(fx, Invite(t.invite...)...)
	if t.post != "" {
		fx = append(fx, Post(t.post))
	}
	if t.announce != "" {
		fx = append(fx, Announce(t.announce))
	}
	return fx
}

// apply runs a change whose Slack effects say describes; they are planned
// inside the change's transaction, from the incident as it was and is.
func (d *Dispatcher) apply(ctx context.Context, cmd incident.Command, from origin, run func(incident.Command) (*incident.Incident, error), say func(before, after *incident.Incident) texts) Result {
	var t texts
	cmd.Effects = func(before, after *incident.Incident, _ incident.Entry) []incident.Effect {
		t = say(before, after)
		return t.effects()
	}
	inc, err := run(cmd)
	if err != nil {
		return d.failed(ctx, err, cmd.Kind)
	}
	return Result{Reply: t.reply, Incident: inc}
}

// failed turns a rejected or failed command into its reply.
func (d *Dispatcher) failed(ctx context.Context, err error, name string) Result {
	if incident.ErrorCode(err) == incident.EInternal {
		return d.internal(ctx, err)
	}
	return Result{Reply: incident.ErrorMessage(err) + usageIfInvalid(err, name), Failed: true}
}

// Declare declares an incident, from the slash command or the form. The
// war room is opened through the outbox; the declarer hears when it is
// ready through responseURL (or ephemerally where they typed).
func (d *Dispatcher) Declare(ctx context.Context, cmd incident.Command, decl incident.Declaration, responseURL string) Result {
	cmd.Kind = "declare"
	if msg := d.mayDeclare(cmd.Actor); msg != "" {
		if err := d.Service.Record(ctx, 0, cmd, msg); err != nil {
			return d.internal(ctx, err)
		}
		return Result{Reply: msg, Failed: true}
	}
	cmd.Effects = func(before, after *incident.Incident, _ incident.Entry) []incident.Effect {
		return []incident.Effect{{Kind: SlackRoom, Payload: map[string]string{"user": cmd.Actor, "channel": cmd.Channel, "response_url": responseURL}}}
	}
	inc, err := d.Service.Declare(ctx, cmd, decl)
	if err != nil {
		return d.failed(ctx, err, "declare")
	}
	opening := "Opening the war room now; you'll be invited."
	if ahead := d.roomsAhead(ctx, inc.Number); ahead > 0 {
		// Slack limits how fast channels are made; say so rather than look stuck.
		opening = fmt.Sprintf("Opening the war room: %d other war room%s ahead of yours (Slack limits how fast channels are made); you'll be invited.", ahead, plural(ahead))
	}
	lead := "You are commander."
	switch {
	case inc.Commander != cmd.Actor:
		lead = "Commander: <@" + inc.Commander + ">."
	case !decl.NamedCommander && d.Service.Enabled(incident.KindOnCall):
		lead = "You lead until I find who is on call in PagerDuty."
	}
	return Result{
		Reply:    fmt.Sprintf(":rotating_light: Declared *%s* (%s): %s\n%s %s%s Type `/incident help` there for what's next.", inc.Ref(), inc.Severity, user(inc.Title), opening, lead, privateNote(inc)),
		Incident: inc,
	}
}

// preview drafts a public update from the template for status (default:
// the current status) with the communicator's message, and lints it.
func (d *Dispatcher) preview(ctx context.Context, n int64, actor string, st incident.Status, message string) (*UpdatePreview, error) {
	inc, err := d.Service.Get(ctx, n)
	if err != nil {
		return nil, err
	}
	if inc.Private {
		return nil, incident.Errorf(incident.EForbidden, "%s is private, so it has no public updates and stays off the status page. Keep the team informed in the war room: `/incident status identified <what you know>`.", inc.Ref())
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
// into an open one, or an acknowledgement or resolution. Its Slack effects
// are planned by Planner.
func (d *Dispatcher) Alert(ctx context.Context, a incident.Alert, c incident.Correlation) (incident.AlertOutcome, error) {
	return d.Service.Alert(ctx, a, c)
}

// SplitAlert makes a grouped alert its own incident, from the button. The
// new incident's war room opens through the outbox, and the old war room
// is told.
func (d *Dispatcher) SplitAlert(ctx context.Context, cmd incident.Command, split, responseURL string) Result {
	source, id, _ := strings.Cut(split, ":")
	cmd.Effects = func(before, after *incident.Incident, e incident.Entry) []incident.Effect {
		if before == nil {
			return []incident.Effect{{Kind: SlackRoom, Payload: map[string]string{"user": cmd.Actor, "channel": cmd.Channel, "response_url": responseURL}}}
		}
		return []incident.Effect{Post(fmt.Sprintf(":scissors: <@%s> split the alert %q out into its own incident, %s.", cmd.Actor, e.Detail["title"], e.Detail["to"]))}
	}
	_, to, err := d.Service.SplitAlert(ctx, cmd, source, id)
	if err != nil {
		return d.failed(ctx, err, "")
	}
	return Result{Incident: to, Reply: fmt.Sprintf("Split into %s; its war room is opening and you'll be invited.", to.Ref())}
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
	return d.apply(ctx, cmd, origin{}, func(cmd incident.Command) (*incident.Incident, error) {
		return d.Service.Snooze(ctx, n, cmd, dur)
	}, func(_, inc *incident.Incident) texts {
		return texts{post: fmt.Sprintf(":zzz: <@%s> snoozed the public update of %s: now due by %s.", cmd.Actor, inc.Ref(), inc.NextUpdateDue.UTC().Format("15:04 UTC"))}
	})
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
// approved, from the preview. The war room and the announcements channel
// get it, and the hosted status page if one is configured, all through the
// outbox.
func (d *Dispatcher) PublishUpdate(ctx context.Context, cmd incident.Command, n int64, st incident.Status, body string) Result {
	cmd.Kind = "publish"
	var quoted string
	cmd.Effects = func(_, inc *incident.Incident, e incident.Entry) []incident.Effect {
		quoted = "> " + strings.ReplaceAll(user(e.Detail["text"]), "\n", "\n> ")
		return texts{
			post:     fmt.Sprintf(":mega: <@%s> published a public update for %s (*%s*):\n%s", cmd.Actor, inc.Ref(), TitleCase(string(st)), quoted),
			announce: fmt.Sprintf(":mega: %s public update (*%s*): %s — war room %s", inc.Ref(), TitleCase(string(st)), user(inc.Title), roomLink(inc)),
		}.effects()
	}
	inc, _, err := d.Service.Publish(ctx, n, cmd, st, body)
	if err != nil {
		return d.failed(ctx, err, "")
	}
	return Result{Incident: inc, Reply: "Published. " + nextDueText(inc)}
}

// roomsAhead counts the war rooms still waiting to be created for
// incidents declared before n.
func (d *Dispatcher) roomsAhead(ctx context.Context, n int64) int {
	fx, err := d.Service.Effects(ctx, incident.EffectFilter{States: []string{incident.EffectPending}, Limit: 1000})
	if err != nil {
		return 0
	}
	ahead := 0
	for _, e := range fx {
		if e.Kind == SlackRoom && e.Incident < n {
			ahead++
		}
	}
	return ahead
}

// mayDeclare says why user may not declare, or "" if they may.
func (d *Dispatcher) mayDeclare(user string) string {
	if len(d.Declarers) == 0 || slices.Contains(d.Declarers, user) {
		return ""
	}
	who := make([]string, 0, len(d.Declarers))
	for _, u := range d.Declarers[:min(len(d.Declarers), 5)] {
		who = append(who, Mention(u))
	}
	return "Only some people may declare incidents here (" + strings.Join(who, ", ") + "). Ask one of them to declare it, or your warroom admin to add you to WARROOM_DECLARERS."
}

func privateNote(inc *incident.Incident) string {
	if !inc.Private {
		return ""
	}
	return " :lock: Private: the war room is private, nothing is announced or put on the status page, and only the people in it can see the incident."
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
	list = slices.DeleteFunc(list, func(inc *incident.Incident) bool { return !inc.Visible(cmd.Actor, cmd.Channel) })
	if len(list) == 0 {
		return Result{Reply: "No open incidents you can see. To declare one: `/incident declare sev2 <title>`."}
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

func resolvedTexts(inc *incident.Incident, actor, summary string) texts {
	post := fmt.Sprintf(":white_check_mark: <@%s> resolved %s after %s.", actor, inc.Ref(), FormatDuration(inc.Durations().ToResolve))
	if summary != "" {
		post += " " + user(summary)
	}
	return texts{
		post:     post,
		announce: fmt.Sprintf(":white_check_mark: %s resolved: %s (open %s) — war room %s", inc.Ref(), user(inc.Title), FormatDuration(inc.Durations().ToResolve), roomLink(inc)),
		reply:    inc.Ref() + " is resolved." + nextHint(inc),
	}
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

// KnownService returns the configured service name matching s, or "".
func (d *Dispatcher) KnownService(s string) string { return d.knownService(s) }

func (d *Dispatcher) knownService(s string) string {
	s = strings.TrimSpace(s)
	for _, name := range d.Services {
		if strings.EqualFold(name, s) {
			return name
		}
	}
	return ""
}

// pageTarget checks whom a page is for: a person, or a configured service.
func (d *Dispatcher) pageTarget(target string) (string, error) {
	if strings.HasPrefix(target, "@") {
		return target, nil
	}
	if name := d.knownService(target); name != "" {
		return name, nil
	}
	if len(d.Services) == 0 {
		return "", incident.Errorf(incident.EInvalid, "No services are configured for paging, so page a person: `/incident page @alice`. (Services are set in the config file's pagerduty.services.)")
	}
	return "", incident.Errorf(incident.EInvalid, "%q is not a service I can page. Services: %s. Or page a person: `/incident page @alice`.", target, strings.Join(d.Services, ", "))
}

// StatusReport is what /incident status alone shows: the incident's state,
// its links, and the outbox work still pending or failed for it.
func (d *Dispatcher) statusReport(ctx context.Context, n int64, cmd incident.Command) Result {
	if err := d.Service.Record(ctx, n, cmd, incident.OutcomeOK); err != nil {
		return d.internal(ctx, err)
	}
	inc, err := d.Service.Get(ctx, n)
	if err != nil {
		return d.failed(ctx, err, "status")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%s* %s — %s, %s stage. Commander %s, communicator %s.", inc.Ref(), inc.Severity, inc.Status, inc.Stage, Mention(inc.Commander), Mention(inc.Communicator))
	if !inc.NextUpdateDue.IsZero() && inc.Open() {
		fmt.Fprintf(&b, " Next public update due by %s.", inc.NextUpdateDue.UTC().Format("15:04 UTC"))
	}
	if links, err := d.Service.Links(ctx, n); err == nil {
		for _, l := range links {
			fmt.Fprintf(&b, "\n%s: %s", TitleCase(l.System), linkOr(l.URL, l.Ref))
		}
	}
	fx, err := d.Service.Effects(ctx, incident.EffectFilter{Incident: n, States: []string{incident.EffectPending, incident.EffectFailed, incident.EffectExpired}, Limit: 20})
	if err != nil {
		return d.internal(ctx, err)
	}
	if len(fx) == 0 {
		b.WriteString("\nEverything warroom had to send (Slack, PagerDuty, Jira, status page) is delivered.")
	} else {
		b.WriteString("\n*Not delivered yet:*")
		for _, e := range fx {
			what := EffectName(e.Kind)
			if t := e.Payload["target"]; e.Kind == incident.KindPage && strings.HasPrefix(t, "@") {
				what += " <" + t + ">"
			} else if e.Kind == incident.KindPage {
				what += " " + t
			}
			fmt.Fprintf(&b, "\n• #%d %s — %s", e.ID, user(what), e.State)
			if e.State == incident.EffectPending && e.Attempts > 0 {
				fmt.Fprintf(&b, ", %d attempts, next at %s", e.Attempts, e.NextAt.UTC().Format("15:04:05 UTC"))
			}
			if e.LastError != "" {
				fmt.Fprintf(&b, ": %s", user(clip(oneLine(e.LastError), 120)))
			}
		}
		b.WriteString("\nPending work is retried on its own. An admin can retry failed work: `warroom outbox retry <id>`.")
	}
	b.WriteString("\nNext: " + inc.NextStep())
	return Result{Reply: b.String(), Incident: inc}
}

func linkOr(url, text string) string {
	if url == "" {
		return user(text)
	}
	return "<" + url + "|" + user(text) + ">"
}

// afterResolve writes the postmortem draft when configured to at resolve.
func (d *Dispatcher) afterResolve(ctx context.Context, res Result) Result {
	if res.Failed || !d.PostmortemOnResolve || res.Incident == nil {
		return res
	}
	pm := d.WritePostmortem(ctx, res.Incident.Number, incident.Command{Actor: incident.SystemActor, Kind: incident.KindPostmortem, Raw: "postmortem at resolve"})
	if !pm.Failed {
		res.Reply += "\nA postmortem draft is being uploaded to the war room."
	}
	return res
}

// WritePostmortem writes a new version of incident n's postmortem draft
// from its record, stores it with its timeline entry, and has it uploaded
// to the war room.
func (d *Dispatcher) WritePostmortem(ctx context.Context, n int64, cmd incident.Command) Result {
	cmd.Kind = incident.KindPostmortem
	in, err := d.postmortemInput(ctx, n)
	if err != nil {
		if rerr := d.Service.Record(ctx, 0, cmd, incident.ErrorMessage(err)); rerr != nil {
			return d.internal(ctx, rerr)
		}
		return d.failed(ctx, err, "postmortem")
	}
	w, err := d.postmortemWriter()
	if err != nil {
		return d.internal(ctx, err)
	}
	cmd.Effects = func(_, _ *incident.Incident, e incident.Entry) []incident.Effect {
		return []incident.Effect{{Kind: SlackFile, Payload: map[string]string{"version": e.Detail["version"]}}}
	}
	pm, err := d.Service.SavePostmortem(ctx, n, cmd, func(v int) (string, error) {
		in.Version, in.Generated = v, d.Service.Now()
		return w.Write(in)
	})
	if err != nil {
		return d.failed(ctx, err, "postmortem")
	}
	return Result{Incident: in.Incident, Reply: fmt.Sprintf("Postmortem draft v%d for %s is written from the timeline (%d entries) and is being uploaded to the war room. Read it any time: `warroom postmortem %s`. Typing `/incident postmortem` again writes v%d and keeps this one.",
		pm.Version, pm.Ref(), len(in.Entries), pm.Ref(), pm.Version+1)}
}

func (d *Dispatcher) postmortemWriter() (*postmortem.Writer, error) {
	if d.Postmortems != nil {
		return d.Postmortems, nil
	}
	set, err := d.templates()
	if err != nil {
		return nil, err
	}
	return postmortem.NewWriter(set)
}

// postmortemInput gathers the record a draft is written from.
func (d *Dispatcher) postmortemInput(ctx context.Context, n int64) (postmortem.Input, error) {
	inc, err := d.Service.Get(ctx, n)
	if err != nil {
		return postmortem.Input{}, err
	}
	in := postmortem.Input{Incident: inc}
	if in.Entries, err = d.Service.Timeline(ctx, n, incident.Page{}); err != nil {
		return in, err
	}
	if in.Updates, err = d.Service.PublicUpdates(ctx, n); err != nil {
		return in, err
	}
	if in.Links, err = d.Service.Links(ctx, n); err != nil {
		return in, err
	}
	if in.Actions, err = d.Service.ActionItems(ctx, incident.ActionFilter{Incident: n}); err != nil {
		return in, err
	}
	if d.Names != nil {
		seen := map[string]bool{}
		var ids []string
		add := func(u string) {
			if u != "" && !seen[u] {
				seen[u] = true
				ids = append(ids, u)
			}
		}
		add(inc.DeclaredBy)
		add(inc.Commander)
		add(inc.Communicator)
		for _, u := range inc.Roles {
			add(u)
		}
		for _, e := range in.Entries {
			add(e.Actor)
		}
		for _, a := range in.Actions {
			add(a.Owner)
		}
		in.Names = d.Names(ctx, ids)
	}
	return in, nil
}

// DraftPostmortem writes incident n's draft from its record without storing
// it (warroom postmortem, when none was stored).
func (d *Dispatcher) DraftPostmortem(ctx context.Context, n int64) (string, error) {
	in, err := d.postmortemInput(ctx, n)
	if err != nil {
		return "", err
	}
	w, err := d.postmortemWriter()
	if err != nil {
		return "", err
	}
	in.Generated = d.Service.Now()
	return w.Write(in)
}
