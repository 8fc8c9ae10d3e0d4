// maskwatch page: live camera grid, events with live alerts (Server-Sent Events), zone editor. No framework.
"use strict";

const LABELS = { mask: "Mask", no_mask: "No mask", incorrect: "Mask worn incorrectly" };
const REVIEWS = { confirmed: "confirmed", false_alarm: "false alarm" };
const MJPEG_MAX_CAMERAS = 3;  // browsers open ~6 connections per host; past this, views poll frame.jpg instead
const EVENTS_PAGE = 50;

const $ = (sel, root = document) => root.querySelector(sel);
const state = {
  cameras: [],
  cameraNames: "",
  eventsOffset: 0,
  banner: { timer: null, extra: 0 },
  zone: { camera: "", points: [], zones: [], imageLoaded: false },
};

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  if (response.status === 401) {
    location.href = "/login?next=" + encodeURIComponent(location.pathname);
    throw new Error("not signed in");
  }
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail || detail; } catch (_) { /* not JSON */ }
    throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return response.json();
}

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

async function refreshCameras() {
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
  if (!state.zone.points.length) renderZoneList();
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

async function refreshStats() {
  let s;
  try { s = await api("/api/stats"); } catch (err) { return; }
  const total = Object.keys(s.cameras).length;
  const cams = $("#sum-cameras");
  cams.textContent = `${s.cameras_online}/${total} cameras online`;
  cams.className = "chip " + (s.cameras_online === total ? "good" : "bad");
  $("#sum-faces").textContent = `${plural(s.faces, "face")} · ${s.unmasked} unmasked`;
  $("#sum-events").textContent = plural(s.events_total, "event");
  $("#sum-uptime").textContent = fmtUptime(s.uptime_seconds);
  $("#zone-hours-zone").textContent = s.time_zone;
  $("#zone-alerts-default").textContent = `Default (${s.alert_labels.map((l) => SHORT_LABELS[l] || l).join(", ")})`;
}

const SHORT_LABELS = { mask: "mask", no_mask: "no mask", incorrect: "worn wrongly" };  // fit the zone form's width
const alertsText = (labels) => labels.map((l) => SHORT_LABELS[l] || l).join(" or ");

// --- compliance ----------------------------------------------------------------------------------------------

async function refreshCompliance() {
  let today, week;
  try {
    [today, week] = await Promise.all([api("/api/compliance?days=1&bucket=all"), api("/api/compliance?days=7&bucket=all")]);
  } catch (err) { return; }
  const key = (r) => `${r.camera}\u0000${r.zone ?? ""}`;
  const todays = new Map(today.map((r) => [key(r), r]));
  const share = (r) => (r && r.people ? `${Math.round(r.masked_share * 100)} %` : "–");
  const rows = week.map((r) => {
    const t = todays.get(key(r));
    return el("tr", { "data-camera": r.camera, "data-zone": r.zone ?? "" },
      el("td", { text: r.camera }), el("td", { text: r.zone ?? "(no zone)" }),
      el("td", { class: "num today-people", text: t ? t.people : 0 }), el("td", { class: "num today-masked", text: share(t) }),
      el("td", { class: "num week-people", text: r.people }), el("td", { class: "num week-masked", text: share(r) }));
  });
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 6, class: "empty", text: "Nobody counted yet." })));
  $("#compliance-rows").replaceChildren(...rows);
}

// --- events --------------------------------------------------------------------------------------------------

function eventItem(e, fresh = false) {
  const caption = `${LABELS[e.label] || e.label} · ${e.camera}${e.zone ? " / " + e.zone : ""} · track #${e.track_id} · ${fmtDate(e.time)}`;
  const thumb = e.snapshot
    ? el("img", { class: "thumb", src: `/api/events/${e.id}/snapshot`, loading: "lazy", alt: "snapshot, faces blurred",
                  onclick: () => openEvent(e, caption) })
    : el("div", { class: "thumb none", text: "no snapshot", onclick: () => openEvent(e, caption) });
  return el("li", { class: "event" + (fresh ? " fresh" : ""), "data-id": e.id, "data-label": e.label,
                    "data-review": e.review || "" },
    thumb,
    el("div", { class: "event-body" },
      el("div", { class: "event-line" },
        el("span", { class: `tag ${e.label}`, text: LABELS[e.label] || e.label }),
        el("span", { class: "event-where", text: e.camera + (e.zone ? " / " + e.zone : "") })),
      el("div", { class: "event-meta" },
        el("span", { text: `${fmtTime(e.time)} · track #${e.track_id} · ${Math.round(e.confidence * 100)}%` }),
        el("span", { class: `review ${e.review || ""}`, text: REVIEWS[e.review] || "" }))));
}

