// Package vendorsim fakes the parts of PagerDuty (REST API and Events API
// v2) and Jira Cloud (REST API v2) that warroom uses, over real HTTP, for
// end-to-end tests and the sandbox. It keeps what it was sent so tests can
// count it, and it can be made to fail: 500s, 429s with Retry-After, slow
// answers, or down altogether. The contract tests check warroom's requests
// against the vendors' OpenAPI specs instead (see pagerduty and jira).
package vendorsim

import (
	"net/http"
	"sync"
	"time"
)

// Faults makes a server misbehave. The zero value behaves.
type Faults struct {
	mu         sync.Mutex
	status     int           // answer this status...
	left       int           // ...to this many requests (-1: until Heal)
	delay      time.Duration // before answering
	injected   int
	retryAfter int
}

// Fail answers the next n requests with status (n < 0: every request until
// Heal). A 429 carries Retry-After: 1.
func (f *Faults) Fail(n, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.left, f.retryAfter = status, n, 1
}

// Slow delays every answer by d, until Heal.
func (f *Faults) Slow(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay = d
}

// Heal stops all faults.
func (f *Faults) Heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.left, f.delay = 0, 0, 0
}

// Injected counts the requests answered with a fault (failures and delays).
func (f *Faults) Injected() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.injected
}

// intercept answers r with a fault if one is due; it reports whether it did.
func (f *Faults) intercept(w http.ResponseWriter, r *http.Request) bool {
	f.mu.Lock()
	delay, status := f.delay, 0
	if f.left != 0 && f.status != 0 {
		status = f.status
		if f.left > 0 {
			f.left--
		}
	}
	if delay > 0 || status != 0 {
		f.injected++
	}
	ra := f.retryAfter
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return true
		}
	}
	if status == 0 {
		return false
	}
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", itoa(ra))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write([]byte(`{"error":{"message":"injected fault","code":2001}}`))
	return true
}

func itoa(n int) string {
	b := []byte{}
	if n == 0 {
		return "0"
	}
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}
