// DeepPhoto Studio: the page. Plain JavaScript, no build step; every picture is made by the server.
"use strict";

const $ = (id) => document.getElementById(id);
const STAMP_ROWS = 16; // rows appended to each live frame: the capture time, read back for latency
const STAMP_BITS = 24;

const studio = {
  client: null,
  info: null,
  photo: null, // {id, width, height, format, url}
  photoTicket: 0, // the newest photo chosen: an upload that finishes after a newer one is dropped
  look: { style: null, effect: null, painting: null, background: null, region: "background", strength: 1, keep_exposure: 0, threshold: 0.5, feather: 3 },
  view: "result",
  rendering: false,
  dirty: false,
  lastRender: null,
  job: null,
  live: null,
  liveStats: { fps: 0, latency: null, server: null, frames: 0, look: "" },
};
window.studio = studio; // for tests and the curious

// ------------------------------------------------------------------ server

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// An error answer that is not the studio's (its own are JSON): a reverse proxy's in front of it
// (nginx, Caddy), or the server's HTTP layer. Its status text said only 'Payload Too Large' for a
// photo under the studio's limit (nginx takes 1 MB unless told more), and nothing at all over
// HTTP/2, which has none.
function notTheStudios(reply) {
  const said = reply.statusText ? ` (${reply.statusText})` : "";
  if (reply.status === 413) {
    return `the web server in front of the studio refused the file as too large${said}: ` +
      "it takes less than the studio does (nginx takes 1 MB unless told more: client_max_body_size 25m;)";
  }
  return `the web server answered ${reply.status}${said}, not the DeepPhoto studio`;
}

async function api(path, { method = "POST", json, body, headers = {} } = {}) {
  const h = { "X-DeepPhoto-Client": studio.client || "new", ...headers };
  if (json !== undefined) { h["Content-Type"] = "application/json"; body = JSON.stringify(json); }
  let reply;
  try {
    reply = await fetch(path, { method, headers: h, body });
  } catch (e) {
    throw new ApiError(0, "the DeepPhoto server is not answering (was it stopped?)");
  }
  if (reply.status === 410) {
    await hello();
    throw new ApiError(410, "this page's session had ended; it has a new one now: please upload again");
  }
  if (!reply.ok) {
    let message = "";
    try { message = (await reply.json()).error || ""; } catch (e) { /* not JSON: not the studio's own answer */ }
    throw new ApiError(reply.status, message || notTheStudios(reply));
  }
  return reply;
}

// Where the focus was when an error came: Dismiss gives it back there, not to the top of the page.
let errorReturn = null;

function showError(e) {
  const text = e instanceof Error ? e.message : String(e);
  $("error-text").textContent = text;
  const at = document.activeElement;
  if (!$("error").contains(at)) errorReturn = at && at !== document.body ? at : null;
  $("error").hidden = false;
  if (!(e instanceof ApiError)) console.error(e);
}

function clearError() {
  const had = $("error").contains(document.activeElement);
  $("error").hidden = true;
  if (had) focusOn(errorReturn, $(`tab-${currentTab()}`));
}

function currentTab() {
  return ["photo", "live", "camera"].find((tab) => !$(tab).hidden) || "photo";
}

function focusable(el) {
  return Boolean(el && el.isConnected && !el.disabled && el.getClientRects().length);
}

// The first of ``choices`` that can take the focus takes it.
function focusOn(...choices) {
  const el = choices.find(focusable);
  if (el) el.focus();
}

// A button pressed goes disabled or hidden (Start while the camera opens, ...): the browser drops its
// focus to the page, and a keyboard user's next Tab starts over at the top. The function returned
// gives the focus, if the button had it, to the first of its arguments that can take it (Stop).
function focusHeld(button) {
  const had = document.activeElement === button;
  return (...to) => {
    const at = document.activeElement;
    if (had && (at === button || at === document.body || at === null)) focusOn(...to);
  };
}

async function hello() {
  studio.client = null;
  const info = await (await api("/api/hello")).json();
  studio.client = info.client;
  studio.info = info;
  forgetUploads();
  return info;
}

// The server no longer has this page's uploads (a new session): show that, rather than a photo
// that no button can use any more.
function forgetUploads() {
  const had = studio.photo !== null || studio.look.painting !== null || studio.look.background !== null;
  if (studio.photo && studio.photo.url) URL.revokeObjectURL(studio.photo.url);
  studio.photo = null;
  studio.job = null; // its job went with the session: no Cancel for it
  $("best-cancel").hidden = true;
  $("best-say").textContent = "";
  $("best-steps").textContent = "";
  studio.look.painting = null;
  studio.look.background = null;
  if (!had) return;
  $("before").removeAttribute("src");
  $("after").removeAttribute("src");
  $("compare").classList.add("empty");
  $("download").disabled = true;
  $("best-start").disabled = true;
  $("painting-name").textContent = "";
  $("photo-status").textContent = "The server no longer has your photo: please choose it again.";
  markGallery();
}

// the access token of the address 'deepphoto serve' printed has done its work once the server
// answered (it keeps it in a cookie): out of the address bar, where anyone who sees the screen
// (a café, a shared screen) would read it, and of the browser's history
function forgetToken() {
  const url = new URL(location.href);
  if (!url.searchParams.has("token")) return;
  url.searchParams.delete("token");
  history.replaceState(null, "", url.pathname + url.search + url.hash);
}

// ------------------------------------------------------------------ tabs

function selectTab(name) {
  for (const tab of ["photo", "live", "camera"]) {
    $(`tab-${tab}`).setAttribute("aria-selected", String(tab === name));
    $(`tab-${tab}`).tabIndex = tab === name ? 0 : -1; // one Tab stop; the arrows go between them
    $(tab).hidden = tab !== name;
  }
  if (name === "camera") cameraPoll();
  history.replaceState(null, "", `#${name}`);
}

// ------------------------------------------------------------------ photo

