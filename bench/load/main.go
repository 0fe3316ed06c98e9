// Command load drives a running `warroom serve` the way Slack does — signed
// slash commands over HTTP, the simulator as the Web API — at fixed rates,
// open loop (each request is sent on schedule whether or not earlier ones
// were answered, and its latency counts from when it was due), and, in the
// same run, a floor: a bare net/http handler that verifies the signature
// and inserts one row into SQLite with warroom's settings.
//
//	go run ./bench/load                       # builds warroom, 50..2000 commands/s, 5 s each
//	go run ./bench/load -rates 200 -duration 20s -command status
//	go run ./bench/load -find -peer           # each side's highest sustained rate, and the ratios
//
// It prints, per rate and target, the commands sent and acknowledged, the
// p50, p99 and max latency, and the rate actually achieved. With -find it
// then raises each target's rate in steps until a run fails (a command
// unanswered, p99 over 100 ms, or under 97% of the rate achieved; a
// failing step is tried once more, as these machines are noisy) and
// reports the highest rate held, and warroom's as a ratio of the floor's.
// At the end it counts warroom's timeline: every acknowledged command
// must be in it.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/internal/floor"
	"github.com/warroom/warroom/slacksim"
	"github.com/warroom/warroom/store"
)

const secret = "load-test-signing-secret-0123456789"

