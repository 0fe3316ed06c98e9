package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTheTiredUsersPath walks the main path as a tired on-call engineer
// does, typing names rather than picking them, and checks that every
// "Next:" leads somewhere true, that people are named, not numbered, where
// they read, and that the command line speaks its own language.
func TestTheTiredUsersPath(t *testing.T) {
	w := start(t, "http", "WARROOM_POSTMORTEM_ON_RESOLVE=true")
	alice, bob := w.users["alice"], w.users["bob"]
	r := w.cmd("alice", w.general, "declare sev1 Checkout returns 500s")
	if strings.Contains(r, "/incident status investigating") {
		t.Errorf("declare points at an internal status the incident already has: %q", r)
	}
	room := w.room("INC-1").ID
	w.eventually("the room-ready note says to name a communicator", func() bool {
		return w.ephemeral("alice", "War room for INC-1 is ready", "Next: Name a communicator: `/incident communicator @user`")
	})
	if s := string(w.pinned(room).Blocks); strings.Contains(s, "/incident status investigating") {
		t.Errorf("the summary's Next: is the internal status: %s", s)
	}
	// A name typed without Slack's @ list is found.
	r = w.cmd("alice", room, "communicator carol")
	if !strings.Contains(r, "<@"+w.users["carol"]+"> is now communicator of INC-1") || !strings.Contains(r, "Next: Publish the first public update: `/incident update`") {
		t.Errorf("communicator by name: %q", r)
	}
	if r := w.cmd("alice", room, "commander nobody"); !strings.Contains(r, `I can't find anyone in Slack called "nobody"`) || !strings.Contains(r, "pick the person from Slack's list") {
		t.Errorf("an unknown name: %q", r)
	}
	// Taking command says from whom, and a SEV1's new commander is announced.
	w.cmd("bob", room, "commander @bob")
	w.eventually("the room hears who held command", func() bool {
		return w.posted(room, "<@"+bob+"> took command of INC-1 from <@"+alice+">")
	})
	w.eventually("the announcements channel hears the new commander", func() bool {
		return w.posted(w.announce, "INC-1 (SEV1) has a new commander: <@"+bob+">, taking over from <@"+alice+">")
	})
	w.cmd("alice", room, "resolve too soon") // refused: bob commands
	w.cmd("carol", room, "note rolled back")
	w.cmd("bob", room, "resolve Rolled back")
	w.eventually("the draft is written", func() bool { return len(w.sim.Files()) == 1 })

	cli := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(t.Context(), args, nil, &out, &errb, w.getenv)
		return code, out.String(), errb.String()
	}
	w.eventually("warroom has learned the names", func() bool {
		_, out, _ := cli("incidents", "list", "--all")
		return strings.Contains(out, "@bob")
	})
	if _, out, _ := cli("incidents", "list", "--all"); strings.Contains(out, bob) {
		t.Errorf("incidents list shows an ID where people read a name:\n%s", out)
	}
	if _, out, _ := cli("incidents", "show", "1"); strings.Contains(out, bob) || !strings.Contains(out, "@bob") {
		t.Errorf("incidents show:\n%s", out)
	}
	code, draft, errs := cli("postmortem", "1")
	if code != 0 {
		t.Fatalf("warroom postmortem 1: %d %s", code, errs)
	}
	for _, id := range []string{alice, bob, w.users["carol"]} {
		if strings.Contains(draft, id) {
			t.Errorf("the draft shows the ID %s where people read names", id)
		}
	}
	if !strings.Contains(draft, "Only the commander (@bob)") || !strings.Contains(draft, "1 note,") {
		t.Errorf("the draft's rejected command or its counts:\n%s", draft)
	}
	if code, _, errs := cli("postmortem", "99"); code == 0 || !strings.Contains(errs, "INC-99 does not exist. List them all: warroom incidents list --all") || strings.Contains(errs, "/incident") {
		t.Errorf("warroom postmortem 99: %d %q", code, errs)
	}
	// A check creates nothing.
	fresh := filepath.Join(t.TempDir(), "new.db")
	env := w.env
	w.env = map[string]string{"WARROOM_DB": fresh}
	_, out, _ := cli("check")
	w.env = env
	if _, err := os.Stat(fresh); err == nil {
		t.Errorf("warroom check created %s", fresh)
	}
	if !strings.Contains(out, "not created yet") {
		t.Errorf("check on a missing database: %s", out)
	}
}