function lookValues() {
  const l = studio.look;
  const values = { region: l.region, strength: l.strength, keep_exposure: l.keep_exposure, threshold: l.threshold, feather: l.feather };
  if (l.painting) values.painting = l.painting;
  else if (l.effect) { values.effect = l.effect; if (l.effect === "replace") values.background = l.background; }
  else if (l.style) values.style = l.style;
  return values;
}

async function uploadFile(kind, file) {
  if (!file) return null;
  const reply = await api(`/api/uploads/${kind}`, { body: file, headers: { "Content-Type": "application/octet-stream" } });
  return reply.json();
}

async function setPhoto(file) {
  clearError();
  const ticket = ++studio.photoTicket;
  try {
    $("photo-status").textContent = "Reading the photo…";
    const item = await uploadFile("photo", file);
    if (ticket !== studio.photoTicket) return; // a photo chosen later replaced this one
    if (studio.photo && studio.photo.url) URL.revokeObjectURL(studio.photo.url);
    studio.photo = { ...item, url: URL.createObjectURL(file), name: stemOf(file) };
    $("before").src = studio.photo.url;
    // the painting of the photo before is not shown over this one while its own is made
    $("after").hidden = true;
    $("compare").classList.remove("empty");
    $("download").disabled = false;
    // one best-quality job at a time: one still running (of the photo before) keeps its progress,
    // Cancel and download link; a second started beside it left the first unseen and uncancellable
    const job = studio.job;
    const busy = job !== null && (job.state === "queued" || job.state === "running");
    $("best-start").disabled = !studio.info.best.available || busy;
    render();
  } catch (e) {
    if (ticket !== studio.photoTicket) return;
    $("photo-status").textContent = "";
    showError(e);
  }
}

// Newest wins: while a preview is being made, further changes only mark it dirty.
async function render() {
  if (!studio.photo) return;
  if (studio.rendering) { studio.dirty = true; return; }
  studio.rendering = true;
  studio.dirty = false;
  const started = performance.now();
  const photo = studio.photo;
  // a slow server: say what is being made, not what was shown before (the picture stays until it comes)
  $("photo-status").textContent = studio.view === "mask" ? "Finding the person…" : "Painting…";
  try {
    const reply = await api("/api/render", { json: { photo: photo.id, size: "preview", view: studio.view, ...lookValues() } });
    const blob = await reply.blob();
    if (studio.photo !== photo) { studio.dirty = true; return; } // another photo was chosen meanwhile: made next
    const old = $("after").src;
    $("after").src = URL.createObjectURL(blob);
    $("after").hidden = false;
    if (old.startsWith("blob:")) URL.revokeObjectURL(old);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    studio.lastRender = { size: reply.headers.get("X-Image-Size"), seconds };
    $("photo-status").textContent = `${describeLook()} — preview ${studio.lastRender.size} in ${seconds} s; the download is ${studio.photo.width}x${studio.photo.height}.${notesOf(studio.photo)}${noteOf(reply)}`;
    $("compare").classList.toggle("mask", studio.view === "mask");
  } catch (e) {
    if (studio.photo === photo) $("photo-status").textContent = "";
    showError(e);
  } finally {
    studio.rendering = false;
    if (studio.dirty) render();
  }
}

// What `deepphoto edit` would warn of in an upload (a TIFF of several pages, an animation, a file cut off).
function notesOf(item) {
  return item && item.notes && item.notes.length ? ` Note: ${item.notes.join("; ")}.` : "";
}

// What `deepphoto edit` would warn of in a picture made (no person found, so it is left as it was, ...).
function noteOf(reply) {
  const note = reply.headers.get("X-DeepPhoto-Note");
  return note ? ` Note: ${note}.` : "";
}

function describeLook() {
  const l = studio.look;
  if (studio.view === "mask") return "Person mask";
  const name = l.painting ? "your painting" : l.effect ? l.effect : l.style ? titleOf(l.style) : "nothing";
  const light = l.keep_exposure > 0 && !l.effect ? `, ${Math.round(l.keep_exposure * 100)}% of the photo's light kept` : "";
  return `${name} on the ${l.region === "whole" ? "whole picture" : l.region}${light}`;
}

function titleOf(name) {
  const s = (studio.info.styles || []).find((x) => x.name === name);
  return s ? s.title.split(",")[0] : name;
}

function chooseStyle(name) {
  studio.look.style = name;
  studio.look.painting = null;
  studio.look.effect = null;
  $("effect").value = "";
  $("background-label").hidden = true;
  markGallery();
  render();
}

function markGallery() {
  const buttons = [...$("gallery").querySelectorAll("button")];
  for (const b of buttons) {
    const on = !studio.look.painting && !studio.look.effect && (b.dataset.style || null) === (studio.look.style || null);
    b.setAttribute("aria-checked", String(on));
    b.tabIndex = on ? 0 : -1; // a radio group is one Tab stop: the arrows go between the paintings
  }
  if (buttons.length && !buttons.some((b) => b.tabIndex === 0)) buttons[0].tabIndex = 0; // none chosen (an effect)
  if (!studio.look.painting) $("painting-name").textContent = ""; // the uploaded painting is no longer in use
  $("keep-exposure").disabled = Boolean(studio.look.effect); // it changes paintings only, not a classic effect
}

function buildGallery(styles) {
  const g = $("gallery");
  g.textContent = "";
  for (const s of styles) {
    const b = document.createElement("button");
    b.type = "button";
    b.setAttribute("role", "radio");
    b.dataset.style = s.name;
    b.title = s.title;
    b.setAttribute("aria-label", s.title); // said once ("The Scream, Edvard Munch, 1893"), not twice with the label
    const img = document.createElement("img");
    // a user style replaced (add-style --replace) has another version: not the picture the browser keeps
    img.src = `/api/styles/${encodeURIComponent(s.name)}/thumb.jpg${s.version ? `?v=${s.version}` : ""}`;
    img.alt = ""; // the button's name says what it shows
    const label = document.createElement("span");
    label.textContent = s.title.split(",")[0];
    b.append(img, label);
    b.addEventListener("click", () => chooseStyle(s.name));
    g.append(b);
  }
  if (styles.length) chooseStyle(styles[0].name);
}

