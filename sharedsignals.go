package bclogout

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/bclogout/bclogout/internal/defaults"
	"github.com/bclogout/bclogout/internal/discovery"
	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/internal/rejection"
	"github.com/bclogout/bclogout/jwks"
	"github.com/bclogout/bclogout/rp"
)

// SharedSignals receives the Security Event Tokens (RFC 8417) that
// identity providers push instead of, or besides, logout tokens, and ends
// sessions on the ones that mean "end this user's sessions": CAEP
// session-revoked (OpenID CAEP 1.0), OAuth Event Types 1.0
// tokens-revoked (which Google's Cross-Account Protection sends when the
// user revokes the app's access: for Sign in with Google it asks the app
// to end the user's sessions), and RISC sessions-revoked, tokens-revoked,
// account-disabled and account-purged (OpenID RISC 1.0). Google sends the
// RISC and OAuth events to apps that use Sign in with Google; Okta and
// other providers implementing the OpenID Shared Signals Framework 1.0
// send CAEP's. Set Config.SharedSignals to have RP.Endpoints serve them.
//
// Users are named as the OP names them: by an iss_sub subject whose iss is
// the OP's issuer, or the transmitter's when the transmitter is the OP or
// its tenant's root: the same origin (scheme and host) and a path that is
// the OP issuer's or a parent of it. That is how Google names them (its
// RISC issuer adds a slash to its OpenID issuer), and how Okta does: an
// Okta org (https://example.okta.com, the Transmitter) and its custom
// authorization servers (https://example.okta.com/oauth2/default, the
// Issuer) share one user directory, and a user's sub is the same at both.
// Any other transmitter is another user namespace, even on the same host
// (Keycloak's realms, Entra's tenants, Cognito's pools share a host): name
// its users with MapSubject.
type SharedSignals struct {
	// Path is where Endpoints serves the push endpoint: the path of the
	// URL registered with the transmitter as the stream's endpoint_url.
	// Default: "/shared-signals".
	Path string
	// Transmitter is the issuer of the service that pushes the SETs. Its
	// configuration is read at New from
	// /.well-known/ssf-configuration (SSF 1.0 §7.1) or, failing that,
	// /.well-known/risc-configuration (Google's): the issuer it names
	// must be Transmitter (SSF 1.0 §7.2; Google's adds a slash) and is the
	// SETs' iss, exactly, and its jwks_uri their keys. Default:
	// Config.Issuer, the OP itself, as with Google.
	Transmitter string
	// Audience is the aud of the SETs: the client ID for Google, the
	// receiver's audience in the SSF stream configuration for others.
	// Default: Config.ClientID.
	Audience string
	// BearerToken, when set, is what the transmitter must send in the
	// Authorization header (RFC 8935 §2.2, "Bearer …"), the token given
	// to it when the stream was set up. A missing or wrong one is
	// answered 401. Default: none, the SET's signature alone.
	BearerToken string
	// MapSubject finds the OP's sub of a user that a SET names by another
	// subject identifier than the OP's iss_sub (RFC 9493 §3.2: email,
	// opaque, phone_number, account, did or uri; subject["format"] says
	// which), alone, as one of an aliases subject's identifiers, or as the
	// user of a complex subject, for transmitters that do not name users
	// as the OP does. It returns "" for a user the app does not know (the
	// SET is then acknowledged with 202 and ends nothing), and an error
	// when it cannot tell for now (the transmitter is then asked to retry,
	// 503). Without it such SETs are refused (400 access_denied).
	MapSubject func(ctx context.Context, subject map[string]any) (sub string, err error)
	// OnEvent is called for every SET accepted: after the sessions of a
	// session-ending event were ended, and for every other event (RISC
	// verification, CAEP credential-change, Google's OAuth token-revoked
	// of one refresh token, …), which is acknowledged and never guessed
	// at. A redelivery of a SET already accepted is refused as a replay;
	// two deliveries that overlap may both be accepted, as two of one
	// logout token may (no claim is taken before the work: ending
	// sessions is idempotent), so OnEvent must be safe to call twice for
	// one SET (ev.JTI tells them apart). A panic in it is logged, never
	// fatal.
	// Default: none.
	OnEvent func(ctx context.Context, ev *rp.SecurityEvent)
}

