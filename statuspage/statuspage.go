// Package statuspage is warroom's public status page: HTML that works
// without JavaScript, JSON in the shape of Atlassian Statuspage's public
// API (so existing widgets and monitors work), an Atom feed of updates, and
// a static export that can be hosted away from the primary infrastructure.
//
// It shows only what was published: incidents with at least one public
// update, and the exact text of those updates. Internal notes, titles of
// incidents never published, and people's names never appear. It imports
// the domain, never Slack or a store.
package statuspage

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/warroom/warroom/incident"
)

// Source is what the page reads; incident.Service provides it.
type Source interface {
	List(ctx context.Context, f incident.Filter) ([]*incident.Incident, error)
	PublicUpdatesOf(ctx context.Context, ns []int64) (map[int64][]incident.PublicUpdate, error)
}

// Config describes the page.
type Config struct {
	Title      string   // "Acme status"
	URL        string   // where the page is reached, for links and the feed
	Contact    string   // how to get in touch, shown on the page
	Components []string // the components always listed, in order
	Location   *time.Location
	Now        func() time.Time
}

// HistoryDays is how far back resolved incidents are listed.
const HistoryDays = 90

// HistoryShown is how many past incidents the HTML page shows, each with its
// final update only, to keep the page small; the feed and JSON have all.
const HistoryShown = 40

// maxIncidents bounds how many recent incidents one render reads.
const maxIncidents = 200

// Page renders the status page from a Source.
type Page struct {
	src Source
	cfg Config
}

// New returns a page over src.
func New(src Source, cfg Config) *Page {
	if cfg.Title == "" {
		cfg.Title = "Service status"
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Page{src: src, cfg: cfg}
}

// Snapshot is everything the page shows at one moment.
type Snapshot struct {
	Config     Config
	Now        time.Time
	Indicator  string // none, minor, major, critical
	Headline   string // "All Systems Operational", ...
	Components []Component
	Active     []Incident
	History    []Incident
	UpdatedAt  time.Time
}

// Component is one component and its public status.
type Component struct {
	Name      string
	Status    incident.ComponentStatus
	Position  int
	UpdatedAt time.Time
}

// Incident is a published incident with its public updates, newest first.
type Incident struct {
	Number     int64
	Name       string
	Status     incident.Status // the status of its latest public update
	Impact     string          // none, minor, major, critical
	StartedAt  time.Time
	UpdatedAt  time.Time
	Monitoring time.Time
	ResolvedAt time.Time
	Updates    []incident.PublicUpdate
	Components map[string]incident.ComponentStatus
}

// Snapshot reads the published state.
func (p *Page) Snapshot(ctx context.Context) (*Snapshot, error) {
	now := p.cfg.Now().UTC()
	list, err := p.src.List(ctx, incident.Filter{Limit: maxIncidents, PublicOnly: true})
	if err != nil {
		return nil, err
	}
	s := &Snapshot{Config: p.cfg, Now: now, UpdatedAt: now.Add(-365 * 24 * time.Hour)}
	// An incident's "checkout" is the page's "Checkout".
	canonical := map[string]string{}
	for _, n := range p.cfg.Components {
		canonical[strings.ToLower(n)] = n
	}
	name := func(n string) string {
		if c, ok := canonical[strings.ToLower(n)]; ok {
			return c
		}
		return n
	}
	worst := map[string]incident.ComponentStatus{}
	changed := map[string]time.Time{}
	ns := make([]int64, len(list))
	for i, inc := range list {
		ns[i] = inc.Number
	}
	all, err := p.src.PublicUpdatesOf(ctx, ns) // one read for the whole page
	if err != nil {
		return nil, err
	}
	for _, inc := range list {
		ups := all[inc.Number]
		if len(ups) == 0 {
			continue // never published: not public
		}
		pi := Incident{Number: inc.Number, Name: inc.Title, StartedAt: ups[0].At, Impact: impact(inc), Components: inc.Components}
		for i := len(ups) - 1; i >= 0; i-- {
			pi.Updates = append(pi.Updates, ups[i])
		}
		last := ups[len(ups)-1]
		pi.Status, pi.UpdatedAt = last.Status, last.At
		for _, u := range ups {
			if u.Status == incident.StatusMonitoring && pi.Monitoring.IsZero() {
				pi.Monitoring = u.At
			}
			if u.Status == incident.StatusResolved {
				pi.ResolvedAt = u.At
			}
		}
		if pi.UpdatedAt.After(s.UpdatedAt) {
			s.UpdatedAt = pi.UpdatedAt
		}
		if pi.Status != incident.StatusResolved {
			s.Active = append(s.Active, pi)
			for n, st := range inc.Components {
				n = name(n)
				if rank(st) > rank(worst[n]) {
					worst[n] = st
				}
				if pi.UpdatedAt.After(changed[n]) {
					changed[n] = pi.UpdatedAt
				}
			}
			continue
		}
		if now.Sub(pi.ResolvedAt) <= HistoryDays*24*time.Hour {
			s.History = append(s.History, pi)
		}
		for n := range inc.Components {
			n = name(n)
			worst[n] = maxStatus(worst[n], incident.Operational)
			if pi.UpdatedAt.After(changed[n]) {
				changed[n] = pi.UpdatedAt
			}
		}
	}
	names := append([]string(nil), p.cfg.Components...)
	known := map[string]bool{}
	for _, n := range names {
		known[n] = true
	}
	var extra []string
	for n := range worst {
		if !known[n] {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	for i, n := range append(names, extra...) {
		st := worst[n]
		if st == "" {
			st = incident.Operational
		}
		s.Components = append(s.Components, Component{Name: n, Status: st, Position: i + 1, UpdatedAt: changed[n]})
	}
	s.Indicator, s.Headline = overall(s)
	return s, nil
}

// Impact maps severity to Statuspage's incident impact.
func Impact(inc *incident.Incident) string { return impact(inc) }

// impact maps severity to Statuspage's incident impact.
func impact(inc *incident.Incident) string {
	switch inc.Severity {
	case incident.SEV1:
		return "critical"
	case incident.SEV2:
		return "major"
	case incident.SEV3:
		return "minor"
	}
	return "none"
}

func rank(s incident.ComponentStatus) int {
	for i, c := range incident.ComponentStatuses {
		if c == s {
			return i + 1
		}
	}
	return 0
}

func maxStatus(a, b incident.ComponentStatus) incident.ComponentStatus {
	if rank(a) >= rank(b) {
		return a
	}
	return b
}

// overall is the banner: the worst component, or the worst active incident.
func overall(s *Snapshot) (indicator, headline string) {
	var w incident.ComponentStatus = incident.Operational
	for _, c := range s.Components {
		w = maxStatus(w, c.Status)
	}
	switch w {
	case incident.MajorOutage:
		return "critical", "Major System Outage"
	case incident.PartialOutage:
		return "major", "Partial System Outage"
	case incident.DegradedPerformance:
		return "minor", "Degraded System Performance"
	}
	if len(s.Active) > 0 {
		return "minor", "Minor Service Outage"
	}
	return "none", "All Systems Operational"
}

// Ago says how long before now t was, for people: "12 minutes ago".
func Ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d.Minutes()), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d.Hours()), "hour") + " ago"
	}
	return plural(int(d.Hours()/24), "day") + " ago"
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
