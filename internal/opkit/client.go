package opkit

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Registration errors; each is wrapped with the offending value.
var (
	// ErrInvalidClient means a client without an ID.
	ErrInvalidClient = errors.New("fakeop: invalid client")
	// ErrClientExists means a client ID registered twice.
	ErrClientExists = errors.New("fakeop: client already registered")
	// ErrInvalidRedirectURI means a redirect or post-logout redirect URI
	// that is not absolute or carries a fragment.
	ErrInvalidRedirectURI = errors.New("fakeop: invalid redirect uri")
	// ErrInvalidLogoutURI means a backchannel_logout_uri that is not an
	// absolute https URL (http only on a loopback host with
	// WithAllowLoopbackTargets, or on any host with
	// WithAllowPrivateTargets), or that has a fragment or userinfo.
	ErrInvalidLogoutURI = errors.New("fakeop: invalid backchannel_logout_uri")
	// ErrUnknownClient means a client ID that was never registered.
	ErrUnknownClient = errors.New("fakeop: unknown client")
	// ErrUnknownSession means a sid or sub with no OP session.
	ErrUnknownSession = errors.New("fakeop: unknown session")
)

// Client is a relying party registered with the OP.
type Client struct {
	ID string
	// Secret authenticates the client at the token endpoint; empty makes
	// a public client (auth method "none").
	Secret       string
	RedirectURIs []string
	// BackchannelLogoutURI receives logout tokens; empty means the client
	// is not told about logouts.
	BackchannelLogoutURI string
	// SessionRequired is backchannel_logout_session_required. The OP
	// always includes sid in logout tokens, so it only documents intent.
	SessionRequired bool
	// PostLogoutRedirectURIs are where end_session may send the browser
	// back to; a request for another is refused.
	PostLogoutRedirectURIs []string
	// FrontchannelLogoutURI is the client's frontchannel_logout_uri
	// (Front-Channel Logout 1.0 §2): end_session renders it in an iframe,
	// with iss and sid appended, for each session the client took part in.
	FrontchannelLogoutURI string
	// Encryption, when set, makes the OP send this client nested JWTs
	// encrypted to the key's public half, as an OP does for a client that
	// registered ID Token encryption.
	Encryption *EncryptionKey
	// SETDeliveryURI, when set, is the client's Shared Signals receiver:
	// the push endpoint (RFC 8935) to which the OP's page sends CAEP
	// session-revoked SETs whose aud is the client ID, with SETBearerToken,
	// when set, as the bearer token (RFC 8935 §2.2). It is checked as
	// BackchannelLogoutURI is: the OP calls it.
	SETDeliveryURI string
	SETBearerToken string
}

// RegisterClient registers c, validated as a real OP validates dynamic
// client registration metadata.
func (op *OP) RegisterClient(c Client) error {
	if c.ID == "" {
		return fmt.Errorf("%w: empty client ID", ErrInvalidClient)
	}
	for _, u := range append(slices.Clone(c.RedirectURIs), c.PostLogoutRedirectURIs...) {
		if err := checkRedirectURI(u); err != nil {
			return err
		}
	}
	// The browser loads it, not the OP, so it is checked as a redirect URI
	// is (Front-Channel Logout 1.0 §2), not with the SSRF guard.
	if c.FrontchannelLogoutURI != "" {
		if err := checkRedirectURI(c.FrontchannelLogoutURI); err != nil {
			return err
		}
	}
	if c.BackchannelLogoutURI != "" {
		if err := checkLogoutURI(c.BackchannelLogoutURI, op.cfg.targets); err != nil {
			return err
		}
	}
	if c.SETDeliveryURI != "" {
		if err := checkLogoutURI(c.SETDeliveryURI, op.cfg.targets); err != nil {
			return err
		}
	}
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	op.mu.Lock()
	defer op.mu.Unlock()
	if _, ok := op.clients[c.ID]; ok {
		return fmt.Errorf("%w: %q", ErrClientExists, c.ID)
	}
	op.clients[c.ID] = &c
	op.clientOrder = append(op.clientOrder, c.ID)
	return nil
}

func checkRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" || u.RawFragment != "" ||
		(u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%w: %q", ErrInvalidRedirectURI, raw)
	}
	return nil
}

// checkLogoutURI applies the rules of Back-Channel Logout §2.2 and
// OpenID Connect Registration for URLs the OP will call.
func checkLogoutURI(raw string, targets targetPolicy) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %q: %w", ErrInvalidLogoutURI, raw, err)
	case !u.IsAbs() || u.Host == "":
		return fmt.Errorf("%w: %q is not absolute", ErrInvalidLogoutURI, raw)
	case u.Fragment != "" || u.RawFragment != "" || (len(raw) > 0 && raw[len(raw)-1] == '#'):
		return fmt.Errorf("%w: %q has a fragment", ErrInvalidLogoutURI, raw)
	case u.User != nil:
		return fmt.Errorf("%w: %q has userinfo", ErrInvalidLogoutURI, raw)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && targets == privateTargets:
		return nil
	case u.Scheme == "http" && targets == loopbackTargets && loopbackHost(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%w: %q must use https", ErrInvalidLogoutURI, raw)
}

// loopbackHost reports whether a URL's host names loopback as a developer
// writes it: 127.0.0.1, ::1 or localhost.
func loopbackHost(host string) bool {
	return host == "127.0.0.1" || host == "::1" || strings.EqualFold(host, "localhost")
}

// session is an OP browser session: one login, shared by every RP the
// browser then signs in to (single sign-on).
type session struct {
	sid      string
	sub      string
	authTime time.Time
	clients  []string // client IDs that received an ID token for it, in order
	seq      uint64   // creation order, for Sessions
}

func (s *session) join(clientID string) {
	if !slices.Contains(s.clients, clientID) {
		s.clients = append(s.clients, clientID)
	}
}

// NewSession creates an OP session for sub, as if the user had signed in to
// each of clientIDs, and returns its sid: a test can then end it with
// EndSession without driving a browser.
func (op *OP) NewSession(sub string, clientIDs ...string) (string, error) {
	op.mu.Lock()
	defer op.mu.Unlock()
	for _, id := range clientIDs {
		if _, ok := op.clients[id]; !ok {
			return "", fmt.Errorf("%w: %q", ErrUnknownClient, id)
		}
	}
	s := op.newSessionLocked(sub)
	for _, id := range clientIDs {
		s.join(id)
	}
	return s.sid, nil
}

func (op *OP) newSessionLocked(sub string) *session {
	op.sessionSeq++
	s := &session{sid: randomID(), sub: sub, authTime: op.cfg.clock(), seq: op.sessionSeq}
	op.sessions[s.sid] = s
	return s
}

// Sessions returns the sids of the OP's open sessions of sub, or of every
// user when sub is empty, oldest first: in the order they were created (by
// a login or NewSession), so a test's second sign-in is the last sid.
func (op *OP) Sessions(sub string) []string {
	op.mu.Lock()
	defer op.mu.Unlock()
	var open []*session
	for _, s := range op.sessions {
		if sub == "" || s.sub == sub {
			open = append(open, s)
		}
	}
	slices.SortFunc(open, func(a, b *session) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]string, 0, len(open))
	for _, s := range open {
		out = append(out, s.sid)
	}
	return out
}
