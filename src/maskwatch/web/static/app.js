// maskwatch page: live camera grid, events with live alerts (Server-Sent Events), zone editor. No framework.
"use strict";

const LABELS = { mask: "Mask", no_mask: "No mask", incorrect: "Mask worn incorrectly" };
const REVIEWS = { confirmed: "confirmed", false_alarm: "false alarm" };
const MJPEG_MAX_CAMERAS = 3;  // browsers open ~6 connections per host; past this, views poll frame.jpg instead
const EVENTS_PAGE = 50;
const BANNER_SECONDS = 60;  // the red banner shows an alert this long at most (by the alert's own time)
const REFRESH_MS = 1000;  // one poll of the cameras feeds the header's counts and the cameras' panels alike

const $ = (sel, root = document) => root.querySelector(sel);
const state = {
  cameras: [],
  cameraNames: "",
  eventsOffset: 0,
  dialogAt: -1,  // the open alert's place in the list
  banner: { event: null, extra: 0 },
  events: new Map(),  // the listed events by id (the dialog steps through them)
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
  showCounts(cameras);
  if (!state.zone.points.length) renderZoneList();
}

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

async function refreshStats() {
  let s;
  try { s = await api("/api/stats"); } catch (err) { return; }
  $("#sum-events").textContent = plural(s.events_total, "event");
  $("#sum-uptime").textContent = fmtUptime(s.uptime_seconds);
  $("#zone-hours-zone").textContent = s.time_zone;
  $("#zone-alerts-default").textContent = `Default (${s.alert_labels.map((l) => SHORT_LABELS[l] || l).join(", ")})`;
}

const SHORT_LABELS = { mask: "mask", no_mask: "no mask", incorrect: "worn wrongly" };  // fit the zone form's width
const alertsText = (labels) => labels.map((l) => SHORT_LABELS[l] || l).join(" or ");

// --- compliance ----------------------------------------------------------------------------------------------

// People seen today and in 7 days, and the alerts of those 7 days with their reviews, per camera and zone.
async function refreshCompliance() {
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

// --- events --------------------------------------------------------------------------------------------------

const where = (e) => e.camera + (e.zone ? " / " + e.zone : "");
const percent = (p) => (p === null || p === undefined ? "–" : `${Math.round(p * 100)} %`);

// What the dialog says of an alert: what, where, how sure, how long the label held, who (a track), when.
function eventCaption(e) {
  const held = e.held_seconds === null || e.held_seconds === undefined ? "" : ` · held ${e.held_seconds.toFixed(1)} s`;
  return `${LABELS[e.label] || e.label} · ${e.camera}${e.zone ? ", zone " + e.zone : ""} · ${percent(e.confidence)}` +
    `${held} · track #${e.track_id} · ${fmtDate(e.time)}`;
}

// The whole row opens the alert (click, or Enter / Space when focused).
function eventItem(e, fresh = false) {
  state.events.set(e.id, e);
  const thumb = e.snapshot
    ? el("img", { class: "thumb", src: `/api/events/${e.id}/snapshot`, loading: "lazy", alt: "snapshot, faces blurred" })
    : el("div", { class: "thumb none", text: "no snapshot" });
  const open = () => openEvent(state.events.get(e.id) || e);
  return el("li", { class: "event" + (fresh ? " fresh" : ""), "data-id": e.id, "data-label": e.label,
                    "data-review": e.review || "", tabindex: 0, role: "button",
                    "aria-label": `open the ${LABELS[e.label] || e.label} alert at ${where(e)}`,
                    onclick: open, onkeydown: (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); open(); } } },
    thumb,
    el("div", { class: "event-body" },
      el("div", { class: "event-line" },
        el("span", { class: `tag ${e.label}`, text: LABELS[e.label] || e.label }),
        el("span", { class: "event-where", text: where(e) })),
      el("div", { class: "event-meta" },
        el("span", { text: `${fmtTime(e.time)} · track #${e.track_id} · ${percent(e.confidence)}` }),
        el("span", { class: `review ${e.review || ""}`, text: REVIEWS[e.review] || "" }))));
}

function eventFilters() {
  const q = new URLSearchParams();
  if ($("#filter-camera").value) q.set("camera", $("#filter-camera").value);
  if ($("#filter-label").value) q.set("label", $("#filter-label").value);
  if ($("#filter-review").value) q.set("review", $("#filter-review").value);
  return q;
}

// An empty list says why: nothing happened yet, or nothing matches the filters.
function showEmpty() {
  const empty = $("#events-empty");
  empty.hidden = $("#event-list").children.length > 0;
  empty.textContent = [...eventFilters().keys()].length ? "No events match these filters." : "No events yet.";
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
  showEmpty();
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
    showEmpty();
  }
  showBanner(e);
  refreshStats();
}

