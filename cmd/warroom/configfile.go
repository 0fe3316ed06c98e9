package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// The config file (WARROOM_CONFIG) is YAML with one section per system;
// each key is the environment variable's name without its prefix, in lower
// case: pagerduty.token is PAGERDUTY_TOKEN, warroom.db is WARROOM_DB. The
// environment overrides the file, and flags override both. See
// warroom.example.yaml.
var filePrefixes = map[string]string{"warroom": "WARROOM_", "slack": "SLACK_", "statuspage": "STATUSPAGE_", "pagerduty": "PAGERDUTY_", "jira": "JIRA_"}

// loadConfigFile reads path into environment-variable names and values.
func loadConfigFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("WARROOM_CONFIG: %w", err)
	}
	var doc map[string]map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("WARROOM_CONFIG %s: %v", path, err)
	}
	known := map[string]bool{}
	var c Config
	for _, s := range c.settings() {
		known[s.env] = true
	}
	out := map[string]string{}
	for section, keys := range doc {
		if section == "checklists" {
			continue // not settings: loadChecklists reads it, with its lines
		}
		prefix, ok := filePrefixes[section]
		if !ok {
			return nil, fmt.Errorf("WARROOM_CONFIG %s: unknown section %q (there are warroom, slack, statuspage, pagerduty, jira, checklists)", path, section)
		}
		for key, v := range keys {
			env := prefix + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
			if !known[env] || env == "WARROOM_CONFIG" {
				return nil, fmt.Errorf("WARROOM_CONFIG %s: %s.%s is not a setting; %s has: %s", path, section, key, section, strings.Join(sectionKeys(prefix), ", "))
			}
			s, err := flatten(v)
			if err != nil {
				return nil, fmt.Errorf("WARROOM_CONFIG %s: %s.%s: %v", path, section, key, err)
			}
			out[env] = s
		}
	}
	return out, nil
}

func sectionKeys(prefix string) []string {
	var c Config
	var keys []string
	for _, s := range c.settings() {
		if strings.HasPrefix(s.env, prefix) {
			keys = append(keys, strings.ToLower(strings.TrimPrefix(s.env, prefix)))
		}
	}
	slices.Sort(keys)
	return keys
}

// flatten turns a YAML value into the environment's text: scalars as they
// are, a list of scalars comma-separated, a map as k=v pairs, and a list of
// maps (pagerduty.services) as JSON.
func flatten(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			s, err := flatten(x[k])
			if err != nil {
				return "", err
			}
			parts = append(parts, k+"="+s)
		}
		return strings.Join(parts, ","), nil
	case []any:
		if len(x) > 0 {
			if _, ok := x[0].(map[string]any); ok {
				b, err := json.Marshal(x)
				return string(b), err
			}
		}
		var parts []string
		for _, e := range x {
			s, err := flatten(e)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), nil
	default:
		return fmt.Sprint(x), nil
	}
}

// withConfigFile returns getenv backed by the file WARROOM_CONFIG names:
// the environment wins over the file.
func withConfigFile(getenv func(string) string) (func(string) string, error) {
	path := strings.TrimSpace(getenv("WARROOM_CONFIG"))
	if path == "" {
		return getenv, nil
	}
	file, err := loadConfigFile(path)
	if err != nil {
		return nil, err
	}
	return func(k string) string {
		if v := getenv(k); strings.TrimSpace(v) != "" {
			return v
		}
		return file[k]
	}, nil
}
