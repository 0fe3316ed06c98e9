package main

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"strings"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/metrics"
)

// The internal listener (WARROOM_ADMIN_ADDR) serves what is for the team
// and nobody else: the postmortem drafts and /metrics. The public listener
// (WARROOM_ADDR) must be reachable by Slack and PagerDuty, so it serves only
// their endpoints and /healthz.
//
// Three guards, each against an attack a review made work:
//   - the Host header must be one of the listener's own names, so a web page
//     an employee opens cannot read it through DNS rebinding;
//   - beyond loopback, a bearer token (WARROOM_ADMIN_TOKEN) is required;
//   - nothing is cached (Cache-Control: no-store).

// adminHandler is the internal listener's handler.
func adminHandler(svc *incident.Service, mets *metrics.Metrics, c Config, hosts map[string]bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /incidents/{ref}/{file}", postmortemHandler(svc))
	mux.Handle("GET /metrics", mets.Handler(c.MetricsToken))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	// Go's profiler, for the team looking into a slow replica (behind the
	// same Host check and token as the rest).
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		if !hosts[strings.ToLower(r.Host)] {
			http.Error(w, "this is warroom's internal listener; it answers only to its own names (WARROOM_ADMIN_URL, WARROOM_ADMIN_HOSTS)", http.StatusMisdirectedRequest)
			return
		}
		// A separate metrics token (for a scraper that should read nothing
		// else) stands in for the admin token on /metrics, where the
		// metrics handler checks it.
		scrape := r.URL.Path == "/metrics" && c.MetricsToken != ""
		if c.AdminToken != "" && !scrape && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+c.AdminToken)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="warroom"`)
			http.Error(w, "warroom's internal pages need WARROOM_ADMIN_TOKEN as a bearer token", http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// adminHosts are the Host headers the internal listener answers to: the
// host of WARROOM_ADMIN_URL, WARROOM_ADMIN_HOSTS, and, on the listener's
// port, the loopback names. listen is the address actually bound.
func adminHosts(c Config, listen string) map[string]bool {
	hosts := map[string]bool{}
	_, port, _ := net.SplitHostPort(listen)
	for _, h := range []string{"localhost", "127.0.0.1", "[::1]"} {
		hosts[h+":"+port] = true
	}
	if host, _, err := net.SplitHostPort(listen); err == nil && host != "" && host != "0.0.0.0" && host != "::" {
		hosts[strings.ToLower(net.JoinHostPort(host, port))] = true
	}
	if u, err := url.Parse(c.adminURL()); err == nil && u.Host != "" {
		hosts[strings.ToLower(u.Host)] = true
		if u.Port() == "" {
			hosts[strings.ToLower(u.Hostname())] = true
		}
	}
	for _, h := range strings.Split(c.AdminHosts, ",") {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			hosts[h] = true
		}
	}
	return hosts
}

// loopback reports whether a listen address is reachable only from this
// machine.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkAdmin refuses an internal listener open beyond this machine without
// a token.
func (c Config) checkAdmin() error {
	if c.AdminAddr == "off" || loopback(c.AdminAddr) || c.AdminToken != "" {
		return nil
	}
	return fmt.Errorf("WARROOM_ADMIN_ADDR %s is reachable beyond this machine: set WARROOM_ADMIN_TOKEN, which it will then require as a bearer token, or bind it to 127.0.0.1", c.AdminAddr)
}
