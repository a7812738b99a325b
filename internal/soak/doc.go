// Package soak holds Pledge's reliability tests against a real `pledge serve` child process and
// a real stripe-mock: a soak of 200 concurrent clients mixing the reader routes and Stripe's
// webhook, a kill -9 in the middle of load followed by a restart, and Stripe faults injected by
// testkit.FaultProxy. `go test` runs them for SOAK_DURATION (a few seconds by default);
// `make soak` runs them for a minute.
package soak