// The name of the photo's file without its extension ("" for a photo taken with the camera): the
// downloads are named after it, in any script, so that two photos' downloads are not told apart by (1).
function stemOf(file) {
  const name = (file && typeof file.name === "string" ? file.name : "").replace(/[\\/:*?"<>|\x00-\x1f]/g, "_").trim();
  const dot = name.lastIndexOf(".");
  return [...(dot > 0 ? name.slice(0, dot) : name)].slice(0, 100).join("").trim();
}

// A download's name: the photo's own name (else "deepphoto") and what was made of it.
function downloadName(what, blob) {
  const stem = studio.photo && studio.photo.name ? studio.photo.name : "deepphoto";
  return `${stem}-${what}.${blob.type === "image/png" ? "png" : "jpg"}`;
}

async function download(url, name) {
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
}

async function downloadFull() {
  const button = $("download");
  if (!studio.photo || button.getAttribute("aria-disabled") === "true") return;
  clearError();
  // busy, not disabled: a disabled button loses the keyboard's focus to the top of the page
  button.setAttribute("aria-disabled", "true");
  $("photo-status").textContent = `Making the full-size picture (${studio.photo.width}x${studio.photo.height})…`;
  try {
    const reply = await api("/api/render", { json: { photo: studio.photo.id, size: "full", ...lookValues() } });
    const blob = await reply.blob();
    const url = URL.createObjectURL(blob);
    studio.lastDownload = { size: reply.headers.get("X-Image-Size"), bytes: blob.size, type: blob.type };
    await download(url, downloadName(studio.look.painting ? "painting" : studio.look.effect || studio.look.style || "photo", blob));
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    $("photo-status").textContent = `Downloaded ${studio.lastDownload.size} (${(blob.size / 1e6).toFixed(1)} MB).${noteOf(reply)}`;
  } catch (e) {
    showError(e);
  } finally {
    button.removeAttribute("aria-disabled");
  }
}

// ------------------------------------------------------------------ best quality (the optimiser)

async function bestStart() {
  if (!studio.photo) return;
  clearError();
  try {
    const reply = await api("/api/jobs", { json: { photo: studio.photo.id, size: Number($("best-size").value), ...lookValues() } });
    studio.job = { ...(await reply.json()), photo: studio.photo.id, name: studio.photo.name, answered: Date.now() };
    const held = focusHeld($("best-start"));
    $("best-start").disabled = true;
    $("best-cancel").hidden = false;
    held($("best-cancel"));
    $("best-progress").hidden = false;
    $("best-progress").value = 0;
    bestPoll();
  } catch (e) {
    showError(e);
  }
}

async function bestPoll() {
  const job = studio.job;
  if (!job) return;
  const mine = () => studio.job !== null && studio.job.id === job.id; // not a new session's, or none
  try {
    const state = await (await api(`/api/jobs/${job.id}`, { method: "GET" })).json();
    if (!mine()) return; // the page was given a new session meanwhile
    studio.job = { ...state, photo: job.photo, name: job.name, answered: Date.now() };
    $("best-progress").value = state.progress;
    // the state is said (queued, running, done) once; the steps, changing every poll, are only shown
    bestSay(state.state);
    $("best-steps").textContent = `: ${Math.round(state.progress * 100)}% (${state.done}/${state.total} steps, ${state.seconds} s)`;
    $("best-progress").setAttribute("aria-valuetext", `${Math.round(state.progress * 100)}%`);
    if (state.state === "queued" || state.state === "running") { setTimeout(bestPoll, 700); return; }
    const blob = state.state === "done" ? await (await api(`/api/jobs/${job.id}/result`, { method: "GET" })).blob() : null;
    if (!mine()) return;
    bestEnded();
    if (state.state === "done") {
      const url = URL.createObjectURL(blob);
      const samePhoto = studio.photo !== null && studio.photo.id === job.photo;
      if (samePhoto) { // not onto another photo chosen while it ran
        $("after").src = url;
        $("after").hidden = false;
        studio.view = "result";
        $("show-mask").setAttribute("aria-pressed", "false");
        $("compare").classList.remove("mask");
      }
      const note = state.message ? `Note: ${state.message}. ` : "";
      $("best-steps").textContent = "";
      bestSay(`Best quality done in ${state.seconds} s (full size${samePhoto ? "" : ", of the photo before"}). ${note}`);
      const link = document.createElement("a");
      link.href = url;
      link.download = `${job.name || "deepphoto"}-best.${blob.type === "image/png" ? "png" : "jpg"}`;
      link.textContent = "Download it";
      $("best-say").append(link);
    } else if (state.state === "failed") {
      showError(`Best quality failed: ${state.message}`);
    }
  } catch (e) {
    if (!mine()) return;
    // a moment without the server (a phone's Wi-Fi, a busy server or proxy) does not end the job
    // there: the page asks again, rather than stop, Start disabled and Cancel shown, for a job going
    // on unseen; until the server has let it go (a page it has not heard from for 4 heartbeats
    // loses its session and jobs): no longer 'Waiting' for ever, Start disabled, for a lost job
    if (e instanceof ApiError && [0, 429, 502, 503, 504].includes(e.status)) {
      const silent = Math.round((Date.now() - job.answered) / 1000);
      if (silent < studio.info.heartbeat_s * 6) {
        bestSay("Waiting for the server to answer…");
        setTimeout(bestPoll, 2000);
        return;
      }
      bestEnded();
      bestSay("");
      $("best-steps").textContent = "";
      showError(`Best quality: no answer from the server for ${silent} s: ${e.message}. The job is lost: start it again once the server answers`);
      return;
    }
    bestEnded(); // the job is gone (404: a new session, the server restarted): Start again
    showError(e);
  }
}

// A job came to its end, whatever it was: Cancel goes, Start is back (when there is a photo).
function bestEnded() {
  const held = focusHeld($("best-cancel"));
  $("best-cancel").hidden = true;
  $("best-start").disabled = !studio.photo || !studio.info.best.available;
  held($("best-start"));
}

// Best quality's state, in its live region (announced when it changes).
function bestSay(text) {
  if ($("best-say").textContent !== text) $("best-say").textContent = text;
}

async function bestCancel() {
  if (!studio.job) return;
  try { await api(`/api/jobs/${studio.job.id}`, { method: "DELETE" }); } catch (e) { showError(e); }
}

// ------------------------------------------------------------------ take a photo with the camera

// Why this page cannot have the camera ("" when it can): browsers give it only to secure pages,
// https:// or http://localhost, not to the studio opened by another computer's address.
function cameraUnavailable() {
  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) return "";
  if (window.isSecureContext) return "this browser gives no page the camera";
  return `the browser gives the camera only to pages opened as https:// or http://localhost, not http://${location.hostname}: ` +
    "restart the studio with 'deepphoto serve --https' and open the https:// address it prints";
}

function openCamera(constraints) {
  const why = cameraUnavailable();
  if (why) throw new Error(why);
  return navigator.mediaDevices.getUserMedia(constraints);
}

async function snapOpen() {
  try {
    const stream = await openCamera({ video: { width: 1280, height: 720 }, audio: false });
    $("snap-video").srcObject = stream;
    $("snap").showModal();
  } catch (e) {
    showError(`The camera could not be opened: ${e.message}`);
  }
}

// The camera goes off however the dialog closes: Cancel, Take, or the Escape key (the browser's own close).
function snapStop() {
  const stream = $("snap-video").srcObject;
  if (stream) stream.getTracks().forEach((t) => t.stop());
  $("snap-video").srcObject = null;
}

function snapClose() {
  snapStop();
  if ($("snap").open) $("snap").close();
}

function snapTake() {
  const v = $("snap-video");
  const c = document.createElement("canvas");
  c.width = v.videoWidth;
  c.height = v.videoHeight;
  c.getContext("2d").drawImage(v, 0, 0);
  c.toBlob((blob) => { snapClose(); if (blob) setPhoto(blob); }, "image/jpeg", 0.92);
}

// ------------------------------------------------------------------ live

function fillLooks(select, withNone) {
  select.textContent = "";
  for (const s of studio.info.styles) select.append(new Option(s.title.split(",")[0], `style:${s.name}`));
  for (const e of studio.info.effects) if (e !== "replace") select.append(new Option(`effect: ${e}`, `effect:${e}`));
  if (withNone) select.value = `style:${studio.info.styles[0] ? studio.info.styles[0].name : ""}`;
}

function lookOf(value) {
  const kind = value.slice(0, value.indexOf(":")), name = value.slice(value.indexOf(":") + 1); // a blend has colons
  return kind === "style" ? { style: name, effect: null } : { style: null, effect: name };
}

// A tab's strength acts on a style's painting only (as `deepphoto run --strength`): greyed out for a classic effect.
function markStrength(tab) {
  $(`${tab}-strength`).disabled = !$(`${tab}-look`).value.startsWith("style:");
}

function radioValue(name) {
  const checked = document.querySelector(`input[name="${name}"]:checked`);
  return checked ? checked.value : "background";
}

function liveSettings() {
  return {
    ...lookOf($("live-look").value),
    region: radioValue("live-region"),
    strength: Number($("live-strength").value) / 100,
    threshold: Number($("live-threshold").value) / 100,
    keep_exposure: Number($("live-keep-exposure").value) / 100,
    smooth: Number($("live-smooth").value) / 100,
    feather: Number($("live-feather").value),
    mirror: $("live-mirror").checked,
  };
}

function drawStamp(ctx, width, top, ms) {
  const block = Math.floor(width / (STAMP_BITS + 2));
  ctx.fillStyle = "#000";
  ctx.fillRect(0, top, width, STAMP_ROWS);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, top, block, STAMP_ROWS); // sync: white, then black
  for (let i = 0; i < STAMP_BITS; i++) if ((ms >> i) & 1) ctx.fillRect((i + 2) * block, top, block, STAMP_ROWS);
}

