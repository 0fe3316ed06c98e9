package incident

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/warroom/warroom/internal/mrkdwn"
)

// Checklists (issue 17). A team writes down what its first responders do,
// step by step, because a list is easy to follow under stress and fatigue:
// one list that every incident gets, one per severity, one per service.
// The lists that apply to an incident are merged, in that order, without
// duplicates.

// ChecklistItem is one step of a checklist.
type ChecklistItem struct {
	// Stage is the stage of the response the step belongs to: assess,
	// communicate, respond or document.
	Stage Stage `json:"stage" yaml:"stage"`
	// Text says what to do, in the imperative: "Page the owning team".
	Text string `json:"text" yaml:"text"`
	// Link, if set, is where the how-to is: a runbook page.
	Link string `json:"link,omitempty" yaml:"link,omitempty"`
	// Owner, if set, is the role that does it: commander, communicator,
	// or a custom role.
	Owner string `json:"owner,omitempty" yaml:"owner,omitempty"`
	// DoneWhen, if set, is the lifecycle event that ticks the step by
	// itself ("done by warroom").
	DoneWhen Trigger `json:"done_when,omitempty" yaml:"done_when,omitempty"`
	// Optional steps are not listed as left undone when the incident
	// resolves; every other step is.
	Optional bool `json:"optional,omitempty" yaml:"optional,omitempty"`
}

// Trigger is a lifecycle event that ticks a checklist step.
type Trigger string

// The triggers a step's done_when may name.
const (
	TriggerCommanderNamed    Trigger = "commander_named"
	TriggerCommunicatorNamed Trigger = "communicator_named"
	TriggerFirstPublicUpdate Trigger = "first_public_update"
	TriggerPageSent          Trigger = "page_sent"
	TriggerTicketFiled       Trigger = "ticket_filed"
	TriggerIdentified        Trigger = "identified"
	TriggerMonitoring        Trigger = "monitoring"
	TriggerPostmortemWritten Trigger = "postmortem_written"
	TriggerActionItemAdded   Trigger = "action_item_added"
)

// Triggers lists every trigger, in lifecycle order.
var Triggers = []Trigger{TriggerCommanderNamed, TriggerCommunicatorNamed, TriggerFirstPublicUpdate, TriggerPageSent,
	TriggerTicketFiled, TriggerIdentified, TriggerMonitoring, TriggerPostmortemWritten, TriggerActionItemAdded}

// Valid reports whether t is one of Triggers.
func (t Trigger) Valid() bool {
	for _, k := range Triggers {
		if t == k {
			return true
		}
	}
	return false
}

// Checklist bounds: a step is read on a phone under stress.
const (
	maxChecklistText  = 300
	maxChecklistItems = MaxChecklistSteps
)

// MaxChecklistSteps is the most steps an incident's checklist holds.
const MaxChecklistSteps = 50

// Validate says what is wrong with the step, in a sentence that names the
// field and what it may be; nil if nothing is.
func (it ChecklistItem) Validate() error {
	switch it.Stage {
	case StageAssess, StageCommunicate, StageRespond, StageDocument:
	case "":
		return fmt.Errorf("stage is missing: it is one of assess, communicate, respond, document")
	default:
		return fmt.Errorf("stage %q is not a stage: use assess, communicate, respond or document", it.Stage)
	}
	text := strings.TrimSpace(it.Text)
	switch {
	case text == "":
		return fmt.Errorf("text is missing: say what to do, e.g. \"Page the owning team\"")
	case !utf8.ValidString(text):
		return fmt.Errorf("text is not valid UTF-8")
	case utf8.RuneCountInString(text) > maxChecklistText:
		return fmt.Errorf("text is %d characters; at most %d", utf8.RuneCountInString(text), maxChecklistText)
	case strings.ContainsAny(text, "\n\r"):
		return fmt.Errorf("text is more than one line; a step is one line (put the detail behind its link)")
	case !strings.ContainsFunc(text, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }):
		return fmt.Errorf("text has no letter or digit: say what to do")
	}
	if err := checkChars("step", text); err != nil {
		return fmt.Errorf("%s", strings.TrimSuffix(ErrorMessage(err), " Retype it without it."))
	}
	if it.Link != "" {
		u, err := url.Parse(it.Link)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("link %q is not an http(s) URL", it.Link)
		}
	}
	if it.Owner != "" {
		if _, err := CleanRole(it.Owner); err != nil {
			return fmt.Errorf("owner %q is not a role: use commander, communicator, or a role's name such as scribe", it.Owner)
		}
	}
	if it.DoneWhen != "" && !it.DoneWhen.Valid() {
		names := make([]string, len(Triggers))
		for i, t := range Triggers {
			names[i] = string(t)
		}
		return fmt.Errorf("done_when %q is not an event warroom knows: use one of %s", it.DoneWhen, strings.Join(names, ", "))
	}
	return nil
}

