// Package respond connects the respond stage's effects to PagerDuty and
// Jira: it delivers the outbox's oncall.lookup, page.send, page.resolve and
// ticket.sync effects through the pagerduty and jira adapters, and says
// what to do when a lookup cannot finish. It knows Slack only through the
// People interface, and no store.
package respond

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/jira"
	"github.com/warroom/warroom/outbox"
	"github.com/warroom/warroom/pagerduty"
)

// People maps Slack users to email addresses and back (users.info,
// users.lookupByEmail), which is how PagerDuty's users are matched.
type People interface {
	Email(ctx context.Context, slackUser string) (string, error)
	ByEmail(ctx context.Context, email string) (string, error)
}

// Responder delivers PagerDuty and Jira effects.
type Responder struct {
	Service  *incident.Service
	PD       *pagerduty.Client // nil: paging is off
	Jira     *jira.Client      // nil: Jira is off
	Services []pagerduty.Service
	People   People
	// RoomURL makes a link to a war room from its channel id.
	RoomURL func(channel string) string
	Log     *slog.Logger
}

// Handlers returns the outbox handlers for the integrations configured.
func (r *Responder) Handlers() map[string]outbox.Handler {
	h := map[string]outbox.Handler{}
	if r.PD != nil {
		h[incident.KindOnCall] = outbox.Handler{Deliver: r.onCall, GiveUp: r.onCallFailed}
		h[incident.KindPage] = outbox.Handler{Deliver: r.page, GiveUp: r.pageFailed}
		h[incident.KindPageResolve] = outbox.Handler{Deliver: r.unpage, Coalesce: true}
	}
	if r.Jira != nil {
		h[incident.KindTicketSync] = outbox.Handler{Deliver: r.ticket, Coalesce: true, GiveUp: r.ticketFailed}
		// Not coalesced: consecutive syncs may be for different items.
		h[incident.KindActionSync] = outbox.Handler{Deliver: r.ticketAction, GiveUp: r.ticketFailed}
	}
	return h
}

