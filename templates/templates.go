// Package templates holds warroom's pre-written public status updates, one
// text/template per status plus the resolution message, embedded in the
// binary. A directory can override them file by file.
//
// Every template is parsed and executed with sample data when loaded, so a
// broken template stops warroom at start with the file and line, and never
// produces a broken message during an incident. It imports nothing of
// warroom's.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"
	"time"
)

//go:embed *.tmpl
var embedded embed.FS

// Names are the templates every Set has, by status.
var Names = []string{"investigating", "identified", "monitoring", "resolved"}

// Component is one affected part of the service and its Statuspage status.
type Component struct {
	Name   string
	Status string // operational, degraded_performance, partial_outage, major_outage
}

// Update is what a template is rendered with.
type Update struct {
	Ref, Title, Severity string
	// Impact says, in customers' words, who is affected and how.
	Impact string
	// Message is what the communicator adds for this update.
	Message    string
	Components []Component
	Started    time.Time // when the incident was declared
	Resolved   time.Time // for the resolution message
	// NextUpdate is when the next update is due; zero when none is scheduled.
	NextUpdate time.Time
	// Location is the time zone times are shown in; nil means UTC.
	Location *time.Location
}

// Set is a loaded, validated set of templates.
type Set struct {
	byName  map[string]*template.Template
	sources map[string]string // where each came from, for error messages
	// postmortem is the postmortem draft's template; the postmortem package
	// renders it and checks it at start.
	postmortem       *template.Template
	postmortemSource string
}

// PostmortemFile is the postmortem draft's template, overridable like the others.
const PostmortemFile = "postmortem.md.tmpl"

// Postmortem returns the postmortem template and where it came from.
func (s *Set) Postmortem() (*template.Template, string) { return s.postmortem, s.postmortemSource }

// Load parses the embedded templates, replacing any that dir (may be "")
// has a file for, and checks that each renders.
func Load(dir string) (*Set, error) {
	s := &Set{byName: map[string]*template.Template{}, sources: map[string]string{}}
	for _, name := range Names {
		file := name + ".tmpl"
		body, err := embedded.ReadFile(file)
		if err != nil {
			return nil, err
		}
		s.sources[name] = "built-in " + file
		if dir != "" {
			path := filepath.Join(dir, file)
			if b, err := os.ReadFile(path); err == nil {
				body, s.sources[name] = b, path
			} else if !os.IsNotExist(err) {
				return nil, fmt.Errorf("templates: %w", err)
			}
		}
		t, err := template.New(file).Funcs(funcs).Option("missingkey=error").Parse(string(body))
		if err != nil {
			return nil, fmt.Errorf("templates: %s: %w", s.sources[name], err)
		}
		s.byName[name] = t
	}
	body, err := embedded.ReadFile(PostmortemFile)
	if err != nil {
		return nil, err
	}
	s.postmortemSource = "built-in " + PostmortemFile
	if dir != "" {
		path := filepath.Join(dir, PostmortemFile)
		if b, err := os.ReadFile(path); err == nil {
			body, s.postmortemSource = b, path
		} else if !os.IsNotExist(err) {
			return nil, fmt.Errorf("templates: %w", err)
		}
		if err := checkDir(dir); err != nil {
			return nil, err
		}
	}
	if s.postmortem, err = template.New(PostmortemFile).Funcs(DocFuncs).Option("missingkey=error").Parse(string(body)); err != nil {
		return nil, fmt.Errorf("templates: %s: %w", s.postmortemSource, err)
	}
	for _, name := range Names {
		out, err := s.Render(name, Sample(name))
		if err != nil {
			return nil, fmt.Errorf("templates: %s does not render: %w", s.sources[name], err)
		}
		if strings.TrimSpace(out) == "" {
			return nil, fmt.Errorf("templates: %s renders nothing", s.sources[name])
		}
		if name != "resolved" && !strings.Contains(out, "Next update by") {
			return nil, fmt.Errorf("templates: %s never says when the next update comes; end it with {{nextUpdate .}}", s.sources[name])
		}
	}
	return s, nil
}

// checkDir refuses files that override nothing, so a misspelt name is not
// silently ignored.
func checkDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	known := map[string]bool{PostmortemFile: true}
	for _, n := range Names {
		known[n+".tmpl"] = true
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".tmpl") {
			continue
		}
		if !known[e.Name()] {
			return fmt.Errorf("templates: %s overrides nothing; the templates are %s", filepath.Join(dir, e.Name()), strings.Join(fileNames(), ", "))
		}
	}
	return nil
}

func fileNames() []string {
	out := make([]string, len(Names), len(Names)+1)
	for i, n := range Names {
		out[i] = n + ".tmpl"
	}
	out = append(out, PostmortemFile)
	sort.Strings(out)
	return out
}

