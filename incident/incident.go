package incident

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/warroom/warroom/internal/mrkdwn"
)

// Severity runs from SEV1 (worst) to SEV4.
type Severity int

// Severities, worst first.
const (
	SEV1 Severity = 1
	SEV2 Severity = 2
	SEV3 Severity = 3
	SEV4 Severity = 4
)

// DefaultSeverity is used when a declaration names none.
const DefaultSeverity = SEV3

// ParseSeverity accepts sev1..sev4 in any case, with or without "sev".
func ParseSeverity(s string) (Severity, error) {
	t := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "sev")
	n, err := strconv.Atoi(t)
	if err != nil || n < 1 || n > 4 {
		return 0, Errorf(EInvalid, "%q is not a severity. Use sev1 (worst) to sev4.", s)
	}
	return Severity(n), nil
}

func (s Severity) String() string { return fmt.Sprintf("SEV%d", int(s)) }

// TitleCaseStatus is a status as a status page shows it: "Investigating".
func TitleCaseStatus(st Status) string {
	if st == "" {
		return ""
	}
	return strings.ToUpper(string(st[:1])) + string(st[1:])
}

// Valid reports whether s is one of SEV1..SEV4.
func (s Severity) Valid() bool { return s >= SEV1 && s <= SEV4 }

// Stage is where an incident is in the response: assess, communicate,
// respond, document, then closed. Stages only move forward, except on reopen.
type Stage string

// Stages, in order.
const (
	StageAssess      Stage = "assess"
	StageCommunicate Stage = "communicate"
	StageRespond     Stage = "respond"
	StageDocument    Stage = "document"
	StageClosed      Stage = "closed"
)

func (s Stage) order() int {
	switch s {
	case StageAssess:
		return 0
	case StageCommunicate:
		return 1
	case StageRespond:
		return 2
	case StageDocument:
		return 3
	case StageClosed:
		return 4
	}
	return -1
}

// Status is the public status, as a status page shows it.
type Status string

// Statuses, in their usual order.
const (
	StatusInvestigating Status = "investigating"
	StatusIdentified    Status = "identified"
	StatusMonitoring    Status = "monitoring"
	StatusResolved      Status = "resolved"
)

// Statuses lists every public status in order.
var Statuses = []Status{StatusInvestigating, StatusIdentified, StatusMonitoring, StatusResolved}

// ParseStatus accepts one of the public statuses, in any case.
func ParseStatus(s string) (Status, error) {
	return parseWord(s, Statuses, "%q is not a status. Use investigating, identified, monitoring or resolved.")
}

// parseWord finds s, in any case, among the values of a string type.
func parseWord[T ~string](s string, values []T, msg string) (T, error) {
	t := T(strings.ToLower(strings.TrimSpace(s)))
	for _, v := range values {
		if t == v {
			return v, nil
		}
	}
	return "", Errorf(EInvalid, msg, s)
}

// Role names with a special meaning. Other roles are free-form names.
const (
	RoleCommander    = "commander"
	RoleCommunicator = "communicator"
)

// Incident is one declared incident.
type Incident struct {
	Number int64 // INC-<Number>; never reused
	Title  string
	// Service is the affected service as configured (payments), if known.
	Service string
	// Private incidents have a private war room, are never announced or
	// on the status page, and show nothing to people outside Members.
	Private bool
	// Members may see and act on a private incident from anywhere: its
	// declarer, the people holding its roles and the owners of its action
	// items, as long as they do (see Release). Anyone in its (private) war
	// room may act there. Unused for public ones.
	Members     map[string]bool
	Description string
	Severity    Severity
	Stage       Stage
	Status      Status

	DeclaredBy   string // user ID
	Commander    string // user ID, or "" when nobody holds the role
	Communicator string
	// Roles holds the other named roles (scribe, ops-lead, ...) by name.
	Roles map[string]string

	// ChannelID is the war room, "" until it has been created.
	ChannelID   string
	ChannelName string
	// SummaryTS is the timestamp of the pinned summary message.
	SummaryTS string
	// Checklist is the incident's steps, in order (see Step);
	// ChecklistTS the war room's checklist message, "" until posted.
	Checklist   []Step
	ChecklistTS string
	// StatusUpdates counts the status commands accepted so far.
	StatusUpdates int
	// Impact says, in customers' words, who is affected and how.
	Impact string
	// Components are the affected parts of the service, by name.
	Components map[string]ComponentStatus
	// NextUpdateDue is when the next public update is owed; zero when none
	// is. Snoozes counts the times that update was snoozed.
	NextUpdateDue time.Time
	Snoozes       int
	// PublicStatus, PublicTitle and PublishedAt are the status and title of
	// the last public update and when it went out; PublicStatus is "" while
	// nothing has been published. They can differ from Status and Title:
	// the public hears only what a communicator publishes.
	PublicStatus Status
	PublicTitle  string
	PublishedAt  time.Time

	DeclaredAt     time.Time
	AcknowledgedAt time.Time // zero until acknowledged
	MitigatedAt    time.Time
	ResolvedAt     time.Time
	ClosedAt       time.Time
	UpdatedAt      time.Time
}

