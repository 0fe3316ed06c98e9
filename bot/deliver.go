package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/warroom/warroom/commands"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/internal/mrkdwn"
	"github.com/warroom/warroom/outbox"
	"github.com/warroom/warroom/report"
)

// Handlers are the outbox handlers for Slack effects (commands.Slack*).
// Each returns an error for the outbox to retry, or a Permanent one when
// Slack refused for good; each can run again after a crash without harm
// except where noted (a message posted whose answer was lost is posted again).
func (b *Bot) Handlers() map[string]outbox.Handler {
	return map[string]outbox.Handler{
		commands.SlackRoom:        {Deliver: b.deliverRoom, GiveUp: b.roomFailed},
		commands.SlackSummary:     {Deliver: b.deliverSummary, GiveUp: b.recordGiveUp},
		commands.SlackPost:        {Deliver: b.deliverPost, Batch: b.deliverPosts, GiveUp: b.recordGiveUp},
		commands.SlackAnnounce:    {Deliver: b.deliverAnnounce, GiveUp: b.recordGiveUp},
		commands.SlackInvite:      {Deliver: b.deliverInvite, GiveUp: b.recordGiveUp},
		commands.SlackRefresh:     {Deliver: b.deliverRefresh, Coalesce: true, GiveUp: b.recordGiveUp},
		commands.SlackReminder:    {Deliver: b.deliverReminder, GiveUp: b.recordGiveUp},
		commands.SlackTell:        {Deliver: b.deliverTell},
		commands.SlackArchive:     {Deliver: b.deliverArchive, GiveUp: b.recordGiveUp},
		commands.SlackFile:        {Deliver: b.deliverFile, GiveUp: b.recordGiveUp},
		commands.SlackChecklist:   {Deliver: b.deliverChecklist, Coalesce: true, GiveUp: b.recordGiveUp},
		commands.SlackCard:        {Deliver: b.deliverCard, GiveUp: b.recordGiveUp},
		incident.KindCaptureFetch: {Deliver: b.deliverCapture, GiveUp: b.captureFailed},
		report.EffectKind:         {Deliver: b.deliverReport},
	}
}

// deliverReport posts the weekly report, already written as Slack mrkdwn
// with people's text escaped, to the report channel.
func (b *Bot) deliverReport(ctx context.Context, e incident.Effect) error {
	ch := strings.TrimPrefix(e.Payload["channel"], "#")
	if ch == "" {
		return nil
	}
	_, _, err := b.api.PostMessageContext(ctx, ch, slack.MsgOptionText(e.Payload["text"], false), slack.MsgOptionDisableLinkUnfurl())
	return classify(err)
}

// permanentSlack are Slack error codes that retrying will not fix.
var permanentSlack = map[string]bool{
	"channel_not_found": true, "not_in_channel": true, "is_archived": true, "invalid_auth": true,
	"account_inactive": true, "token_revoked": true, "not_authed": true, "missing_scope": true,
	"restricted_action": true, "invalid_name": true, "invalid_name_specials": true, "invalid_name_required": true,
	"invalid_name_maxlength": true, "user_not_found": true, "user_is_restricted": true, "no_text": true,
	"msg_too_long": true, "invalid_blocks": true, "cant_invite": true, "cant_update_message": true,
	"message_not_found": true, "too_many_attachments": true, "channel_is_archived": true, "team_access_not_granted": true,
}

// classify tells the outbox whether a Slack error is worth retrying.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return outbox.RetryAfter(err, rl.RetryAfter)
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && permanentSlack[se.Err] {
		return outbox.Permanent(err)
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) && sc.Code >= 400 && sc.Code < 500 && sc.Code != 429 && sc.Code != 408 {
		return outbox.Permanent(err)
	}
	return err
}

func (b *Bot) incident(ctx context.Context, e incident.Effect) (*incident.Incident, error) {
	inc, err := b.svc.Get(ctx, e.Incident)
	if incident.ErrorCode(err) == incident.ENotFound {
		return nil, outbox.Permanent(err)
	}
	return inc, err
}

func fromPayload(p map[string]string) origin {
	return origin{user: p["user"], channel: p["channel"], responseURL: p["response_url"]}
}

