package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/pagerduty"
	"github.com/warroom/warroom/sandbox"
	"github.com/warroom/warroom/vendorsim"
)

// sandboxVendors is the sandbox's mock PagerDuty and Jira, wired to the bot
// as real ones would be: the bot pages and files issues over HTTP, and
// alerts reach it as signed webhooks.
type sandboxVendors struct {
	pd       *vendorsim.PagerDuty
	jira     *vendorsim.Jira
	secret   string
	botURL   string
	services []pagerduty.Service

	mu   sync.Mutex
	down map[string]bool
	seq  int
}

// newSandboxVendors starts the mocks; users are the sandbox's teammates,
// and onCall the one PagerDuty has on call.
func newSandboxVendors(users []string, onCall string) *sandboxVendors {
	secret := make([]byte, 16)
	rand.Read(secret)
	key := make([]byte, 16)
	rand.Read(key)
	v := &sandboxVendors{pd: vendorsim.NewPagerDuty("sandbox-pd-token"), jira: vendorsim.NewJira("warroom@example.com", "sandbox-jira-token", "OPS"),
		secret: hex.EncodeToString(secret), down: map[string]bool{}}
	for _, u := range users {
		v.pd.AddUser("P"+u, u, u+"@example.com")
	}
	v.pd.SetOnCall("PSANDBOX", "P"+onCall)
	v.services = []pagerduty.Service{
		{Name: "payments", ID: "PPAYMENTS", Severity: "sev1", Group: "checkout", RoutingKey: hex.EncodeToString(key)},
		{Name: "cards", ID: "PCARDS", Severity: "sev2", Group: "checkout", RoutingKey: hex.EncodeToString(key)},
		{Name: "search", ID: "PSEARCH", Severity: "sev3"},
	}
	return v
}

// addService adds a rehearsal's service, with its card, to the mock
// PagerDuty's services.
func (v *sandboxVendors) addService(card incident.ServiceCard, severity string) {
	s := pagerduty.Service{Name: card.Name, ID: "P" + strings.ToUpper(card.Name), Severity: severity, Runbook: card.Runbook,
		Owners: card.Owners, Channel: card.Channel, RoutingKey: v.services[0].RoutingKey}
	for _, d := range card.Dashboards {
		s.Dashboards = append(s.Dashboards, pagerduty.Dashboard{Name: d.Name, URL: d.URL})
	}
	for _, c := range card.Contacts {
		s.Contacts = append(s.Contacts, pagerduty.Contact{Name: c.Name, Phone: c.Phone, URL: c.URL})
	}
	v.services = append(v.services, s)
}

// env is the configuration that points warroom at the mocks.
func (v *sandboxVendors) env() map[string]string {
	services, _ := json.Marshal(v.services)
	return map[string]string{
		"PAGERDUTY_TOKEN": "sandbox-pd-token", "PAGERDUTY_API_URL": v.pd.URL(), "PAGERDUTY_EVENTS_URL": v.pd.URL(),
		"PAGERDUTY_ESCALATION_POLICY": "PSANDBOX", "PAGERDUTY_FROM": "warroom@example.com", "PAGERDUTY_DEFAULT_SERVICE": "PPAYMENTS",
		"PAGERDUTY_WEBHOOK_SECRET": v.secret, "PAGERDUTY_SERVICES": string(services),
		"JIRA_URL": v.jira.URL(), "JIRA_USER": "warroom@example.com", "JIRA_TOKEN": "sandbox-jira-token", "JIRA_PROJECT": "OPS",
		// Quick retries, so an outage's end shows within seconds.
		"WARROOM_RETRY_FIRST": "500ms", "WARROOM_RETRY_MAX": "5s",
	}
}

func (v *sandboxVendors) close() {
	v.pd.Close()
	v.jira.Close()
}

func (v *sandboxVendors) Services() []string {
	var out []string
	for _, s := range v.services {
		out = append(out, s.Name)
	}
	return out
}

