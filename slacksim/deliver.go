package slacksim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/warroom/warroom/internal/mrkdwn"
)

// Sign returns Slack's v0 signature of body at timestamp ts.
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:", ts)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// SignRequest sets the headers Slack signs a request with: the timestamp
// ts and the v0 signature of body made with secret.
func SignRequest(req *http.Request, secret string, ts int64, body []byte) {
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Slack-Signature", Sign(secret, ts, body))
}

// Reply is what the bot answered to a delivery, within Slack's 3 seconds.
type Reply struct {
	Status  int             // HTTP status, or 200 for a Socket Mode ack
	Text    string          // the immediate response text, if any
	Payload json.RawMessage // the raw body or ack payload
	Latency time.Duration
}

// ErrNoAck means the bot did not acknowledge within 3 seconds; Slack shows
// the user an error in that case.
var ErrNoAck = errors.New("slacksim: the bot did not acknowledge within 3 seconds")

// SlashCommand types "/incident <text>" as user in channel and delivers
// it to the bot over HTTP (when a bot URL is set) or Socket Mode. The
// immediate reply is shown to the user as an ephemeral message.
func (s *Server) SlashCommand(ctx context.Context, user, channel, text string) (Reply, error) {
	s.mu.Lock()
	u, ch, err := s.userInChannelLocked(user, channel)
	if err != nil {
		s.mu.Unlock()
		return Reply{}, err
	}
	form := url.Values{
		"token": {"sim-verification-token"}, "team_id": {TeamID}, "team_domain": {TeamName},
		"channel_id": {ch.ID}, "channel_name": {ch.Name}, "user_id": {u.ID}, "user_name": {u.Name},
		// Slack escapes &, < and > in what was typed, keeping mention tokens.
		"command": {Command}, "text": {mrkdwn.Escape(text)}, "api_app_id": {AppID}, "is_enterprise_install": {"false"},
		"response_url": {s.newResponseURLLocked(u.ID, ch.ID)}, "trigger_id": {s.newTriggerLocked(u.ID)},
	}
	botURL := s.opts.BotURL
	s.mu.Unlock()

	var r Reply
	if botURL != "" {
		r, err = s.postSigned(ctx, botURL+"/slack/commands", "application/x-www-form-urlencoded", []byte(form.Encode()))
	} else {
		payload := map[string]string{}
		for k := range form {
			payload[k] = form.Get(k)
		}
		r, err = s.sendEnvelope(ctx, "slash_commands", payload)
	}
	if err != nil {
		return r, err
	}
	r.Text = responseText(r.Payload)
	if r.Text != "" {
		var withBlocks struct {
			Blocks json.RawMessage `json:"blocks"`
		}
		json.Unmarshal(r.Payload, &withBlocks)
		s.mu.Lock()
		s.addMessageLocked(&Message{Channel: channel, User: BotUserID, Text: r.Text, Blocks: withBlocks.Blocks, Ephemeral: true, To: user, Source: "command_response"})
		s.mu.Unlock()
	}
	return r, nil
}

// userInChannelLocked looks up the person acting and where.
func (s *Server) userInChannelLocked(user, channel string) (*User, *Channel, error) {
	u, ok := s.users[user]
	ch, chOK := s.channels[channel]
	if !ok || !chOK {
		return nil, nil, fmt.Errorf("slacksim: unknown user %q or channel %q", user, channel)
	}
	return u, ch, nil
}

