// lakeml's book: on a narrow screen (a phone), a plot wider than the text column is scaled
// down to the column's width (CSS zoom) instead of being cut off or scrolling. At a desktop
// width nothing is scaled: there every plot is drawn to fit the column (tests/test_book.py).
(() => {
  const NARROW = 600; // px: columns narrower than this are a phone's or a small tablet's

  function naturalWidth(el) {
    let right = el.getBoundingClientRect().left + el.scrollWidth;
    for (const child of el.querySelectorAll("*")) {
      const r = child.getBoundingClientRect();
      if (r.width > 0) right = Math.max(right, r.right);
    }
    return right - el.getBoundingClientRect().left;
  }

  function fit() {
    for (const output of document.querySelectorAll(".cell_output > .output")) {
      const column = output.clientWidth;
      for (const plot of output.children) {
        const sel = "[data-root-id], script[type='application/json']";
        if (!plot.matches(sel) && !plot.querySelector(sel)) continue;
        plot.style.zoom = "";
        if (column >= NARROW) continue;
        const width = naturalWidth(plot);
        if (width > column + 1) plot.style.zoom = String(Math.floor((100 * column) / width) / 100);
      }
    }
  }

  const later = () => [0, 300, 1000, 2000].forEach((ms) => setTimeout(fit, ms));
  window.addEventListener("load", later);
  window.addEventListener("resize", later);
})();
