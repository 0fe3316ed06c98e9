package main

import (
	"bytes"
	"context"
	"github.com/warroom/warroom/commands"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/store"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// TestPostmortemDraftUploadedStoredAndServed: resolving writes the draft
// (WARROOM_POSTMORTEM_ON_RESOLVE), it is uploaded to the war room through
// Slack's external-upload flow, /incident postmortem writes a new version
// and keeps the old, and the CLI and the main listener serve it, with
// hostile text escaped in the HTML.
func TestPostmortemDraftUploadedStoredAndServed(t *testing.T) {
	w := start(t, "http", "WARROOM_POSTMORTEM_ON_RESOLVE=true")
	w.cmd("alice", w.general, `declare sev2 Checkout <script>alert(1)</script> fails`)
	room := w.room("INC-1")
	w.cmd("bob", room.ID, "commander me")
	w.cmd("bob", room.ID, "note rolled back <img src=x onerror=alert(1)> [x](javascript:alert(1))")
	w.cmd("bob", room.ID, "status identifed oops") // rejected: folded in the draft
	w.cmd("bob", room.ID, "status identified bad deploy")
	if r := w.cmd("bob", room.ID, "resolve rolled back"); !strings.Contains(r, "postmortem draft is being uploaded") {
		t.Fatalf("resolve reply: %q", r)
	}
	w.eventually("the draft is uploaded to the war room", func() bool {
		for _, f := range w.sim.Files() {
			if f.Channel == room.ID && f.Name == "INC-1-postmortem-v1.md" {
				return true
			}
		}
		return false
	})
	f := w.sim.Files()[0]
	md := string(f.Content)
	for _, want := range []string{"# Postmortem: INC-1 — Checkout <script>alert(1)</script> fails", "| Commander | @bob |", "**RESOLVED**",
		"**rejected**", "Status investigating → identified: bad deploy", "## Analysis", "Where did we get lucky?"} {
		if !strings.Contains(md, want) {
			t.Errorf("draft lacks %q:\n%s", want, md)
		}
	}
	if !w.posted(room.ID, "Postmortem draft v1 for INC-1") {
		t.Error("no message with the file in the war room")
	}

	if r := w.cmd("carol", room.ID, "postmortem"); !strings.Contains(r, "Postmortem draft v2 for INC-1") {
		t.Fatalf("postmortem reply: %q", r)
	}
	w.eventually("v2 is uploaded", func() bool { return len(w.sim.Files()) == 2 })

	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"postmortem", "INC-1"}, nil, &out, &errb, w.getenv); code != 0 || !strings.Contains(out.String(), "_Draft v2,") {
		t.Fatalf("warroom postmortem: %d %s %s", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"postmortem", "INC-1", "--version", "1", "--format", "html"}, nil, &out, &errb, w.getenv); code != 0 {
		t.Fatalf("--format html: %d %s", code, errb.String())
	}
	html := out.String()
	if !strings.Contains(html, "_Draft v1,") && !strings.Contains(html, "<em>Draft v1,") {
		t.Errorf("html is not v1:\n%s", html)
	}
	for _, bad := range []string{"<script>", "<img", "javascript:"} {
		if strings.Contains(html, bad) {
			t.Errorf("the HTML draft contains %q:\n%s", bad, html)
		}
	}
	if !strings.Contains(html, "<table>") {
		t.Error("the HTML draft has no tables")
	}

	resp, err := http.Get("http://" + w.admin + "/incidents/INC-1/postmortem.md")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "_Draft v2,") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/markdown") {
		t.Errorf("GET postmortem.md: %d %s %.80s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if resp, err := http.Get("http://" + w.admin + "/incidents/INC-9/postmortem.md"); err == nil {
		if resp.StatusCode != 404 {
			t.Errorf("an unknown incident's postmortem: %d", resp.StatusCode)
		}
		resp.Body.Close()
	}
	kinds := map[string]int{}
	for _, e := range w.show("INC-1").Timeline {
		kinds[e.Kind]++
	}
	if kinds["postmortem"] != 2 {
		t.Errorf("timeline postmortem entries: %v", kinds)
	}
}

// TestLargeDraftsAreServedFromStoredBytes: an incident with 3,000 notes of
// 3,000 characters (9 MB of timeline) gets a bounded draft, and eight
// readers at once get the HTML stored with it, not eight renders.
func TestLargeDraftsAreServedFromStoredBytes(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := incident.NewService(db, nil)
	c := func(kind string) incident.Command { return incident.Command{Actor: "U1", Kind: kind} }
	inc, _ := svc.Declare(ctx, c("declare"), incident.Declaration{Title: "Noisy", Severity: incident.SEV2})
	note := strings.Repeat("lorem ipsum ", 250)
	for i := 0; i < 3000; i++ {
		if _, err := svc.Note(ctx, inc.Number, c("note"), note); err != nil {
			t.Fatal(err)
		}
	}
	disp := &commands.Dispatcher{Service: svc}
	if res := disp.WritePostmortem(ctx, inc.Number, c("postmortem")); res.Failed {
		t.Fatal(res.Reply)
	}
	pm, _ := svc.Postmortem(ctx, inc.Number, 0)
	if len(pm.Markdown) > 1<<20 || pm.HTML == "" {
		t.Fatalf("draft %d KB, stored HTML %d KB", len(pm.Markdown)>>10, len(pm.HTML)>>10)
	}
	h := postmortemHandler(svc)
	mux := http.NewServeMux()
	mux.Handle("GET /incidents/{ref}/{file}", h)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/incidents/"+inc.Ref()+"/postmortem.html", nil))
			if rec.Code != 200 || rec.Body.String() != pm.HTML {
				t.Errorf("GET: %d, %d bytes, not the stored page", rec.Code, rec.Body.Len())
			}
		})
	}
	wg.Wait()
	runtime.ReadMemStats(&after)
	// Each request reads the stored page and copies it into its recorder:
	// a few times its size. A render would allocate ten times that.
	per := (after.TotalAlloc - before.TotalAlloc) / 8
	t.Logf("draft %d KB, HTML %d KB, allocated per request %d KB", len(pm.Markdown)>>10, len(pm.HTML)>>10, per>>10)
	if per > uint64(6*len(pm.HTML)) {
		t.Errorf("each request allocated %d KB for a %d KB page: rendered, not served", per>>10, len(pm.HTML)>>10)
	}
}
