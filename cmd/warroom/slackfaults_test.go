package main

import (
	"strings"
	"testing"
	"time"
)

// TestSlackFaults runs an incident while Slack misbehaves, over both
// transports: a channel create that takes effect but answers after the
// client's timeout (the retry adopts the channel instead of making a
// second one), 500s and 429s on posts and summary edits, a post whose
// answer is lost (not posted again), and an event delivered three times
// (answered once).
func TestSlackFaults(t *testing.T) {
	for _, mode := range []string{"http", "socket"} {
		t.Run(mode, func(t *testing.T) {
			w := start(t, mode, "WARROOM_CALL_TIMEOUT=300ms", "WARROOM_RETRY_FIRST=50ms", "WARROOM_RETRY_MAX=500ms")
			w.sim.Slow("conversations.create", time.Second, 1)
			w.cmd("alice", w.general, "declare sev2 Checkout fails under load")
			room := w.room("INC-1")
			rooms := 0
			for _, ch := range w.sim.Channels() {
				if strings.HasPrefix(ch.Name, "inc-1-") {
					rooms++
				}
			}
			if rooms != 1 || room.Name != "inc-1-checkout-fails-under-load" {
				t.Errorf("war rooms after a lost create answer: %d (%s)", rooms, room.Name)
			}
			w.eventually("the adoption is logged", func() bool { return strings.Contains(w.log.String(), "adopted a war room") })

			w.sim.ServerError("chat.postMessage", 3)
			w.sim.RateLimit("chat.update", 2, time.Second)
			w.cmd("alice", room.ID, "note first note through 500s")
			w.cmd("alice", room.ID, "commander "+w.at("bob"))
			w.eventually("the note is posted once", func() bool { return w.countPosts(room.ID, "first note through 500s") == 1 })
			w.eventually("the summary shows the new commander", func() bool {
				return strings.Contains(string(w.pinned(room.ID).Blocks), "<@"+w.users["bob"]+">")
			})
			if n := w.countPosts(room.ID, "first note through 500s"); n != 1 {
				t.Errorf("the note was posted %d times", n)
			}
			// bob's taking over a SEV2 is announced; it must be out before
			// the next post is slowed, or the slow answer would be its.
			w.eventually("the new commander is announced", func() bool { return w.posted(w.announce, "has a new commander") })

			// A post that reaches Slack but whose answer comes after the
			// client gave up: the retry finds it in the channel's history
			// (its metadata names the outbox item) and does not post again.
			w.sim.Slow("chat.postMessage", time.Second, 1)
			w.cmd("alice", room.ID, "note second note, answer lost")
			w.eventually("the note is in the room", func() bool { return w.countPosts(room.ID, "second note, answer lost") >= 1 })
			w.eventually("the retry found it", func() bool { return strings.Contains(w.log.String(), "already in Slack") })
			time.Sleep(300 * time.Millisecond)
			if n := w.countPosts(room.ID, "second note, answer lost"); n != 1 {
				t.Errorf("a post whose answer was lost was posted %d times", n)
			}

			mention := map[string]any{"type": "app_mention", "user": w.users["carol"], "text": "<@U0BOT0001> help", "channel": w.general, "ts": "1700000000.000100"}
			if _, err := w.sim.Event(t.Context(), "Ev0MENTION1", mention, 3); err != nil {
				t.Fatal(err)
			}
			w.eventually("the mention is answered", func() bool { return w.countPosts(w.general, "I run incidents through") >= 1 })
			time.Sleep(300 * time.Millisecond)
			if n := w.countPosts(w.general, "I run incidents through"); n != 1 {
				t.Errorf("an event delivered three times was answered %d times", n)
			}
		})
	}
}
