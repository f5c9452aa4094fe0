package opkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// OP is a fake OpenID Provider served over HTTP. All its methods are safe
// for concurrent use.
type OP struct {
	cfg      config
	issuer   string
	log      *slog.Logger
	delivery *http.Client
	tmpl     *template.Template

	// ctx ends with Close, and with it every delivery in flight.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	closeServer func()
	closeOnce   sync.Once

	jwksFetches atomic.Int64

	mu          sync.Mutex
	closed      bool // set by Close; no delivery starts after it
	key         *Key
	previous    []*Key // rotated out, still published until RetireOld
	retired     []*Key // every key rotated out, newest first: they verify id_token_hints
	keySerial   int
	otherKey    *Key           // the attacker's, lazily generated
	encKey      *EncryptionKey // default RP encryption key, lazily generated
	jwksStatus  int
	jwksBody    []byte
	clients     map[string]*Client
	clientOrder []string
	sessions    map[string]*session // by sid
	sessionSeq  uint64              // sessions created so far
	browsers    map[string]string   // OP session cookie -> sid
	// logins are the app login routes SignIn went through, per browser,
	// for SignOut's sign-in again; held are SignOut's logouts waiting for
	// the app to redeem a code of their session (by sid).
	logins    map[*http.Client]string
	held      map[string]*heldLogout
	codes     map[string]*grant
	codeOrder []issuedCode // codes in issue order, for sweepCodesLocked
	// accessTokens are the bearer tokens /token issued, for /userinfo;
	// tokenOrder lists them in issue order, for sweepExpired.
	accessTokens map[string]*accessToken
	tokenOrder   []issuedCode
}

// New starts an OP on an httptest server for the test t, stopped by
// t.Cleanup. Failures are t.Fatal.
//
// Unlike NewServer it applies WithAllowLoopbackTargets before opts: an OP
// made for a test talks to httptest RPs, which listen on loopback. The
// rest of the SSRF guard stays on (private and link-local addresses are
// refused); a test that needs them adds WithAllowPrivateTargets.
func New(t testing.TB, opts ...Option) *OP {
	t.Helper()
	op, err := newOP(append([]Option{WithAllowLoopbackTargets()}, opts...))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(op.routes())
	// The issuer is set before Start: handlers read it from other
	// goroutines as soon as the server accepts connections.
	if op.issuer == "" {
		op.issuer = "http://" + srv.Listener.Addr().String()
	}
	srv.Start()
	op.closeServer = srv.Close
	t.Cleanup(op.Close)
	return op
}

// NewServer starts an OP listening on addr (e.g. "127.0.0.1:0"); its issuer
// is "http://" plus the address it listens on unless WithIssuer says
// otherwise. The SSRF guard is whole unless WithAllowLoopbackTargets or
// WithAllowPrivateTargets opens it.
// Close stops it.
func NewServer(addr string, opts ...Option) (*OP, error) {
	op, err := newOP(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		op.cancel()
		return nil, fmt.Errorf("fakeop: listen: %w", err)
	}
	if op.issuer == "" {
		op.issuer = "http://" + ln.Addr().String()
	}
	// A browser's logout waits for the fan-out: every attempt and the
	// backoff between them. Nothing else streams, so one write bound
	// above that serves every response.
	fanOut := time.Duration(op.cfg.attempts)*op.cfg.deliveryTimeout + op.cfg.backoff<<min(op.cfg.attempts, 20)
	srv := &http.Server{
		Handler:           op.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      fanOut + 30*time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // returns http.ErrServerClosed on Close
	}()
	op.closeServer = func() {
		_ = srv.Close()
		<-done
	}
	return op, nil
}

func newOP(opts []Option) (*OP, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			cfg.fail("nil option")
			continue
		}
		o(&cfg)
	}
	if hc := cfg.httpClient; hc != nil && cfg.targets != privateTargets && hc.Transport != nil {
		if _, ok := hc.Transport.(*http.Transport); !ok {
			cfg.fail("http client transport %T cannot carry the SSRF guard; add WithAllowPrivateTargets to use it unguarded", hc.Transport)
		}
	}
	if err := errors.Join(cfg.errs...); err != nil {
		return nil, err
	}
	op := &OP{
		cfg:      cfg,
		issuer:   cfg.issuer,
		log:      cfg.logger,
		clients:  map[string]*Client{},
		sessions: map[string]*session{},
		browsers: map[string]string{},
		logins:   map[*http.Client]string{},
		held:     map[string]*heldLogout{},
		codes:    map[string]*grant{},

		accessTokens: map[string]*accessToken{},
	}
	if op.log == nil {
		op.log = slog.Default()
	}
	op.key = cfg.key
	if op.key == nil {
		k, err := op.newKey()
		if err != nil {
			return nil, err
		}
		op.key = k
	}
	tmpl, err := parsePages()
	if err != nil {
		return nil, fmt.Errorf("fakeop: pages: %w", err)
	}
	op.tmpl = tmpl
	op.delivery = deliveryClient(cfg.httpClient, cfg.targets)
	op.ctx, op.cancel = context.WithCancel(context.Background())
	return op, nil
}

