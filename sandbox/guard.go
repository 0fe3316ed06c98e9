package sandbox

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"html"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/warroom/warroom/internal/localonly"
)

// The console acts as any teammate in the simulated workspace, so it must
// answer only the person at the keyboard: not another site's page (a
// cross-site POST), not a page that rebinds its own name to this address
// (DNS rebinding), and not a script that never loaded the console's page.
// Three checks, on every request:
//
//   - Host is a name this console answers to: loopback, an IP literal (a
//     rebinding page always sends its own domain name), or a name it was
//     given with AllowHosts.
//   - A request a browser marks as cross-site (Origin or Sec-Fetch-Site)
//     is refused; a POST must be JSON, which no form can send.
//   - Every /api/ request carries the per-run token that only the console's
//     own page holds: the X-Warroom-Token header, or ?token= where a
//     browser cannot set headers (the live-update stream, file links).

// TokenHeader carries the console's per-run token.
const TokenHeader = "X-Warroom-Token"

// MaxStreams is how many live-update streams the console keeps open at
// once: a tab holds one, and a 503 tells a script opening more to stop.
const MaxStreams = 8

func newToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Token is this run's console token (tests use it as the page does).
func (c *Console) Token() string { return c.token }

// AllowHosts adds host names the console answers to besides loopback
// and IP literals: the name in --addr, the machine's own name.
func (c *Console) AllowHosts(names ...string) {
	for _, n := range names {
		if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
			c.hosts[n] = true
		}
	}
}

func (c *Console) hostAllowed(hostport string) bool {
	if localonly.IsLocalHost(hostport) {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	return c.hosts[strings.ToLower(strings.TrimSuffix(host, "."))]
}

// guard refuses what did not come from the console's own page; it returns
// false when it has answered.
func (c *Console) guard(w http.ResponseWriter, r *http.Request) bool {
	if !c.hostAllowed(r.Host) {
		writeJSON(w, http.StatusMisdirectedRequest, map[string]string{"error": r.Host + " is not this console's address. Open the address `warroom sandbox` printed."})
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r.Host) {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "cross-site request refused"})
		return false
	}
	if s := r.Header.Get("Sec-Fetch-Site"); s == "cross-site" || s == "same-site" {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "cross-site request refused"})
		return false
	}
	if !strings.HasPrefix(r.URL.Path, "/api/") {
		return true
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
			writeJSON(w, http.StatusUnsupportedMediaType, map[string]string{"error": "send JSON (Content-Type: application/json)"})
			return false
		}
	}
	got := r.Header.Get(TokenHeader)
	if got == "" {
		got = r.URL.Query().Get("token")
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(c.token)) != 1 {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "This page is from an earlier run of the sandbox, or not from the console at all. Reload the page."})
		return false
	}
	return true
}

func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && strings.EqualFold(u.Host, host)
}

// index serves the console's page with this run's token in it.
func (c *Console) index(w http.ResponseWriter, r *http.Request) {
	page, err := static.ReadFile("static/index.html")
	if err != nil {
		http.Error(w, "no page", http.StatusInternalServerError)
		return
	}
	page = bytes.Replace(page, []byte(`<meta name="warroom-token" content="">`),
		[]byte(`<meta name="warroom-token" content="`+html.EscapeString(c.token)+`">`), 1)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(page)
}
