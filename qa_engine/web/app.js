// qa-engine chat page: vanilla JS, no build step. Talks to /v1/ask and /v1/documents/{id}/text.
// Every piece of server text goes through textContent (never innerHTML), so filings cannot inject markup.
"use strict";

const STRINGS = {
  zh: {
    title: "财报问答",
    newChat: "新对话",
    apiKeyLabel: "API 密钥",
    save: "保存",
    apiKeyHint: "服务器要求 API 密钥；它只保存在本浏览器中。",
    intro: "就已索引的财报提问，每个答案都附有可核对的原文引用。",
    examples: "示例问题：",
    placeholder: "输入问题，按 Enter 提问（Shift+Enter 换行）",
    ask: "提问",
    thinking: "正在检索与阅读…",
    notFound: "未在已索引的文件中找到答案",
    closest: "最接近的段落：",
    sources: "引用来源：",
    confidence: "置信度",
    resolved: "理解为：",
    page: "第 {n} 页",
    loadingPassage: "正在加载原文…",
    unauthorized: "需要有效的 API 密钥，请在上方填写后重试。",
    error: "出错了：",
    toggle: "EN",
  },
  en: {
    title: "Filing Q&A",
    newChat: "New chat",
    apiKeyLabel: "API key",
    save: "Save",
    apiKeyHint: "This server requires an API key; it is stored only in this browser.",
    intro: "Ask about the indexed filings; every answer cites a verifiable passage.",
    examples: "Try:",
    placeholder: "Ask a question, Enter to send (Shift+Enter for a new line)",
    ask: "Ask",
    thinking: "Searching and reading…",
    notFound: "Not found in the indexed filings",
    closest: "Closest passages:",
    sources: "Sources:",
    confidence: "confidence",
    resolved: "Understood as: ",
    page: "p. {n}",
    loadingPassage: "Loading passage…",
    unauthorized: "A valid API key is required: enter it above and try again.",
    error: "Error: ",
    toggle: "中文",
  },
};

// Each example is asked in tests/api/test_browser.py and its answer checked: keep them answered right.
const EXAMPLES = [
  "为什么有研新材2024年稀土材料毛利率为负？",
  "北方稀土的证券代码是多少？",
  "Which company supplies China Northern Rare Earth with rare-earth concentrate?",
];
const CELL_SEPARATOR = " │ "; // a table row shown inline: cells apart, not a run of numbers

const KEY_STORAGE = "qa-engine.apiKey";
const LANG_STORAGE = "qa-engine.lang";
const MAX_HISTORY_TURNS = 20;

const state = {
  lang: initialLang(),
  turns: [], // {question, answer?, error?, pending?}
  history: [], // [{role, content}] sent with each question
  passageRequest: 0, // only the latest passage request may fill the viewer
};

const $ = (id) => document.getElementById(id);

function initialLang() {
  const saved = localStorage.getItem(LANG_STORAGE);
  if (saved === "zh" || saved === "en") return saved;
  return (navigator.language || "zh").toLowerCase().startsWith("zh") ? "zh" : "en";
}

function t(key, vars) {
  let text = STRINGS[state.lang][key] ?? key;
  for (const [name, value] of Object.entries(vars || {})) text = text.replace(`{${name}}`, String(value));
  return text;
}

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

// ---- API ---------------------------------------------------------------------------------

function authHeaders() {
  const key = localStorage.getItem(KEY_STORAGE);
  return key ? { Authorization: `Bearer ${key}` } : {};
}

async function api(path, options = {}) {
  const headers = { ...authHeaders(), ...(options.headers || {}) };
  const response = await fetch(path, { ...options, headers });
  const body = await response.json().catch(() => null);
  if (response.status === 401) showKeyBox(true);
  if (!response.ok) {
    const err = new Error(body?.error?.message || `HTTP ${response.status}`);
    err.status = response.status;
    throw err;
  }
  return body;
}

function askQuestion(question) {
  return api("/v1/ask", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ question, history: state.history.slice(-MAX_HISTORY_TURNS) }),
  });
}

function fetchPassage(docId, start, end) {
  const query = new URLSearchParams({ start, end, context: 600 });
  return api(`/v1/documents/${encodeURIComponent(docId)}/text?${query}`);
}

// ---- static UI text, language, API key --------------------------------------------------

function applyLanguage() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.title = `qa-engine · ${t("title")}`;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  $("lang-toggle").textContent = t("toggle");
  renderLog();
}

function showKeyBox(required) {
  $("api-key-box").hidden = !required && !localStorage.getItem(KEY_STORAGE);
  $("api-key").value = localStorage.getItem(KEY_STORAGE) || "";
}

async function detectAuth() {
  try {
    const health = await (await fetch("/healthz")).json();
    showKeyBox(Boolean(health.auth_required));
  } catch {
    showKeyBox(false);
  }
}

