package slacksim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Changes returns a channel that receives a value (coalesced) whenever the
// workspace changes: a message, a channel, a member, a topic or a view.
func (s *Server) Changes() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	s.watchers = append(s.watchers, ch)
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, c := range s.watchers {
			if c == ch {
				s.watchers = append(s.watchers[:i], s.watchers[i+1:]...)
				return
			}
		}
	}
}

func (s *Server) changedLocked() {
	for _, ch := range s.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// PostAs posts a plain message as a person (or an integration user), as
// if they typed it in the channel.
func (s *Server) PostAs(user, channel, text string) (Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[channel]
	if !ok || ch.Archived {
		return Message{}, fmt.Errorf("slacksim: channel %s is missing or archived", channel)
	}
	if _, ok := s.users[user]; !ok {
		return Message{}, fmt.Errorf("slacksim: no user %s", user)
	}
	if !member(ch, user) {
		ch.Members = append(ch.Members, user)
	}
	m := s.addMessageLocked(&Message{Channel: channel, User: user, Text: text, Source: "user"})
	return *m, nil
}

// Join adds a person to a channel, as clicking "Join channel" does.
func (s *Server) Join(user, channel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := s.channels[channel]; ok && !member(ch, user) {
		ch.Members = append(ch.Members, user)
		s.changedLocked()
	}
}

// AddBotUser adds an integration (an alerting system, say) that posts messages.
func (s *Server) AddBotUser(name string) string {
	id := s.AddUser(name)
	s.mu.Lock()
	s.users[id].IsBot = true
	s.mu.Unlock()
	return id
}

// CloseView closes a modal without submitting it, as the Cancel button does.
func (s *Server) CloseView(viewID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.views {
		if v.ID == viewID {
			v.Closed = true
		}
	}
	s.changedLocked()
}

// ClickButton delivers the block_actions payload Slack sends when user
// clicks a button in a message.
func (s *Server) ClickButton(ctx context.Context, user, channel, ts, blockID, actionID, value string) (Reply, error) {
	return s.act(ctx, user, channel, ts, nil, func(*Message) (map[string]any, error) {
		return map[string]any{"type": "button", "block_id": blockID, "action_id": actionID, "value": value}, nil
	})
}

// ToggleCheckbox delivers the block_actions payload Slack sends when user
// ticks or unticks the box whose option value is value, in the checkboxes
// of block blockID of message ts. Slack sends every box of that element
// that is now ticked, and the message as the person's client showed it:
// seen, if not nil, is that message (a stale one, say); nil is the
// message as it is now.
func (s *Server) ToggleCheckbox(ctx context.Context, user, channel, ts, blockID, value string, seen *Message) (Reply, error) {
	return s.act(ctx, user, channel, ts, seen, func(msg *Message) (map[string]any, error) {
		var blocks []struct {
			Type     string `json:"type"`
			BlockID  string `json:"block_id"`
			Elements []struct {
				Type     string           `json:"type"`
				ActionID string           `json:"action_id"`
				Options  []map[string]any `json:"options"`
				Initial  []map[string]any `json:"initial_options"`
			} `json:"elements"`
		}
		json.Unmarshal(msg.Blocks, &blocks)
		for _, b := range blocks {
			if b.BlockID != blockID {
				continue
			}
			for _, el := range b.Elements {
				if el.Type != "checkboxes" {
					continue
				}
				ticked := map[any]bool{}
				for _, o := range el.Initial {
					ticked[o["value"]] = true
				}
				found := false
				for _, o := range el.Options {
					found = found || o["value"] == value
				}
				if !found {
					return nil, fmt.Errorf("slacksim: no box %q in block %s", value, blockID)
				}
				ticked[value] = !ticked[value]
				selected := []map[string]any{}
				for _, o := range el.Options {
					if ticked[o["value"]] {
						selected = append(selected, o)
					}
				}
				return map[string]any{"type": "checkboxes", "block_id": blockID, "action_id": el.ActionID, "selected_options": selected}, nil
			}
		}
		return nil, fmt.Errorf("slacksim: no checkboxes in block %s of message %s", blockID, ts)
	})
}

// act delivers a block_actions payload for the action that action makes
// from the message (seen, or ts as it is now).
func (s *Server) act(ctx context.Context, user, channel, ts string, seen *Message, action func(*Message) (map[string]any, error)) (Reply, error) {
	s.mu.Lock()
	u, ch, err := s.userInChannelLocked(user, channel)
	if err != nil {
		s.mu.Unlock()
		return Reply{}, err
	}
	msg := seen
	for _, m := range s.messages {
		if msg == nil && m.Channel == channel && m.TS == ts {
			msg = m
		}
	}
	if msg == nil {
		s.mu.Unlock()
		return Reply{}, fmt.Errorf("slacksim: no message %s in %s", ts, channel)
	}
	a, err := action(msg)
	if err != nil {
		s.mu.Unlock()
		return Reply{}, err
	}
	a["action_ts"] = fmt.Sprintf("%d.000000", time.Now().Unix())
	payload := map[string]any{
		"type": "block_actions", "api_app_id": AppID, "token": "sim-verification-token",
		"team":       map[string]any{"id": TeamID, "domain": TeamName},
		"user":       map[string]any{"id": u.ID, "username": u.Name, "name": u.Name, "team_id": TeamID},
		"channel":    map[string]any{"id": ch.ID, "name": ch.Name},
		"container":  map[string]any{"type": "message", "message_ts": msg.TS, "channel_id": ch.ID, "is_ephemeral": msg.Ephemeral},
		"message":    map[string]any{"type": "message", "ts": msg.TS, "text": msg.Text, "user": msg.User, "blocks": msg.Blocks},
		"trigger_id": s.newTriggerLocked(u.ID), "response_url": s.newResponseURLLocked(u.ID, ch.ID),
		"actions": []map[string]any{a},
	}
	s.mu.Unlock()
	return s.deliverInteraction(ctx, payload)
}

// state is what Save writes: the workspace without its connections.
type state struct {
	Users    []*User    `json:"users"`
	Channels []*Channel `json:"channels"`
	Messages []*Message `json:"messages"`
	Files    []*File    `json:"files"`
	Seq      int        `json:"seq"`
	TS       int64      `json:"ts"`
}

// Save writes the workspace (people, channels, messages, shared files) as JSON, so a
// sandbox can be stopped and started again where it was.
func (s *Server) Save(w io.Writer) error {
	s.mu.Lock()
	st := state{Seq: s.seq, TS: s.ts, Messages: s.messages}
	for _, u := range s.users {
		st.Users = append(st.Users, u)
	}
	for _, ch := range s.channels {
		st.Channels = append(st.Channels, ch)
	}
	for _, id := range s.fileOrder {
		if f := s.files[id]; f.Channel != "" {
			st.Files = append(st.Files, f)
		}
	}
	b, err := json.Marshal(st)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Load replaces the workspace with one written by Save.
func (s *Server) Load(r io.Reader) error {
	var st state
	if err := json.NewDecoder(r).Decode(&st); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users = map[string]*User{}
	for _, u := range st.Users {
		s.users[u.ID] = u
	}
	s.channels = map[string]*Channel{}
	for _, ch := range st.Channels {
		s.channels[ch.ID] = ch
	}
	s.messages = st.Messages
	s.files, s.fileOrder = map[string]*File{}, nil
	for _, f := range st.Files {
		s.files[f.ID] = f
		s.fileOrder = append(s.fileOrder, f.ID)
	}
	s.seq = max(s.seq, st.Seq)
	s.ts = max(s.ts, st.TS)
	s.changedLocked()
	return nil
}

// Pin pins a message, as a person clicking "Pin to channel" does.
func (s *Server) Pin(channel, ts string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := s.channels[channel]; ok && !slices.Contains(ch.Pins, ts) {
		ch.Pins = append(ch.Pins, ts)
		s.changedLocked()
	}
}

// The conversation, as people have it: replies in threads, reactions,
// pins, edits, deletions and message shortcuts, each delivered to the bot
// as the Events API event (or interaction) Slack sends for it.

// PostReply posts text as user in the thread of message threadTS.
func (s *Server) PostReply(user, channel, threadTS, text string) (Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[channel]
	if !ok || ch.Archived {
		return Message{}, fmt.Errorf("slacksim: channel %s is missing or archived", channel)
	}
	if !member(ch, user) {
		return Message{}, fmt.Errorf("slacksim: %s is not in %s", user, channel)
	}
	m := s.addMessageLocked(&Message{Channel: channel, User: user, Text: text, ThreadTS: threadTS, Source: "user"})
	return *m, nil
}

// personMessage finds message ts in channel for user, who must be in the
// channel (a private one is invisible to others).
func (s *Server) personMessageLocked(user, channel, ts string) (*Message, error) {
	ch, ok := s.channels[channel]
	if !ok {
		return nil, fmt.Errorf("slacksim: no channel %s", channel)
	}
	if _, ok := s.users[user]; !ok {
		return nil, fmt.Errorf("slacksim: no user %s", user)
	}
	if ch.Private && !member(ch, user) {
		return nil, fmt.Errorf("slacksim: no channel %s", channel)
	}
	for _, m := range s.messages {
		if m.Channel == channel && m.TS == ts && !m.Ephemeral && !m.Deleted {
			return m, nil
		}
	}
	return nil, fmt.Errorf("slacksim: no message %s in %s", ts, channel)
}

func eventID() string { return "Ev" + strings.ToUpper(randomID(5)) }

// React adds (or, with remove, takes off) user's reaction name on message
// ts and delivers reaction_added (reaction_removed).
func (s *Server) React(ctx context.Context, user, channel, ts, name string, remove bool) error {
	s.mu.Lock()
	m, err := s.personMessageLocked(user, channel, ts)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	typ := "reaction_added"
	if remove {
		typ = "reaction_removed"
	}
	if !m.react(name, user, remove) {
		s.mu.Unlock()
		return fmt.Errorf("slacksim: %s's :%s: on %s is already as asked", user, name, ts)
	}
	s.publishLocked(m)
	ev := map[string]any{"type": typ, "user": user, "reaction": name, "item_user": m.User,
		"item": map[string]any{"type": "message", "channel": channel, "ts": ts}, "event_ts": s.nextTSLocked()}
	s.mu.Unlock()
	_, err = s.Event(ctx, eventID(), ev, 1)
	return err
}

// PinBy pins message ts as user did with "Pin to channel" and delivers pin_added.
func (s *Server) PinBy(ctx context.Context, user, channel, ts string) error {
	s.mu.Lock()
	m, err := s.personMessageLocked(user, channel, ts)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	ch := s.channels[channel]
	if slices.Contains(ch.Pins, ts) {
		s.mu.Unlock()
		return fmt.Errorf("slacksim: %s is pinned already", ts)
	}
	ch.Pins = append(ch.Pins, ts)
	s.changedLocked()
	ev := map[string]any{"type": "pin_added", "user": user, "channel_id": channel, "has_pins": true, "event_ts": s.nextTSLocked(),
		"item": map[string]any{"type": "message", "channel": channel, "created_by": user,
			"message": map[string]any{"type": "message", "user": m.User, "text": m.Text, "ts": m.TS, "pinned_to": []string{channel}}}}
	s.mu.Unlock()
	_, err = s.Event(ctx, eventID(), ev, 1)
	return err
}

// Edit changes the text of user's own message ts and delivers the
// message_changed event; with text "" it deletes the message instead
// (message_deleted).
func (s *Server) Edit(ctx context.Context, user, channel, ts, text string) error {
	s.mu.Lock()
	m, err := s.personMessageLocked(user, channel, ts)
	if err == nil && m.User != user {
		err = fmt.Errorf("slacksim: %s may only change their own messages", user)
	}
	if err != nil {
		s.mu.Unlock()
		return err
	}
	prev := map[string]any{"type": "message", "user": m.User, "text": m.Text, "ts": m.TS}
	var ev map[string]any
	if text == "" {
		m.Deleted = true
		ev = map[string]any{"type": "message", "subtype": "message_deleted", "hidden": true, "channel": channel, "deleted_ts": ts,
			"previous_message": prev, "ts": s.nextTSLocked()}
	} else {
		m.Text = text
		ev = map[string]any{"type": "message", "subtype": "message_changed", "hidden": true, "channel": channel,
			"message": map[string]any{"type": "message", "user": m.User, "text": text, "ts": m.TS,
				"edited": map[string]any{"user": user, "ts": s.nextTSLocked()}},
			"previous_message": prev, "ts": s.nextTSLocked()}
	}
	s.publishLocked(m)
	s.changedLocked()
	s.mu.Unlock()
	_, err = s.Event(ctx, eventID(), ev, 1)
	return err
}

// Shortcut delivers the message_action payload Slack sends when user
// chooses the message shortcut callbackID on message ts.
func (s *Server) Shortcut(ctx context.Context, user, channel, ts, callbackID string) (Reply, error) {
	s.mu.Lock()
	m, err := s.personMessageLocked(user, channel, ts)
	if err != nil {
		s.mu.Unlock()
		return Reply{}, err
	}
	u, ch := s.users[user], s.channels[channel]
	msg := map[string]any{"type": "message", "user": m.User, "text": m.Text, "ts": m.TS}
	if m.ThreadTS != "" {
		msg["thread_ts"] = m.ThreadTS
	}
	payload := map[string]any{
		"type": "message_action", "callback_id": callbackID, "api_app_id": AppID, "token": "sim-verification-token",
		"action_ts": fmt.Sprintf("%d.000000", time.Now().Unix()), "message_ts": m.TS,
		"team":    map[string]any{"id": TeamID, "domain": TeamName},
		"user":    map[string]any{"id": u.ID, "username": u.Name, "name": u.Name, "team_id": TeamID},
		"channel": map[string]any{"id": ch.ID, "name": ch.Name},
		"message": msg, "trigger_id": s.newTriggerLocked(u.ID), "response_url": s.newResponseURLLocked(u.ID, ch.ID),
	}
	s.mu.Unlock()
	return s.deliverInteraction(ctx, payload)
}
