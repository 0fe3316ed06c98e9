package templates

import (
	"strings"
	"testing"
	"time"
)

// FuzzRender renders every built-in template with hostile field values:
// the render never fails or panics, and a non-final update always says
// when the next one comes.
func FuzzRender(f *testing.F) {
	f.Add("Checkout down", "card payments fail", "rolled back", "checkout")
	f.Add(`<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`, "[x](javascript:alert(1))", "{{.Ref}}")
	f.Add("\u202e\x00", "@channel <!here>", strings.Repeat("🔥", 300), "a|b")
	set, err := Load("")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, title, impact, message, component string) {
		for _, name := range []string{"investigating", "identified", "monitoring", "resolved"} {
			u := Sample(name)
			u.Title, u.Impact, u.Message = title, impact, message
			u.Components = []Component{{Name: component, Status: "partial_outage"}}
			out, err := set.Render(name, u)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if name != "resolved" && !u.NextUpdate.IsZero() && !strings.Contains(out, u.NextUpdate.In(time.UTC).Format("15:04")) {
				t.Fatalf("%s does not say when the next update comes:\n%s", name, out)
			}
		}
	})
}