function readStamp(data, width) {
  // data: RGBA of the stamp rows (width x STAMP_ROWS); the middle row's block centres
  const block = Math.floor(width / (STAMP_BITS + 2));
  const y = STAMP_ROWS >> 1;
  const at = (i) => { const x = Math.floor(i * block + block / 2); const k = (y * width + x) * 4; return (data[k] + data[k + 1] + data[k + 2]) / 3; };
  if (at(0) < 170 || at(1) > 85) return null;
  let ms = 0;
  for (let i = 0; i < STAMP_BITS; i++) { const v = at(i + 2); if (v > 85 && v < 170) return null; if (v >= 170) ms |= 1 << i; }
  return ms;
}

async function liveStart() {
  clearError();
  const held = focusHeld($("live-start"));
  $("live-start").disabled = true;
  $("live-status").textContent = "Opening the camera…";
  let camera, pc;
  try {
    camera = await openCamera({ video: { width: 640, height: 480 }, audio: false });
    const local = $("live-local");
    local.srcObject = camera;
    await local.play();
    const scale = Math.min(1, 640 / local.videoWidth);
    const width = Math.round(local.videoWidth * scale / 16) * 16;
    const height = Math.round(local.videoHeight * scale / 16) * 16;
    const send = document.createElement("canvas");
    send.width = width;
    send.height = height + STAMP_ROWS;
    const sctx = send.getContext("2d");
    let drawing = true;
    const draw = () => {
      if (!drawing) return;
      sctx.drawImage(local, 0, 0, width, height);
      drawStamp(sctx, width, height, Math.round(performance.now()) & 0xffffff);
      local.requestVideoFrameCallback(draw);
    };
    local.requestVideoFrameCallback(draw);
    const stream = send.captureStream(30);

    pc = new RTCPeerConnection({ iceServers: [] });
    const channel = pc.createDataChannel("control");
    channel.onmessage = (ev) => onLiveMessage(JSON.parse(ev.data));
    // what was chosen while connecting (the offer carried the look of the moment Start was pressed)
    channel.onopen = () => channel.send(JSON.stringify({ type: "settings", ...liveSettings() }));
    pc.addTrack(stream.getVideoTracks()[0], stream);
    const remote = $("live-remote");
    pc.ontrack = (ev) => { remote.srcObject = ev.streams[0] || new MediaStream([ev.track]); remote.play().catch(() => {}); };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed") { showError("The live connection failed."); liveStop(); }
    };
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") return resolve();
      const check = () => { if (pc.iceGatheringState === "complete") { pc.removeEventListener("icegatheringstatechange", check); resolve(); } };
      pc.addEventListener("icegatheringstatechange", check);
      setTimeout(resolve, 3000);
    });
    $("live-status").textContent = "Connecting to the server…";
    const answer = await (await api("/api/live/offer", {
      json: { sdp: pc.localDescription.sdp, type: pc.localDescription.type, settings: liveSettings(), stamp_rows: STAMP_ROWS },
    })).json();
    await pc.setRemoteDescription({ sdp: answer.sdp, type: answer.type });
    studio.live = { pc, camera, channel, session: answer.session, stop: () => { drawing = false; }, width, height, shown: [], latencies: [] };
    showRemote(remote, width, height);
    $("live-stop").disabled = false;
    held($("live-stop"));
    $("live-status").textContent = "Live: your camera goes through DeepPhoto on this computer and comes back.";
  } catch (e) {
    if (pc) pc.close();
    if (camera) camera.getTracks().forEach((t) => t.stop());
    $("live-start").disabled = false;
    held($("live-start"));
    $("live-status").textContent = "";
    showError(e instanceof ApiError ? e : `Live could not start: ${e.message}`);
  }
}