// ---- rendering ---------------------------------------------------------------------------

function renderLog() {
  const log = $("log");
  for (const node of [...log.querySelectorAll(".turn")]) node.remove();
  $("empty").hidden = state.turns.length > 0;
  for (const turn of state.turns) log.append(renderUser(turn.question), renderAssistant(turn));
  log.scrollTop = log.scrollHeight;
}

function renderUser(question) {
  return el("div", { class: "turn user" }, el("div", { class: "bubble", text: question }));
}

function renderAssistant(turn) {
  const bubble = el("div", { class: "bubble" });
  if (turn.pending) bubble.append(el("p", { class: "thinking", text: t("thinking") }));
  else if (turn.error) bubble.append(el("p", { class: "error", text: turn.error }));
  else if (turn.answer.found) bubble.append(...renderFound(turn.answer));
  else bubble.append(...renderNotFound(turn.answer));
  return el("div", { class: "turn assistant" }, bubble);
}

function renderFound(answer) {
  const parts = [];
  if (answer.resolved_question && answer.resolved_question !== answer.question) {
    parts.push(el("p", { class: "resolved", text: t("resolved") + answer.resolved_question }));
  }
  parts.push(el("p", { class: "answer", "data-found": "true" },
    ...highlightIn(inlineRow(answer.sentence), inlineRow(answer.text))));
  const pct = Math.round((answer.confidence || 0) * 100);
  parts.push(el("p", { class: "confidence", text: `${t("confidence")} ${pct}%` }));
  if (answer.citations.length) {
    parts.push(el("p", { class: "section-title", text: t("sources") }));
    parts.push(citationList(answer.citations.map((c) => ({ ...c, snippet: c.quote }))));
  }
  return parts;
}

function renderNotFound(answer) {
  const parts = [el("p", { class: "answer not-found", "data-found": "false", text: t("notFound") })];
  const hits = (answer.hits || []).slice(0, 3);
  if (hits.length) {
    parts.push(el("p", { class: "section-title", text: t("closest") }));
    parts.push(citationList(hits.map((h) => ({ ...h, snippet: h.text }))));
  }
  return parts;
}

// The sentence as text nodes, with the answer span wrapped in <mark class="answer-span">.
function highlightIn(sentence, span) {
  const mark = (text) => el("mark", { class: "answer-span", text });
  if (!sentence) return [mark(span)];
  const at = span ? sentence.indexOf(span) : -1;
  if (at < 0) return [document.createTextNode(sentence + " "), mark(span)];
  return [
    document.createTextNode(sentence.slice(0, at)),
    mark(span),
    document.createTextNode(sentence.slice(at + span.length)),
  ];
}

function citationList(items) {
  const list = el("ol", { class: "citations" });
  items.forEach((item, i) => list.append(el("li", {}, citationCard(item, i + 1))));
  return list;
}

// Tabs separate a table row's cells in the canonical text.
function inlineRow(text) {
  return text == null ? text : text.split("\t").join(CELL_SEPARATOR);
}

function citationCard(item, n) {
  const meta = [item.company, t("page", { n: item.page }), item.section].filter(Boolean).join(" · ");
  const snippet = inlineRow(item.snippet || "").slice(0, 140);
  return el(
    "button",
    { class: "citation-card", type: "button", "data-doc-id": item.doc_id, onclick: () => openPassage(item) },
    el("span", { class: "card-num", text: `[${n}]` }),
    el("span", { class: "card-title", text: item.title || item.doc_id }),
    el("span", { class: "card-meta", text: meta }),
    el("span", { class: "card-snippet", text: snippet }),
  );
}

// ---- passage viewer ----------------------------------------------------------------------

async function openPassage(item) {
  const request = ++state.passageRequest;
  const viewer = $("passage-viewer");
  viewer.hidden = false;
  viewer.dataset.docId = item.doc_id;
  viewer.dataset.start = item.start;
  $("passage-title").textContent = item.title || item.doc_id;
  $("passage-meta").textContent = [item.company, t("page", { n: item.page }), item.section].filter(Boolean).join(" · ");
  const body = $("passage-text");
  body.replaceChildren(el("p", { class: "thinking", text: t("loadingPassage") }));
  try {
    const passage = await fetchPassage(item.doc_id, item.start, item.end);
    if (request !== state.passageRequest) return; // a later answer or click took the viewer over
    body.replaceChildren(...passageNodes(passage));
    body.querySelector(".quote")?.scrollIntoView({ block: "center" });
  } catch (err) {
    if (request === state.passageRequest) body.replaceChildren(el("p", { class: "error", text: t("error") + err.message }));
  }
}

