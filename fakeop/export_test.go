package fakeop

// Sessions returns the sids of the OP's open sessions of sub, or of every
// user when sub is empty, oldest first: the tests check that SignOut ended
// exactly the browser's session.
func (op *OP) Sessions(sub string) []string { return op.op.Sessions(sub) }
