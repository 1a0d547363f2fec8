package quirks

// DownloadBehavior is how a request is answered as to blob downloads, tags immutability and deletion.
type DownloadBehavior struct{}
