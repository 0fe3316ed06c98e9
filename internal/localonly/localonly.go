// Package localonly keeps browsers out of servers meant for programs on
// this machine: the sandbox's Slack simulator and its mock PagerDuty and
// Jira. Their credentials are fixed and printed in the docs, so what guards
// them is who can reach them: a program on this machine, not a web page
// that an employee opens (a cross-site request, or a page that rebinds its
// own name to 127.0.0.1).
package localonly

import (
	"net"
	"net/http"
	"slices"
	"strings"
)

// IsLocalHost reports whether a Host header names this machine by
// loopback name or by IP address. A page that rebinds its own domain name
// to this machine always sends that name, so it is refused.
func IsLocalHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	return host == "localhost" || strings.HasSuffix(host, ".localhost") || net.ParseIP(host) != nil
}

// FromBrowser reports whether a request carries what only a browser sends
// with a request a page made: Origin (other than one of the origins a
// program is known to send), or the Fetch metadata headers. The Go clients
// of Slack's Web API, PagerDuty and Jira send neither; slack-go's Socket
// Mode dialer sends Origin https://api.slack.com, which no page can claim.
func FromBrowser(r *http.Request, programOrigins ...string) bool {
	if o := r.Header.Get("Origin"); o != "" && !slices.Contains(programOrigins, o) {
		return true
	}
	return r.Header.Get("Sec-Fetch-Site") != "" || r.Header.Get("Sec-Fetch-Mode") != ""
}

// Handler serves h only to programs on this machine: a request from a
// browser page, or under a Host that is not local, gets 403.
func Handler(h http.Handler, programOrigins ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if FromBrowser(r, programOrigins...) || !IsLocalHost(r.Host) {
			http.Error(w, "this simulated service answers only programs on this machine, not web pages", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}
