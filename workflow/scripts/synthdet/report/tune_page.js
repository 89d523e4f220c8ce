"use strict";
// The tuning page. Part 1 is label_filter.py and boxes.py, function for function, in the
// same float64 arithmetic as numpy (JS numbers are IEEE doubles): first index wins argmax
// ties, thresholds are `score >= threshold`, NMS suppresses at IoU `>` nms_iou in a stable
// order by score. tests/test_tune_page.py runs both over the same candidates and compares
// every object: a change to label_filter.py must be mirrored here, step by step.

// ---------------------------------------------------------------- boxes.py

// boxes.area: (x2 - x1).clip(0) * (y2 - y1).clip(0)
function boxArea(box) {
  return Math.max(box[2] - box[0], 0) * Math.max(box[3] - box[1], 0);
}

// boxes.iou_matrix, one pair: intersection over union, 0 when the union is empty.
function boxIou(a, b) {
  return pairIou(a, boxArea(a), b, boxArea(b));
}

// boxes.nms: indices kept by greedy NMS, best score first (stable sort on -score).
// Python marks suppressed boxes in the whole row; only boxes later in the order are ever read
// again, so only those are tested here (same result, half the work).
function nms(boxes, scores, iouThreshold, groups) {
  const n = boxes.length;
  const order = byScore(scores);
  const areas = new Float64Array(n);
  for (let i = 0; i < n; i++) areas[i] = boxArea(boxes[i]);
  const suppressed = new Uint8Array(n);
  const keep = [];
  for (let a = 0; a < n; a++) {
    const index = order[a];
    if (suppressed[index]) continue;
    keep.push(index);
    const box = boxes[index];
    for (let b = a + 1; b < n; b++) {
      const j = order[b];
      if (suppressed[j] || (groups !== null && groups[j] !== groups[index])) continue;
      if (pairIou(box, areas[index], boxes[j], areas[j]) > iouThreshold) suppressed[j] = 1;
    }
  }
  return keep;
}

// np.argsort(-scores, kind="stable"): indices by descending score, ties in input order.
// Insertion sort: stable, and quicker than Array.sort for the few boxes of one image.
function byScore(scores) {
  const order = new Array(scores.length);
  for (let i = 0; i < scores.length; i++) {
    let k = i;
    while (k > 0 && scores[order[k - 1]] < scores[i]) {
      order[k] = order[k - 1];
      k--;
    }
    order[k] = i;
  }
  return order;
}

// boxIou with both areas known (boxes.iou_matrix computes them once per matrix too).
function pairIou(a, areaA, b, areaB) {
  const w = Math.max(Math.min(a[2], b[2]) - Math.max(a[0], b[0]), 0);
  const h = Math.max(Math.min(a[3], b[3]) - Math.max(a[1], b[1]), 0);
  const inter = w * h;
  const union = areaA + areaB - inter;
  return union > 0 ? inter / union : 0;
}

// numpy's pairwise summation (np.add.reduce over a contiguous axis), so sums match to the bit.
function pairwiseSum(values, start = 0, n = values.length) {
  if (n < 8) {
    let sum = -0;
    for (let i = start; i < start + n; i++) sum += values[i];
    return sum;
  }
  if (n <= 128) {
    const r = values.slice(start, start + 8);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += values[start + i + j];
    let sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) sum += values[start + i];
    return sum;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return pairwiseSum(values, start, half) + pairwiseSum(values, start + half, n - half);
}

// ---------------------------------------------------------------- label_filter.py

// label_filter.thresholds_for: a class's override, else the global value; the larger gates.
function thresholdsFor(settings, label) {
  const override = ownValue(settings.per_class, label) || {};
  const box = "box_threshold" in override ? override.box_threshold : settings.box_threshold;
  const text = "text_threshold" in override ? override.text_threshold : settings.text_threshold;
  return Math.max(box, text);
}

// label_filter.best_class: argmax, the first index on ties.
function bestClass(scores, classes) {
  const index = argmax(scores);
  return [classes[index], scores[index]];
}

function argmax(scores) {
  let index = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i] > scores[index]) index = i;
  return index;
}

// label_filter.suppress
function suppress(objects, settings) {
  if (objects.length === 0) return objects;
  const groups = settings.class_agnostic_nms ? null : objects.map((o) => o.class);
  const keep = nms(objects.map((o) => o.box), objects.map((o) => o.score), settings.nms_iou, groups);
  return keep.map((i) => objects[i]);
}

