/*
 * Daybook activity page. Plain JavaScript, no build step: it calls the public /v2 API with
 * the bearer token like any other client, and draws with the vendored uPlot.
 *
 * Flow: token -> GET /v2/clients + GET /v2/metrics -> pick a client and an entity kind (the
 * kinds, their activity paths and whether they are listed come from /v2/metrics) -> GET its
 * users or devices (searchable; none for the whole client) -> GET .../activity for the
 * chosen one (and the previous period when comparing) -> GET .../top-users|top-devices and
 * one series each for the sparkline grid.
 * Any API error is shown with the API's own message; the chart is cleared, never left stale.
 *
 * One file of about 800 lines on purpose: the page has no build step and its
 * Content-Security-Policy allows its own scripts only, so it loads this one script; the
 * sections (the API, the directory, the main chart, the sparklines, wiring) are marked
 * `// ---- name ----` and share one `state`.
 */
(function () {
  "use strict";

  const TOKEN_KEY = "daybook.token";
  const DAY_MS = 86400000;
  const COLORS = { current: "#0b4fb3", previous: "#b34700", spark: "#0b4fb3", sparkFill: "rgba(11,79,179,0.12)" };
  // How the directory's rows of a listed kind are named; a kind the catalogue adds gets
  // the generic spec (genericSpec), the whole client needs none.
  const ENTITY = {
    user: { plural: "users", idKey: "user_id", list: "users", top: "top-users", path: "users",
            name: (row) => row.display_name || row.email || row.user_id,
            detail: (row) => row.email || "" },
    device: { plural: "devices", idKey: "device_id", list: "devices", top: "top-devices", path: "devices",
              name: (row) => row.hostname || row.device_id,
              detail: (row) => row.platform || "" },
  };

  function genericSpec(name) {
    const plural = name + "s";
    const idKey = name + "_id";
    return { plural, idKey, list: plural, top: "top-" + plural, path: plural,
             name: (row) => row.display_name || row.name || row[idKey], detail: () => "" };
  }
  const specOf = (kind) => ENTITY[kind] || genericSpec(kind);
  const kindInfo = (kind) => state.kinds.find((k) => k.name === kind);
  const isListed = (kind) => { const info = kindInfo(kind); return info ? info.listed : true; };

  const $ = (id) => document.getElementById(id);
  const state = {
    token: "",
    clients: [],
    metrics: [],
    kinds: [],
    chart: null,
    sparks: [],
    generation: 0,
    datesTouched: false,
    searchTimer: 0,
    listing: 0, // the latest entity listing asked for: an older answer arriving later is dropped
  };

  // ---- the API -----------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, code, message, details) {
      super(message);
      this.status = status;
      this.code = code;
      this.details = details || {};
    }
  }

  async function api(path, params) {
    const url = new URL(path, window.location.origin);
    for (const [key, value] of Object.entries(params || {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
    }
    const headers = { Accept: "application/json" };
    if (state.token) headers.Authorization = "Bearer " + state.token;
    let response;
    try {
      response = await fetch(url, { headers });
    } catch (error) {
      throw new ApiError(0, "network_error", "The API could not be reached (" + error.message + ").");
    }
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    if (!response.ok) {
      const err = body && body.error;
      throw new ApiError(
        response.status,
        (err && err.code) || "http_" + response.status,
        (err && err.message) || "The API answered " + response.status + " " + response.statusText + ".",
        err && err.details,
      );
    }
    return body;
  }

  const seg = encodeURIComponent;
  /** The activity URL of one kind, from the catalogue's path template when it has one. */
  function seriesPath(entity, clientId, id) {
    const info = kindInfo(entity);
    if (info && info.activity_path) {
      return info.activity_path.replace(/\{client_id\}/g, seg(clientId)).replace(/\{[a-z_]+_id\}/g, seg(id));
    }
    return "/v2/clients/" + seg(clientId) + "/analytics/" + specOf(entity).path + "/" + seg(id) + "/activity";
  }

  // ---- dates -------------------------------------------------------------------------

  function parseDay(text) {
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text || "");
    return match ? Date.UTC(+match[1], +match[2] - 1, +match[3]) : NaN;
  }
  function formatDay(ms) {
    return new Date(ms).toISOString().slice(0, 10);
  }
  const addDays = (text, days) => formatDay(parseDay(text) + days * DAY_MS);
  const dayCount = (start, end) => Math.round((parseDay(end) - parseDay(start)) / DAY_MS) + 1;

  /** The period of the same length that ends the day before ``start``. */
  function previousPeriod(start, end) {
    const length = dayCount(start, end);
    const prevEnd = addDays(start, -1);
    return { start: addDays(prevEnd, -(length - 1)), end: prevEnd };
  }

  // ---- messages ----------------------------------------------------------------------

  function setStatus(text) {
    $("status").textContent = text;
  }

  function showError(error) {
    const box = $("error");
    box.replaceChildren();
    const message = document.createElement("span");
    message.className = "message";
    message.textContent = error.message;
    box.append(message);
    if (error.code) {
      const code = document.createElement("span");
      code.className = "code";
      code.textContent = "(" + (error.status ? error.status + " " : "") + error.code + ")";
      box.append(code);
    }
    box.hidden = false;
    document.body.dataset.state = "error";
  }

  /** Why there is no chart: an answer that refused, or none at all. */
  const noChart = (error) =>
    error.code === "network_error" ? "No chart: the API could not be reached." : "No chart: the API refused the request.";

  function clearError() {
    $("error").hidden = true;
    $("error").replaceChildren();
  }

  // ---- token -------------------------------------------------------------------------

  /** A token passed as #token=... (never sent to the server) wins over local storage. */
  function initialToken() {
    const fragment = new URLSearchParams(window.location.hash.replace(/^#\??/, ""));
    const fromFragment = fragment.get("token");
    if (fromFragment) {
      saveToken(fromFragment);
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
      return fromFragment;
    }
    try {
      return window.localStorage.getItem(TOKEN_KEY) || "";
    } catch (error) {
      return "";
    }
  }

  function saveToken(token) {
    try {
      if (token) window.localStorage.setItem(TOKEN_KEY, token);
      else window.localStorage.removeItem(TOKEN_KEY);
    } catch (error) {
      /* storage disabled: the token lives in the field only */
    }
  }

  // ---- directory: clients, metrics, users and devices --------------------------------

  function option(value, text) {
    const element = document.createElement("option");
    element.value = value;
    element.textContent = text;
    return element;
  }

  const entityKind = () => document.querySelector("input[name=entity]:checked").value;
  const currentClient = () => state.clients.find((c) => c.client_id === $("client").value);
  /** A client's name, or its id when the name is empty. */
  const clientName = (client) => client.name || client.client_id;

  /**
   * Forget everything a token showed: the chart, its table, the grid and the lists. Answers
   * still on their way are dropped (the generation and the listing move on).
   */
  function clearAll(summary) {
    state.generation++;
    state.listing++;
    state.clients = [];
    state.metrics = [];
    state.kinds = [];
    clearChart(summary);
    delete $("chart-section").dataset.series;
    hideSparklines();
    $("client").replaceChildren();
    $("entity").replaceChildren();
    $("entity-count").textContent = "";
    $("metric").replaceChildren();
    describeMetric();
  }

  async function loadDirectory() {
    clearAll("");
    clearError();
    setStatus("Loading clients and metrics…");
    document.body.dataset.state = "loading";
    try {
      const [clients, metrics] = await Promise.all([api("/v2/clients"), api("/v2/metrics")]);
      state.clients = clients.data;
      state.metrics = metrics.data;
      state.kinds = (metrics.entities || []).filter((k) => metrics.data.some((m) => m.entities.includes(k.name)));
    } catch (error) {
      $("chart-summary").textContent = noChart(error);
      $("chart-section").dataset.series = "error";
      setStatus("");
      showError(error);
      return;
    }
    $("client").replaceChildren(
      ...state.clients.map((c) => option(c.client_id, clientName(c) + " (" + c.timezone + ")")),
    );
    setStatus(state.clients.length ? "" : "This token is granted no clients.");
    fillKinds();
    fillMetrics();
    await onClientChange();
  }

  /** One radio per entity kind of the catalogue (user, device, the whole client, ...). */
  function fillKinds() {
    if (!state.kinds.length) return; // the page's own user/device radios stay
    const previous = entityKind();
    const labels = state.kinds.map((kind) => {
      const label = document.createElement("label");
      label.className = "inline";
      const radio = document.createElement("input");
      radio.type = "radio";
      radio.name = "entity";
      radio.value = kind.name;
      radio.checked = kind.name === previous;
      radio.addEventListener("change", onKindChange);
      label.append(radio, " " + (kind.listed ? kind.label : "Whole client"));
      return label;
    });
    const legend = $("entity-kinds").querySelector("legend");
    $("entity-kinds").replaceChildren(legend, ...labels);
    if (!document.querySelector("input[name=entity]:checked")) {
      document.querySelector("input[name=entity]").checked = true;
    }
  }

  function onKindChange() {
    $("entity-search").value = "";
    fillMetrics();
    loadEntities();
  }

  function fillMetrics() {
    const kind = entityKind();
    const previous = $("metric").value;
    const usable = state.metrics.filter((m) => m.entities.includes(kind));
    $("metric").replaceChildren(...usable.map((m) => option(m.name, m.label + " (" + m.name + ")")));
    if (usable.some((m) => m.name === previous)) $("metric").value = previous;
    describeMetric();
  }

  function describeMetric() {
    const metric = state.metrics.find((m) => m.name === $("metric").value);
    $("metric-description").textContent = metric ? metric.description || "" : "";
  }

  async function onClientChange() {
    const client = currentClient();
    if (!client) return;
    if (!state.datesTouched || !$("end-date").value) {
      const end = client.last_activity_date || formatDay(Date.now());
      $("end-date").value = end;
      $("start-date").value = addDays(end, -29);
    }
    await loadEntities();
    document.body.dataset.state = "ready";
  }

  async function loadEntities() {
    const client = currentClient();
    if (!client) return;
    const kind = entityKind();
    // The latest choice wins: a listing asked before it (another client's users, say) is
    // dropped when it arrives, also when the choice is now the whole client (no listing).
    const listing = ++state.listing;
    $("entity-field").hidden = !isListed(kind);
    if (!isListed(kind)) {
      // The whole client: no one to choose, its id is the client's.
      $("entity").replaceChildren(option(client.client_id, clientName(client)));
      $("entity").value = client.client_id;
      $("entity-count").textContent = "";
      return;
    }
    const spec = specOf(kind);
    const select = $("entity");
    const search = $("entity-search").value.trim();
    $("entity-search-label").textContent = "Search " + spec.plural;
    $("entity-label").textContent = kindInfo(kind) ? kindInfo(kind).label : kind;
    try {
      const page = await api("/v2/clients/" + seg(client.client_id) + "/" + spec.list, {
        search,
        limit: 200,
      });
      if (listing !== state.listing) return;
      const previous = select.value; // what is chosen now, which may have changed meanwhile
      select.replaceChildren(
        ...page.data.map((row) => {
          const detail = spec.detail(row);
          return option(row[spec.idKey], spec.name(row) + (detail ? " — " + detail : ""));
        }),
      );
      if (page.data.some((row) => row[spec.idKey] === previous)) select.value = previous;
      else if (page.data.length) select.selectedIndex = 0;
      $("entity-count").textContent =
        page.data.length + " of " + page.total + " " + spec.plural + (search ? " matching “" + search + "”" : "");
      select.dataset.search = search; // which search the options answer (tests wait on it)
    } catch (error) {
      if (listing !== state.listing) return;
      select.replaceChildren();
      $("entity-count").textContent = "";
      showError(error);
    }
  }

  // ---- the main chart ----------------------------------------------------------------

  const toSeconds = (day) => parseDay(day) / 1000;

  function chartWidth(element) {
    return Math.max(240, Math.floor(element.clientWidth || element.parentElement.clientWidth || 600));
  }

  /** A shorter chart on phone-width screens, so the form and the chart fit together. */
  const chartHeight = (width) => (width < 500 ? 240 : 320);

  function destroyChart() {
    if (state.chart) state.chart.destroy();
    state.chart = null;
    $("chart").replaceChildren();
    $("chart").dataset.points = "0";
    $("data-table").tBodies[0].replaceChildren();
  }

  /** No chart on screen: nor its title, summary or table; ``summary`` says why. */
  function clearChart(summary) {
    destroyChart();
    $("chart-title").textContent = "Chart";
    $("chart-summary").textContent = summary;
    delete $("chart-summary").dataset.peak;
    delete $("chart-summary").dataset.average;
    $("data-caption").textContent = "Values per bucket";
  }

  // ---- axes: ticks on bucket starts, whole numbers for counts ----------------------------

  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const MIN_TICK_PX = 64; // room for one x label
  // Whole-number steps for the y axis when every value is an integer (counts and sums).
  const WHOLE_INCRS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1e3, 2e3, 2.5e3, 5e3, 1e4, 2e4, 2.5e4,
    5e4, 1e5, 2e5, 2.5e5, 5e5, 1e6, 2e6, 2.5e6, 5e6, 1e7, 2e7, 5e7, 1e8, 2e8, 5e8, 1e9, 2e9, 5e9];

  /** A bucket start as its label: the day, the week's Monday, the month, or the quarter. */
  function bucketLabel(seconds, granularity) {
    const d = new Date(seconds * 1000);
    const month = MONTHS[d.getUTCMonth()];
    if (granularity === "monthly") return month + " " + d.getUTCFullYear();
    if (granularity === "quarterly") return "Q" + (Math.floor(d.getUTCMonth() / 3) + 1) + " " + d.getUTCFullYear();
    return month + " " + d.getUTCDate();
  }

  /**
   * The x axis ticks: bucket starts only (never days inside a week or month), every
   * bucket when they fit, else every k-th. Records what it renders on the chart element
   * (data-x-ticks, data-y-ticks) for people and tests reading the page.
   */
  function axesFor(xs, wholeNumbers, granularity, element) {
    const x = {
      stroke: "#1a1a1a",
      splits: (u) => {
        const fit = Math.max(1, Math.floor(u.bbox.width / devicePixelRatio / MIN_TICK_PX));
        const step = Math.max(1, Math.ceil(xs.length / fit));
        return xs.filter((_, i) => i % step === 0);
      },
      values: (u, splits) => {
        const labels = splits.map((v) => bucketLabel(v, granularity));
        element.dataset.xTicks = JSON.stringify(splits.map((v) => formatDay(v * 1000)));
        return labels;
      },
    };
    const y = {
      stroke: "#1a1a1a",
      values: (u, splits) => {
        element.dataset.yTicks = JSON.stringify(splits);
        return splits.map((v) => (wholeNumbers ? String(Math.round(v)) : String(+v.toPrecision(6))));
      },
    };
    if (wholeNumbers) y.incrs = WHOLE_INCRS;
    return [x, y];
  }

  const isWhole = (values) => values.every((v) => v == null || Number.isInteger(v));

  /**
   * The y range: the data's minimum and maximum with 0 always in view, so idle days sit
   * visibly on the floor and a negative value (a change against the previous period) is
   * drawn below it. 10% room beyond the data, rounded outwards to whole numbers (or to a
   * tenth of the span's power of ten when values are fractions spanning less than 1).
   */
  function yRange(min, max, wholeNumbers) {
    const low = min < 0 ? min : 0;
    const high = max > 0 ? max : 0;
    if (low === high) return [0, 1];
    const span = high - low;
    const unit = wholeNumbers ? 1 : Math.min(1, 10 ** Math.floor(Math.log10(span)));
    const round = (v, toward) => +(toward(v / unit) * unit).toPrecision(12);
    return [low < 0 ? round(low - span * 0.1, Math.floor) : 0, high > 0 ? round(high + span * 0.1, Math.ceil) : 0];
  }

  /**
   * A value for reading: integers as they are, fractions to 2 decimals (2 significant
   * digits below 0.01, so a small share does not read as 0).
   */
  function displayValue(value) {
    if (Number.isInteger(value)) return String(value);
    if (Math.abs(value) < 0.01) return String(+value.toPrecision(2));
    return String(Math.round(value * 100) / 100);
  }

  /**
   * A summary that is true for any metric: the peak bucket and the average per bucket.
   * A sum over buckets would mislead for a distinct count (weekly user-count: the same
   * user counts in every week), and /v2/metrics does not say which metrics add up.
   */
  function describeSeries(points, granularity) {
    const values = points.map((p) => p.value).filter((v) => v != null);
    if (!values.length) return { text: "no values", peak: null, average: null };
    const peak = Math.max(...values);
    const at = points.find((p) => p.value === peak);
    const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
    const average = Math.round(mean * 10) / 10;
    const unit = { daily: "day", weekly: "week", monthly: "month", quarterly: "quarter" }[granularity] || "bucket";
    return {
      text: "peak " + displayValue(peak) + " (" + at.date + "), average " + average + " per " + unit,
      peak,
      average,
    };
  }

  function drawChart(current, previous, context) {
    destroyChart();
    const xs = current.data.map((point) => toSeconds(point.date));
    const ys = current.data.map((point) => point.value);
    const data = [xs, ys];
    const series = [
      { label: "Bucket", value: (u, v) => (v == null ? "—" : formatDay(v * 1000)) },
      { label: current.label, stroke: COLORS.current, width: 2, points: { show: true, size: 6 } },
    ];
    if (previous) {
      // Bucket i of the previous period is drawn over bucket i of the current one.
      data.push(xs.map((_, i) => (i < previous.data.length ? previous.data[i].value : null)));
      series.push({
        label: "Previous period (" + previous.period.start + " to " + previous.period.end + ")",
        stroke: COLORS.previous,
        width: 2,
        dash: [6, 4],
        points: { show: true, size: 5 },
      });
    }
    const element = $("chart");
    const wholeNumbers = isWhole(data.slice(1).flat());
    const width = chartWidth(element);
    const options = {
      width,
      height: chartHeight(width),
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      scales: {
        x: { time: true },
        y: { range: (u, min, max) => yRange(min, max, wholeNumbers) },
      },
      axes: axesFor(xs, wholeNumbers, context.granularity, element),
      series,
    };
    state.chart = new uPlot(options, data, element);
    element.dataset.points = String(xs.length);
    element.dataset.overlay = previous ? "true" : "false";
    fillTable(current, previous);
    summarise(current, context);
  }

  function fillTable(current, previous) {
    const rows = current.data.map((point, i) => {
      const row = document.createElement("tr");
      const prev = previous && i < previous.data.length ? previous.data[i] : null;
      const shown = (value) => (value == null ? "—" : String(value));
      for (const text of [point.date, shown(point.value), prev ? shown(prev.value) + " (" + prev.date + ")" : "—"]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      return row;
    });
    $("data-table").tBodies[0].replaceChildren(...rows);
    $("data-caption").textContent = current.label + ", " + current.period.start + " to " + current.period.end;
  }

  /**
   * Whether a metric counts activity (a count or a sum), so that a bucket at 0 had none.
   * The catalogue's `value_type` decides when /v2/metrics gives it ("integer": counts and
   * sums; "number": ratios, changes, averages). Without it, the series does: a count or a
   * sum is a whole number of at least 0 in every bucket (0 without activity), so a series
   * holding a null, a negative value or a fraction is taken for another kind.
   */
  function countsActivity(metricName, points) {
    const metric = state.metrics.find((m) => m.name === metricName);
    if (metric && metric.value_type) return metric.value_type === "integer";
    return points.every((p) => Number.isInteger(p.value) && p.value >= 0);
  }

  /**
   * The buckets without anything to draw, in words true for the metric: zeros are "no
   * activity" for counts and sums only (for a change, 0 is "no change"; for a share, none
   * of it); null buckets, where the metric has no value, are "no value".
   */
  function describeEmpty(metricName, points) {
    const zeros = points.filter((p) => p.value === 0).length;
    const nulls = points.filter((p) => p.value == null).length;
    const counts = countsActivity(metricName, points);
    const parts = counts ? [zeros + " with no activity"] : [];
    if (!counts || nulls) parts.push(nulls + " with no value");
    return parts.join(", ");
  }

  function summarise(current, context) {
    const summary = describeSeries(current.data, context.granularity);
    $("chart-title").textContent = current.label + " for " + context.name;
    $("chart-summary").textContent =
      context.granularity + ", " + current.period.start + " to " + current.period.end + ": " +
      current.data.length + " points, " + summary.text + ", " + describeEmpty(context.metric, current.data) + ".";
    $("chart-summary").dataset.peak = String(summary.peak);
    $("chart-summary").dataset.average = String(summary.average);
  }

  async function showSeries(event) {
    if (event) event.preventDefault();
    const client = currentClient();
    const kind = entityKind();
    const entityId = $("entity").value;
    if (!client || !entityId) {
      showError(new ApiError(0, "", "Choose a client and a " + kind + " first."));
      return;
    }
    const generation = ++state.generation;
    const params = {
      metric: $("metric").value,
      granularity: $("granularity").value,
      start_date: $("start-date").value,
      end_date: $("end-date").value,
    };
    const name = ($("entity").selectedOptions[0] && $("entity").selectedOptions[0].textContent) || entityId;
    clearError();
    setStatus("Loading…");
    document.body.dataset.state = "loading";
    $("chart-section").dataset.series = "loading";
    $("chart-section").setAttribute("aria-busy", "true");
    $("show").disabled = true;
    try {
      const path = seriesPath(kind, client.client_id, entityId);
      // Both periods are asked at once; the current answer is awaited first, so any error
      // shown is the current request's own. A range the API will refuse gets no second call.
      const wantPrevious = $("compare").checked && dayCount(params.start_date, params.end_date) > 0;
      const asked = api(path, params);
      let before = Promise.resolve(null);
      if (wantPrevious) {
        const period = previousPeriod(params.start_date, params.end_date);
        before = api(path, { ...params, start_date: period.start, end_date: period.end });
      }
      before.catch(() => {}); // awaited below, after the current answer
      const current = await asked;
      const previous = await before;
      if (generation !== state.generation) return;
      drawChart(current, previous, { name, granularity: params.granularity, metric: params.metric });
      setStatus("");
      document.body.dataset.state = "ready";
      $("chart-section").dataset.series = "drawn";
      // The whole client has no one to rank: no grid, nor its "Most active" heading.
      if (isListed(kind)) drawSparklines(client, kind, params, entityId, generation);
      else hideSparklines();
    } catch (error) {
      if (generation !== state.generation) return;
      clearChart(noChart(error));
      hideSparklines();
      setStatus("");
      showError(error);
      $("chart-section").dataset.series = "error";
    } finally {
      $("show").disabled = false;
      $("chart-section").removeAttribute("aria-busy");
    }
  }

  // ---- the sparkline grid ------------------------------------------------------------

  /** A sparkline's range: the data's, with 0 in view (negative values drawn below it). */
  function sparkRange(min, max) {
    const low = min < 0 ? min : 0;
    const high = max > 0 ? max : 0;
    return low === high ? [0, 1] : [low, high];
  }

  /**
   * The values with no value on either side (a null or the series' end): a line needs two
   * neighbours, so these would not be drawn at all. uPlot's points filter draws them as dots.
   */
  function isolatedPoints(u, seriesIndex) {
    const ys = u.data[seriesIndex];
    const idxs = [];
    const none = (i) => i < 0 || i >= ys.length || ys[i] == null;
    for (let i = 0; i < ys.length; i++) {
      if (!none(i) && none(i - 1) && none(i + 1)) idxs.push(i);
    }
    return idxs.length ? idxs : null;
  }

  /** A sparkline fills its card's content box. */
  const sparkWidth = (element) => Math.max(120, Math.floor(element.clientWidth || 160));

  function clearSparklines() {
    for (const chart of state.sparks) chart.destroy();
    state.sparks = [];
    $("sparklines").replaceChildren();
  }

  /** No grid to show (the whole client, an error, no token): the section goes too. */
  function hideSparklines() {
    clearSparklines();
    $("sparklines-section").hidden = true;
    delete $("sparklines-section").dataset.sparklines;
  }

  async function drawSparklines(client, kind, params, selectedId, generation) {
    const spec = specOf(kind);
    const section = $("sparklines-section");
    $("sparklines-title").textContent = "Most active " + spec.plural;
    section.hidden = false;
    section.dataset.sparklines = "loading";
    let top;
    try {
      top = await api("/v2/clients/" + seg(client.client_id) + "/analytics/" + spec.top, {
        start_date: params.start_date,
        end_date: params.end_date,
        limit: 12,
      });
    } catch (error) {
      if (generation === state.generation) {
        clearSparklines(); // never the previous range's cards under this range's chart
        showError(error);
        section.dataset.sparklines = "error";
      }
      return;
    }
    if (generation !== state.generation) return;
    clearSparklines();
    const chosen = state.metrics.find((m) => m.name === params.metric);
    const metricLabel = chosen ? chosen.label : params.metric;
    const cards = top.data.map((row) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "sparkline";
      button.dataset.id = row[spec.idKey];
      button.setAttribute("aria-pressed", String(row[spec.idKey] === selectedId));
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = spec.name(row);
      // The card names the metric its sparkline draws (the one chosen above), not the
      // total activity the ranking uses; its numbers arrive with the series.
      const total = document.createElement("span");
      total.className = "total";
      total.textContent = metricLabel;
      const spark = document.createElement("span");
      spark.className = "spark";
      spark.setAttribute("aria-hidden", "true");
      button.append(name, total, spark);
      button.setAttribute("aria-label", "Chart " + spec.name(row) + ", " + metricLabel);
      button.addEventListener("click", () => chooseEntity(row, kind));
      item.append(button);
      return { item, spark, row, total };
    });
    $("sparklines").replaceChildren(...cards.map((card) => card.item));
    if (!cards.length) {
      const empty = document.createElement("li");
      empty.textContent = "No activity in this range.";
      $("sparklines").append(empty);
    }
    await Promise.all(
      cards.map(async (card) => {
        let series;
        try {
          series = await api(seriesPath(kind, client.client_id, card.row[spec.idKey]), params);
        } catch (error) {
          card.spark.textContent = error.message;
          return;
        }
        if (generation !== state.generation) return;
        const summary = describeSeries(series.data, params.granularity);
        card.total.textContent = series.label + ": " + summary.text;
        card.total.closest("button").setAttribute(
          "aria-label", "Chart " + spec.name(card.row) + ", " + series.label + ": " + summary.text);
        const xs = series.data.map((p) => toSeconds(p.date));
        const chart = new uPlot(
          {
            width: sparkWidth(card.spark),
            height: 40,
            padding: [3, 2, 3, 2], // keep the zero line and the peaks inside the box
            legend: { show: false },
            cursor: { show: false },
            scales: { x: { time: false }, y: { range: (u, min, max) => sparkRange(min, max) } },
            axes: [{ show: false }, { show: false }],
            series: [{}, {
              stroke: COLORS.spark, fill: COLORS.sparkFill, width: 1.5,
              // No dots on the line, except for a value between gaps (a change or a ratio
              // with nulls around it), which no line reaches: the card shows every value.
              points: { show: false, filter: isolatedPoints, size: 4, stroke: COLORS.spark, fill: COLORS.spark },
            }],
          },
          [xs, series.data.map((p) => p.value)],
          card.spark,
        );
        card.spark.dataset.points = String(xs.length);
        state.sparks.push(chart);
      }),
    );
    if (generation === state.generation) section.dataset.sparklines = "drawn";
  }

  async function chooseEntity(row, kind) {
    const spec = specOf(kind);
    const select = $("entity");
    const id = row[spec.idKey];
    if (![...select.options].some((o) => o.value === id)) {
      select.prepend(option(id, spec.name(row)));
    }
    select.value = id;
    await showSeries();
    $("chart-section").focus();
  }

  // ---- wiring ------------------------------------------------------------------------

  function resize() {
    if (state.chart) {
      const width = chartWidth($("chart"));
      state.chart.setSize({ width, height: chartHeight(width) });
    }
    for (const spark of state.sparks) {
      spark.setSize({ width: sparkWidth(spark.root.parentElement), height: 40 });
    }
  }

  function init() {
    state.token = initialToken();
    $("token").value = state.token;

    $("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      state.token = $("token").value.trim();
      saveToken(state.token);
      loadDirectory();
    });
    $("token-forget").addEventListener("click", () => {
      state.token = "";
      $("token").value = "";
      saveToken("");
      clearAll("");
      clearError();
      setStatus("Enter an API token to begin.");
      document.body.dataset.state = "ready";
    });
    $("client").addEventListener("change", () => {
      $("entity-search").value = "";
      onClientChange();
    });
    for (const radio of document.querySelectorAll("input[name=entity]")) {
      radio.addEventListener("change", onKindChange);
    }
    $("entity-search").addEventListener("input", () => {
      window.clearTimeout(state.searchTimer);
      state.searchTimer = window.setTimeout(loadEntities, 250);
    });
    $("metric").addEventListener("change", describeMetric);
    for (const id of ["start-date", "end-date"]) {
      $(id).addEventListener("change", () => {
        state.datesTouched = true;
      });
    }
    $("query-form").addEventListener("submit", showSeries);
    if (typeof ResizeObserver === "function") new ResizeObserver(resize).observe($("chart-section"));
    else window.addEventListener("resize", resize);

    window.daybook = { state, previousPeriod };
    if (state.token) loadDirectory();
    else {
      setStatus("Enter an API token to begin.");
      document.body.dataset.state = "ready";
    }
  }

  init();
})();
