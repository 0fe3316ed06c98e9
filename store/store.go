// Package store keeps warroom's incidents and timeline, in a SQLite file
// through modernc.org/sqlite (pure Go, no cgo) or in PostgreSQL through
// jackc/pgx. It implements incident.Store.
//
// SQLite runs in WAL mode with foreign keys on and a busy timeout. All
// writes go through one connection, so transactions never fight for the
// write lock; reads use a separate pool and see committed data.
//
// PostgreSQL runs the same SQL (dialect.go) and the same group commit
// (group.go); postgres.go says what differs: how several replicas share it.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/migrations"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// timeFormat keeps fixed-width UTC times, so text order is time order.
const timeFormat = "2006-01-02T15:04:05.000000Z"

// DB is an open warroom database.
type DB struct {
	path   string // the SQLite file, or the PostgreSQL URL without its password
	pg     bool
	b      *binder
	writer *sql.DB // one connection: the only writer
	reader *sql.DB
	// wc and rc keep the writer's and the readers' statements prepared;
	// w and r run queries through them.
	wc, rc *stmtCache
	r      cachedDB
	// rx is PostgreSQL's pool for relaxed writes (group.go), nil on SQLite.
	rx          cachedDB
	relaxedPool *sql.DB
	group
}

// Open opens (creating if needed) the database at path and applies any
// migrations not yet applied. A postgres:// or postgresql:// URL opens
// PostgreSQL; anything else is a SQLite file.
func Open(ctx context.Context, path string) (*DB, error) {
	if IsPostgres(path) {
		return openPostgres(ctx, path)
	}
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	// The file holds notes and private incidents: only its owner may read
	// it. SQLite gives the -wal and -shm files the same mode.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	w, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(4)
	b := &binder{}
	db := &DB{path: path, b: b, writer: w, reader: r, wc: newStmtCache(w, b), rc: newStmtCache(r, b)}
	db.r = cachedDB{db.rc}
	db.startGroup()
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}
	return db, nil
}

// DSN is the connection string warroom uses for path: a writer gets an
// immediate write lock per transaction, a reader is read-only. Benchmarks
// use it to compare warroom with a bare insert under the same settings.
func DSN(path string, writer bool) string { return dsn(path, writer) }

func dsn(path string, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	// FULL: a commit is on disk (the WAL is synced) before the user is answered.
	q.Add("_pragma", "synchronous(FULL)")
	if writer {
		q.Set("_txlock", "immediate")
		// The savepoint around each write of a group commit keeps the
		// pages it changes in a sub-journal, a temporary file: at
		// 1,000 commands/s its pwrite calls were a sixth of warroom's
		// CPU. It only serves a rollback to the savepoint (crash recovery
		// uses the WAL), so it is kept in memory.
		q.Add("_pragma", "temp_store(MEMORY)")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	return "file:" + path + "?" + q.Encode()
}

// Close closes the database.
func (db *DB) Close() error {
	db.keys.wait()
	db.stopGroup()
	db.rc.close()
	db.wc.close()
	var rp error
	if db.relaxedPool != nil {
		rp = db.relaxedPool.Close()
	}
	return errors.Join(db.reader.Close(), db.writer.Close(), rp)
}

// Ping reports whether the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	return db.r.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

// Migrate applies pending migrations; it returns the names applied.
func (db *DB) Migrate(ctx context.Context) ([]string, error) { return db.applyMigrations(ctx) }

func (db *DB) migrate(ctx context.Context) error {
	_, err := db.applyMigrations(ctx)
	return err
}

func (db *DB) applyMigrations(ctx context.Context) ([]string, error) {
	if db.pg {
		// Replicas starting together: one migrates, the others wait
		// here and then find nothing left to do.
		unlock, err := db.lockMigrations(ctx)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	if _, err := db.writer.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return nil, err
	}
	names, err := migrationNames(db.pg)
	if err != nil {
		return nil, err
	}
	var applied []string
	for _, name := range names {
		done, err := db.applyMigration(ctx, name)
		if err != nil {
			return applied, fmt.Errorf("%s: %w", name, err)
		}
		if done {
			applied = append(applied, name)
		}
	}
	return applied, nil
}

// Pending reads the database at path without changing anything (it must
// exist) and returns the migrations it still lacks: what `warroom check`
// reports, where opening it would apply them.
func Pending(ctx context.Context, path string) ([]string, error) {
	if IsPostgres(path) {
		return pendingPostgres(ctx, path)
	}
	ro, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	defer ro.Close()
	return pendingIn(ctx, ro, false, func(err error) bool { return strings.Contains(err.Error(), "no such table") })
}

// pendingIn lists the migrations of a dialect that ro's schema_migrations
// does not hold; noTable says an error means the table is not there yet
// (nothing applied).
func pendingIn(ctx context.Context, ro *sql.DB, pg bool, noTable func(error) bool) ([]string, error) {
	done := map[string]bool{}
	rows, err := ro.QueryContext(ctx, `SELECT name FROM schema_migrations`)
	switch {
	case err != nil && noTable(err):
	case err != nil:
		return nil, err
	default:
		defer rows.Close()
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				return nil, err
			}
			done[name] = true
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	names, err := migrationNames(pg)
	if err != nil {
		return nil, err
	}
	var pending []string
	for _, n := range names {
		if !done[n] {
			pending = append(pending, n)
		}
	}
	return pending, nil
}

func (db *DB) applyMigration(ctx context.Context, name string) (bool, error) {
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, db.b.bind(`SELECT COUNT(*) FROM schema_migrations WHERE name = ?`), name).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	body, err := fs.ReadFile(migrations.FS, migrationDir(db.pg)+"/"+name)
	if err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, db.b.bind(`INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`), name, time.Now().UTC().Format(timeFormat)); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

