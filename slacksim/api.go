package slacksim

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// method describes one Web API method: the parameters it reads (checked
// against Slack's OpenAPI spec by the tests), the ones it requires, and
// whether it takes the app-level token instead of the bot token.
type method struct {
	params   []string
	required []string
	appToken bool
	handle   func(s *Server, p params) (map[string]any, string)
}

// Methods lists the Web API methods the simulator implements.
func Methods() map[string]struct{ Params, Required []string } {
	out := map[string]struct{ Params, Required []string }{}
	for name, m := range methods {
		out[name] = struct{ Params, Required []string }{m.params, m.required}
	}
	return out
}

var methods = map[string]method{
	"auth.test":                    {handle: (*Server).authTest},
	"apps.connections.open":        {appToken: true, handle: (*Server).connectionsOpen},
	"conversations.create":         {params: []string{"name", "is_private"}, required: []string{"name"}, handle: (*Server).conversationsCreate},
	"conversations.invite":         {params: []string{"channel", "users"}, required: []string{"channel", "users"}, handle: (*Server).conversationsInvite},
	"conversations.setTopic":       {params: []string{"channel", "topic"}, required: []string{"channel", "topic"}, handle: (*Server).conversationsSetTopic},
	"conversations.setPurpose":     {params: []string{"channel", "purpose"}, required: []string{"channel", "purpose"}, handle: (*Server).conversationsSetPurpose},
	"conversations.list":           {params: []string{"types", "exclude_archived", "limit", "cursor"}, handle: (*Server).conversationsList},
	"conversations.info":           {params: []string{"channel", "include_locale", "include_num_members"}, required: []string{"channel"}, handle: (*Server).conversationsInfo},
	"conversations.archive":        {params: []string{"channel"}, required: []string{"channel"}, handle: (*Server).conversationsArchive},
	"conversations.members":        {params: []string{"channel", "cursor", "limit"}, required: []string{"channel"}, handle: (*Server).conversationsMembers},
	"chat.postMessage":             {params: []string{"channel", "text", "blocks", "attachments", "thread_ts", "unfurl_links", "unfurl_media", "mrkdwn", "as_user", "link_names", "parse", "reply_broadcast", "icon_emoji", "icon_url", "username", "metadata"}, required: []string{"channel"}, handle: (*Server).chatPostMessage},
	"conversations.history":        {params: []string{"channel", "latest", "oldest", "inclusive", "limit", "cursor", "include_all_metadata"}, required: []string{"channel"}, handle: (*Server).conversationsHistory},
	"chat.update":                  {params: []string{"channel", "ts", "text", "blocks", "attachments", "as_user", "link_names", "parse"}, required: []string{"channel", "ts"}, handle: (*Server).chatUpdate},
	"chat.postEphemeral":           {params: []string{"channel", "user", "text", "blocks", "attachments", "thread_ts", "as_user", "link_names", "parse", "icon_emoji", "icon_url", "username"}, required: []string{"channel", "user"}, handle: (*Server).chatPostEphemeral},
	"pins.add":                     {params: []string{"channel", "timestamp"}, required: []string{"channel", "timestamp"}, handle: (*Server).pinsAdd},
	"conversations.replies":        {params: []string{"channel", "ts", "latest", "oldest", "inclusive", "limit", "cursor"}, required: []string{"channel", "ts"}, handle: (*Server).conversationsReplies},
	"chat.getPermalink":            {params: []string{"channel", "message_ts"}, required: []string{"channel", "message_ts"}, handle: (*Server).chatGetPermalink},
	"reactions.remove":             {params: []string{"channel", "timestamp", "name"}, required: []string{"name"}, handle: (*Server).reactionsRemove},
	"reactions.add":                {params: []string{"channel", "timestamp", "name"}, required: []string{"channel", "timestamp", "name"}, handle: (*Server).reactionsAdd},
	"pins.list":                    {params: []string{"channel"}, required: []string{"channel"}, handle: (*Server).pinsList},
	"users.info":                   {params: []string{"user", "include_locale"}, required: []string{"user"}, handle: (*Server).usersInfo},
	"users.list":                   {params: []string{"limit", "cursor", "include_locale", "team_id"}, handle: (*Server).usersList},
	"files.getUploadURLExternal":   {params: []string{"filename", "length", "alt_txt", "snippet_type"}, required: []string{"filename", "length"}, handle: (*Server).filesGetUploadURLExternal},
	"files.completeUploadExternal": {params: []string{"files", "channel_id", "channels", "initial_comment", "thread_ts", "blocks"}, required: []string{"files"}, handle: (*Server).filesCompleteUploadExternal},
	"users.lookupByEmail":          {params: []string{"email"}, required: []string{"email"}, handle: (*Server).usersLookupByEmail},
	"views.open":                   {params: []string{"trigger_id", "view"}, required: []string{"trigger_id", "view"}, handle: (*Server).viewsOpen},
}

