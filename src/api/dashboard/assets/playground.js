// Playground: an expression evaluated against a sample record by the job's `parseExpression` (the result, or
// the error with its position marked in the expression), and a box to paste a SCIM bulk request and upload it
// (the answer's status and `Location`). The upload is a client's request like any other: it is journaled.

import { $, fill, h } from "./dom.js";
import { graph, jobPath, jobs } from "./api.js";
import { failed, report } from "./app.js";

const SAMPLE_UPLOAD = {
  schemas: ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
  Operations: [
    {
      method: "POST",
      bulkId: "701984",
      path: "/Users",
      data: {
        schemas: [
          "urn:ietf:params:scim:schemas:core:2.0:User",
          "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        ],
        externalId: "701984",
        userName: "bjensen@example.com",
        name: { givenName: "Barbara", familyName: "Jensen" },
        displayName: "Babs Jensen",
        active: true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { department: "Tour Operations" },
      },
    },
  ],
  failOnErrors: null,
};

export function init() {
  $("#upload-body").value = JSON.stringify(SAMPLE_UPLOAD, null, 2);
  $("#expr-form").addEventListener("submit", (event) => {
    event.preventDefault();
    evaluate().catch(failed);
  });
  $("#upload-form").addEventListener("submit", (event) => {
    event.preventDefault();
    upload().catch(failed);
  });
}

export async function open() {
  for (const select of [$("#expr-job"), $("#upload-job")]) {
    if (select.options.length) continue;
    jobs().forEach((job, i) => select.append(h("option", { value: String(i) }, job.id)));
  }
}

const chosen = (select) => jobs()[Number(select.value) || 0];

async function evaluate() {
  const out = $("#expr-result");
  const expression = $("#expr-input").value;
  let record;
  try {
    record = JSON.parse($("#expr-record").value || "{}");
    if (typeof record !== "object" || record === null || Array.isArray(record)) throw new Error("not an object");
  } catch (err) {
    fill(out, h("p", { className: "error-text" }, `The sample record is not a JSON object: ${err.message}`));
    return;
  }
  const properties = Object.entries(record).map(([key, value]) => ({
    key,
    value: typeof value === "string" ? value : JSON.stringify(value),
  }));
  const answer = await graph(`${jobPath(chosen($("#expr-job")))}/schema/parseExpression`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      expression,
      testInputObject: { definition: null, properties },
      targetAttributeDefinition: null,
    }),
  });
  if (answer.evaluationSucceeded) {
    const values = answer.evaluationResult || [];
    fill(
      out,
      h("p", { className: "ok-text" }, "Result"),
      h(
        "output",
        { className: "value", htmlFor: "expr-input" },
        values.length ? values.join("\n") : "(null: no value)",
      ),
    );
    return;
  }
  const error = answer.error || {};
  const position = /at position (\d+)(?!.*at position \d)/.exec(error.message || "");
  fill(
    out,
    h(
      "p",
      { className: "error-text" },
      h("strong", {}, error.code || (answer.parsingSucceeded ? "Evaluation failed" : "Parsing failed")),
      `: ${error.message || ""}`,
    ),
    position ? marked(expression, Number(position[1])) : null,
  );
}

/** The expression with the character at `at` marked (a caret after the end when it is past it). */
function marked(expression, at) {
  const chars = [...expression];
  const before = chars.slice(0, at).join("");
  const here = chars[at] ?? " ";
  const after = chars.slice(at + 1).join("");
  return h(
    "pre",
    { className: "expr-error", "aria-label": `Error at position ${at}` },
    before,
    h("mark", {}, here),
    after,
  );
}

async function upload() {
  const out = $("#upload-result");
  const job = chosen($("#upload-job"));
  const response = await graph(`${jobPath(job)}/bulkUpload`, {
    method: "POST",
    headers: { "Content-Type": $("#upload-type").value },
    body: $("#upload-body").value,
    raw: true,
    journal: true,
  });
  const location = response.headers.get("Location");
  const text = await response.text();
  let body = text;
  try {
    body = text ? JSON.stringify(JSON.parse(text), null, 2) : "";
  } catch {
    // Shown as it came.
  }
  fill(
    out,
    h(
      "p",
      { className: response.ok ? "ok-text" : "error-text" },
      h("strong", { className: "upload-status" }, `${response.status} ${response.statusText}`),
    ),
    location
      ? h(
          "p",
          {},
          "Location: ",
          h("code", { className: "location" }, location),
          " — ",
          h("a", { href: "#logs" }, "see the log entries"),
        )
      : null,
    body ? h("pre", { className: "body" }, body) : null,
  );
  report(`Upload answered ${response.status}.`, !response.ok);
}
