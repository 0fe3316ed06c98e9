package sandbox

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Vendors is the sandbox's mock PagerDuty and Jira, as the console shows
// and drives them: alerts to send, outages to switch on and off, and what
// each mock has received.
type Vendors interface {
	// Services lists the PagerDuty services an alert can come from.
	Services() []string
	// Alert sends a signed PagerDuty webhook for a new alert on service.
	Alert(service, title string) error
	// SetDown takes "pagerduty" or "jira" down (503 to every request) or back up.
	SetDown(vendor string, down bool) error
	// State is what the console shows of the mocks.
	State() VendorState
	// SetIssueStatus moves a Jira issue as a person would in Jira ("Done",
	// or "To Do" to reopen it).
	SetIssueStatus(key, status string) error
}

// VendorState is the mocks' state, for the console.
type VendorState struct {
	Down   map[string]bool `json:"down"`
	Issues []VendorItem    `json:"issues"` // Jira issues
	Pages  []VendorItem    `json:"pages"`  // PagerDuty incidents and events warroom sent
	Faults map[string]int  `json:"faults"` // requests refused while down
}

// VendorItem is one line of a mock's list.
type VendorItem struct {
	Key    string `json:"key"`
	Title  string `json:"title"`
	Status string `json:"status"`
}

func (c *Console) vendorState(w http.ResponseWriter, r *http.Request) {
	if c.vendors == nil {
		writeJSON(w, http.StatusOK, map[string]any{"enabled": false})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"enabled": true, "services": c.vendors.Services(), "state": c.vendors.State()})
}

func (c *Console) vendorAlert(w http.ResponseWriter, r *http.Request) {
	var req struct{ Service, Title string }
	if c.vendors == nil || json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<10)).Decode(&req) != nil || strings.TrimSpace(req.Service) == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "send {service, title}"})
		return
	}
	if strings.TrimSpace(req.Title) == "" {
		req.Title = "Error rate above threshold"
	}
	if err := c.vendors.Alert(req.Service, req.Title); err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"ok": "sent"})
}

func (c *Console) vendorOutage(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Vendor string
		Down   bool
	}
	if c.vendors == nil || json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<10)).Decode(&req) != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "send {vendor, down}"})
		return
	}
	if err := c.vendors.SetDown(req.Vendor, req.Down); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"ok": "done"})
}

func (c *Console) vendorIssue(w http.ResponseWriter, r *http.Request) {
	var req struct{ Key, Status string }
	if c.vendors == nil || json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<10)).Decode(&req) != nil || req.Key == "" || (req.Status != "Done" && req.Status != "To Do") {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `send {key, status: "Done" or "To Do"}`})
		return
	}
	if err := c.vendors.SetIssueStatus(req.Key, req.Status); err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"ok": "moved"})
}
