package sandbox

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/warroom/warroom/slacksim"
)

// TestConsoleShowsPeopleOnlyWhatTheyMaySee: a private channel and an
// ephemeral message are invisible to everyone they are not meant for.
func TestConsoleShowsPeopleOnlyWhatTheyMaySee(t *testing.T) {
	sim, err := slacksim.New(slacksim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	alice := sim.AddUser("alice")
	secret := sim.AddChannel("secret-room", true) // everyone there now is a member
	srv := httptest.NewServer(NewConsole(sim, nil, slog.New(slog.NewTextHandler(io.Discard, nil))))
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	carol := sim.AddUser("carol") // joined after the channel was made: not a member
	if _, body := get("/api/workspace?user=" + carol); strings.Contains(body, "secret-room") {
		t.Errorf("carol sees a private channel she is not in")
	}
	if code, _ := get("/api/messages?user=" + carol + "&channel=" + secret); code != 404 {
		t.Errorf("carol reads a private channel: %d", code)
	}
	if _, body := get("/api/workspace?user=" + alice); !strings.Contains(body, "secret-room") {
		t.Errorf("alice does not see her private channel")
	}
	if code, body := get("/"); code != 200 || !strings.Contains(body, "warroom sandbox") {
		t.Errorf("index: %d", code)
	}
	resp, _ := http.Get(srv.URL + "/")
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	resp.Body.Close()
}

// TestButtonClickIsSlacksBlockActions checks the payload a console click
// sends: signed, form-encoded, with the fields Slack's block_actions has.
func TestButtonClickIsSlacksBlockActions(t *testing.T) {
	got := make(chan map[string]any, 1)
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Slack-Signature") != slacksim.Sign("s3cret", atoi(r.Header.Get("X-Slack-Request-Timestamp")), body) {
			t.Error("unsigned delivery")
		}
		form, _ := url.ParseQuery(string(body))
		var p map[string]any
		json.Unmarshal([]byte(form.Get("payload")), &p)
		got <- p
	}))
	defer bot.Close()
	sim, _ := slacksim.New(slacksim.Options{SigningSecret: "s3cret", BotURL: bot.URL})
	defer sim.Close()
	alice := sim.AddUser("alice")
	general, _ := sim.ChannelByNameID("general")
	m, _ := sim.PostAs(alice, general, "hello")
	if _, err := sim.ClickButton(context.Background(), alice, general, m.TS, "b1", "snooze", "15"); err != nil {
		t.Fatal(err)
	}
	p := <-got
	actions, _ := p["actions"].([]any)
	if p["type"] != "block_actions" || len(actions) != 1 || p["trigger_id"] == "" || p["response_url"] == "" {
		t.Fatalf("payload: %v", p)
	}
	a := actions[0].(map[string]any)
	if a["action_id"] != "snooze" || a["value"] != "15" || a["block_id"] != "b1" {
		t.Errorf("action: %v", a)
	}
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
