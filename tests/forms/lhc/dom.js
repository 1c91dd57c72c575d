// LHC-Forms (the files edc serves) loaded in a jsdom window; shared by fill.js and ae.js.
"use strict";
const fs = require("fs");
const path = require("path");
const { JSDOM, VirtualConsole } = require("jsdom");

const SCRIPTS = ["zone.min.js", "runtime.js", "polyfills.js", "main.js", "lformsFHIR.min.js"];

function load(dir) {
  const console_ = new VirtualConsole();
  const errors = [];
  console_.on("error", (...args) => errors.push(args.map((a) => String(a && a.stack ? a.stack : a)).join(" ").slice(0, 500)));
  console_.on("jsdomError", (error) => errors.push(String(error && error.message)));
  const dom = new JSDOM('<!DOCTYPE html><html><body><div id="form"></div></body></html>', {
    runScripts: "outside-only",
    pretendToBeVisual: true,
    url: "http://localhost/",
    virtualConsole: console_,
  });
  // Layout only (column widths); jsdom has no layout engine.
  dom.window.ResizeObserver = class {
    observe() {}
    unobserve() {}
    disconnect() {}
  };
  for (const name of SCRIPTS) dom.window.eval(fs.readFileSync(path.join(dir, name), "utf8"));
  return { window: dom.window, errors };
}

module.exports = { load };
