package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// FirstRequest records key (a Slack request's signature, an event's id)
// and reports whether it is new: not seen within ttl, on this replica or
// any other, before a restart or after. Keys are kept as a SHA-256, so a
// row's size does not depend on what a client sent. The write is relaxed
// (group.go): a power cut may forget the last moment's keys, and nothing
// else. Rows older than ttl are deleted a minute apart.
func (db *DB) FirstRequest(ctx context.Context, key string, now time.Time, ttl time.Duration) (bool, error) {
	sum := sha256.Sum256([]byte(key))
	k := hex.EncodeToString(sum[:])
	first := false
	purge := false
	if last := db.lastPurge.Load(); now.UnixNano()-last > int64(time.Minute) && db.lastPurge.CompareAndSwap(last, now.UnixNano()) {
		purge = true
	}
	err := db.relaxedWrite(ctx, func(q querier) error {
		if purge {
			if _, err := q.ExecContext(ctx, `DELETE FROM slack_requests WHERE seen_at < ?`, fmtTime(now.Add(-ttl))); err != nil {
				return err
			}
		}
		res, err := q.ExecContext(ctx, `
			INSERT INTO slack_requests (signature, seen_at) VALUES (?, ?)
			ON CONFLICT (signature) DO UPDATE SET seen_at = excluded.seen_at
			WHERE slack_requests.seen_at < ?`, k, fmtTime(now), fmtTime(now.Add(-ttl)))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		first = n == 1
		return err
	})
	return first, err
}