// The viewer shows the source of the latest answer: a new answer replaces the passage, or closes the viewer
// when it has nothing to cite.
function followLatestAnswer(answer) {
  if ($("passage-viewer").hidden) return;
  const citation = answer && answer.found ? answer.citations[0] : null;
  if (citation) openPassage(citation);
  else {
    state.passageRequest += 1;
    $("passage-viewer").hidden = true;
  }
}

// The passage as text with the quote marked; runs of table rows (tab-separated cells) become tables with their
// header row (repeated from the table's start when the window begins inside it) and unit line.
function passageNodes(passage) {
  const { text, highlight } = passage;
  const nodes = [];
  if (passage.offset > 0) nodes.push(el("span", { class: "ellipsis", text: "… " }));
  let rows = [];
  let position = 0;
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    const start = position;
    position += line.length + 1;
    if (line.includes("\t")) {
      rows.push({ line, start, first: i > 0 && rows.length === 0 });
      return;
    }
    if (rows.length) nodes.push(tableNode(rows, passage));
    rows = [];
    nodes.push(...markedText(i < lines.length - 1 ? line + "\n" : line, start, highlight));
  });
  if (rows.length) nodes.push(tableNode(rows, passage));
  if (passage.offset + text.length < passage.total_chars) nodes.push(el("span", { class: "ellipsis", text: " …" }));
  return nodes;
}

function markedText(text, offset, highlight) {
  const from = Math.max(0, Math.min(text.length, highlight.start - offset));
  const to = Math.max(from, Math.min(text.length, highlight.end - offset));
  const nodes = [];
  if (from > 0) nodes.push(document.createTextNode(text.slice(0, from)));
  if (to > from) nodes.push(el("mark", { class: "quote", text: text.slice(from, to) }));
  if (to < text.length) nodes.push(document.createTextNode(text.slice(to)));
  return nodes;
}

function tableNode(rows, passage) {
  const { highlight } = passage;
  const known = passage.table; // header row and unit of the quoted row's table
  const quoted = (row) => row.start <= highlight.start && highlight.start <= row.start + row.line.length;
  const holdsQuote = rows.some(quoted);
  const table = el("table", { class: "passage-table" });
  const startsHere = rows.length > 1 && (rows[0].first || (known && rows[0].line === known.header));
  if (holdsQuote && known && known.unit) table.append(el("caption", { text: known.unit }));
  if (startsHere) table.append(el("thead", {}, rowNode(rows.shift().line, "th")));
  else if (holdsQuote && known) table.append(el("thead", {}, rowNode(known.header, "th", "repeated")));
  const body = el("tbody");
  for (const row of rows) body.append(rowNode(row.line, "td", quoted(row) && highlight.end > highlight.start ? "quote" : ""));
  table.append(body);
  return table;
}

function rowNode(line, cell, cls) {
  const tr = el("tr", cls ? { class: cls } : {});
  for (const value of line.split("\t")) tr.append(el(cell, { text: value }));
  return tr;
}

// ---- asking ------------------------------------------------------------------------------

async function onSubmit(event) {
  event.preventDefault();
  const input = $("question");
  const question = input.value.trim();
  if (!question) return;
  input.value = "";
  const turn = { question, pending: true };
  state.turns.push(turn);
  renderLog();
  $("ask-button").disabled = true;
  try {
    turn.answer = await askQuestion(question);
    const reply = turn.answer.found ? turn.answer.sentence || turn.answer.text : t("notFound");
    state.history.push({ role: "user", content: question }, { role: "assistant", content: reply });
    followLatestAnswer(turn.answer);
  } catch (err) {
    turn.error = err.status === 401 ? t("unauthorized") : t("error") + err.message;
  } finally {
    turn.pending = false;
    $("ask-button").disabled = false;
    renderLog();
    input.focus();
  }
}

function newChat() {
  state.turns = [];
  state.history = [];
  state.passageRequest += 1;
  $("passage-viewer").hidden = true;
  renderLog();
}

function renderExamples() {
  const list = $("examples");
  for (const question of EXAMPLES) {
    const ask = () => {
      if ($("ask-button").disabled) return;
      $("question").value = question;
      $("ask-form").requestSubmit();
    };
    list.append(el("li", {}, el("button", { type: "button", class: "example", text: question, onclick: ask })));
  }
}

function init() {
  renderExamples();
  $("ask-form").addEventListener("submit", onSubmit);
  $("question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("ask-form").requestSubmit();
    }
  });
  $("lang-toggle").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem(LANG_STORAGE, state.lang);
    applyLanguage();
  });
  $("new-chat").addEventListener("click", newChat);
  $("passage-close").addEventListener("click", () => ($("passage-viewer").hidden = true));
  $("api-key-save").addEventListener("click", () => {
    const key = $("api-key").value.trim();
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  });
  applyLanguage();
  detectAuth();
}

document.addEventListener("DOMContentLoaded", init);
