/* stalstm viewer: a run's report, and the start of every page. */

function epochChart(container, rows, keys, { title, log, low, high }) {
  const series = keys.filter((key) => rows.some((row) => key in row));
  if (!series.length) return;
  container.append(el("div", { class: "chart-title", text: title }));
  const canvas = el("canvas", { class: "chart curve", "data-series": series.join(" ") });
  container.append(canvas);
  container.append(el("div", { class: "series-legend" },
    series.map((key, i) => el("span", { style: `--c:${SERIES[i % SERIES.length]}`, text: key }))));
  const draw = () => {
    const { context, width, height } = sizedCanvas(canvas, 190);
    context.clearRect(0, 0, width, height);
    const margin = { left: 48, right: 10, top: 8, bottom: 22 };
    const values = series.flatMap((key) => rows.filter((row) => key in row).map((row) => row[key]));
    let bottom = low !== undefined ? low : Math.min(...values);
    let top = high !== undefined ? high : Math.max(...values);
    const scale = (v) => (log ? Math.log10(Math.max(v, 1e-6)) : v);
    if (log) { bottom = Math.min(...values.map(scale)); top = Math.max(...values.map(scale)); }
    if (top - bottom < 1e-9) { top += 0.5; bottom -= 0.5; }
    const epochs = rows.map((row) => row.epoch);
    const first = Math.min(...epochs), last = Math.max(...epochs);
    const x = (epoch) => margin.left + ((epoch - first) / Math.max(1, last - first)) * (width - margin.left - margin.right);
    const y = (v) => height - margin.bottom - ((scale(v) - bottom) / (top - bottom)) * (height - margin.top - margin.bottom);
    context.font = "11px system-ui, sans-serif";
    context.fillStyle = "#59636e";
    context.strokeStyle = "#e6eaef";
    context.textAlign = "right";
    context.textBaseline = "middle";
    for (let i = 0; i <= 4; i++) {
      const level = bottom + ((top - bottom) * i) / 4;
      const yy = height - margin.bottom - (i / 4) * (height - margin.top - margin.bottom);
      context.beginPath(); context.moveTo(margin.left, yy); context.lineTo(width - margin.right, yy); context.stroke();
      context.fillText(log ? Math.pow(10, level).toPrecision(2) : level.toFixed(2), margin.left - 4, yy);
    }
    context.textAlign = "center";
    context.textBaseline = "top";
    const step = niceStep(last - first + 1);
    for (let epoch = first; epoch <= last; epoch += step) context.fillText(String(epoch), x(epoch), height - margin.bottom + 4);
    // stage boundaries, dotted
    context.setLineDash([2, 3]);
    context.strokeStyle = "#8c959f";
    for (let i = 1; i < rows.length; i++) {
      if (rows[i].stage !== rows[i - 1].stage) {
        const xx = (x(rows[i].epoch) + x(rows[i - 1].epoch)) / 2;
        context.beginPath(); context.moveTo(xx, margin.top); context.lineTo(xx, height - margin.bottom); context.stroke();
      }
    }
    context.setLineDash([]);
    series.forEach((key, i) => {
      const points = rows.filter((row) => key in row);
      context.strokeStyle = context.fillStyle = SERIES[i % SERIES.length];
      context.lineWidth = 1.6;
      context.beginPath();
      points.forEach((row, j) => (j ? context.lineTo(x(row.epoch), y(row[key])) : context.moveTo(x(row.epoch), y(row[key]))));
      context.stroke();
      for (const row of points) { context.beginPath(); context.arc(x(row.epoch), y(row[key]), 2, 0, 2 * Math.PI); context.fill(); }
    });
  };
  draw();
  window.addEventListener("resize", draw);
}

