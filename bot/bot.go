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
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
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
	// AdminURL is where the team reads internal pages (the postmortem
	// drafts); "" when they are not served.
	AdminURL string
	Log      *slog.Logger
	// Guard, if set, remembers the requests and events taken in the
	// database, so a replay to another replica or after a restart is
	// refused too (the store provides it).
	Guard RequestGuard
	// TimelineEmoji is the reaction that puts a message into the
	// timeline, without colons; "" is pushpin.
	TimelineEmoji string
	// FormKey signs what a modal carries to its submission, so a forged
	// submission cannot change it; every replica must have the same (serve
	// uses the bot token, a secret they share). Empty: a random key, for
	// one process.
	FormKey []byte
}

// RequestGuard records a request's key and reports whether it is new
// within ttl, across every replica and restart.
type RequestGuard interface {
	FirstRequest(ctx context.Context, key string, now time.Time, ttl time.Duration) (bool, error)
}

// Bot connects Slack to the dispatcher.
type Bot struct {
	api      *slack.Client
	disp     *commands.Dispatcher
	svc      *incident.Service
	announce string
	adminURL string
	log      *slog.Logger
	fx       *effects
	http     httpPoster

	mu     sync.Mutex
	topics map[int64]string  // the last topic set per war room, to skip no-op updates
	names  map[string]string // display names by user ID, for documents
	people *directory        // everyone by name, for commands typed without an @
	events *seen             // Events API event IDs already handled
	guard  RequestGuard      // the shared record of both, or nil
	// unrecorded are keys the guard could not record (its database was
	// down), to record with the next that can.
	unrecorded []unrecordedKey
	self       string // the bot's user ID, once known
	emoji      string // the reaction that captures a message
	formKey    []byte // signs modals' private metadata

	started time.Time // effects queued before this may have been sent by a process that died
}

// New returns a Bot. Call Shutdown to let background Slack work finish.
func New(o Options) *Bot {
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	b := &Bot{
		api: o.API, disp: o.Dispatcher, svc: o.Dispatcher.Service, announce: strings.TrimPrefix(o.AnnounceChannel, "#"), adminURL: strings.TrimSuffix(o.AdminURL, "/"),
		log: log, topics: map[int64]string{}, names: map[string]string{}, events: newSeen(10 * time.Minute),
		started: time.Now(), guard: o.Guard, emoji: strings.Trim(firstNonEmpty(o.TimelineEmoji, "pushpin"), ":"),
	}
	b.fx = newEffects(log)
	if b.formKey = o.FormKey; len(b.formKey) == 0 {
		b.formKey = make([]byte, 32)
		rand.Read(b.formKey)
	}
	b.http = defaultPoster()
	return b
}

// Shutdown waits for direct replies still being sent, until ctx ends.
// (Everything else is in the outbox.)
func (b *Bot) Shutdown(ctx context.Context) error { return b.fx.drain(ctx) }

// Reply is the immediate, ephemeral answer to a slash command: text, and
// blocks when it offers a button.
type Reply struct {
	Text   string
	Blocks []slack.Block
}

// payload is the reply as Slack takes it in the command's response (or
// the Socket Mode ack); nil for no reply.
func (r Reply) payload() any {
	if r.Text == "" {
		return nil
	}
	p := map[string]any{"response_type": "ephemeral", "text": r.Text}
	if len(r.Blocks) > 0 {
		p["blocks"] = r.Blocks
	}
	return p
}

// Command handles one slash command and returns the immediate reply (empty
// for none). Anything slow is queued.
func (b *Bot) Command(ctx context.Context, sc slack.SlashCommand) Reply {
	res := b.disp.Run(ctx, commands.Invocation{User: sc.UserID, Channel: sc.ChannelID, Text: sc.Text, ResponseURL: sc.ResponseURL})
	b.meet(sc.UserID, sc.Text)
	if res.Preview != nil {
		if _, err := b.api.OpenViewContext(ctx, sc.TriggerID, updateView(*res.Preview)); err != nil {
			b.log.WarnContext(ctx, "views.open failed", "err", err)
			return Reply{Text: mrkdwn.Escape(fmt.Sprintf("I couldn't open the update preview (Slack said: %s). Try `/incident update` again.", slackErr(err)))}
		}
		return Reply{}
	}
	if res.Modal != nil {
		if err := b.openDeclareForm(ctx, sc.TriggerID, *res.Modal); err != nil {
			b.log.WarnContext(ctx, "views.open failed", "err", err)
			return Reply{Text: mrkdwn.Escape(fmt.Sprintf("I couldn't open the declare form (Slack said: %s). Type it instead: `/incident declare sev2 <title>`", slackErr(err)))}
		}
		return Reply{}
	}
	return replyOf(res)
}

