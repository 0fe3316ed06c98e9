package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/warroom/warroom/incident"
)

// Enqueue implements incident.Tx: the effect is stored pending, in the
// caller's transaction.
func (t *storeTx) Enqueue(ctx context.Context, e *incident.Effect) error {
	payload, err := json.Marshal(e.Payload)
	if err != nil {
		return err
	}
	if e.Payload == nil {
		payload = []byte("{}")
	}
	var entry, n any
	if e.Entry != 0 {
		entry = e.Entry
	}
	if e.Incident != 0 {
		n = e.Incident
	}
	// Nothing in the transaction reads the effect back, so on PostgreSQL
	// the INSERT goes with the COMMIT (pgpipe.go), and e.ID is set then.
	return t.q.insertLater(ctx, &e.ID, `
		INSERT INTO outbox (incident, kind, lane, payload, entry, created_at, not_after, state, next_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?) RETURNING id`,
		n, e.Kind, e.Lane(), string(payload), entry, fmtTime(e.Created), nullTime(e.NotAfter), fmtTime(e.NextAt))
}

// SetLink implements incident.Tx.
func (t *storeTx) SetLink(ctx context.Context, n int64, l incident.Link) error {
	_, err := t.q.ExecContext(ctx, `
		INSERT INTO external_refs (incident, system, ref, url) VALUES (?, ?, ?, ?)
		ON CONFLICT (incident, system) DO UPDATE SET ref = excluded.ref, url = excluded.url`, n, l.System, l.Ref, l.URL)
	return err
}

