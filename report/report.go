// Package report builds the weekly action-item report: what follow-ups are
// open and with whom, what is overdue, what closed this week, how many
// close within 30 days of their incident (this quarter against last), the
// week's incidents, and the services that keep coming back.
//
// It is a document, like the postmortem: Build is pure, Gather reads what
// it needs through the incident service, and the renderers write Markdown
// (to archive or mail), Slack mrkdwn (the scheduled post) and JSON.
package report

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/warroom/warroom/incident"
)

// ClosureWindow is how soon after its incident an action item should close.
const ClosureWindow = 30 * 24 * time.Hour

// TopServicesWindow is how far back the recurring services are counted.
const TopServicesWindow = 90 * 24 * time.Hour

// Input is what a report is built from.
type Input struct {
	Now   time.Time
	Since time.Time // start of the week reported; zero: Now less 7 days
	// Location is where quarters and days begin; nil: UTC.
	Location *time.Location
	// Actions holds every open item, every item closed since Since, and
	// every item of an incident declared since last quarter began.
	Actions []incident.ActionItem
	// Incidents holds every incident declared since the earlier of last
	// quarter's start and Now less TopServicesWindow.
	Incidents []*incident.Incident
	// Private holds the numbers of private incidents: the report, read in
	// a shared channel, counts them and their items but lists neither.
	Private map[int64]bool
	// Overnight holds, for each incident worked on this week, the people
	// who acted on it between 00:00 and 06:00 this week (Location).
	Overnight map[int64][]string
}

// Report is the weekly report. Its JSON form is the --format json output.
type Report struct {
	Generated time.Time `json:"generated"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`

	Open           []Item      `json:"open"` // by priority, then due day
	OpenCount      int         `json:"open_count"`
	OverdueCount   int         `json:"overdue_count"`
	ByOwner        []OwnerLoad `json:"by_owner"` // most open first
	Overdue        []Item      `json:"overdue"`  // most overdue first
	ClosedThisWeek []Item      `json:"closed_this_week"`

	Closure struct {
		ThisQuarter Rate `json:"this_quarter"`
		LastQuarter Rate `json:"last_quarter"`
	} `json:"closure_within_30_days"`

	Incidents   []IncidentRow  `json:"incidents_this_week"`
	TopServices []ServiceCount `json:"top_services_90_days"`

	// Private counts what the lists leave out: private incidents declared
	// this week and their items. Nothing else of them is shown, not even
	// their references: the report is read by people outside them.
	Private PrivateCounts `json:"private"`

	// Overnight is the week's overnight responders, by person: each is
	// owed a day to recover. Private incidents are left out.
	Overnight []Overnight `json:"overnight_responders"`
}

// Overnight is one person who worked in the night this week, and on what.
type Overnight struct {
	Person    string   `json:"person"` // Slack user ID
	Incidents []string `json:"incidents"`
}

// PrivateCounts is how much of the report is private, and so not listed.
type PrivateCounts struct {
	Incidents int `json:"incidents_this_week"`
	Open      int `json:"open"`
	Overdue   int `json:"overdue"`
	Closed    int `json:"closed_this_week"`
}

// Item is one action item in the report.
type Item struct {
	Ref         string    `json:"ref"`
	Incident    string    `json:"incident"`
	Text        string    `json:"text"`
	Owner       string    `json:"owner"` // Slack user ID, "" for nobody
	Priority    string    `json:"priority"`
	Due         string    `json:"due,omitempty"`
	Status      string    `json:"status"`
	OverdueDays int       `json:"overdue_days,omitempty"`
	Closed      time.Time `json:"closed,omitzero"`
	Ticket      string    `json:"ticket,omitempty"`
	TicketURL   string    `json:"ticket_url,omitempty"`
}

// OwnerLoad is how many open items one person has.
type OwnerLoad struct {
	Owner   string `json:"owner"`
	Open    int    `json:"open"`
	Overdue int    `json:"overdue"`
	P1      int    `json:"p1"`
}

// Rate is the share of a quarter's action items closed within 30 days of
// their incident. Items still inside their 30 days are Pending and not
// counted either way.
type Rate struct {
	Quarter string  `json:"quarter"` // 2026 Q4
	InTime  int     `json:"closed_in_time"`
	Late    int     `json:"late"` // closed after 30 days, or open past them
	Pending int     `json:"pending"`
	Percent float64 `json:"percent"` // InTime / (InTime + Late); 0 when none
}

// IncidentRow is one of the week's incidents.
type IncidentRow struct {
	Ref       string        `json:"ref"`
	Title     string        `json:"title"`
	Severity  string        `json:"severity"`
	Service   string        `json:"service,omitempty"`
	Status    string        `json:"status"`
	Declared  time.Time     `json:"declared"`
	ToResolve time.Duration `json:"-"`
	// ToResolveSeconds is ToResolve for JSON readers; 0 while open.
	ToResolveSeconds float64 `json:"time_to_resolve_seconds,omitempty"`
	Open             int     `json:"open_action_items"`
}