// params holds a request's arguments, from a form or a JSON body.
type params map[string]string

func (p params) get(k string) string { return p[k] }

func readParams(r *http.Request) (params, string, error) {
	p := params{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return nil, "", err
		}
		var m map[string]any
		if len(body) > 0 {
			if err := json.Unmarshal(body, &m); err != nil {
				return nil, "invalid_json", nil
			}
		}
		for k, v := range m {
			switch v := v.(type) {
			case string:
				p[k] = v
			case nil:
			default:
				b, _ := json.Marshal(v)
				p[k] = string(b)
			}
		}
	} else {
		if err := r.ParseForm(); err != nil {
			return nil, "invalid_form_data", nil
		}
		for k, v := range r.Form {
			if len(v) > 0 {
				p[k] = v[0]
			}
		}
	}
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if token == "" {
		token = p["token"]
	}
	delete(p, "token")
	return p, token, nil
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	slow := s.slow[r.PathValue("method")]
	var delay time.Duration
	if slow != nil && slow.remaining > 0 {
		slow.remaining--
		delay = slow.retryAfter
	}
	s.mu.Unlock()
	if delay > 0 {
		// The call takes effect now; only its answer is late, as when a
		// response is lost to a timeout.
		rec := httptest.NewRecorder()
		s.serveAPINow(rec, r)
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		return
	}
	s.serveAPINow(w, r)
}

func (s *Server) serveAPINow(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("method")
	m, ok := methods[name]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"ok": false, "error": "unknown_method"})
		return
	}
	p, token, err := readParams(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	call := Call{Method: name, Params: p, Status: http.StatusOK}
	defer func() { s.calls = append(s.calls, call); s.mu.Unlock() }()

	if f := s.serverErrors[name]; f != nil && f.remaining > 0 {
		f.remaining--
		call.Status, call.Error = http.StatusInternalServerError, "internal_error"
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if lim := s.limits[name]; lim != nil && lim.remaining > 0 {
		lim.remaining--
		call.Status, call.Error = http.StatusTooManyRequests, "ratelimited"
		w.Header().Set("Retry-After", strconv.Itoa(int((lim.retryAfter+time.Second-1)/time.Second)))
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"ok": false, "error": "ratelimited"})
		return
	}
	fail := func(e string) {
		call.Error = e
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": e})
	}
	switch {
	case token == "":
		fail("not_authed")
		return
	case m.appToken && token != AppToken:
		fail("invalid_auth")
		return
	case !m.appToken && token != BotToken:
		if strings.HasPrefix(token, "xapp-") {
			fail("not_allowed_token_type")
		} else {
			fail("invalid_auth")
		}
		return
	}
	for _, req := range m.required {
		if p[req] == "" {
			fail(missingError(name, req))
			return
		}
	}
	if f := s.faults[name]; f != nil && f.remaining > 0 {
		f.remaining--
		fail(f.err)
		return
	}
	out, errCode := m.handle(s, p)
	if errCode != "" {
		fail(errCode)
		return
	}
	if out == nil {
		out = map[string]any{}
	}
	s.changedLocked()
	out["ok"] = true
	writeJSON(w, http.StatusOK, out)
}

