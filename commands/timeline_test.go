package commands

import (
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
)

// Times are in the team's zone with UTC beside them, dated when the
// incident spans days; a captured message shows its author, files, thread
// and link, and text that would ping or link is escaped.
func TestTimelineLines(t *testing.T) {
	at := time.Date(2026, 12, 2, 23, 30, 0, 0, time.UTC)
	paris, _ := time.LoadLocation("Europe/Paris")
	for _, tc := range []struct {
		loc      *time.Location
		multiDay bool
		want     string
	}{
		{time.UTC, false, "`23:30 UTC`"},
		{time.UTC, true, "`Wed 2 Dec 23:30 UTC`"},
		{paris, false, "`00:30 CET` (23:30 UTC)"},
		{paris, true, "`Thu 3 Dec 00:30 CET` (23:30 UTC)"},
	} {
		if got := entryTime(at, tc.loc, tc.multiDay); got != tc.want {
			t.Errorf("entryTime(%v, %v) = %q, want %q", tc.loc, tc.multiDay, got, tc.want)
		}
	}
	e := incident.Entry{At: at, Actor: "U2", Kind: incident.KindConversation, Outcome: incident.OutcomeOK, Detail: map[string]string{
		"author": "U01ALICE", "text": "p99 up <!channel> <https://evil.example|runbook>", "files": "graph.png\thttps://files.slack.com/g.png\nbad\tjavascript:alert(1)\nlog from <@U02BOB>\thttps://files.example/a",
		"thread_ts": "1.0", "permalink": "https://acme.slack.com/archives/C1/p2", "comment": "the spike"}}
	line := formatEntry(e, time.UTC, false)
	for _, want := range []string{":speech_balloon: <@U01ALICE>: p99 up &lt;!channel&gt; &lt;https://evil.example|runbook&gt;", "<https://files.slack.com/g.png|graph.png>",
		"<https://files.example/a|log from &lt;@U02BOB&gt;>",
		"_(in a thread)_", "<https://acme.slack.com/archives/C1/p2|open in Slack>", "captured by <@U2>: the spike"} {
		if !strings.Contains(line, want) {
			t.Errorf("line lacks %q:\n%s", want, line)
		}
	}
	if strings.Contains(line, "javascript:") {
		t.Errorf("a file link that is not http(s) was shown: %s", line)
	}
	// An author that is not a user ID (a bot's name) is text, not a mention.
	e.Detail["author"] = "Uh oh> <!channel"
	if line := formatEntry(e, time.UTC, false); strings.Contains(line, "<!channel") || !strings.Contains(line, "Uh oh&gt; &lt;!channel") {
		t.Errorf("an author's name made a token: %s", line)
	}
}