// The processed video, drawn without its stamp rows; the stamp gives the glass-to-glass time.
function showRemote(remote, width, height) {
  const out = $("live-out");
  const ctx = out.getContext("2d", { willReadFrequently: true });
  const live = studio.live;
  const tick = (now, meta) => {
    if (studio.live !== live) return;
    const vw = remote.videoWidth, vh = remote.videoHeight;
    if (vw && vh) {
      const rows = Math.round(STAMP_ROWS * vh / (height + STAMP_ROWS));
      if (out.width !== vw || out.height !== vh - rows) { out.width = vw; out.height = vh - rows; }
      ctx.drawImage(remote, 0, 0, vw, vh - rows, 0, 0, vw, vh - rows);
      const stamp = stampOf(remote, vw, vh);
      const shownAt = (meta && meta.expectedDisplayTime) || now;
      if (stamp !== null) {
        const ms = ((Math.round(shownAt) & 0xffffff) - stamp + 0x1000000) % 0x1000000;
        if (ms < 10000) { live.latencies.push(ms); if (live.latencies.length > 30) live.latencies.shift(); }
      }
      live.shown.push(now);
      while (live.shown.length && now - live.shown[0] > 2000) live.shown.shift();
      studio.liveStats.frames += 1;
    }
    remote.requestVideoFrameCallback(tick);
  };
  remote.requestVideoFrameCallback(tick);
  live.timer = setInterval(() => {
    const s = live.shown;
    const fps = s.length > 1 ? (s.length - 1) / ((s[s.length - 1] - s[0]) / 1000) : 0;
    const lat = live.latencies.length ? [...live.latencies].sort((a, b) => a - b)[live.latencies.length >> 1] : null;
    studio.liveStats.fps = fps;
    studio.liveStats.latency = lat;
    $("live-fps").textContent = fps.toFixed(1);
    $("live-latency").textContent = lat === null ? "–" : `${lat} ms`;
  }, 500);
}

const stampCanvas = document.createElement("canvas");
function stampOf(remote, vw, vh) {
  const rows = STAMP_ROWS;
  stampCanvas.width = vw;
  stampCanvas.height = rows;
  const c = stampCanvas.getContext("2d", { willReadFrequently: true });
  c.drawImage(remote, 0, vh - rows, vw, rows, 0, 0, vw, rows);
  return readStamp(c.getImageData(0, 0, vw, rows).data, vw);
}

function onLiveMessage(msg) {
  if (msg.type === "stats") {
    $("live-server").textContent = `${msg.process_ms} ms (${msg.fps} fps)`;
    $("live-dropped").textContent = String(msg.dropped);
    studio.liveStats.server = msg;
    studio.liveStats.look = msg.look;
  } else if (msg.type === "error") {
    showError(msg.message);
  }
}

function liveSend() {
  const live = studio.live;
  if (live && live.channel.readyState === "open") live.channel.send(JSON.stringify({ type: "settings", ...liveSettings() }));
}

async function liveStop() {
  const live = studio.live;
  if (!live) return;
  studio.live = null;
  const held = focusHeld($("live-stop"));
  live.stop();
  clearInterval(live.timer);
  try { await api(`/api/live/${live.session}/close`); } catch (e) { /* already gone */ }
  live.pc.close();
  live.camera.getTracks().forEach((t) => t.stop());
  $("live-local").srcObject = null;
  $("live-remote").srcObject = null;
  $("live-start").disabled = false;
  $("live-stop").disabled = true;
  held($("live-start"));
  $("live-status").textContent = "Stopped.";
  for (const id of ["live-fps", "live-latency", "live-server", "live-dropped"]) $(id).textContent = "–"; // not the last run's
  Object.assign(studio.liveStats, { fps: 0, latency: null, server: null });
}

// ------------------------------------------------------------------ camera (a 'deepphoto run --control')

