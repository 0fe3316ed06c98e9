package respond

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/jira"
	"github.com/warroom/warroom/outbox"
)

// ticketAction files or updates an action item's Jira issue, linked to
// its incident's issue (which it makes first, if the incident has none).
func (r *Responder) ticketAction(ctx context.Context, e incident.Effect) error {
	id, err := strconv.ParseInt(e.Payload["action"], 10, 64)
	if err != nil {
		return outbox.Permanent(err)
	}
	a, err := r.Service.Action(ctx, id)
	if incident.ErrorCode(err) == incident.ENotFound {
		return outbox.Permanent(err)
	} else if err != nil {
		return err
	}
	incKey, err := r.incidentIssue(ctx, a.Incident)
	if err != nil {
		return err
	}
	t := jira.Action{Ref: a.Ref(), Incident: incident.Ref(a.Incident), IncidentKey: incKey, Text: a.Text, Owner: r.person(ctx, a.Owner)(a.Owner),
		Priority: a.Priority.String(), Move: e.Payload["move"]}
	if !a.Due.IsZero() {
		t.Due = a.Due.Format(time.DateOnly)
	}
	key, url, err := r.Jira.SyncAction(ctx, a.Ticket, t)
	if key != "" && key != a.Ticket {
		if lerr := r.Service.TicketAction(ctx, id, key, url); lerr != nil {
			return errors.Join(err, lerr)
		}
	}
	return err
}

// incidentIssue is incident n's Jira key, syncing the incident first if
// it has none yet (it was declared before Jira was configured, say).
func (r *Responder) incidentIssue(ctx context.Context, n int64) (string, error) {
	for range 2 {
		links, err := r.Service.Links(ctx, n)
		if err != nil {
			return "", err
		}
		for _, l := range links {
			if l.System == "jira" {
				return l.Ref, nil
			}
		}
		if err := r.ticket(ctx, incident.Effect{Kind: incident.KindTicketSync, Incident: n}); err != nil {
			return "", err
		}
	}
	return "", nil
}

// SyncActions reads the Jira status of open action items (and of those
// closed in the last 30 days) and applies it: an issue moved to a done
// status in Jira closes its item, one reopened there reopens it. A change
// made in warroom after the issue's last update wins. The cron job calls
// it every JIRA_SYNC_EVERY; it returns how many items changed.
func (r *Responder) SyncActions(ctx context.Context) int {
	if r.Jira == nil {
		return 0
	}
	log := r.Log
	if log == nil {
		log = slog.Default()
	}
	items, err := r.Service.ActionItems(ctx, incident.ActionFilter{OpenOnly: true, ClosedSince: r.Service.Now().AddDate(0, 0, -30)})
	if err != nil {
		log.ErrorContext(ctx, "jira sync: reading action items", "err", err)
		return 0
	}
	// Items whose own changes are still on their way to Jira are left for
	// the next run: Jira shows the state before them.
	inFlight := map[string]bool{}
	pending, err := r.Service.Effects(ctx, incident.EffectFilter{States: []string{incident.EffectPending}, Limit: 100000})
	if err != nil {
		log.ErrorContext(ctx, "jira sync: reading the outbox", "err", err)
		return 0
	}
	for _, e := range pending {
		if e.Kind == incident.KindActionSync {
			inFlight[e.Payload["action"]] = true
		}
	}
	byKey := map[string]int64{}
	var keys []string
	for _, a := range items {
		if a.Ticket != "" && !inFlight[strconv.FormatInt(a.ID, 10)] {
			byKey[a.Ticket] = a.ID
			keys = append(keys, a.Ticket)
		}
	}
	if len(keys) == 0 {
		return 0
	}
	statuses, err := r.Jira.Statuses(ctx, keys)
	if err != nil {
		// The next run tries again; nothing here is lost by waiting.
		log.WarnContext(ctx, "jira sync: reading issue statuses", "err", err, "read", len(statuses))
	}
	changed := 0
	for _, s := range statuses {
		ok, err := r.Service.SyncActionStatus(ctx, byKey[s.Key], s.Done, s.Status, s.Updated)
		if err != nil {
			log.ErrorContext(ctx, "jira sync: applying a status", "issue", s.Key, "err", err)
			continue
		}
		if ok {
			changed++
		}
	}
	if changed > 0 {
		log.InfoContext(ctx, "jira sync: action items changed in Jira", "changed", changed, "read", len(statuses))
	}
	return changed
}
