//go:build !race

package ocitest

const raceEnabled = false