// deliverRoom creates the war room and records it. Recording the channel
// plans the rest (invitations, summary, announcement, telling the
// declarer) in the same transaction, so a crash in between loses none of it.
func (b *Bot) deliverRoom(ctx context.Context, e incident.Effect) error {
	inc, err := b.incident(ctx, e)
	if err != nil {
		return err
	}
	if inc.ChannelID != "" {
		return nil // made by an earlier attempt
	}
	ch, err := b.createChannel(ctx, inc)
	if err != nil {
		return classify(err)
	}
	from := fromPayload(e.Payload)
	_, err = b.svc.AttachWarRoom(ctx, inc.Number, ch.ID, ch.Name, func(_, inc *incident.Incident, _ incident.Entry) []incident.Effect {
		fx := commands.Invite(inc.DeclaredBy, inc.Commander)
		fx = append(fx, incident.Effect{Kind: commands.SlackSummary})
		if len(inc.Checklist) > 0 {
			fx = append(fx, incident.Effect{Kind: commands.SlackChecklist})
		}
		if card, ok := b.disp.CardOf(inc.Service); ok {
			fx = append(fx, incident.Effect{Kind: commands.SlackCard, Payload: map[string]string{"service": card.Name}})
			if card.Channel != "" && !inc.Private {
				fx = append(fx, incident.Effect{Kind: commands.SlackCard, Payload: map[string]string{"service": card.Name, "to": card.Channel}})
			}
		}
		by := ""
		if inc.DeclaredBy == incident.AlertActor {
			by = " from a PagerDuty alert"
		}
		fx = append(fx, commands.Announce(fmt.Sprintf(":rotating_light: *%s* declared%s (%s): %s — join <#%s>. Commander: %s.",
			inc.Ref(), by, inc.Severity, mrkdwn.EscapeUser(inc.Title), ch.ID, commands.Mention(inc.Commander))))
		if from.user != "" {
			fx = append(fx, commands.Tell(from.user, from.channel, from.responseURL, fmt.Sprintf("War room for %s is ready: <#%s>. Next: %s", inc.Ref(), ch.ID, inc.NextStep())))
		}
		return fx
	})
	if err != nil {
		b.log.ErrorContext(ctx, "war room: could not record the channel", "incident", inc.Ref(), "err", err)
		b.tell(ctx, from, fmt.Sprintf(":warning: The war room <#%s> was created, but warroom could not save it, so commands typed there won't find %s. Use the reference instead: `/incident %s note <text>`.", ch.ID, inc.Ref(), inc.Ref()))
		return outbox.Permanent(err)
	}
	b.log.InfoContext(ctx, "war room opened", "incident", inc.Ref(), "channel", ch.ID)
	return nil
}

// roomFailed tells the declarer that Slack would not make the war room.
func (b *Bot) roomFailed(ctx context.Context, e incident.Effect, err error) {
	b.record(ctx, e.Incident, "conversations.create", err)
	ref := incident.Ref(e.Incident)
	b.tell(ctx, fromPayload(e.Payload), fmt.Sprintf(":warning: %s is declared and saved, but Slack would not create its war room (%s). Keep working from here with the reference, e.g. `/incident %s status investigating <what you see>`.", ref, slackErr(err), ref))
}

// recordGiveUp puts a Slack effect that failed for good on the timeline.
func (b *Bot) recordGiveUp(ctx context.Context, e incident.Effect, err error) {
	b.record(ctx, e.Incident, e.Kind, err)
}

