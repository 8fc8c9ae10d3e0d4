"use strict";
// What every page's script uses: element lookup and building, and the API calls (a 401 goes to the login page;
// another error becomes an Error with the server's detail and the HTTP status).

const $ = (sel, root = document) => root.querySelector(sel);

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
    const err = new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
    err.status = response.status;
    throw err;
  }
  return response.json();
}

// A refresh that never overlaps itself: asked again while its request is out, it runs once more when the answer is
// in. A slow server is then asked no faster than it answers, and a refresh asked for after a change still reads
// after the change.
function oneAtATime(refresh) {
  let running = null, again = false;
  const run = () => {
    if (running) { again = true; return running; }
    running = refresh().finally(() => {
      running = null;
      if (again) { again = false; run(); }
    });
    return running;
  };
  return run;
}
