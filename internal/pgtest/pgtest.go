// Package pgtest runs throwaway PostgreSQL servers for tests: initdb into a
// temporary directory, then postgres on a free port, so `go test ./...`
// needs no running service. Run as root (as CI does), the server runs as
// the postgres user, since PostgreSQL refuses root.
//
// Without the server binaries a test that needs one skips, saying what to
// install; under CI=true it fails instead.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// Bin finds the PostgreSQL server binaries: $WARROOM_PG_BIN, then the
// newest /usr/lib/postgresql/*/bin, then PATH.
func Bin() (string, error) {
	if d := os.Getenv("WARROOM_PG_BIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("no PostgreSQL server binaries (initdb, postgres): install them (Debian: apt-get install postgresql) or set WARROOM_PG_BIN")
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Need returns the server binaries' directory, or skips t saying what is
// missing (fails under CI=true).
func Need(t testing.TB) string {
	t.Helper()
	bin, err := Bin()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL test, and CI=true: %v", err)
		}
		t.Skipf("skipping the PostgreSQL test: %v", err)
	}
	return bin
}

// Server is one running PostgreSQL server.
type Server struct {
	Bin, Dir string
	Port     int
	cmd      *exec.Cmd
	exited   chan struct{}
	cred     *syscall.Credential
	dbs      atomic.Int64
	Settings []string // -c settings it was started with
}

// Options shape a server.
type Options struct {
	// Durable keeps fsync on, as a production server runs; tests that do
	// not measure durability run faster without it.
	Durable bool
	// Settings are more -c name=value settings.
	Settings []string
	// Dir is an existing data directory (a standby's) to start instead
	// of running initdb.
	Dir string
}

// Start runs initdb and starts a server, stopped when t ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	s, err := start(Need(t), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// StartServer runs initdb and starts a server outside a test (bench/load);
// the caller stops it.
func StartServer(o Options) (*Server, error) {
	bin, err := Bin()
	if err != nil {
		return nil, err
	}
	return start(bin, o)
}

// NewDatabase creates an empty database and returns its URL.
func (s *Server) NewDatabase(name string) (string, error) {
	if err := s.Exec("postgres", `CREATE DATABASE `+name); err != nil {
		return "", err
	}
	return s.URL(name), nil
}

var (
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
)

// Shared returns one server for the whole test binary, started on first
// use; Main stops it. Each caller gets a database of its own from NewDB.
func Shared(t testing.TB) *Server {
	t.Helper()
	bin := Need(t)
	sharedOnce.Do(func() { shared, sharedErr = start(bin, Options{}) })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// Main runs the tests, then stops the shared server. Call it from TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	return code
}

// Credential is who the server must run as: the postgres user when this
// process is root, else nobody else (nil).
func Credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and there is no postgres user to run PostgreSQL as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// MakeDir makes a directory the server's user owns, mode 0700.
func MakeDir(prefix string) (string, *syscall.Credential, error) {
	cred, err := Credential()
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return "", nil, err
		}
	}
	return dir, cred, nil
}

// Run runs one of the server's programs as the server's user.
func Run(bin string, cred *syscall.Credential, name string, args ...string) error {
	cmd := exec.Command(filepath.Join(bin, name), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", name, err, out)
	}
	return nil
}

func start(bin string, o Options) (*Server, error) {
	s := &Server{Bin: bin}
	var err error
	if o.Dir != "" {
		s.Dir = o.Dir
		if s.cred, err = Credential(); err != nil {
			return nil, err
		}
	} else {
		root, cred, err := MakeDir("warroom-pg-")
		if err != nil {
			return nil, err
		}
		s.Dir, s.cred = filepath.Join(root, "data"), cred
		if err := Run(bin, cred, "initdb", "-D", s.Dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C"); err != nil {
			os.RemoveAll(root)
			return nil, err
		}
	}
	settings := []string{"listen_addresses=127.0.0.1", "unix_socket_directories=" + s.Dir, "max_connections=200", "log_min_messages=fatal"}
	if !o.Durable {
		settings = append(settings, "fsync=off", "full_page_writes=off")
	}
	s.Settings = append(settings, o.Settings...)
	if err := s.run(); err != nil {
		return nil, err
	}
	return s, nil
}

// run starts postgres on a free port and waits until it answers.
func (s *Server) run() error {
	for attempt := 0; ; attempt++ {
		if s.Port == 0 || attempt > 0 {
			s.Port = freePort()
		}
		args := []string{"-D", s.Dir, "-p", strconv.Itoa(s.Port)}
		for _, c := range s.Settings {
			args = append(args, "-c", c)
		}
		s.cmd = exec.Command(filepath.Join(s.Bin, "postgres"), args...)
		s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Setpgid: true}
		s.cmd.Env = append(os.Environ(), "LC_ALL=C")
		logf, _ := os.Create(filepath.Join(filepath.Dir(s.Dir), fmt.Sprintf("postgres-%d.log", s.Port)))
		s.cmd.Stdout, s.cmd.Stderr = logf, logf
		if err := s.cmd.Start(); err != nil {
			return err
		}
		s.exited = make(chan struct{})
		go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(s.cmd, s.exited)
		if err := s.waitReady(30 * time.Second); err == nil {
			return nil
		} else if attempt >= 3 {
			return err
		}
		s.Kill()
	}
}

func (s *Server) waitReady(d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			log, _ := os.ReadFile(filepath.Join(filepath.Dir(s.Dir), fmt.Sprintf("postgres-%d.log", s.Port)))
			return fmt.Errorf("postgres exited at start:\n%s", log)
		default:
		}
		db, err := sql.Open("pgx", s.URL("postgres"))
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err = db.PingContext(ctx)
			cancel()
			db.Close()
			if err == nil {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("postgres on port %d did not answer within %s", s.Port, d)
}

// URL is the connection URL of database name on this server.
func (s *Server) URL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, name)
}

// NewDB creates an empty database and returns its URL.
func (s *Server) NewDB(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), s.dbs.Add(1))
	if err := s.Exec("postgres", `CREATE DATABASE `+name); err != nil {
		t.Fatal(err)
	}
	return s.URL(name)
}

// Exec runs SQL in database name.
func (s *Server) Exec(name, query string) error {
	db, err := sql.Open("pgx", s.URL(name))
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = db.ExecContext(ctx, query)
	return err
}

// Kill ends the server at once (SIGKILL to its process group, as a host
// that dies would), leaving its data directory.
func (s *Server) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
}

// Restart starts the server again on the same data directory and port.
func (s *Server) Restart() error {
	return s.run()
}

// Stop shuts the server down and removes its files.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGINT) // fast shutdown
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			s.Kill()
		}
	}
	if strings.Contains(s.Dir, "warroom-pg-") {
		os.RemoveAll(filepath.Dir(s.Dir))
	}
}

// freePort asks the kernel for a port that is free now.
func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 25432
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
