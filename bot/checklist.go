package bot

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/warroom/warroom/commands"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/internal/mrkdwn"
)

// The checklist message: one actions block of checkboxes per stage (per
// ten steps: a checkboxes element holds at most ten options), each option's
// value the step's number. Its block IDs carry the incident, so a click is
// taken for the incident the message belongs to.
const (
	checklistBlock  = "warroom_checklist" // block_id: warroom_checklist:<n>:<first step>
	checklistAction = "warroom_checklist_tick"
	slackOptionMax  = 75 // characters of an option's text and description
	checkboxesMax   = 10 // options of one checkboxes element
)

// checklistText is the checklist message's plain-text fallback.
func checklistText(inc *incident.Incident) string {
	done, total := inc.ChecklistProgress()
	return fmt.Sprintf("Checklist of %s: %d/%d done", inc.Ref(), done, total)
}

// checklistBlocks renders the checklist: by stage, a box per step, ticked
// ones saying who ticked them and when (names: option descriptions are
// plain text, where mentions do not render).
func checklistBlocks(inc *incident.Incident, names map[string]string) []slack.Block {
	done, total := inc.ChecklistProgress()
	blocks := []slack.Block{
		slack.NewSectionBlock(markdown(fmt.Sprintf(":ballot_box_with_check: *Checklist* · %s · %d/%d done", inc.Ref(), done, total)), nil, nil),
		slack.NewContextBlock("checklist_help", markdown("Tick a step when it is done; the timeline records who and when. Or type `/incident checklist done &lt;n&gt;`. Add a step for this incident: `/incident checklist add &lt;what to do&gt;`.")),
	}
	for _, g := range commands.StepsByStage(inc) {
		blocks = append(blocks, slack.NewSectionBlock(markdown("*"+commands.TitleCase(string(g.Stage))+"*"), nil, nil))
		var links []string
		for start := 0; start < len(g.Steps); start += checkboxesMax {
			chunk := g.Steps[start:min(start+checkboxesMax, len(g.Steps))]
			var opts, ticked []*slack.OptionBlockObject
			for _, i := range chunk {
				st := inc.Checklist[i]
				o := slack.NewOptionBlockObject(strconv.Itoa(i+1), markdown(clipRunes(fmt.Sprintf("%d. %s", i+1, mrkdwn.EscapeUser(st.Text)), slackOptionMax)), nil)
				if desc := stepDescription(st, names); desc != "" {
					o.Description = plain(clipRunes(desc, slackOptionMax))
				}
				opts = append(opts, o)
				if st.Done() {
					ticked = append(ticked, o)
				}
				if st.Link != "" {
					links = append(links, fmt.Sprintf("<%s|step %d>", st.Link, i+1))
				}
			}
			boxes := slack.NewCheckboxGroupsBlockElement(checklistAction, opts...)
			boxes.InitialOptions = ticked
			blocks = append(blocks, slack.NewActionBlock(fmt.Sprintf("%s:%d:%d", checklistBlock, inc.Number, chunk[0]+1), boxes))
		}
		if len(links) > 0 {
			blocks = append(blocks, slack.NewContextBlock("", markdown(":book: How-to: "+strings.Join(links, " · "))))
		}
	}
	return blocks
}

// stepDescription is the line under a step: who ticked it and when, or
// whose it is.
func stepDescription(st incident.Step, names map[string]string) string {
	if st.Done() {
		who := "warroom"
		if st.DoneBy != incident.SystemActor {
			who = firstNonEmpty(names[st.DoneBy], st.DoneBy)
		}
		return fmt.Sprintf("done by %s at %s UTC", who, st.DoneAt.UTC().Format("15:04"))
	}
	if st.Owner != "" {
		return "for the " + st.Owner
	}
	return ""
}

// deliverChecklist posts the checklist to the war room, or edits the
// message when it is there: ticks change it, they do not re-post it.
func (b *Bot) deliverChecklist(ctx context.Context, e incident.Effect) error {
	inc, err := b.incident(ctx, e)
	if err != nil || inc.ChannelID == "" || len(inc.Checklist) == 0 {
		return err
	}
	var ids []string
	for _, st := range inc.Checklist {
		ids = append(ids, st.DoneBy)
	}
	opts := []slack.MsgOption{slack.MsgOptionText(checklistText(inc), false), slack.MsgOptionBlocks(checklistBlocks(inc, b.Names(ctx, ids))...)}
	if inc.ChecklistTS != "" {
		_, _, _, err := b.api.UpdateMessageContext(ctx, inc.ChannelID, inc.ChecklistTS, opts...)
		if err != nil && slackErr(err) == "is_archived" {
			return nil // a tick after the room was archived has nothing to show
		}
		return classify(err)
	}
	_, ts, err := b.api.PostMessageContext(ctx, inc.ChannelID, opts...)
	if err != nil {
		return classify(err)
	}
	if err := b.svc.SetChecklistMessage(ctx, inc.Number, ts); err != nil {
		b.log.ErrorContext(ctx, "war room: could not record the checklist message", "incident", inc.Ref(), "err", err)
	}
	if err := b.api.AddPinContext(ctx, inc.ChannelID, slack.NewRefToMessage(inc.ChannelID, ts)); err != nil && slackErr(err) != "already_pinned" {
		b.record(ctx, inc.Number, "pins.add", err)
	}
	// A tick made while the message was being posted is put in now.
	if cur, err := b.svc.Get(ctx, inc.Number); err == nil && checklistText(cur) != checklistText(inc) {
		b.api.UpdateMessageContext(ctx, inc.ChannelID, ts, slack.MsgOptionText(checklistText(cur), false), slack.MsgOptionBlocks(checklistBlocks(cur, b.Names(ctx, ids))...))
	}
	return nil
}

