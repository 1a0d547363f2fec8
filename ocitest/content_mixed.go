package ocitest

import ocispec "github.com/opencontainers/image-spec/specs-go/v1"

// MixedMediaTypes makes NewImage generate what some registries store and
// serve although neither spec describes it: a Docker schema2 manifest
// (application/vnd.docker.distribution.manifest.v2+json) with a Docker
// config whose layers carry the OCI layer media type
// application/vnd.oci.image.layer.v1.tar+gzip. containers/image refused
// such manifests ("unsupported docker v2s2 media type") when mirroring
// them; docker and containerd accept them. It is content, not a server
// quirk: push it with Registry.PushImage or over HTTP and the registry
// keeps and serves it as pushed. With NewIndex it only makes the list a
// Docker one; give it Children made with MixedMediaTypes for mixed images.
//
// Catalog id mixed-docker-oci-manifest. Evidence:
// https://github.com/containers/image/issues/2972,
// https://github.com/containers/container-libs/pull/978
func MixedMediaTypes() ContentOption {
	return func(c *contentConfig) { c.docker, c.mixed = true, true }
}

// mixedLayerType is the layer media type NewImage uses: the OCI one for
// MixedMediaTypes, layerType otherwise.
func mixedLayerType(c *contentConfig, layerType string) string {
	if c.mixed {
		return ocispec.MediaTypeImageLayerGzip
	}
	return layerType
}
