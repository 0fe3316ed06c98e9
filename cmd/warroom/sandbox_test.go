package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/sandbox"
)

// TestSandbox types a short incident into the sandbox's terminal as two
// teammates and checks what they were shown, then restarts it and checks
// the incident is still there.
func TestSandbox(t *testing.T) {
	db := filepath.Join(t.TempDir(), "sandbox.db")
	env := map[string]string{"WARROOM_DB": db}
	getenv := func(k string) string { return env[k] }
	script := strings.Join([]string{
		"/incident declare sev1 Payments down",
		"in inc-1-payments-down",
		"as bob",
		"/incident commander me",
		"/incident communicator @carol",
		"/incident status identified Card processor timing out",
		"/incident resolve Processor recovered",
		"channels",
		"quit",
	}, "\n") + "\n"
	out := &syncBuffer{}
	errb := &syncBuffer{}
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), []string{"sandbox", "--terminal", "--status-addr", "127.0.0.1:0", "--db", db}, pr, out, errb, getenv)
	}()
	// Type one line at a time, as a person would, once the sandbox is up.
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(out.String(), "sandbox ready") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for _, line := range strings.SplitAfter(script, "\n") {
		if line == "" {
			continue
		}
		pw.Write([]byte(line))
		time.Sleep(200 * time.Millisecond)
	}
	pw.Close()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("sandbox exited %d: %s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sandbox did not quit")
	}
	got := out.String()
	for _, want := range []string{
		"sandbox ready",
		"(only you): :rotating_light: Declared *INC-1* (SEV1): Payments down",
		"[#announcements] warroom: :rotating_light: *INC-1* declared (SEV1)",
		"@bob took command of INC-1 from @",
		"@carol is now the *communicator* of INC-1",
		"*Identified* — Card processor timing out",
		"resolved INC-1",
		"#inc-1-payments-down — SEV1 | RESOLVED | commander @bob",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the sandbox never showed %q", want)
		}
	}
	if t.Failed() {
		t.Logf("terminal:\n%s\nstderr:\n%s", got, errb.String())
	}
	// The database outlives the sandbox.
	out2 := &syncBuffer{}
	if code := run(context.Background(), []string{"incidents", "list", "--all"}, nil, out2, errb, getenv); code != 0 || !strings.Contains(out2.String(), "Payments down") {
		t.Fatalf("after the sandbox: %d %s", code, out2.String())
	}
}

// consoleSandbox starts `warroom sandbox` with its web console and returns
// the console's URL and a stop function that waits for it to exit.
func consoleSandbox(t *testing.T, db string, extra ...string) (string, func()) {
	t.Helper()
	out, errb := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	args := append([]string{"sandbox", "--addr", "127.0.0.1:0", "--status-addr", "127.0.0.1:0", "--db", db}, extra...)
	go func() {
		done <- run(ctx, args, nil, out, errb, func(string) string { return "" })
	}()
	ready := regexp.MustCompile(`sandbox ready: open (http://\S+)`)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := ready.FindStringSubmatch(out.String()); m != nil {
			return m[1], func() {
				cancel()
				if code := <-done; code != 0 {
					t.Errorf("sandbox exited %d: %s", code, errb.String())
				}
			}
		}
	}
	cancel()
	t.Fatalf("no ready line: %q %q", out.String(), errb.String())
	return "", nil
}

