package incident

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on free text, in characters (runes).
const (
	MaxTitle   = 250
	MaxText    = 3000 // notes, status messages, summaries
	MaxRoleLen = 32
)

// Service applies the lifecycle rules. Every method that takes a Command
// appends exactly one timeline entry, in the same transaction as the change
// it makes, whether the command succeeds or is rejected.
type Service struct {
	store     Store
	now       Clock
	cadence   Cadence
	helpAfter time.Duration

	planners   []Planner
	enabled    map[string]bool
	notify     func()
	onCallWait time.Duration
	closeAfter time.Duration
	// declareLimit is how many incidents a person may declare a minute.
	declareLimit int
	// checklists are the team's lists (UseChecklists).
	checklists Checklists
}

// NewService returns a Service over store; now may be nil for time.Now.
func NewService(store Store, now Clock) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, now: now, cadence: DefaultCadence, helpAfter: DefaultHelpAfter, onCallWait: OnCallLookupFor, closeAfter: DefaultCloseAfter}
}

// Now returns the service's current time in UTC.
func (s *Service) Now() time.Time { return s.now().UTC() }

// Declaration is what a new incident starts with.
type Declaration struct {
	Title       string
	Description string
	Severity    Severity
	// Commander defaults to the declarer when empty; then, when paging is
	// on, PagerDuty's on-call person takes over (KindOnCall).
	Commander string
	// NamedCommander says the declarer chose Commander (themselves, say),
	// so nobody is looked up.
	NamedCommander bool
	// Service is the affected service, as configured ("payments"), or "".
	Service string
	// Private opens a private war room and keeps the incident off the
	// announcements channel and the status page.
	Private bool
}

// UseOnCallWait sets how long the on-call lookup keeps trying (default OnCallLookupFor).
func (s *Service) UseOnCallWait(d time.Duration) {
	if d > 0 {
		s.onCallWait = d
	}
}

// OnCallLookupFor is how long warroom keeps trying to learn who is on call
// before the declarer simply stays commander.
const OnCallLookupFor = 2 * time.Minute

// Declare opens a new incident. A rejected declaration goes to the audit log.
func (s *Service) Declare(ctx context.Context, cmd Command, d Declaration) (*Incident, error) {
	now := s.Now()
	title, err := CleanTitle(d.Title)
	if err == nil {
		d.Description, err = cleanText("description", d.Description, true)
	}
	if err == nil && !d.Severity.Valid() {
		err = Errorf(EInvalid, "Severity must be sev1 (worst) to sev4.")
	}
	if err != nil {
		return nil, s.reject(ctx, 0, cmd, now, err)
	}
	if d.Commander == "" {
		d.Commander = cmd.Actor
	}
	inc := &Incident{
		Title:       title,
		Description: d.Description,
		Severity:    d.Severity,
		Stage:       StageAssess,
		Status:      StatusInvestigating,
		DeclaredBy:  cmd.Actor,
		Commander:   d.Commander,
		Roles:       map[string]string{},
		DeclaredAt:  now,
		UpdatedAt:   now,
	}
	var extra []Effect
	if d.Commander == cmd.Actor && !d.NamedCommander {
		// The declarer leads until PagerDuty says who is on call.
		extra = append(extra, Effect{Kind: KindOnCall, NotAfter: now.Add(s.onCallWait),
			Payload: map[string]string{"provisional": cmd.Actor, "service": d.Service}})
	}
	inc.Service, inc.Private = d.Service, d.Private
	inc.loadChecklist(s.checklists.For(inc.Severity, inc.Service))
	inc.AddMember(cmd.Actor)
	inc.AddMember(inc.Commander)
	var queued int
	var refused error
	err = s.store.Update(ctx, func(tx Tx) error {
		if refused = s.mayDeclareNow(ctx, tx, cmd.Actor, now); refused != nil {
			if ErrorCode(refused) == EInternal {
				return refused
			}
			return tx.Append(ctx, entry(0, cmd, now, ErrorMessage(refused), nil))
		}
		d := map[string]string{"title": inc.Title, "severity": inc.Severity.String(), "commander": inc.Commander, "service": inc.Service}
		if inc.Private {
			d["private"] = "true"
		}
		e := entry(0, cmd, now, OutcomeOK, d)
		tickFromLifecycle(inc, e)
		if err := tx.CreateIncident(ctx, inc); err != nil {
			return err
		}
		e.Incident = inc.Number
		if err := tx.Append(ctx, e); err != nil {
			return err
		}
		queued, err = s.emit(ctx, tx, nil, inc, e, cmd, extra...)
		return err
	})
	if err != nil {
		return nil, err
	}
	if refused != nil {
		return nil, refused
	}
	s.woke(queued)
	return inc, nil
}

