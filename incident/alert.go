package incident

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// AlertActor is the actor of entries recorded from monitoring.
const AlertActor = "pagerduty"

// Alert is one event from monitoring about one of its incidents.
type Alert struct {
	Source      string // "pagerduty"
	EventID     string // the delivery's id, for processing it once
	Event       string // triggered, acknowledged, resolved
	ExternalID  string // the source's incident id
	Service     string // the source's service id
	ServiceName string
	Title       string
	URL         string
	At          time.Time
	// Assignee is the source's user the alert was assigned to, if any.
	Assignee string
	// IncidentKey is the source's dedup key; pages warroom sent carry
	// PageKeyPrefix, so their own alerts do not declare incidents.
	IncidentKey string
	// By is who acted (acknowledged, resolved), as the source names them.
	By string
}

// PageKeyPrefix starts the dedup key of every page warroom sends.
const PageKeyPrefix = "warroom-"

// PageKey is the dedup key of incident n's page to target: the same page
// sent twice (a retry, a second /incident page) opens one PagerDuty incident.
func PageKey(n int64, target string) string {
	return PageKeyPrefix + Ref(n) + "-" + strings.ToLower(strings.TrimPrefix(target, "@"))
}

// PageIncident returns the incident a page's dedup key belongs to.
func PageIncident(key string) (int64, bool) {
	rest, ok := strings.CutPrefix(key, PageKeyPrefix+"INC-")
	if !ok {
		return 0, false
	}
	num, _, _ := strings.Cut(rest, "-")
	n, err := strconv.ParseInt(num, 10, 64)
	return n, err == nil && n > 0
}

// AlertRule says what a service's alerts become.
type AlertRule struct {
	Name     string // the service's name in warroom (payments), if configured
	Severity Severity
	Group    string // services sharing a group are grouped together; "" means the service alone
}

// Correlation decides which alerts open incidents and which join one.
type Correlation struct {
	Rules  map[string]AlertRule // by service id
	Window time.Duration        // an alert joins an incident declared this recently
}

// names are the names of the services in group (a group key, or the
// service's id when it has no group).
func (c Correlation) names(group string) []string {
	var out []string
	for id, r := range c.Rules {
		if r.Name != "" && (r.Group == group || (r.Group == "" && id == group)) {
			out = append(out, r.Name)
		}
	}
	sort.Strings(out)
	return out
}

// DefaultWindow is the default correlation window.
const DefaultWindow = 30 * time.Minute

// AlertOutcome is what an alert did.
type AlertOutcome struct {
	Duplicate bool      // a redelivery, already handled
	Ignored   string    // why nothing happened, e.g. an unconfigured service
	Declared  *Incident // a new incident was declared
	Grouped   *Incident // the alert joined this incident
	Updated   *Incident // an acknowledgement or resolution was recorded
}

