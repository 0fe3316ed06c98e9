package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/warroom/warroom/slacksim"
)

// entriesOf returns INC-n's timeline entries of kind.
func (w *world) entriesOf(ref, kind string) []entryJSON {
	var out []entryJSON
	for _, e := range w.show(ref).Timeline {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// TestConversationIntoTheTimeline, over both transports: a 📌 reaction,
// Slack's pin and the shortcut put messages into the timeline (fetched,
// with their permalink, threads kept, acknowledged by a reaction); taking
// the reaction off, editing and deleting add entries and delete nothing;
// a redelivered event is handled once; the shortcut from another channel
// offers only the incidents the person may see, and a forged submission
// for a private one is refused; the timeline and the draft show it all.
func TestConversationIntoTheTimeline(t *testing.T) {
	for _, mode := range []string{"http", "socket"} {
		t.Run(mode, func(t *testing.T) { conversationIntoTheTimeline(t, mode) })
	}
}

func conversationIntoTheTimeline(t *testing.T, mode string) {
	ctx := context.Background()
	w := start(t, mode, "WARROOM_POSTMORTEM_ON_RESOLVE=true")
	w.cmd("alice", w.general, "declare sev2 Checkout slow")
	room := w.room("INC-1").ID
	w.sim.Join(w.users["bob"], room)
	w.sim.Join(w.users["carol"], room)

	said, _ := w.sim.PostAs(w.users["bob"], room, "p99 spiked right after deploy 4411")
	if err := w.sim.React(ctx, w.users["bob"], room, said.TS, "pushpin", false); err != nil {
		t.Fatal(err)
	}
	w.eventually("the pinned message is in the timeline", func() bool {
		c := w.entriesOf("INC-1", "conversation")
		return len(c) == 1 && c[0].Detail["author"] == w.users["bob"] && c[0].Detail["text"] == "p99 spiked right after deploy 4411" &&
			strings.Contains(c[0].Detail["permalink"], "/archives/"+room+"/p") && c[0].Detail["via"] == "reaction"
	})
	w.eventually("warroom acknowledges with a reaction, not a post", func() bool {
		for _, m := range w.sim.Messages(room) {
			if m.TS == said.TS {
				return len(m.Reactions["white_check_mark"]) == 1
			}
		}
		return false
	})
	if w.posted(room, "p99 spiked right after deploy 4411", "timeline") {
		t.Error("the bot posted about the capture; it should only react")
	}

	// A second pushpin (carol's) adds nothing; Slack's pin of another
	// message and a reply in a thread are captured.
	w.sim.React(ctx, w.users["carol"], room, said.TS, "pushpin", false)
	decision, _ := w.sim.PostAs(w.users["carol"], room, "Decision: roll back 4411")
	if err := w.sim.PinBy(ctx, w.users["carol"], room, decision.TS); err != nil {
		t.Fatal(err)
	}
	reply, _ := w.sim.PostReply(w.users["bob"], room, decision.TS, "rollback started")
	w.sim.React(ctx, w.users["bob"], room, reply.TS, "pushpin", false)
	w.eventually("the pinned message and the thread reply are in", func() bool { return len(w.entriesOf("INC-1", "conversation")) == 3 })
	for _, c := range w.entriesOf("INC-1", "conversation") {
		switch c.Detail["text"] {
		case "Decision: roll back 4411":
			if c.Detail["via"] != "pin" {
				t.Errorf("pin: %+v", c.Detail)
			}
		case "rollback started":
			if c.Detail["thread_ts"] != decision.TS || !strings.Contains(c.Detail["permalink"], "thread_ts="+decision.TS) {
				t.Errorf("the reply lost its thread: %+v", c.Detail)
			}
		}
	}

	// A redelivered event is handled once.
	asksBefore := len(w.entriesOf("INC-1", "capture"))
	other, _ := w.sim.PostAs(w.users["bob"], room, "error budget burned for the week")
	ev := map[string]any{"type": "reaction_added", "user": w.users["bob"], "reaction": "pushpin", "item_user": w.users["bob"],
		"item": map[string]any{"type": "message", "channel": room, "ts": other.TS}, "event_ts": other.TS}
	if _, err := w.sim.Event(ctx, "EvREDELIVERED", ev, 3); err != nil {
		t.Fatal(err)
	}
	w.eventually("the redelivered reaction is captured once", func() bool { return len(w.entriesOf("INC-1", "conversation")) == 4 })
	// Every ask is recorded, refused ones too: one more means once.
	if asks := len(w.entriesOf("INC-1", "capture")) - asksBefore; asks != 1 {
		t.Errorf("the redelivered event was handled %d times", asks)
	}

	// Taken off, edited, deleted: entries added, none removed.
	w.sim.React(ctx, w.users["bob"], room, said.TS, "pushpin", true)
	w.sim.Edit(ctx, w.users["carol"], room, decision.TS, "Decision: roll back 4411 and freeze deploys")
	w.sim.Edit(ctx, w.users["bob"], room, reply.TS, "")
	w.eventually("the removal, the edit and the deletion are recorded", func() bool {
		var removed, edited, deleted bool
		for _, e := range w.show("INC-1").Timeline {
			removed = removed || (e.Kind == "capture" && e.Detail["action"] == "remove" && e.Detail["ts"] == said.TS)
			edited = edited || (e.Kind == "conversation" && e.Detail["change"] == "edit" && strings.Contains(e.Detail["text"], "freeze deploys"))
			deleted = deleted || (e.Kind == "conversation" && e.Detail["change"] == "delete" && e.Detail["ts"] == reply.TS)
		}
		return removed && edited && deleted
	})
	if n := len(w.entriesOf("INC-1", "conversation")); n != 6 {
		t.Errorf("%d conversation entries, want 6 (four messages, an edit, a deletion)", n)
	}
	w.eventually("the ✅ comes off with the 📌", func() bool {
		for _, m := range w.sim.Messages(room) {
			if m.TS == said.TS {
				return len(m.Reactions["white_check_mark"]) == 0
			}
		}
		return false
	})

	// Slack refuses to give a message: the room is told, and it can be
	// asked for again.
	w.sim.Fail("chat.getPermalink", "message_not_found", 1)
	flaky, _ := w.sim.PostAs(w.users["bob"], room, "dashboards show 40% errors")
	w.sim.React(ctx, w.users["bob"], room, flaky.TS, "pushpin", false)
	w.eventually("the room is told the message could not be read", func() bool { return w.posted(room, "I couldn't read a message for INC-1's timeline") })
	w.sim.React(ctx, w.users["bob"], room, flaky.TS, "pushpin", true)
	w.sim.React(ctx, w.users["bob"], room, flaky.TS, "pushpin", false)
	w.eventually("asked again, it is captured", func() bool { return len(w.entriesOf("INC-1", "conversation")) == 7 })

	// The shortcut from #general: dave sees INC-1 and not the private INC-2.
	w.cmd("alice", w.general, "declare private sev2 Credentials in logs")
	w.eventually("INC-2's room exists", func() bool { return w.show("INC-2").ChannelID != "" })
	// A member captures a message in the private room.
	secret := w.show("INC-2").ChannelID
	leak, _ := w.sim.PostAs(w.users["alice"], secret, "the key was rotated at 10:02")
	w.sim.React(ctx, w.users["alice"], secret, leak.TS, "pushpin", false)
	w.eventually("a member's capture in the private room", func() bool { return len(w.entriesOf("INC-2", "conversation")) == 1 })
	news, _ := w.sim.PostAs(w.users["dave"], w.general, "Support: customers see timeouts at checkout")
	before := len(w.sim.Views())
	if _, err := w.sim.Shortcut(ctx, w.users["dave"], w.general, news.TS, "warroom_add_to_timeline"); err != nil {
		t.Fatal(err)
	}
	var view slacksim.View
	w.eventually("the shortcut opens the modal", func() bool {
		vs := w.sim.Views()
		if len(vs) > before {
			view = vs[len(vs)-1]
			return true
		}
		return false
	})
	if body := string(view.Body); !strings.Contains(body, "INC-1") || strings.Contains(body, "INC-2") || strings.Contains(body, "Credentials") {
		t.Errorf("the modal offers what dave may not see, or not INC-1:\n%s", body)
	}
	// A forged submission naming INC-2 is refused, as for no incident.
	r, err := w.sim.SubmitView(ctx, view.ID, map[string]map[string]string{"capture_incident": {"capture_incident": "2"}, "capture_comment": {"capture_comment": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Errors map[string]string `json:"errors"`
	}
	json.Unmarshal(r.Payload, &resp)
	if !strings.Contains(resp.Errors["capture_incident"], "INC-2") || strings.Contains(resp.Errors["capture_incident"], "private") {
		t.Errorf("a forged submission for a private incident: %q", resp.Errors)
	}
	if c := w.entriesOf("INC-2", "conversation"); len(c) != 1 {
		t.Errorf("an outsider put a message into a private incident: %+v", c)
	}
	// A submission whose hidden data was changed (to claim a message of
	// the private room) is refused: the form is signed.
	var forgedView map[string]any
	json.Unmarshal(view.Body, &forgedView)
	meta, _ := forgedView["private_metadata"].(string)
	tampered := strings.Replace(meta, w.general, secret, 1)
	r2, err := w.sim.Interact(ctx, map[string]any{"type": "view_submission", "team": map[string]any{"id": slacksim.TeamID},
		"user": map[string]any{"id": w.users["dave"]}, "view": map[string]any{"id": view.ID, "callback_id": "warroom_capture", "private_metadata": tampered,
			"state": map[string]any{"values": map[string]any{"capture_incident": map[string]any{"capture_incident": map[string]any{"type": "static_select", "selected_option": map[string]any{"value": "1"}}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	var resp2 struct {
		Errors map[string]string `json:"errors"`
	}
	json.Unmarshal(r2.Payload, &resp2)
	if meta == tampered || !strings.Contains(resp2.Errors["capture_incident"], "This form was changed") {
		t.Errorf("a tampered form: %q (changed: %v)", resp2.Errors, meta != tampered)
	}
	if _, err := w.sim.SubmitView(ctx, view.ID, map[string]map[string]string{"capture_incident": {"capture_incident": "1"}, "capture_comment": {"capture_comment": "what customers see"}}); err != nil {
		t.Fatal(err)
	}
	w.eventually("the message from #general is in INC-1, with dave's comment, and dave is told", func() bool {
		for _, c := range w.entriesOf("INC-1", "conversation") {
			if c.Detail["text"] == "Support: customers see timeouts at checkout" && c.Detail["comment"] == "what customers see" && c.Detail["via"] == "shortcut" {
				return w.ephemeral("dave", "Added to INC-1's timeline")
			}
		}
		return false
	})

	// The timeline and the draft.
	tl := w.cmd("alice", room, "timeline")
	for _, want := range []string{":speech_balloon: <@" + w.users["bob"] + ">: p99 spiked right after deploy 4411", "open in Slack", "_(in a thread)_",
		"<@" + w.users["carol"] + ">'s captured message “Decision: roll back 4411” was edited in Slack: Decision: roll back 4411 and freeze deploys",
		"<@" + w.users["bob"] + ">'s captured message “rollback started” was deleted in Slack"} {
		if !strings.Contains(tl, want) {
			t.Errorf("/incident timeline lacks %q:\n%s", want, tl)
		}
	}
	w.cmd("alice", room, "resolve rolled back")
	md := w.draft(room, "INC-1-postmortem-v1.md")
	for _, want := range []string{"**conversation**", "@bob: p99 spiked right after deploy 4411 · [message](", "what customers see", "@bob's captured message (“rollback started”) was deleted in Slack"} {
		if !strings.Contains(md, want) {
			t.Errorf("the draft lacks %q", want)
		}
	}
}
