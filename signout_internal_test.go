package bclogout

import (
	"net/url"
	"testing"
)

// Cognito is recognised by its issuer, whatever domain its /logout is on.
func TestCognitoIssuer(t *testing.T) {
	tests := []struct {
		issuer string
		want   bool
	}{
		{"https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123", true},
		{"https://cognito-idp-fips.us-gov-west-1.amazonaws.com/us-gov-west-1_X", true},
		{"https://cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_X", true},
		{"https://Cognito-IDP.eu-west-1.amazonaws.com/eu-west-1_X", true},
		{"https://auth.example.amazoncognito.com", false},
		{"https://cognito-idp.eu-west-1.amazonaws.com.evil.example/x", false},
		{"https://login.microsoftonline.com/tenant/v2.0", false},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.issuer)
		if err != nil {
			t.Fatal(err)
		}
		if got := cognitoIssuer(u); got != tt.want {
			t.Errorf("cognitoIssuer(%s) = %v, want %v", tt.issuer, got, tt.want)
		}
	}
}
