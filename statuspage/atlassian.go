package statuspage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/outbox"
)

// System is the name under which Statuspage incident IDs are kept.
const System = "statuspage"

// Refs remembers which Statuspage incident belongs to which warroom incident.
type Refs interface {
	ExternalRef(ctx context.Context, n int64, system string) (string, error)
	SetExternalRef(ctx context.Context, n int64, system, ref string) error
}

// AtlassianConfig configures publishing to Atlassian Statuspage's REST API v1.
type AtlassianConfig struct {
	BaseURL string // https://api.statuspage.io (STATUSPAGE_API_URL, for tests)
	PageID  string
	APIKey  string // sent as "Authorization: OAuth <key>"; never logged
	// Components maps warroom component names to Statuspage component IDs;
	// names not listed are matched against the page's components by name.
	Components map[string]string
	// Interval between requests: Statuspage allows 1 request per second.
	Interval time.Duration
	Client   *http.Client
	Log      *slog.Logger
}

// Atlassian publishes public updates to Statuspage, at most one request
// per Interval across all incidents. The outbox calls Deliver, in order per
// incident, and retries what fails.
type Atlassian struct {
	cfg  AtlassianConfig
	refs Refs

	mu      sync.Mutex
	byName  map[string]string // the page's components, lower-cased name -> ID
	fetched bool

	send sync.Mutex // held while pacing and sending one request
	last time.Time  // when the last request went out
}

// Publication is one public update to send, exactly as it was published.
type Publication struct {
	Number     int64
	Name       string // the public title
	Impact     string // none, minor, major, critical
	Update     incident.PublicUpdate
	Components map[string]incident.ComponentStatus
}

// PublicationOf is the Statuspage publication of a stored public update:
// everything in it comes from the update, nothing from the live incident.
func PublicationOf(u incident.PublicUpdate) Publication {
	return Publication{Number: u.Incident, Name: u.Title, Impact: u.Impact, Components: u.Components, Update: u}
}

// NewAtlassian returns a publisher; the outbox calls its Deliver.
func NewAtlassian(cfg AtlassianConfig, refs Refs) *Atlassian {
	if cfg.BaseURL == "" {
		cfg.BaseURL = "https://api.statuspage.io"
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 20 * time.Second}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Atlassian{cfg: cfg, refs: refs}
}

// Deliver makes one attempt at publishing p, for the outbox: nil when
// Statuspage has it, an outbox.Permanent error when Statuspage refused it
// (a 4xx), or an error to retry, carrying Retry-After when throttled.
// Publishing is idempotent per update: the Statuspage incident id is kept
// in Refs, so a retry updates the incident rather than creating another.
func (a *Atlassian) Deliver(ctx context.Context, p Publication) error {
	retryAfter, err := a.publish(ctx, p)
	var perm *permanentError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &perm):
		return outbox.Permanent(err)
	case retryAfter > 0:
		return outbox.RetryAfter(err, retryAfter)
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

type permanentError struct{ error }

// publish creates the Statuspage incident on the first update and adds an
// update to it afterwards.
func (a *Atlassian) publish(ctx context.Context, p Publication) (time.Duration, error) {
	ref, err := a.refs.ExternalRef(ctx, p.Number, System)
	if err != nil {
		return 0, err
	}
	ids, statuses, err := a.componentIDs(ctx, p)
	if err != nil {
		return 0, err
	}
	body := map[string]any{
		"status": string(p.Update.Status), "body": p.Update.Body,
		"component_ids": ids, "components": statuses, "deliver_notifications": true,
	}
	// The name and impact go with every update: they are what this update
	// published, and a communicator may have changed the public title.
	body["name"] = p.Name
	body["impact_override"] = p.Impact
	method, path := http.MethodPatch, "/v1/pages/"+a.cfg.PageID+"/incidents/"+ref
	if ref == "" {
		method, path = http.MethodPost, "/v1/pages/"+a.cfg.PageID+"/incidents"
	}
	var out struct {
		ID string `json:"id"`
	}
	retryAfter, err := a.do(ctx, method, path, map[string]any{"incident": body}, &out)
	if err != nil {
		return retryAfter, err
	}
	if ref == "" {
		if out.ID == "" {
			return 0, &permanentError{errors.New("statuspage created an incident but returned no id")}
		}
		return 0, a.refs.SetExternalRef(ctx, p.Number, System, out.ID)
	}
	return 0, nil
}

// componentIDs maps the incident's components to Statuspage's, fetching
// the page's components once for names not configured.
func (a *Atlassian) componentIDs(ctx context.Context, p Publication) ([]string, map[string]string, error) {
	ids := []string{}
	statuses := map[string]string{}
	for name, st := range p.Components {
		id := a.cfg.Components[name]
		if id == "" {
			var err error
			if id, err = a.lookup(ctx, name); err != nil {
				return nil, nil, err
			}
		}
		if id == "" {
			a.cfg.Log.Warn("no Statuspage component of that name; left out", "component", name)
			continue
		}
		if p.Update.Status == incident.StatusResolved {
			st = incident.Operational
		}
		ids = append(ids, id)
		statuses[id] = string(st)
	}
	return ids, statuses, nil
}

func (a *Atlassian) lookup(ctx context.Context, name string) (string, error) {
	a.mu.Lock()
	fetched := a.fetched
	a.mu.Unlock()
	if !fetched {
		var comps []struct{ ID, Name string }
		if _, err := a.do(ctx, http.MethodGet, "/v1/pages/"+a.cfg.PageID+"/components", nil, &comps); err != nil {
			return "", err
		}
		a.mu.Lock()
		a.byName = map[string]string{}
		for _, c := range comps {
			a.byName[strings.ToLower(c.Name)] = c.ID
		}
		a.fetched = true
		a.mu.Unlock()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.byName[strings.ToLower(name)], nil
}

// do sends one request, at most one per Interval; it returns Retry-After
// when Statuspage throttles.
func (a *Atlassian) do(ctx context.Context, method, path string, body, out any) (time.Duration, error) {
	a.send.Lock()
	if wait := a.cfg.Interval - time.Since(a.last); wait > 0 && !sleep(ctx, wait) {
		a.send.Unlock()
		return 0, ctx.Err()
	}
	a.last = time.Now()
	a.send.Unlock()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(a.cfg.BaseURL, "/")+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "OAuth "+a.cfg.APIKey)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.cfg.Client.Do(req)
	// The next request waits an Interval from this one's answer too: from
	// its sending alone, a request slow to arrive left less than an
	// Interval before the next at Statuspage's end (a CI flake: 86 ms of
	// 100).
	a.send.Lock()
	a.last = time.Now()
	a.send.Unlock()
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == 420:
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return time.Duration(max(secs, 1)) * time.Second, fmt.Errorf("statuspage %s %s: throttled (%d)", method, path, resp.StatusCode)
	case resp.StatusCode >= 500:
		return 0, fmt.Errorf("statuspage %s %s: %s", method, path, resp.Status)
	case resp.StatusCode >= 400:
		return 0, &permanentError{fmt.Errorf("statuspage %s %s: %s: %.200s", method, path, resp.Status, data)}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return 0, fmt.Errorf("statuspage %s %s: %w", method, path, err)
		}
	}
	return 0, nil
}
