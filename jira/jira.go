// Package jira keeps a Jira issue for each incident, through go-jira (v1,
// REST API v2 paths): it creates the issue when the incident is declared,
// updates it as the incident changes, and transitions it when the incident
// resolves (and back, if it reopens). The outbox calls Sync; Sync is
// idempotent, so retries and duplicates are harmless. It imports the
// domain's outbox errors, never Slack or a store.
package jira

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	gojira "github.com/andygrunwald/go-jira"

	"github.com/warroom/warroom/outbox"
)

// Config configures the Jira client.
type Config struct {
	URL       string // https://example.atlassian.net
	User      string // the account's email
	Token     string // API token; never logged
	Project   string // project key: INC
	IssueType string // default "Task"
	// DoneTransition and ReopenTransition name the workflow transitions (or
	// their target statuses) used when an incident resolves and reopens.
	DoneTransition, ReopenTransition string
	HTTP                             *http.Client
}

// Client keeps incidents' Jira issues.
type Client struct {
	cfg Config
	api *gojira.Client
}

// New returns a client.
func New(cfg Config) (*Client, error) {
	if cfg.IssueType == "" {
		cfg.IssueType = "Task"
	}
	if cfg.DoneTransition == "" {
		cfg.DoneTransition = "Done"
	}
	base := cfg.HTTP
	if base == nil {
		base = &http.Client{Timeout: 20 * time.Second}
	}
	next := base.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	// Credentials written into the URL (https://user:token@site) are used
	// as such and never kept in it: the URL makes the links posted to Slack.
	u, err := url.Parse(strings.TrimSpace(cfg.URL))
	if err != nil {
		return nil, fmt.Errorf("JIRA_URL: %w", err)
	}
	if u.User != nil {
		if cfg.User == "" {
			cfg.User = u.User.Username()
		}
		if p, ok := u.User.Password(); ok && cfg.Token == "" {
			cfg.Token = p
		}
		u.User = nil
	}
	cfg.URL = u.String()
	auth := &gojira.BasicAuthTransport{Username: cfg.User, Password: cfg.Token, Transport: next}
	api, err := gojira.NewClient(&http.Client{Timeout: base.Timeout, Transport: auth}, strings.TrimSuffix(cfg.URL, "/")+"/")
	if err != nil {
		return nil, fmt.Errorf("JIRA_URL: %w", err)
	}
	return &Client{cfg: cfg, api: api}, nil
}

// Ticket is the state of an incident its issue shows.
type Ticket struct {
	Ref, Title, Severity, Status, Stage string
	Commander, Communicator             string // as people read them ("@bob"), "" for nobody
	Service, Impact                     string
	WarRoom                             string // the war room's URL
	Resolved                            bool
}

// Label is the label that finds an incident's issue again: a retry after a
// create whose answer was lost finds the issue instead of making another.
func Label(ref string) string { return "warroom-" + strings.ToLower(ref) }

// Sync brings incident t's issue up to date and returns its key and URL.
// key is the issue already known ("" the first time).
func (c *Client) Sync(ctx context.Context, key string, t Ticket) (string, string, error) {
	fields := c.fields(t)
	if key == "" {
		found, err := c.find(ctx, t.Ref)
		if err != nil {
			return "", "", err
		}
		key = found
	}
	if key == "" {
		var err error
		if key, err = c.create(ctx, fields); err != nil {
			return "", "", err
		}
	} else {
		resp, err := c.api.Issue.UpdateIssueWithContext(ctx, key, map[string]any{"fields": fields})
		if err != nil {
			return key, c.browse(key), classify(resp, err)
		}
	}
	want := c.cfg.ReopenTransition
	if t.Resolved {
		want = c.cfg.DoneTransition
	}
	if want != "" {
		if err := c.transition(ctx, key, want); err != nil {
			return key, c.browse(key), err
		}
	}
	return key, c.browse(key), nil
}

func (c *Client) create(ctx context.Context, fields map[string]any) (string, error) {
	issue, resp, err := c.api.Issue.CreateWithContext(ctx, &gojira.Issue{Fields: &gojira.IssueFields{
		Project: gojira.Project{Key: c.cfg.Project}, Type: gojira.IssueType{Name: c.cfg.IssueType},
		Summary: fields["summary"].(string), Description: fields["description"].(string), Labels: fields["labels"].([]string),
	}})
	if err != nil {
		return "", classify(resp, err)
	}
	return issue.Key, nil
}

