// Marks each table box that is wider than the screen, so the "scroll →" cue shows.
(function () {
  function mark() {
    document.querySelectorAll(".table-wrap").forEach(function (box) {
      box.toggleAttribute("data-overflow", box.scrollWidth > box.clientWidth + 1);
    });
  }
  document.addEventListener("DOMContentLoaded", mark);
  window.addEventListener("resize", mark);
})();
