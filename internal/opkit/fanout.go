package opkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

var (
	// ErrForbiddenTarget means a delivery refused at dial time because the
	// resolved address is loopback, private, link-local, unspecified or
	// multicast, or any other address the IANA special-purpose registries
	// do not list as globally reachable (the SSRF guard; see
	// WithAllowLoopbackTargets and WithAllowPrivateTargets).
	ErrForbiddenTarget = errors.New("fakeop: forbidden delivery target")
	// ErrDeliveryFailed means at least one RP did not acknowledge its
	// logout token with a 2xx; the Report has the details.
	ErrDeliveryFailed = errors.New("fakeop: back-channel delivery failed")
	// ErrRejected means an RP answered a logout token with a non-2xx
	// status that is not retried (4xx, 3xx).
	ErrRejected = errors.New("fakeop: rp rejected the logout token")
	// ErrServerError means an RP answered 5xx on every attempt.
	ErrServerError = errors.New("fakeop: rp answered 5xx")
	// ErrClosed means the OP was closed: it ends no more sessions and
	// sends no more logout tokens.
	ErrClosed = errors.New("fakeop: op closed")
)

// Report is what ending OP sessions did.
type Report struct {
	// Sessions lists the sids ended.
	Sessions []string
	// Deliveries has one entry per logout token sent: per RP that took part
	// in an ended session and registered a back-channel logout URI.
	Deliveries []Delivery
}

// OK reports whether every RP acknowledged its logout token.
func (r Report) OK() bool {
	for _, d := range r.Deliveries {
		if d.Err != nil {
			return false
		}
	}
	return true
}

// Delivery is the outcome of sending one logout token to one RP.
type Delivery struct {
	ClientID string
	URI      string
	SID      string
	Attempts int
	Status   int   // final HTTP status; 0 when no answer came
	Err      error // nil when the RP answered 2xx
	// Duration is the wall time of the whole delivery: minting the token,
	// every attempt and the backoff between them.
	Duration time.Duration
}

// maxResponseBody bounds what the OP reads of an RP's answer: enough for
// an error description, and the connection can be reused.
const maxResponseBody = 16 << 10

// EndSession ends the OP session sid and sends every RP that took part in it
// a logout token (aud the client, sid, sub, a fresh jti), concurrently. Each
// RP gets up to WithRetries attempts, each bounded by WithDeliveryTimeout,
// with exponential backoff; only network errors and 5xx are retried. The
// error wraps ErrClosed after Close (nothing is ended), ErrUnknownSession,
// or ErrDeliveryFailed joined with each failed delivery's error; the Report
// is complete either way.
func (op *OP) EndSession(ctx context.Context, sid string) (Report, error) {
	op.mu.Lock()
	if op.closed {
		op.mu.Unlock()
		return Report{}, fmt.Errorf("%w: end session %q", ErrClosed, sid)
	}
	s, ok := op.sessions[sid]
	if !ok {
		op.mu.Unlock()
		return Report{}, fmt.Errorf("%w: sid %q", ErrUnknownSession, sid)
	}
	rep, targets := op.endLocked([]*session{s})
	op.mu.Unlock()
	return op.fanOut(ctx, rep, targets)
}

// EndUserSessions ends every OP session of sub, as an administrator's
// "sign out everywhere" does, with the fan-out of EndSession for each.
func (op *OP) EndUserSessions(ctx context.Context, sub string) (Report, error) {
	op.mu.Lock()
	if op.closed {
		op.mu.Unlock()
		return Report{}, fmt.Errorf("%w: end sessions of sub %q", ErrClosed, sub)
	}
	var ended []*session
	for _, s := range op.sessions {
		if s.sub == sub {
			ended = append(ended, s)
		}
	}
	if len(ended) == 0 {
		op.mu.Unlock()
		return Report{}, fmt.Errorf("%w: sub %q", ErrUnknownSession, sub)
	}
	rep, targets := op.endLocked(ended)
	op.mu.Unlock()
	return op.fanOut(ctx, rep, targets)
}

