// Package commands turns the text of "/incident ..." into typed commands,
// holds the help text, and runs each command against incident.Service.
//
// It knows nothing of Slack's transports or HTTP; bot/ calls Dispatcher.Run
// and carries out the Result. It must not import bot/ or any store.
package commands

import (
	"regexp"
	"strings"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/internal/mrkdwn"
)

// Command is one parsed "/incident ..." command.
type Command struct {
	Name     string            // the subcommand: declare, note, status, ...
	Ref      int64             // incident named before the subcommand, 0 if none
	Severity incident.Severity // declare, severity
	Status   incident.Status   // status
	Role     string            // commander, communicator, role
	User     string            // the Slack user ID a role goes to
	Text     string            // title, note, message, summary, help topic
	Target   string            // page: a service name, or "@U123"
	Modal    bool              // declare with no title: open the form
	Private  bool              // declare private: a private war room, off announcements and the status page
	// Components are name=status pairs, for components.
	Components map[string]incident.ComponentStatus
	// Action is the action subcommand (add, list, done, reopen, assign),
	// ActionID the item it names, Priority and Due what add was given.
	Action   string
	ActionID int64
	Priority incident.Priority
	Due      time.Time
}

// ParseError is a command that could not be parsed. Name is the subcommand
// when it was recognised, so the reply can show that command's syntax.
type ParseError struct {
	Name    string
	Ref     int64
	Message string
}

func (e *ParseError) Error() string { return e.Message }

var (
	mention = regexp.MustCompile(`^<@([UW][A-Z0-9]+)(\|[^>]*)?>$`)
	sevLike = regexp.MustCompile(`(?i)^sev-?\d+$`)
)