// Event types that end the subject's sessions (OpenID CAEP 1.0 §3,
// OpenID RISC 1.0 §2, OAuth Event Types 1.0 §2). OAuth's token-revoked
// (one token, not the user's grant) is acknowledged only.
const (
	caepSessionRevoked  = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
	riscSessionsRevoked = "https://schemas.openid.net/secevent/risc/event-type/sessions-revoked"
	riscTokensRevoked   = "https://schemas.openid.net/secevent/risc/event-type/tokens-revoked"
	oauthTokensRevoked  = "https://schemas.openid.net/secevent/oauth/event-type/tokens-revoked"
	riscAccountDisabled = "https://schemas.openid.net/secevent/risc/event-type/account-disabled"
	riscAccountPurged   = "https://schemas.openid.net/secevent/risc/event-type/account-purged"
	maxSETBytes         = 64 << 10
	secEventContentType = "application/secevent+jwt"
	// doorSharedSignals names SETs in metrics, logs and hooks.
	doorSharedSignals = "sharedsignals"
)

// endsSessions reports whether an event of type typ ends the subject's
// sessions.
func endsSessions(typ string) bool {
	switch typ {
	case caepSessionRevoked, riscSessionsRevoked, riscTokensRevoked, oauthTokensRevoked, riscAccountDisabled, riscAccountPurged:
		return true
	}
	return false
}

// signals is the SET receiver's state, made by New.
type signals struct {
	cfg    SharedSignals
	issuer string // the SETs' iss, from the transmitter's configuration
	fromOP bool   // the transmitter is the OP
	// sameUsers: the transmitter's iss_sub subjects name the OP's users
	// (it is the OP, or its tenant root).
	sameUsers bool
	verifier  *rp.Verifier
	opIssuer  string
	logger    *slog.Logger
}

// setSignatureAlgs are the algorithms a SET may be signed with: the
// asymmetric ones, each verified only by a key of its type and curve, and
// bound to a JWK's alg when it has one (RFC 8725 §3.1). No registration
// names a SET's algorithm as one does an ID token's.
var setSignatureAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// newSignals reads the transmitter's configuration and builds the SET
// verifier over its keys: over op's key set when the transmitter names the
// OP's jwks_uri, so that one refresher polls it (the OP's Verifier owns
// and closes it), else over a key set of its own.
func newSignals(ctx context.Context, cfg Config, hc *http.Client, jopts []jwks.Option, op *discovery.Found[*jwks.Remote], logger *slog.Logger) (*signals, func() error, error) {
	s := &signals{cfg: *cfg.SharedSignals, opIssuer: cfg.Issuer, logger: logger}
	if s.cfg.Transmitter == "" {
		s.cfg.Transmitter = cfg.Issuer
	}
	if s.cfg.Audience == "" {
		s.cfg.Audience = cfg.ClientID
	}
	s.fromOP = s.cfg.Transmitter == cfg.Issuer
	md, err := fetchTransmitter(ctx, hc, s.cfg.Transmitter)
	if err != nil {
		return nil, nil, err
	}
	s.issuer = md.Issuer
	s.sameUsers = s.fromOP || tenantRoot(md.Issuer, cfg.Issuer)
	keys, closeKeys := op.Keys, func() error { return nil }
	if md.JWKSURI != op.Metadata.JWKSURI {
		r, err := jwks.NewRemote(md.JWKSURI, jopts...)
		if err != nil {
			return nil, nil, err
		}
		keys, closeKeys = r, r.Close
	}
	v, err := rp.NewVerifier(md.Issuer, s.cfg.Audience, keys, rp.WithAlgorithms(setSignatureAlgs...))
	if err != nil {
		return nil, nil, errors.Join(err, closeKeys())
	}
	s.verifier = v
	logger.InfoContext(ctx, "bclogout: shared signals transmitter",
		slog.String("transmitter", s.cfg.Transmitter), slog.String("issuer", md.Issuer), slog.String("jwks_uri", md.JWKSURI),
		slog.Bool("keys_of_the_op", md.JWKSURI == op.Metadata.JWKSURI))
	return s, closeKeys, nil
}

