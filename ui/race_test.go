//go:build race

package ui

import "time"

// Under the race detector the fake's scan of 100k groups takes longer than
// the driver's usual wait for quiet.
func init() { quiet = 400 * time.Millisecond }
