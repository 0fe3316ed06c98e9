package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warroom/warroom/slacksim"
)

// checklistConfig adds checklists to the vendors' config: a default, a
// SEV1 list, and payments' own steps and channel.
func checklistConfig(t *testing.T, cfg string) {
	t.Helper()
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), `      owners: ["@payments-oncall"]`, `      owners: ["@payments-oncall"]
      channel: "#payments-team"
      checklist:
        - stage: respond
          text: Check the card processor's status page
          link: https://status.processor.example`, 1)
	s += `checklists:
  default:
    - stage: assess
      text: Confirm the impact from a second source
    - stage: assess
      text: Name the commander
      done_when: commander_named
    - stage: communicate
      text: Publish the first public update
      done_when: first_public_update
    - stage: document
      text: Write the postmortem draft
      done_when: postmortem_written
      optional: true
  sev1:
    - stage: respond
      text: Page the owning team
      done_when: page_sent
      link: https://wiki.example.com/sev1
      owner: commander
    - stage: communicate
      text: Tell the support team what to say
`
	if err := os.WriteFile(cfg, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// checklistMessage finds the war room's checklist message.
func (w *world) checklistMessage(room string) (slacksim.Message, bool) {
	for _, m := range w.sim.Messages(room) {
		if strings.Contains(string(m.Blocks), `"warroom_checklist_tick"`) {
			return m, true
		}
	}
	return slacksim.Message{}, false
}

// box returns the block of the checklist message holding step n's box.
func boxBlock(t *testing.T, m slacksim.Message, step string) string {
	t.Helper()
	var blocks []struct {
		BlockID  string `json:"block_id"`
		Elements []struct {
			Options []struct {
				Value string `json:"value"`
			} `json:"options"`
		} `json:"elements"`
	}
	json.Unmarshal(m.Blocks, &blocks)
	for _, b := range blocks {
		for _, el := range b.Elements {
			for _, o := range el.Options {
				if o.Value == step {
					return b.BlockID
				}
			}
		}
	}
	t.Fatalf("no box for step %s in the checklist message:\n%s", step, m.Blocks)
	return ""
}

// TestChecklistsAndServiceCardsThroughTheLifecycle: declared with a
// service, the war room gets its checklist and the service's card, and
// the service's channel is told; a step ticked by its box, one by
// warroom when the first update goes out; raising the severity merges the
// SEV1 list into the same message; resolving with steps open lists them;
// the draft says what was done, and when.
func TestChecklistsAndServiceCardsThroughTheLifecycle(t *testing.T) {
	pd, _, cfg := vendors(t)
	checklistConfig(t, cfg)
	_ = pd
	w := start(t, "http", "WARROOM_CONFIG="+cfg, "WARROOM_POSTMORTEM_ON_RESOLVE=true")
	team := w.sim.AddChannel("payments-team", false)

	w.cmd("alice", w.general, "declare sev2 payments: card auth failing")
	var room string
	w.eventually("the war room exists", func() bool { room = w.show("INC-1").ChannelID; return room != "" })
	var msg slacksim.Message
	w.eventually("the checklist is posted", func() bool { var ok bool; msg, ok = w.checklistMessage(room); return ok })
	for _, want := range []string{"Confirm the impact from a second source", "Name the commander", "Check the card processor", "done by warroom"} {
		if !strings.Contains(string(msg.Blocks), want) {
			t.Errorf("checklist message lacks %q:\n%s", want, msg.Blocks)
		}
	}
	if strings.Contains(string(msg.Blocks), "Page the owning team") {
		t.Errorf("a SEV2 got the SEV1 list:\n%s", msg.Blocks)
	}
	w.eventually("the service card is in the war room", func() bool {
		return w.posted(room, "*payments*", "Runbook: <https://wiki.example.com/runbooks/payments", "Card processor support")
	})
	w.eventually("the service's channel is told", func() bool { return w.posted(team, "INC-1", "affects *payments*", "<#"+room+">") })

	// Bob ticks "Confirm the impact" (step 1) by its box: the timeline has
	// it, and the message is edited with who did it.
	if _, err := w.sim.ToggleCheckbox(context.Background(), w.users["bob"], room, msg.TS, boxBlock(t, msg, "1"), "1", nil); err != nil {
		t.Fatal(err)
	}
	w.eventually("step 1 is done by bob", func() bool {
		inc := w.show("INC-1")
		return len(inc.Checklist) > 0 && inc.Checklist[0].DoneBy == w.users["bob"]
	})
	w.eventually("the message says so, edited in place", func() bool {
		m, _ := w.checklistMessage(room)
		return m.TS == msg.TS && m.Edits > 0 && strings.Contains(string(m.Blocks), "done by bob")
	})
	found := false
	for _, e := range w.show("INC-1").Timeline {
		found = found || (e.Kind == "checklist" && e.Actor == w.users["bob"] && e.Detail["action"] == "done" && e.Detail["step"] == "1")
	}
	if !found {
		t.Errorf("the tick is not on the timeline: %+v", w.show("INC-1").Timeline)
	}

	// A click on step 1 in a stale copy of the message (from before bob's
	// tick) is refused, not taken as "untick", and carol's box is put back.
	before, _ := w.checklistMessage(room)
	if _, err := w.sim.ToggleCheckbox(context.Background(), w.users["carol"], room, msg.TS, boxBlock(t, msg, "1"), "1", &msg); err != nil {
		t.Fatal(err)
	}
	w.eventually("carol is told step 1 was done already", func() bool { return w.ephemeral("carol", "Step 1", "was already done by") })
	w.eventually("the message is drawn again, as the checklist stands", func() bool {
		m, _ := w.checklistMessage(room)
		return m.Edits > before.Edits
	})
	if inc := w.show("INC-1"); !inc.Checklist[0].Done() {
		t.Errorf("a stale click unticked step 1: %+v", inc.Checklist[0])
	}

	// The pinned summary counts and takes its Next: from the checklist.
	w.eventually("the summary shows the checklist", func() bool {
		p := string(w.pinned(room).Blocks)
		return strings.Contains(p, "2/5 done") || strings.Contains(p, "3/5 done")
	})

	// Publishing the first update ticks its step, done by warroom.
	w.cmd("alice", room, "communicator me")
	w.publish("alice", room, "investigating", "We are investigating failed card payments. Next update within 30 minutes.")
	w.eventually("publishing ticked its step", func() bool {
		for _, st := range w.show("INC-1").Checklist {
			if st.Text == "Publish the first public update" {
				return st.Done() && st.DoneBy == "warroom"
			}
		}
		return false
	})

	// SEV1 merges its list into the same message.
	w.cmd("alice", room, "severity sev1")
	w.eventually("the SEV1 steps are added to the message", func() bool {
		m, _ := w.checklistMessage(room)
		return m.TS == msg.TS && strings.Contains(string(m.Blocks), "Page the owning team") && strings.Contains(string(m.Blocks), "Tell the support team")
	})
	n := 0
	for _, m := range w.sim.Messages(room) {
		if strings.Contains(string(m.Blocks), `"warroom_checklist_tick"`) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d checklist messages in the war room; want one, edited", n)
	}

	// The command: show, add, tick, refuse nonsense.
	if r := w.cmd("bob", room, "checklist"); !strings.Contains(r, "Checklist of INC-1") || !strings.Contains(r, "*Respond*") {
		t.Errorf("/incident checklist: %q", r)
	}
	if r := w.cmd("bob", room, "checklist add respond Check the replica lag"); !strings.Contains(r, "Added step 8 (respond)") {
		t.Errorf("checklist add: %q", r)
	}
	if r := w.cmd("bob", room, "checklist done 99"); !strings.Contains(r, `"99" is not a step`) {
		t.Errorf("checklist done 99: %q", r)
	}
	if r := w.cmd("bob", room, "checklist done 8"); !strings.Contains(r, "Step 8 is done") {
		t.Errorf("checklist done 8: %q", r)
	}

	// Resolve with steps open: allowed, and the reply lists them.
	w.cmd("alice", room, "commander me")
	w.cmd("alice", room, "status identified expired certificate")
	r := w.cmd("alice", room, "resolve certificate renewed")
	for _, want := range []string{"is resolved", "checklist steps still open", "Page the owning team", "Tell the support team"} {
		if !strings.Contains(r, want) {
			t.Errorf("resolve reply lacks %q: %q", want, r)
		}
	}
	if strings.Contains(r, "Write the postmortem draft") {
		t.Errorf("an optional step was listed as left open: %q", r)
	}
	md := w.draft(room, "INC-1-postmortem-v1.md")
	for _, want := range []string{"## What we did, and when", "Confirm the impact from a second source", "@bob", "warroom", "**not done**", "Check the replica lag _(added for this incident)_"} {
		if !strings.Contains(md, want) {
			t.Errorf("the draft lacks %q", want)
		}
	}
	// The export: every list and service as plain HTML, nothing loaded
	// from elsewhere, the service's last incident included.
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"runbooks", "export", out}, nil, &stdout, &stderr, w.getenv); code != 0 {
		t.Fatalf("runbooks export: %d %s", code, stderr.String())
	}
	for file, wants := range map[string][]string{
		"index.html":                      {"checklist-default.html", "checklist-sev1.html", "service-payments.html", "Card processor support: +44 20 7946 0000"},
		"checklist-sev1.html":             {"Page the owning team", `href="https://wiki.example.com/sev1"`, "commander"},
		"service-payments.html":           {"https://wiki.example.com/runbooks/payments", "Payments overview", "#payments-team", "INC-1 SEV1", "Check the card processor", "Confirm the impact from a second source"},
		"checklist-default.html":          {"warroom ticks it: first_public_update", "optional"},
		"service-search.html":             {"Runbook</th><td>none set"},
		"checklist-service-payments.html": {"Check the card processor"},
	} {
		b, err := os.ReadFile(filepath.Join(out, file))
		if err != nil {
			t.Errorf("export: %v (wrote %s)", err, stdout.String())
			continue
		}
		page := string(b)
		for _, want := range wants {
			if !strings.Contains(html.UnescapeString(page), want) {
				t.Errorf("%s lacks %q", file, want)
			}
		}
		for _, banned := range []string{"<script", " src=", "<link", "@import", "url("} {
			if strings.Contains(page, banned) {
				t.Errorf("%s loads something (%q): the export must stand alone", file, banned)
			}
		}
	}

	w.eventually("the draft ticked its own step", func() bool {
		for _, st := range w.show("INC-1").Checklist {
			if st.Text == "Write the postmortem draft" {
				return st.Done()
			}
		}
		return false
	})
}