let cameraTimer = null;
let cameraPreviewBusy = false;
let cameraStarting = false; // Start pressed, the run not known to be running yet
let cameraPending = false; // a look chosen while the run starts: sent once it answers
// The run whose settings the controls show (GET /status's "run": each run has its own). A run this
// page did not start (one steered with 'serve --camera PORT', or started by another page) is taken
// as it runs when it first answers, and so is another run answering in its place: one started again
// in its terminal with other settings was steered with the old run's (the tab, hidden meanwhile,
// asked nothing while it was down, and its first change sent wave at 30% to a run of scream at 80%);
// else the first change sent all of the page's defaults with it (a run started with --strength 0.3
// went to 100% when the region was changed)
let cameraRun = null;
let cameraMine = false; // Start pressed here: the run it starts takes the controls as shown
// The run's settings as last seen (JSON): changed elsewhere (the window's 's' and 'r' keys, a script,
// another page), the controls follow them, else the tab's next change sent its stale ones back (the
// window's person went back to the background when the Strength slider moved). A status asked for
// while a change of this page's was on its way may be of before it: not followed.
let cameraSeen = null;
let cameraSends = 0; // changes of this page sent so far
let cameraSending = 0; // of them, not answered yet
// A change made while one is on its way waits for its answer, then goes with the controls as they
// are then: sent at once, two changes could be applied by the run in either order (each waits for
// the frame in hand, and the run takes them on threads of their own), and a slider moved 19, 63, 59,
// 74, 45, 28 left a 1280x720 run at 45% while the slider said 28
let cameraResend = false;
// Sliders moved and not sent yet (sent 150 ms after they stop): the run's settings taken meanwhile
// (a change made elsewhere) leave them as the user has them, else the slider jumped back under the
// user's finger and its old value was sent
const cameraEdits = new Set();

function cameraLook() {
  return {
    ...lookOf($("camera-look").value),
    region: radioValue("camera-region"),
    strength: Number($("camera-strength").value) / 100,
    threshold: Number($("camera-threshold").value) / 100,
    keep_exposure: Number($("camera-keep-exposure").value) / 100,
    smooth: Number($("camera-smooth").value) / 100,
    feather: Number($("camera-feather").value),
  };
}

function fillSelect(select, options) {
  const keep = select.value;
  select.textContent = "";
  for (const [value, label] of Object.entries(options)) select.append(new Option(label, value));
  if (keep && options[keep]) select.value = keep;
}

let cameraPolls = 0; // polls begun: only the newest one's answer is taken, and only it asks again

async function cameraPoll() {
  clearTimeout(cameraTimer);
  if ($("camera").hidden) return;
  // Start and Stop poll at once, maybe while the timer's poll waits for its answer: that older answer
  // (no run yet) coming last made the page take the run's settings again over a slider just moved,
  // and two chains of polls went on from then
  const mine = ++cameraPolls;
  try {
    const quiet = cameraSending === 0 ? cameraSends : -1; // no change of this page's on its way
    const state = await (await api("/api/camera", { method: "GET" })).json();
    if (mine !== cameraPolls) return;
    studio.cameraState = state;
    if (state.running || (state.exit !== null && state.exit !== undefined)) cameraStarting = false;
    fillSelect($("camera-source"), state.sources);
    fillSelect($("camera-output"), state.outputs);
    $("camera-starter").hidden = Boolean(state.attached);
    const held = [focusHeld($("camera-start")), focusHeld($("camera-stop"))];
    $("camera-start").disabled = state.running;
    $("camera-stop").disabled = !state.running || Boolean(state.attached);
    for (const h of held) h($("camera-stop"), $("camera-start"), $("camera-look"));
    const st = state.status;
    let text;
    let numbers = ""; // shown, not announced: a screen reader said the status again every second
    if (st && !st.error) {
      if (cameraPending) { cameraPending = false; cameraSend(); }
      else if (!st.settings) { /* an older run's status has none: the controls stay as shown */ }
      else if (st.run !== cameraRun && !cameraMine) cameraAdopt(st.settings);
      else if (st.run === cameraRun && quiet === cameraSends && cameraSending === 0 && JSON.stringify(st.settings) !== cameraSeen) cameraAdopt(st.settings);
      if (quiet === cameraSends && cameraSending === 0) cameraSeen = JSON.stringify(st.settings);
      cameraRun = st.run;
      cameraMine = false;
      text = `${state.attached ? `Steering the run at ${state.attached}` : `Running: ${state.started.source} → ${state.started.output}`} — ${st.look}`;
      numbers = `, ${st.fps.toFixed(1)} fps, ${st.frames} frames.`;
      cameraPreview();
    } else if (state.running) {
      text = st && st.error ? `Starting… (${st.error})` : "Starting…";
    } else if (state.exit !== null && state.exit !== undefined) {
      // 130: stopped (Stop here, or Ctrl-C where it runs), which is no failure to report
      text = state.exit === 0 ? "The run ended." : state.exit === 130 ? "The run was stopped." : `The run ended (exit status ${state.exit}).`;
    } else {
      text = "No run yet: start one, or start 'deepphoto serve --camera PORT' beside a 'deepphoto run ... --control PORT'.";
    }
    cameraSay(text, numbers);
    $("camera-log").hidden = !(state.log && state.log.length && !state.running);
    $("camera-log").textContent = (state.log || []).join("\n");
    $("camera-placeholder").hidden = Boolean(st && !st.error);
  } catch (e) {
    if (mine !== cameraPolls) return;
    cameraSay(e.message, "");
  }
  cameraTimer = setTimeout(cameraPoll, 1000);
}

// The Camera tab's controls set to the settings the run reports (``settings_view``), nothing sent.
function cameraAdopt(s) {
  const look = s.style ? `style:${s.style}` : `effect:${s.effect}`;
  const select = $("camera-look");
  // a look the list has not (a blend 'wave:0.7,scream:0.3', a virtual background's 'replace'): added
  // as the run's, else the list's first style was shown and sent with the next change (the blend or
  // the person's background became starry-night when the region was changed)
  if (![...select.options].some((o) => o.value === look)) {
    select.append(new Option(s.style ? `${s.style} (the run's)` : `effect: ${s.effect} (the run's)`, look));
  }
  select.value = look;
  const region = document.querySelector(`input[name="camera-region"][value="${s.region}"]`);
  if (region) region.checked = true;
  const values = { strength: s.strength * 100, "keep-exposure": s.keep_exposure * 100, threshold: s.threshold * 100, smooth: s.smooth * 100, feather: s.feather };
  for (const [name, value] of Object.entries(values)) {
    const id = `camera-${name}`; // a setting not reported, or a slider being moved, stays as shown
    if (Number.isFinite(value) && !cameraEdits.has(id)) setSlider(id, Math.round(value));
  }
  markStrength("camera");
}

