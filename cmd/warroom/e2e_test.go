package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/warroom/warroom/slacksim"
)

// TestIncidentLifecycle drives a whole incident as people would, over
// each transport: declare, roles, status, notes, resolve, reopen, resolve,
// close, and checks what Slack and the timeline show at each step.
func TestIncidentLifecycle(t *testing.T) {
	for _, mode := range []string{"http", "socket"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			w := start(t, mode)
			alice, bob := w.users["alice"], w.users["bob"]

			reply := w.cmd("alice", w.general, "declare sev2 Checkout returns 500s")
			if !strings.Contains(reply, "Declared *INC-1* (SEV2): Checkout returns 500s") {
				t.Fatalf("declare reply: %q", reply)
			}
			room := w.room("INC-1")
			if room.Name != "inc-1-checkout-returns-500s" {
				t.Errorf("war room is #%s", room.Name)
			}
			if !slices.Contains(room.Members, alice) {
				t.Errorf("the declarer was not invited: %v", room.Members)
			}
			if !strings.Contains(room.Topic, "SEV2") || !strings.Contains(room.Topic, "INVESTIGATING") || !strings.Contains(room.Topic, "<@"+alice+">") {
				t.Errorf("topic %q lacks severity, status or commander", room.Topic)
			}
			if room.Purpose != "Checkout returns 500s" {
				t.Errorf("purpose %q", room.Purpose)
			}
			sum := w.pinned(room.ID)
			for _, want := range []string{"INC-1 · SEV2 · Checkout returns 500s", "Assess", "Investigating", "Next:", "communicator"} {
				if !strings.Contains(string(sum.Blocks), want) {
					t.Errorf("pinned summary lacks %q: %s", want, sum.Blocks)
				}
			}
			w.eventually("the announcement links the war room", func() bool {
				return w.posted(w.announce, "INC-1", "<#"+room.ID+">")
			})
			w.eventually("the declarer hears the room is ready", func() bool {
				return w.ephemeral("alice", "War room for INC-1 is ready", "<#"+room.ID+">")
			})

			// Roles. bob takes command, carol communicates; both are invited.
			if r := w.cmd("bob", room.ID, "commander "+w.at("bob")); !strings.Contains(r, "is now commander of INC-1") {
				t.Fatalf("commander reply: %q", r)
			}
			if r := w.cmd("alice", room.ID, "communicator "+w.at("carol")); !strings.Contains(r, "Next:") {
				t.Fatalf("communicator reply: %q", r)
			}
			if r := w.cmd("alice", room.ID, "role scribe "+w.at("dave")); !strings.Contains(r, "scribe") {
				t.Fatalf("role reply: %q", r)
			}
			w.eventually("the new role holders are in the room", func() bool {
				ch, _ := w.sim.Channel(room.ID)
				return slices.Contains(ch.Members, bob) && slices.Contains(ch.Members, w.users["carol"]) && slices.Contains(ch.Members, w.users["dave"])
			})
			if inc := w.show("INC-1"); inc.Stage != "communicate" || inc.AcknowledgedAt == nil {
				t.Fatalf("after roles: stage %s, acknowledged %v", inc.Stage, inc.AcknowledgedAt)
			}

			w.cmd("carol", room.ID, "status investigating Checkout errors at 30%")
			if r := w.cmd("bob", room.ID, "severity sev1"); !strings.Contains(r, "INC-1 is now SEV1") {
				t.Fatalf("severity reply: %q", r)
			}
			w.eventually("the escalation is announced", func() bool { return w.posted(w.announce, "INC-1 escalated to *SEV1*") })
			w.cmd("bob", room.ID, "status identified Bad deploy of checkout v42")
			if inc := w.show("INC-1"); inc.Stage != "respond" {
				t.Fatalf("identified with a commander: stage %s", inc.Stage)
			}
			w.cmd("dave", room.ID, "note Rolled back checkout to v41")
			w.cmd("bob", room.ID, "status monitoring Error rate back to baseline")
			if r := w.cmd("alice", room.ID, "resolve Rollback fixed it"); !strings.Contains(r, "Only the commander (<@"+bob+">) can resolve INC-1") || !strings.Contains(r, "/incident commander me") {
				t.Fatalf("resolve by someone else: %q", r)
			}
			if r := w.cmd("bob", room.ID, "resolve Rollback fixed it"); !strings.Contains(r, "INC-1 is resolved") {
				t.Fatalf("resolve reply: %q", r)
			}
			if r := w.cmd("bob", room.ID, "resolve"); !strings.Contains(r, "already resolved") || !strings.Contains(r, "/incident reopen") {
				t.Fatalf("second resolve: %q", r)
			}
			if r := w.cmd("bob", room.ID, "reopen"); !strings.Contains(r, "open again") {
				t.Fatalf("reopen: %q", r)
			}
			w.cmd("bob", room.ID, "status monitoring Second rollback holding")
			w.cmd("bob", room.ID, "resolve Fixed for good")

			// Each command's post comes before its summary edit, so once the last
			// post is seen the summary below is the final one.
			for _, want := range [][]string{
				{"*Investigating*", "Checkout errors at 30%"},
				{"*Identified*", "Bad deploy"},
				{"Note from <@" + w.users["dave"] + ">", "Rolled back"},
				{"resolved INC-1", "Fixed for good"},
				{"reopened INC-1"},
			} {
				w.eventually(fmt.Sprintf("the war room shows %q", want), func() bool { return w.posted(room.ID, want...) })
			}

			w.eventually("the summary shows the document stage and the new commander", func() bool {
				s := string(w.pinned(room.ID).Blocks)
				return strings.Contains(s, "Document (4/4)") && strings.Contains(s, "Resolved") && strings.Contains(s, "<@"+bob+">") && strings.Contains(s, "scribe")
			})
			w.eventually("the topic shows the resolution and the commander", func() bool {
				ch, _ := w.sim.Channel(room.ID)
				return strings.Contains(ch.Topic, "SEV1 | RESOLVED | commander <@"+bob+">")
			})
			if sum := w.pinned(room.ID); sum.Edits < 5 {
				t.Errorf("the summary was edited %d times; want one edit per change", sum.Edits)
			}
			tl := w.cmd("carol", room.ID, "timeline")
			if !strings.Contains(tl, "INC-1 timeline") || !strings.Contains(tl, "rejected: INC-1 was already resolved") {
				t.Errorf("timeline reply: %q", tl)
			}
			if r := w.cmd("alice", room.ID, "close"); !strings.Contains(r, "Only the commander (<@"+bob+">) can close INC-1") {
				t.Fatalf("close by someone else: %q", r)
			}
			// Closing archives the room: just after resolving, it waits for
			// the commander to confirm with the button the reply offers.
			if r := w.cmd("bob", room.ID, "close"); !strings.Contains(r, "cannot be undone") || !strings.Contains(r, "confirm with the button") {
				t.Fatalf("close just after resolving: %q", r)
			}
			var ask slacksim.Message
			for _, m := range w.sim.Ephemerals(bob) {
				if strings.Contains(string(m.Blocks), "warroom_confirm") {
					ask = m
				}
			}
			if _, err := w.sim.ClickButton(t.Context(), alice, room.ID, ask.TS, "confirm", "warroom_confirm", "close:1"); err != nil {
				t.Fatal(err)
			}
			w.eventually("alice pressing bob's button is refused", func() bool { return w.ephemeral("alice", "Only the commander") })
			if _, err := w.sim.ClickButton(t.Context(), bob, room.ID, ask.TS, "confirm", "warroom_confirm", "close:1"); err != nil {
				t.Fatal(err)
			}
			w.eventually("bob's confirmation closes it", func() bool { return w.ephemeral("bob", "INC-1 is closed") })
			w.eventually("the war room is archived", func() bool { ch, _ := w.sim.Channel(room.ID); return ch.Archived })

			inc := w.show("INC-1")
			var kinds []string
			for _, e := range inc.Timeline {
				kinds = append(kinds, e.Kind)
				if e.At.Location().String() != "UTC" || e.Actor == "" {
					t.Errorf("entry %+v lacks a UTC time or an actor", e)
				}
			}
			want := "declare war_room commander communicator role status severity status note status resolve resolve resolve reopen status resolve timeline close close close close" // the refused ones are there too
			if got := strings.Join(kinds, " "); got != want {
				t.Errorf("timeline kinds:\n got %s\nwant %s", got, want)
			}
			if inc.Stage != "closed" || inc.ClosedAt == nil || inc.ResolvedAt == nil || inc.MitigatedAt == nil {
				t.Errorf("final state: %+v", inc)
			}
			if inc.Durations["to_resolve"] < 0 || inc.Roles["scribe"] != w.users["dave"] {
				t.Errorf("durations %v roles %v", inc.Durations, inc.Roles)
			}
			// Every request the bot sent must be one Slack's spec accepts.
			// Only this check needs the spec beside the repository; without
			// it the subtest skips and the lifecycle above still counts.
			t.Run("requests match Slack's spec", func(t *testing.T) {
				spec := slacksim.SpecForTest(t)
				for _, c := range w.sim.Calls() {
					if err := spec.CheckCall(c); err != nil {
						t.Errorf("the bot sent a request Slack's spec refuses: %v", err)
					}
				}
			})
			if errs := w.sim.ProtocolErrors(); len(errs) > 0 {
				t.Errorf("protocol errors: %v", errs)
			}
			if code := w.shutdown(); code != 0 {
				t.Errorf("serve exited %d on shutdown", code)
			}
		})
	}
}