// Record appends a command that changes nothing: a read (timeline, list,
// help) or one that could not be parsed. n is 0 for the audit log. A
// successful read by someone other than the declarer acknowledges the incident.
func (s *Service) Record(ctx context.Context, n int64, cmd Command, outcome string) error {
	now := s.Now()
	return s.store.Update(ctx, func(tx Tx) error {
		if n != 0 && outcome == OutcomeOK {
			inc, err := tx.Incident(ctx, n)
			if err != nil {
				return err
			}
			if acknowledge(inc, cmd.Actor, now) {
				if err := tx.SaveIncident(ctx, inc); err != nil {
					return err
				}
			}
		}
		return tx.Append(ctx, entry(n, cmd, now, outcome, nil))
	})
}

// SetSeverity changes the severity. The old and new values are recorded.
func (s *Service) SetSeverity(ctx context.Context, n int64, cmd Command, sev Severity) (*Incident, error) {
	return s.change(ctx, n, cmd, func(inc *Incident, now time.Time) (map[string]string, error) {
		if err := notClosed(inc); err != nil {
			return nil, err
		}
		if !sev.Valid() {
			return nil, Errorf(EInvalid, "Severity must be sev1 (worst) to sev4.")
		}
		if inc.Severity == sev {
			return nil, Errorf(EConflict, "%s is already %s. Nothing changed.", inc.Ref(), sev)
		}
		d := map[string]string{"from": inc.Severity.String(), "to": sev.String()}
		inc.Severity = sev
		if added := inc.loadChecklist(s.checklists.For(sev, inc.Service)); added > 0 {
			d["checklist_added"] = strconv.Itoa(added)
		}
		// A worse severity owes the public updates sooner.
		if next := s.cadence.Next(sev, now); !inc.NextUpdateDue.IsZero() && !next.IsZero() && next.Before(inc.NextUpdateDue) {
			inc.NextUpdateDue = next
		}
		return d, nil
	})
}

var roleName = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// roleAliases are the names people type for the two roles warroom runs
// on: `role ic me` takes command, it does not make a second leader.
var roleAliases = map[string]string{
	"ic": RoleCommander, "incident-commander": RoleCommander, "incident_commander": RoleCommander, "lead": RoleCommander,
	"comms": RoleCommunicator, "comms-lead": RoleCommunicator, "communications": RoleCommunicator, "communications-lead": RoleCommunicator,
}

// CleanRole lowercases a role name and checks it; a name for the commander
// or the communicator is that role.
func CleanRole(name string) (string, error) {
	r := strings.ToLower(strings.TrimSpace(name))
	if r == "" || len(r) > MaxRoleLen || !roleName.MatchString(r) {
		return "", Errorf(EInvalid, "%q is not a role name. Use letters, digits, - or _, up to %d characters, e.g. `scribe`.", name, MaxRoleLen)
	}
	if canonical, ok := roleAliases[r]; ok {
		return canonical, nil
	}
	return r, nil
}

// release takes a private incident away from someone who no longer holds
// a stake in it (see Incident.Release).
func release(ctx context.Context, tx Tx, inc *Incident, user string) error {
	if !inc.Private || user == "" || !inc.Members[user] {
		return nil
	}
	owns, err := tx.OwnsAction(ctx, inc.Number, user)
	if err != nil {
		return err
	}
	inc.Release(user, owns)
	return nil
}

