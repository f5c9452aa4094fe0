package middleware

// WithHeartbeat sets how often an idle stream gets a comment line, so
// tests need not wait 25 s.
var WithHeartbeat = withHeartbeat

// WithMaxStreams bounds the streams open at once (default 10,000), so a
// test fills the bound with one.
var WithMaxStreams = withMaxStreams
