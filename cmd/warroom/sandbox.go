package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/warroom/warroom/sandbox"
	"github.com/warroom/warroom/slacksim"
	"github.com/warroom/warroom/store"
)

// sandboxCmd runs the whole product on this machine with no Slack
// workspace: a simulated workspace (slacksim), the real serve path pointed
// at it, and a web console (or, with --terminal, a terminal) in which you act
// as your teammates.
func sandboxCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	var c Config
	fs := newFlagSet("sandbox", &c, getenv, stderr, "log-level")
	// The sandbox keeps its own file and never reads WARROOM_DB: in a shell
	// set up for production, --reset must not delete production's
	// database, nor the sandbox deliver its pending work to the simulator.
	fs.StringVar(&c.DB, "db", "sandbox.db", "the sandbox's SQLite file (never WARROOM_DB)")
	addr := fs.String("addr", "localhost:8080", "where the console listens")
	statusAt := fs.String("status-addr", envOr(getenv, "WARROOM_STATUS_ADDR", "localhost:8081"), "where the sandbox's public status page listens [$WARROOM_STATUS_ADDR]")
	reset := fs.Bool("reset", false, "delete the sandbox's database and workspace first and start clean")
	scenarioName := fs.String("scenario", "", "preload a rehearsal: "+sandbox.ScenarioNames())
	transport := fs.String("transport", "http", "how the simulator delivers to the bot: http or socket")
	useTerminal := fs.Bool("terminal", false, "type in this terminal instead of the browser console")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var scenario *sandbox.Scenario
	if *scenarioName != "" {
		sc, ok := sandbox.Scenarios[*scenarioName]
		if !ok {
			return usageError(fmt.Sprintf("no scenario %q; there is: %s", *scenarioName, sandbox.ScenarioNames()))
		}
		scenario = &sc
	}
	if *transport != "http" && *transport != "socket" {
		return usageError("--transport is http or socket")
	}
	if store.IsPostgres(c.DB) {
		return usageError("the sandbox keeps its own SQLite file and never uses a shared database: --db sandbox.db")
	}
	if getenv("WARROOM_LOG_LEVEL") == "" {
		c.LogLevel = "warn" // keep the terminal for what matters
	}
	log := newLogger(c.LogLevel, stderr)
	workspaceFile, vendorsFile := c.DB+".slack.json", c.DB+".vendors.json"
	if _, err := os.Stat(c.DB); err == nil {
		// A database with no saved workspace beside it is not one the
		// sandbox made: it is not the sandbox's to use, let alone delete.
		if _, err := os.Stat(workspaceFile); err != nil {
			return fmt.Errorf("sandbox: %s was not made by the sandbox (there is no %s beside it), so it is neither used nor reset. Choose another file with --db, e.g. --db sandbox.db", c.DB, filepath.Base(workspaceFile))
		}
	}
	if *reset {
		for _, f := range []string{c.DB, c.DB + "-wal", c.DB + "-shm", workspaceFile, vendorsFile} {
			if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
	}

	secret := make([]byte, 16)
	rand.Read(secret)
	sim, err := slacksim.New(slacksim.Options{SigningSecret: hex.EncodeToString(secret)})
	if err != nil {
		return err
	}
	defer sim.Close()
	if f, err := os.Open(workspaceFile); err == nil {
		err = sim.Load(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("sandbox: %s is damaged (%v); start clean with --reset", workspaceFile, err)
		}
	}
	users := map[string]string{}
	for _, name := range []string{"alice", "bob", "carol"} {
		users[name] = sim.AddUser(name)
	}
	announce := sim.AddChannel("announcements", false)
	reports := sim.AddChannel("incident-reports", false)
	if scenario != nil {
		if err := scenario.Setup(sim); err != nil {
			return err
		}
		for _, name := range scenario.Teammates {
			users[name] = sim.AddUser(name)
		}
	}

	botAddr, err := freeLoopback()
	if err != nil {
		return err
	}
	// The status page's port is taken now, so a busy one is said at once,
	// and ":0" becomes a real port the console can link to.
	sln, err := net.Listen("tcp", *statusAt)
	if err != nil {
		return fmt.Errorf("sandbox: status page: %w (choose another with --status-addr localhost:8091)", err)
	}
	statusAddr := sln.Addr().String()
	statusURL := consoleURL(sln.Addr(), *statusAt)
	sln.Close()
	adminAddr, err := freeLoopback()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "warroom-sandbox")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	env := map[string]string{
		"SLACK_BOT_TOKEN": slacksim.BotToken, "SLACK_API_URL": sim.APIURL(), "WARROOM_DB": c.DB,
		"WARROOM_ADDR": botAddr, "WARROOM_ANNOUNCE_CHANNEL": announce, "WARROOM_LOG_LEVEL": c.LogLevel,
		"WARROOM_STATUS_ADDR": statusAddr, "WARROOM_STATUS_URL": statusURL, "WARROOM_STATUS_TITLE": "Sandbox status",
		"WARROOM_ADMIN_ADDR": adminAddr, "WARROOM_ADMIN_URL": "http://" + adminAddr,
		// The document stage shows itself: a draft at resolve, the weekly
		// report in #incident-reports, Jira read back every 3 seconds.
		"WARROOM_POSTMORTEM_ON_RESOLVE": "true", "WARROOM_REPORT_CHANNEL": reports, "JIRA_SYNC_EVERY": "3s",
	}
	// Mock PagerDuty and Jira, so paging, on-call commanders and issues work
	// here as they would with the real ones.
	names, onCall := []string{"alice", "bob", "carol"}, "carol"
	if scenario != nil {
		onCall = scenario.Teammates[0] // as its brief says
	}
	vendors := newSandboxVendors(names, onCall)
	defer vendors.close()
	if err := vendors.load(vendorsFile); err != nil {
		return err
	}
	vendors.botURL = "http://" + botAddr
	for k, v := range vendors.env() {
		env[k] = v
	}
	// Checklists, so a team sees them without writing any: a short one
	// for every incident, or the rehearsal's own.
	lists := sandboxChecklists
	// The team's time zone and timeline emoji, to try them here.
	for _, k := range []string{"WARROOM_TIMEZONE", "WARROOM_TIMELINE_EMOJI"} {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			env[k] = v
		}
	}
	if scenario != nil {
		env["WARROOM_STATUS_COMPONENTS"] = strings.Join(scenario.Components, ",")
		if scenario.Checklists != "" {
			lists = scenario.Checklists
		}
		if card := scenario.Service; card.Name != "" {
			vendors.addService(card, scenario.Severity)
			services, _ := json.Marshal(vendors.services)
			env["PAGERDUTY_SERVICES"] = string(services)
		}
	}
	listDir := filepath.Join(dir, "checklists")
	if err := os.MkdirAll(listDir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(listDir, "sandbox.yaml"), []byte(lists), 0o600); err != nil {
		return err
	}
	env["WARROOM_CHECKLISTS"] = listDir
	if *transport == "http" {
		env["SLACK_SIGNING_SECRET"] = hex.EncodeToString(secret)
		sim.SetBotURL("http://" + botAddr)
	} else {
		ca := filepath.Join(dir, "slacksim-ca.pem")
		if err := os.WriteFile(ca, sim.SocketCACertPEM(), 0o600); err != nil {
			return err
		}
		env["SLACK_APP_TOKEN"], env["SLACK_CA_FILE"] = slacksim.AppToken, ca
	}

	// The saved workspace marks the database as the sandbox's from the start.
	saveWorkspace(sim, workspaceFile, log)
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	var served chan error
	var serveExited chan struct{}
	for attempt := 1; ; attempt++ {
		served, serveExited = make(chan error, 1), make(chan struct{})
		go func(served chan error, exited chan struct{}) {
			served <- serveCmd(sctx, nil, io.Discard, stderr, func(k string) string { return env[k] })
			close(exited)
		}(served, serveExited)
		err := waitHealthy(ctx, "http://"+botAddr+"/healthz", served)
		if err == nil {
			break
		}
		// The ports picked for the bot and its internal listener (and the
		// status page's, when asked for ":0") were free when picked, but
		// another process may take one before serve binds it: pick again.
		if errors.Is(err, syscall.EADDRINUSE) && attempt < 4 {
			<-serveExited
			if botAddr, err = freeLoopback(); err != nil {
				return err
			}
			if adminAddr, err = freeLoopback(); err != nil {
				return err
			}
			if _, port, _ := net.SplitHostPort(*statusAt); port == "0" {
				if sln, err := net.Listen("tcp", *statusAt); err == nil {
					statusAddr, statusURL = sln.Addr().String(), consoleURL(sln.Addr(), *statusAt)
					sln.Close()
				}
			}
			env["WARROOM_ADDR"], env["WARROOM_ADMIN_ADDR"], env["WARROOM_ADMIN_URL"] = botAddr, adminAddr, "http://"+adminAddr
			env["WARROOM_STATUS_ADDR"], env["WARROOM_STATUS_URL"] = statusAddr, statusURL
			vendors.botURL = "http://" + botAddr
			if *transport == "http" {
				sim.SetBotURL("http://" + botAddr)
			}
			log.Info("sandbox: a port was taken meanwhile; trying others", "attempt", attempt)
			continue
		}
		// serve may still be starting: it must be gone before the
		// sandbox returns, or it writes files nobody expects any more.
		stop()
		<-serveExited
		return err
	}
	for i := 0; *transport == "socket" && sim.Connected() == 0; i++ {
		if i > 500 {
			return fmt.Errorf("sandbox: the bot did not connect over Socket Mode")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Both keepers are waited for: one still saving after the sandbox
	// returned left a temporary file behind (a flake of the tests' cleanup).
	workspaceKept, vendorsKept := make(chan struct{}), make(chan struct{})
	go func() { keepWorkspace(sctx, sim, workspaceFile, log); close(workspaceKept) }()
	go func() { vendors.keep(sctx, vendorsFile, log); close(vendorsKept) }()
	defer func() { stop(); <-workspaceKept; <-vendorsKept }()
	defer saveWorkspace(sim, workspaceFile, log)
	if scenario != nil {
		go func() {
			if err := scenario.Play(sctx, sim); err != nil {
				log.Warn("scenario stopped", "err", err)
			}
		}()
	}

	if *useTerminal {
		return runTerminal(ctx, sim, users, stdin, stdout, c.DB, statusURL, stop, served)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("sandbox: %w (choose another with --addr localhost:8090)", err)
	}
	links := []sandbox.Link{
		{Title: "Public status page", URL: statusURL + "/"},
		{Title: "Status JSON (summary.json)", URL: statusURL + "/api/v2/summary.json"},
		{Title: "Bot health (/healthz)", URL: "http://" + botAddr + "/healthz"},
		{Title: "Metrics (internal)", URL: "http://" + adminAddr + "/metrics"},
	}
	cons := sandbox.NewConsole(sim, links, log)
	cons.UseVendors(vendors)
	cons.UseTimelineEmoji(env["WARROOM_TIMELINE_EMOJI"])
	// Beyond loopback and IP addresses, the console answers only to the
	// name it was asked to listen on (and this machine's, when it listens
	// on all), so a page rebinding its own name here is refused.
	if host, _, _ := net.SplitHostPort(*addr); host == "" || host == "0.0.0.0" || host == "::" {
		name, _ := os.Hostname()
		cons.AllowHosts(name)
	} else {
		cons.AllowHosts(host)
	}
	// No write timeout: the console's live updates are one long response.
	console := &http.Server{Handler: cons, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	go console.Serve(ln)
	defer console.Close()
	if !loopback(ln.Addr().String()) {
		fmt.Fprintf(stderr, "warning: the console listens on %s, beyond this machine: it has no login, so anyone who can reach it acts as any teammate. For yourself alone: --addr localhost:8080\n", ln.Addr())
	}
	fmt.Fprintf(stdout, "sandbox ready: open %s (status page: %s)\n", consoleURL(ln.Addr(), *addr), statusURL)
	select {
	case <-ctx.Done():
		stop()
		return <-served
	case err := <-served:
		return err
	}
}

// consoleURL is the address to open: "localhost" unless a host was named.
func consoleURL(a net.Addr, asked string) string {
	host, _, _ := net.SplitHostPort(asked)
	_, port, _ := net.SplitHostPort(a.String())
	return listenURL(net.JoinHostPort(host, port))
}

// freeLoopback picks a loopback port that is free now (a variable, so a
// test can hand out a taken one).
var freeLoopback = func() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// keepWorkspace saves the simulated workspace shortly after each change, so
// the sandbox's channels survive a restart as its incidents do.
func keepWorkspace(ctx context.Context, sim *slacksim.Server, path string, log *slog.Logger) {
	changes, stop := sim.Changes()
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-changes:
			time.Sleep(500 * time.Millisecond)
			saveWorkspace(sim, path, log)
		}
	}
}

