// Validates Kubernetes manifests offline against the API's OpenAPI schema, as compiled into the
// kubernetes-models package (types, formats, enums, required fields of every object):
//   node schema_check.cjs FILE.yaml...
// Prints one line per document and every violation with its path; exits 1 when any document
// is invalid or of a kind the package does not know.
"use strict";
const fs = require("fs");
const YAML = require("yaml");

function modelOf(apiVersion, kind) {
  const group = apiVersion.includes("/") ? apiVersion : `${apiVersion}`;
  let models;
  try {
    models = require(`kubernetes-models/${group}`);
  } catch (e) {
    return null;
  }
  return models[kind] || null;
}

let failed = false;
for (const file of process.argv.slice(2)) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
  docs.forEach((doc, i) => {
    const where = `${file}#${i + 1}`;
    if (doc.errors.length) {
      failed = true;
      console.log(`${where}: not YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
      return;
    }
    const obj = doc.toJS();
    if (obj === null) return;
    const Model = modelOf(String(obj.apiVersion), String(obj.kind));
    if (!Model) {
      failed = true;
      console.log(`${where}: unknown kind ${obj.apiVersion}/${obj.kind}`);
      return;
    }
    try {
      new Model(obj).validate();
      console.log(`${where}: ${obj.kind} ${obj.metadata && obj.metadata.name}: valid`);
    } catch (e) {
      failed = true;
      console.log(`${where}: ${obj.kind} ${obj.metadata && obj.metadata.name}: ${e.message}`);
    }
  });
}
process.exit(failed ? 1 : 0);
