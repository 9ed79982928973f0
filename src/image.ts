/**
 * The repository of the reconciler image. The release workflow (.github/workflows/release.yml, generated from
 * projenrc/release.ts) pushes each release to it, tagged with the package's version, and the install's default
 * image is `<this>:<version of this package>`: the two read this one constant.
 */
export const RECONCILER_IMAGE_REPOSITORY = 'ghcr.io/cdk8s-azure/reconciler';
