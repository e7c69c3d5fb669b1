// PostGraphile v4 over the benchmark database, tuned for reads as its docs advise for production
// (no GraphiQL, no watch, no extended errors, query caching on): the GraphQL peer of bench.compare.
//   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/starling_bench PORT=8802 node server.cjs
const http = require("http");
const { postgraphile } = require("postgraphile");

const middleware = postgraphile(process.env.DATABASE_URL, "public", {
  disableDefaultMutations: true,
  graphiql: false,
  watchPg: false,
  retryOnInitFail: false,
  setofFunctionsContainNulls: false,
  ignoreRBAC: false,
  disableQueryLog: true,
  enableQueryBatching: false,
});

http.createServer(middleware).listen(Number(process.env.PORT || 8802), "127.0.0.1");
