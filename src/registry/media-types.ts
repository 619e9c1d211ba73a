// The manifest media types a registry can answer with, and how the inventory classifies them.
import type { ManifestKind } from '../types.js'

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
} as const

/**
 * Sent on every manifest request. Without all four, Distribution 2.8 answers an OCI manifest with 404, converts a
 * Docker v2 manifest to schema1 (another digest), and resolves a manifest list to its linux/amd64 child.
 */
export const MANIFEST_ACCEPT = [
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.dockerList,
  MEDIA_TYPES.dockerManifest,
].join(', ')

export function manifestKind(mediaType: string): ManifestKind {
  switch (mediaType) {
    case MEDIA_TYPES.ociIndex:
    case MEDIA_TYPES.dockerList:
      return 'index'
    case MEDIA_TYPES.ociManifest:
    case MEDIA_TYPES.dockerManifest:
      return 'image'
    case MEDIA_TYPES.dockerSchema1:
    case MEDIA_TYPES.dockerSchema1Signed:
      return 'schema1'
    default:
      return 'unknown'
  }
}

/** Config media types whose blob is an image config with a `created` field (artifacts use others). */
export const isImageConfigMediaType = (mediaType: string | undefined): boolean =>
  mediaType === MEDIA_TYPES.ociConfig || mediaType === MEDIA_TYPES.dockerConfig
