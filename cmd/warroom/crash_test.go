package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/warroom/warroom/internal/pgtest"
	"github.com/warroom/warroom/slacksim"
)

// TestMain lets the crash tests run this test binary as `warroom serve` in
// a child process they can kill -9 or signal, handling signals as the
// real binary does.
func TestMain(m *testing.M) {
	if os.Getenv("WARROOM_TEST_CHILD") == "serve" {
		os.Exit(runWithSignals([]string{"serve"}))
	}
	os.Exit(pgtest.Main(m))
}

// TestKillNineUnderLoad kills warroom with SIGKILL 20 times at random
// moments while four people send notes as fast as it answers, restarting
// it each time. Every note that was acknowledged is in the timeline
// exactly once; one whose request died with the process is there at most
// once; and after the last restart the outbox delivers every note to the
// war room.
func TestKillNineUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("20 crash-restart cycles take a while")
	}
	c := newChild(t, "WARROOM_LOG_LEVEL=warn", "WARROOM_RETRY_FIRST=50ms", "WARROOM_RETRY_MAX=500ms")
	sim, dir := c.sim, c.dir
	var users []string
	for _, n := range []string{"alice", "bob", "carol", "dave"} {
		users = append(users, sim.AddUser(n))
	}
	general, _ := sim.ChannelByNameID("general")
	c.launch()
	if r, err := sim.SlashCommand(t.Context(), users[0], general, "declare sev2 Crash drill"); err != nil || !strings.Contains(r.Text, "INC-1") {
		t.Fatalf("declare: %v %q", err, r.Text)
	}
	var room string
	for deadline := time.Now().Add(10 * time.Second); room == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		room, _ = sim.ChannelByNameID("inc-1-crash-drill")
	}
	if room == "" {
		t.Fatal("no war room")
	}

	var mu sync.Mutex
	acked, sent := map[string]bool{}, map[string]bool{}
	for cycle := range 20 {
		ctx, stop := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		for u := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					tok := fmt.Sprintf("crash-%d-%d-%d", cycle, u, i)
					mu.Lock()
					sent[tok] = true
					mu.Unlock()
					r, err := sim.SlashCommand(context.Background(), users[u], room, "note "+tok)
					if err == nil && strings.Contains(r.Text, "Noted") {
						mu.Lock()
						acked[tok] = true
						mu.Unlock()
					} else {
						time.Sleep(5 * time.Millisecond) // the process is down
					}
				}
			}()
		}
		// Under -race each command takes several times longer: the window
		// stretches so each cycle still carries load when the kill comes.
		time.Sleep(time.Duration(50+rand.IntN(300)) * raceSlowdown * time.Millisecond)
		c.kill()
		stop()
		wg.Wait()
		c.launch()
	}

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "warroom.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	inTimeline := timelineNotes(t, db, "json_extract(detail, '$.text')")
	checkOnce(t, acked, sent, inTimeline)
	if len(acked) < 100 {
		t.Errorf("only %d notes were acknowledged across the run; the load was too light to prove anything", len(acked))
	}
	// Delivery resumes: every acknowledged note reaches the war room (a
	// backlog of posts goes out several to a message, one per line).
	posted := func() (notes, messages int) {
		for _, m := range sim.Messages(room) {
			if k := strings.Count(m.Text, "crash-"); k > 0 {
				notes, messages = notes+k, messages+1
			}
		}
		return notes, messages
	}
	deadline := time.Now().Add(60 * time.Second)
	missing := -1
	for missing != 0 && time.Now().Before(deadline) {
		missing = 0
		msgs := sim.Messages(room)
		for tok := range acked {
			found := false
			for _, m := range msgs {
				if strings.Contains(m.Text, tok+" ") || strings.Contains(m.Text, tok+"\n") || strings.HasSuffix(m.Text, tok) {
					found = true
					break
				}
			}
			if !found {
				missing++
			}
		}
		if missing > 0 {
			time.Sleep(200 * time.Millisecond)
		}
	}
	notes, messages := posted()
	t.Logf("20 kill -9 cycles: %d notes sent, %d acknowledged, %d in the timeline, %d notes posted to the war room in %d messages",
		len(sent), len(acked), len(inTimeline), notes, messages)
	if missing != 0 {
		t.Errorf("%d of %d acknowledged notes never reached the war room", missing, len(acked))
	}
	// And none twice: a post whose process died before marking it
	// delivered is found in the channel's history after the restart.
	if notes != len(inTimeline) {
		t.Errorf("%d notes in the timeline, %d posted: a post was sent twice", len(inTimeline), notes)
	}
}

