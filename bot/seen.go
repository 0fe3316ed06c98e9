package bot

import (
	"sync"
	"time"
)

// seen remembers keys for a while: signatures of requests already taken
// (so a replayed request is refused) and Events API event IDs (so a retried
// event is handled once).
type seen struct {
	ttl  time.Duration
	mu   sync.Mutex
	keys map[string]time.Time
	now  func() time.Time
}

func newSeen(ttl time.Duration) *seen {
	return &seen{ttl: ttl, keys: map[string]time.Time{}, now: time.Now}
}

// first records key and reports whether it was new.
func (s *seen) first(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if exp, ok := s.keys[key]; ok && now.Before(exp) {
		return false
	}
	if len(s.keys) > 10000 {
		for k, exp := range s.keys {
			if now.After(exp) {
				delete(s.keys, k)
			}
		}
	}
	s.keys[key] = now.Add(s.ttl)
	return true
}
