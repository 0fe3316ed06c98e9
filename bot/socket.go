package bot

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/warroom/warroom/commands"
)

// maxAckText is the longest reply sent inside a Socket Mode ack; Slack
// silently drops acks of 20 KB or more.
const maxAckText = 16 << 10

// RunSocketMode connects to Slack over Socket Mode and handles deliveries
// until ctx ends. The API client must carry the app-level token. dialer may
// be nil; tests and the sandbox pass one that trusts the simulator's certificate.
func (b *Bot) RunSocketMode(ctx context.Context, dialer *websocket.Dialer) error {
	var opts []socketmode.Option
	if dialer != nil {
		opts = append(opts, socketmode.OptionDialer(dialer))
	}
	client := socketmode.New(b.api, opts...)
	errc := make(chan error, 1)
	go func() { errc <- client.RunContext(ctx) }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			if ctx.Err() != nil {
				return nil
			}
			return err
		case evt, ok := <-client.Events:
			if !ok {
				return nil
			}
			go b.socketEvent(ctx, client, evt)
		}
	}
}

func (b *Bot) socketEvent(ctx context.Context, client *socketmode.Client, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnected:
		b.log.InfoContext(ctx, "socket mode connected")
	case socketmode.EventTypeConnectionError:
		b.log.WarnContext(ctx, "socket mode connection error", "err", evt.Data)
	case socketmode.EventTypeSlashCommand:
		sc, ok := evt.Data.(slack.SlashCommand)
		if !ok || evt.Request == nil {
			return
		}
		// Slack sends an envelope it thinks was not acknowledged again,
		// perhaps to another replica's connection: take it once.
		if err := b.firstShared(ctx, "envelope:"+evt.Request.EnvelopeID, replayTTL); err != nil {
			if errors.Is(err, errUnavailable) {
				b.ack(ctx, client, evt.Request, Reply{Text: commands.NotRecorded(b.errorID(ctx, err))}.payload())
			} else {
				b.ack(ctx, client, evt.Request, nil)
			}
			return
		}
		reply := b.Command(ctx, sc)
		var payload any
		if len(reply.Text) <= maxAckText {
			payload = reply.payload()
		}
		b.ack(ctx, client, evt.Request, payload)
		if len(reply.Text) > maxAckText {
			// Slack drops Socket Mode acks of 20 KB or more; send it the slow way.
			b.tell(ctx, origin{user: sc.UserID, channel: sc.ChannelID, responseURL: sc.ResponseURL}, reply.Text)
		}
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok || evt.Request == nil {
			return
		}
		if b.firstShared(ctx, "envelope:"+evt.Request.EnvelopeID, replayTTL) != nil {
			b.ack(ctx, client, evt.Request, nil)
			return
		}
		b.ack(ctx, client, evt.Request, b.Interaction(ctx, cb))
	case socketmode.EventTypeEventsAPI:
		ev, ok := evt.Data.(slackevents.EventsAPIEvent)
		if !ok || evt.Request == nil {
			return
		}
		b.ack(ctx, client, evt.Request, nil)
		var outer struct {
			EventID string `json:"event_id"`
		}
		json.Unmarshal(evt.Request.Payload, &outer)
		b.Event(ctx, outer.EventID, ev)
	}
}

func (b *Bot) ack(ctx context.Context, client *socketmode.Client, req *socketmode.Request, payload any) {
	var err error
	if payload == nil {
		err = client.AckCtx(ctx, req.EnvelopeID, nil)
	} else {
		err = client.AckCtx(ctx, req.EnvelopeID, payload)
	}
	if err != nil {
		b.log.WarnContext(ctx, "socket mode ack failed", "err", err)
	}
}
