package bot

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/warroom/warroom/commands"
	"github.com/warroom/warroom/incident"
)

func (b *Bot) openDeclareForm(ctx context.Context, triggerID string, f commands.DeclareForm) error {
	_, err := b.api.OpenViewContext(ctx, triggerID, declareView(f))
	return err
}

// ViewResponse is the answer to a view_submission: nil closes the modal;
// errors keep it open and show each message under its field.
type ViewResponse struct {
	ResponseAction string            `json:"response_action"`
	Errors         map[string]string `json:"errors,omitempty"`
}

// Interaction handles a block action or a modal submission and returns the
// immediate response body (nil for an empty 200).
func (b *Bot) Interaction(ctx context.Context, cb slack.InteractionCallback) any {
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		b.blockAction(ctx, cb)
		return nil
	case slack.InteractionTypeMessageAction:
		if cb.CallbackID == ShortcutCallback {
			b.shortcut(ctx, cb)
			return nil
		}
	case slack.InteractionTypeViewSubmission:
		switch cb.View.CallbackID {
		case captureCallback:
			return b.submitCapture(ctx, cb)
		case declareCallback:
			return b.submitDeclare(ctx, cb)
		case updateCallback:
			return b.submitUpdate(ctx, cb)
		}
	}
	b.log.InfoContext(ctx, "interaction ignored", "type", cb.Type, "callback", cb.View.CallbackID)
	return nil
}

func (b *Bot) submitDeclare(ctx context.Context, cb slack.InteractionCallback) any {
	vals := cb.View.State.Values
	title := vals[blockTitle][blockTitle].Value
	desc := vals[blockDesc][blockDesc].Value
	sev := incident.DefaultSeverity
	if v := vals[blockSeverity][blockSeverity].SelectedOption.Value; v != "" {
		s, err := incident.ParseSeverity(v)
		if err != nil {
			return &ViewResponse{ResponseAction: "errors", Errors: map[string]string{blockSeverity: incident.ErrorMessage(err)}}
		}
		sev = s
	}
	var meta formMeta
	json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta)
	cmd := incident.Command{Actor: cb.User.ID, Channel: meta.Channel, Raw: "[declare form] " + strings.TrimSpace(title)}
	decl := incident.Declaration{Title: title, Description: desc, Severity: sev}
	if v := vals[blockService][blockService].SelectedOption.Value; v != "" {
		if decl.Service = b.disp.KnownService(v); decl.Service == "" {
			return &ViewResponse{ResponseAction: "errors", Errors: map[string]string{blockService: "That service is no longer configured; pick another or none."}}
		}
	}
	res := b.disp.Declare(ctx, cmd, decl, "")
	if res.Failed {
		field := blockTitle
		if strings.Contains(res.Reply, "description") {
			field = blockDesc
		}
		msg := res.Reply
		if i := strings.Index(msg, "\nUsage:"); i >= 0 {
			msg = msg[:i]
		}
		return &ViewResponse{ResponseAction: "errors", Errors: map[string]string{field: msg}}
	}
	return nil
}

// ViewUpdate answers a view_submission by replacing the modal's view: the
// preview comes back with the lint's warnings on what was submitted.
type ViewUpdate struct {
	ResponseAction string                 `json:"response_action"`
	View           slack.ModalViewRequest `json:"view"`
}

func (b *Bot) submitUpdate(ctx context.Context, cb slack.InteractionCallback) any {
	vals := cb.View.State.Values
	var meta updateMeta
	json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta)
	st, err := incident.ParseStatus(vals[blockUpdStatus][blockUpdStatus].SelectedOption.Value)
	if err != nil {
		return &ViewResponse{ResponseAction: "errors", Errors: map[string]string{blockUpdStatus: incident.ErrorMessage(err)}}
	}
	if meta.Components == nil {
		meta.Components = map[string]incident.ComponentStatus{}
	}
	cmd := incident.Command{Actor: cb.User.ID, Raw: "[update preview] " + string(st)}
	sub := commands.Submission{Status: st, Title: vals[blockUpdTitle][blockUpdTitle].Value,
		Body: vals[blockUpdBody][blockUpdBody].Value, Components: meta.Components, Checked: meta.Checked}
	if seen, err := time.Parse(time.RFC3339Nano, meta.Seen); err == nil {
		sub.Seen = &seen
	}
	res := b.disp.SubmitUpdate(ctx, cmd, meta.Incident, sub)
	switch {
	case res.Preview != nil:
		return &ViewUpdate{ResponseAction: "update", View: updateView(*res.Preview)}
	case res.Failed:
		field := blockUpdBody
		if strings.Contains(res.Reply, "public title") {
			field = blockUpdTitle
		}
		return &ViewResponse{ResponseAction: "errors", Errors: map[string]string{field: res.Reply}}
	}
	from := origin{user: cb.User.ID}
	if res.Incident != nil {
		from.channel = res.Incident.ChannelID
	}
	if res.Reply != "" && from.channel != "" {
		b.fx.do(meta.Incident, func(ctx context.Context) { b.tell(ctx, from, res.Reply) })
	}
	return nil
}