// TestBrokenChecklistsStopStartWithFileAndLine: `warroom check` and
// `warroom serve` name the file and line of each broken step, in the
// config file, in WARROOM_CHECKLISTS, and in a service's own list.
func TestBrokenChecklistsStopStartWithFileAndLine(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "warroom.yaml")
	os.WriteFile(cfg, []byte(`pagerduty:
  services:
    - name: payments
      id: PPAY
      severity: sev1
      checklist:
        - {stage: respond, text: Check the processor, done_when: processor_ok}
checklists:
  default:
    - stage: assess
      text: Confirm the impact
    - stage: asses
      text: Typo in the stage
  sev1:
    - {stage: respond, text: "Page them", link: "javascript:alert(1)"}
  billing:
    - {stage: respond, text: Not a service}
`), 0o600)
	lists := filepath.Join(dir, "lists")
	os.Mkdir(lists, 0o700)
	os.WriteFile(filepath.Join(lists, "db.yaml"), []byte("payments:\n  - stage: respond\n    text: ok\n    owner: Incident Commander!\n  - stage: document\n    txt: misspelt key\n  - {stage: assess, text: Page  them}\n  - {stage: assess, text: page them}\n"), 0o600)
	var many strings.Builder
	many.WriteString("sev2:\n")
	for i := range 51 {
		fmt.Fprintf(&many, "  - {stage: respond, text: step %d}\n", i)
	}
	os.WriteFile(filepath.Join(lists, "long.yml"), []byte(many.String()), 0o600)
	env := map[string]string{"WARROOM_CONFIG": cfg, "WARROOM_CHECKLISTS": lists, "WARROOM_DB": filepath.Join(dir, "c.db")}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"check"}, nil, &out, &errb, func(k string) string { return env[k] })
	for _, want := range []string{
		cfg + `:7: done_when "processor_ok" is not an event warroom knows`,
		cfg + `:12: stage "asses" is not a stage`,
		cfg + `:15: link "javascript:alert(1)" is not an http(s) URL`,
		cfg + `:16: "billing" is not a list warroom knows: use default, sev1..sev4, or a service of pagerduty.services (payments)`,
		filepath.Join(lists, "db.yaml") + `:2: owner "Incident Commander!" is not a role`,
		filepath.Join(lists, "db.yaml") + `:6: "txt" is not a step's key`,
		filepath.Join(lists, "db.yaml") + `:8: the same step as line 7 ("page them")`,
		filepath.Join(lists, "long.yml") + `:2: 51 steps; an incident holds at most 50`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}
	if code == 0 {
		t.Error("broken checklists passed the check")
	}
	if strings.Contains(out.String(), "text is missing") {
		t.Errorf("a misspelt key is reported twice (unknown key, and text missing):\n%s", out.String())
	}
	// serve refuses to start on them, saying the same.
	out.Reset()
	errb.Reset()
	env["SLACK_BOT_TOKEN"], env["SLACK_APP_TOKEN"] = "xoxb-x", "xapp-x"
	if code := run(context.Background(), []string{"serve"}, nil, &out, &errb, func(k string) string { return env[k] }); code == 0 || !strings.Contains(errb.String()+out.String(), `:12: stage "asses" is not a stage`) {
		t.Errorf("serve with broken checklists: exit %d\n%s%s", code, out.String(), errb.String())
	}
}

