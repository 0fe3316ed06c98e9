package incident

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestChecklistsMergeInOrderWithoutDuplicates(t *testing.T) {
	c := Checklists{
		Default: []ChecklistItem{
			{Stage: StageAssess, Text: "Confirm the impact from a second source"},
			{Stage: StageCommunicate, Text: "Publish the first public update", DoneWhen: TriggerFirstPublicUpdate},
		},
		Severity: map[Severity][]ChecklistItem{SEV1: {
			{Stage: StageRespond, Text: "Page the owning team", DoneWhen: TriggerPageSent},
			{Stage: StageCommunicate, Text: "publish  the first PUBLIC update"}, // the default's, again
		}},
		Service: map[string][]ChecklistItem{"Payments": {
			{Stage: StageRespond, Text: "Check the card processor's status page"},
			{Stage: StageRespond, Text: "Page the owning team"},
		}},
	}
	texts := func(items []ChecklistItem) string {
		var out []string
		for _, it := range items {
			out = append(out, it.Text)
		}
		return strings.Join(out, " | ")
	}
	for _, tc := range []struct {
		sev     Severity
		service string
		want    string
	}{
		{SEV3, "", "Confirm the impact from a second source | Publish the first public update"},
		{SEV1, "", "Confirm the impact from a second source | Publish the first public update | Page the owning team"},
		{SEV1, "payments", "Confirm the impact from a second source | Publish the first public update | Page the owning team | Check the card processor's status page"},
		{SEV2, "PAYMENTS", "Confirm the impact from a second source | Publish the first public update | Check the card processor's status page | Page the owning team"},
		{SEV2, "search", "Confirm the impact from a second source | Publish the first public update"},
	} {
		if got := texts(c.For(tc.sev, tc.service)); got != tc.want {
			t.Errorf("For(%v, %q):\n got %s\nwant %s", tc.sev, tc.service, got, tc.want)
		}
	}
	// The first occurrence wins, with its own fields.
	if got := c.For(SEV1, ""); got[1].DoneWhen != TriggerFirstPublicUpdate {
		t.Errorf("the merged step lost the default's done_when: %+v", got[1])
	}
	if (Checklists{}).Empty() != true || c.Empty() {
		t.Error("Empty")
	}
	var many []ChecklistItem
	for i := range 80 {
		many = append(many, ChecklistItem{Stage: StageRespond, Text: fmt.Sprintf("step %d", i)})
	}
	if n := len((Checklists{Default: many}).For(SEV1, "")); n != maxChecklistItems {
		t.Errorf("%d steps, want at most %d", n, maxChecklistItems)
	}
}

func TestChecklistItemValidate(t *testing.T) {
	ok := ChecklistItem{Stage: StageRespond, Text: "Page the owning team", DoneWhen: TriggerPageSent, Link: "https://wiki.example.com/sev1", Owner: "commander"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("a good step: %v", err)
	}
	for _, tc := range []struct {
		change func(*ChecklistItem)
		want   string
	}{
		{func(it *ChecklistItem) { it.Stage = "" }, "stage is missing"},
		{func(it *ChecklistItem) { it.Stage = "closed" }, `stage "closed" is not a stage`},
		{func(it *ChecklistItem) { it.Text = "  " }, "text is missing"},
		{func(it *ChecklistItem) { it.Text = strings.Repeat("é", 301) }, "301 characters"},
		{func(it *ChecklistItem) { it.Text = "one\ntwo" }, "more than one line"},
		{func(it *ChecklistItem) { it.Text = "bad \xff byte" }, "not valid UTF-8"},
		{func(it *ChecklistItem) { it.Link = "javascript:alert(1)" }, "not an http(s) URL"},
		{func(it *ChecklistItem) { it.Link = "https://" }, "not an http(s) URL"},
		{func(it *ChecklistItem) { it.DoneWhen = "paged" }, `done_when "paged" is not an event warroom knows: use one of commander_named,`},
	} {
		it := ok
		tc.change(&it)
		if err := it.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", it, err, tc.want)
		}
	}
	for _, tr := range Triggers {
		if !tr.Valid() {
			t.Errorf("%s not valid", tr)
		}
	}
}

