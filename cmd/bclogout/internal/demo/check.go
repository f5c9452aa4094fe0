package demo

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// CheckResult is the outcome of one self-check token.
type CheckResult struct {
	Name   string // "valid" or "forged"
	Status int    // the RP's HTTP status
	Reason string // the class of a rejection, as rp labels it for metrics
	OK     bool   // the RP did what it must: 200 for valid, 400 for forged
}

func (c CheckResult) String() string {
	verdict := "as expected"
	if !c.OK {
		verdict = "UNEXPECTED"
	}
	outcome := "accepted"
	if c.Status != http.StatusOK {
		outcome = "rejected, reason " + c.Reason
	}
	return fmt.Sprintf("%s logout token: %d %s (%s)", c.Name, c.Status, outcome, verdict)
}

// SelfCheck sends RP alpha one valid logout token, for an OP session
// nobody holds, and one forged token, signed by a key the OP does not
// publish, and reports what alpha answered.
func (d *Demo) SelfCheck(ctx context.Context) ([]CheckResult, error) {
	valid, err := d.op.SignLogoutToken(d.alpha.name, "", "self-check-"+randomID())
	if err != nil {
		return nil, err
	}
	forged, err := d.ForgeLogoutToken(d.alpha.name, "self-check-"+randomID())
	if err != nil {
		return nil, err
	}
	var out []CheckResult
	for _, c := range []struct {
		name, token string
		want        int
	}{{"valid", valid, http.StatusOK}, {"forged", forged, http.StatusBadRequest}} {
		status, err := d.PostLogoutToken(ctx, d.alpha.base+logoutPath, c.token)
		if err != nil {
			return nil, err
		}
		r := CheckResult{Name: c.name, Status: status, OK: status == c.want}
		if evs := d.alpha.events.list(); len(evs) > 0 {
			r.Reason = evs[0].Reason
		}
		out = append(out, r)
	}
	return out, nil
}

// ForgeLogoutToken returns a logout token for sid at the RP client that
// looks right in every claim but is signed by the attacker's key, which the
// OP does not publish.
func (d *Demo) ForgeLogoutToken(clientID, sid string) (string, error) {
	m := d.op.Minter(clientID)
	t := d.op.NewToken(clientID)
	delete(t.Claims, "sub")
	t.Claims["sid"] = sid
	return t.Sign(m.OtherKey)
}

// LogoutURL returns the back-channel logout endpoint of RP "alpha" or
// "beta".
func (d *Demo) LogoutURL(rpName string) string {
	if rpName == d.beta.name {
		return d.beta.base + logoutPath
	}
	return d.alpha.base + logoutPath
}

// PostLogoutToken posts token to an RP's endpoint as the OP does and
// returns the status.
func (d *Demo) PostLogoutToken(ctx context.Context, endpoint, token string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := d.httpClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("demo: posting logout token: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}