// endLocked removes the ended sessions and lists the deliveries they need.
// It counts those deliveries in op.wg while op.mu is held and the OP is
// open, so the Adds happen before Close (which sets closed under op.mu)
// reaches op.wg.Wait.
func (op *OP) endLocked(ended []*session) (Report, []target) {
	var rep Report
	var targets []target
	for _, s := range ended {
		delete(op.sessions, s.sid)
		for cookie, sid := range op.browsers {
			if sid == s.sid {
				delete(op.browsers, cookie)
			}
		}
		rep.Sessions = append(rep.Sessions, s.sid)
		for _, id := range s.clients {
			if c, ok := op.clients[id]; ok && c.BackchannelLogoutURI != "" {
				targets = append(targets, target{client: *c, sid: s.sid, sub: s.sub})
			}
		}
	}
	op.wg.Add(len(targets))
	return rep, targets
}

type target struct {
	client Client
	sid    string
	sub    string
}

// fanOut delivers to targets, each already counted in op.wg by endLocked.
func (op *OP) fanOut(ctx context.Context, rep Report, targets []target) (Report, error) {
	// Close cancels deliveries in flight, whatever ctx the caller gave.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(op.ctx, cancel)
	defer stop()

	rep.Deliveries = make([]Delivery, len(targets))
	var wg sync.WaitGroup
	for i, tg := range targets {
		wg.Go(func() {
			defer op.wg.Done()
			rep.Deliveries[i] = op.deliver(ctx, tg)
		})
	}
	wg.Wait()

	var errs []error
	for _, d := range rep.Deliveries {
		if d.Err != nil {
			errs = append(errs, d.Err)
		}
	}
	if len(errs) > 0 {
		return rep, fmt.Errorf("%w: %w", ErrDeliveryFailed, errors.Join(errs...))
	}
	return rep, nil
}

// deliver names its result so that the deferred Duration reaches the
// caller: set on a returned copy, it was always 0.
func (op *OP) deliver(ctx context.Context, tg target) (d Delivery) {
	start := time.Now()
	d = Delivery{ClientID: tg.client.ID, URI: tg.client.BackchannelLogoutURI, SID: tg.sid}
	defer func() { d.Duration = time.Since(start) }()

	token, err := op.SignLogoutToken(tg.client.ID, tg.sub, tg.sid)
	if err == nil && tg.client.Encryption != nil {
		token, err = Encrypt(token, tg.client.Encryption)
	}
	if err != nil {
		d.Err = fmt.Errorf("fakeop: mint logout token for %q: %w", tg.client.ID, err)
		return d
	}
	// The same token on every attempt: an RP does not consume the jti of a
	// logout it failed, so a retry can still succeed.
	body := url.Values{"logout_token": {token}}.Encode()
	wait := op.cfg.backoff
	for d.Attempts < op.cfg.attempts {
		if d.Attempts > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				d.Err = fmt.Errorf("fakeop: deliver to %q: %w", tg.client.ID, ctx.Err())
				return d
			case <-t.C:
			}
			wait *= 2
		}
		d.Attempts++
		var retry bool
		d.Status, retry, d.Err = op.attempt(ctx, d.URI, body)
		op.log.Debug("fakeop: back-channel logout attempt", "client", d.ClientID, "attempt", d.Attempts, "status", d.Status, "err", d.Err)
		if d.Err == nil || !retry {
			break
		}
	}
	if d.Err != nil {
		d.Err = fmt.Errorf("fakeop: deliver to %q after %d attempt(s): %w", tg.client.ID, d.Attempts, d.Err)
		op.log.Warn("fakeop: back-channel logout failed", "client", d.ClientID, "uri", d.URI, "err", d.Err)
	}
	return d
}

// attempt posts once and says whether a failure is worth retrying.
func (op *OP) attempt(ctx context.Context, uri, body string) (status int, retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, op.cfg.deliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, strings.NewReader(body))
	if err != nil {
		return 0, false, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := op.delivery.Do(req)
	if err != nil {
		// Refused targets stay refused, and a caller's cancellation or
		// Close is final; timeouts and other network errors are retried.
		final := errors.Is(err, ErrForbiddenTarget) || op.ctx.Err() != nil ||
			(ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded))
		return 0, !final, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return resp.StatusCode, false, nil
	case resp.StatusCode >= 500:
		return resp.StatusCode, true, fmt.Errorf("%w: %d", ErrServerError, resp.StatusCode)
	}
	return resp.StatusCode, false, fmt.Errorf("%w: %d", ErrRejected, resp.StatusCode)
}

