package bot

import (
	"crypto/sha256"
	"sync"
	"time"
)

// seen remembers keys for a while: signatures of requests already taken
// (so a replayed request is refused) and Events API event IDs (so a retried
// event is handled once).
//
// Keys expire in the order they were added (every key lives ttl), so a
// queue finds the expired ones without looking at the rest: the first
// version swept the whole map on every request once it held 10,000 keys,
// and at 2,000 commands a second that sweep was a third of warroom's CPU.
// A key is kept as 16 bytes of its SHA-256, which makes the memory per
// request small and fixed whatever the key's length.
type seen struct {
	ttl   time.Duration
	now   func() time.Time
	mu    sync.Mutex
	keys  map[[16]byte]int64 // key -> expiry, Unix nanoseconds
	queue []seenKey          // oldest first, from head
	head  int
}

type seenKey struct {
	key [16]byte
	exp int64
}

func newSeen(ttl time.Duration) *seen {
	return &seen{ttl: ttl, keys: map[[16]byte]int64{}, now: time.Now}
}

// first records key and reports whether it was new.
func (s *seen) first(key string) bool {
	sum := sha256.Sum256([]byte(key))
	var k [16]byte
	copy(k[:], sum[:16])
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UnixNano()
	for s.head < len(s.queue) && s.queue[s.head].exp <= now {
		old := s.queue[s.head]
		if s.keys[old.key] == old.exp {
			delete(s.keys, old.key)
		}
		s.head++
	}
	if s.head > 1024 && s.head > len(s.queue)/2 {
		s.queue = append(s.queue[:0], s.queue[s.head:]...)
		s.head = 0
	}
	if exp, ok := s.keys[k]; ok && now < exp {
		return false
	}
	exp := now + int64(s.ttl)
	s.keys[k] = exp
	s.queue = append(s.queue, seenKey{k, exp})
	return true
}

// size is how many keys are remembered.
func (s *seen) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.keys)
}