// Assign gives role to user. Naming a commander acknowledges the incident;
// naming a communicator moves it to the communicate stage.
func (s *Service) Assign(ctx context.Context, n int64, cmd Command, role, user string) (*Incident, error) {
	return s.changeTx(ctx, n, cmd, func(tx Tx, inc *Incident, now time.Time) (map[string]string, error) {
		if err := notClosed(inc); err != nil {
			return nil, err
		}
		r, err := CleanRole(role)
		if err != nil {
			return nil, err
		}
		if user == "" {
			return nil, Errorf(EInvalid, "Name a person for the %s role, e.g. `/incident %s @alice`.", r, r)
		}
		var from string
		switch r {
		case RoleCommander:
			from, inc.Commander = inc.Commander, user
			if inc.AcknowledgedAt.IsZero() {
				inc.AcknowledgedAt = now
			}
		case RoleCommunicator:
			from, inc.Communicator = inc.Communicator, user
		default:
			from = inc.Roles[r]
			inc.Roles[r] = user
		}
		if from == user {
			return nil, Errorf(EConflict, "<@%s> is already %s of %s. Nothing changed.", user, r, inc.Ref())
		}
		inc.AddMember(user)
		if err := release(ctx, tx, inc, from); err != nil {
			return nil, err
		}
		return map[string]string{"role": r, "from": from, "to": user}, nil
	})
}

// SetStatus sets the public status. "resolved" resolves the incident.
func (s *Service) SetStatus(ctx context.Context, n int64, cmd Command, st Status, message string) (*Incident, error) {
	if st == StatusResolved {
		return s.Resolve(ctx, n, cmd, message)
	}
	return s.change(ctx, n, cmd, func(inc *Incident, now time.Time) (map[string]string, error) {
		msg, err := cleanText("status message", message, true)
		if err != nil {
			return nil, err
		}
		d := map[string]string{"from": string(inc.Status), "to": string(st), "message": msg}
		return d, applyStatus(inc, st, now)
	})
}

// Note adds an internal note to the timeline.
func (s *Service) Note(ctx context.Context, n int64, cmd Command, text string) (*Incident, error) {
	return s.change(ctx, n, cmd, func(inc *Incident, _ time.Time) (map[string]string, error) {
		t, err := cleanText("note", text, false)
		if err != nil {
			return nil, err
		}
		return map[string]string{"text": t}, nil
	})
}

// Resolve marks the incident resolved and moves it to the document stage.
func (s *Service) Resolve(ctx context.Context, n int64, cmd Command, summary string) (*Incident, error) {
	return s.change(ctx, n, cmd, func(inc *Incident, now time.Time) (map[string]string, error) {
		if err := commanderOnly(inc, cmd.Actor, "resolve"); err != nil {
			return nil, err
		}
		sum, err := cleanText("summary", summary, true)
		if err != nil {
			return nil, err
		}
		d := map[string]string{"from": string(inc.Status), "to": string(StatusResolved), "summary": sum}
		return d, applyStatus(inc, StatusResolved, now)
	})
}

// Reopen takes a resolved incident back to investigating.
func (s *Service) Reopen(ctx context.Context, n int64, cmd Command) (*Incident, error) {
	return s.change(ctx, n, cmd, func(inc *Incident, now time.Time) (map[string]string, error) {
		if err := notClosed(inc); err != nil {
			return nil, err
		}
		if inc.Open() {
			return nil, Errorf(EConflict, "%s is not resolved, so there is nothing to reopen. Its status is %s.", inc.Ref(), inc.Status)
		}
		d := map[string]string{"resolved_at": inc.ResolvedAt.Format(time.RFC3339)}
		inc.Status = StatusInvestigating
		inc.ResolvedAt = time.Time{}
		inc.Stage = stageFor(inc)
		if !inc.Private && inc.PublicStatus == StatusResolved {
			// The page says resolved; it must hear that it came back.
			owePromptUpdate(inc, now)
		}
		return d, nil
	})
}

// Close ends the document stage and archives the war room. It is the
// commander's, only after the final public update, and, since closing
// cannot be undone, only once the incident has been resolved for
// CloseAfter, unless the commander confirms (confirmed: the button).
func (s *Service) Close(ctx context.Context, n int64, cmd Command, confirmed bool) (*Incident, error) {
	return s.change(ctx, n, cmd, func(inc *Incident, now time.Time) (map[string]string, error) {
		if err := notClosed(inc); err != nil {
			return nil, err
		}
		if inc.Open() {
			return nil, Errorf(EConflict, "%s is still open. Resolve it first: `/incident resolve <summary>`.", inc.Ref())
		}
		if err := commanderOnly(inc, cmd.Actor, "close"); err != nil {
			return nil, err
		}
		if inc.OwesFinalUpdate() {
			return nil, Errorf(EConflict, "The status page still says %s for %s. Publish the final update first (`/incident update resolved`), then close.", TitleCaseStatus(inc.PublicStatus), inc.Ref())
		}
		if ready := inc.ResolvedAt.Add(s.closeAfter); !confirmed && now.Before(ready) {
			return nil, Errorf(EConfirm, "%s was resolved %s ago. Closing archives the war room and cannot be undone, so it waits until %s UTC. To close it now, confirm with the button.",
				inc.Ref(), roundAgo(now.Sub(inc.ResolvedAt)), ready.UTC().Format("15:04"))
		}
		inc.ClosedAt = now
		if confirmed {
			return map[string]string{"confirmed": "true"}, nil
		}
		return nil, nil
	})
}