// --- the red banner: the newest alert while it is fresh and nobody has acknowledged it -------------------------

const ageSeconds = (e) => Date.now() / 1000 - e.timestamp;

function showBanner(e) {
  if (e.review || ageSeconds(e) > BANNER_SECONDS) return;  // a replayed or already reviewed alert is no news
  const banner = $("#alert-banner");
  state.banner.extra = banner.hidden ? 0 : state.banner.extra + 1;
  state.banner.event = e;
  banner.className = "banner " + e.label;
  $("#alert-text").textContent = `${LABELS[e.label] || e.label} — camera ${e.camera}` +
    `${e.zone ? ", zone " + e.zone : ""}, track #${e.track_id} at ${fmtTime(e.time)}`;
  $("#alert-more").textContent = state.banner.extra ? `(+${state.banner.extra} more)` : "";
  banner.hidden = false;
  banner.dataset.eventId = e.id;
}

function hideBanner() {
  $("#alert-banner").hidden = true;
  state.banner.extra = 0;
  state.banner.event = null;
}

// Checked each second against the alert's own time, so a tab that slept does not keep an old alert up.
function bannerTick() {
  const e = state.banner.event;
  if (e && ageSeconds(e) > BANNER_SECONDS) hideBanner();
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

// --- the event dialog: snapshot, clip, review; keys C (confirm), F (false alarm), N / P (next / previous) ----

// The event's snapshot, and its clip once recorded (a few seconds after the alert: the event is read again).
async function openEvent(e) {
  const dialog = $("#snapshot-dialog");
  dialog.dataset.eventId = e.id;
  state.dialogAt = [...document.querySelectorAll("#event-list li.event")].findIndex((li) => li.dataset.id == e.id);
  $("#snapshot-caption").textContent = eventCaption(e);
  setDialogNote("");
  showReview(e.review);
  showMedia(e, false);
  if (!dialog.open) dialog.showModal();
  try { e = await api(`/api/events/${e.id}`); } catch (err) { return; }
  state.events.set(e.id, e);
  if (!dialog.open || dialog.dataset.eventId != e.id) return;
  $("#snapshot-caption").textContent = eventCaption(e);
  // a clip already playing (the list knew of it) is left alone
  if ($("#clip-video").hidden) showMedia(e, !e.snapshot && !!e.clip);
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

function setDialogNote(text) {
  $("#dialog-note").textContent = text;
}

// A pressed button pressed again takes the review back; a key sets it.
async function reviewEvent(button) {
  await setReview(button.getAttribute("aria-pressed") === "true" ? null : button.dataset.review);
}

async function setReview(review) {
  const id = $("#snapshot-dialog").dataset.eventId;
  let e;
  try {
    e = await api(`/api/events/${id}/review`, {
      method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ review }) });
  } catch (err) { setDialogNote(err.message); return; }
  state.events.set(e.id, e);
  if ($("#snapshot-dialog").dataset.eventId == e.id) showReview(e.review);
  if (e.review && state.banner.event && state.banner.event.id === e.id) hideBanner();  // acknowledged
  refreshCompliance();  // its review counts
  const item = $(`#event-list li[data-id="${e.id}"]`);
  if (item && matchesFilters(e)) item.replaceWith(eventItem(e));
  else if (item) item.remove();  // no longer in the list's review filter
  showEmpty();
}

// The next (older) or previous (newer) alert of the list; past its end, the next page is loaded first.
async function stepEvent(direction) {
  const id = $("#snapshot-dialog").dataset.eventId;
  const items = [...document.querySelectorAll("#event-list li.event")];
  let at = items.findIndex((li) => li.dataset.id === id);
  if (at < 0 && state.dialogAt >= 0) at = state.dialogAt - (direction > 0 ? 1 : 0);  // reviewed out of the list
  else if (at < 0) at = direction > 0 ? -1 : items.length;  // opened from the banner: from the list's top
  if (direction > 0 && at + 1 >= items.length && !$("#events-more").hidden) {
    await loadEvents(true);
    return stepEvent(direction);
  }
  const target = items[at + direction];
  if (!target) return setDialogNote(direction > 0 ? "That was the last alert in the list." : "That was the newest alert.");
  target.scrollIntoView({ block: "nearest" });
  openEvent(state.events.get(Number(target.dataset.id)));
}

