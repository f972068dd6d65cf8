'use strict';
// The dashboard page: no inline script (the page's Content-Security-Policy allows scripts from the service only).
// The API key is kept in sessionStorage (this tab only) and sent as a bearer header, never in a URL.
(() => {
  const keyStorage = 'conversation-service.dashboard.key';
  const sectionKinds = ['system', 'summary', 'recent', 'recalled', 'knowledge', 'examples'];
  const sectionColors = ['#3b5bdb', '#f08c00', '#2b8a3e', '#ae3ec9', '#0c8599', '#c92a2a'];
  const charts = {};
  const $ = (id) => document.getElementById(id);
  const integer = new Intl.NumberFormat('en-US');
  const usd = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 6 });

  const isoDay = (date) => date.toISOString().slice(0, 10);
  const nextDay = (day) => isoDay(new Date(Date.parse(`${day}T00:00:00Z`) + 86400000));

  function setState(state, message) {
    document.body.dataset.state = state;
    $('status').textContent = message;
  }

  function showError(message) {
    for (const chart of Object.values(charts)) chart.destroy();
    for (const id of Object.keys(charts)) delete charts[id];
    for (const body of document.querySelectorAll('#content tbody')) body.replaceChildren();
    $('content').hidden = true;
    $('error').textContent = message;
    $('error').hidden = false;
    setState('error', 'No figures shown.');
  }

  function fillTable(id, rows) {
    $(id).querySelector('tbody').replaceChildren(...rows.map((cells) => {
      const tr = document.createElement('tr');
      cells.forEach((cell, i) => {
        const td = document.createElement(i === 0 ? 'th' : 'td');
        if (i === 0) td.scope = 'row';
        td.textContent = cell.text;
        if (cell.value !== undefined) td.dataset.value = String(cell.value);
        tr.append(td);
      });
      return tr;
    }));
  }

  function draw(id, config) {
    charts[id]?.destroy();
    config.options = {
      animation: false,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      ...config.options,
    };
    charts[id] = new Chart($(id), config);
  }

  function render(data) {
    // Shown first: a chart measures its container when it is created, and a hidden one has no size.
    $('error').hidden = true;
    $('content').hidden = false;
    const days = data.days.map((d) => d.date);
    const budget = data.budget.dailyBudgetUsd;

    const saved = data.days.reduce((sum, d) => sum + (d.fullHistoryTokens - d.tokensServed), 0);
    const savedUsd = data.days.reduce((sum, d) => sum + d.costSavedUsd, 0);
    const served = data.days.reduce((sum, d) => sum + d.tokensServed, 0);
    $('savings-summary').textContent =
      `${integer.format(served)} tokens served, ${integer.format(saved)} fewer than the full histories: ${usd.format(savedUsd)} USD saved.`;
    draw('savings-chart', {
      type: 'line',
      data: {
        labels: days,
        datasets: [
          { label: 'Full history (tokens)', data: data.days.map((d) => d.fullHistoryTokens), borderColor: '#868e96', backgroundColor: 'rgba(134,142,150,0.15)', fill: true },
          { label: 'Served (tokens)', data: data.days.map((d) => d.tokensServed), borderColor: '#1f4fa8', backgroundColor: 'rgba(31,79,168,0.25)', fill: true },
        ],
      },
      options: { scales: { y: { beginAtZero: true, title: { display: true, text: 'tokens' } } } },
    });
    fillTable('savings-table', data.days.map((d) => [
      { text: d.date },
      { text: integer.format(d.contextRequests), value: d.contextRequests },
      { text: integer.format(d.tokensServed), value: d.tokensServed },
      { text: integer.format(d.fullHistoryTokens), value: d.fullHistoryTokens },
      { text: usd.format(d.costSavedUsd), value: d.costSavedUsd },
    ]));

    const alert = $('budget-alert');
    const state = budget > 0 ? data.budget.state : 'none';
    alert.dataset.state = state;
    const today = `${usd.format(data.budget.spentTodayUsd)} USD spent today (UTC)`;
    alert.textContent = {
      none: `${today}; no daily budget is set (Llm:DailyBudgetUsd).`,
      within: `Within budget: ${today} of ${usd.format(budget)} USD.`,
      warning: `Warning: ${today}, at least 80% of the daily budget of ${usd.format(budget)} USD.`,
      exhausted: `Budget exhausted: ${today} of ${usd.format(budget)} USD; summaries run extractively until the next UTC day.`,
    }[state];
    const spendSets = [{
      type: 'bar', label: 'Spent (USD)', data: data.days.map((d) => d.spentUsd),
      backgroundColor: data.days.map((d) => ({ within: '#1f4fa8', warning: '#f59f00', exhausted: '#e03131' })[d.budgetState]),
    }];
    if (budget > 0) {
      spendSets.push(
        { type: 'line', label: 'Daily budget (USD)', data: days.map(() => budget), borderColor: '#e03131', pointRadius: 0 },
        { type: 'line', label: '80% warning (USD)', data: days.map(() => budget * 0.8), borderColor: '#f59f00', borderDash: [6, 4], pointRadius: 0 });
    }
    draw('spend-chart', {
      type: 'bar',
      data: { labels: days, datasets: spendSets },
      options: { scales: { y: { beginAtZero: true, title: { display: true, text: 'USD' } } } },
    });
    fillTable('spend-table', data.days.map((d) => [
      { text: d.date }, { text: usd.format(d.spentUsd), value: d.spentUsd }, { text: d.budgetState, value: d.budgetState },
    ]));

    draw('composition-chart', {
      type: 'bar',
      data: {
        labels: days,
        datasets: sectionKinds.map((kind, i) => ({
          label: kind, data: data.days.map((d) => d.sections[kind]), backgroundColor: sectionColors[i],
        })),
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: 'tokens' } } } },
    });
    fillTable('composition-table', data.days.map((d) => [
      { text: d.date }, ...sectionKinds.map((kind) => ({ text: integer.format(d.sections[kind]), value: d.sections[kind] })),
    ]));

    const top = data.topConversations;
    draw('top-chart', {
      type: 'bar',
      data: {
        labels: top.map((c) => c.conversationId),
        datasets: [
          { label: 'Served (tokens)', data: top.map((c) => c.tokensServed), backgroundColor: '#1f4fa8' },
          { label: 'Full history (tokens)', data: top.map((c) => c.fullHistoryTokens), backgroundColor: '#adb5bd' },
        ],
      },
      options: { indexAxis: 'y', scales: { x: { beginAtZero: true } } },
    });
    fillTable('top-table', top.map((c) => [
      { text: c.conversationId },
      { text: integer.format(c.contextRequests), value: c.contextRequests },
      { text: integer.format(c.tokensServed), value: c.tokensServed },
      { text: integer.format(c.fullHistoryTokens), value: c.fullHistoryTokens },
    ]));

    const ops = data.operations;
    for (const [id, value] of [['uncovered-turns', ops.uncoveredTurns], ['uncovered-conversations', ops.conversationsWithUncoveredTurns],
      ['summaries-pending', ops.summariesPending], ['parked-events', ops.parkedEvents]]) {
      $(id).textContent = integer.format(value);
      $(id).dataset.value = String(value);
    }
    fillTable('lag-table', ops.subscriptions.map((s) => [
      { text: s.name }, { text: integer.format(s.eventsBehind), value: s.eventsBehind }, { text: integer.format(s.parkedEvents), value: s.parkedEvents },
    ]));

    setState('loaded', `Figures from ${days[0]} to ${days[days.length - 1]} (UTC).`);
  }

  async function load() {
    const key = sessionStorage.getItem(keyStorage);
    if (!key) {
      setState('idle', 'Enter an API key to see the tenant\'s figures.');
      return;
    }
    const from = $('from').value;
    const to = $('to').value;
    setState('loading', 'Loading…');
    let response;
    try {
      const query = new URLSearchParams({ from: `${from}T00:00:00Z`, to: `${nextDay(to)}T00:00:00Z` });
      response = await fetch(`/dashboard/data?${query}`, { headers: { Authorization: `Bearer ${key}` }, cache: 'no-store' });
    } catch {
      showError('The service did not answer.');
      return;
    }
    if (response.status === 401 || response.status === 403) {
      sessionStorage.removeItem(keyStorage);
      showError('The API key was not accepted (HTTP 401). Enter a key configured in Auth:ApiKeys.');
      return;
    }
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      const fields = Object.entries(problem.errors ?? {}).map(([field, messages]) => `${field}: ${messages.join(' ')}`);
      showError(`${problem.title ?? `HTTP ${response.status}`}${fields.length ? ` (${fields.join('; ')})` : ''}`);
      return;
    }
    render(await response.json());
  }

  document.addEventListener('DOMContentLoaded', () => {
    const today = new Date();
    $('to').value = isoDay(today);
    $('from').value = isoDay(new Date(today.getTime() - 29 * 86400000));
    $('key-form').addEventListener('submit', (event) => {
      event.preventDefault();
      sessionStorage.setItem(keyStorage, $('api-key').value.trim());
      $('api-key').value = '';
      load();
    });
    $('forget-key').addEventListener('click', () => {
      sessionStorage.removeItem(keyStorage);
      showError('The key was forgotten.');
    });
    $('range-form').addEventListener('submit', (event) => {
      event.preventDefault();
      load();
    });
    load();
  });
})();