// newKey generates the next signing key; kids are "key-1", "key-2", …
func (op *OP) newKey() (*Key, error) {
	op.keySerial++
	return GenerateKey(op.cfg.alg, fmt.Sprintf("key-%d", op.keySerial))
}

// Close stops the server and cancels deliveries in flight, waiting for
// them; EndSession and EndUserSessions fail with ErrClosed afterwards.
// Safe to call more than once.
func (op *OP) Close() {
	op.closeOnce.Do(func() {
		op.mu.Lock()
		op.closed = true
		op.mu.Unlock()
		op.cancel()
		if op.closeServer != nil {
			op.closeServer()
		}
		op.wg.Wait()
		op.delivery.CloseIdleConnections()
	})
}

// Issuer returns the issuer URL, exactly as in tokens and discovery.
func (op *OP) Issuer() string { return op.issuer }

// JWKSURL returns the URL of the OP's key set.
func (op *OP) JWKSURL() string { return op.issuer + "/jwks" }

// DiscoveryURL returns the URL of the OP's discovery document.
func (op *OP) DiscoveryURL() string { return op.issuer + "/.well-known/openid-configuration" }

// Key returns the current signing key.
func (op *OP) Key() *Key {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.key
}

// Rotate makes a fresh key current and returns it. The old key stays in
// the JWKS until RetireOld, as a real OP keeps it for a grace period so
// tokens signed just before the rotation still verify.
func (op *OP) Rotate() (*Key, error) {
	op.mu.Lock()
	defer op.mu.Unlock()
	k, err := op.newKey()
	if err != nil {
		return nil, err
	}
	op.previous = append([]*Key{op.key}, op.previous...)
	op.retired = append([]*Key{op.key}, op.retired...)
	op.key = k
	return k, nil
}

// RetireOld removes every rotated-out key from the JWKS.
func (op *OP) RetireOld() {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.previous = nil
}

// SetJWKSFailure makes the JWKS endpoint answer status with an empty body;
// 0 restores it.
func (op *OP) SetJWKSFailure(status int) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.jwksStatus = status
}

// SetJWKSBody makes the JWKS endpoint serve body (garbage, or a key set of
// the test's choosing) with status 200; nil restores it.
func (op *OP) SetJWKSBody(body []byte) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.jwksBody = body
}

// JWKSFetches returns how many requests the JWKS endpoint has answered,
// failed ones included.
func (op *OP) JWKSFetches() int { return int(op.jwksFetches.Load()) }

// JWKS returns the key set the OP currently publishes.
func (op *OP) JWKS() []byte {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.jwksLocked()
}

func (op *OP) jwksLocked() []byte {
	keys := []map[string]any{op.key.PublicJWK()}
	for _, k := range op.previous {
		keys = append(keys, k.PublicJWK())
	}
	return JWKS(keys...)
}

// NewToken returns a valid logout token for audience with the OP's issuer,
// clock and typ, to customise and then Sign(op.Key()).
func (op *OP) NewToken(audience string) *Token {
	t := NewLogoutToken(op.issuer, audience, op.cfg.clock())
	if op.cfg.typ == "" {
		delete(t.Header, "typ")
	} else {
		t.Header["typ"] = op.cfg.typ
	}
	return t
}

// SignLogoutToken returns a valid logout token for audience signed by
// Key(); an empty sub or sid leaves that claim out.
func (op *OP) SignLogoutToken(audience, sub, sid string) (string, error) {
	t := op.NewToken(audience)
	setOrDelete(t.Claims, "sub", sub)
	setOrDelete(t.Claims, "sid", sid)
	return t.Sign(op.Key())
}

// LogoutToken is SignLogoutToken for tests: it returns "" on error (only a
// broken key can cause one), which any RP rejects.
func (op *OP) LogoutToken(audience, sub, sid string) string {
	s, err := op.SignLogoutToken(audience, sub, sid)
	if err != nil {
		op.log.Error("fakeop: sign logout token", "err", err)
		return ""
	}
	return s
}

func setOrDelete(m map[string]any, k, v string) {
	if v == "" {
		delete(m, k)
	} else {
		m[k] = v
	}
}

