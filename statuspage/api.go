package statuspage

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/warroom/warroom/incident"
)

// The JSON below follows Atlassian Statuspage's public API v2
// (/api/v2/summary.json, /api/v2/incidents.json), field for field, so
// widgets and monitors written for Statuspage read warroom's page unchanged.

type pageJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	URL       string    `json:"url"`
	TimeZone  string    `json:"time_zone"`
	UpdatedAt time.Time `json:"updated_at"`
}

type statusJSON struct {
	Indicator   string `json:"indicator"`
	Description string `json:"description"`
}

type componentJSON struct {
	ID                 string    `json:"id"`
	Name               string    `json:"name"`
	Status             string    `json:"status"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
	Position           int       `json:"position"`
	Description        *string   `json:"description"`
	Showcase           bool      `json:"showcase"`
	StartDate          *string   `json:"start_date"`
	GroupID            *string   `json:"group_id"`
	PageID             string    `json:"page_id"`
	Group              bool      `json:"group"`
	OnlyShowIfDegraded bool      `json:"only_show_if_degraded"`
}

type affectedJSON struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	OldStatus string `json:"old_status"`
	NewStatus string `json:"new_status"`
}

type updateJSON struct {
	ID                   string         `json:"id"`
	Status               string         `json:"status"`
	Body                 string         `json:"body"`
	IncidentID           string         `json:"incident_id"`
	CreatedAt            time.Time      `json:"created_at"`
	UpdatedAt            time.Time      `json:"updated_at"`
	DisplayAt            time.Time      `json:"display_at"`
	AffectedComponents   []affectedJSON `json:"affected_components"`
	DeliverNotifications bool           `json:"deliver_notifications"`
	CustomTweet          *string        `json:"custom_tweet"`
	TweetID              *string        `json:"tweet_id"`
}

type incidentJSON struct {
	ID              string          `json:"id"`
	Name            string          `json:"name"`
	Status          string          `json:"status"`
	CreatedAt       time.Time       `json:"created_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
	MonitoringAt    *time.Time      `json:"monitoring_at"`
	ResolvedAt      *time.Time      `json:"resolved_at"`
	Impact          string          `json:"impact"`
	Shortlink       string          `json:"shortlink"`
	StartedAt       time.Time       `json:"started_at"`
	PageID          string          `json:"page_id"`
	IncidentUpdates []updateJSON    `json:"incident_updates"`
	Components      []componentJSON `json:"components"`
}

// Summary is /api/v2/summary.json.
type Summary struct {
	Page                  pageJSON        `json:"page"`
	Components            []componentJSON `json:"components"`
	Incidents             []incidentJSON  `json:"incidents"`
	ScheduledMaintenances []any           `json:"scheduled_maintenances"`
	Status                statusJSON      `json:"status"`
}

// Incidents is /api/v2/incidents.json.
type Incidents struct {
	Page      pageJSON       `json:"page"`
	Incidents []incidentJSON `json:"incidents"`
}

const pageID = "warroom"

func (s *Snapshot) page() pageJSON {
	return pageJSON{ID: pageID, Name: s.Config.Title, URL: s.Config.URL, TimeZone: tzName(s.Config.Location), UpdatedAt: s.UpdatedAt}
}

func tzName(l *time.Location) string {
	if l == nil || l == time.UTC {
		return "Etc/UTC"
	}
	return l.String()
}

// componentID is stable across renders: the name made into an identifier.
func componentID(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '-'
	}, name)
}

func (s *Snapshot) components() []componentJSON {
	out := []componentJSON{}
	for _, c := range s.Components {
		out = append(out, componentJSON{ID: componentID(c.Name), Name: c.Name, Status: string(c.Status),
			CreatedAt: s.UpdatedAt, UpdatedAt: nonZero(c.UpdatedAt, s.UpdatedAt), Position: c.Position, PageID: pageID})
	}
	return out
}

func (s *Snapshot) incident(pi Incident) incidentJSON {
	id := "inc-" + strconv.FormatInt(pi.Number, 10)
	out := incidentJSON{ID: id, Name: pi.Name, Status: string(pi.Status), CreatedAt: pi.StartedAt, UpdatedAt: pi.UpdatedAt,
		Impact: pi.Impact, Shortlink: strings.TrimSuffix(s.Config.URL, "/") + "/#" + id, StartedAt: pi.StartedAt, PageID: pageID,
		IncidentUpdates: []updateJSON{}, Components: []componentJSON{}}
	if !pi.Monitoring.IsZero() {
		out.MonitoringAt = &pi.Monitoring
	}
	if !pi.ResolvedAt.IsZero() {
		out.ResolvedAt = &pi.ResolvedAt
	}
	for _, name := range slices.Sorted(maps.Keys(pi.Components)) {
		st := string(pi.Components[name])
		if pi.Status == "resolved" {
			st = "operational"
		}
		out.Components = append(out.Components, componentJSON{ID: componentID(name), Name: name, Status: st, CreatedAt: pi.StartedAt, UpdatedAt: pi.UpdatedAt, PageID: pageID})
	}
	// Each update lists the components it carried, with the status the
	// update before it gave them (pi.Updates is newest first).
	for i, u := range pi.Updates {
		var before map[string]incident.ComponentStatus
		if i+1 < len(pi.Updates) {
			before = pi.Updates[i+1].Components
		}
		affected := []affectedJSON{}
		for _, name := range slices.Sorted(maps.Keys(u.Components)) {
			st := string(u.Components[name])
			old := "operational" // a component this update brings in was working before it
			if b, ok := before[name]; ok {
				old = string(b)
			}
			affected = append(affected, affectedJSON{Code: componentID(name), Name: name, OldStatus: old, NewStatus: st})
		}
		out.IncidentUpdates = append(out.IncidentUpdates, updateJSON{ID: id + "-" + strconv.FormatInt(u.ID, 10), Status: string(u.Status),
			Body: u.Body, IncidentID: id, CreatedAt: u.At, UpdatedAt: u.At, DisplayAt: u.At, AffectedComponents: affected, DeliverNotifications: true})
	}
	return out
}

// Summary renders /api/v2/summary.json: unresolved incidents only.
func (s *Snapshot) Summary() Summary {
	out := Summary{Page: s.page(), Components: s.components(), Incidents: []incidentJSON{}, ScheduledMaintenances: []any{},
		Status: statusJSON{Indicator: s.Indicator, Description: s.Headline}}
	for _, pi := range s.Active {
		out.Incidents = append(out.Incidents, s.incident(pi))
	}
	return out
}

// Incidents renders /api/v2/incidents.json: active ones, then history.
func (s *Snapshot) Incidents() Incidents {
	out := Incidents{Page: s.page(), Incidents: []incidentJSON{}}
	for _, pi := range append(append([]Incident(nil), s.Active...), s.History...) {
		out.Incidents = append(out.Incidents, s.incident(pi))
	}
	return out
}

func nonZero(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}
