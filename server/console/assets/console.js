// The console's one script, progressive enhancement only: every page is complete without it.
// It starts GOV.UK Frontend's components and, on the dashboard, swaps in the live figures the
// engine pushes with Server-Sent Events (rendered on the server, as on page load).
/* global document, window, EventSource, setTimeout */
import { initAll } from './govuk-frontend.min.js';

initAll();

const live = document.querySelector('[data-live-source]');
const status = document.querySelector('[data-live-status]');
if (live && status && 'EventSource' in window) {
  const source = new EventSource(live.getAttribute('data-live-source'));
  let shown;
  let waiting;
  // Never pull the focus out from under someone tabbing through the figures: an update that
  // comes while the focus is inside waits until it leaves.
  const focusInside = () => live.contains(document.activeElement) && document.activeElement !== live;
  const show = (html) => {
    if (html !== shown) live.innerHTML = html;
    shown = html;
    waiting = undefined;
  };
  live.addEventListener('focusout', () => {
    setTimeout(() => {
      if (waiting !== undefined && !focusInside()) show(waiting);
    }, 0);
  });
  source.addEventListener('dashboard', (event) => {
    if (focusInside()) waiting = event.data;
    else show(event.data);
    status.textContent = `Live: updated ${new Date().toISOString().slice(11, 19)} UTC.`;
    status.setAttribute('data-live', 'on');
  });
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED) {
      status.textContent = 'Live updates stopped. Refresh the page.';
      status.setAttribute('data-live', 'off');
    }
  });
}
