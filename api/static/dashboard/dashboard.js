// Greenlane dashboard: plain JavaScript, no build step, no external resources. The map is SVG drawn from the API's
// GeoJSON (lon/lat) with an equirectangular projection fitted to the data; everything else is DOM built with
// textContent (never innerHTML with data).
"use strict";

(function () {
  const SVG_NS = "http://www.w3.org/2000/svg"; // an XML namespace name, never fetched
  const API = "/api/v1";
  const TOKEN_KEY = "greenlane.token";
  const LANG_KEY = "greenlane.lang";
  const REFRESH_MS = 60000;
  const EVENT_REFRESH_MS = 1500;
  const FEED_LIMIT = 60;
  const ROUTE_COLOURS = ["#1f5fbf", "#7b3fa8", "#00838f", "#a0522d", "#c2185b", "#3949ab", "#2e7d32", "#5d4037"];
  const I18N = window.GREENLANE_I18N;

  const state = {
    lang: "vi",
    token: "",
    districts: null, // GeoJSON FeatureCollection
    zones: null, // GeoJSON FeatureCollection
    places: null, // {sales_points, depots, checkpoints}
    plans: null, // [{plan_id, district_code, status, routes, unserved}]
    rollup: null, // [{code, name, level, parent_code, ...}]
    alerts: new Map(), // alert_id → alert (open ones from the API, open or resolved ones from the stream)
    errors: new Map(), // source → message
    projection: null,
    bounds: null, // {all, zones} in projected units
    view: null, // {x, y, w, h}
    expanded: new Set(),
    expandAll: false,
    selected: null, // {kind, id}
    stream: null,
    streamRetryMs: 2000,
    refreshTimer: null,
    eventTimer: null,
    loadedOnce: false,
  };

  const $ = (selector) => document.querySelector(selector);

  // ----- language ---------------------------------------------------------------------------------------------

  function t(key, vars) {
    const table = I18N[state.lang] || I18N.vi;
    let text = table[key];
    if (text === undefined) text = I18N.vi[key] !== undefined ? I18N.vi[key] : key;
    if (vars) {
      for (const [name, value] of Object.entries(vars)) text = text.split("{" + name + "}").join(String(value));
    }
    return text;
  }

  // A count in words: "1 stop", "3 stops" (the key with "_one" for exactly one).
  function tn(key, n) {
    return t(n === 1 && I18N.vi[key + "_one"] !== undefined ? key + "_one" : key, {n: number(n)});
  }

  function locale() {
    return state.lang === "en" ? "en-GB" : "vi-VN";
  }

  function number(value, digits) {
    if (value === null || value === undefined || Number.isNaN(Number(value))) return "–";
    return new Intl.NumberFormat(locale(), {maximumFractionDigits: digits || 0}).format(Number(value));
  }

  function days(value) {
    if (value === null || value === undefined) return "–";
    return number(value, Number(value) < 10 ? 1 : 0);
  }

  // Timestamps come as ISO 8601, or as Python's str() of a datetime ("2021-07-09 08:00:00.123456+00:00").
  function parseTime(value) {
    if (!value) return NaN;
    const iso = String(value).replace(" ", "T").replace(/(\.\d{3})\d+/, "$1");
    return Date.parse(iso);
  }

  function clock(iso, withDate) {
    const ms = parseTime(iso);
    if (Number.isNaN(ms)) return "";
    const when = new Date(ms);
    const options = {timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit"};
    if (withDate) Object.assign(options, {day: "2-digit", month: "2-digit"});
    return new Intl.DateTimeFormat(locale(), options).format(when);
  }

  function itemLabel(code) {
    const key = "item_" + code;
    const label = t(key);
    return label === key ? code : label;
  }

  function setLanguage(lang) {
    state.lang = I18N[lang] ? lang : "vi";
    store(LANG_KEY, state.lang);
    document.documentElement.lang = state.lang;
    document.body.dataset.lang = state.lang;
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
      el.setAttribute("placeholder", t(el.dataset.i18nPlaceholder));
    }
    for (const el of document.querySelectorAll("[data-i18n-title]")) el.setAttribute("title", t(el.dataset.i18nTitle));
    for (const button of document.querySelectorAll("[data-lang]")) {
      button.setAttribute("aria-pressed", String(button.dataset.lang === state.lang));
    }
    document.title = "Greenlane · " + t("title");
    renderAll();
    renderStreamStatus();
  }

  // ----- storage and token ------------------------------------------------------------------------------------

  function load(key) {
    try {
      return window.localStorage.getItem(key) || "";
    } catch (_) {
      return "";
    }
  }

  function store(key, value) {
    try {
      if (value) window.localStorage.setItem(key, value);
      else window.localStorage.removeItem(key);
    } catch (_) {
      /* private mode: the value lives for this page only */
    }
  }

  function tokenFromPage() {
    const url = new URL(window.location.href);
    const fromUrl = url.searchParams.get("token");
    const lang = url.searchParams.get("lang");
    if (lang && I18N[lang]) store(LANG_KEY, lang);
    if (fromUrl) {
      store(TOKEN_KEY, fromUrl.trim());
      url.searchParams.delete("token"); // keep it out of the address bar and the history
      window.history.replaceState(null, "", url.pathname + url.search + url.hash);
      return fromUrl.trim();
    }
    return load(TOKEN_KEY);
  }

  function askForToken(messageKey) {
    const form = $("#token-form");
    form.hidden = false;
    const message = $("#token-message");
    message.dataset.i18n = messageKey;
    message.textContent = t(messageKey);
    message.dataset.kind = messageKey === "token_needed" ? "info" : "error";
    $("#token-forget").hidden = !state.token;
    document.body.dataset.state = "needs-token";
  }

  function useToken(token) {
    state.token = token;
    store(TOKEN_KEY, token);
    $("#token-form").hidden = true;
    $("#token-forget").hidden = !token;
    closeStream();
    refresh(true);
  }

  // ----- API --------------------------------------------------------------------------------------------------

  class HttpError extends Error {
    constructor(status, detail) {
      super(detail ? status + " " + detail : String(status));
      this.status = status;
    }
  }

  async function api(path) {
    const response = await fetch(API + path, {
      headers: {"Authorization": "Bearer " + state.token, "Accept": "application/json"},
      cache: "no-store",
      credentials: "omit",
    });
    if (!response.ok) {
      let detail = response.statusText;
      try {
        const body = await response.json();
        if (body && typeof body.detail === "string") detail = body.detail;
      } catch (_) {
        /* not JSON */
      }
      throw new HttpError(response.status, detail);
    }
    return response.json();
  }

  const SOURCES = [
    {key: "districts", path: "/districts", what: "what_districts", once: true},
    {key: "zones", path: "/zones", what: "what_zones"},
    {key: "places", path: "/places", what: "what_places"},
    {key: "plans", path: "/plans/today", what: "what_plans"},
    {key: "alerts", path: "/alerts/shortages", what: "what_alerts"},
    {key: "rollup", path: "/rollup", what: "what_rollup"},
  ];

  async function refresh(everything, only) {
    if (!state.token) {
      askForToken("token_needed");
      return;
    }
    document.body.dataset.state = state.loadedOnce ? "refreshing" : "loading";
    const wanted = SOURCES.filter((s) => (only ? only.includes(s.key) : everything || !s.once || !state[s.key]));
    const results = await Promise.allSettled(wanted.map((s) => api(s.path)));
    let unauthorized = false;
    let forbidden = false;
    wanted.forEach((source, i) => {
      const result = results[i];
      if (result.status === "fulfilled") {
        state.errors.delete(source.key);
        if (source.key === "alerts") mergeOpenAlerts(result.value);
        else state[source.key] = result.value;
      } else {
        const error = result.reason;
        if (error && error.status === 401) unauthorized = true;
        if (error && error.status === 403) forbidden = true;
        state.errors.set(source.key, {what: source.what, message: error && error.message ? error.message : "?"});
      }
    });
    if (unauthorized) {
      closeStream();
      askForToken("token_rejected");
      renderErrors();
      return;
    }
    if (forbidden) askForToken("forbidden");
    state.loadedOnce = true;
    renderAll();
    $("#updated-at").dataset.at = new Date().toISOString();
    renderUpdatedAt();
    document.body.dataset.state = "ready";
    document.body.dataset.failed = Array.from(state.errors.keys()).join(" ");
    openStream();
    scheduleRefresh();
  }

  function scheduleRefresh() {
    window.clearTimeout(state.refreshTimer);
    state.refreshTimer = window.setTimeout(() => refresh(false), REFRESH_MS);
  }

  // ----- live alerts (Server-Sent Events) ---------------------------------------------------------------------

  function openStream() {
    if (state.stream || !state.token || typeof EventSource === "undefined") return;
    const source = new EventSource(API + "/alerts/stream?token=" + encodeURIComponent(state.token));
    state.stream = source;
    setStreamStatus("connecting");
    source.addEventListener("open", () => {
      state.streamRetryMs = 2000;
      setStreamStatus("live");
    });
    source.addEventListener("shortage", (event) => {
      let alert;
      try {
        alert = JSON.parse(event.data);
      } catch (_) {
        return;
      }
      applyStreamAlert(alert);
    });
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) {
        // The server refused the stream (say, the token was revoked) or it ended: try again later, and let the
        // next refresh find out whether the token still works.
        closeStream();
        setStreamStatus("lost");
        window.setTimeout(() => refresh(false), state.streamRetryMs);
        state.streamRetryMs = Math.min(state.streamRetryMs * 2, 60000);
      } else {
        setStreamStatus("lost"); // EventSource reconnects by itself
      }
    });
  }

  function closeStream() {
    if (state.stream) state.stream.close();
    state.stream = null;
    setStreamStatus("idle");
  }

  function setStreamStatus(status) {
    $("#stream-status").dataset.status = status;
    renderStreamStatus();
  }

  function renderStreamStatus() {
    const pill = $("#stream-status");
    const key = "stream_" + pill.dataset.status;
    pill.dataset.i18n = key;
    pill.textContent = t(key);
  }

  function renderUpdatedAt() {
    const at = $("#updated-at").dataset.at;
    $("#updated-at").textContent = at ? t("updated_at", {time: clock(at)}) : "";
  }

  function alertTime(alert) {
    const stamps = [alert.resolved_at, alert.updated_at, alert.opened_at, alert.occurred_at]
      .map(parseTime)
      .filter((n) => !Number.isNaN(n));
    return stamps.length ? Math.max.apply(null, stamps) : alert._received || 0;
  }

  function mergeOpenAlerts(list) {
    const open = new Set();
    for (const alert of list || []) {
      open.add(alert.alert_id);
      const before = state.alerts.get(alert.alert_id);
      state.alerts.set(alert.alert_id, Object.assign({}, before || {}, alert, {status: "open"}));
    }
    for (const [id, alert] of state.alerts) {
      if (alert.status !== "resolved" && !open.has(id)) state.alerts.delete(id);
    }
  }

  function applyStreamAlert(alert) {
    if (!alert || !alert.alert_id) return;
    const before = state.alerts.get(alert.alert_id);
    const changed = !before || before.status !== alert.status || before.days_of_supply !== alert.days_of_supply;
    if (!changed) return; // the stream starts with every open alert: those already shown stay as they are
    const merged = Object.assign({}, before || {}, alert, {_received: Date.now(), _live: true});
    if (alert.current_days_of_supply === undefined && alert.days_of_supply !== undefined) {
      merged.current_days_of_supply = alert.days_of_supply;
    }
    state.alerts.set(alert.alert_id, merged);
    trimFeed();
    renderFeed();
    renderKpis();
    // Days of supply changed: redraw the zones' colours and the roll-up soon (once for a burst of events).
    window.clearTimeout(state.eventTimer);
    state.eventTimer = window.setTimeout(() => refresh(false, ["zones", "rollup", "alerts"]), EVENT_REFRESH_MS);
  }

  function trimFeed() {
    const sorted = Array.from(state.alerts.values()).sort((a, b) => alertTime(b) - alertTime(a));
    for (const alert of sorted.slice(FEED_LIMIT)) state.alerts.delete(alert.alert_id);
  }

  // ----- map: projection, geometry, view ----------------------------------------------------------------------

  function svg(tag, attributes, parent) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value !== null && value !== undefined) el.setAttribute(name, String(value));
    }
    if (parent) parent.appendChild(el);
    return el;
  }

  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
  }

  function eachPosition(geometry, visit) {
    if (!geometry) return;
    const walk = (coords) => {
      if (typeof coords[0] === "number") visit(coords);
      else for (const c of coords) walk(c);
    };
    if (geometry.type === "GeometryCollection") for (const g of geometry.geometries || []) eachPosition(g, visit);
    else if (geometry.coordinates) walk(geometry.coordinates);
  }

  function lonLatBox(positions) {
    const box = [Infinity, Infinity, -Infinity, -Infinity];
    for (const [lon, lat] of positions) {
      if (!Number.isFinite(lon) || !Number.isFinite(lat)) continue;
      box[0] = Math.min(box[0], lon);
      box[1] = Math.min(box[1], lat);
      box[2] = Math.max(box[2], lon);
      box[3] = Math.max(box[3], lat);
    }
    return box[0] <= box[2] ? box : null;
  }

  function features(collection) {
    return collection && Array.isArray(collection.features) ? collection.features : [];
  }

  function placePositions() {
    const out = [];
    const places = state.places || {};
    for (const key of ["sales_points", "depots", "checkpoints"]) {
      for (const p of places[key] || []) out.push([Number(p.lon), Number(p.lat)]);
    }
    for (const plan of state.plans || []) {
      for (const route of plan.routes || []) for (const s of route.stops || []) out.push([Number(s.lon), Number(s.lat)]);
    }
    return out;
  }

  function zonePositions() {
    const out = [];
    for (const f of features(state.zones)) eachPosition(f.geometry, (p) => out.push(p));
    return out;
  }

  // Equirectangular projection fitted to the data: x = (lon - lon0)·cos(lat_mid), y = lat1 - lat, scaled so the
  // data is 1,000 units wide.
  function fitProjection() {
    const positions = [];
    for (const f of features(state.districts)) eachPosition(f.geometry, (p) => positions.push(p));
    for (const p of zonePositions()) positions.push(p);
    for (const p of placePositions()) positions.push(p);
    const box = lonLatBox(positions);
    if (!box) return null;
    const k = Math.cos(((box[1] + box[3]) / 2) * Math.PI / 180);
    const spanX = Math.max((box[2] - box[0]) * k, 1e-6);
    const spanY = Math.max(box[3] - box[1], 1e-6);
    const scale = 1000 / Math.max(spanX, spanY);
    return {
      box,
      project: (lon, lat) => [(lon - box[0]) * k * scale, (box[3] - lat) * scale],
      width: spanX * scale,
      height: spanY * scale,
    };
  }

  function projectedBox(positions, minSize) {
    const box = lonLatBox(positions);
    if (!box) return null;
    const [x0, y0] = state.projection.project(box[0], box[3]);
    const [x1, y1] = state.projection.project(box[2], box[1]);
    let w = x1 - x0;
    let h = y1 - y0;
    const cx = x0 + w / 2;
    const cy = y0 + h / 2;
    w = Math.max(w * 1.25, minSize);
    h = Math.max(h * 1.25, minSize);
    return {x: cx - w / 2, y: cy - h / 2, w, h};
  }

  function pathOf(geometry) {
    if (!geometry) return "";
    const project = state.projection.project;
    const polygons = geometry.type === "Polygon" ? [geometry.coordinates]
      : geometry.type === "MultiPolygon" ? geometry.coordinates : [];
    const parts = [];
    for (const polygon of polygons) {
      for (const ring of polygon) {
        const points = ring.map(([lon, lat]) => project(lon, lat).map((v) => v.toFixed(2)).join(","));
        if (points.length) parts.push("M" + points.join("L") + "Z");
      }
    }
    return parts.join("");
  }

  function labelPoint(geometry) {
    // The centre of the bounding box of the largest ring: good enough for district names.
    const polygons = geometry.type === "Polygon" ? [geometry.coordinates]
      : geometry.type === "MultiPolygon" ? geometry.coordinates : [];
    let best = null;
    let bestArea = -1;
    for (const polygon of polygons) {
      const box = lonLatBox(polygon[0] || []);
      if (!box) continue;
      const area = (box[2] - box[0]) * (box[3] - box[1]);
      if (area > bestArea) {
        bestArea = area;
        best = box;
      }
    }
    return best ? state.projection.project((best[0] + best[2]) / 2, (best[1] + best[3]) / 2) : null;
  }

  function band(value) {
    if (value === null || value === undefined || Number.isNaN(Number(value))) return "unknown";
    const d = Number(value);
    if (d < 1) return "critical";
    if (d < 3) return "low";
    if (d < 7) return "watch";
    return "ok";
  }

  function pixelsPerUnit() {
    const map = $("#map");
    const rect = map.getBoundingClientRect();
    if (!state.view || !rect.width || !rect.height) return 1;
    return Math.min(rect.width / state.view.w, rect.height / state.view.h);
  }

  function setView(view) {
    if (!view) return;
    state.view = view;
    $("#map").setAttribute("viewBox", [view.x, view.y, view.w, view.h].map((v) => v.toFixed(2)).join(" "));
    rescaleMarkers();
  }

  function rescaleMarkers() {
    const unit = 1 / pixelsPerUnit(); // one screen pixel in map units
    for (const marker of document.querySelectorAll("#map [data-x]")) {
      marker.setAttribute("transform", "translate(" + marker.dataset.x + " " + marker.dataset.y + ") scale(" +
        unit.toFixed(5) + ")");
    }
  }

  function zoom(factor, cx, cy) {
    const v = state.view;
    if (!v) return;
    const x = cx === undefined ? v.x + v.w / 2 : cx;
    const y = cy === undefined ? v.y + v.h / 2 : cy;
    const w = Math.min(Math.max(v.w / factor, 2), 4000);
    const h = v.h * (w / v.w);
    setView({x: x - (x - v.x) * (w / v.w), y: y - (y - v.y) * (h / v.h), w, h});
  }

  function toMap(clientX, clientY) {
    const map = $("#map");
    const matrix = map.getScreenCTM();
    if (!matrix) return null;
    const point = new DOMPoint(clientX, clientY).matrixTransform(matrix.inverse());
    return [point.x, point.y];
  }

  function installMapControls() {
    const map = $("#map");
    map.addEventListener("wheel", (event) => {
      event.preventDefault();
      const at = toMap(event.clientX, event.clientY);
      zoom(event.deltaY < 0 ? 1.25 : 0.8, at && at[0], at && at[1]);
    }, {passive: false});
    let drag = null;
    map.addEventListener("pointerdown", (event) => {
      if (!state.view) return;
      drag = {x: event.clientX, y: event.clientY, view: Object.assign({}, state.view), moved: false};
    });
    map.addEventListener("pointermove", (event) => {
      if (!drag) return;
      const dx = event.clientX - drag.x;
      const dy = event.clientY - drag.y;
      if (!drag.moved && Math.hypot(dx, dy) < 4) return;
      if (!drag.moved) map.setPointerCapture(event.pointerId);
      drag.moved = true;
      const ppu = pixelsPerUnit();
      setView({x: drag.view.x - dx / ppu, y: drag.view.y - dy / ppu, w: drag.view.w, h: drag.view.h});
    });
    const end = (event) => {
      if (drag && drag.moved) {
        map.dataset.dragged = "1";
        window.setTimeout(() => delete map.dataset.dragged, 0);
        if (map.hasPointerCapture(event.pointerId)) map.releasePointerCapture(event.pointerId);
      }
      drag = null;
    };
    map.addEventListener("pointerup", end);
    map.addEventListener("pointercancel", end);
    map.addEventListener("click", (event) => {
      if (map.dataset.dragged) return;
      const target = event.target.closest("[data-select-kind]");
      if (target) select(target.dataset.selectKind, target.dataset.selectId);
      else select(null);
    });
    for (const button of document.querySelectorAll("[data-zoom]")) {
      button.addEventListener("click", () => {
        const how = button.dataset.zoom;
        if (how === "in") zoom(1.5);
        else if (how === "out") zoom(1 / 1.5);
        else if (how === "zones") setView(state.bounds && (state.bounds.zones || state.bounds.all));
        else setView(state.bounds && state.bounds.all);
      });
    }
    for (const box of document.querySelectorAll("[data-layer]")) {
      box.addEventListener("change", () => {
        document.getElementById(box.dataset.layer).style.display = box.checked ? "" : "none";
      });
    }
    if (typeof ResizeObserver !== "undefined") new ResizeObserver(() => rescaleMarkers()).observe(map);
  }

  // ----- map: layers ------------------------------------------------------------------------------------------

  function renderMap() {
    const previous = state.projection;
    const projection = fitProjection();
    $("#map-empty").hidden = Boolean(projection);
    if (!projection) return;
    state.projection = projection;
    const all = {x: -20, y: -20, w: projection.width + 40, h: projection.height + 40};
    const focus = zonePositions().concat(placePositions());
    state.bounds = {all, zones: focus.length ? projectedBox(focus, 80) : null};
    const sameProjection = previous && previous.box.join() === projection.box.join();
    if (!state.view || !sameProjection) setView(state.bounds.zones || all);

    renderDistricts();
    renderZones();
    renderRoutes();
    renderPlaces();
    rescaleMarkers();
  }

  function marker(parent, lon, lat, attributes) {
    const [x, y] = state.projection.project(Number(lon), Number(lat));
    if (!Number.isFinite(x) || !Number.isFinite(y)) return null;
    return svg("g", Object.assign({"data-x": x.toFixed(2), "data-y": y.toFixed(2)}, attributes), parent);
  }

  function renderDistricts() {
    const layer = $("#layer-districts");
    const labels = $("#layer-labels");
    clear(layer);
    clear(labels);
    for (const f of features(state.districts)) {
      const p = f.properties || {};
      if (!f.geometry) continue;
      const path = svg("path", {d: pathOf(f.geometry), class: "district", "data-district-code": p.code}, layer);
      svg("title", {}, path).textContent = p.name || p.code;
      const at = labelPoint(f.geometry);
      if (at) {
        const label = svg("g", {class: "district-label", "data-x": at[0].toFixed(2), "data-y": at[1].toFixed(2)},
          labels);
        svg("text", {x: 0, y: 0, "text-anchor": "middle"}, label).textContent = p.name || p.code;
      }
    }
  }

  function zoneById(id) {
    return features(state.zones).find((f) => (f.properties || {}).zone_id === id) || null;
  }

  function districtName(code) {
    const f = features(state.districts).find((d) => (d.properties || {}).code === code);
    if (f && f.properties.name) return f.properties.name;
    const row = (state.rollup || []).find((r) => r.level === "district" && r.code === code);
    return row ? row.name : code;
  }

  function renderZones() {
    const layer = $("#layer-zones");
    clear(layer);
    const ordered = features(state.zones).slice().sort((a, b) =>
      ((a.properties || {}).risk_level || 0) - ((b.properties || {}).risk_level || 0));
    for (const f of ordered) {
      const p = f.properties || {};
      const b = band(p.min_days_of_supply);
      const path = svg("path", {
        d: pathOf(f.geometry), class: "zone band-" + b + " risk-" + (p.risk_level || 0), "fill-rule": "evenodd",
        "data-zone-id": p.zone_id, "data-band": b, "data-min-days": p.min_days_of_supply === null ? "" :
          p.min_days_of_supply, "data-select-kind": "zone", "data-select-id": p.zone_id,
      }, layer);
      if (state.selected && state.selected.kind === "zone" && state.selected.id === p.zone_id) {
        path.classList.add("selected");
      }
      svg("title", {}, path).textContent = (p.name || p.zone_id) + " · " + t("zone_days") + ": " +
        days(p.min_days_of_supply);
    }
  }

  // Where a vehicle starts and ends its day: its depot, when the plan names it (route.depot_id, or route.start as
  // {lon, lat}); otherwise the line joins the stops only.
  function routeHome(route) {
    if (route.start && Number.isFinite(Number(route.start.lon))) return route.start;
    const id = route.depot_id || route.home_depot_id;
    return id ? ((state.places || {}).depots || []).find((d) => d.depot_id === id) || null : null;
  }

  function renderRoutes() {
    const layer = $("#layer-routes");
    clear(layer);
    const markers = svg("g", {}, null);
    let colour = 0;
    for (const plan of state.plans || []) {
      for (const route of plan.routes || []) {
        const stops = (route.stops || []).slice().sort((a, b) => (a.trip || 0) - (b.trip || 0) ||
          a.sequence - b.sequence);
        if (!stops.length) continue;
        const stroke = ROUTE_COLOURS[colour++ % ROUTE_COLOURS.length];
        route._colour = stroke;
        const home = routeHome(route);
        const path = home ? [home].concat(stops, [home]) : stops;
        const points = path.map((s) => state.projection.project(Number(s.lon), Number(s.lat))
          .map((v) => v.toFixed(2)).join(",")).join(" ");
        const line = svg("polyline", {
          points, class: "route", stroke, "data-vehicle-id": route.vehicle_id, "data-plan-id": plan.plan_id,
        }, layer);
        svg("title", {}, line).textContent = t("route_vehicle", {vehicle: route.vehicle_id}) + " · " +
          tn("route_stops", stops.length);
        stops.forEach((stop, i) => {
          const g = marker(markers, stop.lon, stop.lat, {class: "stop", "data-vehicle-id": route.vehicle_id});
          if (!g) return;
          // Stops at one place (several trips to a checkpoint) fan out a little so each number shows.
          const twins = stops.slice(0, i).filter((o) => o.lon === stop.lon && o.lat === stop.lat).length;
          const dx = twins * 13;
          svg("circle", {cx: dx, cy: 0, r: 7, fill: stroke}, g);
          svg("text", {x: dx, y: 3.5, "text-anchor": "middle"}, g).textContent = String(i + 1);
          svg("title", {}, g).textContent = t("route_vehicle", {vehicle: route.vehicle_id}) + " · #" + (i + 1) +
            " · " + t(stop.checkpoint_id && stop.kind === "drop" ? "stop_handover" : "stop_" + stop.kind) +
            " · " + clock(stop.eta);
        });
      }
    }
    layer.appendChild(markers); // stop numbers above every line
  }

  function renderPlaces() {
    const places = state.places || {};
    const salesLayer = $("#layer-sales-points");
    const depotLayer = $("#layer-depots");
    const checkpointLayer = $("#layer-checkpoints");
    clear(salesLayer);
    clear(depotLayer);
    clear(checkpointLayer);
    for (const p of places.sales_points || []) {
      const g = marker(salesLayer, p.lon, p.lat, {
        class: "sales-point status-" + p.status, "data-point-id": p.point_id,
        "data-select-kind": "sales_point", "data-select-id": p.point_id,
      });
      if (!g) continue;
      svg("circle", {r: 4}, g);
      svg("title", {}, g).textContent = p.name + " · " + t("kind_" + p.kind) + " · " + t("status_" + p.status);
    }
    for (const d of places.depots || []) {
      const g = marker(depotLayer, d.lon, d.lat, {
        class: "depot", "data-depot-id": d.depot_id, "data-select-kind": "depot", "data-select-id": d.depot_id,
      });
      if (!g) continue;
      svg("rect", {x: -7, y: -7, width: 14, height: 14, rx: 2}, g);
      svg("text", {x: 0, y: 4, "text-anchor": "middle"}, g).textContent = "K";
      svg("title", {}, g).textContent = t("depot") + ": " + d.name;
    }
    for (const c of places.checkpoints || []) {
      const g = marker(checkpointLayer, c.lon, c.lat, {
        class: "checkpoint", "data-checkpoint-id": c.checkpoint_id, "data-zone-id-of": c.zone_id,
        "data-select-kind": "checkpoint", "data-select-id": c.checkpoint_id,
      });
      if (!g) continue;
      svg("path", {d: "M0,-8 L7,5 L-7,5 Z"}, g);
      svg("title", {}, g).textContent = t("checkpoint") + ": " + c.name;
    }
  }

  // ----- details of what was clicked --------------------------------------------------------------------------

  function select(kind, id) {
    state.selected = kind ? {kind, id} : null;
    for (const el of document.querySelectorAll("#map .selected")) el.classList.remove("selected");
    if (kind === "zone") {
      const path = document.querySelector('#layer-zones [data-zone-id="' + CSS.escape(id) + '"]');
      if (path) {
        path.classList.add("selected");
        path.parentNode.appendChild(path); // on top of its neighbours
      }
    }
    renderInfo();
  }

  function row(table, label, value, chipBand) {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.textContent = label;
    const td = document.createElement("td");
    if (chipBand) td.appendChild(chip(chipBand, value));
    else td.textContent = value;
    tr.append(th, td);
    table.appendChild(tr);
  }

  function chip(b, text) {
    const span = document.createElement("span");
    span.className = "chip band-" + b;
    span.dataset.band = b;
    span.textContent = text;
    return span;
  }

  function renderInfo() {
    const box = $("#zone-info");
    clear(box);
    const selected = state.selected;
    if (!selected) {
      box.hidden = true;
      return;
    }
    const heading = document.createElement("h3");
    const table = document.createElement("table");
    const close = document.createElement("button");
    close.type = "button";
    close.className = "close";
    close.textContent = "×";
    close.setAttribute("aria-label", t("close"));
    close.addEventListener("click", () => select(null));
    const places = state.places || {};
    if (selected.kind === "zone") {
      const f = zoneById(selected.id);
      if (!f) {
        box.hidden = true;
        return;
      }
      const p = f.properties || {};
      heading.textContent = p.name || p.zone_id;
      row(table, t("district"), districtName(p.district_code));
      row(table, t("zone_risk"), t("risk_" + p.risk_level));
      row(table, t("zone_households"), number(p.households));
      row(table, t("zone_days"), days(p.min_days_of_supply), band(p.min_days_of_supply));
      const entries = Object.entries(p.days_of_supply || {}).sort((a, b) =>
        (a[1] === null ? -1 : a[1]) - (b[1] === null ? -1 : b[1]));
      for (const [item, value] of entries) row(table, "· " + itemLabel(item), days(value), band(value));
      row(table, t("zone_version"), String(p.version || ""));
    } else if (selected.kind === "sales_point") {
      const p = (places.sales_points || []).find((s) => s.point_id === selected.id);
      if (!p) return;
      heading.textContent = p.name;
      row(table, t("sales_point"), t("kind_" + p.kind));
      row(table, "", t("status_" + p.status));
    } else if (selected.kind === "depot") {
      const d = (places.depots || []).find((s) => s.depot_id === selected.id);
      if (!d) return;
      heading.textContent = d.name;
      row(table, t("depot"), d.depot_id);
    } else if (selected.kind === "checkpoint") {
      const c = (places.checkpoints || []).find((s) => s.checkpoint_id === selected.id);
      if (!c) return;
      heading.textContent = c.name;
      const zone = zoneById(c.zone_id);
      row(table, t("checkpoint"), zone ? zone.properties.name || c.zone_id : c.zone_id);
    }
    box.append(close, heading, table);
    box.hidden = false;
  }

  // ----- alert feed, routes list, KPIs, roll-up ---------------------------------------------------------------

  function renderFeed() {
    const list = $("#alert-feed");
    clear(list);
    const alerts = Array.from(state.alerts.values()).sort((a, b) => alertTime(b) - alertTime(a));
    const open = alerts.filter((a) => a.status !== "resolved").length;
    $("#alerts-count").textContent = open ? String(open) : "";
    $("#alerts-empty").hidden = alerts.length > 0;
    for (const alert of alerts) {
      const li = document.createElement("li");
      const status = alert.status === "resolved" ? "resolved" : "open";
      const current = alert.current_days_of_supply !== undefined && alert.current_days_of_supply !== null
        ? alert.current_days_of_supply : alert.days_of_supply;
      li.className = "alert " + status + (alert._live ? " live" : "");
      li.dataset.alertId = alert.alert_id;
      li.dataset.zoneId = alert.zone_id;
      li.dataset.status = status;
      const top = document.createElement("div");
      top.className = "alert-top";
      // An open alert is below its threshold: red under a day, orange otherwise (even if stock arrived since).
      const badgeBand = status === "resolved" ? "ok" : band(current) === "critical" ? "critical" : "low";
      const badge = chip(badgeBand, t(status === "resolved" ? "alert_resolved" : "alert_open"));
      const item = document.createElement("strong");
      item.textContent = itemLabel(alert.item_code);
      const when = document.createElement("time");
      const stamp = status === "resolved" ? alert.resolved_at || alert.occurred_at : alert.opened_at;
      when.dateTime = stamp || "";
      when.textContent = clock(stamp, true);
      top.append(badge, item, when);
      const zone = zoneById(alert.zone_id);
      const where = document.createElement("div");
      where.className = "alert-zone";
      const districts = (alert.district_codes || []).map(districtName).join(", ");
      where.textContent = (zone ? zone.properties.name || alert.zone_id : alert.zone_id) +
        (districts ? " · " + districts : "");
      const numbers = document.createElement("div");
      numbers.className = "alert-numbers";
      numbers.textContent = (current === null || current === undefined ? t("alert_unknown_days")
        : t("alert_days", {days: days(current)})) +
        (alert.threshold_days !== undefined ? " · " + t("alert_threshold", {days: days(alert.threshold_days)}) : "");
      li.append(top, where, numbers);
      const show = () => {
        const f = zoneById(alert.zone_id);
        if (!f) return;
        const positions = [];
        eachPosition(f.geometry, (p) => positions.push(p));
        setView(projectedBox(positions, 30));
        select("zone", alert.zone_id);
      };
      li.tabIndex = 0;
      li.addEventListener("click", show);
      li.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          show();
        }
      });
      list.appendChild(li);
    }
  }

  function renderRouteList() {
    const list = $("#route-list");
    clear(list);
    let count = 0;
    for (const plan of state.plans || []) {
      for (const route of plan.routes || []) {
        const stops = route.stops || [];
        if (!stops.length) continue;
        count += 1;
        const li = document.createElement("li");
        li.dataset.vehicleId = route.vehicle_id;
        const swatch = document.createElement("span");
        swatch.className = "route-swatch";
        swatch.style.background = route._colour || ROUTE_COLOURS[0];
        const name = document.createElement("strong");
        name.textContent = t("route_vehicle", {vehicle: route.vehicle_id});
        const detail = document.createElement("span");
        detail.className = "muted";
        const etas = stops.map((s) => s.eta).filter(Boolean).sort();
        detail.textContent = tn("route_stops", stops.length) + " · " + districtName(plan.district_code) +
          " · " + t("plan_status_" + plan.status) + (etas.length ? " · " + clock(etas[0]) + "–" +
          clock(etas[etas.length - 1]) : "");
        li.append(swatch, name, detail);
        list.appendChild(li);
      }
      if ((plan.unserved || []).length) {
        const li = document.createElement("li");
        li.className = "unserved";
        li.textContent = districtName(plan.district_code) + ": " + tn("route_unserved", plan.unserved.length);
        list.appendChild(li);
      }
    }
    $("#routes-empty").hidden = count > 0 || (state.plans || []).some((p) => (p.unserved || []).length);
  }

  function renderKpis() {
    const zones = features(state.zones).map((f) => f.properties || {});
    const setKpi = (id, value) => ($(id).textContent = value);
    setKpi("#kpi-zones", state.zones ? number(zones.length) : "–");
    setKpi("#kpi-households", state.zones ? number(zones.reduce((s, z) => s + (Number(z.households) || 0), 0))
      : "–");
    setKpi("#kpi-critical", state.zones ? number(zones.filter((z) => band(z.min_days_of_supply) === "critical")
      .length) : "–");
    setKpi("#kpi-alerts", number(Array.from(state.alerts.values()).filter((a) => a.status !== "resolved").length));
    const vehicles = new Set();
    for (const plan of state.plans || []) {
      for (const route of plan.routes || []) if ((route.stops || []).length) vehicles.add(route.vehicle_id);
    }
    setKpi("#kpi-vehicles", state.plans ? number(vehicles.size) : "–");
  }

  function renderRollup() {
    const body = $("#rollup tbody");
    clear(body);
    const rows = state.rollup || [];
    const communes = new Map();
    for (const r of rows) {
      if (r.level !== "commune") continue;
      if (!communes.has(r.parent_code)) communes.set(r.parent_code, []);
      communes.get(r.parent_code).push(r);
    }
    const toggle = $("#rollup-toggle");
    toggle.dataset.i18n = state.expandAll ? "collapse_all" : "expand_all";
    toggle.textContent = t(toggle.dataset.i18n);
    if (!rows.length) {
      const tr = document.createElement("tr");
      const td = document.createElement("td");
      td.colSpan = 5;
      td.className = "muted";
      td.textContent = t("rollup_empty");
      tr.appendChild(td);
      body.appendChild(tr);
      return;
    }
    for (const province of rows.filter((r) => r.level === "province")) body.appendChild(rollupRow(province, "province"));
    for (const district of rows.filter((r) => r.level === "district")) {
      const children = communes.get(district.code) || [];
      const open = state.expandAll || state.expanded.has(district.code);
      const tr = rollupRow(district, "district");
      const name = tr.firstChild;
      if (children.length) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "expand";
        button.setAttribute("aria-expanded", String(open));
        button.textContent = open ? "▾" : "▸";
        button.addEventListener("click", () => {
          if (state.expanded.has(district.code)) state.expanded.delete(district.code);
          else state.expanded.add(district.code);
          renderRollup();
        });
        name.prepend(button);
      }
      body.appendChild(tr);
      for (const commune of children) {
        const child = rollupRow(commune, "commune");
        child.hidden = !open;
        body.appendChild(child);
      }
    }
  }

  function rollupRow(r, level) {
    const tr = document.createElement("tr");
    tr.className = level;
    tr.dataset.code = r.code;
    tr.dataset.level = level;
    if (r.parent_code) tr.dataset.parentCode = r.parent_code;
    tr.dataset.missingReport = String(Boolean(r.missing_report));
    const name = document.createElement(level === "commune" ? "td" : "th");
    if (level !== "commune") name.scope = "row";
    const label = document.createElement("span");
    label.textContent = r.name || r.code;
    name.appendChild(label);
    const cell = (text, cls) => {
      const td = document.createElement("td");
      if (cls) td.className = cls;
      if (text instanceof Node) td.appendChild(text);
      else td.textContent = text;
      return td;
    };
    const b = band(r.min_days_of_supply);
    const report = document.createElement("span");
    report.className = "report " + (r.missing_report ? "missing" : "ok");
    report.textContent = r.missing_report ? t("report_missing") : t("report_ok");
    if (r.last_report_at) report.title = clock(r.last_report_at, true);
    tr.append(name, cell(number(r.households), "num"), cell(number(r.people), "num"),
      cell(chip(b, days(r.min_days_of_supply)), "num"), cell(report));
    return tr;
  }

  function renderErrors() {
    const box = $("#errors");
    const messages = Array.from(state.errors.values()).map((e) => t("load_error", {what: t(e.what), error: e.message}));
    box.textContent = messages.join(" · ");
    box.hidden = messages.length === 0;
  }

  function renderAll() {
    renderMap();
    renderRouteList();
    renderFeed();
    renderKpis();
    renderRollup();
    renderInfo();
    renderErrors();
    renderUpdatedAt();
  }

  // ----- start ------------------------------------------------------------------------------------------------

  function start() {
    state.token = tokenFromPage();
    for (const button of document.querySelectorAll("[data-lang]")) {
      button.addEventListener("click", () => setLanguage(button.dataset.lang));
    }
    $("#token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const value = $("#token-input").value.trim();
      $("#token-input").value = "";
      if (value) useToken(value);
    });
    $("#token-forget").addEventListener("click", () => {
      closeStream();
      store(TOKEN_KEY, "");
      window.location.replace(window.location.pathname); // a fresh page, with none of the data on screen
    });
    $("#rollup-toggle").addEventListener("click", () => {
      state.expandAll = !state.expandAll;
      if (!state.expandAll) state.expanded.clear();
      renderRollup();
    });
    installMapControls();
    setLanguage(load(LANG_KEY) || "vi");
    $("#token-forget").hidden = !state.token;
    refresh(true);
  }

  window.greenlaneDashboard = {state, setLanguage, refresh, t}; // for the browser test and the console
  start();
})();