// SubmitView submits a modal the bot opened, with values[block][action] =
// the typed text, or the chosen option's value for a select. The returned
// reply holds the bot's response_action, if any.
func (s *Server) SubmitView(ctx context.Context, viewID string, values map[string]map[string]string) (Reply, error) {
	s.mu.Lock()
	var view *View
	for _, v := range s.views {
		if v.ID == viewID {
			view = v
		}
	}
	if view == nil {
		s.mu.Unlock()
		return Reply{}, fmt.Errorf("slacksim: no view %s", viewID)
	}
	var body struct {
		CallbackID      string `json:"callback_id"`
		PrivateMetadata string `json:"private_metadata"`
		Title           any    `json:"title"`
		Blocks          []struct {
			BlockID string `json:"block_id"`
			Element struct {
				Type     string `json:"type"`
				ActionID string `json:"action_id"`
			} `json:"element"`
		} `json:"blocks"`
	}
	json.Unmarshal(view.Body, &body)
	state := map[string]map[string]any{}
	for _, b := range body.Blocks {
		if b.Element.ActionID == "" {
			continue
		}
		v := values[b.BlockID][b.Element.ActionID]
		entry := map[string]any{"type": b.Element.Type}
		if strings.HasSuffix(b.Element.Type, "_select") {
			if v != "" {
				entry["selected_option"] = map[string]any{"value": v, "text": map[string]any{"type": "plain_text", "text": v}}
			}
		} else {
			entry["value"] = v
		}
		state[b.BlockID] = map[string]any{b.Element.ActionID: entry}
	}
	u := s.users[view.User]
	payload := map[string]any{
		"type": "view_submission", "team": map[string]any{"id": TeamID, "domain": TeamName},
		"user":       map[string]any{"id": u.ID, "username": u.Name, "name": u.Name, "team_id": TeamID},
		"api_app_id": AppID, "token": "sim-verification-token", "trigger_id": s.newTriggerLocked(u.ID),
		"view": map[string]any{"id": view.ID, "type": "modal", "callback_id": body.CallbackID, "private_metadata": body.PrivateMetadata,
			"team_id": TeamID, "app_id": AppID, "title": body.Title, "state": map[string]any{"values": state}},
	}
	s.mu.Unlock()
	r, err := s.deliverInteraction(ctx, payload)
	if err != nil {
		return r, err
	}
	// Slack closes the modal on an empty answer, keeps it open on
	// "errors", and replaces it in place on "update".
	var resp struct {
		ResponseAction string          `json:"response_action"`
		View           json.RawMessage `json:"view"`
	}
	json.Unmarshal(r.Payload, &resp)
	s.mu.Lock()
	switch {
	case len(bytes.TrimSpace(r.Payload)) == 0:
		view.Closed = true
		s.changedLocked()
	case resp.ResponseAction == "update":
		var v map[string]any
		if json.Unmarshal(resp.View, &v) != nil || v["type"] != "modal" {
			s.protoErrs = append(s.protoErrs, "view_submission answered with response_action update but no modal view")
			break
		}
		view.Body = append(json.RawMessage(nil), resp.View...)
		view.Updates++
		s.changedLocked()
	}
	s.mu.Unlock()
	return r, nil
}

// Interact delivers any interaction payload (block_actions, ...) as given.
func (s *Server) Interact(ctx context.Context, payload map[string]any) (Reply, error) {
	return s.deliverInteraction(ctx, payload)
}

func (s *Server) deliverInteraction(ctx context.Context, payload map[string]any) (Reply, error) {
	s.mu.Lock()
	botURL := s.opts.BotURL
	s.mu.Unlock()
	if botURL == "" {
		return s.sendEnvelope(ctx, "interactive", payload)
	}
	b, _ := json.Marshal(payload)
	form := url.Values{"payload": {string(b)}}
	return s.postSigned(ctx, botURL+"/slack/interactions", "application/x-www-form-urlencoded", []byte(form.Encode()))
}

// PostSigned sends body to the bot's url signed as Slack would at ts, and
// returns the status and body. Tests use it to forge and replay requests.
func (s *Server) PostSigned(ctx context.Context, url, secret string, ts int64, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	SignRequest(req, secret, ts, body)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, out, err
}

func (s *Server) postSigned(ctx context.Context, url, ctype string, body []byte) (Reply, error) {
	return s.postSignedAt(ctx, url, ctype, body, time.Now().Unix(), nil)
}

