// The API docs page: renders /api/v1/openapi.json (operations, parameters, bodies, responses,
// schemas) as plain HTML. No viewer library: the document is small and regular.

import { el, guard, say } from './shell.js';

const status = document.getElementById('status');

/** The last segment of a `$ref`, e.g. `#/components/schemas/User` → `User`. */
export function refName(ref) {
  return ref.split('/').pop();
}

/** A short human form of a schema: `User`, `string (uuid)`, `array of Vehicle`, … */
export function describeSchema(schema) {
  if (!schema) return '';
  if (schema.$ref) return refName(schema.$ref);
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  const type = Array.isArray(schema.type) ? schema.type.join(' or ') : schema.type;
  if (type === 'array') return `array of ${describeSchema(schema.items)}`;
  if (schema.oneOf || schema.anyOf) {
    return (schema.oneOf || schema.anyOf).map(describeSchema).join(' or ');
  }
  return schema.format ? `${type} (${schema.format})` : type || 'object';
}

function resolve(doc, item) {
  if (!item?.$ref) return item;
  return item.$ref
    .replace(/^#\//, '')
    .split('/')
    .reduce((node, key) => node?.[key], doc);
}

function schemaLink(schema) {
  const name = describeSchema(schema);
  return schema?.$ref ? el('a', { href: `#schema-${name}`, text: name }) : el('code', { text: name });
}

function operationCard(doc, path, method, op) {
  const id = `op-${op.operationId}`;
  const card = el('section', { class: 'card', id, 'aria-labelledby': `${id}-h` },
    el('h2', { id: `${id}-h` }, el('code', { text: `${method.toUpperCase()} ${path}` })),
    el('p', { text: op.summary || '' }));
  if (op.security) card.append(el('p', { class: 'badge', text: 'signed in: Authorization: Bearer <token>' }));
  const params = (op.parameters || []).map((p) => resolve(doc, p));
  if (params.length) {
    const rows = params.map((p) => el('tr', {},
      el('td', {}, el('code', { text: p.name })), el('td', { text: p.in }),
      el('td', { text: p.required ? 'yes' : 'no' }), el('td', {}, schemaLink(p.schema)),
      el('td', { text: p.description || '' })));
    card.append(el('div', { class: 'table-wrap' }, el('table', {},
      el('caption', { text: 'Parameters' }),
      el('thead', {}, el('tr', {}, ...['name', 'in', 'required', 'type', 'what'].map((h) => el('th', { scope: 'col', text: h })))),
      el('tbody', {}, ...rows))));
  }
  const body = op.requestBody?.content?.['application/json']?.schema;
  if (body) card.append(el('p', {}, 'Body (application/json): ', schemaLink(body)));
  const rows = Object.entries(op.responses || {}).map(([code, response]) => {
    const r = resolve(doc, response);
    const content = r.content || {};
    const [type, media] = Object.entries(content)[0] || [];
    return el('tr', {}, el('td', { text: code }), el('td', { text: r.description || '' }),
      el('td', {}, media ? schemaLink(media.schema) : el('span', { class: 'muted', text: 'no body' })),
      el('td', { text: type || '' }));
  });
  card.append(el('div', { class: 'table-wrap' }, el('table', {},
    el('caption', { text: 'Responses' }),
    el('thead', {}, el('tr', {}, ...['status', 'when', 'body', 'content type'].map((h) => el('th', { scope: 'col', text: h })))),
    el('tbody', {}, ...rows))));
  return card;
}

function schemaBlock(name, schema) {
  const props = Object.entries(schema.properties || {});
  const required = new Set(schema.required || []);
  const block = el('div', { id: `schema-${name}` }, el('h3', {}, el('code', { text: name })));
  if (schema.description) block.append(el('p', { text: schema.description }));
  if (schema.enum) block.append(el('p', {}, 'One of ', el('code', { text: describeSchema(schema) })));
  if (props.length) {
    block.append(el('div', { class: 'table-wrap' }, el('table', {},
      el('thead', {}, el('tr', {}, ...['field', 'type', 'required', 'what'].map((h) => el('th', { scope: 'col', text: h })))),
      el('tbody', {}, ...props.map(([field, s]) => el('tr', {},
        el('td', {}, el('code', { text: field })), el('td', {}, schemaLink(s)),
        el('td', { text: required.has(field) ? 'yes' : 'no' }), el('td', { text: s.description || '' })))))));
  }
  return block;
}

async function main() {
  const response = await fetch('/api/v1/openapi.json', { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`could not load the document (${response.status})`);
  const doc = await response.json();
  const toc = document.getElementById('toc');
  const list = el('ul', { class: 'items' });
  const operations = document.getElementById('operations');
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const [method, op] of Object.entries(item)) {
      operations.append(operationCard(doc, path, method, op));
      list.append(el('li', {}, el('a', { href: `#op-${op.operationId}`, text: `${method.toUpperCase()} ${path}` })));
    }
  }
  toc.append(el('h2', { text: 'Operations' }), list);
  toc.hidden = false;
  const schemas = document.getElementById('schemas');
  for (const [name, schema] of Object.entries(doc.components?.schemas || {})) {
    schemas.append(schemaBlock(name, schema));
  }
  document.getElementById('schemas-card').hidden = false;
  say(status, `${doc.info?.title} ${doc.info?.version}: ${list.children.length} operations.`, 'good');
}

guard(status, main)().finally(() => {
  document.body.dataset.ready = 'true';
});
