// CRF entry: render the compiled Questionnaire with LHC-Forms, send the QuestionnaireResponse
// to the API, show what the server refused. All checks happen on the server.
const form = document.getElementById("crf-form");
const container = document.getElementById("crf");
const errorBox = document.getElementById("crf-errors");
const submit = document.getElementById("crf-submit");
const csrf = document.querySelector('meta[name="csrf-token"]').content;

function until(test, what) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      if (test()) resolve();
      else if (Date.now() - started > 20000) reject(new Error(`${what} did not load`));
      else setTimeout(poll, 25);
    };
    poll();
  });
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`${src} did not load`));
    document.head.appendChild(script);
  });
}

async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

function showErrors(lines) {
  errorBox.replaceChildren(...lines.map((line) => {
    const p = document.createElement("p");
    p.textContent = line;
    return p;
  }));
  errorBox.hidden = false;
}

async function render() {
  await until(() => window.LForms && window.LForms.Util && window.LForms.Util.addFormToPage, "LHC-Forms");
  // The FHIR support file extends the LForms object the web component creates: load it after.
  await loadScript("/static/lforms/lformsFHIR.min.js");
  const questionnaire = await getJson(form.dataset.questionnaire);
  if (form.dataset.stored) {
    const stored = await getJson(form.dataset.stored);
    const definition = LForms.Util.convertFHIRQuestionnaireToLForms(questionnaire, "R4");
    const filled = LForms.Util.mergeFHIRDataIntoLForms("QuestionnaireResponse", stored, definition, "R4");
    await LForms.Util.addFormToPage(filled, container);
  } else {
    await LForms.Util.addFormToPage(questionnaire, container);
  }
  container.setAttribute("aria-busy", "false");
  submit.disabled = false;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  errorBox.hidden = true;
  submit.disabled = true;
  const response = LForms.Util.getFormFHIRData("QuestionnaireResponse", "R4", container);
  const body = form.dataset.method === "PUT"
    ? { reason: document.getElementById("reason").value, response }
    : {
        form_id: form.dataset.formId,
        visit_id: form.dataset.visitId || null,
        resource_id: form.dataset.resourceId,
        response,
      };
  try {
    const answer = await fetch(form.dataset.submit, {
      method: form.dataset.method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    });
    if (answer.ok) {
      window.location.assign(form.dataset.done);
      return;
    }
    const refused = await answer.json().catch(() => ({ error: `HTTP ${answer.status}` }));
    const lines = [refused.error || `HTTP ${answer.status}`];
    for (const problem of refused.problems || []) {
      lines.push(`${problem.field || problem.where}: ${problem.message}`);
    }
    if (refused.details) lines.push(refused.details);
    showErrors(lines);
  } catch (error) {
    showErrors([`The form could not be sent: ${error.message}. Nothing was saved.`]);
  }
  submit.disabled = false;
});

render().catch((error) => showErrors([`The form could not be shown: ${error.message}`]));
