package incident_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
)

// TestChecklistTicksByPeopleAndByTheLifecycle: steps are loaded at
// declare, ticked by people (each a timeline entry, a second tick refused
// as a conflict) and by warroom when the lifecycle does what a step's
// done_when names; a worse severity merges its list; the hint follows the
// stage's first open step.
func TestChecklistTicksByPeopleAndByTheLifecycle(t *testing.T) {
	ctx := context.Background()
	st := newMem()
	c := &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	svc := incident.NewService(st, c.now)
	svc.Enable(incident.KindPage)
	svc.UseChecklists(incident.Checklists{
		Default: []incident.ChecklistItem{
			{Stage: incident.StageAssess, Text: "Confirm the impact"},
			{Stage: incident.StageAssess, Text: "Name a commander", DoneWhen: incident.TriggerCommanderNamed},
			{Stage: incident.StageCommunicate, Text: "Name a communicator", DoneWhen: incident.TriggerCommunicatorNamed},
			{Stage: incident.StageRespond, Text: "File the ticket", DoneWhen: incident.TriggerTicketFiled},
			{Stage: incident.StageDocument, Text: "Add an action item", DoneWhen: incident.TriggerActionItemAdded, Optional: true},
		},
		Severity: map[incident.Severity][]incident.ChecklistItem{incident.SEV1: {
			{Stage: incident.StageRespond, Text: "Page the owning team", DoneWhen: incident.TriggerPageSent},
			{Stage: incident.StageAssess, Text: "confirm  the IMPACT"}, // the default's again
		}},
	})
	inc, err := svc.Declare(ctx, cmd("alice", "declare"), incident.Declaration{Title: "Checkout returns 500s", Severity: incident.SEV2})
	if err != nil {
		t.Fatal(err)
	}
	n := inc.Number
	if len(inc.Checklist) != 5 || !inc.Checklist[1].Done() || inc.Checklist[1].DoneBy != incident.SystemActor || inc.Checklist[0].Done() {
		t.Fatalf("declared: %+v", inc.Checklist)
	}
	if got := st.entries[len(st.entries)-1].Detail["checklist_ticked"]; got != "Name a commander" {
		t.Errorf("the declare entry does not say what warroom ticked: %q", got)
	}
	if next := inc.NextStep(); !strings.HasPrefix(next, "Confirm the impact (checklist step 1") {
		t.Errorf("hint: %q", next)
	}
	if d, total := inc.ChecklistProgress(); d != 1 || total != 5 {
		t.Errorf("progress %d/%d", d, total)
	}

	c.step(time.Minute)
	inc, err = svc.TickStep(ctx, n, cmd("bob", "checklist"), "1", true)
	if err != nil || !inc.Checklist[0].Done() || inc.Checklist[0].DoneBy != "bob" || !inc.Checklist[0].DoneAt.Equal(c.t) {
		t.Fatalf("tick: %v %+v", err, inc.Checklist[0])
	}
	if _, err := svc.TickStep(ctx, n, cmd("carol", "checklist"), "1", true); incident.ErrorCode(err) != incident.EConflict || !strings.Contains(incident.ErrorMessage(err), "already done by <@bob>") {
		t.Errorf("a second tick: %v", err)
	}
	for _, bad := range []string{"0", "6", "x", ""} {
		if _, err := svc.TickStep(ctx, n, cmd("bob", "checklist"), bad, true); incident.ErrorCode(err) != incident.EInvalid {
			t.Errorf("tick %q: %v", bad, err)
		}
	}
	if _, err := svc.TickStep(ctx, n, cmd("bob", "checklist"), "3", false); incident.ErrorCode(err) != incident.EConflict {
		t.Errorf("undo of an open step: %v", err)
	}
	inc, _ = svc.TickStep(ctx, n, cmd("bob", "checklist"), "1", false)
	if inc.Checklist[0].Done() {
		t.Error("undo left the step done")
	}
	rejected, ticks := 0, 0
	for _, e := range st.entries {
		if e.Kind == incident.KindChecklist {
			if e.OK() {
				ticks++
			} else {
				rejected++
			}
		}
	}
	if ticks != 2 || rejected != 6 {
		t.Errorf("timeline: %d ticks, %d refusals; want 2 and 6 (every command is recorded)", ticks, rejected)
	}

	// The lifecycle ticks: a communicator, the Jira issue, a page once SEV1.
	inc, _ = svc.Assign(ctx, n, cmd("alice", "communicator"), "communicator", "carol")
	if !inc.Checklist[2].Done() {
		t.Error("naming a communicator did not tick its step")
	}
	if err := svc.Link(ctx, n, incident.Link{System: "jira", Ref: "OPS-1"}); err != nil {
		t.Fatal(err)
	}
	if inc, _ = svc.Get(ctx, n); !inc.Checklist[3].Done() || inc.Checklist[3].DoneBy != incident.SystemActor {
		t.Errorf("filing the ticket did not tick its step: %+v", inc.Checklist[3])
	}
	inc, _ = svc.SetSeverity(ctx, n, cmd("alice", "severity"), incident.SEV1)
	if len(inc.Checklist) != 6 || inc.Checklist[5].Text != "Page the owning team" || inc.Checklist[5].Done() {
		t.Fatalf("SEV1 merged: %+v", inc.Checklist)
	}
	inc, _ = svc.Page(ctx, n, cmd("alice", "page"), "payments", "")
	if !inc.Checklist[5].Done() {
		t.Error("paging did not tick its step")
	}

	// Added steps are validated, unique, and for this incident only.
	if _, err := svc.AddStep(ctx, n, cmd("bob", "checklist"), "", "Confirm the IMPACT"); incident.ErrorCode(err) != incident.EConflict {
		t.Errorf("a duplicate step: %v", err)
	}
	if _, err := svc.AddStep(ctx, n, cmd("bob", "checklist"), "", strings.Repeat("x", 301)); incident.ErrorCode(err) != incident.EInvalid {
		t.Errorf("a 301-character step: %v", err)
	}
	inc, err = svc.AddStep(ctx, n, cmd("bob", "checklist"), "", "Check the replica lag")
	if err != nil || inc.Checklist[6].AddedBy != "bob" || inc.Checklist[6].Stage != inc.Stage {
		t.Fatalf("add: %v %+v", err, inc.Checklist)
	}

	// Resolve: the open steps, optional ones aside.
	inc, _ = svc.Assign(ctx, n, cmd("alice", "commander"), "commander", "alice")
	inc, _ = svc.Resolve(ctx, n, cmd("alice", "resolve"), "")
	var open []string
	for _, s := range inc.OpenSteps() {
		open = append(open, s.Text)
	}
	if strings.Join(open, "|") != "Confirm the impact|Check the replica lag" {
		t.Errorf("open steps: %q", open)
	}
	if _, err := svc.AddAction(ctx, n, cmd("alice", "action"), incident.NewAction{Text: "Alert on cert expiry", Owner: "bob"}); err != nil {
		t.Fatal(err)
	}
	if inc, _ = svc.Get(ctx, n); !inc.Checklist[4].Done() {
		t.Error("adding an action item did not tick its step")
	}
}
