package bot

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/warroom/warroom/commands"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/internal/mrkdwn"
	"github.com/warroom/warroom/outbox"
)

// The conversation into the timeline (issue 18): a 📌 reaction or Slack's
// pin on a message in a war room, or the "Add to incident timeline"
// shortcut on any message, asks for it; the outbox fetches it (author,
// text, files, permalink) and records it; an edit or a deletion in Slack
// adds an entry. warroom acknowledges with a reaction of its own.

const (
	// ShortcutCallback is the message shortcut's callback ID (the manifest's).
	ShortcutCallback = "warroom_add_to_timeline"
	captureCallback  = "warroom_capture"
	blockCaptureInc  = "capture_incident"
	blockCaptureNote = "capture_comment"
	// AckReaction is how warroom says a message is in the timeline.
	AckReaction = "white_check_mark"
)

// conversationEvent handles the events of the conversation; it reports
// whether ev was one.
func (b *Bot) conversationEvent(ctx context.Context, ev slackevents.EventsAPIEvent) bool {
	self, _ := b.selfID(ctx)
	switch e := ev.InnerEvent.Data.(type) {
	case *slackevents.ReactionAddedEvent:
		if e.Reaction == b.emoji && e.Item.Type == "message" && e.User != self {
			b.askCapture(ctx, e.User, e.Item.Channel, e.Item.Timestamp, "reaction", "reacted :"+e.Reaction+": to a message")
		}
	case *slackevents.ReactionRemovedEvent:
		if e.Reaction == b.emoji && e.Item.Type == "message" && e.User != self {
			inc, err := b.svc.ByChannel(ctx, e.Item.Channel)
			if err != nil {
				return true // not a war room
			}
			cmd := incident.Command{Actor: e.User, Channel: e.Item.Channel, Raw: "took :" + e.Reaction + ": off a message"}
			_, err = b.svc.Uncapture(ctx, inc.Number, cmd, e.Item.Channel, e.Item.Timestamp)
			switch {
			case err == nil:
				// Its ✅ said "in the timeline": it no longer is.
				ref := slack.NewRefToMessage(e.Item.Channel, e.Item.Timestamp)
				b.fx.do(inc.Number, func(ctx context.Context) {
					if err := b.api.RemoveReactionContext(ctx, AckReaction, ref); err != nil && slackErr(err) != "no_reaction" {
						b.log.WarnContext(ctx, "capture: could not take the acknowledgement off", "incident", inc.Ref(), "err", err)
					}
				})
			case incident.ErrorCode(err) == incident.EInternal:
				b.log.ErrorContext(ctx, "capture: could not record a reaction taken off", "incident", inc.Ref(), "err", err)
			}
		}
	case *slackevents.PinAddedEvent:
		if e.Item.Message != nil && e.User != self {
			ch := firstNonEmpty(e.Item.Channel, e.Channel)
			b.askCapture(ctx, e.User, ch, e.Item.Message.Timestamp, "pin", "pinned a message")
		}
	case *slackevents.MessageEvent:
		switch e.SubType {
		case "message_changed":
			if e.Message != nil && (e.Message.User == self || e.Message.BotID != "" && e.Message.User == "") {
				break // warroom's own updates (a summary someone pinned), or a bot's
			}
			if e.Message != nil && e.Message.SubType == "tombstone" {
				// A thread's first message deleted: Slack keeps a tombstone
				// in its place and says so as an edit.
				author, was := "", ""
				if e.PreviousMessage != nil {
					author, was = e.PreviousMessage.User, e.PreviousMessage.Text
				}
				b.messageChanged(ctx, e.Channel, e.Message.Timestamp, author, was, "", true)
				break
			}
			if e.Message != nil && (e.PreviousMessage == nil || e.PreviousMessage.Text != e.Message.Text) {
				was := ""
				if e.PreviousMessage != nil {
					was = e.PreviousMessage.Text
				}
				b.messageChanged(ctx, e.Channel, e.Message.Timestamp, e.Message.User, was, e.Message.Text, false)
			}
		case "message_deleted":
			author, was := "", ""
			if e.PreviousMessage != nil {
				author, was = e.PreviousMessage.User, e.PreviousMessage.Text
			}
			b.messageChanged(ctx, e.Channel, e.DeletedTimeStamp, author, was, "", true)
		}
	default:
		return false
	}
	return true
}

