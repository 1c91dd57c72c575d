// Adverse event entry: term typeahead over the study's CTCAE terms, the chosen term's grades
// (only those it defines, with their descriptions), and the browser's UTC offset for the times.
(function () {
  const form = document.getElementById("ae-form");
  const termInput = document.getElementById("term");
  const options = document.getElementById("term-options");
  const help = document.getElementById("term-help");
  const grades = document.getElementById("grade-options");
  const verbatim = document.getElementById("verbatim");
  let found = new Map();
  let timer = null;

  const minutes = -new Date().getTimezoneOffset();
  const sign = minutes >= 0 ? "+" : "-";
  const abs = Math.abs(minutes);
  document.getElementById("tz_offset").value =
    `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;

  async function search(text) {
    const response = await fetch(`${form.dataset.terms}?q=${encodeURIComponent(text)}&limit=30`,
      { credentials: "same-origin" });
    if (!response.ok) return;
    const terms = await response.json();
    found = new Map(terms.map((t) => [t.term, t]));
    options.replaceChildren(...terms.map((t) => {
      const option = document.createElement("option");
      option.value = t.term;
      option.label = t.soc;
      return option;
    }));
    choose();
  }

  function choose() {
    const term = found.get(termInput.value);
    if (!term) {
      help.textContent = "";
      return;
    }
    help.textContent = `${term.soc} · MedDRA ${term.meddra_code}`;
    verbatim.required = term.needs_specify;
    const checked = form.querySelector('input[name="grade"]:checked');
    grades.replaceChildren(...Object.entries(term.grades).map(([grade, text]) => {
      const label = document.createElement("label");
      label.className = "grade";
      const radio = document.createElement("input");
      radio.type = "radio";
      radio.name = "grade";
      radio.value = grade;
      radio.required = true;
      radio.checked = checked !== null && checked.value === grade;
      label.append(radio, ` Grade ${grade}: ${text}`);
      return label;
    }));
  }

  termInput.addEventListener("input", () => {
    clearTimeout(timer);
    if (found.has(termInput.value)) {
      choose();
      return;
    }
    timer = setTimeout(() => search(termInput.value), 150);
  });
  if (termInput.value) search(termInput.value);
})();
