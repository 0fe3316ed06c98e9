// Package slacksim plays a Slack workspace over real HTTP and a real
// websocket, so warroom can be tested and tried without Slack.
//
// It serves the Web API methods warroom calls (under /api/, reached through
// slack-go's OptionAPIURL), answers them the way Slack does, including its
// errors and 429 rate limits, hosts Socket Mode on a TLS websocket, hosts
// response_url endpoints, and signs and delivers slash commands and
// interactions to a bot's HTTP endpoints. The end-to-end tests and the
// sandbox use this one package; of warroom's own packages it imports only
// internal/mrkdwn, Slack's text escaping.
package slacksim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/warroom/warroom/internal/localonly"
)

// Tokens and identities of the simulated workspace and its one app.
const (
	TeamID    = "T0SIM0001"
	TeamName  = "warroom-sim"
	AppID     = "A0SIM0001"
	BotUserID = "U0BOT0001"
	BotID     = "B0BOT0001"
	BotToken  = "xoxb-sim-bot-token"
	// AdminUserID is who made the channels a test or scenario adds.
	AdminUserID = "U0ADMIN001"
	AppToken    = "xapp-sim-app-token"
	Command     = "/incident"
)

// User is a member of the workspace.
type User struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	RealName string `json:"real_name"`
	TZ       string `json:"tz"`
	IsBot    bool   `json:"is_bot"`
	Email    string `json:"email"` // <name>@example.com
}

// Channel is a conversation, as the simulator holds it.
type Channel struct {
	ID       string
	Name     string
	Topic    string
	Purpose  string
	Private  bool
	Archived bool
	Creator  string
	Created  time.Time
	Members  []string // user IDs, in join order
	Pins     []string // message timestamps
}

// Message is one message, visible to all members or (Ephemeral) only to To.
type Message struct {
	Channel   string
	TS        string
	User      string // who posted it
	Text      string
	Blocks    json.RawMessage
	Ephemeral bool
	To        string          // the only viewer of an ephemeral message
	Edits     int             // how many times chat.update changed it
	Files     json.RawMessage // files shared with the message
	// ThreadTS is the thread's first message, for a reply in a thread.
	ThreadTS string `json:",omitempty"`
	// Reactions are the emoji on the message and who added each.
	Reactions map[string][]string `json:",omitempty"`
	Deleted   bool                `json:",omitempty"`
	Metadata  json.RawMessage     // the app's message metadata (event_type, event_payload), if any
	// Source says how it arrived: "api", "response_url", "command_response".
	Source string
}

// View is a modal the bot opened.
type View struct {
	ID      string
	User    string
	Trigger string
	Body    json.RawMessage // the view as the bot sent it (views.open, or a response_action "update")
	Closed  bool
	// Updates counts the times the bot replaced the view in answer to a
	// submission (response_action "update"), as Slack does in place.
	Updates int
}

// Call is one Web API request the simulator answered.
type Call struct {
	Method string
	Params map[string]string
	Error  string // "" when ok
	Status int
}

// SocketOrigin is the Origin slack-go's Socket Mode client sends; the
// simulator's websocket takes no other, so no web page can connect to it.
const SocketOrigin = "https://api.slack.com"

// Options configure a Server.
type Options struct {
	// SigningSecret signs what the simulator delivers over HTTP.
	SigningSecret string
	// BotURL is the base URL of the bot's HTTP endpoints (/slack/commands, ...).
	// Empty when the bot uses Socket Mode.
	BotURL string
	// Addr is where to listen for the Web API; default 127.0.0.1:0.
	Addr string
	// PingInterval is how often Socket Mode connections are pinged; default 5s.
	PingInterval time.Duration
}

// Server is a simulated Slack workspace.
type Server struct {
	opts   Options
	api    *httptest.Server
	socket *httptest.Server
	client *http.Client

	files     map[string]*File
	fileOrder []string
	mu        sync.Mutex
	users     map[string]*User
	channels  map[string]*Channel
	messages  []*Message
	views     []*View
	calls     []Call
	triggers  map[string]trigger
	responses map[string]*responseURL
	limits    map[string]*fault
	faults    map[string]*fault
	// serverErrors answer HTTP 500; slow calls take effect but answer late.
	serverErrors map[string]*fault
	slow         map[string]*fault
	seq          int
	ts           int64
	conns        []*socketConn
	envelopes    map[string]chan json.RawMessage
	protoErrs    []string
	subs         []chan Message
	watchers     []chan struct{}
}

