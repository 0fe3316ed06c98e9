package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/warroom/warroom/commands"
	"github.com/warroom/warroom/internal/mrkdwn"
)

// maxBody is the most Slack sends in one request; larger bodies are refused.
const maxBody = 1 << 20

// HTTPHandler serves Slack's HTTP deliveries: /slack/commands,
// /slack/interactions and /slack/events. Every request must carry a valid
// v0 signature made with the signing secret within the last five minutes,
// and may be taken once; anything else is answered 401 and has no effect.
type HTTPHandler struct {
	bot     *Bot
	secret  string
	replays *seen
	mux     *http.ServeMux
}

// NewHTTPHandler returns the handler for Slack's HTTP deliveries.
func NewHTTPHandler(b *Bot, signingSecret string) *HTTPHandler {
	h := &HTTPHandler{bot: b, secret: signingSecret, replays: newSeen(6 * time.Minute), mux: http.NewServeMux()}
	h.mux.HandleFunc("POST /slack/commands", h.verified(h.commands))
	h.mux.HandleFunc("POST /slack/interactions", h.verified(h.interactions))
	h.mux.HandleFunc("POST /slack/events", h.verified(h.events))
	return h
}

func (h *HTTPHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// verified checks the signature and the replay guard before next runs.
func (h *HTTPHandler) verified(next func(http.ResponseWriter, *http.Request, []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if err := h.verify(r.Context(), r.Header, body); errors.Is(err, errUnavailable) {
			// The request may be genuine, but it cannot be checked or
			// recorded: nothing is done, and the user is told so.
			if r.URL.Path == "/slack/commands" {
				writeJSON(w, map[string]string{"response_type": "ephemeral", "text": commands.NotRecorded(h.bot.errorID(r.Context(), err))})
				return
			}
			h.bot.log.ErrorContext(r.Context(), "cannot check a slack request against the database", "path", r.URL.Path, "err", err)
			http.Error(w, "warroom cannot reach its database", http.StatusServiceUnavailable)
			return
		} else if err != nil {
			h.bot.log.WarnContext(r.Context(), "refused a slack request", "path", r.URL.Path, "remote", r.RemoteAddr, "reason", err.Error())
			http.Error(w, "invalid request signature", http.StatusUnauthorized)
			return
		}
		next(w, r, body)
	}
}

var (
	errReplay      = errors.New("replayed request")
	errUnavailable = errors.New("the replay guard's database is unreachable")
)

// replayTTL is how long a signature is remembered: longer than the five
// minutes a signature's timestamp is accepted.
const replayTTL = 6 * time.Minute

func (h *HTTPHandler) verify(ctx context.Context, header http.Header, body []byte) error {
	sv, err := slack.NewSecretsVerifier(header, h.secret)
	if err != nil {
		return err
	}
	sv.Write(body)
	if err := sv.Ensure(); err != nil {
		return err
	}
	// The same signed request, sent again, has the same signature.
	// The hex digits may come in either case and still verify, so the key
	// is folded: otherwise a replay in upper case would pass as new.
	sig := strings.ToLower(header.Get("X-Slack-Signature"))
	if !h.replays.first(sig) {
		return errReplay
	}
	// The same request sent to another replica, or after a restart.
	return h.bot.firstShared(ctx, "sig:"+sig, replayTTL)
}

// firstShared checks key against the shared guard, if there is one. A key
// that could not be recorded (the database was down) is kept and recorded
// with the next one that can: otherwise the request, refused as not
// recorded, could be replayed to another replica once the database is
// back, and run.
func (b *Bot) firstShared(ctx context.Context, key string, ttl time.Duration) error {
	if b.guard == nil {
		return nil
	}
	now := time.Now()
	first, err := b.guard.FirstRequest(ctx, key, now, ttl)
	if err != nil {
		b.mu.Lock()
		if len(b.unrecorded) < maxUnrecorded {
			b.unrecorded = append(b.unrecorded, unrecordedKey{key, now, ttl})
		}
		b.mu.Unlock()
		return fmt.Errorf("%w: %v", errUnavailable, err)
	}
	b.mu.Lock()
	late := b.unrecorded
	b.unrecorded = nil
	b.mu.Unlock()
	for _, k := range late {
		if time.Since(k.at) < k.ttl {
			b.guard.FirstRequest(ctx, k.key, k.at, k.ttl) // the result does not matter: it is on record now
		}
	}
	if !first {
		return errReplay
	}
	return nil
}

// maxUnrecorded bounds the keys kept while the database is down.
const maxUnrecorded = 10000

type unrecordedKey struct {
	key string
	at  time.Time
	ttl time.Duration
}

func (h *HTTPHandler) commands(w http.ResponseWriter, r *http.Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	sc := slack.SlashCommand{
		TeamID: form.Get("team_id"), ChannelID: form.Get("channel_id"), ChannelName: form.Get("channel_name"),
		UserID: form.Get("user_id"), UserName: form.Get("user_name"), Command: form.Get("command"),
		Text: form.Get("text"), ResponseURL: form.Get("response_url"), TriggerID: form.Get("trigger_id"),
		APIAppID: form.Get("api_app_id"),
	}
	if sc.UserID == "" || sc.ChannelID == "" {
		http.Error(w, "missing user_id or channel_id", http.StatusBadRequest)
		return
	}
	reply := h.bot.Command(r.Context(), sc).payload()
	if reply == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	writeJSON(w, reply)
}

func (h *HTTPHandler) interactions(w http.ResponseWriter, r *http.Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	if resp := h.bot.Interaction(r.Context(), cb); resp != nil {
		writeJSON(w, resp)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (h *HTTPHandler) events(w http.ResponseWriter, r *http.Request, body []byte) {
	ev, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
	if err != nil {
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	if ev.Type == slackevents.URLVerification {
		var ch slackevents.ChallengeResponse
		json.Unmarshal(body, &ch)
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(ch.Challenge))
		return
	}
	var outer struct {
		EventID string `json:"event_id"`
	}
	json.Unmarshal(body, &outer)
	w.WriteHeader(http.StatusOK)
	h.bot.Event(r.Context(), outer.EventID, ev)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// Event handles an Events API event once per event ID: the conversation
// into the timeline (reactions, pins, edits and deletions of captured
// messages), and mentions, answered with how to use the bot.
func (b *Bot) Event(ctx context.Context, id string, ev slackevents.EventsAPIEvent) {
	if id != "" && (!b.events.first(id) || b.firstShared(ctx, "event:"+id, 10*time.Minute) != nil) {
		return
	}
	if b.conversationEvent(ctx, ev) {
		return
	}
	if m, ok := ev.InnerEvent.Data.(*slackevents.AppMentionEvent); ok {
		ch := m.Channel
		b.fx.do(0, func(ctx context.Context) {
			text := mrkdwn.Escape("I run incidents through `/incident`. Start with `/incident declare sev2 <what is broken>`, or see everything with `/incident help`.")
			if _, _, err := b.api.PostMessageContext(ctx, ch, slack.MsgOptionText(text, false)); err != nil {
				b.log.WarnContext(ctx, "could not answer a mention", "err", err)
			}
		})
	}
}

// errorID logs err under a new id and returns the id, for a reply that
// tells the user to give it to their admin.
func (b *Bot) errorID(ctx context.Context, err error) string {
	id := fmt.Sprintf("E%d", time.Now().UnixNano()%1_000_000_000)
	b.log.ErrorContext(ctx, "request not recorded", "error_id", id, "err", err)
	return id
}
