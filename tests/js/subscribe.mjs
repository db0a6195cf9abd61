// Runs one GraphQL operation with the graphql-ws client (the one Apollo, urql and Relay use for subscriptions) and
// prints what happens as JSON lines, for the Python tests to read:
//   node subscribe.mjs <ws url> <connection params JSON> <operation> <variables JSON> <results wanted>
// {"type":"connected"} once the server acknowledged connection_init, {"type":"next","value":...} per result,
// {"type":"error","error":...} or {"type":"complete"} at the end. The process exits after the wanted results.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, params, query, variables, wanted] = process.argv.slice(2);
const out = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);
const describe = (error) => {
  if (error instanceof Error) return error.message;
  if (error && typeof error.code === 'number') return `closed ${error.code} ${error.reason}`;
  return JSON.stringify(error);
};

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: JSON.parse(params),
  retryAttempts: 0,
  lazy: false,
  on: { connected: () => out({ type: 'connected' }) },
});

let seen = 0;
const stop = client.subscribe({ query, variables: JSON.parse(variables) }, {
  next: (value) => {
    out({ type: 'next', value });
    seen += 1;
    if (seen >= Number(wanted)) {
      stop();
      client.dispose();
    }
  },
  error: (error) => {
    out({ type: 'error', error: describe(error) });
    process.exitCode = 1;
    client.dispose();
  },
  complete: () => {
    out({ type: 'complete' });
    client.dispose();
  },
});
