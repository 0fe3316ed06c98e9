// Package bot is warroom's Slack adapter: it receives slash commands,
// interactions and events over HTTP or Socket Mode, verifies them, hands
// them to commands.Dispatcher, answers within Slack's 3 seconds, and then
// carries out the slower Slack work (war rooms, topics, pinned summaries,
// announcements) in the background through slack-go.
//
// It holds no lifecycle rules: those are in incident/. It must not import
// a store.
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/warroom/warroom/commands"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/internal/mrkdwn"
)

// Options configure a Bot.
type Options struct {
	API        *slack.Client
	Dispatcher *commands.Dispatcher
	// AnnounceChannel gets declarations, escalations and resolutions; "" for none.
	AnnounceChannel string
	Log             *slog.Logger
	// OnPublish, if set, hears of every public update as it is published
	// (the Atlassian Statuspage publisher).
	OnPublish func(*incident.Incident, incident.PublicUpdate)
}

// Bot connects Slack to the dispatcher.
type Bot struct {
	api      *slack.Client
	disp     *commands.Dispatcher
	svc      *incident.Service
	announce string
	log      *slog.Logger
	fx       *effects
	http     httpPoster
	publish  func(*incident.Incident, incident.PublicUpdate)

	mu     sync.Mutex
	topics map[int64]string // the last topic set per war room, to skip no-op updates
	events *seen            // Events API event IDs already handled
}

// New returns a Bot. Call Shutdown to let background Slack work finish.
func New(o Options) *Bot {
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	b := &Bot{
		api: o.API, disp: o.Dispatcher, svc: o.Dispatcher.Service, announce: strings.TrimPrefix(o.AnnounceChannel, "#"),
		log: log, topics: map[int64]string{}, events: newSeen(10 * time.Minute),
	}
	b.fx = newEffects(log)
	b.publish = o.OnPublish
	b.http = defaultPoster()
	return b
}

// Shutdown waits for queued Slack work to finish, until ctx ends.
func (b *Bot) Shutdown(ctx context.Context) error { return b.fx.drain(ctx) }

// Command handles one slash command and returns the immediate reply (""
// for none). Anything slow is queued.
func (b *Bot) Command(ctx context.Context, sc slack.SlashCommand) string {
	res := b.disp.Run(ctx, commands.Invocation{User: sc.UserID, Channel: sc.ChannelID, Text: sc.Text})
	if res.Preview != nil {
		if _, err := b.api.OpenViewContext(ctx, sc.TriggerID, updateView(*res.Preview)); err != nil {
			b.log.WarnContext(ctx, "views.open failed", "err", err)
			return mrkdwn.Escape(fmt.Sprintf("I couldn't open the update preview (Slack said: %s). Try `/incident update` again.", slackErr(err)))
		}
		return ""
	}
	if res.Modal != nil {
		if err := b.openDeclareForm(ctx, sc.TriggerID, *res.Modal); err != nil {
			b.log.WarnContext(ctx, "views.open failed", "err", err)
			return mrkdwn.Escape(fmt.Sprintf("I couldn't open the declare form (Slack said: %s). Type it instead: `/incident declare sev2 <title>`", slackErr(err)))
		}
		return ""
	}
	b.carryOut(res, origin{user: sc.UserID, channel: sc.ChannelID, responseURL: sc.ResponseURL})
	return mrkdwn.Escape(res.Reply)
}

// Alert handles an alert from monitoring and carries out its Slack effects.
func (b *Bot) Alert(ctx context.Context, a incident.Alert, c incident.Correlation) error {
	res, err := b.disp.Alert(ctx, a, c)
	if err != nil {
		return err
	}
	// An alert grouped before its war room exists is posted once the room
	// is made: the incident's queue runs in order.
	b.carryOut(res, origin{})
	return nil
}

// origin is where a command came from, for replies sent later.
type origin struct {
	user, channel, responseURL string
}

