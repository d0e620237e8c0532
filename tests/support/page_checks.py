"""In-page checks for the browser tests: layout overflow, whole images, text contrast.

Each is a JavaScript function run with Playwright's ``page.evaluate``; each returns a
list of problems (empty when the page is fine), so a failure says what and where.
"""

from __future__ import annotations

# Elements sticking out past the right edge of the viewport, unless a box of their own
# scrolls or clips them (a table scrolling inside its frame is fine; the page is not).
OVERFLOW_JS = """
() => {
  const width = document.documentElement.clientWidth;
  const problems = [];
  if (document.documentElement.scrollWidth > width + 1) {
    problems.push(`page is ${document.documentElement.scrollWidth}px wide in a ${width}px viewport`);
  }
  const clipped = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (["auto", "scroll", "hidden", "clip"].includes(s.overflowX)) return true;
    }
    return false;
  };
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || r.right <= width + 1) continue;
    if (getComputedStyle(el).position === "fixed" || clipped(el)) continue;
    problems.push(`${el.tagName.toLowerCase()}#${el.id}.${el.className} ends at ${Math.round(r.right)}px`);
    if (problems.length > 8) break;
  }
  return problems;
}
"""

# Every result image loaded, drawn whole (object-fit contain) and not cut by any box
# around it, nor by the viewport's sides; a single result also fits the viewport's height.
WHOLE_IMAGES_JS = """
(selector) => {
  const root = document.querySelector(selector);
  const problems = [];
  const imgs = Array.from(root.querySelectorAll("img"));
  const inside = (r, b) => r.left >= b.left - 1 && r.right <= b.right + 1 && r.top >= b.top - 1
    && r.bottom <= b.bottom + 1;
  imgs.forEach((img, i) => {
    const r = img.getBoundingClientRect();
    if (!img.complete || img.naturalWidth === 0) problems.push(`image ${i + 1} is not loaded`);
    const fit = getComputedStyle(img).objectFit;
    if (!["contain", "scale-down"].includes(fit)) problems.push(`image ${i + 1} has object-fit ${fit}`);
    if (r.width < 40 || r.height < 40) problems.push(`image ${i + 1} is ${r.width}x${r.height}px`);
    for (let a = img.parentElement; a && a !== document.body; a = a.parentElement) {
      const s = getComputedStyle(a);
      const clips = [s.overflowX, s.overflowY].some(v => ["auto", "scroll", "hidden", "clip"].includes(v));
      if (clips && !inside(r, a.getBoundingClientRect())) {
        problems.push(`image ${i + 1} is cut by ${a.tagName.toLowerCase()}.${a.className}`);
        break;
      }
      if (clips && a.scrollHeight > a.clientHeight + 2 && s.overflowY !== "visible") {
        problems.push(`image ${i + 1} sits in a scrolling box (${a.className})`);
        break;
      }
    }
    if (r.left < -1 || r.right > document.documentElement.clientWidth + 1) {
      problems.push(`image ${i + 1} runs off the screen (${Math.round(r.left)}..${Math.round(r.right)})`);
    }
    if (imgs.length === 1 && r.height > window.innerHeight) {
      problems.push(`the result is ${Math.round(r.height)}px tall in a ${window.innerHeight}px viewport`);
    }
  });
  return problems;
}
"""

# WCAG contrast of every visible piece of text against what is really behind it
# (ancestors' backgrounds composited; for a gradient, its worst colour stop).
CONTRAST_JS = """
(minimum) => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const ratio = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const over = (top, under) => {
    const a = top[3];
    return [0, 1, 2].map(i => top[i] * a + under[i] * (1 - a)).concat([1]);
  };
  // The backgrounds behind an element, outermost last: every gradient stop is a candidate.
  const backdrops = (el) => {
    const layers = [];
    for (let a = el; a; a = a.parentElement) {
      const s = getComputedStyle(a);
      const stops = (s.backgroundImage.match(/rgba?\\([^)]+\\)/g) || []).map(parse);
      const color = parse(s.backgroundColor);
      if (stops.length) layers.push(stops);
      else if (color && color[3] > 0) layers.push([color]);
      if (layers.length && layers[layers.length - 1].every(c => c[3] >= 1)) break;
    }
    let result = [[255, 255, 255, 1]];
    for (const layer of layers.reverse()) {
      result = layer.flatMap(c => result.map(u => over(c, u)));
    }
    return result;
  };
  const problems = [];
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || seen.has(el)) continue;
    seen.add(el);
    if (el.closest("[disabled], [aria-hidden=true], .visually-hidden, svg, canvas")) continue;
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || s.visibility !== "visible") continue;
    let faded = false;
    for (let a = el; a; a = a.parentElement) if (parseFloat(getComputedStyle(a).opacity) < 1) faded = true;
    if (faded) continue;
    const fg = parse(s.color);
    if (!fg) continue;
    for (const bg of backdrops(el)) {
      const value = ratio(over(fg, bg), bg);
      if (value < minimum) {
        const text = node.textContent.trim().slice(0, 40);
        const where = `${el.tagName.toLowerCase()}.${el.className}`;
        const behind = `rgb(${bg.slice(0, 3).map(Math.round)})`;
        problems.push(`${value.toFixed(2)}:1 "${text}" (${where}) ${s.color} on ${behind}`);
        break;
      }
    }
  }
  return problems;
}
"""