func (c *Client) browse(key string) string {
	return strings.TrimSuffix(c.cfg.URL, "/") + "/browse/" + key
}

func (c *Client) fields(t Ticket) map[string]any {
	var d strings.Builder
	fmt.Fprintf(&d, "Incident %s, managed by warroom from Slack. Edit the incident there; this issue follows it.\n\n", t.Ref)
	fmt.Fprintf(&d, "Severity: %s\nStatus: %s (%s stage)\n", t.Severity, t.Status, t.Stage)
	if t.Service != "" {
		fmt.Fprintf(&d, "Service: %s\n", t.Service)
	}
	fmt.Fprintf(&d, "Commander: %s\nCommunicator: %s\n", orNobody(t.Commander), orNobody(t.Communicator))
	if t.Impact != "" {
		fmt.Fprintf(&d, "Impact: %s\n", t.Impact)
	}
	if t.WarRoom != "" {
		fmt.Fprintf(&d, "War room: %s\n", t.WarRoom)
	}
	return map[string]any{
		"summary":     clip(fmt.Sprintf("%s [%s] %s", t.Ref, strings.ToUpper(t.Severity), t.Title), 250),
		"description": d.String(),
		"labels":      []string{"warroom", Label(t.Ref), strings.ToLower(t.Severity)},
	}
}

func orNobody(u string) string {
	if u == "" {
		return "nobody yet"
	}
	return u
}

// find looks for the incident's issue by its label.
func (c *Client) find(ctx context.Context, ref string) (string, error) {
	jql := fmt.Sprintf(`project = "%s" AND labels = "%s" ORDER BY created ASC`, c.cfg.Project, Label(ref))
	issues, resp, err := c.api.Issue.SearchWithContext(ctx, jql, &gojira.SearchOptions{MaxResults: 1, Fields: []string{"summary"}})
	if err != nil {
		return "", classify(resp, err)
	}
	if len(issues) == 0 {
		return "", nil
	}
	return issues[0].Key, nil
}

// transition moves the issue through the transition called name (or the
// one leading to the status called name); none available means the issue
// is already there, which is fine.
func (c *Client) transition(ctx context.Context, key, name string) error {
	ts, resp, err := c.api.Issue.GetTransitionsWithContext(ctx, key)
	if err != nil {
		return classify(resp, err)
	}
	for _, t := range ts {
		if strings.EqualFold(t.Name, name) || strings.EqualFold(t.To.Name, name) {
			resp, err := c.api.Issue.DoTransitionWithContext(ctx, key, t.ID)
			return classify(resp, err)
		}
	}
	return nil
}

// Check tries the credentials and the project.
func (c *Client) Check(ctx context.Context) error {
	_, resp, err := c.api.Project.GetWithContext(ctx, c.cfg.Project)
	if err != nil {
		return fmt.Errorf("project %s: %w", c.cfg.Project, classify(resp, err))
	}
	return nil
}

