package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "write the sandbox screenshot to docs/sandbox.png")

// chromium finds a headless-capable Chromium. Without one the browser test
// skips, saying how to install it; under CI=true it fails instead.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	msg := "headless Chromium is not installed: on Debian or Ubuntu run `sudo apt-get install chromium`, or set CHROMIUM=/path/to/chrome"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI must run this test; .ci/run installs Chromium)")
	}
	t.Skip(msg)
	return ""
}

// browser starts headless Chromium with the flags this machine needs (no
// sandbox as root, no background networking) and returns a context for its
// tab that ends after 90 s.
func browser(t *testing.T, exe, dir string, width, height int) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(width, height),
		chromedp.UserDataDir(filepath.Join(dir, "chrome")),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true))
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	// The first run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	tctx, tcancel := context.WithTimeout(bctx, 90*time.Second)
	t.Cleanup(tcancel)
	return tctx
}

// TestSandboxInBrowser runs `warroom sandbox` and uses its console in
// headless Chromium as a newcomer would: declare from the composer, watch
// the war room appear, take command as a second teammate, post a status,
// resolve, and declare another incident through the modal form.
func TestSandboxInBrowser(t *testing.T) {
	exe := chromium(t)
	dir := t.TempDir()
	env := map[string]string{}
	out, errb := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"sandbox", "--addr", "127.0.0.1:0", "--status-addr", "127.0.0.1:0", "--db", filepath.Join(dir, "sandbox.db")}, nil, out, errb, func(k string) string { return env[k] })
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("sandbox did not stop")
		}
	}()
	ready := regexp.MustCompile(`sandbox ready: open (http://\S+)`)
	var url string
	for deadline := time.Now().Add(20 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := ready.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		t.Fatalf("no ready line; stdout %q stderr %q", out.String(), errb.String())
	}

	tctx := browser(t, exe, dir, 1280, 860)

	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	// waitText waits until the element's text contains want.
	waitText := func(sel, want string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			expr := fmt.Sprintf(`(document.querySelector(%q)||{}).innerText||""`, sel)
			for {
				text, err := chromedp.Evaluate[string](expr)(ctx, tg)
				if err != nil {
					return err
				}
				if strings.Contains(text, want) {
					return nil
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("%s never showed %q; it shows %q", sel, want, text)
				case <-time.After(50 * time.Millisecond):
				}
			}
		})
	}
	typeLine := func(text string) chromedp.Action[chromedp.Void] {
		// Click Send, as a person does (form.submit() would skip the page's handler).
		return chromedp.Steps(chromedp.WaitEnabled(css("#composer-input")), chromedp.SetValue(css("#composer-input"), text), chromedp.Click(css("#composer button")))
	}
	actAs := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const s = document.querySelector("#user-picker");
				s.value = [...s.options].find(o => o.text === "@%s").value; s.dispatchEvent(new Event("change")); return true; })()`, name))(ctx, tg)
			return err
		})
	}
	channel := func(name string) chromedp.CSS { return css(fmt.Sprintf(`#channels li[data-name=%q]`, name)) }
	// open clicks a channel in the sidebar from inside the page, in one step,
	// so a live refresh cannot swap the node between finding and clicking it.
	open := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](fmt.Sprintf(`(document.querySelector('#channels li[data-name=%q]').click(), true)`, name))(ctx, tg)
			return err
		})
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(tctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			failed := filepath.Join(os.TempDir(), "warroom-browser-failed.png")
			if png, serr := chromedp.Run(tctx, chromedp.CaptureScreenshot()); serr == nil {
				os.WriteFile(failed, png, 0o644)
			}
			t.Fatalf("%s: %v (screenshot %s)\nsandbox stderr:\n%s", what, err, failed, errb.String())
		}
	}

	step("declare from the composer",
		chromedp.Navigate(url+"/#user=alice&channel=general"),
		chromedp.WaitVisible(css("#composer-input")),
		waitText("#channel-name", "general"),
		typeLine("/incident declare sev1 Payments down"),
		waitText("#messages", "Only visible to you"),
		waitText("#messages", "Declared INC-1 (SEV1): Payments down"))
	step("the war room appears with its pinned summary",
		chromedp.WaitVisible(channel("inc-1-payments-down")),
		open("inc-1-payments-down"),
		waitText("#pinned", "INC-1 · SEV1 · Payments down"),
		waitText("#topic", "INVESTIGATING"))
	step("alice ticks a step of the checklist, and the timeline has it",
		chromedp.WaitVisible(css(`#messages .checkbox input[data-value="1"]`)),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`(document.querySelector('#messages .checkbox input[data-value="1"]').click(), true)`)(ctx, tg)
			return err
		}),
		waitText("#messages", "done by alice"),
		typeLine("/incident timeline"),
		waitText("#messages", "[checklist box] done 1: 1. Confirm the impact from a second source"))
	clickTool := func(text, do string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](fmt.Sprintf(`([...document.querySelectorAll("#messages .msg")].find(m => m.innerText.includes(%q)).querySelector('.tool[data-do=%q]').click(), true)`, text, do))(ctx, tg)
			return err
		})
	}
	step("alice puts a message into the timeline with 📌; warroom reacts, and the timeline has it",
		typeLine("p99 spiked right after deploy 4411"),
		waitText("#messages", "p99 spiked right after deploy 4411"),
		clickTool("p99 spiked right after deploy 4411", "pushpin"),
		waitText("#messages", "✅ 1"),
		typeLine("/incident timeline"),
		waitText("#messages", "💬 @alice: p99 spiked right after deploy 4411"))
	if shot, err := chromedp.Run(tctx, chromedp.CaptureScreenshot()); err == nil {
		os.WriteFile(filepath.Join(os.TempDir(), "warroom-checklist.png"), shot, 0o644)
		if *updateScreenshot {
			os.WriteFile(filepath.Join("..", "..", "docs", "sandbox-checklist.png"), shot, 0o644)
		}
	}
	step("carol adds a message of #general with the shortcut, choosing the incident",
		open("general"), waitText("#channel-name", "general"), actAs("carol"),
		typeLine("Support: customers see timeouts at checkout"),
		waitText("#messages", "Support: customers see timeouts at checkout"),
		clickTool("Support: customers see timeouts at checkout", "shortcut"),
		chromedp.WaitVisible(css("#modal-form")),
		waitText("#modal", "Add to the timeline"),
		chromedp.SetValue(css("#f-capture_incident"), "1"),
		chromedp.SetValue(css("#f-capture_comment"), "what customers see"),
		chromedp.Click(css("#modal-submit")),
		waitText("#messages", "Added to INC-1's timeline"),
		open("inc-1-payments-down"), waitText("#channel-name", "inc-1-payments-down"), actAs("alice"))
	step("bob takes command",
		actAs("bob"),
		typeLine("/incident commander @bob"),
		waitText("#messages", "@bob took command of INC-1 from @"))
	step("carol publishes a public update from the template preview",
		typeLine("/incident communicator @carol"),
		actAs("carol"),
		typeLine("/incident components payments=major_outage"),
		typeLine("/incident update investigating We think it should be fixed soon"),
		chromedp.WaitVisible(css("#modal-form")),
		waitText("#modal", "Check before publishing"),
		waitText("#modal", "eta"))
	if preview, err := chromedp.Run(tctx, chromedp.CaptureScreenshot()); err == nil && *updateScreenshot {
		os.WriteFile(filepath.Join("..", "..", "docs", "sandbox-update.png"), preview, 0o644)
	}
	step("carol edits and publishes",
		chromedp.SetValue(css("#f-update_body"), "We are investigating failed card payments.\n\n"+nextBy(30*time.Minute)+"."),
		chromedp.Click(css("#modal-submit")),
		waitText("#messages", "published a public update for INC-1"),
		waitText("#pinned", "Next public update"))
	statusURL, err := chromedp.Run(tctx, chromedp.Evaluate[string](`[...document.querySelectorAll("#links a")].find(a => a.textContent === "Public status page").href`))
	if err != nil || statusURL == "" {
		t.Fatalf("no status page link in the console: %v", err)
	}
	step("the status page shows the update and not the note",
		chromedp.Navigate(statusURL),
		waitText("body", "We are investigating failed card payments."),
		waitText("body", "Major System Outage"))
	step("back to the war room",
		chromedp.Navigate(url+"/#user=bob&channel=inc-1-payments-down"),
		waitText("#channel-name", "inc-1-payments-down"),
		actAs("bob"))
	step("status, note and resolve",
		typeLine("/incident status identified Card processor timing out"),
		waitText("#pinned", "Respond (3/4)"),
		typeLine("/incident note Failing over to the backup processor"),
		waitText("#messages", "Failing over to the backup processor"),
		typeLine("/incident note "+xssPayload),
		waitText("#messages", "window.__xss=5"),
		typeLine("/incident resolve Backup processor took over"),
		waitText("#pinned", "Document (4/4)"),
		waitText("#topic", "RESOLVED"),
		chromedp.Sleep(300*time.Millisecond))
	if ran, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`window.__xss !== undefined || document.querySelectorAll('#messages [onerror], #messages svg, #messages a[href^="javascript:" i]').length > 0`)); err != nil || ran {
		t.Errorf("a note with script in it ran or made live elements in the console (err %v)", err)
	}
	shot, err := chromedp.Run(tctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	step("carol publishes the resolved update from the button the bot posts",
		actAs("carol"),
		waitText("#messages", "Write the resolved update"),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`([...document.querySelectorAll("#messages .slack-button")].find(b => b.textContent === "Write the resolved update").click(), true)`)(ctx, tg)
			return err
		}),
		chromedp.WaitVisible(css("#modal-form")),
		waitText("#modal", "Public title"),
		waitText("#modal", "payments: operational"),
		chromedp.Click(css("#modal-submit")),
		waitText("#messages", "published a public update for INC-1 (Resolved)"))
	step("the postmortem draft is a file that opens, and quotes read as quotes",
		waitText("#messages", "INC-1-postmortem-v1.md"),
		chromedp.WaitVisible(css("#messages blockquote")))
	if bad, err := chromedp.Run(tctx, chromedp.Evaluate[string](`(() => {
		const t = document.querySelector("#messages").innerText;
		const q = [...document.querySelectorAll("#messages blockquote")].map(b => b.innerText).join(" ");
		if (/:(mega|white_check_mark|memo|page_facing_up):/.test(t)) return "an emoji shortcode shows as text";
		if (!q.includes("We are investigating failed card payments.")) return "the published update is not a quote: " + q;
		return "";
	})()`)); err != nil || bad != "" {
		t.Errorf("console formatting: %s %v", bad, err)
	}
	draftURL, err := chromedp.Run(tctx, chromedp.Evaluate[string](`[...document.querySelectorAll("#messages a.file")].map(a => a.href)[0] || ""`))
	if err != nil || draftURL == "" {
		t.Fatalf("no file link: %v", err)
	}
	step("the draft opens", chromedp.Navigate(draftURL), waitText("body", "Payments down"), waitText("body", "## Timeline"))
	step("on a 420 px split screen the console fits",
		chromedp.EmulateViewport(420, 820),
		chromedp.Navigate(url+"/#user=bob&channel=inc-1-payments-down"),
		waitText("#channel-name", "inc-1-payments-down"),
		chromedp.Sleep(300*time.Millisecond))
	if bad, err := chromedp.Run(tctx, chromedp.Evaluate[string](`(() => {
		const over = document.documentElement.scrollWidth - window.innerWidth;
		if (over > 1) return "the page is " + over + " px wider than the window";
		const pin = document.querySelector("#pinned").getBoundingClientRect().height;
		if (pin > window.innerHeight * 0.15) return "the pinned bar takes " + Math.round(pin) + " px of " + window.innerHeight;
		const input = document.querySelector("#composer-input").getBoundingClientRect();
		if (input.right > window.innerWidth || input.bottom > window.innerHeight) return "the composer is off screen: its bottom is at " + Math.round(input.bottom) + " of " + window.innerHeight;
		const list = document.querySelector("#messages");
		if (list.scrollHeight - list.scrollTop - list.clientHeight > 40) return "the channel does not open at its latest message";
		return "";
	})()`)); err != nil || bad != "" {
		t.Errorf("at 420 px: %s %v", bad, err)
	}
	if narrow, err := chromedp.Run(tctx, chromedp.CaptureScreenshot()); err == nil {
		path := filepath.Join(dir, "sandbox-narrow.png")
		if *updateScreenshot {
			path = filepath.Join("..", "..", "docs", "sandbox-narrow.png")
		}
		os.WriteFile(path, narrow, 0o644)
	}
	step("back to a laptop's width", chromedp.EmulateViewport(1280, 860))
	// What alice was told privately in #general is not shown to bob.
	step("bob looks at #general", open("general"), waitText("#channel-name", "general"), chromedp.WaitVisible(css(`#messages[data-view="bob@general"]`)))
	ephemeralForBob, err := chromedp.Run(tctx, chromedp.Evaluate[int](`document.querySelectorAll("#messages .ephemeral").length`))
	if err != nil {
		t.Fatal(err)
	}
	step("carol declares through the form",
		actAs("carol"),
		typeLine("/incident declare sev2"),
		chromedp.WaitVisible(css("#modal-form")),
		chromedp.SetValue(css("#f-title"), "🔥🔥"),
		chromedp.Click(css("#modal-submit")),
		waitText("#modal", "no words"),
		chromedp.SetValue(css("#f-title"), "Search results are stale"),
		chromedp.SetValue(css("#f-description"), "Index lag 20 minutes"),
		chromedp.Click(css("#modal-submit")),
		chromedp.WaitVisible(channel("inc-2-search-results-are-stale")),
		waitText("#messages", "War room for INC-2 is ready"))
	if hidden, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`document.querySelector("#modal").hidden`)); err != nil || !hidden {
		t.Errorf("the form is still open after a good submission (err %v)", err)
	}
	if ephemeralForBob != 0 {
		t.Errorf("bob sees %d of alice's private replies in #general", ephemeralForBob)
	}
	// A page on another site, opened in the same browser, tries to declare
	// as alice: a no-cors fetch of text/plain and a text/plain form post,
	// neither of which a browser preflights. Neither reaches the bot.
	var ws consoleWorkspace
	getJSON(t, url+"/api/workspace", &ws)
	body, _ := json.Marshal(map[string]string{"user": ws.user("alice"), "channel": ws.channel("general"), "text": "/incident declare sev1 forged by another site"})
	attack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>cat pictures</title>
