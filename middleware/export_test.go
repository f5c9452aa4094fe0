package middleware

// WithHeartbeat sets how often an idle stream gets a comment line, so
// tests need not wait 25 s.
var WithHeartbeat = withHeartbeat
