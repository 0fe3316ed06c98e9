package incident

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
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
	// Required steps still open are listed when the incident resolves.
	Required bool `json:"required,omitempty" yaml:"required,omitempty"`
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
	maxChecklistItems = 50
)

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
	}
	if it.Link != "" {
		u, err := url.Parse(it.Link)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("link %q is not an http(s) URL", it.Link)
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
