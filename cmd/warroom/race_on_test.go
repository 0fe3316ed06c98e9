//go:build race

package main

// raceSlowdown is how much slower warroom runs under the race detector:
// load tests stretch their windows by it so they still prove something.
const raceSlowdown = 4
