package commands

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/warroom/warroom/incident"
)

func actionSpec() *spec {
	return &spec{
		Usage: Usage{"action", "/incident action add <text> [@owner] [p1|p2|p3] [due:YYYY-MM-DD] · list [all|mine] · done <id> · reopen <id> · assign <id> @user",
			"Track follow-ups to closure (default p2, due by priority: 7, 30 or 90 days). Done items close their Jira issue too.",
			"/incident action add Alert on replica lag @alice p1 due:2026-12-15"},
		aliases: []string{"actions", "ai", "followup"},
		parse:   parseAction,
		run: func(d *Dispatcher, ctx context.Context, r request) Result {
			return d.action(ctx, r.Command, r.n, r.cmd)
		},
		scope: maybeOnIncident,
	}
}

// actionVerbs are the action subcommands.
var actionVerbs = []string{"add", "list", "done", "reopen", "assign"}

// parseAction reads "add <text> [@owner] [p1|p2|p3] [due:YYYY-MM-DD]",
// "list [all|mine]", "done <id>", "reopen <id>" or "assign <id> @user".
// The options of add are read from the end, in any order, so the text
// itself may say "p1" or "@alice" in the middle.
func parseAction(c *Command, rest, actor string) error {
	verb, r := next(rest)
	verb = strings.ToLower(verb)
	switch verb {
	case "":
		verb = "list"
	case "close", "complete", "finish", "resolve":
		verb = "done"
	case "ls", "show":
		verb = "list"
	case "mine", "all", "open": // "/incident actions mine"
		verb, r = "list", verb
	case "new", "create":
		verb = "add"
	case "owner":
		verb = "assign"
	}
	c.Action = verb
	switch verb {
	case "add":
		words := strings.Fields(r)
		for len(words) > 1 {
			w := words[len(words)-1]
			lw := strings.ToLower(w)
			if p, ok := incident.ParsePriority(lw); ok && c.Priority == 0 {
				c.Priority = p
			} else if d, ok := strings.CutPrefix(lw, "due:"); ok && c.Due.IsZero() {
				t, err := time.Parse(time.DateOnly, d)
				if err != nil {
					return errUser("`" + clip(w, 40) + "` is not a due date. Write it as `due:2026-12-31`.")
				}
				c.Due = t
			} else if m := mention.FindStringSubmatch(w); m != nil && c.User == "" {
				c.User = m[1]
			} else {
				break
			}
			words = words[:len(words)-1]
		}
		c.Text = strings.Join(words, " ")
		if strings.TrimSpace(r) == "" {
			return errUser("Say what will change, e.g. `/incident action add Alert on replica lag @alice p1 due:2026-12-15`.")
		}
	case "list":
		w := strings.ToLower(r)
		if w != "" && w != "all" && w != "mine" && w != "open" {
			return errUser("`action list` takes nothing, `all` (closed ones too) or `mine`.")
		}
		c.Text = w
	case "done", "reopen", "assign":
		w, r2 := next(r)
		id, ok := incident.ParseActionRef(w)
		if !ok {
			return errUser("Say which item by its number, e.g. `/incident action " + verb + " 12" + map[bool]string{true: " @alice", false: ""}[verb == "assign"] + "`. The numbers are in `/incident action list`.")
		}
		c.ActionID = id
		if verb == "assign" {
			u, name, err := parseUser(r2, actor)
			if err != nil {
				return err
			}
			c.User, c.UserName = u, name
		} else if r2 != "" {
			return errUser("`action " + verb + "` takes one item number, e.g. `/incident action " + verb + " 12`.")
		}
	default:
		return errUser("`" + clip(verb, 40) + "` is not an action subcommand. Use one of: " + strings.Join(actionVerbs, ", ") + ".")
	}
	return nil
}

// actionsShown is how many items /incident action list shows.
const actionsShown = 30