func (b *Bot) messageChanged(ctx context.Context, channel, ts, author, was, text string, deleted bool) {
	if ts == "" {
		return
	}
	if err := b.svc.MessageChanged(ctx, channel, ts, author, was, text, deleted); err != nil {
		b.log.ErrorContext(ctx, "capture: could not record an edit or a deletion", "channel", channel, "err", err)
	}
}

// askCapture asks for message ts in channel to go into the timeline of the
// incident whose war room channel is; a message elsewhere is not asked for
// (the shortcut is for those).
func (b *Bot) askCapture(ctx context.Context, user, channel, ts, via, raw string) {
	inc, err := b.svc.ByChannel(ctx, channel)
	if err != nil || ts == "" {
		return
	}
	cmd := incident.Command{Actor: user, Channel: channel, Raw: raw}
	if _, err := b.svc.RequestCapture(ctx, inc.Number, cmd, incident.CaptureRequest{Channel: channel, TS: ts, Via: via}); err != nil && incident.ErrorCode(err) == incident.EInternal {
		b.log.ErrorContext(ctx, "capture: could not record the request", "incident", inc.Ref(), "err", err)
	}
}

// deliverCapture fetches the message asked for (unless the shortcut
// brought it), records it, and acknowledges with a reaction (or, for the
// shortcut, a word to who asked).
func (b *Bot) deliverCapture(ctx context.Context, e incident.Effect) error {
	p := e.Payload
	m := incident.Message{Channel: p["channel"], TS: p["ts"], ThreadTS: p["thread_ts"], Author: p["author"], Text: p["text"]}
	if p["fetched"] != "true" {
		msg, err := b.fetchMessage(ctx, m.Channel, m.TS)
		if err != nil {
			return err
		}
		m.Author, m.Text, m.ThreadTS = firstNonEmpty(msg.User, msg.Username), msg.Text, msg.ThreadTimestamp
		if m.ThreadTS == m.TS {
			m.ThreadTS = "" // a thread's first message is not a reply
		}
		for _, f := range msg.Files {
			m.Files = append(m.Files, incident.NamedLink{Name: firstNonEmpty(f.Title, f.Name), URL: firstNonEmpty(f.Permalink, f.URLPrivate)})
		}
	}
	link, err := b.api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: m.Channel, Ts: m.TS})
	switch code := slackErr(err); {
	case err == nil:
		m.Permalink = link
	case p["fetched"] == "true" && (code == "channel_not_found" || code == "not_in_channel" || code == "message_not_found"):
		// A channel warroom is not in: the shortcut brought the message,
		// which is recorded without its link.
	default:
		return classify(err)
	}
	recorded, err := b.svc.Capture(ctx, e.Incident, m, p["via"], p["by"], p["comment"])
	if err != nil || !recorded {
		return err
	}
	if p["via"] == "shortcut" {
		b.tell(ctx, origin{user: p["by"], channel: p["from"], responseURL: p["response_url"]},
			fmt.Sprintf("Added to %s's timeline. To see it: `/incident %s timeline`.", incident.Ref(e.Incident), incident.Ref(e.Incident)))
		return nil
	}
	if err := b.api.AddReactionContext(ctx, AckReaction, slack.NewRefToMessage(m.Channel, m.TS)); err != nil && slackErr(err) != "already_reacted" {
		b.log.WarnContext(ctx, "capture: could not acknowledge", "incident", incident.Ref(e.Incident), "err", err)
	}
	return nil
}

// captureFailed tells the war room a message asked for could not be read,
// and lets it be asked for again.
func (b *Bot) captureFailed(ctx context.Context, e incident.Effect, err error) {
	if rerr := b.svc.CaptureFailed(ctx, e.Incident, e.Payload["channel"], e.Payload["ts"], slackErr(err)); rerr != nil {
		b.log.ErrorContext(ctx, "capture: could not record a failure", "incident", incident.Ref(e.Incident), "err", rerr)
	}
	if e.Payload["via"] == "shortcut" {
		b.tell(ctx, origin{user: e.Payload["by"], channel: e.Payload["from"], responseURL: e.Payload["response_url"]},
			fmt.Sprintf("I couldn't add that message to %s's timeline (Slack said: %s). Try the shortcut again in a moment.", incident.Ref(e.Incident), slackErr(err)))
	}
}

