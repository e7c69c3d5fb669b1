// Apollo Client's own persisted-query link against a running Starling: the first query sends
// only its hash over GET, hears PERSISTED_QUERY_NOT_FOUND, and resends the text over POST; the
// second is a hash-only GET that the server now knows. Prints what happened as JSON.
const { ApolloClient, InMemoryCache, HttpLink, gql } = require("@apollo/client/core");
const { createPersistedQueryLink } = require("@apollo/client/link/persisted-queries");
const { createHash } = require("node:crypto");

const uri = process.argv[2];
const calls = [];
async function recordingFetch(url, init) {
  const response = await fetch(url, init);
  const body = await response.clone().json();
  calls.push({ method: init.method || "GET", status: response.status, body });
  return response;
}

const link = createPersistedQueryLink({
  sha256: (text) => createHash("sha256").update(text).digest("hex"),
  useGETForHashedQueries: true,
}).concat(new HttpLink({ uri, fetch: recordingFetch }));
const client = new ApolloClient({ link, cache: new InMemoryCache() });
const query = gql`
  query Who($name: String!) {
    user(username: $name) {
      username
    }
  }
`;

(async () => {
  const first = await client.query({ query, variables: { name: "ada" }, fetchPolicy: "network-only" });
  const second = await client.query({ query, variables: { name: "ada" }, fetchPolicy: "network-only" });
  console.log(JSON.stringify({ first: first.data, second: second.data, calls }));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
