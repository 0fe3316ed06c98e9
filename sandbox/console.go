// Package sandbox is the web console of `warroom sandbox`: a small
// Slack-like page over the simulated workspace (slacksim), where a person
// acts as different teammates, types /incident commands, clicks the bot's
// buttons and fills in its modals. Everything it sends goes through slacksim
// exactly as Slack would send it, so the bot cannot tell it from Slack.
//
// It must not import bot/, commands/ or incident/: the sandbox drives the
// product from outside, as a user does.
package sandbox

import (
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/warroom/warroom/slacksim"
)

//go:embed static
var static embed.FS

// Console serves the sandbox's web page and its small JSON API.
type Console struct {
	sim     *slacksim.Server
	links   []Link
	log     *slog.Logger
	mux     *http.ServeMux
	vendors Vendors
	token   string          // the per-run token only the console's page holds
	hosts   map[string]bool // names it answers to besides loopback and IPs
	streams chan struct{}   // a slot per open live-update stream
	emoji   string          // the reaction that puts a message into the timeline
}

// UseTimelineEmoji sets the reaction the console's 📌 tool adds (the
// bot's WARROOM_TIMELINE_EMOJI).
func (c *Console) UseTimelineEmoji(name string) {
	if name = strings.Trim(name, ": "); name != "" {
		c.emoji = name
	}
}

// UseVendors shows the mock PagerDuty and Jira in the console.
func (c *Console) UseVendors(v Vendors) { c.vendors = v }

// Link is another page of the bot's, shown in the console's sidebar.
type Link struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

// NewConsole returns the console for sim.
func NewConsole(sim *slacksim.Server, links []Link, log *slog.Logger) *Console {
	c := &Console{sim: sim, links: links, log: log, mux: http.NewServeMux(),
		token: newToken(), hosts: map[string]bool{}, streams: make(chan struct{}, MaxStreams), emoji: "pushpin"}
	files, _ := fs.Sub(static, "static")
	c.mux.Handle("GET /", http.FileServerFS(files))
	c.mux.HandleFunc("GET /{$}", c.index)
	c.mux.HandleFunc("GET /api/workspace", c.workspace)
	c.mux.HandleFunc("GET /api/messages", c.messages)
	c.mux.HandleFunc("GET /api/events", c.events)
	c.mux.HandleFunc("GET /api/files/{id}", c.file)
	c.mux.HandleFunc("POST /api/command", c.command)
	c.mux.HandleFunc("POST /api/message", c.message)
	c.mux.HandleFunc("POST /api/join", c.join)
	c.mux.HandleFunc("POST /api/submit", c.submit)
	c.mux.HandleFunc("POST /api/close", c.closeView)
	c.mux.HandleFunc("POST /api/action", c.action)
	c.mux.HandleFunc("POST /api/conversation", c.conversation)
	c.mux.HandleFunc("GET /api/vendors", c.vendorState)
	c.mux.HandleFunc("POST /api/vendors/alert", c.vendorAlert)
	c.mux.HandleFunc("POST /api/vendors/outage", c.vendorOutage)
	c.mux.HandleFunc("POST /api/vendors/issue", c.vendorIssue)
	return c
}

func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The console talks only to itself: no third-party content, no framing.
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if c.guard(w, r) {
		c.mux.ServeHTTP(w, r)
	}
}

type channelJSON struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Topic    string   `json:"topic"`
	Purpose  string   `json:"purpose"`
	Archived bool     `json:"archived"`
	Private  bool     `json:"private"`
	Members  []string `json:"members"`
	Pins     []string `json:"pins"`
}

type viewJSON struct {
	ID      string          `json:"id"`
	User    string          `json:"user"`
	Body    json.RawMessage `json:"body"`
	Updates int             `json:"updates"` // times the bot replaced it (the lint's warnings, say)
}

