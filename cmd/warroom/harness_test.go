package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/internal/mrkdwn"
	"github.com/warroom/warroom/internal/pgtest"
	"github.com/warroom/warroom/slacksim"
	"github.com/warroom/warroom/store"
)

const testSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// world is a running warroom serve, wired to a simulated workspace.
type world struct {
	t        *testing.T
	sim      *slacksim.Server
	mode     string
	addr     string // the public listener: Slack, PagerDuty, /healthz
	admin    string // the internal listener: drafts, /metrics
	env      map[string]string
	users    map[string]string // name -> user ID
	general  string
	announce string
	log      *syncBuffer
	stop     context.CancelFunc
	exited   chan int
}

// start runs `warroom serve` in this process, exactly as main does, with
// the Slack API pointed at a fresh simulator. mode is "http" or "socket".
func start(t *testing.T, mode string, settings ...string) *world {
	t.Helper()
	sim, err := slacksim.New(slacksim.Options{SigningSecret: testSecret, PingInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, sim: sim, mode: mode, users: map[string]string{}, log: &syncBuffer{}, exited: make(chan int, 1)}
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		w.users[name] = sim.AddUser(name)
	}
	w.general, _ = sim.ChannelByNameID("general")
	w.announce = sim.AddChannel("announcements", false)
	w.addr, w.admin = freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	w.env = map[string]string{
		"SLACK_BOT_TOKEN":          slacksim.BotToken,
		"SLACK_API_URL":            sim.APIURL(),
		"WARROOM_DB":               filepath.Join(dir, "warroom.db"),
		"WARROOM_ADDR":             w.addr,
		"WARROOM_ANNOUNCE_CHANNEL": w.announce,
		"WARROOM_LOG_LEVEL":        "debug",
		"WARROOM_STATUS_ADDR":      freeAddr(t),
		"WARROOM_ADMIN_ADDR":       w.admin,
		"WARROOM_ADMIN_URL":        "http://" + w.admin,
	}
	// WARROOM_TEST_STORE=postgres runs the end-to-end tests on a fresh
	// PostgreSQL database each (see docs/testing.md); the default suite
	// runs them on SQLite and a chosen few on PostgreSQL (postgres_test.go).
	if onPostgres(t) {
		w.env["WARROOM_DB"] = pgtest.Shared(t).NewDB(t)
	}
	for _, kv := range settings {
		k, v, _ := strings.Cut(kv, "=")
		w.env[k] = v
	}
	switch mode {
	case "http":
		w.env["SLACK_SIGNING_SECRET"] = testSecret
		sim.SetBotURL("http://" + w.addr)
	case "socket":
		ca := filepath.Join(dir, "sim-ca.pem")
		if err := os.WriteFile(ca, sim.SocketCACertPEM(), 0o600); err != nil {
			t.Fatal(err)
		}
		w.env["SLACK_APP_TOKEN"] = slacksim.AppToken
		w.env["SLACK_CA_FILE"] = ca
		w.env["WARROOM_ANNOUNCE_CHANNEL"] = "#announcements" // a name works as well as an ID
	}
	w.serve()
	t.Cleanup(func() {
		w.shutdown()
		sim.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", w.log.String())
		}
	})
	w.eventually("the server answers /healthz", func() bool {
		resp, err := http.Get("http://" + w.addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if mode == "socket" {
		w.eventually("the bot connects over Socket Mode", func() bool { return sim.Connected() > 0 })
	}
	return w
}

func (w *world) getenv(k string) string { return w.env[k] }

// serve starts `warroom serve` with the world's settings.
func (w *world) serve() {
	ctx, cancel := context.WithCancel(context.Background())
	w.stop = cancel
	go func() { w.exited <- run(ctx, []string{"serve"}, nil, &syncBuffer{}, w.log, w.getenv) }()
}

// restart stops serve as SIGTERM does and starts it again on the same
// database and workspace, as after a deploy or a crash-restart.
func (w *world) restart() {
	w.t.Helper()
	if code := w.shutdown(); code != 0 {
		w.t.Fatalf("serve exited %d at the restart", code)
	}
	w.serve()
	w.eventually("the server answers /healthz again", func() bool {
		resp, err := http.Get("http://" + w.addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// shutdown stops serve the way SIGTERM does and returns its exit status.
func (w *world) shutdown() int {
	if w.stop == nil {
		return -1
	}
	w.stop()
	w.stop = nil
	select {
	case code := <-w.exited:
		return code
	case <-time.After(30 * time.Second):
		w.t.Error("serve did not stop within 30s of its context ending")
		return -1
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	// A port picked with ":0" and closed again can be handed by the kernel
	// to the next ":0" listener (an httptest server, the simulator) or an
	// outgoing connection before warroom binds it. So pick below Linux's
	// ephemeral range (32768+), and never the same port twice in a run.
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 1000 {
		port := 20000 + rand.IntN(12000)
		if portsTaken[port] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		l.Close()
		portsTaken[port] = true
		return l.Addr().String()
	}
	t.Fatal("no free port between 20000 and 32000")
	return ""
}

var (
	portsMu    sync.Mutex
	portsTaken = map[int]bool{}
)

// eventually polls cond for up to 15 s; Slack work happens in the background.
func (w *world) eventually(what string, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.t.Fatalf("timed out waiting until %s", what)
}

// cmd types "/incident text" as user in channel and returns the immediate reply.
func (w *world) cmd(user, channel, text string) string {
	w.t.Helper()
	r, err := w.sim.SlashCommand(context.Background(), w.users[user], channel, text)
	if err != nil {
		w.t.Fatalf("/incident %s: %v", text, err)
	}
	if r.Latency > 3*time.Second {
		w.t.Errorf("/incident %s: acknowledged after %v, past Slack's 3 s", text, r.Latency)
	}
	return mrkdwn.Unescape(r.Text) // as Slack shows it
}

// at is the mention Slack puts in command text when a user picks @name.
func (w *world) at(name string) string { return fmt.Sprintf("<@%s|%s>", w.users[name], name) }

// show runs `warroom incidents show <ref> --json` against the same database.
func (w *world) show(ref string) incidentJSON {
	w.t.Helper()
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"incidents", "show", ref, "--json"}, nil, &out, &errb, w.getenv); code != 0 {
		w.t.Fatalf("incidents show %s: exit %d: %s", ref, code, errb.String())
	}
	var inc incidentJSON
	if err := json.Unmarshal(out.Bytes(), &inc); err != nil {
		w.t.Fatalf("incidents show %s: %v\n%s", ref, err, out.String())
	}
	return inc
}

// room waits for the war room of ref to exist and returns its channel.
func (w *world) room(ref string) slacksim.Channel {
	w.t.Helper()
	var id string
	w.eventually(ref+" has a war room with a pinned summary", func() bool {
		inc := w.show(ref)
		id = inc.ChannelID
		if id == "" {
			return false
		}
		ch, _ := w.sim.Channel(id)
		return len(ch.Pins) >= 1 // the summary first; the checklist, if any, after it
	})
	ch, _ := w.sim.Channel(id)
	return ch
}

// pinned returns the pinned summary message of a channel.
func (w *world) pinned(channel string) slacksim.Message {
	w.t.Helper()
	ch, _ := w.sim.Channel(channel)
	for _, m := range w.sim.Messages(channel) {
		if len(ch.Pins) > 0 && m.TS == ch.Pins[0] {
			return m
		}
	}
	w.t.Fatalf("channel %s has no pinned message", channel)
	return slacksim.Message{}
}

// posted reports whether a visible message in channel contains all parts.
func (w *world) posted(channel string, parts ...string) bool {
	for _, m := range w.sim.Messages(channel) {
		if m.Ephemeral {
			continue
		}
		text := mrkdwn.Unescape(m.Text + string(m.Blocks)) // as Slack shows it
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(text, p)
		}
		if ok {
			return true
		}
	}
	return false
}

// countPosts counts the posts in channel whose text contains part.
func (w *world) countPosts(channel, part string) int {
	n := 0
	for _, m := range w.sim.Messages(channel) {
		// Posts to one room close together share a message (the outbox's
		// pace), so count the posts, not the messages.
		n += strings.Count(m.Text, part)
	}
	return n
}

// ephemeral reports whether user was privately shown a text with all parts.
func (w *world) ephemeral(user string, parts ...string) bool {
	for _, m := range w.sim.Ephemerals(w.users[user]) {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(mrkdwn.Unescape(m.Text), p)
		}
		if ok {
			return true
		}
	}
	return false
}

// publish has user open the update preview in room and publish body as
// status, as the communicator does: when the comms lint holds the update
// back with warnings, they press Publish again, unchanged. It returns the
// bot's last answer to the submission (empty when the preview closed).
func (w *world) publish(user, room, status, body string) string {
	w.t.Helper()
	n := len(w.sim.Views())
	w.cmd(user, room, "update "+status)
	views := w.sim.Views()
	if len(views) != n+1 {
		w.t.Fatalf("/incident update %s by %s opened no preview", status, user)
	}
	return w.submitUpdate(views[n].ID, status, "", body)
}

// submitUpdate presses Publish in an open update preview with the given
// status, public title ("" keeps the one drafted) and text, and once more
// if the lint holds it back, as a communicator who read the warnings does.
func (w *world) submitUpdate(view, status, title, body string) string {
	w.t.Helper()
	values := map[string]map[string]string{"update_status": {"update_status": status}, "update_body": {"update_body": body}}
	if title == "" {
		title = draftedTitle(w.viewBody(view))
	}
	values["update_title"] = map[string]string{"update_title": title}
	var r slacksim.Reply
	for press := 0; press < 2; press++ {
		var err error
		if r, err = w.sim.SubmitView(context.Background(), view, values); err != nil {
			w.t.Fatalf("publishing: %v", err)
		}
		if !strings.Contains(string(r.Payload), `"response_action":"update"`) {
			break
		}
	}
	return strings.TrimSpace(string(r.Payload))
}

// nextBy is the promise a public update ends with, d from now: warroom
// holds the next update to the time the text names.
func nextBy(d time.Duration) string {
	return "Next update by " + time.Now().Add(d).UTC().Format("15:04 UTC")
}

// viewBody is a modal's view as the bot last sent it.
func (w *world) viewBody(id string) string {
	for _, v := range w.sim.Views() {
		if v.ID == id {
			return string(v.Body)
		}
	}
	w.t.Fatalf("no view %s", id)
	return ""
}

// draftedTitle is the public title an update preview was opened with.
func draftedTitle(view string) string {
	var v struct {
		Blocks []struct {
			BlockID string `json:"block_id"`
			Element struct {
				InitialValue string `json:"initial_value"`
			} `json:"element"`
		} `json:"blocks"`
	}
	json.Unmarshal([]byte(view), &v)
	for _, b := range v.Blocks {
		if b.BlockID == "update_title" {
			return b.Element.InitialValue
		}
	}
	return ""
}

// readDB opens the world's database to read, SQLite or PostgreSQL, and
// returns the SQL that reads a text field of a JSON column in it.
func (w *world) readDB() (*sql.DB, func(col, key string) string) {
	w.t.Helper()
	dsn := w.env["WARROOM_DB"]
	driver, name := "sqlite", "file:"+dsn+"?mode=ro"
	jsonText := func(col, key string) string { return "json_extract(" + col + ", '$." + key + "')" }
	if store.IsPostgres(dsn) {
		driver, name = "pgx", dsn
		jsonText = func(col, key string) string { return "CAST(" + col + " AS json)->>'" + key + "'" }
	}
	db, err := sql.Open(driver, name)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { db.Close() })
	return db, jsonText
}
