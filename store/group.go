package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// maxGroup is the most writes one commit carries.
const maxGroup = 128

// Group commit. Every write goes through one goroutine, which takes the
// writes waiting for it and runs them in one transaction, each inside its
// own savepoint: a write that fails is rolled back alone and its caller
// gets its error; the rest commit together, with one disk sync. A caller
// hears back only once its write is durable (or failed), so nothing is
// acknowledged early. Alone, a write runs in a transaction of its own, as
// before; under load, many share a sync. With synchronous=FULL the sync is
// most of a command's cost, so this is what lets warroom keep up with
// thousands of commands a second (see README, "Reliability and
// performance").

var errClosed = errors.New("sqlite: database is closed")

// writeReq is one caller's write, waiting for the writer.
type writeReq struct {
	ctx  context.Context
	fn   func(cachedTx) error
	done chan error
	// relaxed writes are bookkeeping that may be lost to a power cut (not
	// to a crash): the outbox marking an effect delivered. A commit of
	// relaxed writes alone does not sync the disk; the next commit that
	// does syncs them too. Losing one means a delivery is made again,
	// which a crash at the wrong moment can cause anyway.
	relaxed bool
}

// WriteStats counts writes and the commits that carried them.
type WriteStats struct {
	Writes, Commits int64
}

// WriteStats says how many writes shared how many commits so far.
func (db *DB) WriteStats() WriteStats {
	return WriteStats{Writes: db.writes.Load(), Commits: db.commits.Load()}
}

// write runs fn in a write transaction and returns once it is committed or
// has failed. ctx ending before fn starts means fn never runs; once started,
// fn runs to its end whatever ctx does, so what a caller began is either
// all written or not at all.
func (db *DB) write(ctx context.Context, fn func(cachedTx) error) error {
	return db.submit(&writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)})
}

func (db *DB) submit(req *writeReq) error {
	ctx := req.ctx
	select {
	case db.reqs <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-db.quit:
		return errClosed
	}
	return <-req.done
}

// exec runs one statement as a write of its own.
func (db *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return db.execAs(ctx, false, query, args...)
}

// execRelaxed is exec for bookkeeping a power cut may lose (see writeReq).
func (db *DB) execRelaxed(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if db.pg {
		return db.rx.ExecContext(ctx, query, args...)
	}
	return db.execAs(ctx, true, query, args...)
}

func (db *DB) execAs(ctx context.Context, relaxed bool, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := db.submit(&writeReq{ctx: ctx, relaxed: relaxed, done: make(chan error, 1), fn: func(q cachedTx) error {
		var err error
		res, err = q.ExecContext(ctx, query, args...)
		return err
	}})
	return res, err
}

// relaxedWrite runs fn as bookkeeping a crash may lose (see writeReq). On
// SQLite it joins the group commit as a relaxed write. On PostgreSQL it
// runs at once on a pool of its own whose sessions commit with
// synchronous_commit off, statement by statement and without the writers'
// lock: each such write is one statement, atomic by itself, on rows no
// command changes (leases, the replay guard, the outbox's delivery marks).
// Through the commit loop they cost three of every four transactions a
// command caused, each several round trips, all one after another.
func (db *DB) relaxedWrite(ctx context.Context, fn func(q querier) error) error {
	if db.pg {
		return fn(db.rx)
	}
	return db.submit(&writeReq{ctx: ctx, relaxed: true, done: make(chan error, 1), fn: func(q cachedTx) error { return fn(q) }})
}