// consoleGet and consolePost call the console's API as its page does, with
// the per-run token the page holds.
func consoleGet(t *testing.T, url string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set(sandbox.TokenHeader, consoleToken(t, url))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// consoleToken reads the token from the console's page, as app.js does (each
// time: a restarted sandbox has a new one).
func consoleToken(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := neturl.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	origin := u.Scheme + "://" + u.Host
	resp, err := http.Get(origin + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`<meta name="warroom-token" content="([0-9a-f]+)">`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("the console's page holds no token: %.300s", page)
	}
	return string(m[1])
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp := consoleGet(t, url)
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func postJSON(t *testing.T, url string, body any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(sandbox.TokenHeader, consoleToken(t, url))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

type consoleWorkspace struct {
	Users    []struct{ ID, Name string }
	Channels []struct {
		ID, Name string
		Pins     []string
	}
}

func (ws consoleWorkspace) user(name string) string {
	for _, u := range ws.Users {
		if u.Name == name {
			return u.ID
		}
	}
	return ""
}

func (ws consoleWorkspace) channel(name string) string {
	for _, c := range ws.Channels {
		if c.Name == name {
			return c.ID
		}
	}
	return ""
}

// TestSandboxKeepsItsWorkspace declares through the console's API, stops
// the sandbox, starts it again on the same database, and finds the war
// room and the incident still there; --reset then starts clean.
func TestSandboxKeepsItsWorkspace(t *testing.T) {
	db := filepath.Join(t.TempDir(), "sandbox.db")
	url, stop := consoleSandbox(t, db)
	var ws consoleWorkspace
	getJSON(t, url+"/api/workspace", &ws)
	if code := postJSON(t, url+"/api/command", map[string]string{"user": ws.user("alice"), "channel": ws.channel("general"), "text": "/incident declare sev2 Login is slow"}); code != 200 {
		t.Fatalf("command: %d", code)
	}
	deadline := time.Now().Add(10 * time.Second)
	for ws.channel("inc-1-login-is-slow") == "" && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		getJSON(t, url+"/api/workspace", &ws)
	}
	if ws.channel("inc-1-login-is-slow") == "" {
		t.Fatal("no war room")
	}
	// The mock Jira got the incident's issue; someone closes it there.
	var vend struct {
		State struct {
			Issues []struct{ Key, Status string }
		}
	}
	for deadline := time.Now().Add(10 * time.Second); len(vend.State.Issues) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		getJSON(t, url+"/api/vendors", &vend)
	}
	if len(vend.State.Issues) != 1 {
		t.Fatalf("the mock Jira has %+v", vend.State.Issues)
	}
	if code := postJSON(t, url+"/api/vendors/issue", map[string]string{"key": vend.State.Issues[0].Key, "status": "Done"}); code != 200 {
		t.Fatalf("Done in Jira: %d", code)
	}
	time.Sleep(1200 * time.Millisecond) // the workspace and the mocks are saved shortly after a change
	stop()

	url, stop = consoleSandbox(t, db)
	var again consoleWorkspace
	getJSON(t, url+"/api/workspace", &again)
	room := again.channel("inc-1-login-is-slow")
	if room == "" || again.user("alice") != ws.user("alice") {
		t.Fatalf("after a restart the war room or the people changed: %+v", again)
	}
	// The mock Jira and PagerDuty come back as they were.
	var vend2 struct {
		State struct {
			Issues []struct{ Key, Status string }
		}
	}
	getJSON(t, url+"/api/vendors", &vend2)
	if len(vend2.State.Issues) != 1 || vend2.State.Issues[0].Status != "Done" {
		t.Errorf("after a restart the mock Jira has %+v", vend2.State.Issues)
	}
	// The bot still knows the room: a command there acts on INC-1.
	if code := postJSON(t, url+"/api/command", map[string]string{"user": again.user("bob"), "channel": room, "text": "/incident note still here"}); code != 200 {
		t.Fatalf("note after restart: %d", code)
	}
	var msgs []struct{ Text string }
	getJSON(t, url+"/api/messages?user="+again.user("bob")+"&channel="+room, &msgs)
	if last := msgs[len(msgs)-1].Text; !strings.Contains(last, "Noted in the INC-1 timeline") && !strings.Contains(last, "Note from") {
		t.Errorf("after restart: %q", last)
	}
	stop()

	url, stop = consoleSandbox(t, db, "--reset")
	defer stop()
	var clean consoleWorkspace
	getJSON(t, url+"/api/workspace", &clean)
	if clean.channel("inc-1-login-is-slow") != "" {
		t.Error("--reset kept the old war room")
	}
}

// TestSandboxScenario preloads the db-outage rehearsal, with the
// simulator delivering to the bot over Socket Mode, and declares from #alerts.
func TestSandboxScenario(t *testing.T) {
	url, stop := consoleSandbox(t, filepath.Join(t.TempDir(), "s.db"), "--scenario", "db-outage", "--transport", "socket")
	defer stop()
	var ws consoleWorkspace
	getJSON(t, url+"/api/workspace", &ws)
	alerts := ws.channel("alerts")
	if alerts == "" || ws.user("carol") == "" {
		t.Fatalf("scenario workspace: %+v", ws)
	}
	var msgs []struct{ Text string }
	for deadline := time.Now().Add(5 * time.Second); len(msgs) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		getJSON(t, url+"/api/messages?channel="+alerts, &msgs)
	}
	if len(msgs) == 0 || !strings.Contains(msgs[0].Text, "PostgresPrimaryDown") {
		t.Fatalf("no scripted alert: %+v", msgs)
	}
	for _, c := range ws.Channels {
		if c.Name == "general" && len(c.Pins) != 1 {
			t.Errorf("the rehearsal brief is not pinned in #general: %+v", c)
		}
	}
	var bad struct{ Error string }
	resp := consoleGet(t, url+"/api/messages?channel=CNOPE")
	json.NewDecoder(resp.Body).Decode(&bad)
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("unknown channel: %d", resp.StatusCode)
	}
	if code := postJSON(t, url+"/api/command", map[string]string{"user": ws.user("alice"), "channel": alerts, "text": "/deploy now"}); code != 400 {
		t.Errorf("a command other than /incident: %d", code)
	}
	if code := postJSON(t, url+"/api/command", map[string]string{"user": ws.user("alice"), "channel": alerts, "text": "/incident declare sev1 db: Primary database down"}); code != 200 {
		t.Fatalf("declare over socket mode: %d", code)
	}
	for deadline := time.Now().Add(10 * time.Second); ws.channel("inc-1-primary-database-down") == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		getJSON(t, url+"/api/workspace", &ws)
	}
	room := ws.channel("inc-1-primary-database-down")
	if room == "" {
		t.Fatal("no war room from the rehearsal's first step")
	}
	// The story holds together: the brief says alice is on call, and so
	// does the mock PagerDuty.
	alice, bob, carol := ws.user("alice"), ws.user("bob"), ws.user("carol")
	shown := func(user, channel string, parts ...string) bool {
		var raw []map[string]any
		getJSON(t, url+"/api/messages?user="+user+"&channel="+channel, &raw)
		for _, m := range raw {
			text := fmt.Sprint(m)
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(text, p)
			}
			if ok {
				return true
			}
		}
		return false
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				var raw []map[string]any
				getJSON(t, url+"/api/messages?user="+alice+"&channel="+room, &raw)
				t.Fatalf("timed out waiting until %s; the room shows %v", what, raw)
			}
		}
	}
	waitFor("PagerDuty confirms alice, as the brief says", func() bool {
		return shown(alice, room, "<@"+alice+"> is on call (PagerDuty: alice) and stays the *commander*")
	})
	say := func(user, text string) {
		t.Helper()
		if code := postJSON(t, url+"/api/command", map[string]string{"user": user, "channel": room, "text": text}); code != 200 {
			t.Fatalf("%s: %d", text, code)
		}
	}
	// The rehearsal's checklist (every incident's, SEV1's and db's) and
	// the db service's card are in the room; the db team's channel is told.
	waitFor("the SEV1 checklist with db's steps is posted", func() bool {
		return shown(alice, room, "warroom_checklist", "Page the owning team", "Check replication lag before failing over")
	})
	waitFor("the db service's card is posted", func() bool { return shown(alice, room, "*db*", "Cloud provider support", "Postgres overview") })
	getJSON(t, url+"/api/workspace", &ws)
	waitFor("#db-team is told", func() bool { return shown(alice, ws.channel("db-team"), "INC-1", "affects *db*") })
	say(bob, "/incident commander me")
	announce := ws.channel("announcements")
	waitFor("#announcements hears bob took over from alice", func() bool {
		return shown(alice, announce, "has a new commander: <@"+bob+">, taking over from <@"+alice+">")
	})
	say(alice, "/incident communicator @carol")
	say(carol, "/incident components checkout=major_outage payments=major_outage")
	publish := func(status string) {
		t.Helper()
		say(carol, "/incident update "+status)
		var views struct{ Views []struct{ ID string } }
		waitFor("the preview opens", func() bool { getJSON(t, url+"/api/workspace?user="+carol, &views); return len(views.Views) == 1 })
		values := map[string]map[string]string{"update_status": {"update_status": status}, "update_title": {"update_title": "Checkout and payments failing"},
			"update_body": {"update_body": "We are working on failed checkouts and payments.\n" + nextBy(30*time.Minute) + "."}}
		for press := 0; press < 2 && len(views.Views) == 1; press++ { // a second press sends it despite warnings
			postJSON(t, url+"/api/submit", map[string]any{"view": views.Views[0].ID, "values": values})
			getJSON(t, url+"/api/workspace?user="+carol, &views)
		}
		if len(views.Views) != 0 {
			t.Fatalf("the %s preview is still open", status)
		}
	}
	publish("investigating")
	say(bob, "/incident resolve Failover complete")
	waitFor("carol is asked for the resolved update, with a button", func() bool {
		return shown(carol, room, "Write the resolved update")
	})
	publish("resolved")
	pinned := func() string {
		var w2 consoleWorkspace
		getJSON(t, url+"/api/workspace?user="+bob, &w2)
		var raw []map[string]any
		getJSON(t, url+"/api/messages?user="+bob+"&channel="+room, &raw)
		for _, c := range w2.Channels {
			for _, m := range raw {
				if c.ID == room && len(c.Pins) >= 1 && m["ts"] == c.Pins[0] { // the summary; the checklist is pinned after it
					return fmt.Sprint(m)
				}
			}
		}
		return ""
	}
	waitFor("the pinned summary and the status page agree: all operational", func() bool {
		var sum struct{ Status struct{ Indicator string } }
		json.Unmarshal([]byte(fetch(t, statusURL(t, url)+"/api/v2/summary.json")), &sum)
		p := pinned()
		return sum.Status.Indicator == "none" && strings.Contains(p, "checkout: operational") && !strings.Contains(p, "major outage")
	})
}

