package demo

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"time"
)

// maxEvents bounds what an RP page remembers: the demo keeps running while
// anyone can post to its endpoints.
const maxEvents = 50

// Event is what one RP's back-channel endpoint did with one request.
type Event struct {
	Time          time.Time
	Outcome       string // "accepted" or "rejected"
	Status        int
	Reason        string // the rejection's class, as rp labels it for metrics
	Detail        string // the full error, shown to the demo's user only
	Claims        string // indented JSON of the claims as sent (unverified when rejected)
	SessionsEnded int    // sessions the store ended (beta); see Recorded
	// Recorded is set for alpha, whose cookie sessions the server cannot
	// count or delete: the logout is recorded as a revocation that the
	// guard enforces at each session's next request, and SessionsEnded
	// (always 1, the revocation) says nothing about sessions.
	Recorded bool
	// SET is set for a Security Event Token pushed to the Shared Signals
	// receiver (beta), rather than a logout token.
	SET bool
}

// eventLog is the "What happened" panel's memory, newest first.
type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) add(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append([]Event{e}, l.events...)
	if len(l.events) > maxEvents {
		l.events = l.events[:maxEvents]
	}
}

func (l *eventLog) list() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.events...)
}

// unverifiedClaims decodes a compact JWS's payload for display only: the
// page shows what a rejected token claimed, which is exactly what must never
// be trusted. An encrypted token shows as such.
func unverifiedClaims(compact string) string {
	parts := strings.Split(compact, ".")
	switch len(parts) {
	case 5:
		return "(encrypted token: JWE)"
	case 3:
	default:
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var v map[string]any
	if json.Unmarshal(b, &v) != nil {
		return ""
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return ""
	}
	return string(out)
}