function eventFilters() {
  const q = new URLSearchParams();
  if ($("#filter-camera").value) q.set("camera", $("#filter-camera").value);
  if ($("#filter-label").value) q.set("label", $("#filter-label").value);
  if ($("#filter-review").value) q.set("review", $("#filter-review").value);
  return q;
}

async function loadEvents(append = false) {
  $("#events-csv").href = "/api/events.csv?" + eventFilters();
  const q = eventFilters();
  q.set("limit", EVENTS_PAGE);
  q.set("offset", append ? state.eventsOffset : 0);
  let events;
  try { events = await api("/api/events?" + q); } catch (err) { return; }
  const list = $("#event-list");
  if (!append) list.replaceChildren();
  for (const e of events) if (!list.querySelector(`[data-id="${e.id}"]`)) list.append(eventItem(e));
  state.eventsOffset = (append ? state.eventsOffset : 0) + events.length;
  $("#events-more").hidden = events.length < EVENTS_PAGE;
  $("#events-empty").hidden = list.children.length > 0;
}

function matchesFilters(e) {
  const camera = $("#filter-camera").value, label = $("#filter-label").value, review = $("#filter-review").value;
  return (!camera || e.camera === camera) && (!label || e.label === label) &&
    (!review || (e.review || "unreviewed") === review);
}

function onNewEvent(e) {
  const list = $("#event-list");
  if (matchesFilters(e) && !list.querySelector(`[data-id="${e.id}"]`)) {
    list.prepend(eventItem(e, true));
    state.eventsOffset += 1;
    $("#events-empty").hidden = true;
  }
  showBanner(e);
  refreshStats();
}

function showBanner(e) {
  const banner = $("#alert-banner");
  state.banner.extra = banner.hidden ? 0 : state.banner.extra + 1;
  banner.className = "banner " + e.label;
  $("#alert-text").textContent = `${LABELS[e.label] || e.label} — camera ${e.camera}` +
    `${e.zone ? ", zone " + e.zone : ""}, track #${e.track_id} at ${fmtTime(e.time)}`;
  $("#alert-more").textContent = state.banner.extra ? `(+${state.banner.extra} more)` : "";
  banner.hidden = false;
  banner.dataset.eventId = e.id;
  clearTimeout(state.banner.timer);
  state.banner.timer = setTimeout(hideBanner, 15000);
}

function hideBanner() {
  $("#alert-banner").hidden = true;
  state.banner.extra = 0;
}

function connectLive() {
  const status = $("#live-state");
  const source = new EventSource("/api/events/live");
  source.addEventListener("open", () => { status.textContent = "live"; status.className = "live-state on"; });
  source.addEventListener("alert", (msg) => onNewEvent(JSON.parse(msg.data)));
  source.addEventListener("error", () => {
    status.textContent = "reconnecting…";
    status.className = "live-state";
    if (source.readyState === EventSource.CLOSED) {  // e.g. signed out: check, then try again later
      setTimeout(() => api("/api/stats").then(connectLive, () => {}), 5000);
    }
  });
}

// The event's snapshot, and its clip once recorded (a few seconds after the alert: the event is read again).
async function openEvent(e, caption) {
  const dialog = $("#snapshot-dialog");
  dialog.dataset.eventId = e.id;
  $("#snapshot-caption").textContent = caption;
  showReview(e.review);
  showMedia(e, false);
  dialog.showModal();
  try { e = await api(`/api/events/${e.id}`); } catch (err) { return; }
  // a clip already playing (the list knew of it) is left alone
  if (dialog.open && dialog.dataset.eventId == e.id && $("#clip-video").hidden) showMedia(e, !e.snapshot && !!e.clip);
}

