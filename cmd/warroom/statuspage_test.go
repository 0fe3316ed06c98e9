package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// publishOne runs an incident to a published update and returns the world.
func publishOne(t *testing.T) (*world, string) {
	w := start(t, "http", "WARROOM_STATUS_COMPONENTS=Checkout,Payments,Login")
	w.cmd("alice", w.general, "declare sev2 Checkout returns 500s")
	room := w.room("INC-1")
	w.cmd("alice", room.ID, "communicator "+w.at("carol"))
	w.cmd("carol", room.ID, "components checkout=partial_outage")
	w.cmd("carol", room.ID, "note internal-only: suspect the 14:00 deploy by bob")
	w.publish("carol", room.ID, "investigating", "We are investigating failed payments on checkout.\n\n"+nextBy(30*time.Minute)+".")
	return w, "http://" + w.env["WARROOM_STATUS_ADDR"]
}

func fetch(t *testing.T, url string) string {
	t.Helper()
	resp, body := get(t, url, "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	return body
}

// TestStatusPageShowsPublishedUpdates: what the communicator publishes in
// Slack appears on the status page, its JSON and its feed; internal notes
// never do; the static export writes the same page.
func TestStatusPageShowsPublishedUpdates(t *testing.T) {
	w, base := publishOne(t)
	var html string
	w.eventually("the page shows the update", func() bool {
		html = fetch(t, base+"/")
		return strings.Contains(html, "We are investigating failed payments on checkout.")
	})
	for _, want := range []string{"Partial System Outage", "Checkout returns 500s", "Partial outage", "Payments", "Login"} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, path := range []string{"/", "/api/v2/summary.json", "/api/v2/incidents.json", "/history.atom"} {
		if body := fetch(t, base+path); strings.Contains(body, "internal-only") || strings.Contains(body, "bob") {
			t.Errorf("%s leaks the internal note", path)
		}
	}
	if s := fetch(t, base+"/api/v2/summary.json"); !strings.Contains(s, `"indicator": "major"`) || !strings.Contains(s, `"status": "investigating"`) {
		t.Errorf("summary.json: %s", s)
	}
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"statuspage", "export", dir}, nil, &out, &errb, w.getenv); code != 0 {
		t.Fatalf("export: %d %s", code, errb.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil || !strings.Contains(string(b), "We are investigating failed payments on checkout.") {
		t.Fatalf("exported page: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "api", "v2", "summary.json")); err != nil {
		t.Error(err)
	}
}

// TestStatusPageInBrowser opens the status page in headless Chromium and
// checks the active incident and its update are visible.
func TestStatusPageInBrowser(t *testing.T) {
	exe := chromium(t)
	_, base := publishOne(t)
	dir := t.TempDir()
	tctx := browser(t, exe, dir, 1000, 900)
	var text string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if err := chromedp.Do(tctx, chromedp.Navigate(base+"/")); err != nil {
			t.Fatal(err)
		}
		var err error
		if text, err = chromedp.Run(tctx, chromedp.Evaluate[string](`document.body.innerText`)); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(text, "We are investigating failed payments on checkout.") {
			break
		}
	}
	for _, want := range []string{"Partial System Outage", "Active incidents", "Checkout returns 500s", "We are investigating failed payments on checkout.", "Checkout", "Partial outage"} {
		if !strings.Contains(text, want) {
			t.Errorf("the status page does not show %q:\n%s", want, text)
		}
	}
	shot, err := chromedp.Run(tctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "statuspage.png")
	if *updateScreenshot {
		path = filepath.Join("..", "..", "docs", "statuspage.png")
	}
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPublishesToAtlassianStatuspage: with STATUSPAGE_* set, a published
// update also creates the incident on Statuspage, with the API key as an
// OAuth header and the exact text.
func TestPublishesToAtlassianStatuspage(t *testing.T) {
	type req struct {
		method, path, auth string
		body               map[string]map[string]any
	}
	got := make(chan req, 10)
	sp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		got <- req{r.Method, r.URL.Path, r.Header.Get("Authorization"), body}
		if r.Method == http.MethodGet {
			io.WriteString(w, `[{"id":"cmp1","name":"Checkout"}]`)
			return
		}
		io.WriteString(w, `{"id":"sp9"}`)
	}))
	defer sp.Close()
	w := start(t, "http", "STATUSPAGE_API_KEY=sekret", "STATUSPAGE_PAGE_ID=page1", "STATUSPAGE_API_URL="+sp.URL)
	w.cmd("alice", w.general, "declare sev2 Checkout returns 500s")
	room := w.room("INC-1")
	w.cmd("alice", room.ID, "communicator "+w.at("carol"))
	w.cmd("carol", room.ID, "components checkout=partial_outage")
	body := "We are investigating.\n" + nextBy(60*time.Minute) + "."
	w.publish("carol", room.ID, "investigating", body)
	var create req
	for create.method != http.MethodPost {
		select {
		case create = <-got:
		case <-time.After(10 * time.Second):
			t.Fatal("nothing reached Statuspage")
		}
	}
	inc := create.body["incident"]
	if create.path != "/v1/pages/page1/incidents" || create.auth != "OAuth sekret" || inc["name"] != "Checkout returns 500s" ||
		inc["body"] != body || inc["status"] != "investigating" {
		t.Errorf("create: %+v", create)
	}
	if comps, _ := inc["components"].(map[string]any); comps["cmp1"] != "partial_outage" {
		t.Errorf("components: %v", inc["components"])
	}
	if strings.Contains(w.log.String(), "sekret") {
		t.Error("the Statuspage API key was logged")
	}
}