// label_filter.large_enough: at least one pixel wide and high, and min_box_area.
function largeEnough(box, settings) {
  return box[2] - box[0] >= 1 && box[3] - box[1] >= 1 && boxArea(box) >= settings.min_box_area;
}

// label_filter.label_image
function labelImage(item, classes, settings) {
  const objects = [];
  for (const candidate of item.candidates) {
    const best = argmax(candidate.scores); // best_class, without an array per candidate
    const label = classes[best], score = candidate.scores[best];
    if (score < thresholdsFor(settings, label)) continue;
    let box = candidate.box;
    if (settings.box_from === "mask" && candidate.mask_area > 0) box = candidate.mask_box;
    if (!largeEnough(box, settings)) continue;
    objects.push({ class: label, score: score, box: box, mask: candidate.mask });
  }
  return suppress(objects, settings);
}

// label_filter.passes
function passes(scores, classes, settings) {
  const [label, score] = bestClass(scores, classes);
  return score >= thresholdsFor(settings, label);
}

// label_filter.kept_windows: every vouched window, and every run of at most maxMissed
// others between two vouched ones.
function keptWindows(vouched, maxMissed) {
  let kept = [], gap = [], started = false;
  vouched.forEach((ok, index) => {
    if (!ok) {
      gap.push(index);
      return;
    }
    if (started && gap.length <= maxMissed) kept = kept.concat(gap);
    kept.push(index);
    gap = [];
    started = true;
  });
  return kept;
}

// label_filter.track_score: max or mean over the vouching detections (rows), per class.
// numpy sums a (detections x classes) array down its rows one by one, except with a single
// class, where that axis is contiguous and numpy sums it pairwise.
function trackScore(rows, classes, settings) {
  const combined = [];
  for (let c = 0; c < classes.length; c++) {
    const column = rows.map((row) => row[c]);
    if (settings.track_score === "max") {
      combined.push(Math.max(...column));
    } else if (classes.length === 1) {
      combined.push(pairwiseSum(column) / column.length);
    } else {
      let sum = 0;
      for (const value of column) sum += value;
      combined.push(sum / column.length);
    }
  }
  return bestClass(combined, classes);
}

// label_filter.track_labels: [class, score, kept windows], or null.
function trackLabels(track, classes, settings, maxMissed) {
  const windows = track.windows;
  const vouched = windows.map(
    (w) => w.detection !== null && passes(track.scores[w.detection], classes, settings));
  const kept = keptWindows(vouched, maxMissed).map((i) => windows[i]);
  const detections = [...new Set(kept.filter((w) => w.detection !== null).map((w) => w.detection))]
    .sort((a, b) => a - b);
  if (detections.length === 0) return null;
  const [label, score] = trackScore(detections.map((d) => track.scores[d]), classes, settings);
  if (score < thresholdsFor(settings, label)) return null;
  return [label, score, kept];
}

// label_filter.label_video: labeled objects per frame, parallel to item.frames.
function labelVideo(item, classes, settings) {
  const perFrame = item.frames.map(() => []);
  for (const track of item.tracks) {
    const labeled = trackLabels(track, classes, settings, item.max_missed);
    if (labeled === null) continue;
    const [label, score, windows] = labeled;
    for (const window of windows) {
      for (let frame = window.first; frame <= window.last; frame++) {
        const state = Object.prototype.hasOwnProperty.call(track.masks, String(frame))
          ? track.masks[String(frame)] : undefined;
        if (state === undefined || state.area === 0 || !largeEnough(state.box, settings)) continue;
        perFrame[frame].push({
          class: label, score: score, box: state.box, mask: state.mask, track: track.track,
        });
      }
    }
  }
  return perFrame.map((objects) => suppress(objects, settings));
}

// A sample unit (synthdet/tune.py): an image, or a video cut down to one of its frames.
function labelUnit(unit, classes, settings) {
  return unit.kind === "image" ? labelImage(unit, classes, settings) : labelVideo(unit, classes, settings)[0];
}

function filterAll(units, classes, settings) {
  return units.map((unit) => labelUnit(unit, classes, settings));
}

// ---------------------------------------------------------------- label_validator.py

// The validator's verdict of a label (same class, same box to 0.01 px), or null: a label
// these thresholds make that the validator was never asked about.
function verdictOf(object, verdicts) {
  for (const v of verdicts || []) {
    if (v.class === object.class && v.box.every((x, i) => Math.abs(x - object.box[i]) < 0.01)) return v;
  }
  return null;
}