// The Camera tab's status: ``text`` in its live region (said when it changes), ``numbers`` after it.
function cameraSay(text, numbers) {
  if ($("camera-say").textContent !== text) $("camera-say").textContent = text;
  $("camera-numbers").textContent = numbers;
}

async function cameraPreview() {
  if (cameraPreviewBusy) return;
  cameraPreviewBusy = true;
  try {
    const blob = await (await api("/api/camera/preview.jpg", { method: "GET" })).blob();
    const img = $("camera-preview");
    const old = img.src;
    img.src = URL.createObjectURL(blob);
    if (old.startsWith("blob:")) URL.revokeObjectURL(old);
  } catch (e) {
    /* no frame yet */
  } finally {
    cameraPreviewBusy = false;
  }
}

async function cameraStart() {
  clearError();
  cameraPending = false; // the look goes with the start
  cameraStarting = true;
  cameraMine = true; // the run takes the controls as shown
  try {
    await api("/api/camera/start", { json: { source: $("camera-source").value, output: $("camera-output").value, look: cameraLook() } });
  } catch (e) {
    cameraStarting = false;
    cameraMine = false;
    showError(e);
  }
  cameraPoll();
}

async function cameraStop() {
  try { await api("/api/camera/stop"); } catch (e) { showError(e); }
  cameraPoll();
}

async function cameraSend() {
  cameraEdits.clear(); // sent as they are now
  const state = studio.cameraState;
  const answering = state && state.status && !state.status.error;
  if (cameraStarting || (state && state.running && !answering)) { cameraPending = true; return; } // the run starts: not an error
  if (state && !state.running && !state.attached) return; // no run (yet, or any more): Start takes the look as shown
  if (cameraSending > 0) { cameraResend = true; return; } // after the change on its way (in order)
  cameraSends += 1;
  cameraSending += 1;
  try {
    const reply = await (await api("/api/camera/settings", { json: cameraLook() })).json();
    cameraSeen = JSON.stringify(reply.settings); // as this page made them: not followed
  } catch (e) {
    showError(e);
  } finally {
    cameraSending -= 1;
  }
  if (cameraResend) { cameraResend = false; cameraSend(); }
}

// ------------------------------------------------------------------ wiring

const shownSliders = {}; // id -> shows the slider's value beside it

// A slider set to ``value`` and shown so, nothing sent.
function setSlider(id, value) {
  $(id).value = String(value);
  shownSliders[id]();
}

function slider(id, format, onChange) {
  // named by its text (aria-labelledby): the <output> beside it is its value, said as shown (aria-valuetext)
  const input = $(id);
  const out = $(`${id}-out`);
  const show = () => {
    out.textContent = format(Number(input.value));
    input.setAttribute("aria-valuetext", out.textContent);
  };
  shownSliders[id] = show;
  input.addEventListener("input", () => { show(); onChange(Number(input.value)); });
  show();
}