// missingError is the error Slack gives for a missing required argument.
func missingError(method, param string) string {
	switch param {
	case "channel":
		return "channel_not_found"
	case "user", "users":
		return "user_not_found"
	case "ts", "timestamp":
		return "message_not_found"
	case "trigger_id":
		return "invalid_trigger_id"
	case "name":
		return "invalid_name_required"
	}
	return "invalid_arguments"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) authTest(p params) (map[string]any, string) {
	return map[string]any{"url": "https://" + TeamName + ".slack.com/", "team": TeamName, "user": "warroom",
		"team_id": TeamID, "user_id": BotUserID, "bot_id": BotID, "is_enterprise_install": false}, ""
}

func (s *Server) connectionsOpen(p params) (map[string]any, string) {
	u := strings.Replace(s.socket.URL, "https://", "wss://", 1) + "/link/?ticket=" + randomID(8) + "&app_id=" + AppID
	return map[string]any{"url": u}, ""
}

var validName = regexp.MustCompile(`^[a-z0-9_-]+$`)

func (s *Server) conversationsCreate(p params) (map[string]any, string) {
	name := p.get("name")
	switch {
	case utf8.RuneCountInString(name) > 80:
		return nil, "invalid_name_maxlength"
	case !validName.MatchString(name):
		return nil, "invalid_name_specials"
	case s.byNameLocked(name) != nil:
		return nil, "name_taken"
	}
	ch := s.newChannelLocked(name, p.get("is_private") == "true", BotUserID)
	return map[string]any{"channel": channelJSON(ch)}, ""
}