// carryOut queues the Slack effects of a command's result.
func (b *Bot) carryOut(res commands.Result, from origin) {
	if res.Failed || res.Incident == nil {
		return
	}
	n := res.Incident.Number
	if res.Published != nil && b.publish != nil {
		b.publish(res.Incident, *res.Published)
	}
	if res.Declared {
		b.fx.do(n, func(ctx context.Context) { b.openWarRoom(ctx, n, from) })
		return
	}
	if len(res.Invite) > 0 {
		b.fx.do(n, func(ctx context.Context) { b.invite(ctx, n, res.Invite) })
	}
	if res.Post != "" && res.Split != "" {
		b.fx.do(n, func(ctx context.Context) { b.postWithSplit(ctx, n, res.Post, res.Split) })
	} else if res.Post != "" {
		b.fx.do(n, func(ctx context.Context) { b.postToRoom(ctx, n, res.Post) })
	}
	if res.Changed {
		b.fx.do(n, func(ctx context.Context) { b.refresh(ctx, n) })
	}
	if res.Announce != "" {
		b.fx.do(n, func(ctx context.Context) { b.postAnnouncement(ctx, n, res.Announce) })
	}
	if res.Incident.Stage == incident.StageClosed {
		b.fx.do(n, func(ctx context.Context) { b.archive(ctx, n) })
	}
}

// openWarRoom creates the war room, invites people, sets the topic, posts
// and pins the summary, announces, and tells the declarer. A step that
// fails is recorded on the timeline and reported; the incident stays declared.
func (b *Bot) openWarRoom(ctx context.Context, n int64, from origin) {
	inc, err := b.svc.Get(ctx, n)
	if err != nil {
		b.log.ErrorContext(ctx, "war room: incident vanished", "incident", incident.Ref(n), "err", err)
		return
	}
	ch, err := b.createChannel(ctx, inc)
	if err != nil {
		b.record(ctx, n, "conversations.create", err)
		b.tell(ctx, from, fmt.Sprintf(":warning: %s is declared and saved, but Slack would not create its war room (%s). Keep working from here with the reference, e.g. `/incident %s status investigating <what you see>`.", inc.Ref(), slackErr(err), inc.Ref()))
		return
	}
	if inc, err = b.svc.AttachWarRoom(ctx, n, ch.ID, ch.Name); err != nil {
		b.log.ErrorContext(ctx, "war room: could not record the channel", "incident", incident.Ref(n), "err", err)
		b.tell(ctx, from, fmt.Sprintf(":warning: The war room <#%s> was created, but warroom could not save it, so commands typed there won't find %s. Use the reference instead: `/incident %s note <text>`.", ch.ID, incident.Ref(n), incident.Ref(n)))
		return
	}
	var invite []string
	for _, u := range []string{inc.DeclaredBy, inc.Commander} {
		if u != "" && u != incident.AlertActor && !slices.Contains(invite, u) {
			invite = append(invite, u)
		}
	}
	b.invite(ctx, n, invite)
	if _, err := b.api.SetPurposeOfConversationContext(ctx, ch.ID, clipRunes(inc.Title, 250)); err != nil {
		b.record(ctx, n, "conversations.setPurpose", err)
	}
	b.setTopic(ctx, inc)
	_, ts, err := b.api.PostMessageContext(ctx, ch.ID, slack.MsgOptionText(summaryText(inc), false), slack.MsgOptionBlocks(summaryBlocks(inc, b.svc.Now())...))
	if err != nil {
		b.record(ctx, n, "chat.postMessage", err)
	} else {
		if err := b.svc.SetSummaryMessage(ctx, n, ts); err != nil {
			b.log.ErrorContext(ctx, "war room: could not record the summary", "incident", inc.Ref(), "err", err)
		}
		if err := b.api.AddPinContext(ctx, ch.ID, slack.NewRefToMessage(ch.ID, ts)); err != nil {
			b.record(ctx, n, "pins.add", err)
		}
	}
	by := ""
	if inc.DeclaredBy == incident.AlertActor {
		by = " from a PagerDuty alert"
	}
	b.postAnnouncement(ctx, n, fmt.Sprintf(":rotating_light: *%s* declared%s (%s): %s — join <#%s>. Commander: %s.", inc.Ref(), by, inc.Severity, mrkdwn.EscapeUser(inc.Title), ch.ID, commands.Mention(inc.Commander)))
	b.tell(ctx, from, fmt.Sprintf("War room for %s is ready: <#%s>. Next: %s", inc.Ref(), ch.ID, inc.NextStep()))
	b.log.InfoContext(ctx, "war room opened", "incident", inc.Ref(), "channel", ch.ID)
}

// createChannel creates inc-<n>-<slug>, adding -2, -3... while the name is taken.
func (b *Bot) createChannel(ctx context.Context, inc *incident.Incident) (*slack.Channel, error) {
	var err error
	for suffix := 1; suffix <= 20; suffix++ {
		name := ChannelName(inc.Number, inc.Title, suffix)
		var ch *slack.Channel
		ch, err = b.api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: name})
		if err == nil {
			return ch, nil
		}
		if slackErr(err) != "name_taken" {
			return nil, err
		}
	}
	return nil, err
}

