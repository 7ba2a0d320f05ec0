// undici's Agent module on its own. The package's index also evaluates fetch, WebSocket, caches
// and mocks, which the relay never uses: ~100 ms more of a cold start (see upstream-agent.ts).
declare module 'undici/lib/dispatcher/agent.js' {
  import { Agent } from 'undici';
  export = Agent;
}
