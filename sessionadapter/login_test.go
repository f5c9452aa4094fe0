package sessionadapter_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/bclogout/bclogout/sessionadapter"
)

// oidcToken stands for coreos/go-oidc's *oidc.IDToken: its Claims
// unmarshals the verified payload.
type oidcToken struct{ payload string }

func (t *oidcToken) Claims(v any) error { return json.Unmarshal([]byte(t.payload), v) }

type failingToken struct{}

func (failingToken) Claims(any) error { return errors.New("no claims") }

func TestLoginFromIDToken(t *testing.T) {
	const iss = "https://op.example"
	tests := []struct {
		name    string
		tok     sessionadapter.IDToken
		want    sessionadapter.Login
		wantErr error
	}{
		{
			name: "go-oidc token with sid",
			tok:  &oidcToken{`{"iss":"https://op.example","sub":"alice","sid":"s1","iat":1700000000,"aud":"app","nonce":"n"}`},
			want: sessionadapter.Login{Issuer: iss, Subject: "alice", SessionID: "s1", IssuedAt: time.Unix(1700000000, 0)},
		},
		{
			name: "raw claims without sid",
			tok:  sessionadapter.RawClaims(`{"iss":"https://op.example","sub":"alice","iat":1700000000}`),
			want: sessionadapter.Login{Issuer: iss, Subject: "alice", IssuedAt: time.Unix(1700000000, 0)},
		},
		{
			name: "fractional iat",
			tok:  sessionadapter.RawClaims(`{"iss":"https://op.example","sub":"alice","iat":1700000000.5}`),
			want: sessionadapter.Login{Issuer: iss, Subject: "alice", IssuedAt: time.Unix(1700000000, 5e8)},
		},
		{name: "no iss", tok: sessionadapter.RawClaims(`{"sub":"alice","iat":1700000000}`), wantErr: sessionadapter.ErrInvalidLogin},
		{name: "no sub", tok: sessionadapter.RawClaims(`{"iss":"https://op.example","iat":1700000000}`), wantErr: sessionadapter.ErrInvalidLogin},
		{name: "no iat", tok: sessionadapter.RawClaims(`{"iss":"https://op.example","sub":"alice"}`), wantErr: sessionadapter.ErrInvalidLogin},
		{name: "null iat", tok: sessionadapter.RawClaims(`{"iss":"https://op.example","sub":"alice","iat":null}`), wantErr: sessionadapter.ErrInvalidLogin},
		{name: "string iat", tok: sessionadapter.RawClaims(`{"iss":"https://op.example","sub":"alice","iat":"1700000000"}`), wantErr: sessionadapter.ErrInvalidLogin},
		{name: "negative iat", tok: sessionadapter.RawClaims(`{"iss":"https://op.example","sub":"alice","iat":-1}`), wantErr: sessionadapter.ErrInvalidLogin},
		{name: "huge iat", tok: sessionadapter.RawClaims(`{"iss":"https://op.example","sub":"alice","iat":1e300}`), wantErr: sessionadapter.ErrInvalidLogin},
		{name: "sid not a string", tok: sessionadapter.RawClaims(`{"iss":"https://op.example","sub":"alice","sid":7,"iat":1}`), wantErr: sessionadapter.ErrInvalidLogin},
		{name: "not json", tok: sessionadapter.RawClaims(`eyJhbGciOi`), wantErr: sessionadapter.ErrInvalidLogin},
		{name: "claims fail", tok: failingToken{}, wantErr: sessionadapter.ErrInvalidLogin},
		{name: "case-variant iat ignored", tok: sessionadapter.RawClaims(`{"iss":"https://op.example","sub":"alice","iat":1700000000,"IAT":253402300000}`), want: sessionadapter.Login{Issuer: "https://op.example", Subject: "alice", IssuedAt: time.Unix(1700000000, 0)}},
		{name: "case-variant iat ignored through Claims", tok: &oidcToken{`{"iss":"https://op.example","sub":"alice","iat":1700000000,"IAT":253402300000}`}, want: sessionadapter.Login{Issuer: "https://op.example", Subject: "alice", IssuedAt: time.Unix(1700000000, 0)}},
		{name: "only a case-variant iat", tok: &oidcToken{`{"iss":"https://op.example","sub":"alice","IAT":1700000000}`}, wantErr: sessionadapter.ErrInvalidLogin},
		{name: "duplicate iat", tok: sessionadapter.RawClaims(`{"iss":"https://op.example","sub":"alice","iat":1,"iat":1700000000}`), wantErr: sessionadapter.ErrInvalidLogin},
		{name: "duplicate sub through Claims", tok: &oidcToken{`{"iss":"https://op.example","sub":"alice","sub":"bob","iat":1700000000}`}, wantErr: sessionadapter.ErrInvalidLogin},
		{name: "invalid UTF-8 through Claims", tok: &oidcToken{"{\"iss\":\"https://op.example\",\"sub\":\"al\xffice\",\"iat\":1700000000}"}, wantErr: sessionadapter.ErrInvalidLogin},
		{name: "claims not an object", tok: &oidcToken{`["iss"]`}, wantErr: sessionadapter.ErrInvalidLogin},
		{name: "nil token", tok: nil, wantErr: sessionadapter.ErrInvalidLogin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sessionadapter.LoginFromIDToken(tt.tok)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !got.IssuedAt.Equal(tt.want.IssuedAt) {
				t.Errorf("IssuedAt = %v, want %v", got.IssuedAt, tt.want.IssuedAt)
			}
			got.IssuedAt, tt.want.IssuedAt = time.Time{}, time.Time{}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLoginBinding(t *testing.T) {
	iat := time.Unix(1700000000, 0)
	exp := iat.Add(time.Hour)
	l := sessionadapter.Login{Issuer: "https://op.example", Subject: "alice", SessionID: "s1", IssuedAt: iat}
	got := l.Binding("local-1", exp)
	want := sessionadapter.Binding{Issuer: l.Issuer, Subject: "alice", SessionID: "s1", LocalID: "local-1", LoginTime: iat, Expires: exp}
	if got != want {
		t.Errorf("Binding = %+v, want %+v", got, want)
	}
}

// FuzzLoginFromIDToken: any payload gives a Login or an ErrInvalidLogin,
// never a panic, and a Login always has what a binding needs.
func FuzzLoginFromIDToken(f *testing.F) {
	f.Add([]byte(`{"iss":"https://op.example","sub":"alice","sid":"s1","iat":1700000000}`))
	f.Add([]byte(`{"iss":"i","sub":"s","iat":1.5e9}`))
	f.Add([]byte(`{"iss":"i","sub":"s","iat":9999999999999}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		l, err := sessionadapter.LoginFromIDToken(sessionadapter.RawClaims(payload))
		if err != nil {
			if !errors.Is(err, sessionadapter.ErrInvalidLogin) {
				t.Fatalf("err %v is not ErrInvalidLogin", err)
			}
			return
		}
		if l.Issuer == "" || l.Subject == "" || l.IssuedAt.Unix() <= 0 {
			t.Fatalf("incomplete login %+v", l)
		}
		if l.IssuedAt.UnixMilli()/1000 != l.IssuedAt.Unix() {
			t.Fatalf("iat %v does not survive UnixMilli", l.IssuedAt)
		}
	})
}
