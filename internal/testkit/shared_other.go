//go:build !linux

package testkit

import "os/exec"

// dieWithParent: only Linux can have the kernel kill a child with its parent.
func dieWithParent(*exec.Cmd) {}
