// maskwatch page: the zone editor (loaded after app.js, which it uses).
"use strict";

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

// An edit writes to the camera it started on, also when another camera is picked while it waits for the server.
async function saveZones(name, zones, okText) {
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
  const camera = state.zone.camera;
  let zones;
  // a copy: a zone the server refuses must not stay in the page's list
  try { zones = [...await freshZones(camera)]; } catch (err) { return setZoneMessage(err.message, "error"); }
  const round = (v) => Math.round(Math.min(1, Math.max(0, v)) * 10000) / 10000;
  const hours = $("#zone-hours").value.split(";").map((h) => h.trim()).filter(Boolean);
  const alerts = $("#zone-alerts").value;
  const kind = $("#zone-kind").value, restricted = kind === "restricted";
  const zone = { name, polygon: pts.map(([x, y]) => [round(x), round(y)]), restricted, ignore: kind === "ignore",
                 hours: restricted ? hours : [], alert_labels: alerts && restricted ? alerts.split(",") : null };
  // same name: replaces that zone in its place, since the first zone containing a face wins
  const at = zones.findIndex((z) => z.name === name);
  if (at >= 0) zones[at] = zone; else zones.push(zone);
  if (await saveZones(camera, zones, `Zone “${name}” saved.`)) {
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
  const camera = state.zone.camera;
  if (!confirm(`Delete zone “${name}” of camera ${camera}?`)) return;
  let zones;
  try { zones = await freshZones(camera); } catch (err) { return setZoneMessage(err.message, "error"); }
  saveZones(camera, zones.filter((z) => z.name !== name), `Zone “${name}” deleted.`);
}

// Order matters (the first zone that holds a face's centre is its zone): one place up or down.
async function moveZone(name, step) {
  const camera = state.zone.camera;
  let zones;
  try { zones = [...await freshZones(camera)]; } catch (err) { return setZoneMessage(err.message, "error"); }
  const at = zones.findIndex((z) => z.name === name), to = at + step;
  if (at < 0 || to < 0 || to >= zones.length) return;
  [zones[at], zones[to]] = [zones[to], zones[at]];
  saveZones(camera, zones, `Zone “${name}” moved ${step < 0 ? "up" : "down"}.`);
}

// Edits start from the server's zones, not the page's last poll: someone else may have changed them meanwhile.
async function freshZones(camera) {
  const zones = await api(`/api/cameras/${cam(camera)}/zones`);
  const c = state.cameras.find((x) => x.name === camera);
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
