// maskwatch page: the events list, the red banner and the alert dialog (loaded after app.js, which it uses).
"use strict";

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

// The list is aria-busy while a page loads: a fresh load replaces the rows, alerts that came in meanwhile included.
// Resolves true when the page reached the list; "more" asked during a load waits for that load instead.
function loadEvents(append = false) {
  if (append && state.eventsPending) return state.eventsPending;
  const pending = loadEventsPage(append).finally(() => {
    if (state.eventsPending === pending) state.eventsPending = null;
  });
  state.eventsPending = pending;
  return pending;
}

// Only the newest load writes the list, so answers arriving out of order never show rows of older filters.
async function loadEventsPage(append) {
  $("#events-csv").href = "/api/events.csv?" + eventFilters();
  const q = eventFilters();
  q.set("limit", EVENTS_PAGE);
  q.set("offset", append ? state.eventsOffset : 0);
  const list = $("#event-list");
  const load = ++state.eventsLoad;
  if (!append) state.arrived = [];
  list.setAttribute("aria-busy", "true");
  let events;
  try { events = await api("/api/events?" + q); } catch (err) { events = null; }
  if (load !== state.eventsLoad) return false;
  list.setAttribute("aria-busy", "false");
  if (!events) return false;
  if (!append) list.replaceChildren();
  for (const e of events) if (!list.querySelector(`[data-id="${e.id}"]`)) list.append(eventItem(e));
  state.eventsOffset = (append ? state.eventsOffset : 0) + events.length;
  if (!append) keepArrived(list);
  $("#events-more").hidden = events.length < EVENTS_PAGE;
  showEmpty();
  return true;
}

function matchesFilters(e) {
  const camera = $("#filter-camera").value, label = $("#filter-label").value, review = $("#filter-review").value;
  return (!camera || e.camera === camera) && (!label || e.label === label) &&
    (!review || (e.review || "unreviewed") === review);
}

// The live feed's alerts of the last fresh load's time in flight: its answer may have been read before them.
function keepArrived(list) {
  for (const e of state.arrived) {
    if (matchesFilters(e) && !list.querySelector(`[data-id="${e.id}"]`)) {
      list.prepend(eventItem(e, true));
      state.eventsOffset += 1;
    }
  }
  state.arrived = [];
}

function onNewEvent(e) {
  const list = $("#event-list");
  if (state.eventsPending) state.arrived.push(e);
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
  const known = state.events.get(e.id);
  try { e = await api(`/api/events/${e.id}`); } catch (err) { return; }
  // a review stored while this read was out came back with the event as it is now: newer than this read
  if (state.events.get(e.id) === known) state.events.set(e.id, e);
  else e = state.events.get(e.id);
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
    if (await loadEvents(true)) return stepEvent(direction);
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
