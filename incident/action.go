package incident

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ActionItem is a follow-up agreed after (or during) an incident: what will
// change so it cannot happen the same way again. Items are tracked to
// closure; the weekly report shows who owes what.
type ActionItem struct {
	ID       int64 // global, shown as AI-<ID>
	Incident int64
	Text     string
	Owner    string // Slack user ID, or "" when nobody owns it yet
	Priority Priority
	// Due is the day it should be done by, at 00:00 UTC; zero when none.
	Due       time.Time
	Status    ActionStatus
	Created   time.Time
	CreatedBy string
	Closed    time.Time // zero while open
	ClosedBy  string
	Updated   time.Time
	// Ticket is the item's Jira issue, when Jira is configured.
	Ticket    string
	TicketURL string
}

// Ref is the item's reference, AI-<ID>.
func (a ActionItem) Ref() string { return ActionRef(a.ID) }

// ActionRef formats an action item id as AI-<id>.
func ActionRef(id int64) string { return "AI-" + strconv.FormatInt(id, 10) }

// ParseActionRef accepts "AI-12", "ai-12", "#12" or "12".
func ParseActionRef(s string) (int64, bool) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimPrefix(strings.TrimPrefix(t, "AI-"), "#")
	id, err := strconv.ParseInt(t, 10, 64)
	return id, err == nil && id > 0
}

// Overdue reports whether the item is open past its due day at now.
func (a ActionItem) Overdue(now time.Time) bool {
	return a.Status == ActionOpen && !a.Due.IsZero() && !now.Before(a.Due.AddDate(0, 0, 1))
}

// ClosedWithin reports whether the item was closed within d of its
// incident being declared at declared.
func (a ActionItem) ClosedWithin(declared time.Time, d time.Duration) bool {
	return a.Status == ActionDone && !a.Closed.After(declared.Add(d))
}

// ActionStatus is open or done.
type ActionStatus string

// Action item statuses.
const (
	ActionOpen ActionStatus = "open"
	ActionDone ActionStatus = "done"
)

// Priority ranks action items: P1 is the most urgent.
type Priority int

// Priorities.
const (
	P1 Priority = 1
	P2 Priority = 2
	P3 Priority = 3
)

// Priorities lists them, most urgent first.
var Priorities = []Priority{P1, P2, P3}

func (p Priority) String() string { return "P" + strconv.Itoa(int(p)) }

// Valid reports whether p is P1..P3.
func (p Priority) Valid() bool { return p >= P1 && p <= P3 }

// ParsePriority accepts p1..p3 in any case.
func ParsePriority(s string) (Priority, bool) {
	t := strings.ToLower(strings.TrimSpace(s))
	if len(t) != 2 || t[0] != 'p' || t[1] < '1' || t[1] > '3' {
		return 0, false
	}
	return Priority(t[1] - '0'), true
}

// DefaultDue is how long an item of each priority has when no due day is
// given: most follow-ups should close within a month.
var DefaultDue = map[Priority]int{P1: 7, P2: 30, P3: 90} // days

// KindAction is the timeline kind of action item changes.
const KindAction = "action"

// KindActionSync is the effect that brings an action item's Jira issue up
// to date (creating and linking it the first time). Payload: "action", the
// item's id; "move", "done" or "reopen" when the item's status changed
// here, so the issue is transitioned too. It runs in the incident's ticket
// lane, after the incident's own issue exists.
const KindActionSync = "ticket.action"

// MaxActionText is the longest action item text, in characters.
const MaxActionText = 500

// NewAction is what /incident action add gives.
type NewAction struct {
	Text     string
	Owner    string   // Slack user ID, or ""
	Priority Priority // 0: P2
	Due      time.Time
}

// ActionFilter selects action items.
type ActionFilter struct {
	Incident int64 // 0: every incident
	OpenOnly bool
	// ClosedSince, if set, adds items closed at or after it to open ones.
	ClosedSince time.Time
	// DeclaredSince, if set, adds the items of incidents declared at or
	// after it (the closure-rate cohorts).
	DeclaredSince time.Time
	// Owner, if set, keeps only that person's items.
	Owner string
	Limit int // 0: all
}

