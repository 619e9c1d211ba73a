// Sharding: which repositories one of n parallel jobs handles. A stable hash of the name, so every job agrees, and
// two shards never touch the same repository.
import type { Settings } from './types.js'

/** FNV-1a, 32 bits, over the UTF-8 bytes of the text. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash >>> 0
}

/** True when the repository belongs to the shard `index/total` (index counts from 1); no shard = every repository. */
export function inShard(name: string, shard: Settings['shard']): boolean {
  if (!shard) return true
  return (fnv1a32(name) % shard.total) + 1 === shard.index
}
