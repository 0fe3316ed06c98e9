package store

import (
	"context"
	"time"
)

// Stats are the counts /metrics reports, read in one go per scrape.
type Stats struct {
	// Incidents counts incidents by severity (1..4) and state: the public
	// status while open, "closed" once closed.
	Incidents map[[2]string]int
	// ToAcknowledge, ToMitigate and ToResolve are each incident's durations
	// in seconds, for those that reached the moment.
	ToAcknowledge, ToMitigate, ToResolve []float64
	// LateUpdates counts public updates that went past their due time (the
	// "due now" ping fired); Escalations those that were escalated too.
	LateUpdates, Escalations int
	// UpdatesOverdue counts open incidents whose next update is overdue now.
	UpdatesOverdue int
	// OpenActions and OverdueActions count action items by priority (1..3).
	OpenActions, OverdueActions map[int]int
	// Outbox counts outbox rows by system and state.
	Outbox map[[2]string]int
}

// Stats reads the figures for /metrics at now.
func (db *DB) Stats(ctx context.Context, now time.Time) (Stats, error) {
	s := Stats{Incidents: map[[2]string]int{}, OpenActions: map[int]int{}, OverdueActions: map[int]int{}, Outbox: map[[2]string]int{}}
	rows, err := db.r.QueryContext(ctx, `
		SELECT severity, CASE WHEN closed_at IS NOT NULL THEN 'closed' ELSE status END, declared_at,
		       COALESCE(acknowledged_at, ''), COALESCE(mitigated_at, ''), COALESCE(resolved_at, '')
		FROM incidents`)
	if err != nil {
		return s, err
	}
	for rows.Next() {
		var sev, state, declared, ack, mit, res string
		if err := rows.Scan(&sev, &state, &declared, &ack, &mit, &res); err != nil {
			rows.Close()
			return s, err
		}
		s.Incidents[[2]string{sev, state}]++
		d := parseTime(declared)
		for _, m := range []struct {
			at  string
			dst *[]float64
		}{{ack, &s.ToAcknowledge}, {mit, &s.ToMitigate}, {res, &s.ToResolve}} {
			if m.at != "" {
				*m.dst = append(*m.dst, parseTime(m.at).Sub(d).Seconds())
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s, err
	}
	today := now.UTC().Format(time.DateOnly)
	err = db.r.QueryRowContext(ctx, `
		SELECT (SELECT COUNT(*) FROM reminders WHERE kind = 'ping' AND sent = 1),
		       (SELECT COUNT(*) FROM reminders WHERE kind = 'escalate' AND sent = 1),
		       (SELECT COUNT(*) FROM incidents WHERE stage <> 'closed' AND next_update_due IS NOT NULL AND next_update_due < ?)`,
		fmtTime(now)).Scan(&s.LateUpdates, &s.Escalations, &s.UpdatesOverdue)
	if err != nil {
		return s, err
	}
	rows, err = db.r.QueryContext(ctx, `
		SELECT priority, COUNT(*), SUM(CASE WHEN due <> '' AND due < ? THEN 1 ELSE 0 END)
		FROM action_items WHERE status = 'open' GROUP BY priority`, today)
	if err != nil {
		return s, err
	}
	for rows.Next() {
		var p, open, overdue int
		if err := rows.Scan(&p, &open, &overdue); err != nil {
			rows.Close()
			return s, err
		}
		s.OpenActions[p], s.OverdueActions[p] = open, overdue
	}
	rows.Close()
	rows, err = db.r.QueryContext(ctx, `
		SELECT substr(kind, 1, instr(kind, '.') - 1), state, COUNT(*) FROM outbox
		WHERE state <> 'done' GROUP BY 1, 2`)
	if err != nil {
		return s, err
	}
	defer rows.Close()
	for rows.Next() {
		var sys, state string
		var n int
		if err := rows.Scan(&sys, &state, &n); err != nil {
			return s, err
		}
		s.Outbox[[2]string{sys, state}] = n
	}
	return s, rows.Err()
}
