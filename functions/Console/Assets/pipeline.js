// The pipeline page: GET /api/console/pipeline every 1.5 s (the same view as `status`).
import { api, poll, NeedsAdmin } from './api.js';
import { el, num, duration, sparkline, time } from './format.js';

const INTERVAL_MS = 1500;

export function mount(main, { onError, showStatus }) {
  const sections = {
    throughput: el('section', { id: 'throughput', class: 'tiles' }),
    attention: el('section', { id: 'attention' }),
    consumers: el('section', { id: 'consumers-section' }),
    uncalibrated: el('section', { id: 'uncalibrated', class: 'tiles' }),
    deadLetters: el('section', { id: 'dead-letters-section' }),
    ingestErrors: el('section', { id: 'ingest-errors-section' }),
    recalibrations: el('section', { id: 'recalibrations-section' }),
  };
  main.append(el('h2', { text: 'Pipeline' }), ...Object.values(sections));
  let busy = false;

  async function act(button, fn) {
    button.disabled = true;
    busy = true;
    try {
      await fn();
    } catch (e) {
      showStatus(e instanceof NeedsAdmin ? `${button.textContent}: this needs the master key.` : e.message, 'error');
    } finally {
      busy = false;
    }
  }

  function render(view) {
    const t = view.throughput;
    sections.throughput.replaceChildren(
      tile('Readings in', `${num(t.receivedPerSecond)} /s`, 'received-rate', `over the last ${t.windowSeconds} s`),
      tile('Calibrated', `${num(t.calibratedPerSecond)} /s`, 'calibrated-rate', `over the last ${t.windowSeconds} s`),
      tile('Updated', time(view.generatedAt), 'generated-at', ''));

    sections.attention.replaceChildren(...(view.attention.length === 0
      ? [el('p', { class: 'ok', id: 'attention-none', text: 'Nothing needs attention.' })]
      : [el('ul', { id: 'attention-list', class: 'attention' }, view.attention.map((a) =>
          el('li', { class: a.severity }, el('strong', { text: `${a.severity}: ${a.subject} ` }), a.message)))]));

    sections.consumers.replaceChildren(
      el('h3', { text: 'Consumer groups' }),
      table('consumers', ['Function', 'Group / topic', 'Lag vs threshold', 'Oldest', 'Trend', 'Clears in', 'Last 5 min'],
        view.consumers.map((c) => el('tr', { 'data-function': c.function },
          el('td', { text: c.function }),
          el('td', {}, c.group, el('br'), el('span', { class: 'muted', text: c.topic })),
          el('td', { title: (c.partitions ?? []).map((p) => `partition ${p.partition}: lag ${p.lag} (committed ${p.committed ?? 'none'}, end ${p.end})`).join('\n') },
            lagBar(c.lag, c.lagThreshold), ' ', el('span', { class: 'lag', text: `${num(c.lag, 0)} / ${num(c.lagThreshold, 0)}` })),
          el('td', { text: duration(c.lagSeconds) }),
          el('td', { class: c.trendPerSecond > 0 ? 'warn' : '', text: `${c.trendPerSecond > 0 ? '+' : ''}${num(c.trendPerSecond)} /s` }),
          el('td', { text: c.lag === 0 ? 'clear' : c.clearsInSeconds === null ? 'not shrinking' : duration(c.clearsInSeconds) }),
          el('td', {}, sparkline((c.history ?? []).map((h) => h.lag)))))));

    const u = view.uncalibrated;
    sections.uncalibrated.replaceChildren(
      tile('Uncalibrated', num(u.count, 0), 'uncalibrated-count', `resent after ${duration(u.gracePeriodSeconds)}`),
      tile('Oldest uncalibrated', u.count === 0 ? '–' : duration(u.oldestAgeSeconds), 'uncalibrated-age', ''));

    const total = view.deadLetters.reduce((s, d) => s + d.count, 0);
    const replay = el('button', { id: 'replay', disabled: total === 0 || busy, text: 'Replay all' });
    replay.addEventListener('click', () => act(replay, async () => {
      const result = await api('deadletters/replay', { method: 'POST', admin: true });
      showStatus(`Replayed ${result.replayed} dead letter(s).`, 'ok');
    }));
    sections.deadLetters.replaceChildren(
      el('h3', {}, 'Dead letters ', el('span', { id: 'dead-letter-count', class: 'badge', text: String(total) }), ' ', replay),
      table('dead-letters', ['Function', 'Topic', 'Reason', 'Count'], view.deadLetters.map((d) =>
        el('tr', { 'data-function': d.function },
          el('td', { text: d.function }), el('td', { text: d.topic }), el('td', { class: 'reason', text: d.reason }), el('td', { text: num(d.count, 0) })))));

    const ie = view.ingestErrors;
    sections.ingestErrors.replaceChildren(
      el('h3', {}, 'Ingest errors ', el('span', { class: 'muted', text: `(not stored: ${num(ie.notStored, 0)})` })),
      table('ingest-errors', ['Reason', 'Count'], ie.byReason.map((r) => el('tr', {}, el('td', { text: r.reason }), el('td', { text: num(r.count, 0) })))));

    sections.recalibrations.replaceChildren(
      el('h3', { text: 'Recalibration jobs' }),
      table('recalibrations', ['Job', 'Sensor', 'State', 'Progress', ''], view.recalibrations.map((j) => {
        const cancel = el('button', { class: 'cancel', text: 'Cancel', disabled: busy });
        cancel.addEventListener('click', () => act(cancel, async () => {
          await api(`recalibrations/${j.id}`, { method: 'DELETE', admin: true });
          showStatus(`Job ${j.id} cancelled.`, 'ok');
        }));
        return el('tr', { 'data-id': String(j.id), 'data-state': j.state },
          el('td', { text: String(j.id) }),
          el('td', {}, j.sensorId ? el('a', { href: `#/sensors/${encodeURIComponent(j.sensorId)}`, text: j.sensorId }) : 'all sensors'),
          el('td', { class: 'state', text: j.state }),
          el('td', {}, progress(j.percent), ` ${num(j.calibrated, 0)} / ${num(j.total, 0)} (${num(j.percent)}%)`),
          el('td', {}, cancel));
      })));
  }

  return poll(async () => {
    render(await api('console/pipeline'));
    if (!busy) showStatus('live', 'ok');
  }, INTERVAL_MS, onError);
}

function tile(label, value, id, note) {
  return el('div', { class: 'tile' }, el('div', { class: 'label', text: label }), el('div', { class: 'value', id, text: value }), el('div', { class: 'muted', text: note }));
}

function table(id, headings, rows) {
  return el('table', { id },
    el('thead', {}, el('tr', {}, headings.map((h) => el('th', { text: h })))),
    el('tbody', {}, rows.length ? rows : [el('tr', { class: 'empty' }, el('td', { colspan: String(headings.length), class: 'muted', text: 'none' }))]));
}

function lagBar(lag, threshold) {
  const ratio = threshold > 0 ? lag / threshold : 0;
  const bar = el('span', { class: `bar ${ratio >= 1 ? 'over' : ratio >= 0.5 ? 'warn' : ''}`, title: `${Math.round(ratio * 100)}% of the KEDA threshold` });
  bar.append(el('span', { style: `width:${Math.min(100, ratio * 100)}%` }));
  return bar;
}

function progress(percent) {
  return el('progress', { max: '100', value: String(percent ?? 0) });
}