// Alert sends the webhook PagerDuty would send for a new incident on service.
func (v *sandboxVendors) Alert(service, title string) error {
	var svc *pagerduty.Service
	for i := range v.services {
		if v.services[i].Name == service {
			svc = &v.services[i]
		}
	}
	if svc == nil {
		return fmt.Errorf("no service %q", service)
	}
	v.mu.Lock()
	v.seq++
	n := v.seq
	v.mu.Unlock()
	ev := map[string]any{"event": map[string]any{
		"id": fmt.Sprintf("sandbox-%d-%d", time.Now().UnixNano(), n), "event_type": "incident.triggered", "resource_type": "incident",
		"occurred_at": time.Now().UTC().Format(time.RFC3339),
		"data": map[string]any{"id": fmt.Sprintf("QSANDBOX%d", n), "type": "incident", "title": title, "status": "triggered",
			"html_url": fmt.Sprintf("%s/incidents/QSANDBOX%d", v.pd.URL(), n),
			"service":  map[string]any{"id": svc.ID, "summary": svc.Name, "type": "service_reference"}},
	}}
	body, _ := json.Marshal(ev)
	mac := hmac.New(sha256.New, []byte(v.secret))
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, v.botURL+"/webhooks/pagerduty", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-PagerDuty-Signature", "v1="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the bot answered the webhook with %s", resp.Status)
	}
	return nil
}

func (v *sandboxVendors) SetDown(vendor string, down bool) error {
	var f *vendorsim.Faults
	switch vendor {
	case "pagerduty":
		f = &v.pd.Faults
	case "jira":
		f = &v.jira.Faults
	default:
		return fmt.Errorf("no vendor %q (pagerduty or jira)", vendor)
	}
	if down {
		f.Fail(-1, http.StatusServiceUnavailable)
	} else {
		f.Heal()
	}
	v.mu.Lock()
	v.down[vendor] = down
	v.mu.Unlock()
	return nil
}

func (v *sandboxVendors) SetIssueStatus(key, status string) error {
	if !v.jira.SetStatus(key, status) {
		return fmt.Errorf("no Jira issue %s", key)
	}
	return nil
}

func (v *sandboxVendors) State() sandbox.VendorState {
	v.mu.Lock()
	st := sandbox.VendorState{Down: map[string]bool{"pagerduty": v.down["pagerduty"], "jira": v.down["jira"]},
		Faults: map[string]int{"pagerduty": v.pd.Injected(), "jira": v.jira.Injected()}}
	v.mu.Unlock()
	for _, i := range v.jira.Issues() {
		st.Issues = append(st.Issues, sandbox.VendorItem{Key: i.Key, Title: i.Summary, Status: i.Status})
	}
	for _, i := range v.pd.Incidents() {
		st.Pages = append(st.Pages, sandbox.VendorItem{Key: i.ID, Title: i.Title, Status: i.Status})
	}
	for _, e := range v.pd.Events() {
		st.Pages = append(st.Pages, sandbox.VendorItem{Key: e.DedupKey, Title: e.Summary, Status: "event: " + e.Action})
	}
	return st
}

// vendorState is what is saved of the mocks beside the workspace file.
type vendorState struct {
	Jira      vendorsim.JiraState      `json:"jira"`
	PagerDuty vendorsim.PagerDutyState `json:"pagerduty"`
}

// load restores the mocks from path, if it exists, so "Done in Jira" and
// the pages sent survive a restart of the sandbox.
func (v *sandboxVendors) load(path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var st vendorState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("sandbox: %s is damaged (%v); start clean with --reset", path, err)
	}
	v.jira.Restore(st.Jira)
	v.pd.Restore(st.PagerDuty)
	return nil
}

// keep saves the mocks to path whenever what they hold changes, until ctx
// ends, and once more then.
func (v *sandboxVendors) keep(ctx context.Context, path string, log *slog.Logger) {
	var last []byte
	save := func() {
		b, err := json.Marshal(vendorState{Jira: v.jira.State(), PagerDuty: v.pd.State()})
		if err != nil || bytes.Equal(b, last) {
			return
		}
		tmp := path + ".tmp"
		if err = os.WriteFile(tmp, b, 0o600); err == nil {
			err = os.Rename(tmp, path)
		}
		if err != nil {
			log.Warn("sandbox: could not save the mock PagerDuty and Jira", "path", path, "err", err)
			return
		}
		last = b
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			save()
			return
		case <-t.C:
			save()
		}
	}
}