// tickFromCheckboxes turns a click on the checklist message into the step
// ticked or opened again. Slack sends every box of the element that is
// now ticked; the step clicked is the one that differs from the message
// as the person saw it (so a stale message cannot untick what someone
// else ticked since).
func (b *Bot) tickFromCheckboxes(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction, answer func(int64, commands.Result)) {
	parts := strings.Split(a.BlockID, ":")
	if len(parts) != 3 || parts[0] != checklistBlock {
		return
	}
	n, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return
	}
	now := map[string]bool{}
	for _, o := range a.SelectedOptions {
		now[o.Value] = true
	}
	seen, all, labels, ok := shownBoxes(cb.Message.Blocks, a.BlockID)
	cmd := incident.Command{Actor: cb.User.ID, Channel: cb.Channel.ID, Kind: incident.KindChecklist, Raw: "[checklist box]"}
	if res, refused := b.disp.Refused(ctx, n, cmd); refused {
		answer(n, res) // an outsider: answered as for no incident, recorded on its timeline
		return
	}
	if !ok {
		msg := "I couldn't tell which step you clicked. Type it instead: `/incident checklist done <n>` (`/incident checklist` lists them)."
		cmd.Raw = "[checklist box] (the click came without its message)"
		if err := b.svc.Record(ctx, n, cmd, msg); err != nil {
			b.log.WarnContext(ctx, "checklist: could not record a click", "incident", incident.Ref(n), "err", err)
		}
		answer(n, commands.Result{Reply: msg, Failed: true})
		return
	}
	for _, v := range all {
		if now[v] == seen[v] {
			continue
		}
		verb := "done"
		if !now[v] {
			verb = "undo"
		}
		cmd.Raw = "[checklist box] " + verb + " " + v + ": " + clipRunes(labels[v], slackOptionMax)
		if res := b.disp.TickStep(ctx, cmd, n, v, now[v]); res.Failed {
			answer(n, res)
			// Slack's client shows the box as clicked until the message
			// changes: put it back as the checklist stands.
			b.fx.do(n, func(ctx context.Context) {
				if err := b.deliverChecklist(ctx, incident.Effect{Incident: n}); err != nil {
					b.log.WarnContext(ctx, "checklist: could not redraw after a refused click", "incident", incident.Ref(n), "err", err)
				}
			})
		}
	}
}

// shownBoxes reads, from the message the click came from, the options of
// the checkboxes in block blockID and which of them were ticked.
func shownBoxes(blocks slack.Blocks, blockID string) (ticked map[string]bool, all []string, labels map[string]string, ok bool) {
	for _, blk := range blocks.BlockSet {
		ab, isAction := blk.(*slack.ActionBlock)
		if !isAction || ab.BlockID != blockID || ab.Elements == nil {
			continue
		}
		for _, el := range ab.Elements.ElementSet {
			cg, isBoxes := el.(*slack.CheckboxGroupsBlockElement)
			if !isBoxes {
				continue
			}
			ticked, labels = map[string]bool{}, map[string]string{}
			for _, o := range cg.Options {
				all = append(all, o.Value)
				if o.Text != nil {
					labels[o.Value] = o.Text.Text
				}
			}
			for _, o := range cg.InitialOptions {
				ticked[o.Value] = true
			}
			return ticked, all, labels, true
		}
	}
	return nil, nil, nil, false
}

// deliverCard posts the service's card to the war room, or, with "to",
// tells the service's own channel about the incident (planned only for a
// public one: a private one shows nothing outside its room).
func (b *Bot) deliverCard(ctx context.Context, e incident.Effect) error {
	inc, err := b.incident(ctx, e)
	if err != nil || inc.ChannelID == "" {
		return err
	}
	if to := strings.TrimPrefix(e.Payload["to"], "#"); to != "" {
		if inc.Private {
			return nil
		}
		_, _, err = b.api.PostMessageContext(ctx, to, slack.MsgOptionText(fmt.Sprintf(":rotating_light: %s (%s) affects *%s*: %s. War room: <#%s>. The service's card: `/incident service %s`.",
			inc.Ref(), inc.Severity, mrkdwn.EscapeUser(inc.Service), mrkdwn.EscapeUser(inc.Title), inc.ChannelID, inc.Service), false))
		return classify(err)
	}
	text, _, ok, err := b.disp.Card(ctx, e.Payload["service"], inc.Number)
	if err != nil || !ok {
		return err
	}
	_, _, err = b.api.PostMessageContext(ctx, inc.ChannelID, slack.MsgOptionText(text, false), slack.MsgOptionDisableLinkUnfurl())
	return classify(err)
}
