package vendorsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/warroom/warroom/internal/localonly"
)

// PDUser is a PagerDuty user.
type PDUser struct {
	ID, Name, Email string
}

// PDIncident is a PagerDuty incident the fake holds.
type PDIncident struct {
	ID, Key, Service, Title, Status, Assignee, Urgency string
}

// PDEvent is an Events API v2 event received.
type PDEvent struct {
	RoutingKey, Action, DedupKey, Summary, Severity string
	Links                                           []map[string]string
	Details                                         map[string]any // payload.custom_details
}

// PagerDuty is a fake PagerDuty.
type PagerDuty struct {
	Faults
	srv   *httptest.Server
	token string

	mu        sync.Mutex
	users     []PDUser
	oncall    map[string]string // escalation policy or schedule -> user id
	incidents []*PDIncident
	events    []PDEvent
	requests  int
}

// NewPagerDuty starts a fake PagerDuty that accepts token.
func NewPagerDuty(token string) *PagerDuty {
	p := &PagerDuty{token: token, oncall: map[string]string{}}
	p.srv = httptest.NewServer(localonly.Handler(http.HandlerFunc(p.serve)))
	return p
}

// URL is the base URL of both the REST and the Events API.
func (p *PagerDuty) URL() string { return p.srv.URL }

// Close stops the server.
func (p *PagerDuty) Close() { p.srv.Close() }

// AddUser adds a user.
func (p *PagerDuty) AddUser(id, name, email string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.users = append(p.users, PDUser{id, name, email})
}

// SetOnCall puts user on call for an escalation policy or schedule.
func (p *PagerDuty) SetOnCall(policy, userID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.oncall[policy] = userID
}

// Incidents returns copies of the incidents opened through the REST API.
func (p *PagerDuty) Incidents() []PDIncident {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []PDIncident
	for _, i := range p.incidents {
		out = append(out, *i)
	}
	return out
}

// Events returns the Events API v2 events received.
func (p *PagerDuty) Events() []PDEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]PDEvent(nil), p.events...)
}

// Requests counts the requests that got a real answer.
func (p *PagerDuty) Requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests
}

func (p *PagerDuty) user(id string) (PDUser, bool) {
	for _, u := range p.users {
		if u.ID == id {
			return u, true
		}
	}
	return PDUser{}, false
}

func userJSON(u PDUser) map[string]any {
	return map[string]any{"id": u.ID, "type": "user", "summary": u.Name, "name": u.Name, "email": u.Email}
}

