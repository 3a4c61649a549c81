// The viewer's one script, progressive enhancement only: every page is complete without it and
// the server checks everything again. It starts NHS.UK frontend's components (tabs, radios)
// and checks an NHS number as it is typed (Modulus 11), saying what is wrong beside the field.
/* global document */
import { initAll } from './nhsuk-frontend.min.js';

initAll();

const WEIGHTS = [10, 9, 8, 7, 6, 5, 4, 3, 2];

function nhsNumberProblem(raw) {
  const compact = raw.replace(/[\s-]/g, '');
  if (!compact) return '';
  if (!/^\d+$/.test(compact)) return 'NHS number must only include numbers 0 to 9';
  if (compact.length < 10) return '';
  if (compact.length > 10) return 'NHS number must be 10 digits';
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(compact[i]) * WEIGHTS[i];
  const check = (11 - (sum % 11)) % 11;
  return check === 10 || check !== Number(compact[9]) ? 'This is not a valid NHS number. Check it and enter it again' : '';
}

const input = document.querySelector('[data-nhs-number-check]');
const hint = document.getElementById('nhsNumber-live');
if (input && hint) {
  input.addEventListener('input', () => {
    hint.textContent = nhsNumberProblem(input.value);
  });
}