// AttachWarRoom records the war room created for incident n.
// plan, if set, plans what follows in the room (invitations, the summary).
func (s *Service) AttachWarRoom(ctx context.Context, n int64, channelID, name string, plan Planner) (*Incident, error) {
	cmd := Command{Actor: SystemActor, Channel: channelID, Kind: "war_room", Raw: "created #" + name, Effects: plan}
	return s.change(ctx, n, cmd, func(inc *Incident, _ time.Time) (map[string]string, error) {
		inc.ChannelID, inc.ChannelName = channelID, name
		return map[string]string{"channel": channelID, "name": name}, nil
	})
}

// SetSummaryMessage remembers the pinned summary message. It is plumbing,
// not an event, so it adds nothing to the timeline.
func (s *Service) SetSummaryMessage(ctx context.Context, n int64, ts string) error {
	return s.store.Update(ctx, func(tx Tx) error {
		inc, err := tx.Incident(ctx, n)
		if err != nil {
			return err
		}
		inc.SummaryTS = ts
		return tx.SaveIncident(ctx, inc)
	})
}

// RecordSystem appends something warroom did or failed to do, such as a
// Slack call that failed, so the timeline shows it.
func (s *Service) RecordSystem(ctx context.Context, n int64, kind, text, outcome string) error {
	cmd := Command{Actor: SystemActor, Kind: kind, Raw: text}
	return s.store.Update(ctx, func(tx Tx) error {
		return tx.Append(ctx, entry(n, cmd, s.Now(), outcome, nil))
	})
}

// Notice records something warroom tells incident n's war room (a vendor
// unreachable, say) and plans its post, in one transaction.
func (s *Service) Notice(ctx context.Context, n int64, text string, detail map[string]string) error {
	return s.systemEntry(ctx, n, Command{Actor: SystemActor, Kind: KindNotice, Raw: text}, detail, nil)
}

// Link records that incident n is known as l.Ref in l.System (its Jira
// issue, say), adds it to the timeline, and lets planners show it (the
// pinned summary).
func (s *Service) Link(ctx context.Context, n int64, l Link) error {
	cmd := Command{Actor: SystemActor, Kind: "link", Raw: l.System + " " + l.Ref}
	return s.systemEntry(ctx, n, cmd, map[string]string{"system": l.System, "ref": l.Ref, "url": l.URL},
		func(tx Tx) error { return tx.SetLink(ctx, n, l) })
}

// systemEntry appends an entry of warroom's own to incident n, after write
// (if any), and plans its effects, in one transaction.
func (s *Service) systemEntry(ctx context.Context, n int64, cmd Command, detail map[string]string, write func(Tx) error) error {
	return s.systemEntryFn(ctx, n, cmd, func(tx Tx) (map[string]string, error) {
		if write != nil {
			return detail, write(tx)
		}
		return detail, nil
	})
}

// errNothing ends a systemEntryFn that finds nothing to record: no entry,
// nothing written.
var errNothing = errUnchanged

// errNothingOr is err, or errNothing when there is none.
func errNothingOr(err error) error {
	if err != nil {
		return err
	}
	return errNothing
}

// systemEntryFn is systemEntry whose write also gives the entry's detail,
// or errNothing to record nothing.
func (s *Service) systemEntryFn(ctx context.Context, n int64, cmd Command, write func(Tx) (map[string]string, error)) error {
	var queued int
	err := s.store.Update(ctx, func(tx Tx) error {
		inc, err := tx.Incident(ctx, n)
		if err != nil {
			return err
		}
		detail, err := write(tx)
		if err != nil {
			return err
		}
		after, e := inc, entry(n, cmd, s.Now(), OutcomeOK, detail)
		if ticked := inc.Clone(); tickFromLifecycle(ticked, e) {
			if err := tx.SaveIncident(ctx, ticked); err != nil {
				return err
			}
			after = ticked
		}
		return s.appendEmit(ctx, tx, inc, after, e, cmd, &queued)
	})
	if err == nil {
		s.woke(queued)
	}
	return err
}

