package bot

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/warroom/warroom/commands"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/internal/mrkdwn"
	"github.com/warroom/warroom/outbox"
)

// Buttons on reminders.
const (
	actionOpenUpdate = "warroom_open_update"
	actionSnooze     = "warroom_snooze"
	snoozeFor        = 15 * time.Minute
)

// SweepReminders finds the reminders that have come due and queues them in
// the outbox with their timeline entries. The due times and what has fired
// live in the database, so a restart neither loses nor repeats one. serve
// runs it from a cron schedule.
func (b *Bot) SweepReminders(ctx context.Context) {
	if _, err := b.svc.Sweep(ctx); err != nil {
		b.log.ErrorContext(ctx, "reminder sweep failed", "err", err)
	}
}

// sendReminder posts reminder r; mark tags the war-room post with the
// outbox item it delivers, so a retry after a crash finds it (alreadyPosted).
func (b *Bot) sendReminder(ctx context.Context, r incident.Reminder, mark slack.MsgOption) error {
	inc := r.Incident
	due := r.Due.UTC().Format("15:04 UTC")
	owner := commands.Mention(inc.Communicator)
	if inc.Communicator == "" {
		owner = commands.Mention(inc.Commander)
	}
	what := "the next public update"
	if inc.OwesFinalUpdate() {
		what = fmt.Sprintf("the final (resolved) update, while the status page still says %s,", incident.TitleCaseStatus(inc.PublicStatus))
	}
	var text string
	switch r.Kind {
	case incident.ReminderRemind:
		text = fmt.Sprintf(":alarm_clock: %s %s for %s is due by %s, in 5 minutes.", owner, what, inc.Ref(), due)
	case incident.ReminderPing:
		text = fmt.Sprintf(":alarm_clock: %s %s %s for %s is due now (%s). Customers are waiting for it.", owner, commands.Mention(inc.Commander), strings.Replace(what, "the next public", "the public", 1), inc.Ref(), due)
	case incident.ReminderHelp:
		text = fmt.Sprintf(":sos: %s (%s) has had nobody but its declarer on it for %s. Everyone who can help: join the war room. To lead it: `/incident commander me`.",
			inc.Ref(), inc.Severity, commands.FormatDuration(r.Due.Sub(inc.DeclaredAt)))
		if b.announce != "" {
			if _, _, err := b.api.PostMessageContext(ctx, b.announce, slack.MsgOptionText(mrkdwn.Escape(text+" War room <#"+inc.ChannelID+">."), false)); err != nil {
				return classify(err)
			}
		}
		if inc.ChannelID == "" {
			return nil
		}
		_, _, err := b.api.PostMessageContext(ctx, inc.ChannelID, slack.MsgOptionText(mrkdwn.Escape(text), false), mark)
		return classify(err)
	case incident.ReminderEscalate:
		text = fmt.Sprintf(":warning: %s's public update is 10 minutes late (due %s). Communicator %s, commander %s.", inc.Ref(), due, commands.Mention(inc.Communicator), commands.Mention(inc.Commander))
		if b.announce != "" {
			if _, _, err := b.api.PostMessageContext(ctx, b.announce, slack.MsgOptionText(mrkdwn.Escape(text+" War room <#"+inc.ChannelID+">."), false)); err != nil {
				return classify(err)
			}
		}
	default:
		return outbox.Permanent(fmt.Errorf("unknown reminder %q", r.Kind))
	}
	if inc.ChannelID == "" {
		return nil
	}
	n := strconv.FormatInt(inc.Number, 10)
	write := slack.NewButtonBlockElement(actionOpenUpdate, n, plain("Write the update"))
	write.Style = slack.StylePrimary
	snooze := slack.NewButtonBlockElement(actionSnooze, n, plain("Snooze 15 min"))
	blocks := []slack.Block{
		slack.NewSectionBlock(markdown(mrkdwn.Escape(text)), nil, nil),
		slack.NewActionBlock("reminder", write, snooze),
	}
	_, _, err := b.api.PostMessageContext(ctx, inc.ChannelID, slack.MsgOptionText(mrkdwn.Escape(text), false), slack.MsgOptionBlocks(blocks...), mark)
	return classify(err)
}

// Buttons on grouped alerts, and on a reply that asks to confirm.
const (
	actionSplit   = "warroom_split_alert"
	actionConfirm = "warroom_confirm" // value "close:7"
)

// blockAction handles the buttons: reminders, grouped alerts, the resolved
// update's prompt, and confirmations. Each goes through the same rules as
// the command it stands for, and a button in a private incident answers
// outsiders as every other path does.
func (b *Bot) blockAction(ctx context.Context, cb slack.InteractionCallback) {
	for _, a := range cb.ActionCallback.BlockActions {
		from := origin{user: cb.User.ID, channel: cb.Channel.ID, responseURL: cb.ResponseURL}
		answer := func(n int64, res commands.Result) {
			b.fx.do(n, func(ctx context.Context) { b.tell(ctx, from, res.Reply) })
		}
		if a.ActionID == checklistAction {
			b.tickFromCheckboxes(ctx, cb, a, answer)
			continue
		}
		if a.ActionID == actionSplit {
			cmd := incident.Command{Actor: cb.User.ID, Channel: cb.Channel.ID, Raw: "[split button] " + a.Value}
			if res := b.disp.SplitAlert(ctx, cmd, a.Value, cb.ResponseURL); res.Failed {
				answer(0, res)
			}
			continue
		}
		what, ref, _ := strings.Cut(a.Value, ":")
		if a.ActionID != actionConfirm {
			what, ref = "", a.Value
		}
		n, err := strconv.ParseInt(ref, 10, 64)
		if err != nil {
			continue
		}
		cmd := incident.Command{Actor: cb.User.ID, Channel: cb.Channel.ID}
		switch a.ActionID {
		case actionOpenUpdate:
			cmd.Kind, cmd.Raw = "update", "[write the update button]"
			if res, refused := b.disp.Refused(ctx, n, cmd); refused {
				answer(n, res)
				continue
			}
			p, err := b.disp.PreviewFor(ctx, n, cb.User.ID, "")
			if err != nil {
				b.fx.do(n, func(ctx context.Context) { b.tell(ctx, from, incident.ErrorMessage(err)) })
				continue
			}
			if _, err := b.api.OpenViewContext(ctx, cb.TriggerID, updateView(*p)); err != nil {
				b.fx.do(n, func(ctx context.Context) {
					b.tell(ctx, from, fmt.Sprintf("I couldn't open the update preview (Slack said: %s). Type `/incident update` instead.", slackErr(err)))
				})
			}
		case actionSnooze:
			cmd.Kind, cmd.Raw = "snooze", "[snooze button] 15m"
			if res, refused := b.disp.Refused(ctx, n, cmd); refused {
				answer(n, res)
				continue
			}
			if res := b.disp.Snooze(ctx, cmd, n, snoozeFor); res.Failed {
				answer(n, res)
			}
		case actionConfirm:
			cmd.Kind, cmd.Raw = what, "[confirm button] "+what
			if res, refused := b.disp.Refused(ctx, n, cmd); refused {
				answer(n, res)
				continue
			}
			if what != "close" {
				continue
			}
			res := b.disp.Close(ctx, cmd, n, true)
			answer(n, res) // the outcome, either way, to the one who pressed it
		}
	}
}
