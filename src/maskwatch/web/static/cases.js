// maskwatch Cases page: face crops of hard cases, labelled from the keyboard (1 mask, 2 no mask, 3 incorrect,
// x not a face, space skip, u or Ctrl+Z undo). Only the admin token sees crops; the API logs each view and label.
"use strict";

const CASE_LABELS = { mask: "Mask", no_mask: "No mask", incorrect: "Mask worn incorrectly", not_a_face: "Not a face" };
const REASONS = { reviewed_confirmed: "alert confirmed", reviewed_false_alarm: "false alarm", unsure: "unsure", flipped: "label flipped" };
const KEYS = { "1": "mask", "2": "no_mask", "3": "incorrect", x: "not_a_face", X: "not_a_face" };
const PAGE = 60;

// undo: [{id, label before}], newest last; load: the newest page load (an older one's answer is dropped)
const cases = { list: [], at: -1, offset: 0, undo: [], load: 0 };

const say = (text) => { $("#cases-message").textContent = text; };
const pct = (p) => `${Math.round(p * 100)} %`;

// --- the grid ------------------------------------------------------------------------------------------------

function caseCard(c, index) {
  const guess = `${CASE_LABELS[c.guess] || c.guess} ${pct(c.probs[c.guess])}`;
  const when = new Date(c.time).toLocaleString([], { hour12: false });
  return el("li", { class: "case", "data-id": c.id, "data-label": c.label || "", "data-reason": c.reason,
                    onclick: () => select(index) },
    el("img", { src: `/api/cases/${c.id}/crop.jpg`, alt: `face crop of case ${c.id}`, loading: "lazy" }),
    el("p", { class: "guess", text: `model: ${guess}`, title: `${c.model_version || "unknown model"}: ` +
      Object.entries(c.probs).map(([k, v]) => `${k} ${pct(v)}`).join(", ") }),
    el("p", { class: "meta", text: `${REASONS[c.reason] || c.reason} · ${c.camera}${c.zone ? " / " + c.zone : ""} · ${when}` }),
    el("span", { class: "label", text: c.label ? CASE_LABELS[c.label] : "unlabelled" }));
}

function query(offset) {
  const params = new URLSearchParams({ limit: PAGE, offset });
  if ($("#filter-reason").value) params.set("reason", $("#filter-reason").value);
  if ($("#filter-labelled").value) params.set("labelled", $("#filter-labelled").value);
  return params;
}

// The grid is aria-busy while a page loads. Only the newest load fills it, so an answer for filters left meanwhile
// never shows; until the answer comes, the keys act on the crops shown.
async function loadCases(more = false) {
  const grid = $("#case-grid");
  if (more && grid.getAttribute("aria-busy") === "true") return;  // "more" waits for the page being loaded
  const load = ++cases.load;
  grid.setAttribute("aria-busy", "true");
  let page;
  try { page = await api(`/api/cases?${query(more ? cases.offset : 0)}`); } catch (err) { page = null; say(err.message); }
  if (load !== cases.load) return;
  grid.setAttribute("aria-busy", "false");
  if (!page) return;
  if (!more) { cases.offset = 0; cases.list = []; cases.at = -1; grid.replaceChildren(); }
  const start = cases.list.length;
  cases.list.push(...page);
  cases.offset += page.length;
  grid.append(...page.map((c, i) => caseCard(c, start + i)));
  $("#cases-empty").hidden = cases.list.length > 0;
  $("#cases-more").hidden = page.length < PAGE;
  if (cases.at < 0 && cases.list.length) select(0);
}

function select(index) {
  if (index < 0 || index >= cases.list.length) return;
  const cards = document.querySelectorAll("#case-grid .case");
  cards.forEach((card, i) => card.classList.toggle("current", i === index));
  cases.at = index;
  cards[index].scrollIntoView({ block: "nearest" });
}

