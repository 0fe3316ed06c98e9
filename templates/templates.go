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
}

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
	if dir != "" {
		if err := checkDir(dir); err != nil {
			return nil, err
		}
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
	known := map[string]bool{}
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
	out := make([]string, len(Names))
	for i, n := range Names {
		out[i] = n + ".tmpl"
	}
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