// AddAction adds an action item to incident n and records it. It works
// at any stage, closed included: follow-ups outlive the incident.
func (s *Service) AddAction(ctx context.Context, n int64, cmd Command, in NewAction) (*ActionItem, error) {
	var item *ActionItem
	cmd.Kind = KindAction
	_, err := s.changeFx(ctx, n, cmd, func(tx Tx, inc *Incident, now time.Time) (map[string]string, []Effect, error) {
		text, err := cleanText("action item", in.Text, false)
		if err != nil {
			return nil, nil, err
		}
		if c := utf8.RuneCountInString(text); c > MaxActionText {
			return nil, nil, Errorf(EInvalid, "The action item is %d characters; the limit is %d. Say what will change in a sentence and put the detail in the ticket.", c, MaxActionText)
		}
		if in.Priority == 0 {
			in.Priority = P2
		}
		if !in.Priority.Valid() {
			return nil, nil, Errorf(EInvalid, "Priority must be p1, p2 or p3.")
		}
		today := day(now)
		due := in.Due
		if due.IsZero() {
			due = today.AddDate(0, 0, DefaultDue[in.Priority])
		} else if due = day(due); due.Before(today) {
			return nil, nil, Errorf(EInvalid, "The due date %s is in the past. Give a day from today on, e.g. `due:%s`.", due.Format(time.DateOnly), today.AddDate(0, 0, 14).Format(time.DateOnly))
		}
		item = &ActionItem{Incident: n, Text: text, Owner: in.Owner, Priority: in.Priority, Due: due,
			Status: ActionOpen, Created: now, CreatedBy: cmd.Actor, Updated: now}
		if err := tx.AddAction(ctx, item); err != nil {
			return nil, nil, err
		}
		inc.AddMember(in.Owner)
		return item.detail("add"), []Effect{actionSync(item)}, nil
	})
	if err != nil {
		return nil, err
	}
	return item, nil
}

// CompleteAction marks action item id done. n is the incident the command
// was typed for; 0 takes the item's own.
func (s *Service) CompleteAction(ctx context.Context, n int64, cmd Command, id int64) (*ActionItem, error) {
	return s.changeAction(ctx, n, cmd, id, func(a *ActionItem, now time.Time) (string, error) {
		if a.Status == ActionDone {
			return "", Errorf(EConflict, "%s is already done (closed %s). To reopen it: `/incident action reopen %d`.", a.Ref(), a.Closed.UTC().Format(time.DateOnly), a.ID)
		}
		a.Status, a.Closed, a.ClosedBy = ActionDone, now, cmd.Actor
		return "done", nil
	})
}

// ReopenAction takes a done action item back to open.
func (s *Service) ReopenAction(ctx context.Context, n int64, cmd Command, id int64) (*ActionItem, error) {
	return s.changeAction(ctx, n, cmd, id, func(a *ActionItem, now time.Time) (string, error) {
		if a.Status == ActionOpen {
			return "", Errorf(EConflict, "%s is still open. To close it: `/incident action done %d`.", a.Ref(), a.ID)
		}
		a.Status, a.Closed, a.ClosedBy = ActionOpen, time.Time{}, ""
		return "reopen", nil
	})
}

// AssignAction gives action item id to owner.
func (s *Service) AssignAction(ctx context.Context, n int64, cmd Command, id int64, owner string) (*ActionItem, error) {
	return s.changeAction(ctx, n, cmd, id, func(a *ActionItem, now time.Time) (string, error) {
		if a.Owner == owner {
			return "", Errorf(EConflict, "%s is already owned by <@%s>.", a.Ref(), owner)
		}
		a.Owner = owner
		return "assign", nil
	})
}

// TicketAction records action item id's Jira issue (warroom, after creating
// it) on the incident's timeline.
func (s *Service) TicketAction(ctx context.Context, id int64, ticket, url string) error {
	a, err := s.store.Action(ctx, id)
	if err != nil {
		return err
	}
	if a.Ticket == ticket && a.TicketURL == url {
		return nil
	}
	cmd := Command{Actor: SystemActor, Kind: KindSystem, Raw: "Jira issue " + ticket + " for " + a.Ref()}
	return s.systemEntry(ctx, a.Incident, cmd, map[string]string{"action": strconv.FormatInt(id, 10), "ticket": ticket, "url": url}, func(tx Tx) error {
		// Read again inside the transaction: the item may have changed
		// (closed, say) while its issue was being filed.
		cur, err := tx.Action(ctx, id)
		if err != nil {
			return err
		}
		cur.Ticket, cur.TicketURL = ticket, url
		return tx.SaveAction(ctx, cur)
	})
}

