package fakeop

import "context"

// Sessions returns the sids of the OP's open sessions of sub, or of every
// user when sub is empty, oldest first: the tests check that SignOut ended
// exactly the browser's session.
func (op *OP) Sessions(sub string) []string { return op.op.Sessions(sub) }

// NewSession creates an OP session for sub at each of clientIDs, without a
// browser, and returns its sid.
func (op *OP) NewSession(sub string, clientIDs ...string) (string, error) {
	return op.op.NewSession(sub, clientIDs...)
}

// EndSession ends the OP session sid with the back-channel fan-out that
// SignOut runs.
func (op *OP) EndSession(ctx context.Context, sid string) error {
	_, err := op.op.EndSession(ctx, sid)
	return err
}
