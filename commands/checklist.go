package commands

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/warroom/warroom/incident"
)

// SlackChecklist posts the war room's checklist message, or edits it when
// it is there already: ticks change the message, they do not re-post it.
const SlackChecklist = "slack.checklist"

func checklistSpec() *spec {
	return &spec{
		Usage: Usage{"checklist", "/incident checklist [done <n> | undo <n> | add [stage] <what to do>]",
			"Show the incident's checklist and progress (only to you); tick step n (`done`), open it again (`undo`), or add a step to this incident only.",
			"/incident checklist done 3"},
		aliases: []string{"checklists", "steps"},
		parse: func(c *Command, rest, _ string) error {
			verb, more := next(rest)
			switch strings.ToLower(verb) {
			case "":
				c.Action = "show"
			case "done", "tick", "check":
				c.Action, c.Text = "done", more
			case "undo", "untick", "uncheck", "open":
				c.Action, c.Text = "undo", more
			case "add":
				if more == "" {
					return errUser("Say what the step is: `/incident checklist add Check the replica lag`.")
				}
				c.Action, c.Text = "add", more
			default:
				if _, err := strconv.Atoi(verb); err == nil && more == "" {
					c.Action, c.Text = "done", verb // "/incident checklist 3"
					return nil
				}
				return errUser(fmt.Sprintf("`%s` is not something the checklist does. Use `done <n>`, `undo <n>` or `add <what to do>`.", clip(verb, 30)))
			}
			if (c.Action == "done" || c.Action == "undo") && strings.TrimSpace(c.Text) == "" {
				return errUser("Give the step's number: `/incident checklist " + c.Action + " 3` (`/incident checklist` lists them).")
			}
			return nil
		},
		run: (*Dispatcher).runChecklist,
	}
}

func (d *Dispatcher) runChecklist(ctx context.Context, r request) Result {
	switch r.Action {
	case "done", "undo":
		return d.TickStep(ctx, r.cmd, r.n, r.Text, r.Action == "done")
	case "add":
		stage, text := incident.Stage(""), r.Text
		w, rest := next(text)
		switch s := incident.Stage(strings.ToLower(w)); s {
		case incident.StageAssess, incident.StageCommunicate, incident.StageRespond, incident.StageDocument:
			stage, text = s, rest
		}
		if strings.TrimSpace(text) == "" {
			msg := fmt.Sprintf("Say what the step is, after the stage: `/incident checklist add %s Check the replica lag`.", stage)
			if err := d.Service.Record(ctx, r.n, r.cmd, msg); err != nil {
				return d.internal(ctx, err)
			}
			return Result{Reply: msg, Failed: true}
		}
		return d.apply(ctx, r.cmd, func(cmd incident.Command) (*incident.Incident, error) {
			return d.Service.AddStep(ctx, r.n, cmd, stage, text)
		}, func(_, inc *incident.Incident) texts {
			done, total := inc.ChecklistProgress()
			st := inc.Checklist[len(inc.Checklist)-1]
			return texts{reply: fmt.Sprintf("Added step %d (%s) to %s's checklist: %s. Checklist %d/%d. When it is done: `/incident checklist done %d`",
				len(inc.Checklist), st.Stage, inc.Ref(), user(st.Text), done, total, len(inc.Checklist))}
		})
	}
	inc, err := d.Service.Get(ctx, r.n)
	if err != nil {
		return d.internal(ctx, err)
	}
	return d.record(ctx, r.n, r.cmd, Result{Reply: d.ChecklistText(ctx, inc), Incident: inc})
}

// TickStep ticks (done) or opens again step number of incident n, from the
// command or from the checklist message's checkboxes.
func (d *Dispatcher) TickStep(ctx context.Context, cmd incident.Command, n int64, number string, done bool) Result {
	cmd.Kind = incident.KindChecklist
	return d.apply(ctx, cmd, func(cmd incident.Command) (*incident.Incident, error) {
		return d.Service.TickStep(ctx, n, cmd, number, done)
	}, func(_, inc *incident.Incident) texts {
		i, _ := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(number), "#"))
		st := inc.Checklist[i-1]
		d, total := inc.ChecklistProgress()
		verb := "done"
		if !done {
			verb = "open again"
		}
		return texts{reply: fmt.Sprintf("Step %d is %s: %s. Checklist %d/%d.%s", i, verb, user(st.Text), d, total, nextHint(inc))}
	})
}