class Report {
  constructor(app, data) {
    this.data = data;
    app.append(el("h1", { text: `Run ${data.name}` }));
    app.append(el("div", { class: "subtitle", text: `${data.task} run · ${data.run}` }));
    for (const message of data.absent) app.append(el("div", { class: "absent", text: message }));
    app.append(el("h2", { text: "The run" }));
    app.append(el("table", { class: "facts" }, Object.entries(data.facts).map(([key, value]) =>
      el("tr", {}, el("td", { text: key }), el("td", { text: this.formatFact(key, value) })))));
    if (data.curves.length) this.curves(app);
    if (data.evaluation) this.evaluation(app, data.evaluation);
    if (data.detection) this.detection(app, data.detection);
    if (data.views.length) this.viewers(app);
  }

  formatFact(key, value) {
    if (typeof value === "number" && /top|accuracy/.test(key)) return percent(value);
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  curves(app) {
    app.append(el("h2", { text: "Training curves" }));
    const grid = el("div", { class: "report-grid" });
    const loss = el("div"), accuracy = el("div");
    grid.append(loss, accuracy);
    app.append(grid);
    const keys = [...new Set(this.data.curves.flatMap((row) => Object.keys(row)))].filter((key) => key.includes("/"));
    epochChart(loss, this.data.curves, keys.filter((key) => /loss|cross_entropy/.test(key)),
      { title: "loss against epoch (log scale; dotted: stage boundaries)", log: true });
    epochChart(accuracy, this.data.curves, keys.filter((key) => /top1|accuracy/.test(key)),
      { title: "accuracy against epoch", low: 0, high: 1 });
  }

  evaluation(app, evaluation) {
    const classes = evaluation.classes, matrix = evaluation.confusion;
    app.append(el("h2", { text: `Test split: top-1 ${percent(evaluation.metrics.top1)}, ${evaluation.clips.length} clips` }));
    const grid = el("div", { class: "report-grid" });
    app.append(grid);
    const perClass = el("ul", { class: "per-class" });
    classes.forEach((name, c) => {
      const total = matrix[c].reduce((a, b) => a + b, 0);
      const share = total ? matrix[c][c] / total : null;
      perClass.append(el("li", { "data-class": c },
        el("span", { class: "name", text: name, title: name }),
        el("span", { class: "track" }, el("span", { class: "fill", style: `width:${share === null ? 0 : 100 * share}%` })),
        el("span", { class: "value", text: total ? `${matrix[c][c]}/${total} = ${(100 * share).toFixed(0)} %` : "no clips" })));
    });
    grid.append(el("div", {}, el("h3", { text: "Accuracy per class" }), perClass));

    const table = el("table", { class: "confusion" });
    table.append(el("tr", {}, el("th", { text: "true \\ predicted" }), classes.map((name) => el("th", { class: "column", text: name, title: name }))));
    this.cellList = el("div", { class: "cell-clips" }, el("span", { class: "muted", text: "Click a cell to list its clips." }));
    classes.forEach((name, row) => {
      const total = matrix[row].reduce((a, b) => a + b, 0) || 1;
      const cells = matrix[row].map((count, column) => {
        const share = count / total;
        const colour = count ? rgb(colourAt([[239, 246, 255], [8, 48, 107]], share)) : "#fff";
        return el("td", {
          class: count ? "" : "empty", "data-true": row, "data-predicted": column, title: `true ${name}, predicted ${classes[column]}: ${count}`,
          style: `background:${colour};color:${share > 0.5 ? "#fff" : "#1f2328"}`,
          onclick: (event) => this.listCell(event.currentTarget, row, column),
        }, count ? String(count) : "");
      });
      table.append(el("tr", {}, el("th", { text: name, title: name }), cells));
    });
    grid.append(el("div", {}, el("h3", { text: "Confusion matrix (rows: true class)" }), el("div", { class: "matrix-wrap" }, table), this.cellList));
  }

  listCell(cell, truth, predicted) {
    for (const other of document.querySelectorAll("table.confusion td.selected")) other.classList.remove("selected");
    cell.classList.add("selected");
    const classes = this.data.evaluation.classes;
    const clips = this.data.evaluation.clips.filter((clip) => clip.truth === truth && clip.predicted === predicted);
    const viewable = new Set(this.data.views.map((view) => view.name));
    this.cellList.replaceChildren(
      el("b", { text: `true ${classes[truth]}, predicted ${classes[predicted]}: ${clips.length} clip(s)` }),
      el("ul", { class: "clip-list" }, clips.map((clip) => el("li", { "data-clip": clip.name },
        `${clip.name} (${fixed(clip.probability, 2)}) `,
        viewable.has(clip.name) ? el("button", { text: "view", onclick: () => this.open(clip.name) }) : null))));
  }

  detection(app, detection) {
    app.append(el("h2", { text: "Detection" }));
    const names = ["detection_rate", "false_positives_per_stream", "jaccard", "frame_f1", "map_iou_0.5", "median_delay_frames", "streams"];
    const splits = Object.keys(detection.metrics);
    app.append(el("table", { class: "facts detection-metrics" },
      el("tr", {}, el("td", { text: "" }), splits.map((split) => el("td", { text: split }))),
      names.map((name) => el("tr", {}, el("td", { text: name.replaceAll("_", " ") }),
        splits.map((split) => el("td", { text: String(detection.metrics[split][name] ?? "–") }))))));
    if (detection.post_processing) {
      app.append(el("p", { class: "muted", text: `tracker chosen on held-out streams: ${JSON.stringify(detection.post_processing)}, window ${detection.window}` }));
    }
    app.append(el("p", { text: detection.see }));
  }

  viewers(app) {
    app.append(el("h2", { text: "Test clips, frame by frame" }));
    app.append(el("p", { class: "muted", text: "The most confident wrong and right test clips (right ones from different classes)." }));
    const byName = new Map(this.data.evaluation.clips.map((clip) => [clip.name, clip]));
    this.chooser = el("div", { class: "viewer-chooser" }, this.data.views.map((view) => {
      const clip = byName.get(view.name);
      const mark = clip && clip.correct ? "✓" : "✗";
      return el("button", { "data-clip": view.name, onclick: () => this.open(view.name) }, `${mark} ${view.name}`);
    }));
    this.viewerBox = el("div", { class: "embedded-viewer" });
    app.append(this.chooser, this.viewerBox);
    this.open(this.data.views[0].name, false);
  }

  open(name, scroll = true) {
    const view = this.data.views.find((candidate) => candidate.name === name);
    if (!view) return;
    if (stalstm.player) stalstm.player.destroy();
    for (const button of this.chooser.children) button.classList.toggle("active", button.dataset.clip === name);
    stalstm.player = new Player(this.viewerBox, view);
    if (scroll) this.viewerBox.scrollIntoView({ block: "nearest" });
  }
}

function showViews(app, views) {
  const first = views[0];
  const header = (view) => {
    const source = view.source !== view.name ? ` · ${view.source}` : "";
    return el("div", { class: "subtitle", text: `model ${view.model.path || ""} (${view.model.variant}, layout ${view.model.layout}, preset ${view.model.preset})${source}` });
  };
  const title = el("h1", { text: first.kind === "stream" ? `Stream ${first.name}` : `Clip ${first.name}` });
  const subtitle = header(first);
  app.append(title, subtitle);
  const box = el("div");
  const open = (index) => {
    const view = views[index];
    title.textContent = view.kind === "stream" ? `Stream ${view.name}` : `Clip ${view.name}`;
    subtitle.textContent = header(view).textContent;
    if (stalstm.player) stalstm.player.destroy();
    stalstm.player = new Player(box, view);
  };
  if (views.length > 1) {
    app.append(el("div", { class: "stream-chooser" }, "show: ",
      el("select", { class: "view-chooser", onchange: (e) => open(Number(e.target.value)) },
        views.map((view, i) => el("option", { value: i, text: view.name })))));
  }
  app.append(box);
  open(0);
}

function start() {
  const app = document.getElementById("app");
  const data = JSON.parse(document.getElementById("stalstm-data").textContent);
  stalstm.data = data;
  const started = performance.now();
  if (data.kind === "report") new Report(app, data);
  else showViews(app, data.views);
  stalstm.buildMilliseconds = performance.now() - started;
  stalstm.ready = true;
  document.body.dataset.ready = "true";
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
