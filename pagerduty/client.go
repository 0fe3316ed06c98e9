package pagerduty

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	pd "github.com/PagerDuty/go-pagerduty"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/outbox"
)

// Service is a PagerDuty service as warroom knows it.
type Service struct {
	Name     string `json:"name" yaml:"name"`         // what people type: payments
	ID       string `json:"id" yaml:"id"`             // PagerDuty's service id: PF9KMXH
	Severity string `json:"severity" yaml:"severity"` // what its alerts declare: sev1..sev4
	Group    string `json:"group,omitempty" yaml:"group"`
	// Policy is the service's escalation policy, for the on-call commander
	// of incidents declared for it.
	Policy string `json:"escalation_policy,omitempty" yaml:"escalation_policy"`
	// RoutingKey is the Events API v2 integration key that pages it.
	RoutingKey string `json:"routing_key,omitempty" yaml:"routing_key"`
	// Runbook and Dashboards go with every page to the service, so the
	// person woken up has them in the page itself.
	Runbook    string      `json:"runbook,omitempty" yaml:"runbook"`
	Dashboards []Dashboard `json:"dashboards,omitempty" yaml:"dashboards"`
	// Owners and Contacts are on the service's card (/incident service):
	// Slack mentions or groups, and people to reach outside Slack.
	Owners   []string  `json:"owners,omitempty" yaml:"owners"`
	Contacts []Contact `json:"contacts,omitempty" yaml:"contacts"`
	// Channel is the team's own Slack channel, told when the service has
	// an incident.
	Channel string `json:"channel,omitempty" yaml:"channel"`
	// Checklist is the service's own steps, merged into its incidents'
	// checklists after the default's and the severity's.
	Checklist []incident.ChecklistItem `json:"checklist,omitempty" yaml:"checklist"`
}

// Contact is someone to reach outside Slack.
type Contact struct {
	Name  string `json:"name" yaml:"name"`
	Phone string `json:"phone,omitempty" yaml:"phone"`
	URL   string `json:"url,omitempty" yaml:"url"`
}

// Dashboard is a named link: a Grafana board, a saved query.
type Dashboard struct {
	Name string `json:"name" yaml:"name"`
	URL  string `json:"url" yaml:"url"`
}

// Config configures the REST and Events API clients.
type Config struct {
	Token     string // REST API token; never logged
	APIURL    string // https://api.pagerduty.com
	EventsURL string // https://events.pagerduty.com
	// From is the email of a PagerDuty user, sent as the From header that
	// creating and resolving incidents requires.
	From string
	// Policy and Schedule say who is on call when a service names no policy.
	Policy, Schedule string
	// DefaultService is the service a page to a person is opened on when
	// the incident names none of its own.
	DefaultService string
	HTTP           *http.Client
}

// Client talks to PagerDuty's REST API and Events API v2.
type Client struct {
	cfg Config
	pd  *pd.Client
}

// New returns a client.
func New(cfg Config) *Client {
	if cfg.APIURL == "" {
		cfg.APIURL = "https://api.pagerduty.com"
	}
	if cfg.EventsURL == "" {
		cfg.EventsURL = "https://events.pagerduty.com"
	}
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 20 * time.Second}
	}
	c := pd.NewClient(cfg.Token, pd.WithAPIEndpoint(strings.TrimSuffix(cfg.APIURL, "/")), pd.WithV2EventsAPIEndpoint(strings.TrimSuffix(cfg.EventsURL, "/")))
	c.HTTPClient = &http.Client{Timeout: hc.Timeout, Transport: retryAfterTransport{next: transportOf(hc)}}
	return &Client{cfg: cfg, pd: c}
}

// Person is someone PagerDuty knows.
type Person struct {
	ID, Name, Email string
}

// OnCall returns who is on call first for policy (or, with policy "", the
// configured policy or schedule).
func (c *Client) OnCall(ctx context.Context, policy string) (Person, error) {
	opts := pd.ListOnCallOptions{Earliest: true, Includes: []string{"users"}, Limit: 25}
	switch {
	case policy != "":
		opts.EscalationPolicyIDs = []string{policy}
	case c.cfg.Policy != "":
		opts.EscalationPolicyIDs = []string{c.cfg.Policy}
	case c.cfg.Schedule != "":
		opts.ScheduleIDs = []string{c.cfg.Schedule}
	default:
		return Person{}, outbox.Permanent(errors.New("no escalation policy or schedule configured (pagerduty.escalation_policy)"))
	}
	ctx, ra := withRetryAfter(ctx)
	resp, err := c.pd.ListOnCallsWithContext(ctx, opts)
	if err != nil {
		return Person{}, classify(err, ra)
	}
	if len(resp.OnCalls) == 0 {
		return Person{}, outbox.Permanent(errors.New("nobody is on call for " + firstOf(policy, c.cfg.Policy, c.cfg.Schedule)))
	}
	oc := slices.MinFunc(resp.OnCalls, func(a, b pd.OnCall) int { return int(a.EscalationLevel) - int(b.EscalationLevel) })
	p := Person{ID: oc.User.ID, Name: oc.User.Name, Email: oc.User.Email}
	if p.Name == "" {
		p.Name = oc.User.Summary
	}
	if p.Email == "" {
		return c.User(ctx, p.ID)
	}
	return p, nil
}

