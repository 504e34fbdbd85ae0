/**
 * RankGPT's sliding window (Sun et al., 2023): rank the last `window` candidates,
 * slide up by `step`, and repeat until the window reaches the top, so a relevant
 * passage found low in the list can bubble up by (window − step) places per pass.
 * The `rankWindow` callback gets the candidate indices currently in the window
 * (best first) and returns their new order as 0-based positions within the window.
 */
export async function slidingWindowOrder(
  initial: readonly number[],
  window: number,
  step: number,
  rankWindow: (members: number[]) => Promise<number[]>,
): Promise<{ order: number[]; windows: number }> {
  const order = [...initial];
  const n = order.length;
  if (n <= 1) return { order, windows: 0 };
  let windows = 0;
  let end = n;
  for (;;) {
    const start = Math.max(0, end - window);
    const members = order.slice(start, end);
    const perm = await rankWindow(members);
    for (let i = 0; i < members.length; i++) order[start + i] = members[perm[i]];
    windows++;
    if (start === 0) break;
    end -= step;
  }
  return { order, windows };
}