// Alert records an alert: it declares an incident, groups the alert into
// an open one declared for the same service or group within the window, or
// records an acknowledgement or resolution. A redelivered event is handled
// once. All of it happens in one transaction.
func (s *Service) Alert(ctx context.Context, a Alert, c Correlation) (AlertOutcome, error) {
	now := s.Now()
	if a.At.IsZero() {
		a.At = now
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	var out AlertOutcome
	var queued int
	err := s.store.Update(ctx, func(tx Tx) error {
		fresh, err := tx.MarkDelivery(ctx, a.Source, a.EventID, now)
		if err != nil || !fresh {
			out.Duplicate = !fresh
			return err
		}
		cmd := Command{Actor: AlertActor, Kind: "alert_" + a.Event, Raw: fmt.Sprintf("%s %s: %s (%s)", a.Source, a.Event, a.Title, a.ServiceName)}
		if n, ok := PageIncident(a.IncidentKey); ok {
			// PagerDuty telling us about a page warroom sent: it is not a
			// new alert, but its acknowledgement belongs on the timeline.
			inc, err := tx.Incident(ctx, n)
			if err != nil || a.Event == "triggered" {
				out.Ignored = "a page warroom sent"
				return nil
			}
			cmd.Kind = "page_" + a.Event
			cmd.Raw = fmt.Sprintf("%s %s the page %s", firstNonEmpty(a.By, "PagerDuty"), a.Event, a.IncidentKey)
			out.Updated = inc
			return s.appendEmit(ctx, tx, inc, inc, entry(n, cmd, now, OutcomeOK, map[string]string{"page": a.IncidentKey, "url": a.URL, "by": a.By, "pd_incident": a.ExternalID}), cmd, &queued)
		}
		if a.Event != "triggered" {
			n, err := tx.AlertIncident(ctx, a.Source, a.ExternalID)
			if err != nil || n == 0 {
				out.Ignored = "no incident has this alert"
				return err
			}
			if err := tx.SetAlertStatus(ctx, a.Source, a.ExternalID, a.Event); err != nil {
				return err
			}
			inc, err := tx.Incident(ctx, n)
			if err != nil {
				return err
			}
			out.Updated = inc
			return s.appendEmit(ctx, tx, inc, inc, entry(n, cmd, now, OutcomeOK, map[string]string{"alert": a.ExternalID, "url": a.URL, "title": a.Title, "service": a.ServiceName}), cmd, &queued)
		}
		rule, ok := c.Rules[a.Service]
		if !ok {
			out.Ignored = "service " + a.Service + " is not configured"
			return tx.Append(ctx, entry(0, cmd, now, "ignored: "+out.Ignored, nil))
		}
		group := rule.Group
		if group == "" {
			group = a.Service
		}
		n, err := tx.OpenIncidentForGroup(ctx, group, now.Add(-c.Window))
		if err != nil {
			return err
		}
		// An incident a person declared for a service of the group takes
		// its alerts as one an alert opened does (a private one does not:
		// its room is closed to the on-call team the alert is for).
		if names := c.names(group); len(names) > 0 {
			m, err := tx.OpenIncidentForServices(ctx, names, now.Add(-c.Window))
			if err != nil {
				return err
			}
			n = max(n, m)
		}
		if n != 0 {
			inc, err := tx.Incident(ctx, n)
			if err != nil {
				return err
			}
			if err := tx.AddAlert(ctx, n, a, group); err != nil {
				return err
			}
			cmd.Kind = KindAlertGrouped
			out.Grouped = inc
			return s.appendEmit(ctx, tx, inc, inc, entry(n, cmd, now, OutcomeOK, map[string]string{"alert": a.ExternalID, "source": a.Source,
				"service": firstNonEmpty(a.ServiceName, a.Service), "service_id": a.Service, "group": group, "url": a.URL, "title": a.Title}), cmd, &queued)
		}
		title, err := CleanTitle(clipTitle(fmt.Sprintf("%s: %s", firstNonEmpty(a.ServiceName, a.Service), a.Title)))
		if err != nil {
			title = "Alert from " + a.Source
		}
		inc := &Incident{Title: title, Severity: rule.Severity, Stage: StageAssess, Status: StatusInvestigating,
			DeclaredBy: AlertActor, Roles: map[string]string{}, DeclaredAt: now, UpdatedAt: now,
			Service: firstNonEmpty(rule.Name, firstNonEmpty(a.ServiceName, a.Service))}
		inc.loadChecklist(s.checklists.For(inc.Severity, inc.Service))
		if err := tx.CreateIncident(ctx, inc); err != nil {
			return err
		}
		if err := tx.AddAlert(ctx, inc.Number, a, group); err != nil {
			return err
		}
		cmd.Kind = "declare"
		out.Declared = inc
		// Nobody leads yet: whoever PagerDuty assigned, or is on call for
		// the service's policy, becomes commander.
		lookup := Effect{Kind: KindOnCall, NotAfter: now.Add(s.onCallWait),
			Payload: map[string]string{"service": inc.Service, "assignee": a.Assignee}}
		e := entry(inc.Number, cmd, now, OutcomeOK, map[string]string{"title": title, "severity": inc.Severity.String(), "alert": a.ExternalID, "url": a.URL})
		if err := tx.Append(ctx, e); err != nil {
			return err
		}
		queued, err = s.emit(ctx, tx, nil, inc, e, cmd, lookup)
		return err
	})
	if err == nil {
		s.woke(queued)
	}
	return out, err
}

// KindAlertGrouped is the timeline kind of an alert that joined an open incident.
const KindAlertGrouped = "alert_grouped"

// appendEmit appends e and plans its effects, adding to *queued.
func (s *Service) appendEmit(ctx context.Context, tx Tx, before, after *Incident, e *Entry, cmd Command, queued *int) error {
	if err := tx.Append(ctx, e); err != nil {
		return err
	}
	n, err := s.emit(ctx, tx, before, after, e, cmd)
	*queued += n
	return err
}

// SplitAlert takes a grouped alert out of its incident and declares a new
// incident for it, at the same severity; both timelines say so.
func (s *Service) SplitAlert(ctx context.Context, cmd Command, source, externalID string, postedIn int64) (from, to *Incident, err error) {
	now := s.Now()
	cmd.Kind = "alert_split"
	var woke int
	var refused error
	err = s.store.Update(ctx, func(tx Tx) error {
		a, n, err := tx.StoredAlert(ctx, source, externalID)
		if err != nil {
			return err
		}
		if from, err = tx.Incident(ctx, n); err != nil {
			return err
		}
		// The button belongs to the message it was posted with: a second
		// click, or one on an old copy, finds the alert moved already.
		if refused = mayNotSplit(from, postedIn); refused == nil {
			refused = s.mayDeclareNow(ctx, tx, cmd.Actor, now)
		}
		if refused != nil {
			at := postedIn
			if at == 0 {
				at = from.Number
			}
			return tx.Append(ctx, entry(at, cmd, now, ErrorMessage(refused), nil))
		}
		title, err := CleanTitle(clipTitle(fmt.Sprintf("%s: %s", firstNonEmpty(a.ServiceName, a.Service), a.Title)))
		if err != nil {
			title = "Alert from " + source
		}
		to = &Incident{Title: title, Severity: from.Severity, Stage: StageAssess, Status: StatusInvestigating,
			DeclaredBy: cmd.Actor, Commander: cmd.Actor, Roles: map[string]string{}, DeclaredAt: now, UpdatedAt: now, Service: from.Service}
		if err := tx.CreateIncident(ctx, to); err != nil {
			return err
		}
		if err := tx.MoveAlert(ctx, source, externalID, to.Number); err != nil {
			return err
		}
		var queued int
		if err := s.appendEmit(ctx, tx, from, from, entry(from.Number, cmd, now, OutcomeOK, map[string]string{"alert": externalID, "to": to.Ref(), "title": a.Title}), cmd, &queued); err != nil {
			return err
		}
		declare := Command{Actor: cmd.Actor, Channel: cmd.Channel, Kind: "declare", Raw: "split from " + from.Ref() + ": " + a.Title, Effects: cmd.Effects}
		if err := s.appendEmit(ctx, tx, nil, to, entry(to.Number, declare, now, OutcomeOK, map[string]string{"title": title, "severity": to.Severity.String(), "alert": externalID, "from": from.Ref()}), declare, &queued); err != nil {
			return err
		}
		woke = queued
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if refused != nil {
		return nil, nil, refused
	}
	s.woke(woke)
	return from, to, nil
}

// mayNotSplit says why an alert grouped into from cannot be split from a
// button posted in incident postedIn (0: unknown), or nil.
func mayNotSplit(from *Incident, postedIn int64) error {
	switch {
	case postedIn != 0 && from.Number != postedIn:
		return Errorf(EConflict, "This alert was already split into %s.", from.Ref())
	case from.Stage == StageClosed:
		return Errorf(EConflict, "%s is closed; its alerts stay with it. If the problem is back, declare a new incident: `/incident declare sev2 <title>`.", from.Ref())
	}
	return nil
}

func clipTitle(s string) string {
	r := []rune(strings.Join(strings.Fields(s), " "))
	if len(r) > MaxTitle {
		return string(r[:MaxTitle-1]) + "…"
	}
	return string(r)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