// ChecklistText is the checklist as the person who asks sees it: every
// step by stage, ticked or not, who ticked it and when.
func (d *Dispatcher) ChecklistText(ctx context.Context, inc *incident.Incident) string {
	if len(inc.Checklist) == 0 {
		return fmt.Sprintf("%s has no checklist (the config file's `checklists:` section gives incidents one). Add a step for this incident: `/incident checklist add <what to do>`.", inc.Ref())
	}
	done, total := inc.ChecklistProgress()
	var b strings.Builder
	fmt.Fprintf(&b, "*Checklist of %s: %d/%d done*", inc.Ref(), done, total)
	for _, g := range StepsByStage(inc) {
		fmt.Fprintf(&b, "\n*%s*", TitleCase(string(g.Stage)))
		for _, i := range g.Steps {
			fmt.Fprintf(&b, "\n%s", d.stepLine(inc, i))
		}
	}
	if i, ok := inc.NextChecklistStep(); ok {
		fmt.Fprintf(&b, "\nNext: step %d. When it is done: `/incident checklist done %d`", i+1, i+1)
	} else {
		b.WriteString("\nTick a step: `/incident checklist done <n>`. Add one: `/incident checklist add <what to do>`.")
	}
	return b.String()
}

// stepLine is one step, for a reply or a post.
func (d *Dispatcher) stepLine(inc *incident.Incident, i int) string {
	st := inc.Checklist[i]
	box := ":white_large_square:"
	if st.Done() {
		box = ":white_check_mark:"
	}
	line := fmt.Sprintf("%s %d. %s", box, i+1, linkOr(st.Link, st.Text))
	if st.Owner != "" {
		line += " _(" + user(st.Owner) + ")_"
	}
	if st.Done() {
		line += " — " + DoneByText(st)
	}
	return line
}

// DoneByText says who ticked a step and when: "<@U1> at 14:03", or "done
// by warroom at 14:03" when the lifecycle ticked it.
func DoneByText(st incident.Step) string {
	at := st.DoneAt.UTC().Format("15:04 UTC")
	if st.DoneBy == incident.SystemActor {
		return "done by warroom at " + at
	}
	return Mention(st.DoneBy) + " at " + at
}

// StageSteps are the indexes of one stage's steps, in order.
type StageSteps struct {
	Stage incident.Stage
	Steps []int
}

// StepsByStage groups the checklist by stage, in the stages' order.
func StepsByStage(inc *incident.Incident) []StageSteps {
	var out []StageSteps
	for _, s := range []incident.Stage{incident.StageAssess, incident.StageCommunicate, incident.StageRespond, incident.StageDocument} {
		g := StageSteps{Stage: s}
		for i, st := range inc.Checklist {
			if st.Stage == s {
				g.Steps = append(g.Steps, i)
			}
		}
		if len(g.Steps) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// openStepsText is the resolver's line about the steps left undone: the
// resolve stands, but the room should know what was skipped.
// draftComing says the postmortem draft is written at resolve: the step
// it ticks is not left open.
func openStepsText(inc *incident.Incident, draftComing bool) string {
	var names []string
	for i, st := range inc.Checklist {
		if !st.Done() && !st.Optional && !(draftComing && st.DoneWhen == incident.TriggerPostmortemWritten) {
			names = append(names, fmt.Sprintf("%d. %s", i+1, user(st.Text)))
		}
	}
	if len(names) == 0 {
		return ""
	}
	return fmt.Sprintf("\n:warning: %d checklist step%s still open: %s. Tick what was done (`/incident checklist done <n>`); the postmortem lists the rest as not done.",
		len(names), plural(len(names)), strings.Join(names, "; "))
}

// checklistView is what the checklist message shows.
func checklistView(inc *incident.Incident) string {
	var b strings.Builder
	for _, st := range inc.Checklist {
		fmt.Fprintf(&b, "%s\x00%s\x00%s\x00%d\x01", st.Stage, st.Text, st.DoneBy, st.DoneAt.Unix())
	}
	return b.String()
}
