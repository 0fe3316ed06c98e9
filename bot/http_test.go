package bot

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/commands"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/slacksim"
)

// These requests must be refused before anything reads the command, so the
// service behind the handler is never reached (its store is nil).
func TestHTTPRefusesBeforeDispatch(t *testing.T) {
	b := New(Options{Dispatcher: &commands.Dispatcher{Service: incident.NewService(nil, nil)}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	h := NewHTTPHandler(b, "secret")
	post := func(path, body string, header map[string]string) int {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		for k, v := range header {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	now := time.Now().Unix()
	signed := func(secret string, ts int64, body string) map[string]string {
		return map[string]string{"X-Slack-Request-Timestamp": strconv.FormatInt(ts, 10), "X-Slack-Signature": slacksim.Sign(secret, ts, []byte(body))}
	}
	cases := []struct {
		name, path, body string
		header           map[string]string
		want             int
	}{
		{"no headers", "/slack/commands", "text=x", nil, 401},
		{"malformed signature", "/slack/commands", "text=x", map[string]string{"X-Slack-Request-Timestamp": strconv.FormatInt(now, 10), "X-Slack-Signature": "v0=zz"}, 401},
		{"no v0 prefix", "/slack/commands", "text=x", map[string]string{"X-Slack-Request-Timestamp": strconv.FormatInt(now, 10), "X-Slack-Signature": "abc"}, 401},
		{"body changed after signing", "/slack/commands", "text=y", signed("secret", now, "text=x"), 401},
		{"too large", "/slack/commands", strings.Repeat("a", maxBody+1), signed("secret", now, strings.Repeat("a", maxBody+1)), 413},
		{"signed but no user", "/slack/commands", "text=x", signed("secret", now, "text=x"), 400},
		{"unknown path", "/slack/other", "", nil, 404},
	}
	for _, tc := range cases {
		if got := post(tc.path, tc.body, tc.header); got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
	}
	// A replay with the signature's hex digits in upper case is still a replay.
	sig := signed("secret", now, "text=z")
	if got := post("/slack/commands", "text=z", sig); got != 400 {
		t.Fatalf("first delivery: %d", got)
	}
	sig["X-Slack-Signature"] = "v0=" + strings.ToUpper(strings.TrimPrefix(sig["X-Slack-Signature"], "v0="))
	if got := post("/slack/commands", "text=z", sig); got != 401 {
		t.Errorf("a replay in upper-case hex: %d, want 401", got)
	}
	req := httptest.NewRequest(http.MethodGet, "/slack/commands", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", rec.Code)
	}
}

func TestSeenExpires(t *testing.T) {
	s := newSeen(time.Minute)
	now := time.Unix(1000, 0)
	s.now = func() time.Time { return now }
	if !s.first("a") || s.first("a") {
		t.Fatal("a key is new once")
	}
	now = now.Add(2 * time.Minute)
	if !s.first("a") {
		t.Fatal("an expired key is new again")
	}
}

// Old keys are forgotten as time passes, without sweeping the rest: the
// memory holds one window of keys however long the load lasts.
func TestSeenForgetsOldKeysInOrder(t *testing.T) {
	s := newSeen(time.Minute)
	now := time.Unix(1000, 0)
	s.now = func() time.Time { return now }
	for i := range 100_000 { // ten minutes at about 166 keys a second
		now = now.Add(6 * time.Millisecond)
		if !s.first(strconv.Itoa(i)) {
			t.Fatalf("key %d seen before", i)
		}
		if i == 99_990 && s.first(strconv.Itoa(99_000)) {
			t.Fatal("a key inside the window was forgotten")
		}
	}
	if n := s.size(); n > 10_001 || n < 9_900 {
		t.Fatalf("%d keys remembered, want one minute's (10,000)", n)
	}
	if len(s.queue)-s.head != s.size() {
		t.Fatalf("queue %d, map %d", len(s.queue)-s.head, s.size())
	}
}

// BenchmarkSeen measures the replay guard with a full window of keys
// (six minutes at 2,000 requests a second).
func BenchmarkSeen(b *testing.B) {
	s := newSeen(6 * time.Minute)
	now := time.Unix(1000, 0)
	s.now = func() time.Time { return now }
	for i := range 720_000 {
		now = now.Add(500 * time.Microsecond)
		s.first("v0=" + strconv.Itoa(i))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now = now.Add(500 * time.Microsecond)
		s.first("v0=new" + strconv.Itoa(i))
	}
}