type trigger struct {
	user    string
	expires time.Time
	used    bool
}

type responseURL struct {
	user, channel string
	uses          int
	expires       time.Time
}

type fault struct {
	remaining  int
	retryAfter time.Duration
	err        string
}

// New starts a simulator. Close it when done.
func New(opts Options) (*Server, error) {
	if opts.PingInterval == 0 {
		opts.PingInterval = 5 * time.Second
	}
	s := &Server{
		opts:         opts,
		users:        map[string]*User{},
		channels:     map[string]*Channel{},
		triggers:     map[string]trigger{},
		responses:    map[string]*responseURL{},
		limits:       map[string]*fault{},
		faults:       map[string]*fault{},
		serverErrors: map[string]*fault{}, slow: map[string]*fault{},
		envelopes: map[string]chan json.RawMessage{},
		ts:        time.Now().Unix() * 1_000_000,
	}
	s.users[BotUserID] = &User{ID: BotUserID, Name: "warroom", RealName: "warroom", TZ: "UTC", IsBot: true}

	mux := http.NewServeMux()
	mux.HandleFunc("/api/{method}", s.serveAPI)
	mux.HandleFunc("POST /response/{id}", s.serveResponseURL)
	mux.HandleFunc("POST /upload/{id}", s.serveUpload)
	s.api = httptest.NewUnstartedServer(localonly.Handler(mux))
	if opts.Addr != "" {
		l, err := net.Listen("tcp", opts.Addr)
		if err != nil {
			return nil, fmt.Errorf("slacksim: listen %s: %w", opts.Addr, err)
		}
		s.api.Listener.Close()
		s.api.Listener = l
	}
	s.api.Start()

	s.socket = httptest.NewUnstartedServer(localonly.Handler(http.HandlerFunc(s.serveSocket), SocketOrigin))
	s.socket.StartTLS()
	s.client = &http.Client{Timeout: 10 * time.Second}
	s.AddChannel("general", false)
	return s, nil
}

// Close stops the simulator and drops every Socket Mode connection.
func (s *Server) Close() {
	s.mu.Lock()
	conns := append([]*socketConn(nil), s.conns...)
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	s.socket.CloseClientConnections()
	s.socket.Close()
	s.api.CloseClientConnections()
	s.api.Close()
}

// APIURL is the Web API base URL, for slack.OptionAPIURL (ends in "/").
func (s *Server) APIURL() string { return s.api.URL + "/api/" }

// URL is the simulator's base URL.
func (s *Server) URL() string { return s.api.URL }

// SetBotURL changes where HTTP deliveries go ("" for Socket Mode).
func (s *Server) SetBotURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.BotURL = u
}

// SocketCACertPEM is the certificate the Socket Mode websocket presents.
// A bot that connects to it must trust it (SLACK_CA_FILE).
func (s *Server) SocketCACertPEM() []byte { return certPEM(s.socket.Certificate()) }

// AddUser adds a person to the workspace and returns their user ID.
func (s *Server) AddUser(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.Name == name {
			return u.ID
		}
	}
	s.seq++
	id := fmt.Sprintf("U%08d", s.seq)
	s.users[id] = &User{ID: id, Name: name, RealName: strings.ToUpper(name[:1]) + name[1:], TZ: "Europe/London", Email: name + "@example.com"}
	for _, ch := range s.channels {
		if ch.Name == "general" {
			ch.Members = append(ch.Members, id)
		}
	}
	return id
}

