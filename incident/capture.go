package incident

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Most of what happens in an incident is said, not typed as a command.
// A responder puts a message of the conversation into the timeline with a
// reaction (📌), Slack's pin, or the "Add to incident timeline" shortcut;
// warroom then fetches the message (its author, text, files, permalink)
// and records it. Nothing captured is ever deleted: taking the reaction
// off, editing or deleting the message in Slack each add an entry.

// Timeline kinds of the conversation.
const (
	// KindCapture is someone asking for a message to go into the timeline,
	// or taking it out (detail "action": add or remove).
	KindCapture = "capture"
	// KindConversation is a message of the conversation as captured
	// (detail "change": "" for the message, edit or delete after).
	KindConversation = "conversation"
	// KindCaptureFetch is the effect that fetches a message asked for and
	// records it (payload: channel, ts, via, by, comment).
	KindCaptureFetch = "slack.capture"
)

// Capture states of a message in an incident.
const (
	CapturePending = "pending" // asked for; being fetched
	CaptureActive  = "active"  // in the timeline
	CaptureRemoved = "removed" // taken out (the entries stay)
	CaptureFailed  = "failed"  // Slack would not give it; it may be asked for again
)

// Message is a message of the conversation as Slack has it.
type Message struct {
	Channel, TS string
	// ThreadTS is the thread's first message, for a reply; "" otherwise.
	ThreadTS  string
	Author    string // user ID, or a bot's name
	Text      string
	Files     []NamedLink
	Permalink string
}

// CaptureFor is how long warroom keeps trying to read a message asked for.
const CaptureFor = 30 * time.Minute

// MaxCapturedText is how much of a captured message the timeline keeps.
const MaxCapturedText = 4000

// CaptureRequest is a message asked for: where it is, how it was asked
// for (reaction, pin, shortcut) and why.
type CaptureRequest struct {
	Channel, TS, Via, Comment string
	// Known is the message when the request brought it (the shortcut's
	// payload has it): then only its permalink is fetched.
	Known *Message
	// Reply is where to tell who asked, for the shortcut: "from" (a
	// channel) and "response_url".
	Reply map[string]string
}

// RequestCapture records that cmd.Actor asks for a message to go into
// incident n's timeline, and plans fetching it. A message already in (or
// on its way into) the timeline is refused as a conflict, so a second 📌
// adds nothing.
func (s *Service) RequestCapture(ctx context.Context, n int64, cmd Command, r CaptureRequest) (*Incident, error) {
	cmd.Kind = KindCapture
	channel, ts, via := r.Channel, r.TS, r.Via
	return s.changeFx(ctx, n, cmd, func(tx Tx, inc *Incident, now time.Time) (map[string]string, []Effect, error) {
		if channel == "" || ts == "" {
			return nil, nil, Errorf(EInvalid, "That request named no message, so there is nothing to add.")
		}
		c, err := cleanText("comment", r.Comment, true)
		if err != nil {
			return nil, nil, err
		}
		if utf8.RuneCountInString(c) > 500 {
			return nil, nil, Errorf(EInvalid, "The comment is %d characters; keep it under 500.", utf8.RuneCountInString(c))
		}
		state, err := tx.CaptureState(ctx, n, channel, ts)
		if err != nil {
			return nil, nil, err
		}
		if state == CapturePending || state == CaptureActive {
			return nil, nil, Errorf(EConflict, "That message is already in %s's timeline.", inc.Ref())
		}
		if err := tx.SetCapture(ctx, n, channel, ts, CapturePending); err != nil {
			return nil, nil, err
		}
		d := map[string]string{"action": "add", "channel": channel, "ts": ts, "via": via, "comment": c}
		p := map[string]string{"channel": channel, "ts": ts, "via": via, "by": cmd.Actor, "comment": c}
		if m := r.Known; m != nil {
			p["fetched"], p["author"], p["text"], p["thread_ts"] = "true", m.Author, clipRunes(m.Text, MaxCapturedText), m.ThreadTS
		}
		for k, v := range r.Reply {
			p[k] = v
		}
		// Slack failing for longer than CaptureFor gives up, tells the
		// room, and lets the message be asked for again.
		return d, []Effect{{Kind: KindCaptureFetch, Payload: p, NotAfter: now.Add(CaptureFor)}}, nil
	})
}

