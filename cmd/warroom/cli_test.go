package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/warroom/warroom/slacksim"
)

func (w *world) listJSON(all bool) []incidentJSON {
	w.t.Helper()
	args := []string{"incidents", "list", "--json"}
	if all {
		args = append(args, "--all")
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), args, nil, &out, &errb, w.getenv); code != 0 {
		w.t.Fatalf("incidents list: %d %s", code, errb.String())
	}
	var list []incidentJSON
	if err := json.Unmarshal(out.Bytes(), &list); err != nil {
		w.t.Fatal(err)
	}
	return list
}

// auditKinds lists the kinds in the global audit log, space separated.
func (w *world) auditKinds() string {
	w.t.Helper()
	db, err := openForTest(w.env["WARROOM_DB"])
	if err != nil {
		w.t.Fatal(err)
	}
	defer db.Close()
	entries, err := db.Timeline(context.Background(), 0, pageAll)
	if err != nil {
		w.t.Fatal(err)
	}
	var kinds []string
	for _, e := range entries {
		kinds = append(kinds, e.Kind)
	}
	return strings.Join(kinds, " ")
}

func httpPost(url string, body []byte, header http.Header) (int, error) {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestServeWithoutCredentials(t *testing.T) {
	var out, errb bytes.Buffer
	env := map[string]string{"WARROOM_DB": t.TempDir() + "/x.db"}
	code := run(context.Background(), []string{"serve"}, nil, &out, &errb, func(k string) string { return env[k] })
	if code == 0 || strings.Count(strings.TrimSpace(errb.String()), "\n") != 0 {
		t.Fatalf("exit %d, stderr %q: want non-zero and one line", code, errb.String())
	}
	for _, want := range []string{"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "sandbox"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("the message does not mention %s: %s", want, errb.String())
		}
	}
}

func TestMigrateAndEmptyList(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"WARROOM_DB": dir + "/w.db"}
	getenv := func(k string) string { return env[k] }
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"migrate"}, nil, &out, &errb, getenv); code != 0 {
		t.Fatalf("migrate: %d %s", code, errb.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"incidents", "list", "--json"}, nil, &out, &errb, getenv); code != 0 || strings.TrimSpace(out.String()) != "[]" {
		t.Fatalf("empty list: %d %q %s", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"incidents", "list"}, nil, &out, &errb, getenv); code != 0 || !strings.Contains(out.String(), "No open incidents. All of them: warroom incidents list --all") {
		t.Fatalf("empty list as text: %d %q", code, out.String())
	}
	if code := run(context.Background(), []string{"incidents", "show", "INC-1"}, nil, &out, &errb, getenv); code == 0 || !strings.Contains(errb.String(), "INC-1 does not exist") {
		t.Fatalf("show missing: %d %s", code, errb.String())
	}
	if code := run(context.Background(), []string{"incidents", "show", "bogus"}, nil, &out, &errb, getenv); code != 2 {
		t.Fatalf("show bogus: %d", code)
	}
	out.Reset()
	if code := run(context.Background(), []string{"version"}, nil, &out, &errb, getenv); code != 0 || !strings.HasPrefix(out.String(), "warroom ") {
		t.Fatalf("version: %q", out.String())
	}
}

func TestCheck(t *testing.T) {
	sim, err := slacksim.New(slacksim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	env := map[string]string{"WARROOM_DB": t.TempDir() + "/c.db", "SLACK_BOT_TOKEN": slacksim.BotToken, "SLACK_APP_TOKEN": slacksim.AppToken, "SLACK_API_URL": sim.APIURL()}
	getenv := func(k string) string { return env[k] }
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"check"}, nil, &out, &errb, getenv); code != 0 || !strings.Contains(out.String(), "ok    Slack at") || !strings.Contains(out.String(), "all checks passed") {
		t.Fatalf("good config: %d\n%s%s", code, out.String(), errb.String())
	}
	env["WARROOM_UPDATE_CADENCE"] = "sev1=soon"
	env["WARROOM_TIMEZONE"] = "Mars/Olympus"
	env["SLACK_BOT_TOKEN"] = "xoxb-wrong"
	env["STATUSPAGE_PAGE_ID"] = "only-half"
	env["WARROOM_TIMELINE_EMOJI"] = "white_check_mark"
	out.Reset()
	code := run(context.Background(), []string{"check"}, nil, &out, &errb, getenv)
	for _, want := range []string{"WARROOM_UPDATE_CADENCE", "WARROOM_TIMEZONE", "invalid_auth", "STATUSPAGE_API_KEY", "ok    database", "WARROOM_TIMELINE_EMOJI: \"white_check_mark\""} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}
	if code == 0 {
		t.Error("a broken config passed the check")
	}
}