// ServiceCount is how often a service or component was affected.
type ServiceCount struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"` // service or component
	Incidents int    `json:"incidents"`
	Severe    int    `json:"sev1_sev2"`
}

// Source is what Gather reads; incident.Service provides it.
type Source interface {
	ActionItems(ctx context.Context, f incident.ActionFilter) ([]incident.ActionItem, error)
	List(ctx context.Context, f incident.Filter) ([]*incident.Incident, error)
	Timeline(ctx context.Context, n int64, p incident.Page) ([]incident.Entry, error)
}

// Gather reads what a report over the week from since (zero: 7 days
// before now) to now needs, in two queries.
func Gather(ctx context.Context, src Source, now, since time.Time, loc *time.Location) (Input, error) {
	in := Input{Now: now, Since: since, Location: loc}
	in.normalise()
	last, _ := quarters(now, in.Location)
	from := last
	for _, t := range []time.Time{now.Add(-TopServicesWindow), in.Since} {
		if t.Before(from) {
			from = t
		}
	}
	var err error
	if in.Actions, err = src.ActionItems(ctx, incident.ActionFilter{OpenOnly: true, ClosedSince: in.Since, DeclaredSince: last}); err != nil {
		return in, err
	}
	if in.Incidents, err = src.List(ctx, incident.Filter{DeclaredSince: from, Limit: -1}); err != nil {
		return in, err
	}
	private, err := src.List(ctx, incident.Filter{PrivateOnly: true, Limit: -1})
	if err != nil {
		return in, err
	}
	in.Private = make(map[int64]bool, len(private))
	for _, inc := range private {
		in.Private[inc.Number] = true
	}
	// The week's overnight responders: the timelines of the incidents
	// worked on this week (open, or resolved since the week began).
	in.Overnight = map[int64][]string{}
	for _, inc := range in.Incidents {
		if inc.Private || in.Private[inc.Number] || (!inc.Open() && inc.ResolvedAt.Before(in.Since)) {
			continue
		}
		entries, err := src.Timeline(ctx, inc.Number, incident.Page{})
		if err != nil {
			return in, err
		}
		week := entries[:0]
		for _, e := range entries {
			if !e.At.Before(in.Since) && e.At.Before(now) {
				week = append(week, e)
			}
		}
		if people := incident.OvernightResponders(week, in.Location); len(people) > 0 {
			in.Overnight[inc.Number] = people
		}
	}
	return in, nil
}

func (in *Input) normalise() {
	if in.Location == nil {
		in.Location = time.UTC
	}
	if in.Since.IsZero() {
		in.Since = in.Now.AddDate(0, 0, -7)
	}
}

// quarters returns the starts of last quarter and this one, in loc.
func quarters(now time.Time, loc *time.Location) (last, this time.Time) {
	t := now.In(loc)
	q := (int(t.Month()) - 1) / 3
	this = time.Date(t.Year(), time.Month(q*3+1), 1, 0, 0, 0, 0, loc)
	return this.AddDate(0, -3, 0), this
}

func quarterName(start time.Time) string {
	return start.Format("2006") + " Q" + string(rune('1'+(int(start.Month())-1)/3))
}