// TestSocketModeReconnects has Slack recycle the connection mid-incident,
// as it does every few hours, and checks commands keep working.
func TestSocketModeReconnects(t *testing.T) {
	w := start(t, "socket")
	w.cmd("alice", w.general, "declare sev3 Search is slow")
	room := w.room("INC-1")
	w.sim.Disconnect()
	w.eventually("the bot reconnects", func() bool {
		return w.sim.Connected() >= 1 && strings.Contains(w.log.String(), "socket mode connected")
	})
	var reply string
	w.eventually("a command after the reconnect is answered", func() bool {
		r, err := w.sim.SlashCommand(t.Context(), w.users["bob"], room.ID, "note still slow after cache flush")
		reply = r.Text
		return err == nil
	})
	if !strings.Contains(reply, "Noted in the INC-1 timeline") {
		t.Fatalf("after reconnect: %q", reply)
	}
}

// TestLongRepliesReachTheUser: a timeline reply too long for a Socket Mode
// ack still reaches the user, through response_url; list says when it
// shows only the newest incidents.
func TestLongRepliesReachTheUser(t *testing.T) {
	w := start(t, "socket", "WARROOM_DECLARE_LIMIT=0") // carol declares 21 in a row
	w.cmd("alice", w.general, "declare sev3 Noisy incident")
	room := w.room("INC-1")
	for i := 0; i < 30; i++ {
		w.cmd("alice", room.ID, "note "+strings.Repeat("<>", 150))
	}
	if r := w.cmd("bob", room.ID, "timeline"); r != "" {
		t.Errorf("an over-long reply went into the ack (%d bytes): %.600s", len(r), r)
	}
	w.eventually("the timeline arrives by response_url", func() bool { return w.ephemeral("bob", "INC-1 timeline") })
	for i := 0; i < 21; i++ {
		w.cmd("carol", w.general, fmt.Sprintf("declare sev4 Minor thing %d", i))
	}
	if r := w.cmd("carol", w.general, "list"); !strings.Contains(r, "Only the newest 20 are shown") || strings.Count(r, "• ") != 20 {
		t.Errorf("list of 22: %q", r)
	}
}
