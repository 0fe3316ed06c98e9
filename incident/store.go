package incident

import (
	"context"
	"time"
)

// Store is the persistence the Service needs. The sqlite package provides it.
type Store interface {
	// Update runs fn in one write transaction. An error from fn rolls it back.
	Update(ctx context.Context, fn func(Tx) error) error

	// Incident returns incident n, or a not_found Error.
	Incident(ctx context.Context, n int64) (*Incident, error)
	// IncidentByChannel returns the incident whose war room is channel, or a not_found Error.
	IncidentByChannel(ctx context.Context, channel string) (*Incident, error)
	// Incidents lists incidents, newest first.
	Incidents(ctx context.Context, f Filter) ([]*Incident, error)
	// Timeline returns incident n's entries (0: the audit log) in order.
	Timeline(ctx context.Context, n int64, p Page) ([]Entry, error)
	// DueForReminder lists incidents not closed whose next update is due by
	// before (a resolved one may still owe its final update).
	DueForReminder(ctx context.Context, before time.Time) ([]*Incident, error)
	// PublishedIncidents lists the public incidents with at least one public
	// update: every one whose last update is not "resolved", then the newest
	// resolved ones published since, at most limit of those.
	PublishedIncidents(ctx context.Context, since time.Time, limit int) ([]int64, error)
	// PublicUpdates lists incident n's published updates, oldest first.
	PublicUpdates(ctx context.Context, n int64) ([]PublicUpdate, error)
	// PublicUpdatesOf lists the published updates of several incidents in
	// one read, by incident, oldest first.
	PublicUpdatesOf(ctx context.Context, ns []int64) (map[int64][]PublicUpdate, error)
	// Unacknowledged lists open incidents of severity worst..SEV1 declared
	// before the cutoff that nobody has acknowledged.
	Unacknowledged(ctx context.Context, worst Severity, declaredBefore time.Time) ([]*Incident, error)
	// Effects lists outbox rows, newest first.
	Effects(ctx context.Context, f EffectFilter) ([]Effect, error)
	// Links lists what incident n is called in other systems.
	Links(ctx context.Context, n int64) ([]Link, error)
	// Postmortem returns version v (0: the latest) of incident n's draft.
	Postmortem(ctx context.Context, n int64, v int) (Postmortem, error)
	// Action returns action item id, or a not_found Error.
	Action(ctx context.Context, id int64) (*ActionItem, error)
	// Actions lists action items by incident, then id.
	Actions(ctx context.Context, f ActionFilter) ([]ActionItem, error)
	// CapturedIn lists the incidents whose timeline holds message ts of channel.
	CapturedIn(ctx context.Context, channel, ts string) ([]int64, error)
	// Names returns the display names known for these user IDs.
	Names(ctx context.Context, ids []string) (map[string]string, error)
}

// Tx is one write transaction.
type Tx interface {
	Incident(ctx context.Context, n int64) (*Incident, error)
	// CreateIncident stores a new incident and sets its Number.
	CreateIncident(ctx context.Context, inc *Incident) error
	SaveIncident(ctx context.Context, inc *Incident) error
	// Append adds an entry to the timeline and sets its ID.
	Append(ctx context.Context, e *Entry) error
	// AddPublicUpdate stores a published update and sets its ID.
	AddPublicUpdate(ctx context.Context, u *PublicUpdate) error
	// MarkReminder records that the reminder of kind for the update due at
	// due has fired (sent=false: skipped); it reports false if it already had.
	MarkReminder(ctx context.Context, n int64, due time.Time, kind string, at time.Time, sent bool) (bool, error)
	// MarkDelivery records a webhook delivery; it reports false if it was seen before.
	MarkDelivery(ctx context.Context, source, eventID string, at time.Time) (bool, error)
	// AddAlert attaches an alert to incident n under a group key.
	AddAlert(ctx context.Context, n int64, a Alert, group string) error
	// AlertIncident returns the incident an alert belongs to, or 0.
	AlertIncident(ctx context.Context, source, externalID string) (int64, error)
	// SetAlertStatus records an alert's latest event.
	SetAlertStatus(ctx context.Context, source, externalID, status string) error
	// OpenIncidentForGroup returns the newest open incident declared since
	// with an alert in group, or 0.
	OpenIncidentForGroup(ctx context.Context, group string, since time.Time) (int64, error)
	// OpenIncidentForServices returns the newest open public incident
	// declared since for one of these services (by name, in any case), or 0.
	OpenIncidentForServices(ctx context.Context, names []string, since time.Time) (int64, error)
	// CaptureState is how message ts of channel stands in incident n's
	// timeline: "" (never asked for), or a Capture* state.
	CaptureState(ctx context.Context, n int64, channel, ts string) (string, error)
	// SetCapture records it.
	SetCapture(ctx context.Context, n int64, channel, ts, state string) error
	// StoredAlert returns an alert as recorded, with its incident, or a not_found Error.
	StoredAlert(ctx context.Context, source, externalID string) (Alert, int64, error)
	// MoveAlert attaches an alert to another incident.
	MoveAlert(ctx context.Context, source, externalID string, n int64) error
	// Enqueue adds an effect to the outbox, pending, and sets its ID (by
	// the time the transaction commits: a store may send the INSERT with
	// the COMMIT).
	Enqueue(ctx context.Context, e *Effect) error
	// SetLink records what incident n is called in another system.
	SetLink(ctx context.Context, n int64, l Link) error
	// NextPostmortemVersion is the version number incident n's next draft gets.
	NextPostmortemVersion(ctx context.Context, n int64) (int, error)
	// AddPostmortem stores a draft.
	AddPostmortem(ctx context.Context, pm *Postmortem) error
	// AddAction stores a new action item and sets its ID.
	AddAction(ctx context.Context, a *ActionItem) error
	// Action returns action item id, or a not_found Error.
	Action(ctx context.Context, id int64) (*ActionItem, error)
	// SaveAction writes an action item's changes.
	SaveAction(ctx context.Context, a *ActionItem) error
	// OwnsAction reports whether user owns any action item of incident n.
	OwnsAction(ctx context.Context, n int64, user string) (bool, error)
	// RememberName records a user's display name.
	RememberName(ctx context.Context, id, name string, at time.Time) error
	// DeclaredSince lists when actor declared incidents after since,
	// oldest first.
	DeclaredSince(ctx context.Context, actor string, since time.Time) ([]time.Time, error)
}

// Filter selects incidents to list.
type Filter struct {
	OpenOnly bool  // only incidents not yet resolved
	Before   int64 // only numbers below this, for paging; 0 for the newest
	Limit    int   // at most this many; 0 means 50, -1 all
	// DeclaredSince keeps incidents declared at or after it.
	DeclaredSince time.Time
	// PublicOnly leaves private incidents out (the status page);
	// PrivateOnly keeps only them.
	PublicOnly, PrivateOnly bool
}

// Page selects timeline entries: those after AfterID, at most Limit (0:
// all), oldest first. With Latest, the newest Limit entries before
// BeforeID (0: the newest of all), still returned oldest first: what a
// person reads, and the page before it.
type Page struct {
	AfterID  int64
	Limit    int
	Latest   bool
	BeforeID int64
}

// Clock tells the time. Tests pass a fixed or stepped clock.
type Clock func() time.Time
