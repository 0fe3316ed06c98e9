package main

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSecondSignalForcesExit: on SIGTERM warroom stops taking requests and
// drains; while the drain is stuck behind a Slack that does not answer, a
// second SIGTERM ends the process at once. Nothing acknowledged is lost:
// the stuck posts wait in the database and go out after the next start.
func TestSecondSignalForcesExit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts warroom three times")
	}
	c := newChild(t, "WARROOM_LOG_LEVEL=info", "WARROOM_CALL_TIMEOUT=30s")
	alice := c.sim.AddUser("alice")
	general, _ := c.sim.ChannelByNameID("general")
	c.launch()
	if r, err := c.sim.SlashCommand(t.Context(), alice, general, "declare sev2 Signal drill"); err != nil || !strings.Contains(r.Text, "INC-1") {
		t.Fatalf("declare: %v %q", err, r.Text)
	}
	var room string
	for deadline := time.Now().Add(10 * time.Second); room == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		room, _ = c.sim.ChannelByNameID("inc-1-signal-drill")
	}
	if room == "" {
		t.Fatal("no war room")
	}
	time.Sleep(300 * time.Millisecond) // the declaration's own posts go out
	// Slack now takes a minute to answer a post: the outbox is stuck.
	c.sim.Slow("chat.postMessage", time.Minute, 1000)
	for i := range 5 {
		if r, err := c.sim.SlashCommand(t.Context(), alice, room, fmt.Sprintf("note stuck-%d", i)); err != nil || !strings.Contains(r.Text, "Noted") {
			t.Fatalf("note %d: %v %q", i, err, r.Text)
		}
	}
	time.Sleep(300 * time.Millisecond)
	exited := make(chan error, 1)
	go func() { exited <- c.cmd.Wait() }()

	c.cmd.Process.Signal(syscall.SIGTERM)
	for deadline := time.Now().Add(3 * time.Second); c.healthy(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("still taking requests 3 s after SIGTERM")
		}
	}
	select {
	case err := <-exited:
		t.Fatalf("exited (%v) with the outbox stuck: the drain did not wait for its deliveries, so this proves nothing", err)
	case <-time.After(time.Second):
	}
	sent := time.Now()
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
			t.Errorf("after the second SIGTERM: %v, want death by SIGTERM", err)
		}
		t.Logf("second SIGTERM ended warroom in %v", time.Since(sent).Round(time.Millisecond))
	case <-time.After(3 * time.Second):
		t.Fatalf("a second SIGTERM did not end warroom within 3 s:\n%s", c.logs.String())
	}
	if !strings.Contains(c.logs.String(), "shutting down") {
		t.Errorf("the first SIGTERM did not start a graceful shutdown:\n%s", c.logs.String())
	}

	// Slack answers again; the next start sends every stuck note.
	c.sim.Slow("chat.postMessage", 0, 0)
	c.launch()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var all string
		for _, m := range c.sim.Messages(room) {
			all += m.Text + "\n"
		}
		missing := 0
		for i := range 5 {
			if !strings.Contains(all, fmt.Sprintf("stuck-%d", i)) {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d acknowledged notes never reached the war room after the restart", missing)
		}
	}

	// And a single SIGTERM with nothing stuck ends warroom cleanly.
	go func() { exited <- c.cmd.Wait() }()
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("graceful shutdown: %v", err)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("a graceful shutdown with nothing to wait for took over 25 s")
	}
}
