package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSandbox types a short incident into the sandbox's terminal as two
// teammates and checks what they were shown, then restarts it and checks
// the incident is still there.
func TestSandbox(t *testing.T) {
	db := filepath.Join(t.TempDir(), "sandbox.db")
	env := map[string]string{"WARROOM_DB": db}
	getenv := func(k string) string { return env[k] }
	script := strings.Join([]string{
		"/incident declare sev1 Payments down",
		"in inc-1-payments-down",
		"as bob",
		"/incident commander me",
		"/incident communicator @carol",
		"/incident status identified Card processor timing out",
		"/incident resolve Processor recovered",
		"channels",
		"quit",
	}, "\n") + "\n"
	out := &syncBuffer{}
	errb := &syncBuffer{}
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), []string{"sandbox", "--terminal"}, pr, out, errb, getenv)
	}()
	// Type one line at a time, as a person would, once the sandbox is up.
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(out.String(), "sandbox ready") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for _, line := range strings.SplitAfter(script, "\n") {
		if line == "" {
			continue
		}
		pw.Write([]byte(line))
		time.Sleep(200 * time.Millisecond)
	}
	pw.Close()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("sandbox exited %d: %s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sandbox did not quit")
	}
	got := out.String()
	for _, want := range []string{
		"sandbox ready",
		"(only you): :rotating_light: Declared *INC-1* (SEV1): Payments down",
		"[#announcements] warroom: :rotating_light: *INC-1* declared (SEV1)",
		"@bob is now the *commander* of INC-1",
		"@carol is now the *communicator* of INC-1",
		"*Identified* — Card processor timing out",
		"resolved INC-1",
		"#inc-1-payments-down — SEV1 | RESOLVED | commander @bob",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the sandbox never showed %q", want)
		}
	}
	if t.Failed() {
		t.Logf("terminal:\n%s\nstderr:\n%s", got, errb.String())
	}
	// The database outlives the sandbox.
	out2 := &syncBuffer{}
	if code := run(context.Background(), []string{"incidents", "list", "--all"}, nil, out2, errb, getenv); code != 0 || !strings.Contains(out2.String(), "Payments down") {
		t.Fatalf("after the sandbox: %d %s", code, out2.String())
	}
}
