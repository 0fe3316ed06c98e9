package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/pagerduty"
)

// Checklists come from the config file's `checklists:` section, from the
// YAML files in WARROOM_CHECKLISTS (each shaped like that section), and
// from each service's own `checklist:` in pagerduty.services. A section
// maps a list's name to its steps: `default`, `sev1`..`sev4`, or a
// service's name. Lists of one name from several places are joined, in
// that order. Every problem is reported with its file and line, so a
// broken checklist stops start-up (and `warroom check`) where it is.

// stepKeys are the keys a step may have.
var stepKeys = []string{"stage", "text", "link", "owner", "done_when", "optional"}

// loadChecklists reads and validates every checklist.
func loadChecklists(configFile, dir string, services []pagerduty.Service) (incident.Checklists, error) {
	c := incident.Checklists{Severity: map[incident.Severity][]incident.ChecklistItem{}, Service: map[string][]incident.ChecklistItem{}}
	known := map[string]string{} // service names, lower case, as configured
	for _, s := range services {
		if s.Name != "" {
			known[strings.ToLower(s.Name)] = s.Name
		}
	}
	var problems []string
	serviceLines := false // the services' steps were read from the file, with lines
	add := func(file string, section *yaml.Node) {
		if section.Kind != yaml.MappingNode {
			problems = append(problems, fmt.Sprintf("%s:%d: checklists must map a list's name (default, sev1..sev4, or a service) to its steps", file, section.Line))
			return
		}
		for i := 0; i+1 < len(section.Content); i += 2 {
			key, list := section.Content[i], section.Content[i+1]
			items, errs := decodeSteps(file, list)
			problems = append(problems, errs...)
			name := strings.ToLower(strings.TrimSpace(key.Value))
			switch sev, err := incident.ParseSeverity(name); {
			case name == "default":
				c.Default = append(c.Default, items...)
			case err == nil && strings.HasPrefix(name, "sev"):
				c.Severity[sev] = append(c.Severity[sev], items...)
			case known[name] != "":
				c.Service[known[name]] = append(c.Service[known[name]], items...)
			default:
				names := slices.Sorted(func(yield func(string) bool) {
					for _, n := range known {
						if !yield(n) {
							return
						}
					}
				})
				problems = append(problems, fmt.Sprintf("%s:%d: %q is not a list warroom knows: use default, sev1..sev4, or a service of pagerduty.services (%s)",
					file, key.Line, key.Value, strings.Join(append([]string{"none configured"}, names...)[min(1, len(names)):], ", ")))
			}
		}
	}
	if configFile != "" {
		root, err := readYAML(configFile)
		if err != nil {
			return c, err
		}
		if section := mapValue(root, "checklists"); section != nil {
			add(configFile, section)
		}
		// Each service's own steps, read again here for their lines.
		if list := mapValue(mapValue(root, "pagerduty"), "services"); list != nil && list.Kind == yaml.SequenceNode {
			serviceLines = true
			for _, svc := range list.Content {
				if steps := mapValue(svc, "checklist"); steps != nil {
					_, errs := decodeSteps(configFile, steps)
					problems = append(problems, errs...)
				}
			}
		}
	}
	if dir != "" {
		files, err := filepath.Glob(filepath.Join(dir, "*.y*ml"))
		if err != nil || len(files) == 0 {
			return c, fmt.Errorf("WARROOM_CHECKLISTS: %s has no .yaml files (each is shaped like the config file's checklists: section)", dir)
		}
		sort.Strings(files)
		for _, f := range files {
			root, err := readYAML(f)
			if err != nil {
				return c, err
			}
			if inner := mapValue(root, "checklists"); inner != nil {
				root = inner // a file may also have the section's key
			}
			add(f, root)
		}
	}
	for i, s := range services {
		for j, it := range s.Checklist {
			if err := it.Validate(); err != nil {
				if !serviceLines { // else reported above, with its line
					problems = append(problems, fmt.Sprintf("pagerduty.services[%d] (%s) checklist[%d]: %v", i, firstNonEmpty(s.Name, s.ID), j, err))
				}
				continue
			}
			c.Service[firstNonEmpty(s.Name, s.ID)] = append(c.Service[firstNonEmpty(s.Name, s.ID)], it)
		}
	}
	if len(problems) > 0 {
		return c, fmt.Errorf("checklists: %s", strings.Join(dedupe(problems), "; "))
	}
	return c, nil
}

// decodeSteps reads a list of steps, each checked, with the line of each problem.
func decodeSteps(file string, list *yaml.Node) ([]incident.ChecklistItem, []string) {
	if list.Kind != yaml.SequenceNode {
		return nil, []string{fmt.Sprintf("%s:%d: a checklist is a list of steps, each `- stage: ...` with `text: ...`", file, list.Line)}
	}
	var items []incident.ChecklistItem
	var problems []string
	seen := map[string]int{} // a step's text, as compared, -> its line
	if len(list.Content) > incident.MaxChecklistSteps {
		problems = append(problems, fmt.Sprintf("%s:%d: %d steps; an incident holds at most %d in all, so split the list or drop steps", file, list.Line, len(list.Content), incident.MaxChecklistSteps))
	}
	for _, n := range list.Content {
		if n.Kind != yaml.MappingNode {
			problems = append(problems, fmt.Sprintf("%s:%d: a step is a map with stage and text, e.g. {stage: assess, text: Confirm the impact}", file, n.Line))
			continue
		}
		bad := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; !slices.Contains(stepKeys, k.Value) {
				problems = append(problems, fmt.Sprintf("%s:%d: %q is not a step's key; a step has %s", file, k.Line, k.Value, strings.Join(stepKeys, ", ")))
				bad = true
			}
		}
		if bad {
			continue // its keys are wrong: what it lacks follows from that
		}
		var it incident.ChecklistItem
		if err := n.Decode(&it); err != nil {
			problems = append(problems, fmt.Sprintf("%s:%d: %v", file, n.Line, err))
			continue
		}
		if err := it.Validate(); err != nil {
			problems = append(problems, fmt.Sprintf("%s:%d: %v", file, n.Line, err))
			continue
		}
		key := strings.ToLower(strings.Join(strings.Fields(it.Text), " "))
		if first, dup := seen[key]; dup {
			problems = append(problems, fmt.Sprintf("%s:%d: the same step as line %d (%q); an incident would get it once", file, n.Line, first, it.Text))
			continue
		}
		seen[key] = n.Line
		items = append(items, it)
	}
	return items, problems
}

// readYAML parses a YAML file into its document's root node.
func readYAML(path string) (*yaml.Node, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checklists: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("checklists: %s: %v", path, err)
	}
	if len(doc.Content) == 0 {
		return &yaml.Node{Kind: yaml.MappingNode}, nil
	}
	return doc.Content[0], nil
}

// mapValue is the value of key in mapping n, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func dedupe(list []string) []string {
	var out []string
	for _, s := range list {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
