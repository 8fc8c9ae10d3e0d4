// maskwatch page: the live camera grid, the counts, compliance and start-up; common.js has the helpers every page
// uses, events.js the events list, banner and alert dialog, zones.js the zone editor (classic scripts sharing one
// global scope). No framework.
"use strict";

const LABELS = { mask: "Mask", no_mask: "No mask", incorrect: "Mask worn incorrectly" };
const REVIEWS = { confirmed: "confirmed", false_alarm: "false alarm" };
const MJPEG_MAX_CAMERAS = 3;  // browsers open ~6 connections per host; past this, views poll frame.jpg instead
const EVENTS_PAGE = 50;
const BANNER_SECONDS = 60;  // the red banner shows an alert this long at most (by the alert's own time)
const REFRESH_MS = 1000;  // one poll of the cameras feeds the header's counts and the cameras' panels alike

const state = {
  cameras: [],
  cameraNames: "",
  eventsOffset: 0,
  eventsLoad: 0,  // the newest list load: an older one's answer (filters changed meanwhile) is dropped
  eventsPending: null,  // the list load in flight (a promise)
  arrived: [],  // alerts from the live feed while a fresh list load was in flight
  dialogAt: -1,  // the open alert's place in the list
  banner: { event: null, extra: 0 },
  events: new Map(),  // the listed events by id (the dialog steps through them)
  zone: { camera: "", points: [], zones: [], imageLoaded: false },
};