// User returns PagerDuty user id.
func (c *Client) User(ctx context.Context, id string) (Person, error) {
	ctx, ra := withRetryAfter(ctx)
	u, err := c.pd.GetUserWithContext(ctx, id, pd.GetUserOptions{})
	if err != nil {
		return Person{}, classify(err, ra)
	}
	return Person{ID: u.ID, Name: u.Name, Email: u.Email}, nil
}

// UserByEmail finds the PagerDuty user with this email.
func (c *Client) UserByEmail(ctx context.Context, email string) (Person, error) {
	ctx, ra := withRetryAfter(ctx)
	resp, err := c.pd.ListUsersWithContext(ctx, pd.ListUsersOptions{Query: email, Limit: 25})
	if err != nil {
		return Person{}, classify(err, ra)
	}
	for _, u := range resp.Users {
		if strings.EqualFold(u.Email, email) {
			return Person{ID: u.ID, Name: u.Name, Email: u.Email}, nil
		}
	}
	return Person{}, outbox.Permanent(fmt.Errorf("no PagerDuty user has the email %s", email))
}

// Page is one page to send.
type Page struct {
	DedupKey string // incident.PageKey: the same page twice is one PagerDuty incident
	Summary  string // what the responder reads first
	Details  string
	Link     string // the war room
	Severity string // critical, error, warning, info
	// Runbook and Dashboards are the paged service's; Context is the
	// incident's state (severity, status, commander...), shown in the
	// alert's custom details.
	Runbook    string
	Dashboards []Dashboard
	Context    map[string]string
}

// Trigger pages a service through the Events API v2 with its routing key.
func (c *Client) Trigger(ctx context.Context, routingKey string, p Page) error {
	details := map[string]string{"details": p.Details}
	for k, v := range p.Context {
		details[k] = v
	}
	ev := &pd.V2Event{RoutingKey: routingKey, Action: "trigger", DedupKey: p.DedupKey, Client: "warroom",
		Payload: &pd.V2Payload{Summary: clip(p.Summary, 1024), Source: "warroom", Severity: firstOf(p.Severity, "critical"), Details: details}}
	var links []interface{}
	if p.Link != "" {
		ev.ClientURL = p.Link
		details["war_room"] = p.Link
		links = append(links, map[string]string{"href": p.Link, "text": "War room"})
	}
	if p.Runbook != "" {
		details["runbook"] = p.Runbook
		links = append(links, map[string]string{"href": p.Runbook, "text": "Runbook"})
	}
	for _, d := range p.Dashboards {
		links = append(links, map[string]string{"href": d.URL, "text": clip(firstOf(d.Name, "Dashboard"), 100)})
	}
	if len(links) > 0 {
		ev.Links = links
	}
	ctx, ra := withRetryAfter(ctx)
	_, err := c.pd.ManageEventWithContext(ctx, ev)
	return classify(err, ra)
}

// ResolveEvent resolves a page sent with Trigger.
func (c *Client) ResolveEvent(ctx context.Context, routingKey, dedupKey string) error {
	ctx, ra := withRetryAfter(ctx)
	_, err := c.pd.ManageEventWithContext(ctx, &pd.V2Event{RoutingKey: routingKey, Action: "resolve", DedupKey: dedupKey})
	return classify(err, ra)
}

