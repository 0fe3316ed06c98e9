package incident

import (
	"regexp"
	"strings"
)

// Lint rules for public updates. Communicate precisely: declarative, no
// ETAs, no speculation, no names, and always say when the next update comes.
const (
	LintETA         = "eta"
	LintSpeculation = "speculation"
	LintBlame       = "blame"
	LintNextUpdate  = "next_update"
)

// LintWarning is one problem with a public update. It warns; it does not block.
type LintWarning struct {
	Rule   string
	Quote  string // the words that triggered it
	Reason string // what to do instead, for the communicator
}

// Lint checks public update text. People are names that must not appear
// (the responders); Disabled turns rules off by name.
type Lint struct {
	People   []string
	Disabled map[string]bool
}

var (
	nextUpdateLine = regexp.MustCompile(`(?im)^\s*next update by\b.*$`)
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
	mentionRe   = regexp.MustCompile(`<@[UW][A-Z0-9]+(?:\|[^>]*)?>|(?:^|\s)@[A-Za-z0-9._-]+`)
)

// Check returns the warnings for text, in the order the rules run.
// needNext says whether the update must say when the next one comes: false
// when no cadence applies (SEV4) and for the resolution message.
func (l Lint) Check(text string, needNext bool) []LintWarning {
	var out []LintWarning
	add := func(rule, quote, reason string) {
		if !l.Disabled[rule] {
			out = append(out, LintWarning{Rule: rule, Quote: strings.TrimSpace(quote), Reason: reason})
		}
	}
	body := nextUpdateLine.ReplaceAllString(text, "") // the schedule line is not an ETA
	for _, re := range etaPatterns {
		if m := re.FindString(body); m != "" {
			add(LintETA, m, "Give no ETA: say what is being done and when the next update comes, not when it will be fixed.")
			break
		}
	}
	if m := speculation.FindString(body); m != "" {
		add(LintSpeculation, m, "Don't speculate: state what is known (\"verification of the fix is underway\"), not what you think.")
	}
	if m := mentionRe.FindString(body); m != "" {
		add(LintBlame, m, "Name no one in a public update: say what happened, not who.")
	} else {
		for _, p := range l.People {
			if p != "" && regexp.MustCompile(`(?i)\b`+regexp.QuoteMeta(p)+`\b`).MatchString(body) {
				add(LintBlame, p, "Name no one in a public update: say what happened, not who.")
				break
			}
		}
	}
	if needNext && !nextUpdateLine.MatchString(text) {
		add(LintNextUpdate, "", "Say when the next update comes: end with \"Next update by HH:MM UTC\".")
	}
	return out
}
