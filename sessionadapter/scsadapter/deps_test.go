package scsadapter_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoRedisClient: the adapter links no Redis client, so an app on scs
// (with redigo for scs's redisstore, or none) gets go-redis only if it
// imports redisadapter or redisreplay itself. redisstore and redigo are
// test dependencies only.
func TestNoRedisClient(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is needed to list dependencies")
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range []string{"github.com/redis/go-redis", "github.com/gomodule/redigo", "github.com/alexedwards/scs/redisstore"} {
			if strings.HasPrefix(dep, bad) {
				t.Errorf("scsadapter links %s", dep)
			}
		}
	}
}
