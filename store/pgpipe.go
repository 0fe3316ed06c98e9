package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Pipelining the writer's transactions on PostgreSQL.
//
// Through database/sql every statement is a round trip: a write to the
// socket, a wake of the server's backend, an answer read back. A note was
// nine of them one after another (BEGIN, the writers' lock, two reads, an
// UPDATE, three INSERTs, COMMIT), and on a busy machine each is a pair of
// context switches: in a profile at 200 commands/s a fifth of warroom's
// CPU was the write(2) to PostgreSQL's socket.
//
// The writer's connections therefore hold back what a write transaction
// needs no answer to — BEGIN, the lock, a savepoint, an UPDATE of a row
// the transaction has read (see later) — and send it ahead of the next
// statement that does need one, as one pgx batch: one write, one wake,
// one read. A note is now four round trips, its writes going with the
// COMMIT. Held statements run in the order they were written, in the same
// transaction, so nothing changes but the count of round trips; one that
// fails fails the statement it was sent with (heldError says which), and
// the transaction is in PostgreSQL's failed state, as it would have been.

// later marks ctx so that an ExecContext in a writer's transaction may be
// held back and sent with the next statement that needs an answer. Its
// caller must not need the result (no RowsAffected).
func later(ctx context.Context) context.Context { return context.WithValue(ctx, laterKey{}, true) }

type laterKey struct{}

// laterInto is later for an INSERT … RETURNING one number, which is
// stored in *dest when the statement has been sent: by the time the
// transaction commits.
func laterInto(ctx context.Context, dest *int64) context.Context {
	return context.WithValue(ctx, laterKey{}, dest)
}

// heldError is the failure of a statement held back (written before the
// statement whose call returned it).
type heldError struct{ err error }

func (e heldError) Error() string { return e.err.Error() }
func (e heldError) Unwrap() error { return e.err }

// isHeld reports whether err is the failure of a held statement.
func isHeld(err error) bool {
	var h heldError
	return errors.As(err, &h)
}

// pipeConnector makes the writer pool's connections.
type pipeConnector struct{ driver.Connector }

func (c pipeConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pipeConn{Conn: dc.(*stdlib.Conn)}, nil
}

// pipeConn is pgx's database/sql connection, with statements held back
// inside a transaction begun with a later context.
type pipeConn struct {
	*stdlib.Conn
	piped bool // in a transaction begun by BeginTx(later(ctx))
	sent  bool // its BEGIN has gone to the server
	held  []heldStmt
}

type heldStmt struct {
	sql  string
	args []any
	into *int64 // where the one number it returns goes (laterInto), or nil
}

func (c *pipeConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if ctx.Value(laterKey{}) == nil || opts.Isolation != 0 || opts.ReadOnly {
		return c.Conn.BeginTx(ctx, opts)
	}
	if c.Conn.Conn().IsClosed() {
		return nil, driver.ErrBadConn
	}
	c.piped, c.sent = true, false
	c.held = append(c.held[:0], heldStmt{sql: "BEGIN"})
	return &pipeTx{c: c, ctx: ctx}, nil
}

func (c *pipeConn) ExecContext(ctx context.Context, query string, named []driver.NamedValue) (driver.Result, error) {
	if !c.piped {
		if into, ok := ctx.Value(laterKey{}).(*int64); ok && into != nil {
			return heldResult{}, c.Conn.Conn().QueryRow(ctx, query, plain(named)...).Scan(into)
		}
		return c.Conn.ExecContext(ctx, query, named)
	}
	args := plain(named)
	if mark := ctx.Value(laterKey{}); mark != nil {
		into, _ := mark.(*int64)
		c.held = append(c.held, heldStmt{query, args, into})
		return heldResult{}, nil
	}
	if len(c.held) == 0 || (len(args) == 0 && strings.Contains(query, ";")) {
		// Several statements in one string go by the simple protocol,
		// which a batch cannot carry: what is held goes first.
		if err := c.flush(ctx); err != nil {
			return nil, err
		}
		return c.Conn.ExecContext(ctx, query, named)
	}
	var res driver.Result
	err := c.send(ctx, query, args, func(br pgx.BatchResults) error {
		tag, err := br.Exec()
		res = driver.RowsAffected(tag.RowsAffected())
		return err
	})
	return res, err
}

