package runbooks

import (
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
)

// A step's text is the team's, but it is still text: it cannot add markup
// or a script to a page meant to be opened in an outage.
func TestPagesEscapeAndStandAlone(t *testing.T) {
	b := Book{Title: "Runbooks", Generated: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC),
		Checklists: incident.Checklists{Default: []incident.ChecklistItem{{Stage: incident.StageAssess, Text: `<script>alert(1)</script> & "quotes"`}}},
		Services:   []Service{{Card: incident.ServiceCard{Name: "db", Runbook: "https://wiki.example.com/db", Contacts: []incident.Contact{{Name: "DBA <on call>", Phone: "+1 555 0100"}}}, Severity: incident.SEV1}},
	}
	pages, err := Pages(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 3 || pages["index.html"] == nil || pages["checklist-default.html"] == nil || pages["service-db.html"] == nil {
		t.Fatalf("pages: %v", keys(pages))
	}
	for name, body := range pages {
		s := string(body)
		if strings.Contains(s, "<script>") || strings.Contains(s, "<on call>") {
			t.Errorf("%s has unescaped text:\n%s", name, s)
		}
		if !strings.Contains(s, "Content-Security-Policy") {
			t.Errorf("%s has no CSP", name)
		}
	}
	if !strings.Contains(string(pages["service-db.html"]), `href="tel:&#43;1%20555%200100"`) && !strings.Contains(string(pages["service-db.html"]), `tel:`) {
		t.Errorf("the contact's phone is not a tel: link:\n%s", pages["service-db.html"])
	}
	if got := fileName("service", "Pay/ments ü"); got != "service-pay-ments.html" {
		t.Errorf("fileName: %q", got)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Two services whose names make one file name are refused, not one
// written over the other.
func TestPagesRefuseTwoServicesInOneFile(t *testing.T) {
	b := Book{Title: "R", Services: []Service{{Card: incident.ServiceCard{Name: "a/b"}}, {Card: incident.ServiceCard{Name: "a.b"}}}}
	if _, err := Pages(b); err == nil || !strings.Contains(err.Error(), "the service a/b and the service a.b would both be written to service-a-b.html") {
		t.Errorf("err = %v", err)
	}
}