// deliverSummary sets the purpose and topic and posts and pins the summary.
func (b *Bot) deliverSummary(ctx context.Context, e incident.Effect) error {
	inc, err := b.incident(ctx, e)
	if err != nil || inc.ChannelID == "" {
		return err
	}
	if inc.SummaryTS == "" {
		if _, err := b.api.SetPurposeOfConversationContext(ctx, inc.ChannelID, clipRunes(inc.Title, 250)); err != nil {
			b.record(ctx, inc.Number, "conversations.setPurpose", err) // cosmetic: not retried
		}
	}
	if err := b.setTopic(ctx, inc); err != nil {
		b.record(ctx, inc.Number, "conversations.setTopic", err)
	}
	if inc.SummaryTS != "" {
		return nil
	}
	now := b.svc.Now()
	posted := b.summary(ctx, inc, now)
	_, ts, err := b.api.PostMessageContext(ctx, inc.ChannelID, slack.MsgOptionText(summaryText(inc), false), slack.MsgOptionBlocks(posted...))
	if err != nil {
		return classify(err)
	}
	if err := b.svc.SetSummaryMessage(ctx, inc.Number, ts); err != nil {
		b.log.ErrorContext(ctx, "war room: could not record the summary", "incident", inc.Ref(), "err", err)
	}
	if err := b.api.AddPinContext(ctx, inc.ChannelID, slack.NewRefToMessage(inc.ChannelID, ts)); err != nil && slackErr(err) != "already_pinned" {
		b.record(ctx, inc.Number, "pins.add", err)
	}
	// A refresh delivered while this summary was being posted found no
	// summary to edit (say, the Jira issue's link arriving just then): what
	// changed meanwhile is put in now, or it would wait for the next change.
	if cur, err := b.svc.Get(ctx, inc.Number); err == nil {
		if latest := b.summary(ctx, cur, now); !sameBlocks(posted, latest) || summaryText(cur) != summaryText(inc) {
			if _, _, _, err := b.api.UpdateMessageContext(ctx, inc.ChannelID, ts, slack.MsgOptionText(summaryText(cur), false), slack.MsgOptionBlocks(latest...)); err != nil {
				b.record(ctx, inc.Number, "chat.update", err)
			}
		}
	}
	return nil
}

// summary renders the pinned summary as of now.
func (b *Bot) summary(ctx context.Context, inc *incident.Incident, now time.Time) []slack.Block {
	links, _ := b.svc.Links(ctx, inc.Number)
	return summaryBlocks(inc, links, now)
}

func sameBlocks(a, b []slack.Block) bool {
	ja, erra := json.Marshal(a)
	jb, errb := json.Marshal(b)
	return erra == nil && errb == nil && bytes.Equal(ja, jb)
}

// deliverRefresh brings the pinned summary and the topic up to date.
func (b *Bot) deliverRefresh(ctx context.Context, e incident.Effect) error {
	inc, err := b.incident(ctx, e)
	if err != nil || inc.ChannelID == "" {
		return err
	}
	// A refresh that arrives after the room was archived (its own lane
	// races the archive) has nothing left to bring up to date.
	archived := func(err error) error {
		if err == nil || slackErr(err) == "is_archived" {
			return nil
		}
		return classify(err)
	}
	if err := b.setTopic(ctx, inc); err != nil {
		return archived(err)
	}
	if inc.SummaryTS == "" {
		return nil
	}
	_, _, _, err = b.api.UpdateMessageContext(ctx, inc.ChannelID, inc.SummaryTS,
		slack.MsgOptionText(summaryText(inc), false), slack.MsgOptionBlocks(b.summary(ctx, inc, b.svc.Now())...))
	return archived(err)
}

func (b *Bot) deliverPost(ctx context.Context, e incident.Effect) error {
	_, err := b.deliverPosts(ctx, e, nil)
	return err
}

// Limits on the posts one message carries when a backlog is sent together:
// Slack takes about one message a second per channel, so a burst of notes
// or grouped alerts goes out as a few messages instead of a queue of
// hundreds that would take minutes to drain behind 429s.
const (
	batchPosts = 20   // posts in one message
	batchRunes = 3000 // its text, and Slack's limit for one section block
)

