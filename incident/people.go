package incident

import (
	"context"
	"strings"
)

// People are the names warroom has learned for Slack user IDs, so that a
// document or the command line says "@alice" where a person reads it.

// RememberNames stores display names learned from Slack, by user ID.
func (s *Service) RememberNames(ctx context.Context, names map[string]string) error {
	if len(names) == 0 {
		return nil
	}
	now := s.Now()
	return s.store.Update(ctx, func(tx Tx) error {
		for id, name := range names {
			if id = strings.TrimSpace(id); id == "" || id == SystemActor || id == AlertActor {
				continue
			}
			if name = strings.TrimSpace(name); name == "" {
				continue
			}
			if err := tx.RememberName(ctx, id, clipRunes(name, 80), now); err != nil {
				return err
			}
		}
		return nil
	})
}

// Names returns the display names known for ids; an ID with none is left out.
func (s *Service) Names(ctx context.Context, ids []string) (map[string]string, error) {
	return s.store.Names(ctx, ids)
}

func clipRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
