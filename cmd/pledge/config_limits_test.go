package main

import (
	"errors"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/server"
)

// TestValidateParsesLimits: Validate hands Open the limits parsed, so serve never parses them
// again; an unset overall donate cap stays zero, for the server's default (ten times the
// per-client limit), and a bad one names its variable.
func TestValidateParsesLimits(t *testing.T) {
	cfg := ConfigFromEnv(env("PLEDGE_DEMO", "1", "PLEDGE_DONATE_LIMIT", "3/1m", "PLEDGE_REMIND_LIMIT", "7/2h"))
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ got, want server.Limit }{
		"donate":       {cfg.donateLimit, server.Limit{N: 3, Per: time.Minute}},
		"remind":       {cfg.remindLimit, server.Limit{N: 7, Per: 2 * time.Hour}},
		"view cap":     {cfg.promptViewCap, server.Limit{N: 4, Per: 720 * time.Hour}},
		"donate total": {cfg.donateGlobal, server.Limit{}},
	} {
		if c.got != c.want {
			t.Errorf("%s: %+v, want %+v", name, c.got, c.want)
		}
	}
	cfg = ConfigFromEnv(env("PLEDGE_DEMO", "1", "PLEDGE_DONATE_GLOBAL_LIMIT", "50/1h"))
	if err := cfg.Validate(); err != nil || cfg.donateGlobal != (server.Limit{N: 50, Per: time.Hour}) {
		t.Errorf("overall cap: %+v (%v)", cfg.donateGlobal, err)
	}
	cfg = ConfigFromEnv(env("PLEDGE_DEMO", "1", "PLEDGE_DONATE_GLOBAL_LIMIT", "lots"))
	var ce *ConfigError
	if err := cfg.Validate(); !errors.As(err, &ce) || ce.Var != "PLEDGE_DONATE_GLOBAL_LIMIT" {
		t.Errorf("bad overall cap: %v", err)
	}
}

// TestInstancesShareTheLimits: with PLEDGE_INSTANCES=N each instance enforces its share of the
// card-testing limits, so N instances together never allow more than the limit; a bad count
// names its variable.
func TestInstancesShareTheLimits(t *testing.T) {
	cfg := ConfigFromEnv(env("PLEDGE_DEMO", "1", "PLEDGE_INSTANCES", "3", "PLEDGE_DONATE_LIMIT", "10/10m",
		"PLEDGE_REMIND_LIMIT", "2/1m", "PLEDGE_DONATE_GLOBAL_LIMIT", "100/1h"))
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ got, want server.Limit }{
		"donate":       {cfg.donateLimit, server.Limit{N: 3, Per: 10 * time.Minute}},
		"remind":       {cfg.remindLimit, server.Limit{N: 1, Per: time.Minute}},
		"donate total": {cfg.donateGlobal, server.Limit{N: 33, Per: time.Hour}},
		"view cap":     {cfg.promptViewCap, server.Limit{N: 4, Per: 720 * time.Hour}},
	} {
		if c.got != c.want {
			t.Errorf("%s: %+v, want %+v", name, c.got, c.want)
		}
	}
	for _, bad := range []string{"0", "-1", "two", "1001"} {
		cfg := ConfigFromEnv(env("PLEDGE_DEMO", "1", "PLEDGE_INSTANCES", bad))
		var ce *ConfigError
		if err := cfg.Validate(); !errors.As(err, &ce) || ce.Var != "PLEDGE_INSTANCES" {
			t.Errorf("PLEDGE_INSTANCES=%s: %v", bad, err)
		}
	}
}
