package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/bclogout/bclogout/internal/opkit"
)

func TestParseClient(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		want    opkit.Client
		wantErr string // substring of the error; "" for none
	}{
		{name: "id only", value: "id=a", want: opkit.Client{ID: "a"}},
		{
			name:  "every member",
			value: "id=web,secret=s=3,redirect=http://h/cb,redirect=http://h/cb2,logout=http://h/bc,post_logout=http://h/,post_logout=http://h/bye,session_required=true",
			want: opkit.Client{
				ID: "web", Secret: "s=3", RedirectURIs: []string{"http://h/cb", "http://h/cb2"},
				BackchannelLogoutURI: "http://h/bc", PostLogoutRedirectURIs: []string{"http://h/", "http://h/bye"},
				SessionRequired: true,
			},
		},
		{name: "session_required false", value: "id=a,session_required=false", want: opkit.Client{ID: "a"}},
		{name: "session_required yes", value: "id=a,session_required=yes", wantErr: "session_required takes true or false"},
		{name: "old member name", value: "id=a,post_logout_redirect=http://h/", wantErr: `unknown member "post_logout_redirect"`},
		{name: "no id", value: "secret=x", wantErr: "id is required"},
		{name: "not key=value", value: "id=a,post_logout", wantErr: "is not KEY=VALUE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseClient(tt.value)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestOPHelpDocumentsClientMembers(t *testing.T) {
	code, out, _ := runCmd(t, "", "op", "--help")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, member := range []string{"id=ID", "secret=S", "redirect=URL", "logout=URL", "post_logout=URL", "session_required=true"} {
		if !strings.Contains(out, "\n    "+"  "+member) {
			t.Errorf("DESCRIPTION does not list member %s", member)
		}
	}
	if !strings.Contains(out, "post_logout=http://localhost:3000/,post_logout=") {
		t.Error("EXAMPLES lack a client with several post_logout members")
	}
}