// deliverPosts posts e and the posts queued behind it as one message, as
// many as fit, in order. Grouped alerts keep their own Split buttons. The
// message carries the ids of the effects in it as metadata, so that a
// retry first looks for it (see alreadyPosted) instead of posting twice.
func (b *Bot) deliverPosts(ctx context.Context, e incident.Effect, behind []incident.Effect) (int, error) {
	inc, err := b.incident(ctx, e)
	if err != nil || inc.ChannelID == "" {
		return len(behind), err // no war room: nowhere to post; the timeline has them
	}
	if posted, err := b.alreadyPosted(ctx, inc.ChannelID, e); err != nil {
		return 0, classify(err)
	} else if posted[e.ID] {
		n := 0
		for n < len(behind) && posted[behind[n].ID] {
			n++
		}
		b.log.InfoContext(ctx, "a post was already in Slack; not sending it again", "incident", inc.Ref(), "effect", e.ID, "with", n)
		return n, nil
	}
	posts := []incident.Effect{e}
	size := len([]rune(e.Payload["text"]))
	for _, p := range behind {
		n := len([]rune(p.Payload["text"]))
		if len(posts) == batchPosts || size+n+1 > batchRunes {
			break
		}
		posts, size = append(posts, p), size+n+1
	}
	texts := make([]string, len(posts))
	var blocks []slack.Block
	buttons := false
	for i, p := range posts {
		texts[i] = mrkdwn.Escape(p.Payload["text"])
		section := slack.NewSectionBlock(markdown(clipRunes(texts[i], batchRunes)), nil, nil)
		var btn *slack.ButtonBlockElement
		switch {
		case p.Payload["split"] != "":
			btn = slack.NewButtonBlockElement(actionSplit, p.Payload["split"], plain("Split into its own incident"))
		case p.Payload["update"] != "":
			btn = slack.NewButtonBlockElement(actionOpenUpdate, refText(inc.Number), plain("Write the "+p.Payload["update"]+" update"))
			btn.Style = slack.StylePrimary
		}
		if btn != nil {
			if len(posts) == 1 {
				blocks = append(blocks, section, slack.NewActionBlock("alert", btn))
				buttons = true
				continue
			}
			section.Accessory = slack.NewAccessory(btn)
			buttons = true
		}
		blocks = append(blocks, section)
	}
	opts := []slack.MsgOption{slack.MsgOptionText(strings.Join(texts, "\n"), false), postedBy(posts...)}
	if buttons {
		opts = append(opts, slack.MsgOptionBlocks(blocks...))
	}
	if _, _, err = b.api.PostMessageContext(ctx, inc.ChannelID, opts...); err != nil {
		return 0, classify(err)
	}
	return len(posts) - 1, nil
}

// postEvent is the metadata event type of warroom's war-room posts.
const postEvent = "warroom_post"

// postedBy tags a war-room message with the outbox items it delivers, as
// message metadata, so alreadyPosted can find it.
func postedBy(fx ...incident.Effect) slack.MsgOption {
	ids := make([]string, len(fx))
	for i, e := range fx {
		ids[i] = strconv.FormatInt(e.ID, 10)
	}
	return slack.MsgOptionMetadata(slack.SlackMetadata{EventType: postEvent, EventPayload: map[string]any{"effects": strings.Join(ids, ",")}})
}

// alreadyPosted returns the ids of the effects whose posts are in channel
// since e was queued, when an earlier attempt may have sent e: one that
// failed (a timeout may have lost only the answer) or a process that died
// after posting and before marking it delivered. Otherwise, nothing is
// asked. chat.postMessage has no idempotency key; this is the next best.
// Without the history scope it cannot look, and posts as before.
func (b *Bot) alreadyPosted(ctx context.Context, channel string, e incident.Effect) (map[int64]bool, error) {
	if e.Attempts == 0 && !e.Created.Before(b.started) {
		return nil, nil
	}
	self, err := b.selfID(ctx)
	if err != nil {
		return nil, err
	}
	since := e.Created.Add(-time.Second)
	params := &slack.GetConversationHistoryParameters{ChannelID: channel, Limit: 200, IncludeAllMetadata: true,
		Oldest: fmt.Sprintf("%d.%06d", since.Unix(), since.Nanosecond()/1000)}
	out := map[int64]bool{}
	for page := 0; page < 10; page++ {
		resp, err := b.api.GetConversationHistoryContext(ctx, params)
		if err != nil {
			if slackErr(err) == "missing_scope" {
				return nil, nil
			}
			return nil, err
		}
		for _, m := range resp.Messages {
			if m.Metadata.EventType != postEvent || m.User != self {
				continue
			}
			list, _ := m.Metadata.EventPayload["effects"].(string)
			for _, f := range strings.Split(list, ",") {
				if id, err := strconv.ParseInt(f, 10, 64); err == nil {
					out[id] = true
				}
			}
		}
		if !resp.HasMore || resp.ResponseMetaData.NextCursor == "" {
			break
		}
		params.Cursor = resp.ResponseMetaData.NextCursor
	}
	return out, nil
}