// SyncActionStatus applies what the item's Jira issue says (a periodic
// sync read it): done there closes it here, reopened there reopens it. A
// change made here after the last update wins, so a transition
// still waiting in the outbox is not undone. It reports whether it changed
// anything.
func (s *Service) SyncActionStatus(ctx context.Context, id int64, done bool, jiraStatus string, updated time.Time) (bool, error) {
	a, err := s.store.Action(ctx, id)
	if err != nil {
		return false, err
	}
	if (a.Status == ActionDone) == done || !updated.After(a.Updated) {
		return false, nil
	}
	verb := "reopen"
	if done {
		verb = "done"
	}
	cmd := Command{Actor: SystemActor, Kind: KindAction, Raw: "action " + verb + " " + strconv.FormatInt(id, 10) + " (Jira " + a.Ticket + ": " + jiraStatus + ")"}
	_, err = s.changeAction(ctx, 0, cmd, id, func(a *ActionItem, now time.Time) (string, error) {
		// Read again inside the write: another replica's sync may have
		// applied the same Jira change since the read above.
		if (a.Status == ActionDone) == done {
			return "", errUnchanged
		}
		if done {
			a.Status, a.Closed, a.ClosedBy = ActionDone, now, "jira"
		} else {
			a.Status, a.Closed, a.ClosedBy = ActionOpen, time.Time{}, ""
		}
		return verb, nil
	})
	if errors.Is(err, errUnchanged) {
		return false, nil
	}
	return err == nil, err
}

// errUnchanged ends a change that finds nothing left to do.
var errUnchanged = errors.New("nothing to change")

// changeAction loads action item id inside the transaction, checks it
// belongs to incident n (when n is not 0), applies change, and records the
// entry on the item's incident.
func (s *Service) changeAction(ctx context.Context, n int64, cmd Command, id int64, change func(*ActionItem, time.Time) (string, error)) (*ActionItem, error) {
	cmd.Kind = KindAction
	a, err := s.store.Action(ctx, id)
	if err != nil {
		return nil, s.reject(ctx, n, cmd, s.Now(), err)
	}
	if n != 0 && a.Incident != n {
		typed := strings.Fields(cmd.Raw)
		if len(typed) > 0 {
			if _, ok := ParseRef(typed[0]); ok {
				typed = typed[1:]
			}
		}
		return nil, s.reject(ctx, n, cmd, s.Now(), Errorf(EInvalid,
			"%s belongs to %s, not %s. To act on it: `/incident %s %s`.", a.Ref(), Ref(a.Incident), Ref(n), Ref(a.Incident), strings.Join(typed, " ")))
	}
	var out *ActionItem
	_, err = s.changeFx(ctx, a.Incident, cmd, func(tx Tx, inc *Incident, now time.Time) (map[string]string, []Effect, error) {
		cur, err := tx.Action(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		previous := cur.Owner
		verb, err := change(cur, now)
		if err != nil {
			return nil, nil, err
		}
		cur.Updated = now
		if err := tx.SaveAction(ctx, cur); err != nil {
			return nil, nil, err
		}
		inc.AddMember(cur.Owner)
		if previous != cur.Owner {
			if err := release(ctx, tx, inc, previous); err != nil {
				return nil, nil, err
			}
		}
		out = cur
		var fx []Effect
		if cmd.Actor != SystemActor || verb == "assign" {
			e := actionSync(cur)
			if verb == "done" || verb == "reopen" {
				e.Payload["move"] = verb // the issue follows; other changes leave its status alone
			}
			fx = append(fx, e)
		}
		return cur.detail(verb), fx, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ActionItems lists action items, by incident then id.
func (s *Service) ActionItems(ctx context.Context, f ActionFilter) ([]ActionItem, error) {
	return s.store.Actions(ctx, f)
}

// Action returns action item id, or a not_found Error.
func (s *Service) Action(ctx context.Context, id int64) (ActionItem, error) {
	a, err := s.store.Action(ctx, id)
	if err != nil {
		return ActionItem{}, err
	}
	return *a, nil
}

func (a *ActionItem) detail(verb string) map[string]string {
	d := map[string]string{"action": verb, "id": strconv.FormatInt(a.ID, 10), "text": a.Text,
		"owner": a.Owner, "priority": a.Priority.String(), "status": string(a.Status)}
	if !a.Due.IsZero() {
		d["due"] = a.Due.Format(time.DateOnly)
	}
	return d
}

func actionSync(a *ActionItem) Effect {
	return Effect{Kind: KindActionSync, Payload: map[string]string{"action": strconv.FormatInt(a.ID, 10)}}
}

// day is t's calendar day in UTC, at 00:00.
func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