// Checklists are a team's lists: Default for every incident, one per
// severity, one per service (by the service's name, in any case).
type Checklists struct {
	Default  []ChecklistItem
	Severity map[Severity][]ChecklistItem
	Service  map[string][]ChecklistItem
}

// For returns the steps for an incident of severity sev and service
// (empty for none): the default list, then the severity's, then the
// service's, each step once (the first time its text appears, case and
// spacing aside), at most maxChecklistItems.
func (c Checklists) For(sev Severity, service string) []ChecklistItem {
	var out []ChecklistItem
	seen := map[string]bool{}
	add := func(list []ChecklistItem) {
		for _, it := range list {
			key := checklistKey(it.Text)
			if seen[key] || len(out) == maxChecklistItems {
				continue
			}
			seen[key] = true
			out = append(out, it)
		}
	}
	add(c.Default)
	add(c.Severity[sev])
	if service != "" {
		for name, list := range c.Service {
			if strings.EqualFold(name, service) {
				add(list)
				break
			}
		}
	}
	return out
}

// checklistKey is what makes two steps the same step.
func checklistKey(text string) string {
	return strings.ToLower(strings.Join(strings.Fields(text), " "))
}

// Empty reports whether no list has a step.
func (c Checklists) Empty() bool {
	if len(c.Default) > 0 {
		return false
	}
	for _, l := range c.Severity {
		if len(l) > 0 {
			return false
		}
	}
	for _, l := range c.Service {
		if len(l) > 0 {
			return false
		}
	}
	return true
}

// Fired reports whether trigger t has happened once a change is made:
// after is the incident as the change left it, e the entry it appended.
// The incident's state answers for the roles, the first public update and
// the status; the entry for the things that are events (a page sent, the
// Jira issue filed, the postmortem draft written, an action item added).
func (t Trigger) Fired(after *Incident, e Entry) bool {
	ok := e.Outcome == OutcomeOK
	switch t {
	case TriggerCommanderNamed:
		return after.Commander != ""
	case TriggerCommunicatorNamed:
		return after.Communicator != ""
	case TriggerFirstPublicUpdate:
		return !after.PublishedAt.IsZero()
	case TriggerIdentified:
		return after.Status == StatusIdentified || after.Status == StatusMonitoring || after.Status == StatusResolved
	case TriggerMonitoring:
		return after.Status == StatusMonitoring || after.Status == StatusResolved
	case TriggerPageSent:
		return ok && e.Kind == "page"
	case TriggerTicketFiled:
		return ok && e.Kind == "link" && e.Detail["system"] == "jira"
	case TriggerPostmortemWritten:
		return ok && e.Kind == KindPostmortem
	case TriggerActionItemAdded:
		return ok && e.Kind == KindAction && e.Detail["action"] == "add"
	}
	return false
}

// Step is a checklist item as one incident holds it: loaded from the
// team's lists at declare (and when the severity changes), or added to this
// incident alone; open, or ticked by someone (or by warroom) at a time.
type Step struct {
	ChecklistItem
	// DoneAt and DoneBy say when and by whom the step was ticked; DoneBy
	// is SystemActor when warroom ticked it from the lifecycle. Zero while open.
	DoneAt time.Time `json:"done_at"`
	DoneBy string    `json:"done_by,omitempty"`
	// AddedBy is who added the step to this incident only
	// (`/incident checklist add`); "" for the team's lists.
	AddedBy string `json:"added_by,omitempty"`
}

