// Preloaded (NODE_OPTIONS=--require) by `bench/reconciler-footprint.ts --source-maps=false`: turns off the source-map
// support that the image's `node --enable-source-maps` turns on, before the bundle loads, to measure what it costs.
process.setSourceMapsEnabled(false);
