package store

import (
	"strconv"
	"strings"
	"sync"
)

// The store's SQL is written once, in the SQLite dialect, and PostgreSQL
// runs it rebound: "?" and "?N" placeholders become "$N", and the few
// functions the two spell differently are swapped. Keeping one text of
// every query means both stores answer every question the same way; the
// shared test suite (store_test.go) holds them to that.

// IsPostgres reports whether dsn names a PostgreSQL database
// (postgres:// or postgresql://) rather than a SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// pgSwaps are the SQLite spellings PostgreSQL says differently, applied
// before the placeholders are numbered.
var pgSwaps = strings.NewReplacer(
	// A JSON array parameter, read as rows of "value".
	"json_each(?)", "json_array_elements_text(CAST(? AS json))",
	"instr(", "strpos(",
)

// binder rewrites queries for PostgreSQL, once per query text.
type binder struct {
	pg   bool
	memo sync.Map // query -> rebound query
}

func (b *binder) bind(q string) string {
	if !b.pg {
		return q
	}
	if r, ok := b.memo.Load(q); ok {
		return r.(string)
	}
	r := rebind(pgSwaps.Replace(q))
	b.memo.Store(q, r)
	return r
}

// rebind numbers "?" placeholders $1, $2, ... and turns "?N" into "$N".
// The store's SQL has no "?" inside string literals, so no quoting is
// tracked.
func rebind(q string) string {
	var sb strings.Builder
	sb.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] != '?' {
			sb.WriteByte(q[i])
			continue
		}
		j := i + 1
		for j < len(q) && q[j] >= '0' && q[j] <= '9' {
			j++
		}
		sb.WriteByte('$')
		if j > i+1 {
			sb.WriteString(q[i+1 : j])
			i = j - 1
			continue
		}
		n++
		sb.WriteString(strconv.Itoa(n))
	}
	return sb.String()
}

// flag is a boolean as both stores keep it: an INTEGER 0 or 1 (PostgreSQL
// would not take a Go bool for an integer column).
func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}