func incJSON(i *PDIncident) map[string]any {
	return map[string]any{"id": i.ID, "type": "incident", "incident_key": i.Key, "title": i.Title, "status": i.Status, "urgency": i.Urgency,
		"service": map[string]any{"id": i.Service, "type": "service_reference"}, "html_url": "https://example.pagerduty.com/incidents/" + i.ID}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (p *PagerDuty) serve(w http.ResponseWriter, r *http.Request) {
	if p.intercept(w, r) {
		return
	}
	if r.URL.Path == "/v2/enqueue" {
		p.enqueue(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Token token="+p.token {
		writeJSON(w, 401, map[string]any{"error": map[string]any{"message": "Unauthorized", "code": 2006}})
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests++
	q := r.URL.Query()
	switch {
	case r.Method == "GET" && r.URL.Path == "/abilities":
		writeJSON(w, 200, map[string]any{"abilities": []string{"teams"}})
	case r.Method == "GET" && r.URL.Path == "/oncalls":
		var out []any
		for _, key := range append(q["escalation_policy_ids[]"], q["schedule_ids[]"]...) {
			if u, ok := p.user(p.oncall[key]); ok {
				out = append(out, map[string]any{"user": userJSON(u), "escalation_level": 1, "escalation_policy": map[string]any{"id": key, "type": "escalation_policy_reference"}})
			}
		}
		writeJSON(w, 200, map[string]any{"oncalls": out, "limit": 25, "offset": 0, "more": false})
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/users/"):
		u, ok := p.user(strings.TrimPrefix(r.URL.Path, "/users/"))
		if !ok {
			writeJSON(w, 404, map[string]any{"error": map[string]any{"message": "Not Found", "code": 2100}})
			return
		}
		writeJSON(w, 200, map[string]any{"user": userJSON(u)})
	case r.Method == "GET" && r.URL.Path == "/users":
		var out []any
		for _, u := range p.users {
			if strings.Contains(strings.ToLower(u.Email), strings.ToLower(q.Get("query"))) {
				out = append(out, userJSON(u))
			}
		}
		writeJSON(w, 200, map[string]any{"users": out, "limit": 25, "offset": 0, "more": false})
	case r.Method == "POST" && r.URL.Path == "/incidents":
		p.createIncident(w, r)
	case r.Method == "GET" && r.URL.Path == "/incidents":
		var out []any
		for _, i := range p.incidents {
			if (q.Get("incident_key") == "" || i.Key == q.Get("incident_key")) && (len(q["statuses[]"]) == 0 || contains(q["statuses[]"], i.Status)) {
				out = append(out, incJSON(i))
			}
		}
		writeJSON(w, 200, map[string]any{"incidents": out, "limit": 25, "offset": 0, "more": false})
	case r.Method == "PUT" && r.URL.Path == "/incidents":
		var body struct {
			Incidents []struct{ ID, Status string } `json:"incidents"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		var out []any
		for _, b := range body.Incidents {
			for _, i := range p.incidents {
				if i.ID == b.ID && b.Status != "" {
					i.Status = b.Status
					out = append(out, incJSON(i))
				}
			}
		}
		writeJSON(w, 200, map[string]any{"incidents": out})
	default:
		writeJSON(w, 404, map[string]any{"error": map[string]any{"message": "Not Found", "code": 2100}})
	}
}

func (p *PagerDuty) createIncident(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("From") == "" {
		writeJSON(w, 400, map[string]any{"error": map[string]any{"message": "Invalid Input Provided", "code": 2001, "errors": []string{"Requester User Not Found"}}})
		return
	}
	var body struct {
		Incident struct {
			Title       string              `json:"title"`
			Urgency     string              `json:"urgency"`
			IncidentKey string              `json:"incident_key"`
			Service     struct{ ID string } `json:"service"`
			Assignments []struct {
				Assignee struct{ ID string } `json:"assignee"`
			} `json:"assignments"`
		} `json:"incident"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Incident.Service.ID == "" || body.Incident.Title == "" {
		writeJSON(w, 400, map[string]any{"error": map[string]any{"message": "Invalid Input Provided", "code": 2001, "errors": []string{"service and title are required"}}})
		return
	}
	in := body.Incident
	for _, i := range p.incidents {
		if in.IncidentKey != "" && i.Key == in.IncidentKey && i.Service == in.Service.ID && i.Status != "resolved" {
			writeJSON(w, 400, map[string]any{"error": map[string]any{"message": "Invalid Input Provided", "code": 2001,
				"errors": []string{"Open incident with matching dedup key already exists on this service"}}})
			return
		}
	}
	inc := &PDIncident{ID: fmt.Sprintf("Q%05d", len(p.incidents)+1), Key: in.IncidentKey, Service: in.Service.ID, Title: in.Title, Status: "triggered", Urgency: in.Urgency}
	if len(in.Assignments) > 0 {
		inc.Assignee = in.Assignments[0].Assignee.ID
	}
	p.incidents = append(p.incidents, inc)
	writeJSON(w, 201, map[string]any{"incident": incJSON(inc)})
}

// enqueue is the Events API v2: routing keys are not checked beyond being
// 32 characters, as PagerDuty's own format requires.
func (p *PagerDuty) enqueue(w http.ResponseWriter, r *http.Request) {
	var ev struct {
		RoutingKey string `json:"routing_key"`
		Action     string `json:"event_action"`
		DedupKey   string `json:"dedup_key"`
		Payload    *struct {
			Summary  string         `json:"summary"`
			Source   string         `json:"source"`
			Severity string         `json:"severity"`
			Details  map[string]any `json:"custom_details"`
		} `json:"payload"`
		Links []map[string]string `json:"links"`
	}
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil || len(ev.RoutingKey) != 32 || (ev.Action == "trigger" && (ev.Payload == nil || ev.Payload.Summary == "")) {
		writeJSON(w, 400, map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": []string{"bad event"}})
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests++
	e := PDEvent{RoutingKey: ev.RoutingKey, Action: ev.Action, DedupKey: ev.DedupKey, Links: ev.Links}
	if ev.Payload != nil {
		e.Summary, e.Severity, e.Details = ev.Payload.Summary, ev.Payload.Severity, ev.Payload.Details
	}
	p.events = append(p.events, e)
	writeJSON(w, 202, map[string]any{"status": "success", "message": "Event processed", "dedup_key": ev.DedupKey})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