function showLabel(index) {
  const c = cases.list[index], card = document.querySelectorAll("#case-grid .case")[index];
  card.dataset.label = c.label || "";
  $(".label", card).textContent = c.label ? CASE_LABELS[c.label] : "unlabelled";
}

// By the case's id, not its place: the grid may have been loaded again (another filter) while the answer came.
async function setLabel(id, label, remember = true) {
  const at = cases.list.findIndex((c) => c.id === id);
  const before = at >= 0 ? cases.list[at].label : null;
  let updated;
  try {
    updated = await api(`/api/cases/${id}/label`, { method: "PUT", headers: { "Content-Type": "application/json" },
                                                   body: JSON.stringify({ label }) });
  } catch (err) { say(err.message); return; }
  const now = cases.list.findIndex((c) => c.id === id);
  if (now >= 0) { cases.list[now] = updated; showLabel(now); }
  if (remember) cases.undo.push({ id, label: before });
  say(label ? `Case ${id}: ${CASE_LABELS[label]}.` : `Case ${id}: label taken back.`);
  refreshCounts();
}

async function undo() {
  const last = cases.undo.pop();
  if (!last) { say("Nothing to undo."); return; }
  await setLabel(last.id, last.label, false);
  select(cases.list.findIndex((c) => c.id === last.id));
}

async function onKey(event) {
  if (event.target.closest("select, input, textarea")) return;
  const label = KEYS[event.key];
  if (label && !event.ctrlKey && !event.metaKey && !event.altKey) {
    event.preventDefault();
    const current = cases.list[cases.at];
    if (!current) return;
    select(cases.at + 1);  // on at once: the next key is for the next crop, whatever the answer's delay
    await setLabel(current.id, label);
  } else if (event.key === " ") {
    event.preventDefault();
    select(cases.at + 1);
  } else if (event.key === "u" || event.key === "U" || ((event.ctrlKey || event.metaKey) && event.key === "z")) {
    event.preventDefault();
    await undo();
  } else if (event.key === "ArrowRight") {
    select(cases.at + 1);
  } else if (event.key === "ArrowLeft") {
    select(cases.at - 1);
  }
}

// --- counts and the collection's state ---------------------------------------------------------------------

function countRows(counts, names) {
  return Object.entries(counts).map(([key, n]) =>
    el("tr", { "data-key": key }, el("td", { text: names[key] || key }), el("td", { class: "num", text: n })));
}

async function readCounts() {
  let counts;
  try { counts = await api("/api/cases/counts"); } catch (err) { return; }
  $("#reason-counts").replaceChildren(...countRows(counts.reasons, REASONS));
  $("#label-counts").replaceChildren(...countRows(counts.labels, { ...CASE_LABELS, unlabelled: "unlabelled" }));
  $("#cases-total").textContent = `${counts.total} cases · ${counts.labelled} labelled`;
}
const refreshCounts = oneAtATime(readCounts);  // labels in quick succession: the last count shown is the newest

async function refreshStatus() {
  let status;
  try { status = await api("/api/cases/status"); } catch (err) { return; }
  const pill = $("#collect-pill");
  pill.textContent = status.enabled ? "Collecting face crops" : "Collection off";
  pill.className = "chip " + (status.enabled ? "on" : "muted");
  pill.dataset.enabled = status.enabled;
  $("#retention").textContent = status.retention_days;
}

document.addEventListener("DOMContentLoaded", async () => {
  refreshStatus();
  let me;
  try { me = await api("/api/me"); } catch (err) { return; }
  if (me.role !== "admin") {
    say("Cases are face crops: only the admin token sees and labels them.");
    return;
  }
  $("#filter-reason").addEventListener("change", () => loadCases());
  $("#filter-labelled").addEventListener("change", () => loadCases());
  $("#cases-more").addEventListener("click", () => loadCases(true));
  document.addEventListener("keydown", onKey);
  await loadCases();
  refreshCounts();
});
