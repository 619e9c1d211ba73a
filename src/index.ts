// Entry point of the Action bundle (dist/index.js). The shim must come first: see src/shim.ts.
import './shim.js'
import './heap.js'
import { run } from './main.js'

await run()
