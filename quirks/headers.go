package quirks

// HeaderBehavior is how a request is answered as to response headers and metadata.
type HeaderBehavior struct{}