// workspace is everything but the messages: people, channels, open modals.
func (c *Console) workspace(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user")
	var out struct {
		Team     string            `json:"team"`
		Bot      string            `json:"bot"`
		Users    []slacksim.User   `json:"users"`
		Channels []channelJSON     `json:"channels"`
		Views    []viewJSON        `json:"views"`
		Links    []Link            `json:"links"`
		AllUsers map[string]string `json:"names"`
		Emoji    string            `json:"timeline_emoji"`
	}
	out.Team, out.Bot, out.Links, out.Emoji = slacksim.TeamName, slacksim.BotUserID, c.links, c.emoji
	out.AllUsers = map[string]string{slacksim.BotUserID: "warroom"}
	for _, u := range c.sim.AllUsers() {
		out.AllUsers[u.ID] = u.Name
		if !u.IsBot {
			out.Users = append(out.Users, u)
		}
	}
	sort.Slice(out.Users, func(i, j int) bool { return out.Users[i].Name < out.Users[j].Name })
	for _, ch := range c.sim.Channels() {
		if ch.Private && !slices.Contains(ch.Members, user) {
			continue // a private channel shows nothing to people outside it
		}
		out.Channels = append(out.Channels, channelJSON{ID: ch.ID, Name: ch.Name, Topic: ch.Topic, Purpose: ch.Purpose,
			Archived: ch.Archived, Private: ch.Private, Members: orEmpty(ch.Members), Pins: orEmpty(ch.Pins)})
	}
	for _, v := range c.sim.Views() {
		if !v.Closed && v.User == user {
			out.Views = append(out.Views, viewJSON{ID: v.ID, User: v.User, Body: v.Body, Updates: v.Updates})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

type messageJSON struct {
	TS        string          `json:"ts"`
	User      string          `json:"user"`
	Text      string          `json:"text"`
	Blocks    json.RawMessage `json:"blocks,omitempty"`
	Files     json.RawMessage `json:"files,omitempty"`
	Ephemeral bool            `json:"ephemeral"`
	Edited    bool            `json:"edited"`
	ThreadTS  string          `json:"thread_ts,omitempty"`
	// Reactions are the emoji on the message and who added each.
	Reactions map[string][]string `json:"reactions,omitempty"`
}

// messages returns what user can see in a channel: every visible message,
// and the ephemeral ones meant for them alone.
func (c *Console) messages(w http.ResponseWriter, r *http.Request) {
	user, channel := r.URL.Query().Get("user"), r.URL.Query().Get("channel")
	if !c.mayUse(w, user, channel) {
		return
	}
	out := []messageJSON{}
	for _, m := range c.sim.Messages(channel) {
		if (m.Ephemeral && m.To != user) || m.Deleted {
			continue
		}
		out = append(out, messageJSON{TS: m.TS, User: m.User, Text: m.Text, Blocks: m.Blocks, Files: m.Files, Ephemeral: m.Ephemeral, Edited: m.Edits > 0,
			ThreadTS: m.ThreadTS, Reactions: m.Reactions})
	}
	writeJSON(w, http.StatusOK, out)
}

// file opens a file shared in a channel the user can see (a postmortem
// draft, say), as text: the simulator keeps what the bot uploaded.
func (c *Console) file(w http.ResponseWriter, r *http.Request) {
	f, ok := c.sim.File(r.PathValue("id"))
	var ch slacksim.Channel
	if ok {
		ch, ok = c.sim.Channel(f.Channel)
	}
	if !ok || (ch.Private && !slices.Contains(ch.Members, r.URL.Query().Get("user"))) {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": f.Name}))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'")
	w.Write(f.Content)
}

// events streams a "changed" event whenever the workspace changes; the page
// then fetches what it shows.
func (c *Console) events(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	select {
	case c.streams <- struct{}{}:
		defer func() { <-c.streams }()
	default:
		w.Header().Set("Retry-After", "10")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": fmt.Sprintf("%d live-update streams are open already: close a console tab", MaxStreams)})
		return
	}
	changes, stop := c.sim.Changes()
	defer stop()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprint(w, "retry: 1000\n\n")
	flusher.Flush()
	keepalive := time.NewTicker(20 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-changes:
			fmt.Fprint(w, "event: changed\ndata: {}\n\n")
			flusher.Flush()
			// Coalesce bursts (a declare makes a dozen changes) into a few refreshes.
			time.Sleep(50 * time.Millisecond)
		case <-keepalive.C:
			fmt.Fprint(w, ": keepalive\n\n")
			flusher.Flush()
		}
	}
}

type commandRequest struct {
	User    string `json:"user"`
	Channel string `json:"channel"`
	Text    string `json:"text"`
}

// command types a slash command: "/incident declare ..." becomes a
// signed delivery to the bot, exactly as from Slack.
func (c *Console) command(w http.ResponseWriter, r *http.Request) {
	var req commandRequest
	if !decode(w, r, &req) {
		return
	}
	if !c.mayUse(w, req.User, req.Channel) {
		return // as in Slack: nobody types in a private channel they are not in
	}
	text := strings.TrimSpace(req.Text)
	name, rest, _ := strings.Cut(text, " ")
	if name != slacksim.Command {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("%s is not a command here. Try /incident help.", name)})
		return
	}
	reply, err := c.sim.SlashCommand(r.Context(), req.User, req.Channel, strings.TrimSpace(rest))
	if err != nil {
		c.log.Warn("sandbox: command not delivered", "err", err)
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": "Slack could not deliver that to the bot: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"reply": reply.Text, "latency_ms": reply.Latency.Milliseconds()})
}