function dialogKeys(ev) {
  const dialog = $("#snapshot-dialog");
  if (!dialog.open || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const admin = !document.body.classList.contains("viewer");
  const key = ev.key.toLowerCase();
  if (admin && key === "c") setReview("confirmed");
  else if (admin && key === "f") setReview("false_alarm");
  else if (admin && key === "u") setReview(null);
  else if (key === "n" || ev.key === "ArrowRight" || ev.key === "ArrowDown") stepEvent(1);
  else if (key === "p" || ev.key === "ArrowLeft" || ev.key === "ArrowUp") stepEvent(-1);
  else return;
  ev.preventDefault();
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

// Whether point [x, y] lies in the polygon (boundary included, as the service's own test).
function insidePolygon([x, y], polygon) {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i], [xj, yj] = polygon[j];
    if (onSegment([x, y], [xi, yi], [xj, yj])) return true;
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function onSegment([x, y], [x1, y1], [x2, y2]) {
  const cross = (x - x1) * (y2 - y1) - (y - y1) * (x2 - x1);
  return Math.abs(cross) < 1e-9 && Math.min(x1, x2) - 1e-9 <= x && x <= Math.max(x1, x2) + 1e-9 &&
    Math.min(y1, y2) - 1e-9 <= y && y <= Math.max(y1, y2) + 1e-9;
}

// A face belongs to the first zone that holds its centre: a zone wholly inside an earlier one never gets a face.
// Ignored zones apply wherever they are, so they neither shadow nor are shadowed. Returns {zone name: earlier zone}.
function shadowedZones(zones) {
  const out = {};
  zones.forEach((zone, i) => {
    if (zone.ignore) return;
    const cover = zones.slice(0, i).find((earlier) => !earlier.ignore &&
      zone.polygon.every((p) => insidePolygon(p, earlier.polygon)));
    if (cover) out[zone.name] = cover;
  });
  return out;
}

function renderZoneList() {
  const list = $("#zone-list");
  const zones = currentZones();
  const shadowed = shadowedZones(zones);
  list.replaceChildren(...zones.map((zone, i) => {
    const cover = shadowed[zone.name];
    const warning = cover && el("span", { class: "warn",
      text: `Never applies: it lies inside “${cover.name}”, which comes first (a face counts in the first zone that ` +
            `holds its centre).${zone.restricted ? " It will never alert." : ""} Move it up.` });
    return el("li", { "data-zone": zone.name, class: cover ? "shadowed" : null },
      el("span", { class: "swatch", style: `background:${zoneColor(zone)}` }),
      el("span", { class: "name", text: zone.name }),
      el("span", { class: "zone-buttons" },
        el("button", { type: "button", class: "secondary small", text: "↑", title: "move up (earlier zones win)",
                       "aria-label": `move zone ${zone.name} up`, disabled: i === 0, onclick: () => moveZone(zone.name, -1) }),
        el("button", { type: "button", class: "secondary small", text: "↓", title: "move down",
                       "aria-label": `move zone ${zone.name} down`, disabled: i === zones.length - 1,
                       onclick: () => moveZone(zone.name, 1) }),
        el("button", { type: "button", class: "secondary small", text: "Edit", "aria-label": `edit zone ${zone.name}`,
                       onclick: () => editZone(zone) }),
        el("button", { type: "button", class: "secondary small", text: "Delete", "aria-label": `delete zone ${zone.name}`,
                       onclick: () => deleteZone(zone.name) })),
      el("span", { class: "kind", text: zoneKind(zone),
                   title: zone.restricted && zone.hours && zone.hours.length ? `in force at these hours (${$("#zone-hours-zone").textContent})` : "" }),
      warning);
  }));
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
  // a copy: a zone the server refuses must not stay in the page's list
  try { zones = [...await freshZones()]; } catch (err) { return setZoneMessage(err.message, "error"); }
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
  if (!confirm(`Delete zone “${name}” of camera ${state.zone.camera}?`)) return;
  let zones;
  try { zones = await freshZones(); } catch (err) { return setZoneMessage(err.message, "error"); }
  saveZones(zones.filter((z) => z.name !== name), `Zone “${name}” deleted.`);
}

// Order matters (the first zone that holds a face's centre is its zone): one place up or down.
async function moveZone(name, step) {
  let zones;
  try { zones = [...await freshZones()]; } catch (err) { return setZoneMessage(err.message, "error"); }
  const at = zones.findIndex((z) => z.name === name), to = at + step;
  if (at < 0 || to < 0 || to >= zones.length) return;
  [zones[at], zones[to]] = [zones[to], zones[at]];
  saveZones(zones, `Zone “${name}” moved ${step < 0 ? "up" : "down"}.`);
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
  refreshCompliance();
  loadEvents();
  connectLive();
  setInterval(refreshCameras, REFRESH_MS);
  setInterval(refreshStats, 5000);
  setInterval(bannerTick, 1000);
  setInterval(refreshCompliance, 15000);
});
