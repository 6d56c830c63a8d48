// The report's script: draws the timeline, latency and throughput canvases from the data in
// #schism-data (see data.rs for the encoding) and makes operation links focus the timeline.
// Only what is visible is drawn, so that 100,000 operations stay interactive. Errors are
// written into #js-errors and <body data-render>, so that a headless browser can see them.
(function () {
  'use strict';
  var errors = [];
  function fail(msg) {
    errors.push(String(msg));
    var el = document.getElementById('js-errors');
    if (el) { el.hidden = false; el.textContent = 'Script errors:\n' + errors.join('\n'); }
    document.body.setAttribute('data-render', 'error');
  }
  window.addEventListener('error', function (e) { fail(e.message + ' (line ' + e.lineno + ')'); });

  var STRIDE = 8;
  var COLOURS = ['#2e9d4f', '#d0453a', '#e0a020'];
  var OUTCOMES = ['ok', 'fail', 'info'];
  var FAULT_COLOURS = ['rgba(120,90,200,0.16)', 'rgba(40,120,200,0.14)', 'rgba(150,110,60,0.16)',
    'rgba(110,110,130,0.16)', 'rgba(200,90,170,0.14)'];

  function main() {
    var D = JSON.parse(document.getElementById('schism-data').textContent);
    var S = D.strings, O = D.ops, unit = D.unit_ns || 1, span = Math.max(1, D.span || 0);
    var N = Math.floor(O.length / STRIDE);
    var lanes = D.lanes || ['nemesis'];
    var faults = D.faults || [];
    var stats = D.stats || {};
    var byIndex = new Map();
    var perLane = lanes.map(function () { return []; });
    var longOps = [];
    var maxShort = 0;
    var longLimit = span / 50;
    var minLat = Infinity, maxLat = 0;
    // Index and start are encoded as deltas from the previous operation's.
    for (var d = 1; d < N; d++) {
      O[d * STRIDE] += O[(d - 1) * STRIDE];
      O[d * STRIDE + 2] += O[(d - 1) * STRIDE + 2];
    }
    // The second column holds the process; the timeline wants the lane, so keep the process
    // aside and put the lane in its place.
    var laneOf = new Map();
    (D.lane_of || []).forEach(function (pl) { laneOf.set(pl[0], pl[1]); });
    var proc = new Array(N);
    for (var q = 0; q < N; q++) {
      proc[q] = O[q * STRIDE + 1];
      O[q * STRIDE + 1] = laneOf.get(proc[q]) || 0;
    }
    for (var k = 0; k < N; k++) {
      var b = k * STRIDE;
      byIndex.set(O[b], k);
      if (O[b + 7] >= 0) { byIndex.set(O[b] + O[b + 7], k); }
      if (!byIndex.has(O[b])) { byIndex.set(O[b], k); }
      var l = O[b + 1];
      if (perLane[l]) { perLane[l].push(k); }
      if (O[b + 3] > longLimit) { longOps.push(k); } else if (O[b + 3] > maxShort) { maxShort = O[b + 3]; }
      if (O[b + 7] >= 0) {
        var lat = Math.max(O[b + 3] * unit, 1);
        if (lat < minLat) { minLat = lat; }
        if (lat > maxLat) { maxLat = lat; }
      }
    }
    // The invocation's index wins over another operation's completion index.
    for (var j = 0; j < N; j++) { byIndex.set(O[j * STRIDE], j); }
    if (!(minLat < Infinity)) { minLat = 1; maxLat = 10; }
    var marked = (D.marked || []).map(function (i) { return byIndex.get(i); })
      .filter(function (k) { return k !== undefined; });
    if (maxLat <= minLat) { maxLat = minLat * 10; }

    var view = { x0: -span * 0.01, x1: span * 1.01, y0: 0 };
    var selected = -1, hovered = -1;
    var tl = document.getElementById('timeline-canvas');
    var lc = document.getElementById('latency-canvas');
    var tc = document.getElementById('throughput-canvas');
    var details = document.getElementById('op-details');
    var GUTTER = 84, AXIS = 22;
    var laneH = 18;

    function fmtTime(units) {
      var s = units * unit / 1e9;
      var a = Math.abs(s);
      if (a >= 1 || a === 0) { return +s.toFixed(a >= 100 ? 0 : 2) + ' s'; }
      if (a >= 1e-3) { return +(s * 1e3).toFixed(2) + ' ms'; }
      if (a >= 1e-6) { return +(s * 1e6).toFixed(2) + ' µs'; }
      return (s * 1e9).toFixed(0) + ' ns';
    }
    function fmtNs(ns) { return fmtTime(ns / unit); }

    function setup(canvas) {
      var dpr = window.devicePixelRatio || 1;
      var w = Math.max(300, canvas.clientWidth || canvas.parentNode.clientWidth || 800);
      if (!canvas._h) { canvas._h = Number(canvas.getAttribute('height')) || 300; }
      var h = canvas._h;
      canvas.style.height = h + 'px';
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
      canvas._dpr = dpr;
      var ctx = canvas.getContext('2d');
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      return { ctx: ctx, w: w, h: h };
    }
    function xOf(t, w) { return GUTTER + (t - view.x0) / (view.x1 - view.x0) * (w - GUTTER - 8); }
    function tOf(x, w) { return view.x0 + (x - GUTTER) / (w - GUTTER - 8) * (view.x1 - view.x0); }

    function niceStep(range, target) {
      var raw = range / Math.max(1, target);
      var p = Math.pow(10, Math.floor(Math.log10(raw)));
      var m = raw / p;
      return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
    }
    function drawAxis(ctx, w, y) {
      ctx.fillStyle = '#444'; ctx.strokeStyle = '#ccc'; ctx.font = '11px system-ui, sans-serif';
      ctx.textAlign = 'center'; ctx.textBaseline = 'top';
      var step = niceStep(view.x1 - view.x0, (w - GUTTER) / 110);
      var t = Math.ceil(view.x0 / step) * step;
      for (var guard = 0; t <= view.x1 && guard < 200; t += step, guard++) {
        var x = xOf(t, w);
        ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x, y + 4); ctx.stroke();
        ctx.fillText(fmtTime(t), x, y + 5);
      }
    }
    function drawFaults(ctx, w, top, bottom, labels) {
      ctx.textAlign = 'left'; ctx.textBaseline = 'top'; ctx.font = '11px system-ui, sans-serif';
      for (var i = 0; i < faults.length; i++) {
        var f = faults[i];
        var x1 = Math.max(GUTTER, xOf(f[0], w)), x2 = Math.min(w - 8, xOf(f[1], w));
        if (x2 < GUTTER || x1 > w - 8) { continue; }
        var colour = FAULT_COLOURS[f[2] % FAULT_COLOURS.length];
        if (f[4] & 2) {
          ctx.strokeStyle = 'rgba(120,90,200,0.7)';
          ctx.beginPath(); ctx.moveTo(x1, top); ctx.lineTo(x1, bottom); ctx.stroke();
        } else {
          ctx.fillStyle = colour; ctx.fillRect(x1, top, Math.max(1, x2 - x1), bottom - top);
        }
        if (labels && (x2 - x1 > 40 || (f[4] & 2))) {
          ctx.fillStyle = '#4a3a8a';
          // The fault's detail in words (`clock: n1 -111 s`), cut to the band's width.
          var label = S[f[3]] && S[f[3]].indexOf(S[f[2]]) === 0 ? S[f[3]] : S[f[2]] + (S[f[3]] ? ': ' + S[f[3]] : '');
          var room = (f[4] & 2) ? 200 : x2 - x1 - 6;
          while (label.length > 1 && ctx.measureText(label).width > room) { label = label.slice(0, -2) + '…'; }
          ctx.fillText(label, x1 + 3, top + 2);
        }
      }
    }
    // Calls fn(k) for each operation whose bar may intersect [x0, x1] in time.
    function forVisible(fn) {
      var lo = 0, hi = N, from = view.x0 - maxShort;
      while (lo < hi) { var mid = (lo + hi) >> 1; if (O[mid * STRIDE + 2] < from) { lo = mid + 1; } else { hi = mid; } }
      for (var k = lo; k < N; k++) {
        var b = k * STRIDE;
        if (O[b + 2] > view.x1) { break; }
        if (O[b + 3] <= longLimit) { fn(k); }
      }
      for (var i = 0; i < longOps.length; i++) {
        var q = longOps[i] * STRIDE;
        if (O[q + 2] <= view.x1 && O[q + 2] + O[q + 3] >= view.x0) { fn(longOps[i]); }
      }
    }
    function timelineGeometry(h) {
      var avail = h - AXIS - 4;
      laneH = Math.max(6, Math.min(22, Math.floor(avail / Math.max(1, lanes.length))));
      var total = laneH * lanes.length;
      var maxY0 = Math.max(0, total - avail);
      view.y0 = Math.max(0, Math.min(view.y0, maxY0));
      return { avail: avail, maxY0: maxY0 };
    }
    function drawTimeline() {
      var c = setup(tl), ctx = c.ctx, w = c.w, h = c.h;
      var g = timelineGeometry(h);
      ctx.clearRect(0, 0, w, h);
      ctx.save();
      ctx.beginPath(); ctx.rect(0, 0, w, g.avail); ctx.clip();
      ctx.font = '11px system-ui, sans-serif'; ctx.textBaseline = 'middle'; ctx.textAlign = 'right';
      var firstLane = Math.floor(view.y0 / laneH), lastLane = Math.min(lanes.length - 1, Math.ceil((view.y0 + g.avail) / laneH));
      for (var l = firstLane; l <= lastLane; l++) {
        var y = l * laneH - view.y0;
        if (l % 2 === 0) { ctx.fillStyle = '#f7f8fa'; ctx.fillRect(GUTTER, y, w - GUTTER, laneH); }
        if (laneH >= 9) {
          ctx.fillStyle = '#333';
          ctx.fillText(l === 0 ? 'nemesis' : 'p ' + lanes[l], GUTTER - 4, y + laneH / 2, GUTTER - 6);
        }
      }
      drawFaults(ctx, w, 0, g.avail, true);
      var pad = laneH > 8 ? 2 : 1;
      var current = -1;
      forVisible(function (k) {
        var b = k * STRIDE, l = O[b + 1];
        if (l < firstLane || l > lastLane) { return; }
        var x1 = xOf(O[b + 2], w), x2 = xOf(O[b + 2] + O[b + 3], w);
        if (x2 < GUTTER) { return; }
        if (x1 < GUTTER) { x1 = GUTTER; }
        if (O[b + 4] !== current) { current = O[b + 4]; ctx.fillStyle = COLOURS[current] || '#888'; }
        ctx.fillRect(x1, l * laneH - view.y0 + pad, Math.max(1, x2 - x1), laneH - 2 * pad);
      });
      // Operations named by anomalies: outlined, so that they stand out when zoomed out.
      ctx.strokeStyle = '#c0392b'; ctx.lineWidth = 2;
      for (var m = 0; m < marked.length; m++) {
        var mb = marked[m] * STRIDE, ml = O[mb + 1];
        if (ml < firstLane || ml > lastLane) { continue; }
        var mx1 = xOf(O[mb + 2], w), mx2 = xOf(O[mb + 2] + O[mb + 3], w);
        if (mx2 < GUTTER || mx1 > w) { continue; }
        ctx.strokeRect(Math.max(GUTTER, mx1) - 1, ml * laneH - view.y0 + 0.5, Math.max(3, mx2 - mx1) + 2, laneH - 1);
      }
      ctx.lineWidth = 1;
      [hovered, selected].forEach(function (k, n) {
        if (k < 0) { return; }
        var b = k * STRIDE;
        var x1 = xOf(O[b + 2], w), x2 = xOf(O[b + 2] + O[b + 3], w);
        ctx.strokeStyle = n ? '#000' : '#555'; ctx.lineWidth = n ? 2 : 1;
        ctx.strokeRect(Math.max(GUTTER, x1) - 1, O[b + 1] * laneH - view.y0, Math.max(2, x2 - x1) + 2, laneH);
        ctx.lineWidth = 1;
      });
      ctx.restore();
      ctx.fillStyle = '#fff'; ctx.fillRect(0, g.avail, w, h - g.avail);
      drawAxis(ctx, w, g.avail + 2);
    }

    function latY(ns, top, bottom) {
      var a = Math.log(minLat / 1.5), z = Math.log(maxLat * 1.5);
      return bottom - (Math.log(Math.max(ns, 1)) - a) / (z - a) * (bottom - top);
    }
    function drawLatency() {
      var c = setup(lc), ctx = c.ctx, w = c.w, h = c.h, top = 8, bottom = h - AXIS;
      ctx.clearRect(0, 0, w, h);
      drawFaults(ctx, w, top, bottom, true);
      ctx.font = '11px system-ui, sans-serif'; ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
      ctx.strokeStyle = '#eee'; ctx.fillStyle = '#444';
      for (var e = Math.floor(Math.log10(minLat)) - 1; e <= Math.ceil(Math.log10(maxLat)); e++) {
        [1, 2, 5].forEach(function (m) {
          var v = m * Math.pow(10, e), y = latY(v, top, bottom);
          if (y < top + 6 || y > bottom) { return; }
          ctx.beginPath(); ctx.moveTo(GUTTER, y); ctx.lineTo(w - 8, y); ctx.stroke();
          ctx.fillText(fmtNs(v), GUTTER - 4, y);
        });
      }
      var current = -1, dot = N > 20000 ? 2 : N > 2000 ? 3 : 5;
      forVisible(function (k) {
        var b = k * STRIDE;
        if (O[b + 7] < 0) { return; }
        var x = xOf(O[b + 2], w);
        if (x < GUTTER || x > w - 8) { return; }
        if (O[b + 4] !== current) { current = O[b + 4]; ctx.fillStyle = COLOURS[current] || '#888'; }
        ctx.fillRect(x - dot / 2, latY(O[b + 3] * unit, top, bottom) - dot / 2, dot, dot);
      });
      var qs = [['p50_ns', '#1b4f72'], ['p95_ns', '#6c3483'], ['p99_ns', '#000']];
      var bucket = stats.bucket || 1;
      ctx.lineWidth = 1.5;
      qs.forEach(function (q) {
        var series = stats[q[0]] || [];
        ctx.strokeStyle = q[1]; ctx.beginPath();
        var pen = false;
        for (var i = 0; i < series.length; i++) {
          if (series[i] === null) { pen = false; continue; }
          var x = xOf((i + 0.5) * bucket, w), y = latY(series[i], top, bottom);
          if (pen) { ctx.lineTo(x, y); } else { ctx.moveTo(x, y); pen = true; }
        }
        ctx.stroke();
      });
      ctx.lineWidth = 1; ctx.textAlign = 'left'; ctx.textBaseline = 'top';
      ctx.textAlign = 'right';
      qs.forEach(function (q, i) { ctx.fillStyle = q[1]; ctx.fillText(q[0].replace('_ns', ''), w - 12 - 40 * (2 - i), top); });
      drawAxis(ctx, w, bottom + 2);
    }
    function drawThroughput() {
      var c = setup(tc), ctx = c.ctx, w = c.w, h = c.h, top = 8, bottom = h - AXIS;
      ctx.clearRect(0, 0, w, h);
      drawFaults(ctx, w, top, bottom, false);
      var bucket = stats.bucket || 1, secs = (stats.bucket_ns || 1) / 1e9;
      var ok = stats.ok || [], fl = stats.fail || [], inf = stats.info || [];
      var max = 0, i;
      for (i = 0; i < ok.length; i++) { max = Math.max(max, (ok[i] + fl[i] + inf[i]) / secs); }
      if (max <= 0) { max = 1; }
      ctx.font = '11px system-ui, sans-serif'; ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
      ctx.fillStyle = '#444';
      for (var t = 0; t <= 4; t++) {
        var yv = bottom - t / 4 * (bottom - top);
        ctx.fillText((max * t / 4).toFixed(max < 10 ? 1 : 0) + '/s', GUTTER - 4, yv);
      }
      for (i = 0; i < ok.length; i++) {
        var x1 = xOf(i * bucket, w), x2 = xOf((i + 1) * bucket, w);
        if (x2 < GUTTER || x1 > w - 8) { continue; }
        x1 = Math.max(GUTTER, x1);
        var y = bottom;
        [ok[i], fl[i], inf[i]].forEach(function (n, o) {
          var hgt = n / secs / max * (bottom - top);
          ctx.fillStyle = COLOURS[o]; ctx.fillRect(x1, y - hgt, Math.max(1, x2 - x1 - 1), hgt);
          y -= hgt;
        });
      }
      drawAxis(ctx, w, bottom + 2);
    }
    function drawAll() { drawTimeline(); drawLatency(); drawThroughput(); }

    function describe(k) {
      var b = k * STRIDE;
      var lines = ['op ' + O[b] + (O[b + 7] >= 0 ? ' (completed at index ' + (O[b] + O[b + 7]) + ')' : ' (never completed)'),
        'process ' + proc[k] + '  ' + S[O[b + 5]] + '  ' + S[O[b + 6]],
        'outcome ' + OUTCOMES[O[b + 4]] + '  invoked ' + fmtTime(O[b + 2]) + '  latency ' + (O[b + 7] >= 0 ? fmtTime(O[b + 3]) : 'unknown')];
      return lines.join('\n');
    }
    function describeFault(t) {
      var out = [];
      for (var i = 0; i < faults.length; i++) {
        var f = faults[i];
        if (f[0] <= t && t <= f[1]) {
          out.push(S[f[2]] + ' from ' + fmtTime(f[0]) + (f[4] & 1 ? ' (never stopped)' : ' to ' + fmtTime(f[1])) + ': ' + S[f[3]]);
        }
      }
      return out.length ? out.join('\n') : 'No fault active here.';
    }
    function opAt(mx, my) {
      var w = tl.clientWidth, t = tOf(mx, w);
      var l = Math.floor((my + view.y0) / laneH);
      if (l < 1 || l >= lanes.length) { return -1; }
      var list = perLane[l], lo = 0, hi = list.length;
      while (lo < hi) { var mid = (lo + hi) >> 1; if (O[list[mid] * STRIDE + 2] <= t) { lo = mid + 1; } else { hi = mid; } }
      var tol = 3 * (view.x1 - view.x0) / Math.max(1, w - GUTTER);
      for (var i = lo - 1; i >= 0 && i >= lo - 50; i--) {
        var b = list[i] * STRIDE;
        if (O[b + 2] - tol <= t && t <= O[b + 2] + O[b + 3] + tol) { return list[i]; }
      }
      if (lo < list.length && O[list[lo] * STRIDE + 2] - tol <= t) { return list[lo]; }
      return -1;
    }
    function show(k, my, mx) {
      if (k >= 0) { details.textContent = describe(k); return; }
      if (my !== undefined && Math.floor((my + view.y0) / laneH) === 0) { details.textContent = describeFault(tOf(mx, tl.clientWidth)); }
    }

    function zoom(factor, mx, w) {
      var t = tOf(Math.max(GUTTER, mx), w);
      var width = Math.max(1, (view.x1 - view.x0) * factor);
      var frac = (t - view.x0) / (view.x1 - view.x0);
      view.x0 = t - frac * width; view.x1 = view.x0 + width;
      drawAll();
    }
    function attach(canvas, vertical) {
      var drag = null;
      canvas.addEventListener('wheel', function (e) {
        e.preventDefault();
        var r = canvas.getBoundingClientRect();
        zoom(Math.exp(Math.max(-5, Math.min(5, e.deltaY * 0.002))), e.clientX - r.left, r.width);
      }, { passive: false });
      canvas.addEventListener('mousedown', function (e) {
        drag = { x: e.clientX, y: e.clientY, x0: view.x0, x1: view.x1, y0: view.y0, moved: false };
        canvas.classList.add('dragging');
      });
      window.addEventListener('mouseup', function () {
        if (drag) { canvas.classList.remove('dragging'); }
        drag = null;
      });
      canvas.addEventListener('mousemove', function (e) {
        var r = canvas.getBoundingClientRect();
        if (drag) {
          var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
          if (Math.abs(dx) + Math.abs(dy) > 3) { drag.moved = true; }
          var perPx = (drag.x1 - drag.x0) / Math.max(1, r.width - GUTTER - 8);
          view.x0 = drag.x0 - dx * perPx; view.x1 = drag.x1 - dx * perPx;
          if (vertical) { view.y0 = drag.y0 - dy; }
          drawAll();
          return;
        }
        if (vertical) {
          var k = opAt(e.clientX - r.left, e.clientY - r.top);
          if (k !== hovered) { hovered = k; drawTimeline(); }
          show(k, e.clientY - r.top, e.clientX - r.left);
        }
      });
      canvas.addEventListener('click', function (e) {
        if (!vertical) { return; }
        var r = canvas.getBoundingClientRect();
        var k = opAt(e.clientX - r.left, e.clientY - r.top);
        if (k >= 0) { selected = k; show(k); drawTimeline(); }
      });
      canvas.addEventListener('dblclick', function () {
        view.x0 = -span * 0.01; view.x1 = span * 1.01; view.y0 = 0; drawAll();
      });
    }
    attach(tl, true); attach(lc, false); attach(tc, false);

    function focusOp(index) {
      var k = byIndex.get(index);
      var row = document.getElementById('op-' + index);
      if (row && row.tagName !== 'TR') { row = row.closest('tr'); }
      document.querySelectorAll('tr.focused').forEach(function (r) { r.classList.remove('focused'); });
      if (row) { row.classList.add('focused'); }
      if (k === undefined) { details.textContent = 'op ' + index + ' is not in this history.'; return; }
      var b = k * STRIDE, c = O[b + 2] + O[b + 3] / 2;
      var width = Math.max(O[b + 3] * 8, span / 2000, 10);
      view.x0 = c - width / 2; view.x1 = c + width / 2;
      selected = k;
      var g = timelineGeometry(tl._h || 480);
      view.y0 = Math.max(0, Math.min(g.maxY0, O[b + 1] * laneH - g.avail / 2));
      drawAll();
      details.textContent = describe(k);
      tl.scrollIntoView({ block: 'center' });
    }
    document.addEventListener('click', function (e) {
      var a = e.target && e.target.closest ? e.target.closest('a') : null;
      if (!a) { return; }
      var href = a.getAttribute('href') || '';
      var m = /^#op-(\d+)$/.exec(href);
      if (!m) { return; }
      e.preventDefault();
      if (history.replaceState) { history.replaceState(null, '', href); }
      focusOp(Number(m[1]));
    });
    window.addEventListener('resize', drawAll);
    drawAll();
    var initial = /^#op-(\d+)$/.exec(location.hash);
    if (initial) { focusOp(Number(initial[1])); }
    document.body.setAttribute('data-ops', String(N));
    if (location.hash === '#selftest') { selfTest(); }

    // Drives the timeline as a person would (wheel, drag, hover, a link), for the
    // headless-browser test: the outcome goes into <body data-selftest>.
    function selfTest() {
      var problems = [];
      var r = tl.getBoundingClientRect();
      var cx = r.left + r.width / 2, cy = r.top + 10;
      function mouse(type, x, y, target) {
        (target || tl).dispatchEvent(new MouseEvent(type, { clientX: x, clientY: y, bubbles: true, cancelable: true }));
      }
      var width = view.x1 - view.x0;
      tl.dispatchEvent(new WheelEvent('wheel', { deltaY: -300, clientX: cx, clientY: cy, bubbles: true, cancelable: true }));
      if (!(view.x1 - view.x0 < width)) { problems.push('wheel did not zoom in'); }
      var x0 = view.x0;
      mouse('mousedown', cx, cy); mouse('mousemove', cx + 100, cy); mouse('mouseup', cx + 100, cy, window);
      if (!(view.x0 < x0)) { problems.push('drag did not pan'); }
      if (N > 0) {
        var k = Math.floor(N / 2), b = k * STRIDE;
        focusOp(O[b]);
        if (details.textContent.indexOf('op ' + O[b]) !== 0) { problems.push('focusing op ' + O[b] + ' showed: ' + details.textContent); }
        details.textContent = '';
        var hx = r.left + xOf(O[b + 2] + O[b + 3] / 2, r.width);
        var hy = tl.getBoundingClientRect().top + O[b + 1] * laneH - view.y0 + laneH / 2;
        mouse('mousemove', hx, hy);
        if (details.textContent.indexOf('op ') !== 0) { problems.push('hover showed: ' + details.textContent); }
      }
      document.body.setAttribute('data-selftest', problems.length ? 'fail: ' + problems.join('; ') : 'ok');
    }
  }

  try {
    main();
    if (!errors.length) { document.body.setAttribute('data-render', 'ok'); }
  } catch (e) {
    fail(e && e.stack ? e.stack : e);
  }
})();
