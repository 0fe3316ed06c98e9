package incident_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/warroom/warroom/incident"
)

// memStore is an in-memory incident.Store for the domain's unit tests. The
// end-to-end tests use the real SQLite store.
type memStore struct {
	mu        sync.Mutex
	names     map[string]string
	incidents map[int64]*incident.Incident
	entries   []incident.Entry
	updates   []incident.PublicUpdate
	reminders map[string]bool
	next      int64
	effects   []incident.Effect
	links     map[int64][]incident.Link
	actions   map[int64]*incident.ActionItem
	captures  map[string]string
}

func newMem() *memStore {
	return &memStore{incidents: map[int64]*incident.Incident{}, reminders: map[string]bool{}}
}

type memTx struct {
	s       *memStore
	pending map[int64]*incident.Incident
	entries []incident.Entry
	effects []incident.Effect
}

func (s *memStore) Update(ctx context.Context, fn func(incident.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &memTx{s: s, pending: map[int64]*incident.Incident{}}
	if err := fn(tx); err != nil {
		return err
	}
	for n, inc := range tx.pending {
		s.incidents[n] = inc
	}
	s.entries = append(s.entries, tx.entries...)
	s.effects = append(s.effects, tx.effects...)
	return nil
}

func (t *memTx) Incident(ctx context.Context, n int64) (*incident.Incident, error) {
	if inc, ok := t.pending[n]; ok {
		return inc.Clone(), nil
	}
	if inc, ok := t.s.incidents[n]; ok {
		return inc.Clone(), nil
	}
	return nil, incident.Errorf(incident.ENotFound, "%s does not exist.", incident.Ref(n))
}

func (t *memTx) CreateIncident(ctx context.Context, inc *incident.Incident) error {
	t.s.next++
	inc.Number = t.s.next
	t.pending[inc.Number] = inc.Clone()
	return nil
}

func (t *memTx) SaveIncident(ctx context.Context, inc *incident.Incident) error {
	t.pending[inc.Number] = inc.Clone()
	return nil
}

func (t *memTx) Append(ctx context.Context, e *incident.Entry) error {
	e.ID = int64(len(t.s.entries) + len(t.entries) + 1)
	t.entries = append(t.entries, *e)
	return nil
}

func (s *memStore) Incident(ctx context.Context, n int64) (*incident.Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if inc, ok := s.incidents[n]; ok {
		return inc.Clone(), nil
	}
	return nil, incident.Errorf(incident.ENotFound, "%s does not exist.", incident.Ref(n))
}

func (s *memStore) IncidentByChannel(ctx context.Context, ch string) (*incident.Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, inc := range s.incidents {
		if inc.ChannelID == ch && ch != "" {
			return inc.Clone(), nil
		}
	}
	return nil, incident.Errorf(incident.ENotFound, "not a war room")
}

func (s *memStore) Incidents(ctx context.Context, f incident.Filter) ([]*incident.Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*incident.Incident
	for _, inc := range s.incidents {
		if !f.OpenOnly || inc.Open() {
			out = append(out, inc.Clone())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number > out[j].Number })
	return out, nil
}

func (s *memStore) Timeline(ctx context.Context, n int64, p incident.Page) ([]incident.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []incident.Entry
	for _, e := range s.entries {
		if e.Incident == n && e.ID > p.AfterID && (!p.Latest || p.BeforeID == 0 || e.ID < p.BeforeID) {
			out = append(out, e)
		}
	}
	if p.Latest && p.Limit > 0 && len(out) > p.Limit {
		out = out[len(out)-p.Limit:]
	}
	return out, nil
}

func (t *memTx) AddPublicUpdate(ctx context.Context, u *incident.PublicUpdate) error {
	u.ID = int64(len(t.s.updates) + 1)
	t.s.updates = append(t.s.updates, *u)
	return nil
}

func (t *memTx) MarkReminder(ctx context.Context, n int64, due time.Time, kind string, at time.Time, sent bool) (bool, error) {
	key := fmt.Sprint(n, due.Unix(), kind)
	if t.s.reminders[key] {
		return false, nil
	}
	t.s.reminders[key] = true
	return true, nil
}

func (s *memStore) DueForReminder(ctx context.Context, before time.Time) ([]*incident.Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*incident.Incident
	for _, inc := range s.incidents {
		if inc.Stage != incident.StageClosed && !inc.NextUpdateDue.IsZero() && !inc.NextUpdateDue.After(before) {
			out = append(out, inc.Clone())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out, nil
}

func (s *memStore) PublicUpdates(ctx context.Context, n int64) ([]incident.PublicUpdate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []incident.PublicUpdate
	for _, u := range s.updates {
		if u.Incident == n {
			out = append(out, u)
		}
	}
	return out, nil
}

func (s *memStore) Unacknowledged(ctx context.Context, worst incident.Severity, before time.Time) ([]*incident.Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*incident.Incident
	for _, inc := range s.incidents {
		if inc.Open() && inc.Severity <= worst && inc.AcknowledgedAt.IsZero() && !inc.DeclaredAt.After(before) {
			out = append(out, inc.Clone())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out, nil
}

func (s *memStore) PublishedIncidents(ctx context.Context, since time.Time, limit int) ([]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var active, resolved []*incident.Incident
	for _, inc := range s.incidents {
		switch {
		case inc.Private || !inc.Published():
		case inc.PublicStatus != incident.StatusResolved:
			active = append(active, inc)
		case !inc.PublishedAt.Before(since):
			resolved = append(resolved, inc)
		}
	}
	sort.Slice(resolved, func(i, j int) bool { return resolved[i].PublishedAt.After(resolved[j].PublishedAt) })
	var out []int64
	for _, inc := range active {
		out = append(out, inc.Number)
	}
	for _, inc := range resolved[:min(len(resolved), limit)] {
		out = append(out, inc.Number)
	}
	return out, nil
}

func (s *memStore) PublicUpdatesOf(ctx context.Context, ns []int64) (map[int64][]incident.PublicUpdate, error) {
	out := map[int64][]incident.PublicUpdate{}
	for _, n := range ns {
		ups, _ := s.PublicUpdates(ctx, n)
		out[n] = ups
	}
	return out, nil
}

// Alerts are not kept by the fake: the domain's alert rules are tested
// against SQLite (sqlite_test) and end to end.
func (t *memTx) MarkDelivery(ctx context.Context, source, id string, at time.Time) (bool, error) {
	return true, nil
}
func (t *memTx) AddAlert(ctx context.Context, n int64, a incident.Alert, group string) error {
	return nil
}
func (t *memTx) AlertIncident(ctx context.Context, source, id string) (int64, error) { return 0, nil }
func (t *memTx) SetAlertStatus(ctx context.Context, source, id, status string) error { return nil }
func (t *memTx) OpenIncidentForGroup(ctx context.Context, g string, since time.Time) (int64, error) {
	return 0, nil
}
func (t *memTx) OpenIncidentForServices(ctx context.Context, names []string, since time.Time) (int64, error) {
	return 0, nil
}
func (t *memTx) CaptureState(ctx context.Context, n int64, channel, ts string) (string, error) {
	return t.s.captures[fmt.Sprint(n, channel, ts)], nil
}
func (t *memTx) SetCapture(ctx context.Context, n int64, channel, ts, state string) error {
	if t.s.captures == nil {
		t.s.captures = map[string]string{}
	}
	t.s.captures[fmt.Sprint(n, channel, ts)] = state
	return nil
}
func (s *memStore) CapturedIn(ctx context.Context, channel, ts string) ([]int64, error) {
	var out []int64
	for n := range s.incidents {
		if s.captures[fmt.Sprint(n, channel, ts)] == incident.CaptureActive {
			out = append(out, n)
		}
	}
	return out, nil
}
func (t *memTx) StoredAlert(ctx context.Context, source, id string) (incident.Alert, int64, error) {
	return incident.Alert{}, 0, incident.Errorf(incident.ENotFound, "no alerts in the fake")
}
func (t *memTx) MoveAlert(ctx context.Context, source, id string, n int64) error { return nil }

func (t *memTx) Enqueue(ctx context.Context, e *incident.Effect) error {
	e.ID = int64(len(t.s.effects) + len(t.effects) + 1)
	t.effects = append(t.effects, *e)
	return nil
}

func (t *memTx) SetLink(ctx context.Context, n int64, l incident.Link) error {
	if t.s.links == nil {
		t.s.links = map[int64][]incident.Link{}
	}
	t.s.links[n] = append(t.s.links[n], l)
	return nil
}

func (s *memStore) Effects(ctx context.Context, f incident.EffectFilter) ([]incident.Effect, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []incident.Effect
	for i := len(s.effects) - 1; i >= 0; i-- {
		if f.Incident == 0 || s.effects[i].Incident == f.Incident {
			out = append(out, s.effects[i])
		}
	}
	return out, nil
}

func (s *memStore) Links(ctx context.Context, n int64) ([]incident.Link, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.links[n], nil
}

func (t *memTx) NextPostmortemVersion(ctx context.Context, n int64) (int, error)  { return 1, nil }
func (t *memTx) AddPostmortem(ctx context.Context, pm *incident.Postmortem) error { return nil }
func (s *memStore) Postmortem(ctx context.Context, n int64, v int) (incident.Postmortem, error) {
	return incident.Postmortem{}, incident.Errorf(incident.ENotFound, "no postmortem")
}

// Action items are written straight through: the rules that would roll
// back return before they write.
func (t *memTx) AddAction(ctx context.Context, a *incident.ActionItem) error {
	if t.s.actions == nil {
		t.s.actions = map[int64]*incident.ActionItem{}
	}
	a.ID = int64(len(t.s.actions) + 1)
	c := *a
	t.s.actions[a.ID] = &c
	return nil
}
func (t *memTx) Action(ctx context.Context, id int64) (*incident.ActionItem, error) {
	return t.s.action(id)
}
func (t *memTx) SaveAction(ctx context.Context, a *incident.ActionItem) error {
	c := *a
	t.s.actions[a.ID] = &c
	return nil
}
func (t *memTx) OwnsAction(ctx context.Context, n int64, user string) (bool, error) {
	for _, a := range t.s.actions {
		if a.Incident == n && a.Owner == user {
			return true, nil
		}
	}
	return false, nil
}
func (s *memStore) action(id int64) (*incident.ActionItem, error) {
	a, ok := s.actions[id]
	if !ok {
		return nil, incident.Errorf(incident.ENotFound, "There is no action item %s.", incident.ActionRef(id))
	}
	c := *a
	return &c, nil
}
func (s *memStore) Action(ctx context.Context, id int64) (*incident.ActionItem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.action(id)
}
func (s *memStore) Actions(ctx context.Context, f incident.ActionFilter) ([]incident.ActionItem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []incident.ActionItem
	for id := int64(1); id <= int64(len(s.actions)); id++ {
		a := s.actions[id]
		if (f.Incident == 0 || a.Incident == f.Incident) && (!f.OpenOnly || a.Status == incident.ActionOpen) {
			out = append(out, *a)
		}
	}
	return out, nil
}

func (t *memTx) RememberName(ctx context.Context, id, name string, at time.Time) error {
	if t.s.names == nil {
		t.s.names = map[string]string{}
	}
	t.s.names[id] = name
	return nil
}

func (s *memStore) Names(ctx context.Context, ids []string) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for _, id := range ids {
		if n, ok := s.names[id]; ok {
			out[id] = n
		}
	}
	return out, nil
}

func (t *memTx) DeclaredSince(ctx context.Context, actor string, since time.Time) ([]time.Time, error) {
	var at []time.Time
	for _, inc := range t.s.incidents {
		if inc.DeclaredBy == actor && inc.DeclaredAt.After(since) {
			at = append(at, inc.DeclaredAt)
		}
	}
	for _, inc := range t.pending {
		if _, stored := t.s.incidents[inc.Number]; !stored && inc.DeclaredBy == actor && inc.DeclaredAt.After(since) {
			at = append(at, inc.DeclaredAt)
		}
	}
	slices.SortFunc(at, time.Time.Compare)
	return at, nil
}