const cam = encodeURIComponent;
const fmtTime = (iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
const fmtDate = (iso) => new Date(iso).toLocaleString([], { hour12: false });
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
function fmtUptime(seconds) {
  const s = Math.floor(seconds), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  return d ? `up ${d}d ${h}h` : h ? `up ${h}h ${m}m` : `up ${m}m ${s % 60}s`;
}

// --- cameras -------------------------------------------------------------------------------------------------

function liveSrc(name) {
  return state.cameras.length > MJPEG_MAX_CAMERAS
    ? `/api/cameras/${cam(name)}/frame.jpg?t=${Date.now()}`
    : `/api/cameras/${cam(name)}/stream?fps=5`;
}

function buildCameraCard(c) {
  const img = el("img", { class: "live", alt: `live view of ${c.name}`, "data-camera": c.name });
  if (state.cameras.length > MJPEG_MAX_CAMERAS) {  // polling mode: next frame once this one has loaded
    const next = () => setTimeout(() => { if (!document.hidden) img.src = liveSrc(c.name); }, 500);
    img.addEventListener("load", next);
    img.addEventListener("error", () => setTimeout(next, 1500));
  } else {  // the stream broke (service restarted, network): open it again
    img.addEventListener("error", () => setTimeout(() => { if (!document.hidden) img.src = liveSrc(c.name); }, 3000));
  }
  img.src = liveSrc(c.name);
  return el("article", { class: "camera", "data-camera": c.name },
    el("div", { class: "camera-head" },
      el("h3", { text: c.name }),
      el("span", { class: "source", text: c.source || "" }),
      el("span", { class: "badge" })),
    el("div", { class: "view" }, img, el("div", { class: "overlay", hidden: true })),
    el("dl", { class: "counts" },
      el("div", { class: "faces" }, el("dt", { text: "Faces" }), el("dd", { text: "0" })),
      el("div", { class: "masked" }, el("dt", { text: "Masked" }), el("dd", { text: "0" })),
      el("div", { class: "unmasked" }, el("dt", { text: "Unmasked" }), el("dd", { text: "0" }))),
    el("div", { class: "camera-meta" },
      el("span", { class: "fps" }), el("span", { class: "dropped" }), el("span", { class: "size" }),
      el("button", { type: "button", class: "secondary small admin-only", text: "Edit zones",
                     onclick: () => { selectZoneCamera(c.name); $("#zones").scrollIntoView({ behavior: "smooth" }); } })));
}

function updateCameraCard(card, c) {
  if (c.online && card.classList.contains("offline") && !document.hidden) {
    $("img.live", card).src = liveSrc(c.name);  // back online: a fresh stream rather than a stalled one
  }
  card.classList.toggle("offline", !c.online);
  const badge = $(".badge", card);
  badge.className = "badge " + (c.online ? "online" : "offline");
  badge.textContent = c.online ? "online" : (c.enabled === false ? "disabled" : "offline");
  const overlay = $(".overlay", card);
  overlay.hidden = c.online;
  overlay.textContent = c.online ? "" : `Offline${c.last_error ? " — " + c.last_error : ""}. Reconnecting…`;
  $(".faces dd", card).textContent = c.faces;
  $(".masked dd", card).textContent = c.masked;
  $(".unmasked dd", card).textContent = c.unmasked;
  $(".fps", card).textContent = `${Number(c.fps_analysed).toFixed(1)} fps analysed`;
  const dropped = $(".dropped", card);
  dropped.textContent = `${c.frames_dropped} dropped / ${c.frames_decoded} decoded`;
  dropped.classList.toggle("warn", c.frames_decoded > 0 && c.frames_dropped / c.frames_decoded > 0.5);
  $(".size", card).textContent = c.width ? `${c.width}×${c.height}` : "";
}

async function readCameras() {
  let cameras;
  try { cameras = await api("/api/cameras"); } catch (err) { return; }
  state.cameras = cameras;
  const names = cameras.map((c) => c.name).join("\n");
  const grid = $("#camera-grid");
  if (names !== state.cameraNames) {  // first load or the camera set changed: rebuild
    state.cameraNames = names;
    grid.replaceChildren(...cameras.map(buildCameraCard));
    if (!cameras.length) grid.append(el("p", { class: "empty", text: "No cameras configured." }));
    fillCameraSelects(cameras);
  }
  for (const c of cameras) {
    const card = grid.querySelector(`.camera[data-camera="${CSS.escape(c.name)}"]`);
    if (card) updateCameraCard(card, c);
  }
  showCounts(cameras);
  if (!state.zone.points.length) renderZoneList();
}
const refreshCameras = oneAtATime(readCameras);

// The header's counts are the sums of the cameras' panels, from the same answer, so that they always agree.
function showCounts(cameras) {
  const online = cameras.filter((c) => c.online).length, total = cameras.length;
  const sum = (key) => cameras.reduce((n, c) => n + (c[key] || 0), 0);
  const chip = $("#sum-cameras");
  chip.textContent = `${online}/${total} cameras online`;
  chip.className = "chip " + (online === total ? "good" : "bad");
  $("#sum-faces").textContent = `${plural(sum("faces"), "face")} · ${sum("unmasked")} unmasked`;
}

function fillCameraSelects(cameras) {
  const filter = $("#filter-camera"), chosen = filter.value;
  filter.replaceChildren(el("option", { value: "", text: "All cameras" }),
    ...cameras.map((c) => el("option", { value: c.name, text: c.name })));
  filter.value = cameras.some((c) => c.name === chosen) ? chosen : "";
  const zoneSelect = $("#zone-camera");
  zoneSelect.replaceChildren(...cameras.map((c) => el("option", { value: c.name, text: c.name })));
  if (cameras.length) selectZoneCamera(cameras.some((c) => c.name === state.zone.camera) ? state.zone.camera : cameras[0].name);
}

// Streams hold connections open; let them go while the tab is hidden.
document.addEventListener("visibilitychange", () => {
  for (const img of document.querySelectorAll("img.live")) {
    if (document.hidden) img.removeAttribute("src");
    else img.src = liveSrc(img.dataset.camera);
  }
});

async function readStats() {
  let s;
  try { s = await api("/api/stats"); } catch (err) { return; }
  $("#sum-events").textContent = plural(s.events_total, "event");
  $("#sum-uptime").textContent = fmtUptime(s.uptime_seconds);
  $("#zone-hours-zone").textContent = s.time_zone;
  $("#zone-alerts-default").textContent = `Default (${s.alert_labels.map((l) => SHORT_LABELS[l] || l).join(", ")})`;
}
const refreshStats = oneAtATime(readStats);

// collect: on, the header says so to everyone who looks (the crops themselves are the admin's, on /cases)
async function readCollect() {
  try { $("#collect-pill").hidden = !(await api("/api/cases/status")).enabled; } catch (err) { /* older service */ }
}
const refreshCollect = oneAtATime(readCollect);

const SHORT_LABELS = { mask: "mask", no_mask: "no mask", incorrect: "worn wrongly" };  // fit the zone form's width
const alertsText = (labels) => labels.map((l) => SHORT_LABELS[l] || l).join(" or ");

// --- compliance ----------------------------------------------------------------------------------------------

// People seen today and in 7 days, and the alerts of those 7 days with their reviews, per camera and zone.
async function readCompliance() {
  let today, week, reviews;
  try {
    [today, week, reviews] = await Promise.all([api("/api/compliance?days=1&bucket=all"),
      api("/api/compliance?days=7&bucket=all"), api("/api/reviews?days=7")]);
  } catch (err) { return; }
  const key = (r) => `${r.camera}\u0000${r.zone ?? ""}`;
  const todays = new Map(today.map((r) => [key(r), r]));
  const weeks = new Map(week.map((r) => [key(r), r]));
  const reviewed = new Map(reviews.map((r) => [key(r), r]));
  const keys = [...new Set([...weeks.keys(), ...reviewed.keys()])].sort();
  const share = (r) => (r && r.people ? `${Math.round(r.masked_share * 100)} %` : "–");
  const rows = keys.map((k) => {
    const [camera, zone] = k.split("\u0000");
    const t = todays.get(k), w = weeks.get(k), a = reviewed.get(k);
    const done = a ? a.confirmed + a.false_alarm : 0;
    const rate = a && a.false_alarm_rate !== null ? `${a.false_alarm} (${Math.round(a.false_alarm_rate * 100)} %)` : "–";
    return el("tr", { "data-camera": camera, "data-zone": zone },
      el("td", { text: camera }), el("td", { text: zone || "(no zone)" }),
      el("td", { class: "num today-people", text: t ? t.people : 0 }), el("td", { class: "num today-masked", text: share(t) }),
      el("td", { class: "num week-people", text: w ? w.people : 0 }), el("td", { class: "num week-masked", text: share(w) }),
      el("td", { class: "num alerts", text: a ? a.alerts : 0 }),
      el("td", { class: "num reviewed", text: a ? `${done} of ${a.alerts}` : "–" }),
      el("td", { class: "num false-alarms", text: rate }));
  });
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 9, class: "empty", text: "Nobody counted yet." })));
  $("#compliance-rows").replaceChildren(...rows);
}
const refreshCompliance = oneAtATime(readCompliance);

