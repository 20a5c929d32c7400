// One sensor: raw (converted to °C from its unit) and calibrated values on one uPlot chart (downsampled on the server to the
// chart's width), calibration versions marked on the time axis, a form adding a version whose
// recalibration job is followed live.
import uPlot from './uPlot.esm.js';
import { api, poll, NeedsAdmin } from './api.js';
import { el, num, time } from './format.js';

const RANGES = [['1 h', 3600], ['6 h', 21600], ['1 day', 86400], ['7 days', 604800], ['30 days', 2592000], ['1 year', 31536000]];
const FINISHED = new Set(['completed', 'cancelled', 'failed']);

export function mount(main, { arg: sensorId, onError, showStatus }) {
  const summary = el('p', { id: 'series-summary', class: 'muted', text: 'Loading…' });
  const chartBox = el('div', { id: 'chart', class: 'chart' });
  const fromInput = el('input', { id: 'range-from', type: 'text', size: '22', placeholder: 'from (ISO-8601)' });
  const toInput = el('input', { id: 'range-to', type: 'text', size: '22', placeholder: 'to (ISO-8601)' });
  const versionsBox = el('section', { id: 'versions-section' });
  const job = el('div', { id: 'job', class: 'job' });
  let chart = null;
  let end = null;
  let stopJob = () => {};
  let stopped = false;

  const rangeButtons = RANGES.map(([label, seconds]) => el('button', {
    class: 'range', text: label,
    onclick: () => {
      const to = end ?? new Date();
      fromInput.value = new Date(to.getTime() - seconds * 1000).toISOString();
      toInput.value = to.toISOString();
      load();
    },
  }));

  const form = el('form', { id: 'calibration-form', class: 'inline-form' },
    el('label', {}, 'Gain ', el('input', { id: 'cal-gain', name: 'gain', type: 'number', step: 'any', required: true, value: '1' })),
    el('label', {}, 'Offset ', el('input', { id: 'cal-offset', name: 'offset', type: 'number', step: 'any', required: true, value: '0' })),
    el('label', {}, 'Valid from ', el('input', { id: 'cal-valid-from', name: 'validFrom', type: 'text', size: '22', required: true, placeholder: '2026-01-01T00:00:00Z' })),
    el('button', { type: 'submit', id: 'cal-submit', text: 'Add version' }));
  form.addEventListener('submit', (event) => { event.preventDefault(); addVersion(); });

  main.append(
    el('h2', {}, el('a', { href: '#/sensors', text: 'Sensors' }), ' / ', el('span', { id: 'sensor-id', text: sensorId })),
    el('div', { class: 'toolbar' }, rangeButtons, ' ', fromInput, ' – ', toInput, ' ', el('button', { text: 'Show', onclick: () => load() })),
    summary, chartBox,
    el('section', {}, el('h3', { text: 'Add a calibration version' }), form, job),
    versionsBox);

  async function load() {
    const width = Math.max(300, chartBox.clientWidth || main.clientWidth || 800);
    const q = new URLSearchParams({ points: String(Math.round(width)) });
    if (fromInput.value.trim()) q.set('from', fromInput.value.trim());
    if (toInput.value.trim()) q.set('to', toInput.value.trim());
    try {
      const s = await api(`console/sensors/${encodeURIComponent(sensorId)}/series?${q}`);
      if (stopped) return;
      // The range ends just after the newest reading (to is exclusive; a Date keeps milliseconds only).
      if (end === null) end = new Date(Date.parse(s.to) + 1);
      if (!fromInput.value) fromInput.value = s.from;
      if (!toInput.value) toInput.value = s.to;
      if (!form.validFrom.value) form.validFrom.value = s.from;
      draw(s, width);
      summary.textContent = s.source === 'points'
        ? `${s.readings} reading${s.readings === 1 ? '' : 's'}, every one shown`
        : `${s.readings} readings in ${s.times.length} buckets of ${s.bucketSeconds} s (${s.source === 'readings' ? 'from the readings' : `calibrated from the ${s.source} rollups`})`;
      summary.dataset.points = String(s.times.length);
      versionsBox.replaceChildren(el('h3', { text: 'Calibration versions' }),
        el('table', { id: 'versions' },
          el('thead', {}, el('tr', {}, ['Version', 'Valid from', 'Gain', 'Offset'].map((h) => el('th', { text: h })))),
          el('tbody', {}, s.versions.map((v) => el('tr', { 'data-version': String(v.version) },
            el('td', { text: `v${v.version}` }), el('td', { text: time(v.validFrom) }), el('td', { text: num(v.gain, 6) }), el('td', { text: num(v.offset, 6) }))))));
      showStatus('', '');
    } catch (e) {
      onError(e);
    }
  }

  function draw(s, width) {
    const bucketed = s.source !== 'points';
    const data = [s.times, s.raw, s.calibrated];
    const series = [
      { label: 'time' },
      { label: bucketed ? 'raw °C (avg)' : 'raw °C', stroke: '#d9822b', width: 1.5, points: { show: !bucketed && s.times.length < 200 } },
      { label: bucketed ? 'calibrated (avg)' : 'calibrated', stroke: '#1f6feb', width: 1.5, points: { show: !bucketed && s.times.length < 200 } },
    ];
    const bands = [];
    if (bucketed) {
      data.push(s.rawMin, s.rawMax, s.calibratedMin, s.calibratedMax);
      series.push(
        { label: 'raw min', stroke: 'rgba(217,130,43,0.35)', width: 1 },
        { label: 'raw max', stroke: 'rgba(217,130,43,0.35)', width: 1 },
        { label: 'calibrated min', stroke: 'rgba(31,111,235,0.35)', width: 1 },
        { label: 'calibrated max', stroke: 'rgba(31,111,235,0.35)', width: 1 });
      bands.push({ series: [4, 3], fill: 'rgba(217,130,43,0.12)' }, { series: [6, 5], fill: 'rgba(31,111,235,0.12)' });
    }
    const opts = {
      width, height: 360, series, bands,
      scales: { x: { time: true, range: () => [Date.parse(s.from) / 1000, Date.parse(s.to) / 1000] } },
      plugins: [versionMarkers(s.versions)],
    };
    chart?.destroy();
    chart = new uPlot(opts, data, chartBox);
    // The tests (and anyone curious, in the devtools) read what is drawn from here.
    window.sensorChart = chart;
  }

  async function addVersion() {
    const submit = document.getElementById('cal-submit');
    submit.disabled = true;
    stopJob();
    try {
      const body = { gain: Number(form.gain.value), offset: Number(form.offset.value), validFrom: form.validFrom.value.trim() };
      const result = await api(`sensors/${encodeURIComponent(sensorId)}/calibration`, { method: 'PUT', body, admin: true });
      job.replaceChildren(el('p', { id: 'added-version', text: `Version ${result.version.version} stored.` }));
      if (result.recalibration) follow(result.recalibration.id);
      else load();
    } catch (e) {
      job.replaceChildren(el('p', { class: 'error', text: e instanceof NeedsAdmin ? 'Adding a version needs the master key.' : e.message }));
    } finally {
      submit.disabled = false;
    }
  }

  function follow(id) {
    const line = el('div', { id: 'job-progress', 'data-id': String(id) });
    job.append(line);
    stopJob = poll(async () => {
      const j = await api(`recalibrations/${id}`);
      line.dataset.state = j.state;
      line.dataset.percent = String(j.percent);
      line.replaceChildren(
        `Recalibration job ${j.id}: `, el('span', { class: 'state', text: j.state }), ' ',
        el('progress', { max: '100', value: String(j.percent) }),
        ` ${num(j.percent)}% (${num(j.calibrated, 0)} of ${num(j.total, 0)} readings)`);
      if (FINISHED.has(j.state)) { stopJob(); load(); }
    }, 1000, onError);
  }

  load();
  const resize = () => chart?.setSize({ width: Math.max(300, chartBox.clientWidth), height: 360 });
  window.addEventListener('resize', resize);
  return () => { stopped = true; stopJob(); chart?.destroy(); window.removeEventListener('resize', resize); };
}

/** A uPlot plugin: a dashed line and "vN" at each calibration version's validFrom. */
function versionMarkers(versions) {
  return {
    hooks: {
      draw: (u) => {
        const { ctx, bbox } = u;
        ctx.save();
        ctx.strokeStyle = '#8250df';
        ctx.fillStyle = '#8250df';
        ctx.setLineDash([4, 4]);
        ctx.font = `${Math.round(11 * devicePixelRatio)}px sans-serif`;
        for (const v of versions) {
          const t = Date.parse(v.validFrom) / 1000;
          if (t < u.scales.x.min || t > u.scales.x.max) continue;
          const x = Math.round(u.valToPos(t, 'x', true));
          ctx.beginPath();
          ctx.moveTo(x, bbox.top);
          ctx.lineTo(x, bbox.top + bbox.height);
          ctx.stroke();
          ctx.fillText(`v${v.version}`, x + 3, bbox.top + 12 * devicePixelRatio);
        }
        ctx.restore();
      },
    },
  };
}
