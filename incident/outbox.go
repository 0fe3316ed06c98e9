package incident

import (
	"strings"
	"time"
)

// Effect is one piece of work outside warroom that a change calls for: a
// Slack post, a Jira update, a PagerDuty page. Effects are written to the
// outbox in the same transaction as the timeline entry that caused them, and
// a worker delivers them afterwards, retrying until they succeed. The
// incident's lifecycle never waits for them.
type Effect struct {
	ID       int64
	Incident int64
	// Kind is "<system>.<action>", e.g. slack.post or ticket.sync. Effects of
	// one system for one incident are delivered in order (see Lane).
	Kind    string
	Payload map[string]string
	Entry   int64 // the timeline entry that caused it
	Created time.Time
	// NotAfter, if set, is when the effect stops being worth doing (an
	// on-call lookup minutes into the incident, say); after it, a failing
	// effect is given up as expired.
	NotAfter time.Time

	State     string // EffectPending, EffectDone, EffectFailed, EffectExpired
	Attempts  int
	NextAt    time.Time // when the next attempt is due
	LastError string
	DoneAt    time.Time
}

// Effect states.
const (
	EffectPending = "pending"
	EffectDone    = "done"
	EffectFailed  = "failed"  // the system refused it; retrying would not help
	EffectExpired = "expired" // NotAfter passed before it succeeded
)

// Effect kinds that the lifecycle rules ask for. Each is planned only when
// the integration is turned on (Service.Enable).
const (
	// KindTicketSync brings the incident's ticket up to date, creating it
	// the first time, and transitions it when the incident resolves.
	KindTicketSync = "ticket.sync"
	// KindOnCall looks up who is on call and makes them commander. Payload:
	// "provisional", the commander until then; "policy", the escalation
	// policy to ask, or "" for the default.
	KindOnCall = "oncall.lookup"
	// KindPage pages a service or a person. Payload: "target" (a service
	// name, or "@U123"), "message", "dedup" (the page's dedup key).
	KindPage = "page.send"
	// KindPageResolve resolves the pages an incident sent, when it resolves.
	KindPageResolve = "page.resolve"
	// KindStatusPage publishes a public update to the hosted status page.
	// Payload: "update", the public update's id.
	KindStatusPage = "statuspage.publish"
	// KindPostmortemDraft writes the postmortem draft of an incident that
	// was just resolved, however it was resolved (the setting
	// WARROOM_POSTMORTEM_ON_RESOLVE turns it on).
	KindPostmortemDraft = "postmortem.draft"
)

// System is the part of the kind before the dot: slack, ticket, page, ...
func (e Effect) System() string {
	sys, _, _ := strings.Cut(e.Kind, ".")
	return sys
}

// Lane names the queue the effect waits in: one per system and incident,
// so an incident's Slack posts arrive in order and a Jira outage holds up
// only Jira work.
//
// A refresh (a kind ending in ".refresh") only brings another system up to
// date with the incident as it is now, so it needs no order against the
// posts around it: it gets a lane of its own, where every refresh queued
// behind one is covered by it. In the system's lane, refreshes between
// posts could not be coalesced, and a busy war room's summary was edited
// once per note.
func (e Effect) Lane() string { return Lane(e.Kind, e.Incident) }

// Lane is the lane of an effect of kind for incident n.
func Lane(kind string, n int64) string {
	sys, _, _ := strings.Cut(kind, ".")
	if strings.HasSuffix(kind, ".refresh") {
		sys = kind
	}
	if n == 0 {
		return sys + "/global" // work for no incident (the weekly report)
	}
	return sys + "/" + Ref(n)
}

// Planner decides the effects of a change: before is the incident as it
// was (nil for a new one), after as it is now, e the timeline entry the
// change appended. It runs inside the transaction and must not do I/O.
type Planner func(before, after *Incident, e Entry) []Effect

// EffectFilter selects outbox rows to list.
type EffectFilter struct {
	Incident int64    // 0: all incidents
	States   []string // none: every state
	Limit    int      // 0: 100
}

// Link is what an incident is called in another system: its Jira issue,
// its Statuspage incident.
type Link struct {
	System string // jira, statuspage, ...
	Ref    string // PROJ-12
	URL    string
}
