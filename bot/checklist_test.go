package bot

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
)

func TestChecklistBlocksRender(t *testing.T) {
	inc := &incident.Incident{Number: 3, Stage: incident.StageAssess}
	inc.Checklist = []incident.Step{{ChecklistItem: incident.ChecklistItem{Stage: incident.StageAssess, Text: "One"}, DoneAt: time.Now(), DoneBy: "U1"}}
	b, err := json.Marshal(checklistBlocks(inc, map[string]string{"U1": "bob"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Log(string(b))
}

// BenchmarkChecklistMessage50 renders the checklist message of a 50-step
// checklist (half ticked) as Slack gets it (Block Kit JSON), against the
// pinned summary of the same incident in the same run.
func BenchmarkChecklistMessage50(b *testing.B) {
	inc := &incident.Incident{Number: 7, Title: "Checkout returns 500s", Severity: incident.SEV1, Stage: incident.StageRespond, Status: incident.StatusIdentified,
		Commander: "U1", Roles: map[string]string{}, DeclaredAt: time.Now().Add(-time.Hour)}
	stages := []incident.Stage{incident.StageAssess, incident.StageCommunicate, incident.StageRespond, incident.StageDocument}
	for i := range 50 {
		st := incident.Step{ChecklistItem: incident.ChecklistItem{Stage: stages[i%4], Text: strings.Repeat("Check the thing ", 5), Link: "https://wiki.example.com/x"}}
		if i%2 == 0 {
			st.DoneAt, st.DoneBy = time.Now(), "U1"
		}
		inc.Checklist = append(inc.Checklist, st)
	}
	names := map[string]string{"U1": "alice"}
	b.Run("summary-baseline", func(b *testing.B) {
		for range b.N {
			if _, err := json.Marshal(summaryBlocks(inc, nil, time.Now())); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("checklist", func(b *testing.B) {
		var size int
		for range b.N {
			out, err := json.Marshal(checklistBlocks(inc, names))
			if err != nil {
				b.Fatal(err)
			}
			size = len(out)
		}
		b.ReportMetric(float64(size), "bytes")
	})
}