// Links implements incident.Store.
func (db *DB) Links(ctx context.Context, n int64) ([]incident.Link, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT system, ref, url FROM external_refs WHERE incident = ? ORDER BY system`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []incident.Link
	for rows.Next() {
		var l incident.Link
		if err := rows.Scan(&l.System, &l.Ref, &l.URL); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

const effectColumns = `id, incident, kind, payload, entry, created_at, not_after, state, attempts, next_at, last_error, done_at`

func scanEffects(rows *sql.Rows) ([]incident.Effect, error) {
	defer rows.Close()
	var out []incident.Effect
	for rows.Next() {
		var e incident.Effect
		var payload, created, next string
		var entry, n sql.NullInt64
		var notAfter, done sql.NullString
		if err := rows.Scan(&e.ID, &n, &e.Kind, &payload, &entry, &created, &notAfter, &e.State, &e.Attempts, &next, &e.LastError, &done); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(payload), &e.Payload); err != nil {
			return nil, err
		}
		e.Entry, e.Incident = entry.Int64, n.Int64
		e.Created, e.NotAfter, e.NextAt, e.DoneAt = parseTime(created), parseTime(notAfter.String), parseTime(next), parseTime(done.String)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Effects implements incident.Store: outbox rows, newest first.
func (db *DB) Effects(ctx context.Context, f incident.EffectFilter) ([]incident.Effect, error) {
	var where []string
	var args []any
	if f.Incident != 0 {
		where, args = append(where, `incident = ?`), append(args, f.Incident)
	}
	if len(f.States) > 0 {
		where = append(where, `state IN (`+strings.TrimSuffix(strings.Repeat("?,", len(f.States)), ",")+`)`)
		for _, s := range f.States {
			args = append(args, s)
		}
	}
	q := `SELECT ` + effectColumns + ` FROM outbox`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.r.QueryContext(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	return scanEffects(rows)
}

// DueEffects returns the oldest pending effect of each lane, if it is due by
// now, oldest first: what the outbox worker may deliver next. A lane whose
// head waits for a retry waits as a whole, so its effects keep their order.
//
// The lanes are walked one index seek at a time (a recursive "loose index
// scan"), and each lane's head is fetched by its id, so the cost grows
// with the number of lanes, not with the backlog:
// a GROUP BY read every pending row, and under load the worker spent more
// time finding its next effect than delivering it.
func (db *DB) DueEffects(ctx context.Context, now time.Time, limit int) ([]incident.Effect, error) {
	q := dueEffects
	if db.pg {
		q = dueEffectsLateral
	}
	rows, err := db.r.QueryContext(ctx, q, fmtTime(now), limit)
	if err != nil {
		return nil, err
	}
	return scanEffects(rows)
}

const dueEffects = `
	WITH RECURSIVE lanes (lane) AS (
		SELECT MIN(lane) FROM outbox WHERE state = 'pending'
		UNION ALL
		SELECT (SELECT MIN(o.lane) FROM outbox o WHERE o.state = 'pending' AND o.lane > lanes.lane)
		FROM lanes WHERE lanes.lane IS NOT NULL
	)
	SELECT ` + effectColumns + ` FROM outbox
	WHERE id IN (SELECT (SELECT MIN(h.id) FROM outbox h WHERE h.state = 'pending' AND h.lane = lanes.lane) FROM lanes WHERE lane IS NOT NULL)
		AND next_at <= ? ORDER BY next_at, id LIMIT ?`

// dueEffectsLateral is dueEffects for PostgreSQL: each lane's head is
// fetched by a LATERAL index seek. Given a join, however written, its
// planner hashed the whole outbox table (done rows included) on every
// call, which was most of a replica's CPU under load. SQLite has no
// LATERAL, and its planner seeks either way.
const dueEffectsLateral = `
	WITH RECURSIVE lanes (lane) AS (
		SELECT MIN(lane) FROM outbox WHERE state = 'pending'
		UNION ALL
		SELECT (SELECT MIN(o.lane) FROM outbox o WHERE o.state = 'pending' AND o.lane > lanes.lane)
		FROM lanes WHERE lanes.lane IS NOT NULL
	)
	SELECT ` + effectColumns + ` FROM lanes CROSS JOIN LATERAL (
		SELECT * FROM outbox h WHERE h.state = 'pending' AND h.lane = lanes.lane ORDER BY h.id LIMIT 1) AS head
	WHERE lanes.lane IS NOT NULL AND next_at <= ? ORDER BY next_at, id LIMIT ?`

// NextDue is when the earliest pending effect falls due, or zero if none is pending.
func (db *DB) NextDue(ctx context.Context) (time.Time, error) {
	var next sql.NullString
	err := db.r.QueryRowContext(ctx, nextDue).Scan(&next)
	return parseTime(next.String), err
}

const nextDue = `SELECT MIN(next_at) FROM outbox WHERE state = 'pending'`

// Behind returns the pending effects right behind e in its lane that have
// e's kind, up to limit: work that delivering e's kind again would repeat
// (a summary refresh, a ticket sync read the current state), or that one
// delivery can carry with e (posts to the same room).
func (db *DB) Behind(ctx context.Context, e incident.Effect, limit int) ([]incident.Effect, error) {
	rows, err := db.r.QueryContext(ctx, followers, e.Lane(), e.ID, limit)
	if err != nil {
		return nil, err
	}
	fx, err := scanEffects(rows)
	for i := range fx {
		if fx[i].Kind != e.Kind {
			return fx[:i], err
		}
	}
	return fx, err
}

const followers = `SELECT ` + effectColumns + ` FROM outbox WHERE state = 'pending' AND lane = ? AND id > ? ORDER BY id LIMIT ?`

// EffectsDone marks effects delivered, in one transaction, each with one
// more attempt than it had. The mark is relaxed (group.go): it does not
// wait for a disk sync of its own, so the outbox's bookkeeping does not
// put a sync between every command and the next. The ids go as one JSON array, so any number of
// them is one prepared statement.
func (db *DB) EffectsDone(ctx context.Context, ids []int64, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	_, err = db.execRelaxed(ctx, `UPDATE outbox SET state = 'done', attempts = attempts + 1, done_at = ?, last_error = ''
		WHERE state = 'pending' AND id IN (SELECT CAST(value AS BIGINT) FROM json_each(?))`, fmtTime(at), string(list))
	return err
}

// EffectRetry records a failed attempt and when to try again.
func (db *DB) EffectRetry(ctx context.Context, id int64, attempts int, next time.Time, reason string) error {
	_, err := db.execRelaxed(ctx, `UPDATE outbox SET attempts = ?, next_at = ?, last_error = ? WHERE id = ? AND state = 'pending'`,
		attempts, fmtTime(next), clip(reason, 500), id)
	return err
}

// EffectGiveUp ends an effect as failed or expired.
func (db *DB) EffectGiveUp(ctx context.Context, id int64, state string, attempts int, reason string, at time.Time) error {
	_, err := db.exec(ctx, `UPDATE outbox SET state = ?, attempts = ?, last_error = ?, done_at = ? WHERE id = ? AND state = 'pending'`,
		state, attempts, clip(reason, 500), fmtTime(at), id)
	return err
}

// RequeueEffect puts a failed or expired effect back in its lane, due now;
// it reports false if there is no such effect to requeue.
func (db *DB) RequeueEffect(ctx context.Context, id int64, now time.Time) (bool, error) {
	res, err := db.exec(ctx, `UPDATE outbox SET state = 'pending', next_at = ?, not_after = NULL, done_at = NULL
		WHERE id = ? AND state IN ('failed', 'expired')`, fmtTime(now), id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// OutboxBacklog counts effects by state.
func (db *DB) OutboxBacklog(ctx context.Context) (map[string]int, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT state, COUNT(*) FROM outbox GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// NextPostmortemVersion implements incident.Tx.
func (t *storeTx) NextPostmortemVersion(ctx context.Context, n int64) (int, error) {
	var v int
	err := t.q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM postmortems WHERE incident = ?`, n).Scan(&v)
	return v, err
}