// replyOf is a result's reply, with its confirmation button if it has one.
func replyOf(res commands.Result) Reply {
	r := Reply{Text: mrkdwn.Escape(res.Reply)}
	if c := res.Confirm; c != nil {
		btn := slack.NewButtonBlockElement(actionConfirm, c.Action+":"+refText(c.Incident), plain(c.Label))
		btn.Style = slack.StyleDanger
		r.Blocks = []slack.Block{slack.NewSectionBlock(markdown(clipRunes(r.Text, 2900)), nil, nil), slack.NewActionBlock("confirm", btn)}
	}
	return r
}

// origin is where a command came from, for replies sent later.
type origin struct {
	user, channel, responseURL string
}

// createChannel creates inc-<n>-<slug>, adding -2, -3... while the name is taken.
func (b *Bot) createChannel(ctx context.Context, inc *incident.Incident) (*slack.Channel, error) {
	var err error
	for suffix := 1; suffix <= 20; suffix++ {
		name := ChannelName(inc.Number, inc.Title, suffix)
		var ch *slack.Channel
		ch, err = b.api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: name, IsPrivate: inc.Private})
		if err == nil {
			return ch, nil
		}
		if slackErr(err) != "name_taken" {
			return nil, err
		}
		// A create whose answer was lost (a timeout) made the channel all
		// the same: the retry finds it taken. Ours and unclaimed, it is
		// this incident's; anything else is someone else's name.
		if mine, lerr := b.unclaimedChannel(ctx, name); lerr != nil {
			return nil, lerr
		} else if mine != nil {
			b.log.InfoContext(ctx, "adopted a war room created before a lost answer", "incident", inc.Ref(), "channel", mine.ID)
			return mine, nil
		}
	}
	return nil, err
}

// unclaimedChannel returns the channel called name if the bot created it
// and no incident has it as its war room, or nil.
func (b *Bot) unclaimedChannel(ctx context.Context, name string) (*slack.Channel, error) {
	self, err := b.selfID(ctx)
	if err != nil {
		return nil, err
	}
	params := &slack.GetConversationsParameters{Types: []string{"public_channel", "private_channel"}, ExcludeArchived: true, Limit: 200}
	for {
		chans, next, err := b.api.GetConversationsContext(ctx, params)
		if err != nil {
			return nil, err
		}
		for i := range chans {
			ch := &chans[i]
			if ch.Name != name || ch.Creator != self {
				continue
			}
			if _, err := b.svc.ByChannel(ctx, ch.ID); incident.ErrorCode(err) == incident.ENotFound {
				return ch, nil
			}
			return nil, nil
		}
		if next == "" {
			return nil, nil
		}
		params.Cursor = next
	}
}

// selfID is the bot's own Slack user ID, asked once.
func (b *Bot) selfID(ctx context.Context) (string, error) {
	b.mu.Lock()
	id := b.self
	b.mu.Unlock()
	if id != "" {
		return id, nil
	}
	auth, err := b.api.AuthTestContext(ctx)
	if err != nil {
		return "", err
	}
	b.mu.Lock()
	b.self = auth.UserID
	b.mu.Unlock()
	return auth.UserID, nil
}

func (b *Bot) setTopic(ctx context.Context, inc *incident.Incident) error {
	topic := topicText(inc)
	b.mu.Lock()
	same := b.topics[inc.Number] == topic
	b.mu.Unlock()
	if same || inc.Stage == incident.StageClosed {
		return nil
	}
	if _, err := b.api.SetTopicOfConversationContext(ctx, inc.ChannelID, topic); err != nil {
		return err
	}
	b.mu.Lock()
	b.topics[inc.Number] = topic
	b.mu.Unlock()
	return nil
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

// slackErr is the short error code Slack gave, or the error text; "" for
// no error.
func slackErr(err error) string {
	if err == nil {
		return ""
	}
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
