package commands

// The communicate stage: the incident's internal status, the public updates
// and what goes into them (impact, components), and their cadence.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/internal/mrkdwn"
	"github.com/warroom/warroom/templates"
)

// UpdatePreview is a public update drafted from the template, for the
// communicator to edit and publish: exactly what will go public.
type UpdatePreview struct {
	Incident *incident.Incident
	Status   incident.Status
	// Title is the public title, editable: the last one published, or the
	// incident's own title on the first update.
	Title string
	Body  string
	// Components are the components and statuses that go out with the
	// update (all operational in a resolved one); Impact is the impact level
	// the status page will show. The preview shows both; they are changed
	// with /incident components and /incident severity.
	Components map[string]incident.ComponentStatus
	Impact     string
	Warnings   []incident.LintWarning
	// Checked fingerprints the status, title and text whose warnings were
	// shown: a submission of the same text publishes despite them.
	Checked string
	// Seen is the incident's last publication when the preview first
	// opened (nil: take the incident's, for a new preview).
	Seen *time.Time
}

// Submission is a preview as the communicator submitted it.
type Submission struct {
	Status     incident.Status
	Title      string
	Body       string
	Components map[string]incident.ComponentStatus // as the preview showed them
	Checked    string                              // the preview's fingerprint
	// Seen is the incident's last publication when the preview opened
	// (nil: unknown, a preview from before warroom kept it).
	Seen *time.Time
}

func statusSpec() *spec {
	return &spec{
		Usage: Usage{"status", "/incident status [investigating|identified|monitoring|resolved] [message]",
			"Set the incident's status and tell the room (internal; `update` is public). Alone, shows the incident's state and what warroom still has to deliver.",
			"/incident status identified Bad deploy of checkout v42"},
		parse: func(c *Command, rest, _ string) error {
			w, r := next(rest)
			if w == "" {
				return nil // /incident status alone: show the incident's state
			}
			st, err := incident.ParseStatus(w)
			if err != nil {
				return errUser(incident.ErrorMessage(err))
			}
			c.Status, c.Text = st, r
			return nil
		},
		run: (*Dispatcher).runStatus,
	}
}

func (d *Dispatcher) runStatus(ctx context.Context, r request) Result {
	if r.Status == "" {
		return d.statusReport(ctx, r.n, r.cmd)
	}
	if r.Status == incident.StatusResolved {
		return d.runResolve(ctx, r)
	}
	return d.apply(ctx, r.cmd, func(cmd incident.Command) (*incident.Incident, error) {
		return d.Service.SetStatus(ctx, r.n, cmd, r.Status, r.Text)
	}, func(_, inc *incident.Incident) texts {
		post := fmt.Sprintf(":large_blue_circle: *%s* status: *%s*", inc.Ref(), TitleCase(string(inc.Status)))
		if r.Text != "" {
			post += " — " + user(r.Text)
		}
		post += fmt.Sprintf(" (by <@%s>)", r.cmd.Actor)
		return texts{post: post, reply: fmt.Sprintf("%s status is %s.", inc.Ref(), inc.Status) + nextHint(inc)}
	})
}

