package pagerduty

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/warroom/warroom/incident"
)

func TestWebhookHandler(t *testing.T) {
	var got []incident.Alert
	fail := false
	h := &WebhookHandler{Secret: "s", Log: slog.New(slog.NewTextHandler(io.Discard, nil)), OnAlert: func(_ context.Context, a incident.Alert) error {
		if fail {
			return errors.New("database down")
		}
		got = append(got, a)
		return nil
	}}
	send := func(body, secret string) int {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(body))
		req := httptest.NewRequest(http.MethodPost, "/webhooks/pagerduty", strings.NewReader(body))
		req.Header.Set("X-PagerDuty-Signature", "v1=deadbeef,v1="+hex.EncodeToString(mac.Sum(nil)))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	triggered := `{"event":{"id":"E1","event_type":"incident.triggered","occurred_at":"2026-11-25T10:00:00Z","data":{"id":"Q1","title":" Disk full ","html_url":"https://x/incidents/Q1","service":{"id":"S1","summary":"DB"}}}}`
	cases := []struct {
		name, body, secret string
		want               int
	}{
		{"triggered", triggered, "s", 204},
		{"wrong secret", triggered, "t", 401},
		{"ping", `{"event":{"id":"E2","event_type":"pagey.ping","data":{}}}`, "s", 204},
		{"not json", `nope`, "s", 400},
		{"no event id", `{"event":{"event_type":"incident.triggered"}}`, "s", 400},
	}
	for _, c := range cases {
		if code := send(c.body, c.secret); code != c.want {
			t.Errorf("%s: %d, want %d", c.name, code, c.want)
		}
	}
	if len(got) != 1 {
		t.Fatalf("alerts: %+v", got)
	}
	a := got[0]
	if a.EventID != "E1" || a.Event != "triggered" || a.ExternalID != "Q1" || a.Service != "S1" || a.ServiceName != "DB" || a.Title != "Disk full" || a.At.IsZero() {
		t.Errorf("alert: %+v", a)
	}
	fail = true
	if code := send(triggered, "s"); code != 500 {
		t.Errorf("a failure must ask PagerDuty to redeliver: %d", code)
	}
}
