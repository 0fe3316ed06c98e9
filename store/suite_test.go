package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/store"
)

// TestEveryMethod calls every method of the store, its transaction and its
// outbox queue on both SQLite and PostgreSQL, with the same assertions: the
// two stores are interchangeable only if they answer every question alike.
func TestEveryMethod(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB, dsn string) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 25, 10, 0, 0, 123456000, time.UTC)
		at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		update := func(fn func(tx incident.Tx) error) { t.Helper(); must(db.Update(ctx, fn)) }
		if err := db.Ping(ctx); err != nil {
			t.Fatal(err)
		}

		// Incidents: create, save, read back every field.
		a := &incident.Incident{Title: "Payments down", Description: "card auth", Severity: incident.SEV1,
			Stage: incident.StageAssess, Status: incident.StatusInvestigating, DeclaredBy: "U1", Commander: "U2",
			Communicator: "U3", ChannelID: "C1", ChannelName: "inc-1-payments", DeclaredAt: at(0), UpdatedAt: at(0),
			Service: "payments", Impact: "major", NextUpdateDue: at(30),
			Roles: map[string]string{"scribe": "U4"}, Components: map[string]incident.ComponentStatus{"API": "major_outage"}}
		b := &incident.Incident{Title: "Secret", Severity: incident.SEV3, Stage: incident.StageAssess,
			Status: incident.StatusInvestigating, DeclaredBy: "U5", DeclaredAt: at(1), UpdatedAt: at(1), Private: true}
		b.AddMember("U5")
		update(func(tx incident.Tx) error {
			if err := tx.CreateIncident(ctx, a); err != nil {
				return err
			}
			return tx.CreateIncident(ctx, b)
		})
		if a.Number == 0 || b.Number <= a.Number {
			t.Fatalf("numbers %d, %d", a.Number, b.Number)
		}
		got, err := db.Incident(ctx, a.Number)
		must(err)
		if got.Title != a.Title || got.Description != "card auth" || got.Severity != incident.SEV1 || got.Commander != "U2" ||
			got.Communicator != "U3" || got.ChannelName != "inc-1-payments" || !got.DeclaredAt.Equal(at(0)) ||
			!got.NextUpdateDue.Equal(at(30)) || got.Service != "payments" || got.Impact != "major" ||
			got.Roles["scribe"] != "U4" || got.Components["API"] != "major_outage" || got.Private || !got.ResolvedAt.IsZero() {
			t.Fatalf("incident round trip: %+v", got)
		}
		if gb, _ := db.Incident(ctx, b.Number); !gb.Private || !gb.Members["U5"] {
			t.Fatalf("private incident round trip: %+v", gb)
		}
		if _, err := db.Incident(ctx, 999); !isNotFound(err) {
			t.Fatalf("missing incident: %v", err)
		}
		if byCh, err := db.IncidentByChannel(ctx, "C1"); err != nil || byCh.Number != a.Number {
			t.Fatalf("by channel: %v %v", byCh, err)
		}
		if _, err := db.IncidentByChannel(ctx, "C404"); !isNotFound(err) {
			t.Fatalf("unknown channel: %v", err)
		}
		update(func(tx incident.Tx) error {
			inc, err := tx.Incident(ctx, a.Number)
			if err != nil {
				return err
			}
			inc.Status, inc.Stage, inc.AcknowledgedAt, inc.Snoozes = incident.StatusIdentified, incident.StageRespond, at(2), 1
			inc.PublicStatus, inc.PublicTitle, inc.PublishedAt = incident.StatusIdentified, "Card payments failing", at(3)
			delete(inc.Roles, "scribe")
			return tx.SaveIncident(ctx, inc)
		})
		got, _ = db.Incident(ctx, a.Number)
		if got.Status != incident.StatusIdentified || !got.AcknowledgedAt.Equal(at(2)) || got.Snoozes != 1 ||
			got.PublicTitle != "Card payments failing" || len(got.Roles) != 0 {
			t.Fatalf("after save: %+v", got)
		}
		if err := db.Update(ctx, func(tx incident.Tx) error {
			return tx.SaveIncident(ctx, &incident.Incident{Number: 999, Title: "x", Severity: 1, Stage: "assess", Status: "investigating", DeclaredAt: at(0), UpdatedAt: at(0)})
		}); !isNotFound(err) {
			t.Fatalf("saving a missing incident: %v", err)
		}

		// Lists and their filters.
		numbers := func(list []*incident.Incident, err error) []int64 {
			t.Helper()
			must(err)
			var ns []int64
			for _, inc := range list {
				ns = append(ns, inc.Number)
			}
			return ns
		}
		for name, c := range map[string]struct {
			f    incident.Filter
			want []int64
		}{
			"all, newest first": {incident.Filter{}, []int64{b.Number, a.Number}},
			"public only":       {incident.Filter{PublicOnly: true}, []int64{a.Number}},
			"private only":      {incident.Filter{PrivateOnly: true}, []int64{b.Number}},
			"before":            {incident.Filter{Before: b.Number}, []int64{a.Number}},
			"limit":             {incident.Filter{Limit: 1}, []int64{b.Number}},
			"no limit":          {incident.Filter{Limit: -1}, []int64{b.Number, a.Number}},
			"declared since":    {incident.Filter{DeclaredSince: at(1)}, []int64{b.Number}},
		} {
			if got := numbers(db.Incidents(ctx, c.f)); !slices.Equal(got, c.want) {
				t.Errorf("Incidents %s: %v, want %v", name, got, c.want)
			}
		}
		if got := numbers(db.DueForReminder(ctx, at(31))); !slices.Equal(got, []int64{a.Number}) {
			t.Errorf("due for reminder: %v", got)
		}
		if got := numbers(db.DueForReminder(ctx, at(29))); len(got) != 0 {
			t.Errorf("due before it is: %v", got)
		}
		if got := numbers(db.Unacknowledged(ctx, incident.SEV3, at(5))); !slices.Equal(got, []int64{b.Number}) {
			t.Errorf("unacknowledged: %v", got)
		}

		// The timeline, both ways of paging, and the audit log.
		var ids []int64
		update(func(tx incident.Tx) error {
			for i := range 5 {
				e := &incident.Entry{Incident: a.Number, At: at(i), Actor: "U1", Channel: "C1", Raw: "note " + string(rune('a'+i)),
					Kind: "note", Outcome: incident.OutcomeOK, Detail: map[string]string{"i": string(rune('0' + i))}}
				if err := tx.Append(ctx, e); err != nil {
					return err
				}
				ids = append(ids, e.ID)
			}
			return tx.Append(ctx, &incident.Entry{At: at(0), Actor: "U9", Raw: "/incident nonsense", Kind: "unknown", Outcome: "invalid: unknown command"})
		})
		tl, err := db.Timeline(ctx, a.Number, incident.Page{AfterID: ids[1], Limit: 2})
		must(err)
		if len(tl) != 2 || tl[0].ID != ids[2] || tl[0].Raw != "note c" || tl[0].Detail["i"] != "2" || !tl[0].At.Equal(at(2)) {
			t.Fatalf("timeline after: %+v", tl)
		}
		tl, _ = db.Timeline(ctx, a.Number, incident.Page{Latest: true, Limit: 2, BeforeID: ids[4]})
		if len(tl) != 2 || tl[0].ID != ids[2] || tl[1].ID != ids[3] {
			t.Fatalf("latest page before: %+v", tl)
		}
		if audit, _ := db.Timeline(ctx, 0, incident.Page{}); len(audit) != 1 || audit[0].OK() {
			t.Fatalf("audit log: %+v", audit)
		}

		// Public updates and the status page's selection.
		update(func(tx incident.Tx) error {
			return tx.AddPublicUpdate(ctx, &incident.PublicUpdate{Incident: a.Number, At: at(3), Author: "U3", Status: incident.StatusIdentified,
				Title: "Card payments failing", Body: "We found it.", Components: map[string]incident.ComponentStatus{"API": "partial_outage"},
				Impact: "major", NextUpdateDue: at(33)})
		})
		ups, err := db.PublicUpdates(ctx, a.Number)
		must(err)
		if len(ups) != 1 || ups[0].ID == 0 || ups[0].Body != "We found it." || ups[0].Components["API"] != "partial_outage" || !ups[0].NextUpdateDue.Equal(at(33)) {
			t.Fatalf("public updates: %+v", ups)
		}
		if m, _ := db.PublicUpdatesOf(ctx, []int64{a.Number, b.Number}); len(m[a.Number]) != 1 || len(m[b.Number]) != 0 {
			t.Fatalf("public updates of: %+v", m)
		}
		if pub, _ := db.PublishedIncidents(ctx, at(0), 10); !slices.Equal(pub, []int64{a.Number}) {
			t.Fatalf("published: %v", pub)
		}

		// Reminders and webhook deliveries are marked once.
		for i, want := range []bool{true, false} {
			var first bool
			update(func(tx incident.Tx) (err error) {
				first, err = tx.MarkReminder(ctx, a.Number, at(30), "remind", at(31), true)
				return err
			})
			if first != want {
				t.Fatalf("MarkReminder call %d: %v", i, first)
			}
			update(func(tx incident.Tx) (err error) {
				first, err = tx.MarkDelivery(ctx, "pagerduty", "E1", at(1))
				return err
			})
			if first != want {
				t.Fatalf("MarkDelivery call %d: %v", i, first)
			}
		}

		// Alerts: attach, find, group, move.
		alert := incident.Alert{Source: "pagerduty", ExternalID: "Q1", Service: "S1", ServiceName: "Payments", Title: "5xx", URL: "https://pd/Q1", At: at(0)}
		update(func(tx incident.Tx) error {
			if err := tx.AddAlert(ctx, a.Number, alert, "payments"); err != nil {
				return err
			}
			if n, err := tx.AlertIncident(ctx, "pagerduty", "Q1"); err != nil || n != a.Number {
				return errors.Join(err, errors.New("alert incident"))
			}
			if n, _ := tx.AlertIncident(ctx, "pagerduty", "nope"); n != 0 {
				return errors.New("unknown alert found")
			}
			if err := tx.SetAlertStatus(ctx, "pagerduty", "Q1", "acknowledged"); err != nil {
				return err
			}
			if n, err := tx.OpenIncidentForGroup(ctx, "payments", at(-10)); err != nil || n != a.Number {
				return errors.Join(err, errors.New("group"))
			}
			if n, _ := tx.OpenIncidentForGroup(ctx, "payments", at(10)); n != 0 {
				return errors.New("group outside the window")
			}
			// A's service is payments: an incident declared for it takes
			// the service's alerts, named in any case, within the window.
			if n, err := tx.OpenIncidentForServices(ctx, []string{"search", "PAYMENTS"}, at(-10)); err != nil || n != a.Number {
				return errors.Join(err, fmt.Errorf("by service: %d", n))
			}
			if n, _ := tx.OpenIncidentForServices(ctx, []string{"payments"}, at(10)); n != 0 {
				return errors.New("by service outside the window")
			}
			if n, _ := tx.OpenIncidentForServices(ctx, nil, at(-10)); n != 0 {
				return errors.New("by no service")
			}
			stored, n, err := tx.StoredAlert(ctx, "pagerduty", "Q1")
			if err != nil || n != a.Number || stored.Event != "acknowledged" || stored.ServiceName != "Payments" || !stored.At.Equal(at(0)) {
				return errors.Join(err, errors.New("stored alert"))
			}
			if _, _, err := tx.StoredAlert(ctx, "pagerduty", "nope"); !isNotFound(err) {
				return errors.New("unknown stored alert")
			}
			if err := tx.MoveAlert(ctx, "pagerduty", "Q1", b.Number); err != nil {
				return err
			}
			if n, _ := tx.AlertIncident(ctx, "pagerduty", "Q1"); n != b.Number {
				return errors.New("move")
			}
			return nil
		})

		// Links and external references.
		update(func(tx incident.Tx) error {
			return tx.SetLink(ctx, a.Number, incident.Link{System: "jira", Ref: "OPS-1", URL: "https://jira/OPS-1"})
		})
		must(db.SetExternalRef(ctx, a.Number, "statuspage", "sp1"))
		links, err := db.Links(ctx, a.Number)
		must(err)
		if len(links) != 2 || links[0].System != "jira" || links[0].URL != "https://jira/OPS-1" || links[1].Ref != "sp1" {
			t.Fatalf("links: %+v", links)
		}
		if ref, _ := db.ExternalRef(ctx, a.Number, "statuspage"); ref != "sp1" {
			t.Fatalf("external ref %q", ref)
		}
		if ref, err := db.ExternalRef(ctx, a.Number, "none"); ref != "" || err != nil {
			t.Fatalf("missing external ref %q %v", ref, err)
		}

		// Postmortems: versions.
		for range 2 {
			update(func(tx incident.Tx) error {
				v, err := tx.NextPostmortemVersion(ctx, a.Number)
				if err != nil {
					return err
				}
				return tx.AddPostmortem(ctx, &incident.Postmortem{Incident: a.Number, Version: v, Markdown: "# v" + string(rune('0'+v)), HTML: "<h1>", Created: at(40), By: "U2"})
			})
		}
		if pm, err := db.Postmortem(ctx, a.Number, 0); err != nil || pm.Version != 2 || pm.Markdown != "# v2" || pm.HTML != "<h1>" || !pm.Created.Equal(at(40)) {
			t.Fatalf("latest postmortem: %+v %v", pm, err)
		}
		if pm, _ := db.Postmortem(ctx, a.Number, 1); pm.Markdown != "# v1" {
			t.Fatalf("postmortem v1: %+v", pm)
		}
		if _, err := db.Postmortem(ctx, b.Number, 0); !isNotFound(err) {
			t.Fatalf("no postmortem: %v", err)
		}

		// Action items.
		item := &incident.ActionItem{Incident: a.Number, Text: "Add a canary", Owner: "U4", Priority: 1, Due: at(60 * 24 * 7),
			Status: incident.ActionOpen, Created: at(50), CreatedBy: "U2", Updated: at(50)}
		update(func(tx incident.Tx) error {
			if err := tx.AddAction(ctx, item); err != nil {
				return err
			}
			if owns, err := tx.OwnsAction(ctx, a.Number, "U4"); err != nil || !owns {
				return errors.Join(err, errors.New("owns"))
			}
			if owns, _ := tx.OwnsAction(ctx, a.Number, "U9"); owns {
				return errors.New("owns someone else's")
			}
			it, err := tx.Action(ctx, item.ID)
			if err != nil {
				return err
			}
			it.Status, it.Closed, it.ClosedBy, it.Ticket, it.TicketURL = incident.ActionDone, at(70), "U4", "OPS-2", "https://jira/OPS-2"
			return tx.SaveAction(ctx, it)
		})
		it, err := db.Action(ctx, item.ID)
		must(err)
		if it.Status != incident.ActionDone || it.Ticket != "OPS-2" || !it.Closed.Equal(at(70)) || it.Due.Format(time.DateOnly) != at(60*24*7).Format(time.DateOnly) {
			t.Fatalf("action round trip: %+v", it)
		}
		if _, err := db.Action(ctx, 999); !isNotFound(err) {
			t.Fatalf("missing action: %v", err)
		}
		if list, _ := db.Actions(ctx, incident.ActionFilter{Incident: a.Number}); len(list) != 1 {
			t.Fatalf("actions of incident: %+v", list)
		}
		if list, _ := db.Actions(ctx, incident.ActionFilter{OpenOnly: true}); len(list) != 0 {
			t.Fatalf("open actions: %+v", list)
		}
		if list, _ := db.Actions(ctx, incident.ActionFilter{OpenOnly: true, ClosedSince: at(60)}); len(list) != 1 {
			t.Fatalf("open or closed since: %+v", list)
		}
		if list, _ := db.Actions(ctx, incident.ActionFilter{Owner: "U9"}); len(list) != 0 {
			t.Fatalf("someone else's: %+v", list)
		}

		// People's names, and the declare limit's read.
		update(func(tx incident.Tx) error {
			if err := tx.RememberName(ctx, "U1", "alice", at(0)); err != nil {
				return err
			}
			return tx.RememberName(ctx, "U1", "Alice", at(1))
		})
		if names, _ := db.Names(ctx, []string{"U1", "U2"}); len(names) != 1 || names["U1"] != "Alice" {
			t.Fatalf("names: %v", names)
		}
		update(func(tx incident.Tx) error {
			when, err := tx.DeclaredSince(ctx, "U1", at(-1))
			if err != nil || len(when) != 1 || !when[0].Equal(at(0)) {
				return errors.Join(err, errors.New("declared since"))
			}
			return nil
		})

		// Scheduled runs are claimed once.
		for i, want := range []bool{true, false} {
			ok, err := db.ClaimRun(ctx, "weekly-report", at(100), at(100), nil)
			must(err)
			if ok != want {
				t.Fatalf("claim %d: %v", i, ok)
			}
		}
		if last, _ := db.LastRun(ctx, "weekly-report"); !last.Equal(at(100)) {
			t.Fatalf("last run %v", last)
		}

		// The outbox: lanes, order, retries, giving up, requeueing.
		var fx []*incident.Effect
		update(func(tx incident.Tx) error {
			for _, e := range []*incident.Effect{
				{Incident: a.Number, Kind: "slack.post", Payload: map[string]string{"text": "one"}, Created: at(0), NextAt: at(0)},
				{Incident: a.Number, Kind: "slack.post", Payload: map[string]string{"text": "two"}, Created: at(0), NextAt: at(0)},
				{Incident: a.Number, Kind: "ticket.sync", Created: at(0), NextAt: at(5), NotAfter: at(60)},
				{Kind: "slack.post", Payload: map[string]string{"text": "report"}, Created: at(0), NextAt: at(1)},
			} {
				if err := tx.Enqueue(ctx, e); err != nil {
					return err
				}
				fx = append(fx, e)
			}
			return nil
		})
		due, err := db.DueEffects(ctx, at(2), 10)
		must(err)
		if len(due) != 2 || due[0].ID != fx[0].ID || due[0].Payload["text"] != "one" || due[1].ID != fx[3].ID {
			t.Fatalf("due effects: %+v", due)
		}
		if next, _ := db.NextDue(ctx); !next.Equal(at(0)) {
			t.Fatalf("next due %v", next)
		}
		behind, _ := db.Behind(ctx, *fx[0], 10)
		if len(behind) != 1 || behind[0].ID != fx[1].ID {
			t.Fatalf("behind: %+v", behind)
		}
		must(db.EffectsDone(ctx, []int64{fx[0].ID, fx[1].ID}, at(3)))
		must(db.EffectRetry(ctx, fx[2].ID, 1, at(9), "jira 503"))
		must(db.EffectGiveUp(ctx, fx[3].ID, incident.EffectFailed, 3, "channel_not_found", at(4)))
		if due, _ := db.DueEffects(ctx, at(8), 10); len(due) != 0 {
			t.Fatalf("due while the retry waits: %+v", due)
		}
		if ok, _ := db.RequeueEffect(ctx, fx[3].ID, at(10)); !ok {
			t.Fatal("requeue a failed effect")
		}
		if ok, _ := db.RequeueEffect(ctx, fx[0].ID, at(10)); ok {
			t.Fatal("requeued a delivered effect")
		}
		all, err := db.Effects(ctx, incident.EffectFilter{Incident: a.Number})
		must(err)
		if len(all) != 3 || all[0].ID != fx[2].ID || all[0].Attempts != 1 || all[0].LastError != "jira 503" || !all[0].NotAfter.Equal(at(60)) ||
			all[2].State != incident.EffectDone || all[2].Attempts != 1 || !all[2].DoneAt.Equal(at(3)) {
			t.Fatalf("effects: %+v", all)
		}
		if done, _ := db.Effects(ctx, incident.EffectFilter{States: []string{incident.EffectDone}, Limit: 1}); len(done) != 1 || done[0].ID != fx[1].ID {
			t.Fatalf("done effects: %+v", done)
		}
		if backlog, _ := db.OutboxBacklog(ctx); backlog["done"] != 2 || backlog["pending"] != 2 {
			t.Fatalf("backlog: %v", backlog)
		}
		if _, err := db.Stats(ctx, at(200)); err != nil {
			t.Fatalf("stats: %v", err)
		}
		// The replay guard: a key is new once within its time to live.
		for i, want := range []bool{true, false} {
			first, err := db.FirstRequest(ctx, "sig:v0=abc", time.Now(), time.Minute)
			must(err)
			if first != want {
				t.Fatalf("FirstRequest call %d: %v", i, first)
			}
			db.WaitKeys()
		}
		if first, _ := db.FirstRequest(ctx, "sig:v0=abc", time.Now().Add(2*time.Minute), time.Minute); !first {
			t.Fatal("a key past its time to live is not new again")
		}
		if pending, err := store.Pending(ctx, dsn); err != nil || len(pending) != 0 {
			t.Fatalf("pending migrations: %v %v", pending, err)
		}
	})
}

