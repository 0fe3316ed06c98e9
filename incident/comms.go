package incident

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Lint rules for public updates. Communicate precisely: declarative, no
// ETAs, no speculation, no names, nothing internal, and always say when the
// next update comes.
const (
	LintETA         = "eta"
	LintSpeculation = "speculation"
	LintBlame       = "blame"
	LintInternal    = "internal" // email and IP addresses
	LintNextUpdate  = "next_update"
)

// LintWarning is one problem with a public update. It warns; it does not block.
type LintWarning struct {
	Rule string
	// Quotes are the words that triggered it, each once, in the order they
	// stand in the text.
	Quotes []string
	Reason string // what to do instead, for the communicator
}

// Quoted renders the quotes for people: “we think”, “probably”.
func (w LintWarning) Quoted() string {
	if len(w.Quotes) == 0 {
		return ""
	}
	return "“" + strings.Join(w.Quotes, "”, “") + "”"
}

// Lint checks public update text. People are names that must not appear
// (the responders); Disabled turns rules off by name.
type Lint struct {
	People   []string
	Disabled map[string]bool
}

var (
	// nextUpdateLine is the promise of the next update, wherever it stands:
	// "Next update by 10:30 UTC" (a time, with or without am/pm and zone).
	nextUpdateLine = regexp.MustCompile(`(?i)\bnext update by\s+(\d{1,2})(?::(\d{2}))?\s*([ap]\.?m\.?)?(?:\s+[A-Z][A-Za-z]{1,4}\b)?`)
	etaPatterns    = []*regexp.Regexp{
		regexp.MustCompile(`(?i)\bETA\b`),
		regexp.MustCompile(`(?i)\b(?:by|before|until|around)\s+\d{1,2}(?::\d{2})?\s*(?:am|pm)\b`),
		regexp.MustCompile(`(?i)\b(?:by|before|until|around)\s+\d{1,2}:\d{2}\b`),
		regexp.MustCompile(`(?i)\bin\s+(?:\d+|a few|a couple of|an?)\s+(?:minutes?|mins?|hours?|hrs?)\b`),
		regexp.MustCompile(`(?i)\b(?:should|will)\s+be\s+(?:fixed|resolved|restored|back(?:\s+up)?|working|up)\b`),
		regexp.MustCompile(`(?i)\bexpect(?:ed)?\s+(?:to\s+)?(?:be\s+)?(?:fixed|resolved|restored|back)\b`),
		regexp.MustCompile(`(?i)\b(?:shortly|soon)\b`),
	}
	speculation = regexp.MustCompile(`(?i)\b(?:we think|we believe|we suspect|probably|might|may have|hopefully|seems?|maybe|possibly|likely|appears? to|looks like|should be ok)\b`)
	// mentions in any form: Slack's <@U…>, <!here>, <!subteam^…>, and a
	// typed @name (not the @ inside an email address).
	mentionRe = regexp.MustCompile(`<[@!][^>]+>|(?:^|[^\w.@+-])@[A-Za-z0-9._-]*[A-Za-z0-9_]`)
	emailRe   = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`)
	ipv4Re    = regexp.MustCompile(`\b(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}(?:/\d{1,2})?\b`)
	ipv6Re    = regexp.MustCompile(`(?i)(?:^|[^0-9a-f:])((?:[0-9a-f]{1,4}:){2,7}:?[0-9a-f]{0,4}|::(?:[0-9a-f]{1,4}:){0,6}[0-9a-f]{1,4})`)
)

// Check returns the warnings for text, one per rule, in the order the rules
// run; each quotes every distinct match of its rule. needNext says whether
// the update must say when the next one comes: false when no cadence
// applies (SEV4), for the resolution message and for a title.
func (l Lint) Check(text string, needNext bool) []LintWarning {
	var out []LintWarning
	add := func(rule string, quotes []string, reason string) {
		if len(quotes) > 0 && !l.Disabled[rule] {
			out = append(out, LintWarning{Rule: rule, Quotes: quotes, Reason: reason})
		}
	}
	body := nextUpdateLine.ReplaceAllString(text, " ") // the promise of the next update is not an ETA
	var etas []string
	for _, re := range etaPatterns {
		etas = append(etas, re.FindAllString(body, -1)...)
	}
	add(LintETA, distinct(etas), "Give no ETA: say what is being done and when the next update comes, not when it will be fixed.")
	add(LintSpeculation, distinct(speculation.FindAllString(body, -1)),
		"Don't speculate: state what is known (\"verification of the fix is underway\"), not what you think.")
	emails := emailRe.FindAllString(body, -1)
	names := mentionRe.FindAllString(emailRe.ReplaceAllString(body, " "), -1)
	for _, p := range l.People {
		if p = strings.TrimSpace(p); p != "" {
			names = append(names, regexp.MustCompile(`(?i)\b`+regexp.QuoteMeta(p)+`\b`).FindAllString(body, -1)...)
		}
	}
	add(LintBlame, distinct(names), "Name no one in a public update: say what happened, not who.")
	internal := append(emails, ipv4Re.FindAllString(body, -1)...)
	for _, m := range ipv6Re.FindAllStringSubmatch(body, -1) {
		if ip := m[1]; strings.Contains(ip, "::") || strings.ContainsAny(strings.ToLower(ip), "abcdef") {
			internal = append(internal, ip)
		}
	}
	add(LintInternal, distinct(internal), "Keep internal details out of public text: no email or IP addresses, hosts or people.")
	if needNext && !nextUpdateLine.MatchString(text) {
		if !l.Disabled[LintNextUpdate] {
			out = append(out, LintWarning{Rule: LintNextUpdate, Reason: "Say when the next update comes: \"Next update by HH:MM UTC\"."})
		}
	}
	return out
}

// distinct trims the matches and keeps each once (in any case, with or
// without an @), in order.
func distinct(ms []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range ms {
		m = strings.TrimSpace(strings.TrimLeft(m, "([{\"'"))
		if k := strings.TrimPrefix(strings.ToLower(m), "@"); m != "" && !seen[k] {
			seen[k] = true
			out = append(out, m)
		}
	}
	return out
}

// PromisedNext is the time a public update's text promises the next update
// for ("Next update by 10:30 UTC"), read in loc on the day that puts it
// nearest after now. stale is true when the time named has passed within
// the last twelve hours: a preview left open too long. zero when the text
// promises no time.
func PromisedNext(text string, now time.Time, loc *time.Location) (due time.Time, stale bool) {
	m := nextUpdateLine.FindStringSubmatch(text)
	if m == nil {
		return time.Time{}, false
	}
	h, _ := strconv.Atoi(m[1])
	min := 0
	if m[2] != "" {
		min, _ = strconv.Atoi(m[2])
	}
	switch ampm := strings.ToLower(strings.ReplaceAll(m[3], ".", "")); {
	case ampm == "pm" && h < 12:
		h += 12
	case ampm == "am" && h == 12:
		h = 0
	}
	if h > 23 || min > 59 {
		return time.Time{}, false
	}
	if loc == nil {
		loc = time.UTC
	}
	local := now.In(loc)
	due = time.Date(local.Year(), local.Month(), local.Day(), h, min, 0, 0, loc)
	switch {
	case !due.Before(local):
	case local.Sub(due) <= 12*time.Hour:
		return due.UTC(), true
	default:
		due = due.AddDate(0, 0, 1)
	}
	return due.UTC(), false
}
