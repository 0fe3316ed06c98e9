package incident

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ComponentStatus is a component's state, as Atlassian Statuspage names it.
type ComponentStatus string

// Component statuses, best first.
const (
	Operational         ComponentStatus = "operational"
	DegradedPerformance ComponentStatus = "degraded_performance"
	PartialOutage       ComponentStatus = "partial_outage"
	MajorOutage         ComponentStatus = "major_outage"
)

// ComponentStatuses lists the valid component statuses, best first.
var ComponentStatuses = []ComponentStatus{Operational, DegradedPerformance, PartialOutage, MajorOutage}

// ParseComponentStatus accepts a Statuspage component status.
func ParseComponentStatus(s string) (ComponentStatus, error) {
	return parseWord(s, ComponentStatuses, "%q is not a component status. Use operational, degraded_performance, partial_outage or major_outage.")
}

// ComponentNames returns the incident's component names in order.
func (inc *Incident) ComponentNames() []string {
	names := make([]string, 0, len(inc.Components))
	for k := range inc.Components {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// PublicUpdate is one update published to the status page(s): everything
// the public saw, as of that publish. Every public surface (the page, its
// JSON and feed, the export, Atlassian Statuspage) renders from these and
// from nothing else, so an internal title, a component set after the last
// publish or a severity change never goes public on its own.
type PublicUpdate struct {
	ID       int64
	Incident int64
	At       time.Time
	Author   string
	Status   Status
	// Title is the incident's public name, which the communicator chose.
	Title string
	Body  string
	// Components are the affected components and their statuses as
	// published (all operational in a resolved update).
	Components map[string]ComponentStatus
	// Impact is the incident's impact level as Statuspage names it (none,
	// minor, major, critical), from the severity at the time of publishing.
	Impact        string
	NextUpdateDue time.Time // zero when none was promised
}

// Publication is a public update as the communicator approved it in the
// preview.
type Publication struct {
	Status Status
	// Title is the public title; "" keeps the last published one (the
	// incident's own title on the first update).
	Title string
	Body  string
	// Components are the components the preview showed; nil means the
	// incident's components as they are now.
	Components map[string]ComponentStatus
	// NextUpdateDue is the time the text promises the next update for
	// (PromisedNext); zero: the severity's cadence decides.
	NextUpdateDue time.Time
	// Since, if set, is the incident's PublishedAt when the preview was
	// opened: if another update has gone out since, this one is refused,
	// so a preview left open does not replace it with older words.
	Since *time.Time
}

// ImpactOf is the Statuspage impact level of a severity.
func ImpactOf(sev Severity) string {
	switch sev {
	case SEV1:
		return "critical"
	case SEV2:
		return "major"
	case SEV3:
		return "minor"
	}
	return "none"
}

// PromptUpdateWithin is how soon a public update is owed when the page has
// fallen out of step with the incident: resolved while the page says
// otherwise, or reopened after the page said resolved.
const PromptUpdateWithin = 10 * time.Minute

// owePromptUpdate makes the next public update due within
// PromptUpdateWithin of now, unless it was due sooner already.
func owePromptUpdate(inc *Incident, now time.Time) {
	due := now.Add(PromptUpdateWithin).Truncate(time.Minute)
	if inc.NextUpdateDue.IsZero() || due.Before(inc.NextUpdateDue) {
		inc.NextUpdateDue = due
	}
	inc.Snoozes = 0 // a new update is owed
}

// Cadence is how often each severity owes the public an update; zero means
// no schedule (updates when there is news).
type Cadence map[Severity]time.Duration

// DefaultCadence: SEV1 every 30 minutes, SEV2 hourly, SEV3 every two hours, SEV4 none.
var DefaultCadence = Cadence{SEV1: 30 * time.Minute, SEV2: time.Hour, SEV3: 2 * time.Hour, SEV4: 0}

// Next is when the next update is due after one published at now, or zero.
func (c Cadence) Next(sev Severity, now time.Time) time.Time {
	if d := c[sev]; d > 0 {
		return now.Add(d).Truncate(time.Minute)
	}
	return time.Time{}
}

// Reminder timing around a due update.
const (
	RemindBefore   = 5 * time.Minute  // remind the communicator
	EscalateAfter  = 10 * time.Minute // tell the announcements channel
	MaxComponents  = 20
	maxComponentNm = 60
)

// Reminder kinds, in the order they fire.
const (
	ReminderRemind   = "remind"   // 5 minutes before: the communicator, with a button
	ReminderPing     = "ping"     // at the due time: communicator and commander
	ReminderEscalate = "escalate" // 10 minutes late: the announcements channel
	// ReminderHelp: a SEV1 or SEV2 that nobody but its declarer has picked up
	// (no command by anyone else, no commander named) after HelpAfter calls
	// everyone in.
	ReminderHelp = "help"
)

// KindReminder is the timeline kind of a reminder that fired; its detail
// says which ("kind") and for which due time ("due").
const KindReminder = "reminder"

// DefaultHelpAfter is how long a SEV1 or SEV2 may go unacknowledged before
// warroom asks everyone in: "more than 10 minutes, everyone in".
const DefaultHelpAfter = 10 * time.Minute

// UseHelpAfter sets the threshold for calling everyone in (0: never).
func (s *Service) UseHelpAfter(d time.Duration) { s.helpAfter = d }

// Reminder is one reminder the bot must send now.
type Reminder struct {
	Incident *Incident
	Kind     string
	Due      time.Time
}

// NextUpdate is when an update published now would promise the next one.
func (s *Service) NextUpdate(inc *Incident) time.Time { return s.cadence.Next(inc.Severity, s.Now()) }

// UseCadence sets the update schedule (DefaultCadence until called).
func (s *Service) UseCadence(c Cadence) { s.cadence = c }

// SetComponents sets the statuses of the affected components, by name.
// Components not named keep their status.
func (s *Service) SetComponents(ctx context.Context, n int64, cmd Command, set map[string]ComponentStatus) (*Incident, error) {
	return s.change(ctx, n, cmd, func(inc *Incident, _ time.Time) (map[string]string, error) {
		if err := notClosed(inc); err != nil {
			return nil, err
		}
		if len(set) == 0 {
			return nil, Errorf(EInvalid, "Name at least one component, e.g. `/incident components checkout=partial_outage`.")
		}
		detail := map[string]string{}
		for name, st := range set {
			name = strings.TrimSpace(name)
			if name == "" || len([]rune(name)) > maxComponentNm {
				return nil, Errorf(EInvalid, "A component name needs 1 to %d characters.", maxComponentNm)
			}
			if _, err := ParseComponentStatus(string(st)); err != nil {
				return nil, err
			}
			if inc.Components == nil {
				inc.Components = map[string]ComponentStatus{}
			}
			inc.Components[name] = st
			detail[name] = string(st)
		}
		if len(inc.Components) > MaxComponents {
			return nil, Errorf(EInvalid, "An incident can list at most %d components.", MaxComponents)
		}
		return detail, nil
	})
}

// SetImpact says, in customers' words, who is affected and how; the
// templates use it ("We are investigating <impact>").
func (s *Service) SetImpact(ctx context.Context, n int64, cmd Command, text string) (*Incident, error) {
	return s.change(ctx, n, cmd, func(inc *Incident, _ time.Time) (map[string]string, error) {
		if err := notClosed(inc); err != nil {
			return nil, err
		}
		t, err := cleanText("impact", text, false)
		if err != nil {
			return nil, err
		}
		if n := len([]rune(t)); n > MaxTitle {
			return nil, Errorf(EInvalid, "The impact is %d characters; keep it to %d, e.g. `failed card payments for some customers`.", n, MaxTitle)
		}
		d := map[string]string{"from": inc.Impact, "to": t}
		inc.Impact = t
		return d, nil
	})
}

// Publish records a public update exactly as approved and schedules the
// next one by the severity's cadence. Only the communicator or the commander
// may publish.
//
// Publishing "resolved" is a public statement. It resolves the incident only
// when the commander publishes it; from the communicator it leaves the
// incident open for the commander to resolve. After the incident is
// resolved, the only update left to publish is the resolved one.
func (s *Service) Publish(ctx context.Context, n int64, cmd Command, p Publication) (*Incident, *PublicUpdate, error) {
	var pub *PublicUpdate
	// The hosted status page gets the update through the outbox, with the
	// stored text's id, in the same transaction.
	plan := cmd.Effects
	cmd.Effects = func(before, after *Incident, e Entry) []Effect {
		var fx []Effect
		if plan != nil {
			fx = plan(before, after, e)
		}
		return append(fx, Effect{Kind: KindStatusPage, Payload: map[string]string{"update": strconv.FormatInt(pub.ID, 10)}})
	}
	inc, err := s.changeTx(ctx, n, cmd, func(tx Tx, inc *Incident, now time.Time) (map[string]string, error) {
		if err := mayPublish(inc, cmd.Actor); err != nil {
			return nil, err
		}
		if p.Since != nil && inc.PublishedAt.After(*p.Since) {
			return nil, Errorf(EConflict, "Another public update went out at %s, after this preview opened, so this one was not published. Open a new preview to start from it: `/incident update`.", inc.PublishedAt.UTC().Format("15:04 UTC"))
		}
		st, err := ParseStatus(string(p.Status))
		if err != nil {
			return nil, err
		}
		if !inc.Open() && st != StatusResolved {
			return nil, Errorf(EConflict, "%s is resolved, so the update to publish now is the resolved one: `/incident update resolved`. If it came back: `/incident reopen`.", inc.Ref())
		}
		title, err := publicTitle(inc, p.Title)
		if err != nil {
			return nil, err
		}
		text, err := cleanText("update", p.Body, false)
		if err != nil {
			return nil, err
		}
		comps, err := publicComponents(inc, p.Components, st)
		if err != nil {
			return nil, err
		}
		from, resolves := inc.Status, st == StatusResolved && inc.Open() && cmd.Actor == inc.Commander
		// The internal status follows what is published, except that only
		// the commander's resolved update resolves.
		if resolves || (inc.Open() && st != StatusResolved) {
			if err := applyStatus(inc, st, now); err != nil {
				return nil, err
			}
		}
		inc.PublicStatus, inc.PublicTitle, inc.PublishedAt = st, title, now
		inc.NextUpdateDue, inc.Snoozes = time.Time{}, 0
		if st != StatusResolved {
			// What the text promised is what the reminders hold it to.
			inc.NextUpdateDue = s.cadence.Next(inc.Severity, now)
			if p.NextUpdateDue.After(now) {
				inc.NextUpdateDue = p.NextUpdateDue.Truncate(time.Minute)
			}
		}
		pub = &PublicUpdate{Incident: n, At: now, Author: cmd.Actor, Status: st, Title: title, Body: text,
			Components: comps, Impact: ImpactOf(inc.Severity), NextUpdateDue: inc.NextUpdateDue}
		if err := tx.AddPublicUpdate(ctx, pub); err != nil {
			return nil, err
		}
		d := map[string]string{"from": string(from), "to": string(st), "text": text, "title": title}
		if st == StatusResolved {
			d["resolves"] = strconv.FormatBool(resolves)
		}
		if !inc.NextUpdateDue.IsZero() {
			d["next_update_due"] = inc.NextUpdateDue.Format(time.RFC3339)
		}
		return d, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return inc, pub, nil
}

// mayPublish refuses a public update on an incident that may have none, or
// from someone who may not publish.
func mayPublish(inc *Incident, actor string) error {
	if inc.Private {
		return Errorf(EForbidden, "%s is private, so it has no public updates and stays off the status page. Keep the team informed in the war room: `/incident status identified <what you know>`.", inc.Ref())
	}
	if err := notClosed(inc); err != nil {
		return err
	}
	if err := communicatorOrCommander(inc, actor, "publish updates"); err != nil {
		return err
	}
	if !inc.Open() && inc.PublicStatus == StatusResolved {
		// An old "Write the resolved update" button must not publish it again.
		return Errorf(EConflict, "%s is resolved and its resolved update went out at %s UTC: there is nothing more to publish. If it came back: `/incident reopen`.", inc.Ref(), inc.PublishedAt.UTC().Format("15:04"))
	}
	return nil
}

// MayPublish says why actor may not publish an update of incident n, or
// nil: the preview checks it before drafting.
func (s *Service) MayPublish(inc *Incident, actor string) error { return mayPublish(inc, actor) }

// PublicTitle is the title the next public update of inc goes out with
// unless the communicator changes it: the last one published, or the
// incident's own title before anything was.
func PublicTitle(inc *Incident) string {
	if inc.Published() && inc.PublicTitle != "" {
		return inc.PublicTitle
	}
	return inc.Title
}

// publicTitle checks the title a communicator approved, or picks the last
// published one when they left it empty.
func publicTitle(inc *Incident, title string) (string, error) {
	if strings.TrimSpace(title) == "" {
		title = PublicTitle(inc)
	}
	t, err := CleanTitle(title)
	if err != nil {
		return "", Errorf(EInvalid, "The public title: %s", ErrorMessage(err))
	}
	return t, nil
}

// publicComponents checks the components to publish; a resolved update
// shows every one of them operational, as Statuspage does.
func publicComponents(inc *Incident, shown map[string]ComponentStatus, st Status) (map[string]ComponentStatus, error) {
	if shown == nil {
		shown = inc.Components
	}
	if len(shown) > MaxComponents {
		return nil, Errorf(EInvalid, "An update can list at most %d components.", MaxComponents)
	}
	out := make(map[string]ComponentStatus, len(shown))
	for name, cs := range shown {
		if name == "" || len([]rune(name)) > maxComponentNm {
			return nil, Errorf(EInvalid, "A component name needs 1 to %d characters.", maxComponentNm)
		}
		if _, err := ParseComponentStatus(string(cs)); err != nil {
			return nil, err
		}
		if st == StatusResolved {
			cs = Operational
		}
		out[name] = cs
	}
	return out, nil
}

// Snooze pushes the next update's due time back by d and records it. Only
// the communicator or the commander may, at most MaxSnoozes times for one
// update owed: snoozing must not become a way to silence the escalation.
func (s *Service) Snooze(ctx context.Context, n int64, cmd Command, d time.Duration) (*Incident, error) {
	return s.change(ctx, n, cmd, func(inc *Incident, now time.Time) (map[string]string, error) {
		if inc.NextUpdateDue.IsZero() || inc.Stage == StageClosed {
			return nil, Errorf(EConflict, "%s has no update due, so there is nothing to snooze.", inc.Ref())
		}
		if err := communicatorOrCommander(inc, cmd.Actor, "snooze the update's reminders"); err != nil {
			return nil, err
		}
		if inc.Snoozes >= MaxSnoozes {
			return nil, Errorf(EConflict, "The update of %s due by %s UTC was already snoozed %d times. Publish it: `/incident update`.", inc.Ref(), inc.NextUpdateDue.UTC().Format("15:04"), inc.Snoozes)
		}
		if d <= 0 || d > 2*time.Hour {
			return nil, Errorf(EInvalid, "Snooze for 1 minute to 2 hours.")
		}
		from := inc.NextUpdateDue
		inc.NextUpdateDue = maxTime(from, now).Add(d).Truncate(time.Minute)
		inc.Snoozes++
		return map[string]string{"from": from.Format(time.RFC3339), "to": inc.NextUpdateDue.Format(time.RFC3339), "snoozes": strconv.Itoa(inc.Snoozes)}, nil
	})
}

// Sweep finds the reminders due now and marks them fired, in the same
// transaction, so each fires once even across restarts. When the bot was
// down long enough for several to come due, only the latest is sent; the
// earlier ones are marked as skipped.
func (s *Service) Sweep(ctx context.Context) ([]Reminder, error) {
	now := s.Now()
	due, err := s.store.DueForReminder(ctx, now.Add(RemindBefore))
	if err != nil {
		return nil, err
	}
	out, err := s.sweepHelp(ctx, now)
	if err != nil {
		return out, err
	}
	for _, inc := range due {
		kinds := dueKinds(inc.NextUpdateDue, now)
		if len(kinds) == 0 {
			continue
		}
		var send string
		var queued int
		err := s.store.Update(ctx, func(tx Tx) error {
			cur, err := tx.Incident(ctx, inc.Number)
			if err != nil {
				return err
			}
			if !cur.NextUpdateDue.Equal(inc.NextUpdateDue) || cur.Stage == StageClosed {
				return nil // published or snoozed meanwhile
			}
			for i, k := range kinds {
				last := i == len(kinds)-1
				fresh, err := tx.MarkReminder(ctx, inc.Number, inc.NextUpdateDue, k, now, last)
				if err != nil {
					return err
				}
				if fresh && last {
					send = k
				}
			}
			if send != "" {
				cmd := Command{Actor: SystemActor, Kind: KindReminder, Raw: send + " for the update due " + inc.NextUpdateDue.Format("15:04 UTC")}
				e := entry(inc.Number, cmd, now, OutcomeOK, map[string]string{"kind": send, "due": inc.NextUpdateDue.Format(time.RFC3339)})
				if err := tx.Append(ctx, e); err != nil {
					return err
				}
				queued, err = s.emit(ctx, tx, cur, cur, e, cmd)
				return err
			}
			return nil
		})
		s.woke(queued)
		if err != nil {
			return out, err
		}
		if send != "" {
			out = append(out, Reminder{Incident: inc, Kind: send, Due: inc.NextUpdateDue})
		}
	}
	return out, nil
}

// sweepHelp calls everyone in for SEV1 and SEV2 incidents nobody has picked
// up within the threshold, once each.
func (s *Service) sweepHelp(ctx context.Context, now time.Time) ([]Reminder, error) {
	if s.helpAfter <= 0 {
		return nil, nil
	}
	lonely, err := s.store.Unacknowledged(ctx, SEV2, now.Add(-s.helpAfter))
	if err != nil {
		return nil, err
	}
	var out []Reminder
	for _, inc := range lonely {
		fresh := false
		var queued int
		err := s.store.Update(ctx, func(tx Tx) error {
			var err error
			if fresh, err = tx.MarkReminder(ctx, inc.Number, inc.DeclaredAt, ReminderHelp, now, true); err != nil || !fresh {
				return err
			}
			cmd := Command{Actor: SystemActor, Kind: KindReminder, Raw: "help: nobody but the declarer after " + s.helpAfter.String()}
			e := entry(inc.Number, cmd, now, OutcomeOK, map[string]string{"kind": ReminderHelp, "due": inc.DeclaredAt.Add(s.helpAfter).Format(time.RFC3339)})
			if err := tx.Append(ctx, e); err != nil {
				return err
			}
			queued, err = s.emit(ctx, tx, inc, inc, e, cmd)
			return err
		})
		s.woke(queued)
		if err != nil {
			return out, err
		}
		if fresh {
			out = append(out, Reminder{Incident: inc, Kind: ReminderHelp, Due: inc.DeclaredAt.Add(s.helpAfter)})
		}
	}
	return out, nil
}

// dueKinds lists the reminders whose time has come for an update due at due.
func dueKinds(due, now time.Time) []string {
	var k []string
	if !now.Before(due.Add(-RemindBefore)) {
		k = append(k, ReminderRemind)
	}
	if !now.Before(due) {
		k = append(k, ReminderPing)
	}
	if !now.Before(due.Add(EscalateAfter)) {
		k = append(k, ReminderEscalate)
	}
	return k
}

// PublicUpdates lists incident n's published updates, oldest first.
func (s *Service) PublicUpdates(ctx context.Context, n int64) ([]PublicUpdate, error) {
	return s.store.PublicUpdates(ctx, n)
}

// PublicUpdatesOf lists the published updates of several incidents, by incident.
func (s *Service) PublicUpdatesOf(ctx context.Context, ns []int64) (map[int64][]PublicUpdate, error) {
	return s.store.PublicUpdatesOf(ctx, ns)
}

func who(u string) string {
	if u == "" {
		return "nobody yet"
	}
	return "<@" + u + ">"
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// PublishedIncidents lists the incidents the status page shows (see Store).
func (s *Service) PublishedIncidents(ctx context.Context, since time.Time, limit int) ([]int64, error) {
	return s.store.PublishedIncidents(ctx, since, limit)
}
