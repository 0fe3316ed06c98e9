package incident

import (
	"context"
	"fmt"
	"time"
)

// Who may do what. The rules sit here, once, and every path reaches them
// through the Service: slash commands typed in a war room or by reference
// from anywhere, buttons, modal submissions, and action items.
//
//   - Resolving and closing are the commander's. An incident with no
//     commander (an alert declared it and nobody was found on call) is led
//     by whoever takes command first, which is recorded and announced like
//     any change of command.
//   - Taking command stays open to anyone, because an incident cannot wait
//     for an absent commander; it is announced in the war room, and the
//     commander who held it is told directly.
//   - Publishing is the communicator's or the commander's, and a published
//     "resolved" resolves the incident only from the commander (Publish).
//   - Snoozing a due update is theirs too, at most MaxSnoozes times per
//     update owed.
//   - Closing archives the war room and cannot be undone: it waits until the
//     incident has been resolved for CloseAfter, or the commander confirms.

// DefaultCloseAfter is how long an incident stays resolved before it can be
// closed without the commander confirming.
const DefaultCloseAfter = 10 * time.Minute

// MaxSnoozes is how many times one due public update can be snoozed.
const MaxSnoozes = 2

// DefaultDeclareLimit is how many incidents one person may declare a
// minute unless configured otherwise; alerts from monitoring are not
// limited.
const DefaultDeclareLimit = 10

// UseDeclareLimit sets how many incidents one person may declare a minute
// (0, a new Service's: no limit).
func (s *Service) UseDeclareLimit(n int) {
	if n >= 0 {
		s.declareLimit = n
	}
}

// mayDeclareNow refuses a person who has declared the limit already this
// minute, saying when they may again. A flood of declarations makes a flood
// of channels and announcements, and buries the incident that matters.
func (s *Service) mayDeclareNow(ctx context.Context, tx Tx, actor string, now time.Time) error {
	if s.declareLimit == 0 || actor == AlertActor || actor == SystemActor {
		return nil
	}
	at, err := tx.DeclaredSince(ctx, actor, now.Add(-time.Minute))
	if err != nil || len(at) < s.declareLimit {
		return err
	}
	// A slot frees when the declaration that fills the limit leaves the
	// minute: then one more is allowed.
	again := at[len(at)-s.declareLimit].Add(time.Minute)
	return Errorf(EConflict, "You have declared %d incidents in the last minute, the most one person may. Try again at %s UTC, or add to one of them: `/incident list`.",
		len(at), again.UTC().Format("15:04:05"))
}

// UseCloseAfter sets how long an incident must have been resolved before
// closing needs no confirmation (0: never needs one).
func (s *Service) UseCloseAfter(d time.Duration) {
	if d >= 0 {
		s.closeAfter = d
	}
}

// commanderOnly refuses what only the commander may do (resolve, close)
// to anyone else, saying who may and how to take the role. warroom itself
// may. With nobody in command, whoever acts takes command first.
func commanderOnly(inc *Incident, actor, what string) error {
	switch {
	case actor == inc.Commander || actor == SystemActor:
		return nil
	case inc.Commander == "":
		return Errorf(EForbidden, "Nobody commands %s yet, and only its commander can %s it. Take command first (`/incident %s commander me`); the room is told.", inc.Ref(), what, inc.Ref())
	}
	return Errorf(EForbidden, "Only the commander (<@%s>) can %s %s. Ask them, or take command first: `/incident commander me`.", inc.Commander, what, inc.Ref())
}

// communicatorOrCommander refuses what only the people who speak for the
// incident may do (publish, snooze its reminders).
func communicatorOrCommander(inc *Incident, actor, what string) error {
	if actor == inc.Communicator || actor == inc.Commander || actor == SystemActor {
		return nil
	}
	return Errorf(EForbidden, "Only the communicator (%s) or the commander (%s) can %s. To take the role: `/incident communicator me`.", who(inc.Communicator), who(inc.Commander), what)
}

// roundAgo says a short duration for people: "3 minutes", "1 minute",
// "less than a minute".
func roundAgo(d time.Duration) string {
	switch m := int(d / time.Minute); {
	case m < 1:
		return "less than a minute"
	case m == 1:
		return "1 minute"
	default:
		return fmt.Sprintf("%d minutes", m)
	}
}
