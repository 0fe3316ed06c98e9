package main

import (
	"context"
	"strings"
	"testing"
)

// TestPublicUpdateFromTheTemplate: the communicator drafts an update from
// the template, sees the lint's warnings, edits and publishes it; the exact
// text reaches the war room and is stored; a bystander is told who can.
func TestPublicUpdateFromTheTemplate(t *testing.T) {
	for _, mode := range []string{"http", "socket"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			w := start(t, mode)
			w.cmd("alice", w.general, "declare sev1 Checkout returns 500s")
			room := w.room("INC-1")
			w.cmd("alice", room.ID, "communicator "+w.at("carol"))
			if r := w.cmd("carol", room.ID, "components checkout=partial_outage payments=degraded_performance"); !strings.Contains(r, "Components set") {
				t.Fatalf("components: %q", r)
			}
			if r := w.cmd("dave", room.ID, "update"); !strings.Contains(r, "Only the communicator (@") && !strings.Contains(r, "Only the communicator (<@") {
				t.Fatalf("a bystander: %q", r)
			}
			if r := w.cmd("carol", room.ID, "update investigating We think the ETA is 20 minutes"); r != "" {
				t.Fatalf("opening the preview replied %q", r)
			}
			views := w.sim.Views()
			body := string(views[len(views)-1].Body)
			for _, want := range []string{`"callback_id":"warroom_update"`, "Checkout returns 500s: investigating",
				"Affected: checkout (partial outage), payments (degraded performance).", "Next update by ", "*eta*", "*speculation*"} {
				if !strings.Contains(body, want) {
					t.Errorf("preview lacks %q:\n%s", want, body)
				}
			}
			text := "We are investigating failed payments on checkout.\n\nNext update by 10:30 UTC."
			r, err := w.sim.SubmitView(context.Background(), views[len(views)-1].ID, map[string]map[string]string{
				"update_status": {"update_status": "investigating"}, "update_body": {"update_body": text},
			})
			if err != nil || strings.TrimSpace(string(r.Payload)) != "" {
				t.Fatalf("publish: %s %v", r.Payload, err)
			}
			w.eventually("the update is in the war room, quoted exactly", func() bool {
				return w.posted(room.ID, "published a public update for INC-1", "> We are investigating failed payments on checkout.")
			})
			w.eventually("the update is announced", func() bool { return w.posted(w.announce, "INC-1 public update") })
			w.eventually("the summary shows the components and the next update", func() bool {
				s := string(w.pinned(room.ID).Blocks)
				return strings.Contains(s, "Next public update") && strings.Contains(s, "checkout: partial outage")
			})
			w.cmd("carol", room.ID, "note internal: the db password rotated at 09:58")
			inc := w.show("INC-1")
			if len(inc.PublicUpdates) != 1 || inc.PublicUpdates[0].Body != text || inc.NextUpdateDue == nil {
				t.Fatalf("stored: %+v next %v", inc.PublicUpdates, inc.NextUpdateDue)
			}
			if due := inc.NextUpdateDue.Sub(inc.PublicUpdates[0].At); due < 29*60e9 || due > 30*60e9 {
				t.Errorf("SEV1 next update due after %v, want 30m", due)
			}
			for _, u := range inc.PublicUpdates {
				if strings.Contains(u.Body, "password") {
					t.Error("an internal note reached a public update")
				}
			}
			if inc.Components["checkout"] != "partial_outage" {
				t.Errorf("components: %v", inc.Components)
			}
		})
	}
}
