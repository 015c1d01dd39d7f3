/* stalstm viewer, the player of one clip or stream: the skeleton, beta, the class
   probabilities, and for a stream the truth against the detections. */

const BASE_FPS = 15;
const SPEEDS = [0.25, 0.5, 1, 2, 4];
const TOP_K = 5;

/* The skeleton of one frame on a canvas: 2D as given (image coordinates turned upright), 3D
   by an orthographic projection whose "up" is the layout's, orbiting by dragging. */
class SkeletonView {
  constructor(container, view) {
    const skeleton = view.skeleton;
    this.skeleton = skeleton;
    this.alpha = view.alpha;
    this.joints = skeleton.persons * skeleton.joints_per_person;
    this.uniform = 1 / this.joints;
    // colour and size: log(alpha K), uniform 1/K in the middle of the scale; each half spans
    // the clip's extreme on its side, at least a factor 2 (flat attention stays mid-scale) and
    // at most 100 below (a joint that gets nothing is as light as one that gets 1 % of its share)
    this.above = 2;
    this.below = 2;
    if (this.alpha) {
      for (const a of this.alpha) {
        this.above = Math.max(this.above, a * this.joints);
        this.below = Math.min(100, Math.max(this.below, 1 / Math.max(a * this.joints, 1e-9)));
      }
    }
    this.is3d = skeleton.dims === 3;
    this.follow = view.kind === "stream";
    this.zoom = 1;
    this.canvas = el("canvas", { class: "skeleton" + (this.is3d ? " orbit" : "") });
    container.append(this.canvas);
    const follow = el("input", { type: "checkbox", class: "follow", checked: this.follow,
      onchange: (e) => { this.follow = e.target.checked; this.draw(this.frame); } });
    container.append(el("div", { class: "hint" },
      this.is3d ? "drag to orbit, ctrl + wheel to zoom, double-click to reset · " : "ctrl + wheel to zoom · ",
      el("label", {}, follow, " follow the skeleton")));
    container.append(this.legend());
    this.resetView();
    this.basis();
    // zoom with ctrl + wheel (a pinch on a touchpad): the plain wheel still scrolls the page
    this.canvas.addEventListener("wheel", (event) => {
      if (!event.ctrlKey) return;
      event.preventDefault();
      this.zoom = Math.min(20, Math.max(0.2, this.zoom * Math.exp(-event.deltaY * 0.002)));
      this.draw(this.frame);
    }, { passive: false });
    this.canvas.addEventListener("dblclick", () => { this.resetView(); this.draw(this.frame); });
    if (this.is3d) this.orbitByDragging();
  }

  // 0..1 on the colour scale; 0.5 is the uniform level 1/K
  share(a) {
    const relative = Math.log(Math.max(a, 1e-12) * this.joints);
    const half = relative >= 0 ? relative / Math.log(this.above) : relative / Math.log(this.below);
    return Math.min(1, Math.max(0, 0.5 + 0.5 * half));
  }

  resetView() {
    this.yaw = 0;
    this.pitch = 0;
    this.zoom = 1;
  }

  // right, up and towards-the-viewer axes of the unrotated view
  basis() {
    const dims = this.skeleton.dims;
    const given = this.skeleton.up;
    if (!this.is3d) {
      // 2D: flip y when "up" runs down the y axis (image coordinates), or when it is unknown
      this.flip = given ? given[1] < 0 : true;
      return;
    }
    const up = given && given.length === dims ? given : [0, 1, 0];
    const axes = [[1, 0, 0], [0, 0, 1], [0, 1, 0]];
    let chosen = axes[0], least = 2;
    for (const axis of axes) {
      const along = Math.abs(dot(axis, up));
      if (along < least - 1e-9) { least = along; chosen = axis; }
    }
    const along = dot(chosen, up);
    this.right = normalise(chosen.map((value, i) => value - along * up[i]));
    this.up = up;
    this.front = cross(this.right, up);
  }

