package slacksim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

type socketConn struct {
	ws   *websocket.Conn
	wmu  sync.Mutex
	done chan struct{}
	once sync.Once
}

func (c *socketConn) write(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteJSON(v)
}

func (c *socketConn) close() {
	c.once.Do(func() {
		close(c.done)
		c.wmu.Lock()
		c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "bye"), time.Now().Add(time.Second))
		c.wmu.Unlock()
		c.ws.Close()
	})
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// serveSocket is the Socket Mode websocket: hello, pings, envelopes out, acks in.
func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("ticket") == "" {
		http.Error(w, "missing ticket", http.StatusUnauthorized)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &socketConn{ws: ws, done: make(chan struct{})}
	s.mu.Lock()
	s.conns = append(s.conns, c)
	n := len(s.conns)
	s.mu.Unlock()
	defer s.dropConn(c)

	c.write(map[string]any{"type": "hello", "num_connections": n,
		"connection_info": map[string]any{"app_id": AppID},
		"debug_info":      map[string]any{"host": "slacksim", "build_number": 1, "approximate_connection_time": 18060}})

	go func() {
		t := time.NewTicker(s.opts.PingInterval)
		defer t.Stop()
		for {
			select {
			case <-c.done:
				return
			case <-t.C:
				c.wmu.Lock()
				err := ws.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(5*time.Second))
				c.wmu.Unlock()
				if err != nil {
					c.close()
					return
				}
			}
		}
	}()

	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			c.close()
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if err := json.Unmarshal(data, &ack); err != nil || ack.EnvelopeID == "" {
			s.protoError(fmt.Sprintf("not an acknowledgement: %.200s", data))
			continue
		}
		s.mu.Lock()
		ch, ok := s.envelopes[ack.EnvelopeID]
		delete(s.envelopes, ack.EnvelopeID)
		s.mu.Unlock()
		if !ok {
			s.protoError("acknowledgement of an unknown or already acknowledged envelope " + ack.EnvelopeID)
			continue
		}
		ch <- ack.Payload
	}
}

func (s *Server) protoError(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.protoErrs = append(s.protoErrs, msg)
}

func (s *Server) dropConn(c *socketConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.conns {
		if x == c {
			s.conns = append(s.conns[:i], s.conns[i+1:]...)
			return
		}
	}
}

// Connected reports how many Socket Mode connections are open.
func (s *Server) Connected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Disconnect asks every Socket Mode client to reconnect, as Slack does
// before it recycles a connection.
func (s *Server) Disconnect() {
	s.mu.Lock()
	conns := append([]*socketConn(nil), s.conns...)
	s.mu.Unlock()
	for _, c := range conns {
		c.write(map[string]any{"type": "disconnect", "reason": "refresh_requested", "debug_info": map[string]any{"host": "slacksim"}})
	}
}

// sendEnvelope delivers payload over the newest Socket Mode connection and
// waits up to 3 seconds for its acknowledgement.
func (s *Server) sendEnvelope(ctx context.Context, typ string, payload any) (Reply, error) {
	s.mu.Lock()
	if len(s.conns) == 0 {
		s.mu.Unlock()
		return Reply{}, fmt.Errorf("slacksim: no Socket Mode connection and no bot URL to deliver %s to", typ)
	}
	c := s.conns[len(s.conns)-1]
	id := randomID(8)
	ch := make(chan json.RawMessage, 1)
	s.envelopes[id] = ch
	s.mu.Unlock()

	start := time.Now()
	err := c.write(map[string]any{"envelope_id": id, "type": typ, "payload": payload, "accepts_response_payload": true, "retry_attempt": 0, "retry_reason": ""})
	if err != nil {
		return Reply{}, err
	}
	t := time.NewTimer(3 * time.Second)
	defer t.Stop()
	select {
	case p := <-ch:
		return Reply{Status: http.StatusOK, Payload: p, Latency: time.Since(start)}, nil
	case <-t.C:
		s.mu.Lock()
		delete(s.envelopes, id)
		s.mu.Unlock()
		return Reply{}, ErrNoAck
	case <-ctx.Done():
		return Reply{}, ctx.Err()
	}
}