// Build computes the report. It makes one pass over the items and one over
// the incidents, then sorts what it shows.
func Build(in Input) Report {
	in.normalise()
	now := in.Now
	r := Report{Generated: now, From: in.Since, To: now}
	declared := make(map[int64]time.Time, len(in.Incidents))
	openByIncident := map[int64]int{}
	for _, inc := range in.Incidents {
		declared[inc.Number] = inc.DeclaredAt
	}
	last, this := quarters(now, in.Location)
	r.Closure.ThisQuarter.Quarter, r.Closure.LastQuarter.Quarter = quarterName(this), quarterName(last)
	owners := map[string]*OwnerLoad{}
	for _, a := range in.Actions {
		private := in.Private[a.Incident]
		it := item(a, now)
		if a.Status == incident.ActionOpen {
			openByIncident[a.Incident]++
			o := owners[a.Owner]
			if o == nil {
				o = &OwnerLoad{Owner: a.Owner}
				owners[a.Owner] = o
			}
			o.Open++
			if a.Priority == incident.P1 {
				o.P1++
			}
			if it.OverdueDays > 0 {
				o.Overdue++
			}
			switch {
			case private:
				r.Private.Open++
				if it.OverdueDays > 0 {
					r.Private.Overdue++
				}
			default:
				r.Open = append(r.Open, it)
				if it.OverdueDays > 0 {
					r.Overdue = append(r.Overdue, it)
				}
			}
		} else if !a.Closed.Before(in.Since) {
			if private {
				r.Private.Closed++
			} else {
				r.ClosedThisWeek = append(r.ClosedThisWeek, it)
			}
		}
		d, ok := declared[a.Incident]
		if !ok {
			continue
		}
		var rate *Rate
		switch {
		case !d.Before(this):
			rate = &r.Closure.ThisQuarter
		case !d.Before(last):
			rate = &r.Closure.LastQuarter
		default:
			continue
		}
		deadline := d.Add(ClosureWindow)
		switch {
		case a.Status == incident.ActionDone && !a.Closed.After(deadline):
			rate.InTime++
		case a.Status == incident.ActionDone || now.After(deadline):
			rate.Late++
		default:
			rate.Pending++
		}
	}
	for _, rate := range []*Rate{&r.Closure.ThisQuarter, &r.Closure.LastQuarter} {
		if n := rate.InTime + rate.Late; n > 0 {
			rate.Percent = float64(rate.InTime) * 100 / float64(n)
		}
	}
	r.OpenCount, r.OverdueCount = len(r.Open)+r.Private.Open, len(r.Overdue)+r.Private.Overdue
	slices.SortFunc(r.Open, func(a, b Item) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(a.Due, b.Due), cmp.Compare(a.Ref, b.Ref))
	})
	slices.SortFunc(r.Overdue, func(a, b Item) int {
		return cmp.Or(cmp.Compare(b.OverdueDays, a.OverdueDays), cmp.Compare(a.Priority, b.Priority), cmp.Compare(a.Ref, b.Ref))
	})
	slices.SortFunc(r.ClosedThisWeek, func(a, b Item) int { return a.Closed.Compare(b.Closed) })
	for _, o := range owners {
		r.ByOwner = append(r.ByOwner, *o)
	}
	slices.SortFunc(r.ByOwner, func(a, b OwnerLoad) int {
		return cmp.Or(cmp.Compare(b.Open, a.Open), cmp.Compare(b.Overdue, a.Overdue), cmp.Compare(a.Owner, b.Owner))
	})

	services := map[[2]string]*ServiceCount{}
	count := func(name, kind string, sev incident.Severity) {
		k := [2]string{kind, name}
		c := services[k]
		if c == nil {
			c = &ServiceCount{Name: name, Kind: kind}
			services[k] = c
		}
		c.Incidents++
		if sev <= incident.SEV2 {
			c.Severe++
		}
	}
	window := now.Add(-TopServicesWindow)
	for _, inc := range in.Incidents {
		thisWeek := !inc.DeclaredAt.Before(in.Since) && !inc.DeclaredAt.After(now)
		if inc.Private || in.Private[inc.Number] {
			if thisWeek {
				r.Private.Incidents++
			}
			continue // its service and components are its own business too
		}
		if thisWeek {
			r.Incidents = append(r.Incidents, IncidentRow{Ref: inc.Ref(), Title: inc.Title, Severity: inc.Severity.String(),
				Service: inc.Service, Status: string(inc.Status), Declared: inc.DeclaredAt, ToResolve: inc.Durations().ToResolve,
				ToResolveSeconds: inc.Durations().ToResolve.Seconds(),
				Open:             openByIncident[inc.Number]})
		}
		if inc.DeclaredAt.Before(window) {
			continue
		}
		if inc.Service != "" {
			count(inc.Service, "service", inc.Severity)
		}
		for name := range inc.Components {
			count(name, "component", inc.Severity)
		}
	}
	slices.SortFunc(r.Incidents, func(a, b IncidentRow) int { return a.Declared.Compare(b.Declared) })
	for _, c := range services {
		r.TopServices = append(r.TopServices, *c)
	}
	slices.SortFunc(r.TopServices, func(a, b ServiceCount) int {
		return cmp.Or(cmp.Compare(b.Incidents, a.Incidents), cmp.Compare(b.Severe, a.Severe), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	if len(r.TopServices) > TopServicesShown {
		r.TopServices = r.TopServices[:TopServicesShown]
	}
	// The week's overnight responders, each with the incidents they
	// worked on in the night, in incident order.
	nights := map[string][]int64{}
	for n, people := range in.Overnight {
		if in.Private[n] {
			continue
		}
		for _, p := range people {
			nights[p] = append(nights[p], n)
		}
	}
	for p, ns := range nights {
		slices.Sort(ns)
		o := Overnight{Person: p}
		for _, n := range ns {
			o.Incidents = append(o.Incidents, incident.Ref(n))
		}
		r.Overnight = append(r.Overnight, o)
	}
	slices.SortFunc(r.Overnight, func(a, b Overnight) int {
		return cmp.Or(cmp.Compare(len(b.Incidents), len(a.Incidents)), cmp.Compare(a.Person, b.Person))
	})
	return r
}

// TopServicesShown is how many recurring services the report names.
const TopServicesShown = 5

func item(a incident.ActionItem, now time.Time) Item {
	it := Item{Ref: a.Ref(), Incident: incident.Ref(a.Incident), Text: a.Text, Owner: a.Owner, Priority: a.Priority.String(),
		Status: string(a.Status), Closed: a.Closed, Ticket: a.Ticket, TicketURL: a.TicketURL}
	if !a.Due.IsZero() {
		it.Due = a.Due.Format(time.DateOnly)
		if a.Overdue(now) {
			it.OverdueDays = max(1, int(now.Sub(a.Due).Hours()/24))
		}
	}
	return it
}