// AddPostmortem implements incident.Tx.
func (t *storeTx) AddPostmortem(ctx context.Context, pm *incident.Postmortem) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO postmortems (incident, version, markdown, html, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)`,
		pm.Incident, pm.Version, pm.Markdown, pm.HTML, fmtTime(pm.Created), pm.By)
	return err
}

// Postmortem implements incident.Store.
func (db *DB) Postmortem(ctx context.Context, n int64, v int) (incident.Postmortem, error) {
	pm := incident.Postmortem{Incident: n}
	var created string
	err := db.r.QueryRowContext(ctx, `SELECT version, markdown, html, created_at, created_by FROM postmortems
		WHERE incident = ? AND (version = ? OR ? = 0) ORDER BY version DESC LIMIT 1`, n, v, v).Scan(&pm.Version, &pm.Markdown, &pm.HTML, &created, &pm.By)
	if errors.Is(err, sql.ErrNoRows) {
		if v != 0 {
			return pm, incident.Errorf(incident.ENotFound, "%s has no postmortem draft v%d.", incident.Ref(n), v)
		}
		return pm, incident.Errorf(incident.ENotFound, "%s has no postmortem draft yet. Write one: `/incident %s postmortem`.", incident.Ref(n), incident.Ref(n))
	}
	pm.Created = parseTime(created)
	return pm, err
}

// ClaimLanes takes or renews owner's leases on lanes, to last until until,
// and returns the lanes owner holds now: those free, those whose lease
// ended by now, and its own. On SQLite one process owns the file, so every
// lane is its own and nothing is written.
func (db *DB) ClaimLanes(ctx context.Context, owner string, lanes []string, now, until time.Time) ([]string, error) {
	if !db.pg || len(lanes) == 0 {
		return lanes, nil
	}
	list, err := json.Marshal(lanes)
	if err != nil {
		return nil, err
	}
	var held []string
	err = db.relaxedWrite(ctx, func(q querier) error {
		held = held[:0]
		rows, err := q.QueryContext(ctx, `
			INSERT INTO outbox_leases (lane, owner, until)
			SELECT value, ?, ? FROM json_each(?) WHERE true
			ON CONFLICT (lane) DO UPDATE SET owner = excluded.owner, until = excluded.until
			WHERE outbox_leases.owner = excluded.owner OR outbox_leases.until < ?
			RETURNING lane`, owner, fmtTime(until), string(list), fmtTime(now))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var lane string
			if err := rows.Scan(&lane); err != nil {
				return err
			}
			held = append(held, lane)
		}
		return rows.Err()
	})
	return held, err
}

// ReleaseLanes gives up owner's leases, so another replica takes its lanes
// at once rather than when they end: a graceful shutdown.
func (db *DB) ReleaseLanes(ctx context.Context, owner string) error {
	if !db.pg {
		return nil
	}
	_, err := db.execRelaxed(ctx, `DELETE FROM outbox_leases WHERE owner = ?`, owner)
	return err
}
