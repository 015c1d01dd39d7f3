"use strict";
/* stalstm viewer, shared helpers: DOM building, colour maps, canvases with a static layer. */

const stalstm = {
  ready: false,
  player: null,
  draws: 0,
  drawMilliseconds: 0,
};
window.stalstm = stalstm;

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "style") node.style.cssText = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function fixed(value, digits) {
  return value === null || value === undefined || Number.isNaN(value) ? "–" : value.toFixed(digits);
}

// the largest of many values (Math.max(...values) overflows the stack on long streams)
function largest(values, floor) {
  let best = floor === undefined ? -Infinity : floor;
  for (const value of values) if (value > best) best = value;
  return best;
}

function percent(value) {
  return value === null || value === undefined ? "–" : (100 * value).toFixed(1) + " %";
}

// Colour maps: a few stops of matplotlib's maps, interpolated linearly in RGB.
const MAGMA_R = [[252, 253, 191], [252, 137, 97], [183, 55, 121], [81, 18, 124], [0, 0, 4]];
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
// tab20's colours, the classes of a stream (as in the timeline PNG)
const TAB20 = [
  "#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896",
  "#9467bd", "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7",
  "#bcbd22", "#dbdb8d", "#17becf", "#9edae5",
];
const SERIES = ["#0969da", "#cf222e", "#1a7f37", "#8250df", "#bc4c00", "#1b7c83", "#6e7781"];
const PERSONS = ["#4c78a8", "#e45756", "#54a24b", "#b279a2", "#9d755d"];

function colourAt(stops, share) {
  const x = Math.min(1, Math.max(0, share)) * (stops.length - 1);
  const low = Math.min(stops.length - 2, Math.floor(x));
  const t = x - low;
  const a = stops[low], b = stops[low + 1];
  return [0, 1, 2].map((i) => Math.round(a[i] + t * (b[i] - a[i])));
}

function rgb(triple) {
  return `rgb(${triple[0]},${triple[1]},${triple[2]})`;
}

function classColour(index) {
  return TAB20[index % TAB20.length];
}

// A canvas drawn at the screen's pixel density; width follows its box, height is fixed.
function sizedCanvas(canvas, height) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(50, Math.round(canvas.getBoundingClientRect().width || 600));
  if (height === undefined) height = width;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.height = height + "px";
  }
  const context = canvas.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  return { context, width, height };
}

/* A chart over the frames: a static picture (drawn once into an off-screen canvas) and, per
   frame, only a cursor on top, so scrubbing a long stream redraws next to nothing. */
class FrameChart {
  constructor(container, { height, frames, title, draw, onFrame }) {
    this.frames = frames;
    this.height = height;
    this.draw = draw;
    this.margin = { left: 92, right: 10, top: 6, bottom: 16 };
    if (title) container.append(el("div", { class: "chart-title", text: title }));
    this.canvas = el("canvas", { class: "chart" });
    container.append(this.canvas);
    this.layer = document.createElement("canvas");
    this.canvas.addEventListener("click", (event) => {
      const box = this.canvas.getBoundingClientRect();
      onFrame(this.frameAt(event.clientX - box.left));
    });
  }

  x(frame) {
    const inner = this.width - this.margin.left - this.margin.right;
    return this.margin.left + (inner * (frame + 0.5)) / this.frames;
  }

  frameAt(x) {
    const inner = this.width - this.margin.left - this.margin.right;
    const frame = Math.floor(((x - this.margin.left) / inner) * this.frames);
    return Math.min(this.frames - 1, Math.max(0, frame));
  }

  render() {
    const { width, height } = sizedCanvas(this.canvas, this.height);
    this.width = width;
    const ratio = window.devicePixelRatio || 1;
    this.layer.width = this.canvas.width;
    this.layer.height = this.canvas.height;
    const context = this.layer.getContext("2d");
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);
    this.draw(context, this, width, height);
  }

  show(frame) {
    const context = this.canvas.getContext("2d");
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.clearRect(0, 0, this.canvas.width, this.canvas.height);
    context.drawImage(this.layer, 0, 0);
    const ratio = window.devicePixelRatio || 1;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    const x = this.x(frame);
    context.strokeStyle = "#cf222e";
    context.lineWidth = 1.5;
    context.beginPath();
    context.moveTo(x, 0);
    context.lineTo(x, this.height);
    context.stroke();
  }

  // y of a value in [low, high] inside the plot area
  y(value, low, high) {
    const top = this.margin.top, bottom = this.height - this.margin.bottom;
    return bottom - ((value - low) / (high - low || 1)) * (bottom - top);
  }

  axes(context, low, high, ticks, label) {
    const left = this.margin.left, right = this.width - this.margin.right;
    context.font = "11px system-ui, sans-serif";
    context.fillStyle = "#59636e";
    context.strokeStyle = "#e6eaef";
    context.lineWidth = 1;
    context.textAlign = "right";
    context.textBaseline = "middle";
    for (const tick of ticks) {
      const y = this.y(tick, low, high);
      context.beginPath();
      context.moveTo(left, y);
      context.lineTo(right, y);
      context.stroke();
      context.fillText(String(tick), left - 4, y);
    }
    if (label) {
      context.textAlign = "left";
      context.fillText(label, 4, this.margin.top + 6);
    }
    context.textAlign = "center";
    context.textBaseline = "top";
    const step = niceStep(this.frames);
    for (let frame = 0; frame < this.frames; frame += step) {
      context.fillText(String(frame), this.x(frame), this.height - this.margin.bottom + 2);
    }
  }

  line(context, values, low, high, colour, width) {
    context.strokeStyle = colour;
    context.lineWidth = width || 1.5;
    context.beginPath();
    for (let frame = 0; frame < this.frames; frame++) {
      const x = this.x(frame), y = this.y(values(frame), low, high);
      if (frame === 0) context.moveTo(x, y);
      else context.lineTo(x, y);
    }
    context.stroke();
  }
}

function niceStep(count) {
  const raw = count / 8;
  const power = Math.pow(10, Math.floor(Math.log10(Math.max(1, raw))));
  for (const factor of [1, 2, 5, 10]) if (factor * power >= raw) return Math.max(1, factor * power);
  return Math.max(1, 10 * power);
}
