// The GraphQL-over-HTTP audit of the graphql-http package against a running server. Prints each
// result that is not "ok" and the totals as JSON on the last line.
import { auditServer } from "graphql-http";

const url = process.argv[2];
const results = await auditServer({ url });
const counts = { ok: 0, warn: 0, error: 0 };
const problems = [];
for (const result of results) {
  counts[result.status] += 1;
  if (result.status !== "ok") {
    problems.push({ id: result.id, status: result.status, name: result.name, reason: result.reason });
  }
}
console.log(JSON.stringify({ counts, problems }));