// Links lists what incident n is called in other systems.
func (s *Service) Links(ctx context.Context, n int64) ([]Link, error) { return s.store.Links(ctx, n) }

// Effects lists outbox rows: what warroom still has to do, or did.
func (s *Service) Effects(ctx context.Context, f EffectFilter) ([]Effect, error) {
	return s.store.Effects(ctx, f)
}

// Plan adds a planner: it is asked for the effects of every change.
func (s *Service) Plan(p Planner) { s.planners = append(s.planners, p) }

// Enable turns on effect kinds. Effects of other kinds are not planned, so
// an integration without credentials leaves nothing behind in the outbox.
func (s *Service) Enable(kinds ...string) {
	if s.enabled == nil {
		s.enabled = map[string]bool{}
	}
	for _, k := range kinds {
		s.enabled[k] = true
	}
}

// Enabled reports whether effects of kind are planned.
func (s *Service) Enabled(kind string) bool { return s.enabled[kind] }

// OnEnqueue sets a function called after a transaction that queued effects
// commits: the outbox worker's wake-up.
func (s *Service) OnEnqueue(fn func()) { s.notify = fn }

func (s *Service) woke(queued int) {
	if queued > 0 && s.notify != nil {
		s.notify()
	}
}

// emit plans the effects of a change and writes the enabled ones to the
// outbox in tx. It returns how many it queued.
func (s *Service) emit(ctx context.Context, tx Tx, before, after *Incident, e *Entry, cmd Command, extra ...Effect) (int, error) {
	var fx []Effect
	if cmd.Effects != nil {
		fx = append(fx, cmd.Effects(before, after, *e)...)
	}
	fx = append(fx, extra...)
	fx = append(fx, ruleEffects(before, after)...)
	for _, p := range s.planners {
		fx = append(fx, p(before, after, *e)...)
	}
	n := 0
	for i := range fx {
		f := &fx[i]
		if !s.enabled[f.Kind] {
			continue
		}
		if f.Incident == 0 {
			f.Incident = after.Number
		}
		f.Entry, f.Created, f.State = e.ID, e.At, EffectPending
		if f.NextAt.IsZero() {
			f.NextAt = e.At
		}
		if err := tx.Enqueue(ctx, f); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// ruleEffects are the effects the lifecycle itself calls for: the ticket
// follows the incident, and resolving it (by any path) resolves the pages
// it sent and writes the postmortem draft.
func ruleEffects(before, after *Incident) []Effect {
	var fx []Effect
	if before == nil || ticketView(before) != ticketView(after) {
		fx = append(fx, Effect{Kind: KindTicketSync})
	}
	if before != nil && before.Open() && !after.Open() {
		fx = append(fx, Effect{Kind: KindPageResolve}, Effect{Kind: KindPostmortemDraft})
	}
	return fx
}

// ticketView is what the incident's ticket shows.
func ticketView(inc *Incident) string {
	return strings.Join([]string{inc.Title, inc.Severity.String(), string(inc.Status), string(inc.Stage),
		inc.Commander, inc.Communicator, inc.ChannelID, inc.Service, inc.Impact}, "\x00")
}

// Get returns incident n.
func (s *Service) Get(ctx context.Context, n int64) (*Incident, error) {
	return s.store.Incident(ctx, n)
}

// ByChannel returns the incident whose war room is channel.
func (s *Service) ByChannel(ctx context.Context, channel string) (*Incident, error) {
	return s.store.IncidentByChannel(ctx, channel)
}

// List lists incidents, newest first.
func (s *Service) List(ctx context.Context, f Filter) ([]*Incident, error) {
	return s.store.Incidents(ctx, f)
}

// Timeline returns incident n's timeline (n=0: the audit log).
func (s *Service) Timeline(ctx context.Context, n int64, p Page) ([]Entry, error) {
	return s.store.Timeline(ctx, n, p)
}

// applyStatus moves the incident to status st: the rules shared by
// /incident status, resolve and a published update.
func applyStatus(inc *Incident, st Status, now time.Time) error {
	if _, err := ParseStatus(string(st)); err != nil {
		return err
	}
	if !inc.Open() {
		if st == StatusResolved {
			return Errorf(EConflict, "%s was already resolved at %s UTC. If it came back: `/incident reopen`.", inc.Ref(), inc.ResolvedAt.Format("2006-01-02 15:04"))
		}
		return Errorf(EConflict, "%s is resolved, so its status can't change. If it came back: `/incident reopen`.", inc.Ref())
	}
	inc.Status = st
	if st == StatusResolved {
		inc.ResolvedAt = now
		if inc.MitigatedAt.IsZero() {
			inc.MitigatedAt = now
		}
		// Resolved means the affected parts work again.
		for name := range inc.Components {
			inc.Components[name] = Operational
		}
		// The regular cadence ends; only the final public update may still
		// be owed, and it stays due (reminders, escalation) until published.
		if inc.OwesFinalUpdate() {
			owePromptUpdate(inc, now)
		} else {
			inc.NextUpdateDue = time.Time{}
		}
		return nil
	}
	inc.StatusUpdates++
	if st == StatusMonitoring && inc.MitigatedAt.IsZero() {
		inc.MitigatedAt = now
	}
	return nil
}

// change runs rule against incident n in one transaction. If the rule
// rejects the command, the rejection is recorded and nothing else changes.
func (s *Service) change(ctx context.Context, n int64, cmd Command, rule func(*Incident, time.Time) (map[string]string, error)) (*Incident, error) {
	return s.changeTx(ctx, n, cmd, func(_ Tx, inc *Incident, now time.Time) (map[string]string, error) { return rule(inc, now) })
}

// changeTx is change for rules that write more than the incident and its
// entry (a public update, say) in the same transaction.
func (s *Service) changeTx(ctx context.Context, n int64, cmd Command, rule func(Tx, *Incident, time.Time) (map[string]string, error)) (*Incident, error) {
	return s.changeFx(ctx, n, cmd, func(tx Tx, inc *Incident, now time.Time) (map[string]string, []Effect, error) {
		d, err := rule(tx, inc, now)
		return d, nil, err
	})
}

// changeFx is changeTx for rules that call for effects of their own (an
// action item's Jira issue, say), planned with the entry.
func (s *Service) changeFx(ctx context.Context, n int64, cmd Command, rule func(Tx, *Incident, time.Time) (map[string]string, []Effect, error)) (*Incident, error) {
	now := s.Now()
	var out *Incident
	var ruleErr error
	var queued int
	err := s.store.Update(ctx, func(tx Tx) error {
		cur, err := tx.Incident(ctx, n)
		if err != nil {
			if ErrorCode(err) == ENotFound {
				ruleErr = err
				return tx.Append(ctx, entry(0, cmd, now, ErrorMessage(err), nil))
			}
			return err
		}
		inc := cur.Clone()
		detail, extra, err := rule(tx, inc, now)
		if errors.Is(err, errUnchanged) {
			ruleErr = err // warroom's own sync found it done already: no entry
			return nil
		}
		if err != nil {
			ruleErr = err
			return tx.Append(ctx, entry(n, cmd, now, ErrorMessage(err), nil))
		}
		acknowledge(inc, cmd.Actor, now)
		advance(inc)
		if inc.Stage != cur.Stage {
			// The entry that moved the stage says so: the postmortem's
			// time-in-stage figures come from these.
			if detail == nil {
				detail = map[string]string{}
			}
			detail["stage"] = string(inc.Stage)
		}
		inc.UpdatedAt = now
		e := entry(n, cmd, now, OutcomeOK, detail)
		tickFromLifecycle(inc, e)
		if err := tx.SaveIncident(ctx, inc); err != nil {
			return err
		}
		out = inc
		if err := tx.Append(ctx, e); err != nil {
			return err
		}
		queued, err = s.emit(ctx, tx, cur, inc, e, cmd, extra...)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.woke(queued)
	return out, ruleErr
}

// reject records a command refused before any incident was touched.
func (s *Service) reject(ctx context.Context, n int64, cmd Command, now time.Time, cause error) error {
	err := s.store.Update(ctx, func(tx Tx) error {
		return tx.Append(ctx, entry(n, cmd, now, ErrorMessage(cause), nil))
	})
	if err != nil {
		return err
	}
	return cause
}

// acknowledge stamps the first action by someone other than the declarer.
func acknowledge(inc *Incident, actor string, now time.Time) bool {
	if !inc.AcknowledgedAt.IsZero() || actor == inc.DeclaredBy || actor == SystemActor || actor == "" {
		return false
	}
	inc.AcknowledgedAt = now
	return true
}

func notClosed(inc *Incident) error {
	if inc.Stage == StageClosed {
		return Errorf(EConflict, "%s is closed and can't change. If it's happening again, declare a new incident: `/incident declare sev2 <title>`.", inc.Ref())
	}
	return nil
}

func entry(n int64, cmd Command, now time.Time, outcome string, detail map[string]string) *Entry {
	// What was typed is kept even when it is refused for its characters,
	// but as text every store takes: PostgreSQL refuses NUL and invalid
	// UTF-8 in text, and refusing the record would lose the command (and
	// tell its sender to send again what can never be stored).
	raw := strings.ReplaceAll(strings.ToValidUTF8(cmd.Raw, "\uFFFD"), "\x00", "\u2400")
	if outcome != OutcomeOK && len(raw) > MaxRejectedRaw {
		// The timeline cannot be edited or deleted: a huge rejected command
		// would be kept in full for ever. Its start and its size say enough.
		cut := MaxRejectedRaw
		for cut > 0 && !utf8.RuneStart(raw[cut]) {
			cut--
		}
		if detail == nil {
			detail = map[string]string{}
		}
		detail["raw_bytes"] = strconv.Itoa(len(raw))
		raw = raw[:cut] + fmt.Sprintf("… [%d bytes in all]", len(raw))
	}
	return &Entry{Incident: n, At: now, Actor: cmd.Actor, Channel: cmd.Channel, Raw: raw, Kind: cmd.Kind, Outcome: outcome, Detail: detail}
}

// MaxRejectedRaw is how much of a rejected command's text the timeline keeps.
const MaxRejectedRaw = 4096

// CleanTitle folds runs of white space, then checks the title: it must have
// at least one letter or digit, no invisible control characters, and at most
// MaxTitle characters. It never shortens a title silently.
func CleanTitle(title string) (string, error) {
	t := strings.Join(strings.Fields(title), " ")
	if t == "" {
		return "", Errorf(EInvalid, "The incident needs a title, e.g. `/incident declare sev2 Checkout returns 500s`.")
	}
	if err := checkChars("title", t); err != nil {
		return "", err
	}
	if n := utf8.RuneCountInString(t); n > MaxTitle {
		return "", Errorf(EInvalid, "The title is %d characters; the limit is %d. Shorten it and put the detail in a note: `/incident note <text>`.", n, MaxTitle)
	}
	if !strings.ContainsFunc(t, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }) {
		return "", Errorf(EInvalid, "The title has no words, only symbols or emoji. Say what is broken, e.g. `/incident declare sev2 Checkout returns 500s`.")
	}
	return t, nil
}

// cleanText trims free text and checks its length and characters.
func cleanText(what, text string, optional bool) (string, error) {
	t := strings.TrimSpace(text)
	if t == "" {
		if optional {
			return "", nil
		}
		return "", Errorf(EInvalid, "The %s is empty. Type the text after the command, e.g. `/incident note restarted the api pods`.", what)
	}
	if err := checkChars(what, t); err != nil {
		return "", err
	}
	if n := utf8.RuneCountInString(t); n > MaxText {
		return "", Errorf(EInvalid, "The %s is %d characters; the limit is %d. Split it into shorter notes.", what, n, MaxText)
	}
	return t, nil
}

// checkChars refuses invalid UTF-8, control characters other than line
// breaks and tabs, and invisible bidirectional overrides, which can make a
// message read differently from what it says.
func checkChars(what, t string) error {
	if !utf8.ValidString(t) {
		return Errorf(EInvalid, "The %s is not valid text (bad UTF-8). Retype it.", what)
	}
	for _, r := range t {
		switch {
		case r == '\n' || r == '\t' || r == '\r':
		case unicode.IsControl(r):
			return Errorf(EInvalid, "The %s contains a control character (%U). Retype it without it.", what, r)
		case (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069):
			return Errorf(EInvalid, "The %s contains an invisible text-direction override (%U), which can disguise what it says. Retype it without it.", what, r)
		}
	}
	return nil
}
