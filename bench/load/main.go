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
	"github.com/warroom/warroom/internal/pgtest"
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
	pg := flag.Bool("postgres", false, "also run warroom on PostgreSQL, one replica and two (a throwaway server from the PostgreSQL binaries, fsync on)")
	only := flag.String("only", "", "measure only the targets whose names contain this (e.g. postgres)")
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
	base := []string{"SLACK_BOT_TOKEN=" + slacksim.BotToken, "SLACK_API_URL=" + sim.APIURL(), "SLACK_SIGNING_SECRET=" + secret,
		"WARROOM_STATUS_ADDR=off", "WARROOM_ADMIN_ADDR=off", "WARROOM_LOG_LEVEL=error"}
	sqlitePath := filepath.Join(dir, "warroom.db")
	if *seed > 0 {
		seedIncidents(sqlitePath, *seed)
	}
	var instances []*instance
	lite := launch(*bin, "warroom", sqlitePath, 1, base, sim, user, *seed)
	defer lite.stop()
	instances = append(instances, lite)
	if *pg {
		settings := []string{"shared_buffers=128MB"}
		if os.Getenv("LOAD_PGSTATS") != "" {
			settings = append(settings, "shared_preload_libraries=pg_stat_statements", "pg_stat_statements.track=all")
		}
		if extra := os.Getenv("LOAD_PGSETTINGS"); extra != "" {
			settings = append(settings, strings.Split(extra, ",")...) // e.g. log_min_duration_statement=10,log_min_messages=log
		}
		server, err := pgtest.StartServer(pgtest.Options{Durable: true, Settings: settings})
		if err != nil {
			log.Fatalf("PostgreSQL: %v", err)
		}
		defer server.Stop()
		if os.Getenv("LOAD_PGSTATS") != "" {
			defer pgStats(server)
		}
		for _, n := range []int{1, 2} {
			dsn, err := server.NewDatabase(fmt.Sprintf("load%d", n))
			if err != nil {
				log.Fatal(err)
			}
			if os.Getenv("LOAD_PGUNIX") != "" { // the server's Unix socket instead of TCP
				dsn = fmt.Sprintf("postgres://postgres@/load%d?host=%s&port=%d&sslmode=disable", n, server.Dir, server.Port)
			}
			name := "warroom on PostgreSQL"
			if n > 1 {
				name = fmt.Sprintf("warroom on PostgreSQL, %d replicas", n)
			}
			in := launch(*bin, name, dsn, n, base, sim, user, 0)
			defer in.stop()
			instances = append(instances, in)
		}
	}
	fl, err := floor.Start(filepath.Join(dir, "floor.db"), secret)
	if err != nil {
		log.Fatal(err)
	}
	defer fl.Close()
	type target struct {
		name string
		urls []string
		in   *instance // nil for the floor and the peer
	}
	var targets []target
	for _, in := range instances {
		targets = append(targets, target{in.name, in.urls, in})
	}
	targets = append(targets, target{"floor", []string{"http://" + fl.Addr + "/slack/commands"}, nil})
	if *peer {
		url, stop := startPeer(filepath.Join(dir, "peer.log"))
		defer stop()
		targets = append(targets, target{"Bolt-JS peer", []string{url}, nil})
	}
	if *only != "" {
		kept := targets[:0]
		for _, t := range targets {
			if strings.Contains(t.name, *only) {
				kept = append(kept, t)
			}
		}
		targets = kept
	}

	text := func(i int) string {
		if *command == "status" {
			return fmt.Sprintf("status identified load %d", i)
		}
		return fmt.Sprintf("note load %d", i)
	}
	acked := map[*instance]int{}
	send := func(t target, rate int, d time.Duration, text func(int) string) result {
		room := ""
		if t.in != nil {
			room = t.in.room
		} else {
			room = lite.room
		}
		res := openLoop(t.urls, rate, d, func(i int) []byte {
			return []byte(url.Values{"user_id": {user}, "channel_id": {room}, "command": {"/incident"},
				"text": {text(i)}, "response_url": {sim.URL() + "/noop"}, "trigger_id": {"t"}}.Encode())
		})
		if t.in != nil {
			acked[t.in] += res.acked
		}
		return res
	}
	// Warm up each target for a second (discarded): connections, caches,
	// and whatever warroom does just after it starts.
	for _, target := range targets {
		send(target, 100, time.Second, func(i int) string { return text(-1 - i) })
	}
	time.Sleep(time.Second)
	fmt.Printf("| rate/s | target | sent | acked | p50 ms | p99 ms | max ms | achieved/s |\n|---|---|---|---|---|---|---|---|\n")
	row := func(rate int, t target, res result) {
		mem := ""
		if t.in != nil {
			var rs []string
			for _, p := range t.in.procs {
				rs = append(rs, rss(p.Process.Pid))
			}
			mem = " (RSS " + strings.Join(rs, ", ") + ")"
		}
		fmt.Printf("| %d | %s%s | %d | %d | %.2f | %.2f | %.1f | %.0f |\n", rate, t.name, mem, res.sent, res.acked, ms(res.pct(0.5)), ms(res.pct(0.99)), ms(res.pct(1)), res.achieved)
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
			row(rate, target, send(target, rate, *duration, text))
			time.Sleep(time.Second) // let the outbox catch up between runs
		}
	}
	if *find {
		held := map[string]int{}
		for _, target := range targets {
			for rate, failed := *from, 0; failed < 2; rate += *step {
				res := send(target, rate, *duration, text)
				row(rate, target, res)
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
	for _, in := range instances {
		n := countTimeline(in.db, *command)
		fmt.Printf("\n%s acknowledged %d commands; its timeline holds %d of them", in.name, acked[in], n)
		if n < acked[in] {
			log.Fatalf("\n%s: %d acknowledged commands are missing from the timeline", in.name, acked[in]-n)
		}
	}
	fmt.Println()
}

// instance is warroom under load: one or more replicas on one database,
// each with its own war room for the load (declared through the first).
type instance struct {
	name, db, room string
	urls           []string
	procs          []*exec.Cmd
}

func (in *instance) stop() {
	for _, p := range in.procs {
		p.Process.Signal(os.Interrupt)
		p.Wait()
	}
}

// launch starts n replicas of warroom serve on db and declares the load's
// incident through the first.
func launch(bin, name, db string, n int, env []string, sim *slacksim.Server, user string, seed int) *instance {
	in := &instance{name: name, db: db}
	for range n {
		addr := freeAddr()
		srv := exec.Command(bin, "serve")
		srv.Env = append(append(os.Environ(), env...), "WARROOM_DB="+db, "WARROOM_ADDR="+addr)
		if os.Getenv("LOAD_PPROF") != "" {
			admin := freeAddr()
			srv.Env = append(srv.Env, "WARROOM_ADMIN_ADDR="+admin)
			fmt.Printf("%s: profiler at http://%s/debug/pprof/\n", name, admin)
		}
		srv.Stderr = os.Stderr
		began := time.Now()
		if err := srv.Start(); err != nil {
			log.Fatal(err)
		}
		in.procs = append(in.procs, srv)
		waitHealthy("http://" + addr + "/healthz")
		fmt.Printf("%s: start to /healthz 200 with %d incidents: %v; RSS at idle: %s\n", name, seed, time.Since(began).Round(time.Millisecond), rss(srv.Process.Pid))
		in.urls = append(in.urls, "http://"+addr+"/slack/commands")
	}
	sim.SetBotURL(strings.TrimSuffix(in.urls[0], "/slack/commands"))
	general, _ := sim.ChannelByNameID("general")
	// Each instance's room gets a name of its own: they share one bot
	// user, and a room named like one warroom itself made is adopted.
	title := fmt.Sprintf("Load test %d", len(claimedRooms)+1)
	r, err := sim.SlashCommand(context.Background(), user, general, "declare sev2 "+title)
	if err != nil {
		log.Fatal(err)
	}
	num := strings.TrimPrefix(strings.Fields(strings.SplitN(r.Text, "INC-", 2)[1])[0], "")
	num = strings.TrimRight(num, "*_:.,")
	for deadline := time.Now().Add(10 * time.Second); in.room == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, ch := range sim.Channels() {
			if ch.Name == "inc-"+num+"-"+strings.ReplaceAll(strings.ToLower(title), " ", "-") && !claimedRooms[ch.ID] {
				in.room = ch.ID
				claimedRooms[ch.ID] = true
			}
		}
	}
	if in.room == "" {
		log.Fatalf("%s: no war room (%q)", name, r.Text)
	}
	return in
}

// claimedRooms are the war rooms already given to an instance: every
// instance numbers its incidents from 1, so the simulator holds several
// "inc-1-load-test" rooms.
var claimedRooms = map[string]bool{}

// countTimeline counts the load's entries (kind note or status, by the load's user) in warroom's timeline.
func countTimeline(dsn, kind string) int {
	var db *sql.DB
	var err error
	q := `SELECT COUNT(*) FROM timeline WHERE kind = ? AND raw LIKE '% load %'`
	if store.IsPostgres(dsn) {
		db, err = sql.Open("pgx", dsn)
		q = strings.Replace(q, "?", "$1", 1)
	} else {
		db, err = sql.Open("sqlite", store.DSN(dsn, false))
	}
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(q, kind).Scan(&n); err != nil {
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
// Request i goes to targets[i % len(targets)]: replicas share the load as
// a round-robin balancer would share it.
func openLoop(targets []string, rate int, d time.Duration, body func(int) []byte) result {
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
			req, _ := http.NewRequest(http.MethodPost, targets[i%len(targets)], bytes.NewReader(data))
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

// pgStats prints the statements PostgreSQL spent most time on (with
// LOAD_PGSTATS set): where a replica's time goes.
func pgStats(s *pgtest.Server) {
	db, err := sql.Open("pgx", s.URL("load1"))
	if err != nil {
		return
	}
	defer db.Close()
	db.Exec(`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`)
	rows, err := db.Query(`SELECT calls, round(total_exec_time::numeric, 1), round(mean_exec_time::numeric, 3), left(regexp_replace(query, '\s+', ' ', 'g'), 110) FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 25`)
	if err != nil {
		fmt.Println("pg_stat_statements:", err)
		return
	}
	defer rows.Close()
	fmt.Println("\n| calls | total ms | mean ms | statement |\n|---|---|---|---|")
	for rows.Next() {
		var calls int
		var total, mean, q string
		rows.Scan(&calls, &total, &mean, &q)
		fmt.Printf("| %d | %s | %s | %s |\n", calls, total, mean, q)
	}
}