// fetchMessage reads one message: from the channel's history, or, for a
// reply in a thread, from the thread.
func (b *Bot) fetchMessage(ctx context.Context, channel, ts string) (slack.Message, error) {
	h, err := b.api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: channel, Latest: ts, Oldest: ts, Inclusive: true, Limit: 1})
	if err != nil {
		return slack.Message{}, classify(err)
	}
	for _, msg := range h.Messages {
		if msg.Timestamp == ts {
			return msg, nil
		}
	}
	replies, _, _, err := b.api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{ChannelID: channel, Timestamp: ts, Latest: ts, Inclusive: true, Limit: 1})
	if err != nil {
		if slackErr(err) == "thread_not_found" {
			return slack.Message{}, outbox.Permanent(fmt.Errorf("message %s is no longer in %s", ts, channel))
		}
		return slack.Message{}, classify(err)
	}
	for _, msg := range replies {
		if msg.Timestamp == ts {
			return msg, nil
		}
	}
	return slack.Message{}, outbox.Permanent(fmt.Errorf("message %s is no longer in %s", ts, channel))
}

// captureMeta is what the shortcut's modal carries to its submission:
// the message as Slack's signed shortcut payload gave it, and where to
// answer. It is signed (sealMeta), since a submission's private_metadata
// comes back from the client and could otherwise claim any message.
type captureMeta struct {
	Channel     string `json:"channel"`
	TS          string `json:"ts"`
	ThreadTS    string `json:"thread_ts,omitempty"`
	Author      string `json:"author"`
	Text        string `json:"text"`
	User        string `json:"user"`
	ResponseURL string `json:"response_url,omitempty"`
}

// maxMetadata is Slack's limit on a view's private_metadata.
const maxMetadata = 3000

// sealMeta encodes m with its MAC, within Slack's limit: the text is
// shortened until it fits (JSON escaping can make it longer than it is).
func (b *Bot) sealMeta(m captureMeta) string {
	for n := 1500; ; n = n * 3 / 4 {
		m.Text = clipRunes(m.Text, n)
		raw, _ := json.Marshal(m)
		if sealed := string(raw) + "." + b.mac(raw); len(sealed) <= maxMetadata || n < 10 {
			return sealed
		}
	}
}

// openMeta decodes what sealMeta made, or reports it was changed.
func (b *Bot) openMeta(s string) (captureMeta, bool) {
	var m captureMeta
	i := strings.LastIndexByte(s, '.')
	if i < 0 || !hmac.Equal([]byte(s[i+1:]), []byte(b.mac([]byte(s[:i])))) {
		return m, false
	}
	return m, json.Unmarshal([]byte(s[:i]), &m) == nil
}