// action runs /incident action ... . n is the incident named or whose war
// room this is, or 0: done, reopen and assign find the incident from the
// item, and list then shows open items everywhere.
func (d *Dispatcher) action(ctx context.Context, c Command, n int64, cmd incident.Command) Result {
	if c.ActionID != 0 {
		// An item of a private incident this person may not see is, to
		// them, an item that does not exist, whichever way they name it.
		if a, err := d.Service.Action(ctx, c.ActionID); err == nil {
			if _, refused := d.private(ctx, a.Incident, cmd); refused {
				return Result{Reply: incident.ErrorMessage(incident.NoAction(c.ActionID)), Failed: true}
			}
		}
	}
	switch c.Action {
	case "list":
		return d.actionList(ctx, c, n, cmd)
	case "add":
		if n == 0 {
			msg := "This channel is not a war room, so say which incident: `/incident INC-7 action add <text>`. Open incidents: `/incident list`."
			if err := d.Service.Record(ctx, 0, cmd, msg); err != nil {
				return d.internal(ctx, err)
			}
			return Result{Reply: msg, Failed: true}
		}
	}
	var post string
	cmd.Effects = func(_, inc *incident.Incident, e incident.Entry) []incident.Effect {
		if inc.Stage == incident.StageClosed || inc.ChannelID == "" {
			return nil // the war room is archived, or was never opened
		}
		post = actionPost(cmd.Actor, e.Detail)
		return []incident.Effect{Post(post)}
	}
	var a *incident.ActionItem
	var err error
	switch c.Action {
	case "add":
		a, err = d.Service.AddAction(ctx, n, cmd, incident.NewAction{Text: c.Text, Owner: c.User, Priority: c.Priority, Due: c.Due})
	case "done":
		a, err = d.Service.CompleteAction(ctx, n, cmd, c.ActionID)
	case "reopen":
		a, err = d.Service.ReopenAction(ctx, n, cmd, c.ActionID)
	case "assign":
		a, err = d.Service.AssignAction(ctx, n, cmd, c.ActionID, c.User)
	}
	if err != nil {
		return d.failed(ctx, err, "action")
	}
	return Result{Reply: d.actionReply(ctx, c.Action, a)}
}

// actionPost is what the war room is told of an action item change.
func actionPost(actor string, d map[string]string) string {
	ref := "AI-" + d["id"]
	switch d["action"] {
	case "add":
		return fmt.Sprintf(":clipboard: <@%s> added action item *%s* (%s, due %s, owner %s): %s", actor, ref, d["priority"], d["due"], Mention(d["owner"]), user(d["text"]))
	case "done":
		return fmt.Sprintf(":white_check_mark: <@%s> closed action item *%s*: %s", actor, ref, user(d["text"]))
	case "reopen":
		return fmt.Sprintf(":arrows_counterclockwise: <@%s> reopened action item *%s*: %s", actor, ref, user(d["text"]))
	case "assign":
		return fmt.Sprintf(":bust_in_silhouette: <@%s> gave action item *%s* to %s: %s", actor, ref, Mention(d["owner"]), user(d["text"]))
	}
	return ""
}

func (d *Dispatcher) actionReply(ctx context.Context, verb string, a *incident.ActionItem) string {
	var b strings.Builder
	switch verb {
	case "add":
		fmt.Fprintf(&b, "Added *%s* to %s: %s — %s, due %s, owner %s.", a.Ref(), incident.Ref(a.Incident), user(a.Text), a.Priority, a.Due.Format(time.DateOnly), Mention(a.Owner))
		if d.Service.Enabled(incident.KindActionSync) {
			b.WriteString(" A Jira issue will be filed and linked to the incident's.")
		}
		if a.Owner == "" {
			fmt.Fprintf(&b, "\nNobody owns it yet: `/incident action assign %d @someone`.", a.ID)
		}
	case "done":
		fmt.Fprintf(&b, "*%s* is done.", a.Ref())
	case "reopen":
		fmt.Fprintf(&b, "*%s* is open again, due %s.", a.Ref(), a.Due.Format(time.DateOnly))
	case "assign":
		fmt.Fprintf(&b, "*%s* is now owned by %s.", a.Ref(), Mention(a.Owner))
	}
	if open, err := d.Service.ActionItems(ctx, incident.ActionFilter{Incident: a.Incident, OpenOnly: true}); err == nil {
		fmt.Fprintf(&b, "\n%s has %d open action item%s: `/incident %s action list`.", incident.Ref(a.Incident), len(open), plural(len(open)), incident.Ref(a.Incident))
	}
	return b.String()
}