// refresh brings the pinned summary and the topic up to date.
func (b *Bot) refresh(ctx context.Context, n int64) {
	inc, err := b.svc.Get(ctx, n)
	if err != nil || inc.ChannelID == "" {
		return
	}
	b.setTopic(ctx, inc)
	if inc.SummaryTS == "" {
		return
	}
	_, _, _, err = b.api.UpdateMessageContext(ctx, inc.ChannelID, inc.SummaryTS,
		slack.MsgOptionText(summaryText(inc), false), slack.MsgOptionBlocks(summaryBlocks(inc, b.svc.Now())...))
	if err != nil {
		b.record(ctx, n, "chat.update", err)
	}
}

func (b *Bot) setTopic(ctx context.Context, inc *incident.Incident) {
	topic := topicText(inc)
	b.mu.Lock()
	same := b.topics[inc.Number] == topic
	b.mu.Unlock()
	if same || inc.Stage == incident.StageClosed {
		return
	}
	if _, err := b.api.SetTopicOfConversationContext(ctx, inc.ChannelID, topic); err != nil {
		b.record(ctx, inc.Number, "conversations.setTopic", err)
		return
	}
	b.mu.Lock()
	b.topics[inc.Number] = topic
	b.mu.Unlock()
}

// invite brings people into the war room; being there already is fine.
func (b *Bot) invite(ctx context.Context, n int64, users []string) {
	if len(users) == 0 {
		return
	}
	inc, err := b.svc.Get(ctx, n)
	if err != nil || inc.ChannelID == "" || inc.Stage == incident.StageClosed {
		return
	}
	if _, err := b.api.InviteUsersToConversationContext(ctx, inc.ChannelID, users...); err != nil && slackErr(err) != "already_in_channel" {
		b.record(ctx, n, "conversations.invite", err)
	}
}

func (b *Bot) postToRoom(ctx context.Context, n int64, text string) {
	inc, err := b.svc.Get(ctx, n)
	if err != nil || inc.ChannelID == "" {
		return
	}
	if _, _, err := b.api.PostMessageContext(ctx, inc.ChannelID, slack.MsgOptionText(mrkdwn.Escape(text), false)); err != nil {
		b.record(ctx, n, "chat.postMessage", err)
	}
}

func (b *Bot) postAnnouncement(ctx context.Context, n int64, text string) {
	if b.announce == "" {
		return
	}
	if _, _, err := b.api.PostMessageContext(ctx, b.announce, slack.MsgOptionText(mrkdwn.Escape(text), false)); err != nil {
		b.record(ctx, n, "chat.postMessage (announcement)", err)
	}
}

func (b *Bot) archive(ctx context.Context, n int64) {
	inc, err := b.svc.Get(ctx, n)
	if err != nil || inc.ChannelID == "" {
		return
	}
	if err := b.api.ArchiveConversationContext(ctx, inc.ChannelID); err != nil && slackErr(err) != "already_archived" {
		b.record(ctx, n, "conversations.archive", err)
	}
}

// tell sends a follow-up only the user sees: through the command's
// response_url, or as an ephemeral message where they typed it.
func (b *Bot) tell(ctx context.Context, to origin, text string) {
	text = mrkdwn.Escape(text)
	if to.responseURL != "" {
		if err := b.http.respond(ctx, to.responseURL, text); err == nil {
			return
		} else {
			b.log.WarnContext(ctx, "response_url failed", "err", err)
		}
	}
	if to.channel != "" && to.user != "" {
		if _, err := b.api.PostEphemeralContext(ctx, to.channel, to.user, slack.MsgOptionText(text, false)); err != nil {
			b.log.WarnContext(ctx, "could not reach the user", "user", to.user, "err", err)
		}
	}
}

// record puts a failed Slack call on the incident's timeline.
func (b *Bot) record(ctx context.Context, n int64, call string, err error) {
	b.log.WarnContext(ctx, "slack call failed", "incident", incident.Ref(n), "call", call, "err", err)
	if rerr := b.svc.RecordSystem(ctx, n, incident.KindSlackError, call, "Slack said: "+slackErr(err)); rerr != nil {
		b.log.ErrorContext(ctx, "could not record a slack failure", "incident", incident.Ref(n), "err", rerr)
	}
}

// slackErr is the short error code Slack gave, or the error text.
func slackErr(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return "ratelimited"
	}
	return err.Error()
}

func clipRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