// --- start ---------------------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  // the viewer token only looks: the server refuses changes, and the page hides what would make them
  api("/api/me").then((me) => document.body.classList.toggle("viewer", me.role !== "admin"), () => {});
  setupZoneEditor();
  $("#alert-close").addEventListener("click", hideBanner);
  $("#alert-text").addEventListener("click", () => { if (state.banner.event) openEvent(state.banner.event); });
  document.addEventListener("keydown", dialogKeys);
  $("#snapshot-close").addEventListener("click", () => $("#snapshot-dialog").close());
  $("#snapshot-dialog").addEventListener("close", stopClip);
  $("#filter-camera").addEventListener("change", () => loadEvents());
  $("#filter-label").addEventListener("change", () => loadEvents());
  $("#filter-review").addEventListener("change", () => loadEvents());
  for (const b of document.querySelectorAll(".review-buttons button")) b.addEventListener("click", () => reviewEvent(b));
  $("#events-more").addEventListener("click", () => loadEvents(true));
  refreshCameras();
  refreshStats();
  refreshCollect();
  refreshCompliance();
  loadEvents();
  connectLive();
  setInterval(refreshCameras, REFRESH_MS);
  setInterval(refreshStats, 5000);
  setInterval(refreshCollect, 30000);
  setInterval(bannerTick, 1000);
  setInterval(refreshCompliance, 15000);
});
