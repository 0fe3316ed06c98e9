package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/warroom/warroom/incident"
)

const actionColumns = `id, incident, text, owner, priority, due, status, created_at, created_by, closed_at, closed_by, updated_at, ticket, ticket_url`

// AddAction implements incident.Tx.
func (t *storeTx) AddAction(ctx context.Context, a *incident.ActionItem) error {
	return t.q.QueryRowContext(ctx, `
		INSERT INTO action_items (incident, text, owner, priority, due, status, created_at, created_by, closed_at, closed_by, updated_at, ticket, ticket_url)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		a.Incident, a.Text, a.Owner, int(a.Priority), fmtDay(a.Due), string(a.Status), fmtTime(a.Created), a.CreatedBy,
		nullTime(a.Closed), a.ClosedBy, fmtTime(a.Updated), a.Ticket, a.TicketURL).Scan(&a.ID)
}

// SaveAction implements incident.Tx.
func (t *storeTx) SaveAction(ctx context.Context, a *incident.ActionItem) error {
	_, err := t.q.ExecContext(ctx, `
		UPDATE action_items SET text = ?, owner = ?, priority = ?, due = ?, status = ?, closed_at = ?, closed_by = ?,
			updated_at = ?, ticket = ?, ticket_url = ? WHERE id = ?`,
		a.Text, a.Owner, int(a.Priority), fmtDay(a.Due), string(a.Status), nullTime(a.Closed), a.ClosedBy,
		fmtTime(a.Updated), a.Ticket, a.TicketURL, a.ID)
	return err
}

// OwnsAction implements incident.Tx.
func (t *storeTx) OwnsAction(ctx context.Context, n int64, user string) (bool, error) {
	var owns bool
	err := t.q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM action_items WHERE incident = ? AND owner = ?)`, n, user).Scan(&owns)
	return owns, err
}

// Action implements incident.Tx.
func (t *storeTx) Action(ctx context.Context, id int64) (*incident.ActionItem, error) {
	return getAction(ctx, t.q, id)
}

// Action implements incident.Store.
func (db *DB) Action(ctx context.Context, id int64) (*incident.ActionItem, error) {
	return getAction(ctx, db.r, id)
}

func getAction(ctx context.Context, q querier, id int64) (*incident.ActionItem, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+actionColumns+` FROM action_items WHERE id = ?`, id)
	if err != nil {
		return nil, err
	}
	items, err := scanActions(rows, 1)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, incident.NoAction(id)
	}
	return &items[0], nil
}

// Actions implements incident.Store. With ClosedSince or DeclaredSince it
// returns open items plus those closed since, plus those of incidents
// declared since: what the weekly report reads, in one query.
func (db *DB) Actions(ctx context.Context, f incident.ActionFilter) ([]incident.ActionItem, error) {
	var where, either []string
	var args []any
	if f.Incident != 0 {
		where, args = append(where, `a.incident = ?`), append(args, f.Incident)
	}
	if f.Owner != "" {
		where, args = append(where, `a.owner = ?`), append(args, f.Owner)
	}
	if f.OpenOnly || !f.ClosedSince.IsZero() || !f.DeclaredSince.IsZero() {
		either = append(either, `a.status = 'open'`)
	}
	if !f.ClosedSince.IsZero() {
		either, args = append(either, `a.closed_at >= ?`), append(args, fmtTime(f.ClosedSince))
	}
	q := `SELECT ` + prefixed("a.", actionColumns) + ` FROM action_items a`
	if !f.DeclaredSince.IsZero() {
		q += ` JOIN incidents i ON i.number = a.incident`
		either, args = append(either, `i.declared_at >= ?`), append(args, fmtTime(f.DeclaredSince))
	}
	if len(either) > 0 {
		where = append(where, `(`+strings.Join(either, ` OR `)+`)`)
	}
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY a.incident, a.id`
	if f.Limit > 0 {
		q, args = q+` LIMIT ?`, append(args, f.Limit)
	}
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return scanActions(rows, 0)
}

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}

func scanActions(rows *sql.Rows, capHint int) ([]incident.ActionItem, error) {
	defer rows.Close()
	out := make([]incident.ActionItem, 0, capHint)
	for rows.Next() {
		var a incident.ActionItem
		var prio int
		var due, status, created, updated string
		var closed sql.NullString
		if err := rows.Scan(&a.ID, &a.Incident, &a.Text, &a.Owner, &prio, &due, &status, &created, &a.CreatedBy,
			&closed, &a.ClosedBy, &updated, &a.Ticket, &a.TicketURL); err != nil {
			return nil, err
		}
		a.Priority, a.Status = incident.Priority(prio), incident.ActionStatus(status)
		a.Created, a.Closed, a.Updated = parseTime(created), parseTime(closed.String), parseTime(updated)
		if due != "" {
			a.Due, _ = time.Parse(time.DateOnly, due)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func fmtDay(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

// ClaimRun records that job ran for slot (its scheduled time), and runs
// then, in the same transaction: the first caller for a slot gets true and
// its work is stored with the claim; any other caller, now or after a
// restart, gets false and changes nothing.
func (db *DB) ClaimRun(ctx context.Context, job string, slot, now time.Time, then func(incident.Tx) error) (bool, error) {
	claimed := false
	err := db.Update(ctx, func(tx incident.Tx) error {
		st := tx.(*storeTx)
		res, err := st.q.ExecContext(ctx, `INSERT INTO scheduled_runs (job, slot, ran_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			job, fmtTime(slot), fmtTime(now))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		claimed = true
		if then != nil {
			return then(tx)
		}
		return nil
	})
	return claimed, err
}

// LastRun is the latest slot job was claimed for, or zero.
func (db *DB) LastRun(ctx context.Context, job string) (time.Time, error) {
	var slot sql.NullString
	err := db.r.QueryRowContext(ctx, `SELECT MAX(slot) FROM scheduled_runs WHERE job = ?`, job).Scan(&slot)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	return parseTime(slot.String), err
}
