package sandbox

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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
	cons := NewConsole(sim, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(cons)
	defer srv.Close()
	get := func(path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set(TokenHeader, cons.Token())
		resp, err := http.DefaultClient.Do(req)
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
	post := func(path, body string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(TokenHeader, cons.Token())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/api/join", `{"user":"`+carol+`","channel":"`+secret+`"}`); code != 404 {
		t.Errorf("carol joins a private channel uninvited: %d", code)
	}
	if code := post("/api/message", `{"user":"`+carol+`","channel":"`+secret+`","text":"hi"}`); code != 404 {
		t.Errorf("carol posts in a private channel she is not in: %d", code)
	}
	if ch, _ := sim.Channel(secret); slices.Contains(ch.Members, carol) {
		t.Errorf("carol became a member")
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

// TestConsoleAnswersOnlyItsOwnPage replays the review's attacks on the
// console: another site's page posting a command as text/plain, a page that
// rebinds its own name to the console's address, a script reading a private
// room without the page's token, and forty live-update streams.
func TestConsoleAnswersOnlyItsOwnPage(t *testing.T) {
	delivered := make(chan string, 10)
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		delivered <- string(body)
		io.WriteString(w, "ok")
	}))
	defer bot.Close()
	sim, _ := slacksim.New(slacksim.Options{SigningSecret: "s3cret", BotURL: bot.URL})
	defer sim.Close()
	alice := sim.AddUser("alice")
	room := sim.AddChannel("inc-1-secret", true)
	general, _ := sim.ChannelByNameID("general")
	cons := NewConsole(sim, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(cons)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	do := func(method, path, body string, h map[string]string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		for k, v := range h {
			if k == "Host" {
				req.Host = v
			} else {
				req.Header.Set(k, v)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	declare := `{"user":"` + alice + `","channel":"` + general + `","text":"/incident declare sev1 forged"}`
	for _, tc := range []struct {
		name string
		path string
		body string
		h    map[string]string
		want int
	}{
		{"a cross-site text/plain POST (no preflight)", "/api/command", declare, map[string]string{"Content-Type": "text/plain", "Origin": "http://evil.example"}, 403},
		{"text/plain with the token", "/api/command", declare, map[string]string{"Content-Type": "text/plain", TokenHeader: cons.Token()}, 415},
		{"a form post", "/api/command", "user=" + alice, map[string]string{"Content-Type": "application/x-www-form-urlencoded", TokenHeader: cons.Token()}, 415},
		{"JSON without the token", "/api/command", declare, map[string]string{"Content-Type": "application/json"}, 403},
		{"JSON with a wrong token", "/api/command", declare, map[string]string{"Content-Type": "application/json", TokenHeader: strings.Repeat("0", 32)}, 403},
		{"another origin, token and all", "/api/command", declare, map[string]string{"Content-Type": "application/json", TokenHeader: cons.Token(), "Origin": "http://evil.example"}, 403},
		{"a same-site sibling", "/api/command", declare, map[string]string{"Content-Type": "application/json", TokenHeader: cons.Token(), "Sec-Fetch-Site": "same-site"}, 403},
		{"a rebound name", "/api/command", declare, map[string]string{"Content-Type": "application/json", TokenHeader: cons.Token(), "Host": "evil.example:" + strings.Split(host, ":")[1]}, 421},
	} {
		if code, body := do("POST", tc.path, tc.body, tc.h); code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, code, body, tc.want)
		}
	}
	select {
	case d := <-delivered:
		t.Fatalf("a refused request reached the bot: %s", d)
	default:
	}
	// The rebound name cannot even load the page, so it never learns the token.
	if code, body := do("GET", "/", "", map[string]string{"Host": "evil.example"}); code != 421 || strings.Contains(body, cons.Token()) {
		t.Errorf("the page under a rebound name: %d", code)
	}
	// Reading a private room: refused without the token, allowed with it.
	if code, _ := do("GET", "/api/messages?user="+alice+"&channel="+room, "", nil); code != 403 {
		t.Errorf("a private room without the token: %d", code)
	}
	if code, _ := do("GET", "/api/messages?user="+alice+"&channel="+room, "", map[string]string{TokenHeader: cons.Token(), "Host": "localhost:1"}); code != 200 {
		t.Errorf("the console's own page: %d", code)
	}
	// The page itself carries the token, and only this run's.
	if _, body := do("GET", "/", "", nil); !strings.Contains(body, `<meta name="warroom-token" content="`+cons.Token()+`">`) {
		t.Errorf("the page lacks its token")
	}
	if other := NewConsole(sim, nil, slog.New(slog.NewTextHandler(io.Discard, nil))); other.Token() == cons.Token() {
		t.Errorf("two runs share a token")
	}
	// The real thing still works.
	if code, body := do("POST", "/api/command", declare, map[string]string{"Content-Type": "application/json; charset=utf-8", TokenHeader: cons.Token(), "Origin": srv.URL, "Sec-Fetch-Site": "same-origin"}); code != 200 {
		t.Fatalf("the console's own command: %d %s", code, body)
	}
	if d := <-delivered; !strings.Contains(d, "forged") {
		t.Errorf("delivered %q", d)
	}

	// Live-update streams are capped; a closed one frees its slot.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func(ctx context.Context) *http.Response {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/events?token="+cons.Token(), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	first, closeFirst := context.WithCancel(ctx)
	defer closeFirst()
	for i := 0; i < MaxStreams; i++ {
		sctx := ctx
		if i == 0 {
			sctx = first
		}
		if resp := open(sctx); resp.StatusCode != 200 {
			t.Fatalf("stream %d: %d", i+1, resp.StatusCode)
		}
	}
	resp := open(ctx)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("stream %d: %d, want 503 with Retry-After", MaxStreams+1, resp.StatusCode)
	}
	resp.Body.Close()
	closeFirst()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp := open(ctx)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a closed stream never freed its slot: %d", resp.StatusCode)
		}
	}
}
