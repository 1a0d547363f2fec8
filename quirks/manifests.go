package quirks

// ManifestBehavior is how a request is answered as to manifest validation, media types and content negotiation.
type ManifestBehavior struct{}
