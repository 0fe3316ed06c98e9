package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/slack-go/slack"

	"github.com/warroom/warroom/store"
)

// checkCmd is `warroom check`: it validates every setting and tries each
// configured connection, saying what is wrong and how to fix it.
func checkCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var c Config
	fs := newFlagSet("check", &c, getenv, stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	failed := 0
	report := func(what string, err error) {
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "FAIL  %s: %v\n", what, err)
			return
		}
		fmt.Fprintf(stdout, "ok    %s\n", what)
	}
	s, problems := c.check()
	for _, p := range problems {
		report("settings", p)
	}
	if len(problems) == 0 {
		report("settings (templates, time zone, cadence, lint, reminders, PagerDuty services)", nil)
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	report(checkDatabase(ctx, c.DB))

	switch {
	case c.BotToken == "":
		report("Slack", fmt.Errorf("SLACK_BOT_TOKEN is not set (or try warroom without Slack: go run ./cmd/warroom sandbox)"))
	case c.AppToken == "" && c.SigningSecret == "":
		report("Slack", fmt.Errorf("set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP)"))
	default:
		tlsConf, err := slackTLS(c.CAFile)
		if err == nil {
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConf, Proxy: http.ProxyFromEnvironment}}
			var auth *slack.AuthTestResponse
			auth, err = slack.New(c.BotToken, slack.OptionAPIURL(c.APIURL), slack.OptionHTTPClient(client)).AuthTestContext(ctx)
			if err == nil {
				report(fmt.Sprintf("Slack at %s: bot %s in %s", redactURL(c.APIURL), auth.User, auth.Team), nil)
				break
			}
		}
		report("Slack at "+redactURL(c.APIURL), fmt.Errorf("%v (check SLACK_BOT_TOKEN and SLACK_API_URL)", err))
	}

	if c.SPKey != "" && c.SPPage != "" {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.SPURL+"/v1/pages/"+c.SPPage+"/components", nil)
		req.Header.Set("Authorization", "OAuth "+c.SPKey)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("answered %s (check STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID)", resp.Status)
			}
		}
		report("Atlassian Statuspage page "+c.SPPage, err)
	}
	if c.PDSecret != "" {
		report("PagerDuty webhooks (POST /webhooks/pagerduty)", nil)
	}
	if s.pd != nil {
		err := s.pd.Check(ctx)
		if err != nil {
			err = fmt.Errorf("%v (check PAGERDUTY_TOKEN and PAGERDUTY_API_URL)", err)
		}
		report("PagerDuty REST API at "+redactURL(c.PDAPIURL), err)
		if c.PDPolicy == "" && c.PDSchedule == "" {
			report("PagerDuty on-call commander", fmt.Errorf("set PAGERDUTY_ESCALATION_POLICY or PAGERDUTY_SCHEDULE, or every declarer stays commander"))
		} else if _, err := s.pd.OnCall(ctx, ""); err != nil {
			report("PagerDuty on-call lookup", err)
		} else {
			report("PagerDuty on-call lookup ("+firstNonEmpty(c.PDPolicy, c.PDSchedule)+")", nil)
		}
		if c.PDFrom == "" {
			report("PagerDuty paging people", fmt.Errorf("set PAGERDUTY_FROM (the email of a PagerDuty user) to page people and resolve their pages"))
		}
	}
	if s.jira != nil {
		err := s.jira.Check(ctx)
		if err != nil {
			err = fmt.Errorf("%v (check JIRA_URL, JIRA_USER, JIRA_TOKEN and JIRA_PROJECT)", err)
		}
		report("Jira project "+c.JiraProject+" at "+redactURL(c.JiraURL), err)
	}
	if failed > 0 {
		return fmt.Errorf("%d check(s) failed", failed)
	}
	fmt.Fprintln(stdout, "all checks passed")
	return nil
}

// checkDatabase says whether the database can be used, without creating
// or migrating it: a check changes nothing.
func checkDatabase(ctx context.Context, path string) (string, error) {
	what := "database " + store.Redact(path)
	if store.IsPostgres(path) {
		// Reached and read, never changed; pgx itself says what is wrong
		// (host down, password refused, no such database).
	} else if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		dir := filepath.Dir(path)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return what, fmt.Errorf("it does not exist and neither does its directory %s (set WARROOM_DB)", dir)
		}
		return what + " (not created yet: `warroom serve` or `warroom migrate` creates it)", nil
	}
	pending, err := store.Pending(ctx, path)
	switch {
	case err != nil:
		return what, fmt.Errorf("cannot be read: %v", err)
	case len(pending) > 0:
		return fmt.Sprintf("%s (%d migration%s to apply at the next start, or now with `warroom migrate`)", what, len(pending), map[bool]string{true: "", false: "s"}[len(pending) == 1]), nil
	}
	return what, nil
}