// statusURL is the sandbox's status page, as the console's sidebar links it.
func statusURL(t *testing.T, console string) string {
	t.Helper()
	var ws struct{ Links []struct{ Title, URL string } }
	getJSON(t, console+"/api/workspace", &ws)
	for _, l := range ws.Links {
		if l.Title == "Public status page" {
			return strings.TrimSuffix(l.URL, "/")
		}
	}
	t.Fatal("the console links no status page")
	return ""
}

// TestSandboxHonoursStatusAddr: WARROOM_STATUS_ADDR puts the sandbox's
// status page where it says, and the ready line gives both addresses.
func TestSandboxHonoursStatusAddr(t *testing.T) {
	status := freeAddr(t)
	db := filepath.Join(t.TempDir(), "s.db")
	env := map[string]string{"WARROOM_STATUS_ADDR": status}
	out, errb := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"sandbox", "--addr", "127.0.0.1:0", "--db", db}, nil, out, errb, func(k string) string { return env[k] })
	}()
	defer func() { cancel(); <-done }()
	want := regexp.MustCompile(`sandbox ready: open http://127\.0\.0\.1:\d+ \(status page: http://` + regexp.QuoteMeta(status) + `\)`)
	for deadline := time.Now().Add(20 * time.Second); !want.MatchString(out.String()); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("ready line: %q %q", out.String(), errb.String())
		}
	}
	if page := fetch(t, "http://"+status+"/"); !strings.Contains(page, "Sandbox status") {
		t.Errorf("no status page at %s", status)
	}
}