<form id="f" method="POST" enctype="text/plain" action="%[1]s/api/command" target="sink"><input name='%[2]s' value=''></form>
<iframe name="sink"></iframe>
<script>
fetch("%[1]s/api/command", {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body: %[3]q})
  .catch(() => {}).finally(() => { document.getElementById("f").submit(); setTimeout(() => { document.title = "sent"; }, 500); });
</script>`, url, html.EscapeString(string(body[:len(body)-1])+`,"x":"`), string(body))
	}))
	defer attack.Close()
	step("another site's page posts to the console", chromedp.Navigate(attack.URL), waitText("title", "sent"))
	// Give a delivered command time to show, then look as alice would.
	for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		var general []struct{ Text string }
		getJSON(t, url+"/api/messages?user="+ws.user("alice")+"&channel="+ws.channel("general"), &general)
		var after consoleWorkspace
		getJSON(t, url+"/api/workspace", &after)
		for _, m := range general {
			if strings.Contains(m.Text, "forged") {
				t.Fatalf("another site's page declared an incident as alice: %q", m.Text)
			}
		}
		for _, c := range after.Channels {
			if strings.Contains(c.Name, "forged") {
				t.Fatalf("another site's page made %s", c.Name)
			}
		}
	}
	path := filepath.Join(dir, "sandbox.png")
	if *updateScreenshot {
		path = filepath.Join("..", "..", "docs", "sandbox.png")
	}
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(shot))
}
