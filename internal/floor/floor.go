// Package floor is the baseline warroom's command handling is measured
// against: the least a Slack command endpoint can do durably — verify the
// signature and insert one row — with warroom's SQLite settings. The
// benchmarks and bench/load use it, so both measure the same floor.
package floor

import (
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/slack-go/slack"

	"github.com/warroom/warroom/store"
)

// Server is a running floor.
type Server struct {
	Addr string // host:port; commands go to http://Addr/slack/commands
	db   *sql.DB
	srv  *http.Server
}

// Start opens (creating) the SQLite file at path and serves the floor on
// a free loopback port, checking signatures made with secret.
func Start(path, secret string) (*Server, error) {
	db, err := sql.Open("sqlite", store.DSN(path, true))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY, at TEXT, actor TEXT, channel TEXT, raw TEXT)`); err != nil {
		db.Close()
		return nil, err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		sv, err := slack.NewSecretsVerifier(r.Header, secret)
		if err == nil {
			sv.Write(body)
			err = sv.Ensure()
		}
		if err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		f, _ := url.ParseQuery(string(body))
		if _, err := db.Exec(`INSERT INTO log (at, actor, channel, raw) VALUES (?, ?, ?, ?)`, time.Now().UTC().Format(time.RFC3339Nano), f.Get("user_id"), f.Get("channel_id"), f.Get("text")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, `{"response_type":"ephemeral","text":"ok"}`)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &Server{Addr: ln.Addr().String(), db: db, srv: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server and closes the database.
func (s *Server) Close() error {
	s.srv.Close()
	return s.db.Close()
}