// What `labeling.thresholds.validator` makes of an item's labels (apply_verdicts): `drop`
// leaves out the rejected ones, `keep-and-flag` marks them, `off` keeps them; each keeps
// its verdict (as `validator`) when it has one.
function applyVerdicts(objects, verdicts, mode) {
  const result = [];
  for (const object of objects) {
    const verdict = verdictOf(object, verdicts);
    if (verdict === null) { result.push(object); continue; }
    if (verdict.rejected && mode === "drop") continue;
    // The same record as apply_verdicts writes: the verdict without the class and box.
    const { verdict: said, score, reason, rejected } = verdict;
    const marked = { ...object, validator: { verdict: said, score, reason, rejected } };
    if (verdict.rejected && mode === "keep-and-flag") marked.flagged = true;
    result.push(marked);
  }
  return result;
}

// ---------------------------------------------------------------- evaluation.py

const IOU = 0.5;

// evaluation.match_counts: true positives of one image, greedy by score.
function matchCounts(predicted, truth) {
  const used = new Set();
  let hits = 0;
  const ordered = predicted.slice().sort((a, b) => b.score - a.score);
  for (const obj of ordered) {
    const candidates = [];
    truth.forEach((t, i) => { if (t.class === obj.class && !used.has(i)) candidates.push(i); });
    if (candidates.length === 0) continue;
    let best = 0, bestIou = -Infinity;
    candidates.forEach((i, k) => {
      const iou = boxIou(obj.box, truth[i].box);
      if (iou > bestIou) { bestIou = iou; best = k; }
    });
    if (bestIou >= IOU) { used.add(candidates[best]); hits++; }
  }
  return hits;
}

// pycocotools maskApi bbIou on [x, y, w, h] boxes, as COCOeval computes it.
function cocoIou(d, g) {
  const w = Math.min(d[2] + d[0], g[2] + g[0]) - Math.max(d[0], g[0]);
  if (w <= 0) return 0;
  const h = Math.min(d[3] + d[1], g[3] + g[1]) - Math.max(d[1], g[1]);
  if (h <= 0) return 0;
  const i = w * h;
  return i / (d[2] * d[3] + g[2] * g[3] - i);
}

function xywh(box) {
  return [box[0], box[1], box[2] - box[0], box[3] - box[1]];
}

// COCOeval.evaluateImg at IoU 0.5, area "all", maxDets 100, for one image and class.
function evaluateImage(dts, gts) {
  if (dts.length === 0 && gts.length === 0) return null;
  const areaMax = 1e5 ** 2;
  const gtIgnore = gts.map((g) => (g.area < 0 || g.area > areaMax ? 1 : 0));
  const gtOrder = gts.map((_, i) => i).sort((a, b) => gtIgnore[a] - gtIgnore[b]);
  const gt = gtOrder.map((i) => gts[i]);
  const gtIg = gtOrder.map((i) => gtIgnore[i]);
  const dt = dts.slice().sort((a, b) => b.score - a.score).slice(0, 100);
  const gtMatched = gt.map(() => false);
  const dtMatched = [], dtIg = [];
  const threshold = Math.min(IOU, 1 - 1e-10);
  for (const d of dt) {
    let iou = threshold, m = -1;
    for (let g = 0; g < gt.length; g++) {
      if (gtMatched[g]) continue;
      if (m > -1 && gtIg[m] === 0 && gtIg[g] === 1) break;
      const value = cocoIou(d.bbox, gt[g].bbox);
      if (value < iou) continue;
      iou = value;
      m = g;
    }
    if (m === -1) {
      const area = d.bbox[2] * d.bbox[3];
      dtMatched.push(false);
      dtIg.push(area < 0 || area > areaMax);
    } else {
      gtMatched[m] = true;
      dtMatched.push(true);
      dtIg.push(gtIg[m] === 1);
    }
  }
  return { scores: dt.map((d) => d.score), matched: dtMatched, ignored: dtIg, gtIgnore: gtIg };
}