// conversationsList lists channels: public ones, and private ones the bot
// is in, by type, 100 (or limit) at a time.
func (s *Server) conversationsList(p params) (map[string]any, string) {
	types := p.get("types")
	if types == "" {
		types = "public_channel"
	}
	var all []*Channel
	for _, ch := range s.channels {
		kind := "public_channel"
		if ch.Private {
			kind = "private_channel"
		}
		if !strings.Contains(types, kind) || (ch.Private && !member(ch, BotUserID)) || (p.get("exclude_archived") == "true" && ch.Archived) {
			continue
		}
		all = append(all, ch)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	out, next := page(all, p, channelJSON)
	return map[string]any{"channels": out, "response_metadata": map[string]any{"next_cursor": next}}, ""
}

// page is one page of a list method's answer: limit items from the cursor
// (an offset), and the cursor of the next page, "" after the last.
func page[T any](all []T, p params, render func(T) map[string]any) ([]any, string) {
	limit, _ := strconv.Atoi(p.get("limit"))
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	start, _ := strconv.Atoi(p.get("cursor"))
	out := []any{}
	for i := start; i < len(all) && i < start+limit; i++ {
		out = append(out, render(all[i]))
	}
	next := ""
	if start+limit < len(all) {
		next = strconv.Itoa(start + limit)
	}
	return out, next
}

func (s *Server) channelForBot(id string) (*Channel, string) {
	ch, ok := s.channels[id]
	if !ok {
		return nil, "channel_not_found"
	}
	if ch.Archived {
		return nil, "is_archived"
	}
	if !member(ch, BotUserID) {
		return nil, "not_in_channel"
	}
	return ch, ""
}

func (s *Server) conversationsInvite(p params) (map[string]any, string) {
	ch, e := s.channelForBot(p.get("channel"))
	if e != "" {
		return nil, e
	}
	added := 0
	for _, id := range strings.Split(p.get("users"), ",") {
		id = strings.TrimSpace(id)
		if id == BotUserID {
			return nil, "cant_invite_self"
		}
		if _, ok := s.users[id]; !ok {
			return nil, "user_not_found"
		}
		if !member(ch, id) {
			ch.Members = append(ch.Members, id)
			added++
		}
	}
	if added == 0 {
		return nil, "already_in_channel"
	}
	return map[string]any{"channel": channelJSON(ch)}, ""
}

func (s *Server) conversationsSetTopic(p params) (map[string]any, string) {
	return s.setChannelText(p, "topic", func(ch *Channel, v string) { ch.Topic = v })
}

func (s *Server) conversationsSetPurpose(p params) (map[string]any, string) {
	return s.setChannelText(p, "purpose", func(ch *Channel, v string) { ch.Purpose = v })
}

// setChannelText sets a topic or purpose: at most 250 characters.
func (s *Server) setChannelText(p params, key string, set func(*Channel, string)) (map[string]any, string) {
	ch, e := s.channelForBot(p.get("channel"))
	if e != "" {
		return nil, e
	}
	if utf8.RuneCountInString(p.get(key)) > 250 {
		return nil, "too_long"
	}
	set(ch, p.get(key))
	return map[string]any{"channel": channelJSON(ch)}, ""
}

func (s *Server) conversationsInfo(p params) (map[string]any, string) {
	ch, ok := s.channels[p.get("channel")]
	if !ok || (ch.Private && !member(ch, BotUserID)) {
		return nil, "channel_not_found"
	}
	return map[string]any{"channel": channelJSON(ch)}, ""
}

func (s *Server) conversationsMembers(p params) (map[string]any, string) {
	ch, ok := s.channels[p.get("channel")]
	if !ok || (ch.Private && !member(ch, BotUserID)) {
		return nil, "channel_not_found"
	}
	return map[string]any{"members": ch.Members, "response_metadata": map[string]any{"next_cursor": ""}}, ""
}

func (s *Server) conversationsArchive(p params) (map[string]any, string) {
	ch, ok := s.channels[p.get("channel")]
	switch {
	case !ok:
		return nil, "channel_not_found"
	case ch.Archived:
		return nil, "already_archived"
	case !member(ch, BotUserID):
		return nil, "not_in_channel"
	}
	ch.Archived = true
	return nil, ""
}

// maxText is the longest text chat.postMessage takes before it truncates;
// the simulator refuses it instead, so a bot that sends it is caught.
const maxText = 40000

func (s *Server) messageBody(p params) (text string, blocks json.RawMessage, e string) {
	text = p.get("text")
	if b := p.get("blocks"); b != "" {
		var v []any
		if err := json.Unmarshal([]byte(b), &v); err != nil {
			return "", nil, "invalid_blocks_format"
		}
		if len(v) > 50 {
			return "", nil, "invalid_blocks"
		}
		blocks = plainJSON(v)
	}
	if text == "" && blocks == nil && p.get("attachments") == "" {
		return "", nil, "no_text"
	}
	if utf8.RuneCountInString(text) > maxText {
		return "", nil, "msg_too_long"
	}
	return text, blocks, ""
}

func (s *Server) chatPostMessage(p params) (map[string]any, string) {
	// Slack takes a channel ID, or a channel name with or without '#'.
	id := p.get("channel")
	if _, ok := s.channels[id]; !ok {
		if ch := s.byNameLocked(strings.TrimPrefix(id, "#")); ch != nil {
			id = ch.ID
		}
	}
	ch, e := s.channelForBot(id)
	if e != "" {
		return nil, e
	}
	text, blocks, e := s.messageBody(p)
	if e != "" {
		return nil, e
	}
	var meta json.RawMessage
	if raw := p.get("metadata"); raw != "" {
		var md struct {
			EventType    string         `json:"event_type"`
			EventPayload map[string]any `json:"event_payload"`
		}
		if err := json.Unmarshal([]byte(raw), &md); err != nil || md.EventType == "" || md.EventPayload == nil {
			return nil, "invalid_metadata_format"
		}
		meta = json.RawMessage(raw)
	}
	m := s.addMessageLocked(&Message{Channel: ch.ID, User: BotUserID, Text: text, Blocks: blocks, Metadata: meta, Source: "api"})
	return map[string]any{"channel": ch.ID, "ts": m.TS, "message": map[string]any{"type": "message", "user": BotUserID, "text": text, "ts": m.TS}}, ""
}

// conversationsHistory lists a channel's messages, newest first, between
// oldest and latest (exclusive unless inclusive), limit at a time (default
// 100, at most 999), with each message's metadata only when
// include_all_metadata is set, as Slack does. The cursor is the offset.
func (s *Server) conversationsHistory(p params) (map[string]any, string) {
	ch, ok := s.channels[p.get("channel")]
	if !ok || (ch.Private && !member(ch, BotUserID)) {
		return nil, "channel_not_found"
	}
	if !member(ch, BotUserID) {
		return nil, "not_in_channel"
	}
	micros := func(ts string, none int64) int64 {
		if ts == "" {
			return none
		}
		sec, frac, _ := strings.Cut(ts, ".")
		a, err1 := strconv.ParseInt(sec, 10, 64)
		b, err2 := strconv.ParseInt((frac + "000000")[:6], 10, 64)
		if err1 != nil || err2 != nil {
			return -1
		}
		return a*1_000_000 + b
	}
	oldest, latest := micros(p.get("oldest"), 0), micros(p.get("latest"), 1<<62)
	if oldest < 0 || latest < 0 {
		return nil, "invalid_ts_oldest"
	}
	inclusive := p.get("inclusive") == "1" || p.get("inclusive") == "true"
	limit, _ := strconv.Atoi(p.get("limit"))
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 999)
	offset, _ := strconv.Atoi(p.get("cursor"))
	withMeta := p.get("include_all_metadata") == "1" || p.get("include_all_metadata") == "true"
	var out []map[string]any
	seen := 0
	for i := len(s.messages) - 1; i >= 0; i-- {
		m := s.messages[i]
		if m.Channel != ch.ID || m.Ephemeral || m.Deleted || (m.ThreadTS != "" && m.ThreadTS != m.TS) {
			continue // replies are in conversations.replies, as in Slack
		}
		ts := micros(m.TS, 0)
		if ts > latest || ts < oldest || (!inclusive && (ts == latest || ts == oldest)) {
			continue
		}
		if seen++; seen <= offset {
			continue
		}
		if len(out) == limit {
			return map[string]any{"messages": out, "has_more": true, "response_metadata": map[string]any{"next_cursor": strconv.Itoa(offset + limit)}}, ""
		}
		msg := messageJSON(m)
		if withMeta && len(m.Metadata) > 0 {
			msg["metadata"] = m.Metadata
		}
		out = append(out, msg)
	}
	return map[string]any{"messages": out, "has_more": false, "response_metadata": map[string]any{"next_cursor": ""}}, ""
}