  orbitByDragging() {
    let dragging = null;
    this.canvas.addEventListener("pointerdown", (event) => {
      dragging = { x: event.clientX, y: event.clientY, yaw: this.yaw, pitch: this.pitch };
      this.canvas.setPointerCapture(event.pointerId);
    });
    this.canvas.addEventListener("pointermove", (event) => {
      if (!dragging) return;
      this.yaw = dragging.yaw + (event.clientX - dragging.x) * 0.01;
      this.pitch = Math.max(-1.5, Math.min(1.5, dragging.pitch + (event.clientY - dragging.y) * 0.01));
      this.draw(this.frame);
    });
    const stop = () => { dragging = null; };
    this.canvas.addEventListener("pointerup", stop);
    this.canvas.addEventListener("pointercancel", stop);
  }

  legend() {
    const box = el("div", { class: "legend" });
    if (this.alpha) {
      const bar = el("canvas", { class: "colour-bar", title: "alpha_t: a joint's colour and size (logarithmic, uniform 1/K in the middle)" });
      box.append(bar);
      requestAnimationFrame(() => this.drawColourBar(bar));
    } else {
      box.append(el("span", { class: "muted", text: "no spatial attention: every joint counts the same (1/K)" }));
    }
    if (this.skeleton.persons > 1) {
      for (let person = 0; person < this.skeleton.persons; person++) {
        box.append(el("span", { class: "person" },
          el("span", { class: "swatch", style: `background:${PERSONS[person % PERSONS.length]}` }),
          `person ${person + 1}`));
      }
    }
    return box;
  }

  drawColourBar(canvas) {
    const { context, width } = sizedCanvas(canvas, 40);
    const left = 6, right = width - 6, top = 2, height = 10;
    for (let x = left; x < right; x++) {
      context.fillStyle = rgb(colourAt(MAGMA_R, (x - left) / (right - left)));
      context.fillRect(x, top, 1, height);
    }
    context.font = "10px system-ui, sans-serif";
    context.fillStyle = "#1f2328";
    context.textBaseline = "top";
    context.textAlign = "left";
    context.fillText(`α ${this.below >= 100 ? "≤ " : ""}${fixed(this.uniform / this.below, 4)}`, left, top + height + 3);
    context.textAlign = "right";
    context.fillText(fixed(this.uniform * this.above, 3), right, top + height + 3);
    const middle = (left + right) / 2;
    context.strokeStyle = "#0969da";
    context.lineWidth = 2;
    context.beginPath();
    context.moveTo(middle, top - 2);
    context.lineTo(middle, top + height + 14);
    context.stroke();
    context.fillStyle = "#0969da";
    context.textAlign = "left";
    context.fillText(`uniform 1/K = ${fixed(this.uniform, 3)}`, middle + 4, top + height + 14);
  }

  // screen position (x right, y up) and depth of a point
  project(point, centre) {
    const p = point.map((value, i) => value - centre[i]);
    if (!this.is3d) return [p[0], this.flip ? -p[1] : p[1], 0];
    const cy = Math.cos(this.yaw), sy = Math.sin(this.yaw);
    const cp = Math.cos(this.pitch), sp = Math.sin(this.pitch);
    const right = this.right.map((r, i) => cy * r + sy * this.front[i]);
    const front = this.front.map((f, i) => -sy * this.right[i] + cy * f);
    const up = this.up.map((u, i) => cp * u - sp * front[i]);
    const towards = this.up.map((u, i) => sp * u + cp * front[i]);
    return [dot(p, right), dot(p, up), dot(p, towards)];
  }

  // the mean of the present persons' joints in one frame (null when nobody is there)
  frameCentre(frame) {
    const s = this.skeleton, C = s.dims, V = s.joints_per_person;
    const sum = new Array(C).fill(0);
    let count = 0;
    for (let person = 0; person < s.persons; person++) {
      if (!s.present[frame * s.persons + person]) continue;
      for (let j = 0; j < V; j++) {
        const at = ((frame * s.persons + person) * V + j) * C;
        for (let i = 0; i < C; i++) sum[i] += s.coords[at + i];
        count += 1;
      }
    }
    return count ? sum.map((value) => value / count) : null;
  }

