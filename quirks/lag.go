package quirks

// LagBehavior is how a request is answered as to read-after-write consistency.
type LagBehavior struct{}