// Capture records message m, fetched, in incident n's timeline as asked
// by by: once, whatever asks again. It reports false if there was nothing
// to record (the message was taken out, or recorded, meanwhile).
func (s *Service) Capture(ctx context.Context, n int64, m Message, via, by, comment string) (bool, error) {
	recorded := false
	cmd := Command{Actor: by, Channel: m.Channel, Kind: KindConversation, Raw: clipRunes(m.Text, MaxCapturedText)}
	err := s.systemEntryFn(ctx, n, cmd, func(tx Tx) (map[string]string, error) {
		state, err := tx.CaptureState(ctx, n, m.Channel, m.TS)
		if err != nil || state != CapturePending {
			return nil, errNothingOr(err)
		}
		recorded = true
		var files []string
		for _, f := range m.Files {
			// One line per file, name and link split by a tab: neither
			// may hold the separators (a file's title is anyone's text).
			flat := strings.NewReplacer("\t", " ", "\n", " ", "\r", " ")
			files = append(files, flat.Replace(f.Name)+"\t"+flat.Replace(f.URL))
		}
		return map[string]string{"channel": m.Channel, "ts": m.TS, "thread_ts": m.ThreadTS, "author": m.Author,
			"text": clipRunes(m.Text, MaxCapturedText), "files": strings.Join(files, "\n"), "permalink": m.Permalink,
			"via": via, "comment": comment}, tx.SetCapture(ctx, n, m.Channel, m.TS, CaptureActive)
	})
	if errors.Is(err, errNothing) {
		err = nil
	}
	return recorded, err
}

// CaptureFailed records that message ts of channel, asked for, could not
// be read (Slack said why), tells the war room, and lets it be asked for
// again.
func (s *Service) CaptureFailed(ctx context.Context, n int64, channel, ts, why string) error {
	text := fmt.Sprintf(":warning: I couldn't read a message for %s's timeline (Slack said: %s). To try again, take the :pushpin: off and put it back, or use the shortcut again.", Ref(n), why)
	err := s.systemEntryFn(ctx, n, Command{Actor: SystemActor, Kind: KindNotice, Raw: text}, func(tx Tx) (map[string]string, error) {
		if state, err := tx.CaptureState(ctx, n, channel, ts); err != nil || state != CapturePending {
			return nil, errNothingOr(err)
		}
		return map[string]string{"channel": channel, "ts": ts}, tx.SetCapture(ctx, n, channel, ts, CaptureFailed)
	})
	if errors.Is(err, errNothing) {
		return nil
	}
	return err
}

// Uncapture takes message ts of channel out of incident n's timeline (the
// reaction taken off): an entry says so; nothing is deleted.
func (s *Service) Uncapture(ctx context.Context, n int64, cmd Command, channel, ts string) (*Incident, error) {
	cmd.Kind = KindCapture
	return s.changeTx(ctx, n, cmd, func(tx Tx, inc *Incident, _ time.Time) (map[string]string, error) {
		state, err := tx.CaptureState(ctx, n, channel, ts)
		if err != nil {
			return nil, err
		}
		if state != CaptureActive && state != CapturePending {
			return nil, Errorf(EConflict, "That message is not in %s's timeline.", inc.Ref())
		}
		return map[string]string{"action": "remove", "channel": channel, "ts": ts}, tx.SetCapture(ctx, n, channel, ts, CaptureRemoved)
	})
}

// MessageChanged records, in every incident that captured message ts of
// channel, that it was edited (text: the new text) or, with deleted,
// deleted in Slack. The original entry stays.
func (s *Service) MessageChanged(ctx context.Context, channel, ts, author, was, text string, deleted bool) error {
	ns, err := s.store.CapturedIn(ctx, channel, ts)
	if err != nil {
		return err
	}
	for _, n := range ns {
		change, raw := "edit", clipRunes(text, MaxCapturedText)
		if deleted {
			change, raw = "delete", "[the message was deleted in Slack]"
		}
		actor := author
		if deleted || actor == "" {
			actor = SystemActor // Slack does not say who deleted it
		}
		cmd := Command{Actor: actor, Channel: channel, Kind: KindConversation, Raw: raw}
		err := s.systemEntryFn(ctx, n, cmd, func(tx Tx) (map[string]string, error) {
			if state, err := tx.CaptureState(ctx, n, channel, ts); err != nil || state != CaptureActive {
				return nil, errNothingOr(err)
			}
			return map[string]string{"channel": channel, "ts": ts, "change": change, "text": raw, "author": author, "was": clipRunes(was, 300)}, nil
		})
		if err != nil && !errors.Is(err, errNothing) {
			return err
		}
	}
	return nil
}
