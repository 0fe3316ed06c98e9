package incident

import "time"

// Outcome of a recorded command: "ok", or the error text the user was shown.
const OutcomeOK = "ok"

// Kinds of timeline entries that are not user commands.
const (
	KindParseError = "unparsed" // a command that could not be parsed
	KindSystem     = "system"   // something warroom did (war room created, ...)
	KindSlackError = "slack_error"
	// KindNotice is something warroom tells the war room, such as a vendor
	// being unreachable; planners post it.
	KindNotice = "notice"
)

// SystemActor is the actor of entries that warroom itself records.
const SystemActor = "warroom"

// Entry is one line of an incident's timeline, or of the global audit log
// when Incident is 0. Entries are appended and never changed.
type Entry struct {
	ID       int64
	Incident int64 // incident number; 0 for the global audit log
	At       time.Time
	Actor    string // Slack user ID, or SystemActor
	Channel  string // where the command was typed
	Raw      string // the command text exactly as typed
	Kind     string // the parsed kind: declare, note, status, ..., or KindParseError
	Outcome  string // OutcomeOK, or the error shown to the user
	// Detail is the structured change the entry made, for display: the new
	// status and its public message, the old and new severity, and so on.
	Detail map[string]string
}

// OK reports whether the entry records a command that succeeded.
func (e *Entry) OK() bool { return e.Outcome == OutcomeOK }

// Command is what the caller tells the Service about the command being run,
// so the timeline entry can say who, where and what.
type Command struct {
	Actor   string
	Channel string
	Raw     string
	Kind    string
	// Effects, if set, plans the work outside warroom that this command
	// calls for (posts to the war room, say). It runs inside the command's
	// transaction, once per incident the command changed, so the work is
	// stored with the timeline entry or not at all.
	Effects Planner
}

// Overnight is when a responder's night is broken: they get a day to
// recover after acting in it (the practice warroom follows).
const (
	OvernightFrom = 0 // hour, local time
	OvernightTo   = 6
)

// OvernightResponders are the people (not warroom itself) with an entry
// in the timeline between OvernightFrom and OvernightTo o'clock in loc,
// each once, in the order they first acted.
func OvernightResponders(entries []Entry, loc *time.Location) []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range entries {
		if e.Actor == "" || e.Actor == SystemActor || seen[e.Actor] {
			continue
		}
		if h := e.At.In(loc).Hour(); h >= OvernightFrom && h < OvernightTo {
			seen[e.Actor] = true
			out = append(out, e.Actor)
		}
	}
	return out
}