// TestStatuspageExportWatch: --watch exports again when an update is published.
func TestStatuspageExportWatch(t *testing.T) {
	w, _ := publishOne(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"statuspage", "export", dir, "--watch", "--every", "50ms"}, nil, &syncBuffer{}, &syncBuffer{}, w.getenv)
	}()
	read := func() string { b, _ := os.ReadFile(filepath.Join(dir, "index.html")); return string(b) }
	w.eventually("the first export", func() bool { return strings.Contains(read(), "We are investigating failed payments") })
	room := w.show("INC-1").ChannelID
	w.publish("carol", room, "identified", "We have identified the cause.\n"+nextBy(60*time.Minute)+".")
	w.eventually("the export follows the new update", func() bool { return strings.Contains(read(), "We have identified the cause.") })
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("export --watch exited %d", code)
	}
}

// TestStatuspageOutage: Statuspage answers 503 to everything while two
// updates are published mid-incident. The war room is told once, the
// incident goes on, and when Statuspage answers again each update arrives
// exactly once, in order, on the one Statuspage incident. (The outage is
// seconds with the retry delays scaled down to match, so the suite stays
// quick; in production WARROOM_RETRY_MAX is 5 minutes and nothing expires.)
func TestStatuspageOutage(t *testing.T) {
	var mu sync.Mutex
	down, refused := false, 0
	var calls []string // method + status + body, of the requests Statuspage took
	sp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if down {
			refused++
			http.Error(w, `{"error":"service unavailable"}`, http.StatusServiceUnavailable)
			return
		}
		if r.Method == http.MethodGet {
			io.WriteString(w, `[]`)
			return
		}
		var body struct {
			Incident struct{ Status, Body string } `json:"incident"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		calls = append(calls, r.Method+" "+body.Incident.Status+" "+body.Incident.Body)
		io.WriteString(w, `{"id":"sp1"}`)
	}))
	defer sp.Close()
	setDown := func(v bool) { mu.Lock(); down = v; mu.Unlock() }
	taken := func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), calls...) }

	w := start(t, "http", "STATUSPAGE_API_KEY=k", "STATUSPAGE_PAGE_ID=p", "STATUSPAGE_API_URL="+sp.URL,
		"WARROOM_RETRY_FIRST=50ms", "WARROOM_RETRY_MAX=300ms")
	w.cmd("alice", w.general, "declare sev2 Checkout returns 500s")
	room := w.room("INC-1")
	w.cmd("alice", room.ID, "communicator "+w.at("carol"))
	w.publish("carol", room.ID, "investigating", "We are investigating.")
	w.eventually("the first update reaches Statuspage", func() bool { return len(taken()) == 1 })

	setDown(true)
	w.publish("carol", room.ID, "identified", "We found the cause.")
	w.cmd("alice", room.ID, "note rolling back the deploy")
	w.publish("carol", room.ID, "monitoring", "A fix is out; we are watching.")
	w.eventually("the war room hears Statuspage is down", func() bool { return w.posted(room.ID, "Statuspage is not answering") })
	time.Sleep(3 * time.Second) // a stretch of failed retries (warroom sends Statuspage at most one request a second)
	mu.Lock()
	during := refused
	mu.Unlock()
	setDown(false)

	w.eventually("both updates reach Statuspage", func() bool { return len(taken()) >= 3 })
	w.eventually("the war room hears Statuspage is back", func() bool { return w.posted(room.ID, "Statuspage is answering again") })
	time.Sleep(500 * time.Millisecond) // time for a duplicate to show
	got := taken()
	want := []string{"POST investigating We are investigating.", "PATCH identified We found the cause.", "PATCH monitoring A fix is out; we are watching."}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Statuspage took:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	told := 0
	for _, m := range w.sim.Messages(room.ID) {
		if strings.Contains(m.Text, "Statuspage is not answering") {
			told++
		}
	}
	t.Logf("%d requests refused during the outage; %d updates delivered after it; room told %d time(s)", during, len(got)-1, told)
	if during < 3 || told != 1 {
		t.Errorf("refused %d (want several retries), told %d (want once)", during, told)
	}
}
