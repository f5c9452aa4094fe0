package redisadapter

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/sessionadapter"
)

// Field names in a sid revocation hash: "=" + the token's sub ("=" alone
// when it had none), and anySub, which every sid revocation updates, for
// bindings whose sub is unknown.
const anySub = "*"

// revokeScript: KEYS[1] the sid or sub revocation. ARGV: kind ("sid" or
// "sub"), logout ms, keep ms, fields (sid only).
var revokeScript = redis.NewScript(`
local at, keep = tonumber(ARGV[2]), tonumber(ARGV[3])
if ARGV[1] == 'sid' then
  for i = 4, #ARGV do
    local cur = redis.call('HGET', KEYS[1], ARGV[i])
    if not cur or at > tonumber(cur) then redis.call('HSET', KEYS[1], ARGV[i], ARGV[2]) end
  end
else
  local cur = redis.call('GET', KEYS[1])
  if not cur or at > tonumber(cur) then redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL') end
end
if redis.call('PTTL', KEYS[1]) < keep then redis.call('PEXPIRE', KEYS[1], keep) end
return 1
`)

// revokedScript: KEYS the sid revocation (if ARGV[2] > 0 fields) and the
// sub revocation (if ARGV[3] == '1', last). ARGV: login ms, field count,
// sub flag, fields.
var revokedScript = redis.NewScript(`
local login, nf = tonumber(ARGV[1]), tonumber(ARGV[2])
local function hit(v) return v and tonumber(v) >= login end
for i = 1, nf do
  if hit(redis.call('HGET', KEYS[1], ARGV[3 + i])) then return 1 end
end
if ARGV[3] == '1' and hit(redis.call('GET', KEYS[#KEYS])) then return 1 end
return 0
`)

// Revocations is a sessionadapter.Revocations in Redis, shared by every
// replica that uses the same Redis and key prefix. Revoke and Revoked are
// one round trip each; revocations expire with Redis TTLs. Safe for
// concurrent use.
type Revocations struct {
	client redis.UniversalClient
	prefix string
	now    func() time.Time
}

var _ sessionadapter.Revocations = (*Revocations)(nil)

// NewRevocations returns Revocations over client. It reads WithKeyPrefix
// and WithClock (for logouts without IssuedAt). With a cluster client the
// prefix must hold a hash tag.
func NewRevocations(client redis.UniversalClient, opts ...Option) (*Revocations, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil redis client", sessionadapter.ErrInvalidConfig)
	}
	cfg, err := newConfig(opts, sharded(client))
	if err != nil {
		return nil, err
	}
	return &Revocations{client: client, prefix: cfg.prefix, now: cfg.now}, nil
}

// Revoke implements sessionadapter.Revocations.
func (r *Revocations) Revoke(ctx context.Context, l sessionadapter.Logout, keepFor time.Duration) error {
	if err := l.Validate(); err != nil {
		return err
	}
	if keepFor <= 0 {
		return fmt.Errorf("%w: keep revocations for %v, which is not positive", sessionadapter.ErrInvalidConfig, keepFor)
	}
	at := l.IssuedAt
	if at.IsZero() {
		at = r.now()
	}
	keep := max(keepFor.Milliseconds(), 1)
	var err error
	if l.SessionID != "" {
		err = revokeScript.Run(ctx, r.client, []string{key(r.prefix, "rs:", l.Issuer, l.SessionID)},
			"sid", at.UnixMilli(), keep, "="+l.Subject, anySub).Err()
	} else {
		err = revokeScript.Run(ctx, r.client, []string{key(r.prefix, "ru:", l.Issuer, l.Subject)},
			"sub", at.UnixMilli(), keep).Err()
	}
	if err != nil {
		return fmt.Errorf("%w: revoke: %w", ErrRedis, err)
	}
	return nil
}

// Revoked implements sessionadapter.Revocations.
func (r *Revocations) Revoked(ctx context.Context, b sessionadapter.Binding) (bool, error) {
	var keys []string
	var fields []any
	if b.SessionID != "" {
		keys = append(keys, key(r.prefix, "rs:", b.Issuer, b.SessionID))
		if b.Subject == "" {
			fields = append(fields, anySub)
		} else {
			fields = append(fields, "=", "="+b.Subject)
		}
	}
	subFlag := "0"
	if b.Subject != "" {
		keys = append(keys, key(r.prefix, "ru:", b.Issuer, b.Subject))
		subFlag = "1"
	}
	if len(keys) == 0 {
		return false, nil
	}
	args := append([]any{b.LoginTime.UnixMilli(), len(fields), subFlag}, fields...)
	n, err := revokedScript.Run(ctx, r.client, keys, args...).Int()
	if err != nil {
		return false, fmt.Errorf("%w: revoked: %w", ErrRedis, err)
	}
	return n == 1, nil
}