// Parse parses the text after "/incident". actor is the user typing, so
// that "me" can stand for them.
func Parse(text, actor string) (Command, error) {
	var c Command
	rest := strings.TrimSpace(text)
	word, rest := next(rest)
	if n, ok := incident.ParseRef(word); ok {
		c.Ref = n
		word, rest = next(rest)
	}
	if word == "" {
		if c.Ref != 0 {
			return c, &ParseError{Ref: c.Ref, Message: "Say what to do with " + incident.Ref(c.Ref) + ", e.g. `/incident " + incident.Ref(c.Ref) + " note <text>`. All commands: `/incident help`."}
		}
		c.Name = "help"
		return c, nil
	}
	name, ok := aliases[strings.ToLower(word)]
	if !ok {
		msg := "`" + clip(word, 40) + "` is not a command."
		if s := suggest(strings.ToLower(word)); s != "" {
			msg += " Did you mean `" + s + "`?"
		}
		return c, &ParseError{Ref: c.Ref, Message: msg + " All commands: `/incident help`."}
	}
	c.Name = name
	fail := func(msg string) (Command, error) {
		return c, &ParseError{Name: name, Ref: c.Ref, Message: msg}
	}
	switch name {
	case "declare":
		if c.Ref != 0 {
			return fail("`declare` starts a new incident, so it takes no reference.")
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
					return fail(incident.ErrorMessage(err))
				}
				c.Severity, rest = sev, r
			}
		}
		c.Text = strings.TrimSpace(rest)
		c.Modal = c.Text == ""
		if c.Modal && c.Private {
			return fail("A private incident takes its title on the line (the form opens in public), e.g. `/incident declare private sev2 Payroll export sent to the wrong bucket`.")
		}
	case "severity":
		w, r := next(rest)
		if w == "" {
			return fail("Say which severity: sev1 (worst) to sev4.")
		}
		sev, err := incident.ParseSeverity(w)
		if err != nil {
			return fail(incident.ErrorMessage(err))
		}
		if r != "" {
			return fail("`severity` takes one value, e.g. `/incident severity sev1`.")
		}
		c.Severity = sev
	case "commander", "communicator":
		c.Role = name
		user, err := parseUser(rest, actor)
		if err != nil {
			return fail(err.Error())
		}
		c.User = user
	case "role":
		w, r := next(rest)
		if w == "" || r == "" {
			return fail("Name the role and the person, e.g. `/incident role scribe @alice`.")
		}
		role, err := incident.CleanRole(w)
		if err != nil {
			return fail(incident.ErrorMessage(err))
		}
		user, err := parseUser(r, actor)
		if err != nil {
			return fail(err.Error())
		}
		c.Role, c.User = role, user
	case "status":
		w, r := next(rest)
		if w == "" {
			break // /incident status alone: show the incident's state
		}
		st, err := incident.ParseStatus(w)
		if err != nil {
			return fail(incident.ErrorMessage(err))
		}
		c.Status, c.Text = st, r
	case "components":
		if rest == "" {
			return fail("Name each component and its status, e.g. `/incident components checkout=partial_outage api=degraded_performance`.")
		}
		c.Components = map[string]incident.ComponentStatus{}
		for _, pair := range strings.Fields(rest) {
			name, st, ok := strings.Cut(pair, "=")
			if !ok || name == "" {
				return fail("`" + clip(pair, 40) + "` is not name=status. Example: `checkout=partial_outage`.")
			}
			cs, err := incident.ParseComponentStatus(st)
			if err != nil {
				return fail(incident.ErrorMessage(err))
			}
			c.Components[mrkdwn.Unescape(name)] = cs
		}
	case "update":
		w, r := next(rest)
		if st, err := incident.ParseStatus(w); err == nil {
			c.Status, rest = st, r
		} else if w != "" && isStatusLike(w) {
			return fail(incident.ErrorMessage(err))
		}
		c.Text = rest
	case "impact":
		if rest == "" {
			return fail("Say who is affected and how, in customers' words, e.g. `/incident impact failed card payments for some customers`.")
		}
		c.Text = rest
	case "postmortem":
		if rest != "" {
			return fail("`postmortem` takes nothing after it: `/incident postmortem` writes a new draft from the timeline.")
		}
	case "page":
		w, r := next(rest)
		if w == "" {
			return fail("Say whom to page: a service or a person, e.g. `/incident page payments card auth failing` or `/incident page @alice`.")
		}
		if m := mention.FindStringSubmatch(w); m != nil {
			w = "@" + m[1]
		} else if strings.HasPrefix(w, "@") || strings.HasPrefix(w, "<") {
			return fail("Pick the person from Slack's list after @, so it becomes a mention, e.g. `/incident page @alice`.")
		}
		c.Target, c.Text = w, r
	case "action":
		if err := parseAction(&c, rest, actor); err != nil {
			return fail(err.Error())
		}
	case "note":
		if rest == "" {
			return fail("The note is empty. Type it after the command.")
		}
		c.Text = rest
	case "resolve":
		c.Text = rest
	case "help":
		c.Text = strings.ToLower(strings.TrimSpace(rest))
	case "list":
		if rest != "" && !strings.EqualFold(rest, "all") {
			return fail("`list` takes nothing, or `all` to include resolved incidents.")
		}
		c.Text = strings.ToLower(rest)
	default: // timeline, reopen, close
		if rest != "" {
			return fail("`" + name + "` takes no arguments.")
		}
	}
	// Slack sends &, < and > escaped; store what the person typed.
	c.Text = mrkdwn.Unescape(c.Text)
	return c, nil
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
			u, err := parseUser(r2, actor)
			if err != nil {
				return err
			}
			c.User = u
		} else if r2 != "" {
			return errUser("`action " + verb + "` takes one item number, e.g. `/incident action " + verb + " 12`.")
		}
	default:
		return errUser("`" + clip(verb, 40) + "` is not an action subcommand. Use one of: " + strings.Join(actionVerbs, ", ") + ".")
	}
	return nil
}

// isStatusLike is true for a single lowercase word that looks like a
// misspelt status rather than the start of a message.
func isStatusLike(w string) bool {
	for _, st := range incident.Statuses {
		if distance(strings.ToLower(w), string(st)) <= 3 {
			return true
		}
	}
	return false
}

// parseUser reads exactly one user mention, or "me".
func parseUser(s, actor string) (string, error) {
	w, r := next(s)
	if w == "" {
		return "", errUser("Name a person with @, e.g. `@alice`.")
	}
	if r != "" {
		return "", errUser("Name one person only.")
	}
	if strings.EqualFold(w, "me") && actor != "" {
		return actor, nil
	}
	m := mention.FindStringSubmatch(w)
	if m == nil {
		return "", errUser("`" + clip(w, 40) + "` is not a Slack user. Type @ and pick the person from the list, e.g. `@alice`, or say `me`.")
	}
	return m[1], nil
}

type errUser string

func (e errUser) Error() string { return string(e) }

// next splits off the first white-space separated word.
func next(s string) (word, rest string) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, " \t\n\r")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i+1:])
}

// clip shortens text echoed back in an error, so a huge input is not repeated.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// suggest returns the command nearest to word, if it is close enough.
func suggest(word string) string {
	best, bestD := "", 3
	for _, h := range Help {
		if d := distance(word, h.Name); d < bestD {
			best, bestD = h.Name, d
		}
	}
	return best
}

// distance is the Levenshtein distance between two short strings.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 40 {
		return 99
	}
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}
