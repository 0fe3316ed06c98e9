package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"
)

// FirstRequest records key (a Slack request's signature, an event's id)
// and reports whether it is new: not seen within ttl, on this replica or
// any other, before a restart or after. Keys are kept as a SHA-256, so a
// row's size does not depend on what a client sent. Rows older than ttl
// are deleted a minute apart.
//
// On PostgreSQL, where replicas race, the check and the record are one
// atomic insert, on the relaxed pool (group.go). On SQLite one process
// owns the file, and the bot checks its own memory first, so the database
// is asked only whether the key was seen before a restart (a read, off the
// writer), and the key is recorded in the background, many to a write: a
// synchronous record put a second write through the one writer for every
// command, and doubled the p50 at 1,000 commands a second. A crash can
// forget the last moment's keys, as a power cut can on PostgreSQL.
func (db *DB) FirstRequest(ctx context.Context, key string, now time.Time, ttl time.Duration) (bool, error) {
	sum := sha256.Sum256([]byte(key))
	k := hex.EncodeToString(sum[:])
	if !db.pg {
		var seen int
		err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM slack_requests WHERE signature = ? AND seen_at >= ?`, k, fmtTime(now.Add(-ttl))).Scan(&seen)
		if err != nil {
			return false, err
		}
		if seen > 0 {
			return false, nil
		}
		db.keys.add(db, seenKey{k, now, ttl})
		return true, nil
	}
	first := false
	err := db.relaxedWrite(ctx, func(q querier) error {
		if err := db.purgeKeys(ctx, q, now, ttl); err != nil {
			return err
		}
		res, err := q.ExecContext(ctx, insertKey, k, fmtTime(now), fmtTime(now.Add(-ttl)))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		first = n == 1
		return err
	})
	return first, err
}

const insertKey = `
	INSERT INTO slack_requests (signature, seen_at) VALUES (?, ?)
	ON CONFLICT (signature) DO UPDATE SET seen_at = excluded.seen_at
	WHERE slack_requests.seen_at < ?`

// purgeKeys deletes expired keys, at most once a minute.
func (db *DB) purgeKeys(ctx context.Context, q querier, now time.Time, ttl time.Duration) error {
	last := db.lastPurge.Load()
	if now.UnixNano()-last <= int64(time.Minute) || !db.lastPurge.CompareAndSwap(last, now.UnixNano()) {
		return nil
	}
	_, err := q.ExecContext(ctx, `DELETE FROM slack_requests WHERE seen_at < ?`, fmtTime(now.Add(-ttl)))
	return err
}

type seenKey struct {
	key string
	at  time.Time
	ttl time.Duration
}

// keyWriter records SQLite's keys in the background, as one write per
// batch.
type keyWriter struct {
	mu      sync.Mutex
	pending []seenKey
	running bool
}

func (w *keyWriter) add(db *DB, k seenKey) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) >= 100_000 {
		return // the writer is far behind; the bot's memory still guards this process
	}
	w.pending = append(w.pending, k)
	if !w.running {
		w.running = true
		go w.flush(db)
	}
}

// flush writes what is pending until nothing is.
func (w *keyWriter) flush(db *DB) {
	for {
		w.mu.Lock()
		batch := w.pending
		w.pending = nil
		if len(batch) == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		ctx := context.Background()
		err := db.relaxedWrite(ctx, func(q querier) error {
			if err := db.purgeKeys(ctx, q, batch[len(batch)-1].at, batch[len(batch)-1].ttl); err != nil {
				return err
			}
			for _, k := range batch {
				if _, err := q.ExecContext(ctx, insertKey, k.key, fmtTime(k.at), fmtTime(k.at.Add(-k.ttl))); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			// Closed, or the disk failed: the keys stay in the bot's memory.
			w.mu.Lock()
			w.running = false
			w.mu.Unlock()
			return
		}
	}
}

// waitKeys waits until the keys recorded so far are written (tests, Close).
func (w *keyWriter) wait() {
	for {
		w.mu.Lock()
		idle := !w.running
		w.mu.Unlock()
		if idle {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