// Left/Up and Right/Down (Home, End) in ``group`` focus and choose the item before or after (``pick``).
function arrowKeys(group, selector, pick) {
  group.addEventListener("keydown", (e) => {
    const items = [...group.querySelectorAll(selector)];
    const at = items.indexOf(document.activeElement);
    if (at < 0 || e.altKey || e.ctrlKey || e.metaKey) return;
    const to = { ArrowLeft: at - 1, ArrowUp: at - 1, ArrowRight: at + 1, ArrowDown: at + 1, Home: 0, End: items.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    const item = items[(to + items.length) % items.length];
    pick(item);
    item.focus();
  });
}

// On a narrow screen the photo stays at the top over the controls (sticky): a control reached with
// Shift+Tab was scrolled to the top of the window, under the photo, out of sight. The page's scroll
// padding keeps the photo's height clear for the focus. (In a short window only the photo itself
// is pinned, without its status.)
function keepFocusInView() {
  const pinnable = [$("compare"), document.querySelector("#photo .viewer")]; // the photo alone first
  const fit = () => {
    const pinned = $("photo").hidden ? null : pinnable.find((el) => getComputedStyle(el).position === "sticky");
    document.documentElement.style.scrollPaddingTop = pinned ? `${Math.ceil(pinned.getBoundingClientRect().height) + 8}px` : "";
  };
  for (const el of pinnable) new ResizeObserver(fit).observe(el);
  window.addEventListener("resize", fit);
  for (const tab of ["photo", "live", "camera"]) $(`tab-${tab}`).addEventListener("click", fit);
}

function debounce(fn, ms) {
  let t = null;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}

function wire() {
  for (const tab of ["photo", "live", "camera"]) $(`tab-${tab}`).addEventListener("click", () => selectTab(tab));
  // the tabs and the paintings are each one Tab stop, the arrow keys going between them (as a
  // screen reader, saying "tab 1 of 3" or "radio button 1 of 7", tells its user to use them)
  arrowKeys($("tab-photo").parentElement, '[role="tab"]', (tab) => selectTab(tab.getAttribute("aria-controls")));
  arrowKeys($("gallery"), "button", (b) => chooseStyle(b.dataset.style));
  $("error-close").addEventListener("click", clearError);
  keepFocusInView();

  // photo: drop, paste, choose, take
  const drop = $("drop");
  const viewer = $("compare");
  for (const zone of [drop, viewer]) {
    zone.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
    zone.addEventListener("dragleave", () => drop.classList.remove("over"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      const file = e.dataTransfer.files[0];
      if (file) setPhoto(file);
    });
  }
  document.addEventListener("paste", (e) => {
    const item = [...(e.clipboardData ? e.clipboardData.items : [])].find((i) => i.kind === "file");
    if (item) { selectTab("photo"); setPhoto(item.getAsFile()); }
  });
  // keyboard: the file choosers' inputs take the focus (unseen in their labels, named by them); the
  // drop zone opens the photo's too
  drop.addEventListener("keydown", (e) => {
    if (e.target === drop && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); $("photo-file").click(); }
  });
  $("photo-file").addEventListener("change", (e) => { setPhoto(e.target.files[0]); e.target.value = ""; });
  $("snap-open").addEventListener("click", snapOpen);
  $("snap-take").addEventListener("click", snapTake);
  $("snap-close").addEventListener("click", snapClose);
  $("snap").addEventListener("close", snapStop);

  $("painting-file").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    e.target.value = "";
    if (!file) return;
    clearError();
    try {
      const item = await uploadFile("painting", file);
      studio.look.painting = item.id;
      studio.look.effect = null;
      $("effect").value = "";
      $("painting-name").textContent = `${file.name || "painting"} (${item.width}x${item.height})${notesOf(item)}`;
      markGallery();
      render();
    } catch (err) { showError(err); }
  });
  $("effect").addEventListener("change", () => {
    const effect = $("effect").value || null;
    studio.look.effect = effect;
    if (effect) studio.look.painting = null;
    $("background-label").hidden = effect !== "replace";
    markGallery();
    if (effect === "replace" && !studio.look.background) { $("photo-status").textContent = "Upload a background image."; return; }
    render();
  });
  $("background-file").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    e.target.value = "";
    if (!file) return;
    try {
      const item = await uploadFile("background", file);
      studio.look.background = item.id;
      render();
    } catch (err) { showError(err); }
  });
  for (const r of document.querySelectorAll('input[name="region"]')) {
    r.addEventListener("change", () => { studio.look.region = r.value; render(); });
  }
  slider("strength", (v) => `${v}%`, (v) => { studio.look.strength = v / 100; render(); });
  const lightText = (v) => (v === 0 ? "off" : `${v}%`);
  slider("keep-exposure", lightText, (v) => { studio.look.keep_exposure = v / 100; render(); });
  slider("threshold", (v) => (v / 100).toFixed(2), (v) => { studio.look.threshold = v / 100; render(); });
  slider("feather", (v) => `${v} px`, (v) => { studio.look.feather = v; render(); });
  $("show-mask").addEventListener("click", () => {
    studio.view = studio.view === "mask" ? "result" : "mask";
    $("show-mask").setAttribute("aria-pressed", String(studio.view === "mask"));
    render();
  });
  const split = $("split");
  const setSplit = () => {
    const v = Number(split.value);
    $("after").style.clipPath = `inset(0 0 0 ${v}%)`;
    $("divider").style.left = `${v}%`;
  };
  split.addEventListener("input", setSplit);
  setSplit();
  $("download").addEventListener("click", downloadFull);
  $("best-start").addEventListener("click", bestStart);
  $("best-cancel").addEventListener("click", bestCancel);

  // live
  $("live-start").addEventListener("click", liveStart);
  $("live-stop").addEventListener("click", liveStop);
  $("live-look").addEventListener("change", () => { markStrength("live"); liveSend(); });
  for (const r of document.querySelectorAll('input[name="live-region"]')) r.addEventListener("change", liveSend);
  const mirrorLocal = () => $("live-local").classList.toggle("mirrored", $("live-mirror").checked);
  $("live-mirror").addEventListener("change", () => { mirrorLocal(); liveSend(); });
  mirrorLocal();
  const liveLater = debounce(liveSend, 80);
  slider("live-strength", (v) => `${v}%`, liveLater);
  slider("live-keep-exposure", lightText, liveLater);
  slider("live-threshold", (v) => (v / 100).toFixed(2), liveLater);
  slider("live-smooth", (v) => (v / 100).toFixed(2), liveLater);
  slider("live-feather", (v) => `${v} px`, liveLater);

  // camera
  $("camera-start").addEventListener("click", cameraStart);
  $("camera-stop").addEventListener("click", cameraStop);
  $("camera-look").addEventListener("change", () => { markStrength("camera"); cameraSend(); });
  for (const r of document.querySelectorAll('input[name="camera-region"]')) r.addEventListener("change", cameraSend);
  const cameraSoon = debounce(cameraSend, 150);
  const cameraLater = (id) => () => { cameraEdits.add(id); cameraSoon(); };
  slider("camera-strength", (v) => `${v}%`, cameraLater("camera-strength"));
  slider("camera-keep-exposure", lightText, cameraLater("camera-keep-exposure"));
  slider("camera-threshold", (v) => (v / 100).toFixed(2), cameraLater("camera-threshold"));
  slider("camera-smooth", (v) => (v / 100).toFixed(2), cameraLater("camera-smooth"));
  slider("camera-feather", (v) => `${v} px`, cameraLater("camera-feather"));

  // the server closes what this page had when it goes away
  window.addEventListener("pagehide", () => {
    if (studio.client) navigator.sendBeacon(`/api/bye?client=${encodeURIComponent(studio.client)}`);
  });
}

async function start() {
  wire();
  try {
    const info = await hello();
    forgetToken();
    $("limits-text").textContent = `JPEG, PNG, WebP, BMP or AVIF; ${info.limits.text}.`;
    buildGallery(info.styles);
    for (const e of info.effects) $("effect").append(new Option(e === "replace" ? "replace background" : e, e));
    for (const s of info.best.sizes) $("best-size").append(new Option(`${s} px`, String(s)));
    $("best-size").value = "512";
    if (!info.best.available) $("best-say").textContent = "Best quality needs PyTorch on the server (pip install -e '.[torch]').";
    fillLooks($("live-look"), true);
    fillLooks($("camera-look"), true);
    markStrength("live");
    markStrength("camera");
    const noCamera = cameraUnavailable();
    if (!info.live.available) { $("live-start").disabled = true; $("live-status").textContent = info.live.reason; }
    else if (noCamera) { $("live-start").disabled = true; $("live-status").textContent = `Live needs the camera, but ${noCamera}.`; }
    setInterval(() => { api("/api/ping").catch(() => {}); }, info.heartbeat_s * 1000);
    document.body.dataset.ready = "true";
  } catch (e) {
    showError(e);
  }
  const tab = location.hash.replace("#", "");
  if (["photo", "live", "camera"].includes(tab)) selectTab(tab);
}

start();