func TestSandboxUnknownScenario(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"sandbox", "--scenario", "nope"}, nil, &out, &errb, func(string) string { return "" })
	if code != 2 || !strings.Contains(errb.String(), "db-outage") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}

// TestSandboxRespondWithMocks is the respond stage in the sandbox, driven
// through the console as a person would: an alert from the mock PagerDuty
// opens an incident whose commander is the on-call teammate (carol), a
// second alert in the same group joins it, the mock Jira shows the issue,
// and a Jira outage in the middle loses nothing.
func TestSandboxRespondWithMocks(t *testing.T) {
	db := filepath.Join(t.TempDir(), "sandbox.db")
	url, stop := consoleSandbox(t, db)
	defer stop()
	type vendorsJSON struct {
		Enabled  bool
		Services []string
		State    struct {
			Down   map[string]bool
			Issues []struct{ Key, Title, Status string }
			Faults map[string]int
		}
	}
	var v vendorsJSON
	getJSON(t, url+"/api/vendors", &v)
	if !v.Enabled || strings.Join(v.Services, ",") != "payments,cards,search" {
		t.Fatalf("vendors: %+v", v)
	}
	if code := postJSON(t, url+"/api/vendors/alert", map[string]string{"service": "payments", "title": "Card auth failing"}); code != 200 {
		t.Fatalf("alert: %d", code)
	}
	var ws consoleWorkspace
	wait := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	room := ""
	wait("the alert's war room", func() bool {
		getJSON(t, url+"/api/workspace?user=", &ws)
		room = ws.channel("inc-1-payments-card-auth-failing")
		return room != ""
	})
	messages := func(user string) string {
		var ms []struct{ Text string }
		getJSON(t, url+"/api/messages?user="+user+"&channel="+room, &ms)
		var b strings.Builder
		for _, m := range ms {
			b.WriteString(m.Text + "\n")
		}
		return b.String()
	}
	carol := ws.user("carol")
	wait("carol, on call, takes command", func() bool {
		return strings.Contains(messages(carol), "<@"+carol+"> is on call (PagerDuty: carol) and is now the *commander*")
	})
	postJSON(t, url+"/api/vendors/alert", map[string]string{"service": "cards", "title": "Declines up"})
	wait("the second alert joins INC-1", func() bool { return strings.Contains(messages(carol), "Another alert was grouped into INC-1") })
	wait("Jira shows the issue", func() bool {
		getJSON(t, url+"/api/vendors", &v)
		return len(v.State.Issues) == 1 && v.State.Issues[0].Title == "INC-1 [SEV1] payments: Card auth failing"
	})

	// Jira goes down mid-incident; carol keeps working; Jira comes back.
	postJSON(t, url+"/api/vendors/outage", map[string]any{"vendor": "jira", "down": true})
	if code := postJSON(t, url+"/api/command", map[string]string{"user": carol, "channel": room, "text": "/incident severity sev2"}); code != 200 {
		t.Fatalf("command: %d", code)
	}
	wait("the room hears Jira is down", func() bool { return strings.Contains(messages(carol), "Jira is not answering") })
	postJSON(t, url+"/api/vendors/outage", map[string]any{"vendor": "jira", "down": false})
	wait("the issue catches up", func() bool {
		getJSON(t, url+"/api/vendors", &v)
		return len(v.State.Issues) == 1 && strings.HasPrefix(v.State.Issues[0].Title, "INC-1 [SEV2]")
	})
	if v.State.Faults["jira"] == 0 {
		t.Errorf("no Jira faults were injected: %+v", v.State)
	}

	// The document stage: resolving writes the draft, an action item gets
	// its own Jira issue, and closing that issue in Jira closes the item.
	run := func(text string) {
		t.Helper()
		if code := postJSON(t, url+"/api/command", map[string]string{"user": carol, "channel": room, "text": text}); code != 200 {
			t.Fatalf("%s: %d", text, code)
		}
	}
	run("/incident resolve card client pool restored")
	wait("the postmortem draft in the war room", func() bool { return strings.Contains(messages(carol), "Postmortem draft v1 for INC-1") })
	run("/incident action add Alert on card pool saturation p1")
	var ai string
	wait("the action item's Jira issue", func() bool {
		getJSON(t, url+"/api/vendors", &v)
		for _, is := range v.State.Issues {
			if strings.HasPrefix(is.Title, "AI-1 ") {
				ai = is.Key
			}
		}
		return ai != ""
	})
	if code := postJSON(t, url+"/api/vendors/issue", map[string]string{"key": ai, "status": "Done"}); code != 200 {
		t.Fatalf("done in Jira: %d", code)
	}
	if code := postJSON(t, url+"/api/vendors/issue", map[string]string{"key": ai, "status": "Closed?"}); code != 400 {
		t.Errorf("a bad status: %d", code)
	}
	wait("the sync closes AI-1 in warroom", func() bool { return strings.Contains(messages(carol), "Action item *AI-1* was closed in Jira") })
}