func isNotFound(err error) bool {
	var e *incident.Error
	return errors.As(err, &e) && e.Code == incident.ENotFound
}

// TestJiraSyncAppliesOnce: two replicas' syncs read the same Jira change
// at once; the item is closed once, with one timeline entry.
func TestJiraSyncAppliesOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		svc := incident.NewService(db, nil)
		inc, err := svc.Declare(ctx, incident.Command{Actor: "U1", Kind: "declare"}, incident.Declaration{Title: "x", Severity: incident.SEV2})
		if err != nil {
			t.Fatal(err)
		}
		a, err := svc.AddAction(ctx, inc.Number, incident.Command{Actor: "U1", Kind: "action"}, incident.NewAction{Text: "Add a canary", Owner: "U1"})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.TicketAction(ctx, a.ID, "OPS-1", "https://jira/OPS-1"); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		changed := make([]bool, 4)
		for i := range changed {
			wg.Add(1)
			go func() {
				defer wg.Done()
				changed[i], _ = svc.SyncActionStatus(ctx, a.ID, true, "Done", time.Now().Add(time.Minute))
			}()
		}
		wg.Wait()
		n := 0
		for _, c := range changed {
			if c {
				n++
			}
		}
		entries, _ := db.Timeline(ctx, inc.Number, incident.Page{})
		closes := 0
		for _, e := range entries {
			if strings.Contains(e.Raw, "action done") {
				closes++
			}
		}
		if n != 1 || closes != 1 {
			t.Fatalf("%d syncs changed the item, %d timeline entries; want 1 and 1", n, closes)
		}
	})
}
