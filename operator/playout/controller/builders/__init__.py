"""Pure functions from a spec to the child manifests that realise it."""