func (d *Dispatcher) actionList(ctx context.Context, c Command, n int64, cmd incident.Command) Result {
	if err := d.Service.Record(ctx, n, cmd, incident.OutcomeOK); err != nil {
		return d.internal(ctx, err)
	}
	f := incident.ActionFilter{Incident: n, OpenOnly: c.Text != "all" && (n == 0 || c.Text == "open")}
	if c.Text == "mine" {
		f.Owner, f.OpenOnly = cmd.Actor, true
	}
	items, err := d.Service.ActionItems(ctx, f)
	if err != nil {
		return d.internal(ctx, err)
	}
	if n == 0 { // across incidents: leave out private ones this person is not in
		seen := map[int64]bool{}
		items = slices.DeleteFunc(items, func(a incident.ActionItem) bool {
			ok, known := seen[a.Incident]
			if !known {
				inc, err := d.Service.Get(ctx, a.Incident)
				ok = err == nil && inc.Visible(cmd.Actor, cmd.Channel)
				seen[a.Incident] = ok
			}
			return !ok
		})
	}
	now := d.Service.Now()
	var b strings.Builder
	switch {
	case c.Text == "mine":
		b.WriteString("*Your open action items*")
	case n != 0:
		fmt.Fprintf(&b, "*Action items of %s*", incident.Ref(n))
	case f.OpenOnly:
		b.WriteString("*Open action items*")
	default:
		b.WriteString("*All action items*")
	}
	open, overdue := 0, 0
	for _, a := range items {
		if a.Status == incident.ActionOpen {
			open++
		}
		if a.Overdue(now) {
			overdue++
		}
	}
	fmt.Fprintf(&b, " — %d open, %d overdue, %d done\n", open, overdue, len(items)-open)
	if len(items) == 0 {
		if n != 0 {
			fmt.Fprintf(&b, "None yet. Add one: `/incident %s action add <what will change> @owner p2`", incident.Ref(n))
		} else {
			b.WriteString("None. Add one from a war room: `/incident action add <what will change> @owner p2`")
		}
		return Result{Reply: b.String()}
	}
	shown := items
	if len(shown) > actionsShown {
		shown = shown[:actionsShown]
	}
	for _, a := range shown {
		b.WriteString(actionLine(a, n == 0, now))
		b.WriteByte('\n')
	}
	if len(items) > len(shown) {
		fmt.Fprintf(&b, "_%d more not shown; all of them: `warroom report weekly`_\n", len(items)-len(shown))
	}
	b.WriteString("Close one: `/incident action done <id>` · give one away: `/incident action assign <id> @user`")
	return Result{Reply: b.String()}
}

// actionLine is one item in a list.
func actionLine(a incident.ActionItem, withIncident bool, now time.Time) string {
	where := ""
	if withIncident {
		where = incident.Ref(a.Incident) + " "
	}
	var tail string
	switch {
	case a.Status == incident.ActionDone:
		tail = "done " + a.Closed.UTC().Format(time.DateOnly)
	case a.Overdue(now):
		tail = fmt.Sprintf(":warning: *overdue* since %s", a.Due.Format(time.DateOnly))
	default:
		tail = "due " + a.Due.Format(time.DateOnly)
	}
	line := fmt.Sprintf("• %s*%s* %s %s — %s, %s", where, a.Ref(), a.Priority, user(clip(oneLine(a.Text), 160)), Mention(a.Owner), tail)
	if a.Ticket != "" {
		line += " — " + linkOr(a.TicketURL, a.Ticket)
	}
	return line
}
