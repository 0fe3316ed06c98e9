package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" driver
)

// PostgreSQL: what differs from SQLite.
//
// Several replicas write to one database. Each keeps its own group commit
// (group.go), and every write transaction begins by taking one
// transaction-scoped advisory lock (writeLock), so writes from all
// replicas run one transaction at a time, exactly as SQLite runs them: a
// command reads its incident and writes it back with nobody in between,
// an incident number and the alert grouping it decides are never raced,
// and no transaction is retried. Group commit is what keeps that fast: a
// replica carries every write waiting for it in one lock and one commit.
// Reads take no lock and see committed data.
//
// A relaxed write (group.go) commits with synchronous_commit off: the
// outbox's bookkeeping, which a crash may lose and the outbox then does
// again.
//
// A connection lost (the primary failed over, the network broke) fails
// the writes of that transaction; database/sql drops the connection and
// the next write dials again, and a multi-host URL with
// target_session_attrs=read-write finds the new primary. Nothing in
// warroom restarts.

// Advisory lock keys: arbitrary, fixed, and warroom's own.
const (
	writeLock   int64 = 0x7761_7272_6f6f_6d01 // "warroom" 1: every write transaction
	migrateLock int64 = 0x7761_7272_6f6f_6d02 // "warroom" 2: applying migrations
)

// pgTxTimeout bounds one write transaction: a primary that stops answering
// fails the writes waiting on it (their users are told they were not
// recorded) instead of holding them until TCP gives up.
const pgTxTimeout = 15 * time.Second

func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	dsn = withDefaults(dsn)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err) // pgx leaves the password out
	}
	w := sql.OpenDB(pipeConnector{stdlib.GetConnector(*cfg)})
	// The commit loop uses one connection at a time; a second lets a new
	// one be dialled while a dead one is being dropped.
	w.SetMaxOpenConns(2)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(30 * time.Minute)
	r, err := sql.Open("pgx", dsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	r.SetConnMaxLifetime(30 * time.Minute)
	// Relaxed writes' sessions commit without waiting for the WAL flush
	// (pgx passes unknown URL parameters to the server as settings).
	rx, err := sql.Open("pgx", dsn+"&synchronous_commit=off")
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	rx.SetMaxOpenConns(4)
	rx.SetMaxIdleConns(4)
	rx.SetConnMaxLifetime(30 * time.Minute)
	b := &binder{pg: true}
	db := &DB{path: Redact(dsn), pg: true, b: b, writer: w, reader: r, wc: newStmtCache(w, b), rc: newStmtCache(r, b), relaxedPool: rx}
	db.r = cachedDB{db.rc}
	db.rx = cachedDB{newStmtCache(rx, b)}
	db.startGroup()
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: migrate %s: %w", db.path, err)
	}
	return db, nil
}

// withDefaults adds a connect timeout when the URL sets none: without one
// a dial to a host that is down waits for TCP to give up, minutes.
func withDefaults(dsn string) string {
	if strings.Contains(dsn, "connect_timeout=") {
		return dsn
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "connect_timeout=5"
}

// Redact returns a database name fit for logs: a PostgreSQL URL without
// its password (multi-host URLs included, which net/url cannot parse); a
// SQLite path as it is.
func Redact(dsn string) string {
	if !IsPostgres(dsn) {
		return dsn
	}
	scheme, rest, _ := strings.Cut(dsn, "://")
	hostEnd := strings.IndexAny(rest, "/?")
	if hostEnd < 0 {
		hostEnd = len(rest)
	}
	authority := rest[:hostEnd]
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		user, _, hasPass := strings.Cut(authority[:at], ":")
		if hasPass {
			user += ":xxxxx"
		}
		authority = user + "@" + authority[at+1:]
	}
	out := scheme + "://" + authority + rest[hostEnd:]
	// A password may also come as a query parameter.
	if i := strings.Index(out, "password="); i >= 0 {
		j := strings.IndexByte(out[i:], '&')
		if j < 0 {
			j = len(out) - i
		}
		out = out[:i] + "password=xxxxx" + out[i+j:]
	}
	return out
}

// lockMigrations holds the migration lock on a connection of its own until
// unlock is called.
func (db *DB) lockMigrations(ctx context.Context) (unlock func(), err error) {
	conn, err := db.reader.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrateLock); err != nil {
		conn.Close()
		return nil, err
	}
	return func() {
		conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, migrateLock)
		conn.Close()
	}, nil
}

// beginPostgres starts a write transaction: the writers' lock first, and
// for a batch of relaxed writes, no wait for the WAL flush.
func (db *DB) beginPostgres(ctx context.Context, relaxed bool) (*sql.Tx, error) {
	// Held back (pgpipe.go): they go with the transaction's first read.
	ctx = later(ctx)
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, writeLock); err != nil {
		tx.Rollback()
		return nil, err
	}
	if relaxed {
		if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			tx.Rollback()
			return nil, err
		}
	}
	return tx, nil
}

// pendingPostgres lists the migrations the database at dsn lacks, reading
// only.
func pendingPostgres(ctx context.Context, dsn string) ([]string, error) {
	ro, err := sql.Open("pgx", withDefaults(dsn))
	if err != nil {
		return nil, err
	}
	defer ro.Close()
	return pendingIn(ctx, ro, true, func(err error) bool {
		var pgErr *pgconn.PgError
		return errors.As(err, &pgErr) && pgErr.Code == "42P01" // undefined_table
	})
}
