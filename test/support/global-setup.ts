// Vitest global setup for the main test run: every run starts a fresh `.test-artifacts/` for the final secret scan.
import { resetArtifacts } from './artifacts.js'

export default function setup(): void {
  resetArtifacts()
}
