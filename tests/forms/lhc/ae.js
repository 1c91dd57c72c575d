// Fills the compiled adverse event Questionnaire in LHC-Forms and evaluates its grade rules
// (questionnaire-constraint, answerOptionsToggleExpression) with LHC-Forms' own FHIRPath engine
// on the QuestionnaireResponse LHC-Forms produces. LHC-Forms 40 does not apply those two
// extensions itself; this shows that the expressions hold on a real renderer's response.
// Input (stdin, JSON): {"lforms": dir, "questionnaire": {...}, "valueSet": {... with expansion},
//   "cases": [{"<linkId>": option code or boolean, ...}, ...]}
// Output: {"results": [{"constraints": {key: value}, "toggles": {option code: value}}], "errors"}
"use strict";
const fs = require("fs");
const { load } = require("./dom");

const CONSTRAINT = "http://hl7.org/fhir/StructureDefinition/questionnaire-constraint";
const TOGGLE = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-answerOptionsToggleExpression";

function part(extension, url) {
  return extension.extension.find((e) => e.url === url);
}

async function main() {
  const job = JSON.parse(fs.readFileSync(0, "utf8"));
  const { window, errors } = load(job.lforms);
  const LForms = window.LForms;
  const fhirpath = LForms.FHIR.R4.fhirpath;
  const model = LForms.FHIR.R4.fhirpathModel;
  // No terminology server here: the term ValueSet (with its expansion) goes in as contained.
  const questionnaire = JSON.parse(JSON.stringify(job.questionnaire));
  questionnaire.contained = [{ ...job.valueSet, id: "ae-terms" }];
  for (const item of questionnaire.item) {
    if (item.answerValueSet === `${job.valueSet.url}|${job.valueSet.version}`) item.answerValueSet = "#ae-terms";
  }
  const container = window.document.getElementById("form");
  const toggles = questionnaire.item
    .flatMap((item) => (item.extension || []).filter((e) => e.url === TOGGLE))
    .map((e) => [part(e, "option").valueCoding.code, part(e, "expression").valueExpression.expression]);
  const constraints = (questionnaire.extension || [])
    .filter((e) => e.url === CONSTRAINT)
    .map((e) => [part(e, "key").valueId, part(e, "expression").valueString]);
  const results = [];
  for (const answers of job.cases) {
    await LForms.Util.addFormToPage(questionnaire, container, { fhirVersion: "R4" });
    const data = container.querySelector("wc-lhc-form").lhcFormData;
    for (const [linkId, code] of Object.entries(answers)) {
      const item = data.itemList.find((i) => i.linkId === linkId);
      if (!item) throw new Error(`no item ${linkId} in the rendered form`);
      if (typeof code === "boolean") {
        item.value = code;
      } else {
        const option = (item.answers || []).find((a) => a.code === code);
        if (!option) throw new Error(`${linkId}: no answer option ${code}`);
        item.value = item._multipleAnswers ? [option] : option;
      }
      data.updateOnSourceItemChange(item);
    }
    await new Promise((resolve) => setTimeout(resolve, 0));
    const response = LForms.Util.getFormFHIRData("QuestionnaireResponse", "R4", container);
    const env = { resource: response, questionnaire };
    const evaluate = (expression) => fhirpath.evaluate(response, expression, env, model);
    results.push({
      constraints: Object.fromEntries(constraints.map(([key, e]) => [key, evaluate(e)])),
      toggles: Object.fromEntries(toggles.map(([code, e]) => [code, evaluate(e)])),
    });
  }
  process.stdout.write(JSON.stringify({ results, errors }));
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error));
  process.exit(3);
});
