package bot

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/warroom/warroom/commands"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/slacksim"
	"github.com/warroom/warroom/store"
)

// FuzzVerify: a request is accepted only when its signature is the
// signing secret's HMAC of that timestamp and body, and the timestamp is
// recent. Anything else a fuzzer makes up is refused, never panics.
func FuzzVerify(f *testing.F) {
	now := time.Now().Unix()
	f.Add(strconv.FormatInt(now, 10), "v0=00", []byte("text=x"))
	f.Add("not-a-number", "", []byte{})
	f.Add(strconv.FormatInt(now, 10), slacksim.Sign("secret", now, []byte("a")), []byte("b"))
	f.Add("-99999999999999999999", "v0=\u202e", []byte("\x00\xff"))
	h := NewHTTPHandler(New(Options{Dispatcher: &commands.Dispatcher{Service: incident.NewService(nil, nil)}, Log: slog.New(slog.DiscardHandler)}), "secret")
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		header := http.Header{}
		header.Set("X-Slack-Request-Timestamp", ts)
		header.Set("X-Slack-Signature", sig)
		err := h.verify(context.Background(), header, body)
		n, perr := strconv.ParseInt(ts, 10, 64)
		// Hex digits in either case are the same signature.
		genuine := perr == nil && strings.EqualFold(sig, slacksim.Sign("secret", n, body)) && time.Since(time.Unix(n, 0)).Abs() < 5*time.Minute
		if err == nil && !genuine {
			t.Fatalf("accepted a forged request: ts=%q sig=%q body=%q", ts, sig, body)
		}
	})
}

// FuzzSignedPayloads sends correctly signed slash commands, interactions
// and events with made-up bodies through the real handler, dispatcher and
// SQLite store: whatever the body, the answer is a status code, never a
// panic or a hang.
func FuzzSignedPayloads(f *testing.F) {
	f.Add(uint8(0), "user_id=U1&channel_id=C1&text=declare+sev1+db+down")
	f.Add(uint8(0), "user_id=U1&channel_id=C1&text=INC-1+action+add+x+%3C%40U2%3E+p1+due%3A2099-01-01")
	f.Add(uint8(0), "user_id=U1&channel_id=C1&text=%E2%80%AE%00")
	f.Add(uint8(1), `payload={"type":"block_actions","user":{"id":"U1"},"actions":[{"action_id":"snooze","value":"INC-1"}]}`)
	f.Add(uint8(1), `payload={"type":"view_submission","user":{"id":"U1"},"view":{"callback_id":"declare","state":{"values":{}}}}`)
	f.Add(uint8(2), `{"type":"url_verification","challenge":"abc"}`)
	f.Add(uint8(2), `{"type":"event_callback","event_id":"Ev1","event":{"type":"member_joined_channel","user":"U1","channel":"C1"}}`)
	f.Add(uint8(2), `{"type":"event_callback","event":null}`)
	sim, err := slacksim.New(slacksim.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer sim.Close()
	db, err := store.Open(context.Background(), filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	svc := incident.NewService(db, nil)
	api := slack.New(slacksim.BotToken, slack.OptionAPIURL(sim.APIURL()))
	b := New(Options{API: api, Dispatcher: &commands.Dispatcher{Service: svc}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	h := NewHTTPHandler(b, "secret")
	paths := []string{"/slack/commands", "/slack/interactions", "/slack/events"}
	var seq atomic.Int64
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		path := paths[int(which)%len(paths)]
		// A fresh timestamp each time, so the replay guard does not refuse a repeat.
		ts := time.Now().Unix() - seq.Add(1)%200
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		slacksim.SignRequest(req, "secret", ts, []byte(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 401, 413:
		default:
			t.Fatalf("%s %q: status %d %s", path, body, rec.Code, rec.Body)
		}
	})
}
