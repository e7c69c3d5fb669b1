// The graphql-ws client (what Apollo Client, urql and Relay use for subscriptions) against a
// running Starling: subscribes, prints "ready" once the server acknowledged the connection, then
// prints each event as one JSON line and exits after the count asked for.
// Usage: node subscribe.cjs <ws url> <token> <query> <variables JSON> <events>
const { createClient } = require("graphql-ws");
const WebSocket = require("ws");

const [url, token, query, variables, wanted] = process.argv.slice(2);
const print = (value) => console.log(JSON.stringify(value));
let seen = 0;
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${token}` },
  retryAttempts: 0,
  on: { connected: () => print({ ready: true }) },
});
client.subscribe(
  { query, variables: JSON.parse(variables) },
  {
    next: (value) => {
      print({ next: value });
      seen += 1;
      if (seen >= Number(wanted)) {
        client.dispose();
        process.exit(0);
      }
    },
    error: (error) => {
      print({ error: error instanceof Error ? error.message : { code: error.code, reason: error.reason } });
      process.exit(1);
    },
    complete: () => {
      print({ complete: true });
      process.exit(0);
    },
  },
);
