package commands

// The assess stage: declaring an incident, its severity, who leads it, and
// the list of incidents.

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/warroom/warroom/incident"
)

// DeclareForm is the declare modal's starting values.
type DeclareForm struct {
	Severity incident.Severity
	Channel  string   // where /incident declare was typed
	Services []string // the configured services to choose from, if any
}

func declareSpec() *spec {
	return &spec{
		Usage: Usage{"declare", "/incident declare [private] [sev1|sev2|sev3|sev4] [service:] <title>",
			"Declare an incident and open its war room. A configured service before a colon records it. `private`: a private room, never announced or on the status page, visible only to the people in it. With no title, opens a form.",
			"/incident declare sev2 Checkout returns 500s"},
		parse: parseDeclare,
		run:   (*Dispatcher).runDeclare,
		scope: anywhere,
	}
}

func parseDeclare(c *Command, rest, _ string) error {
	if c.Ref != 0 {
		return errUser("`declare` starts a new incident, so it takes no reference.")
	}
	c.Severity = incident.DefaultSeverity
	// "private" and the severity may come in either order.
	for range 2 {
		w, r := next(rest)
		switch {
		case strings.EqualFold(w, "private") && !c.Private:
			c.Private, rest = true, r
		case sevLike.MatchString(w):
			sev, err := incident.ParseSeverity(w)
			if err != nil {
				return errUser(incident.ErrorMessage(err))
			}
			c.Severity, rest = sev, r
		}
	}
	c.Text = strings.TrimSpace(rest)
	c.Modal = c.Text == ""
	if c.Modal && c.Private {
		return errUser("A private incident takes its title on the line (the form opens in public), e.g. `/incident declare private sev2 Payroll export sent to the wrong bucket`.")
	}
	return nil
}

