// What both pages share: the "be a user in …" picker (shown only behind the `--as` front),
// small DOM helpers, and a guard so no failure ever becomes an uncaught console error.

/** Creates an element: el('li', {class: 'x', text: 'hi'}, child, …). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'text') node.textContent = value;
    else if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

/** Writes a message into a status element (an aria-live region). */
export function say(node, text, kind = '') {
  node.textContent = text;
  node.className = `status ${kind}`.trim();
}

/** Runs an async handler; anything it throws is reported in `statusNode`, not the console. */
export function guard(statusNode, fn) {
  return async (...args) => {
    try {
      await fn(...args);
    } catch (e) {
      if (statusNode) say(statusNode, e?.message || String(e), 'bad');
    }
  };
}

/** Fills the `--as` picker in the header when the response came through the front. */
export function showAsPicker(where) {
  const box = document.getElementById('as-picker');
  const select = document.getElementById('as-city');
  if (!box || !select || !where.as || where.choices.length === 0) return;
  select.replaceChildren(
    ...where.choices.map((slug) => el('option', { value: slug, text: slug, selected: slug === where.as })),
  );
  select.addEventListener('change', () => {
    document.cookie = `roam_as=${encodeURIComponent(select.value)}; path=/; Secure; SameSite=Lax`;
    location.reload();
  });
  box.hidden = false;
}