function showMedia(e, clip) {
  const image = $("#snapshot-image"), video = $("#clip-video"), toggle = $("#clip-toggle");
  image.hidden = clip || !e.snapshot;
  if (!image.hidden) image.src = `/api/events/${e.id}/snapshot`;
  video.hidden = !clip;
  if (clip) {
    video.src = `/api/events/${e.id}/clip`;
    video.play().catch(() => {});
  } else stopClip();
  toggle.hidden = !e.clip || (clip && !e.snapshot);
  toggle.textContent = clip ? "Snapshot" : "Play clip";
  toggle.onclick = () => showMedia(e, !clip);
}

function stopClip() {
  const video = $("#clip-video");
  video.pause();
  video.removeAttribute("src");
  video.load();
}

function showReview(review) {
  for (const b of document.querySelectorAll(".review-buttons button")) b.setAttribute("aria-pressed", b.dataset.review === review);
}

// A pressed button pressed again takes the review back.
async function reviewEvent(button) {
  const id = $("#snapshot-dialog").dataset.eventId;
  const review = button.getAttribute("aria-pressed") === "true" ? null : button.dataset.review;
  let e;
  try {
    e = await api(`/api/events/${id}/review`, {
      method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ review }) });
  } catch (err) { return; }
  showReview(e.review);
  const item = $(`#event-list li[data-id="${e.id}"]`);
  if (item && matchesFilters(e)) item.replaceWith(eventItem(e));
  else if (item) item.remove();  // no longer in the list's review filter
}

// --- zone editor ---------------------------------------------------------------------------------------------

// the colours the service draws zones with on the live view (maskwatch.draw.draw_zone), and one for the new polygon
const ZONE_COLORS = { restricted: "#e62828", open: "#28a0c8", ignore: "#969696", drawing: "#a21caf" };

function zoneColor(zone) {
  return ZONE_COLORS[zone.ignore ? "ignore" : zone.restricted ? "restricted" : "open"];
}

function selectZoneCamera(name) {
  const z = state.zone;
  $("#zone-camera").value = name;
  if (z.camera !== name) {
    z.camera = name;
    z.points = [];
    setZoneMessage("");
  }
  loadZoneFrame();
  renderZoneList();
}

function currentZones() {
  const c = state.cameras.find((x) => x.name === state.zone.camera);
  return c ? c.zones : [];
}

function loadZoneFrame() {
  const img = $("#zone-frame");
  // unannotated: the editor draws the zones itself; faces stay blurred when privacy.blur_live is on
  img.src = `/api/cameras/${cam(state.zone.camera)}/frame.jpg?annotated=false&t=${Date.now()}`;
}

function drawZones() {
  const canvas = $("#zone-canvas"), img = $("#zone-frame");
  const w = img.clientWidth, h = img.clientHeight;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(w * ratio);
  canvas.height = Math.round(h * ratio);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  if (!state.zone.imageLoaded) return;
  const polygon = (points, color, closed, fill) => {
    if (!points.length) return;
    ctx.beginPath();
    points.forEach(([x, y], i) => (i ? ctx.lineTo(x * w, y * h) : ctx.moveTo(x * w, y * h)));
    if (closed) ctx.closePath();
    ctx.lineWidth = 2;
    ctx.strokeStyle = color;
    ctx.stroke();
    if (fill) { ctx.fillStyle = color + "33"; ctx.fill(); }
  };
  ctx.font = "600 13px system-ui, sans-serif";
  for (const zone of currentZones()) {
    const color = zoneColor(zone);
    polygon(zone.polygon, color, true, true);
    const [x, y] = zone.polygon[0];
    const label = `${zone.name}${zone.ignore ? " (ignored)" : zone.restricted ? "" : " (open)"}`;
    ctx.fillStyle = color;
    ctx.fillRect(x * w, y * h, ctx.measureText(label).width + 10, 20);
    ctx.fillStyle = "#fff";
    ctx.fillText(label, x * w + 5, y * h + 14);
  }
  const pts = state.zone.points;
  polygon(pts, ZONE_COLORS.drawing, pts.length >= 3, true);
  for (const [x, y] of pts) {
    ctx.beginPath();
    ctx.arc(x * w, y * h, 5, 0, Math.PI * 2);
    ctx.fillStyle = "#fff";
    ctx.fill();
    ctx.lineWidth = 2;
    ctx.strokeStyle = ZONE_COLORS.drawing;
    ctx.stroke();
  }
  $("#zone-points").textContent = `${pts.length} point${pts.length === 1 ? "" : "s"}` +
    (pts.length && pts.length < 3 ? " (at least 3)" : "");
}

