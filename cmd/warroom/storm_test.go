package main

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestDeclareStorm: 100 incidents declared back to back while Slack
// rate-limits conversations.create (429, Retry-After 1 s, for the first 60
// calls). Every war room is created, once, with nothing failed; people
// whose room waits are told how many are ahead of theirs.
func TestDeclareStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("the declare storm takes a few seconds")
	}
	w := start(t, "http", "WARROOM_LOG_LEVEL=info", "WARROOM_DECLARE_LIMIT=0") // Slack's limits are under test, not warroom's
	w.sim.RateLimit("conversations.create", 60, time.Second)
	start := time.Now()
	told := 0
	for i := 1; i <= 100; i++ {
		r := w.cmd([]string{"alice", "bob", "carol", "dave"}[i%4], w.general, fmt.Sprintf("declare sev2 storm %d", i))
		if !strings.Contains(r, fmt.Sprintf("Declared *INC-%d*", i)) {
			t.Fatalf("declare %d: %q", i, r)
		}
		if strings.Contains(r, "ahead of yours") {
			told++
		}
	}
	declared := time.Since(start)
	rooms := func() int {
		n := 0
		for _, ch := range w.sim.Channels() {
			if strings.HasPrefix(ch.Name, "inc-") {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(60 * time.Second)
	for rooms() < 100 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	all := time.Since(start)
	if n := rooms(); n != 100 {
		t.Fatalf("%d war rooms after %v, want 100", n, all)
	}
	if s := w.outboxSummary(); strings.Contains(s, "failed") {
		t.Errorf("outbox:\n%s", s)
	}
	if told == 0 {
		t.Error("nobody was told their war room was queued")
	}
	t.Logf("100 declares in %v; all 100 war rooms in %v; %d declarers told of a queue", declared.Round(time.Millisecond), all.Round(time.Millisecond), told)
}

// TestAlertStorm: 2,000 PagerDuty webhooks from 8 senders at once, across
// 20 services in 10 groups, plus 200 redeliveries. They become exactly one
// incident per group, every alert is kept once, and nothing is refused.
func TestAlertStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("the alert storm takes a few seconds")
	}
	var services []string
	for i := range 20 {
		services = append(services, fmt.Sprintf("S%02d=sev2:g%d", i, i/2))
	}
	w := start(t, "http", "WARROOM_LOG_LEVEL=info", "PAGERDUTY_WEBHOOK_SECRET="+pdSecret, "PAGERDUTY_SERVICES="+strings.Join(services, ","))
	begin := time.Now()
	jobs := make(chan int)
	var wg sync.WaitGroup
	var refused atomic.Int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				n := i % 2000 // the last 200 are redeliveries of the first 200
				if code := w.pdWebhook(pdSecret, fmt.Sprintf("ev%d", n), "incident.triggered", fmt.Sprintf("Q%d", n), fmt.Sprintf("S%02d", n%20), fmt.Sprintf("alert %d", n)); code != 204 {
					refused.Add(1)
				}
			}
		}()
	}
	for i := range 2200 {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	took := time.Since(begin)
	if refused.Load() != 0 {
		t.Errorf("%d webhooks refused", refused.Load())
	}
	db, jsonText := w.readDB()
	var incidents, alerts, distinct, groupsSplit int
	db.QueryRow(`SELECT COUNT(*) FROM incidents`).Scan(&incidents)
	db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT external_id) FROM alerts`).Scan(&alerts, &distinct)
	db.QueryRow(`SELECT COUNT(*) FROM (SELECT group_key FROM alerts GROUP BY group_key HAVING COUNT(DISTINCT incident) > 1) AS g`).Scan(&groupsSplit)
	if incidents != 10 || alerts != 2000 || distinct != 2000 || groupsSplit != 0 {
		t.Errorf("incidents %d (want 10), alerts %d and distinct %d (want 2000), groups spread over several incidents %d", incidents, alerts, distinct, groupsSplit)
	}
	t.Logf("2,200 webhooks (200 redeliveries) from 8 senders in %v: %.0f/s", took.Round(time.Millisecond), 2200/took.Seconds())

	// Each war room hears of every alert grouped into it, a few to a
	// message: one post per alert would be 199 messages a room, which
	// Slack's one message a second per channel would take minutes to send.
	rooms := map[string]string{} // alert title -> the room it must be told in
	rows, err := db.Query(`SELECT ` + jsonText("t.detail", "title") + `, i.channel_id FROM timeline t JOIN incidents i ON i.number = t.incident
		WHERE t.kind = 'alert_grouped'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var title, room string
		rows.Scan(&title, &room)
		rooms[title] = room
	}
	rows.Close()
	var missing, messages, buttons int
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		missing, messages, buttons = 0, 0, 0
		text := map[string]string{}
		for _, room := range rooms {
			if _, ok := text[room]; ok {
				continue
			}
			for _, m := range w.sim.Messages(room) {
				if strings.Contains(m.Text, "Another alert was grouped") {
					messages++
					buttons += strings.Count(string(m.Blocks), "warroom_split_alert")
					text[room] += m.Text + "\n"
				}
			}
		}
		for title, room := range rooms {
			if !strings.Contains(text[room], ": "+title+" (") {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			break
		}
	}
	t.Logf("%d grouped alerts told in %d war-room messages with %d Split buttons", len(rooms), messages, buttons)
	if missing != 0 || len(rooms) != 1990 {
		t.Errorf("%d of %d grouped alerts never told in their war room", missing, len(rooms))
	}
	if messages > len(rooms)/2 {
		t.Errorf("%d grouped alerts took %d messages: the backlog was not batched", len(rooms), messages)
	}
	if buttons < len(rooms) {
		t.Errorf("%d Split buttons for %d grouped alerts", buttons, len(rooms))
	}
}
