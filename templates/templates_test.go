package templates

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestDefaultsGolden renders each built-in template with the sample data
// and compares it with testdata/<name>.golden (refresh with -update).
func TestDefaultsGolden(t *testing.T) {
	set, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range Names {
		got, err := set.Render(name, Sample(name))
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", name+".golden")
		if *update {
			os.WriteFile(golden, []byte(got), 0o644)
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if got != string(want) {
			t.Errorf("%s:\n got:\n%s\nwant:\n%s", name, got, want)
		}
	}
}

func TestResolvedOpensWithAnApologyAndPromisesAPostmortem(t *testing.T) {
	set, _ := Load("")
	out, _ := set.Render("resolved", Sample("resolved"))
	body := strings.SplitN(out, "\n\n", 2)[1]
	if !strings.HasPrefix(body, "We're sorry") || !strings.Contains(out, "postmortem") {
		t.Errorf("resolution message:\n%s", out)
	}
}

func TestTimeZoneAndNoCadence(t *testing.T) {
	set, _ := Load("")
	u := Sample("investigating")
	u.Location, _ = time.LoadLocation("Europe/Berlin")
	if out, _ := set.Render("investigating", u); !strings.Contains(out, "Next update by 16:02 CET.") {
		t.Errorf("in Berlin: %s", out)
	}
	u.NextUpdate = time.Time{} // SEV4: no cadence
	if out, _ := set.Render("investigating", u); !strings.Contains(out, "as soon as there is news") {
		t.Errorf("no cadence: %s", out)
	}
	u.Components = nil
	u.Impact = ""
	if out, _ := set.Render("investigating", u); !strings.Contains(out, "a problem affecting our service") {
		t.Errorf("no components: %s", out)
	}
}

func TestOverridesAndStartupErrors(t *testing.T) {
	write := func(dir, name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	write(dir, "monitoring.tmpl", "{{.Title}} is being watched. {{nextUpdate .}}")
	set, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := set.Render("monitoring", Sample("monitoring")); out != "Checkout errors is being watched. Next update by 15:02 UTC.\n" {
		t.Errorf("override: %q", out)
	}
	if !strings.HasPrefix(set.Source("investigating"), "built-in") || set.Source("monitoring") != filepath.Join(dir, "monitoring.tmpl") {
		t.Errorf("sources: %q %q", set.Source("investigating"), set.Source("monitoring"))
	}
	cases := []struct{ file, body, want string }{
		{"identified.tmpl", "{{.Title", "identified.tmpl:1"},
		{"identified.tmpl", "{{.NoSuchField}} {{nextUpdate .}}", "NoSuchField"},
		{"identified.tmpl", "{{.Title}} fixed.", "never says when the next update comes"},
		{"investigate.tmpl", "typo", "overrides nothing"},
		{"resolved.tmpl", "  ", "renders nothing"},
	}
	for _, c := range cases {
		dir := t.TempDir()
		write(dir, c.file, c.body)
		if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %q: err %v, want %q", c.file, c.body, err, c.want)
		}
	}
}

// TestDefaultsPassTheCommsLint: the built-in wording follows the rules the
// lint enforces on communicators (no ETA, no speculation, no names, always
// the next update).
func TestDefaultsPassTheCommsLint(t *testing.T) {
	set, _ := Load("")
	for _, name := range Names {
		out, _ := set.Render(name, Sample(name))
		if w := (incident.Lint{}).Check(out, name != "resolved"); len(w) > 0 {
			t.Errorf("%s: %+v", name, w)
		}
	}
}
