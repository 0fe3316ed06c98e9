package incident

import (
	"context"
	"strconv"
	"time"
)

// Postmortem is one version of an incident's postmortem draft.
type Postmortem struct {
	Incident int64
	Version  int
	Markdown string
	// HTML is the draft rendered for a browser, when it was written; ""
	// for drafts written before warroom stored it.
	HTML    string
	Created time.Time
	By      string
}

// Ref is the incident's reference.
func (pm Postmortem) Ref() string { return Ref(pm.Incident) }

// KindPostmortem is the timeline kind of a postmortem draft written.
const KindPostmortem = "postmortem"

// SavePostmortem writes a new version of incident n's postmortem draft,
// rendered by render for that version number (as Markdown and HTML), and
// records it on the timeline, in one transaction. The earlier versions stay.
func (s *Service) SavePostmortem(ctx context.Context, n int64, cmd Command, render func(version int) (markdown, html string, err error)) (*Postmortem, error) {
	var pm *Postmortem
	_, err := s.changeTx(ctx, n, cmd, func(tx Tx, inc *Incident, now time.Time) (map[string]string, error) {
		v, err := tx.NextPostmortemVersion(ctx, n)
		if err != nil {
			return nil, err
		}
		md, html, err := render(v)
		if err != nil {
			return nil, Errorf(EInternal, "rendering the postmortem: %v", err)
		}
		pm = &Postmortem{Incident: n, Version: v, Markdown: md, HTML: html, Created: now, By: cmd.Actor}
		if err := tx.AddPostmortem(ctx, pm); err != nil {
			return nil, err
		}
		return map[string]string{"version": strconv.Itoa(v), "bytes": strconv.Itoa(len(md))}, nil
	})
	if err != nil {
		return nil, err
	}
	return pm, nil
}

// Postmortem returns version v of incident n's draft (0: the latest), or a
// not_found Error.
func (s *Service) Postmortem(ctx context.Context, n int64, v int) (Postmortem, error) {
	return s.store.Postmortem(ctx, n, v)
}
