package bot

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/warroom/warroom/incident"
)

// directoryFor is how long the workspace's member list is trusted before
// users.list is asked again (Tier 2: about 20 calls a minute).
const directoryFor = 10 * time.Minute

// directory is the workspace's people by every name they go by.
type directory struct {
	at     time.Time
	byName map[string][]slack.User // lower-cased handle, display name or real name
}

// FindUser finds the Slack user people call name (typed without picking
// them from Slack's @ list): their handle, display name or real name, in
// any case. It is the dispatcher's way from "/incident commander bob" to a
// person. An unknown or ambiguous name is a domain error saying what to type.
func (b *Bot) FindUser(ctx context.Context, name string) (string, error) {
	key := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(name), "@"))
	dir, err := b.directory(ctx)
	if err != nil {
		return "", incident.Errorf(incident.EInvalid, "I couldn't look %q up in Slack (%s). Type @ and pick them from the list, e.g. `@%s`.", name, slackErr(err), key)
	}
	found := dir.byName[key]
	switch len(found) {
	case 1:
		return found[0].ID, nil
	case 0:
		return "", incident.Errorf(incident.EInvalid, "I can't find anyone in Slack called %q. Type @ and pick the person from Slack's list, or say `me`.", name)
	}
	var who []string
	for _, u := range found[:min(len(found), 5)] {
		who = append(who, fmt.Sprintf("<@%s> (%s)", u.ID, firstNonEmpty(u.RealName, u.Name)))
	}
	return "", incident.Errorf(incident.EInvalid, "%d people in Slack are called %q: %s. Type @ and pick the one you mean from the list.", len(found), name, strings.Join(who, ", "))
}

func (b *Bot) directory(ctx context.Context) (*directory, error) {
	b.mu.Lock()
	dir := b.people
	b.mu.Unlock()
	if dir != nil && time.Since(dir.at) < directoryFor {
		return dir, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second) // a command is waiting
	defer cancel()
	users, err := b.api.GetUsersContext(ctx, slack.GetUsersOptionLimit(200))
	if err != nil {
		return nil, err
	}
	dir = &directory{at: time.Now(), byName: map[string][]slack.User{}}
	learned := map[string]string{}
	for _, u := range users {
		if u.Deleted || u.IsBot || u.ID == "USLACKBOT" {
			continue
		}
		seen := map[string]bool{}
		for _, n := range []string{u.Name, u.Profile.DisplayName, u.RealName, u.Profile.RealName} {
			if k := strings.ToLower(strings.TrimSpace(n)); k != "" && !seen[k] {
				seen[k] = true
				dir.byName[k] = append(dir.byName[k], u)
			}
		}
		learned[u.ID] = firstNonEmpty(u.Profile.DisplayName, u.Name)
	}
	b.learn(ctx, learned)
	for k := range dir.byName {
		sort.Slice(dir.byName[k], func(i, j int) bool { return dir.byName[k][i].ID < dir.byName[k][j].ID })
	}
	b.mu.Lock()
	b.people = dir
	b.mu.Unlock()
	return dir, nil
}