func TestTriggersFireFromTheLifecycle(t *testing.T) {
	inc := &Incident{Status: StatusInvestigating}
	note := Entry{Kind: "note", Outcome: OutcomeOK}
	for _, tr := range Triggers {
		if tr.Fired(inc, note) {
			t.Errorf("%s fired on a new incident's note", tr)
		}
	}
	named := &Incident{Status: StatusMonitoring, Commander: "U1", Communicator: "U2", PublishedAt: time.Now()}
	for _, tr := range []Trigger{TriggerCommanderNamed, TriggerCommunicatorNamed, TriggerFirstPublicUpdate, TriggerIdentified, TriggerMonitoring} {
		if !tr.Fired(named, note) {
			t.Errorf("%s did not fire on %+v", tr, named)
		}
	}
	if TriggerMonitoring.Fired(&Incident{Status: StatusIdentified}, note) || !TriggerIdentified.Fired(&Incident{Status: StatusIdentified}, note) {
		t.Error("identified is not monitoring")
	}
	for tr, e := range map[Trigger]Entry{
		TriggerPageSent:          {Kind: "page", Outcome: OutcomeOK},
		TriggerTicketFiled:       {Kind: "link", Outcome: OutcomeOK, Detail: map[string]string{"system": "jira", "ref": "OPS-1"}},
		TriggerPostmortemWritten: {Kind: KindPostmortem, Outcome: OutcomeOK},
		TriggerActionItemAdded:   {Kind: KindAction, Outcome: OutcomeOK, Detail: map[string]string{"action": "add"}},
	} {
		if !tr.Fired(inc, e) {
			t.Errorf("%s did not fire on %+v", tr, e)
		}
		refused := e
		refused.Outcome = "rejected: no"
		if tr.Fired(inc, refused) {
			t.Errorf("%s fired on a refused %s", tr, e.Kind)
		}
	}
	if TriggerActionItemAdded.Fired(inc, Entry{Kind: KindAction, Outcome: OutcomeOK, Detail: map[string]string{"action": "done"}}) {
		t.Error("an action item closed counted as added")
	}
	if TriggerTicketFiled.Fired(inc, Entry{Kind: "link", Outcome: OutcomeOK, Detail: map[string]string{"system": "statuspage"}}) {
		t.Error("a Statuspage link counted as the Jira issue")
	}
}

func TestOvernightResponders(t *testing.T) {
	loc := time.FixedZone("UTC+2", 2*3600)
	at := func(h, m int) time.Time { return time.Date(2026, 12, 2, h, m, 0, 0, loc) }
	entries := []Entry{
		{Actor: "U1", At: at(23, 50)},            // evening: not the night
		{Actor: SystemActor, At: at(0, 10)},      // warroom itself
		{Actor: "U2", At: at(0, 0)},              // the night starts at 00:00
		{Actor: "U3", At: at(5, 59)},             // and ends at 06:00
		{Actor: "U2", At: at(2, 0)},              // once each
		{Actor: "U4", At: at(6, 0)},              // morning
		{Actor: "U5", At: at(4, 0).In(time.UTC)}, // 02:00 UTC is 04:00 here
	}
	if got := OvernightResponders(entries, loc); strings.Join(got, ",") != "U2,U3,U5" {
		t.Errorf("overnight at UTC+2: %v", got)
	}
	// The same entries in UTC: U3 03:59, U2 00:00 (its second), U4 04:00, U5 02:00.
	if got := OvernightResponders(entries, time.UTC); strings.Join(got, ",") != "U3,U2,U4,U5" {
		t.Errorf("overnight in UTC: %v", got)
	}
}

// The hint follows the stage's first open step, except that an incident
// nobody leads is told to take command first.
func TestNextStepFromTheChecklist(t *testing.T) {
	inc := &Incident{Number: 4, Stage: StageAssess, Status: StatusInvestigating, Commander: "U1",
		Checklist: []Step{{ChecklistItem: ChecklistItem{Stage: StageAssess, Text: "Confirm <!channel> impact"}}, {ChecklistItem: ChecklistItem{Stage: StageRespond, Text: "Fail over"}}}}
	if got := inc.NextStep(); got != "Confirm &lt;!channel&gt; impact (checklist step 1; when it is done: `/incident checklist done 1`)" {
		t.Errorf("NextStep: %q", got)
	}
	inc.Commander = ""
	if got := inc.NextStep(); !strings.HasPrefix(got, "Take command") {
		t.Errorf("without a commander: %q", got)
	}
	inc.Commander, inc.Checklist[0].DoneAt = "U1", time.Now()
	if got := inc.NextStep(); strings.Contains(got, "Fail over") {
		t.Errorf("a later stage's step was offered in assess: %q", got)
	}
}
