package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/slacksim"
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
			if r := w.cmd("carol", room.ID, "impact failed card payments for some customers"); !strings.Contains(r, "Impact set") {
				t.Fatalf("impact: %q", r)
			}
			if r := w.cmd("dave", room.ID, "update"); !strings.Contains(r, "Only the communicator (@") && !strings.Contains(r, "Only the communicator (<@") {
				t.Fatalf("a bystander: %q", r)
			}
			if r := w.cmd("carol", room.ID, "update investigating We think the ETA is 20 minutes"); r != "" {
				t.Fatalf("opening the preview replied %q", r)
			}
			views := w.sim.Views()
			body := string(views[len(views)-1].Body)
			for _, want := range []string{`"callback_id":"warroom_update"`, "Checkout returns 500s: investigating", "We are investigating failed card payments for some customers.",
				"Affected: checkout (partial outage), payments (degraded performance).", "Next update by ", "*eta*", "*speculation*"} {
				if !strings.Contains(body, want) {
					t.Errorf("preview lacks %q:\n%s", want, body)
				}
			}
			text := "We are investigating failed payments on checkout.\n\n" + nextBy(30*time.Minute) + "."
			r, err := w.sim.SubmitView(context.Background(), views[len(views)-1].ID, map[string]map[string]string{
				"update_status": {"update_status": "investigating"}, "update_body": {"update_body": text},
			})
			if err != nil || strings.TrimSpace(string(r.Payload)) != "" {
				t.Fatalf("publish: %s %v", r.Payload, err)
			}
			w.eventually("the update is in the war room, quoted exactly", func() bool {
				return w.posted(room.ID, "published a public update for INC-1", "> We are investigating failed payments on checkout.")
			})
			w.eventually("the update is announced with its text", func() bool {
				return w.posted(w.announce, "INC-1 public update", "> We are investigating failed payments on checkout.")
			})
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

// TestReminderButtons: with a one-minute cadence the first sweep reminds
// the communicator in the war room; Snooze pushes the due time back and
// says so; "Write the update" opens the preview for them.
func TestReminderButtons(t *testing.T) {
	w := start(t, "http", "WARROOM_UPDATE_CADENCE=sev2=1m", "WARROOM_SWEEP_EVERY=100ms")
	w.cmd("alice", w.general, "declare sev2 Search is slow")
	room := w.room("INC-1")
	w.cmd("alice", room.ID, "communicator "+w.at("carol"))
	w.publish("carol", room.ID, "investigating", "We are investigating slow search.\n"+nextBy(90*time.Second)+".")
	var reminder slacksim.Message
	w.eventually("the communicator is reminded in the war room", func() bool {
		for _, m := range w.sim.Messages(room.ID) {
			if strings.Contains(m.Text, "the next public update for INC-1 is due by") && strings.Contains(m.Text, "<@"+w.users["carol"]+">") {
				reminder = m
				return true
			}
		}
		return false
	})
	before := *w.show("INC-1").NextUpdateDue
	if _, err := w.sim.ClickButton(context.Background(), w.users["carol"], room.ID, reminder.TS, "reminder", "warroom_snooze", "1"); err != nil {
		t.Fatal(err)
	}
	w.eventually("the snooze is announced in the room", func() bool { return w.posted(room.ID, "snoozed the public update of INC-1") })
	if after := *w.show("INC-1").NextUpdateDue; after.Sub(before) < 14*60e9 {
		t.Errorf("snooze moved the due time from %v to %v", before, after)
	}
	n := len(w.sim.Views())
	if _, err := w.sim.ClickButton(context.Background(), w.users["carol"], room.ID, reminder.TS, "reminder", "warroom_open_update", "1"); err != nil {
		t.Fatal(err)
	}
	w.eventually("the preview opens from the button", func() bool { return len(w.sim.Views()) == n+1 })
	// A bystander clicking is told who can publish.
	if _, err := w.sim.ClickButton(context.Background(), w.users["dave"], room.ID, reminder.TS, "reminder", "warroom_open_update", "1"); err != nil {
		t.Fatal(err)
	}
	w.eventually("the bystander is told who can", func() bool { return w.ephemeral("dave", "Only the communicator") })
	kinds := ""
	for _, e := range w.show("INC-1").Timeline {
		kinds += e.Kind + " "
	}
	if !strings.Contains(kinds, "publish reminder") || !strings.Contains(kinds, "snooze") {
		t.Errorf("timeline: %s", kinds)
	}
}

// TestEveryoneInWhenNobodyPicksUp: a SEV1 that only its declarer has
// touched is announced as needing everyone, once.
func TestEveryoneInWhenNobodyPicksUp(t *testing.T) {
	w := start(t, "http", "WARROOM_HELP_AFTER=1s", "WARROOM_SWEEP_EVERY=100ms")
	w.cmd("alice", w.general, "declare sev1 Everything is down")
	room := w.room("INC-1")
	w.eventually("everyone is called in", func() bool {
		return w.posted(w.announce, ":sos: INC-1 (SEV1) has had nobody but its declarer on it", "<#"+room.ID+">")
	})
	w.eventually("the war room hears it too", func() bool { return w.posted(room.ID, ":sos: INC-1") })
	time.Sleep(400 * time.Millisecond)
	n := 0
	for _, m := range w.sim.Messages(w.announce) {
		if strings.Contains(m.Text, ":sos:") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("called in %d times", n)
	}
}

// TestAPreviewLeftOpenDoesNotReplaceANewerUpdate: two previews open, the
// communicator publishes hers; pressing Publish on the other, untouched
// template afterwards is refused (the fresh-clone review's finding: it went
// out a second later with older words and an earlier next-update time),
// and a new preview publishes.
func TestAPreviewLeftOpenDoesNotReplaceANewerUpdate(t *testing.T) {
	w := start(t, "http")
	w.cmd("alice", w.general, "declare sev2 Search is slow")
	room := w.room("INC-1").ID
	w.cmd("alice", room, "communicator "+w.at("carol"))
	n := len(w.sim.Views())
	w.cmd("carol", room, "update investigating")
	w.cmd("alice", room, "update investigating")
	views := w.sim.Views()
	if len(views) != n+2 {
		t.Fatalf("%d previews opened, want 2", len(views)-n)
	}
	carols, alices := views[n].ID, views[n+1].ID
	carolsText := "We are investigating slow searches.\n" + nextBy(60*time.Minute) + "."
	if r := w.submitUpdate(carols, "investigating", "", carolsText); r != "" {
		t.Fatalf("carol's publish: %s", r)
	}
	r := w.submitUpdate(alices, "investigating", "", "We are investigating a problem.\n"+nextBy(10*time.Minute)+".")
	if !strings.Contains(r, "Another public update went out at") || !strings.Contains(r, "not published") || !strings.Contains(r, "/incident update") {
		t.Fatalf("the stale preview's Publish: %s", r)
	}
	inc := w.show("INC-1")
	if len(inc.PublicUpdates) != 1 || inc.PublicUpdates[0].Body != carolsText {
		t.Fatalf("public updates: %+v", inc.PublicUpdates)
	}
	// A preview opened now starts from carol's update and publishes.
	if r := w.publish("alice", room, "identified", "We found the cause of the slow searches.\n"+nextBy(60*time.Minute)+"."); r != "" {
		t.Fatalf("a new preview: %s", r)
	}
	if inc := w.show("INC-1"); len(inc.PublicUpdates) != 2 {
		t.Fatalf("after a new preview: %d public updates", len(inc.PublicUpdates))
	}
}