// timelineNotes counts INC-1's recorded notes by their text; textOf is the
// SQL that reads an entry's text out of its JSON detail.
func timelineNotes(t *testing.T, db *sql.DB, textOf string) map[string]int {
	t.Helper()
	rows, err := db.Query(`SELECT ` + textOf + ` FROM timeline WHERE incident = 1 AND kind = 'note' AND outcome = 'ok'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	notes := map[string]int{}
	for rows.Next() {
		var text string
		rows.Scan(&text)
		notes[text]++
	}
	return notes
}

// checkOnce fails t unless every acknowledged note is in the timeline
// exactly once, and none is there twice or was never sent.
func checkOnce(t *testing.T, acked, sent map[string]bool, inTimeline map[string]int) {
	t.Helper()
	lost, twice := 0, 0
	for tok := range acked {
		if inTimeline[tok] != 1 {
			lost++
		}
	}
	for tok, n := range inTimeline {
		if n > 1 || !sent[tok] {
			twice++
		}
	}
	if lost != 0 || twice != 0 {
		t.Errorf("%d acknowledged notes not in the timeline exactly once; %d notes there more than once", lost, twice)
	}
}

// child is warroom serve in a child process (this test binary, see
// TestMain) against a simulator in the test, so the test can kill it,
// signal it and start it again on the same database.
type child struct {
	t    *testing.T
	sim  *slacksim.Server
	dir  string
	addr string
	env  []string
	cmd  *exec.Cmd
	logs *syncBuffer
}

func newChild(t *testing.T, env ...string) *child {
	t.Helper()
	sim, err := slacksim.New(slacksim.Options{SigningSecret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	c := &child{t: t, sim: sim, dir: t.TempDir(), addr: freeAddr(t), logs: &syncBuffer{}}
	sim.SetBotURL("http://" + c.addr)
	c.env = append(os.Environ(), "WARROOM_TEST_CHILD=serve", "SLACK_BOT_TOKEN="+slacksim.BotToken, "SLACK_API_URL="+sim.APIURL(),
		"SLACK_SIGNING_SECRET="+testSecret, "WARROOM_DB="+filepath.Join(c.dir, "warroom.db"), "WARROOM_ADDR="+c.addr,
		"WARROOM_STATUS_ADDR=off", "WARROOM_ADMIN_ADDR=off")
	c.env = append(c.env, env...)
	t.Cleanup(func() {
		if c.cmd != nil && c.cmd.ProcessState == nil {
			c.cmd.Process.Kill()
			c.cmd.Wait()
		}
	})
	return c
}

// launch starts warroom and waits for /healthz.
func (c *child) launch() {
	c.t.Helper()
	c.cmd = exec.Command(os.Args[0], "-test.run=^$")
	c.cmd.Env, c.cmd.Stdout, c.cmd.Stderr = c.env, c.logs, c.logs
	if err := c.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if c.healthy() {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("warroom did not come up:\n%s", c.logs.String())
		}
	}
}

func (c *child) healthy() bool {
	resp, err := http.Get("http://" + c.addr + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// kill ends warroom with SIGKILL: no shutdown at all.
func (c *child) kill() {
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()
}

// TestRemindersFireOnceAcrossCrashes: a public update falls due while
// warroom is dead (SIGKILL, no shutdown). After the restart the "due now"
// reminder is posted once; three more kill -9 and restart cycles post
// neither it nor the earlier "in 5 minutes" reminder again.
func TestRemindersFireOnceAcrossCrashes(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a public update to fall due (up to a minute)")
	}
	c := newChild(t, "WARROOM_UPDATE_CADENCE=sev2=1m", "WARROOM_SWEEP_EVERY=100ms", "WARROOM_LOG_LEVEL=warn")
	alice := c.sim.AddUser("alice")
	general, _ := c.sim.ChannelByNameID("general")
	c.launch()
	if r, err := c.sim.SlashCommand(t.Context(), alice, general, "declare sev2 Reminder drill"); err != nil || !strings.Contains(r.Text, "INC-1") {
		t.Fatalf("declare: %v %q", err, r.Text)
	}
	var room string
	for deadline := time.Now().Add(10 * time.Second); room == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		room, _ = c.sim.ChannelByNameID("inc-1-reminder-drill")
	}
	if room == "" {
		t.Fatal("no war room")
	}
	// A published update sets the next one's due time, 30 to 90 seconds away
	// (the text says a minute, not a second: never less than half a minute).
	// The channel exists a moment before warroom has recorded it as the
	// war room, so the first try may be told the room is not one yet.
	n := len(c.sim.Views())
	for deadline := time.Now().Add(10 * time.Second); len(c.sim.Views()) == n; time.Sleep(50 * time.Millisecond) {
		r, err := c.sim.SlashCommand(t.Context(), alice, room, "update investigating")
		if time.Now().After(deadline) {
			t.Fatalf("no update preview: %v %q", err, r.Text)
		}
	}
	if _, err := c.sim.SubmitView(t.Context(), c.sim.Views()[n].ID, map[string]map[string]string{
		"update_status": {"update_status": "investigating"}, "update_body": {"update_body": "We are investigating.\n" + nextBy(90*time.Second) + "."}}); err != nil {
		t.Fatal(err)
	}
	count := func(text string) int {
		k := 0
		for _, m := range c.sim.Messages(room) {
			if strings.Contains(m.Text, text) {
				k++
			}
		}
		return k
	}
	const remind, ping = "the next public update for INC-1 is due by", "the public update for INC-1 is due now"
	for deadline := time.Now().Add(10 * time.Second); count(remind) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no reminder five minutes before the due time")
		}
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(c.dir, "warroom.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var dueText string
	if err := db.QueryRow(`SELECT next_update_due FROM incidents WHERE number = 1`).Scan(&dueText); err != nil {
		t.Fatal(err)
	}
	due, err := time.Parse(time.RFC3339Nano, dueText)
	if err != nil {
		t.Fatalf("due %q: %v", dueText, err)
	}
	c.kill()
	time.Sleep(time.Until(due) + 300*time.Millisecond) // it falls due while warroom is dead
	c.launch()
	for deadline := time.Now().Add(10 * time.Second); count(ping) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the update that fell due during the outage was never reminded:\n%s", c.logs.String())
		}
	}
	for range 3 {
		c.kill()
		c.launch()
		time.Sleep(500 * time.Millisecond) // five sweeps
	}
	var entries int
	db.QueryRow(`SELECT COUNT(*) FROM timeline WHERE incident = 1 AND kind = 'reminder'`).Scan(&entries)
	t.Logf("due %s; reminders posted: %d before, %d at the due time; %d on the timeline", due.Format("15:04:05"), count(remind), count(ping), entries)
	if count(remind) != 1 || count(ping) != 1 || entries != 2 {
		t.Errorf("want each reminder once: %d before, %d at the due time, %d timeline entries", count(remind), count(ping), entries)
	}
}