// TestSandboxLeavesProductionAlone is the review's attack on a shell set up
// for production: WARROOM_DB names the production database, and someone
// types `warroom sandbox --reset`. The sandbox neither reads WARROOM_DB nor
// resets (or uses) a database it did not make.
func TestSandboxLeavesProductionAlone(t *testing.T) {
	dir := t.TempDir()
	prod := filepath.Join(dir, "prod.db")
	env := map[string]string{"WARROOM_DB": prod}
	getenv := func(k string) string { return env[k] }
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"migrate"}, nil, &out, &errb, getenv); code != 0 {
		t.Fatalf("migrate: %d %s", code, errb.String())
	}
	before, err := os.ReadFile(prod)
	if err != nil {
		t.Fatal(err)
	}
	// Named outright, it is refused, with the way out.
	errb.Reset()
	code := run(context.Background(), []string{"sandbox", "--reset", "--db", prod, "--addr", "127.0.0.1:0", "--status-addr", "127.0.0.1:0"}, nil, &out, &errb, getenv)
	if code == 0 || !strings.Contains(errb.String(), "was not made by the sandbox") || !strings.Contains(errb.String(), "--db sandbox.db") {
		t.Fatalf("sandbox --reset --db prod.db: exit %d: %s", code, errb.String())
	}
	// Through WARROOM_DB, it is not even looked at: the sandbox uses its own file.
	own := filepath.Join(dir, "own.db")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	sout, serr := &syncBuffer{}, &syncBuffer{}
	go func() {
		done <- run(ctx, []string{"sandbox", "--reset", "--db", own, "--addr", "127.0.0.1:0", "--status-addr", "127.0.0.1:0"}, nil, sout, serr, getenv)
	}()
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(sout.String(), "sandbox ready"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("sandbox never ready: %s", serr.String())
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("sandbox exit %d: %s", code, serr.String())
	}
	after, err := os.ReadFile(prod)
	if err != nil || !bytes.Equal(before, after) {
		t.Fatalf("the production database changed (err %v)", err)
	}
	if _, err := os.Stat(own + ".slack.json"); err != nil {
		t.Fatalf("the sandbox's own database has no workspace beside it: %v", err)
	}
	// And its own file it may reset.
	errb.Reset()
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if code := run(ctx2, []string{"sandbox", "--reset", "--db", own, "--addr", "127.0.0.1:0", "--status-addr", "127.0.0.1:0"}, nil, &out, &errb, getenv); strings.Contains(errb.String(), "was not made by the sandbox") {
		t.Fatalf("the sandbox refused its own file: exit %d %s", code, errb.String())
	}
}

// TestSandboxPicksAgainWhenAPortIsTaken: the ports the sandbox picks for
// the bot and its internal listener are free when picked, but another
// process may bind one first (a CI flake: "bind: address already in use").
// The sandbox picks again instead of failing.
func TestSandboxPicksAgainWhenAPortIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	real, handedOut := freeLoopback, 0
	freeLoopback = func() (string, error) {
		if handedOut++; handedOut == 1 {
			return taken.Addr().String(), nil // the bot's port, already bound
		}
		return real()
	}
	defer func() { freeLoopback = real }()
	db := filepath.Join(t.TempDir(), "s.db")
	out, errb := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"sandbox", "--addr", "127.0.0.1:0", "--db", db}, nil, out, errb, func(string) string { return "" })
	}()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(out.String(), "sandbox ready"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no ready line: %q %q", out.String(), errb.String())
		}
	}
	if handedOut < 3 {
		t.Errorf("ports handed out: %d; the taken one was not replaced", handedOut)
	}
}