// PagePerson opens a high-urgency PagerDuty incident on service (or the
// default service), assigned to userID ("": to the service's escalation
// policy), with the page's dedup key as its
// incident_key, so a retry cannot open a second one. It returns the
// PagerDuty incident id.
func (c *Client) PagePerson(ctx context.Context, service, userID string, p Page) (string, error) {
	service = firstOf(service, c.cfg.DefaultService)
	if service == "" {
		return "", outbox.Permanent(errors.New("paging a person needs a service to open the incident on (pagerduty.default_service)"))
	}
	if c.cfg.From == "" {
		return "", outbox.Permanent(errors.New("paging a person needs pagerduty.from (PAGERDUTY_FROM), the email of a PagerDuty user"))
	}
	// The REST API's incident body must be an object by PagerDuty's spec
	// while its docs show a string, so the details and the war-room link go
	// in the title, which every responder sees first anyway.
	title := p.Summary
	if p.Link != "" {
		title += " — war room: " + p.Link
	}
	if p.Runbook != "" {
		title += " — runbook: " + p.Runbook
	}
	inc := map[string]any{"type": "incident", "title": clip(title, 1024), "urgency": "high", "incident_key": p.DedupKey,
		"service": map[string]any{"id": service, "type": "service_reference"}}
	if userID != "" { // else the service's escalation policy decides
		inc["assignments"] = []any{map[string]any{"assignee": map[string]any{"id": userID, "type": "user_reference"}}}
	}
	// go-pagerduty's CreateIncidentOptions always sends "priority": null,
	// which the spec refuses, so the request is built here and sent
	// through go-pagerduty's Do (auth and version headers).
	b, err := json.Marshal(map[string]any{"incident": inc})
	if err != nil {
		return "", err
	}
	ctx, ra := withRetryAfter(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.cfg.APIURL, "/")+"/incidents", bytes.NewReader(b))
	if err != nil {
		return "", outbox.Permanent(err)
	}
	req.Header.Set("From", c.cfg.From)
	resp, err := c.pd.Do(req, true)
	if err != nil {
		return "", err // network: retry
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusBadRequest && strings.Contains(strings.ToLower(string(data)), "matching dedup key") {
		return "", nil // an open incident with this key exists: the page was sent
	}
	if resp.StatusCode/100 != 2 {
		return "", byStatus(resp.StatusCode, ra, fmt.Errorf("PagerDuty POST /incidents: %s: %.300s", resp.Status, data))
	}
	var out struct {
		Incident struct {
			ID string `json:"id"`
		} `json:"incident"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return "", fmt.Errorf("PagerDuty POST /incidents: %w", err)
	}
	return out.Incident.ID, nil
}

// OpenIncidents lists the ids of unresolved PagerDuty incidents with this
// incident_key (a page's dedup key).
func (c *Client) OpenIncidents(ctx context.Context, key string) ([]string, error) {
	ctx, ra := withRetryAfter(ctx)
	resp, err := c.pd.ListIncidentsWithContext(ctx, pd.ListIncidentsOptions{IncidentKey: key, Statuses: []string{"triggered", "acknowledged"}, Limit: 25})
	if err != nil {
		return nil, classify(err, ra)
	}
	var ids []string
	for _, inc := range resp.Incidents {
		ids = append(ids, inc.ID)
	}
	return ids, nil
}

// ResolveIncident resolves a PagerDuty incident opened by PagePerson.
func (c *Client) ResolveIncident(ctx context.Context, id string) error {
	ctx, ra := withRetryAfter(ctx)
	_, err := c.pd.ManageIncidentsWithContext(ctx, c.cfg.From, []pd.ManageIncidentsOptions{{ID: id, Type: "incident_reference", Status: "resolved"}})
	return classify(err, ra)
}

// Check tries the token with a cheap read.
func (c *Client) Check(ctx context.Context) error {
	_, err := c.pd.ListAbilitiesWithContext(ctx)
	return err
}

// classify tells the outbox whether a failed call is worth retrying: a
// 429 after PagerDuty's Retry-After, a 5xx or a network error with backoff,
// any other 4xx never.
func classify(err error, ra *time.Duration) error {
	if err == nil {
		return nil
	}
	var ae pd.APIError
	var pae *pd.APIError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &pae):
		ae = *pae
	default:
		return err // network, timeout: retry
	}
	return byStatus(ae.StatusCode, ra, err)
}

// byStatus sorts a failed answer by its HTTP status.
func byStatus(code int, ra *time.Duration, err error) error {
	switch {
	case code == http.StatusTooManyRequests:
		return outbox.RetryAfter(err, *ra)
	case code >= 500 || code == http.StatusRequestTimeout:
		return err
	case code >= 400:
		return outbox.Permanent(err)
	}
	return err
}

type retryAfterKey struct{}

// withRetryAfter gives the transport somewhere to put a 429's Retry-After,
// which go-pagerduty's errors do not carry.
func withRetryAfter(ctx context.Context) (context.Context, *time.Duration) {
	d := new(time.Duration)
	return context.WithValue(ctx, retryAfterKey{}, d), d
}

type retryAfterTransport struct{ next http.RoundTripper }

func (t retryAfterTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		if d, ok := r.Context().Value(retryAfterKey{}).(*time.Duration); ok {
			secs, _ := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After")))
			*d = time.Duration(max(secs, 1)) * time.Second
		}
	}
	return resp, err
}

func transportOf(c *http.Client) http.RoundTripper {
	if c.Transport != nil {
		return c.Transport
	}
	return http.DefaultTransport
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