// Render renders the template for a status.
func (s *Set) Render(name string, u Update) (string, error) {
	t, ok := s.byName[name]
	if !ok {
		return "", fmt.Errorf("templates: no template %q", name)
	}
	if u.Location != nil { // show every time in the configured zone
		u.Started, u.Resolved, u.NextUpdate = u.Started.In(u.Location), u.Resolved.In(u.Location), u.NextUpdate.In(u.Location)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, u); err != nil {
		return "", err
	}
	return strings.TrimSpace(buf.String()) + "\n", nil
}

// Source says where a template came from (built in, or a file path).
func (s *Set) Source(name string) string { return s.sources[name] }

// Sample is the data templates are checked with at load.
func Sample(name string) Update {
	start := time.Date(2026, 11, 25, 14, 2, 0, 0, time.UTC)
	u := Update{Ref: "INC-7", Title: "Checkout errors", Severity: "SEV2", Impact: "failed payments for some customers",
		Message:    "Card payments are failing for about a third of customers.",
		Components: []Component{{"Checkout", "partial_outage"}, {"Payments API", "degraded_performance"}},
		Started:    start, NextUpdate: start.Add(time.Hour)}
	if name == "resolved" {
		u.Resolved, u.NextUpdate = start.Add(95*time.Minute), time.Time{}
		u.Message = "A failing disk on the primary database stopped payments; we moved to a standby database."
	}
	return u
}

var statusText = map[string]string{
	"operational": "operational", "degraded_performance": "degraded performance",
	"partial_outage": "partial outage", "major_outage": "major outage",
}

var funcs = template.FuncMap{
	// clock shows a time as 15:04 UTC, or in the configured zone.
	"clock": func(t time.Time) string { return t.Format("15:04 MST") },
	// components lists the components with their status: "Checkout (partial outage), ...".
	"components": func(u Update) string {
		parts := make([]string, len(u.Components))
		for i, c := range u.Components {
			text := statusText[c.Status]
			if text == "" {
				text = strings.ReplaceAll(c.Status, "_", " ")
			}
			parts[i] = fmt.Sprintf("%s (%s)", c.Name, text)
		}
		return strings.Join(parts, ", ")
	},
	// affected names what is affected: the components, or "our service".
	"affected": func(u Update) string {
		switch len(u.Components) {
		case 0:
			return "our service"
		case 1:
			return u.Components[0].Name
		}
		names := make([]string, len(u.Components))
		for i, c := range u.Components {
			names[i] = c.Name
		}
		return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
	},
	// nextUpdate is the closing line every public update ends with.
	"nextUpdate": func(u Update) string {
		if u.NextUpdate.IsZero() {
			return "We will post another update as soon as there is news."
		}
		return "Next update by " + u.NextUpdate.Format("15:04 MST") + "."
	},
}

// DocFuncs are the functions documents' templates (the postmortem) may use.
var DocFuncs = template.FuncMap{
	// utc shows a time as 2006-01-02 15:04:05 UTC, or "—" when unset.
	"utc": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	// hhmm shows a time of day in UTC.
	"hhmm": func(t time.Time) string { return t.UTC().Format("15:04:05") },
	// clock is hhmm, with the date when the incident spans days.
	"clock": func(t time.Time, withDate bool) string {
		if withDate {
			return t.UTC().Format("Mon 2 Jan 15:04:05")
		}
		return t.UTC().Format("15:04:05")
	},
	// dur shows a duration as 1h05m, 12m30s, 45s, or "—" for none.
	"dur": func(d time.Duration) string {
		switch {
		case d <= 0:
			return "—"
		case d < time.Minute:
			return fmt.Sprintf("%ds", int(d.Seconds()))
		case d < time.Hour:
			return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
		}
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	},
	// cell makes text safe inside a Markdown table cell: one line, pipes
	// escaped, and < escaped so that what someone typed (a step, a note)
	// reads as typed rather than becoming HTML that a renderer drops.
	"cell": func(s string) string {
		s = strings.Join(strings.Fields(s), " ")
		return strings.NewReplacer("|", "\\|", "<", "\\<").Replace(s)
	},
	// quote makes text a Markdown block quote, line by line.
	"quote": func(s string) string {
		return "> " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n> ")
	},
	// count is a number with its noun, singular or plural: count 1 "note"
	// is "1 note", count 3 "entry" "entries" is "3 entries".
	"count": Count,
	// orDash is s, or "—" when empty.
	"orDash": func(s string) string {
		if strings.TrimSpace(s) == "" {
			return "—"
		}
		return s
	},
}

// Count is n with its noun: "1 note", "2 notes"; a noun whose plural is
// not noun+"s" gives it as plural[0] ("entry", "entries").
func Count(n int, noun string, plural ...string) string {
	if n == 1 {
		return "1 " + noun
	}
	if len(plural) > 0 {
		return fmt.Sprintf("%d %s", n, plural[0])
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
