//! Fractal heaps (spec III.G): header `FRHP`, direct blocks `FHDB`, indirect blocks `FHIB`.
//! TODO: implemented by the v2-structures work.