function zoneKind(zone) {
  if (zone.ignore) return "ignored: faces left out";
  if (!zone.restricted) return "open";
  const alerts = zone.alert_labels ? [`alerts on ${alertsText(zone.alert_labels)}`] : [];
  return ["restricted", ...(zone.hours || []), ...alerts].join(" · ");
}

function renderZoneList() {
  const list = $("#zone-list");
  const zones = currentZones();
  list.replaceChildren(...zones.map((zone) => el("li", { "data-zone": zone.name },
    el("span", { class: "swatch", style: `background:${zoneColor(zone)}` }),
    el("span", { class: "name", text: zone.name }),
    el("span", { class: "kind", text: zoneKind(zone),
                 title: zone.restricted && zone.hours && zone.hours.length ? `in force at these hours (${$("#zone-hours-zone").textContent})` : "" }),
    el("button", { type: "button", class: "secondary small", text: "Edit", "aria-label": `edit zone ${zone.name}`,
                   onclick: () => editZone(zone) }),
    el("button", { type: "button", class: "secondary small", text: "Delete", "aria-label": `delete zone ${zone.name}`,
                   onclick: () => deleteZone(zone.name) }))));
  if (!zones.length) list.append(el("li", { class: "none", text: "None: the whole frame is one restricted zone." }));
  drawZones();
}

function setZoneMessage(text, kind = "") {
  const m = $("#zone-message");
  m.textContent = text;
  m.className = "message " + kind;
}

async function saveZones(zones, okText) {
  const name = state.zone.camera;
  try {
    const result = await api(`/api/cameras/${cam(name)}/zones`, {
      method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ zones }) });
    const c = state.cameras.find((x) => x.name === name);
    if (c) c.zones = result.zones;
    setZoneMessage(okText, "ok");
    return true;
  } catch (err) {
    setZoneMessage(err.message, "error");
    return false;
  } finally {
    renderZoneList();
  }
}

async function addZone(event) {
  event.preventDefault();
  const name = $("#zone-name").value.trim();
  const pts = state.zone.points;
  if (pts.length < 3) return setZoneMessage("Click at least 3 points on the frame.", "error");
  if (!name) return setZoneMessage("Give the zone a name.", "error");
  let zones;
  try { zones = await freshZones(); } catch (err) { return setZoneMessage(err.message, "error"); }
  const round = (v) => Math.round(Math.min(1, Math.max(0, v)) * 10000) / 10000;
  const hours = $("#zone-hours").value.split(";").map((h) => h.trim()).filter(Boolean);
  const alerts = $("#zone-alerts").value;
  const kind = $("#zone-kind").value, restricted = kind === "restricted";
  const zone = { name, polygon: pts.map(([x, y]) => [round(x), round(y)]), restricted, ignore: kind === "ignore",
                 hours: restricted ? hours : [], alert_labels: alerts && restricted ? alerts.split(",") : null };
  // same name: replaces that zone in its place, since the first zone containing a face wins
  const at = zones.findIndex((z) => z.name === name);
  if (at >= 0) zones[at] = zone; else zones.push(zone);
  if (await saveZones(zones, `Zone “${name}” saved.`)) {
    state.zone.points = [];
    $("#zone-name").value = "";
    $("#zone-hours").value = "";
    $("#zone-alerts").value = "";
    drawZones();
  }
}

