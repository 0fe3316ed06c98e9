package commands

import (
	"regexp"
	"strings"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/internal/mrkdwn"
)

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
// that "me" can stand for them. Each command's own spec reads the rest of
// the line.
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
	s, ok := lookup(strings.ToLower(word))
	if !ok {
		msg := "`" + clip(word, 40) + "` is not a command."
		if s := suggest(strings.ToLower(word)); s != "" {
			msg += " Did you mean `" + s + "`?"
		}
		return c, &ParseError{Ref: c.Ref, Message: msg + " All commands: `/incident help`."}
	}
	c.Name = s.Name
	var err error
	switch {
	case s.parse != nil:
		err = s.parse(&c, rest, actor)
	case rest != "":
		err = errUser("`" + s.Name + "` takes no arguments.")
	}
	if err != nil {
		return c, &ParseError{Name: s.Name, Ref: c.Ref, Message: err.Error()}
	}
	// Slack sends &, < and > escaped; store what the person typed.
	c.Text = mrkdwn.Unescape(c.Text)
	return c, nil
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

// parseUser reads exactly one person: a mention picked from Slack's @
// list, "me", or a name typed without picking it ("bob", "@bob"), which the
// dispatcher looks up. It returns the user ID, or the name to look up.
func parseUser(s, actor string) (id, name string, err error) {
	w, r := next(s)
	if w == "" {
		return "", "", errUser("Name a person with @, e.g. `@alice`.")
	}
	if r != "" {
		return "", "", errUser("Name one person only.")
	}
	if strings.EqualFold(w, "me") && actor != "" {
		return actor, "", nil
	}
	if m := mention.FindStringSubmatch(w); m != nil {
		return m[1], "", nil
	}
	if personName.MatchString(w) {
		return "", strings.TrimPrefix(w, "@"), nil
	}
	return "", "", errUser("`" + clip(w, 40) + "` is not a Slack user. Type @ and pick the person from the list, e.g. `@alice`, or say `me`.")
}

// personName is a name typed for a person: a handle or a one-word name.
var personName = regexp.MustCompile(`^@?[\p{L}\p{N}][\p{L}\p{N}._'-]{0,79}$`)

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
	specs, _ := commandTable()
	for _, s := range specs {
		if d := distance(word, s.Name); d < bestD {
			best, bestD = s.Name, d
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
