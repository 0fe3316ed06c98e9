package incident

import (
	"context"
	"strings"
	"time"
)

// KindOnCallAssigned is the timeline kind of a commander taken from the on-call schedule.
const KindOnCallAssigned = "oncall"

// Page pages target (a service name, or "@U123" for a person) about
// incident n with an optional message. The page is sent through the outbox
// with a dedup key made from the incident and target, so paging the same
// target twice reaches PagerDuty as one incident.
func (s *Service) Page(ctx context.Context, n int64, cmd Command, target, message string) (*Incident, error) {
	plan := cmd.Effects
	var key string
	cmd.Effects = func(before, after *Incident, e Entry) []Effect {
		var fx []Effect
		if plan != nil {
			fx = plan(before, after, e)
		}
		return append(fx, Effect{Kind: KindPage, Payload: map[string]string{"target": target, "message": e.Detail["message"], "dedup": key}})
	}
	return s.change(ctx, n, cmd, func(inc *Incident, _ time.Time) (map[string]string, error) {
		if !s.enabled[KindPage] {
			return nil, Errorf(EConflict, "Paging is off: warroom has no PagerDuty token (PAGERDUTY_TOKEN). Page from PagerDuty directly, and note it here: `/incident note paged <who>`.")
		}
		if !inc.Open() {
			return nil, Errorf(EConflict, "%s is resolved, so it pages nobody. If it came back: `/incident reopen`.", inc.Ref())
		}
		target = strings.TrimSpace(target)
		if target == "" {
			return nil, Errorf(EInvalid, "Say whom to page: a service or a person, e.g. `/incident page payments card auth failing` or `/incident page @alice`.")
		}
		msg, err := cleanText("page message", message, true)
		if err != nil {
			return nil, err
		}
		key = PageKey(n, target)
		return map[string]string{"target": target, "message": msg, "dedup": key}, nil
	})
}

// AssignOnCall makes user, who is on call, the commander of incident n,
// unless someone has taken command since the incident was declared: the
// commander must still be provisional (the declarer, or nobody for an
// incident an alert declared). source says where the answer came from.
func (s *Service) AssignOnCall(ctx context.Context, n int64, user, provisional, source string) (*Incident, error) {
	cmd := Command{Actor: SystemActor, Kind: KindOnCallAssigned, Raw: "on call per " + source + ": <@" + user + ">"}
	return s.changeTx(ctx, n, cmd, func(tx Tx, inc *Incident, _ time.Time) (map[string]string, error) {
		if inc.Commander != provisional {
			return nil, Errorf(EConflict, "%s already has a commander, %s; the on-call person was not put in.", inc.Ref(), who(inc.Commander))
		}
		if !inc.Open() {
			return nil, Errorf(EConflict, "%s is resolved; the on-call person was not put in.", inc.Ref())
		}
		if inc.Commander == user {
			// The declarer is the one on call: say so, change nothing.
			return map[string]string{"role": RoleCommander, "from": user, "to": user, "source": source, "confirmed": "true"}, nil
		}
		from := inc.Commander
		inc.Commander = user
		inc.AddMember(user)
		if err := release(ctx, tx, inc, from); err != nil {
			return nil, err
		}
		return map[string]string{"role": RoleCommander, "from": from, "to": user, "source": source}, nil
	})
}
