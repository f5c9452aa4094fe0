package rp_test

// Other form parameters never cost a valid logout: the handler reads only
// logout_token, where url.ParseQuery would refuse the whole body for a
// malformed escape elsewhere.

import (
	"errors"
	"net/http"
	"testing"
)

// TestHandlerMalformedOtherParamIgnored: spec §2.5 says
// parameters other than logout_token "MUST be ignored", but one malformed
// percent-escape in any other parameter makes url.ParseQuery fail and the
// handler answers 400 to a valid logout, which most OPs never retry.
func TestHandlerMalformedOtherParamIgnored(t *testing.T) {
	for name, extra := range map[string]string{
		"bad escape in another value": "&state=50%",
		"bad escape in another name":  "&x%zz=1",
	} {
		t.Run(name, func(t *testing.T) {
			env := newHandlerEnv(t, nil)
			w := post(env.h, formBody(mint(t, nil))+extra)
			if w.Code != http.StatusOK {
				t.Errorf("valid logout_token with an unrelated parameter %q: status %d, want 200 (%v)", extra, w.Code, errors.Join(env.rejected...))
			}
		})
	}
}