func saveWorkspace(sim *slacksim.Server, path string, log *slog.Logger) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600) // private channels' messages are in it
	if err == nil {
		err = sim.Save(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		log.Warn("sandbox: could not save the workspace", "path", path, "err", err)
	}
}

// runTerminal is the sandbox without a browser: lines typed here are sent
// as the chosen teammate, and what they would see is printed.
func runTerminal(ctx context.Context, sim *slacksim.Server, users map[string]string, stdin io.Reader, stdout io.Writer, db, statusURL string, stop func(), served <-chan error) error {
	t := &terminal{sim: sim, out: stdout, users: users, user: "alice", printed: map[string]int{}}
	t.channel, _ = sim.ChannelByNameID("general")
	msgs, unsubscribe := sim.Subscribe()
	defer unsubscribe()
	go func() {
		for m := range msgs {
			t.show(m)
		}
	}()
	fmt.Fprintf(stdout, "sandbox ready: status page %s, database %s\n", statusURL, db)
	fmt.Fprintln(stdout, "You are @alice in #general. Type /incident help, or: as bob | in <channel> | channels | quit")
	t.prompt()

	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for {
		select {
		case <-ctx.Done():
			stop()
			return <-served
		case err := <-served:
			return err
		case line, ok := <-lines:
			if !ok || strings.TrimSpace(line) == "quit" {
				time.Sleep(300 * time.Millisecond) // let replies to the last command arrive
				stop()
				return <-served
			}
			t.handle(ctx, line)
		}
	}
}

