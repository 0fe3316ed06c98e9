package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warroom/warroom/internal/pgtest"
	"github.com/warroom/warroom/slacksim"
)

// balancer is the load balancer in front of the replicas, as a team runs
// one: requests go round-robin to the replicas, a replica that refuses the
// connection is skipped (it is down), and a request that dies with its
// replica is answered 502, not retried (it may have been taken).
type balancer struct {
	backends []string
	next     atomic.Uint64
	srv      *http.Server
	client   *http.Client
}

func newBalancer(t *testing.T, addr string, backends ...string) *balancer {
	t.Helper()
	lb := &balancer{backends: backends, client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	lb.srv = &http.Server{Handler: lb}
	go lb.srv.Serve(ln)
	t.Cleanup(func() { lb.srv.Close() })
	return lb
}

func (lb *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	start := lb.next.Add(1)
	for i := range len(lb.backends) {
		backend := lb.backends[(int(start)+i)%len(lb.backends)]
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, "http://"+backend+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := lb.client.Do(req)
		var op *net.OpError
		if err != nil && errors.As(err, &op) && op.Op == "dial" {
			continue // down: the next one
		}
		if err != nil {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
		resp.Body.Close()
		return
	}
	http.Error(w, "no replica is up", http.StatusBadGateway)
}

// newReplica is warroom serve in a child process on the shared database,
// answering the simulator's Slack through the balancer.
func newReplica(t *testing.T, sim *slacksim.Server, dsn string, env ...string) *child {
	t.Helper()
	c := &child{t: t, sim: sim, dir: t.TempDir(), addr: freeAddr(t), logs: &syncBuffer{}}
	c.env = append(os.Environ(), "WARROOM_TEST_CHILD=serve", "SLACK_BOT_TOKEN="+slacksim.BotToken, "SLACK_API_URL="+sim.APIURL(),
		"SLACK_SIGNING_SECRET="+testSecret, "WARROOM_DB="+dsn, "WARROOM_ADDR="+c.addr,
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

// TestReplicasSurviveKillNine runs two replicas of warroom on one
// PostgreSQL database behind a load balancer, sends signed commands
// through it at 200 a second for 30 seconds, and kills one replica with
// SIGKILL three times, restarting it each time. Every acknowledged command
// is in the timeline exactly once; every note reaches the war room exactly
// once; the public update's reminders and the report (scheduled every
// minute, on both replicas) fire once each.
func TestReplicasSurviveKillNine(t *testing.T) {
	if testing.Short() {
		t.Skip("30 seconds of load on two replicas")
	}
	pg := pgtest.Shared(t)
	dsn := pg.NewDB(t)
	sim, err := slacksim.New(slacksim.Options{SigningSecret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	lbAddr := freeAddr(t)
	sim.SetBotURL("http://" + lbAddr)
	reports := sim.AddChannel("incident-reports", false)
	pd, jr, cfg := vendors(t) // PagerDuty and Jira, as the respond tests have them
	env := []string{"WARROOM_CONFIG=" + cfg, "WARROOM_LOG_LEVEL=warn", "WARROOM_RETRY_FIRST=50ms", "WARROOM_RETRY_MAX=500ms", "WARROOM_DECLARE_LIMIT=0",
		"WARROOM_UPDATE_CADENCE=sev2=1m", "WARROOM_SWEEP_EVERY=200ms", "WARROOM_REPORT_SCHEDULE=* * * * *", "WARROOM_REPORT_CHANNEL=" + reports}
	a, b := newReplica(t, sim, dsn, env...), newReplica(t, sim, dsn, env...)
	newBalancer(t, lbAddr, a.addr, b.addr)
	// Both start at once: one applies the schema, the other waits for it.
	var wg sync.WaitGroup
	for _, r := range []*child{a, b} {
		wg.Add(1)
		go func() { defer wg.Done(); r.launch() }()
	}
	wg.Wait()

	var users []string
	for _, n := range []string{"alice", "bob", "carol", "dave"} {
		users = append(users, sim.AddUser(n))
	}
	general, _ := sim.ChannelByNameID("general")
	if r, err := sim.SlashCommand(t.Context(), users[0], general, "declare sev2 Replica drill"); err != nil || !strings.Contains(r.Text, "INC-1") {
		t.Fatalf("declare: %v %q", err, r.Text)
	}
	var room string
	for deadline := time.Now().Add(10 * time.Second); room == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		room, _ = sim.ChannelByNameID("inc-1-replica-drill")
	}
	if room == "" {
		t.Fatal("no war room")
	}
	// A public update, so reminders fall due during the run (by alice as
	// communicator: the commander is whoever PagerDuty has on call).
	n := len(sim.Views())
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if r, err := sim.SlashCommand(t.Context(), users[0], room, "communicator me"); err == nil && strings.Contains(r.Text, "communicator") && !strings.Contains(r.Text, "not an incident") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("alice could not become communicator")
		}
	}
	for deadline := time.Now().Add(10 * time.Second); len(sim.Views()) == n; time.Sleep(50 * time.Millisecond) {
		r, err := sim.SlashCommand(t.Context(), users[0], room, "update investigating")
		if time.Now().After(deadline) {
			t.Fatalf("no update preview: %v %q", err, r.Text)
		}
	}
	if _, err := sim.SubmitView(t.Context(), sim.Views()[n].ID, map[string]map[string]string{
		"update_status": {"update_status": "investigating"}, "update_title": {"update_title": "Replica drill"},
		"update_body": {"update_body": "We are investigating.\n" + nextBy(60*time.Second) + "."}}); err != nil {
		t.Fatal(err)
	}

	// 200 commands a second, paced, for 30 seconds, each from one of four
	// people; kill -9 replica a three times meanwhile.
	var mu sync.Mutex
	acked, sent, refused := map[string]bool{}, map[string]bool{}, 0
	ctx, stop := context.WithTimeout(t.Context(), 30*time.Second)
	defer stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	sem := make(chan struct{}, 64)
	var load sync.WaitGroup
	load.Add(1)
	go func() {
		defer load.Done()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			select {
			case sem <- struct{}{}:
			default:
				continue // 64 in flight: the replicas are behind; skip a beat
			}
			tok := fmt.Sprintf("rep-%d", i)
			mu.Lock()
			sent[tok] = true
			mu.Unlock()
			load.Add(1)
			go func() {
				defer load.Done()
				defer func() { <-sem }()
				r, err := sim.SlashCommand(context.Background(), users[i%4], room, "note "+tok)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && strings.Contains(r.Text, "Noted"):
					acked[tok] = true
				case err == nil && strings.Contains(r.Text, "not* recorded"):
					refused++
				}
			}()
		}
	}()
	// Meanwhile incidents for a PagerDuty service, each filing a Jira
	// issue, and a page from each: effects for the other vendors, through
	// the same kills.
	type declared struct{ title, room string }
	var extra []declared
	var paged int
	load.Add(1)
	go func() {
		defer load.Done()
		for k := 1; ctx.Err() == nil && k <= 6; k++ {
			title := fmt.Sprintf("replica drill %d", k)
			r, err := sim.SlashCommand(context.Background(), users[1], general, "declare sev1 payments: "+title)
			if err != nil || !strings.Contains(r.Text, "Declared") {
				time.Sleep(time.Second) // its replica died under it: declare another
				continue
			}
			var room string
			for deadline := time.Now().Add(10 * time.Second); room == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				for _, ch := range sim.Channels() {
					if strings.HasSuffix(ch.Name, "-"+strings.ReplaceAll(title, " ", "-")) {
						room = ch.ID
					}
				}
			}
			mu.Lock()
			extra = append(extra, declared{title, room})
			mu.Unlock()
			if room != "" {
				for attempt := 0; attempt < 5; attempt++ {
					if r, err := sim.SlashCommand(context.Background(), users[1], room, "page dave"); err == nil && strings.Contains(r.Text, "Paging") {
						mu.Lock()
						paged++
						mu.Unlock()
						break
					}
					time.Sleep(200 * time.Millisecond)
				}
			}
			time.Sleep(3 * time.Second)
		}
	}()
	began := time.Now()
	for range 3 {
		time.Sleep(7 * time.Second)
		a.kill()
		time.Sleep(time.Second)
		a.launch()
	}
	load.Wait()
	elapsed := time.Since(began).Seconds()

	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	inTimeline := timelineNotes(t, db, "CAST(detail AS json)->>'text'")
	checkOnce(t, acked, sent, inTimeline)
	if len(acked) < int(elapsed*50) {
		t.Errorf("only %d notes acknowledged in %.0fs: too little load to prove anything", len(acked), elapsed)
	}

	// Every note in the timeline reaches the war room exactly once, and
	// the reminders and reports fire once.
	countNotes := func() (notes int, per map[string]int) {
		per = map[string]int{}
		for _, m := range sim.Messages(room) {
			for _, f := range strings.FieldsFunc(m.Text, func(r rune) bool { return r == ' ' || r == '\n' || r == '*' || r == '_' }) {
				if strings.HasPrefix(f, "rep-") && inTimeline[f] > 0 {
					per[f]++
				}
			}
		}
		return len(per), per
	}
	const remind, ping = "the next public update for INC-1 is due by", "the public update for INC-1 is due now"
	count := func(ch, text string) int {
		k := 0
		for _, m := range sim.Messages(ch) {
			if strings.Contains(m.Text, text) {
				k++
			}
		}
		return k
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		notes, _ := countNotes()
		if notes == len(inTimeline) && count(room, ping) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 90s: %d of %d notes posted; %d due-now reminders\nreplica a:\n%s\nreplica b:\n%s", notes, len(inTimeline), count(room, ping), a.logs.String(), b.logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // a duplicate would have arrived by now
	_, per := countNotes()
	dup := 0
	for _, k := range per {
		if k > 1 {
			dup++
		}
	}
	// A report claimed at a minute's turn is posted through the outbox a
	// moment later.
	var slots, reportPosts int
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		// (The slot that passed before the first start is marked seen
		// without a report: the reports are the timeline's report entries.)
		db.QueryRow(`SELECT COUNT(*) FROM timeline WHERE kind = 'report'`).Scan(&slots)
		if reportPosts = len(sim.Messages(reports)); reportPosts >= slots || time.Now().After(deadline) {
			break
		}
	}
	t.Logf("two replicas, 3 kill -9 of one: %d notes sent in %.0fs, %d acknowledged, %d refused as not recorded, %d in the timeline once, %d posted to the war room (%d twice); reminders %d before and %d at the due time; %d report slots, %d report posts",
		len(sent), elapsed, len(acked), refused, len(inTimeline), len(per), dup, count(room, remind), count(room, ping), slots, reportPosts)
	if dup != 0 {
		t.Errorf("%d notes were posted to the war room twice", dup)
	}
	if count(room, remind) != 1 || count(room, ping) != 1 {
		t.Errorf("want each reminder once across the replicas: %d before, %d at the due time", count(room, remind), count(room, ping))
	}
	if slots == 0 || reportPosts != slots {
		t.Errorf("%d report slots claimed, %d report posts: want one post per slot", slots, reportPosts)
	}

	// Jira: one issue per declared incident; PagerDuty: one incident per
	// page (warroom's key for it is unique per incident and person).
	var declaredN int
	db.QueryRow(`SELECT COUNT(*) FROM incidents WHERE service = 'payments'`).Scan(&declaredN)
	waitFor(t, 60*time.Second, "Jira and PagerDuty catch up", func() bool {
		return len(jr.Issues()) >= declaredN+1 && len(pd.Incidents()) >= paged
	})
	time.Sleep(2 * time.Second) // a duplicate would have arrived by now
	summaries, keys := map[string]int{}, map[string]int{}
	for _, is := range jr.Issues() {
		summaries[is.Summary]++
	}
	for _, in := range pd.Incidents() {
		keys[in.Key]++
	}
	dupIssues, dupPages := 0, 0
	for _, n := range summaries {
		if n > 1 {
			dupIssues++
		}
	}
	for _, n := range keys {
		if n > 1 {
			dupPages++
		}
	}
	t.Logf("vendors through the kills: %d incidents for payments declared (%d acknowledged), %d Jira issues (%d twice); %d pages acknowledged, %d PagerDuty incidents (%d twice)",
		declaredN, len(extra), len(jr.Issues()), dupIssues, paged, len(pd.Incidents()), dupPages)
	if len(jr.Issues()) != declaredN+1 || dupIssues != 0 {
		t.Errorf("Jira has %d issues for %d incidents (%d filed twice); want one each", len(jr.Issues()), declaredN+1, dupIssues)
	}
	if len(pd.Incidents()) != paged || dupPages != 0 {
		t.Errorf("PagerDuty has %d incidents for %d pages (%d twice); want one each", len(pd.Incidents()), paged, dupPages)
	}
}