func (b *Bot) deliverAnnounce(ctx context.Context, e incident.Effect) error {
	if b.announce == "" {
		return nil
	}
	// A private incident is never announced: its name alone may say too much.
	if inc, err := b.incident(ctx, e); err != nil {
		return err
	} else if inc.Private {
		return nil
	}
	_, _, err := b.api.PostMessageContext(ctx, b.announce, slack.MsgOptionText(mrkdwn.Escape(e.Payload["text"]), false))
	return classify(err)
}

func (b *Bot) deliverInvite(ctx context.Context, e incident.Effect) error {
	inc, err := b.incident(ctx, e)
	if err != nil || inc.ChannelID == "" || inc.Stage == incident.StageClosed {
		return err
	}
	users := strings.Split(e.Payload["users"], ",")
	users = slices.DeleteFunc(users, func(u string) bool { return u == "" })
	if len(users) == 0 {
		return nil
	}
	if _, err := b.api.InviteUsersToConversationContext(ctx, inc.ChannelID, users...); err != nil && slackErr(err) != "already_in_channel" && slackErr(err) != "cant_invite_self" {
		return classify(err)
	}
	return nil
}

func (b *Bot) deliverArchive(ctx context.Context, e incident.Effect) error {
	inc, err := b.incident(ctx, e)
	if err != nil || inc.ChannelID == "" {
		return err
	}
	if err := b.api.ArchiveConversationContext(ctx, inc.ChannelID); err != nil && slackErr(err) != "already_archived" {
		return classify(err)
	}
	return nil
}

// deliverTell is a follow-up to one person; it is best effort, like any
// reply, and never retried.
func (b *Bot) deliverTell(ctx context.Context, e incident.Effect) error {
	b.tell(ctx, fromPayload(e.Payload), e.Payload["text"])
	return nil
}

func (b *Bot) deliverReminder(ctx context.Context, e incident.Effect) error {
	inc, err := b.incident(ctx, e)
	if err != nil {
		return err
	}
	// A reminder whose answer was lost, or whose process died after
	// posting it, is found in the room's history rather than sent twice.
	if inc.ChannelID != "" {
		if posted, err := b.alreadyPosted(ctx, inc.ChannelID, e); err != nil {
			return classify(err)
		} else if posted[e.ID] {
			return nil
		}
	}
	due, _ := time.Parse(time.RFC3339, e.Payload["due"])
	return b.sendReminder(ctx, incident.Reminder{Incident: inc, Kind: e.Payload["kind"], Due: due}, postedBy(e))
}

// refText is "n" for button values.
func refText(n int64) string { return strconv.FormatInt(n, 10) }

// Email returns a Slack user's email address (users.info; needs the
// users:read.email scope).
func (b *Bot) Email(ctx context.Context, user string) (string, error) {
	u, err := b.api.GetUserInfoContext(ctx, user)
	if err != nil {
		return "", classify(err)
	}
	if u.Profile.Email == "" {
		return "", outbox.Permanent(fmt.Errorf("Slack shows no email for <@%s> (the app needs the users:read.email scope)", user))
	}
	return u.Profile.Email, nil
}

// ByEmail returns the Slack user with this email address (users.lookupByEmail).
func (b *Bot) ByEmail(ctx context.Context, email string) (string, error) {
	u, err := b.api.GetUserByEmailContext(ctx, email)
	if err != nil {
		if slackErr(err) == "users_not_found" {
			return "", outbox.Permanent(fmt.Errorf("nobody in Slack has the email %s", email))
		}
		return "", classify(err)
	}
	if name := firstNonEmpty(u.Profile.DisplayName, u.Name); name != "" {
		b.learn(ctx, map[string]string{u.ID: name})
	}
	return u.ID, nil
}