// healthClient asks /healthz with a timeout: a port taken by another
// process may accept and never answer.
var healthClient = &http.Client{Timeout: time.Second}

func waitHealthy(ctx context.Context, url string, served <-chan error) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-served:
			if err == nil {
				err = fmt.Errorf("sandbox: the bot stopped at start")
			}
			return err
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if resp, err := healthClient.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("sandbox: the bot did not become healthy within 15s")
}

// terminal is the sandbox's chat window: it types as a teammate and prints
// what that teammate would see.
type terminal struct {
	sim     *slacksim.Server
	out     io.Writer
	mu      sync.Mutex
	users   map[string]string
	user    string         // name
	channel string         // ID
	printed map[string]int // message ts -> edits already shown
}

func (t *terminal) handle(ctx context.Context, line string) {
	line = strings.TrimSpace(line)
	switch {
	case line == "":
	case strings.HasPrefix(line, "as "):
		name := strings.TrimPrefix(strings.TrimSpace(line[3:]), "@")
		if _, ok := t.users[name]; !ok {
			fmt.Fprintf(t.out, "no teammate %q; try %s\n", name, strings.Join(t.names(), ", "))
			break
		}
		t.mu.Lock()
		t.user = name
		t.mu.Unlock()
	case strings.HasPrefix(line, "in "):
		name := strings.TrimPrefix(strings.TrimSpace(line[3:]), "#")
		ch, ok := t.sim.ChannelByName(name)
		if !ok {
			fmt.Fprintf(t.out, "no channel #%s; type channels to list them\n", name)
			break
		}
		t.mu.Lock()
		t.channel = ch.ID
		t.mu.Unlock()
	case line == "channels":
		for _, ch := range t.sim.Channels() {
			state := ""
			if ch.Archived {
				state = " (archived)"
			}
			fmt.Fprintf(t.out, "#%s%s — %s\n", ch.Name, state, t.readable(ch.Topic))
		}
	case strings.HasPrefix(line, "/incident"):
		t.mu.Lock()
		user, channel := t.users[t.user], t.channel
		t.mu.Unlock()
		text := t.escape(strings.TrimSpace(strings.TrimPrefix(line, "/incident")))
		if _, err := t.sim.SlashCommand(ctx, user, channel, text); err != nil {
			fmt.Fprintln(t.out, "slack could not deliver that:", err)
		}
		time.Sleep(150 * time.Millisecond) // let the room catch up before the prompt
	default:
		fmt.Fprintln(t.out, "type /incident <command>, as <name>, in <channel>, channels or quit")
	}
	t.prompt()
}

