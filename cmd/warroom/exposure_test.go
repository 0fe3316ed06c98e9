package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// get fetches url with an optional Host header and bearer token.
func get(t *testing.T, url, host, token string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if host != "" {
		req.Host = host
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestPublicListenerServesNothingInternal: in HTTP mode the listener Slack
// must reach serves only Slack, PagerDuty and /healthz. The drafts and
// /metrics are on the internal listener, which refuses a foreign Host
// (DNS rebinding from a page an employee opens) and caches nothing.
func TestPublicListenerServesNothingInternal(t *testing.T) {
	w := start(t, "http", "WARROOM_POSTMORTEM_ON_RESOLVE=true")
	w.cmd("alice", w.general, "declare sev2 Checkout returns 500s")
	room := w.room("INC-1")
	w.cmd("alice", room.ID, "note the db password is hunter2")
	w.cmd("alice", room.ID, "resolve fixed")
	w.eventually("the draft is written", func() bool { return len(w.sim.Files()) == 1 })

	for _, path := range []string{"/incidents/INC-1/postmortem.md", "/incidents/INC-1/postmortem.html", "/incidents/inc-1/postmortem.md",
		"/incidents/INC-01/postmortem.md", "/incidents/1/postmortem.md", "/metrics", "/metrics/", "/debug/pprof/"} {
		resp, body := get(t, "http://"+w.addr+path, "", "")
		if resp.StatusCode != http.StatusNotFound || strings.Contains(body, "hunter2") || strings.Contains(body, "warroom_") {
			t.Errorf("the public listener answers %s with %d: %.120s", path, resp.StatusCode, body)
		}
	}
	if resp, _ := get(t, "http://"+w.addr+"/healthz", "", ""); resp.StatusCode != 200 {
		t.Errorf("/healthz on the public listener: %d", resp.StatusCode)
	}

	internal := "http://" + w.admin
	resp, body := get(t, internal+"/incidents/INC-1/postmortem.md", "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, "hunter2") || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("the internal listener: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	for _, host := range []string{"attacker.example", "attacker.example:" + w.admin[strings.LastIndex(w.admin, ":")+1:], "warroom.internal"} {
		if resp, body := get(t, internal+"/incidents/INC-1/postmortem.md", host, ""); resp.StatusCode != http.StatusMisdirectedRequest || strings.Contains(body, "hunter2") {
			t.Errorf("Host %s (DNS rebinding): %d", host, resp.StatusCode)
		}
	}
	if resp, _ := get(t, internal+"/metrics", "", ""); resp.StatusCode != 200 {
		t.Errorf("/metrics on the internal listener: %d", resp.StatusCode)
	}
	// The link the bot posts with the draft points at the internal listener.
	if !w.posted(room.ID, internal+"/incidents/INC-1/postmortem.html") {
		t.Error("the draft's message does not link the internal listener")
	}
	// The status page cannot be framed or sniffed.
	resp, _ = get(t, "http://"+w.env["WARROOM_STATUS_ADDR"]+"/", "", "")
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("status page headers: %v", resp.Header)
	}
}

// TestInternalListenerBeyondLoopbackNeedsAToken: bound beyond loopback,
// the internal listener will not start without WARROOM_ADMIN_TOKEN, and
// with it refuses a request without the token.
func TestInternalListenerBeyondLoopbackNeedsAToken(t *testing.T) {
	open := "0.0.0.0:" + strings.Split(freeAddr(t), ":")[1]
	env := map[string]string{"SLACK_BOT_TOKEN": "xoxb-x", "SLACK_SIGNING_SECRET": "s", "WARROOM_DB": filepath.Join(t.TempDir(), "w.db"), "WARROOM_ADMIN_ADDR": open}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"serve"}, nil, &out, &errb, func(k string) string { return env[k] }); code == 0 ||
		!strings.Contains(errb.String(), "WARROOM_ADMIN_TOKEN") {
		t.Fatalf("serve with an open internal listener and no token: %d %s", code, errb.String())
	}
	w := start(t, "http", "WARROOM_ADMIN_TOKEN=s3cret-admin")
	w.cmd("alice", w.general, "declare sev3 x")
	for token, want := range map[string]int{"": 401, "wrong": 401, "s3cret-admin": 200} {
		if resp, _ := get(t, "http://"+w.admin+"/metrics", "", token); resp.StatusCode != want {
			t.Errorf("token %q: %d, want %d", token, resp.StatusCode, want)
		}
	}
	// With a metrics token too, the scraper uses it for /metrics and
	// nothing else; the admin token still opens the drafts.
	w = start(t, "http", "WARROOM_ADMIN_TOKEN=s3cret-admin", "WARROOM_METRICS_TOKEN=s3cret-scrape")
	w.cmd("alice", w.general, "declare sev3 x")
	w.cmd("alice", w.room("INC-1").ID, "postmortem")
	for _, tc := range []struct {
		path, token string
		want        int
	}{
		{"/metrics", "s3cret-scrape", 200}, {"/metrics", "", 401}, {"/metrics", "s3cret-admin", 401},
		{"/incidents/INC-1/postmortem.md", "s3cret-scrape", 401}, {"/incidents/INC-1/postmortem.md", "s3cret-admin", 200},
		// Go's profiler is the team's too: the admin token, not the scraper's.
		{"/debug/pprof/", "", 401}, {"/debug/pprof/", "s3cret-scrape", 401}, {"/debug/pprof/", "s3cret-admin", 200},
	} {
		if resp, _ := get(t, "http://"+w.admin+tc.path, "", tc.token); resp.StatusCode != tc.want {
			t.Errorf("%s with %q: %d, want %d", tc.path, tc.token, resp.StatusCode, tc.want)
		}
	}
}

// TestLinksFollowTheListeners: with no WARROOM_ADMIN_URL, the draft links
// name the port the internal listener really uses, and it does not answer
// to the default port's name (the review's serve on 18182 linked 8082).
func TestLinksFollowTheListeners(t *testing.T) {
	w := start(t, "http", "WARROOM_ADMIN_URL=", "WARROOM_POSTMORTEM_ON_RESOLVE=true")
	w.cmd("alice", w.general, "declare sev3 Links")
	room := w.room("INC-1").ID
	w.cmd("alice", room, "resolve done")
	w.eventually("the draft links the internal listener's real port", func() bool {
		return w.posted(room, "http://"+w.admin+"/incidents/INC-1/postmortem.html")
	})
	if resp, _ := get(t, "http://"+w.admin+"/metrics", "127.0.0.1:8082", ""); resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("Host 127.0.0.1:8082 on a listener at %s: %d", w.admin, resp.StatusCode)
	}
	if got := listenURL("0.0.0.0:9090"); got != "http://localhost:9090" {
		t.Errorf("listenURL(0.0.0.0:9090) = %s", got)
	}
}