// statusReport is what /incident status alone shows: the incident's state,
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
	switch {
	case inc.OwesFinalUpdate():
		fmt.Fprintf(&b, " The status page still says %s: the final public update is due by %s.", incident.TitleCaseStatus(inc.PublicStatus), inc.NextUpdateDue.UTC().Format("15:04 UTC"))
	case !inc.NextUpdateDue.IsZero() && inc.Open():
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

func updateSpec() *spec {
	return &spec{
		Usage: Usage{"update", "/incident update [investigating|identified|monitoring|resolved] [message]",
			"Write a public status update from the template, preview it, publish it.",
			"/incident update identified Failing over to the standby database"},
		parse: func(c *Command, rest, _ string) error {
			w, r := next(rest)
			if st, err := incident.ParseStatus(w); err == nil {
				c.Status, rest = st, r
			} else if w != "" && isStatusLike(w) {
				return errUser(incident.ErrorMessage(err))
			}
			c.Text = rest
			return nil
		},
		run: func(d *Dispatcher, ctx context.Context, r request) Result {
			p, err := d.preview(ctx, r.n, r.cmd.Actor, r.Status, r.Text)
			at := r.n
			if incident.ErrorCode(err) == incident.ENotFound {
				at = 0 // no such incident: the audit log keeps it
			}
			if rerr := d.Service.Record(ctx, at, r.cmd, outcome(err)); rerr != nil {
				return d.internal(ctx, rerr)
			}
			if err != nil {
				return d.failed(ctx, err, r.Name)
			}
			return Result{Preview: p, Incident: p.Incident}
		},
	}
}

// preview drafts a public update from the template for status (default:
// the current status, or resolved once the incident is) with the
// communicator's message, and lints it.
func (d *Dispatcher) preview(ctx context.Context, n int64, actor string, st incident.Status, message string) (*UpdatePreview, error) {
	inc, err := d.Service.Get(ctx, n)
	if err != nil {
		return nil, err
	}
	if err := d.Service.MayPublish(inc, actor); err != nil {
		return nil, err
	}
	if st == "" {
		st = inc.Status
	}
	if !inc.Open() && st != incident.StatusResolved {
		return nil, incident.Errorf(incident.EConflict, "%s is resolved, so the update to publish now is the resolved one: `/incident update resolved`. If it came back: `/incident reopen`.", inc.Ref())
	}
	title := incident.PublicTitle(inc)
	body, err := d.draft(inc, title, st, message)
	if err != nil {
		return nil, err
	}
	p := &UpdatePreview{Incident: inc, Status: st, Title: title, Body: body, Components: goingOut(inc.Components, st), Impact: incident.ImpactOf(inc.Severity)}
	p.Warnings = d.lintUpdate(ctx, inc, st, title, body)
	p.Checked = fingerprint(st, title, body)
	return p, nil
}

// goingOut is what the components' statuses will be in an update of status st.
func goingOut(comps map[string]incident.ComponentStatus, st incident.Status) map[string]incident.ComponentStatus {
	out := make(map[string]incident.ComponentStatus, len(comps))
	for name, cs := range comps {
		if st == incident.StatusResolved {
			cs = incident.Operational
		}
		out[name] = cs
	}
	return out
}

// lintUpdate checks the title and text of a public update of inc. The names
// of the people working on it must not appear either.
func (d *Dispatcher) lintUpdate(ctx context.Context, inc *incident.Incident, st incident.Status, title, body string) []incident.LintWarning {
	l := d.Lint
	if d.Names != nil {
		ids := []string{inc.DeclaredBy, inc.Commander, inc.Communicator}
		for _, u := range inc.Roles {
			ids = append(ids, u)
		}
		for _, name := range d.Names(ctx, ids) {
			l.People = append(l.People, name)
		}
	}
	needNext := st != incident.StatusResolved && !d.Service.NextUpdate(inc).IsZero()
	return append(l.Check(title, false), l.Check(body, needNext)...)
}

// fingerprint identifies the text a communicator was warned about.
func fingerprint(st incident.Status, title, body string) string {
	sum := sha256.Sum256([]byte(string(st) + "\x00" + strings.TrimSpace(title) + "\x00" + strings.TrimSpace(body)))
	return hex.EncodeToString(sum[:12])
}

// PreviewFor drafts the next public update of incident n, for the "Write
// the update" buttons: in st, or by default its current status (the
// resolved update once it is resolved).
func (d *Dispatcher) PreviewFor(ctx context.Context, n int64, actor string, st incident.Status) (*UpdatePreview, error) {
	return d.preview(ctx, n, actor, st, "")
}

// Draft renders the template for status with the incident's fields.
func (d *Dispatcher) Draft(inc *incident.Incident, st incident.Status, message string) (string, error) {
	return d.draft(inc, inc.Title, st, message)
}

// draft renders the template for status with the incident's fields, under
// the title the public knows it by.
func (d *Dispatcher) draft(inc *incident.Incident, title string, st incident.Status, message string) (string, error) {
	set, err := d.templates()
	if err != nil {
		return "", err
	}
	u := templates.Update{Ref: inc.Ref(), Title: title, Severity: inc.Severity.String(), Impact: inc.Impact,
		Message: strings.TrimSpace(message), Started: inc.DeclaredAt, Location: d.Location}
	for _, name := range inc.ComponentNames() {
		u.Components = append(u.Components, templates.Component{Name: name, Status: string(inc.Components[name])})
	}
	if st == incident.StatusResolved {
		u.Resolved = d.Service.Now()
		if !inc.ResolvedAt.IsZero() {
			u.Resolved = inc.ResolvedAt // "between 10:00 and 10:20": when it was resolved, not when the text is written
		}
	} else {
		u.NextUpdate = d.Service.NextUpdate(inc)
	}
	return set.Render(string(st), u)
}

// location is where public updates tell time.
func (d *Dispatcher) location() *time.Location {
	if d.Location == nil {
		return time.UTC
	}
	return d.Location
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

// SubmitUpdate is the communicator pressing Publish in the preview. The
// comms lint runs on what they submitted, title and text: when it warns of
// something they have not been shown, the update is held and the preview
// comes back with the warnings (Result.Preview); pressing Publish again
// with the same text publishes. Warnings never block a communicator who
// has seen them.
func (d *Dispatcher) SubmitUpdate(ctx context.Context, cmd incident.Command, n int64, sub Submission) Result {
	cmd.Kind = "publish"
	inc, err := d.Service.Get(ctx, n)
	if err != nil {
		return d.failed(ctx, err, "")
	}
	if err := d.Service.MayPublish(inc, cmd.Actor); err != nil {
		if rerr := d.Service.Record(ctx, n, cmd, incident.ErrorMessage(err)); rerr != nil {
			return d.internal(ctx, rerr)
		}
		return d.failed(ctx, err, "")
	}
	warnings := d.lintUpdate(ctx, inc, sub.Status, sub.Title, sub.Body)
	promised, stale := incident.PromisedNext(sub.Body, d.Service.Now(), d.Location)
	if stale && sub.Status != incident.StatusResolved {
		warnings = append(warnings, incident.LintWarning{Rule: incident.LintNextUpdate, Quotes: []string{promised.In(d.location()).Format("15:04 MST")},
			Reason: "That time has passed (the preview was open a while): say when the next update really comes. Published as it is, the next update is due by the severity's schedule."})
		promised = time.Time{}
	}
	if print := fingerprint(sub.Status, sub.Title, sub.Body); len(warnings) > 0 && print != sub.Checked {
		held := "Not published yet: the comms lint found " + lintSummary(warnings) + ". Publish again to send it as it is."
		if err := d.Service.Record(ctx, n, cmd, held); err != nil {
			return d.internal(ctx, err)
		}
		return Result{Incident: inc, Reply: held, Preview: &UpdatePreview{Incident: inc, Status: sub.Status, Title: sub.Title, Body: sub.Body,
			Components: sub.Components, Impact: incident.ImpactOf(inc.Severity), Warnings: warnings, Checked: print, Seen: sub.Seen}}
	}
	return d.PublishUpdate(ctx, cmd, n, incident.Publication{Status: sub.Status, Title: sub.Title, Body: sub.Body, Components: sub.Components, NextUpdateDue: promised, Since: sub.Seen})
}

// clipQuote shortens a quoted update for the announcements channel, which
// links the war room for the rest.
func clipQuote(q string, n int) string {
	if r := []rune(q); len(r) > n {
		return string(r[:n]) + "…"
	}
	return q
}

func lintSummary(ws []incident.LintWarning) string {
	var parts []string
	for _, w := range ws {
		p := strings.ReplaceAll(w.Rule, "_", " ")
		if q := w.Quoted(); q != "" {
			p += " (" + q + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

// PublishUpdate publishes a public update as approved. The war room and
// the announcements channel get it, and the hosted status page if one is
// configured, all through the outbox.
func (d *Dispatcher) PublishUpdate(ctx context.Context, cmd incident.Command, n int64, p incident.Publication) Result {
	cmd.Kind = "publish"
	resolved := false // this update resolved the incident (the commander's)
	cmd.Effects = func(before, inc *incident.Incident, e incident.Entry) []incident.Effect {
		resolved = before != nil && before.Open() && !inc.Open()
		st := incident.Status(e.Detail["to"])
		quoted := "> *" + user(e.Detail["title"]) + "*\n> " + strings.ReplaceAll(user(e.Detail["text"]), "\n", "\n> ")
		t := texts{
			post:     fmt.Sprintf(":mega: <@%s> published a public update for %s (*%s*):\n%s", cmd.Actor, inc.Ref(), TitleCase(string(st)), quoted),
			announce: fmt.Sprintf(":mega: %s public update (*%s*) — war room %s\n%s", inc.Ref(), TitleCase(string(st)), roomLink(inc), clipQuote(quoted, 1200)),
		}
		if e.Detail["resolves"] == "false" && inc.Open() {
			t.post += fmt.Sprintf("\n:information_source: The status page now says resolved; %s stays open until the commander (%s) resolves it: `/incident resolve <summary>`.", inc.Ref(), Mention(inc.Commander))
		}
		return t.effects()
	}
	inc, _, err := d.Service.Publish(ctx, n, cmd, p)
	if err != nil {
		return d.failed(ctx, err, "")
	}
	reply := "Published. " + nextDueText(inc) + nextHint(inc)
	if inc.Open() && inc.PublicStatus == incident.StatusResolved {
		reply = fmt.Sprintf("Published: the status page says resolved. %s stays open until the commander (%s) resolves it.", inc.Ref(), Mention(inc.Commander))
	}
	if resolved {
		reply += openStepsText(inc, d.Service.Enabled(incident.KindPostmortemDraft)) + d.overnight(ctx, inc)
	}
	return Result{Incident: inc, Reply: reply}
}

// Snooze pushes incident n's next update back by dur, from the reminder's button.
func (d *Dispatcher) Snooze(ctx context.Context, cmd incident.Command, n int64, dur time.Duration) Result {
	cmd.Kind = "snooze"
	return d.apply(ctx, cmd, func(cmd incident.Command) (*incident.Incident, error) {
		return d.Service.Snooze(ctx, n, cmd, dur)
	}, func(_, inc *incident.Incident) texts {
		return texts{post: fmt.Sprintf(":zzz: <@%s> snoozed the public update of %s: now due by %s.", cmd.Actor, inc.Ref(), inc.NextUpdateDue.UTC().Format("15:04 UTC"))}
	})
}

func nextDueText(inc *incident.Incident) string {
	if inc.NextUpdateDue.IsZero() {
		return "No further update is scheduled."
	}
	return "The next update is due by " + inc.NextUpdateDue.UTC().Format("15:04 UTC") + "; I'll remind you 5 minutes before."
}

func impactSpec() *spec {
	return &spec{
		Usage: Usage{"impact", "/incident impact <who is affected and how>", "Describe the impact in customers' words, for public updates.", "/incident impact failed card payments for some customers"},
		parse: func(c *Command, rest, _ string) error {
			if rest == "" {
				return errUser("Say who is affected and how, in customers' words, e.g. `/incident impact failed card payments for some customers`.")
			}
			c.Text = rest
			return nil
		},
		run: func(d *Dispatcher, ctx context.Context, r request) Result {
			return d.apply(ctx, r.cmd, func(cmd incident.Command) (*incident.Incident, error) {
				return d.Service.SetImpact(ctx, r.n, cmd, r.Text)
			}, func(_, inc *incident.Incident) texts {
				return texts{post: fmt.Sprintf(":busts_in_silhouette: <@%s> described the impact of %s: %s", r.cmd.Actor, inc.Ref(), user(inc.Impact)),
					reply: "Impact set. It goes into the next public update: `/incident update`."}
			})
		},
	}
}

func componentsSpec() *spec {
	return &spec{
		Usage: Usage{"components", "/incident components <name>=<operational|degraded_performance|partial_outage|major_outage> ...",
			"Set the affected components and their status.", "/incident components checkout=partial_outage api=degraded_performance"},
		aliases: []string{"component"},
		parse: func(c *Command, rest, _ string) error {
			if rest == "" {
				return errUser("Name each component and its status, e.g. `/incident components checkout=partial_outage api=degraded_performance`.")
			}
			c.Components = map[string]incident.ComponentStatus{}
			for _, pair := range strings.Fields(rest) {
				name, st, ok := strings.Cut(pair, "=")
				if !ok || name == "" {
					return errUser("`" + clip(pair, 40) + "` is not name=status. Example: `checkout=partial_outage`.")
				}
				cs, err := incident.ParseComponentStatus(st)
				if err != nil {
					return errUser(incident.ErrorMessage(err))
				}
				c.Components[mrkdwn.Unescape(name)] = cs
			}
			return nil
		},
		run: func(d *Dispatcher, ctx context.Context, r request) Result {
			return d.apply(ctx, r.cmd, func(cmd incident.Command) (*incident.Incident, error) {
				return d.Service.SetComponents(ctx, r.n, cmd, r.Components)
			}, func(_, inc *incident.Incident) texts {
				var parts []string
				for _, name := range inc.ComponentNames() {
					parts = append(parts, fmt.Sprintf("%s: %s", user(name), strings.ReplaceAll(string(inc.Components[name]), "_", " ")))
				}
				return texts{post: fmt.Sprintf(":large_orange_circle: <@%s> set the components of %s — %s", r.cmd.Actor, inc.Ref(), strings.Join(parts, ", ")),
					reply: "Components set. They go into the next public update: `/incident update`."}
			})
		},
	}
}