func (t *terminal) names() []string {
	var out []string
	for n := range t.users {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (t *terminal) prompt() {
	t.mu.Lock()
	defer t.mu.Unlock()
	ch, _ := t.sim.Channel(t.channel)
	fmt.Fprintf(t.out, "@%s in #%s> ", t.user, ch.Name)
}

// show prints a message if the current teammate can see it.
func (t *terminal) show(m slacksim.Message) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if m.Ephemeral && m.To != t.users[t.user] {
		return
	}
	edits, seen := t.printed[m.TS]
	if seen && edits == m.Edits {
		return
	}
	t.printed[m.TS] = m.Edits
	ch, _ := t.sim.Channel(m.Channel)
	label := "warroom"
	switch {
	case m.Ephemeral:
		label = "warroom (only you)"
	case seen:
		label = "warroom (summary updated)"
	}
	fmt.Fprintf(t.out, "\n[#%s] %s: %s\n", ch.Name, label, t.readable(m.Text))
}

// readable shows <@U..> mentions as @name and <#C..> links as #name, the
// way Slack renders them.
func (t *terminal) readable(s string) string {
	for name, id := range t.users {
		s = strings.ReplaceAll(s, "<@"+id+">", "@"+name)
		s = strings.ReplaceAll(s, "<@"+id+"|"+name+">", "@"+name)
	}
	for _, ch := range t.sim.Channels() {
		s = strings.ReplaceAll(s, "<#"+ch.ID+">", "#"+ch.Name)
	}
	return s
}

// atName is an @name as typed in the terminal.
var atName = regexp.MustCompile(`(^|\s)@([a-z0-9._-]+)`)

// escape does what Slack does to a command typed with should_escape on:
// @name of a known teammate becomes <@ID|name>.
func (t *terminal) escape(text string) string {
	return atName.ReplaceAllStringFunc(text, func(m string) string {
		lead, name, _ := strings.Cut(m, "@")
		if id, ok := t.users[name]; ok {
			return lead + "<@" + id + "|" + name + ">"
		}
		return m
	})
}

// sandboxChecklists is the plain sandbox's checklist: enough to see steps
// ticked by hand and by warroom.
const sandboxChecklists = `default:
  - {stage: assess, text: Confirm the impact from a second source}
  - {stage: assess, text: Name the commander, done_when: commander_named}
  - {stage: communicate, text: Publish the first public update, done_when: first_public_update}
  - {stage: respond, text: Say what the cause is, done_when: identified}
  - {stage: document, text: Write the postmortem draft, done_when: postmortem_written}
`
