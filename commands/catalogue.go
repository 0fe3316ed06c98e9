package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/internal/mrkdwn"
)

func serviceSpec() *spec {
	return &spec{
		Usage: Usage{"service", "/incident service [name]", "Show a service's card: runbook, dashboards, owners, contacts and its last incidents. In a war room, alone: the incident's service.", "/incident service payments"},
		parse: func(c *Command, rest, _ string) error {
			w, more := next(rest)
			if more != "" {
				return errUser("`service` takes one service's name, e.g. `/incident service payments`.")
			}
			c.Target = w
			return nil
		},
		run:   (*Dispatcher).runService,
		scope: maybeOnIncident,
	}
}

// serviceRecent is how many of a service's last incidents its card shows.
const serviceRecent = 3

func (d *Dispatcher) runService(ctx context.Context, r request) Result {
	name := r.Target
	if name == "" && r.n != 0 {
		if inc, err := d.Service.Get(ctx, r.n); err == nil {
			name = inc.Service
		}
	}
	fail := func(msg string) Result {
		if err := d.Service.Record(ctx, r.n, r.cmd, msg); err != nil {
			return d.internal(ctx, err)
		}
		return Result{Reply: msg, Failed: true}
	}
	var names []string
	var card *incident.ServiceCard
	for i := range d.Catalogue {
		names = append(names, d.Catalogue[i].Name)
		if strings.EqualFold(d.Catalogue[i].Name, name) {
			card = &d.Catalogue[i]
		}
	}
	switch {
	case len(names) == 0:
		return fail("No services are configured (the config file's pagerduty.services), so there is no card to show.")
	case name == "":
		return fail("Say which service: `/incident service " + names[0] + "`. Services: " + strings.Join(names, ", ") + ".")
	case card == nil:
		return fail(fmt.Sprintf("%q is not a service warroom knows. Services: %s.", user(name), strings.Join(names, ", ")))
	}
	recent, err := d.recentFor(ctx, card.Name, 0)
	if err != nil {
		return d.internal(ctx, err)
	}
	return d.record(ctx, r.n, r.cmd, Result{Reply: d.cardText(*card, recent)})
}

// CardOf returns the card of service, if it has one.
func (d *Dispatcher) CardOf(service string) (incident.ServiceCard, bool) {
	for _, c := range d.Catalogue {
		if service != "" && strings.EqualFold(c.Name, service) {
			return c, true
		}
	}
	return incident.ServiceCard{}, false
}

// Card is service's card as the war room of incident n gets it at
// declare (n's own incident left out of its last incidents), and the
// service's channel; ok is false for a service with no card.
func (d *Dispatcher) Card(ctx context.Context, service string, n int64) (text, channel string, ok bool, err error) {
	for _, c := range d.Catalogue {
		if strings.EqualFold(c.Name, service) {
			recent, err := d.recentFor(ctx, c.Name, n)
			if err != nil {
				return "", "", true, err
			}
			return d.cardText(c, recent), c.Channel, true, nil
		}
	}
	return "", "", false, nil
}

// recentFor returns the last public incidents of a service, newest first,
// but for incident except: the card is shown to anyone, so private ones
// are left out.
func (d *Dispatcher) recentFor(ctx context.Context, service string, except int64) ([]*incident.Incident, error) {
	list, err := d.Service.List(ctx, incident.Filter{PublicOnly: true, Limit: 500})
	if err != nil {
		return nil, err
	}
	var out []*incident.Incident
	for _, inc := range list {
		if strings.EqualFold(inc.Service, service) && inc.Number != except && len(out) < serviceRecent {
			out = append(out, inc)
		}
	}
	return out, nil
}

// cardText is a service's card as a Slack message.
func (d *Dispatcher) cardText(c incident.ServiceCard, recent []*incident.Incident) string {
	var b strings.Builder
	fmt.Fprintf(&b, ":card_index: *%s*\n", user(c.Name))
	if c.Runbook != "" {
		fmt.Fprintf(&b, "• Runbook: <%s|%s>\n", c.Runbook, user(c.Runbook))
	} else {
		b.WriteString("• Runbook: _none set (pagerduty.services[].runbook)_\n")
	}
	if len(c.Dashboards) > 0 {
		var ds []string
		for _, l := range c.Dashboards {
			ds = append(ds, fmt.Sprintf("<%s|%s>", l.URL, user(l.Name)))
		}
		fmt.Fprintf(&b, "• Dashboards: %s\n", strings.Join(ds, " · "))
	}
	if len(c.Owners) > 0 {
		// The operator's config, not a person's text: a user group's
		// token (<!subteam^S0123>) may mention the group.
		owners := make([]string, len(c.Owners))
		for i, o := range c.Owners {
			owners[i] = mrkdwn.Escape(o)
		}
		fmt.Fprintf(&b, "• Owners: %s\n", strings.Join(owners, ", "))
	}
	for _, ct := range c.Contacts {
		parts := []string{"*" + user(ct.Name) + "*"}
		if ct.Phone != "" {
			parts = append(parts, user(ct.Phone))
		}
		if ct.URL != "" {
			parts = append(parts, fmt.Sprintf("<%s|%s>", ct.URL, user(ct.URL)))
		}
		fmt.Fprintf(&b, "• Contact: %s\n", strings.Join(parts, " · "))
	}
	if len(recent) == 0 {
		b.WriteString("• Last incidents: none\n")
	} else {
		var rs []string
		for _, inc := range recent {
			outcome := "open"
			if !inc.Open() {
				outcome = "resolved in " + FormatDuration(inc.Durations().ToResolve)
			}
			rs = append(rs, fmt.Sprintf("%s %s (%s, %s)", inc.Ref(), inc.Severity, inc.DeclaredAt.In(d.location()).Format("2 Jan 2006"), outcome))
		}
		fmt.Fprintf(&b, "• Last incidents: %s\n", strings.Join(rs, " · "))
	}
	fmt.Fprintf(&b, "Page its on-call: `/incident page %s`", c.Name)
	return b.String()
}
