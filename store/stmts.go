package store

import (
	"context"
	"database/sql"
	"sync"

	"github.com/warroom/warroom/incident"
)

// maxStmts bounds the statement cache. Queries with a varying number of
// placeholders (IN lists) each take an entry; past the bound, new queries
// run unprepared, as they did before the cache.
const maxStmts = 256

// stmtCache keeps statements prepared, by their SQL. Without it every query
// is parsed and planned again: under load that was a fifth of warroom's CPU
// (sqlite3Prepare in a profile of BenchmarkNoteAck).
//
// On PostgreSQL it only rebinds: pgx keeps each connection's statements
// prepared by itself.
type stmtCache struct {
	db   *sql.DB
	b    *binder
	off  bool // PostgreSQL: prepare nothing here
	mu   sync.Mutex
	m    map[string]*sql.Stmt
	want map[string]bool // seen inside a transaction, to prepare once the writer is free
}

func newStmtCache(db *sql.DB, b *binder) *stmtCache {
	return &stmtCache{db: db, b: b, off: b.pg, m: map[string]*sql.Stmt{}, want: map[string]bool{}}
}

func (c *stmtCache) lookup(q string) *sql.Stmt {
	if c.off {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[q]
}

// get returns q prepared, preparing it now if there is room; nil means run
// it unprepared. It takes a connection of c.db, so it must not be called
// while the caller holds the only one (inside a write transaction).
func (c *stmtCache) get(ctx context.Context, q string) *sql.Stmt {
	if c.off {
		return nil
	}
	c.mu.Lock()
	s, full := c.m[q], len(c.m) >= maxStmts
	c.mu.Unlock()
	if s != nil || full {
		return s
	}
	s, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil // the unprepared run reports the error
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[q]; old != nil {
		s.Close()
		return old
	}
	c.m[q] = s
	return s
}

// later notes q, met inside a transaction, to be prepared by prepareWanted.
func (c *stmtCache) later(q string) {
	if c.off {
		return
	}
	c.mu.Lock()
	if len(c.m)+len(c.want) < maxStmts {
		c.want[q] = true
	}
	c.mu.Unlock()
}

// prepareWanted prepares what later noted. Call it holding no connection.
func (c *stmtCache) prepareWanted(ctx context.Context) {
	c.mu.Lock()
	if len(c.want) == 0 {
		c.mu.Unlock()
		return
	}
	var qs []string
	for q := range c.want {
		qs = append(qs, q)
	}
	clear(c.want)
	c.mu.Unlock()
	for _, q := range qs {
		c.get(ctx, q)
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, s := range c.m {
		s.Close()
		delete(c.m, q)
	}
}

// cachedDB runs queries on a pool through its cache.
type cachedDB struct{ c *stmtCache }

func (d cachedDB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	q = d.c.b.bind(q)
	if s := d.c.get(ctx, q); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return d.c.db.QueryContext(ctx, q, args...)
}

func (d cachedDB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	q = d.c.b.bind(q)
	if s := d.c.get(ctx, q); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return d.c.db.QueryRowContext(ctx, q, args...)
}

func (d cachedDB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	q = d.c.b.bind(q)
	if s := d.c.get(ctx, q); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return d.c.db.ExecContext(ctx, q, args...)
}

// cachedTx runs queries in a write transaction through the writer's cache.
// A statement not yet prepared runs unprepared and is prepared after the
// transaction: preparing needs the writer's one connection, which the
// transaction holds. Statements run whatever happens to the caller's
// context: the transaction carries other callers' writes too (see group.go),
// and a write that started is finished.
type cachedTx struct {
	c  *stmtCache
	tx *sql.Tx
	// seen holds the incidents this transaction has read or written, as
	// they now stand in it, for the next write of the batch that reads
	// one (group.go): on PostgreSQL each read is two round trips, and a
	// batch of notes to one war room read the same incident again for
	// every note. A write rolled back to its savepoint clears it.
	seen *txIncidents
}

type txIncidents struct{ m map[int64]*incident.Incident }

func (s *txIncidents) get(n int64) *incident.Incident {
	if s == nil || s.m[n] == nil {
		return nil
	}
	return s.m[n].Clone()
}

func (s *txIncidents) put(inc *incident.Incident) {
	if s != nil {
		if s.m == nil {
			s.m = map[int64]*incident.Incident{}
		}
		s.m[inc.Number] = inc.Clone()
	}
}

func (s *txIncidents) clear() {
	if s != nil {
		s.m = nil
	}
}

func (t cachedTx) stmt(ctx context.Context, q string) *sql.Stmt {
	// StmtContext only uses ctx to wait for the connection, which the
	// transaction already holds.
	s := t.c.lookup(q)
	if s == nil {
		t.c.later(q)
		return nil
	}
	return t.tx.StmtContext(ctx, s)
}

func (t cachedTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	q = t.c.b.bind(q)
	ctx = context.WithoutCancel(ctx)
	if s := t.stmt(ctx, q); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, q, args...)
}

func (t cachedTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	q = t.c.b.bind(q)
	ctx = context.WithoutCancel(ctx)
	if s := t.stmt(ctx, q); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, q, args...)
}

func (t cachedTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	q = t.c.b.bind(q)
	ctx = context.WithoutCancel(ctx)
	if s := t.stmt(ctx, q); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, q, args...)
}

// execLater runs a statement whose result the caller does not need. On
// PostgreSQL it is held back and sent with the transaction's next
// statement that needs an answer (pgpipe.go); an error in it is returned
// there, as a heldError.
func (t cachedTx) execLater(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.ExecContext(later(ctx), q, args...)
}

// insertLater runs an INSERT … RETURNING one number into dest. On
// PostgreSQL it is held back like execLater, and dest is set when it has
// been sent, by the time the transaction commits.
func (t cachedTx) insertLater(ctx context.Context, dest *int64, q string, args ...any) error {
	if !t.c.b.pg {
		return t.QueryRowContext(ctx, q, args...).Scan(dest)
	}
	_, err := t.ExecContext(laterInto(ctx, dest), q, args...)
	return err
}
