// Sensors & devices: searched and paged on the server (GET /api/console/sensors, /api/console/devices).
import { api } from './api.js';
import { el, num, ago } from './format.js';

const PAGE = 50;

export function mount(main, { onError, showStatus }) {
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const search = el('input', { id: 'search', type: 'search', placeholder: 'Search sensors and devices by id', value: params.get('search') ?? '' });
  const sensorsBox = el('section', { id: 'sensors-section' });
  const devicesBox = el('section', { id: 'devices-section' });
  main.append(el('h2', { text: 'Sensors & devices' }), el('div', { class: 'toolbar' }, search), sensorsBox, devicesBox);
  let sensorOffset = 0;
  let deviceOffset = 0;
  let stopped = false;
  let generation = 0;

  async function load() {
    const mine = ++generation;
    const q = encodeURIComponent(search.value.trim());
    try {
      const [s, d] = await Promise.all([
        api(`console/sensors?search=${q}&offset=${sensorOffset}&limit=${PAGE}`),
        api(`console/devices?search=${q}&offset=${deviceOffset}&limit=${PAGE}`),
      ]);
      if (stopped || mine !== generation) return;
      sensorsBox.replaceChildren(
        el('h3', {}, 'Sensors ', el('span', { id: 'sensor-total', class: 'badge', text: String(s.total) })),
        list('sensors', ['Sensor', 'Device', 'Latest raw', 'Latest calibrated', 'Version', 'Last reading', ''], s.items.map((x) =>
          el('tr', { 'data-sensor': x.sensorId, class: x.silent ? 'silent' : '' },
            el('td', {}, el('a', { href: `#/sensors/${encodeURIComponent(x.sensorId)}`, text: x.sensorId })),
            el('td', { text: x.deviceId ?? '–' }),
            el('td', { class: 'num', text: rawText(x) }),
            el('td', { class: 'num', text: num(x.latestCalibrated, 3) }),
            el('td', { class: 'num', text: x.calibrationVersion === 0 ? 'none' : `v${x.calibrationVersion}` }),
            el('td', { title: x.lastRecordedAt ?? '', text: x.lastReceivedAt ? ago(x.lastReceivedAt) : 'never' }),
            el('td', {}, x.silent ? el('span', { class: 'badge silent', text: 'silent' }) : '')))),
        pager(s, sensorOffset, (o) => { sensorOffset = o; load(); }));
      devicesBox.replaceChildren(
        el('h3', {}, 'Devices ', el('span', { id: 'device-total', class: 'badge', text: String(d.total) })),
        list('devices', ['Device', 'Name', 'Firmware', 'Credentials', 'Sensors', 'Last seen', ''], d.items.map((x) =>
          el('tr', { 'data-device': x.deviceId, class: x.silent ? 'silent' : '' },
            el('td', { text: x.deviceId }), el('td', { text: x.displayName ?? '' }), el('td', { text: x.firmware ?? '' }),
            el('td', { text: x.credentialState }), el('td', { class: 'num', text: String(x.sensors) }),
            el('td', { text: ago(x.lastSeenAt) }),
            el('td', {}, x.silent ? el('span', { class: 'badge silent', text: 'silent' }) : '')))),
        pager(d, deviceOffset, (o) => { deviceOffset = o; load(); }));
      showStatus(`silent: nothing for ${Math.round(s.silentAfterSeconds / 60)} min`, '');
    } catch (e) {
      onError(e);
    }
  }

  let debounce;
  search.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => { sensorOffset = 0; deviceOffset = 0; load(); }, 250);
  });
  load();
  const refresh = setInterval(load, 10_000);
  return () => { stopped = true; clearInterval(refresh); clearTimeout(debounce); };
}

function list(id, headings, rows) {
  return el('table', { id },
    el('thead', {}, el('tr', {}, headings.map((h) => el('th', { text: h })))),
    el('tbody', {}, rows.length ? rows : [el('tr', { class: 'empty' }, el('td', { colspan: String(headings.length), class: 'muted', text: 'none' }))]));
}

function pager(page, offset, go) {
  if (page.total <= page.limit) return el('span');
  const last = Math.max(0, Math.floor((page.total - 1) / page.limit) * page.limit);
  return el('div', { class: 'pager' },
    el('button', { disabled: offset === 0, onclick: () => go(Math.max(0, offset - page.limit)), text: '‹ Previous' }),
    ` ${offset + 1}–${Math.min(page.total, offset + page.limit)} of ${page.total} `,
    el('button', { disabled: offset >= last, onclick: () => go(Math.min(last, offset + page.limit)), text: 'Next ›' }));
}

// The raw value as sent; its unit shown when it is not degrees Celsius (older firmware's hundredths).
const UNITS = { cdegF: '(0.01 °F)', cdegC: '(0.01 °C)' };
function rawText(x) {
  const value = num(x.latestRaw, 3);
  return x.latestRaw == null || !UNITS[x.latestRawUnit] ? value : `${value} ${UNITS[x.latestRawUnit]}`;
}