func migrationDir(pg bool) string {
	if pg {
		return "postgres"
	}
	return "sqlite"
}

// migrationNames lists a dialect's migrations, in the order they apply.
func migrationNames(pg bool) ([]string, error) {
	paths, err := fs.Glob(migrations.FS, migrationDir(pg)+"/*.sql")
	if err != nil {
		return nil, err
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = path.Base(p)
	}
	sort.Strings(names)
	return names, nil
}

// Update implements incident.Store.
// It shares a commit with other writes waiting at the same time (group.go).
func (db *DB) Update(ctx context.Context, fn func(incident.Tx) error) error {
	return db.write(ctx, func(q cachedTx) error { return fn(&storeTx{tx: q.tx, q: q}) })
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

type storeTx struct {
	tx *sql.Tx
	q  cachedTx
	// read holds the roles, members and components of each incident as
	// this transaction read them, so SaveIncident rewrites only those
	// that changed: most commands (a note, a status) change none.
	read map[int64]children
}

type children struct {
	roles   map[string]string
	members map[string]bool
	comps   map[string]incident.ComponentStatus
	// checklist is the checklist as the row holds it: a change that
	// leaves it alone does not encode and write it again (up to 50 steps,
	// several pages of a row, on every note).
	checklist []incident.Step
}

func (t *storeTx) Incident(ctx context.Context, n int64) (*incident.Incident, error) {
	inc := t.q.seen.get(n)
	var err error
	if inc == nil {
		inc, err = getIncident(ctx, t.q, `WHERE number = ?`, n)
	}
	if err == nil {
		t.q.seen.put(inc)
		if t.read == nil {
			t.read = map[int64]children{}
		}
		t.read[n] = children{maps.Clone(inc.Roles), maps.Clone(inc.Members), maps.Clone(inc.Components), slices.Clone(inc.Checklist)}
	}
	return inc, err
}

func (t *storeTx) CreateIncident(ctx context.Context, inc *incident.Incident) error {
	err := t.q.QueryRowContext(ctx, `
		INSERT INTO incidents (title, description, severity, stage, status, declared_by, commander, communicator,
			channel_id, channel_name, summary_ts, status_updates, declared_at, acknowledged_at, mitigated_at,
			resolved_at, closed_at, updated_at, impact, next_update_due, service, private, public_status, public_title, published_at, snoozes,
			checklist, checklist_ts)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING number`,
		inc.Title, inc.Description, int(inc.Severity), string(inc.Stage), string(inc.Status), inc.DeclaredBy,
		inc.Commander, inc.Communicator, inc.ChannelID, inc.ChannelName, inc.SummaryTS, inc.StatusUpdates,
		fmtTime(inc.DeclaredAt), nullTime(inc.AcknowledgedAt), nullTime(inc.MitigatedAt),
		nullTime(inc.ResolvedAt), nullTime(inc.ClosedAt), fmtTime(inc.UpdatedAt), inc.Impact, nullTime(inc.NextUpdateDue), inc.Service, flag(inc.Private),
		string(inc.PublicStatus), inc.PublicTitle, nullTime(inc.PublishedAt), inc.Snoozes, checklistJSON(inc.Checklist), inc.ChecklistTS).Scan(&inc.Number)
	if err != nil {
		return err
	}
	t.q.seen.put(inc)
	return saveRoles(ctx, t.q, inc)
}

// updateIncident writes an incident's row but its checklist;
// updateIncidentChecklist writes the checklist too.
const (
	updateIncident = `
		UPDATE incidents SET title = ?, description = ?, severity = ?, stage = ?, status = ?, commander = ?,
			communicator = ?, channel_id = ?, channel_name = ?, summary_ts = ?, status_updates = ?,
			acknowledged_at = ?, mitigated_at = ?, resolved_at = ?, closed_at = ?, updated_at = ?,
			impact = ?, next_update_due = ?, service = ?, public_status = ?, public_title = ?, published_at = ?, snoozes = ?,
			checklist_ts = ?
		WHERE number = ?`
	updateIncidentChecklist = `
		UPDATE incidents SET title = ?, description = ?, severity = ?, stage = ?, status = ?, commander = ?,
			communicator = ?, channel_id = ?, channel_name = ?, summary_ts = ?, status_updates = ?,
			acknowledged_at = ?, mitigated_at = ?, resolved_at = ?, closed_at = ?, updated_at = ?,
			impact = ?, next_update_due = ?, service = ?, public_status = ?, public_title = ?, published_at = ?, snoozes = ?,
			checklist_ts = ?, checklist = ?
		WHERE number = ?`
)

func (t *storeTx) SaveIncident(ctx context.Context, inc *incident.Incident) error {
	// An incident this transaction has read exists (writes hold the
	// writers' lock, and incidents are never deleted), so the UPDATE's
	// count is not needed and on PostgreSQL it is held back, to go with
	// the next statement (pgpipe.go).
	was, known := t.read[inc.Number]
	exec := t.q.ExecContext
	if known {
		exec = t.q.execLater
	}
	args := []any{inc.Title, inc.Description, int(inc.Severity), string(inc.Stage), string(inc.Status), inc.Commander,
		inc.Communicator, inc.ChannelID, inc.ChannelName, inc.SummaryTS, inc.StatusUpdates,
		nullTime(inc.AcknowledgedAt), nullTime(inc.MitigatedAt), nullTime(inc.ResolvedAt), nullTime(inc.ClosedAt),
		fmtTime(inc.UpdatedAt), inc.Impact, nullTime(inc.NextUpdateDue), inc.Service, string(inc.PublicStatus), inc.PublicTitle, nullTime(inc.PublishedAt), inc.Snoozes,
		inc.ChecklistTS}
	query := updateIncident
	if !known || !sameSteps(inc.Checklist, was.checklist) {
		query, args = updateIncidentChecklist, append(args, checklistJSON(inc.Checklist))
	}
	res, err := exec(ctx, query, append(args, inc.Number)...)
	if err != nil {
		return err
	}
	if known {
		was.checklist = slices.Clone(inc.Checklist) // as the row now holds it
		t.read[inc.Number] = was
	}
	if n, err := res.RowsAffected(); !known && (err != nil || n != 1) {
		return incident.Errorf(incident.ENotFound, "%s does not exist.", inc.Ref())
	}
	t.q.seen.put(inc)
	if was, ok := t.read[inc.Number]; ok && maps.Equal(was.roles, inc.Roles) && maps.Equal(was.members, inc.Members) && maps.Equal(was.comps, inc.Components) {
		return nil // as read: nothing to rewrite
	}
	delete(t.read, inc.Number)
	return saveRoles(ctx, t.q, inc)
}

// saveRoles writes the incident's other roles and its components.
func saveRoles(ctx context.Context, q querier, inc *incident.Incident) error {
	// Members only matter for private incidents; someone released (a role
	// handed on, an action item reassigned) loses access.
	if _, err := q.ExecContext(ctx, `DELETE FROM incident_members WHERE incident = ?`, inc.Number); err != nil {
		return err
	}
	for user := range inc.Members {
		if _, err := q.ExecContext(ctx, `INSERT INTO incident_members (incident, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, inc.Number, user); err != nil {
			return err
		}
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM incident_roles WHERE incident = ?`, inc.Number); err != nil {
		return err
	}
	for _, role := range inc.RoleNames() {
		if _, err := q.ExecContext(ctx, `INSERT INTO incident_roles (incident, role, user_id) VALUES (?, ?, ?)`,
			inc.Number, role, inc.Roles[role]); err != nil {
			return err
		}
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM incident_components WHERE incident = ?`, inc.Number); err != nil {
		return err
	}
	for _, name := range inc.ComponentNames() {
		if _, err := q.ExecContext(ctx, `INSERT INTO incident_components (incident, name, status) VALUES (?, ?, ?)`,
			inc.Number, name, string(inc.Components[name])); err != nil {
			return err
		}
	}
	return nil
}

func (t *storeTx) AddPublicUpdate(ctx context.Context, u *incident.PublicUpdate) error {
	comps, err := json.Marshal(orEmptyComponents(u.Components))
	if err != nil {
		return err
	}
	return t.q.QueryRowContext(ctx, `
		INSERT INTO public_updates (incident, at, author, status, title, body, components, impact, next_update_due)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		u.Incident, fmtTime(u.At), u.Author, string(u.Status), u.Title, u.Body, string(comps), u.Impact, nullTime(u.NextUpdateDue)).Scan(&u.ID)
}

func (t *storeTx) MarkReminder(ctx context.Context, n int64, due time.Time, kind string, at time.Time, sent bool) (bool, error) {
	res, err := t.q.ExecContext(ctx, `
		INSERT INTO reminders (incident, due, kind, fired_at, sent) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (incident, due, kind) DO NOTHING`, n, fmtTime(due), kind, fmtTime(at), flag(sent))
	if err != nil {
		return false, err
	}
	rows, err := res.RowsAffected()
	return rows == 1, err
}

// DueForReminder implements incident.Store.
func (db *DB) DueForReminder(ctx context.Context, before time.Time) ([]*incident.Incident, error) {
	return listIncidents(ctx, db.r, `WHERE next_update_due IS NOT NULL AND next_update_due <= ? AND stage <> 'closed' ORDER BY number`, fmtTime(before))
}

// PublishedIncidents implements incident.Store. Both halves read the
// incidents_published index (the "<> ”" lets SQLite use the partial
// index), so a flood of unpublished incidents costs the page nothing, and
// an active public incident is never crowded out by newer ones.
func (db *DB) PublishedIncidents(ctx context.Context, since time.Time, limit int) ([]int64, error) {
	return numbers(ctx, db.r, publishedIncidents, fmtTime(since), limit)
}

// numbers runs a query of one integer column: incident numbers.
func numbers(ctx context.Context, q querier, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

const publishedIncidents = `
	SELECT number FROM incidents
	WHERE public_status <> '' AND public_status IN ('investigating', 'identified', 'monitoring') AND private = 0
	UNION ALL
	SELECT number FROM (
		SELECT number FROM incidents
		WHERE public_status <> '' AND public_status = 'resolved' AND published_at >= ? AND private = 0
		ORDER BY published_at DESC LIMIT ?) AS recent`

func orEmptyComponents(m map[string]incident.ComponentStatus) map[string]incident.ComponentStatus {
	if m == nil {
		return map[string]incident.ComponentStatus{}
	}
	return m
}

// Unacknowledged implements incident.Store.
func (db *DB) Unacknowledged(ctx context.Context, worst incident.Severity, before time.Time) ([]*incident.Incident, error) {
	return listIncidents(ctx, db.r, `WHERE status <> 'resolved' AND severity <= ? AND acknowledged_at IS NULL AND declared_at <= ? ORDER BY number`, int(worst), fmtTime(before))
}

// PublicUpdates implements incident.Store.
func (db *DB) PublicUpdates(ctx context.Context, n int64) ([]incident.PublicUpdate, error) {
	m, err := db.PublicUpdatesOf(ctx, []int64{n})
	return m[n], err
}

// PublicUpdatesOf implements incident.Store.
func (db *DB) PublicUpdatesOf(ctx context.Context, ns []int64) (map[int64][]incident.PublicUpdate, error) {
	out := map[int64][]incident.PublicUpdate{}
	if len(ns) == 0 {
		return out, nil
	}
	args := make([]any, len(ns))
	for i, n := range ns {
		args[i] = n
	}
	rows, err := db.r.QueryContext(ctx, `
		SELECT id, incident, at, author, status, title, body, components, impact, next_update_due FROM public_updates
		WHERE incident IN (`+strings.TrimSuffix(strings.Repeat("?,", len(ns)), ",")+`) ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var u incident.PublicUpdate
		var at, status, comps string
		var next sql.NullString
		if err := rows.Scan(&u.ID, &u.Incident, &at, &u.Author, &status, &u.Title, &u.Body, &comps, &u.Impact, &next); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(comps), &u.Components); err != nil {
			return nil, fmt.Errorf("public update %d: components: %w", u.ID, err)
		}
		u.At, u.Status, u.NextUpdateDue = parseTime(at), incident.Status(status), parseTime(next.String)
		out[u.Incident] = append(out[u.Incident], u)
	}
	return out, rows.Err()
}

func (t *storeTx) Append(ctx context.Context, e *incident.Entry) error {
	detail := "{}"
	if len(e.Detail) > 0 {
		b, err := json.Marshal(e.Detail)
		if err != nil {
			return err
		}
		detail = string(b)
	}
	var inc any
	if e.Incident != 0 {
		inc = e.Incident
	}
	return t.q.QueryRowContext(ctx, `
		INSERT INTO timeline (incident, at, actor, channel, raw, kind, outcome, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		inc, fmtTime(e.At), e.Actor, e.Channel, e.Raw, e.Kind, e.Outcome, detail).Scan(&e.ID)
}

// Incident implements incident.Store.
func (db *DB) Incident(ctx context.Context, n int64) (*incident.Incident, error) {
	return getIncident(ctx, db.r, `WHERE number = ?`, n)
}

// IncidentByChannel implements incident.Store.
// byChannel finds a war room's incident. The "<> ”" lets SQLite use the
// partial index on channel_id; without it every command in a war room
// scanned the whole incidents table (found by bench/load -seed 10000).
const byChannel = `WHERE channel_id = ? AND channel_id <> ''`

func (db *DB) IncidentByChannel(ctx context.Context, channel string) (*incident.Incident, error) {
	if channel == "" {
		return nil, incident.Errorf(incident.ENotFound, "No incident has this channel as its war room.")
	}
	return getIncident(ctx, db.r, byChannel, channel)
}

// Incidents implements incident.Store.
func (db *DB) Incidents(ctx context.Context, f incident.Filter) ([]*incident.Incident, error) {
	limit := f.Limit
	if limit == 0 {
		limit = 50
	}
	where, args := []string{"1 = 1"}, []any{}
	if f.OpenOnly {
		where = append(where, "status <> 'resolved'")
	}
	if f.Before > 0 {
		where = append(where, "number < ?")
		args = append(args, f.Before)
	}
	if f.PublicOnly {
		where = append(where, "private = 0")
	}
	if f.PrivateOnly {
		where = append(where, "private = 1")
	}
	if !f.DeclaredSince.IsZero() {
		where = append(where, "declared_at >= ?")
		args = append(args, fmtTime(f.DeclaredSince))
	}
	if f.Limit < 0 {
		limit = 1 << 62 // no limit, said so both stores take it
	}
	args = append(args, limit)
	return listIncidents(ctx, db.r, `WHERE `+strings.Join(where, " AND ")+` ORDER BY number DESC LIMIT ?`, args...)
}

const incidentColumns = `number, title, description, severity, stage, status, declared_by, commander, communicator,
	channel_id, channel_name, summary_ts, status_updates, declared_at, acknowledged_at, mitigated_at, resolved_at,
	closed_at, updated_at, impact, next_update_due, service, private, public_status, public_title, published_at, snoozes,
	checklist, checklist_ts`

func getIncident(ctx context.Context, q querier, where string, args ...any) (*incident.Incident, error) {
	var list []*incident.Incident
	var err error
	if onPostgres(q) {
		list, err = joinIncident(ctx, q, where, args...)
	} else {
		list, err = listIncidents(ctx, q, where, args...)
	}
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		if len(args) == 1 {
			if n, ok := args[0].(int64); ok {
				return nil, incident.NoIncident(n)
			}
		}
		return nil, incident.Errorf(incident.ENotFound, "This channel is not an incident's war room. Name the incident first, e.g. `/incident INC-7 note ...`, or find it with `/incident list`.")
	}
	return list[0], nil
}

func listIncidents(ctx context.Context, q querier, where string, args ...any) ([]*incident.Incident, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+incidentColumns+` FROM incidents `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []*incident.Incident
	byNumber := map[int64]*incident.Incident{}
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, inc)
		byNumber[inc.Number] = inc
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return list, nil
	}
	if err := loadRoles(ctx, q, byNumber); err != nil {
		return nil, err
	}
	return list, nil
}

// scanIncident reads an incident's row (incidentColumns), and then into
// more, whatever the query selected after them.
func scanIncident(rows *sql.Rows, more ...any) (*incident.Incident, error) {
	var inc incident.Incident
	var sev int
	var stage, status, declared, updated string
	var ack, mit, res, closed, next, published sql.NullString
	var public, checklist string
	if err := rows.Scan(append([]any{&inc.Number, &inc.Title, &inc.Description, &sev, &stage, &status, &inc.DeclaredBy,
		&inc.Commander, &inc.Communicator, &inc.ChannelID, &inc.ChannelName, &inc.SummaryTS, &inc.StatusUpdates,
		&declared, &ack, &mit, &res, &closed, &updated, &inc.Impact, &next, &inc.Service, &inc.Private,
		&public, &inc.PublicTitle, &published, &inc.Snoozes, &checklist, &inc.ChecklistTS}, more...)...); err != nil {
		return nil, err
	}
	if checklist != "" {
		if err := json.Unmarshal([]byte(checklist), &inc.Checklist); err != nil {
			return nil, fmt.Errorf("%s's checklist: %w", inc.Ref(), err)
		}
	}
	inc.NextUpdateDue = parseTime(next.String)
	inc.PublicStatus, inc.PublishedAt = incident.Status(public), parseTime(published.String)
	inc.Components = map[string]incident.ComponentStatus{}
	inc.Severity, inc.Stage, inc.Status = incident.Severity(sev), incident.Stage(stage), incident.Status(status)
	inc.DeclaredAt, inc.UpdatedAt = parseTime(declared), parseTime(updated)
	inc.AcknowledgedAt, inc.MitigatedAt = parseTime(ack.String), parseTime(mit.String)
	inc.ResolvedAt, inc.ClosedAt = parseTime(res.String), parseTime(closed.String)
	inc.Roles = map[string]string{}
	return &inc, nil
}

// joinIncident is listIncidents in one query, the incident's row joined
// with its roles, components and members: on PostgreSQL, where each query
// is a round trip and every command reads its incident, half the reads.
// (SQLite, which has no round trips, would materialise the union.) where
// must select by number or channel, with no LIMIT: an incident comes as
// one row per child.
func joinIncident(ctx context.Context, q querier, where string, args ...any) ([]*incident.Incident, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+incidentColumns+`, c.what, c.k, c.v FROM incidents LEFT JOIN (
			SELECT incident, 'role' AS what, role AS k, user_id AS v FROM incident_roles
			UNION ALL SELECT incident, 'component', name, status FROM incident_components
			UNION ALL SELECT incident, 'member', user_id, '' FROM incident_members
		) c ON c.incident = incidents.number `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []*incident.Incident
	for rows.Next() {
		var what, key, value sql.NullString
		inc, err := scanIncident(rows, &what, &key, &value)
		if err != nil {
			return nil, err
		}
		if len(list) == 0 || list[len(list)-1].Number != inc.Number {
			list = append(list, inc)
		}
		addChild(list[len(list)-1], what.String, key.String, value.String)
	}
	return list, rows.Err()
}

// addChild adds one of an incident's roles, components or members, as
// rolesOf names them.
func addChild(inc *incident.Incident, what, key, value string) {
	switch what {
	case "role":
		inc.Roles[key] = value
	case "member":
		inc.AddMember(key)
	case "component":
		inc.Components[key] = incident.ComponentStatus(value)
	}
}

// onPostgres reports whether q runs on PostgreSQL.
func onPostgres(q querier) bool {
	switch c := q.(type) {
	case cachedDB:
		return c.c.b.pg
	case cachedTx:
		return c.c.b.pg
	}
	return false
}

const rolesOf = `
	WITH wanted (n) AS (SELECT CAST(value AS BIGINT) FROM json_each(?))
	SELECT incident, 'role', role, user_id FROM incident_roles WHERE incident IN (SELECT n FROM wanted)
	UNION ALL
	SELECT incident, 'component', name, status FROM incident_components WHERE incident IN (SELECT n FROM wanted)
	UNION ALL
	SELECT incident, 'member', user_id, '' FROM incident_members WHERE incident IN (SELECT n FROM wanted)`

// roleOf is rolesOf for one incident, the common case (every command reads
// its incident): a plain index lookup, without the JSON array.
const roleOf = `
	SELECT incident, 'role', role, user_id FROM incident_roles WHERE incident = ?1
	UNION ALL
	SELECT incident, 'component', name, status FROM incident_components WHERE incident = ?1
	UNION ALL
	SELECT incident, 'member', user_id, '' FROM incident_members WHERE incident = ?1`

// loadRoles fills in the roles, components and members of the incidents
// in byNumber. Their numbers go as one JSON array: one prepared statement
// for any number of incidents, and no cap on parameters.
func loadRoles(ctx context.Context, q querier, byNumber map[int64]*incident.Incident) (err error) {
	ids := make([]int64, 0, len(byNumber))
	for n := range byNumber {
		ids = append(ids, n)
	}
	var rr *sql.Rows
	if len(ids) == 1 {
		rr, err = q.QueryContext(ctx, roleOf, ids[0])
	} else {
		list, jerr := json.Marshal(ids)
		if jerr != nil {
			return jerr
		}
		rr, err = q.QueryContext(ctx, rolesOf, string(list))
	}
	if err != nil {
		return err
	}
	defer rr.Close()
	for rr.Next() {
		var n int64
		var what, key, value string
		if err := rr.Scan(&n, &what, &key, &value); err != nil {
			return err
		}
		addChild(byNumber[n], what, key, value)
	}
	return rr.Err()
}

// Timeline implements incident.Store.
func (db *DB) Timeline(ctx context.Context, n int64, p incident.Page) ([]incident.Entry, error) {
	cond := `incident = ?`
	args := []any{n}
	if n == 0 {
		cond, args = `incident IS NULL`, nil
	}
	order := ` AND id > ? ORDER BY id`
	args = append(args, p.AfterID)
	if p.Latest {
		before := p.BeforeID
		if before <= 0 {
			before = 1<<63 - 1
		}
		order, args[len(args)-1] = ` AND id < ? ORDER BY id DESC`, before
	}
	limit := ""
	if p.Limit > 0 {
		limit = " LIMIT ?"
		args = append(args, p.Limit)
	}
	rows, err := db.r.QueryContext(ctx, `
		SELECT id, COALESCE(incident, 0), at, actor, channel, raw, kind, outcome, detail
		FROM timeline WHERE `+cond+order+limit, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []incident.Entry
	for rows.Next() {
		var e incident.Entry
		var at, detail string
		if err := rows.Scan(&e.ID, &e.Incident, &at, &e.Actor, &e.Channel, &e.Raw, &e.Kind, &e.Outcome, &detail); err != nil {
			return nil, err
		}
		e.At = parseTime(at)
		if detail != "" && detail != "{}" {
			if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
				return nil, err
			}
		}
		out = append(out, e)
	}
	if p.Latest {
		slices.Reverse(out)
	}
	return out, rows.Err()
}

func fmtTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return fmtTime(t)
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		t, _ = time.Parse(time.RFC3339Nano, s)
	}
	return t.UTC()
}