// message posts a plain chat message as the chosen person.
func (c *Console) message(w http.ResponseWriter, r *http.Request) {
	var req commandRequest
	if !decode(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.Text) == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "empty message"})
		return
	}
	if !c.mayUse(w, req.User, req.Channel) {
		return
	}
	if _, err := c.sim.PostAs(req.User, req.Channel, req.Text); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (c *Console) join(w http.ResponseWriter, r *http.Request) {
	var req commandRequest
	if !decode(w, r, &req) {
		return
	}
	if !c.mayUse(w, req.User, req.Channel) {
		return
	}
	c.sim.Join(req.User, req.Channel)
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// mayUse answers 404 unless user may post in (or join) channel: as in
// Slack, a private channel is invisible to those not invited to it.
func (c *Console) mayUse(w http.ResponseWriter, user, channel string) bool {
	ch, ok := c.sim.Channel(channel)
	if !ok || (ch.Private && !slices.Contains(ch.Members, user)) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such channel"})
		return false
	}
	return true
}

// submit sends a modal's values as Slack's view_submission.
func (c *Console) submit(w http.ResponseWriter, r *http.Request) {
	var req struct {
		View   string                       `json:"view"`
		Values map[string]map[string]string `json:"values"`
	}
	if !decode(w, r, &req) {
		return
	}
	reply, err := c.sim.SubmitView(r.Context(), req.View, req.Values)
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
		return
	}
	var resp struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	json.Unmarshal(reply.Payload, &resp)
	writeJSON(w, http.StatusOK, resp)
}

func (c *Console) closeView(w http.ResponseWriter, r *http.Request) {
	var req struct {
		View string `json:"view"`
	}
	if !decode(w, r, &req) {
		return
	}
	c.sim.CloseView(req.View)
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// action sends a button click, or a box ticked, as Slack's block_actions.
func (c *Console) action(w http.ResponseWriter, r *http.Request) {
	var req struct {
		User, Channel, TS, Block, Action, Value string
		Checkbox                                bool // a box ticked or unticked, not a button
	}
	if !decode(w, r, &req) || !c.mayUse(w, req.User, req.Channel) {
		return // a private channel's messages are not there to click for outsiders
	}
	click := func() error {
		_, err := c.sim.ClickButton(r.Context(), req.User, req.Channel, req.TS, req.Block, req.Action, req.Value)
		return err
	}
	if req.Checkbox {
		click = func() error {
			_, err := c.sim.ToggleCheckbox(r.Context(), req.User, req.Channel, req.TS, req.Block, req.Value, nil)
			return err
		}
	}
	if err := click(); err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// conversation does to a message what a person does in Slack: react with
// the pushpin (or take it off), pin it, choose the "Add to incident
// timeline" shortcut, reply in its thread, edit or delete it (their own);
// each reaches the bot as Slack's event or payload.
func (c *Console) conversation(w http.ResponseWriter, r *http.Request) {
	var req struct {
		User, Channel, TS, Do, Text string
	}
	if !decode(w, r, &req) || !c.mayUse(w, req.User, req.Channel) {
		return
	}
	var err error
	switch req.Do {
	case "reply":
		if strings.TrimSpace(req.Text) == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "empty reply"})
			return
		}
		_, err = c.sim.PostReply(req.User, req.Channel, req.TS, req.Text)
	case "edit", "delete":
		if req.Do == "edit" && strings.TrimSpace(req.Text) == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "to delete the message, use Delete"})
			return
		}
		if req.Do == "delete" {
			req.Text = ""
		}
		err = c.sim.Edit(r.Context(), req.User, req.Channel, req.TS, req.Text)
	case "pushpin", "unpushpin":
		err = c.sim.React(r.Context(), req.User, req.Channel, req.TS, c.emoji, req.Do == "unpushpin")
	case "pin":
		err = c.sim.PinBy(r.Context(), req.User, req.Channel, req.TS)
	case "shortcut":
		_, err = c.sim.Shortcut(r.Context(), req.User, req.Channel, req.TS, ShortcutCallback)
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "do is pushpin, unpushpin, pin, shortcut, reply, edit or delete"})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// ShortcutCallback is warroom's message shortcut (bot.ShortcutCallback).
const ShortcutCallback = "warroom_add_to_timeline"

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad request: " + err.Error()})
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
