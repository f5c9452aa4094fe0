package opkit

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// RedeemCode is what a test app's login callback does with the code the
// OP sent it: POST it to tokenURL as a confidential client
// (client_secret_basic), and hand back the OP's answer, which the caller
// reads and closes.
func RedeemCode(ctx context.Context, tokenURL, clientID, secret, code, redirectURI string) (*http.Response, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	return http.DefaultClient.Do(req)
}