// COCOeval.accumulate for one class: precision at the 101 recall thresholds, or null when
// the class has no ground truth (-1 in COCOeval, left out of the mean).
function classPrecision(evals) {
  const list = evals.filter((e) => e !== null);
  if (list.length === 0) return null;
  const dets = [];
  for (const e of list) e.scores.forEach((s, i) => dets.push([s, e.matched[i], e.ignored[i]]));
  dets.sort((a, b) => b[0] - a[0]); // mergesort in COCOeval: stable
  const npig = list.reduce((n, e) => n + e.gtIgnore.filter((g) => g === 0).length, 0);
  if (npig === 0) return null;
  const rc = [], pr = [];
  let tp = 0, fp = 0;
  for (const [, matched, ignored] of dets) {
    if (matched && !ignored) tp++;
    if (!matched && !ignored) fp++;
    rc.push(tp / npig);
    pr.push(tp / (fp + tp + Number.EPSILON)); // np.spacing(1)
  }
  for (let i = pr.length - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
  const q = new Array(101).fill(0);
  let i = 0;
  for (let r = 0; r < 101; r++) {
    const threshold = r === 100 ? 1 : r * 0.01; // np.linspace(0, 1, 101)
    while (i < rc.length && rc[i] < threshold) i++; // searchsorted, side="left"
    if (i >= rc.length) break;
    q[r] = pr[i];
  }
  return q;
}

// evaluation.mean_ap: pycocotools COCOeval, stats[1] (AP at IoU 0.5), 0 when undefined.
function meanAp(units, labels, classes) {
  const order = units.map((_, i) => i).sort((a, b) => units[a].image_id - units[b].image_id);
  let anyGt = false, anyDt = false;
  const curves = {};
  const all = [];
  for (const label of classes) {
    const evals = order.map((i) => {
      const gts = units[i].truth.filter((t) => t.class === label).map((t) => {
        const b = xywh(t.box);
        return { bbox: b, area: b[2] * b[3] };
      });
      const dts = labels[i].filter((o) => o.class === label).map((o) => ({ bbox: xywh(o.box), score: o.score }));
      anyGt = anyGt || gts.length > 0;
      anyDt = anyDt || dts.length > 0;
      return evaluateImage(dts, gts);
    });
    curves[label] = classPrecision(evals);
  }
  if (!anyGt || !anyDt) return { map50: 0, curves: curves };
  // s[s > -1] flattened recall-major, as COCOeval.summarize reads precision[t, :, :, a, m]
  for (let r = 0; r < 101; r++) for (const label of classes) if (curves[label]) all.push(curves[label][r]);
  const map = all.length ? pairwiseSum(all) / all.length : -1;
  return { map50: Math.max(0, map), curves: curves };
}

// evaluation.evaluate over the sample: only units the generator knows the truth of.
function evaluate(units, labels, classes) {
  const scored = [], scoredLabels = [];
  units.forEach((u, i) => { if (u.truth) { scored.push(u); scoredLabels.push(labels[i]); } });
  let nLabels = 0, objects = 0, hits = 0;
  scored.forEach((u, i) => {
    nLabels += scoredLabels[i].length;
    objects += u.truth.length;
    hits += matchCounts(scoredLabels[i], u.truth);
  });
  const ap = scored.length ? meanAp(scored, scoredLabels, classes) : { map50: 0, curves: {} };
  return {
    items_scored: scored.length, labels: nLabels, truth_objects: objects, true_positives: hits,
    precision: nLabels ? hits / nLabels : 0, recall: objects ? hits / objects : 0,
    map50: ap.map50, curves: ap.curves,
  };
}

// ---------------------------------------------------------------- the thresholds: block

// object[key] only when it is the object's own: a class named constructor, toString or
// __proto__ must not read what every object inherits.
function ownValue(object, key) {
  return object && Object.prototype.hasOwnProperty.call(object, key) ? object[key] : undefined;
}

// A YAML double-quoted key that loads back as `text` exactly, whatever the class name
// holds: printable ASCII raw, everything else as \u or \U escapes (PyYAML refuses U+FFFE
// raw and reads U+0085, U+2028 and U+2029 as line breaks even inside quotes).
function yamlKey(text) {
  let quoted = '"';
  for (const char of text) {
    const code = char.codePointAt(0);
    if (char === '"' || char === "\\") quoted += "\\" + char;
    else if (code >= 0x20 && code < 0x7f) quoted += char;
    else if (code <= 0xffff) quoted += "\\u" + code.toString(16).padStart(4, "0");
    else quoted += "\\U" + code.toString(16).padStart(8, "0");
  }
  return quoted + '"';
}

function yamlNumber(x) {
  const text = String(x);
  if (!/e/i.test(text)) return text;
  return x.toFixed(12).replace(/0+$/, "").replace(/\.$/, ".0"); // PyYAML reads 1e-7 as text
}

// The block as config/config.yaml holds it under datasets.<ds>.labeling (6 spaces in).
function thresholdsYaml(settings, classes) {
  const pad = "      ";
  const lines = [
    "thresholds:",
    `  box_threshold: ${yamlNumber(settings.box_threshold)}`,
    `  text_threshold: ${yamlNumber(settings.text_threshold)}`,
  ];
  const overridden = classes.filter((c) => ownValue(settings.per_class, c));
  if (overridden.length === 0) lines.push("  per_class: {}");
  else lines.push("  per_class:");
  for (const label of overridden) {
    const o = ownValue(settings.per_class, label);
    const parts = ["box_threshold", "text_threshold"].filter((k) => k in o).map((k) => `${k}: ${yamlNumber(o[k])}`);
    lines.push(`    ${yamlKey(label)}: {${parts.join(", ")}}`);
  }
  lines.push(
    `  nms_iou: ${yamlNumber(settings.nms_iou)}`,
    `  class_agnostic_nms: ${settings.class_agnostic_nms ? "true" : "false"}`,
    `  min_box_area: ${yamlNumber(settings.min_box_area)}`,
    `  box_from: ${settings.box_from}`,
    `  track_score: ${settings.track_score}`,
  );
  if (settings.validator && settings.validator !== "off") lines.push(`  validator: ${settings.validator}`);
  return lines.map((line) => pad + line).join("\n") + "\n";
}

// ---------------------------------------------------------------- masks: COCO compressed RLE

// pycocotools rleFrString: counts as 6-bit chunks ("0" + value), 5 data bits and a
// continuation bit each, sign-extended; counts after the second are deltas of the one two back.
function rleCounts(text) {
  const counts = [];
  let p = 0;
  while (p < text.length) {
    let x = 0, k = 0, more = true, c = 0;
    while (more) {
      c = text.charCodeAt(p) - 48;
      x += (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
    }
    if (c & 0x10) x -= 2 ** (5 * k); // negative: sign-extend
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

// A mask tinted in `rgb` as a canvas of the image's size (column-major runs, zeros first).
function maskCanvas(mask, rgb) {
  const [height, width] = mask.size;
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  const image = context.createImageData(width, height);
  let position = 0, on = false;
  for (const run of rleCounts(mask.counts)) {
    if (on) {
      for (let p = position; p < position + run; p++) {
        const offset = ((p % height) * width + Math.floor(p / height)) * 4;
        image.data[offset] = rgb[0];
        image.data[offset + 1] = rgb[1];
        image.data[offset + 2] = rgb[2];
        image.data[offset + 3] = 110;
      }
    }
    position += run;
    on = !on;
  }
  context.putImageData(image, 0, 0);
  return canvas;
}

// ---------------------------------------------------------------- the page

const PAGE_SIZE = 12;
const state = { page: 0, labels: [], evaluation: null, settings: null, filterMs: 0, images: {}, hasVerdicts: false };

function classColor(index) {
  const hue = (index * 137.5) % 360;
  return `hsl(${hue}, 75%, 45%)`;
}

function classRgb(index) {
  const probe = document.createElement("canvas").getContext("2d");
  probe.fillStyle = classColor(index);
  const hex = probe.fillStyle; // "#rrggbb"
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

function byId(id) {
  return document.getElementById(id);
}

function numberOrNull(text) {
  return text === "" ? null : parseFloat(text);
}

// config.check_labeling: the box and text thresholds (global and per class) under the floor.
function belowFloor(settings, floor) {
  const low = ["box_threshold", "text_threshold"].filter((key) => settings[key] < floor);
  for (const [label, override] of Object.entries(settings.per_class)) {
    for (const [key, value] of Object.entries(override)) {
      if (value < floor) low.push(`per_class.${label}.${key}`);
    }
  }
  return low;
}

// Settings exactly as the config holds them (labeling.thresholds), read from the controls.
function settingsFromControls(classes) {
  const perClass = Object.create(null); // "__proto__" is a class name like any other
  for (const label of classes) {
    const override = {};
    for (const key of ["box_threshold", "text_threshold"]) {
      const value = numberOrNull(document.querySelector(`[data-class-index="${classes.indexOf(label)}"][data-key="${key}"]`).value);
      if (value !== null) override[key] = value;
    }
    if (Object.keys(override).length) perClass[label] = override;
  }
  return {
    box_threshold: parseFloat(byId("box_threshold_n").value),
    text_threshold: parseFloat(byId("text_threshold_n").value),
    per_class: perClass,
    nms_iou: parseFloat(byId("nms_iou_n").value),
    class_agnostic_nms: byId("class_agnostic_nms").checked,
    min_box_area: parseFloat(byId("min_box_area").value),
    box_from: byId("box_from").value,
    track_score: byId("track_score").value,
    ...(state.hasVerdicts ? { validator: byId("validator").value } : {}),
  };
}

function showSettings(settings, classes) {
  for (const key of ["box_threshold", "text_threshold", "nms_iou"]) {
    byId(key).value = settings[key];
    byId(key + "_n").value = settings[key];
  }
  byId("class_agnostic_nms").checked = settings.class_agnostic_nms;
  byId("min_box_area").value = settings.min_box_area;
  byId("box_from").value = settings.box_from;
  byId("track_score").value = settings.track_score;
  classes.forEach((label, index) => {
    const override = ownValue(settings.per_class, label) || {};
    for (const key of ["box_threshold", "text_threshold"]) {
      const input = document.querySelector(`[data-class-index="${index}"][data-key="${key}"]`);
      input.value = key in override ? override[key] : "";
    }
  });
}

function buildClassTable(classes) {
  const table = byId("classes");
  table.innerHTML = "<tr><th>class</th><th>box</th><th>text</th><th>kept</th><th>scores</th></tr>";
  classes.forEach((label, index) => {
    const row = table.insertRow();
    const name = row.insertCell();
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = classColor(index);
    name.append(swatch, document.createTextNode(label));
    for (const key of ["box_threshold", "text_threshold"]) {
      const input = document.createElement("input");
      Object.assign(input, { type: "number", min: 0, max: 1, step: 0.005, placeholder: "global" });
      input.dataset.classIndex = index;
      input.dataset.key = key;
      input.addEventListener("input", refresh);
      row.insertCell().append(input);
    }
    row.insertCell().id = `kept_${index}`;
    const histogram = document.createElement("canvas");
    Object.assign(histogram, { width: 100, height: 34, id: `hist_${index}` });
    row.insertCell().append(histogram);
  });
}

// The detection that vouches for a frame unit's track on its frame (frame 0), or null.
function vouchingScores(track) {
  const window = track.windows.find((w) => w.first <= 0 && 0 <= w.last);
  return window && window.detection !== null ? track.scores[window.detection] : null;
}

// Each candidate's (class, score) as the thresholds see it, for the histograms: an image's
// candidates, and the detections that vouch for a frame's tracks.
function candidateScores(units, classes) {
  const scores = classes.map(() => []);
  for (const unit of units) {
    const rows = unit.kind === "image"
      ? unit.candidates.map((c) => c.scores)
      : unit.tracks.map(vouchingScores).filter((row) => row !== null);
    for (const row of rows) {
      const [label, score] = bestClass(row, classes);
      scores[classes.indexOf(label)].push(score);
    }
  }
  return scores;
}

function drawHistogram(canvas, scores, threshold, color) {
  const context = canvas.getContext("2d");
  const bins = new Array(20).fill(0);
  for (const s of scores) bins[Math.min(19, Math.floor(s * 20))]++;
  const top = Math.max(1, ...bins);
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.fillStyle = "#f0f0f0";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.fillStyle = color;
  const w = canvas.width / 20;
  bins.forEach((n, i) => {
    const h = (n / top) * (canvas.height - 2);
    context.fillRect(i * w + 0.5, canvas.height - h, w - 1, h);
  });
  context.fillStyle = "#d00";
  context.fillRect(Math.min(canvas.width - 2, threshold * canvas.width), 0, 2, canvas.height);
}

function drawPrCurves(canvas, curves, classes) {
  const context = canvas.getContext("2d");
  const left = 30, bottom = canvas.height - 20, width = canvas.width - 40, height = bottom - 8;
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.strokeStyle = "#999";
  context.strokeRect(left, bottom - height, width, height);
  context.fillStyle = "#555";
  context.font = "10px sans-serif";
  context.fillText("recall", left + width / 2 - 12, canvas.height - 5);
  context.fillText("1", left - 10, bottom - height + 8);
  context.fillText("0", left - 10, bottom);
  classes.forEach((label, index) => {
    const q = curves[label];
    if (!q) return;
    context.strokeStyle = classColor(index);
    context.lineWidth = 2;
    context.beginPath();
    q.forEach((p, r) => {
      const x = left + (r / 100) * width, y = bottom - p * height;
      if (r === 0) context.moveTo(x, y); else context.lineTo(x, y);
    });
    context.stroke();
  });
}

function loadImage(unit) {
  if (!state.images[unit.name]) {
    const image = new Image();
    image.src = unit.src;
    state.images[unit.name] = image;
  }
  return state.images[unit.name];
}

function drawUnit(canvas, unit, objects, classes, showMasks) {
  const image = loadImage(unit);
  canvas.width = image.naturalWidth || unit.width;
  canvas.height = image.naturalHeight || unit.height;
  const context = canvas.getContext("2d");
  const scale = canvas.width / unit.width;
  context.drawImage(image, 0, 0, canvas.width, canvas.height);
  if (showMasks) {
    for (const o of objects) {
      const index = classes.indexOf(o.class);
      context.drawImage(maskCanvas(o.mask, classRgb(index)), 0, 0, canvas.width, canvas.height);
    }
  }
  context.font = `${Math.max(10, Math.round(canvas.width / 40))}px sans-serif`;
  context.lineWidth = Math.max(1.5, canvas.width / 320);
  for (const o of objects) {
    const color = classColor(classes.indexOf(o.class));
    const [x1, y1, x2, y2] = o.box.map((v) => v * scale);
    context.strokeStyle = color;
    context.setLineDash(o.validator && o.validator.rejected ? [6, 4] : []);
    context.strokeRect(x1, y1, x2 - x1, y2 - y1);
    context.setLineDash([]);
    const text = `${o.class} ${o.score.toFixed(2)}${o.track !== undefined ? " #" + o.track : ""}${verdictMark(o)}`;
    const tw = context.measureText(text).width + 4;
    const th = parseInt(context.font, 10) + 3;
    const ty = y1 >= th ? y1 - th : y1;
    context.fillStyle = color;
    context.fillRect(x1, ty, tw, th);
    context.fillStyle = "#fff";
    context.fillText(text, x1 + 2, ty + th - 4);
  }
}

// A label's verdict in its tag: accepted, rejected, unparsed, or (no mark) never asked.
function verdictMark(object) {
  if (!object.validator) return "";
  const marks = { accept: " \u2713", reject: " \u2717", unparsed: " ?" };
  return marks[object.validator.verdict] + (object.validator.rejected ? "!" : "");
}

function drawGallery() {
  const { items, classes } = TUNE_DATA;
  const pages = Math.max(1, Math.ceil(items.length / PAGE_SIZE));
  state.page = Math.min(state.page, pages - 1);
  byId("page").textContent = `page ${state.page + 1} / ${pages}`;
  const gallery = byId("gallery");
  gallery.innerHTML = "";
  const showMasks = byId("show_masks").checked;
  for (let i = state.page * PAGE_SIZE; i < Math.min(items.length, (state.page + 1) * PAGE_SIZE); i++) {
    const unit = items[i];
    const figure = document.createElement("figure");
    const canvas = document.createElement("canvas");
    const caption = document.createElement("figcaption");
    const truth = unit.truth ? `, ${unit.truth.length} in truth` : "";
    caption.textContent = `${unit.name} (part ${unit.part}): ${state.labels[i].length} objects${truth}`;
    figure.append(canvas, caption);
    gallery.append(figure);
    const image = loadImage(unit);
    const draw = () => drawUnit(canvas, unit, state.labels[i], classes, showMasks);
    if (image.complete) draw(); else image.addEventListener("load", draw, { once: true });
  }
}

function refresh() {
  const { items, classes } = TUNE_DATA;
  const settings = settingsFromControls(classes);
  const blank = ["box_threshold", "text_threshold", "nms_iou", "min_box_area"].filter(
    (key) => !Number.isFinite(settings[key]),
  );
  if (blank.length) { // an emptied number field: keep showing the last valid filter
    byId("yaml").value = `# no number in ${blank.join(", ")}`;
    return;
  }
  const low = belowFloor(settings, TUNE_DATA.candidate_floor);
  if (low.length) { // the config check refuses these: the GPU stage kept nothing under the floor
    byId("yaml").value =
      `# ${low.join(", ")} below labeling.candidate_floor (${TUNE_DATA.candidate_floor}): ` +
      "the GPU stage kept no candidate under it; lower the floor (a GPU rerun) to go lower";
    return;
  }
  const start = performance.now();
  let labels = filterAll(items, classes, settings);
  const validator = byId("validator").value;
  if (state.hasVerdicts) labels = labels.map((objects, i) => applyVerdicts(objects, items[i].verdicts, validator));
  state.filterMs = performance.now() - start;
  state.labels = labels;
  state.settings = settings;
  const kept = classes.map(() => 0);
  labels.forEach((objects) => objects.forEach((o) => kept[classes.indexOf(o.class)]++));
  const scores = candidateScores(items, classes);
  classes.forEach((label, index) => {
    byId(`kept_${index}`).textContent = kept[index];
    drawHistogram(byId(`hist_${index}`), scores[index], thresholdsFor(settings, label), classColor(index));
  });
  const total = kept.reduce((a, b) => a + b, 0);
  byId("totals").textContent = `${items.length} items, ${total} objects` + verdictTotals(labels);
  byId("timing").textContent = `re-filtered in ${state.filterMs.toFixed(1)} ms`;
  if (items.some((u) => u.truth)) {
    state.evaluation = evaluate(items, labels, classes);
    const e = state.evaluation;
    byId("metrics").innerHTML = "";
    for (const [name, value] of [["precision", e.precision], ["recall", e.recall], ["mAP@0.5", e.map50]]) {
      const b = document.createElement("b");
      b.textContent = `${name} ${value.toFixed(3)}`;
      byId("metrics").append(b);
    }
    drawPrCurves(byId("pr"), e.curves, classes);
  }
  byId("yaml").value = thresholdsYaml(settings, classes);
  drawGallery();
}

function verdictTotals(labels) {
  if (!state.hasVerdicts) return "";
  const all = labels.flat();
  const rejected = all.filter((o) => o.validator && o.validator.rejected).length;
  const unasked = all.filter((o) => !o.validator).length;
  return `; validator: ${rejected} rejected shown, ${unasked} never asked (new at these thresholds)`;
}

function linkRange(key) {
  const range = byId(key), number = byId(key + "_n");
  range.addEventListener("input", () => { number.value = range.value; refresh(); });
  number.addEventListener("input", () => { range.value = number.value; refresh(); });
}

function copyConfig() {
  const text = byId("yaml").value;
  const done = () => { byId("copied").textContent = "copied"; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => fallbackCopy(done));
  } else {
    fallbackCopy(done);
  }
}

function fallbackCopy(done) {
  byId("yaml").select();
  if (document.execCommand("copy")) done();
}

function start() {
  const { dataset, classes, items, thresholds } = TUNE_DATA;
  byId("title").textContent = `dataset ${dataset}: ${items.length} sampled images and frames`;
  byId("paste_where").textContent =
    `Replaces datasets.${dataset}.labeling.thresholds in config/config.yaml; then run snakemake (CPU stages only).`;
  if (!items.some((u) => u.truth)) byId("evaluation").style.display = "none";
  buildClassTable(classes);
  for (const input of document.querySelectorAll("#box_threshold, #box_threshold_n, #text_threshold, #text_threshold_n, [data-key]")) {
    input.min = TUNE_DATA.candidate_floor; // the sliders stop at the floor
  }
  showSettings(thresholds, classes);
  state.hasVerdicts = items.some((u) => u.verdicts);
  if (!state.hasVerdicts) byId("validator_row").style.display = "none";
  byId("validator").value = thresholds.validator || "off";
  byId("validator").addEventListener("input", refresh);
  ["box_threshold", "text_threshold", "nms_iou"].forEach(linkRange);
  for (const id of ["class_agnostic_nms", "min_box_area", "box_from", "track_score"]) {
    byId(id).addEventListener("input", refresh);
  }
  byId("show_masks").addEventListener("input", drawGallery);
  byId("prev").addEventListener("click", () => { state.page = Math.max(0, state.page - 1); drawGallery(); });
  byId("next").addEventListener("click", () => { state.page++; drawGallery(); });
  byId("copy").addEventListener("click", copyConfig);
  refresh();
}

// What tests and the curious can call (tests/test_tune_page.py drives the page through it).
window.tune = {
  data: TUNE_DATA,
  filterAll, labelImage, labelVideo, evaluate, thresholdsYaml, rleCounts, yamlKey, applyVerdicts,
  // Settings go through the controls, as a person's would.
  setSettings(settings) { showSettings(settings, TUNE_DATA.classes); refresh(); },
  settings: () => state.settings,
  labels: () => state.labels,
  evaluation: () => state.evaluation,
  yaml: () => byId("yaml").value,
  filterMs: () => state.filterMs,
  // Median time (ms) of re-filtering `count` units (the sample repeated) with the current settings.
  benchmark(count, repeats) {
    const units = Array.from({ length: count }, (_, i) => TUNE_DATA.items[i % TUNE_DATA.items.length]);
    const times = [];
    for (let r = 0; r < repeats; r++) {
      const start = performance.now();
      filterAll(units, TUNE_DATA.classes, state.settings);
      times.push(performance.now() - start);
    }
    return times.sort((a, b) => a - b)[Math.floor(repeats / 2)];
  },
};

if (TUNE_DATA) start();