// Hours and alert labels apply to restricted zones only.
function zoneKindChanged() {
  const restricted = $("#zone-kind").value === "restricted";
  $("#zone-hours").disabled = $("#zone-alerts").disabled = !restricted;
}

// Loads a zone into the form: its corners become the polygon being drawn, and saving under its name replaces it.
function editZone(zone) {
  state.zone.points = zone.polygon.map(([x, y]) => [x, y]);
  $("#zone-name").value = zone.name;
  $("#zone-kind").value = zone.ignore ? "ignore" : zone.restricted ? "restricted" : "open";
  zoneKindChanged();
  $("#zone-hours").value = (zone.hours || []).join("; ");
  const alerts = (zone.alert_labels || []).join(",");
  if (![...$("#zone-alerts").options].some((o) => o.value === alerts)) {  // set in the config to another choice
    $("#zone-alerts").append(el("option", { value: alerts, text: alertsText(zone.alert_labels) }));
  }
  $("#zone-alerts").value = alerts;
  setZoneMessage(`Editing “${zone.name}”: change it, then save.`);
  drawZones();
}

async function deleteZone(name) {
  let zones;
  try { zones = await freshZones(); } catch (err) { return setZoneMessage(err.message, "error"); }
  saveZones(zones.filter((z) => z.name !== name), `Zone “${name}” deleted.`);
}

// Edits start from the server's zones, not the page's last poll: someone else may have changed them meanwhile.
async function freshZones() {
  const zones = await api(`/api/cameras/${cam(state.zone.camera)}/zones`);
  const c = state.cameras.find((x) => x.name === state.zone.camera);
  if (c) c.zones = zones;
  return zones;
}

function setupZoneEditor() {
  const img = $("#zone-frame"), canvas = $("#zone-canvas");
  img.addEventListener("load", () => {
    state.zone.imageLoaded = true;
    $("#zone-placeholder").hidden = true;
    drawZones();
  });
  img.addEventListener("error", () => {
    state.zone.imageLoaded = false;
    $("#zone-placeholder").hidden = false;
    drawZones();
    setTimeout(() => { if (!state.zone.imageLoaded) loadZoneFrame(); }, 3000);
  });
  canvas.addEventListener("click", (ev) => {
    if (!state.zone.imageLoaded) return;
    const rect = canvas.getBoundingClientRect();
    state.zone.points.push([(ev.clientX - rect.left) / rect.width, (ev.clientY - rect.top) / rect.height]);
    setZoneMessage("");
    drawZones();
  });
  $("#zone-camera").addEventListener("change", (ev) => selectZoneCamera(ev.target.value));
  $("#zone-undo").addEventListener("click", () => { state.zone.points.pop(); drawZones(); });
  $("#zone-clear").addEventListener("click", () => { state.zone.points = []; drawZones(); });
  $("#zone-refresh").addEventListener("click", loadZoneFrame);
  $("#zone-form").addEventListener("submit", addZone);
  $("#zone-kind").addEventListener("change", zoneKindChanged);
  new ResizeObserver(drawZones).observe($("#zone-wrap"));
}

// --- start ---------------------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  // the viewer token only looks: the server refuses changes, and the page hides what would make them
  api("/api/me").then((me) => document.body.classList.toggle("viewer", me.role !== "admin"), () => {});
  setupZoneEditor();
  $("#alert-close").addEventListener("click", hideBanner);
  $("#snapshot-close").addEventListener("click", () => $("#snapshot-dialog").close());
  $("#snapshot-dialog").addEventListener("close", stopClip);
  $("#filter-camera").addEventListener("change", () => loadEvents());
  $("#filter-label").addEventListener("change", () => loadEvents());
  $("#filter-review").addEventListener("change", () => loadEvents());
  for (const b of document.querySelectorAll(".review-buttons button")) b.addEventListener("click", () => reviewEvent(b));
  $("#events-more").addEventListener("click", () => loadEvents(true));
  refreshCameras();
  refreshStats();
  refreshCompliance();
  loadEvents();
  connectLive();
  setInterval(refreshCameras, 2000);
  setInterval(refreshStats, 5000);
  setInterval(refreshCompliance, 15000);
});