// TestChecklistOfAPrivateIncidentRefusesOutsiders: an attacker with a
// Slack account forges the checklist's block_actions (the block ID names
// the private incident) from a channel they are in, and types the
// command with its reference: nothing is ticked, they are answered as for
// an incident that does not exist, and the checklist's text is not shown.
func TestChecklistOfAPrivateIncidentRefusesOutsiders(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "lists.yaml"), []byte("default:\n  - {stage: assess, text: Rotate the leaked credentials}\n"), 0o600)
	w := start(t, "http", "WARROOM_CHECKLISTS="+dir)
	w.cmd("alice", w.general, "declare private sev2 Payroll export leaked")
	var room string
	w.eventually("the private war room exists", func() bool { room = w.show("INC-1").ChannelID; return room != "" })
	var msg slacksim.Message
	w.eventually("the checklist is posted", func() bool { var ok bool; msg, ok = w.checklistMessage(room); return ok })

	block := boxBlock(t, msg, "1")
	forged := map[string]any{
		"type": "block_actions", "api_app_id": slacksim.AppID, "token": "x",
		"team":       map[string]any{"id": slacksim.TeamID},
		"user":       map[string]any{"id": w.users["dave"], "name": "dave"},
		"channel":    map[string]any{"id": w.general, "name": "general"},
		"container":  map[string]any{"type": "message", "message_ts": "1.000", "channel_id": w.general},
		"message":    map[string]any{"type": "message", "ts": "1.000", "blocks": json.RawMessage(msg.Blocks)},
		"trigger_id": "1.2.3", "response_url": "",
		"actions": []map[string]any{{"type": "checkboxes", "block_id": block, "action_id": "warroom_checklist_tick",
			"selected_options": []map[string]any{{"value": "1", "text": map[string]any{"type": "mrkdwn", "text": "1."}}}, "action_ts": "1.1"}},
	}
	if _, err := w.sim.Interact(context.Background(), forged); err != nil {
		t.Fatal(err)
	}
	w.eventually("dave is answered as for no incident", func() bool { return w.ephemeral("dave", "INC-1") })
	if r := w.cmd("dave", w.general, "INC-1 checklist"); strings.Contains(r, "Rotate") || !strings.Contains(r, "INC-1") {
		t.Errorf("an outsider read the private checklist: %q", r)
	}
	if r := w.cmd("dave", w.general, "INC-1 checklist done 1"); strings.Contains(r, "Rotate") {
		t.Errorf("an outsider's tick was answered with the step: %q", r)
	}
	for _, m := range w.sim.Ephemerals(w.users["dave"]) {
		if strings.Contains(m.Text, "Rotate") || strings.Contains(m.Text, "Payroll") {
			t.Errorf("dave was shown the private incident: %q", m.Text)
		}
	}
	inc := w.show("INC-1")
	if inc.Checklist[0].Done() {
		t.Fatalf("an outsider ticked a private incident's step: %+v", inc.Checklist[0])
	}
	refused := 0
	for _, e := range inc.Timeline {
		if e.Actor == w.users["dave"] && strings.Contains(e.Outcome, "refused: private") {
			refused++
		}
	}
	if refused != 3 {
		t.Errorf("%d refusals of dave on the private timeline, want 3 (the box, and two commands)", refused)
	}
	// A member in the room ticks it.
	w.cmd("alice", room, "checklist done 1")
	if inc := w.show("INC-1"); !inc.Checklist[0].Done() {
		t.Error("the commander could not tick the step")
	}
}