func (r *Responder) service(name string) (pagerduty.Service, bool) {
	for _, s := range r.Services {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return pagerduty.Service{}, false
}

func (r *Responder) incident(ctx context.Context, n int64) (*incident.Incident, error) {
	inc, err := r.Service.Get(ctx, n)
	if incident.ErrorCode(err) == incident.ENotFound {
		return nil, outbox.Permanent(err)
	}
	return inc, err
}

// onCall makes whoever PagerDuty has on call the commander, unless someone
// took command meanwhile. An alert's assignee wins over the policy.
func (r *Responder) onCall(ctx context.Context, e incident.Effect) error {
	inc, err := r.incident(ctx, e.Incident)
	if err != nil {
		return err
	}
	provisional := e.Payload["provisional"]
	if inc.Commander != provisional || !inc.Open() {
		return nil // someone took command; nothing to look up
	}
	var p pagerduty.Person
	if id := e.Payload["assignee"]; id != "" {
		p, err = r.PD.User(ctx, id)
	} else {
		svc, _ := r.service(e.Payload["service"])
		p, err = r.PD.OnCall(ctx, svc.Policy)
	}
	if err != nil {
		return err
	}
	if p.Email == "" {
		return outbox.Permanent(fmt.Errorf("PagerDuty shows no email for %s, so I can't find them in Slack", p.Name))
	}
	user, err := r.People.ByEmail(ctx, p.Email)
	if err != nil {
		return err
	}
	_, err = r.Service.AssignOnCall(ctx, e.Incident, user, provisional, "PagerDuty: "+p.Name)
	if incident.ErrorCode(err) == incident.EConflict {
		return nil // someone took command, or they already lead
	}
	return err
}

func (r *Responder) onCallFailed(ctx context.Context, e incident.Effect, err error) {
	why := oneLine(err.Error())
	var text string
	if p := e.Payload["provisional"]; p != "" {
		text = fmt.Sprintf(":warning: I couldn't find who is on call in PagerDuty (%s), so <@%s> stays commander. To hand over: `/incident commander @someone`.", why, p)
	} else {
		text = fmt.Sprintf(":warning: I couldn't find who is on call in PagerDuty (%s), so nobody leads this incident yet. Take command: `/incident commander me`.", why)
	}
	r.Service.Notice(ctx, e.Incident, text, map[string]string{"system": "pagerduty", "error": why})
}

// page sends one page: to a service through its Events API v2 routing key
// (or a REST incident on it), to a person through a REST incident assigned
// to them. The dedup key makes a retry the same page.
func (r *Responder) page(ctx context.Context, e incident.Effect) error {
	inc, err := r.incident(ctx, e.Incident)
	if err != nil {
		return err
	}
	target := e.Payload["target"]
	p := pagerduty.Page{DedupKey: e.Payload["dedup"], Summary: fmt.Sprintf("%s [%s] %s", inc.Ref(), inc.Severity, inc.Title),
		Details: e.Payload["message"], Severity: pdSeverity(inc.Severity)}
	if msg := e.Payload["message"]; msg != "" {
		p.Summary += ": " + msg
	}
	if inc.ChannelID != "" && r.RoomURL != nil {
		p.Link = r.RoomURL(inc.ChannelID)
	}
	p.Context = map[string]string{"incident": inc.Ref(), "title": inc.Title, "severity": inc.Severity.String(), "status": string(inc.Status)}
	if inc.Commander != "" && r.People != nil {
		// Their email: the person paged knows whom to call, by a name
		// PagerDuty knows too.
		if email, err := r.People.Email(ctx, inc.Commander); err == nil && email != "" {
			p.Context["commander"] = email
		}
	}
	// The paged service's runbook and dashboards (a person is paged with
	// the incident's own service's).
	own := target
	if strings.HasPrefix(target, "@") {
		own = inc.Service
	}
	if svc, ok := r.service(own); ok {
		p.Runbook, p.Dashboards = svc.Runbook, svc.Dashboards
		p.Context["service"] = svc.Name
		if svc.Name == "" {
			p.Context["service"] = svc.ID
		}
	}
	if strings.HasPrefix(target, "@") {
		email, err := r.People.Email(ctx, strings.TrimPrefix(target, "@"))
		if err != nil {
			return err
		}
		person, err := r.PD.UserByEmail(ctx, email)
		if err != nil {
			return err
		}
		own, _ := r.service(inc.Service)
		_, err = r.PD.PagePerson(ctx, own.ID, person.ID, p)
		return err
	}
	svc, ok := r.service(target)
	if !ok {
		return outbox.Permanent(fmt.Errorf("service %q is no longer configured", target))
	}
	if svc.RoutingKey != "" {
		return r.PD.Trigger(ctx, svc.RoutingKey, p)
	}
	_, err = r.PD.PagePerson(ctx, svc.ID, "", p)
	return err
}

func (r *Responder) pageFailed(ctx context.Context, e incident.Effect, err error) {
	r.Service.Notice(ctx, e.Incident, fmt.Sprintf(":warning: PagerDuty refused the page to %s (%s). Page them another way, and note it: `/incident note paged ...`.",
		pageWho(e.Payload["target"]), oneLine(err.Error())), map[string]string{"system": "pagerduty"})
}

// unpage resolves every page the incident sent.
func (r *Responder) unpage(ctx context.Context, e incident.Effect) error {
	inc, err := r.incident(ctx, e.Incident)
	if err != nil || inc.Open() {
		return err // reopened meanwhile: the pages stand
	}
	entries, err := r.Service.Timeline(ctx, e.Incident, incident.Page{})
	if err != nil {
		return err
	}
	done := map[string]bool{}
	var errs []error
	for _, en := range entries {
		key := en.Detail["dedup"]
		if en.Kind != "page" || !en.OK() || key == "" || done[key] {
			continue
		}
		done[key] = true
		if svc, ok := r.service(en.Detail["target"]); ok && svc.RoutingKey != "" {
			if err := r.PD.ResolveEvent(ctx, svc.RoutingKey, key); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		ids, err := r.PD.OpenIncidents(ctx, key)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, id := range ids {
			if err := r.PD.ResolveIncident(ctx, id); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// ticket brings the incident's Jira issue up to date, creating it once.
func (r *Responder) ticket(ctx context.Context, e incident.Effect) error {
	inc, err := r.incident(ctx, e.Incident)
	if err != nil {
		return err
	}
	var known incident.Link
	links, err := r.Service.Links(ctx, inc.Number)
	if err != nil {
		return err
	}
	for _, l := range links {
		if l.System == "jira" {
			known = l
		}
	}
	who := r.person(ctx, inc.Commander, inc.Communicator)
	t := jira.Ticket{Ref: inc.Ref(), Title: inc.Title, Severity: inc.Severity.String(), Status: string(inc.Status), Stage: string(inc.Stage),
		Commander: who(inc.Commander), Communicator: who(inc.Communicator), Service: inc.Service, Impact: inc.Impact, Resolved: !inc.Open()}
	if inc.ChannelID != "" && r.RoomURL != nil {
		t.WarRoom = r.RoomURL(inc.ChannelID)
	}
	key, url, err := r.Jira.Sync(ctx, known.Ref, t)
	if key != "" && key != known.Ref {
		// Kept even if a later step failed, so the retry updates this issue.
		if lerr := r.Service.Link(ctx, inc.Number, incident.Link{System: "jira", Ref: key, URL: url}); lerr != nil {
			return errors.Join(err, lerr)
		}
	}
	return err
}

// person names people in a Jira description as people read them: the
// names warroom has learned in Slack, or "Slack user U…" for one it has
// not; "" stays "" (nobody yet).
func (r *Responder) person(ctx context.Context, ids ...string) func(string) string {
	known, _ := r.Service.Names(ctx, ids)
	return func(id string) string {
		switch {
		case id == "":
			return ""
		case known[id] != "":
			return "@" + known[id]
		}
		return "Slack user " + id
	}
}

func (r *Responder) ticketFailed(ctx context.Context, e incident.Effect, err error) {
	r.Service.Notice(ctx, e.Incident, fmt.Sprintf(":warning: Jira refused the incident's issue (%s). An admin can fix the Jira settings and retry: `warroom outbox list`.", oneLine(err.Error())), map[string]string{"system": "jira"})
}

func pageWho(target string) string {
	if strings.HasPrefix(target, "@") {
		return "<" + target + ">"
	}
	return target
}

func pdSeverity(s incident.Severity) string {
	switch s {
	case incident.SEV1, incident.SEV2:
		return "critical"
	case incident.SEV3:
		return "error"
	}
	return "warning"
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 200 {
		return string(r[:199]) + "…"
	}
	return s
}