// Done reports whether the step is ticked.
func (s Step) Done() bool { return !s.DoneAt.IsZero() }

// KindChecklist is the timeline kind of a step ticked, unticked or added.
const KindChecklist = "checklist"

// loadChecklist adds the steps of items the incident does not hold yet,
// in order, up to maxChecklistItems in all, and returns how many it added.
func (inc *Incident) loadChecklist(items []ChecklistItem) int {
	if len(inc.Checklist) == 0 {
		// A new checklist is numbered in the order it is shown, stage by
		// stage; steps added later (a worse severity) come after, so the
		// numbers people have used keep meaning the same steps.
		items = InStageOrder(items)
	}
	have := map[string]bool{}
	for _, st := range inc.Checklist {
		have[checklistKey(st.Text)] = true
	}
	added := 0
	for _, it := range items {
		if key := checklistKey(it.Text); !have[key] && len(inc.Checklist) < maxChecklistItems {
			have[key] = true
			inc.Checklist = append(inc.Checklist, Step{ChecklistItem: it})
			added++
		}
	}
	return added
}

// InStageOrder returns the steps ordered by stage (assess first), each
// stage's in the order given: how an incident's new checklist is numbered.
func InStageOrder(items []ChecklistItem) []ChecklistItem {
	out := slices.Clone(items)
	slices.SortStableFunc(out, func(a, b ChecklistItem) int { return a.Stage.order() - b.Stage.order() })
	return out
}

// autoTick ticks, as warroom, every open step whose done_when the change
// that appended e has fired, and returns their texts.
func (inc *Incident) autoTick(e Entry, now time.Time) []string {
	var ticked []string
	for i := range inc.Checklist {
		st := &inc.Checklist[i]
		if !st.Done() && st.DoneWhen != "" && st.DoneWhen.Fired(inc, e) {
			st.DoneAt, st.DoneBy = now, SystemActor
			ticked = append(ticked, st.Text)
		}
	}
	return ticked
}

// tickFromLifecycle runs autoTick for the entry a change is about to
// append and notes on it what warroom ticked, so the timeline says why a
// step was done.
func tickFromLifecycle(inc *Incident, e *Entry) bool {
	ticked := inc.autoTick(*e, e.At)
	if len(ticked) == 0 {
		return false
	}
	if e.Detail == nil {
		e.Detail = map[string]string{}
	}
	e.Detail["checklist_ticked"] = strings.Join(ticked, "\n")
	return true
}

// ChecklistProgress counts the steps done and in all.
func (inc *Incident) ChecklistProgress() (done, total int) {
	for _, st := range inc.Checklist {
		if st.Done() {
			done++
		}
	}
	return done, len(inc.Checklist)
}

// NextChecklistStep is the first open step of the stage the incident is
// in, by its index in Checklist; ok is false when the stage has none open.
func (inc *Incident) NextChecklistStep() (i int, ok bool) {
	for i, st := range inc.Checklist {
		if st.Stage == inc.Stage && !st.Done() {
			return i, true
		}
	}
	return 0, false
}

// OpenSteps lists the steps not done and not optional: what a resolve
// reply and the postmortem name as left undone.
func (inc *Incident) OpenSteps() []Step {
	var out []Step
	for _, st := range inc.Checklist {
		if !st.Done() && !st.Optional {
			out = append(out, st)
		}
	}
	return out
}

// stepIndex reads a step's number as people type it (1-based).
func stepIndex(inc *Incident, number string) (int, error) {
	i, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(number), "#"))
	if len(inc.Checklist) == 0 {
		return 0, Errorf(EConflict, "%s has no checklist. Add a step: `/incident checklist add <what to do>`.", inc.Ref())
	}
	if err != nil || i < 1 || i > len(inc.Checklist) {
		return 0, Errorf(EInvalid, "%q is not a step of %s's checklist: give its number, 1 to %d (`/incident checklist` lists them).", number, inc.Ref(), len(inc.Checklist))
	}
	return i - 1, nil
}

