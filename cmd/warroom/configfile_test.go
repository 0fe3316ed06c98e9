package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warroom/warroom/incident"
)

func TestConfigFileUnderTheEnvironment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.yaml")
	os.WriteFile(path, []byte("warroom:\n  db: /from/file.db\n  timezone: Europe/Paris\npagerduty:\n  token: file-token\n  services:\n    - {name: payments, id: P1, severity: sev1}\nstatuspage:\n  components: {checkout: C1, api: C2}\n"), 0o600)
	env := map[string]string{"WARROOM_CONFIG": path, "WARROOM_DB": "/from/env.db"}
	getenv, err := withConfigFile(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"WARROOM_DB": "/from/env.db", "WARROOM_TIMEZONE": "Europe/Paris", "PAGERDUTY_TOKEN": "file-token",
		"STATUSPAGE_COMPONENTS": "api=C2,checkout=C1", "PAGERDUTY_SERVICES": `[{"id":"P1","name":"payments","severity":"sev1"}]`} {
		if got := getenv(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	var c Config
	newFlagSet("serve", &c, getenv, os.Stderr)
	svcs, err := c.services()
	if err != nil || len(svcs) != 1 || svcs[0].Name != "payments" {
		t.Errorf("services: %v %+v", err, svcs)
	}
	// The example in the repository is valid.
	if _, err := loadConfigFile("../../warroom.example.yaml"); err != nil {
		t.Errorf("warroom.example.yaml: %v", err)
	}
	// ... and so are its checklists.
	exampleEnv, err := withConfigFile(func(k string) string { return map[string]string{"WARROOM_CONFIG": "../../warroom.example.yaml"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	var ex Config
	newFlagSet("serve", &ex, exampleEnv, os.Stderr)
	exSvcs, err := ex.services()
	if err != nil {
		t.Fatal(err)
	}
	if lists, err := loadChecklists(ex.configFile, "", exSvcs); err != nil || len(lists.For(incident.SEV1, "payments")) != 7 {
		t.Errorf("warroom.example.yaml's checklists: %v, %d steps for a SEV1 of payments", err, len(lists.For(incident.SEV1, "payments")))
	}
	for body, want := range map[string]string{
		"pagerduty:\n  tokn: x\n": "pagerduty.tokn is not a setting; pagerduty has:",
		"pager:\n  token: x\n":    `unknown section "pager"`,
		"pagerduty: [1, 2]\n":     "cannot unmarshal",
		"pagerduty:\n  services:\n    - {name: a b, id: P, severity: sev1}\n": "",
	} {
		os.WriteFile(path, []byte(body), 0o600)
		_, err := withConfigFile(func(k string) string { return env[k] })
		if want == "" {
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", body, err, want)
		}
	}
	os.WriteFile(path, []byte("pagerduty:\n  services:\n    - {name: a b, id: P, severity: sev1}\n    - {name: x, id: Q, severity: sev9}\n"), 0o600)
	getenv, _ = withConfigFile(func(k string) string { return env[k] })
	newFlagSet("serve", &c, getenv, os.Stderr)
	if _, err := c.services(); err == nil || !strings.Contains(err.Error(), "must be one word") {
		t.Errorf("a service name with a space: %v", err)
	}
	// A service's runbook and dashboards are links in every page to it.
	for body, want := range map[string]string{
		"    - {name: pay, id: P, severity: sev1, runbook: 'javascript:alert(1)'}\n":                                           `runbook "javascript:alert(1)" is not an http(s) URL`,
		"    - {name: pay, id: P, severity: sev1, dashboards: [{name: x, url: ftp://a}]}\n":                                    "dashboards[0] needs a name and an http(s) url",
		"    - {name: pay, id: P, severity: sev1, dashboards: [{url: 'https://g/d'}]}\n":                                       "dashboards[0] needs a name",
		"    - {name: pay, id: P, severity: sev1, contacts: [{phone: '+44 1'}]}\n":                                             "contacts[0] needs a name",
		"    - {name: pay, id: P, severity: sev1, contacts: [{name: v, url: 'file:///x'}]}\n":                                  "its url must be http(s)",
		"    - {name: pay, id: P, severity: sev1, runbook: 'https://wiki/pay', dashboards: [{name: x, url: 'https://g/d'}]}\n": "",
	} {
		os.WriteFile(path, []byte("pagerduty:\n  services:\n"+body), 0o600)
		getenv, _ = withConfigFile(func(k string) string { return env[k] })
		newFlagSet("serve", &c, getenv, os.Stderr)
		svcs, err := c.services()
		switch {
		case want == "" && (err != nil || svcs[0].Runbook != "https://wiki/pay" || svcs[0].Dashboards[0].URL != "https://g/d"):
			t.Errorf("%s: %v %+v", body, err, svcs)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
}

// TestEverySettingIsDocumented: docs/settings.md has a row for each
// setting, with its flag and default, so a new one cannot go unmentioned.
func TestEverySettingIsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "settings.md"))
	if err != nil {
		t.Fatal(err)
	}
	var c Config
	for _, s := range c.settings() {
		row := "| `" + s.env + "` | `--" + s.flag + "` | "
		if s.def != "" {
			row += "`" + s.def + "` |"
		}
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/settings.md has no row starting %q", row)
		}
	}
}

// TestUsageHidesPasswords: --help and a mistyped flag print the defaults,
// which come from the environment; a password in WARROOM_DB or JIRA_URL
// must not be among them (a pod's log shows a mistyped argument's usage).
func TestUsageHidesPasswords(t *testing.T) {
	env := map[string]string{"WARROOM_DB": "postgres://warroom:hunter2pw@db-a:5432,db-b:5432/warroom?sslmode=require",
		"JIRA_URL": "https://bot:jirapass9@example.atlassian.net"}
	getenv := func(k string) string { return env[k] }
	for _, args := range [][]string{{"migrate", "--help"}, {"serve", "--help"}, {"serve", "--bogus"}, {"check", "--nope"}} {
		var out, errb bytes.Buffer
		run(context.Background(), args, nil, &out, &errb, getenv)
		all := out.String() + errb.String()
		if strings.Contains(all, "hunter2pw") || strings.Contains(all, "jirapass9") {
			t.Errorf("warroom %s printed a password:\n%s", strings.Join(args, " "), all)
		}
		if !strings.Contains(all, "xxxxx") && args[0] == "migrate" {
			t.Errorf("warroom %s: the database URL is not shown redacted:\n%s", strings.Join(args, " "), all)
		}
	}
}