// transmitterMetadata is what the receiver needs of an SSF or RISC
// transmitter configuration.
type transmitterMetadata struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// fetchTransmitter reads the transmitter's configuration: SSF 1.0 §7.1's
// /.well-known/ssf-configuration, inserted between the host and the path
// of the issuer (§7.2), or, where that is not found, RISC's
// /.well-known/risc-configuration, which Google serves.
func fetchTransmitter(ctx context.Context, hc *http.Client, transmitter string) (transmitterMetadata, error) {
	var md transmitterMetadata
	u, err := discovery.ParseURL(transmitter, false)
	if err != nil {
		return md, errs.Config("bclogout", "SharedSignals.Transmitter: %v", err)
	}
	var last error
	for _, name := range []string{"ssf-configuration", "risc-configuration"} {
		wk := *u
		wk.Path = "/.well-known/" + name + strings.TrimSuffix(u.Path, "/")
		wk.RawPath, wk.RawQuery, wk.Fragment = "", "", ""
		body, _, err := discovery.Get(ctx, hc, wk.String(), true)
		if err != nil {
			last = err
			continue
		}
		// Read as strictly as the OP's discovery document: it names the
		// keys of the SETs.
		if err := discovery.Unmarshal(body, &md); err != nil {
			return md, fmt.Errorf("bclogout: shared signals configuration %s: %w", wk.String(), err)
		}
		// SSF 1.0 §7.2 wants the issuer identical to the transmitter's;
		// Google's RISC issuer adds a slash to its OpenID issuer, and no
		// more may differ: the issuer decides whose users the SETs name
		// (tenantRoot), so a configuration cannot claim another tenant's.
		if md.Issuer == "" || strings.TrimSuffix(md.Issuer, "/") != strings.TrimSuffix(transmitter, "/") {
			return md, fmt.Errorf("bclogout: shared signals configuration %s: issuer %q is not %s", wk.String(), clipped(md.Issuer), transmitter)
		}
		if _, err := discovery.ParseURL(md.JWKSURI, false); err != nil {
			return md, fmt.Errorf("bclogout: shared signals configuration %s: jwks_uri: %w", wk.String(), err)
		}
		return md, nil
	}
	return md, fmt.Errorf("bclogout: shared signals configuration of %s: %w", transmitter, last)
}

// setError is a refused SET: its status, its RFC 8935 §2.4 code and the
// detail for the log.
type setError struct {
	status int
	code   string
	err    error
}

// serveSharedSignals is the Security Event Token push endpoint (RFC 8935),
// at SharedSignals.Path: register its URL with the transmitter (Google's
// RISC API, an SSF stream's delivery endpoint_url). It takes a POST whose
// body is one SET (Content-Type application/secevent+jwt) and answers 202
// once the SET is valid and its event applied, or acknowledged; 400 with
// an RFC 8935 §2.4 error ({"err":"invalid_request", "description":…}) for
// an invalid SET, 401 for a missing or wrong bearer token, and 503 when
// the keys or the stores are unavailable, so that the transmitter retries.
func (b *RP) serveSharedSignals(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	ev, serr := b.receiveSET(w, r)
	if serr != nil {
		b.handler.Reject(r, doorSharedSignals, serr.err)
		answerSET(w, serr.status, serr.code)
		return
	}
	lo, serr := b.signals.logout(r.Context(), ev, b.issuer)
	if serr != nil {
		b.handler.Reject(r, doorSharedSignals, serr.err)
		answerSET(w, serr.status, serr.code)
		return
	}
	// Every accepted SET goes through the pipeline, so that it is accepted
	// once: one that ends sessions is revoked and ended, one that is only
	// acknowledged is replay-checked and recorded.
	if _, err := b.handler.End(r, lo); err != nil {
		if errors.Is(err, rp.ErrTemporary) {
			// Not queued: the transmitter delivers it again on 503
			// (RFC 8935 §4), and that delivery runs it.
			answerSET(w, http.StatusServiceUnavailable, "temporarily_unavailable")
		} else {
			answerSET(w, http.StatusBadRequest, "invalid_request")
		}
		return
	}
	if f := b.signals.cfg.OnEvent; f != nil {
		func() {
			// The event is applied: a panicking hook must not undo the 202.
			defer func() {
				if p := recover(); p != nil {
					b.logger.ErrorContext(r.Context(), "bclogout: SharedSignals.OnEvent panicked", slog.Any("panic", p))
				}
			}()
			f(r.Context(), ev)
		}()
	}
	w.WriteHeader(http.StatusAccepted)
}

