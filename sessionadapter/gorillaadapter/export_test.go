package gorillaadapter

// ErrInvalidID is the error DeleteSession wraps for an ID that cannot
// name a FilesystemStore file.
var ErrInvalidID = errInvalidID