// messageJSON is a message as the Web API returns it.
func messageJSON(m *Message) map[string]any {
	msg := map[string]any{"type": "message", "user": m.User, "text": m.Text, "ts": m.TS}
	if len(m.Blocks) > 0 {
		msg["blocks"] = m.Blocks
	}
	if m.ThreadTS != "" {
		msg["thread_ts"] = m.ThreadTS
	}
	if len(m.Files) > 0 {
		msg["files"] = m.Files
	}
	return msg
}

// conversationsReplies returns the thread holding message ts: its first
// message, then the replies, oldest first.
func (s *Server) conversationsReplies(p params) (map[string]any, string) {
	ch, ok := s.channels[p.get("channel")]
	if !ok || (ch.Private && !member(ch, BotUserID)) {
		return nil, "channel_not_found"
	}
	if !member(ch, BotUserID) {
		return nil, "not_in_channel"
	}
	root := p.get("ts")
	for _, m := range s.messages {
		if m.Channel == ch.ID && m.TS == root && m.ThreadTS != "" {
			root = m.ThreadTS
		}
	}
	var out []map[string]any
	for _, m := range s.messages {
		if m.Channel == ch.ID && !m.Ephemeral && !m.Deleted && (m.TS == root || m.ThreadTS == root) {
			out = append(out, messageJSON(m))
		}
	}
	if len(out) == 0 {
		return nil, "thread_not_found"
	}
	return map[string]any{"messages": out, "has_more": false, "response_metadata": map[string]any{"next_cursor": ""}}, ""
}

