package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/internal/pgtest"
	"github.com/warroom/warroom/slacksim"
)

// TestDatabaseFailover: warroom on a primary with a synchronous streaming
// standby (pg_basebackup -R), connected by a multi-host URL with
// target_session_attrs=read-write. Under load the primary is killed
// (SIGKILL) and the standby promoted. warroom carries on without a
// restart; the commands sent during the gap are refused as not recorded
// (or fail with the connection), and every acknowledged command is on the
// promoted standby exactly once.
func TestDatabaseFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("a database failover under load")
	}
	primary := pgtest.Start(t, pgtest.Options{Durable: true, Settings: []string{"wal_level=replica", "max_wal_senders=4", "wal_keep_size=64MB"}})
	dsnPrimary := primary.NewDB(t)
	dbName := dsnPrimary[strings.LastIndex(dsnPrimary, "/")+1 : strings.Index(dsnPrimary, "?")]

	// The standby: a base backup that follows the primary.
	root, cred, err := pgtest.MakeDir("warroom-pg-standby-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	standbyDir := filepath.Join(root, "data")
	if err := pgtest.Run(primary.Bin, cred, "pg_basebackup", "-h", "127.0.0.1", "-p", fmt.Sprint(primary.Port), "-U", "postgres",
		"-D", standbyDir, "-R", "-X", "stream", "--checkpoint=fast"); err != nil {
		t.Fatal(err)
	}
	standby := pgtest.Start(t, pgtest.Options{Durable: true, Dir: standbyDir})
	// Synchronous: a commit is acknowledged once the standby has it.
	for _, q := range []string{`ALTER SYSTEM SET synchronous_standby_names = '*'`, `SELECT pg_reload_conf()`} {
		if err := primary.Exec("postgres", q); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 20*time.Second, "the standby streams synchronously", func() bool {
		db, _ := sql.Open("pgx", primary.URL("postgres"))
		defer db.Close()
		var state string
		db.QueryRow(`SELECT sync_state FROM pg_stat_replication`).Scan(&state)
		return state == "sync"
	})

	dsn := fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/%s?sslmode=disable&target_session_attrs=read-write&connect_timeout=2",
		primary.Port, standby.Port, dbName)
	sim, err := slacksim.New(slacksim.Options{SigningSecret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	c := newReplica(t, sim, dsn, "WARROOM_LOG_LEVEL=warn", "WARROOM_RETRY_FIRST=50ms", "WARROOM_RETRY_MAX=500ms")
	sim.SetBotURL("http://" + c.addr)
	c.launch()
	alice := sim.AddUser("alice")
	general, _ := sim.ChannelByNameID("general")
	if r, err := sim.SlashCommand(t.Context(), alice, general, "declare sev2 Failover drill"); err != nil || !strings.Contains(r.Text, "INC-1") {
		t.Fatalf("declare: %v %q", err, r.Text)
	}
	var room string
	for deadline := time.Now().Add(10 * time.Second); room == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		room, _ = sim.ChannelByNameID("inc-1-failover-drill")
	}
	if room == "" {
		t.Fatal("no war room")
	}

	// Notes, one after another from four senders, for 20 seconds; the
	// primary dies 5 seconds in and the standby is promoted a second later.
	type result struct {
		tok      string
		at       time.Time
		acked    bool
		refused  bool // told it was not recorded
		failedAt time.Time
	}
	var mu sync.Mutex
	var results []result
	ctx, stop := context.WithTimeout(t.Context(), 20*time.Second)
	defer stop()
	var wg sync.WaitGroup
	for s := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				tok := fmt.Sprintf("fo-%d-%d", s, i)
				r, err := sim.SlashCommand(context.Background(), alice, room, "note "+tok)
				res := result{tok: tok, at: time.Now(), acked: err == nil && strings.Contains(r.Text, "Noted"),
					refused: err == nil && strings.Contains(r.Text, "not* recorded")}
				mu.Lock()
				results = append(results, res)
				mu.Unlock()
				if !res.acked {
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(5 * time.Second)
	killed := time.Now()
	primary.Kill()
	// With no primary, /healthz says so, and a load balancer takes the
	// replica out.
	down := false
	for deadline := time.Now().Add(time.Second); !down && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		down = !c.healthy()
	}
	time.Sleep(time.Until(killed.Add(time.Second)))
	if err := standby.Exec("postgres", `SELECT pg_promote()`); err != nil {
		t.Fatal(err)
	}
	promoted := time.Now()
	wg.Wait()

	var acked []string
	var firstAfter time.Time
	refused, other := 0, 0
	for _, r := range results {
		switch {
		case r.acked:
			acked = append(acked, r.tok)
			if r.at.After(killed) && (firstAfter.IsZero() || r.at.Before(firstAfter)) {
				firstAfter = r.at
			}
		case r.refused:
			refused++
		default:
			other++
		}
	}
	if firstAfter.IsZero() {
		t.Fatalf("nothing was acknowledged after the failover (%d refused, %d other):\n%s", refused, other, c.logs.String())
	}
	// Every acknowledged note is on the promoted standby, once.
	db, err := sql.Open("pgx", standby.URL(dbName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	there := timelineNotes(t, db, "CAST(detail AS json)->>'text'")
	lost := 0
	for _, tok := range acked {
		if there[tok] != 1 {
			lost++
		}
	}
	t.Logf("database failover: %d notes acknowledged, %d refused as not recorded, %d failed otherwise; primary killed, standby promoted %v later; first command acknowledged %.1fs after the kill (%.1fs after the promotion); %d acknowledged notes lost",
		len(acked), refused, other, promoted.Sub(killed).Round(10*time.Millisecond), firstAfter.Sub(killed).Seconds(), firstAfter.Sub(promoted).Seconds(), lost)
	if lost != 0 {
		t.Errorf("%d acknowledged notes are not on the promoted standby exactly once", lost)
	}
	if firstAfter.Sub(promoted) > 15*time.Second {
		t.Errorf("warroom took %v after the promotion to take commands again", firstAfter.Sub(promoted))
	}
	if !down {
		t.Error("/healthz answered OK while there was no primary")
	}
	// And /healthz says the replica is fine again.
	if !c.healthy() {
		t.Error("/healthz is not OK after the failover")
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
	}
}
