// The vehicle-sharing pages: sign up, log in, vehicles in any city, add a vehicle, start and
// end rides, my rides, log out. Every failure is shown in words; a problem+json `field` is
// shown next to that input.

import { api, ApiError, cities, saveSession, session, whereAmI } from './api.js';
import { el, guard, say, showAsPicker } from './shell.js';

const $ = (id) => document.getElementById(id);
const status = $('status');
let cityList = [];
let detectedCity = null;

const cityName = (slug) => cityList.find((c) => c.slug === slug)?.name ?? slug;

function matchCity(name) {
  const wanted = (name || '').trim().toLowerCase();
  if (!wanted) return null;
  return cityList.find((c) => c.slug === wanted || c.name?.toLowerCase() === wanted
    || (c.aliases ?? []).some((a) => a.toLowerCase() === wanted)) ?? null;
}

function clearErrors(form) {
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  for (const p of form.querySelectorAll('.field-error, .form-error')) p.textContent = '';
}

/** Puts an error next to its field when the problem names one, else under the form. */
function showError(form, error) {
  const input = error.field ? form.querySelector(`[name="${CSS.escape(error.field)}"]`) : null;
  const fieldError = input && $(`${form.id}-${error.field}-error`);
  if (input && fieldError) {
    input.setAttribute('aria-invalid', 'true');
    fieldError.textContent = error.message;
    input.focus();
  } else {
    $(`${form.id}-error`).textContent = error.message;
  }
}

/** A submit handler that clears old errors, disables the button while busy, and reports. */
function onSubmit(form, handler) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    say(status, '');
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      await handler(Object.fromEntries(new FormData(form)));
    } catch (e) {
      if (e instanceof ApiError && e.status === 401 && session()) signedOut('Your session has expired; please log in again.');
      else showError(form, e instanceof ApiError ? e : new ApiError({ detail: String(e?.message ?? e) }));
    } finally {
      button.disabled = false;
    }
  });
}

function optional(value) {
  const v = (value ?? '').trim();
  return v === '' ? undefined : v;
}

function signedOut(message) {
  saveSession(null);
  $('signed-in').hidden = true;
  $('signed-out').hidden = false;
  if (message) say(status, message, 'bad');
}

async function signedIn(current) {
  $('signed-out').hidden = true;
  $('signed-in').hidden = false;
  const { user } = current;
  $('me').textContent = `${user.name} (${user.email}), home city ${cityName(user.city)}.`;
  const select = $('vehicle-city');
  select.value = cityList.some((c) => c.slug === user.city) ? user.city : detectedCity?.slug ?? select.value;
  await Promise.all([loadVehicles(), loadRides()]);
}

function describe(v) {
  const parts = [v.color, v.brand, v.type].filter(Boolean).join(' ');
  return `${parts} at ${v.last_location}`;
}

// The next page's cursor of the list shown, if it has more vehicles.
let nextPage = null;

function vehicleItem(v) {
  return el('li', { 'data-vehicle-id': v.id },
    el('span', { class: 'what', text: describe(v) }),
    el('button', {
      type: 'button', text: 'Start ride', 'aria-label': `Start a ride on the ${describe(v)}`,
      onclick: guard(status, async (event) => {
        const button = event.currentTarget;
        button.disabled = true; // one ride per click, even on a double click
        try {
          await startRide(v);
        } finally {
          button.disabled = false;
        }
      }),
    }));
}

// The first page of the city's available vehicles, or (more) the next page appended.
async function loadVehicles(more = false) {
  const city = $('vehicle-city').value;
  const list = $('vehicles');
  if (!city) {
    list.replaceChildren(el('li', { class: 'status bad', text: 'The list of cities did not load; reload the page to try again.' }));
    return;
  }
  const after = more && nextPage ? `&after=${encodeURIComponent(nextPage)}` : '';
  try {
    const { data, response, ms, timing } = await api('GET', `/api/v1/cities/${encodeURIComponent(city)}/vehicles?status=available${after}`);
    const vehicles = data?.vehicles ?? [];
    nextPage = data?.next ?? null;
    const servedBy = response.headers.get('x-roam-served-by');
    const cache = response.headers.get('x-roam-cache');
    const shown = (more ? list.querySelectorAll('li[data-vehicle-id]').length : 0) + vehicles.length;
    $('vehicles-meta').textContent = `${shown}${nextPage ? '+' : ''} available in ${cityName(city)}`
      + (servedBy ? ` · served by ${servedBy}` : '') + (cache ? ` (cache ${cache})` : '') + ` · ${Math.round(ms)} ms`
      + Object.entries(timing).filter(([, dur]) => dur != null).map(([name, dur]) => `, ${name} ${dur.toFixed(1)} ms`).join('');
    const items = vehicles.map(vehicleItem);
    if (more) list.append(...items); else list.replaceChildren(...items);
    $('vehicles-more').hidden = !nextPage;
    if (shown === 0) list.replaceChildren(el('li', { class: 'muted', text: 'No vehicle is available here right now.' }));
  } catch (e) {
    if (e.status === 401) return signedOut('Your session has expired; please log in again.');
    $('vehicles-meta').textContent = '';
    $('vehicles-more').hidden = true;
    list.replaceChildren(el('li', { class: 'status bad', text: `Could not list vehicles: ${e.message}` }));
  }
}

async function startRide(vehicle) {
  const { data } = await api('POST', `/api/v1/cities/${encodeURIComponent(vehicle.city)}/rides`, { vehicle_id: vehicle.id });
  say(status, `Ride started on the ${describe(vehicle)}.`, 'good');
  await Promise.all([loadVehicles(), loadRides()]);
  $('rides').querySelector(`[data-ride-id="${CSS.escape(data?.id ?? '')}"] input`)?.focus();
}

