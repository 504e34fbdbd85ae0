/**
 * Preloaded (`node --import`) into every process the docs test starts: sends requests
 * for the hosted APIs' public hosts (api.cohere.com…), which are unreachable here, to
 * the local fakes instead, so the docs' commands and snippets run exactly as written.
 * Only the origins listed in WINNOW_DOCS_REDIRECTS are touched; the path, method, headers
 * and body go through unchanged. A host the product's defaults no longer match is not
 * redirected, and its request fails: the docs' provider table drifted from the code.
 */
const redirects = Object.entries(JSON.parse(process.env.WINNOW_DOCS_REDIRECTS ?? "{}") as Record<string, string>);
const realFetch = globalThis.fetch;

function target(url: string): string | undefined {
  for (const [from, to] of redirects) if (url === from || url.startsWith(`${from}/`)) return to + url.slice(from.length);
  return undefined;
}

globalThis.fetch = (input: string | URL | Request, init?: RequestInit) => {
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  const to = target(url);
  if (to === undefined) return realFetch(input, init);
  return realFetch(input instanceof Request ? new Request(to, input) : to, init);
};