// UseChecklists sets the team's lists, loaded into each incident at declare.
func (s *Service) UseChecklists(c Checklists) { s.checklists = c }

// Checklists returns the team's lists.
func (s *Service) Checklists() Checklists { return s.checklists }

// TickStep ticks (done) or unticks step number (1-based, as shown) of
// incident n's checklist. Anyone who may act on the incident may; it is a
// timeline entry like any command. Ticking a ticked step, or unticking an
// open one, is refused as a conflict, so a second click on a stale message
// says what happened instead of doing it twice.
func (s *Service) TickStep(ctx context.Context, n int64, cmd Command, number string, done bool) (*Incident, error) {
	cmd.Kind = KindChecklist
	return s.change(ctx, n, cmd, func(inc *Incident, now time.Time) (map[string]string, error) {
		if err := notClosed(inc); err != nil {
			return nil, err
		}
		i, err := stepIndex(inc, number)
		if err != nil {
			return nil, err
		}
		st := &inc.Checklist[i]
		switch {
		case done && st.Done():
			by := "<@" + st.DoneBy + ">"
			if st.DoneBy == SystemActor {
				by = "warroom"
			}
			return nil, Errorf(EConflict, "Step %d (%s) was already done by %s at %s UTC. To open it again: `/incident checklist undo %d`.", i+1, mrkdwn.EscapeUser(st.Text), by, st.DoneAt.UTC().Format("15:04"), i+1)
		case !done && !st.Done():
			return nil, Errorf(EConflict, "Step %d (%s) is open already, so there is nothing to undo. When it is done: `/incident checklist done %d`.", i+1, mrkdwn.EscapeUser(st.Text), i+1)
		}
		verb := "done"
		if done {
			st.DoneAt, st.DoneBy = now, cmd.Actor
		} else {
			st.DoneAt, st.DoneBy = time.Time{}, ""
			verb = "undone"
		}
		return map[string]string{"step": strconv.Itoa(i + 1), "text": st.Text, "action": verb}, nil
	})
}

// AddStep adds a step to incident n's checklist alone, in stage (the
// incident's current stage when empty).
func (s *Service) AddStep(ctx context.Context, n int64, cmd Command, stage Stage, text string) (*Incident, error) {
	cmd.Kind = KindChecklist
	return s.change(ctx, n, cmd, func(inc *Incident, _ time.Time) (map[string]string, error) {
		if err := notClosed(inc); err != nil {
			return nil, err
		}
		if stage == "" {
			stage = inc.Stage
		}
		it := ChecklistItem{Stage: stage, Text: strings.Join(strings.Fields(text), " ")}
		if err := it.Validate(); err != nil {
			return nil, Errorf(EInvalid, "That step can't be added: %v.", err)
		}
		if len(inc.Checklist) >= maxChecklistItems {
			return nil, Errorf(EConflict, "%s's checklist has %d steps, the most it can hold. Put the rest in a note: `/incident note <text>`.", inc.Ref(), maxChecklistItems)
		}
		for j, st := range inc.Checklist {
			if checklistKey(st.Text) == checklistKey(it.Text) {
				return nil, Errorf(EConflict, "Step %d already says that: %s. When it is done: `/incident checklist done %d`.", j+1, mrkdwn.EscapeUser(st.Text), j+1)
			}
		}
		inc.Checklist = append(inc.Checklist, Step{ChecklistItem: it, AddedBy: cmd.Actor})
		return map[string]string{"step": strconv.Itoa(len(inc.Checklist)), "text": it.Text, "step_stage": string(it.Stage), "action": "add"}, nil
	})
}

// SetChecklistMessage remembers the war room's checklist message. Like
// SetSummaryMessage it is plumbing, not an event.
func (s *Service) SetChecklistMessage(ctx context.Context, n int64, ts string) error {
	return s.store.Update(ctx, func(tx Tx) error {
		inc, err := tx.Incident(ctx, n)
		if err != nil {
			return err
		}
		inc.ChecklistTS = ts
		return tx.SaveIncident(ctx, inc)
	})
}