// chatGetPermalink is a message's link, in Slack's shape.
func (s *Server) chatGetPermalink(p params) (map[string]any, string) {
	ch, ok := s.channels[p.get("channel")]
	if !ok || (ch.Private && !member(ch, BotUserID)) {
		return nil, "channel_not_found"
	}
	ts := p.get("message_ts")
	for _, m := range s.messages {
		if m.Channel == ch.ID && m.TS == ts && !m.Ephemeral {
			link := s.api.URL + "/archives/" + ch.ID + "/p" + strings.ReplaceAll(ts, ".", "")
			if m.ThreadTS != "" && m.ThreadTS != m.TS {
				link += "?thread_ts=" + m.ThreadTS + "&cid=" + ch.ID
			}
			return map[string]any{"channel": ch.ID, "permalink": link}, ""
		}
	}
	return nil, "message_not_found"
}

// reactionsAdd adds the bot's reaction to a message.
func (s *Server) reactionsAdd(p params) (map[string]any, string) {
	ch, e := s.channelForBot(p.get("channel"))
	if e != "" {
		return nil, e
	}
	for _, m := range s.messages {
		if m.Channel == ch.ID && m.TS == p.get("timestamp") && !m.Ephemeral && !m.Deleted {
			if !m.react(p.get("name"), BotUserID, false) {
				return nil, "already_reacted"
			}
			s.publishLocked(m)
			return nil, ""
		}
	}
	return nil, "message_not_found"
}

// react adds (or, with remove, takes off) user's reaction name, and
// reports whether that changed anything.
func (m *Message) react(name, user string, remove bool) bool {
	has := slices.Contains(m.Reactions[name], user)
	switch {
	case remove && has:
		m.Reactions[name] = slices.DeleteFunc(m.Reactions[name], func(u string) bool { return u == user })
	case !remove && !has:
		if m.Reactions == nil {
			m.Reactions = map[string][]string{}
		}
		m.Reactions[name] = append(m.Reactions[name], user)
	default:
		return false
	}
	return true
}

// reactionsRemove takes the bot's reaction off a message.
func (s *Server) reactionsRemove(p params) (map[string]any, string) {
	ch, e := s.channelForBot(p.get("channel"))
	if e != "" {
		return nil, e
	}
	for _, m := range s.messages {
		if m.Channel == ch.ID && m.TS == p.get("timestamp") && !m.Ephemeral {
			if !m.react(p.get("name"), BotUserID, true) {
				return nil, "no_reaction"
			}
			s.publishLocked(m)
			return nil, ""
		}
	}
	return nil, "message_not_found"
}

func (s *Server) chatUpdate(p params) (map[string]any, string) {
	ch, e := s.channelForBot(p.get("channel"))
	if e != "" {
		return nil, e
	}
	text, blocks, e := s.messageBody(p)
	if e != "" {
		return nil, e
	}
	for _, m := range s.messages {
		if m.Channel == ch.ID && m.TS == p.get("ts") && !m.Ephemeral {
			if m.User != BotUserID {
				return nil, "cant_update_message"
			}
			m.Text, m.Blocks = text, blocks
			m.Edits++
			s.publishLocked(m)
			return map[string]any{"channel": ch.ID, "ts": m.TS, "text": text}, ""
		}
	}
	return nil, "message_not_found"
}

func (s *Server) chatPostEphemeral(p params) (map[string]any, string) {
	ch, e := s.channelForBot(p.get("channel"))
	if e != "" {
		return nil, e
	}
	if _, ok := s.users[p.get("user")]; !ok {
		return nil, "user_not_found"
	}
	if !member(ch, p.get("user")) {
		return nil, "user_not_in_channel"
	}
	text, blocks, e := s.messageBody(p)
	if e != "" {
		return nil, e
	}
	m := s.addMessageLocked(&Message{Channel: ch.ID, User: BotUserID, Text: text, Blocks: blocks, Ephemeral: true, To: p.get("user"), Source: "api"})
	return map[string]any{"message_ts": m.TS}, ""
}

