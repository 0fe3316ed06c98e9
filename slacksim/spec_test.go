package slacksim_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/warroom/warroom/slacksim"
)

// TestMethodsMatchSlackSpec checks every method the simulator serves
// against Slack's OpenAPI spec: it exists, it reads only parameters Slack
// defines, it requires at least what Slack requires, and it refuses a
// request that leaves a required parameter out.
func TestMethodsMatchSlackSpec(t *testing.T) {
	spec := slacksim.SpecForTest(t)
	sim, err := slacksim.New(slacksim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	names := make([]string, 0)
	for name := range slacksim.Methods() {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		m := slacksim.Methods()[name]
		if slacksim.NotInSpec[name] {
			continue
		}
		known, ok := spec.Params[name]
		if !ok {
			t.Errorf("%s is not in Slack's spec", name)
			continue
		}
		for _, p := range m.Params {
			if !known[p] {
				t.Errorf("%s reads %q, which Slack's spec does not define", name, p)
			}
		}
		for _, r := range spec.Required[name] {
			if !slices.Contains(m.Required, r) {
				t.Errorf("%s: Slack requires %q but the simulator does not", name, r)
			}
		}
		for _, r := range m.Required {
			form := url.Values{}
			for _, other := range m.Required {
				if other != r {
					form.Set(other, "x")
				}
			}
			if got := call(t, sim, name, slacksim.BotToken, form); got["ok"] != false {
				t.Errorf("%s without %s answered %v", name, r, got)
			}
		}
		if got := call(t, sim, name, "", url.Values{}); got["error"] != "not_authed" {
			t.Errorf("%s with no token: %v", name, got)
		}
	}
}

func TestRateLimitAnswers429WithRetryAfter(t *testing.T) {
	sim, _ := slacksim.New(slacksim.Options{})
	defer sim.Close()
	sim.RateLimit("auth.test", 1, 2e9)
	req, _ := http.NewRequest("POST", sim.APIURL()+"auth.test", strings.NewReader(""))
	req.Header.Set("Authorization", "Bearer "+slacksim.BotToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" {
		t.Fatalf("status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if got := call(t, sim, "auth.test", slacksim.BotToken, nil); got["ok"] != true {
		t.Fatalf("after the limit: %v", got)
	}
}

func TestJSONAndFormBodies(t *testing.T) {
	sim, _ := slacksim.New(slacksim.Options{})
	defer sim.Close()
	body, _ := json.Marshal(map[string]any{"name": "json-made"})
	req, _ := http.NewRequest("POST", sim.APIURL()+"conversations.create", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+slacksim.BotToken)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, ok := sim.ChannelByName("json-made"); !ok {
		t.Fatal("a JSON body did not create the channel")
	}
	if got := call(t, sim, "conversations.create", slacksim.BotToken, url.Values{"name": {"json-made"}}); got["error"] != "name_taken" {
		t.Fatalf("form body, same name: %v", got)
	}
	if got := call(t, sim, "conversations.create", slacksim.BotToken, url.Values{"name": {"Has Spaces"}}); got["error"] != "invalid_name_specials" {
		t.Fatalf("bad name: %v", got)
	}
	if got := call(t, sim, "chat.postMessage", slacksim.BotToken, url.Values{"channel": {"CNOPE"}, "text": {"x"}}); got["error"] != "channel_not_found" {
		t.Fatalf("missing channel: %v", got)
	}
	general, _ := sim.ChannelByNameID("general")
	if got := call(t, sim, "conversations.archive", slacksim.BotToken, url.Values{"channel": {general}}); got["ok"] != true {
		t.Fatalf("archive: %v", got)
	}
	if got := call(t, sim, "chat.postMessage", slacksim.BotToken, url.Values{"channel": {general}, "text": {"x"}}); got["error"] != "is_archived" {
		t.Fatalf("post to archived: %v", got)
	}
}

func call(t *testing.T, sim *slacksim.Server, method, token string, form url.Values) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("POST", sim.APIURL()+method, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return out
}
