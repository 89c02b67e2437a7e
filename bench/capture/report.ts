import os from 'node:os';
import { firstLine } from '../support/pgbench-script.js';
import type { StatementStats } from '../support/pg-stats.js';
import { fixed, formatTable } from '../support/table.js';
import { SCENARIOS, type Report, type ScenarioName } from './scenarios.js';
import { underInvoiceLock } from './trace.js';

/** Prints the whole report: machine facts, the table, where the time goes, details, ledger check, conclusion. */
export function printReport(report: Report): void {
  const { options } = report;
  const cpus = os.cpus();
  const out: string[] = [];
  const load = (values: number[]) => values.map((value) => value.toFixed(2)).join(' ');
  const setting = (name: string) => {
    const row = report.settings.find((entry) => entry.name === name);
    return row ? `${row.setting}${row.unit && row.unit !== '' ? ` (${row.unit})` : ''}` : '?';
  };

  out.push('', `capture benchmark — ${new Date().toISOString()}`);
  out.push(
    `machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()}`,
    `node ${process.version}; PostgreSQL ${report.pgVersion} (embedded, fsync=${setting('fsync')}, synchronous_commit=${setting('synchronous_commit')}, wal_sync_method=${setting('wal_sync_method')}, shared_buffers=${setting('shared_buffers')}); ${report.pgbench}`,
    `load average before ${load(report.loadBefore)}, after ${load(report.loadAfter)} (1/5/15 min)`,
    `each run: ${options.warmup} s warm-up (discarded), then ${options.seconds} s measured; pgbench -n -M ${options.pgbenchMode} -j ${options.threads} -T ${options.seconds}`,
  );
  const anyTrace = Object.values(report.traces)[0];
  if (anyTrace) {
    const held = underInvoiceLock(anyTrace);
    out.push(`each capture holds the invoice's row lock (twice) while it sends ${held.statements} statements, ${held.commits} of them COMMITs (from the trace)`);
  }
  for (const [name, script] of Object.entries(report.scripts)) {
    // The pg_type query is postgres.js setting up the traced connection, not part of a capture.
    const outside = script.excluded.filter((text) => !/pg_catalog\.pg_type/.test(text)).map((text) => firstLine(text, 48));
    out.push(
      `pgbench script (${name}): the ${script.statements.length} statements of the traced capture's two transactions, BEGIN/COMMIT included; ` +
        `outside them the service also runs the bearer-token lookup and ${outside.length} more: ${outside.join(' | ')}`,
    );
  }

  const headers = ['scenario', 'clients', 'service cap/s', 'p50 ms', 'p99 ms', 'errors', 'loop busy', 'pgbench tps', 'avg ms', 'ratio'];
  const rows: string[][] = [];
  for (const name of options.scenarios) {
    for (const clients of options.clients) {
      const service = report.serviceRows.get(`${name}/${clients}`);
      const baseline = report.pgbenchRows.get(`${name}/${clients}`);
      const errors = service ? Object.values(service.load.errors).reduce((sum, count) => sum + count, 0) : 0;
      rows.push([
        SCENARIOS[name].label,
        String(clients),
        fixed(service?.perSecond ?? Number.NaN, 0),
        fixed(service?.latency.p50 ?? Number.NaN, 1),
        fixed(service?.latency.p99 ?? Number.NaN, 1),
        String(errors),
        service ? `${Math.round(service.loopBusy * 100)}%` : '–',
        fixed(baseline?.result.tps ?? Number.NaN, 0),
        fixed(baseline?.result.latencyMs ?? Number.NaN, 1),
        service && baseline ? `${(service.perSecond / baseline.result.tps).toFixed(2)}×` : '–',
      ]);
    }
  }
  out.push('', formatTable(headers, rows, (column) => column > 0));
  out.push(
    'service cap/s: successful captureInvoice mutations per second; p50/p99: their latency at the client; loop busy: the',
    "service's event-loop utilisation; pgbench tps: the capture's two transactions per second; ratio = service ÷ pgbench.",
  );

  const serviceCost: string[][] = [];
  const pgbenchCost: string[][] = [];
  const per = (total: number, count: number | undefined) => (count ? total / count : Number.NaN);
  for (const name of options.scenarios) {
    for (const clients of options.clients) {
      const service = report.serviceRows.get(`${name}/${clients}`);
      const baseline = report.pgbenchRows.get(`${name}/${clients}`);
      if (service) {
        const cpu = service.cpuMsPerCapture;
        serviceCost.push([
          SCENARIOS[name].label,
          String(clients),
          fixed(cpu.node, 2),
          fixed(cpu.mainThread, 2),
          fixed(cpu.mainThreadWaiting, 2),
          fixed(cpu.postgres, 2),
          fixed(per(service.sql.execMs, service.load.ok), 2),
          fixed(per(service.sql.calls, service.load.ok), 1),
          fixed(service.otherCores, 2),
        ]);
      }
      if (baseline) {
        pgbenchCost.push([
          SCENARIOS[name].label,
          String(clients),
          fixed(baseline.cpuMsPerTx.pgbench, 2),
          fixed(baseline.cpuMsPerTx.postgres, 2),
          fixed(per(baseline.sql.execMs, baseline.result.processed), 2),
          fixed(per(baseline.sql.calls, baseline.result.processed), 1),
          fixed(baseline.otherCores, 2),
        ]);
      }
    }
  }
  out.push(
    '',
    'Where the time goes, per capture: CPU ms from /proc; SQL ms = server-side execution time (lock waits included) from pg_stat_statements',
    formatTable(['service', 'clients', 'node process', 'main thread', 'main waiting', 'postgres', 'SQL ms', 'stmts', 'others'], serviceCost),
    '',
    formatTable(['pgbench', 'clients', 'pgbench', 'postgres', 'SQL ms', 'stmts', 'others'], pgbenchCost),
    'node process = the whole Node process (service, pg-boss worker, the HTTP load clients in a worker thread, GC threads);',
    'main thread = the service\'s event loop on a CPU; main waiting = ready to run but waiting for a CPU (run queue);',
    'stmts = statements per capture, BEGIN/COMMIT not counted (service: also the token lookup, the invoice read before the',
    'gateway call, and the pg-boss worker; pgbench: also the pick of the next invoice, distinct only);',
    'others = cores used by processes outside this benchmark during the run (other work on the machine).',
  );

  const most = Math.max(...options.clients);
  for (const name of options.scenarios) {
    for (const [who, row, count] of [
      ['service', report.serviceRows.get(`${name}/${most}`)?.sql, report.serviceRows.get(`${name}/${most}`)?.load.ok],
      ['pgbench', report.pgbenchRows.get(`${name}/${most}`)?.sql, report.pgbenchRows.get(`${name}/${most}`)?.result.processed],
    ] as const) {
      if (!row || !count) continue;
      out.push('', `${who}, ${SCENARIOS[name].label}, ${most} clients: slowest statements on the server (ms per capture, calls per capture)`);
      for (const statement of row.top.slice(0, 5)) {
        out.push(`  ${(statement.execMs / count).toFixed(3).padStart(7)} ms  ${(statement.calls / count).toFixed(1).padStart(4)}×  ${firstLine(statement.query, 96)}`);
      }
    }
  }

  const details: string[] = [];
  for (const name of options.scenarios) {
    for (const clients of options.clients) {
      const service = report.serviceRows.get(`${name}/${clients}`);
      const baseline = report.pgbenchRows.get(`${name}/${clients}`);
      const parts = [`service run ended by ${service?.load.stoppedBy ?? '–'}`];
      if (service?.load && Object.keys(service.load.errors).length) parts.push(`errors ${JSON.stringify(service.load.errors)}`);
      if (service?.hotAttempts !== undefined) parts.push(`hot invoice attempts: service ${service.hotAttempts}, pgbench ${baseline?.hotAttempts ?? '–'}`);
      if (service) parts.push(`client thread busy ${Math.round(service.load.clientLoopBusy * 100)}%`);
      const reserved = (stats: StatementStats | undefined) => {
        const row = stats?.all.find((entry) => /coalesce\(sum\(/i.test(entry.query));
        return row && row.calls ? `${(row.execMs / row.calls).toFixed(3)} ms` : '–';
      };
      parts.push(`"sum of pending attempts" mean: service ${reserved(service?.sql)}, pgbench ${reserved(baseline?.sql)}`);
      details.push(`  ${SCENARIOS[name].label}, ${clients} clients: ${parts.join('; ')}`);
    }
  }
  out.push('', 'run details', ...details);
  for (const entry of report.explained) {
    out.push(`  "sum of pending attempts", ${entry.who}'s hot invoice (${entry.attempts} attempts), ${entry.when}: ${entry.plan}`);
  }
  const { notifications } = report;
  out.push(
    `  capture notifications during the service runs: ${notifications.total} enqueued, ${notifications.completed} delivered by the worker` +
      (Number.isFinite(notifications.seconds) && notifications.seconds > 0 ? ` (${(notifications.completed / notifications.seconds).toFixed(1)}/s)` : '') +
      `, ${notifications.total - notifications.completed} still queued when the service stopped`,
  );

  if (report.profile) {
    const { profile } = report;
    const perCapture = (ms: number) => (report.profiledCaptures ? (ms / report.profiledCaptures).toFixed(3) : '–');
    out.push(
      '',
      `CPU profile of the service's event loop (extra distinct run, ${Math.max(...options.clients)} clients, ${report.profiledCaptures} captures; profiling slows it down):`,
      `sampled busy ${profile.busyMs.toFixed(0)} ms, idle ${profile.idleMs.toFixed(0)} ms; meanwhile the thread was ${report.profiledThread.onCpu.toFixed(0)} ms on a CPU and ` +
        `${report.profiledThread.waiting.toFixed(0)} ms waiting for one (/proc schedstat). Samples are wall-clock: time spent preempted is charged`,
      'to whatever was running, typically a native socket write that has just woken a Postgres backend.',
      'self time by owner (ms per capture, share of busy):',
      ...profile.byOwner
        .slice(0, 14)
        .map((row) => `  ${perCapture(row.ms).padStart(7)}  ${((row.ms / profile.busyMs) * 100).toFixed(1).padStart(5)}%  ${row.owner}`),
      'the same time charged to the nearest library/app frame on the stack (who caused it; native socket writes count for their caller):',
      ...profile.byCaller
        .slice(0, 10)
        .map((row) => `  ${perCapture(row.ms).padStart(7)}  ${((row.ms / profile.busyMs) * 100).toFixed(1).padStart(5)}%  ${row.owner}`),
      'hottest functions (self time, share of busy):',
      ...profile.topFunctions.slice(0, 10).map((row) => `  ${((row.ms / profile.busyMs) * 100).toFixed(1).padStart(5)}%  ${row.name}`),
    );
  }

  const verdict = report.violations.length === 0 ? 'OK' : `${report.violations.length} VIOLATIONS`;
  out.push(
    '',
    `ledger verify after the benchmark: ${verdict} (${report.counts.invoices} invoices, ${report.counts.attempts} attempts, ${report.counts.adjustments} adjustments; ${report.verifyMs.toFixed(0)} ms)`,
    ...report.violations.slice(0, 10).map((violation) => `  ${violation.rule}: invoice ${violation.invoiceId}: ${violation.detail}`),
  );
  out.push('', `conclusion: ${conclusion(report)}`, `(whole benchmark: ${report.seconds.toFixed(0)} s)`);
  console.log(out.join('\n'));
}

/** One sentence from the figures: how far the service is from its SQL, and what the hot invoice does. */
function conclusion(report: Report): string {
  const { options } = report;
  const parts: string[] = [];
  const ratios = (name: ScenarioName) =>
    options.clients
      .map((clients) => {
        const service = report.serviceRows.get(`${name}/${clients}`);
        const baseline = report.pgbenchRows.get(`${name}/${clients}`);
        return service && baseline ? service.perSecond / baseline.result.tps : Number.NaN;
      })
      .filter(Number.isFinite);
  const range = (values: number[]) => {
    const low = Math.min(...values);
    const high = Math.max(...values);
    return low.toFixed(2) === high.toFixed(2) ? `${low.toFixed(2)}×` : `${low.toFixed(2)}–${high.toFixed(2)}×`;
  };
  const most = Math.max(...options.clients);
  const least = Math.min(...options.clients);

  if (options.scenarios.includes('distinct')) {
    const distinct = ratios('distinct');
    const row = report.serviceRows.get(`distinct/${most}`);
    const baseline = report.pgbenchRows.get(`distinct/${most}`);
    if (distinct.length && row && baseline) {
      const cpu = row.cpuMsPerCapture;
      const cores = os.cpus().length;
      const busyMs = cpu.mainThread + cpu.mainThreadWaiting;
      const limit =
        row.loopBusy < 0.85
          ? `its event loop is only ${Math.round(row.loopBusy * 100)}% busy`
          : cpu.mainThreadWaiting > 0.25 * busyMs
            ? `its event loop is ${Math.round(row.loopBusy * 100)}% busy, ${Math.round((cpu.mainThreadWaiting / busyMs) * 100)}% of that waiting for a CPU: ` +
              `Node and Postgres together need ${(cpu.node + cpu.postgres).toFixed(1)} ms of CPU per capture, so ${cores} cores cap it near ${Math.round((cores * 1000) / (cpu.node + cpu.postgres))}/s`
            : `its event loop is ${Math.round(row.loopBusy * 100)}% busy on a CPU: the one Node thread caps it near ${Math.round(1000 / cpu.mainThread)}/s`;
      parts.push(
        `on distinct invoices the service reaches ${range(distinct)} of pgbench's throughput on the same SQL; at ${most} clients a capture costs ` +
          `${cpu.node.toFixed(1)} ms of Node CPU (${cpu.mainThread.toFixed(1)} ms on the event loop) and ${cpu.postgres.toFixed(1)} ms of Postgres CPU, ` +
          `where pgbench's costs ${baseline.cpuMsPerTx.postgres.toFixed(1)} ms; ${limit}`,
      );
    }
  }
  if (options.scenarios.includes('hot')) {
    const hot = ratios('hot');
    const low = report.serviceRows.get(`hot/${least}`);
    const high = report.serviceRows.get(`hot/${most}`);
    const pgLow = report.pgbenchRows.get(`hot/${least}`);
    const pgHigh = report.pgbenchRows.get(`hot/${most}`);
    if (hot.length && low && high && pgLow && pgHigh) {
      const change = (a: number, b: number) => `${b >= a ? '+' : ''}${(((b - a) / a) * 100).toFixed(0)}%`;
      const distinctHigh = report.serviceRows.get(`distinct/${most}`);
      const flat = Math.abs(high.perSecond - low.perSecond) / low.perSecond < 0.2;
      parts.push(
        `on one hot invoice it reaches ${range(hot)} of pgbench` +
          (distinctHigh ? ` and ${((high.perSecond / distinctHigh.perSecond) * 100).toFixed(0)}% of its own distinct-invoice rate` : '') +
          `; from ${least} to ${most} clients its throughput changes ${change(low.perSecond, high.perSecond)} (pgbench ${change(pgLow.result.tps, pgHigh.result.tps)}) ` +
          `while p99 goes ${low.latency.p99.toFixed(0)} → ${high.latency.p99.toFixed(0)} ms` +
          (flat ? `: the invoice's row lock serialises captures (held ~${(1000 / high.perSecond).toFixed(1)} ms per capture by the service vs ~${(1000 / pgHigh.result.tps).toFixed(1)} ms by pgbench), more clients only queue` : ''),
      );
    }
  }
  return parts.length ? `${parts.join('; ')}.` : 'no complete scenario to compare.';
}
