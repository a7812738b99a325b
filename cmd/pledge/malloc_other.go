//go:build !linux || !cgo

package main
