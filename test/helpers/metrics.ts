/** A metric in a /metrics text, summed over the series whose labels contain `labels` (e.g. 'source="live"'); 0 when none. */
export function metricIn(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match?.[1] === name && (match[2] ?? '').includes(labels)) sum += Number(match[3]);
  }
  return sum;
}

/** The value of a metric in GET /metrics, as metricIn reads it. */
export async function metricValue(baseUrl: string, name: string, labels = ''): Promise<number> {
  return metricIn(await (await fetch(`${baseUrl}/metrics`)).text(), name, labels);
}
