package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/warroom/warroom/slacksim"
	"github.com/warroom/warroom/vendorsim"
)

// TestSecretsNeverShow runs a full incident with every integration on,
// recognisable secrets in every setting, and vendors refusing and failing
// along the way; then it reads everything warroom wrote or served — its
// log, every Slack message and private reply, the timeline, the outbox's
// errors, the status page, the postmortem, /metrics — and finds none of
// the secrets in any of it.
func TestSecretsNeverShow(t *testing.T) {
	pd, jr, cfg := vendors(t)
	const metricsToken = "metrics-S3CRET-f00d"
	w := start(t, "http", "WARROOM_CONFIG="+cfg, "PAGERDUTY_WEBHOOK_SECRET="+pdSecret, "WARROOM_METRICS_TOKEN="+metricsToken,
		"WARROOM_POSTMORTEM_ON_RESOLVE=true")
	secrets := []string{slacksim.BotToken, testSecret, pdToken, routingKey, jiraToken, pdSecret, metricsToken,
		base64.StdEncoding.EncodeToString([]byte(jiraUser + ":" + jiraToken))}

	// Jira refuses the credentials once and then fails; PagerDuty is rate
	// limited and then errors.
	jr.Fail(1, http.StatusUnauthorized)
	w.cmd("alice", w.general, "declare sev2 payments: card auth failing")
	room := w.room("INC-1")
	jr.Fail(2, http.StatusServiceUnavailable)
	pd.Fail(2, http.StatusTooManyRequests)
	w.cmd("carol", room.ID, "page payments pool exhausted")
	w.cmd("carol", room.ID, "note trying "+pdToken) // a person pasting a secret is their text, and stays
	pd.Fail(3, http.StatusInternalServerError)
	w.cmd("carol", room.ID, "page "+w.at("dave"))
	w.cmd("carol", room.ID, "action add rotate keys p1")
	w.cmd("carol", room.ID, "resolve pool restored")
	w.eventually("the outbox settles", func() bool {
		return !strings.Contains(w.outboxSummary(), "pending")
	})

	var texts []string
	texts = append(texts, w.log.String())
	for _, ch := range w.sim.Channels() {
		for _, m := range w.sim.Messages(ch.ID) {
			texts = append(texts, m.Text, string(m.Blocks))
		}
	}
	for _, u := range w.users {
		for _, m := range w.sim.Ephemerals(u) {
			texts = append(texts, m.Text, string(m.Blocks))
		}
	}
	for _, f := range w.sim.Files() {
		texts = append(texts, string(f.Content))
	}
	for _, args := range [][]string{{"incidents", "show", "INC-1", "--json"}, {"outbox", "list", "--all", "--json"}, {"postmortem", "INC-1"}, {"report", "weekly"}} {
		var out, errb bytes.Buffer
		run(context.Background(), args, nil, &out, &errb, w.getenv)
		texts = append(texts, out.String(), errb.String())
	}
	get := func(url, token string) string { _, body := w.getWithToken(url, token); return body }
	status := "http://" + w.env["WARROOM_STATUS_ADDR"]
	texts = append(texts, get(status+"/", ""), get(status+"/history.atom", ""), get(status+"/api/v2/summary.json", ""),
		get("http://"+w.admin+"/metrics", metricsToken), get("http://"+w.admin+"/incidents/INC-1/postmortem.html", ""))
	if !strings.Contains(w.log.String(), "401") && !strings.Contains(w.outboxSummary(), "401") {
		t.Error("the scenario did not make Jira refuse the credentials")
	}
	all := strings.Join(texts, "\n")
	for _, s := range secrets {
		n := strings.Count(all, s)
		if s == pdToken {
			n -= strings.Count(all, "trying "+pdToken) // carol's own note
		}
		if n > 0 {
			i := strings.Index(all, s)
			t.Errorf("secret %q appears %d times, e.g. …%s…", s, n, all[max(0, i-120):min(len(all), i+len(s)+40)])
		}
	}
}

// TestCredentialsInAURLNeverShow: a Jira password written into JIRA_URL
// (https://user:token@site) works, and is in neither what warroom check
// prints, the log, Slack (the summary's link to the issue) nor the
// timeline.
func TestCredentialsInAURLNeverShow(t *testing.T) {
	const token = "jira-URL-S3CRET-7e57"
	jr := vendorsim.NewJira("ops@example.com", token, "OPS")
	defer jr.Close()
	site := strings.Replace(jr.URL(), "http://", "http://ops%40example.com:"+token+"@", 1)
	w := start(t, "http", "JIRA_URL="+site, "JIRA_PROJECT=OPS")
	w.cmd("alice", w.general, "declare sev2 Checkout returns 500s")
	room := w.room("INC-1")
	w.eventually("the issue is filed with the URL's credentials and linked", func() bool {
		return len(jr.Issues()) == 1 && strings.Contains(string(w.pinned(room.ID).Blocks), "OPS-1")
	})
	var out, errb bytes.Buffer
	run(context.Background(), []string{"check"}, nil, &out, &errb, w.getenv)
	texts := []string{out.String(), errb.String(), w.log.String(), string(w.pinned(room.ID).Blocks)}
	for _, ch := range w.sim.Channels() {
		for _, m := range w.sim.Messages(ch.ID) {
			texts = append(texts, m.Text, string(m.Blocks))
		}
	}
	var show bytes.Buffer
	run(context.Background(), []string{"incidents", "show", "INC-1", "--json"}, nil, &show, &errb, w.getenv)
	texts = append(texts, show.String())
	if all := strings.Join(texts, "\n"); strings.Contains(all, token) {
		i := strings.Index(all, token)
		t.Errorf("the password in JIRA_URL shows: …%s…", all[max(0, i-100):min(len(all), i+40)])
	}
	if !strings.Contains(out.String(), "REDACTED@") {
		t.Errorf("check does not say where Jira is, redacted:\n%s", out.String())
	}
}