/** The fare of an ended ride in its currency, or a note that it is still being computed. */
function fareText(ride) {
  if (ride.fare_cents === undefined || ride.fare_cents === null) return 'fare pending';
  const amount = ride.fare_cents / 100;
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency: ride.fare_currency }).format(amount);
  } catch {
    return `${amount.toFixed(2)} ${ride.fare_currency ?? ''}`.trim();
  }
}

function rideItem(ride) {
  const when = new Date(ride.start_time).toLocaleString();
  if (ride.end_time) {
    return el('li', { 'data-ride-id': ride.id, 'data-open': 'false' },
      el('span', { class: 'what', text: `${cityName(ride.city)}: ${ride.start_location} → ${ride.end_location} (${when})` }),
      el('span', { class: 'badge', 'data-fare': ride.fare_cents ?? '', text: fareText(ride) }),
      el('span', { class: 'badge', text: 'ended' }));
  }
  const errorId = `ride-${ride.id}-location-error`;
  const input = el('input', { name: 'location', required: true, 'aria-describedby': errorId });
  const error = el('p', { class: 'field-error', id: errorId });
  const form = el('form', { class: 'inline', novalidate: true },
    el('label', {}, 'Where you left it', input),
    el('button', { type: 'submit', text: 'End ride' }));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    input.removeAttribute('aria-invalid');
    try {
      await api('POST', `/api/v1/cities/${encodeURIComponent(ride.city)}/rides/${encodeURIComponent(ride.id)}/end`, { location: input.value });
      say(status, `Ride ended at ${input.value}.`, 'good');
      await Promise.all([loadRides(), loadVehicles()]);
    } catch (e) {
      input.setAttribute('aria-invalid', 'true');
      error.textContent = e.message;
      input.focus();
    }
  });
  return el('li', { 'data-ride-id': ride.id, 'data-open': 'true' },
    el('span', { class: 'what', text: `${cityName(ride.city)}: riding since ${when} from ${ride.start_location}` }),
    el('span', { class: 'badge ok', text: 'riding' }), form, error);
}

async function loadRides() {
  $('rides-error').textContent = '';
  try {
    const { data } = await api('GET', '/api/v1/me/rides');
    const rides = data?.rides ?? [];
    const open = rides.filter((r) => !r.end_time);
    const ended = rides.filter((r) => r.end_time);
    $('rides').replaceChildren(...[...open, ...ended].map(rideItem));
    if (rides.length === 0) $('rides').replaceChildren(el('li', { class: 'muted', text: 'No rides yet.' }));
  } catch (e) {
    if (e.status === 401) return signedOut('Your session has expired; please log in again.');
    $('rides-error').textContent = `Could not list your rides: ${e.message}`;
  }
}

function wireForms() {
  onSubmit($('signup'), async (f) => {
    const body = { email: f.email.trim(), name: f.name, password: f.password, city: optional(f.city) };
    const { data } = await api('POST', '/api/v1/users', body);
    $('signup').reset();
    $('signup').elements.city.value = detectedCity?.slug ?? '';
    $('login').elements.email.value = data?.email ?? body.email;
    say(status, `Account created for ${data?.email ?? body.email} in ${cityName(data?.city ?? body.city)}. Now log in.`, 'good');
    $('login').elements.password.focus();
  });
  onSubmit($('login'), async (f) => {
    const { data } = await api('POST', '/api/v1/sessions', { email: f.email.trim(), password: f.password });
    saveSession(data);
    $('login').reset();
    say(status, `Welcome, ${data.user.name}.`, 'good');
    await signedIn(data);
    $('me-h').focus?.();
  });
  onSubmit($('add-vehicle'), async (f) => {
    const city = $('vehicle-city').value;
    const body = { type: f.type, last_location: f.last_location, color: optional(f.color), brand: optional(f.brand) };
    const { data } = await api('POST', `/api/v1/cities/${encodeURIComponent(city)}/vehicles`, body);
    $('add-vehicle').reset();
    say(status, `Added the ${describe(data ?? body)} in ${cityName(city)}.`, 'good');
    await loadVehicles();
  });
  $('pick-city').addEventListener('submit', guard(status, async (event) => {
    event.preventDefault();
    await loadVehicles();
  }));
  $('vehicle-city').addEventListener('change', guard(status, () => loadVehicles()));
  $('vehicles-more').addEventListener('click', guard(status, () => loadVehicles(true)));
  $('logout').addEventListener('click', guard(status, async () => {
    try {
      await api('DELETE', '/api/v1/sessions');
    } finally {
      signedOut();
      say(status, 'Logged out.', 'good');
      $('login').elements.email.focus();
    }
  }));
}

async function start() {
  wireForms();
  const [where, list] = await Promise.allSettled([whereAmI(), cities()]);
  cityList = list.status === 'fulfilled' ? list.value : [];
  if (list.status === 'rejected') say(status, `Could not load the cities: ${list.reason.message}`, 'bad');
  if (where.status === 'fulfilled') {
    showAsPicker(where.value);
    detectedCity = matchCity(where.value.pong.city);
  }
  const options = () => cityList.map((c) => el('option', { value: c.slug, text: `${c.name} (${c.region})` }));
  $('signup').elements.city.replaceChildren(el('option', { value: '', text: 'Where I am now' }), ...options());
  $('signup').elements.city.value = detectedCity?.slug ?? '';
  $('vehicle-city').replaceChildren(...options());
  if (detectedCity) $('vehicle-city').value = detectedCity.slug;
  const current = session();
  if (current?.token && new Date(current.expires_at) > new Date()) await signedIn(current);
  else signedOut();
  document.body.dataset.ready = 'true';
}

guard(status, start)();
