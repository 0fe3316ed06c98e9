// Package statuspage is warroom's public status page: HTML that works
// without JavaScript, JSON in the shape of Atlassian Statuspage's public
// API (so existing widgets and monitors work), an Atom feed of updates, and
// a static export that can be hosted away from the primary infrastructure.
//
// It shows only what was published, as of each publish: every incident with
// a public update, under the public title, with the components, the impact
// level and the exact text that update carried. It never sees an incident
// itself, so an internal title, note, component or severity cannot reach
// the page before a communicator publishes it. It imports the domain, never
// Slack or a store.
package statuspage

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/warroom/warroom/incident"
)

// Source is what the page reads: the published record, and nothing else.
// incident.Service provides it.
type Source interface {
	PublishedIncidents(ctx context.Context, since time.Time, limit int) ([]int64, error)
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

// maxHistory bounds how many resolved incidents one render reads; every
// active one is read.
const maxHistory = 200

// Page renders the status page from a Source.
type Page struct {
	src Source
	cfg Config
	// last is what each path last rendered, served while the database
	// cannot be read: the public page must outlive the outage it reports.
	mu   sync.Mutex
	last map[string][]byte
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
	ns, err := p.src.PublishedIncidents(ctx, now.Add(-HistoryDays*24*time.Hour), maxHistory)
	if err != nil {
		return nil, err
	}
	all, err := p.src.PublicUpdatesOf(ctx, ns) // one read for the whole page
	if err != nil {
		return nil, err
	}
	s := &Snapshot{Config: p.cfg, Now: now}
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
	for _, n := range ns {
		ups := all[n]
		if len(ups) == 0 {
			continue
		}
		pi := fromUpdates(n, ups)
		if pi.UpdatedAt.After(s.UpdatedAt) {
			s.UpdatedAt = pi.UpdatedAt
		}
		for c, st := range pi.Components {
			c = name(c)
			if pi.Status == incident.StatusResolved {
				st = incident.Operational
			}
			worst[c] = maxStatus(worst[c], st)
			if pi.UpdatedAt.After(changed[c]) {
				changed[c] = pi.UpdatedAt
			}
		}
		switch {
		case pi.Status != incident.StatusResolved:
			s.Active = append(s.Active, pi)
		case now.Sub(pi.ResolvedAt) <= HistoryDays*24*time.Hour:
			s.History = append(s.History, pi)
		}
	}
	if s.UpdatedAt.IsZero() {
		s.UpdatedAt = now // nothing published in the window: the page is as of now
	}
	// Newest first, as people read a status page.
	sort.SliceStable(s.Active, func(i, j int) bool { return s.Active[i].StartedAt.After(s.Active[j].StartedAt) })
	sort.SliceStable(s.History, func(i, j int) bool { return s.History[i].ResolvedAt.After(s.History[j].ResolvedAt) })
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

// fromUpdates is an incident as its public updates (oldest first) tell it:
// the newest one's title, status, components and impact.
func fromUpdates(n int64, ups []incident.PublicUpdate) Incident {
	last := ups[len(ups)-1]
	pi := Incident{Number: n, Name: last.Title, Status: last.Status, Impact: last.Impact, Components: last.Components,
		StartedAt: ups[0].At, UpdatedAt: last.At}
	if pi.Name == "" {
		pi.Name = "Service disruption"
	}
	if pi.Impact == "" {
		pi.Impact = "none"
	}
	for i := len(ups) - 1; i >= 0; i-- {
		pi.Updates = append(pi.Updates, ups[i])
	}
	for _, u := range ups {
		if u.Status == incident.StatusMonitoring && pi.Monitoring.IsZero() {
			pi.Monitoring = u.At
		}
		if u.Status == incident.StatusResolved {
			pi.ResolvedAt = u.At
		}
	}
	return pi
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

// indicators rank Statuspage's status indicators, best first.
var indicators = []string{"none", "minor", "major", "critical"}

// headlines are what Statuspage's page says for each indicator.
var headlines = map[string]string{
	"none": "All Systems Operational", "minor": "Minor Service Outage",
	"major": "Partial System Outage", "critical": "Major System Outage",
}

// componentIndicator is the indicator a component's status calls for.
var componentIndicator = map[incident.ComponentStatus]string{
	incident.Operational: "none", incident.DegradedPerformance: "minor",
	incident.PartialOutage: "major", incident.MajorOutage: "critical",
}

// overall is the banner: the worst of the components' statuses and the
// active incidents' impact levels, by one rule for the HTML and the JSON.
func overall(s *Snapshot) (indicator, headline string) {
	worst := 0
	raise := func(ind string) {
		if i := slices.Index(indicators, ind); i > worst {
			worst = i
		}
	}
	for _, c := range s.Components {
		raise(componentIndicator[c.Status])
	}
	for _, pi := range s.Active {
		raise(pi.Impact)
	}
	return indicators[worst], headlines[indicators[worst]]
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