  draw(frame) {
    this.frame = frame;
    const s = this.skeleton;
    const { context, width, height } = sizedCanvas(this.canvas);
    context.clearRect(0, 0, width, height);
    const C = s.dims, V = s.joints_per_person, K = this.joints;
    const base = frame * K * C;
    let centre = s.centre, size = s.radius;
    if (this.follow) {
      centre = this.frameCentre(frame) || s.centre;
      size = s.size;
    }
    const scale = (this.zoom * 0.46 * Math.min(width, height)) / size;
    const screen = [];
    for (let k = 0; k < K; k++) {
      const point = s.coords.slice(base + k * C, base + (k + 1) * C);
      const [x, y, depth] = this.project(point, centre);
      screen.push([width / 2 + x * scale, height / 2 - y * scale, depth]);
    }
    const weights = this.alpha ? this.alpha.slice(frame * K, (frame + 1) * K) : null;
    const dots = [];
    for (let person = 0; person < s.persons; person++) {
      if (!s.present[frame * s.persons + person]) continue;
      const colour = PERSONS[person % PERSONS.length];
      context.strokeStyle = colour;
      context.globalAlpha = 0.85;
      context.lineWidth = 2.5;
      context.lineCap = "round";
      for (const [start, end] of s.bones) {
        const a = screen[person * V + start], b = screen[person * V + end];
        context.beginPath();
        context.moveTo(a[0], a[1]);
        context.lineTo(b[0], b[1]);
        context.stroke();
      }
      context.globalAlpha = 1;
      for (let j = 0; j < V; j++) dots.push([person * V + j, colour]);
    }
    dots.sort((a, b) => screen[a[0]][2] - screen[b[0]][2]);  // far ones first
    for (const [k, colour] of dots) {
      const share = weights ? this.share(weights[k]) : 0.5;
      context.beginPath();
      context.arc(screen[k][0], screen[k][1], weights ? 2.5 + 9 * share : 4, 0, 2 * Math.PI);
      context.fillStyle = weights ? rgb(colourAt(MAGMA_R, share)) : "#8c959f";
      context.fill();
      context.strokeStyle = colour;
      context.lineWidth = 1.5;
      context.stroke();
    }
    if (!dots.length) {
      context.fillStyle = "#59636e";
      context.font = "13px system-ui, sans-serif";
      context.textAlign = "center";
      context.fillText("nobody in this frame", width / 2, height / 2);
    }
  }
}