// Users lists the people of the workspace (without the bot), by name.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []User
	for _, u := range s.users {
		if !u.IsBot {
			out = append(out, *u)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// AddChannel creates a channel the bot is a member of and returns its ID.
func (s *Server) AddChannel(name string, private bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := s.byNameLocked(name); ch != nil {
		return ch.ID
	}
	ch := s.newChannelLocked(name, private, BotUserID)
	ch.Creator = AdminUserID // people made it; the bot is only in it
	for _, u := range s.users {
		if !u.IsBot {
			ch.Members = append(ch.Members, u.ID)
		}
	}
	return ch.ID
}

func (s *Server) newChannelLocked(name string, private bool, creator string) *Channel {
	s.seq++
	prefix := "C"
	if private {
		prefix = "G"
	}
	ch := &Channel{ID: fmt.Sprintf("%s%08d", prefix, s.seq), Name: name, Private: private, Creator: creator, Created: time.Now(), Members: []string{creator}}
	s.channels[ch.ID] = ch
	return ch
}

func (s *Server) byNameLocked(name string) *Channel {
	for _, ch := range s.channels {
		if ch.Name == name {
			return ch
		}
	}
	return nil
}

// ChannelByName returns a copy of the named channel.
func (s *Server) ChannelByName(name string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.byNameLocked(strings.TrimPrefix(name, "#"))
	if ch == nil {
		return Channel{}, false
	}
	return copyChannel(ch), true
}

// Channel returns a copy of the channel with that ID.
func (s *Server) Channel(id string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[id]
	if !ok {
		return Channel{}, false
	}
	return copyChannel(ch), true
}

// Channels lists every channel, oldest first.
func (s *Server) Channels() []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Channel, 0, len(s.channels))
	for _, ch := range s.channels {
		out = append(out, copyChannel(ch))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func copyChannel(ch *Channel) Channel {
	c := *ch
	c.Members = append([]string(nil), ch.Members...)
	c.Pins = append([]string(nil), ch.Pins...)
	return c
}

// Messages returns the channel's messages in order, ephemeral ones included.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages {
		if m.Channel == channel {
			out = append(out, *m)
		}
	}
	return out
}

// Ephemerals returns what only user saw, in order.
func (s *Server) Ephemerals(user string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages {
		if m.Ephemeral && m.To == user {
			out = append(out, *m)
		}
	}
	return out
}

// Views lists the modals the bot opened.
func (s *Server) Views() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]View, len(s.views))
	for i, v := range s.views {
		out[i] = *v
	}
	return out
}

// Calls lists the Web API calls answered so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// ProtocolErrors lists what the bot got wrong on the wire (bad acks, ...).
func (s *Server) ProtocolErrors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.protoErrs...)
}

// RateLimit makes the next n calls of method answer 429 with Retry-After.
func (s *Server) RateLimit(method string, n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits[method] = &fault{remaining: n, retryAfter: retryAfter}
}

// ServerError makes the next n calls of method answer HTTP 500 without
// doing anything.
func (s *Server) ServerError(method string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.serverErrors[method] = &fault{remaining: n}
}

// Slow makes the next n calls of method take effect at once but answer
// only after d: past a client's timeout, the answer is lost.
func (s *Server) Slow(method string, d time.Duration, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slow[method] = &fault{remaining: n, retryAfter: d}
}

// Fail makes the next n calls of method answer {"ok":false,"error":err}.
func (s *Server) Fail(method, err string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[method] = &fault{remaining: n, err: err}
}

// Subscribe returns a channel that receives every message posted or
// updated from now on, until stop is called.
func (s *Server) Subscribe() (msgs <-chan Message, stop func()) {
	ch := make(chan Message, 256)
	s.mu.Lock()
	s.subs = append(s.subs, ch)
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, c := range s.subs {
			if c == ch {
				s.subs = append(s.subs[:i], s.subs[i+1:]...)
				close(ch)
				return
			}
		}
	}
}

func (s *Server) publishLocked(m *Message) {
	s.changedLocked()
	for _, ch := range s.subs {
		select {
		case ch <- *m:
		default: // a slow reader misses updates rather than blocking Slack
		}
	}
}

// nextTSLocked is a new message timestamp: the time now in microseconds,
// as Slack's are, kept unique and increasing.
func (s *Server) nextTSLocked() string {
	s.ts = max(s.ts+1, time.Now().UnixMicro())
	return fmt.Sprintf("%d.%06d", s.ts/1_000_000, s.ts%1_000_000)
}

func (s *Server) addMessageLocked(m *Message) *Message {
	m.TS = s.nextTSLocked()
	s.messages = append(s.messages, m)
	s.publishLocked(m)
	return m
}

func (s *Server) newTriggerLocked(user string) string {
	id := randomID(12)
	s.triggers[id] = trigger{user: user, expires: time.Now().Add(3 * time.Second)}
	return id
}

func (s *Server) newResponseURLLocked(user, channel string) string {
	id := randomID(16)
	s.responses[id] = &responseURL{user: user, channel: channel, expires: time.Now().Add(30 * time.Minute)}
	return s.api.URL + "/response/" + id
}

func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ChannelByNameID returns the ID of the named channel.
func (s *Server) ChannelByNameID(name string) (string, bool) {
	ch, ok := s.ChannelByName(name)
	return ch.ID, ok
}

// AllUsers lists everyone, integrations included, by name.
func (s *Server) AllUsers() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, *u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
