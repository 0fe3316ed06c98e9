// Package contract runs a vendor's own OpenAPI spec as a mock server
// (Stoplight Prism, `prism mock --errors`), so adapter tests send their
// real requests to something that refuses any request the vendor would
// refuse. Specs live in ../shared/specs/; prism comes from npm
// (@stoplight/prism-cli, installed by .ci/run). When either is missing a
// test skips saying what is missing, except under CI=true, where it fails.
package contract

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Spec returns the path of ../shared/specs/<file> from the module root.
func Spec(t testing.TB, file string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
	path := filepath.Join(dir, "..", "shared", "specs", file)
	if _, err := os.Stat(path); err != nil {
		missing(t, "the vendor spec "+path+" (the shared specs folder is not next to this clone)")
	}
	return path
}

func missing(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("contract test needs %s, and CI=true", what)
	}
	t.Skipf("skipping the contract test: it needs %s", what)
}

// prism finds the prism binary: $PRISM, then PATH, then the copy .ci/run installs.
func prism(t testing.TB) string {
	if p := os.Getenv("PRISM"); p != "" {
		return p
	}
	if p, err := exec.LookPath("prism"); err == nil {
		return p
	}
	home, _ := os.UserHomeDir()
	p := filepath.Join(home, ".cache", "warroom-tools", "node_modules", ".bin", "prism")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	missing(t, "prism (npm install --prefix ~/.cache/warroom-tools @stoplight/prism-cli@5, or set PRISM)")
	return ""
}

// Mock is a running prism mock server.
type Mock struct {
	URL string

	mu         sync.Mutex
	violations []string
	calls      []string
}

// Calls lists the requests sent, as "METHOD /path".
func (m *Mock) Calls() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.calls...)
}

// Start runs prism in mock mode for spec and returns it once it listens.
func Start(t testing.TB, spec string) *Mock {
	t.Helper()
	bin := prism(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "mock", "--errors", "-h", "127.0.0.1", "-p", fmt.Sprint(port), spec)
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting prism: %v", err)
	}
	var logMu sync.Mutex
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			logMu.Lock()
			log.WriteString(sc.Text() + "\n")
			logMu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			logMu.Lock()
			t.Logf("prism log:\n%s", log.String())
			logMu.Unlock()
		}
	})
	m := &Mock{URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("prism did not listen within 60s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Client returns an HTTP client that records prism's spec violations
// (its sl-violations header) and sends each request through rewrite first,
// if given (to map a v2 path onto the spec's v3 one, say).
func (m *Mock) Client(rewrite func(*http.Request)) *http.Client {
	return &http.Client{Timeout: 20 * time.Second, Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		if rewrite != nil {
			rewrite(r)
		}
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil {
			m.mu.Lock()
			sl := resp.Header.Get("sl-violations")
			if v := requestViolations(sl); v != "" {
				m.violations = append(m.violations, r.Method+" "+r.URL.Path+": "+v)
			} else if sl == "" && resp.StatusCode >= 400 {
				// (A 500 with only response violations is the mock failing to
				// make a valid example, not a request the vendor refuses.)
				m.violations = append(m.violations, fmt.Sprintf("%s %s: answered %s", r.Method, r.URL.Path, resp.Status))
			}
			m.calls = append(m.calls, r.Method+" "+r.URL.Path)
			m.mu.Unlock()
		}
		return resp, err
	})}
}

// Violations returns what prism found wrong with the requests so far.
func (m *Mock) Violations() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.violations...)
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// requestViolations keeps the violations prism found in the request; those
// it found in its own generated response say something about the mock, not
// about warroom.
func requestViolations(header string) string {
	if header == "" {
		return ""
	}
	var vs []struct {
		Location []string `json:"location"`
		Message  string   `json:"message"`
	}
	if err := json.Unmarshal([]byte(header), &vs); err != nil {
		return header
	}
	var out []string
	for _, v := range vs {
		if len(v.Location) > 0 && v.Location[0] == "request" {
			out = append(out, strings.Join(v.Location, ".")+": "+v.Message)
		}
	}
	return strings.Join(out, "; ")
}
