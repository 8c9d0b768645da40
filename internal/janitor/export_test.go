package janitor

// MayHoldExpired exposes Secret.mayHoldExpired to the tests.
var MayHoldExpired = Secret.mayHoldExpired
