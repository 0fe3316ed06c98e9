package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/internal/floor"
	"github.com/warroom/warroom/slacksim"
)

// BenchmarkNoteAck measures how long Slack waits for warroom to answer a
// signed `/incident note` over HTTP, one request after another, and, in
// the same run, the floor: a bare net/http handler that verifies the
// signature and inserts one row into SQLite with the same settings.
// Reported: p50-ms and p99-ms of the acknowledgement.
func BenchmarkNoteAck(b *testing.B) {
	b.Run("warroom", func(b *testing.B) {
		w := startBench(b, "http")
		form := func(i int) []byte {
			return []byte(url.Values{"user_id": {w.users["bob"]}, "channel_id": {w.room}, "command": {"/incident"},
				"text": {"note load test " + strconv.Itoa(i)}, "team_id": {slacksim.TeamID},
				"response_url": {w.sim.URL() + "/response/none"}, "trigger_id": {"t"}}.Encode())
		}
		measure(b, "http://"+w.addr+"/slack/commands", form, "Noted in the INC-1 timeline")
	})
	b.Run("floor", func(b *testing.B) {
		addr := floorServer(b)
		form := func(i int) []byte {
			return []byte(url.Values{"user_id": {"U1"}, "channel_id": {"C1"}, "text": {"note load test " + strconv.Itoa(i)}}.Encode())
		}
		measure(b, "http://"+addr+"/slack/commands", form, "ok")
	})
}

// BenchmarkNoteAckSocket measures the same over Socket Mode: from the
// simulator writing the envelope to the websocket to reading the bot's ack.
func BenchmarkNoteAckSocket(b *testing.B) {
	w := startBench(b, "socket")
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := w.sim.SlashCommand(context.Background(), w.users["bob"], w.room, "note load test "+strconv.Itoa(i))
		if err != nil || !strings.Contains(r.Text, "Noted in the INC-1 timeline") {
			b.Fatalf("reply %q, err %v", r.Text, err)
		}
		lat = append(lat, r.Latency)
	}
	b.StopTimer()
	reportLatency(b, lat)
}

type benchWorld struct {
	sim   *slacksim.Server
	addr  string
	room  string
	users map[string]string
}

func startBench(b *testing.B, mode string) *benchWorld {
	b.Helper()
	sim, err := slacksim.New(slacksim.Options{SigningSecret: testSecret})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(sim.Close)
	w := &benchWorld{sim: sim, users: map[string]string{"alice": sim.AddUser("alice"), "bob": sim.AddUser("bob")}}
	w.addr = freeAddrB(b)
	dir := b.TempDir()
	env := map[string]string{"SLACK_BOT_TOKEN": slacksim.BotToken, "SLACK_API_URL": sim.APIURL(),
		"WARROOM_DB": filepath.Join(dir, "bench.db"), "WARROOM_ADDR": w.addr, "WARROOM_LOG_LEVEL": "error", "WARROOM_STATUS_ADDR": "off", "WARROOM_ADMIN_ADDR": "off"}
	if mode == "http" {
		sim.SetBotURL("http://" + w.addr)
		env["SLACK_SIGNING_SECRET"] = testSecret
	} else {
		ca := filepath.Join(dir, "ca.pem")
		os.WriteFile(ca, sim.SocketCACertPEM(), 0o600)
		env["SLACK_APP_TOKEN"], env["SLACK_CA_FILE"] = slacksim.AppToken, ca
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, nil, io.Discard, io.Discard, func(k string) string { return env[k] })
	}()
	b.Cleanup(func() { cancel(); <-done })
	for i := 0; ; i++ {
		if resp, err := http.Get("http://" + w.addr + "/healthz"); err == nil && resp.StatusCode == 200 {
			resp.Body.Close()
			break
		}
		if i > 1000 {
			b.Fatal("serve did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := 0; mode == "socket" && sim.Connected() == 0; i++ {
		if i > 1000 {
			b.Fatal("no socket mode connection")
		}
		time.Sleep(10 * time.Millisecond)
	}
	general, _ := sim.ChannelByNameID("general")
	if _, err := sim.SlashCommand(ctx, w.users["alice"], general, "declare sev2 Load test"); err != nil {
		b.Fatal(err)
	}
	for i := 0; w.room == "" && i < 1000; i++ {
		if ch, ok := sim.ChannelByName("inc-1-load-test"); ok {
			w.room = ch.ID
		}
		time.Sleep(5 * time.Millisecond)
	}
	if w.room == "" {
		b.Fatal("no war room")
	}
	return w
}

// measure posts b.N signed requests one after another and reports latency percentiles.
func measure(b *testing.B, target string, body func(int) []byte, want string) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		data := body(i)
		ts := time.Now().Unix()
		req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(data))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		slacksim.SignRequest(req, testSecret, ts, data)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		reply, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(start))
		if resp.StatusCode != http.StatusOK || !bytes.Contains(reply, []byte(want)) {
			b.Fatalf("status %d, reply %s", resp.StatusCode, reply)
		}
	}
	b.StopTimer()
	reportLatency(b, lat)
}

func reportLatency(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// floorServer starts the floor (internal/floor) for this benchmark.
func floorServer(b *testing.B) string {
	f, err := floor.Start(filepath.Join(b.TempDir(), "floor.db"), testSecret)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f.Addr
}

func freeAddrB(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
