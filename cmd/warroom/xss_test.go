package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// xssPayload would set window.__xss if any part of it ran as script.
const xssPayload = `<img src=x onerror="window.__xss=1"> "><svg onload=window.__xss=2> <script>window.__xss=3</script> [x](javascript:window.__xss=4) <javascript:window.__xss=5|click>`

// TestHostileTextRunsNoScript puts script-bearing text in an incident's
// title, note, public update and action item, then opens everything that
// shows them in Chromium — the status page, its feed, the postmortem as
// HTML — and checks that nothing ran, no javascript: link exists, and the
// text is shown as text.
func TestHostileTextRunsNoScript(t *testing.T) {
	exe := chromium(t)
	w := start(t, "http", "WARROOM_POSTMORTEM_ON_RESOLVE=true")
	w.cmd("alice", w.general, "declare sev2 Checkout "+xssPayload)
	room := w.room("INC-1")
	w.cmd("alice", room.ID, "communicator "+w.at("carol"))
	w.cmd("alice", room.ID, "note "+xssPayload)
	w.cmd("alice", room.ID, "action add "+xssPayload)
	w.publish("carol", room.ID, "investigating", "We are investigating "+xssPayload+"\n\n"+nextBy(30*time.Minute)+".")
	w.cmd("alice", room.ID, "resolve "+xssPayload)
	w.draft(room.ID, "INC-1-postmortem-v1.md")

	tctx := browser(t, exe, filepath.Join(t.TempDir()), 1000, 800)
	status := "http://" + w.env["WARROOM_STATUS_ADDR"]
	for _, url := range []string{status + "/", status + "/history.atom", "http://" + w.admin + "/incidents/INC-1/postmortem.html"} {
		if err := chromedp.Do(tctx, chromedp.Navigate(url)); err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		time.Sleep(300 * time.Millisecond) // for anything that would run late (onerror of a broken image)
		ran, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`window.__xss !== undefined`))
		if err != nil || ran {
			t.Errorf("%s: a script ran (err %v)", url, err)
		}
		links, _ := chromedp.Run(tctx, chromedp.Evaluate[int](`document.querySelectorAll('a[href^="javascript:" i], [onerror], [onload], svg, img[src="x"]').length`))
		if links != 0 {
			html, _ := chromedp.Run(tctx, chromedp.Evaluate[string](`[...document.querySelectorAll('a[href^="javascript:" i], [onerror], [onload], svg, img[src="x"]')].map(e => e.outerHTML).join("\n")`))
			t.Errorf("%s: %d live elements from the payload:\n%s", url, links, html)
		}
		text, _ := chromedp.Run(tctx, chromedp.Evaluate[string](`document.documentElement.textContent`))
		if !strings.Contains(text, "onerror") {
			t.Errorf("%s does not show the text as text:\n%.400s", url, text)
		}
	}
}
