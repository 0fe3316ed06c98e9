package slacksim_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/warroom/warroom/slacksim"
	"github.com/warroom/warroom/vendorsim"
)

// TestWebPagesCannotReachTheSimulators replays the review's attack on the
// sandbox: the simulated Slack's token is a published constant, so a page
// on another site posted as the bot (a no-cors form POST) and a page
// rebinding its name to 127.0.0.1 read a private room. The simulator and
// the mock vendors now answer only programs on this machine.
func TestWebPagesCannotReachTheSimulators(t *testing.T) {
	sim, err := slacksim.New(slacksim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	secret := sim.AddChannel("inc-2-secret", true)
	sim.PostAs(slacksim.BotUserID, secret, "the db password is hunter2")
	general, _ := sim.ChannelByNameID("general")
	jira, pd := vendorsim.NewJira("u", "t", "OPS"), vendorsim.NewPagerDuty("t")
	defer jira.Close()
	defer pd.Close()

	send := func(target string, form url.Values, h map[string]string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range h {
			if k == "Host" {
				req.Host = v
			} else {
				req.Header.Set(k, v)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		return resp.StatusCode, b.String()
	}
	post := url.Values{"token": {slacksim.BotToken}, "channel": {general}, "text": {"all clear, close INC-1"}}
	history := url.Values{"token": {slacksim.BotToken}, "channel": {secret}}
	// What Chromium sends with a no-cors fetch from another site.
	crossSite := map[string]string{"Origin": "http://cats.example", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}
	if code, body := send(sim.APIURL()+"chat.postMessage", post, crossSite); code != 403 || strings.Contains(body, `"ok":true`) {
		t.Errorf("another site's page posting as the bot: %d %s", code, body)
	}
	if code, body := send(sim.APIURL()+"conversations.history", history, map[string]string{"Host": "rebound.example:80"}); code != 403 || strings.Contains(body, "hunter2") {
		t.Errorf("a rebound name reading a private room: %d %s", code, body)
	}
	for _, m := range sim.Messages(general) {
		if strings.Contains(m.Text, "all clear") {
			t.Errorf("the forged post landed in #general")
		}
	}
	for _, target := range []string{jira.URL() + "/rest/api/3/search", pd.URL() + "/oncalls"} {
		if code, _ := send(target, nil, crossSite); code != 403 {
			t.Errorf("a web page reaching %s: %d", target, code)
		}
	}
	// Nor can a page open the Socket Mode websocket (websockets are not
	// bound by CORS): only slack-go's Origin is taken.
	var opened struct{ URL string }
	code, body := send(sim.APIURL()+"apps.connections.open", url.Values{"token": {slacksim.AppToken}}, nil)
	if json.Unmarshal([]byte(body), &opened); code != 200 || opened.URL == "" {
		t.Fatalf("apps.connections.open: %d %s", code, body)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(sim.SocketCACertPEM())
	dialer := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool}}
	for origin, want := range map[string]int{"http://cats.example": 403, slacksim.SocketOrigin: 101} {
		conn, resp, err := dialer.Dial(opened.URL, http.Header{"Origin": {origin}})
		if conn != nil {
			conn.Close()
		}
		if resp == nil || resp.StatusCode != want {
			t.Errorf("websocket with Origin %s: %v %v, want %d", origin, resp, err, want)
		}
		// Each ticket is good once: get another.
		_, body = send(sim.APIURL()+"apps.connections.open", url.Values{"token": {slacksim.AppToken}}, nil)
		json.Unmarshal([]byte(body), &opened)
	}
	// Programs on this machine, as the bot is, still get in.
	if code, body := send(sim.APIURL()+"conversations.history", history, nil); code != 200 || !strings.Contains(body, "hunter2") {
		t.Errorf("the bot reading history: %d %s", code, body)
	}
}