// Minter returns what Variants need to mint tokens for audience from this
// OP. Encryption is the encryption key of the client audience when it
// registered one, else EncryptionKey(). AttackerJWKSURL points at this OP's
// /attacker/jwks.json, which publishes OtherKey.
func (op *OP) Minter(audience string) Minter {
	other := op.attackerKey()
	op.mu.Lock()
	key, secret := op.key, []byte(nil)
	var enc *EncryptionKey
	if c, ok := op.clients[audience]; ok {
		secret, enc = []byte(c.Secret), c.Encryption
	}
	op.mu.Unlock()
	if enc == nil {
		enc = op.EncryptionKey()
	}
	return Minter{
		Key: key, OtherKey: other, Issuer: op.issuer, Audience: audience,
		Now: op.cfg.clock(), Secret: secret, Encryption: enc,
		AttackerJWKSURL: op.issuer + "/attacker/jwks.json",
	}
}

// EncryptionKey returns a default RP encryption key (RSA-OAEP-256,
// A256GCM), generated on first use: configure the RP under test with its
// PrivateJWKS() to accept the OP's encrypted variants. Nil only if key
// generation failed.
func (op *OP) EncryptionKey() *EncryptionKey {
	op.mu.Lock()
	defer op.mu.Unlock()
	if op.encKey == nil {
		k, err := GenerateEncryptionKey("rp-enc-1")
		if err != nil {
			op.log.Error("fakeop: generate encryption key", "err", err)
			return nil
		}
		op.encKey = k
	}
	return op.encKey
}

// attackerKey is generated on first use: RSA key generation costs a test
// noticeable time and most tests never need it.
func (op *OP) attackerKey() *Key {
	op.mu.Lock()
	defer op.mu.Unlock()
	if op.otherKey == nil {
		k, err := GenerateKey(op.key.Alg, "attacker-key")
		if err != nil {
			op.log.Error("fakeop: generate attacker key", "err", err)
			return nil
		}
		op.otherKey = k
	}
	return op.otherKey
}

func (op *OP) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", op.handleDiscovery)
	mux.HandleFunc("GET /.well-known/ssf-configuration", op.handleSSFConfiguration)
	mux.HandleFunc("GET /.well-known/risc-configuration", op.handleSSFConfiguration)
	mux.HandleFunc("GET /jwks", op.handleJWKS)
	mux.HandleFunc("GET /attacker/jwks.json", op.handleAttackerJWKS)
	mux.HandleFunc("GET /authorize", op.handleAuthorize)
	mux.HandleFunc("POST /authorize", op.handleLogin)
	mux.HandleFunc("POST /token", op.handleToken)
	mux.HandleFunc("GET /userinfo", op.handleUserInfo)
	mux.HandleFunc("POST /userinfo", op.handleUserInfo)
	mux.HandleFunc("GET /end_session", op.handleEndSession)
	mux.HandleFunc("POST /end_session", op.handleEndSession)
	mux.HandleFunc("POST /push_session_revoked", op.handlePushSessionRevoked)
	mux.HandleFunc("GET /{$}", op.handleHome)
	return mux
}

// handleDiscovery serves OpenID Connect Discovery 1.0 §3 metadata. It
// advertises only what the OP implements, since RP libraries pick their
// behaviour from it: PKCE S256 only (a code_challenge_method of plain, or
// none, is refused at /authorize), the three client authentications
// authenticateClient accepts, the query response mode alone.
func (op *OP) handleDiscovery(w http.ResponseWriter, _ *http.Request) {
	md := map[string]any{
		"issuer":                 op.issuer,
		"authorization_endpoint": op.issuer + "/authorize",
		"token_endpoint":         op.issuer + "/token",
		"userinfo_endpoint":      op.issuer + "/userinfo",
		"jwks_uri":               op.JWKSURL(),
		"end_session_endpoint":   op.issuer + "/end_session",
		"scopes_supported":       []string{"openid", "profile"},
		// What its ID tokens (handleToken) and userinfo answers carry.
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid", "name", "preferred_username"},
		"id_token_signing_alg_values_supported": []string{op.Key().Alg},
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"subject_types_supported":               []string{"public"},
		"grant_types_supported":                 []string{"authorization_code"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":      []string{"S256"},
		"backchannel_logout_supported":          true,
		"backchannel_logout_session_supported":  true,
		// end_session renders the frontchannel_logout_uri of each RP of
		// the session, with iss and sid (Front-Channel Logout 1.0 §3).
		"frontchannel_logout_supported":         true,
		"frontchannel_logout_session_supported": true,
	}
	if op.cfg.noEndSession {
		delete(md, "end_session_endpoint")
	}
	writeJSON(w, http.StatusOK, md)
}

func (op *OP) handleJWKS(w http.ResponseWriter, _ *http.Request) {
	op.jwksFetches.Add(1)
	op.mu.Lock()
	status, body := op.jwksStatus, op.jwksBody
	if status == 0 && body == nil {
		body = op.jwksLocked()
	}
	op.mu.Unlock()
	if status != 0 {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func (op *OP) handleAttackerJWKS(w http.ResponseWriter, _ *http.Request) {
	k := op.attackerKey()
	if k == nil {
		http.Error(w, "no attacker key", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(JWKS(k.PublicJWK()))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