// Ref returns the incident's reference, e.g. "INC-7".
func (inc *Incident) Ref() string { return Ref(inc.Number) }

// Ref formats an incident number as a reference.
func Ref(n int64) string { return "INC-" + strconv.FormatInt(n, 10) }

// ParseRef accepts "INC-7", "inc-7", "#7" or "7"; ok is false for
// anything else.
func ParseRef(s string) (n int64, ok bool) {
	t := strings.ToUpper(strings.TrimSpace(s))
	switch {
	case strings.HasPrefix(t, "INC-"):
		t = t[4:]
	case strings.HasPrefix(t, "#"):
		t = t[1:]
	}
	if t == "" || strings.Trim(t, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 1 {
		return 0, false
	}
	return n, true
}

// Open reports whether the incident is not yet resolved.
func (inc *Incident) Open() bool { return inc.Status != StatusResolved }

// Clone returns a deep copy, so a rule can change it without touching the original.
func (inc *Incident) Clone() *Incident {
	c := *inc
	c.Roles = make(map[string]string, len(inc.Roles))
	for k, v := range inc.Roles {
		c.Roles[k] = v
	}
	c.Components = make(map[string]ComponentStatus, len(inc.Components))
	for k, v := range inc.Components {
		c.Components[k] = v
	}
	c.Checklist = append([]Step(nil), inc.Checklist...)
	c.Members = make(map[string]bool, len(inc.Members))
	for k := range inc.Members {
		c.Members[k] = true
	}
	return &c
}

// Visible reports whether user may see the incident: anyone for a public
// one; for a private one, its members and whoever is in its war room
// (where is the channel the user is in).
func (inc *Incident) Visible(user, where string) bool {
	return !inc.Private || inc.Members[user] || (where != "" && where == inc.ChannelID) || user == SystemActor
}

// AddMember lets user see a private incident; it does nothing for a public one.
func (inc *Incident) AddMember(user string) {
	if !inc.Private || user == "" || user == SystemActor {
		return
	}
	if inc.Members == nil {
		inc.Members = map[string]bool{}
	}
	inc.Members[user] = true
}

// Release takes away user's access to a private incident when they no
// longer hold a stake in it: not its declarer, not holding a role, and
// (ownsAction) owning none of its action items. A role handed on, or an
// action item reassigned, is what calls it.
func (inc *Incident) Release(user string, ownsAction bool) {
	if !inc.Private || user == "" || ownsAction || user == inc.DeclaredBy || user == inc.Commander || user == inc.Communicator {
		return
	}
	for _, holder := range inc.Roles {
		if holder == user {
			return
		}
	}
	delete(inc.Members, user)
}

// RoleNames returns the other role names in a stable order.
func (inc *Incident) RoleNames() []string {
	names := make([]string, 0, len(inc.Roles))
	for k := range inc.Roles {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Durations derived from the recorded timestamps. A zero duration means the
// later moment has not happened yet.
type Durations struct {
	ToAcknowledge time.Duration
	ToMitigate    time.Duration
	ToResolve     time.Duration
}

// Durations derives the key durations from the timestamps.
func (inc *Incident) Durations() Durations {
	since := func(t time.Time) time.Duration {
		if t.IsZero() {
			return 0
		}
		return t.Sub(inc.DeclaredAt)
	}
	return Durations{
		ToAcknowledge: since(inc.AcknowledgedAt),
		ToMitigate:    since(inc.MitigatedAt),
		ToResolve:     since(inc.ResolvedAt),
	}
}

// Elapsed is how long the incident has been (or was) open at now.
func (inc *Incident) Elapsed(now time.Time) time.Duration {
	if !inc.ResolvedAt.IsZero() {
		return inc.ResolvedAt.Sub(inc.DeclaredAt)
	}
	return now.Sub(inc.DeclaredAt)
}

// Published reports whether anything about the incident was made public.
func (inc *Incident) Published() bool { return inc.PublicStatus != "" }

// OwesFinalUpdate reports whether the incident is resolved while the public
// was last told something else: the status page would go on saying
// "Investigating" until the resolved update is published.
func (inc *Incident) OwesFinalUpdate() bool {
	return !inc.Open() && inc.Published() && inc.PublicStatus != StatusResolved
}

// NextStep tells the room what to type next, given the incident's state:
// the first thing of the response not yet done.
func (inc *Incident) NextStep() string {
	switch inc.Stage {
	case StageClosed:
		return "Closed. Nothing more to do here."
	case StageDocument:
		if inc.OwesFinalUpdate() {
			return "Publish the final public update: `/incident update resolved`"
		}
		if step := inc.checklistNext(); step != "" {
			return step
		}
		return "Write up what happened (`/incident postmortem`) and track follow-ups (`/incident action add <what will change> @owner`). When the review is done: `/incident close`. If it came back: `/incident reopen`"
	}
	// Nobody leading comes before the team's own steps: without a
	// commander, nobody is there to follow them.
	if step := inc.checklistNext(); step != "" && inc.Commander != "" {
		return step
	}
	public := !inc.Private
	switch {
	case inc.Commander == "":
		return "Take command: `/incident commander me`"
	case public && inc.PublicStatus == StatusResolved:
		return "The status page says resolved; tell the public it came back: `/incident update investigating`"
	case public && inc.Communicator == "":
		return "Name a communicator: `/incident communicator @user`"
	case public && !inc.Published() && inc.Severity <= SEV2:
		return "Publish the first public update: `/incident update`"
	}
	switch inc.Status {
	case StatusIdentified:
		return "When a fix is in place: `/incident status monitoring <what changed>`"
	case StatusMonitoring:
		return "When it's fixed: `/incident resolve <summary>`"
	}
	return "When the cause is known: `/incident status identified <cause>`"
}

// checklistNext is the first open checklist step of the stage, as a hint:
// the team's own process says what comes next. "" when there is none.
func (inc *Incident) checklistNext() string {
	i, ok := inc.NextChecklistStep()
	if !ok {
		return ""
	}
	// A step added with /incident checklist add is a person's text, and
	// the hint goes to Slack: it may name people, never ping @channel.
	if inc.Checklist[i].DoneWhen != "" {
		return fmt.Sprintf("%s (checklist step %d; warroom ticks it when it is done)", mrkdwn.EscapeUser(inc.Checklist[i].Text), i+1)
	}
	return fmt.Sprintf("%s (checklist step %d; when it is done: `/incident checklist done %d`)", mrkdwn.EscapeUser(inc.Checklist[i].Text), i+1, i+1)
}

// stageFor derives the stage the incident's state has earned. The stage in
// force is never earlier than the one already reached (see advance).
func stageFor(inc *Incident) Stage {
	switch {
	case !inc.ClosedAt.IsZero():
		return StageClosed
	case inc.Status == StatusResolved:
		return StageDocument
	case inc.Commander != "" && (inc.Status == StatusIdentified || inc.Status == StatusMonitoring):
		return StageRespond
	case inc.Communicator != "" || inc.StatusUpdates > 0:
		return StageCommunicate
	}
	return StageAssess
}

// advance moves the stage forward to what the state has earned.
func advance(inc *Incident) {
	if s := stageFor(inc); s.order() > inc.Stage.order() {
		inc.Stage = s
	}
}
