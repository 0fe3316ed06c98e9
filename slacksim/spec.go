package slacksim

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// SpecFile is Slack's Web API OpenAPI 2 spec, looked for in ../shared/specs
// beside the repository.
const SpecFile = "slack-web-api.openapi2.json"

// NotInSpec lists methods newer than the October 2020 spec; their
// parameters follow Slack's method documentation instead.
var NotInSpec = map[string]bool{"apps.connections.open": true, "files.getUploadURLExternal": true, "files.completeUploadExternal": true}

// NewerParams lists parameters Slack added to a method after the October
// 2020 spec, from its method documentation: message metadata (2022), the
// team of an org-wide app.
var NewerParams = map[string][]string{
	"chat.postMessage":      {"metadata"},
	"conversations.history": {"include_all_metadata"},
	"users.list":            {"team_id"}, // for org-wide apps; slack-go always sends it
}

// Spec is the parameter contract of each Web API method.
type Spec struct {
	Params   map[string]map[string]bool // method -> parameter names
	Required map[string][]string        // method -> required parameters, token excluded
}

// LoadSpec reads Slack's OpenAPI 2 spec.
func LoadSpec(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name     string `json:"name"`
				In       string `json:"in"`
				Required bool   `json:"required"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	s := &Spec{Params: map[string]map[string]bool{}, Required: map[string][]string{}}
	for path, ops := range doc.Paths {
		m := strings.TrimPrefix(path, "/")
		s.Params[m] = map[string]bool{}
		for _, op := range ops {
			for _, p := range op.Parameters {
				s.Params[m][p.Name] = true
				if p.Required && p.Name != "token" {
					s.Required[m] = append(s.Required[m], p.Name)
				}
			}
		}
		sort.Strings(s.Required[m])
	}
	for m, ps := range NewerParams {
		for _, p := range ps {
			if s.Params[m] != nil {
				s.Params[m][p] = true
			}
		}
	}
	return s, nil
}

// CheckCall reports parameters a request sent that the method does not
// take, and required ones it left out.
func (s *Spec) CheckCall(c Call) error {
	if NotInSpec[c.Method] {
		return nil
	}
	known, ok := s.Params[c.Method]
	if !ok {
		return fmt.Errorf("%s is not a Slack Web API method", c.Method)
	}
	var bad []string
	for p := range c.Params {
		if !known[p] {
			bad = append(bad, "unknown parameter "+p)
		}
	}
	for _, r := range s.Required[c.Method] {
		if c.Params[r] == "" {
			bad = append(bad, "missing required "+r)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("%s: %s", c.Method, strings.Join(bad, ", "))
	}
	return nil
}

// SpecForTest loads the spec from ../shared/specs above the module root.
// Without it, the test is skipped with a note, or fails under CI=true,
// where the folder is always present.
func SpecForTest(t testing.TB) *Spec {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("slacksim: no go.mod above the test directory")
		}
		dir = parent
	}
	path := filepath.Join(dir, "..", "shared", "specs", SpecFile)
	s, err := LoadSpec(path)
	if err != nil {
		if os.IsNotExist(err) && os.Getenv("CI") != "true" {
			t.Skipf("Slack's OpenAPI spec is not at %s (it sits beside the repository in CI); skipping the contract check", path)
		}
		t.Fatalf("loading Slack's OpenAPI spec: %v", err)
	}
	return s
}