func main() {
	rates := flag.String("rates", "50,200,500,1000,2000", "commands per second to try, comma-separated")
	duration := flag.Duration("duration", 5*time.Second, "how long each rate runs")
	command := flag.String("command", "note", "note or status")
	bin := flag.String("warroom", "", "warroom binary (default: go build ./cmd/warroom)")
	peer := flag.Bool("peer", false, "also measure the Bolt-JS peer in bench/peer (needs node and npm; installs @slack/bolt there)")
	seed := flag.Int("seed", 0, "incidents to put in the database before warroom starts (the first 1,000 open)")
	find := flag.Bool("find", false, "after -rates, find each target's highest sustained rate (p99 <= 100 ms)")
	from := flag.Int("from", 1000, "with -find: the first rate tried")
	step := flag.Int("step", 250, "with -find: how much each step adds")
	flag.Parse()
	dir, err := os.MkdirTemp("", "warroom-load")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if *bin == "" {
		*bin = filepath.Join(dir, "warroom")
		build := exec.Command("go", "build", "-o", *bin, "./cmd/warroom")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			log.Fatalf("building warroom: %v", err)
		}
	}
	sim, err := slacksim.New(slacksim.Options{SigningSecret: secret})
	if err != nil {
		log.Fatal(err)
	}
	defer sim.Close()
	user := sim.AddUser("alice")
	addr := freeAddr()
	sim.SetBotURL("http://" + addr)
	srv := exec.Command(*bin, "serve")
	srv.Env = append(os.Environ(), "SLACK_BOT_TOKEN="+slacksim.BotToken, "SLACK_API_URL="+sim.APIURL(), "SLACK_SIGNING_SECRET="+secret,
		"WARROOM_DB="+filepath.Join(dir, "warroom.db"), "WARROOM_ADDR="+addr, "WARROOM_STATUS_ADDR=off", "WARROOM_ADMIN_ADDR=off", "WARROOM_LOG_LEVEL=error")
	srv.Stderr = os.Stderr
	if *seed > 0 {
		seedIncidents(filepath.Join(dir, "warroom.db"), *seed)
	}
	began := time.Now()
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	defer func() { srv.Process.Signal(os.Interrupt); srv.Wait() }()
	waitHealthy("http://" + addr + "/healthz")
	fmt.Printf("start to /healthz 200 with %d incidents: %v; RSS at idle: %s\n\n", *seed, time.Since(began).Round(time.Millisecond), rss(srv.Process.Pid))
	general, _ := sim.ChannelByNameID("general")
	if _, err := sim.SlashCommand(context.Background(), user, general, "declare sev2 Load test"); err != nil {
		log.Fatal(err)
	}
	var room string
	for deadline := time.Now().Add(10 * time.Second); room == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		room, _ = sim.ChannelByNameID(fmt.Sprintf("inc-%d-load-test", *seed+1))
	}
	if room == "" {
		log.Fatal("no war room")
	}
	fl, err := floor.Start(filepath.Join(dir, "floor.db"), secret)
	if err != nil {
		log.Fatal(err)
	}
	defer fl.Close()
	targets := []struct{ name, url string }{{"warroom", "http://" + addr + "/slack/commands"}, {"floor", "http://" + fl.Addr + "/slack/commands"}}
	if *peer {
		url, stop := startPeer(filepath.Join(dir, "peer.log"))
		defer stop()
		targets = append(targets, struct{ name, url string }{"Bolt-JS peer", url})
	}

	text := func(i int) string {
		if *command == "status" {
			return fmt.Sprintf("status identified load %d", i)
		}
		return fmt.Sprintf("note load %d", i)
	}
	var warroomAcked int
	send := func(target string, rate int, d time.Duration, text func(int) string) result {
		res := openLoop(target, rate, d, func(i int) []byte {
			return []byte(url.Values{"user_id": {user}, "channel_id": {room}, "command": {"/incident"},
				"text": {text(i)}, "response_url": {sim.URL() + "/noop"}, "trigger_id": {"t"}}.Encode())
		})
		if target == targets[0].url {
			warroomAcked += res.acked
		}
		return res
	}
	// Warm up each target for a second (discarded): connections, caches,
	// and whatever warroom does just after it starts.
	for _, target := range targets {
		send(target.url, 100, time.Second, func(i int) string { return text(-1 - i) })
	}
	time.Sleep(time.Second)
	fmt.Printf("| rate/s | target | sent | acked | p50 ms | p99 ms | max ms | achieved/s |\n|---|---|---|---|---|---|---|---|\n")
	row := func(rate int, name string, res result) {
		mem := ""
		if name == "warroom" {
			mem = " (RSS " + rss(srv.Process.Pid) + ")"
		}
		fmt.Printf("| %d | %s%s | %d | %d | %.2f | %.2f | %.1f | %.0f |\n", rate, name, mem, res.sent, res.acked, ms(res.pct(0.5)), ms(res.pct(0.99)), ms(res.pct(1)), res.achieved)
	}
	for _, r := range strings.Split(*rates, ",") {
		if strings.TrimSpace(r) == "" {
			continue
		}
		rate, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil || rate <= 0 {
			log.Fatalf("bad rate %q", r)
		}
		for _, target := range targets {
			row(rate, target.name, send(target.url, rate, *duration, text))
			time.Sleep(time.Second) // let the outbox catch up between runs
		}
	}
	if *find {
		held := map[string]int{}
		for _, target := range targets {
			for rate, failed := *from, 0; failed < 2; rate += *step {
				res := send(target.url, rate, *duration, text)
				row(rate, target.name, res)
				time.Sleep(2 * time.Second)
				if res.acked == res.sent && res.pct(0.99) <= 100*time.Millisecond && res.achieved >= 0.97*float64(rate) {
					held[target.name], failed = rate, 0
					continue
				}
				if failed++; failed == 1 {
					rate -= *step // noisy machine: the same rate once more before giving up
				}
			}
		}
		fmt.Printf("\n| target | highest rate held (p99 <= 100 ms) | ratio to the floor |\n|---|---|---|\n")
		for _, target := range targets {
			fmt.Printf("| %s | %d/s | %.2f |\n", target.name, held[target.name], float64(held[target.name])/float64(max(held["floor"], 1)))
		}
	}
	// Durable means in the timeline: count it (warroom has stopped writing
	// commands; its outbox may still be posting, which adds no entries).
	n := countTimeline(filepath.Join(dir, "warroom.db"), *command)
	fmt.Printf("\nwarroom acknowledged %d commands; its timeline holds %d of them\n", warroomAcked, n)
	if n < warroomAcked {
		log.Fatalf("%d acknowledged commands are missing from the timeline", warroomAcked-n)
	}
}