func (d *Dispatcher) runDeclare(ctx context.Context, r request) Result {
	if msg := d.mayDeclare(r.cmd.Actor); msg != "" {
		if err := d.Service.Record(ctx, 0, r.cmd, msg); err != nil {
			return d.internal(ctx, err)
		}
		return Result{Reply: msg, Failed: true}
	}
	if r.Modal {
		// Opening the form is recorded; the submission is recorded again as a declare.
		if err := d.Service.Record(ctx, 0, r.cmd, incident.OutcomeOK); err != nil {
			return d.internal(ctx, err)
		}
		return Result{Modal: &DeclareForm{Severity: r.Severity, Channel: r.from.channel, Services: d.Services}}
	}
	decl := incident.Declaration{Title: r.Text, Severity: r.Severity, Private: r.Private}
	if svc, rest, ok := strings.Cut(r.Text, ":"); ok && d.knownService(svc) != "" {
		decl.Service, decl.Title = d.knownService(svc), rest
	}
	return d.Declare(ctx, r.cmd, decl, r.from.responseURL)
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

func severitySpec() *spec {
	return &spec{
		Usage:   Usage{"severity", "/incident severity <sev1|sev2|sev3|sev4>", "Change the severity.", "/incident severity sev1"},
		aliases: []string{"sev"},
		parse: func(c *Command, rest, _ string) error {
			w, r := next(rest)
			if w == "" {
				return errUser("Say which severity: sev1 (worst) to sev4.")
			}
			sev, err := incident.ParseSeverity(w)
			if err != nil {
				return errUser(incident.ErrorMessage(err))
			}
			if r != "" {
				return errUser("`severity` takes one value, e.g. `/incident severity sev1`.")
			}
			c.Severity = sev
			return nil
		},
		run: func(d *Dispatcher, ctx context.Context, r request) Result {
			return d.apply(ctx, r.cmd, func(cmd incident.Command) (*incident.Incident, error) {
				return d.Service.SetSeverity(ctx, r.n, cmd, r.Severity)
			}, func(before, inc *incident.Incident) texts {
				t := texts{
					post:  fmt.Sprintf(":rotating_light: <@%s> changed the severity of %s from %s to *%s*.", r.cmd.Actor, inc.Ref(), before.Severity, inc.Severity),
					reply: fmt.Sprintf("%s is now %s.", inc.Ref(), inc.Severity) + nextHint(inc),
				}
				if added := len(inc.Checklist) - len(before.Checklist); added > 0 {
					more := fmt.Sprintf(" The %s checklist added %d step%s to the checklist above.", inc.Severity, added, plural(added))
					t.post += more
					t.reply = fmt.Sprintf("%s is now %s.%s", inc.Ref(), inc.Severity, more) + nextHint(inc)
				}
				if inc.Severity < before.Severity {
					t.announce = fmt.Sprintf(":rotating_light: %s escalated to *%s*: %s — war room %s", inc.Ref(), inc.Severity, user(inc.Title), roomLink(inc))
				}
				return t
			})
		},
	}
}

// Roles: the commander, the communicator, and any other named role.

func commanderSpec() *spec {
	return &spec{
		Usage:   Usage{"commander", "/incident commander @user", "Name the incident commander (`me` for yourself).", "/incident commander @alice"},
		aliases: []string{"ic"},
		parse:   parseRoleHolder("commander"),
		run:     (*Dispatcher).runAssign,
	}
}

func communicatorSpec() *spec {
	return &spec{
		Usage:   Usage{"communicator", "/incident communicator @user", "Name who writes the status updates.", "/incident communicator @bob"},
		aliases: []string{"comms"},
		parse:   parseRoleHolder("communicator"),
		run:     (*Dispatcher).runAssign,
	}
}

func roleSpec() *spec {
	return &spec{
		Usage: Usage{"role", "/incident role <name> @user", "Give anyone another role (scribe, ops-lead, ...).", "/incident role scribe @carol"},
		parse: func(c *Command, rest, actor string) error {
			w, r := next(rest)
			if w == "" || r == "" {
				return errUser("Name the role and the person, e.g. `/incident role scribe @alice`.")
			}
			role, err := incident.CleanRole(w)
			if err != nil {
				return errUser(incident.ErrorMessage(err))
			}
			u, name, err := parseUser(r, actor)
			if err != nil {
				return err
			}
			c.Role, c.User, c.UserName = role, u, name
			return nil
		},
		run: (*Dispatcher).runAssign,
	}
}

// parseRoleHolder reads the person given one of the two special roles.
func parseRoleHolder(role string) func(c *Command, rest, actor string) error {
	return func(c *Command, rest, actor string) error {
		c.Role = role
		u, name, err := parseUser(rest, actor)
		if err != nil {
			return err
		}
		c.User, c.UserName = u, name
		return nil
	}
}

func (d *Dispatcher) runAssign(ctx context.Context, r request) Result {
	return d.apply(ctx, r.cmd, func(cmd incident.Command) (*incident.Incident, error) {
		return d.Service.Assign(ctx, r.n, cmd, r.Role, r.User)
	}, func(before, inc *incident.Incident) texts {
		from := holder(before, r.Role)
		t := texts{
			reply:  fmt.Sprintf("<@%s> is now %s of %s.", r.User, r.Role, inc.Ref()) + nextHint(inc),
			invite: []string{r.User},
		}
		switch {
		case from == "":
			t.post = fmt.Sprintf(":bust_in_silhouette: <@%s> is now the *%s* of %s (set by <@%s>).", r.User, r.Role, inc.Ref(), r.cmd.Actor)
		case r.User == r.cmd.Actor && r.Role == incident.RoleCommander:
			t.post = fmt.Sprintf(":bust_in_silhouette: <@%s> took command of %s from <@%s>.", r.User, inc.Ref(), from)
		case r.User == r.cmd.Actor:
			t.post = fmt.Sprintf(":bust_in_silhouette: <@%s> took over as *%s* of %s from <@%s>.", r.User, r.Role, inc.Ref(), from)
		default:
			t.post = fmt.Sprintf(":bust_in_silhouette: <@%s> made <@%s> the *%s* of %s, taking over from <@%s>.", r.cmd.Actor, r.User, r.Role, inc.Ref(), from)
		}
		if r.Role == incident.RoleCommander {
			t.announce = commanderAnnouncement(inc, from)
			// The commander who held it hears it directly, not only in
			// the room's history: taking command needs nobody's leave.
			if from != "" && from != r.User && from != r.cmd.Actor && inc.ChannelID != "" {
				t.extra = append(t.extra, Tell(from, inc.ChannelID, "", fmt.Sprintf(":bust_in_silhouette: <@%s> took command of %s from you (set by <@%s>). If that was not agreed, say so in <#%s>; to take it back: `/incident %s commander me`.",
					r.User, inc.Ref(), r.cmd.Actor, inc.ChannelID, inc.Ref())))
			}
		}
		return t
	})
}

// holder is who held role on inc.
func holder(inc *incident.Incident, role string) string {
	switch role {
	case incident.RoleCommander:
		return inc.Commander
	case incident.RoleCommunicator:
		return inc.Communicator
	}
	return inc.Roles[role]
}

// commanderAnnouncement tells the announcements channel who leads a SEV1 or
// SEV2 now, so the declaration's "Commander: @alice" is not the last word.
func commanderAnnouncement(inc *incident.Incident, from string) string {
	if inc.Severity > incident.SEV2 || from == "" || from == inc.Commander {
		return ""
	}
	return fmt.Sprintf(":bust_in_silhouette: %s (%s) has a new commander: %s, taking over from %s — war room %s", inc.Ref(), inc.Severity, Mention(inc.Commander), Mention(from), roomLink(inc))
}

// listShown is how many incidents /incident list shows.
const listShown = 20

func listSpec() *spec {
	return &spec{
		Usage:   Usage{"list", "/incident list [all]", "List open incidents (`all` adds resolved ones).", "/incident list"},
		aliases: []string{"ls"},
		parse: func(c *Command, rest, _ string) error {
			if rest != "" && !strings.EqualFold(rest, "all") {
				return errUser("`list` takes nothing, or `all` to include resolved incidents.")
			}
			c.Text = strings.ToLower(rest)
			return nil
		},
		run: func(d *Dispatcher, ctx context.Context, r request) Result {
			return d.list(ctx, r.cmd, r.Text == "all")
		},
		scope: anywhere,
	}
}

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
	fmt.Fprintf(&b, "Act on one from anywhere: `/incident %s note <text>`", list[0].Ref())
	return Result{Reply: b.String()}
}