func (b *Bot) mac(data []byte) string {
	h := hmac.New(sha256.New, b.formKey)
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// request asks for the message the shortcut was used on, with what its
// payload brought; who asked is told in the channel they were in.
func (m captureMeta) request(comment string) incident.CaptureRequest {
	thread := m.ThreadTS
	if thread == m.TS {
		thread = "" // a thread's first message is not a reply
	}
	return incident.CaptureRequest{Channel: m.Channel, TS: m.TS, Via: "shortcut", Comment: comment,
		Known: &incident.Message{Channel: m.Channel, TS: m.TS, ThreadTS: thread, Author: m.Author, Text: m.Text},
		Reply: map[string]string{"from": m.Channel, "response_url": m.ResponseURL}}
}

// shortcut handles "Add to incident timeline" on a message: in a war room
// it asks for the message there; elsewhere it opens the modal to choose an
// incident the person may see.
func (b *Bot) shortcut(ctx context.Context, cb slack.InteractionCallback) {
	from := origin{user: cb.User.ID, channel: cb.Channel.ID, responseURL: cb.ResponseURL}
	say := func(text string) { b.fx.do(0, func(ctx context.Context) { b.tell(ctx, from, text) }) }
	meta := captureMeta{Channel: cb.Channel.ID, TS: cb.Message.Timestamp, ThreadTS: cb.Message.ThreadTimestamp,
		Author: firstNonEmpty(cb.Message.User, cb.Message.Username), Text: cb.Message.Text, User: cb.User.ID, ResponseURL: cb.ResponseURL}
	if meta.Channel == "" || meta.TS == "" {
		say("That shortcut came without its message, so there is nothing to add. Try it again on the message.")
		return
	}
	if inc, err := b.svc.ByChannel(ctx, cb.Channel.ID); err == nil {
		cmd := incident.Command{Actor: cb.User.ID, Channel: cb.Channel.ID, Raw: "[Add to incident timeline] " + meta.TS}
		if _, err := b.svc.RequestCapture(ctx, inc.Number, cmd, meta.request("")); err != nil {
			say(incident.ErrorMessage(err))
		}
		return
	}
	list, err := b.svc.List(ctx, incident.Filter{OpenOnly: true, Limit: 100})
	if err != nil {
		say(commands.NotRecorded(b.errorID(ctx, err)))
		return
	}
	var opts []*slack.OptionBlockObject
	for _, inc := range list {
		if inc.Visible(cb.User.ID, "") && len(opts) < 100 {
			opts = append(opts, slack.NewOptionBlockObject(strconv.FormatInt(inc.Number, 10), plain(clipRunes(inc.Ref()+" "+inc.Severity.String()+" "+inc.Title, 75)), nil))
		}
	}
	if len(opts) == 0 {
		say("There is no open incident you can add this to. To start one: `/incident declare sev3 <what is broken>`.")
		return
	}
	sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Choose an incident"), blockCaptureInc, opts...)
	if len(opts) == 1 {
		sel.InitialOption = opts[0]
	}
	note := slack.NewPlainTextInputBlockElement(plain("Why it matters (optional)"), blockCaptureNote)
	note.MaxLength = 500
	noteBlock := slack.NewInputBlock(blockCaptureNote, plain("Comment"), nil, note)
	noteBlock.Optional = true
	view := slack.ModalViewRequest{Type: slack.VTModal, CallbackID: captureCallback, Title: plain("Add to the timeline"),
		Submit: plain("Add"), Close: plain("Cancel"), PrivateMetadata: b.sealMeta(meta),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(markdown("*The message*\n>"+strings.ReplaceAll(clipRunes(mrkdwn.EscapeUser(cb.Message.Text), 400), "\n", "\n>")), nil, nil),
			slack.NewInputBlock(blockCaptureInc, plain("Incident"), plain("Open incidents you can see."), sel),
			noteBlock,
		}}}
	if _, err := b.api.OpenViewContext(ctx, cb.TriggerID, view); err != nil {
		say(fmt.Sprintf("I couldn't open the form (Slack said: %s). Try the shortcut again in a moment, or paste the message into the war room and react to it with :%s:.", slackErr(err), b.emoji))
	}
}

// submitCapture adds the message to the incident chosen in the modal,
// if the person may see it: the list offered only those, but a submission
// can be forged.
func (b *Bot) submitCapture(ctx context.Context, cb slack.InteractionCallback) any {
	meta, ok := b.openMeta(cb.View.PrivateMetadata)
	if !ok || meta.User != cb.User.ID || meta.TS == "" || meta.Channel == "" {
		// Not the form warroom opened for this person: nothing it says
		// about the message can be trusted.
		b.log.WarnContext(ctx, "capture: a form submission whose metadata was changed", "user", cb.User.ID)
		return &ViewResponse{ResponseAction: "errors", Errors: map[string]string{blockCaptureInc: "This form was changed after warroom opened it, so it was not used. Use the shortcut on the message again."}}
	}
	vals := cb.View.State.Values
	n, err := strconv.ParseInt(vals[blockCaptureInc][blockCaptureInc].SelectedOption.Value, 10, 64)
	if err != nil || n < 1 {
		return &ViewResponse{ResponseAction: "errors", Errors: map[string]string{blockCaptureInc: "Choose an incident."}}
	}
	cmd := incident.Command{Actor: cb.User.ID, Channel: meta.Channel, Kind: incident.KindCapture, Raw: "[Add to incident timeline] " + meta.TS}
	if res, refused := b.disp.Refused(ctx, n, cmd); refused {
		return &ViewResponse{ResponseAction: "errors", Errors: map[string]string{blockCaptureInc: res.Reply}}
	}
	if _, err := b.svc.RequestCapture(ctx, n, cmd, meta.request(vals[blockCaptureNote][blockCaptureNote].Value)); err != nil {
		return &ViewResponse{ResponseAction: "errors", Errors: map[string]string{blockCaptureInc: incident.ErrorMessage(err)}}
	}
	return nil
}