// deliverFile uploads a postmortem draft to the war room, through
// files.getUploadURLExternal, the upload URL and files.completeUploadExternal.
func (b *Bot) deliverFile(ctx context.Context, e incident.Effect) error {
	inc, err := b.incident(ctx, e)
	if err != nil || inc.ChannelID == "" {
		return err
	}
	v, _ := strconv.Atoi(e.Payload["version"])
	pm, err := b.svc.Postmortem(ctx, inc.Number, v)
	if err != nil {
		return outbox.Permanent(err)
	}
	name := fmt.Sprintf("%s-postmortem-v%d.md", inc.Ref(), pm.Version)
	read := ""
	if b.adminURL != "" {
		read = fmt.Sprintf(" Read it in a browser: <%s/incidents/%s/postmortem.html>.", b.adminURL, inc.Ref())
	}
	_, err = b.api.UploadFileContext(ctx, slack.UploadFileParameters{
		Content: pm.Markdown, FileSize: len(pm.Markdown), Filename: name, Title: fmt.Sprintf("%s postmortem draft v%d", inc.Ref(), pm.Version),
		Channel: inc.ChannelID, SnippetType: "markdown",
		InitialComment: mrkdwn.Escape(fmt.Sprintf(":page_facing_up: Postmortem draft v%d for %s, written from the timeline. It is blameless: facts, analysis, conclusions, recommendations. Fill in the analysis together; `/incident postmortem` writes a new version and keeps this one.%s", pm.Version, inc.Ref(), read)),
	})
	return classify(err)
}

// Names looks up display names for documents: from memory, then from the
// names stored in the database, then from Slack (users.info), keeping what
// it learns in both. A person Slack cannot tell about keeps their ID. It
// spends at most a second, as it runs while a command waits.
func (b *Bot) Names(ctx context.Context, ids []string) map[string]string {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	out := map[string]string{}
	var missing []string
	b.mu.Lock()
	for _, id := range ids {
		if id == "" || id == incident.SystemActor || id == incident.AlertActor {
			continue
		}
		if name, ok := b.names[id]; ok {
			out[id] = name
		} else if !slices.Contains(missing, id) {
			missing = append(missing, id)
		}
	}
	b.mu.Unlock()
	if len(missing) == 0 {
		return out
	}
	if stored, err := b.svc.Names(ctx, missing); err == nil {
		b.mu.Lock()
		for id, name := range stored {
			out[id], b.names[id] = name, name
		}
		b.mu.Unlock()
		missing = slices.DeleteFunc(missing, func(id string) bool { return stored[id] != "" })
	}
	learned := map[string]string{}
	for _, id := range missing {
		if ctx.Err() != nil {
			break
		}
		if u, err := b.api.GetUserInfoContext(ctx, id); err == nil {
			if name := firstNonEmpty(u.Profile.DisplayName, u.Name); name != "" {
				out[id], learned[id] = name, name
			}
		}
	}
	b.learn(ctx, learned)
	return out
}

// learn keeps names learned from Slack, in memory and, for those that
// changed, in the database, where the command line and reports find them.
func (b *Bot) learn(ctx context.Context, names map[string]string) {
	changed := map[string]string{}
	b.mu.Lock()
	for id, name := range names {
		if b.names[id] != name {
			b.names[id], changed[id] = name, name
		}
	}
	b.mu.Unlock()
	if len(changed) == 0 {
		return
	}
	if err := b.svc.RememberNames(context.WithoutCancel(ctx), changed); err != nil {
		b.log.WarnContext(ctx, "could not store people's names", "err", err)
	}
}

// meet looks up, in the background, the names of people warroom has not
// met yet: whoever typed a command and whoever it mentions.
func (b *Bot) meet(user, text string) {
	ids := []string{user}
	for _, m := range mentionID.FindAllStringSubmatch(text, -1) {
		ids = append(ids, m[1])
	}
	b.mu.Lock()
	ids = slices.DeleteFunc(ids, func(id string) bool { _, known := b.names[id]; return known || id == "" })
	b.mu.Unlock()
	if len(ids) > 0 {
		b.fx.do(0, func(ctx context.Context) { b.Names(ctx, ids) })
	}
}

var mentionID = regexp.MustCompile(`<@([UW][A-Z0-9]+)(?:\|[^>]*)?>`)

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