// deliveryClient builds the client that posts logout tokens: redirects are
// never followed (a logout token goes to the registered URI only), and,
// unless targets is privateTargets, the dialer refuses every address the
// policy does not allow.
func deliveryClient(hc *http.Client, targets targetPolicy) *http.Client {
	var c http.Client
	if hc != nil {
		c = *hc
	}
	var tr *http.Transport
	switch rt := c.Transport.(type) {
	case nil:
		if dt, ok := http.DefaultTransport.(*http.Transport); ok {
			tr = dt.Clone()
		} else {
			// A program replaced DefaultTransport: start from a bare
			// transport so the guard below still applies.
			tr = &http.Transport{}
		}
	case *http.Transport:
		tr = rt.Clone()
	}
	if tr != nil {
		if targets != privateTargets {
			// Through a proxy, the guard would check the proxy's address.
			tr.Proxy = nil
			dialer := &net.Dialer{Timeout: 30 * time.Second, Control: guardControl(targets == loopbackTargets)}
			tr.DialContext = dialer.DialContext
			// Each of these would win over DialContext for some requests
			// (DialTLS and DialTLSContext for https, Dial when DialContext
			// is nil) and dial without the guard.
			tr.Dial = nil    //nolint:staticcheck // cleared, not used
			tr.DialTLS = nil //nolint:staticcheck // cleared, not used
			tr.DialTLSContext = nil
		}
		c.Transport = tr
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// guardControl runs after DNS resolution and before connect, on the very
// address dialled, so DNS rebinding cannot slip an internal address past
// it. allowLoopback lets loopback addresses through.
func guardControl(allowLoopback bool) func(_, address string, _ syscall.RawConn) error {
	return func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %q: %w", ErrForbiddenTarget, address, err)
		}
		if a := ap.Addr(); forbiddenAddr(a) && !(allowLoopback && a.Unmap().IsLoopback()) {
			return fmt.Errorf("%w: %s", ErrForbiddenTarget, a)
		}
		return nil
	}
}

// Address blocks of the IANA IPv4 and IPv6 Special-Purpose Address
// Registries (RFC 6890 and its updates) that net/netip has no predicate
// for and that are not globally reachable, or that hide an IPv4 address
// the guard could not check (translation and tunnelling prefixes).
var (
	forbiddenV4 = prefixes(
		"0.0.0.0/8",       // "this network" (RFC 791): 0.x.y.z reaches the host itself
		"100.64.0.0/10",   // shared address space, carrier-grade NAT (RFC 6598)
		"192.0.0.0/24",    // IETF protocol assignments (RFC 6890)
		"192.0.2.0/24",    // documentation, TEST-NET-1 (RFC 5737)
		"192.88.99.0/24",  // 6to4 relay anycast, deprecated (RFC 7526)
		"198.18.0.0/15",   // benchmarking (RFC 2544)
		"198.51.100.0/24", // documentation, TEST-NET-2 (RFC 5737)
		"203.0.113.0/24",  // documentation, TEST-NET-3 (RFC 5737)
		"240.0.0.0/4",     // reserved (RFC 1112), limited broadcast 255.255.255.255 included
	)
	// globalV6 is 2000::/3, the only IPv6 global unicast space assigned:
	// everything outside it is special (loopback, unspecified,
	// IPv4-mapped and IPv4-compatible ::/96, 64:ff9b::/96 and
	// 64:ff9b:1::/48 NAT64, 100::/64 discard, 5f00::/16 SRv6, fc00::/7
	// unique local, fe80::/10 link-local, fec0::/10 site-local,
	// ff00::/8 multicast) or unassigned.
	globalV6    = netip.MustParsePrefix("2000::/3")
	forbiddenV6 = prefixes(
		"2001::/23",     // IETF protocol assignments: Teredo 2001::/32 (hides IPv4), benchmarking, ORCHID (RFC 2928, 4380, 5180)
		"2001:db8::/32", // documentation (RFC 3849)
		"2002::/16",     // 6to4 (RFC 3056): hides an IPv4 address
		"3fff::/20",     // documentation (RFC 9637)
	)
)

func prefixes(ps ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ps))
	for i, p := range ps {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}

// forbiddenAddr reports whether a is not a globally reachable unicast
// address: the SSRF guard's rule, checked against the IANA special-purpose
// registries (TestForbiddenAddr has a case per block).
func forbiddenAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() ||
		a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return true
	}
	if a.Is4() {
		return slices.ContainsFunc(forbiddenV4, func(p netip.Prefix) bool { return p.Contains(a) })
	}
	return !globalV6.Contains(a) || slices.ContainsFunc(forbiddenV6, func(p netip.Prefix) bool { return p.Contains(a) })
}
