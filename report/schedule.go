package report

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/warroom/warroom/incident"
)

// EffectKind is the outbox effect that posts the report to Slack. Payload:
// "channel", "text".
const EffectKind = "slack.report"

// Job names the weekly report in the table of scheduled runs.
const Job = "weekly-report"

// DefaultSpec is Monday 09:00, in the configured time zone.
const DefaultSpec = "0 9 * * 1"

// Runs records scheduled runs; the sqlite store provides it. ClaimRun
// records that job ran for slot and, if it is the first to, runs then in
// the same transaction.
type Runs interface {
	ClaimRun(ctx context.Context, job string, slot, now time.Time, then func(incident.Tx) error) (bool, error)
	LastRun(ctx context.Context, job string) (time.Time, error)
}

// Weekly posts the report on a cron schedule, once per slot however many
// copies of warroom run and however often they restart. The post goes
// through the outbox, stored with the claim, so a Slack outage delays it
// and loses nothing.
type Weekly struct {
	Source   Source
	Runs     Runs
	Channel  string // where to post
	Location *time.Location
	Now      func() time.Time
	Log      *slog.Logger
	// Wake tells the outbox worker there is work.
	Wake func()

	sched cron.Schedule
}

// NewWeekly parses spec (five cron fields, DefaultSpec if empty) in loc.
func NewWeekly(spec string, loc *time.Location) (*Weekly, error) {
	if spec == "" {
		spec = DefaultSpec
	}
	if loc == nil {
		loc = time.UTC
	}
	sched, err := cron.ParseStandard("CRON_TZ=" + loc.String() + " " + spec)
	if err != nil {
		return nil, fmt.Errorf("the report schedule %q is not a cron expression (minute hour day-of-month month day-of-week, e.g. %q): %w", spec, DefaultSpec, err)
	}
	return &Weekly{Location: loc, sched: sched, Now: time.Now}, nil
}

// Slot is the latest scheduled time at or before now, or zero if there
// was none in the last 8 days.
func (w *Weekly) Slot(now time.Time) time.Time {
	var slot time.Time
	for t := w.sched.Next(now.Add(-8 * 24 * time.Hour)); !t.After(now); t = w.sched.Next(t) {
		slot = t
	}
	return slot
}

// Next is the next scheduled time after now.
func (w *Weekly) Next(now time.Time) time.Time { return w.sched.Next(now) }

// Start adds the report to c and catches up: if the latest slot passed
// while warroom was down, the report for it is posted now, once. On the
// very first start nothing is posted; the first report comes at the next
// slot.
func (w *Weekly) Start(ctx context.Context, c *cron.Cron) error {
	now := w.Now()
	slot := w.Slot(now)
	last, err := w.Runs.LastRun(ctx, Job)
	if err != nil {
		return err
	}
	switch {
	case slot.IsZero():
	case last.IsZero():
		// A new install: mark the slot that just passed as seen, so that a
		// later outage is caught up, without posting a report nobody expects.
		if _, err := w.Runs.ClaimRun(ctx, Job, slot, now, nil); err != nil {
			return err
		}
	case slot.After(last):
		w.logger().InfoContext(ctx, "weekly report: catching up a missed run", "slot", slot)
		if _, err := w.Run(ctx, slot); err != nil {
			w.logger().ErrorContext(ctx, "weekly report", "err", err)
		}
	}
	c.Schedule(w.sched, cron.FuncJob(func() {
		if _, err := w.Run(ctx, w.Slot(w.Now())); err != nil {
			w.logger().ErrorContext(ctx, "weekly report", "err", err)
		}
	}))
	w.logger().InfoContext(ctx, "weekly report scheduled", "next", w.Next(now).In(w.Location).Format(time.RFC1123), "channel", w.Channel)
	return nil
}

// Run posts the report for slot unless it was already posted. It reports
// whether this call posted it.
func (w *Weekly) Run(ctx context.Context, slot time.Time) (bool, error) {
	if slot.IsZero() {
		return false, nil
	}
	if last, err := w.Runs.LastRun(ctx, Job); err != nil || !slot.After(last) {
		return false, err
	}
	now := w.Now()
	in, err := Gather(ctx, w.Source, now, slot.AddDate(0, 0, -7), w.Location)
	if err != nil {
		return false, err
	}
	r := Build(in)
	text := Slack(r, w.Location)
	posted, err := w.Runs.ClaimRun(ctx, Job, slot, now, func(tx incident.Tx) error {
		e := &incident.Entry{At: now, Actor: incident.SystemActor, Kind: "report", Outcome: incident.OutcomeOK,
			Raw:    "weekly report for " + slot.In(w.Location).Format("2006-01-02 15:04 MST"),
			Detail: map[string]string{"open": fmt.Sprint(r.OpenCount), "overdue": fmt.Sprint(r.OverdueCount), "channel": w.Channel}}
		if err := tx.Append(ctx, e); err != nil {
			return err
		}
		if w.Channel == "" {
			return nil
		}
		return tx.Enqueue(ctx, &incident.Effect{Kind: EffectKind, Entry: e.ID, Created: now, NextAt: now, State: incident.EffectPending,
			Payload: map[string]string{"channel": w.Channel, "text": text}})
	})
	if posted && w.Wake != nil {
		w.Wake()
	}
	return posted, err
}

func (w *Weekly) logger() *slog.Logger {
	if w.Log == nil {
		return slog.Default()
	}
	return w.Log
}