// postSignedRetry is retry number n of an event delivery: signed anew a
// second later each time, as Slack's retries are, with X-Slack-Retry-Num.
func (s *Server) postSignedRetry(ctx context.Context, url string, body []byte, n int) (Reply, error) {
	var h http.Header
	if n > 0 {
		h = http.Header{"X-Slack-Retry-Num": {strconv.Itoa(n)}, "X-Slack-Retry-Reason": {"http_timeout"}}
	}
	return s.postSignedAt(ctx, url, "application/json", body, time.Now().Unix()+int64(n), h)
}

func (s *Server) postSignedAt(ctx context.Context, url, ctype string, body []byte, ts int64, extra http.Header) (Reply, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Reply{}, err
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", ctype)
	SignRequest(req, s.opts.SigningSecret, ts, body)
	resp, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return Reply{}, ErrNoAck
		}
		return Reply{}, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Reply{}, err
	}
	r := Reply{Status: resp.StatusCode, Payload: out, Latency: time.Since(start)}
	if resp.StatusCode != http.StatusOK {
		return r, fmt.Errorf("slacksim: bot answered %d: %s", resp.StatusCode, strings.TrimSpace(string(out)))
	}
	return r, nil
}

// responseText extracts the text of an immediate response: plain text, or
// JSON with a "text" field.
func responseText(b []byte) string {
	t := bytes.TrimSpace(b)
	if len(t) == 0 {
		return ""
	}
	if t[0] != '{' {
		return string(t)
	}
	var m struct {
		Text string `json:"text"`
	}
	json.Unmarshal(t, &m)
	return m.Text
}

// serveResponseURL takes the bot's delayed responses to a command.
func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Text            string          `json:"text"`
		Blocks          json.RawMessage `json:"blocks"`
		ResponseType    string          `json:"response_type"`
		ReplaceOriginal bool            `json:"replace_original"`
		DeleteOriginal  bool            `json:"delete_original"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ru, ok := s.responses[r.PathValue("id")]
	switch {
	case !ok:
		http.Error(w, "no_such_response_url", http.StatusNotFound)
		return
	case ru.uses >= 5 || time.Now().After(ru.expires):
		http.Error(w, "expired_url", http.StatusNotFound)
		return
	case body.Text == "" && len(body.Blocks) == 0:
		http.Error(w, "no_text", http.StatusBadRequest)
		return
	}
	ru.uses++
	s.addMessageLocked(&Message{Channel: ru.channel, User: BotUserID, Text: body.Text, Blocks: body.Blocks,
		Ephemeral: body.ResponseType != "in_channel", To: ru.user, Source: "response_url"})
	w.Write([]byte("ok"))
}

// Event delivers an Events API event (an app_mention, say) with eventID,
// times times in a row, as Slack does when it retries a delivery it thinks
// failed: over HTTP with X-Slack-Retry-Num on the repeats, or over Socket
// Mode as new envelopes with the same event. It returns the last reply.
func (s *Server) Event(ctx context.Context, eventID string, event map[string]any, times int) (Reply, error) {
	body := map[string]any{"token": "sim-verification-token", "team_id": TeamID, "api_app_id": AppID, "type": "event_callback",
		"event_id": eventID, "event_time": time.Now().Unix(), "event": event}
	raw, err := json.Marshal(body)
	if err != nil {
		return Reply{}, err
	}
	s.mu.Lock()
	botURL := s.opts.BotURL
	s.mu.Unlock()
	var r Reply
	for i := range times {
		if botURL != "" {
			r, err = s.postSignedRetry(ctx, botURL+"/slack/events", raw, i)
		} else {
			r, err = s.sendEnvelope(ctx, "events_api", json.RawMessage(raw))
		}
		if err != nil {
			return r, err
		}
	}
	return r, nil
}