// ExternalRef returns what incident n is called in system, or "".
func (db *DB) ExternalRef(ctx context.Context, n int64, system string) (string, error) {
	var ref string
	err := db.r.QueryRowContext(ctx, `SELECT ref FROM external_refs WHERE incident = ? AND system = ?`, n, system).Scan(&ref)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return ref, err
}

// SetExternalRef records what incident n is called in system.
func (db *DB) SetExternalRef(ctx context.Context, n int64, system, ref string) error {
	_, err := db.exec(ctx, `
		INSERT INTO external_refs (incident, system, ref) VALUES (?, ?, ?)
		ON CONFLICT (incident, system) DO UPDATE SET ref = excluded.ref`, n, system, ref)
	return err
}

func (t *storeTx) MarkDelivery(ctx context.Context, source, eventID string, at time.Time) (bool, error) {
	if eventID == "" {
		return true, nil // nothing to deduplicate by
	}
	res, err := t.q.ExecContext(ctx, `INSERT INTO webhook_events (source, event_id, received_at) VALUES (?, ?, ?)
		ON CONFLICT (source, event_id) DO NOTHING`, source, eventID, fmtTime(at))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (t *storeTx) AddAlert(ctx context.Context, n int64, a incident.Alert, group string) error {
	_, err := t.q.ExecContext(ctx, `
		INSERT INTO alerts (incident, source, external_id, service, service_name, group_key, title, url, status, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'triggered', ?)
		ON CONFLICT (source, external_id) DO NOTHING`,
		n, a.Source, a.ExternalID, a.Service, a.ServiceName, group, a.Title, a.URL, fmtTime(a.At))
	return err
}

func (t *storeTx) AlertIncident(ctx context.Context, source, externalID string) (int64, error) {
	var n int64
	err := t.q.QueryRowContext(ctx, `SELECT incident FROM alerts WHERE source = ? AND external_id = ?`, source, externalID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, err
}

func (t *storeTx) SetAlertStatus(ctx context.Context, source, externalID, status string) error {
	_, err := t.q.ExecContext(ctx, `UPDATE alerts SET status = ? WHERE source = ? AND external_id = ?`, status, source, externalID)
	return err
}

func (t *storeTx) OpenIncidentForGroup(ctx context.Context, group string, since time.Time) (int64, error) {
	var n int64
	err := t.q.QueryRowContext(ctx, `
		SELECT i.number FROM incidents i JOIN alerts a ON a.incident = i.number
		WHERE a.group_key = ? AND i.status <> 'resolved' AND i.declared_at >= ?
		ORDER BY i.number DESC LIMIT 1`, group, fmtTime(since)).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, err
}

func (t *storeTx) OpenIncidentForServices(ctx context.Context, names []string, since time.Time) (int64, error) {
	if len(names) == 0 {
		return 0, nil
	}
	args := []any{fmtTime(since)}
	marks := make([]string, len(names))
	for i, name := range names {
		marks[i], args = "?", append(args, strings.ToLower(name))
	}
	var n int64
	err := t.q.QueryRowContext(ctx, `
		SELECT number FROM incidents
		WHERE status <> 'resolved' AND private = 0 AND declared_at >= ? AND lower(service) IN (`+strings.Join(marks, ", ")+`)
		ORDER BY number DESC LIMIT 1`, args...).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, err
}

func (t *storeTx) StoredAlert(ctx context.Context, source, externalID string) (incident.Alert, int64, error) {
	a := incident.Alert{Source: source, ExternalID: externalID}
	var n int64
	var at string
	err := t.q.QueryRowContext(ctx, `SELECT incident, service, service_name, title, url, status, at FROM alerts WHERE source = ? AND external_id = ?`,
		source, externalID).Scan(&n, &a.Service, &a.ServiceName, &a.Title, &a.URL, &a.Event, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return a, 0, incident.Errorf(incident.ENotFound, "That alert is no longer on record.")
	}
	a.At = parseTime(at)
	return a, n, err
}

func (t *storeTx) MoveAlert(ctx context.Context, source, externalID string, n int64) error {
	_, err := t.q.ExecContext(ctx, `UPDATE alerts SET incident = ? WHERE source = ? AND external_id = ?`, n, source, externalID)
	return err
}

// RememberName implements incident.Tx.
func (t *storeTx) RememberName(ctx context.Context, id, name string, at time.Time) error {
	_, err := t.q.ExecContext(ctx, `
		INSERT INTO people (user_id, name, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at
		WHERE people.name <> excluded.name`, id, name, fmtTime(at))
	return err
}

// Names implements incident.Store.
func (db *DB) Names(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := db.r.QueryContext(ctx, `SELECT user_id, name FROM people WHERE user_id IN (SELECT value FROM json_each(?))`, string(list))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, err
		}
		out[id] = name
	}
	return out, rows.Err()
}