function dot(a, b) {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

function cross(a, b) {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

function normalise(v) {
  const length = Math.sqrt(dot(v, v)) || 1;
  return v.map((value) => value / length);
}

/* One clip or stream: the skeleton, the side panel of the current frame's numbers, the
   controls, and the charts over the frames. */
class Player {
  constructor(root, view) {
    this.view = view;
    this.frames = view.skeleton.frames;
    this.classes = view.classes;
    this.K = view.skeleton.persons * view.skeleton.joints_per_person;
    this.N = view.classes.length;
    this.frame = 0;
    this.playing = false;
    this.speed = 1;
    this.root = el("div", { class: "player-root" });
    root.append(this.root);
    this.build();
    this.onKey = (event) => this.key(event);
    document.addEventListener("keydown", this.onKey);
    this.onResize = () => this.render();
    window.addEventListener("resize", this.onResize);
    this.render();
  }

  destroy() {
    this.pause();
    document.removeEventListener("keydown", this.onKey);
    window.removeEventListener("resize", this.onResize);
    this.root.remove();
  }

  probability(frame, cls) {
    return this.view.probabilities[frame * this.N + cls];
  }

  build() {
    const view = this.view;
    if (view.note) this.root.append(el("div", { class: "note", text: view.note }));
    const player = el("div", { class: "player" });
    const stage = el("div", { class: "stage" });
    this.skeleton = new SkeletonView(stage, view);
    const side = el("div", { class: "side" });
    player.append(stage, side);
    this.root.append(player);

    this.frameNumber = el("b", { id: "frame-number", text: "0" });
    this.betaValue = el("b", { class: "beta-value", text: "" });
    side.append(el("div", { class: "frame-line" }, "frame ", this.frameNumber, ` / ${this.frames - 1}`,
      "  ·  β ", this.betaValue));
    this.verdict = el("div", { class: "verdict" });
    side.append(this.verdict);
    side.append(el("div", { class: "muted" , text: view.probabilities_are === "running"
      ? "class probabilities after this frame (the online recogniser: softmax of Σ β z so far)"
      : `this frame's class probabilities (scores summed over ${view.thresholds.window} frame(s))` }));
    this.topList = el("ol", { class: "classes" });
    side.append(this.topList);
    this.alphaRows = [];
    if (view.alpha) {
      const table = el("table", { class: "alpha" });
      const names = view.skeleton.joint_names;
      for (let k = 0; k < this.K; k++) {
        const value = el("td", { class: "value" });
        const row = el("tr", { "data-joint": k }, el("td", { text: names[k] || `joint ${k}` }), value);
        this.alphaRows.push([row, value]);
        table.append(row);
      }
      const wrap = el("div", { style: "max-height: 250px; overflow-y: auto" }, table);
      side.append(el("details", { open: true, class: "alpha-details" },
        el("summary", { text: `alpha at this frame, per joint (uniform 1/K = ${fixed(1 / this.K, 4)})` }), wrap));
    }

    this.buildControls();
    this.charts = [];
    const charts = el("div", { class: "charts" });
    this.root.append(charts);
    if (view.kind === "stream") this.buildTimeline(charts);
    this.buildBetaChart(charts);
    if (view.kind === "stream") this.buildStreamCharts(charts);
    else this.buildRunningChart(charts);
  }

  buildControls() {
    const view = this.view;
    this.playButton = el("button", { class: "play", text: "▶ play", onclick: () => this.toggle() });
    const speed = el("select", { class: "speed", title: "speed", onchange: (e) => { this.speed = Number(e.target.value); } },
      SPEEDS.map((s) => el("option", { value: s, selected: s === 1, text: `${s}× (${s * BASE_FPS} frames/s)` })));
    this.slider = el("input", { type: "range", class: "slider", min: 0, max: this.frames - 1, value: 0, step: 1,
      "aria-label": "frame", oninput: (e) => this.show(Number(e.target.value)) });
    const keys = el("span", { class: "keys" });
    if (view.key_frames && view.key_frames.length) {
      keys.append(el("span", { class: "muted", text: "key frames (highest β):" }));
      for (const frame of view.key_frames) {
        keys.append(el("button", { class: "key-frame", "data-frame": frame, text: String(frame),
          title: `frame ${frame}, β ${fixed(view.beta[frame], 3)}`, onclick: () => this.show(frame) }));
      }
    }
    this.root.append(el("div", { class: "controls" }, this.playButton, speed, this.slider, keys));
    this.root.append(el("div", { class: "hint muted", text: "← → a frame, Home / End, space plays and pauses; click a chart to jump" }));
  }

  buildBetaChart(container) {
    const view = this.view;
    const high = largest(view.beta, 1);
    const title = view.has_temporal_attention
      ? "temporal attention β_t (dots: key frames)"
      : "β_t = 1 on every frame: this model has no temporal attention";
    this.charts.push(new FrameChart(container, {
      height: 96, frames: this.frames, title, onFrame: (f) => this.show(f),
      draw: (context, chart) => {
        chart.axes(context, 0, high, [0, Number(fixed(high, 2))], "β");
        chart.line(context, (f) => view.beta[f], 0, high, "#cf222e", 1.5);
        context.fillStyle = "#1f2328";
        for (const frame of view.key_frames || []) {
          context.beginPath();
          context.arc(chart.x(frame), chart.y(view.beta[frame], 0, high), 3.5, 0, 2 * Math.PI);
          context.fill();
        }
      },
    }));
  }

  // the running probabilities of the classes that ever come near the top
  buildRunningChart(container) {
    const best = [];
    for (let c = 0; c < this.N; c++) {
      let peak = 0;
      for (let f = 0; f < this.frames; f++) peak = Math.max(peak, this.probability(f, c));
      best.push([peak, c]);
    }
    best.sort((a, b) => b[0] - a[0]);
    const shown = best.slice(0, Math.min(TOP_K, this.N)).map((pair) => pair[1]);
    const legend = el("div", { class: "series-legend" },
      shown.map((c, i) => el("span", { style: `--c:${SERIES[i % SERIES.length]}`, text: this.classes[c] })));
    this.charts.push(new FrameChart(container, {
      height: 130, frames: this.frames, onFrame: (f) => this.show(f),
      title: "running class probabilities (the online recogniser), the classes that come nearest the top",
      draw: (context, chart) => {
        chart.axes(context, 0, 1, [0, 0.5, 1], "p");
        shown.forEach((c, i) => chart.line(context, (f) => this.probability(f, c), 0, 1, SERIES[i % SERIES.length], 1.8));
      },
    }));
    container.append(legend);
  }

  buildTimeline(container) {
    const view = this.view;
    const timeline = el("div", { class: "timeline" });
    container.append(el("div", { class: "chart-title", text: "segments: ground truth and detections (click one to jump to its first frame; dot: when the online detector reported it)" }), timeline);
    this.cursors = [];
    const row = (label, segments, kind) => {
      const line = el("div", { class: `row ${kind}` }, el("span", { class: "label", text: label }));
      for (const segment of segments) {
        const left = (100 * segment.start) / this.frames;
        const width = (100 * (segment.end - segment.start + 1)) / this.frames;
        const name = this.classes[segment.label] || `class ${segment.label}`;
        const confidence = segment.confidence !== undefined ? ` ${fixed(segment.confidence, 2)}` : "";
        const title = `${name}: frames ${segment.start}–${segment.end}` +
          (segment.confidence !== undefined ? `, confidence ${fixed(segment.confidence, 3)}` : "") +
          (segment.reported_at !== undefined && segment.reported_at !== null ? `, reported at frame ${segment.reported_at}` : "");
        line.append(el("div", {
          class: "segment", title, "data-start": segment.start, "data-end": segment.end, "data-kind": kind,
          style: `left:${left}%;width:${width}%;background:${classColour(segment.label)}`,
          onclick: () => this.show(segment.start),
        }, name + confidence));
        if (segment.reported_at !== undefined && segment.reported_at !== null) {
          line.append(el("span", { class: "reported", style: `left:${(100 * (segment.reported_at + 0.5)) / this.frames}%` }));
        }
      }
      const cursor = el("div", { class: "cursor" });
      this.cursors.push(cursor);
      line.append(cursor);
      timeline.append(line);
    };
    if (view.truth) row("truth", view.truth, "truth");
    else timeline.append(el("div", { class: "absent", text: "no ground truth: this stream has no annotated segments (a sequencesGT.csv or segments.csv beside it)" }));
    row("detected", view.detections, "detected");
  }

  buildStreamCharts(container) {
    const view = this.view, N = this.N, T = this.frames;
    const background = view.background;
    const rowHeight = Math.max(6, Math.min(14, Math.floor(260 / N)));
    this.charts.push(new FrameChart(container, {
      height: rowHeight * N + 22, frames: T, onFrame: (f) => this.show(f),
      title: "per-frame class probabilities (rows: classes, background last; dark 0 → yellow 1)",
      draw: (context, chart, width) => {
        const image = document.createElement("canvas");
        image.width = T;
        image.height = N;
        const pixels = image.getContext("2d").createImageData(T, N);
        for (let f = 0; f < T; f++) {
          for (let c = 0; c < N; c++) {
            const colour = colourAt(VIRIDIS, this.probability(f, c));
            const at = 4 * (c * T + f);
            pixels.data[at] = colour[0];
            pixels.data[at + 1] = colour[1];
            pixels.data[at + 2] = colour[2];
            pixels.data[at + 3] = 255;
          }
        }
        image.getContext("2d").putImageData(pixels, 0, 0);
        context.imageSmoothingEnabled = false;
        const left = chart.margin.left, right = width - chart.margin.right;
        context.drawImage(image, left, chart.margin.top, right - left, rowHeight * N);
        context.font = `${Math.min(11, rowHeight)}px system-ui, sans-serif`;
        context.fillStyle = "#1f2328";
        context.textAlign = "right";
        context.textBaseline = "middle";
        if (rowHeight >= 8) {
          for (let c = 0; c < N; c++) {
            context.fillText(this.classes[c], left - 4, chart.margin.top + rowHeight * (c + 0.5));
          }
        }
        chart.axes(context, 0, 1, [], "");
      },
    }));
    const p = view.thresholds;
    this.charts.push(new FrameChart(container, {
      height: 120, frames: T, onFrame: (f) => this.show(f),
      title: "the most probable action's probability (black) and the background's (grey), against the tracker's thresholds",
      draw: (context, chart) => {
        chart.axes(context, 0, 1, [0, 0.5, 1], "p");
        chart.line(context, (f) => this.probability(f, background), 0, 1, "#afb8c1", 1.2);
        chart.line(context, (f) => this.bestAction(f)[1], 0, 1, "#1f2328", 1.4);
        const lines = p.start_threshold === p.end_threshold
          ? [[p.start_threshold, "#1a7f37", `start and end ${p.start_threshold}`, "bottom"]]
          : [[p.start_threshold, "#1a7f37", `start ${p.start_threshold}`, "bottom"],
             [p.end_threshold, "#cf222e", `end ${p.end_threshold}`, "top"]];
        for (const [value, colour, label, baseline] of lines) {
          const y = chart.y(value, 0, 1);
          context.setLineDash([5, 4]);
          context.strokeStyle = colour;
          context.lineWidth = 1.2;
          context.beginPath();
          context.moveTo(chart.margin.left, y);
          context.lineTo(chart.width - chart.margin.right, y);
          context.stroke();
          context.setLineDash([]);
          context.fillStyle = colour;
          context.textAlign = "right";
          context.textBaseline = baseline;
          context.fillText(label, chart.width - chart.margin.right - 4, y + (baseline === "top" ? 2 : -2));
        }
      },
    }));
    const gate = p.start_confidence > 0 ? `, and only after a start confidence of at least ${p.start_confidence}` : "";
    container.append(el("div", { class: "thresholds", text:
      `The tracker opens a segment when an action is the most probable class at ≥ ${p.start_threshold} for ${p.start_frames} frame(s) in a row${gate}; ` +
      `keeps it while that action stays ≥ ${p.end_threshold}; closes it after ${p.end_frames} frame(s) below. ` +
      `Each frame's scores are summed over the last ${p.window} frame(s) (weighted by β).` }));
  }

  bestAction(frame) {
    let best = -1, value = -1;
    for (let c = 0; c < this.N; c++) {
      if (c === this.view.background) continue;
      const p = this.probability(frame, c);
      if (p > value) { value = p; best = c; }
    }
    return [best, value];
  }

  render() {
    for (const chart of this.charts) chart.render();
    this.show(this.frame);
  }

  show(frame) {
    const started = performance.now();
    frame = Math.min(this.frames - 1, Math.max(0, Math.round(frame)));
    this.frame = frame;
    this.skeleton.draw(frame);
    for (const chart of this.charts) chart.show(frame);
    if (this.cursors) {
      for (const cursor of this.cursors) cursor.style.left = `${(100 * (frame + 0.5)) / this.frames}%`;
    }
    this.slider.value = frame;
    this.frameNumber.textContent = String(frame);
    this.betaValue.textContent = fixed(this.view.beta[frame], 4);
    this.showClasses(frame);
    if (this.view.alpha) {
      const weights = this.view.alpha.slice(frame * this.K, (frame + 1) * this.K);
      const third = [...weights].sort((a, b) => b - a)[Math.min(2, this.K - 1)];
      this.alphaRows.forEach(([row, cell], k) => {
        cell.textContent = fixed(weights[k], 4);
        row.classList.toggle("high", weights[k] >= third);
      });
    }
    document.body.dataset.frame = String(frame);
    stalstm.draws += 1;
    stalstm.drawMilliseconds += performance.now() - started;
  }

  showClasses(frame) {
    const view = this.view;
    const order = [...Array(this.N).keys()].sort((a, b) => this.probability(frame, b) - this.probability(frame, a));
    this.topList.replaceChildren(...order.slice(0, Math.min(TOP_K, this.N)).map((c) => {
      const p = this.probability(frame, c);
      return el("li", { class: c === view.predicted ? "predicted" : "", "data-class": c },
        el("span", { class: "bar", style: `width:${(100 * p).toFixed(1)}%` }),
        el("span", { class: "name", text: this.classes[c] }),
        el("span", { class: "value", text: fixed(p, 4) }));
    }));
    if (view.kind === "clip") {
      const truth = view.truth === null ? "" : ` · true: ${this.classes[view.truth]}`;
      const mark = view.truth === null ? "" : view.truth === view.predicted ? " ✓" : " ✗";
      this.verdict.replaceChildren(el("span", {},
        "predicted: ", el("b", { class: "predicted-class", text: this.classes[view.predicted] }),
        ` (${fixed(view.probability, 3)})${truth}`),
        el("span", { class: view.truth === view.predicted ? "good" : "bad", text: mark }));
    } else {
      const at = (segments) => (segments || []).find((s) => s.start <= frame && frame <= s.end);
      const truth = at(view.truth), detected = at(view.detections);
      const name = (s) => (s ? this.classes[s.label] : "background");
      this.verdict.replaceChildren(
        el("div", {}, "detection here: ", el("b", { class: "detected-class", text: detected ? `${name(detected)} (${fixed(detected.confidence, 2)})` : "none" })),
        el("div", {}, "truth here: ", view.truth ? el("b", { class: "true-class", text: name(truth) }) : el("span", { class: "muted", text: "not annotated" })));
    }
  }

  key(event) {
    const target = event.target;
    if (target instanceof HTMLSelectElement || (target instanceof HTMLInputElement && target.type !== "range")) return;
    const moves = { ArrowRight: this.frame + 1, ArrowLeft: this.frame - 1, Home: 0, End: this.frames - 1 };
    if (event.key in moves) {
      event.preventDefault();
      this.pause();
      this.show(moves[event.key]);
    } else if (event.key === " " && !(target instanceof HTMLButtonElement)) {
      event.preventDefault();
      this.toggle();
    }
  }

  toggle() {
    if (this.playing) this.pause();
    else this.play();
  }

  play() {
    if (this.frame >= this.frames - 1) this.show(0);
    this.playing = true;
    this.playButton.textContent = "❚❚ pause";
    this.playButton.classList.add("active");
    let last = performance.now(), carried = 0;
    const tick = (now) => {
      if (!this.playing) return;
      carried += ((now - last) / 1000) * BASE_FPS * this.speed;
      last = now;
      const steps = Math.floor(carried);
      if (steps > 0) {
        carried -= steps;
        const next = this.frame + steps;
        this.show(Math.min(next, this.frames - 1));
        if (next >= this.frames - 1) { this.pause(); return; }
      }
      this.request = requestAnimationFrame(tick);
    };
    this.request = requestAnimationFrame(tick);
  }

  pause() {
    this.playing = false;
    if (this.request) cancelAnimationFrame(this.request);
    if (this.playButton) {
      this.playButton.textContent = "▶ play";
      this.playButton.classList.remove("active");
    }
  }
}
