// undici's Agent on its own (its index also loads fetch, WebSocket, caches and mocks, which a run never uses).
declare module 'undici/lib/dispatcher/agent.js' {
  import { Agent } from 'undici'
  export default Agent
}