// answerSET writes an RFC 8935 §2.4 error answer.
func answerSET(w http.ResponseWriter, status int, code string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="shared-signals"`)
	}
	if status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	answer := map[string]string{"err": code, "description": describe(code)}
	if status >= 500 {
		// Not an RFC 8935 §2.4 error: the SET may be valid, the
		// transmitter should deliver it again.
		delete(answer, "err")
	}
	_ = json.NewEncoder(w).Encode(answer)
}

// describe is the generic description of an RFC 8935 §2.4 code: the
// detail goes to the log, never to the network.
func describe(code string) string {
	switch code {
	case "invalid_key":
		return "the SET's signature or key is not acceptable"
	case "invalid_issuer":
		return "the SET's issuer is not the transmitter"
	case "invalid_audience":
		return "the SET's audience is not this receiver"
	case "authentication_failed":
		return "the transmitter is not authenticated"
	case "access_denied":
		return "the SET's subject cannot be acted on by this receiver"
	case "temporarily_unavailable":
		return "try again later"
	}
	return "the request or the SET is invalid"
}

// receiveSET checks the request and validates the SET.
func (b *RP) receiveSET(w http.ResponseWriter, r *http.Request) (*rp.SecurityEvent, *setError) {
	s := b.signals
	if r.Method != http.MethodPost {
		return nil, &setError{http.StatusMethodNotAllowed, "invalid_request", fmt.Errorf("%w: method %s", rejection.Request, clipped(r.Method))}
	}
	if s.cfg.BearerToken != "" && !bearer(r.Header.Get("Authorization"), s.cfg.BearerToken) {
		return nil, &setError{http.StatusUnauthorized, "authentication_failed", fmt.Errorf("%w: bearer token missing or wrong", rejection.Request)}
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != secEventContentType {
		return nil, &setError{http.StatusBadRequest, "invalid_request", fmt.Errorf("%w: content type %q", rejection.Request, clipped(mt))}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSETBytes))
	if err != nil {
		return nil, &setError{http.StatusRequestEntityTooLarge, "invalid_request", fmt.Errorf("%w: body: %w", rejection.Request, err)}
	}
	ev, err := s.verifier.VerifySET(r.Context(), strings.TrimSpace(string(body)))
	if err != nil {
		return nil, classifySETError(err)
	}
	return ev, nil
}

// bearer reports whether an Authorization header carries want as a bearer
// token (RFC 6750 §2.1). The scheme is matched case-insensitively, as
// every authentication scheme is (RFC 9110 §11.1), and the token in
// constant time.
func bearer(header, want string) bool {
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimLeft(token, " ")
	return ok && strings.EqualFold(scheme, "Bearer") && subtle.ConstantTimeCompare([]byte(token), []byte(want)) == 1
}

// classifySETError maps a validation error onto RFC 8935 §2.4's codes.
func classifySETError(err error) *setError {
	code := "invalid_request"
	switch {
	case errors.Is(err, rp.ErrTemporary):
		return &setError{http.StatusServiceUnavailable, "temporarily_unavailable", err}
	case errors.Is(err, rp.ErrIssuer):
		code = "invalid_issuer"
	case errors.Is(err, rp.ErrAudience):
		code = "invalid_audience"
	case errors.Is(err, rp.ErrSignature):
		code = "invalid_key"
	}
	return &setError{http.StatusBadRequest, code, err}
}

// logout turns the SET into the logout the pipeline runs: the sessions
// its subject names (RFC 9493), at the OP's issuer, where this app's
// sessions are keyed, for a session-ending event; nothing, for an event
// that is only acknowledged or names a user the app does not know.
func (s *signals) logout(ctx context.Context, ev *rp.SecurityEvent, opIssuer string) (*rp.LogoutEvent, *setError) {
	if !endsSessions(ev.Type) {
		s.logger.InfoContext(ctx, "bclogout: security event acknowledged", slog.String("event", clipped(ev.Type)))
		return ev.Logout(opIssuer, "", ""), nil
	}
	if ev.Subject == nil {
		return nil, refuseSubject(http.StatusBadRequest, "invalid_request", "no sub_id and no subject")
	}
	sub, sid, serr := s.subject(ctx, ev.Subject, 0)
	if serr != nil {
		return nil, serr
	}
	lev := ev.Logout(opIssuer, sub, sid)
	if !s.fromOP {
		// Another transmitter's iat is on its clock, not the OP's that
		// dates logins: taken as an instant of this RP's clock (which
		// accepted it within the skew), it is dated by the one clock rule.
		lev.IssuedAt = defaults.OPDate(lev.IssuedAt)
	}
	return lev, nil
}

// refuseSubject is a SET refused for its subject, wrapped in the class
// the pipeline reports it by.
func refuseSubject(status int, code, format string, args ...any) *setError {
	class := rp.ErrClaims
	if status >= 500 {
		class = rp.ErrTemporary
	}
	return &setError{status, code, fmt.Errorf("%w: "+format, append([]any{class}, args...)...)}
}

// complexMembers are the members of a complex subject (RFC 9493 §3.3).
var complexMembers = []string{"user", "device", "session", "application", "tenant", "org_unit", "group"}

// subject resolves one subject identifier to the OP's sub and, for a
// complex subject with a session from the OP, its sid. Both empty: a user
// MapSubject does not know, acknowledged and ended nothing.
func (s *signals) subject(ctx context.Context, id map[string]any, depth int) (sub, sid string, serr *setError) {
	refuse := func(status int, code, format string, args ...any) (string, string, *setError) {
		return "", "", refuseSubject(status, code, format, args...)
	}
	format := formatOf(id, depth)
	str := func(k string) string { v, _ := id[k].(string); return v }
	switch format {
	case "iss_sub":
		iss, sub := str("iss"), str("sub")
		if sub == "" {
			return refuse(http.StatusBadRequest, "invalid_request", "iss_sub subject without sub")
		}
		// The OP's users are named by its issuer; a transmitter that is
		// the OP or its tenant root names them by its own issuer too
		// (Google's RISC issuer, an Okta org for its authorization
		// servers).
		if iss != s.opIssuer && !(s.sameUsers && iss == s.issuer) {
			return refuse(http.StatusBadRequest, "access_denied", "iss_sub subject of issuer %q, not the OP's", clipped(iss))
		}
		return sub, "", nil
	case "complex":
		if depth > 0 {
			return refuse(http.StatusBadRequest, "invalid_request", "nested complex subject")
		}
		user, _ := id["user"].(map[string]any)
		if user != nil {
			var serr *setError
			if sub, _, serr = s.subject(ctx, user, depth+1); serr != nil {
				return "", "", serr
			}
		}
		if session, ok := id["session"].(map[string]any); ok && s.fromOP {
			// A session only the OP can name: its sid, which ends it
			// whether or not its user is known here.
			sf, _ := session["format"].(string)
			sid, _ = session["id"].(string)
			if sf != "opaque" || sid == "" {
				return refuse(http.StatusBadRequest, "invalid_request", "session subject of format %q", clipped(sf))
			}
			return sub, sid, nil
		}
		if sub == "" && user == nil {
			return refuse(http.StatusBadRequest, "access_denied", "complex subject names neither a user nor an OP session")
		}
		return sub, "", nil // sub "": a user MapSubject does not know
	case "aliases":
		return s.aliases(ctx, id, depth)
	case "email", "opaque", "phone_number", "account", "did", "uri":
		if s.cfg.MapSubject == nil {
			return refuse(http.StatusBadRequest, "access_denied", "%s subject and no SharedSignals.MapSubject", format)
		}
		if id["format"] != format {
			// A legacy subject_type: MapSubject reads format, as documented.
			id = maps.Clone(id)
			id["format"] = format
		}
		sub, err := s.cfg.MapSubject(ctx, id)
		if err != nil {
			return refuse(http.StatusServiceUnavailable, "temporarily_unavailable", "MapSubject: %w", err)
		}
		if sub == "" {
			s.logger.InfoContext(ctx, "bclogout: security event for a user the app does not know", slog.String("format", format))
		}
		return sub, "", nil
	}
	return refuse(http.StatusBadRequest, "invalid_request", "subject format %q not supported", clipped(format))
}

// formatOf is the format of subject identifier id: its format member or,
// from Google and RISC before RFC 9493, its subject_type, with hyphens
// ("iss-sub"); at the top (depth 0), a complex subject that does not say
// so.
func formatOf(id map[string]any, depth int) string {
	format, _ := id["format"].(string)
	if format == "" {
		legacy, _ := id["subject_type"].(string)
		format = strings.ReplaceAll(legacy, "-", "_")
	}
	if format == "" && depth == 0 && slices.ContainsFunc(complexMembers, func(m string) bool { _, ok := id[m].(map[string]any); return ok }) {
		// Okta's session-revoked names {"user": {…}} without
		// "format": "complex"; its members say what it is.
		format = "complex"
	}
	return format
}

// aliases resolves an aliases subject (RFC 9493 §3.2.8): several
// identifiers of one user, none of them aliases. An iss_sub, which names
// the user as the OP does, is tried before the identifiers MapSubject
// maps (a stale mapping must not end another user's sessions instead);
// then the first that names a user of the OP wins. When none does, the
// SET is retried (503) if MapSubject could not tell for one of them,
// acknowledged if MapSubject knows none of them, and refused as the first
// identifier was otherwise.
func (s *signals) aliases(ctx context.Context, id map[string]any, depth int) (sub, sid string, serr *setError) {
	raw, _ := id["identifiers"].([]any)
	if len(raw) == 0 {
		return "", "", refuseSubject(http.StatusBadRequest, "invalid_request", "aliases subject without identifiers")
	}
	var native, mapped []map[string]any
	for _, x := range raw {
		alias, _ := x.(map[string]any)
		switch formatOf(alias, depth+1) {
		case "aliases":
			return "", "", refuseSubject(http.StatusBadRequest, "invalid_request", "nested aliases subject")
		case "iss_sub":
			native = append(native, alias)
		default:
			if alias == nil {
				return "", "", refuseSubject(http.StatusBadRequest, "invalid_request", "aliases identifier that is not a subject identifier")
			}
			mapped = append(mapped, alias)
		}
	}
	var first, temporary *setError
	unknown := false
	for _, alias := range slices.Concat(native, mapped) {
		sub, _, serr := s.subject(ctx, alias, depth+1)
		switch {
		case serr == nil && sub != "":
			return sub, "", nil
		case serr == nil:
			unknown = true
		case serr.status >= 500:
			temporary = cmp.Or(temporary, serr)
		default:
			first = cmp.Or(first, serr)
		}
	}
	switch {
	case temporary != nil:
		return "", "", temporary
	case unknown:
		return "", "", nil
	}
	return "", "", first
}

// tenantRoot reports whether the transmitter's issuer is the OP issuer's
// tenant root: the same scheme and host, and a path that is the OP
// issuer's or a parent of it, segment by segment (an Okta org above its
// authorization servers), so one user directory. Tenants side by side on
// one host (Keycloak realms) are not.
func tenantRoot(transmitter, op string) bool {
	t, errT := url.Parse(transmitter)
	o, errO := url.Parse(op)
	if errT != nil || errO != nil || t.Host == "" || !strings.EqualFold(t.Scheme, o.Scheme) || !strings.EqualFold(t.Host, o.Host) {
		return false
	}
	tp, op2 := strings.TrimSuffix(t.Path, "/"), strings.TrimSuffix(o.Path, "/")
	return tp == op2 || strings.HasPrefix(op2, tp+"/")
}

func clipped(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
