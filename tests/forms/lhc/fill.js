// Fills compiled Questionnaires in LHC-Forms (the files edc serves) the way a user would, and
// prints the values LHC-Forms calculates. Input (stdin, JSON):
//   {"lforms": "<dir of the LHC-Forms files>",
//    "forms": [{"questionnaire": {...}, "cases": [{"<linkId>": answer, ...}, ...]}, ...]}
// Answers follow edc.library.answers: an option code, a number, a boolean, or for a repeating
// group a list of such mappings. Output (stdout, JSON): per form, per case, the value of every
// item LHC-Forms calculated ({linkId: value or null}).
"use strict";
const fs = require("fs");
const { load } = require("./dom");

const CALCULATED =
  "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression";

function calculatedIds(items, found = []) {
  for (const item of items || []) {
    if ((item.extension || []).some((e) => e.url === CALCULATED)) found.push(item.linkId);
    calculatedIds(item.item, found);
  }
  return found;
}

function setValue(data, item, answer) {
  if (answer === null || answer === undefined) return;
  if (item.dataType === "CODING" || item.dataType === "CNE" || item.dataType === "CWE") {
    const option = (item.answers || []).find((a) => a.code === answer);
    if (!option) throw new Error(`${item.linkId}: no answer option ${answer}`);
    item.value = option; // the option object itself, as the autocompleter sets it
  } else {
    item.value = answer;
  }
  data.updateOnSourceItemChange(item);
}

function fill(data, parentItems, answers) {
  for (const [linkId, answer] of Object.entries(answers)) {
    const items = parentItems.filter((i) => i.linkId === linkId);
    if (items.length === 0) throw new Error(`no item ${linkId} in the rendered form`);
    if (Array.isArray(answer)) {
      // A repeating group: one repetition per mapping (the form starts with one).
      let last = items[items.length - 1];
      for (let n = 0; n < answer.length; n++) {
        if (n > 0) {
          data.addRepeatingItems(last);
          const all = parentItems.filter((i) => i.linkId === linkId);
          last = all[all.length - 1];
        }
        fill(data, last.items, answer[n]);
      }
    } else {
      setValue(data, items[0], answer);
    }
  }
}

async function settle(data) {
  // Each value change schedules a run (setTimeout); wait for them, then run once more.
  await new Promise((resolve) => setTimeout(resolve, 0));
  const processor = data._expressionProcessor;
  if (processor._currentRunPromise) await processor._currentRunPromise;
  await processor.runCalculations(false);
}

async function main() {
  const job = JSON.parse(fs.readFileSync(0, "utf8"));
  const { window, errors } = load(job.lforms);
  const LForms = window.LForms;
  const container = window.document.getElementById("form");
  const results = [];
  for (const form of job.forms) {
    const ids = calculatedIds(form.questionnaire.item);
    const values = [];
    const repeats = JSON.stringify(form.cases).includes("[");
    let data = null;
    for (const answers of form.cases) {
      if (data === null || repeats) {
        // A fresh form (rendering takes about a second; forms without repeating groups are
        // reused, every answer cleared).
        await LForms.Util.addFormToPage(form.questionnaire, container, { fhirVersion: "R4" });
        data = container.querySelector("wc-lhc-form").lhcFormData;
      } else {
        for (const item of data.itemList) {
          if (!ids.includes(item.linkId) && item.value !== undefined && item.value !== null) {
            item.value = null;
            data.updateOnSourceItemChange(item);
          }
        }
      }
      await settle(data);
      fill(data, data.items, answers);
      await settle(data);
      const scores = {};
      for (const id of ids) {
        const item = data.itemList.find((i) => i.linkId === id);
        scores[id] = item && item.value !== undefined ? item.value : null;
      }
      values.push(scores);
    }
    results.push(values);
  }
  process.stdout.write(JSON.stringify({ results, errors }));
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error));
  process.exit(3);
});
