package bot

import (
	"encoding/json"
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