// countTimeline counts the load's entries (kind note or status, by the load's user) in warroom's timeline.
func countTimeline(path, kind string) int {
	db, err := sql.Open("sqlite", store.DSN(path, false))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM timeline WHERE kind = ? AND raw LIKE '% load %'`, kind).Scan(&n); err != nil {
		log.Fatal(err)
	}
	return n
}

type result struct {
	sent, acked int
	lat         []time.Duration
	achieved    float64
}

func (r result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[int(p*float64(len(r.lat)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// openLoop sends rate requests per second for d, each at its due time on
// its own goroutine, and measures each from its due time to its answer.
func openLoop(target string, rate int, d time.Duration, body func(int) []byte) result {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 1024}}
	n := int(float64(rate) * d.Seconds())
	interval := time.Second / time.Duration(rate)
	var mu sync.Mutex
	var lat []time.Duration
	var acked atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := body(i)
			ts := time.Now().Unix()
			req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(data))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			slacksim.SignRequest(req, secret, ts, data)
			resp, err := client.Do(req)
			if err != nil {
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			took := time.Since(due)
			if resp.StatusCode == http.StatusOK {
				acked.Add(1)
				mu.Lock()
				lat = append(lat, took)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return result{sent: n, acked: int(acked.Load()), lat: lat, achieved: float64(acked.Load()) / elapsed.Seconds()}
}

// startPeer runs bench/peer/app.js (installing @slack/bolt first if
// needed) and returns its command URL.
func startPeer(logFile string) (string, func()) {
	if _, err := os.Stat("bench/peer/node_modules/@slack/bolt"); err != nil {
		install := exec.Command("npm", "install", "--prefix", "bench/peer", "--no-audit", "--no-fund", "--loglevel=error")
		install.Stdout, install.Stderr = os.Stderr, os.Stderr
		if err := install.Run(); err != nil {
			log.Fatalf("installing the peer's @slack/bolt: %v", err)
		}
	}
	addr := freeAddr()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("node", "bench/peer/app.js")
	cmd.Env = append(os.Environ(), "SLACK_SIGNING_SECRET="+secret, "PORT="+port, "LOG="+logFile)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		log.Fatalf("starting the peer: %v", err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log.Fatal("the peer did not start")
		}
	}
	return "http://127.0.0.1:" + port + "/slack/events", func() { cmd.Process.Kill(); cmd.Wait() }
}

// rss is the process's resident set size, from /proc (Linux).
func rss(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return fmt.Sprintf("%.1f MB", float64(kb)/1024)
		}
	}
	return "?"
}

// seedIncidents writes n acknowledged incidents (the newest 1,000 open) in
// one transaction, through warroom's own store. (Unacknowledged SEV1/SEV2
// ones would each call everyone in at the first sweep: a storm of its own.)
func seedIncidents(path string, n int) {
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC()
	err = db.Update(ctx, func(tx incident.Tx) error {
		for i := range n {
			at := now.Add(-time.Duration(n-i) * time.Hour)
			inc := &incident.Incident{Title: fmt.Sprintf("seeded %d", i), Severity: incident.Severity(1 + i%4), Stage: incident.StageDocument,
				Status: incident.StatusResolved, DeclaredBy: "U1", Commander: "U1", Roles: map[string]string{}, DeclaredAt: at, UpdatedAt: at,
				AcknowledgedAt: at.Add(2 * time.Minute), ResolvedAt: at.Add(time.Hour)}
			if i >= n-1000 {
				inc.Stage, inc.Status, inc.ResolvedAt = incident.StageRespond, incident.StatusIdentified, time.Time{}
			}
			if err := tx.CreateIncident(ctx, inc); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitHealthy(u string) {
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
	}
	log.Fatal("warroom did not start")
}
