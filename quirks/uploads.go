package quirks

// UploadBehavior is how a request is answered as to blob uploads, mounts and repository creation.
type UploadBehavior struct{}