// classify tells the outbox whether a failed call is worth retrying.
func classify(resp *gojira.Response, err error) error {
	if err == nil {
		return nil
	}
	if resp == nil || resp.Response == nil {
		return err // network, timeout: retry
	}
	code := resp.StatusCode
	err = fmt.Errorf("jira %s: %w", resp.Status, err)
	switch {
	case code == http.StatusTooManyRequests:
		secs, _ := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After")))
		return outbox.RetryAfter(err, time.Duration(max(secs, 1))*time.Second)
	case code >= 500 || code == http.StatusRequestTimeout:
		return err
	case code >= 400:
		return outbox.Permanent(err)
	}
	return err
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// Action is an action item as its Jira issue shows it.
type Action struct {
	Ref         string // AI-3
	Incident    string // INC-1
	IncidentKey string // the incident's issue, linked to this one; "" if none
	Text        string
	Owner       string // as people read it ("@bob"), "" for nobody
	Priority    string // P1
	Due         string // YYYY-MM-DD
	// Move is the transition the change calls for: "done", "reopen", or ""
	// to leave the issue's status alone (someone may have moved it in Jira).
	Move string
}

// ActionLabel finds an action item's issue again, as Label does an incident's.
func ActionLabel(ref string) string { return "warroom-" + strings.ToLower(ref) }

// SyncAction brings action item a's issue up to date and returns its key
// and URL. The first time (key ""), it finds the issue by label or creates
// it, and links it to the incident's issue ("Relates"); a key is returned
// only once the link is made, so a retry after a failed link finds the
// issue again and links it then.
func (c *Client) SyncAction(ctx context.Context, key string, a Action) (string, string, error) {
	fields := actionFields(a)
	if key == "" {
		found, err := c.find(ctx, a.Ref)
		if err != nil {
			return "", "", err
		}
		if key, err = c.fileAction(ctx, found, fields, a.IncidentKey); err != nil {
			return "", "", err
		}
	} else if resp, err := c.api.Issue.UpdateIssueWithContext(ctx, key, map[string]any{"fields": fields}); err != nil {
		return key, c.browse(key), classify(resp, err)
	}
	// Only a change of status in warroom moves the issue; a reopened item's
	// issue must be open again, or the sync would read "done" back.
	var want string
	switch a.Move {
	case "done":
		want = c.cfg.DoneTransition
	case "reopen":
		want = cmp.Or(c.cfg.ReopenTransition, "To Do")
	}
	if want != "" {
		if err := c.transition(ctx, key, want); err != nil {
			return key, c.browse(key), err
		}
	}
	return key, c.browse(key), nil
}

func actionFields(a Action) map[string]any {
	var d strings.Builder
	fmt.Fprintf(&d, "Action item %s from incident %s, tracked by warroom.\n\n%s\n\nOwner: %s\nPriority: %s\n", a.Ref, a.Incident, a.Text, orNobody(a.Owner), a.Priority)
	if a.Due != "" {
		fmt.Fprintf(&d, "Due: %s\n", a.Due)
	}
	fmt.Fprintf(&d, "\nClose it here (any Done status) or in Slack: /incident action done %s\n", strings.TrimPrefix(a.Ref, "AI-"))
	return map[string]any{
		"summary":     clip(fmt.Sprintf("%s %s", a.Ref, oneLine(a.Text)), 250),
		"description": d.String(),
		"labels":      []string{"warroom", "warroom-action", ActionLabel(a.Ref), Label(a.Incident), strings.ToLower(a.Priority)},
	}
}

// fileAction creates the issue (or updates found) and links it to the
// incident's issue.
func (c *Client) fileAction(ctx context.Context, found string, fields map[string]any, incidentKey string) (string, error) {
	var err error
	if found == "" {
		if found, err = c.create(ctx, fields); err != nil {
			return "", err
		}
	} else if resp, err := c.api.Issue.UpdateIssueWithContext(ctx, found, map[string]any{"fields": fields}); err != nil {
		return "", classify(resp, err)
	}
	if incidentKey != "" {
		if err := c.link(ctx, incidentKey, found); err != nil {
			return "", err
		}
	}
	return found, nil
}

// link relates issue key to the incident's issue.
func (c *Client) link(ctx context.Context, incidentKey, key string) error {
	resp, err := c.api.Issue.AddLinkWithContext(ctx, &gojira.IssueLink{Type: gojira.IssueLinkType{Name: "Relates"},
		InwardIssue: &gojira.Issue{Key: incidentKey}, OutwardIssue: &gojira.Issue{Key: key}})
	return classify(resp, err)
}

// IssueStatus is what an issue's status says, as the periodic sync reads it.
type IssueStatus struct {
	Key     string
	Status  string
	Done    bool // its status is in Jira's "done" category
	Updated time.Time
}

// Statuses reads the status of the issues keys, 50 per search (JQL
// "key in (...)"). Issues that no longer exist are left out.
func (c *Client) Statuses(ctx context.Context, keys []string) ([]IssueStatus, error) {
	var out []IssueStatus
	for start := 0; start < len(keys); start += 50 {
		chunk := keys[start:min(start+50, len(keys))]
		quoted := make([]string, len(chunk))
		for i, k := range chunk {
			quoted[i] = `"` + strings.ReplaceAll(k, `"`, ``) + `"`
		}
		jql := fmt.Sprintf("key in (%s)", strings.Join(quoted, ", "))
		issues, resp, err := c.api.Issue.SearchWithContext(ctx, jql, &gojira.SearchOptions{MaxResults: 50, Fields: []string{"status", "updated"}})
		if err != nil {
			return out, classify(resp, err)
		}
		for _, is := range issues {
			s := IssueStatus{Key: is.Key}
			if is.Fields != nil {
				s.Updated = time.Time(is.Fields.Updated)
				if is.Fields.Status != nil {
					s.Status, s.Done = is.Fields.Status.Name, is.Fields.Status.StatusCategory.Key == "done"
				}
			}
			out = append(out, s)
		}
	}
	return out, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