// DeclaredSince implements incident.Tx.
func (t *storeTx) DeclaredSince(ctx context.Context, actor string, since time.Time) ([]time.Time, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT declared_at FROM incidents WHERE declared_by = ? AND declared_at > ? ORDER BY declared_at`, actor, fmtTime(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var at []time.Time
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		at = append(at, parseTime(s))
	}
	return at, rows.Err()
}

// checklistJSON is how an incident's checklist is stored: "" for none.
func checklistJSON(steps []incident.Step) string {
	if len(steps) == 0 {
		return ""
	}
	b, err := json.Marshal(steps)
	if err != nil {
		panic(err) // plain strings and times: cannot fail
	}
	return string(b)
}

// sameSteps reports whether two checklists are the same, step by step.
func sameSteps(a, b []incident.Step) bool {
	return slices.EqualFunc(a, b, func(x, y incident.Step) bool {
		return x.ChecklistItem == y.ChecklistItem && x.DoneAt.Equal(y.DoneAt) && x.DoneBy == y.DoneBy && x.AddedBy == y.AddedBy
	})
}

func (t *storeTx) CaptureState(ctx context.Context, n int64, channel, ts string) (string, error) {
	var state string
	err := t.q.QueryRowContext(ctx, `SELECT state FROM captures WHERE incident = ? AND channel = ? AND ts = ?`, n, channel, ts).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return state, err
}

func (t *storeTx) SetCapture(ctx context.Context, n int64, channel, ts, state string) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO captures (incident, channel, ts, state) VALUES (?, ?, ?, ?)
		ON CONFLICT (incident, channel, ts) DO UPDATE SET state = excluded.state`, n, channel, ts, state)
	return err
}

// CapturedIn lists the incidents whose timeline holds message ts of channel.
func (db *DB) CapturedIn(ctx context.Context, channel, ts string) ([]int64, error) {
	return numbers(ctx, db.r, `SELECT incident FROM captures WHERE channel = ? AND ts = ? AND state = ? ORDER BY incident`, channel, ts, incident.CaptureActive)
}