func (s *Server) pinsAdd(p params) (map[string]any, string) {
	ch, e := s.channelForBot(p.get("channel"))
	if e != "" {
		return nil, e
	}
	ts := p.get("timestamp")
	for _, pin := range ch.Pins {
		if pin == ts {
			return nil, "already_pinned"
		}
	}
	for _, m := range s.messages {
		if m.Channel == ch.ID && m.TS == ts && !m.Ephemeral {
			ch.Pins = append(ch.Pins, ts)
			return nil, ""
		}
	}
	return nil, "message_not_found"
}

func (s *Server) pinsList(p params) (map[string]any, string) {
	ch, ok := s.channels[p.get("channel")]
	if !ok {
		return nil, "channel_not_found"
	}
	items := []map[string]any{}
	for _, ts := range ch.Pins {
		items = append(items, map[string]any{"type": "message", "channel": ch.ID, "message": map[string]any{"ts": ts}})
	}
	return map[string]any{"items": items}, ""
}

func (s *Server) usersInfo(p params) (map[string]any, string) {
	u, ok := s.users[p.get("user")]
	if !ok {
		return nil, "user_not_found"
	}
	return map[string]any{"user": userJSON(u)}, ""
}

// usersList pages through everyone in the workspace, people and bots.
func (s *Server) usersList(p params) (map[string]any, string) {
	all := make([]*User, 0, len(s.users))
	for _, u := range s.users {
		all = append(all, u)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	out, next := page(all, p, userJSON)
	return map[string]any{"members": out, "response_metadata": map[string]any{"next_cursor": next}}, ""
}

func userJSON(u *User) map[string]any {
	profile := map[string]any{"real_name": u.RealName, "display_name": u.Name}
	if u.Email != "" && !u.IsBot {
		profile["email"] = u.Email
	}
	return map[string]any{"id": u.ID, "team_id": TeamID, "name": u.Name, "real_name": u.RealName, "tz": u.TZ, "is_bot": u.IsBot, "profile": profile}
}

// usersLookupByEmail finds a person by the email address of their profile.
func (s *Server) usersLookupByEmail(p params) (map[string]any, string) {
	for _, u := range s.users {
		if !u.IsBot && u.Email != "" && strings.EqualFold(u.Email, p.get("email")) {
			return map[string]any{"user": userJSON(u)}, ""
		}
	}
	return nil, "users_not_found"
}

func (s *Server) viewsOpen(p params) (map[string]any, string) {
	t, ok := s.triggers[p.get("trigger_id")]
	switch {
	case !ok:
		return nil, "invalid_trigger_id"
	case t.used || time.Now().After(t.expires):
		return nil, "expired_trigger_id"
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(p.get("view")), &v); err != nil || v["type"] != "modal" {
		return nil, "invalid_arguments"
	}
	t.used = true
	s.triggers[p.get("trigger_id")] = t
	s.seq++
	view := &View{ID: fmt.Sprintf("V%08d", s.seq), User: t.user, Trigger: p.get("trigger_id"), Body: json.RawMessage(p.get("view"))}
	s.views = append(s.views, view)
	v["id"] = view.ID
	v["team_id"] = TeamID
	v["app_id"] = AppID
	return map[string]any{"view": v}, ""
}

func member(ch *Channel, user string) bool {
	for _, m := range ch.Members {
		if m == user {
			return true
		}
	}
	return false
}

func channelJSON(ch *Channel) map[string]any {
	return map[string]any{
		"id": ch.ID, "name": ch.Name, "is_channel": !ch.Private, "is_group": false, "is_private": ch.Private,
		"is_archived": ch.Archived, "is_member": member(ch, BotUserID), "created": ch.Created.Unix(), "creator": ch.Creator,
		"num_members": len(ch.Members),
		"topic":       map[string]any{"value": ch.Topic, "creator": BotUserID},
		"purpose":     map[string]any{"value": ch.Purpose, "creator": BotUserID},
	}
}

func certPEM(c *x509.Certificate) []byte {
	if c == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// plainJSON re-encodes v without Go's HTML escaping, so stored blocks read
// as Slack shows them ("<@U1>", not "\u003c@U1\u003e").
func plainJSON(v any) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return json.RawMessage(bytes.TrimSpace(buf.Bytes()))
}
