// The dashboard's shell: the key prompt, the pages by URL hash, the status line.
import { api, currentKey, saveKey, forgetKey, Unauthorized } from './api.js';
import * as pipeline from './pipeline.js';
import * as sensors from './sensors.js';
import * as sensor from './sensor.js';

const main = document.getElementById('main');
const status = document.getElementById('status');
let unmount = () => {};

function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [page, ...rest] = hash.split('/');
  if (page === 'sensors' && rest.length > 0 && rest[0]) return { page: sensor, name: 'sensors', arg: decodeURIComponent(rest.join('/')) };
  if (page === 'sensors') return { page: sensors, name: 'sensors' };
  return { page: pipeline, name: 'pipeline' };
}

export function showStatus(text, kind = '') {
  status.textContent = text;
  status.className = `status ${kind}`;
}

function onError(e) {
  if (e instanceof Unauthorized) {
    forgetKey();
    prompt('The key was refused; enter a valid key.');
    return;
  }
  showStatus(e.message, 'error');
}

function show() {
  unmount();
  const { page, name, arg } = route();
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.page === name);
  main.replaceChildren();
  main.dataset.page = page === sensor ? 'sensor' : name;
  unmount = page.mount(main, { arg, onError, showStatus }) ?? (() => {});
}

function prompt(message) {
  unmount();
  unmount = () => {};
  main.dataset.page = 'key';
  main.replaceChildren(document.getElementById('key-prompt').content.cloneNode(true));
  document.getElementById('forget-key').hidden = true;
  const error = document.getElementById('key-error');
  error.textContent = message ?? '';
  document.getElementById('key-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    saveKey(document.getElementById('key-input').value.trim());
    await start();
  });
}

// One cheap call tells whether the key (or no key, where none is configured) is accepted.
async function start() {
  try {
    await api('console/sensors?limit=1');
  } catch (e) {
    if (e instanceof Unauthorized) {
      const had = currentKey() !== '';
      forgetKey();
      prompt(had ? 'That key was refused.' : '');
      return;
    }
    showStatus(e.message, 'error');
  }
  document.getElementById('forget-key').hidden = currentKey() === '';
  show();
}

document.getElementById('forget-key').addEventListener('click', () => { forgetKey(); prompt(''); });
window.addEventListener('hashchange', () => { if (main.dataset.page !== 'key') show(); });
start();
