// How far the heap may grow past what is live before V8 collects it (issue 15: memory under 300 MB at 100,000 tags).
// When collecting is cheap, V8 lets the old generation grow to about four times its live data. A run's live data is
// small, but much of its garbage outlives a young-generation collection (a repository's manifests live until it is
// planned), so most of the peak RSS was garbage waiting for a full collection. Growing by half instead keeps the peak
// near the live data; a full collection of a run's heap takes about 10 ms. Imported first by each entry point.
import { setFlagsFromString } from 'node:v8'

setFlagsFromString('--heap-growing-percent=50')
