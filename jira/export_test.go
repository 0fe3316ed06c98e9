package jira

import "context"

// Create creates t's issue without looking for it first, for the contract
// test (the spec's mock always finds an example issue).
func (c *Client) Create(ctx context.Context, t Ticket) (string, error) {
	return c.create(ctx, c.fields(t))
}

// CreateAction creates action item a's issue without looking for it
// first, and Link relates two issues, for the contract test (the mock's
// answers to search and create break its own spec, so SyncAction stops
// before the link).
func (c *Client) CreateAction(ctx context.Context, a Action) (string, error) {
	return c.create(ctx, actionFields(a))
}

func (c *Client) Link(ctx context.Context, incidentKey, key string) error {
	return c.link(ctx, incidentKey, key)
}
