package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestDeclareStorm: 100 incidents declared back to back while Slack
// rate-limits conversations.create (429, Retry-After 1 s, for the first 60
// calls). Every war room is created, once, with nothing failed; people
// whose room waits are told how many are ahead of theirs.
func TestDeclareStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("the declare storm takes a few seconds")
	}
	w := start(t, "http", "WARROOM_LOG_LEVEL=info")
	w.sim.RateLimit("conversations.create", 60, time.Second)
	start := time.Now()
	told := 0
	for i := 1; i <= 100; i++ {
		r := w.cmd([]string{"alice", "bob", "carol", "dave"}[i%4], w.general, fmt.Sprintf("declare sev2 storm %d", i))
		if !strings.Contains(r, fmt.Sprintf("Declared *INC-%d*", i)) {
			t.Fatalf("declare %d: %q", i, r)
		}
		if strings.Contains(r, "ahead of yours") {
			told++
		}
	}
	declared := time.Since(start)
	rooms := func() int {
		n := 0
		for _, ch := range w.sim.Channels() {
			if strings.HasPrefix(ch.Name, "inc-") {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(60 * time.Second)
	for rooms() < 100 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	all := time.Since(start)
	if n := rooms(); n != 100 {
		t.Fatalf("%d war rooms after %v, want 100", n, all)
	}
	if s := w.outboxSummary(); strings.Contains(s, "failed") {
		t.Errorf("outbox:\n%s", s)
	}
	if told == 0 {
		t.Error("nobody was told their war room was queued")
	}
	t.Logf("100 declares in %v; all 100 war rooms in %v; %d declarers told of a queue", declared.Round(time.Millisecond), all.Round(time.Millisecond), told)
}