// commitLoop runs until quit is closed.
func (db *DB) commitLoop() {
	defer close(db.stopped)
	for {
		var first *writeReq
		select {
		case first = <-db.reqs:
		case <-db.quit:
			return
		}
		batch := []*writeReq{first}
	more:
		for len(batch) < maxGroup {
			select {
			case r := <-db.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		errs := db.commit(batch)
		for i, r := range batch {
			r.done <- errs[i]
		}
		db.wc.prepareWanted(context.Background())
	}
}

// commit runs batch in one transaction and returns each write's result.
func (db *DB) commit(batch []*writeReq) []error {
	errs := make([]error, len(batch))
	fail := func(err error) []error {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	// Not the callers' contexts: one caller going away must not roll back
	// the others' writes.
	ctx := context.Background()
	relaxed := true
	for _, r := range batch {
		relaxed = relaxed && r.relaxed
	}
	var tx *sql.Tx
	var err error
	if db.pg {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, pgTxTimeout)
		defer cancel()
		tx, err = db.beginPostgres(ctx, relaxed)
	} else {
		if err := db.syncMode(ctx, relaxed); err != nil {
			return fail(err)
		}
		tx, err = db.writer.BeginTx(ctx, nil)
	}
	if err != nil {
		return fail(err)
	}
	q := cachedTx{c: db.wc, tx: tx, seen: &txIncidents{}}
	alone := len(batch) == 1
	ran := 0
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if alone {
			if errs[i] = run(r.fn, q); errs[i] != nil {
				tx.Rollback()
				return errs
			}
			ran++
			continue
		}
		// On PostgreSQL the savepoint is held back (pgpipe.go) and goes
		// with the write's first statement; the release carries the
		// write's held statements, so a failure among them is this
		// write's, undone alone.
		if _, err := q.execLater(ctx, `SAVEPOINT w`); err != nil {
			tx.Rollback()
			return fail(err)
		}
		errs[i] = run(r.fn, q)
		if errs[i] == nil {
			_, err := q.ExecContext(ctx, `RELEASE w`)
			switch {
			case err == nil:
				ran++
				continue
			case !isHeld(err):
				tx.Rollback()
				return fail(err)
			}
			errs[i] = errors.Unwrap(err) // the write's own statement's error
		}
		// A failed statement leaves the transaction open, so this write
		// alone is undone. If SQLite ended the whole transaction instead
		// (a full disk, an I/O error), every write in it is lost.
		_, err := q.ExecContext(ctx, `ROLLBACK TO w`)
		if isHeld(err) { // the write's held statements failed as they went
			_, err = q.ExecContext(ctx, `ROLLBACK TO w`)
		}
		if err != nil {
			tx.Rollback()
			return fail(fmt.Errorf("%w (and the batch was rolled back: %v)", errs[i], err))
		}
		q.seen.clear() // what it read or wrote is undone
	}
	if ran == 0 {
		tx.Rollback()
		return errs
	}
	if err := tx.Commit(); err != nil {
		if isHeld(err) {
			err = errors.Unwrap(err) // a statement of the batch's last write
		}
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return errs
	}
	db.writes.Add(int64(ran))
	db.commits.Add(1)
	return errs
}

// syncMode sets the writer's synchronous pragma for the next commit:
// NORMAL (no sync at commit) when it holds relaxed writes only, FULL
// otherwise. It changes only outside a transaction, which is where the
// commit loop calls it.
func (db *DB) syncMode(ctx context.Context, relaxed bool) error {
	if db.relaxedNow == relaxed {
		return nil
	}
	mode := "FULL"
	if relaxed {
		mode = "NORMAL"
	}
	if _, err := db.writer.ExecContext(ctx, `PRAGMA synchronous = `+mode); err != nil {
		return err
	}
	db.relaxedNow = relaxed
	return nil
}

// run calls fn; a panic in it fails this write only.
func run(fn func(cachedTx) error, q cachedTx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sqlite: write panicked: %v", r)
		}
	}()
	return fn(q)
}

// group is the writer goroutine's state, part of DB.
type group struct {
	reqs            chan *writeReq
	quit, stopped   chan struct{}
	closing         sync.Once
	writes, commits atomic.Int64
	relaxedNow      bool         // the writer's synchronous pragma is NORMAL (commit loop only)
	lastPurge       atomic.Int64 // when FirstRequest last deleted expired keys, Unix nanoseconds
	keys            keyWriter    // SQLite: replay keys waiting to be written
}

func (db *DB) startGroup() {
	db.reqs, db.quit, db.stopped = make(chan *writeReq), make(chan struct{}), make(chan struct{})
	go db.commitLoop()
}

// stopGroup lets the batch in progress finish; later writes get errClosed.
func (db *DB) stopGroup() {
	db.closing.Do(func() {
		close(db.quit)
		<-db.stopped
	})
}