func (c *pipeConn) QueryContext(ctx context.Context, query string, named []driver.NamedValue) (driver.Rows, error) {
	if !c.piped || len(c.held) == 0 {
		return c.Conn.QueryContext(ctx, query, named)
	}
	var out *heldRows
	err := c.send(ctx, query, plain(named), func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		defer rows.Close()
		out, err = collect(rows)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// flush sends what is held, if anything.
func (c *pipeConn) flush(ctx context.Context) error {
	if len(c.held) == 0 {
		return nil
	}
	last := c.held[len(c.held)-1]
	c.held = c.held[:len(c.held)-1]
	err := c.send(ctx, last.sql, last.args, func(br pgx.BatchResults) error {
		if last.into != nil {
			return br.QueryRow().Scan(last.into)
		}
		_, err := br.Exec()
		return err
	})
	if err != nil && !isHeld(err) {
		err = heldError{err}
	}
	return err
}

// send sends the held statements and then query as one batch; read reads
// query's result.
func (c *pipeConn) send(ctx context.Context, query string, args []any, read func(pgx.BatchResults) error) error {
	held := c.held
	c.held = c.held[:0]
	b := &pgx.Batch{}
	for _, h := range held {
		b.Queue(h.sql, h.args...)
	}
	b.Queue(query, args...)
	c.sent = true
	br := c.Conn.Conn().SendBatch(ctx, b)
	for _, h := range held {
		var err error
		if h.into != nil {
			err = br.QueryRow().Scan(h.into)
		} else {
			_, err = br.Exec()
		}
		if err != nil {
			br.Close()
			return heldError{err}
		}
	}
	err := read(br)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// pipeTx ends a pipelined transaction: COMMIT goes with what is held.
type pipeTx struct {
	c   *pipeConn
	ctx context.Context
}

func (t *pipeTx) Commit() error {
	c := t.c
	defer func() { c.piped = false }()
	err := c.send(t.ctx, "COMMIT", nil, func(br pgx.BatchResults) error {
		_, err := br.Exec()
		return err
	})
	if err != nil && c.Conn.Conn().PgConn().TxStatus() != 'I' {
		// A held statement failed and COMMIT did not run: end it.
		c.Conn.Conn().Exec(context.WithoutCancel(t.ctx), "ROLLBACK")
	}
	return err
}

func (t *pipeTx) Rollback() error {
	c := t.c
	defer func() { c.piped = false }()
	c.held = c.held[:0]
	if !c.sent {
		return nil // nothing reached the server
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), 5*time.Second)
	defer cancel()
	_, err := c.Conn.Conn().Exec(ctx, "ROLLBACK")
	return err
}

// heldResult is the result of a statement held back: not known yet.
type heldResult struct{}

var errHeldResult = errors.New("store: a held statement's result is not known until it is sent")

func (heldResult) LastInsertId() (int64, error) { return 0, errHeldResult }
func (heldResult) RowsAffected() (int64, error) { return 0, errHeldResult }

// heldRows are a batched query's rows, read in full (a write
// transaction's reads are small) so the connection is free at once.
type heldRows struct {
	cols []string
	rows [][]driver.Value
	i    int
}

func collect(rows pgx.Rows) (*heldRows, error) {
	out := &heldRows{}
	for _, f := range rows.FieldDescriptions() {
		out.cols = append(out.cols, f.Name)
	}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		row := make([]driver.Value, len(vals))
		for i, v := range vals {
			if row[i], err = driverValue(v); err != nil {
				return nil, err
			}
		}
		out.rows = append(out.rows, row)
	}
	return out, rows.Err()
}

// driverValue turns what pgx decoded into one of database/sql's driver
// types.
func driverValue(v any) (driver.Value, error) {
	switch x := v.(type) {
	case nil, int64, float64, bool, []byte, string, time.Time:
		return x, nil
	case int32:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case float32:
		return float64(x), nil
	case driver.Valuer:
		return x.Value()
	}
	return nil, fmt.Errorf("store: pipelined query: unexpected column value %T", v)
}

func (r *heldRows) Columns() []string { return r.cols }
func (r *heldRows) Close() error      { return nil }
func (r *heldRows) Next(dest []driver.Value) error {
	if r.i >= len(r.rows) {
		return io.EOF
	}
	copy(dest, r.rows[r.i])
	r.i++
	return nil
}

// plain is database/sql's arguments as pgx takes them.
func plain(named []driver.NamedValue) []any {
	args := make([]any, len(named))
	for i, nv := range named {
		args[i] = nv.Value
	}
	return args
}
