package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// httpPoster sends delayed replies to a slash command's response_url.
type httpPoster struct{ client *http.Client }

func defaultPoster() httpPoster { return httpPoster{client: &http.Client{Timeout: 10 * time.Second}} }

// respond posts an ephemeral follow-up; it retries once on a network error
// or a 5xx, since Slack allows five uses of a response_url.
func (p httpPoster) respond(ctx context.Context, url, text string) error {
	body, _ := json.Marshal(map[string]any{"response_type": "ephemeral", "replace_original": false, "text": text})
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(500 * time.Millisecond):
			}
		}
		var req *http.Request
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		var resp *http.Response
		resp, err = p.client.Do(req)
		if err != nil {
			continue
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode < 300 {
			return nil
		}
		err = fmt.Errorf("response_url answered %s", resp.Status)
		if resp.StatusCode < 500 {
			return err
		}
	}
	return err
}
